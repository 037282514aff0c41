"""The generation engine interface and the continuous-batching loop every engine shares.

An engine (torch in ``generation.py``, llama.cpp in ``llamacpp.py``) is a :class:`BatchLoop`
subclass: the loop (a :class:`~.worker.QueueWorker`: worker thread and job queue) owns
admission, sampling, text, stop strings and emitting; the subclass owns the model and
implements three hooks:

* ``_admit_rows(rows)`` - new rows joined the batch (start their prefill),
* ``_forward()`` - run one forward pass for the batch and return ``(rows, logits)``: the rows
  that produced a next-token distribution this step, with one float32 logits row each,
* ``_release(rows)`` - rows left the batch (free their KV cache).

and may override ``_fits(row)`` to hold rows in the FIFO while their KV cache would not fit.

The public surface the replica codes against is :class:`GenerationEngine` (``submit``,
``close``, ``stats``, ``active_rows``).

Rows: every request becomes one row per (prompt, choice); ``n=2`` on one prompt is two rows.
Rows wait in a FIFO and are admitted at step boundaries while the batch has room, so a
request that arrives mid-generation joins the running batch at the next step. Results flow
back through a per-job ``emit`` callback (the async side wraps it in
``loop.call_soon_threadsafe``), one list of :class:`RowUpdate` per step.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from pt_widgets.local.errors import ApiError

from .sampling import logprob_entries, nonfinite_rows, sample
from .text import IncrementalText, TokenText, find_stop, holdback
from .validation import SamplingParams
from .worker import QueueWorker, closed_error

MAX_BATCH = 16

log = logging.getLogger("pt_widgets.local")


@dataclass
class RowUpdate:
    """What one row produced in one step: new text, its tokens' logprobs, maybe the end."""

    index: int
    text: str
    logprobs: list[dict[str, Any]] | None
    completion_tokens: int
    finish_reason: str | None = None
    #: The token id this step appended (none when it ended on end-of-sequence); the wire
    #: answer carries text, the quality check (``quality.py``) needs the ids.
    tokens: tuple[int, ...] = ()


@dataclass
class GenJob:
    """One request: prompts (token ids), ``n`` choices each, sampling params per prompt."""

    prompts: list[list[int]]
    params: list[SamplingParams]  # one per prompt; max_tokens already resolved
    n: int
    emit: Callable[[list[RowUpdate] | BaseException], None]
    cancelled: bool = False


class GenerationEngine(Protocol):
    """What a replica needs from a generation engine (any thread may call these)."""

    stats: dict[str, float]
    name: str

    def submit(self, job: GenJob) -> None: ...

    def close(self, timeout: float = 30.0) -> None: ...

    @property
    def active_rows(self) -> int: ...


@dataclass(eq=False)
class Row:
    """One sequence being generated; engines keep their own per-row state in ``state``."""

    job: GenJob
    index: int  # choice index in the response: prompt_index * n + choice
    prompt: tuple[int, ...]
    params: SamplingParams
    text: IncrementalText
    emitted: int = 0  # characters of text already sent
    next_pos: int = 0  # position of the token fed at the next step
    last: int = -1  # sampled token not yet in the KV cache
    state: Any = None

    @property
    def generated(self) -> list[int]:
        return self.text.ids

    @property
    def max_tokens(self) -> int:
        return int(self.params.max_tokens or 1)


class BatchLoop(QueueWorker[GenJob]):
    """Worker thread, FIFO admission and per-step bookkeeping shared by the engines."""

    name = "generation"

    def __init__(
        self, tokenizer: Any, eos_ids: set[int], max_batch: int = MAX_BATCH, label: str = "llm"
    ) -> None:
        # A private copy: a Rust tokenizer used from two threads at once can fail with
        # "Already borrowed" when the other thread changes its truncation/padding state.
        super().__init__(label)
        self.text = TokenText(copy.deepcopy(tokenizer))
        self.eos_ids = set(eos_ids)
        self.max_batch = max_batch
        self.stats: dict[str, float] = {
            "requests": 0,
            "rows": 0,
            "steps": 0,
            "batched_steps": 0,
            "max_batch_size": 0,
            "prefill_tokens": 0,
            "generated_tokens": 0,
            "failed_rows": 0,
            "busy_seconds": 0.0,
        }
        self._pending: deque[Row] = deque()
        self._rows: list[Row] = []
        self._gen = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))

    @property
    def active_rows(self) -> int:
        return len(self._rows)

    # -- hooks --------------------------------------------------------------------------------

    def _admit_rows(self, rows: list[Row]) -> None:
        raise NotImplementedError

    def _forward(self) -> tuple[list[Row], torch.Tensor]:
        raise NotImplementedError

    def _release(self, rows: list[Row]) -> None:
        raise NotImplementedError

    def _fits(self, row: Row) -> bool:
        return True

    # -- worker loop --------------------------------------------------------------------------

    def _run(self) -> None:
        with torch.inference_mode():
            while self._collect():
                started = time.perf_counter()
                try:
                    self._admit()
                    if self._rows:
                        rows, logits = self._forward()
                        self._count_step(len(self._rows))
                        if rows:
                            self._process(rows, logits)
                except Exception as exc:  # a failed step fails its jobs, not the engine
                    log.exception("generation step failed")
                    self._fail_all(exc)
                self.stats["busy_seconds"] += time.perf_counter() - started
        self._fail_all(closed_error())

    def _count_step(self, b: int) -> None:
        self.stats["steps"] += 1
        if b > 1:
            self.stats["batched_steps"] += 1
        self.stats["max_batch_size"] = max(self.stats["max_batch_size"], b)

    def _collect(self) -> bool:
        """Move submitted jobs into the row FIFO; block only when there is nothing to do."""
        if not self._rows and not self._pending:
            job = self._wait_for_job()
            if job is None:
                return False
            self._enqueue(job)
        while True:
            job, stop = self._next_waiting()
            if stop:
                return False
            if job is None:
                return True
            self._enqueue(job)

    def _enqueue(self, job: GenJob) -> None:
        self.stats["requests"] += 1
        for p, (ids, params) in enumerate(zip(job.prompts, job.params, strict=True)):
            for c in range(job.n):
                text = IncrementalText(self.text)
                row = Row(job, p * job.n + c, tuple(ids), params, text, next_pos=len(ids))
                self._pending.append(row)

    def _admit(self) -> None:
        """Drop cancelled rows, then admit waiting rows in FIFO order while they fit."""
        gone = [r for r in self._rows if r.job.cancelled]
        if gone:
            self._drop(gone)
        new: list[Row] = []
        while self._pending and len(self._rows) + len(new) < self.max_batch:
            row = self._pending[0]
            if row.job.cancelled:
                self._pending.popleft()
                continue
            if not self._fits(row):
                break  # FIFO: later rows wait too, so a long request is not starved
            new.append(self._pending.popleft())
        if new:
            self._rows.extend(new)
            self.stats["rows"] += len(new)
            self._admit_rows(new)

    def _drop(self, rows: list[Row]) -> None:
        gone = set(map(id, rows))
        self._rows = [r for r in self._rows if id(r) not in gone]
        self._release(rows)

    # -- one step's results ---------------------------------------------------------------------

    def _process(self, rows: list[Row], logits: torch.Tensor) -> None:
        """Sample one token per row, update texts, emit per job, drop finished rows."""
        bad = nonfinite_rows(logits)
        if bad:
            rows, logits = self._fail_nonfinite(rows, logits, bad)
            if not rows:
                return
        params = [r.params for r in rows]
        tokens = sample(logits, params, self._gen).tolist()
        lp = logprob_entries(logits, tokens, params, self.text)
        updates: dict[int, tuple[GenJob, list[RowUpdate]]] = {}
        finished: list[Row] = []
        for i, (row, tok) in enumerate(zip(rows, tokens, strict=True)):
            upd = self._advance(row, tok, lp[i])
            if tok not in self.eos_ids:
                upd.tokens = (tok,)
            if upd.finish_reason is not None:
                finished.append(row)
            if upd.text or upd.logprobs or upd.finish_reason:
                updates.setdefault(id(row.job), (row.job, []))[1].append(upd)
        for job, ups in updates.values():
            safe_emit(job, ups)
        if finished:
            self._drop(finished)

    def _fail_nonfinite(
        self, rows: list[Row], logits: torch.Tensor, bad: list[int]
    ) -> tuple[list[Row], torch.Tensor]:
        """Fail the requests whose rows got non-finite logits; return the rows that go on."""
        failed_jobs = {id(rows[i].job): rows[i].job for i in bad}
        log.error(
            "non-finite logits in %d of %d rows (%s); failing %d request(s)",
            len(bad), len(rows), self.name, len(failed_jobs),
        )  # fmt: skip
        for job in failed_jobs.values():
            job.cancelled = True
            safe_emit(job, nonfinite_error())
        self.stats["failed_rows"] += len(bad)
        self._drop([r for r in self._rows if id(r.job) in failed_jobs])
        keep = [i for i, r in enumerate(rows) if id(r.job) not in failed_jobs]
        return [rows[i] for i in keep], logits[keep]

    def _advance(self, row: Row, tok: int, entry: dict[str, Any] | None) -> RowUpdate:
        if tok in self.eos_ids:
            return self._finish(row, "stop", None, row.text.full())
        row.text.append(tok)
        row.last = tok
        self.stats["generated_tokens"] += 1
        entries = [entry] if entry is not None else None
        stops = row.params.stop
        if stops:
            text = row.text.committed
            longest = max(len(s) for s in stops)
            at = find_stop(text, stops, max(0, row.emitted - longest + 1))
            if at >= 0:
                return self._finish(row, "stop", entries, text, cut=max(at, row.emitted))
        if len(row.generated) >= row.max_tokens:
            return self._finish(row, "length", entries, row.text.full())
        text = row.text.committed
        safe = len(text) - holdback(text, stops)
        delta = text[row.emitted : safe] if safe > row.emitted else ""
        row.emitted += len(delta)
        return RowUpdate(row.index, delta, entries, len(row.generated))

    def _finish(
        self,
        row: Row,
        reason: str,
        entries: list[dict[str, Any]] | None,
        text: str,
        cut: int | None = None,
    ) -> RowUpdate:
        end = len(text) if cut is None else cut
        delta = text[row.emitted : end] if end > row.emitted else ""
        row.emitted += len(delta)
        return RowUpdate(row.index, delta, entries, len(row.generated), reason)

    def _fail_all(self, exc: BaseException) -> None:
        jobs = {id(r.job): r.job for r in [*self._rows, *self._pending]}
        while True:
            job, stop = self._next_waiting()
            if job is None and not stop:
                break
            if job is not None:
                jobs[id(job)] = job
        rows, self._rows = self._rows, []
        self._pending.clear()
        try:
            self._release(rows)
        except Exception:  # the engine state is reset below either way
            log.exception("releasing rows after a failure failed")
        self._reset()
        for job in jobs.values():
            safe_emit(job, exc)

    def _reset(self) -> None:
        """Forget every row's cache (after a failed step); engines override."""


def run_alone(engine: GenerationEngine, ids: list[int], params: SamplingParams,
              timeout: float) -> list[RowUpdate]:
    """Serve one single-row job and wait for its end: every update, in order.

    Raises the engine's error for the job, or ``TimeoutError`` if it has not ended within
    ``timeout`` (for warm-up and checks that run one request alone, outside the replica).
    """
    done = threading.Event()
    updates: list[RowUpdate] = []
    failure: list[BaseException] = []

    def emit(item: list[RowUpdate] | BaseException) -> None:
        if isinstance(item, BaseException):
            failure.append(item)
            done.set()
            return
        updates.extend(item)
        if any(u.finish_reason for u in item):
            done.set()

    engine.submit(GenJob([list(ids)], [params], 1, emit))
    if not done.wait(timeout):
        raise TimeoutError(f"a lone generation did not end within {timeout:.0f} s")
    if failure:
        raise failure[0]
    return updates


def safe_emit(job: GenJob, item: list[RowUpdate] | BaseException) -> None:
    """Deliver to the job's event loop; a closed loop (client gone) cancels the job."""
    try:
        job.emit(item)
    except RuntimeError:
        job.cancelled = True


def nonfinite_error() -> ApiError:
    return ApiError(
        "INTERNAL_ERROR",
        "The model produced non-finite logits (NaN or infinity) for this request, so no token "
        "could be sampled; the request was stopped. Other requests are unaffected.",
    )
