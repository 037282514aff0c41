"""The session's query history: every chat, completion, embedding and stream, as a DataFrame.

One process-wide, thread-safe, bounded log (batches add a row per input; the oldest rows drop
off past ``maxlen`` so a long session does not grow without limit). Inputs and outputs are
clipped to keep the frame readable; the full answer lives in the result object you got back.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["QueryRecord", "History", "HISTORY", "query_history", "clear_history", "clip"]

CLIP = 2000


def clip(text: Any, limit: int = CLIP) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class QueryRecord:
    timestamp: float
    host: str
    endpoint: str
    kind: str
    input: str
    output: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    latency_s: float | None
    status: str
    error: str | None = None


COLUMNS = list(QueryRecord.__dataclass_fields__)


class History:
    """A bounded, thread-safe list of :class:`QueryRecord` with a DataFrame view."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._records: deque[QueryRecord] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def add(self, **fields: Any) -> QueryRecord:
        fields.setdefault("timestamp", time.time())
        fields["input"] = clip(fields.get("input"))
        fields["output"] = clip(fields.get("output"))
        record = QueryRecord(**fields)
        with self._lock:
            self._records.append(record)
        return record

    def records(self) -> list[QueryRecord]:
        with self._lock:
            return list(self._records)

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        frame = pd.DataFrame([asdict(r) for r in self.records()], columns=COLUMNS)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s")
        return frame

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


HISTORY = History()


def query_history() -> pd.DataFrame:
    """Every query of this session, oldest first, as a DataFrame."""
    return HISTORY.to_pandas()


def clear_history() -> None:
    """Forget every recorded query."""
    HISTORY.clear()
