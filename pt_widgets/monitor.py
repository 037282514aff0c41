"""Watch one endpoint live: delivered tokens/s against its provisioned band, 429s, latency.

Everything comes from the endpoint's metrics route (``GET /api/2.0/serving-endpoints/{name}/
metrics``, Prometheus text; on Databricks the same metrics export). Its counters only grow,
so one scrape says little; two consecutive scrapes say what happened in between.
:func:`metrics_snapshot` takes one scrape, :func:`interval_row` turns two into one row
(delivered tokens/s, requests/s, 429s, latency p50/p95 from the histogram's bucket deltas,
the current provisioned rate), and :class:`Monitor` scrapes every few seconds on a background
thread, keeping the last minutes as a DataFrame::

    m = ws.monitor("my-endpoint", interval_s=2).start()
    m.frame          # one row per interval of the last 5 minutes
    m.stop(); m.wait()

Names are the local workspace's (``request_count_total``, ``request_429_count_total``,
``input_tokens_total``, ``output_tokens_total``, ``request_latency_ms``,
``provisioned_throughput_tokens_per_second``, ``requests_in_flight``); a workspace that
does not export one leaves its columns empty. Latency covers every answered request, 429s
included, as the histogram is exported. Rows are counter deltas (a counter that went down
counts as reset); Databricks' export has been described as per-minute gauges, which this
has not been checked against.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import NotFound, PtWidgetsError, ValidationError
from .prometheus import (
    bucket_quantile,
    declared_metrics,
    histogram_buckets,
    metric_sum,
    parse_metrics,
)
from .transport import NO_RETRY, in_background, pause

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .workspace import Workspace

__all__ = ["COLUMNS", "MetricsSnapshot", "Monitor", "metrics_snapshot", "metrics_text",
           "interval_row", "provisioned_band", "monitor", "rows_frame"]

COLUMNS = ["time", "seconds", "requests", "ok", "rate_limited", "errors", "tokens",
           "requests_per_s",
           "rate_limited_per_s", "delivered_tokens_per_s", "output_tokens_per_s",
           "latency_p50_ms", "latency_p95_ms", "provisioned_tokens_per_s", "min_tokens_per_s",
           "max_tokens_per_s", "in_flight"]
MIN_INTERVAL_S = 0.5
MAX_WINDOW_S = 3600.0
BAND_EVERY_S = 30.0  # the band is the endpoint's config: read again now and then, not per scrape


def metrics_text(ws: Workspace, endpoint: str, timeout: float = 10.0) -> str:
    """The endpoint's metrics export as Prometheus text (one try: a monitor tries again)."""
    path = f"/api/2.0/serving-endpoints/{quote(endpoint, safe='')}/metrics"
    resp = ws.request("GET", path, timeout=timeout, retry=NO_RETRY,
                      headers={"Accept": "text/plain"})
    return resp.text


@dataclass(frozen=True)
class MetricsSnapshot:
    """One scrape: the endpoint's counters (summed over served entities) at ``at``.

    ``at`` is ``time.time()`` (for the frame's clock), ``monotonic`` measures intervals.
    A counter the workspace does not export is ``None``.
    """

    endpoint: str
    at: float
    monotonic: float
    requests: float | None
    ok: float | None
    rate_limited: float | None
    errors_5xx: float | None
    input_tokens: float | None
    output_tokens: float | None
    latency_buckets: tuple[tuple[float, float], ...]
    provisioned_tokens_per_s: float | None
    in_flight: float | None

    @classmethod
    def parse(cls, endpoint: str, text: str, at: float | None = None,
              monotonic: float | None = None) -> MetricsSnapshot:
        s, declared = parse_metrics(text), declared_metrics(text)

        def counter(name: str, **labels: str) -> float | None:
            value = metric_sum(s, name, **labels)
            return 0.0 if value is None and name in declared else value

        return cls(endpoint, time.time() if at is None else at,
                   time.monotonic() if monotonic is None else monotonic,
                   counter("request_count_total"),
                   counter("request_count_total", status_class="2xx"),
                   counter("request_429_count_total"), counter("request_5xx_count_total"),
                   counter("input_tokens_total"), counter("output_tokens_total"),
                   histogram_buckets(s, "request_latency_ms"),
                   metric_sum(s, "provisioned_throughput_tokens_per_second"),
                   metric_sum(s, "requests_in_flight"))


def metrics_snapshot(ws: Workspace, endpoint: str, timeout: float = 10.0) -> MetricsSnapshot:
    """Scrape ``endpoint``'s metrics once (two snapshots make an :func:`interval_row`)."""
    return MetricsSnapshot.parse(endpoint, metrics_text(ws, endpoint, timeout))


def provisioned_band(ws: Workspace, endpoint: str) -> tuple[float | None, float | None]:
    """``(min, max)`` tokens/s of the endpoint's *live* served entities, summed (traffic may
    be split over several); ``(None, None)`` when none is sized in tokens/s."""
    from .endpoints import get_endpoint

    sized = [e for e in get_endpoint(ws, endpoint).served_entities
             if e.max_provisioned_throughput is not None]
    if not sized:
        return None, None
    return (float(sum(e.min_provisioned_throughput or 0 for e in sized)),
            float(sum(e.max_provisioned_throughput or 0 for e in sized)))


def _delta(new: float | None, old: float | None) -> float | None:
    """A counter's growth; a counter that went down was reset (server restart): its value."""
    if new is None:
        return None
    if old is None or new < old:
        return new
    return new - old


def _per_s(amount: float | None, seconds: float, digits: int = 2) -> float | None:
    return None if amount is None else round(amount / seconds, digits)


def _latency_deltas(new: MetricsSnapshot, old: MetricsSnapshot) -> list[tuple[float, float]]:
    before = dict(old.latency_buckets)
    reset = any(count < before.get(le, 0.0) for le, count in new.latency_buckets)
    return [(le, count if reset else count - before.get(le, 0.0))
            for le, count in new.latency_buckets]


def interval_row(old: MetricsSnapshot, new: MetricsSnapshot,
                 band: tuple[float | None, float | None] = (None, None)) -> dict[str, Any]:
    """What happened between two scrapes, per second (``band``: the provisioned min/max)."""
    seconds = max(new.monotonic - old.monotonic, 1e-6)
    requests = _delta(new.requests, old.requests)
    limited = _delta(new.rate_limited, old.rate_limited)
    ok = _delta(new.ok, old.ok)
    tokens_in = _delta(new.input_tokens, old.input_tokens)
    tokens_out = _delta(new.output_tokens, old.output_tokens)
    delivered = None if tokens_in is None and tokens_out is None else (
        (tokens_in or 0.0) + (tokens_out or 0.0))
    latency = _latency_deltas(new, old)
    p50, p95 = bucket_quantile(0.5, latency), bucket_quantile(0.95, latency)
    errors = None if requests is None or ok is None else requests - ok - (limited or 0.0)
    return {
        "time": new.at, "seconds": round(seconds, 3), "requests": requests, "ok": ok,
        "rate_limited": limited, "errors": errors, "tokens": delivered,
        "requests_per_s": _per_s(requests, seconds),
        "rate_limited_per_s": _per_s(limited, seconds),
        "delivered_tokens_per_s": _per_s(delivered, seconds, 1),
        "output_tokens_per_s": _per_s(tokens_out, seconds, 1),
        "latency_p50_ms": None if p50 is None else round(p50, 1),
        "latency_p95_ms": None if p95 is None else round(p95, 1),
        "provisioned_tokens_per_s": new.provisioned_tokens_per_s,
        "min_tokens_per_s": band[0], "max_tokens_per_s": band[1],
        "in_flight": new.in_flight,
    }


def rows_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Interval rows as a DataFrame, ``time`` as a UTC timestamp."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
    return frame


class Monitor:
    """Scrape an endpoint's metrics every ``interval_s`` on a background thread.

    Keeps the rows of the last ``window_s`` seconds (``frame``, ``rows``); ``on_row(row)``
    hears each new one (what the widget draws). ``sample()`` scrapes once, now, on the
    caller's thread (what the thread does each interval). ``start()`` / ``stop()`` /
    ``wait()``; ``future`` is the thread's. A scrape that fails is reported in ``error``
    and tried again next interval; a deleted endpoint ends the monitor.
    """

    def __init__(self, ws: Workspace, endpoint: str, *, interval_s: float = 2.0,
                 window_s: float = 300.0, on_row: Callable[[dict[str, Any]], Any] | None = None,
                 on_error: Callable[[str], Any] | None = None) -> None:
        if not endpoint:
            raise ValidationError("Choose the endpoint to monitor first.")
        if not (MIN_INTERVAL_S <= interval_s <= window_s <= MAX_WINDOW_S):
            raise ValidationError(f"interval_s must be at least {MIN_INTERVAL_S:g} s and at most "
                                  f"window_s, and window_s at most {MAX_WINDOW_S:g} s.")
        self._ws = ws
        self.endpoint = endpoint
        self.interval_s = float(interval_s)
        self.window_s = float(window_s)
        self.on_row = on_row
        self.on_error = on_error
        self.band: tuple[float | None, float | None] = (None, None)
        self.error: str | None = None
        self.future: Future[None] | None = None
        self._rows: deque[dict[str, Any]] = deque()
        self._band_read = -math.inf
        self._last: MetricsSnapshot | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # -- sampling -----------------------------------------------------------------------
    def refresh_band(self) -> tuple[float | None, float | None]:
        """Read the provisioned min/max again (it changes when the endpoint is updated)."""
        self.band = provisioned_band(self._ws, self.endpoint)
        self._band_read = time.monotonic()
        return self.band

    def sample(self) -> dict[str, Any] | None:
        """Scrape now; the row since the previous scrape (``None`` for the first one)."""
        snap = metrics_snapshot(self._ws, self.endpoint)
        with self._lock:
            old, self._last = self._last, snap
            if old is None:
                return None
            row = interval_row(old, snap, self.band)
            self._rows.append(row)
            while self._rows and self._rows[0]["time"] < snap.at - self.window_s:
                self._rows.popleft()
        return row

    @property
    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._rows)

    @property
    def frame(self) -> pd.DataFrame:
        """The last ``window_s`` seconds, one row per interval (see ``COLUMNS``)."""
        return rows_frame(self.rows)

    # -- the thread ---------------------------------------------------------------------
    def start(self) -> Monitor:
        """Scrape in the background until :meth:`stop` (returns at once)."""
        with self._lock:
            if self.running and not self._stop.is_set():
                return self
            # a fresh event per run: a stopped thread still finishing its scrape ends anyway
            self._stop = threading.Event()
            self._last = None  # after a pause, the first scrape is a new baseline
            self.future = in_background(self._run, self._stop,
                                        name=f"pt-monitor-{self.endpoint}")
        return self

    def stop(self) -> None:
        """Stop scraping; the thread ends within one scrape."""
        with self._lock:
            self._stop.set()

    @property
    def running(self) -> bool:
        return self.future is not None and not self.future.done()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (after :meth:`stop`)."""
        if self.future is None:
            return
        try:
            self.future.result(timeout)
        except FutureTimeout:
            raise TimeoutError(f"The monitor is still running after {timeout} s.") from None

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if self._step():
                return
            if pause(self.interval_s, stop):
                return

    def _step(self) -> bool:
        """One scrape and its row; True when the endpoint is gone (nothing left to watch)."""
        try:
            if self._last is None or time.monotonic() - self._band_read >= BAND_EVERY_S:
                self.refresh_band()
            row = self.sample()
        except NotFound as exc:
            self._report(str(exc))
            return True
        except PtWidgetsError as exc:
            self._report(str(exc))
            return False
        if self.error is not None:
            self._report(None)
        # a row in the window is always reported, even if stop() came during its scrape: the
        # window and what ``on_row`` saw must hold the same rows
        if row is not None and self.on_row is not None:
            with contextlib.suppress(Exception):  # a display problem must not stop the monitor
                self.on_row(row)
        return False

    def _report(self, error: str | None) -> None:
        self.error = error
        if self.on_error is not None:
            with contextlib.suppress(Exception):
                self.on_error(error or "")


def monitor(ws: Workspace, endpoint: str, **options: Any) -> Monitor:
    """A :class:`Monitor` of ``endpoint`` (not started: ``.start()``, or ``.sample()``)."""
    return Monitor(ws, endpoint, **options)

