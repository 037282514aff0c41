"""What a query returns: :class:`QueryResult` (chat and completions answers, one type
because the wire envelope is one) and :class:`EmbeddingsResult`, each with ``to_pandas()``.

Apart from :mod:`pt_widgets.queries` (which sends the requests) so the answer types can
be read, built in tests and extended without the transport around them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .wire import Choice, Completion, TokenLogprob, Usage

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["QueryResult", "EmbeddingsResult", "logprobs_rows"]


def logprobs_rows(tokens: Iterable[TokenLogprob]) -> list[dict[str, Any]]:
    """One row per generated token with its probability and its top alternatives."""
    rows = []
    for position, tok in enumerate(tokens):
        alternatives = list(tok.top_logprobs)
        rank = next((i + 1 for i, alt in enumerate(alternatives) if alt.token == tok.token), None)
        rows.append({
            "position": position,
            "token": tok.token,
            "logprob": tok.logprob,
            "probability": math.exp(tok.logprob),
            "rank": rank,
            "top_tokens": [a.token for a in alternatives],
            "top_logprobs": [a.logprob for a in alternatives],
        })
    return rows


@dataclass(frozen=True)
class QueryResult:
    """The answer to a chat or completions query (``kind`` says which).

    ``text``/``finish_reason``/``logprobs`` are those of the first choice; all choices are in
    ``choices`` and in ``to_pandas()``.
    """

    endpoint: str
    kind: str
    response: Completion
    latency_s: float
    served_model: str | None = None
    time_to_first_token_s: float | None = None

    @property
    def choices(self) -> tuple[Choice, ...]:
        return self.response.choices

    @property
    def text(self) -> str:
        return self.choices[0].content if self.choices else ""

    @property
    def finish_reason(self) -> str | None:
        return self.choices[0].finish_reason if self.choices else None

    @property
    def usage(self) -> Usage:
        return self.response.usage

    @property
    def logprobs(self) -> tuple[TokenLogprob, ...]:
        return self.choices[0].logprobs if self.choices else ()

    def to_pandas(self) -> pd.DataFrame:
        """One row per choice: text, finish reason, token usage, latency."""
        import pandas as pd

        rows = [{
            "endpoint": self.endpoint,
            "kind": self.kind,
            "index": c.index,
            "text": c.content,
            "finish_reason": c.finish_reason,
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "total_tokens": self.usage.total_tokens,
            "latency_s": self.latency_s,
            "model": self.response.model,
        } for c in self.choices]
        return pd.DataFrame(rows)

    def logprobs_frame(self, choice: int = 0) -> pd.DataFrame:
        """One row per token of a choice: token, logprob, probability, rank, alternatives."""
        import pandas as pd

        columns = ["position", "token", "logprob", "probability", "rank", "top_tokens",
                   "top_logprobs"]
        tokens = self.choices[choice].logprobs if self.choices else ()
        return pd.DataFrame(logprobs_rows(tokens), columns=columns)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        head = self.text if len(self.text) <= 60 else self.text[:59] + "…"
        return (f"QueryResult({self.kind} {self.endpoint!r}: {head!r}, finish_reason="
                f"{self.finish_reason!r}, tokens={self.usage.total_tokens}, "
                f"latency={self.latency_s:.2f}s)")


def _norm(vector: Sequence[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


@dataclass(frozen=True)
class EmbeddingsResult:
    """One vector per input, in input order; says whether vectors are unit-length."""

    endpoint: str
    inputs: tuple[str, ...]
    vectors: tuple[tuple[float, ...], ...]
    usage: Usage
    latency_s: float
    model: str | None = None
    normalized_by_client: bool = False
    served_model: str | None = None  # the served entity that answered (served-model-name)

    @property
    def dimensions(self) -> int:
        return len(self.vectors[0]) if self.vectors else 0

    @property
    def norms(self) -> list[float]:
        return [_norm(v) for v in self.vectors]

    @property
    def is_normalized(self) -> bool:
        """True when every vector has length 1 (so dot product = cosine similarity)."""
        return all(abs(n - 1.0) < 1e-3 for n in self.norms)

    def normalize(self) -> EmbeddingsResult:
        """A copy with every vector scaled to unit length (zero vectors left as they are)."""
        scaled = tuple(
            tuple(x / n for x in v) if (n := _norm(v)) > 0 else tuple(v) for v in self.vectors
        )
        return replace(self, vectors=scaled, normalized_by_client=True)

    def to_numpy(self) -> Any:
        import numpy as np

        return np.asarray(self.vectors, dtype=float)

    def to_pandas(self) -> pd.DataFrame:
        """One row per input: the input, dimensions, norm and the vector."""
        import pandas as pd

        return pd.DataFrame({
            "index": range(len(self.vectors)),
            "input": list(self.inputs),
            "dimensions": [len(v) for v in self.vectors],
            "norm": self.norms,
            "embedding": [list(v) for v in self.vectors],
        })

    @property
    def note(self) -> str:
        """A hint when vectors are not unit-length (cosine needs normalising first)."""
        if self.is_normalized or not self.vectors:
            return ""
        return ("Vectors are not unit-length: call .normalize() (or pass normalize=True) "
                "before comparing them with a dot product.")

    def __repr__(self) -> str:
        note = f" {self.note}" if self.note else ""
        return (f"EmbeddingsResult({len(self.vectors)} × {self.dimensions} from "
                f"{self.endpoint!r}, latency={self.latency_s:.2f}s).{note}")
