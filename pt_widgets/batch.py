"""Query a whole DataFrame column concurrently: bounded parallelism, retries, order kept.

Each row becomes one request (embeddings are grouped ``batch_size`` texts per request) on a
thread pool of ``max_workers``. A 429/503 is retried after the server's ``Retry-After`` (or
exponential backoff) under a :class:`RetryPolicy`; any other failure, or a retry budget
running out, becomes that row's ``error`` value instead of aborting the batch. Results come
back in input order, aligned to the input's index. ``cancel`` stops starting new rows; rows
not run are marked cancelled.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import Cancelled, ValidationError
from .transport import NO_RETRY, RetryPolicy, api_retry_delay, with_retries

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .workspace import Workspace

T = TypeVar("T")
R = TypeVar("R")

__all__ = [
    "BATCH_RETRY",
    "Outcome",
    "BatchOptions",
    "run_batch",
    "batch_chat",
    "batch_completions",
    "batch_embeddings",
]

# A row's budget is time, not attempts: under contention a row can meet many short
# Retry-After waits in a row, and giving up after a handful would fail rows of a healthy batch.
BATCH_RETRY = RetryPolicy(max_attempts=10_000, max_delay_s=60.0, deadline_s=900.0)
CANCELLED = "Cancelled before this row was sent."
Progress = Callable[[int, int], Any]


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What happened to one input: its value, or the one-sentence error, and the effort."""

    index: int
    value: R | None
    error: str | None
    attempts: int
    latency_s: float


class _RowCancelled(Exception):
    """Raised by the retry loop when ``cancel`` is set: the row becomes "cancelled"."""


def _run_one(
    index: int,
    item: T,
    fn: Callable[[T], R],
    policy: RetryPolicy,
    cancel: threading.Event | None,
) -> Outcome[R]:
    """Call ``fn(item)`` with retries on retryable API errors; never raises."""
    started = time.monotonic()
    attempts = 0

    def once() -> R:
        nonlocal attempts
        attempts += 1
        return fn(item)

    def delay_after(exc: Exception, attempt: int, elapsed: float) -> float | None:
        return api_retry_delay(exc, attempt, elapsed, policy)

    try:
        value = with_retries(once, delay_after, cancel=cancel, cancelled=_RowCancelled)
    except (Cancelled, _RowCancelled):
        return Outcome(index, None, CANCELLED, attempts, time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - per-row errors are values, not aborts
        return Outcome(index, None, str(exc) or type(exc).__name__, attempts,
                       time.monotonic() - started)
    return Outcome(index, value, None, attempts, time.monotonic() - started)


def run_batch(
    items: Sequence[T],
    fn: Callable[[T], R],
    *,
    max_workers: int = 8,
    retry: RetryPolicy = BATCH_RETRY,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[Outcome[R]]:
    """Apply ``fn`` to every item on at most ``max_workers`` threads; outcomes in input order.

    Retryable failures are API errors whose status is in ``retry.statuses`` (429, 503).
    ``progress(done, total)`` is called after each item, from worker threads.
    """
    if max_workers < 1:
        raise ValidationError(f"max_workers must be at least 1, not {max_workers}.")
    total = len(items)
    outcomes: list[Outcome[R] | None] = [None] * total
    done = 0
    lock = threading.Lock()

    def task(index: int) -> None:
        nonlocal done
        outcome = _run_one(index, items[index], fn, retry, cancel)
        outcomes[index] = outcome
        with lock:
            done += 1
            finished = done
        if progress is not None:
            progress(finished, total)

    if total:
        with ThreadPoolExecutor(max_workers=min(max_workers, total),
                                thread_name_prefix="pt-batch") as pool:
            for future in [pool.submit(task, i) for i in range(total)]:
                future.result()
    return [o for o in outcomes if o is not None]


# --------------------------------------------------------------------------- progress display


class _TextProgress:
    """A dependency-free progress line on stderr, redrawn at most every 5 %."""

    def __init__(self, total: int, label: str) -> None:
        self.total = total
        self.label = label
        self._step = max(1, total // 20)
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        if done % self._step and done != total:
            return
        with self._lock:
            end = "\n" if done == total else ""
            print(f"\r{self.label}: {done}/{total}", end=end, file=sys.stderr, flush=True)


def _progress(progress: bool | Progress | None, total: int, label: str) -> tuple[Progress | None,
                                                                                 Callable[[], Any]]:
    """Resolve ``progress=True`` to a tqdm bar when available, else a text line."""
    if progress is None or progress is False:
        return None, lambda: None
    if callable(progress):
        return progress, lambda: None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _TextProgress(total, label), lambda: None
    bar = tqdm(total=total, desc=label)
    lock = threading.Lock()

    def update(done: int, _total: int) -> None:
        with lock:
            bar.update(done - bar.n)

    return update, bar.close


# --------------------------------------------------------------------------- DataFrame front


def _column(data: Any, column: str | None) -> tuple[list[str], Any, Any]:
    """(texts, index, frame) from a DataFrame column, a Series, or a list of strings."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        if column is None:
            candidates = [c for c in ("prompt", "text", "input") if c in data.columns]
            if len(data.columns) == 1:
                column = str(data.columns[0])
            elif candidates:
                column = candidates[0]
            else:
                raise ValidationError(
                    "Say which column to query with column= (the frame has "
                    f"{', '.join(map(str, data.columns))})."
                )
        if column not in data.columns:
            raise ValidationError(f"The frame has no column {column!r}.")
        return [str(v) for v in data[column].tolist()], data.index, data.copy()
    if isinstance(data, pd.Series):
        name = data.name if data.name is not None else column or "prompt"
        frame = data.to_frame(name=name)
        return [str(v) for v in data.tolist()], data.index, frame
    texts = [str(v) for v in data]
    frame = pd.DataFrame({column or "prompt": texts})
    return texts, frame.index, frame


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs (the same for chat, completions and embeddings).

    ``max_workers`` requests at a time; ``retry`` for 429/503 (:data:`BATCH_RETRY`: time,
    not attempts); ``progress`` True (a bar), False or ``callable(done, total)``;
    ``cancel`` an Event that stops starting rows; ``timeout`` the read timeout per request.
    """

    max_workers: int = 32
    retry: RetryPolicy = BATCH_RETRY
    progress: bool | Progress | None = True
    cancel: threading.Event | None = None
    timeout: float | None = None

    @classmethod
    def take(cls, options: dict[str, Any], **defaults: Any) -> BatchOptions:
        """Pop this class's fields out of ``options`` (the rest are query parameters)."""
        names = {f.name for f in fields(cls)}
        return cls(**{**defaults, **{k: options.pop(k) for k in list(options) if k in names}})

    def run(self, items: Sequence[T], call: Callable[[T], R], label: str) -> list[Outcome[R]]:
        """:func:`run_batch` with this progress display."""
        report, finish = _progress(self.progress, len(items), label)
        try:
            return run_batch(items, call, max_workers=self.max_workers, retry=self.retry,
                             progress=report, cancel=self.cancel)
        finally:
            finish()


def _generation_batch(query: Callable[..., Any], kind: str, ws: Workspace, endpoint: str,
                      data: Any, column: str | None, **options: Any) -> pd.DataFrame:
    """One ``query(ws, endpoint, text, ...)`` per row; the frame with the answer columns."""
    batch = BatchOptions.take(options)
    texts, _, frame = _column(data, column)

    def call(text: str) -> Any:
        return query(ws, endpoint, text, retry=NO_RETRY, timeout=batch.timeout,
                     cancel=batch.cancel, **options)

    outcomes = batch.run(texts, call, f"{kind} {endpoint}")
    frame["response"] = [o.value.text if o.value is not None else None for o in outcomes]
    frame["finish_reason"] = [o.value.finish_reason if o.value else None for o in outcomes]
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        frame[key] = [getattr(o.value.usage, key) if o.value else None for o in outcomes]
    frame["latency_s"] = [o.latency_s for o in outcomes]
    frame["attempts"] = [o.attempts for o in outcomes]
    frame["error"] = [o.error for o in outcomes]
    return frame


def batch_chat(ws: Workspace, endpoint: str, data: Any, column: str | None = None, *,
               system: str | None = None, **options: Any) -> pd.DataFrame:
    """Send every prompt of ``data[column]`` as a one-turn chat, ``max_workers`` at a time.

    32 workers keep a provisioned-throughput server's continuous batching busy without
    tripping its concurrency limit; a 429 is retried after its ``Retry-After``.

    ``data`` is a DataFrame (``column`` defaults to its only column, or ``prompt``/``text``),
    a Series or a list. ``options`` are :class:`BatchOptions` (``max_workers``, ``retry``,
    ``progress``, ``cancel``, ``timeout``) and any :func:`pt_widgets.queries.chat`
    parameter (``max_tokens``, ``temperature``…). Returns a
    copy of the frame with ``response``, ``finish_reason``, token counts, ``latency_s``,
    ``attempts`` and ``error`` columns.
    """
    from .queries import chat

    return _generation_batch(chat, "chat", ws, endpoint, data, column, system=system,
                             **options)


def batch_completions(ws: Workspace, endpoint: str, data: Any, column: str | None = None,
                      **options: Any) -> pd.DataFrame:
    """Like :func:`batch_chat` for a completions endpoint (one prompt per row, no system)."""
    from .queries import completions

    return _generation_batch(completions, "completions", ws, endpoint, data, column,
                             **options)


def batch_embeddings(ws: Workspace, endpoint: str, data: Any, column: str | None = None, *,
                     batch_size: int = 16, normalize: bool = False,
                     **options: Any) -> pd.DataFrame:
    """Embed every text of ``data[column]``, ``batch_size`` texts per request, in order.

    ``options`` are :class:`BatchOptions` (``max_workers`` defaults to 4 here). Adds
    ``embedding``, ``dimensions``, ``norm`` and ``error`` columns; a failed request marks
    the rows of its group with the error and leaves the rest of the batch alone.
    """
    from .queries import embeddings

    batch = BatchOptions(**{"max_workers": 4, **options})
    if batch_size < 1:
        raise ValidationError(f"batch_size must be at least 1, not {batch_size}.")
    texts, _, frame = _column(data, column)
    groups = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]

    def call(group: list[str]) -> Any:
        return embeddings(ws, endpoint, group, normalize=normalize, retry=NO_RETRY,
                          timeout=batch.timeout, cancel=batch.cancel)

    outcomes = batch.run(groups, call, f"embeddings {endpoint}")
    vectors: list[list[float] | None] = []
    errors: list[str | None] = []
    for group, outcome in zip(groups, outcomes, strict=True):
        if outcome.value is not None:
            vectors.extend(list(v) for v in outcome.value.vectors)
            errors.extend([None] * len(group))
        else:
            vectors.extend([None] * len(group))
            errors.extend([outcome.error] * len(group))
    frame["embedding"] = vectors
    frame["dimensions"] = [len(v) if v is not None else None for v in vectors]
    frame["norm"] = [sum(x * x for x in v) ** 0.5 if v is not None else None for v in vectors]
    frame["error"] = errors
    return frame
