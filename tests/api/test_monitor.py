"""The endpoint monitor against the REAL local workspace: scrape, send real requests (some
above the provisioned rate, so 429s happen), scrape again; the interval's counted deltas
must equal what the client sent and saw. Parsing and quantiles are checked without a server.
"""

from __future__ import annotations

import threading

import pytest

import pt_widgets
from pt_widgets.errors import NotFound, ValidationError
from pt_widgets.monitor import (
    COLUMNS,
    MetricsSnapshot,
    Monitor,
    interval_row,
    metrics_snapshot,
    provisioned_band,
)
from pt_widgets.prometheus import (
    bucket_quantile,
    declared_metrics,
    histogram_buckets,
    metric_sum,
    parse_metrics,
)

from ..support import ask_once, burst_until_429, deploy_one_chunk, wait_until
from .conftest import CHAT_MODEL

ENDPOINT = "monitor-one-chunk"

TEXT = """# HELP request_count_total Requests answered
# TYPE request_count_total counter
request_count_total{served_entity="a",status_class="2xx"} 7.0
request_count_total{served_entity="b",status_class="2xx"} 3.0
request_count_total{served_entity="a",status_class="4xx"} 2.0
request_count_total_created{served_entity="a",status_class="2xx"} 1.7e+09
request_429_count_total{served_entity="a"} 2.0
# TYPE request_5xx_count_total counter
input_tokens_total{served_entity="a"} 100.0
output_tokens_total{served_entity="a"} 50.0 1712345678000
weird{label="has \\"quotes\\", and } braces"} 1
request_latency_ms_bucket{le="100.0",served_entity="a"} 4.0
request_latency_ms_bucket{le="100.0",served_entity="b"} 1.0
request_latency_ms_bucket{le="1000.0",served_entity="a"} 10.0
request_latency_ms_bucket{le="+Inf",served_entity="a"} 12.0
provisioned_throughput_tokens_per_second{served_entity="a"} 90.0
not a sample line
"""


@pytest.fixture(scope="module")
def one_chunk(ws) -> float:
    return deploy_one_chunk(ws, ENDPOINT)


def test_prometheus_text_is_parsed_and_quantiles_come_from_buckets():
    series = parse_metrics(TEXT)
    assert metric_sum(series, "request_count_total") == 12.0
    assert metric_sum(series, "request_count_total", status_class="2xx") == 10.0
    assert metric_sum(series, "output_tokens_total") == 50.0  # a trailing timestamp is skipped
    assert metric_sum(series, "nope") is None
    assert "request_5xx_count_total" in declared_metrics(TEXT)
    assert MetricsSnapshot.parse("ep", TEXT).errors_5xx == 0.0  # declared, nothing counted
    assert MetricsSnapshot.parse("ep", TEXT).in_flight is None  # not exported at all
    weird = [s.label("label") for s in series if s.name == "weird"]
    assert weird == ['has \\"quotes\\", and } braces']
    assert histogram_buckets(series, "request_latency_ms") == (
        (100.0, 5.0), (1000.0, 10.0), (float("inf"), 12.0))
    assert bucket_quantile(0.5, [(100.0, 5.0), (1000.0, 10.0), (float("inf"), 12.0)]) == 280.0
    assert bucket_quantile(0.25, [(100.0, 4.0), (float("inf"), 4.0)]) == 25.0
    assert bucket_quantile(0.95, [(100.0, 1.0), (float("inf"), 2.0)]) == 100.0  # in +Inf
    assert bucket_quantile(0.5, [(100.0, 0.0), (float("inf"), 0.0)]) is None
    assert bucket_quantile(0.5, []) is None


def test_interval_row_is_the_difference_of_two_scrapes_per_second():
    old = MetricsSnapshot.parse("ep", TEXT, at=1000.0, monotonic=10.0)
    more = (TEXT.replace('status_class="2xx"} 7.0', 'status_class="2xx"} 11.0')
            .replace('input_tokens_total{served_entity="a"} 100.0',
                     'input_tokens_total{served_entity="a"} 160.0')
            .replace('"1000.0",served_entity="a"} 10.0', '"1000.0",served_entity="a"} 14.0')
            .replace('"+Inf",served_entity="a"} 12.0', '"+Inf",served_entity="a"} 16.0'))
    new = MetricsSnapshot.parse("ep", more, at=1002.0, monotonic=12.0)
    row = interval_row(old, new, (90.0, 180.0))
    assert list(row) == COLUMNS
    assert (row["requests"], row["ok"], row["rate_limited"], row["errors"]) == (4, 4, 0, 0)
    assert row["tokens"] == 60 and row["delivered_tokens_per_s"] == 30.0
    assert row["requests_per_s"] == 2.0 and row["output_tokens_per_s"] == 0.0
    # the 4 new observations all fell in (100, 1000] ms
    assert row["latency_p50_ms"] == 550.0 and row["latency_p95_ms"] == pytest.approx(955.0)
    assert (row["min_tokens_per_s"], row["max_tokens_per_s"]) == (90.0, 180.0)
    assert row["provisioned_tokens_per_s"] == 90.0
    # a server restart resets the counters: the new values are the interval's
    restarted = MetricsSnapshot.parse("ep", 'request_count_total{status_class="2xx"} 2\n',
                                      at=1004.0, monotonic=14.0)
    assert interval_row(new, restarted)["requests"] == 2.0
    assert interval_row(new, restarted)["delivered_tokens_per_s"] is None


def test_monitor_rejects_bad_options(ws):
    with pytest.raises(ValidationError, match="Choose the endpoint"):
        Monitor(ws, "")
    with pytest.raises(ValidationError, match="interval_s must be at least"):
        Monitor(ws, ENDPOINT, interval_s=0.1)
    with pytest.raises(ValidationError, match="at most window_s"):
        Monitor(ws, ENDPOINT, interval_s=10, window_s=5)
    with pytest.raises(NotFound):
        metrics_snapshot(ws, "no-such-endpoint-here")


def test_counted_deltas_equal_the_requests_sent(ws, one_chunk):
    m = ws.monitor(ENDPOINT, interval_s=1, window_s=60)
    assert m.refresh_band() == (one_chunk, one_chunk) == provisioned_band(ws, ENDPOINT)
    assert m.sample() is None  # the first scrape is the baseline
    sent = [ask_once(ws, ENDPOINT, 4) for _ in range(3)]
    row = m.sample()
    assert row is not None
    assert (row["requests"], row["ok"], row["rate_limited"], row["errors"]) == (3, 3, 0, 0)
    assert row["tokens"] == sum(t for _, t in sent)
    assert row["delivered_tokens_per_s"] == pytest.approx(row["tokens"] / row["seconds"], abs=0.1)
    assert 0 < row["latency_p50_ms"] <= row["latency_p95_ms"]
    assert row["provisioned_tokens_per_s"] == one_chunk
    assert (row["min_tokens_per_s"], row["max_tokens_per_s"]) == (one_chunk, one_chunk)

    # above the rate: 8 concurrent asks of 2 chunks each cannot all fit a one-chunk bucket
    statuses = burst_until_429(ws, ENDPOINT, one_chunk)
    row = m.sample()
    limited = sum(1 for s, _ in statuses if s == 429)
    assert row["requests"] == len(statuses) and row["rate_limited"] == limited >= 1
    assert row["ok"] == len(statuses) - limited and row["errors"] == 0
    assert row["tokens"] == sum(t for _, t in statuses)
    frame = m.frame
    assert list(frame.columns) == COLUMNS and len(frame) == 2
    assert frame["rate_limited"].tolist() == [0, limited]
    assert str(frame["time"].dt.tz) == "UTC"


def test_monitor_thread_samples_until_stopped(ws, one_chunk):
    rows: list[dict] = []
    heard = threading.Event()

    def on_row(row: dict) -> None:
        rows.append(row)
        if len(rows) >= 2:
            heard.set()

    m = Monitor(ws, ENDPOINT, interval_s=0.5, window_s=60, on_row=on_row).start()
    assert m.running and m.start() is m  # starting twice keeps one thread
    assert heard.wait(60), m.error
    m.stop()
    m.wait(30)
    assert not m.running and m.future.done() and m.future.exception() is None
    assert not any(t.name == f"pt-monitor-{ENDPOINT}" for t in threading.enumerate())
    count = len(m.rows)
    assert count >= 2 and m.band == (one_chunk, one_chunk)
    assert len(m.rows) == count  # nothing is added once stopped


def test_a_deleted_endpoint_ends_the_monitor(ws, one_chunk):
    name = "monitor-gone"
    ws.deploy(name, CHAT_MODEL, 1, {"max_throughput": one_chunk, "min_throughput": one_chunk},
              timeout=600)
    errors: list[str] = []
    m = Monitor(ws, name, interval_s=0.5, on_error=errors.append).start()
    wait_until(lambda: m.rows, 60, what="a first interval")
    ws.delete_endpoint(name)
    m.wait(60)
    assert m.error and name in m.error and errors[-1] == m.error


def test_public_names(ws):
    assert pt_widgets.Monitor is Monitor and pt_widgets.metrics_snapshot is metrics_snapshot
    assert ws.metrics_snapshot.__func__ is metrics_snapshot
