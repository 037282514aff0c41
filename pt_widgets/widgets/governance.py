"""GovernancePanel: who may use an endpoint, how much, and what it was asked.

AI gateway rate limits (endpoint- or user-keyed, calls and/or tokens per minute), the usage
tracking and inference-table switches, usage per user and the latest inference-table rows
(paged like the compare table), and the endpoint's permissions (grant / revoke for its
managers and admins; everyone else reads a sentence saying why the panel is read-only).

Everything goes through the Python API (``pt_widgets.governance``); table rows travel in
answers to ``page`` requests, never as synced traits, so a saved notebook holds no payloads.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import traitlets as t

from ..errors import ValidationError
from ._base import Facade, Part, PtWidget, Request, declare

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

PAGE_ROWS = 25
MAX_TEXT = 8_000  # characters of one payload shown in the browser (a page stays < 1 MB)
LEVELS = ("CAN_VIEW", "CAN_QUERY", "CAN_MANAGE")
LIMIT_KEYS = ("endpoint", "user")
USAGE_SUMMARY = ("requester", "requests", "errors", "input_tokens", "output_tokens",
                 "mean_latency_ms")
INFERENCE_SHOWN = ("request_time", "requester", "served_entity_name", "status_code",
                   "execution_duration_ms", "request", "response")
NO_ENDPOINT = "Choose an endpoint to govern."


def read_only_sentence(endpoint: str, level: str | None) -> str:
    """Why a caller sees but cannot change an endpoint's governance."""
    held = f"hold {level}" if level else "hold no permission"
    return (f"You {held} on '{endpoint}': only its managers (CAN_MANAGE) and workspace admins "
            "see and change its permissions, limits and tables.")


def clean_limit(raw: dict[str, Any]) -> dict[str, Any]:
    """One rate limit from the browser, checked: a key, and calls and/or tokens per minute."""
    key = str(raw.get("key") or "user")
    if key not in LIMIT_KEYS:
        raise ValidationError(f"A rate limit's key must be 'endpoint' or 'user', got {key!r}.")
    limit: dict[str, Any] = {"key": key, "renewal_period": "minute"}
    for field in ("calls", "tokens"):
        value = raw.get(field)
        if value in (None, ""):
            continue
        number = float(value)
        if not math.isfinite(number) or number < 1 or number != int(number):
            raise ValidationError(f"A rate limit's {field} per minute must be a whole number "
                                  f"of at least 1, got {value!r}.")
        limit[field] = int(number)
    if "calls" not in limit and "tokens" not in limit:
        raise ValidationError("A rate limit needs calls per minute, tokens per minute or both.")
    principal = str(raw.get("principal") or "").strip()
    if principal and key == "user":
        limit["principal"] = principal
    return limit


def shown_limit(limit: dict[str, Any]) -> dict[str, Any]:
    """A stored limit as the panel lists it (the keys it edits, nothing else)."""
    return {"key": limit.get("key", ""), "principal": limit.get("principal") or "",
            "calls": limit.get("calls"), "tokens": limit.get("tokens")}


def clip(value: Any, limit: int = MAX_TEXT) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"… [{len(value) - limit:,} more characters]"
    return value


def usage_per_user(frame: pd.DataFrame) -> pd.DataFrame:
    """Requests, errors, tokens and mean latency per requester (most requests first)."""
    import pandas as pd

    if frame.empty:
        return pd.DataFrame(columns=list(USAGE_SUMMARY))
    failed = frame["status_code"].fillna(0).astype(int) >= 400
    grouped = frame.assign(failed=failed).groupby("requester", dropna=False)
    summary = pd.DataFrame({
        "requests": grouped.size(), "errors": grouped["failed"].sum(),
        "input_tokens": grouped["input_token_count"].sum(),
        "output_tokens": grouped["output_token_count"].sum(),
        "mean_latency_ms": grouped["execution_duration_ms"].mean().round(1),
    }).reset_index()
    summary = summary.sort_values(["requests", "requester"], ascending=[False, True])
    return summary[list(USAGE_SUMMARY)].reset_index(drop=True)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return value if isinstance(value, int) else str(value)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]


class GovernancePart(Part):
    scope = "governance"
    TRAITS: ClassVar = {
        "endpoint": lambda: t.Unicode(""),
        "level": lambda: t.Unicode(""),  # the caller's own level on the endpoint
        "can_manage": lambda: t.Bool(False),
        "read_only_reason": lambda: t.Unicode(NO_ENDPOINT),
        "rate_limits": lambda: t.List(),  # [{key, principal, calls, tokens}] as stored
        "usage_tracking": lambda: t.Bool(False),
        "inference_table": lambda: t.Bool(False),
        "not_enforced": lambda: t.List(),  # gateway features stored but inert locally
        "error": lambda: t.Unicode(""),
    }

    def setup(self) -> None:
        self._loaded_for: str | None = None  # the endpoint the level traits were read for
        self.observe(lambda change: self.submit(self.load), "endpoint")

    # -- state ------------------------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        """Read the caller's level and the gateway config of the endpoint into the traits."""
        from ..errors import PermissionDenied

        name = self.get("endpoint")
        if not name:
            self.set(level="", can_manage=False, read_only_reason=NO_ENDPOINT, rate_limits=[],
                     usage_tracking=False, inference_table=False, not_enforced=[])
            return self.state()
        try:
            record = self.workspace().call("GET", f"/api/2.0/serving-endpoints/"
                                                  f"{quote(name, safe='')}")
        except PermissionDenied:
            record = {}
        level = str(record.get("permission_level") or "")
        gateway = record.get("ai_gateway") or {}
        manage = level == "CAN_MANAGE"
        self._loaded_for = name
        self.set(level=level, can_manage=manage,
                 read_only_reason="" if manage else read_only_sentence(name, level or None),
                 rate_limits=[shown_limit(x) for x in gateway.get("rate_limits") or []],
                 usage_tracking=bool((gateway.get("usage_tracking_config") or {}).get("enabled")),
                 inference_table=bool((gateway.get("inference_table_config") or {})
                                      .get("enabled")), error="")
        return self.state()

    def state(self) -> dict[str, Any]:
        return {name: self.get(name) for name in ("endpoint", "level", "can_manage",
                                                  "read_only_reason", "rate_limits",
                                                  "usage_tracking", "inference_table")}

    def require_manager(self) -> str:
        name = self.get("endpoint")
        if not name:
            raise ValidationError(NO_ENDPOINT)
        if self._loaded_for != name:  # asked before the background read finished
            self.load()
        if not self.get("can_manage"):
            raise ValidationError(self.get("read_only_reason") or read_only_sentence(name, None))
        return name

    # -- reads ------------------------------------------------------------------------------
    def permissions(self) -> pd.DataFrame:
        from ..governance import permissions

        return permissions(self.workspace(), self.require_manager())

    def usage_rows(self) -> pd.DataFrame:
        from ..governance import usage

        frame = usage(self.workspace(), self.require_manager())
        self.set(not_enforced=list(frame.attrs.get("not_enforced") or []))
        return frame

    def inference_rows(self) -> pd.DataFrame:
        """The inference table, latest request first."""
        from ..governance import inference_table

        frame = inference_table(self.workspace(), self.require_manager())
        if frame.empty:
            return frame
        return frame.sort_values("request_time", ascending=False).reset_index(drop=True)

    # -- writes -----------------------------------------------------------------------------
    def grant(self, principal: str, level: str) -> None:
        from ..governance import grant

        principal = principal.strip()
        if not principal:
            raise ValidationError("Name a user (e.g. someone@example.com) or the group 'users'.")
        if level not in LEVELS:
            raise ValidationError(f"level must be one of {', '.join(LEVELS)}, got {level!r}.")
        grant(self.workspace(), self.require_manager(), principal, level)

    def revoke(self, principal: str) -> None:
        from ..governance import revoke

        revoke(self.workspace(), self.require_manager(), principal)

    def save_gateway(self, limits: list[dict[str, Any]], usage_tracking: bool,
                     inference_table: bool) -> None:
        """Put the whole gateway config (the route replaces it), then show it as stored."""
        from ..governance import set_gateway

        checked = [clean_limit(x) for x in limits]
        set_gateway(self.workspace(), self.require_manager(), rate_limits=checked,
                    usage_tracking=usage_tracking, inference_table=inference_table)
        self.load()

    # -- requests from the browser ----------------------------------------------------------
    def rpc_load(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        return self.load()

    def rpc_permissions(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        return {"rows": records(self.permissions())}

    def rpc_grant(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        self.grant(str(params.get("principal") or ""), str(params.get("level") or ""))
        return {"rows": records(self.permissions())}

    def rpc_revoke(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        self.revoke(str(params.get("principal") or ""))
        return {"rows": records(self.permissions())}

    def rpc_set_gateway(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        limits = params.get("rate_limits")
        self.save_gateway(list(limits) if isinstance(limits, list) else self.get("rate_limits"),
                          bool(params.get("usage_tracking", self.get("usage_tracking"))),
                          bool(params.get("inference_table", self.get("inference_table"))))
        return self.state()

    def rpc_page(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        """Rows ``offset``… of the ``usage`` (per user) or ``inference`` table, paged."""
        which = str(params.get("table") or "")
        if which == "usage":
            frame, columns = usage_per_user(self.usage_rows()), USAGE_SUMMARY
        elif which == "inference":
            frame, columns = self.inference_rows(), INFERENCE_SHOWN
        else:
            raise ValidationError(f"table must be 'usage' or 'inference', got {which!r}.")
        offset = max(0, int(params.get("offset") or 0))
        limit = max(1, min(PAGE_ROWS, int(params.get("limit") or PAGE_ROWS)))
        page = frame.iloc[offset:offset + limit]
        rows = [{k: clip(v) for k, v in row.items() if k in columns} for row in records(page)]
        return {"columns": list(columns), "rows": rows, "total": len(frame), "offset": offset,
                "not_enforced": self.get("not_enforced")}


class GovernanceAPI:
    """Python methods of a governance panel (standalone or ``App().governance``)."""

    part: GovernancePart

    @property
    def permissions(self) -> pd.DataFrame:
        """Who holds which level on the endpoint (principal, level, inherited)."""
        return self.part.permissions()

    @property
    def usage(self) -> pd.DataFrame:
        """Usage per user: requests, errors, tokens in/out, mean latency (usage tracking on)."""
        return usage_per_user(self.part.usage_rows())

    @property
    def inference_rows(self) -> pd.DataFrame:
        """The endpoint's inference table, latest request first (inference table on)."""
        return self.part.inference_rows()

    def refresh(self) -> Any:
        """Read the level and gateway config again (e.g. after changing them elsewhere)."""
        self.part.load()
        self.part.emit({"type": "refresh"})
        return self

    def grant(self, principal: str, level: str = "CAN_QUERY") -> Any:
        self.part.grant(principal, level)
        self.part.emit({"type": "refresh"})
        return self

    def revoke(self, principal: str) -> Any:
        self.part.revoke(principal)
        self.part.emit({"type": "refresh"})
        return self

    def set_limits(self, limits: list[dict[str, Any]], *, usage_tracking: bool = True,
                   inference_table: bool = True) -> Any:
        """Replace the rate limits: ``[{"key": "user", "calls": 5}, {"key": "endpoint",
        "tokens": 10_000}]`` (``principal`` narrows a user limit to one user)."""
        self.part.save_gateway(limits, usage_tracking, inference_table)
        return self


class GovernanceControls(GovernanceAPI, Facade):
    """``App().governance``: the folded "Govern" section on the App's endpoint."""


class GovernancePanel(GovernanceAPI, PtWidget):
    """Govern one endpoint: AI gateway limits and tables, usage per user, inference rows,
    permissions. ``GovernancePanel(endpoint="my-endpoint")``; ``panel.usage``,
    ``panel.inference_rows`` and ``panel.permissions`` are DataFrames."""

    PARTS: ClassVar = {"governance": ("", GovernancePart)}
    _kind = t.Unicode("governance").tag(sync=True)
    vars().update(declare(PARTS))

    def __init__(self, *, endpoint: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.part.set(endpoint=endpoint)  # read in the background; the API reads on demand
