"""Provisioned-throughput enforcement and autoscaling for one served entity.

**Rate.** The provisioned rate R (tokens/s, input + output, the way a chunk is defined)
fills a token bucket holding at most one second of R. A request is admitted while the bucket
is not in debt; it reserves its prompt tokens plus its ``max_tokens``, which may take the
bucket below zero, and is refunded what it did not generate, so the bucket charges real
tokens. (Admitting only when the bucket held the whole cost, capped at one second of R,
wasted R whenever a request cost more than a second of it: the bucket sat full until the
next arrival, and 2x overload delivered 0.83 R.) A request that arrives in debt is answered
429 with an integer ``Retry-After`` (seconds until the debt is repaid); nothing waits in an
unbounded queue: at most ``max_in_flight`` admitted requests run at once, beyond that 429.

**Autoscaling.** Demand (tokens asked for, admitted or not) is tracked over a sliding
window. When it exceeds R, the rate steps up one chunk at a time toward ``max`` after a
scale-up delay (slower than the CPU serves, as on Databricks where capacity is added by
starting new model servers); when the load stays under R minus one chunk for the
scale-down window, it steps down toward ``min``. With ``min = 0`` and scale-to-zero, an
idle entity releases its model; the next request waits for the reload (documented
choice: waiting a few seconds beats asking every client to retry) and the rate restarts
at one chunk.

**Capacity.** Steps above the minimum come out of the workspace's capacity pool
(``capacity.py``): a step up waits while no chunk is free (and the entity's log says so
once), and while the pool is over-committed (a deploy reserved what bursts were using) an
entity above its minimum steps down one chunk per tick.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .capacity import EPSILON, CapacityPool, env_number


def env_seconds(name: str, default: float) -> float:
    """A timing from the environment (any number; a bad value falls back to the default)."""
    return env_number(name, default, float("-inf"))


@dataclass(frozen=True)
class ScalingPolicy:
    """Timings of the autoscaler; environment variables let tests and demos shorten them."""

    scale_up_delay_s: float = 20.0
    scale_down_after_s: float = 60.0
    scale_to_zero_after_s: float = 300.0
    window_s: float = 10.0
    max_in_flight: int = 64

    @classmethod
    def from_env(cls) -> ScalingPolicy:
        return cls(
            scale_up_delay_s=env_seconds("PT_WIDGETS_SCALE_UP_DELAY_S", cls.scale_up_delay_s),
            scale_down_after_s=env_seconds("PT_WIDGETS_SCALE_DOWN_AFTER_S",
                                           cls.scale_down_after_s),
            scale_to_zero_after_s=env_seconds("PT_WIDGETS_SCALE_TO_ZERO_AFTER_S",
                                              cls.scale_to_zero_after_s),
            window_s=env_seconds("PT_WIDGETS_DEMAND_WINDOW_S", cls.window_s),
            max_in_flight=int(env_seconds("PT_WIDGETS_MAX_IN_FLIGHT", cls.max_in_flight)),
        )


@dataclass
class Admission:
    """A granted reservation; ``settle`` refunds what the request did not use."""

    reserved: float
    limiter: ThroughputLimiter
    settled: bool = False

    def settle(self, used_tokens: float) -> None:
        if not self.settled:
            self.settled = True
            self.limiter.release(self.reserved, used_tokens)


class RateLimited(Exception):
    def __init__(self, retry_after_s: int, reason: str) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.reason = reason


class ThroughputLimiter:
    """Token bucket at the current provisioned rate, plus the autoscaler that moves it."""

    def __init__(self, chunk_tps: float, min_tps: float, max_tps: float,
                 scale_to_zero: bool, policy: ScalingPolicy | None = None,
                 clock=time.monotonic, pool: CapacityPool | None = None,
                 pool_tps: float = 0.0) -> None:
        self.chunk = float(chunk_tps)
        self.min = float(min_tps)
        self.max = float(max_tps)
        self.scale_to_zero = scale_to_zero
        self.policy = policy or ScalingPolicy.from_env()
        self.clock = clock
        self.rate = max(self.min, self.chunk if self.min == 0 else self.min)
        self.rate = min(self.rate, self.max)
        self.level = self.rate
        self.in_flight = 0
        self._stamp = clock()
        self._demand: deque[tuple[float, float]] = deque()
        self._served: deque[tuple[float, float]] = deque()
        self._pressure_since: float | None = None
        self._slack_since: float | None = None
        self.last_activity = clock()
        self.scaled_to_zero = False
        self.events: deque[str] = deque(maxlen=100)
        self.notify: Callable[[str], None] | None = None  # the entity's log
        self.pool_tps = float(pool_tps)
        self._held_noted = False
        self._lock = threading.Lock()
        self.pool = pool
        if pool is not None:
            pool.register(self)

    # -- bucket -----------------------------------------------------------------------------
    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self.level = min(self.rate, self.level + elapsed * self.rate)

    def admit(self, prompt_tokens: int, max_new_tokens: int) -> Admission:
        """Reserve the request's tokens or raise :class:`RateLimited` with a retry time."""
        cost = float(prompt_tokens + max_new_tokens)
        with self._lock:
            now = self.clock()
            self.last_activity = now
            self._refill(now)
            self._record(self._demand, now, cost)
            self._autoscale(now)
            if self.in_flight >= self.policy.max_in_flight:
                raise RateLimited(1, f"{self.in_flight} requests are already running, the "
                                  "most this endpoint queues")
            if self.rate <= 0 or self.level < 0:  # in debt: the rate repays it first
                wait = -self.level / self.rate if self.rate > 0 else 1.0
                raise RateLimited(max(1, math.ceil(wait)),
                                  f"the request needs {int(cost)} tokens and the endpoint is "
                                  f"provisioned for {int(self.rate)} tokens/s")
            self.level -= cost
            self.in_flight += 1
            return Admission(cost, self)

    def release(self, reserved: float, used: float) -> None:
        with self._lock:
            now = self.clock()
            self._refill(now)
            self.in_flight = max(0, self.in_flight - 1)
            self.level = min(self.rate, self.level + max(0.0, reserved - used))
            self._record(self._served, now, used)

    # -- autoscaling ------------------------------------------------------------------------
    def _record(self, series: deque, now: float, tokens: float) -> None:
        series.append((now, tokens))
        horizon = now - self.policy.window_s
        while series and series[0][0] < horizon:
            series.popleft()

    def _per_second(self, series: deque, now: float) -> float:
        horizon = now - self.policy.window_s
        while series and series[0][0] < horizon:
            series.popleft()
        return sum(t for _, t in series) / self.policy.window_s

    def retire(self) -> None:
        """This entity no longer serves: it holds nothing of the pool from now on."""
        if self.pool is not None:
            self.pool.unregister(self)
            self.pool = None

    def burst_share(self) -> float:
        """The share of the machine this entity uses above its reserved minimum (read by the
        pool without this limiter's lock: a float read is atomic)."""
        if self.pool_tps <= 0:
            return 0.0
        return max(0.0, self.rate - self.min) / self.pool_tps

    def _chunk_free(self) -> bool:
        return self.pool is None or self.pool_tps <= 0 or \
            self.pool.free() >= self.chunk / self.pool_tps - EPSILON

    def _reclaim(self, now: float) -> bool:
        """Step down one chunk when the pool is over-committed and this entity bursts."""
        if self.pool is None or self.rate - self.chunk < max(self.min, self.chunk) - EPSILON \
                or not self.pool.overcommitted():
            return False
        self._set_rate(self.rate - self.chunk, now,
                       "scale down (capacity reclaimed for another endpoint's minimum)")
        return True

    def _autoscale(self, now: float) -> None:
        if self._reclaim(now):
            return
        demand = self._per_second(self._demand, now)
        if demand > self.rate and self.rate < self.max:
            self._slack_since = None
            self._pressure_since = self._pressure_since or now
            if now - self._pressure_since < self.policy.scale_up_delay_s:
                return
            if not self._chunk_free():  # re-checked on every call until a chunk is free
                if not self._held_noted:
                    self._held_noted = True
                    self._event(f"scale up held at {int(self.rate)} tokens/s: the "
                                "workspace's capacity pool has no free chunk of "
                                f"{int(self.chunk)} tokens/s")
                return
            self._set_rate(min(self.max, self.rate + self.chunk), now, "scale up")
            self._pressure_since = now
            return
        self._pressure_since = None
        self._held_noted = False
        if self.rate - self.chunk >= max(self.min, self.chunk) and demand < self.rate - self.chunk:
            self._slack_since = self._slack_since or now
            if now - self._slack_since >= self.policy.scale_down_after_s:
                self._set_rate(self.rate - self.chunk, now, "scale down")
                self._slack_since = now
        else:
            self._slack_since = None

    def _set_rate(self, rate: float, now: float, why: str) -> None:
        self._event(f"{why}: {int(self.rate)} -> {int(rate)} tokens/s")
        self.rate = rate
        self.level = min(self.level, rate)
        self._held_noted = False

    def _event(self, message: str) -> None:
        self.events.append(f"{time.strftime('%H:%M:%S')} {message}")
        if self.notify is not None:
            self.notify(message)

    def tick(self) -> None:
        """Periodic housekeeping: scale down an idle entity even when no request arrives."""
        with self._lock:
            now = self.clock()
            self._refill(now)
            self._autoscale(now)

    def idle_for(self) -> float:
        return self.clock() - self.last_activity

    def should_scale_to_zero(self) -> bool:
        return (self.scale_to_zero and self.min == 0 and not self.scaled_to_zero
                and self.in_flight == 0 and self.idle_for() >= self.policy.scale_to_zero_after_s)

    def mark_scaled_to_zero(self) -> None:
        with self._lock:
            self.scaled_to_zero = True
            self._set_rate(0.0, self.clock(), "scale to zero")

    def wake(self) -> None:
        with self._lock:
            self.scaled_to_zero = False
            self._set_rate(max(self.chunk, self.min), self.clock(), "wake from zero")
            self.level = self.rate
            self._stamp = self.clock()

    def delivered_per_second(self) -> float:
        with self._lock:
            return self._per_second(self._served, self.clock())
