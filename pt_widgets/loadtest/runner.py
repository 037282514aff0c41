"""Running a load test: worker threads per level, a metrics poller, events for the widget.

Each level keeps ``c`` requests in flight (closed loop: a worker sends its next request when
the previous one is answered) for ``seconds_per_level`` or ``max_requests_per_level``
requests, whichever comes first. A 429 is *measured*, never retried: the worker then waits
the server's ``Retry-After`` (as a well-behaved client would) before its next request.
Every thread is a :func:`~pt_widgets.transport.in_background` future; every wait is
:func:`~pt_widgets.transport.pause` on the stop event, so Stop is heard at once.

The load goes wherever the :class:`~pt_widgets.workspace.Workspace` points: the local
workspace on loopback, or your own Databricks workspace (your endpoint, your bill).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from ..errors import ApiError, Cancelled, NotFound, PtWidgetsError, ValidationError
from ..transport import NO_RETRY, in_background, pause
from .measure import Sample, level_row, parse_rate, timeline_bins
from .plan import plan_load_test
from .recommend import EndpointCapacity, recommend
from .result import LoadTestResult

if TYPE_CHECKING:  # pragma: no cover
    from ..workspace import Workspace

__all__ = ["LoadTest", "load_test", "endpoint_capacity", "provisioned_rate"]

PROGRESS_INTERVAL_S = 0.5
METRICS_INTERVAL_S = 1.0
LIVE_BINS = 60
EventHandler = Callable[[dict[str, Any]], Any]


# --------------------------------------------------------------------------- the endpoint


def endpoint_capacity(ws: Workspace, endpoint: str) -> EndpointCapacity:
    """The provisioned band of ``endpoint``'s first *live* served entity, with its chunk size.

    Live, not pending: during an update the load is served by the config already running,
    so that is the band the measurement is compared with.
    """
    from ..endpoints import get_endpoint
    from ..sizing import MODEL_UNITS, TOKENS_PER_SECOND, sizing_plan

    ep = get_endpoint(ws, endpoint)
    task = (ep.task or "").lower()
    entities = ep.served_entities
    if not entities:
        return EndpointCapacity(endpoint, task)
    entity = entities[0]
    chunk = None
    if entity.entity_name and entity.entity_version:
        try:
            chunk = float(sizing_plan(ws, entity.entity_name, entity.entity_version).chunk_size)
        except PtWidgetsError:
            chunk = None  # not a Unity Catalog model, or not optimizable: no chunk to speak of
    if entity.provisioned_model_units:
        return EndpointCapacity(endpoint, task, MODEL_UNITS, chunk,
                                model_units=float(entity.provisioned_model_units))
    if entity.max_provisioned_throughput is None:
        return EndpointCapacity(endpoint, task, None, chunk)
    return EndpointCapacity(endpoint, task, TOKENS_PER_SECOND, chunk,
                            float(entity.min_provisioned_throughput or 0),
                            float(entity.max_provisioned_throughput),
                            scale_to_zero=bool(entity.scale_to_zero_enabled))


def provisioned_rate(ws: Workspace, endpoint: str, timeout: float = 5.0) -> float | None:
    """The current provisioned tokens/s from the endpoint's metrics, or ``None``.

    The local workspace exports ``provisioned_throughput_tokens_per_second``; a workspace
    that does not (or refuses the metrics route) gives ``None``.
    """
    from ..monitor import metrics_text

    try:
        text = metrics_text(ws, endpoint, timeout)
    except PtWidgetsError:
        return None
    return parse_rate(text)


# --------------------------------------------------------------------------- the runner


class LoadTest:
    """A load test you can start in the background, watch, and stop.

    ``lt = LoadTest(ws, "my-endpoint", [1, 4, 8], seconds_per_level=10)``; ``lt.plan``
    states the caps; ``lt.start()`` runs it in the background (``lt.stop()``, ``lt.wait()``,
    ``lt.future``), or ``lt.run()`` blocks and returns the :class:`LoadTestResult`.
    ``on_event`` gets ``{"type": "start"|"progress"|"level"|"done", ...}`` dicts (what the
    widget draws).

    Options: ``seconds_per_level`` (15), ``max_requests_per_level`` (200), ``max_tokens``
    (32), ``prompt``, ``drain_s`` (10), ``timeout`` (60) go to :func:`plan_load_test`;
    ``temperature`` (0), ``stream`` (True: chat answers stream, for the time to first
    token), ``target_concurrency`` (the level the recommendation is for; default the
    highest), ``metrics`` (True: poll the provisioned rate), ``cancel`` (an Event that
    stops the test), ``on_event``.
    """

    def __init__(
        self,
        ws: Workspace,
        endpoint: str,
        concurrency: int | Iterable[int] = (1, 2, 4, 8),
        *,
        temperature: float | None = 0.0,
        stream: bool = True,
        target_concurrency: int | None = None,
        metrics: bool = True,
        cancel: threading.Event | None = None,
        on_event: EventHandler | None = None,
        **plan: Any,
    ) -> None:
        self.plan = plan_load_test(endpoint, concurrency, **plan)
        self._ws = ws
        self.temperature = temperature
        self.stream = stream
        self.target_concurrency = target_concurrency
        self.metrics = metrics
        self.on_event = on_event
        self._stop = cancel or threading.Event()
        self._lock = threading.Lock()
        self._samples: list[Sample] = []
        self._rates: list[tuple[float, float]] = []
        self._levels: list[dict[str, Any]] = []
        self._t0 = 0.0
        self.future: Future[LoadTestResult] | None = None
        self.capacity: EndpointCapacity | None = None
        self.result: LoadTestResult | None = None
        self.error: BaseException | None = None

    # -- control ------------------------------------------------------------------------
    def start(self) -> LoadTest:
        """Run in the background (``self.future``); returns at once."""
        if self.future is not None:
            raise ValidationError("This load test was already started; make a new one.")
        self.future = in_background(self._run_safely, name="pt-loadtest")
        return self

    def run(self) -> LoadTestResult:
        """Run and block until done (Ctrl-C stops the test and returns what was measured)."""
        self.start()
        try:
            return self.wait()
        except KeyboardInterrupt:
            self.stop()
            return self.wait()

    def stop(self) -> None:
        """Stop sending now; streamed answers are dropped, the result keeps what finished."""
        self._stop.set()

    @property
    def running(self) -> bool:
        return self.future is not None and not self.future.done()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> LoadTestResult:
        """Wait for the test; its result, or its error raised."""
        if self.future is None:
            raise ValidationError("Start the load test first (start() or run()).")
        try:
            return self.future.result(timeout)
        except FutureTimeout:
            raise TimeoutError(f"The load test is still running after {timeout} s.") from None

    # -- running ------------------------------------------------------------------------
    def _emit(self, event: dict[str, Any]) -> None:
        if self.on_event is not None:
            # a display problem must not stop the test
            with contextlib.suppress(Exception):
                self.on_event(event)

    def _now(self) -> float:
        return time.monotonic() - self._t0

    def _run_safely(self) -> LoadTestResult:
        try:
            return self._run()
        except BaseException as exc:
            self.error = exc
            self._emit({"type": "error", "error": str(exc)})
            raise

    def _kind(self) -> str:
        task = self.capacity.task if self.capacity else ""
        for kind in ("embeddings", "completions", "chat"):
            if task.endswith(kind):
                return kind
        return "chat"

    def _run(self) -> LoadTestResult:
        plan = self.plan
        try:
            self.capacity = endpoint_capacity(self._ws, plan.endpoint)
        except NotFound:
            raise
        except PtWidgetsError:
            self.capacity = None
        self._t0 = time.monotonic()
        self._emit({"type": "start", "plan": plan.to_dict(),
                    "capacity": self.capacity.to_dict() if self.capacity else None})
        if self.metrics:
            in_background(self._poll_rate, name="pt-loadtest-metrics")
        kind = self._kind()
        for index, c in enumerate(plan.concurrency):
            if self._stop.is_set():
                break
            self._run_level(index, c, kind)
        result = self._result(self._now())
        self.result = result  # before "done": its listeners read it
        self._emit({"type": "done", "result": result.payload()})
        return result

    def _result(self, elapsed: float) -> LoadTestResult:
        with self._lock:
            samples = list(self._samples)
            rates = list(self._rates)
            levels = list(self._levels)
        bins = timeline_bins(samples, elapsed, rates)
        rec = recommend(levels, self.capacity, self.target_concurrency)
        return LoadTestResult(self.plan, self.capacity, levels, [s.row() for s in samples],
                              bins, rec, stopped=self._stop.is_set(), elapsed_s=elapsed)

    def _poll_rate(self) -> None:
        failures = 0
        while not self._stop.is_set() and self.result is None and self.error is None:
            rate = provisioned_rate(self._ws, self.plan.endpoint)
            if rate is None:
                failures += 1
                if failures >= 3:
                    return  # the workspace does not export it: the chart shows min/max only
            else:
                failures = 0
                with self._lock:
                    self._rates.append((self._now(), rate))
            pause(METRICS_INTERVAL_S, self._stop)

    def _run_level(self, index: int, c: int, kind: str) -> None:
        started = self._now()
        level = _Level(index, c, started, started + self.plan.seconds_per_level)
        self._emit({"type": "level_start", "level": index, "concurrency": c,
                    "at": round(started, 2)})
        pending = {in_background(self._worker, level, kind, name=f"pt-loadtest-{c}-{i}")
                   for i in range(c)}
        hard_stop = level.deadline + self.plan.drain_s
        last_progress = -PROGRESS_INTERVAL_S
        while pending:
            now = self._now()
            if now >= hard_stop or self._stop.is_set():
                level.abort.set()  # streamed answers stop at their next chunk
            if now - last_progress >= PROGRESS_INTERVAL_S:
                last_progress = now
                self._progress(level)
            _, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
        with self._lock:
            finished = [s for s in level.samples if s.status != "cancelled"]
            # the level lasts until its last answer (or until it was stopped, if earlier)
            ended = max([min(level.deadline, self._now())] + [s.end_s for s in finished])
            rates = [r for t, r in self._rates if started <= t <= ended]
        row = level_row(c, finished, started, ended, rates)
        with self._lock:
            self._levels.append(row)
        self._progress(level)
        self._emit({"type": "level", "level": index, "row": row})

    def _worker(self, level: _Level, kind: str) -> None:
        """Send requests one after the other until the level's time or request cap is up."""
        while not self._stop.is_set() and not level.abort.is_set():
            if not level.take_ticket(self.plan.max_requests_per_level, self._now()):
                return
            sample = self._one(level, kind)
            with self._lock:
                self._samples.append(sample)
                level.samples.append(sample)
            if sample.status == "429":
                delay = min(sample.retry_after_s or 1.0, level.deadline - self._now())
                if delay > 0 and (pause(delay, self._stop) or level.abort.is_set()):
                    return

    def _progress(self, level: _Level) -> None:
        now = self._now()
        with self._lock:
            samples = list(self._samples)
            rates = list(self._rates)
            current = list(level.samples)
        first = max(0, math.ceil(now) - LIVE_BINS)
        bins = timeline_bins(samples, now, rates, first=first)
        ok = sum(1 for s in current if s.status == "ok")
        limited = sum(1 for s in current if s.status == "429")
        self._emit({"type": "progress", "elapsed": round(now, 2), "level": level.index,
                    "concurrency": level.concurrency,
                    "level_elapsed": round(now - level.started, 2),
                    "ok": ok, "rate_limited": limited, "requests": len(current),
                    "rate": rates[-1][1] if rates else None, "bins": bins})

    def _one(self, level: _Level, kind: str) -> Sample:
        """Send one request; never raises (its outcome is the sample's status)."""
        sample = Sample(level.index, level.concurrency, self._now())
        cancel = _AnyEvent(self._stop, level.abort)
        try:
            result, pieces = self._send(kind, cancel)
            _count_usage(sample, result, pieces)
            if kind == "chat" and self.stream:
                sample.ttft_s = result.time_to_first_token_s
        except Cancelled:
            sample.status = "cancelled"
        except ApiError as exc:
            if exc.status == 429:
                sample.status = "429"
                sample.retry_after_s = exc.retry_after
            else:
                sample.status = "error"
                sample.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a failed request is a measurement
            sample.status = "cancelled" if cancel.is_set() else "error"
            sample.error = str(exc) if isinstance(exc, PtWidgetsError) else (
                f"{type(exc).__name__}: {exc}")
        sample.end_s = self._now()
        return sample

    def _send(self, kind: str, cancel: threading.Event) -> tuple[Any, int | None]:
        """One query of the endpoint's kind: its result and, when streamed, its pieces."""
        from ..queries import chat, completions, embeddings, stream_chat

        plan = self.plan
        options: dict[str, Any] = {"retry": NO_RETRY, "timeout": plan.timeout_s,
                                   "cancel": cancel}
        if kind == "embeddings":
            return embeddings(self._ws, plan.endpoint, plan.prompt, **options), None
        options["max_tokens"] = plan.max_tokens
        if self.temperature is not None:
            options["temperature"] = self.temperature
        if kind == "completions":
            return completions(self._ws, plan.endpoint, plan.prompt, **options), None
        if not self.stream:
            return chat(self._ws, plan.endpoint, plan.prompt, **options), None
        pieces = 0
        with stream_chat(self._ws, plan.endpoint, plan.prompt, **options) as s:
            for _ in s:
                pieces += 1
        if s.error is not None:
            raise s.error
        if cancel.is_set():
            raise Cancelled("Stopped while the answer was streaming.")
        return s.result, pieces


class _Level:
    """The shared state of one level's workers: its clock, request count and abort."""

    def __init__(self, index: int, concurrency: int, started: float, deadline: float) -> None:
        self.index = index
        self.concurrency = concurrency
        self.started = started
        self.deadline = deadline
        self.abort = threading.Event()  # cancels this level's in-flight requests
        self.samples: list[Sample] = []
        self._sent = 0
        self._lock = threading.Lock()

    def take_ticket(self, cap: int, now: float) -> bool:
        """True if one more request may be sent (under the cap, before the deadline)."""
        with self._lock:
            if self._sent >= cap or now >= self.deadline:
                return False
            self._sent += 1
            return True


def _count_usage(sample: Sample, result: Any, pieces: int | None) -> None:
    usage = result.usage
    sample.prompt_tokens = int(usage.prompt_tokens or 0)
    if usage.completion_tokens is not None:
        sample.completion_tokens = int(usage.completion_tokens)
    else:  # embeddings, or a stream without a usage chunk: one piece is about one token
        sample.completion_tokens = int(pieces or 0)


class _AnyEvent(threading.Event):
    """Set when either of two events is (what the query functions' ``cancel`` expects)."""

    def __init__(self, a: threading.Event, b: threading.Event) -> None:
        super().__init__()
        self._a, self._b = a, b

    def is_set(self) -> bool:
        return self._a.is_set() or self._b.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self._a.wait(0.05 if remaining is None else min(0.05, remaining))
        return True


def load_test(ws: Workspace, endpoint: str, concurrency: int | Iterable[int] = (1, 2, 4, 8),
              **options: Any) -> LoadTestResult:
    """Sweep ``concurrency`` levels against ``endpoint``; the measured levels and advice.

    Each level keeps that many requests in flight for ``seconds_per_level`` seconds or
    ``max_requests_per_level`` requests, whichever comes first (see :func:`plan_load_test`
    for the caps, checked before anything is sent). 429s are counted, not retried (the
    worker waits the ``Retry-After``). ``options`` are :class:`LoadTest`'s (``prompt``,
    ``max_tokens``, ``temperature``, ``target_concurrency``, ``cancel``…); an unknown one
    is a ``TypeError``. ``cancel`` (a ``threading.Event``) stops the test early; what
    finished is kept.

    Returns a :class:`LoadTestResult`: ``.frame`` (one row per level: delivered tokens/s,
    requests/s, latency p50/p95, TTFT, 429 share…), ``.samples``, ``.timeline`` and
    ``.recommendation`` ("Your load needs 3 chunks …").
    """
    return LoadTest(ws, endpoint, concurrency, **options).run()
