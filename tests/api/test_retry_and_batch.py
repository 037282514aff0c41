"""Retry timing and the batch runner's contract (order, per-row errors, retries, cancel).

The batch runner is driven with plain Python callables here; the same runner against the
real local workspace is exercised in test_queries_api.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from pt_widgets.batch import CANCELLED, run_batch
from pt_widgets.errors import BadRequest, RateLimited, Unavailable
from pt_widgets.workspace import RetryPolicy, retry_delay

from ..support import wait_until

POLICY = RetryPolicy(max_attempts=4, max_delay_s=10, deadline_s=30, backoff_s=1)


def test_retry_after_wins_over_backoff():
    assert retry_delay(429, 2.5, 0, 0.0, POLICY) == 2.5


def test_backoff_doubles_without_retry_after():
    assert [retry_delay(503, None, a, 0.0, POLICY) for a in range(3)] == [1, 2, 4]


def test_gives_up_after_max_attempts_and_on_other_statuses():
    assert retry_delay(429, 1, 3, 0.0, POLICY) is None
    assert retry_delay(400, 1, 0, 0.0, POLICY) is None
    assert retry_delay(500, 1, 0, 0.0, POLICY) is None


def test_a_retry_after_longer_than_the_cap_is_not_slept_through():
    assert retry_delay(429, 60, 0, 0.0, POLICY) is None


def test_deadline_bounds_total_waiting():
    assert retry_delay(429, 5, 1, 26.0, POLICY) is None
    assert retry_delay(429, 5, 1, 20.0, POLICY) == 5


def test_jitter_adds_at_most_ten_percent():
    assert retry_delay(429, 2, 0, 0.0, POLICY, jitter=1.0) == pytest.approx(2.2)


def _limited(retry_after: float = 0.01) -> RateLimited:
    return RateLimited("slow down", status=429, retry_after=retry_after)


def test_run_batch_keeps_order_under_concurrency():
    def slow_echo(x: int) -> int:
        time.sleep(0.02 * (x % 3))
        return x * 10

    outcomes = run_batch(list(range(30)), slow_echo, max_workers=8)
    assert [o.value for o in outcomes] == [x * 10 for x in range(30)]
    assert [o.index for o in outcomes] == list(range(30))


def test_run_batch_runs_in_parallel_but_bounded():
    """Six rows meet at a barrier (only possible if six run at once); the rows after them may
    start only once one of the six is released (at most six at once). No timing involved."""
    meet = threading.Barrier(6)
    release = threading.Event()
    lock = threading.Lock()
    active = peak = 0
    early: list[int] = []

    def work(x: int) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        if x < 6:
            meet.wait(60)  # BrokenBarrierError (a row error) if fewer than six run at once
            assert release.wait(60)
        elif not release.is_set():
            early.append(x)  # a seventh row ran while the first six were all held
        with lock:
            active -= 1

    runner = threading.Thread(target=lambda: outcomes.extend(
        run_batch(list(range(24)), work, max_workers=6)))
    outcomes: list = []
    runner.start()
    wait_until(lambda: peak == 6, 60, interval=0.01, what="six rows running at once")
    release.set()
    runner.join(60)
    assert not runner.is_alive()
    assert [o.error for o in outcomes] == [None] * 24
    assert peak == 6 and early == []


def test_run_batch_retries_rate_limits_then_succeeds():
    calls: dict[int, int] = {}

    def flaky(x: int) -> int:
        calls[x] = calls.get(x, 0) + 1
        if calls[x] < 3:
            raise _limited() if x % 2 else Unavailable("busy", status=503, retry_after=0.01)
        return x

    outcomes = run_batch(list(range(6)), flaky, max_workers=3)
    assert [o.value for o in outcomes] == list(range(6))
    assert all(o.attempts == 3 and o.error is None for o in outcomes)


def test_run_batch_keeps_per_row_errors_as_values():
    def picky(x: int) -> int:
        if x == 2:
            raise BadRequest("'max_tokens' must be positive (INVALID_PARAMETER_VALUE, HTTP 400).",
                             status=400)
        if x == 4:
            raise ValueError("local problem")
        return x

    outcomes = run_batch(list(range(6)), picky, max_workers=4)
    assert [o.value for o in outcomes] == [0, 1, None, 3, None, 5]
    assert "max_tokens" in outcomes[2].error
    assert outcomes[2].attempts == 1  # not retryable
    assert outcomes[4].error == "local problem"


def test_run_batch_gives_up_when_retry_budget_is_spent():
    def always_limited(_: int) -> int:
        raise _limited()

    outcomes = run_batch([1], always_limited, retry=RetryPolicy(max_attempts=3, max_delay_s=1))
    assert outcomes[0].attempts == 3
    assert "slow down" in outcomes[0].error


def test_run_batch_cancel_stops_new_rows():
    cancel = threading.Event()

    def work(x: int) -> int:
        if x == 3:
            cancel.set()
        time.sleep(0.01)
        return x

    outcomes = run_batch(list(range(50)), work, max_workers=1, cancel=cancel)
    assert [o.value for o in outcomes[:4]] == [0, 1, 2, 3]
    assert all(o.error == CANCELLED for o in outcomes[4:])


def test_run_batch_cancel_interrupts_a_retry_wait():
    cancel = threading.Event()

    def limited(_: int) -> int:
        threading.Timer(0.1, cancel.set).start()  # cancel during the wait that follows
        raise _limited(retry_after=600)

    started = time.monotonic()
    outcomes = run_batch([1], limited, cancel=cancel,
                         retry=RetryPolicy(max_attempts=5, max_delay_s=600,
                                                           deadline_s=None))
    # interrupted, not slept through: far under the 600 s the server asked for
    assert time.monotonic() - started < 120
    assert outcomes[0].error == CANCELLED


def test_run_batch_reports_progress():
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def record(done: int, total: int) -> None:
        with lock:
            seen.append((done, total))

    run_batch(list(range(10)), lambda x: x, max_workers=4, progress=record)
    assert sorted(seen) == [(i, 10) for i in range(1, 11)]
