"""Reading the Prometheus text an endpoint's metrics route exports, without a dependency.

``GET /api/2.0/serving-endpoints/{name}/metrics`` answers the Prometheus text exposition
format, on Databricks and on the local workspace alike. The client reads only a few series
(counters summed over served entities, a gauge, one histogram), so a small parser here
keeps ``prometheus-client`` a dependency of the local workspace only. The load test reads
the provisioned rate with it; the monitor reads everything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Series", "parse_metrics", "declared_metrics", "metric_sum", "histogram_buckets",
           "bucket_quantile"]

# name{labels} value [timestamp]; label values may hold escaped quotes
_LINE = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?\s*$')
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Series:
    """One sample line: its metric name, labels and value."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)


def parse_metrics(text: str) -> list[Series]:
    """Every sample line of Prometheus text (comments and malformed lines are skipped)."""
    out: list[Series] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line.strip())
        if match is None:
            continue
        name, labels, value = match.groups()
        try:
            number = float(value)
        except ValueError:
            continue
        out.append(Series(name, tuple(_LABEL.findall(labels or "")), number))
    return out


def declared_metrics(text: str) -> set[str]:
    """The names of its ``# TYPE`` lines: a labelled counter that has not counted anything
    yet is declared with no sample line (its value is 0, not unknown)."""
    names = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[:2] == ["#", "TYPE"]:
            names.add(parts[2])
    return names


def metric_sum(series: Iterable[Series], name: str, **labels: str) -> float | None:
    """The sum of ``name`` over the lines matching ``labels``; ``None`` when none is there."""
    values = [s.value for s in series
              if s.name == name and all(s.label(k) == v for k, v in labels.items())]
    return math.fsum(values) if values else None


def histogram_buckets(series: Iterable[Series], name: str) -> tuple[tuple[float, float], ...]:
    """Cumulative ``(upper bound, count)`` pairs of histogram ``name``, summed over its other
    labels (served entities), ordered by bound; ``+Inf`` last."""
    sums: dict[float, float] = {}
    for s in series:
        bound = s.label("le") if s.name == f"{name}_bucket" else None
        if bound is not None:
            le = float(bound)
            sums[le] = sums.get(le, 0.0) + s.value
    return tuple(sorted(sums.items()))


def bucket_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """The ``q`` quantile (0..1) of cumulative histogram buckets, interpolated linearly
    inside the bucket it falls in (what PromQL's ``histogram_quantile`` does); a quantile in
    the ``+Inf`` bucket is the highest finite bound. ``None`` without observations."""
    pairs = sorted(buckets)
    if not pairs or pairs[-1][1] <= 0:
        return None
    rank = q * pairs[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in pairs:
        if count >= rank and count > below:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = (bound if math.isfinite(bound) else lower), count
    return lower
