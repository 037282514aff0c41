"""Twice the provisioned rate from 32 clients: no 5xx, nothing dropped, every excess request a
429 with Retry-After, the rate held, memory flat. Short here; the 60 s run is
``tests/benchmarks/load_test.py``. See ``load.py`` for the load shape."""

from __future__ import annotations

from .load import run_load


def test_twice_the_provisioned_rate_is_refused_cleanly(deployed):
    report = run_load(deployed.server, deployed.chat, deployed.chat_chunk, clients=32,
                      seconds=10, warmup_s=3)
    print(report.summary())
    assert report.server_errors == 0, report.statuses
    assert report.dropped == []
    assert report.refusals_not_429 == []
    assert report.refusals_without_retry_after == 0
    assert report.statuses[200] > 0 and report.statuses[429] > 0, report.statuses
    # the limit holds: the provisioned rate plus at most one bucket (one second of it)
    assert report.delivered_tps <= report.provisioned_tps * (1 + 1.5 / report.seconds), \
        report.summary()
    assert report.memory_growth < 0.10, report.summary()
