"""Governed endpoints from Python: permissions, secrets, external models, the AI gateway's
limits, usage and inference table.

Plain functions over the workspace's HTTP (Databricks' routes where Databricks has them:
permissions, secrets, serving endpoints, ``ai-gateway``); the usage and inference tables are
read from the local workspace's ``/api/2.0/pt-widgets/...`` routes (on Databricks, query
``system.serving.endpoint_usage`` and the endpoint's inference table with SQL instead).
Secret values go in and never come back; nothing here logs or returns one.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import Conflict, ValidationError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from .workspace import Workspace

log = logging.getLogger(__name__)
LEVELS = ("CAN_VIEW", "CAN_QUERY", "CAN_MANAGE")
TASKS = ("llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings")
SERVING = "/api/2.0/serving-endpoints"


def _endpoint_id(ws: Workspace, endpoint: str) -> str:
    return str(ws.call("GET", f"{SERVING}/{quote(endpoint, safe='')}")["id"])


def _permissions_path(ws: Workspace, endpoint: str) -> str:
    return f"/api/2.0/permissions/serving-endpoints/{_endpoint_id(ws, endpoint)}"


def _principal(user: str) -> dict[str, str]:
    return {"group_name": user} if user in ("users", "admins") else {"user_name": user}


def grant(ws: Workspace, endpoint: str, user: str, level: str = "CAN_QUERY") -> None:
    """Give ``user`` (or the ``users`` group) ``level`` on ``endpoint``."""
    if level not in LEVELS:
        raise ValidationError(f"level must be one of {', '.join(LEVELS)}, got {level!r}.")
    ws.call("PATCH", _permissions_path(ws, endpoint), json={"access_control_list": [
        {**_principal(user), "permission_level": level}]})


def revoke(ws: Workspace, endpoint: str, user: str) -> None:
    """Remove ``user``'s direct grant on ``endpoint`` (its creator keeps CAN_MANAGE)."""
    path = _permissions_path(ws, endpoint)
    acl = ws.call("GET", path).get("access_control_list") or []
    kept = []
    for entry in acl:
        name = entry.get("user_name") or entry.get("group_name")
        direct = [p for p in entry.get("all_permissions") or [] if not p.get("inherited")]
        if name != user and direct:
            kept.append({**_principal(name), "permission_level": direct[0]["permission_level"]})
    ws.call("PUT", path, json={"access_control_list": kept})


def permissions(ws: Workspace, endpoint: str) -> pd.DataFrame:
    """Who holds which level on ``endpoint`` (principal, level, inherited)."""
    import pandas as pd

    acl = ws.call("GET", _permissions_path(ws, endpoint)).get("access_control_list") or []
    rows = [{"principal": e.get("user_name") or e.get("group_name"),
             "level": p.get("permission_level"), "inherited": bool(p.get("inherited"))}
            for e in acl for p in e.get("all_permissions") or []]
    return pd.DataFrame(rows, columns=["principal", "level", "inherited"])


def create_secret(ws: Workspace, scope: str, key: str, value: str) -> str:
    """Store ``value`` as secret ``scope/key`` (the scope is created if missing); return the
    ``{{secrets/scope/key}}`` reference to put in an external model's config."""
    with contextlib.suppress(Conflict):  # the scope exists already
        ws.call("POST", "/api/2.0/secrets/scopes/create", json={"scope": scope})
    ws.call("POST", "/api/2.0/secrets/put", json={"scope": scope, "key": key,
                                                  "string_value": value})
    return f"{{{{secrets/{scope}/{key}}}}}"


def deploy_external(ws: Workspace, name: str, model: str, base_url: str, *,
                    api_key_reference: str | None = None, task: str = "llm/v1/chat",
                    provider: str = "openai", entity_name: str = "external",
                    wait: bool = True, timeout: float = 600) -> Any:
    """Serve an OpenAI-compatible server (vLLM, llama.cpp, Ollama, another workspace's
    ``<host>/serving-endpoints``) as endpoint ``name``; ``model`` is the upstream's model name.

    The key is a ``{{secrets/...}}`` reference (see :func:`create_secret`), never a value.
    """
    from .endpoints import wait_until_ready

    if task not in TASKS:
        raise ValidationError(f"task must be one of {', '.join(TASKS)}, got {task!r}.")
    if provider == "openai":
        settings: dict[str, Any] = {"openai_api_base": base_url}
        if api_key_reference:
            settings["openai_api_key"] = api_key_reference
        external = {"openai_config": settings}
    elif provider == "custom":
        settings = {"custom_provider_url": base_url}
        if api_key_reference:
            settings["bearer_token_auth"] = {"token": api_key_reference}
        external = {"custom_provider_config": settings}
    else:
        raise ValidationError(f"provider must be 'openai' or 'custom', got {provider!r}.")
    entity = {"name": entity_name, "external_model": {"provider": provider, "name": model,
                                                       "task": task, **external}}
    ws.call("POST", SERVING, json={"name": name, "config": {"served_entities": [entity]}})
    return wait_until_ready(ws, name, timeout=timeout) if wait else None


def set_gateway(ws: Workspace, endpoint: str, *, calls_per_minute: int | None = None,
                tokens_per_minute: int | None = None, key: str = "user",
                principal: str | None = None, usage_tracking: bool = True,
                inference_table: bool = True,
                rate_limits: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Put the endpoint's AI gateway config: one rate limit (per ``key``: user, endpoint,
    user_group), usage tracking and the inference table. Returns the config as stored.

    ``rate_limits`` replaces the one limit with a whole list (Databricks' ``rate_limits``
    objects), for editors that keep several (the governance panel)."""
    limits = [dict(limit) for limit in rate_limits or []]
    if calls_per_minute is not None or tokens_per_minute is not None:
        limit: dict[str, Any] = {"key": key, "renewal_period": "minute"}
        if calls_per_minute is not None:
            limit["calls"] = calls_per_minute
        if tokens_per_minute is not None:
            limit["tokens"] = tokens_per_minute
        if principal:
            limit["principal"] = principal
        limits.append(limit)
    body: dict[str, Any] = {"rate_limits": limits,
                            "usage_tracking_config": {"enabled": usage_tracking}}
    if inference_table:
        body["inference_table_config"] = {"enabled": True, "catalog_name": "main",
                                          "schema_name": "default",
                                          "table_name_prefix": endpoint.replace("-", "_")}
    return ws.call("PUT", f"{SERVING}/{quote(endpoint, safe='')}/ai-gateway", json=body)


def _table(ws: Workspace, endpoint: str, which: str) -> pd.DataFrame:
    import pandas as pd

    answer = ws.call("GET", f"/api/2.0/pt-widgets/serving-endpoints/"
                            f"{quote(endpoint, safe='')}/{which}")
    frame = pd.DataFrame(answer.get("rows") or [], columns=answer.get("columns") or None)
    inert = answer.get("not_enforced") or []
    frame.attrs["not_enforced"] = inert
    if inert:
        log.warning("Endpoint %s: AI gateway %s are stored but not enforced by the local "
                    "workspace.", endpoint, ", ".join(inert))
    return frame


def usage(ws: Workspace, endpoint: str) -> pd.DataFrame:
    """One row per request (requester, served entity, tokens in/out, status, latency) while
    the gateway's usage tracking is on. ``.attrs["not_enforced"]`` names inert features."""
    return _table(ws, endpoint, "usage")


def inference_table(ws: Workspace, endpoint: str) -> pd.DataFrame:
    """Request and response payloads (JSON text, each up to 1 MiB) while the gateway's
    inference table is on, with Databricks' inference-table columns."""
    return _table(ws, endpoint, "inference-table")
