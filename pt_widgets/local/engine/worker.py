"""One worker thread fed by a job queue: the lifecycle both engines share.

The embeddings engine and the generation loop each own a model that must only be touched from
one thread (torch's and llama.cpp's state are not shared safely), so requests reach it through
a queue. Starting, submitting after close, closing (a ``None`` sentinel, then a join with a
deadline), draining what is waiting and the short gather window are the same for both; what a
worker does with its jobs is not.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Generic, TypeVar

from pt_widgets.local.errors import ApiError

#: After an idle wait, how long to let concurrent requests gather before the first batch.
GATHER_WINDOW_S = 0.003

Job = TypeVar("Job")


class QueueWorker(Generic[Job]):
    """A daemon thread that runs :meth:`_run` over jobs put on ``_queue``; ``None`` stops it."""

    def __init__(self, label: str) -> None:
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"pt-engine-{label}", daemon=True)

    def start(self) -> None:
        """Start the worker; call it once the model is ready."""
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue a job (any thread); refused once the worker is closing."""
        if self._closed:
            raise closed_error()
        self._queue.put(job)

    def close(self, timeout: float = 30.0) -> None:
        """Stop after the current batch or step, then free the model (:meth:`_shutdown`)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)
        self._shutdown()

    def _run(self) -> None:
        raise NotImplementedError

    def _shutdown(self) -> None:
        """Free the model; runs on the closing thread after the worker stopped."""

    def _wait_for_job(self) -> Job | None:
        """Block until a job arrives (``None``: stop), then let its companions gather.

        Requests sent together (a batch of rows, a load test) arrive a few hundred
        microseconds apart; waiting a few milliseconds lets them share the first batch.
        """
        job = self._queue.get()
        if job is not None:
            time.sleep(GATHER_WINDOW_S)
        return job

    def _next_waiting(self) -> tuple[Job | None, bool]:
        """``(job, False)``, ``(None, False)`` if nothing waits, or ``(None, True)`` to stop."""
        try:
            job = self._queue.get_nowait()
        except queue.Empty:
            return None, False
        return job, job is None


def closed_error() -> ApiError:
    return ApiError(
        "TEMPORARILY_UNAVAILABLE", "The model replica was shut down; retry the request."
    )
