"""Loaded model replicas per endpoint, their rate limiters, and who answers a request.

The serving manager loads replicas through :meth:`Runtime.load` while a deploy runs and
hands them over with :meth:`Runtime.activate` once the whole config is ready, closing the
replicas of the config it replaces (so an update never interrupts serving). After a
restart a READY endpoint has no replica in memory; the manager reloads it on the first
request (the request waits for the load rather than failing). A ticker thread moves each
limiter's autoscaler and releases scale-to-zero replicas that sat idle.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .capacity import CapacityPool
from .metrics import EndpointMetrics
from .optimization import Sizing
from .registry import VersionDescriptor
from .settings import Settings
from .throughput import ThroughputLimiter

log = logging.getLogger("pt_widgets.local")
TICK_S = 1.0


def limiter_for(entity: dict[str, Any], sizing: Sizing,
                pool: CapacityPool | None = None) -> ThroughputLimiter:
    """Tokens/s bounds of an entity, whichever scheme it is sized in; steps above the
    minimum come out of ``pool``."""
    if sizing.scheme == "model_units":
        rate = entity["provisioned_model_units"] * sizing.tokens_per_second_per_unit
        return ThroughputLimiter(rate, rate, rate, scale_to_zero=False)
    return ThroughputLimiter(sizing.chunk, entity["min_provisioned_throughput"],
                             entity["max_provisioned_throughput"],
                             scale_to_zero=bool(entity.get("scale_to_zero_enabled")),
                             pool=pool, pool_tps=sizing.pool_tps)


@dataclass
class ServedEntity:
    """One served entity of an active config: its replica, limiter and request log."""

    name: str
    entity: dict[str, Any]
    desc: VersionDescriptor
    sizing: Sizing
    replica: Any
    limiter: ThroughputLimiter
    log: collections.deque = field(default_factory=lambda: collections.deque(maxlen=500))
    lock: threading.Lock = field(default_factory=threading.Lock)
    borrowed: bool = False  # shares the live config's replica until it is activated

    def __post_init__(self) -> None:
        self.limiter.notify = self.note  # autoscaling events go to the entity's log

    def note(self, message: str) -> None:
        self.log.append(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}")

    def close(self) -> None:
        replica, self.replica = self.replica, None
        if replica is not None and not self.borrowed:
            replica.close()

    def retire(self) -> None:
        """Close for good (replaced, deleted, or never activated): the replica, and the
        limiter's claim on the capacity pool."""
        self.close()
        self.limiter.retire()


def engine_source(desc: VersionDescriptor):
    from .engine import ModelSource

    return ModelSource(
        kind=desc.kind or "mlflow",
        path=str(desc.path),
        task=desc.task or "",
        filename=desc.filename,
        system_prompt=desc.system_prompt,
        display_name=desc.full_name.split(".")[-1],
    )


class Runtime:
    """Active replicas keyed by endpoint name, then served entity name."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._active: dict[str, dict[str, ServedEntity]] = {}
        self._routes: dict[str, list[tuple[str, int]]] = {}
        self.metrics: dict[str, EndpointMetrics] = {}
        self.capacity = CapacityPool()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="autoscaler", daemon=True)
        self._ticker.start()

    # -- loading ----------------------------------------------------------------------------
    def load_replica(self, desc: VersionDescriptor, say) -> Any:
        from .engine import load_replica

        started = time.monotonic()
        replica = load_replica(engine_source(desc), str(self.settings.models_cache_dir), say)
        say(f"Replica of {desc.full_name}/{desc.version} ready in "
            f"{time.monotonic() - started:.1f} s")
        return replica

    def load(self, desc: VersionDescriptor, sizing: Sizing, entity: dict[str, Any],
             say) -> ServedEntity:
        replica = self.load_replica(desc, say)
        return ServedEntity(entity["name"], entity, desc, sizing, replica,
                            limiter_for(entity, sizing, self.capacity))

    def loaded(self, endpoint: str, desc: VersionDescriptor, name: str) -> ServedEntity | None:
        """The live config's entity that has ``desc``'s weights in memory, if any (the one
        named ``name`` first, so two entities of one model keep a replica each)."""
        with self._lock:
            active = list(self._active.get(endpoint, {}).values())
        active.sort(key=lambda served: served.name != name)
        for served in active:
            if (served.desc.full_name, served.desc.version) == (desc.full_name, desc.version) \
                    and served.replica is not None:
                return served
        return None

    def share(self, live: ServedEntity, sizing: Sizing, entity: dict[str, Any]) -> ServedEntity:
        """A new config's entity on the live entity's replica, with its own sizing."""
        return ServedEntity(entity["name"], entity, live.desc, sizing, live.replica,
                            limiter_for(entity, sizing, self.capacity), borrowed=True)

    def ensure_loaded(self, served: ServedEntity) -> None:
        """Reload a replica released by scale-to-zero; the caller waits for it."""
        with served.lock:
            if served.replica is not None:
                return
            served.note("Scaling from zero: loading the model")
            served.replica = self.load_replica(served.desc, served.note)
            served.limiter.wake()

    # -- activation -------------------------------------------------------------------------
    def activate(self, endpoint: str, config: dict[str, Any],
                 loaded: dict[str, ServedEntity]) -> None:
        routes = [(r["served_entity_name"], r["traffic_percentage"])
                  for r in config["traffic_config"]["routes"]]
        kept = {id(s.replica) for s in loaded.values() if s.replica is not None}
        with self._lock:
            old = self._active.get(endpoint, {})
            owners: set[int] = set()
            for served in loaded.values():  # the new config owns its replicas from now on,
                served.borrowed = id(served.replica) in owners  # each by one entity
                owners.add(id(served.replica))
            self._active[endpoint] = loaded
            self._routes[endpoint] = routes
            self.metrics.setdefault(endpoint, EndpointMetrics())
        for served in old.values():
            if id(served.replica) in kept:
                served.borrowed = True  # handed over: let go without closing
            served.retire()

    def is_active(self, endpoint: str) -> bool:
        with self._lock:
            return bool(self._active.get(endpoint))

    def release(self, endpoint: str) -> None:
        with self._lock:
            old = self._active.pop(endpoint, {})
            self._routes.pop(endpoint, None)
            self.metrics.pop(endpoint, None)
        for served in old.values():
            served.retire()

    def pick(self, endpoint: str, entity: str | None = None) -> ServedEntity | None:
        """The entity that answers the next request: ``entity`` when named (a query to one
        served model), otherwise drawn at random weighted by the traffic percentages."""
        with self._lock:
            active = self._active.get(endpoint)
            routes = self._routes.get(endpoint, [])
        if not active:
            return None
        if entity is not None:
            return active.get(entity)
        weights = [(n, p) for n, p in routes if n in active and p > 0] or \
            [(n, 1) for n in active]
        names, pcts = zip(*weights, strict=True)
        return active[random.choices(names, weights=pcts)[0]]

    def metrics_for(self, endpoint: str) -> EndpointMetrics:
        with self._lock:
            return self.metrics.setdefault(endpoint, EndpointMetrics())

    def request_log(self, endpoint: str, entity: str) -> list[str]:
        with self._lock:
            served = self._active.get(endpoint, {}).get(entity)
        return list(served.log) if served else []

    # -- autoscaler ticks -------------------------------------------------------------------
    def _tick_loop(self) -> None:
        while not self._stop.wait(TICK_S):
            with self._lock:
                items = [(ep, s) for ep, ents in self._active.items() for s in ents.values()]
            for endpoint, served in items:
                try:
                    self._tick(endpoint, served)
                except Exception:  # keep ticking the others; the error is logged
                    log.exception("autoscaler tick failed for %s", endpoint)

    def _tick(self, endpoint: str, served: ServedEntity) -> None:
        limiter = served.limiter
        limiter.tick()
        if limiter.should_scale_to_zero():
            with served.lock:
                if limiter.should_scale_to_zero():
                    served.note(f"Idle for {limiter.idle_for():.0f} s: scaling to zero")
                    served.close()
                    limiter.mark_scaled_to_zero()
        rate = None if served.sizing is None else limiter.rate  # external: not provisioned
        self.metrics_for(endpoint).set_rate(served.name, rate, limiter.in_flight)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            endpoints = list(self._active)
        for name in endpoints:
            self.release(name)
