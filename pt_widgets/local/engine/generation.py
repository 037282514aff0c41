"""Continuous batching for a causal LM: one worker thread owns the model.

How it works
------------
* Every request becomes one *row* per (prompt, choice): ``n=2`` on one prompt is two rows.
  Rows wait in a FIFO and are admitted at step boundaries while the batch has room
  (``max_batch`` rows, default 16), so a request that arrives mid-generation joins the
  running batch at the next token instead of waiting for it to finish.
* Admission prefills the new rows. Identical prompts are prefilled once (``n`` > 1 shares
  one prefill) and prompts of equal length are prefilled together in one forward pass, so a
  prefill never contains padding. The new KV caches are then merged into the running batch's
  cache by left-padding the shorter one with zeros along the time axis; the 2-D attention
  mask marks those columns as padding, and each row carries its own ``position_ids`` so RoPE
  positions stay exact whatever the padding.
* Each decode step feeds every active row its last sampled token (one ``[B, 1]`` forward with
  the shared ``DynamicCache``), samples the next token per row with that row's own
  temperature / top-p / top-k, and checks EOS, stop strings and ``max_tokens`` per row.
  Finished rows are dropped from the batch (``index_select`` on the cache) and leading
  columns that became all-padding are trimmed.
* Results flow back through a per-job ``emit`` callback (the async side wraps it in
  ``loop.call_soon_threadsafe``), one list of :class:`RowUpdate` per step.

Log-probabilities are the model's raw distribution (``log_softmax`` of the logits, before
temperature, top-p and top-k), as OpenAI reports them; sampling uses the adjusted one.
"""

from __future__ import annotations

import copy
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import DynamicCache

from pt_widgets.local.errors import ApiError

from .text import TokenText, find_stop, holdback
from .validation import SamplingParams

MAX_BATCH = 16
#: When the engine is idle, wait this long after the first request for others to arrive, so
#: requests sent together are prefilled together (a cheap, bounded latency cost).
GATHER_WINDOW_S = 0.003

log = logging.getLogger("pt_widgets.local")


@dataclass
class RowUpdate:
    """What one row produced in one step: new text, its tokens' logprobs, maybe the end."""

    index: int
    text: str
    logprobs: list[dict[str, Any]] | None
    completion_tokens: int
    finish_reason: str | None = None


@dataclass
class GenJob:
    """One request: prompts (token ids), ``n`` choices each, sampling params per prompt."""

    prompts: list[list[int]]
    params: list[SamplingParams]  # one per prompt; max_tokens already resolved
    n: int
    emit: Callable[[list[RowUpdate] | BaseException], None]
    cancelled: bool = False


@dataclass(eq=False)
class _Row:
    job: GenJob
    index: int  # choice index in the response: prompt_index * n + choice
    prompt: tuple[int, ...]
    params: SamplingParams
    generated: list[int] = field(default_factory=list)
    emitted: int = 0  # characters of decoded text already sent
    next_pos: int = 0  # RoPE position of the token fed at the next step
    last: int = -1  # sampled token not yet in the KV cache

    @property
    def max_tokens(self) -> int:
        return int(self.params.max_tokens or 1)


class GenerationEngine:
    """Owns a causal LM on a worker thread and serves :class:`GenJob` s in batches."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        eos_ids: set[int],
        max_batch: int = MAX_BATCH,
        name: str = "generation",
    ) -> None:
        self.model = model
        # A private copy: a Rust tokenizer used from two threads at once can fail with
        # "Already borrowed" when the other thread changes its truncation/padding state.
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
            "busy_seconds": 0.0,
        }
        self._queue: queue.SimpleQueue[GenJob | None] = queue.SimpleQueue()
        self._pending: deque[_Row] = deque()
        self._rows: list[_Row] = []
        self._cache: DynamicCache | None = None
        self._mask: torch.Tensor | None = None
        self._closed = False
        self._gen = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
        self._thread = threading.Thread(target=self._run, name=f"pt-engine-{name}", daemon=True)
        self._thread.start()

    # -- public (any thread) ------------------------------------------------------------------

    def submit(self, job: GenJob) -> None:
        if self._closed:
            raise _closed_error()
        self._queue.put(job)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the worker after the current step; unfinished jobs get an error."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    @property
    def active_rows(self) -> int:
        return len(self._rows)

    # -- worker loop --------------------------------------------------------------------------

    def _run(self) -> None:
        with torch.inference_mode():
            while self._collect():
                started = time.perf_counter()
                try:
                    self._admit()
                    if self._rows:
                        self._decode_step()
                except Exception as exc:  # a failed step fails its jobs, not the engine
                    self._fail_all(exc)
                self.stats["busy_seconds"] += time.perf_counter() - started
        self._fail_all(_closed_error())

    def _collect(self) -> bool:
        """Move submitted jobs into the row FIFO; block only when there is nothing to do."""
        if not self._rows and not self._pending:
            job = self._queue.get()
            if job is None:
                return False
            self._enqueue(job)
            time.sleep(GATHER_WINDOW_S)
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return True
            if job is None:
                return False
            self._enqueue(job)

    def _enqueue(self, job: GenJob) -> None:
        self.stats["requests"] += 1
        for p, (ids, params) in enumerate(zip(job.prompts, job.params, strict=True)):
            for c in range(job.n):
                row = _Row(job, p * job.n + c, tuple(ids), params, next_pos=len(ids))
                self._pending.append(row)

    def _admit(self) -> None:
        """Drop cancelled rows, then prefill as many waiting rows as the batch has room for."""
        gone = [r for r in self._rows if r.job.cancelled]
        if gone:
            self._remove(gone)
        new: list[_Row] = []
        while self._pending and len(self._rows) + len(new) < self.max_batch:
            row = self._pending.popleft()
            if not row.job.cancelled:
                new.append(row)
        if new:
            self._prefill(new)

    # -- prefill and cache surgery -------------------------------------------------------------

    def _prefill(self, new: list[_Row]) -> None:
        by_len: dict[int, list[tuple[int, ...]]] = {}
        for row in new:
            group = by_len.setdefault(len(row.prompt), [])
            if row.prompt not in group:
                group.append(row.prompt)
        ordered: list[_Row] = []
        logits_rows: list[torch.Tensor] = []
        for length, prompts in by_len.items():
            ids = torch.tensor(prompts, dtype=torch.long)
            pos = torch.arange(length).unsqueeze(0).expand(len(prompts), -1)
            cache = DynamicCache()
            out = self.model(
                input_ids=ids,
                position_ids=pos,
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            self.stats["prefill_tokens"] += ids.numel()
            rows = [r for r in new if len(r.prompt) == length]
            sel = torch.tensor([prompts.index(r.prompt) for r in rows])
            mask = torch.ones(len(rows), length, dtype=torch.long)
            kv = [(k.index_select(0, sel), v.index_select(0, sel)) for k, v in _layers(cache)]
            self._merge(kv, mask)
            ordered.extend(rows)
            logits_rows.append(out.logits[:, -1, :].index_select(0, sel))
        self._rows.extend(ordered)
        self.stats["rows"] += len(ordered)
        self._process(ordered, torch.cat(logits_rows).float())

    def _merge(self, kv: list[tuple[torch.Tensor, torch.Tensor]], mask: torch.Tensor) -> None:
        """Append rows to the running batch, left-padding whichever cache is shorter."""
        if self._cache is None or self._mask is None:
            self._cache = DynamicCache(ddp_cache_data=kv)
            self._mask = mask
            return
        t_old, t_new = self._mask.shape[1], mask.shape[1]
        t = max(t_old, t_new)
        merged = []
        for (k0, v0), (k1, v1) in zip(_layers(self._cache), kv, strict=True):
            merged.append(
                (
                    torch.cat([_pad_left(k0, t), _pad_left(k1, t)]),
                    torch.cat([_pad_left(v0, t), _pad_left(v1, t)]),
                )
            )
        self._cache = DynamicCache(ddp_cache_data=merged)
        self._mask = torch.cat([_pad_left_mask(self._mask, t), _pad_left_mask(mask, t)])

    def _remove(self, rows: list[_Row]) -> None:
        """Drop rows from the batch and trim time columns that are now padding for everyone."""
        drop = set(map(id, rows))
        keep = [i for i, r in enumerate(self._rows) if id(r) not in drop]
        self._rows = [self._rows[i] for i in keep]
        if not keep or self._cache is None or self._mask is None:
            self._rows, self._cache, self._mask = [], None, None
            return
        idx = torch.tensor(keep)
        mask = self._mask.index_select(0, idx)
        first = int((mask.sum(0) > 0).nonzero()[0])
        mask = mask[:, first:]
        kv = [
            (k.index_select(0, idx)[:, :, first:], v.index_select(0, idx)[:, :, first:])
            for k, v in _layers(self._cache)
        ]
        self._cache = DynamicCache(ddp_cache_data=kv)
        self._mask = mask

    # -- decoding -----------------------------------------------------------------------------

    def _decode_step(self) -> None:
        assert self._mask is not None
        rows = self._rows
        b = len(rows)
        ids = torch.tensor([[r.last] for r in rows], dtype=torch.long)
        pos = torch.tensor([[r.next_pos] for r in rows], dtype=torch.long)
        mask = torch.cat([self._mask, torch.ones(b, 1, dtype=torch.long)], dim=1)
        out = self.model(
            input_ids=ids,
            position_ids=pos,
            attention_mask=mask,
            past_key_values=self._cache,
            use_cache=True,
        )
        self._mask = mask
        for r in rows:
            r.next_pos += 1
        self.stats["steps"] += 1
        if b > 1:
            self.stats["batched_steps"] += 1
        self.stats["max_batch_size"] = max(self.stats["max_batch_size"], b)
        self._process(list(rows), out.logits[:, -1, :].float())

    def _process(self, rows: list[_Row], logits: torch.Tensor) -> None:
        """Sample one token per row, update texts, emit per job, drop finished rows."""
        params = [r.params for r in rows]
        tokens = sample(logits, params, self._gen).tolist()
        lp = _logprob_entries(logits, tokens, params, self.text)
        updates: dict[int, tuple[GenJob, list[RowUpdate]]] = {}
        finished: list[_Row] = []
        for i, (row, tok) in enumerate(zip(rows, tokens, strict=True)):
            upd = self._advance(row, tok, lp[i])
            if upd.finish_reason is not None:
                finished.append(row)
            if upd.text or upd.logprobs or upd.finish_reason:
                updates.setdefault(id(row.job), (row.job, []))[1].append(upd)
        for job, ups in updates.values():
            _safe_emit(job, ups)
        if finished:
            self._remove(finished)

    def _advance(self, row: _Row, tok: int, entry: dict[str, Any] | None) -> RowUpdate:
        if tok in self.eos_ids:
            return self._finish(row, "stop", None, cut=None)
        row.generated.append(tok)
        row.last = tok
        self.stats["generated_tokens"] += 1
        entries = [entry] if entry is not None else None
        text = self.text.decode(row.generated)
        stops = row.params.stop
        if stops:
            longest = max(len(s) for s in stops)
            at = find_stop(text, stops, max(0, row.emitted - longest + 1))
            if at >= 0:
                return self._finish(row, "stop", entries, cut=max(at, row.emitted), text=text)
        if len(row.generated) >= row.max_tokens:
            return self._finish(row, "length", entries, cut=len(text), text=text)
        safe = len(text) - holdback(text, stops)
        delta = text[row.emitted : safe] if safe > row.emitted else ""
        row.emitted += len(delta)
        return RowUpdate(row.index, delta, entries, len(row.generated))

    def _finish(
        self,
        row: _Row,
        reason: str,
        entries: list[dict[str, Any]] | None,
        cut: int | None,
        text: str | None = None,
    ) -> RowUpdate:
        if text is None:
            text = self.text.decode(row.generated)
        end = len(text) if cut is None else cut
        delta = text[row.emitted : end] if end > row.emitted else ""
        row.emitted += len(delta)
        return RowUpdate(row.index, delta, entries, len(row.generated), reason)

    def _fail_all(self, exc: BaseException) -> None:
        jobs = {id(r.job): r.job for r in [*self._rows, *self._pending]}
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                jobs[id(job)] = job
        self._rows, self._cache, self._mask = [], None, None
        self._pending.clear()
        for job in jobs.values():
            _safe_emit(job, exc)


# ---------------------------------------------------------------------------------------------
# Sampling and logprobs (vectorised over rows with per-row settings)
# ---------------------------------------------------------------------------------------------


GREEDY_BELOW = 1e-4


def finite_logits(logits: torch.Tensor) -> torch.Tensor:
    """Logits with NaN/inf neutralised, so one bad row cannot fail the whole batch.

    ``torch.multinomial`` raises for the whole batch if any row holds NaN; a row whose logits
    came out non-finite (seen intermittently in CI, cause not yet found) would then turn every
    concurrent request into a 500. Such rows keep their finite entries (NaN becomes -inf); a
    row with none left becomes uniform. The event is logged so it can be traced.
    """
    bad = ~torch.isfinite(logits).all(dim=-1)
    if not bool(bad.any()):
        return logits
    log.warning("non-finite logits in %d of %d rows; neutralised", int(bad.sum()), len(bad))
    fixed = torch.nan_to_num(logits, nan=float("-inf"), posinf=torch.finfo(logits.dtype).max,
                             neginf=float("-inf"))
    empty = torch.isinf(fixed).all(dim=-1)
    fixed[empty] = 0.0
    return fixed


def sample(
    logits: torch.Tensor, params: list[SamplingParams], gen: torch.Generator
) -> torch.Tensor:
    """Next token per row: argmax where temperature is 0, else temperature/top-k/top-p sampling.

    Temperatures below ``GREEDY_BELOW`` count as 0: dividing logits by a subnormal number
    overflows to inf and the softmax turns into NaN, while the distribution they ask for is
    the argmax anyway.
    """
    logits = finite_logits(logits)
    tokens = logits.argmax(dim=-1)
    idx = [i for i, p in enumerate(params) if p.temperature >= GREEDY_BELOW]
    if not idx:
        return tokens
    sel = torch.tensor(idx)
    temps = torch.tensor([params[i].temperature for i in idx], dtype=logits.dtype)
    scaled = logits.index_select(0, sel) / temps.unsqueeze(1)
    if any(params[i].top_p < 1.0 or params[i].top_k > 0 for i in idx):
        vocab = scaled.shape[1]
        ordered, order = scaled.sort(dim=-1, descending=True)
        probs = ordered.softmax(dim=-1)
        top_p = torch.tensor([params[i].top_p for i in idx], dtype=probs.dtype)
        top_k = torch.tensor([params[i].top_k or vocab for i in idx])
        drop = (probs.cumsum(dim=-1) - probs) >= top_p.unsqueeze(1)
        drop |= torch.arange(vocab).unsqueeze(0) >= top_k.unsqueeze(1)
        drop[:, 0] = False  # always keep the most likely token
        choice = torch.multinomial(
            ordered.masked_fill(drop, float("-inf")).softmax(-1), 1, generator=gen
        )
        picked = order.gather(1, choice).squeeze(1)
    else:
        picked = torch.multinomial(scaled.softmax(dim=-1), 1, generator=gen).squeeze(1)
    tokens[sel] = picked
    return tokens


def _logprob_entries(
    logits: torch.Tensor, tokens: list[int], params: list[SamplingParams], text: TokenText
) -> list[dict[str, Any] | None]:
    """OpenAI ``logprobs.content`` entries for the rows that asked, from the raw distribution."""
    out: list[dict[str, Any] | None] = [None] * len(tokens)
    idx = [i for i, p in enumerate(params) if p.logprobs]
    if not idx:
        return out
    sel = torch.tensor(idx)
    logp = torch.log_softmax(logits.index_select(0, sel), dim=-1)
    chosen = logp.gather(1, torch.tensor([[tokens[i]] for i in idx])).squeeze(1).tolist()
    k = max(params[i].top_logprobs for i in idx)
    top_v, top_i = logp.topk(k, dim=-1) if k else (None, None)
    for j, i in enumerate(idx):
        tok_text, tok_bytes = text.token(tokens[i])
        tops = []
        for r in range(params[i].top_logprobs):
            assert top_v is not None and top_i is not None
            t_text, t_bytes = text.token(int(top_i[j, r]))
            tops.append({"token": t_text, "logprob": float(top_v[j, r]), "bytes": t_bytes})
        out[i] = {"token": tok_text, "logprob": chosen[j], "bytes": tok_bytes, "top_logprobs": tops}
    return out


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------


def _layers(cache: DynamicCache) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(layer.keys, layer.values) for layer in cache.layers]


def _pad_left(x: torch.Tensor, t: int) -> torch.Tensor:
    """Zero-pad a ``[B, H, T, D]`` cache tensor on the left of the time axis to length t."""
    if x.shape[2] == t:
        return x
    pad = x.new_zeros(x.shape[0], x.shape[1], t - x.shape[2], x.shape[3])
    return torch.cat([pad, x], dim=2)


def _pad_left_mask(m: torch.Tensor, t: int) -> torch.Tensor:
    if m.shape[1] == t:
        return m
    return torch.cat([m.new_zeros(m.shape[0], t - m.shape[1]), m], dim=1)


def _safe_emit(job: GenJob, item: list[RowUpdate] | BaseException) -> None:
    """Deliver to the job's event loop; a closed loop (client gone) cancels the job."""
    try:
        job.emit(item)
    except RuntimeError:
        job.cancelled = True


def _closed_error() -> ApiError:
    return ApiError(
        "TEMPORARILY_UNAVAILABLE", "The model replica was shut down; retry the request."
    )
