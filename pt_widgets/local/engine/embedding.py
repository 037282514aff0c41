"""Batched sentence embeddings on a worker thread.

Requests that arrive while a batch is being encoded wait in a queue; the next batch takes all
of them (up to ``max_texts`` strings) and runs one ``SentenceTransformer.encode`` call, which
sorts by length internally and applies the model's own pooling (mean for MiniLM) followed by
L2 normalisation. The result rows are split back per request.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .worker import QueueWorker

MAX_TEXTS = 256
ENCODE_BATCH = 64


@dataclass
class EmbedJob:
    texts: list[str]
    emit: Callable[[np.ndarray | BaseException], None]


class EmbeddingEngine(QueueWorker[EmbedJob]):
    """Owns a SentenceTransformer on a worker thread and encodes queued jobs in batches."""

    def __init__(self, model: Any, max_texts: int = MAX_TEXTS, name: str = "embeddings") -> None:
        super().__init__(name)
        self.model = model
        self.max_texts = max_texts
        self.stats: dict[str, float] = {
            "requests": 0,
            "batches": 0,
            "max_batch_size": 0,  # requests encoded together
            "max_batch_texts": 0,
            "texts": 0,
            "busy_seconds": 0.0,
        }
        self._carry: EmbedJob | None = None
        self.start()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Synchronous encode (used for warm-up); normalised float32 rows."""
        with torch.inference_mode():
            vecs = self.model.encode(
                texts,
                batch_size=ENCODE_BATCH,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32)

    def _next_batch(self) -> list[EmbedJob] | None:
        first, self._carry = self._carry or self._wait_for_job(), None
        if first is None:
            return None
        jobs, count = [first], len(first.texts)
        while count < self.max_texts:
            job, stop = self._next_waiting()
            if stop:
                self._queue.put(None)  # finish this batch, then stop
            if job is None:
                break
            if count + len(job.texts) > self.max_texts:
                self._carry = job
                break
            jobs.append(job)
            count += len(job.texts)
        return jobs

    def _run(self) -> None:
        while True:
            jobs = self._next_batch()
            if jobs is None:
                return
            started = time.perf_counter()
            texts = [t for j in jobs for t in j.texts]
            try:
                vecs = self.encode(texts)
            except Exception as exc:
                for j in jobs:
                    _safe_emit(j, exc)
                continue
            s = self.stats
            s["requests"] += len(jobs)
            s["batches"] += 1
            s["texts"] += len(texts)
            s["max_batch_size"] = max(s["max_batch_size"], len(jobs))
            s["max_batch_texts"] = max(s["max_batch_texts"], len(texts))
            s["busy_seconds"] += time.perf_counter() - started
            at = 0
            for j in jobs:
                _safe_emit(j, vecs[at : at + len(j.texts)])
                at += len(j.texts)


def _safe_emit(job: EmbedJob, item: np.ndarray | BaseException) -> None:
    with contextlib.suppress(RuntimeError):  # the caller's event loop is gone
        job.emit(item)
