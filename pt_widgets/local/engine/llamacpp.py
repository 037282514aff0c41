"""The llama.cpp engine: a GGUF file run as it is, continuously batched (see ``loop.py``).

llama.cpp (through ``llama-cpp-python``'s low-level C API) runs the 4-bit GGUF with CPU
kernels made for it, about 7x faster per token on this kind of machine than the same weights
de-quantised to fp32 in torch. Tokenisation, detokenisation, sampling and logprobs stay in
Python (the HF tokenizer of the same file, :mod:`.sampling`), so both engines answer the
same token ids with the same rules; only the forward pass differs.

How a step works
----------------
* Every row owns one llama.cpp *sequence* (``seq_id``) in one KV cache of ``n_ctx`` cells
  shared by all sequences (``kv_unified``): the ``n`` choices of a prompt share the prompt's
  cells (each prompt token is decoded once, tagged with all their sequence ids).
* One ``llama_decode`` call per step carries the last sampled token of every decoding row
  plus a bounded slice of waiting prompts (``PREFILL_CHUNK`` tokens while other rows decode,
  ``n_batch`` when none do), so a long prompt never stalls running rows for more than about
  one step. Logits are requested only for decoding rows and for the last token of a prompt
  that completes in this step.
* A row is admitted only while the cells it may need (prompt + ``max_tokens``) fit the cache,
  so ``llama_decode`` never runs out of KV slots mid-generation; later rows wait in the FIFO.
* A finished or cancelled row's cells are freed with ``llama_memory_seq_rm``.

Threads (2 cores here): llama.cpp computes with ``n_threads`` = all cores (its kernels are the
only heavy work, and a step is milliseconds); ``llama_decode`` is a ctypes call, which drops
the GIL, so the event loop and tokenisation run between and during steps on the cores'
idle slices. torch (sampling, a few vector ops per step) is left at its own setting: the
embedding model in the same process needs all cores when it runs. ``PT_WIDGETS_LLAMA_THREADS``
overrides the count (e.g. ``cores - 1`` to reserve a core for a busy HTTP front).
"""

from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .loop import MAX_BATCH, BatchLoop, Row

#: Prompt tokens decoded per step while other rows are decoding (see the module docstring).
PREFILL_CHUNK = 64
#: Tokens one ``llama_decode`` call may carry (prefill of an idle engine goes this fast).
N_BATCH = 512
#: KV cache cells shared by all sequences.
KV_CELLS = 8192

_BACKEND_LOCK = threading.Lock()
_BACKEND_READY = False
_QUIET: Any = None  # the log callback must outlive every call into llama.cpp


def available() -> bool:
    """Whether llama-cpp-python is installed (the engine is optional)."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def _backend() -> Any:
    """Import llama_cpp, init its backend once per process and silence its stderr logging."""
    global _BACKEND_READY, _QUIET
    import llama_cpp as lc

    with _BACKEND_LOCK:
        if not _BACKEND_READY:
            _QUIET = lc.llama_log_callback(lambda level, text, data: None)
            lc.llama_log_set(_QUIET, ctypes.c_void_p())
            lc.llama_backend_init()
            _BACKEND_READY = True
    return lc


def default_threads() -> int:
    env = os.environ.get("PT_WIDGETS_LLAMA_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(eq=False)
class _Prompt:
    """Rows of one prompt being prefilled together; ``fed`` tokens are in the cache."""

    prompt: tuple[int, ...]
    rows: list[Row] = field(default_factory=list)
    fed: int = 0


class LlamaCppEngine(BatchLoop):
    """Serves :class:`GenJob` s from a GGUF file with llama.cpp, continuously batched."""

    name = "llama.cpp"

    def __init__(
        self,
        gguf_path: str,
        tokenizer: Any,
        max_batch: int = MAX_BATCH,
        n_threads: int | None = None,
        kv_cells: int = KV_CELLS,
        label: str = "llm",
    ) -> None:
        lc = _backend()
        self._lc = lc
        self.threads = n_threads or default_threads()
        mparams = lc.llama_model_default_params()
        mparams.n_gpu_layers = 0
        model = lc.llama_model_load_from_file(gguf_path.encode(), mparams)
        if not model:
            raise ValueError(f"llama.cpp could not load {gguf_path!r}.")
        self._model = model
        self.n_params = int(lc.llama_model_n_params(model))
        vocab = lc.llama_model_get_vocab(model)
        self.n_vocab = int(lc.llama_vocab_n_tokens(vocab))
        eog = {t for t in range(self.n_vocab) if lc.llama_vocab_is_eog(vocab, t)}
        super().__init__(tokenizer, eog, max_batch, label=label)
        cparams = lc.llama_context_default_params()
        cparams.n_ctx = kv_cells
        cparams.n_batch = N_BATCH
        cparams.n_ubatch = N_BATCH
        cparams.n_seq_max = max_batch
        cparams.n_threads = self.threads
        cparams.n_threads_batch = self.threads
        cparams.kv_unified = True  # shared prompt cells for n > 1; short sequences
        # Flash attention accumulates in fp16 on the CPU: measurably further from the fp32
        # reference, and no faster at the short contexts served here.
        cparams.flash_attn_type = 0  # LLAMA_FLASH_ATTN_TYPE_DISABLED
        cparams.no_perf = True
        ctx = lc.llama_init_from_model(model, cparams)
        if not ctx:
            lc.llama_model_free(model)
            raise RuntimeError("llama.cpp could not create a context.")
        self._ctx = ctx
        self._mem = lc.llama_get_memory(ctx)
        self.kv_cells = int(lc.llama_n_ctx(ctx))
        self._batch = lc.llama_batch_init(N_BATCH, 0, max_batch)
        self._free_seqs = list(range(max_batch))
        self._reserved = 0
        self._prefilling: list[_Prompt] = []
        self._decoding: list[Row] = []
        self.start()

    # -- lifecycle ------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        lc = self._lc
        if self._thread.is_alive():  # never free memory a running decode may still touch
            return
        if self._ctx:
            lc.llama_batch_free(self._batch)
            lc.llama_free(self._ctx)
            lc.llama_model_free(self._model)
            self._ctx = self._model = None

    def _reset(self) -> None:
        self._lc.llama_memory_clear(self._mem, True)
        self._free_seqs = list(range(self.max_batch))
        self._reserved = 0
        self._prefilling, self._decoding = [], []

    # -- hooks ----------------------------------------------------------------------------------

    def _cells(self, row: Row) -> int:
        return len(row.prompt) + row.max_tokens

    def _fits(self, row: Row) -> bool:
        return bool(self._free_seqs) and self._reserved + self._cells(row) <= self.kv_cells

    def _admit_rows(self, rows: list[Row]) -> None:
        groups: dict[tuple[int, int], _Prompt] = {}
        for row in rows:
            row.state = self._free_seqs.pop(0)
            self._reserved += self._cells(row)
            key = (id(row.job), row.index // row.job.n)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Prompt(row.prompt)
                self._prefilling.append(group)
            group.rows.append(row)

    def _release(self, rows: list[Row]) -> None:
        gone = set(map(id, rows))
        for row in rows:
            if row.state is None:
                continue
            self._lc.llama_memory_seq_rm(self._mem, row.state, -1, -1)
            self._free_seqs.append(row.state)
            self._reserved -= self._cells(row)
            row.state = None
        self._decoding = [r for r in self._decoding if id(r) not in gone]
        for group in self._prefilling:
            group.rows = [r for r in group.rows if id(r) not in gone]
        self._prefilling = [g for g in self._prefilling if g.rows]

    def _forward(self) -> tuple[list[Row], torch.Tensor]:
        outputs: list[list[Row]] = []
        n = 0
        for row in self._decoding:
            self._put(n, row.last, row.next_pos, (row.state,), True)
            outputs.append([row])
            n += 1
        budget = PREFILL_CHUNK if self._decoding else N_BATCH
        budget = min(budget, N_BATCH - n)
        done: list[_Prompt] = []
        for group in self._prefilling:
            if budget <= 0:
                break
            seqs = tuple(r.state for r in group.rows)
            take = min(budget, len(group.prompt) - group.fed)
            last = len(group.prompt) - 1
            for pos in range(group.fed, group.fed + take):
                self._put(n, group.prompt[pos], pos, seqs, pos == last)
                n += 1
            group.fed += take
            budget -= take
            self.stats["prefill_tokens"] += take
            if group.fed == len(group.prompt):
                outputs.append(group.rows)
                done.append(group)
        self._batch.n_tokens = n
        rc = self._lc.llama_decode(self._ctx, self._batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode failed with code {rc}")
        for row in self._decoding:
            row.next_pos += 1
        for group in done:
            self._prefilling.remove(group)
            self._decoding.extend(group.rows)
        if not outputs:
            return [], torch.empty(0)
        ptr = self._lc.llama_get_logits(self._ctx)
        table = np.ctypeslib.as_array(ptr, shape=(len(outputs), self.n_vocab))
        rows = [r for out in outputs for r in out]
        which = [j for j, out in enumerate(outputs) for _ in out]
        return rows, torch.from_numpy(table[which])  # fancy indexing copies

    def _put(self, i: int, token: int, pos: int, seqs: tuple[int, ...], logits: bool) -> None:
        b = self._batch
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = len(seqs)
        for k, s in enumerate(seqs):
            b.seq_id[i][k] = s
        b.logits[i] = 1 if logits else 0
