"""Load-test one endpoint: a bounded sweep of concurrency levels, measured as the user sees it.

Each level keeps ``c`` requests in flight (closed loop: a worker sends its next request when
the previous one is answered) for ``seconds_per_level`` or ``max_requests_per_level``
requests, whichever comes first. A 429 is *measured*, never retried: the worker then waits
the server's ``Retry-After`` (as a well-behaved client would) before its next request. Per
level you get delivered tokens/s (prompt + generated, the unit provisioned throughput is
sold in), requests/s, latency p50/p95, time to first token (chat answers stream) and the
share of 429s; per second a timeline, and the endpoint's provisioned rate when the
workspace exports it (the local workspace's ``provisioned_throughput_tokens_per_second``).
A one-line :class:`Recommendation` says how many chunks the load needs.

Caps first: :func:`plan_load_test` (also ``LoadTest(...).plan``) states the most requests
and seconds a run can take, before anything is sent; hard limits keep any plan bounded.
Stop any time: ``LoadTest.stop()`` or the ``cancel`` event; streamed answers stop at once.
The load goes wherever the :class:`~pt_widgets.workspace.Workspace` points: the local
workspace on loopback, or your own Databricks workspace (your endpoint, your bill).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import ApiError, Cancelled, NotFound, PtWidgetsError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .workspace import Workspace

__all__ = [
    "DEFAULT_PROMPT",
    "LEVEL_COLUMNS",
    "LoadTestPlan",
    "EndpointCapacity",
    "Recommendation",
    "LoadTestResult",
    "LoadTest",
    "plan_load_test",
    "endpoint_capacity",
    "provisioned_rate",
    "recommend",
    "load_test",
]

DEFAULT_PROMPT = "In two sentences, what does provisioned throughput mean for a model endpoint?"
MAX_LEVELS = 8
MAX_CONCURRENCY = 64  # what one served entity admits at once on Databricks' PT (and locally)
MAX_SECONDS_PER_LEVEL = 300.0
MAX_REQUESTS_PER_LEVEL = 2000
MAX_TOTAL_SECONDS = 900.0
PROGRESS_INTERVAL_S = 0.5
METRICS_INTERVAL_S = 1.0
LIVE_BINS = 60
SATURATED_SHARE = 0.01  # more 429s than this at a level: the endpoint was too small for it
LEVEL_COLUMNS = ["concurrency", "start_s", "seconds", "requests", "ok", "rate_limited", "errors",
                 "share_429", "requests_per_s", "delivered_tokens_per_s",
                 "output_tokens_per_s", "latency_p50_s", "latency_p95_s", "ttft_p50_s",
                 "ttft_p95_s", "demand_tokens_per_s", "provisioned_tokens_per_s"]
SAMPLE_COLUMNS = ["level", "concurrency", "start_s", "end_s", "status", "prompt_tokens",
                  "completion_tokens", "latency_s", "ttft_s", "retry_after_s", "error"]
EventHandler = Callable[[dict[str, Any]], Any]


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class LoadTestPlan:
    """What a load test will do and the most it can cost, known before it starts."""

    endpoint: str
    concurrency: tuple[int, ...]
    seconds_per_level: float
    max_requests_per_level: int
    max_tokens: int
    prompt: str
    drain_s: float
    timeout_s: float

    @property
    def max_requests(self) -> int:
        """The most requests the whole test sends (429s included)."""
        return len(self.concurrency) * self.max_requests_per_level

    @property
    def seconds(self) -> float:
        """How long the levels send requests for (the usual duration)."""
        return len(self.concurrency) * self.seconds_per_level

    @property
    def max_seconds(self) -> float:
        """Hard stop: each level's sending time plus the wait for its last answers."""
        return len(self.concurrency) * (self.seconds_per_level + self.drain_s)

    def describe(self) -> str:
        levels = ", ".join(str(c) for c in self.concurrency)
        return (f"{len(self.concurrency)} level{'s' if len(self.concurrency) != 1 else ''} "
                f"({levels} concurrent) × up to {self.seconds_per_level:g} s or "
                f"{self.max_requests_per_level} requests each, {self.max_tokens} tokens max "
                f"per answer: at most {self.max_requests} requests and about "
                f"{self.seconds:g} s (hard stop at {self.max_seconds:g} s) on "
                f"'{self.endpoint}'.")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(concurrency=list(self.concurrency), max_requests=self.max_requests,
                   seconds=self.seconds, max_seconds=self.max_seconds, text=self.describe())
        return out


def _levels(concurrency: int | Iterable[int]) -> tuple[int, ...]:
    raw = [concurrency] if isinstance(concurrency, int) else list(concurrency)
    try:
        levels = tuple(sorted({int(c) for c in raw}))
    except (TypeError, ValueError):
        raise ValidationError(f"Concurrency levels are whole numbers, like 1, 2, 4, 8 "
                              f"(got {raw!r}).") from None
    if not levels:
        raise ValidationError("Give at least one concurrency level, like 1, 2, 4, 8.")
    if len(levels) > MAX_LEVELS:
        raise ValidationError(f"Sweep at most {MAX_LEVELS} concurrency levels (got "
                              f"{len(levels)}).")
    if levels[0] < 1 or levels[-1] > MAX_CONCURRENCY:
        raise ValidationError(f"Concurrency levels go from 1 to {MAX_CONCURRENCY} (got "
                              f"{', '.join(map(str, levels))}).")
    return levels


def plan_load_test(
    endpoint: str,
    concurrency: int | Iterable[int] = (1, 2, 4, 8),
    *,
    seconds_per_level: float = 15.0,
    max_requests_per_level: int = 200,
    max_tokens: int = 32,
    prompt: str | None = None,
    drain_s: float = 10.0,
    timeout: float = 60.0,
) -> LoadTestPlan:
    """Validate a load test and state its caps (``plan.describe()``), sending nothing."""
    from .endpoints import check_endpoint_name

    check_endpoint_name(endpoint)
    levels = _levels(concurrency)
    seconds = float(seconds_per_level)
    if not (0 < seconds <= MAX_SECONDS_PER_LEVEL):
        raise ValidationError(f"seconds_per_level must be above 0 and at most "
                              f"{MAX_SECONDS_PER_LEVEL:g} (got {seconds_per_level}).")
    requests_cap = int(max_requests_per_level)
    if not (1 <= requests_cap <= MAX_REQUESTS_PER_LEVEL):
        raise ValidationError(f"max_requests_per_level must be 1 to {MAX_REQUESTS_PER_LEVEL} "
                              f"(got {max_requests_per_level}).")
    if not (1 <= int(max_tokens) <= 4096):
        raise ValidationError(f"max_tokens must be 1 to 4096 (got {max_tokens}).")
    if not (0 <= float(drain_s) <= 120):
        raise ValidationError(f"drain_s must be 0 to 120 seconds (got {drain_s}).")
    if not (0 < float(timeout) <= 600):
        raise ValidationError(f"timeout must be above 0 and at most 600 s (got {timeout}).")
    text = DEFAULT_PROMPT if prompt is None or not str(prompt).strip() else str(prompt)
    plan = LoadTestPlan(endpoint, levels, seconds, requests_cap, int(max_tokens), text,
                        float(drain_s), float(timeout))
    if plan.max_seconds > MAX_TOTAL_SECONDS:
        raise ValidationError(f"This plan could run {plan.max_seconds:g} s; keep a load test "
                              f"under {MAX_TOTAL_SECONDS:g} s (fewer levels or fewer seconds "
                              "per level).")
    return plan


# --------------------------------------------------------------------------- the endpoint


@dataclass(frozen=True)
class EndpointCapacity:
    """What an endpoint is provisioned for: the band in tokens/s, or model units."""

    endpoint: str
    task: str = ""
    scheme: str | None = None  # "tokens_per_second" | "model_units" | None (not PT)
    chunk_size: float | None = None  # tokens/s per chunk (or model units per step)
    min_tokens_per_s: float | None = None
    max_tokens_per_s: float | None = None
    model_units: float | None = None
    scale_to_zero: bool = False

    def chunks(self, tokens_per_s: float | None) -> float | None:
        if tokens_per_s is None or not self.chunk_size:
            return None
        return tokens_per_s / self.chunk_size

    def describe(self) -> str:
        if self.scheme == "model_units":
            return f"{self.model_units:g} model units"
        if self.max_tokens_per_s is None:
            return "not sized with provisioned throughput"
        lo, hi = self.min_tokens_per_s or 0, self.max_tokens_per_s
        band = f"{hi:g}" if lo == hi else f"{lo:g}–{hi:g}"
        chunk = f" (chunks of {self.chunk_size:g})" if self.chunk_size else ""
        return f"{band} tokens/s{chunk}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.describe()}


def endpoint_capacity(ws: Workspace, endpoint: str) -> EndpointCapacity:
    """The provisioned band of ``endpoint``'s first served entity, with its chunk size."""
    from .endpoints import get_endpoint
    from .sizing import MODEL_UNITS, TOKENS_PER_SECOND, sizing_plan

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


RATE_GAUGE = "provisioned_throughput_tokens_per_second"


def parse_rate(text: str) -> float | None:
    """The provisioned rate (summed over served entities) in Prometheus text, if present."""
    total, seen = 0.0, False
    for line in text.splitlines():
        if line.startswith(RATE_GAUGE) and line[len(RATE_GAUGE):len(RATE_GAUGE) + 1] in "{ ":
            try:
                total += float(line.rsplit(None, 1)[-1])
                seen = True
            except ValueError:
                continue
    return total if seen else None


def provisioned_rate(ws: Workspace, endpoint: str, timeout: float = 5.0) -> float | None:
    """The current provisioned tokens/s from the endpoint's metrics, or ``None``.

    The local workspace exports ``provisioned_throughput_tokens_per_second``; a workspace
    that does not (or refuses the metrics route) gives ``None``.
    """
    from .workspace import NO_RETRY

    path = f"/api/2.0/serving-endpoints/{quote(endpoint, safe='')}/metrics"
    try:
        resp = ws.request("GET", path, timeout=timeout, retry=NO_RETRY,
                          headers={"Accept": "text/plain"})
    except PtWidgetsError:
        return None
    return parse_rate(resp.text)


# --------------------------------------------------------------------------- measuring


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


# --------------------------------------------------------------------------- recommendation


@dataclass(frozen=True)
class Recommendation:
    """How much provisioned throughput the measured load needs, in one line (``text``)."""

    text: str
    chunks: int | None = None
    tokens_per_s: float | None = None
    concurrency: int | None = None
    demand_tokens_per_s: float | None = None
    share_429: float | None = None

    def __str__(self) -> str:
        return self.text


def _plural(n: float, word: str) -> str:
    return f"{n:g} {word}" if n == 1 else f"{n:g} {word}s"


def recommend(levels: list[dict[str, Any]], capacity: EndpointCapacity | None,
              target_concurrency: int | None = None) -> Recommendation:
    """The chunks the load at ``target_concurrency`` (default: the highest level) needs.

    The load's demand is what its requests would ask for if none were refused: concurrency ×
    tokens per answer ÷ answer latency (``demand_tokens_per_s``). It needs
    ``ceil(demand / chunk)`` chunks; with 429s at that level it needs at least one chunk
    more than the rate it was refused at.
    """
    done = [r for r in levels if r.get("requests")]
    if not done:
        return Recommendation("No level finished a request: nothing to recommend yet.")
    if target_concurrency is not None:
        row = min(done, key=lambda r: (abs(r["concurrency"] - target_concurrency),
                                       -r["concurrency"]))
    else:
        row = max(done, key=lambda r: r["concurrency"])
    c = row["concurrency"]
    share = float(row.get("share_429") or 0.0)
    delivered = float(row.get("delivered_tokens_per_s") or 0.0)
    demand = row.get("demand_tokens_per_s")
    if demand is None:
        return Recommendation(f"At {c} concurrent requests nothing was answered (429 share "
                              f"{share:.0%}); raise the endpoint's throughput and test again.",
                              None, None, c, None, share)
    need = max(float(demand), delivered) if share > 0 else float(demand)
    where = (f"{_plural(c, 'concurrent request')} ask ≈{need:,.0f} tokens/s"
             + (f", {share:.0%} refused with 429" if share > 0 else ", no 429s"))
    if capacity is None or capacity.scheme is None:
        return Recommendation(f"Your load needs ≈{need:,.0f} tokens/s ({where}); the endpoint "
                              "is not sized with provisioned throughput, so no chunk count.",
                              None, need, c, float(demand), share)
    if capacity.scheme == "model_units":
        units = capacity.model_units or 0.0
        provided = row.get("provisioned_tokens_per_s") or (delivered if share > 0 else None)
        if not provided or not units:
            return Recommendation(f"Your load asks ≈{need:,.0f} tokens/s ({where}); it "
                                  f"{'exceeds' if share > 0 else 'fits in'} the endpoint's "
                                  f"{units:g} model units.", None, need, c, float(demand),
                                  share)
        step = capacity.chunk_size or units
        wanted = max(step, math.ceil(units * need / float(provided) / step) * step)
        return Recommendation(f"Your load needs {wanted:g} model units ({where}; "
                              f"{units:g} units give ≈{float(provided):,.0f} tokens/s).",
                              int(round(wanted / step)), need, c, float(demand), share)
    chunk = capacity.chunk_size or 0.0
    if chunk <= 0:
        return Recommendation(f"Your load needs ≈{need:,.0f} tokens/s ({where}); the chunk "
                              "size is unknown.", None, need, c, float(demand), share)
    k = max(1, math.ceil(need / chunk - 1e-9))
    if share > SATURATED_SHARE:
        # refused at the rate it had: whatever the estimate says, it needs more than that
        had = row.get("provisioned_tokens_per_s") or capacity.max_tokens_per_s or 0.0
        k = max(k, math.floor(float(had) / chunk + 1e-9) + 1)
    tps = k * chunk
    hi = capacity.max_tokens_per_s or 0.0
    lo = capacity.min_tokens_per_s or 0.0
    if tps > hi:
        advice = f"raise max_provisioned_throughput from {hi:g} to {tps:g}"
    elif share > 0 and tps > lo:
        advice = (f"the endpoint scales up to {hi:g} tokens/s but started at {lo:g}: "
                  f"raise min_provisioned_throughput to {tps:g} to avoid 429s while it scales")
    else:
        advice = f"the endpoint's {capacity.describe()} cover it"
    return Recommendation(f"Your load needs {_plural(k, 'chunk')} ({tps:g} tokens/s): "
                          f"{where}; {advice}.", k, tps, c, float(demand), share)


# --------------------------------------------------------------------------- the result


@dataclass
class LoadTestResult:
    """Levels (``frame``), every request (``samples``), the per-second ``timeline``."""

    plan: LoadTestPlan
    capacity: EndpointCapacity | None
    levels: list[dict[str, Any]]
    sample_rows: list[dict[str, Any]]
    bins: list[list[Any]]
    recommendation: Recommendation
    stopped: bool = False
    error: str | None = None
    elapsed_s: float = 0.0

    @property
    def frame(self) -> pd.DataFrame:
        """One row per concurrency level (see :data:`LEVEL_COLUMNS`)."""
        import pandas as pd

        return pd.DataFrame(self.levels, columns=LEVEL_COLUMNS)

    def to_pandas(self) -> pd.DataFrame:
        return self.frame

    @property
    def samples(self) -> pd.DataFrame:
        """One row per request: level, start/end, status, tokens, latency, TTFT, error."""
        import pandas as pd

        return pd.DataFrame(self.sample_rows, columns=SAMPLE_COLUMNS)

    @property
    def timeline(self) -> pd.DataFrame:
        """Per second: delivered tokens/s, the provisioned rate (if exported), 429s."""
        import pandas as pd

        return pd.DataFrame(self.bins, columns=["second", "delivered_tokens_per_s",
                                                "provisioned_tokens_per_s", "rate_limited"])

    def payload(self) -> dict[str, Any]:
        """JSON for the widget (small: levels, bins, texts)."""
        return {"plan": self.plan.to_dict(),
                "capacity": self.capacity.to_dict() if self.capacity else None,
                "levels": self.levels, "bins": self.bins,
                "recommendation": self.recommendation.text, "stopped": self.stopped,
                "error": self.error, "elapsed_s": round(self.elapsed_s, 2)}

    def __repr__(self) -> str:
        state = " (stopped)" if self.stopped else ""
        return (f"<LoadTestResult {self.plan.endpoint!r}{state}: {len(self.levels)} levels, "
                f"{len(self.sample_rows)} requests; {self.recommendation.text}>")


# --------------------------------------------------------------------------- the runner


class LoadTest:
    """A load test you can start in the background, watch, and stop.

    ``lt = LoadTest(ws, "my-endpoint", [1, 4, 8], seconds_per_level=10)``; ``lt.plan``
    states the caps; ``lt.start()`` runs it on a thread (``lt.stop()``, ``lt.wait()``), or
    ``lt.run()`` blocks and returns the :class:`LoadTestResult`. ``on_event`` gets
    ``{"type": "start"|"progress"|"level"|"done", ...}`` dicts (what the widget draws).
    """

    def __init__(
        self,
        ws: Workspace,
        endpoint: str,
        concurrency: int | Iterable[int] = (1, 2, 4, 8),
        *,
        seconds_per_level: float = 15.0,
        max_requests_per_level: int = 200,
        max_tokens: int = 32,
        prompt: str | None = None,
        temperature: float | None = 0.0,
        stream: bool = True,
        drain_s: float = 10.0,
        timeout: float = 60.0,
        target_concurrency: int | None = None,
        metrics: bool = True,
        cancel: threading.Event | None = None,
        on_event: EventHandler | None = None,
    ) -> None:
        self.plan = plan_load_test(endpoint, concurrency, seconds_per_level=seconds_per_level,
                                   max_requests_per_level=max_requests_per_level,
                                   max_tokens=max_tokens, prompt=prompt, drain_s=drain_s,
                                   timeout=timeout)
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
        self._level_index = -1
        self._thread: threading.Thread | None = None
        self.capacity: EndpointCapacity | None = None
        self.result: LoadTestResult | None = None
        self.error: BaseException | None = None

    # -- control ------------------------------------------------------------------------
    def start(self) -> LoadTest:
        """Run on a background thread; returns at once."""
        if self._thread is not None:
            raise ValidationError("This load test was already started; make a new one.")
        self._thread = threading.Thread(target=self._run_safely, name="pt-loadtest",
                                        daemon=True)
        self._thread.start()
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
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> LoadTestResult:
        """Wait for the test; its result, or its error raised."""
        if self._thread is None:
            raise ValidationError("Start the load test first (start() or run()).")
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"The load test is still running after {timeout} s.")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    # -- running ------------------------------------------------------------------------
    def _emit(self, event: dict[str, Any]) -> None:
        if self.on_event is not None:
            # a display problem must not stop the test
            with contextlib.suppress(Exception):
                self.on_event(event)

    def _now(self) -> float:
        return time.monotonic() - self._t0

    def _run_safely(self) -> None:
        try:
            self.result = self._run()
        except BaseException as exc:  # noqa: BLE001 - handed to wait()
            self.error = exc
            self._emit({"type": "error", "error": str(exc)})

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
        poller = None
        if self.metrics:
            poller = threading.Thread(target=self._poll_rate, name="pt-loadtest-metrics",
                                      daemon=True)
            poller.start()
        kind = self._kind()
        for index, c in enumerate(plan.concurrency):
            if self._stop.is_set():
                break
            self._run_level(index, c, kind)
        result = self._result(self._now())
        self.result = result
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
        while not self._stop.is_set() and (self._thread is None or self._thread.is_alive()):
            if self.result is not None:
                return
            rate = provisioned_rate(self._ws, self.plan.endpoint)
            if rate is None:
                failures += 1
                if failures >= 3:
                    return  # the workspace does not export it: the chart shows min/max only
            else:
                failures = 0
                with self._lock:
                    self._rates.append((self._now(), rate))
            self._stop.wait(METRICS_INTERVAL_S)

    def _run_level(self, index: int, c: int, kind: str) -> None:
        plan = self.plan
        started = self._now()
        deadline = started + plan.seconds_per_level
        abort = threading.Event()  # cancels this level's in-flight requests
        sent = 0
        level_samples: list[Sample] = []
        counter = threading.Lock()
        self._level_index = index
        self._emit({"type": "level_start", "level": index, "concurrency": c,
                    "at": round(started, 2)})

        def worker() -> None:
            nonlocal sent
            while not self._stop.is_set() and not abort.is_set():
                with counter:
                    if sent >= plan.max_requests_per_level or self._now() >= deadline:
                        return
                    sent += 1
                sample = self._one(index, c, kind, abort)
                with self._lock:
                    self._samples.append(sample)
                    level_samples.append(sample)
                if sample.status == "429":
                    wait = min(sample.retry_after_s or 1.0, deadline - self._now())
                    if wait > 0 and (self._stop.wait(wait) or abort.is_set()):
                        return

        threads = [threading.Thread(target=worker, name=f"pt-loadtest-{c}-{i}", daemon=True)
                   for i in range(c)]
        for t in threads:
            t.start()
        hard_stop = deadline + plan.drain_s
        last_progress = -PROGRESS_INTERVAL_S
        while True:
            alive = [t for t in threads if t.is_alive()]
            if not alive:
                break
            now = self._now()
            if now >= hard_stop or self._stop.is_set():
                abort.set()  # streamed answers stop at their next chunk
            if now - last_progress >= PROGRESS_INTERVAL_S:
                last_progress = now
                self._progress(index, c, started, level_samples)
            alive[0].join(timeout=0.1)
        with self._lock:
            finished = [s for s in level_samples if s.status != "cancelled"]
            # the level lasts until its last answer (or until it was stopped, if earlier)
            ended = max([min(deadline, self._now())] + [s.end_s for s in finished])
            rates = [r for t, r in self._rates if started <= t <= ended]
        row = level_row(c, finished, started, ended, rates)
        with self._lock:
            self._levels.append(row)
        self._progress(index, c, started, level_samples)
        self._emit({"type": "level", "level": index, "row": row})

    def _progress(self, index: int, c: int, started: float, level: list[Sample]) -> None:
        now = self._now()
        with self._lock:
            samples = list(self._samples)
            rates = list(self._rates)
            current = list(level)
        first = max(0, math.ceil(now) - LIVE_BINS)
        bins = timeline_bins(samples, now, rates, first=first)
        ok = sum(1 for s in current if s.status == "ok")
        limited = sum(1 for s in current if s.status == "429")
        self._emit({"type": "progress", "elapsed": round(now, 2), "level": index,
                    "concurrency": c, "level_elapsed": round(now - started, 2),
                    "ok": ok, "rate_limited": limited, "requests": len(current),
                    "rate": rates[-1][1] if rates else None, "bins": bins})

    def _one(self, index: int, c: int, kind: str, abort: threading.Event) -> Sample:
        """Send one request; never raises (its outcome is the sample's status)."""
        from .queries import chat, completions, embeddings, stream_chat
        from .workspace import NO_RETRY

        plan = self.plan
        sample = Sample(index, c, self._now())
        gen: dict[str, Any] = {"max_tokens": plan.max_tokens}
        if self.temperature is not None:
            gen["temperature"] = self.temperature
        cancel = _AnyEvent(self._stop, abort)
        try:
            if kind == "embeddings":
                result: Any = embeddings(self._ws, plan.endpoint, plan.prompt, retry=NO_RETRY,
                                         timeout=plan.timeout_s, cancel=cancel)
                sample.prompt_tokens = int(result.usage.prompt_tokens or 0)
            elif kind == "completions":
                result = completions(self._ws, plan.endpoint, plan.prompt, retry=NO_RETRY,
                                     timeout=plan.timeout_s, cancel=cancel, **gen)
                self._usage(sample, result, None)
            elif self.stream:
                pieces = 0
                with stream_chat(self._ws, plan.endpoint, plan.prompt, retry=NO_RETRY,
                                 timeout=plan.timeout_s, cancel=cancel, **gen) as s:
                    for _ in s:
                        pieces += 1
                if s.error is not None:
                    raise s.error
                if cancel.is_set():
                    raise Cancelled("Stopped while the answer was streaming.")
                result = s.result
                self._usage(sample, result, pieces)
                sample.ttft_s = result.time_to_first_token_s
            else:
                result = chat(self._ws, plan.endpoint, plan.prompt, retry=NO_RETRY,
                              timeout=plan.timeout_s, cancel=cancel, **gen)
                self._usage(sample, result, None)
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

    @staticmethod
    def _usage(sample: Sample, result: Any, pieces: int | None) -> None:
        usage = result.usage
        sample.prompt_tokens = int(usage.prompt_tokens or 0)
        if usage.completion_tokens is not None:
            sample.completion_tokens = int(usage.completion_tokens)
        else:  # a stream without a usage chunk: one piece is about one token
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


def load_test(
    ws: Workspace,
    endpoint: str,
    concurrency: int | Iterable[int] = (1, 2, 4, 8),
    *,
    seconds_per_level: float = 15.0,
    max_requests_per_level: int = 200,
    max_tokens: int = 32,
    prompt: str | None = None,
    temperature: float | None = 0.0,
    stream: bool = True,
    drain_s: float = 10.0,
    timeout: float = 60.0,
    target_concurrency: int | None = None,
    metrics: bool = True,
    cancel: threading.Event | None = None,
    on_event: EventHandler | None = None,
) -> LoadTestResult:
    """Sweep ``concurrency`` levels against ``endpoint``; the measured levels and advice.

    Each level keeps that many requests in flight for ``seconds_per_level`` seconds or
    ``max_requests_per_level`` requests, whichever comes first (see :func:`plan_load_test`
    for the caps, checked before anything is sent). 429s are counted, not retried (the
    worker waits the ``Retry-After``). ``prompt`` (default: a short question) is sent with
    ``max_tokens`` and ``temperature``; chat answers stream for the time to first token.
    ``target_concurrency`` picks the level the recommendation is for (default: the highest).
    ``cancel`` (a ``threading.Event``) stops the test early; what finished is kept.

    Returns a :class:`LoadTestResult`: ``.frame`` (one row per level: delivered tokens/s,
    requests/s, latency p50/p95, TTFT, 429 share…), ``.samples``, ``.timeline`` and
    ``.recommendation`` ("Your load needs 3 chunks …").
    """
    return LoadTest(ws, endpoint, concurrency, seconds_per_level=seconds_per_level,
                    max_requests_per_level=max_requests_per_level, max_tokens=max_tokens,
                    prompt=prompt, temperature=temperature, stream=stream, drain_s=drain_s,
                    timeout=timeout, target_concurrency=target_concurrency, metrics=metrics,
                    cancel=cancel, on_event=on_event).run()


__all__ += ["Sample", "percentile", "level_row", "timeline_bins", "parse_rate"]
