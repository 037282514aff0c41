"""Permission checks for the serving routes, as one FastAPI dependency and two helpers.

``endpoint_access`` is a router-level dependency of the serving and invocation routers, so a
route added there later is covered the day it is added: the level a request needs follows
from its route (``required_level``), the endpoint from its ``{name}`` (or, for the
OpenAI-style routes, the body's ``model``). The check runs before the route's own code, so
a refused call changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from . import Governance, User, current_caller
from .identity import ADMIN_NAME

OPENAI_ROUTES = ("/serving-endpoints/chat/completions", "/serving-endpoints/completions",
                 "/serving-endpoints/embeddings")


def required_level(method: str, route_path: str) -> str | None:
    """The level a route needs on its endpoint; None for routes not about one endpoint."""
    if route_path in OPENAI_ROUTES or route_path.endswith("/invocations"):
        return "CAN_QUERY"
    if "{name}" not in route_path:
        return None  # list (filtered), create, optimization info
    return "CAN_VIEW" if method in ("GET", "HEAD") else "CAN_MANAGE"


def caller(request: Request) -> User | None:
    return getattr(request.state, "user", None)


def governance(request: Request) -> Governance:
    return request.app.state.workspace.governance


async def endpoint_name(request: Request, route_path: str) -> str | None:
    if route_path not in OPENAI_ROUTES:
        return request.path_params.get("name")
    try:  # the body is cached: the route reads it again; a bad one is the route's 400
        body = json.loads(await request.body())
    except ValueError:
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


async def endpoint_access(request: Request) -> None:
    """Refuse (403 PERMISSION_DENIED) a call the caller's level on the endpoint does not allow."""
    user, route = caller(request), request.scope.get("route")
    if user is None or route is None:
        return
    needed = required_level(request.method, route.path)
    if needed is None:
        return
    name = await endpoint_name(request, route.path)
    record = request.app.state.workspace.store.get(name) if name else None
    if record is None:
        return  # the route answers its own 404 / 400
    request.state.endpoint_level = governance(request).permissions.require(user, record, needed)
    request.state.endpoint_record = record  # read once per request: the gateway reuses it


def visible(request: Request, endpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The endpoints of a listing the caller may see (CAN_VIEW or more)."""
    user = caller(request)
    if user is None:
        return endpoints
    permissions = governance(request).permissions
    return [e for e in endpoints if permissions.level(user, e) is not None]


def with_caller_level(request: Request, endpoint: dict[str, Any]) -> dict[str, Any]:
    """``permission_level`` is the caller's own, as on Databricks."""
    user = caller(request)
    if user is not None:
        endpoint["permission_level"] = governance(request).permissions.level(user, endpoint)
    return endpoint


def creator_name() -> str:
    """Who is creating an endpoint now (the admin outside a request)."""
    user = current_caller()
    return user.user_name if user is not None else ADMIN_NAME
