"""The AI gateway in force: rate limits, usage tracking and the inference table.

Read from the endpoint's ``ai_gateway`` config on every request (so a ``put_ai_gateway``
takes effect at once):

* ``rate_limits``: ``calls`` and/or ``tokens`` per ``minute`` for a ``key`` of ``endpoint``
  (everyone together), ``user`` (each user, or only ``principal``), ``user_group`` (the
  ``users`` group: everyone together) or ``service_principal`` (none exist locally, so it
  never matches). Every matching limit applies; a call over one is refused with 429
  ``REQUEST_LIMIT_EXCEEDED`` and ``Retry-After`` before the provisioned-throughput limiter
  sees it. Calls are counted when admitted, tokens when the answer is complete; windows
  slide over the last 60 s and live in memory (a restart starts them afresh).
* ``usage_tracking_config.enabled``: one row per request (requester, endpoint, served
  entity, tokens in/out, status, latency), as in ``system.serving.endpoint_usage``.
* ``inference_table_config.enabled``: request and response payloads, each logged only up
  to 1 MiB (larger ones are left out and ``logging_error_codes`` says so, as Databricks
  does), with the documented inference-table columns.

Both tables live in the governance database and survive restarts. Guardrails and fallbacks
are stored and echoed only: :func:`inert_features` names what a config asks for that the
local workspace does not enforce.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..errors import ApiError
from .db import GovernanceDB
from .identity import User

log = logging.getLogger("pt_widgets.local")
WINDOW_S = 60.0
MAX_PAYLOAD_BYTES = 1024 * 1024
USAGE_COLUMNS = ("databricks_request_id", "request_time", "endpoint_name", "served_entity_name",
                 "requester", "status_code", "input_token_count", "output_token_count",
                 "execution_duration_ms", "request_streaming")
INFERENCE_COLUMNS = ("databricks_request_id", "endpoint_name", "request_date", "request_time",
                     "status_code", "execution_duration_ms", "request", "response",
                     "served_entity_name", "logging_error_codes", "requester")


def inert_features(ai_gateway: dict[str, Any] | None) -> list[str]:
    """What an ``ai_gateway`` config asks for that the local workspace does not enforce."""
    config = ai_gateway or {}
    inert = []
    guardrails = config.get("guardrails") or {}
    for side in ("input", "output"):
        for name, value in (guardrails.get(side) or {}).items():
            if value not in (None, False, [], {}):
                inert.append(f"guardrails.{side}.{name}")
    if (config.get("fallback_config") or {}).get("enabled"):
        inert.append("fallback_config")
    for limit in config.get("rate_limits") or []:
        if isinstance(limit, dict) and limit.get("key") == "service_principal":
            inert.append("rate_limits[key=service_principal]")
    return inert


@dataclass
class Window:
    """Amounts over the last minute (calls: 1 each; tokens: per answer)."""

    events: collections.deque = field(default_factory=collections.deque)

    def total(self, now: float) -> float:
        while self.events and self.events[0][0] <= now - WINDOW_S:
            self.events.popleft()
        return sum(amount for _, amount in self.events)

    def retry_after(self, now: float) -> int:
        oldest = self.events[0][0] if self.events else now
        return max(1, math.ceil(oldest + WINDOW_S - now))


def buckets(limit: dict[str, Any], endpoint: str, user: User) -> str | None:
    """The window a limit counts this caller in, or None when the limit does not apply."""
    key, principal = limit.get("key") or "user", limit.get("principal")
    if key == "endpoint":
        return f"{endpoint}|endpoint"
    if key == "user":
        if principal and principal != user.user_name:
            return None
        return f"{endpoint}|user|{user.user_name}"
    if key == "user_group":
        if principal and principal != "users":
            return None
        return f"{endpoint}|group|users"
    return None  # service_principal: there are none locally


@dataclass
class Ticket:
    """One admitted request: what to count and record when it finishes."""

    gateway: Gateway | None
    endpoint: str
    user: User | None
    config: dict[str, Any]
    token_windows: list[str]
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.monotonic)
    finished: bool = False

    def finish(self, status: int, tokens_in: int, tokens_out: int, entity: str | None,
               request: Any = None, response: Any = None, streaming: bool = False) -> None:
        if self.finished or self.gateway is None:
            return
        self.finished = True
        self.gateway._finish(self, status, tokens_in, tokens_out, entity, request, response,
                             streaming)


class Gateway:
    """Rate windows in memory; usage and inference rows in the governance database."""

    def __init__(self, db: GovernanceDB) -> None:
        self.db = db
        self._windows: dict[str, Window] = collections.defaultdict(Window)
        self._lock = threading.Lock()
        self._warned: set[tuple[str, str]] = set()

    def warn_inert(self, name: str, config: dict[str, Any]) -> None:
        """Say once per endpoint and config which gateway features have no local effect."""
        inert = inert_features(config)
        key = (name, json.dumps(inert))
        if inert and key not in self._warned:
            self._warned.add(key)
            log.warning("Endpoint %s: AI gateway %s stored but NOT enforced by the local "
                        "workspace", name, ", ".join(inert))

    def admit(self, record: dict[str, Any] | None, user: User | None) -> Ticket:
        """Count the call, or raise 429 if one of the endpoint's rate limits is spent."""
        config = (record or {}).get("ai_gateway") or {}
        if record is None or user is None:
            return Ticket(None, "", user, {}, [])
        name = record["name"]
        self.warn_inert(name, config)
        limits = [lim for lim in config.get("rate_limits") or [] if isinstance(lim, dict)]
        call_windows, token_windows = [], []
        now = time.monotonic()
        with self._lock:
            for limit in limits:
                bucket = buckets(limit, name, user)
                if bucket is None:
                    continue
                for kind, allowed in (("calls", limit.get("calls")),
                                      ("tokens", limit.get("tokens"))):
                    if not isinstance(allowed, int) or isinstance(allowed, bool):
                        continue
                    window = self._windows[f"{bucket}|{kind}"]
                    if window.total(now) >= allowed:
                        raise ApiError("REQUEST_LIMIT_EXCEEDED", self._refusal(
                            name, user, limit, kind, allowed), status=429,
                            headers={"Retry-After": str(window.retry_after(now))})
                    (call_windows if kind == "calls" else token_windows).append(
                        f"{bucket}|{kind}")
            for key in call_windows:
                self._windows[key].events.append((now, 1))
        return Ticket(self, name, user, config, token_windows)

    @staticmethod
    def _refusal(name: str, user: User, limit: dict[str, Any], kind: str, allowed: int) -> str:
        key = limit.get("key") or "user"
        who = {"endpoint": "all callers together", "user_group": "the users group"}.get(
            key, f"user {user.user_name}")
        return (f"Endpoint '{name}' allows {allowed} {kind} per minute for {who} (AI gateway "
                "rate limit); retry after the time in Retry-After.")

    def _finish(self, ticket: Ticket, status: int, tokens_in: int, tokens_out: int,
                entity: str | None, request: Any, response: Any, streaming: bool) -> None:
        now = time.monotonic()
        with self._lock:
            for key in ticket.token_windows:
                self._windows[key].events.append((now, tokens_in + tokens_out))
        requester = ticket.user.user_name if ticket.user else ""
        elapsed_ms = int((now - ticket.started) * 1000)
        at_ms = int(time.time() * 1000)
        config = ticket.config
        if (config.get("usage_tracking_config") or {}).get("enabled"):
            with self.db.transaction() as conn:
                conn.execute(f"INSERT INTO usage ({', '.join(USAGE_COLUMNS)}) VALUES "
                             f"({', '.join('?' * len(USAGE_COLUMNS))})",
                             (ticket.request_id, at_ms, ticket.endpoint, entity, requester,
                              status, tokens_in, tokens_out, elapsed_ms, int(streaming)))
        if (config.get("inference_table_config") or {}).get("enabled"):
            errors = []
            request_text = capped(request, "MAX_REQUEST_SIZE_EXCEEDED", errors)
            response_text = capped(response, "MAX_RESPONSE_SIZE_EXCEEDED", errors)
            with self.db.transaction() as conn:
                conn.execute(f"INSERT INTO inference_log ({', '.join(INFERENCE_COLUMNS)}) "
                             f"VALUES ({', '.join('?' * len(INFERENCE_COLUMNS))})",
                             (ticket.request_id, ticket.endpoint,
                              time.strftime("%Y-%m-%d", time.gmtime(at_ms / 1000)), at_ms,
                              status, elapsed_ms, request_text, response_text, entity,
                              json.dumps(errors), requester))

    # -- reading ----------------------------------------------------------------------------
    def usage(self, endpoint: str) -> list[dict[str, Any]]:
        rows = self.db.rows(f"SELECT {', '.join(USAGE_COLUMNS)} FROM usage WHERE "
                            "endpoint_name = ? ORDER BY request_time", (endpoint,))
        return [dict(zip(USAGE_COLUMNS, r, strict=True)) for r in rows]

    def inference_rows(self, endpoint: str) -> list[dict[str, Any]]:
        rows = self.db.rows(f"SELECT {', '.join(INFERENCE_COLUMNS)} FROM inference_log WHERE "
                            "endpoint_name = ? ORDER BY request_time", (endpoint,))
        out = []
        for r in rows:
            row = dict(zip(INFERENCE_COLUMNS, r, strict=True))
            row["logging_error_codes"] = json.loads(row["logging_error_codes"])
            out.append(row)
        return out


def capped(payload: Any, code: str, errors: list[str]) -> str | None:
    """The payload as JSON text, or None (and ``code`` noted) past the 1 MiB cap."""
    if payload is None:
        return None
    text = payload if isinstance(payload, str) else json.dumps(payload)
    if len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        errors.append(code)
        return None
    return text
