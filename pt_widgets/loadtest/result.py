"""The result of a load test: levels, requests, the per-second timeline and the advice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .measure import LEVEL_COLUMNS, SAMPLE_COLUMNS
from .plan import LoadTestPlan
from .recommend import EndpointCapacity, Recommendation

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["LoadTestResult"]


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
