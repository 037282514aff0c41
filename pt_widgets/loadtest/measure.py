"""Measuring a load test: one :class:`Sample` per request, the figures of a level, the
per-second timeline, and the provisioned rate read from Prometheus text
(:mod:`pt_widgets.prometheus` parses it).

Pure functions of samples (times in seconds since the test started): the runner feeds
them, tests call them on hand-made samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..prometheus import metric_sum, parse_metrics

__all__ = ["LEVEL_COLUMNS", "SAMPLE_COLUMNS", "RATE_GAUGE", "Sample", "percentile", "level_row",
           "timeline_bins", "parse_rate"]

LEVEL_COLUMNS = ["concurrency", "start_s", "seconds", "requests", "ok", "rate_limited", "errors",
                 "share_429", "requests_per_s", "delivered_tokens_per_s",
                 "output_tokens_per_s", "latency_p50_s", "latency_p95_s", "ttft_p50_s",
                 "ttft_p95_s", "demand_tokens_per_s", "provisioned_tokens_per_s"]
SAMPLE_COLUMNS = ["level", "concurrency", "start_s", "end_s", "status", "prompt_tokens",
                  "completion_tokens", "latency_s", "ttft_s", "retry_after_s", "error"]
RATE_GAUGE = "provisioned_throughput_tokens_per_second"


def parse_rate(text: str) -> float | None:
    """The provisioned rate (summed over served entities) in Prometheus text, if present."""
    return metric_sum(parse_metrics(text), RATE_GAUGE)


@dataclass
class Sample:
    """One request of the test (times in seconds since the test started)."""

    level: int
    concurrency: int
    start_s: float
    end_s: float = 0.0
    status: str = "ok"  # ok | 429 | error | cancelled
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_s: float | None = None
    retry_after_s: float | None = None
    error: str | None = None

    @property
    def latency_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def row(self) -> dict[str, Any]:
        return {"level": self.level, "concurrency": self.concurrency, "start_s": self.start_s,
                "end_s": self.end_s, "status": self.status, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "latency_s": self.latency_s,
                "ttft_s": self.ttft_s, "retry_after_s": self.retry_after_s,
                "error": self.error}


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in 0..100); ``None`` for no values."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _round(x: float | None, digits: int = 3) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, digits)


def level_row(concurrency: int, samples: list[Sample], started: float, ended: float,
              rates: list[float]) -> dict[str, Any]:
    """The figures of one level from its samples (``started``/``ended`` bound its time)."""
    ok = [s for s in samples if s.status == "ok"]
    limited = [s for s in samples if s.status == "429"]
    errors = [s for s in samples if s.status == "error"]
    attempted = len(ok) + len(limited) + len(errors)
    seconds = max(ended - started, 1e-9)
    tokens = sum(s.tokens for s in ok)
    latencies = [s.latency_s for s in ok]
    ttfts = [s.ttft_s for s in ok if s.ttft_s is not None]
    demand = None
    if ok:
        mean_latency = sum(latencies) / len(latencies)
        if mean_latency > 0:
            demand = concurrency * (tokens / len(ok)) / mean_latency
    return {
        "concurrency": concurrency,
        "start_s": _round(started, 2),
        "seconds": _round(seconds, 2),
        "requests": attempted,
        "ok": len(ok),
        "rate_limited": len(limited),
        "errors": len(errors),
        "share_429": _round(len(limited) / attempted if attempted else 0.0, 3),
        "requests_per_s": _round(len(ok) / seconds, 2),
        "delivered_tokens_per_s": _round(tokens / seconds, 1),
        "output_tokens_per_s": _round(sum(s.completion_tokens for s in ok) / seconds, 1),
        "latency_p50_s": _round(percentile(latencies, 50)),
        "latency_p95_s": _round(percentile(latencies, 95)),
        "ttft_p50_s": _round(percentile(ttfts, 50)),
        "ttft_p95_s": _round(percentile(ttfts, 95)),
        "demand_tokens_per_s": _round(demand, 1),
        "provisioned_tokens_per_s": _round(sum(rates) / len(rates), 1) if rates else None,
    }


def timeline_bins(samples: Iterable[Sample], until: float, rates: list[tuple[float, float]],
                  bin_s: float = 1.0, first: int = 0) -> list[list[Any]]:
    """Per-second ``[bin, delivered tokens/s, provisioned rate, 429s]`` from ``first`` on.

    A finished request's tokens are spread over the time they took: prompt tokens up to its
    first token, generated tokens from there to its end (so the curve is not a comb of
    request completions).
    """
    count = max(0, math.ceil(until / bin_s))
    tokens = [0.0] * count
    limited = [0] * count

    def spread(amount: float, a: float, b: float) -> None:
        if amount <= 0 or count == 0:
            return
        if b <= a:
            i = min(count - 1, max(0, int(a // bin_s)))
            tokens[i] += amount
            return
        density = amount / (b - a)
        i = max(0, int(a // bin_s))
        while i < count and i * bin_s < b:
            lo, hi = max(a, i * bin_s), min(b, (i + 1) * bin_s)
            if hi > lo:
                tokens[i] += density * (hi - lo)
            i += 1

    for s in samples:
        if s.status == "ok":
            split = s.start_s + s.ttft_s if s.ttft_s is not None else s.start_s
            if s.ttft_s is None:
                spread(s.tokens, s.start_s, s.end_s)
            else:
                spread(s.prompt_tokens, s.start_s, split)
                spread(s.completion_tokens, split, s.end_s)
        elif s.status == "429":
            i = int(s.end_s // bin_s)
            if 0 <= i < count:
                limited[i] += 1
    rate_at: list[float | None] = [None] * count
    for t, rate in rates:
        i = int(t // bin_s)
        if 0 <= i < count:
            rate_at[i] = rate
    return [[i, round(tokens[i] / bin_s, 1), rate_at[i], limited[i]]
            for i in range(first, count)]
