"""``/api/2.0/permissions/serving-endpoints/{id}``: read and set endpoint permissions.

As ``w.serving_endpoints.get_permissions / set_permissions / update_permissions /
get_permission_levels`` call them. The path takes the endpoint's ``id`` (the name is
accepted too). Reading or changing the list needs ``CAN_MANAGE``; the levels list needs
``CAN_VIEW``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from ..errors import not_found
from .access import caller, governance
from .permissions import DESCRIPTIONS, LEVELS


class AccessControlRequest(BaseModel):
    user_name: str | None = None
    group_name: str | None = None
    service_principal_name: str | None = None
    permission_level: str | None = None


class PermissionsRequest(BaseModel):
    access_control_list: list[AccessControlRequest] = []


router = APIRouter(prefix="/api/2.0/permissions/serving-endpoints", tags=["permissions"])


def endpoint_record(request: Request, endpoint_id: str, needed: str) -> dict[str, Any]:
    store = request.app.state.workspace.store
    record = next((r for r in store.all() if r["id"] == endpoint_id), None) or \
        store.get(endpoint_id)
    if record is None:
        raise not_found(f"Serving endpoint with id '{endpoint_id}' does not exist.")
    user = caller(request)
    if user is not None:
        governance(request).permissions.require(user, record, needed)
    return record


@router.get("/{endpoint_id}")
def get_permissions(request: Request, endpoint_id: str) -> dict[str, Any]:
    record = endpoint_record(request, endpoint_id, "CAN_MANAGE")
    return governance(request).permissions.object_permissions(record)


@router.get("/{endpoint_id}/permissionLevels")
def permission_levels(request: Request, endpoint_id: str) -> dict[str, Any]:
    endpoint_record(request, endpoint_id, "CAN_VIEW")
    return {"permission_levels": [{"permission_level": level, "description": DESCRIPTIONS[level]}
                                  for level in LEVELS]}


def change(request: Request, endpoint_id: str, body: PermissionsRequest,
           replace: bool) -> dict[str, Any]:
    record = endpoint_record(request, endpoint_id, "CAN_MANAGE")
    gov = governance(request)
    users = {u.user_name for u in gov.identities.users()}
    acl = [entry.model_dump(exclude_none=True) for entry in body.access_control_list]
    gov.permissions.apply(record["id"], acl, users, replace)
    return gov.permissions.object_permissions(record)


@router.put("/{endpoint_id}")
def set_permissions(request: Request, endpoint_id: str,
                    body: PermissionsRequest) -> dict[str, Any]:
    return change(request, endpoint_id, body, replace=True)


@router.patch("/{endpoint_id}")
def update_permissions(request: Request, endpoint_id: str,
                       body: PermissionsRequest) -> dict[str, Any]:
    return change(request, endpoint_id, body, replace=False)
