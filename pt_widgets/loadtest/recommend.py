"""What the measured load needs: the endpoint's provisioned band and a one-line advice.

Pure: :func:`recommend` reads the level rows (see :mod:`.measure`) and the endpoint's
:class:`EndpointCapacity`; the runner reads the capacity from the workspace.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ..sizing import MODEL_UNITS

__all__ = ["SATURATED_SHARE", "EndpointCapacity", "Recommendation", "recommend"]

SATURATED_SHARE = 0.01  # more 429s than this at a level: the endpoint was too small for it


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
        if self.scheme == MODEL_UNITS:
            return f"{self.model_units:g} model units"
        if self.max_tokens_per_s is None:
            return "not sized with provisioned throughput"
        lo, hi = self.min_tokens_per_s or 0, self.max_tokens_per_s
        band = f"{hi:g}" if lo == hi else f"{lo:g}–{hi:g}"
        chunk = f" (chunks of {self.chunk_size:g})" if self.chunk_size else ""
        return f"{band} tokens/s{chunk}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.describe()}


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
    if capacity.scheme == MODEL_UNITS:
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
