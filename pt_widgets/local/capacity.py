"""The capacity pool: what this machine can serve, shared by every endpoint's minimums.

On Databricks a region has so much GPU capacity; an endpoint whose provisioned minimum does
not fit ends ``UPDATE_FAILED`` and autoscaling stops at what is free. Here the machine is the
region: one model's pool is what one replica of it serves on this CPU (the calibration
measurement, ``calibration_cache.py``), divided into ``PT_WIDGETS_CAPACITY_CHUNKS`` chunks
(default 4), so every model's pool is a whole number of chunks. Endpoints of different models
share the same CPU, so capacity is counted as a *share* of the machine: an entity holding
2 of its model's 4 chunks holds 0.5, whichever model it serves.

- **Minimums are reserved at deploy.** A config whose minimums do not fit beside what the
  other endpoints hold ends ``UPDATE_FAILED`` with a message naming them; nothing of it is
  loaded, and the endpoint's live config (if any) keeps serving.
- **Above the minimum is best effort.** An autoscaler steps up one chunk only while that
  chunk is free, and says so in the entity's log when it is not; when a deploy reserves what
  bursting entities were using, they step back toward their minimums, one chunk per tick.
  An entity with ``min = 0`` (scale to zero) reserves nothing: its first chunk is a burst.

``PT_WIDGETS_CAPACITY_MACHINES`` (default 1) multiplies the pool; the test suite, which
deploys dozens of endpoints into one workspace, sets it high and leaves the pool to
``tests/server/test_capacity.py``.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable
from typing import Any, Protocol

CHUNKS_ENV = "PT_WIDGETS_CAPACITY_CHUNKS"
MACHINES_ENV = "PT_WIDGETS_CAPACITY_MACHINES"
DEFAULT_CHUNKS = 4
EPSILON = 1e-6


def env_number(name: str, default: float, minimum: float) -> float:
    """A positive setting from the environment; a bad value falls back to the default."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value >= minimum else default


def chunks_per_pool() -> int:
    """How many chunks one model's pool (one replica's measured throughput) holds."""
    return int(env_number(CHUNKS_ENV, DEFAULT_CHUNKS, 1))


class Bursting(Protocol):
    """What the pool reads of an autoscaler (``throughput.ThroughputLimiter``)."""

    def burst_share(self) -> float: ...


def entity_share(entity: dict[str, Any], pool: float) -> float:
    """The share of the machine an entity's minimum reserves (``pool``: its model's pool in
    the entity's own units: tokens/s, or model units)."""
    if "provisioned_model_units" in entity and entity["provisioned_model_units"] is not None:
        amount = float(entity["provisioned_model_units"])
    else:
        amount = float(entity.get("min_provisioned_throughput") or 0)
    return amount / pool if pool > 0 else 0.0


def config_share(config: dict[str, Any] | None) -> float:
    """What a stored config reserves: the sum of its entities' ``_capacity`` (set when the
    config was validated, so reading it measures nothing)."""
    return sum(float(e.get("_capacity", 0.0)) for e in (config or {}).get("served_entities", []))


class CapacityPool:
    """Reserved minimums per endpoint, and the autoscalers that burst above them."""

    def __init__(self, machines: float | None = None) -> None:
        self.machines = machines if machines is not None else env_number(MACHINES_ENV, 1.0,
                                                                         EPSILON)
        self._held: dict[str, float] = {}
        self._limiters: weakref.WeakSet = weakref.WeakSet()
        self._lock = threading.Lock()

    # -- reservations (the serving manager) ---------------------------------------------------
    def set_held(self, endpoint: str, share: float) -> None:
        with self._lock:
            if share > 0:
                self._held[endpoint] = share
            else:
                self._held.pop(endpoint, None)

    def reserve(self, endpoint: str, share: float, keep: float) -> str | None:
        """Reserve ``share`` for ``endpoint`` (whose live config holds ``keep`` until the new
        one replaces it); returns why not, or None when it fits."""
        with self._lock:
            others = {name: s for name, s in self._held.items() if name != endpoint}
            if sum(others.values()) + share <= self.machines + EPSILON:
                self._held[endpoint] = max(share, keep)
                return None
            return shortage_message(share, self.machines, others)

    def held(self) -> float:
        with self._lock:
            return sum(self._held.values())

    # -- bursts (the autoscalers) -------------------------------------------------------------
    def register(self, limiter: Bursting) -> None:
        self._limiters.add(limiter)

    def unregister(self, limiter: Bursting) -> None:
        self._limiters.discard(limiter)

    def free(self) -> float:
        """The share neither reserved nor in use by a burst."""
        return self.machines - self.held() - sum(lim.burst_share() for lim in
                                                 list(self._limiters))

    def overcommitted(self) -> bool:
        return self.free() < -EPSILON


def shortage_message(share: float, machines: float, others: dict[str, float]) -> str:
    """Databricks reports a capacity shortage in the entity's state message; this says how
    much was asked, how much is free and who holds the rest, so the user can act on it."""
    held = sum(others.values())
    holders = ", ".join(f"'{name}' {pct(s)}" for name, s in sorted(
        others.items(), key=lambda item: -item[1])) or "nobody"
    return (f"Insufficient capacity: the provisioned minimum needs {pct(share)} of this "
            f"workspace's serving capacity and {pct(max(0.0, machines - held))} is free "
            f"(held by {holders}). Lower min_provisioned_throughput (or "
            f"provisioned_model_units), or delete an endpoint, and update again.")


def pct(share: float) -> str:
    return f"{100 * share:.0f} %"


def restore(pool: CapacityPool, records: Iterable[dict[str, Any]]) -> None:
    """After a restart: every endpoint holds what its live config reserves (an interrupted
    deploy reserves again when it resumes)."""
    for record in records:
        pool.set_held(record["name"], config_share(record.get("config")))
