"""HTTP routes of governance: tokens, the caller's SCIM identity, secrets.

Paths and bodies are those databricks-sdk's ``w.tokens``, ``w.current_user`` and
``w.secrets`` send. Request and response bodies are the pydantic models of ``schemas/governance.py``
(FastAPI documents them in the OpenAPI document); unknown fields are refused, as
Databricks' JSON parser refuses them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from ..errors import ApiError
from ..routes.common import WireRoute
from ..schemas import governance as g
from . import Governance, User

router = APIRouter(tags=["governance"], route_class=WireRoute)
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def governance(request: Request) -> Governance:
    return request.app.state.workspace.governance


def caller(request: Request) -> User:
    """The authenticated user (the gate put it there); 401 if a route is reached without."""
    user = getattr(request.state, "user", None)
    if user is None:
        raise ApiError("UNAUTHENTICATED", "This request carries no authenticated user.")
    return user


# -- tokens ---------------------------------------------------------------------------------
@router.post("/api/2.0/token/create", response_model=g.CreateTokenResponse)
def create_token(request: Request, body: g.CreateTokenRequest) -> dict[str, Any]:
    value, info = governance(request).identities.create_token(
        caller(request), body.comment or "", body.lifetime_seconds)
    return {"token_value": value, "token_info": info.wire()}


@router.get("/api/2.0/token/list", response_model=g.ListPublicTokensResponse)
def list_tokens(request: Request) -> dict[str, Any]:
    infos = governance(request).identities.tokens(caller(request))
    return {"token_infos": [i.wire() for i in infos]}


@router.post("/api/2.0/token/delete")
def delete_token(request: Request, body: g.RevokeTokenRequest) -> dict[str, Any]:
    governance(request).identities.revoke(body.token_id, caller(request))
    return {}


@router.post("/api/2.0/token-management/on-behalf-of/tokens",
             response_model=g.CreateOboTokenResponse)
def create_obo_token(request: Request, body: g.CreateOboTokenRequest) -> dict[str, Any]:
    """An admin makes a token for another user (created on first mention), as
    ``pt-widgets local token create --user`` does on the data dir: how a notebook gives a
    second user a token without a shell on the workspace's machine."""
    admin = caller(request)
    if not admin.is_admin:
        raise ApiError("PERMISSION_DENIED", "Only workspace admins may create tokens on behalf "
                       "of another user.")
    identities = governance(request).identities
    owner = identities.ensure_user(body.application_id)
    value, info = identities.create_token(owner, body.comment or "", body.lifetime_seconds)
    return {"token_value": value, "token_info": {**info.wire(), "owner_id": owner.id,
                                                 "created_by_username": admin.user_name}}


# -- who am I -------------------------------------------------------------------------------
@router.get("/api/2.0/preview/scim/v2/Me")
def me(request: Request) -> dict[str, Any]:
    user = caller(request)
    groups = [{"display": "admins", "value": "admins"}] if user.is_admin else []
    groups.append({"display": "users", "value": "users"})
    return {"id": str(user.id), "userName": user.user_name, "displayName": user.user_name,
            "active": True, "emails": [{"value": user.user_name, "primary": True,
                                        "type": "work"}],
            "groups": groups, "schemas": [SCIM_USER]}


# -- secrets --------------------------------------------------------------------------------
@router.post("/api/2.0/secrets/scopes/create")
def create_scope(request: Request, body: g.CreateScope) -> dict[str, Any]:
    governance(request).vault.create_scope(caller(request), body.scope,
                                           body.initial_manage_principal,
                                           body.scope_backend_type)
    return {}


@router.get("/api/2.0/secrets/scopes/list", response_model=g.ListScopesResponse)
def list_scopes(request: Request) -> dict[str, Any]:
    caller(request)
    names = governance(request).vault.scopes()
    return {"scopes": [{"name": n, "backend_type": "DATABRICKS"} for n in names]}


@router.post("/api/2.0/secrets/scopes/delete")
def delete_scope(request: Request, body: g.DeleteScope) -> dict[str, Any]:
    governance(request).vault.delete_scope(caller(request), body.scope)
    return {}


@router.post("/api/2.0/secrets/put")
def put_secret(request: Request, body: g.PutSecret) -> dict[str, Any]:
    governance(request).vault.put(caller(request), body.scope, body.key, body.string_value,
                                  body.bytes_value)
    return {}


@router.get("/api/2.0/secrets/list", response_model=g.ListSecretsResponse)
def list_secrets(request: Request, scope: str = Query(...)) -> dict[str, Any]:
    found = governance(request).vault.list(caller(request), scope)
    return {"secrets": [{"key": s.key, "last_updated_timestamp": s.last_updated_timestamp}
                        for s in found]}


@router.post("/api/2.0/secrets/delete")
def delete_secret(request: Request, body: g.DeleteSecret) -> dict[str, Any]:
    governance(request).vault.delete(caller(request), body.scope, body.key)
    return {}


@router.get("/api/2.0/secrets/get")
def get_secret(request: Request, scope: str = Query(...), key: str = Query(...)) -> None:
    """Refused: the local workspace never hands a secret value back to any caller."""
    caller(request)
    raise ApiError("PERMISSION_DENIED", "The local workspace never returns secret values; "
                   f"reference it as {{{{secrets/{scope}/{key}}}}} in an external model's "
                   "config instead.")
