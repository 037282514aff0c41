"""Load-test one endpoint: a bounded sweep of concurrency levels, measured as the user sees it.

Per level you get delivered tokens/s (prompt + generated, the unit provisioned throughput is
sold in), requests/s, latency p50/p95, time to first token (chat answers stream) and the
share of 429s; per second a timeline, and the endpoint's provisioned rate when the
workspace exports it (the local workspace's ``provisioned_throughput_tokens_per_second``).
A one-line :class:`Recommendation` says how many chunks the load needs.

Caps first: :func:`plan_load_test` (also ``LoadTest(...).plan``) states the most requests
and seconds a run can take, before anything is sent; hard limits keep any plan bounded.
Stop any time: ``LoadTest.stop()`` or the ``cancel`` event; streamed answers stop at once.

The package is split by what changes together: the pure part (:mod:`.plan`,
:mod:`.measure`: samples, statistics, Prometheus text; :mod:`.recommend`; :mod:`.result`)
and the runner (:mod:`.runner`: threads, events, the requests themselves).
"""

from __future__ import annotations

from .measure import (
    LEVEL_COLUMNS,
    SAMPLE_COLUMNS,
    Sample,
    level_row,
    parse_rate,
    percentile,
    timeline_bins,
)
from .plan import DEFAULT_PROMPT, LoadTestPlan, plan_load_test
from .recommend import EndpointCapacity, Recommendation, recommend
from .result import LoadTestResult
from .runner import LoadTest, endpoint_capacity, load_test, provisioned_rate

__all__ = [
    "DEFAULT_PROMPT",
    "LEVEL_COLUMNS",
    "SAMPLE_COLUMNS",
    "LoadTestPlan",
    "EndpointCapacity",
    "Recommendation",
    "LoadTestResult",
    "LoadTest",
    "Sample",
    "plan_load_test",
    "endpoint_capacity",
    "provisioned_rate",
    "recommend",
    "load_test",
    "percentile",
    "level_row",
    "timeline_bins",
    "parse_rate",
]
