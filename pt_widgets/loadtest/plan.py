"""The plan of a load test: what it will do and the most it can cost, known before it starts.

Pure: no request is sent here. Hard limits keep any plan bounded (8 levels, 64 concurrent
requests, 900 s); :func:`plan_load_test` states the caps in one line (``plan.describe()``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ValidationError

__all__ = ["DEFAULT_PROMPT", "LoadTestPlan", "plan_load_test"]

DEFAULT_PROMPT = "In two sentences, what does provisioned throughput mean for a model endpoint?"
MAX_LEVELS = 8
MAX_CONCURRENCY = 64  # what one served entity admits at once on Databricks' PT (and locally)
MAX_SECONDS_PER_LEVEL = 300.0
MAX_REQUESTS_PER_LEVEL = 2000
MAX_TOTAL_SECONDS = 900.0


@dataclass(frozen=True)
class LoadTestPlan:
    """What a load test will do and the most it can cost, known before it starts."""

    endpoint: str
    concurrency: tuple[int, ...]
    seconds_per_level: float
    max_requests_per_level: int
    max_tokens: int
    prompt: str
    drain_s: float
    timeout_s: float

    @property
    def max_requests(self) -> int:
        """The most requests the whole test sends (429s included)."""
        return len(self.concurrency) * self.max_requests_per_level

    @property
    def seconds(self) -> float:
        """How long the levels send requests for (the usual duration)."""
        return len(self.concurrency) * self.seconds_per_level

    @property
    def max_seconds(self) -> float:
        """Hard stop: each level's sending time plus the wait for its last answers."""
        return len(self.concurrency) * (self.seconds_per_level + self.drain_s)

    def describe(self) -> str:
        levels = ", ".join(str(c) for c in self.concurrency)
        return (f"{len(self.concurrency)} level{'s' if len(self.concurrency) != 1 else ''} "
                f"({levels} concurrent) × up to {self.seconds_per_level:g} s or "
                f"{self.max_requests_per_level} requests each, {self.max_tokens} tokens max "
                f"per answer: at most {self.max_requests} requests and about "
                f"{self.seconds:g} s (hard stop at {self.max_seconds:g} s) on "
                f"'{self.endpoint}'.")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(concurrency=list(self.concurrency), max_requests=self.max_requests,
                   seconds=self.seconds, max_seconds=self.max_seconds, text=self.describe())
        return out


def _levels(concurrency: int | Iterable[int]) -> tuple[int, ...]:
    raw = [concurrency] if isinstance(concurrency, int) else list(concurrency)
    try:
        levels = tuple(sorted({int(c) for c in raw}))
    except (TypeError, ValueError):
        raise ValidationError(f"Concurrency levels are whole numbers, like 1, 2, 4, 8 "
                              f"(got {raw!r}).") from None
    if not levels:
        raise ValidationError("Give at least one concurrency level, like 1, 2, 4, 8.")
    if len(levels) > MAX_LEVELS:
        raise ValidationError(f"Sweep at most {MAX_LEVELS} concurrency levels (got "
                              f"{len(levels)}).")
    if levels[0] < 1 or levels[-1] > MAX_CONCURRENCY:
        raise ValidationError(f"Concurrency levels go from 1 to {MAX_CONCURRENCY} (got "
                              f"{', '.join(map(str, levels))}).")
    return levels


def plan_load_test(
    endpoint: str,
    concurrency: int | Iterable[int] = (1, 2, 4, 8),
    *,
    seconds_per_level: float = 15.0,
    max_requests_per_level: int = 200,
    max_tokens: int = 32,
    prompt: str | None = None,
    drain_s: float = 10.0,
    timeout: float = 60.0,
) -> LoadTestPlan:
    """Validate a load test and state its caps (``plan.describe()``), sending nothing."""
    from ..endpoints import check_endpoint_name

    check_endpoint_name(endpoint)
    levels = _levels(concurrency)
    seconds = float(seconds_per_level)
    if not (0 < seconds <= MAX_SECONDS_PER_LEVEL):
        raise ValidationError(f"seconds_per_level must be above 0 and at most "
                              f"{MAX_SECONDS_PER_LEVEL:g} (got {seconds_per_level}).")
    requests_cap = int(max_requests_per_level)
    if not (1 <= requests_cap <= MAX_REQUESTS_PER_LEVEL):
        raise ValidationError(f"max_requests_per_level must be 1 to {MAX_REQUESTS_PER_LEVEL} "
                              f"(got {max_requests_per_level}).")
    if not (1 <= int(max_tokens) <= 4096):
        raise ValidationError(f"max_tokens must be 1 to 4096 (got {max_tokens}).")
    if not (0 <= float(drain_s) <= 120):
        raise ValidationError(f"drain_s must be 0 to 120 seconds (got {drain_s}).")
    if not (0 < float(timeout) <= 600):
        raise ValidationError(f"timeout must be above 0 and at most 600 s (got {timeout}).")
    text = DEFAULT_PROMPT if prompt is None or not str(prompt).strip() else str(prompt)
    plan = LoadTestPlan(endpoint, levels, seconds, requests_cap, int(max_tokens), text,
                        float(drain_s), float(timeout))
    if plan.max_seconds > MAX_TOTAL_SECONDS:
        raise ValidationError(f"This plan could run {plan.max_seconds:g} s; keep a load test "
                              f"under {MAX_TOTAL_SECONDS:g} s (fewer levels or fewer seconds "
                              "per level).")
    return plan
