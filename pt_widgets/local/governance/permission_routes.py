"""``/api/2.0/permissions/serving-endpoints/{id}``: read and set endpoint permissions.

As ``w.serving_endpoints.get_permissions / set_permissions / update_permissions /
get_permission_levels`` call them. The path takes the endpoint's ``id`` (the name is
accepted too). Reading or changing the list needs ``CAN_MANAGE``; the levels list needs
``CAN_VIEW``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..errors import not_found
from ..routes.common import WireRoute
from ..schemas import permissions as p
from .access import caller, governance
from .permissions import DESCRIPTIONS, LEVELS

router = APIRouter(prefix="/api/2.0/permissions/serving-endpoints", tags=["permissions"],
                   route_class=WireRoute)
ANSWER = {"response_model": p.ServingEndpointPermissions, "response_model_exclude_none": True}


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


@router.get("/{endpoint_id}", **ANSWER)
def get_permissions(request: Request, endpoint_id: str) -> dict[str, Any]:
    record = endpoint_record(request, endpoint_id, "CAN_MANAGE")
    return governance(request).permissions.object_permissions(record)


@router.get("/{endpoint_id}/permissionLevels",
            response_model=p.GetServingEndpointPermissionLevelsResponse)
def permission_levels(request: Request, endpoint_id: str) -> dict[str, Any]:
    endpoint_record(request, endpoint_id, "CAN_VIEW")
    return {"permission_levels": [{"permission_level": level, "description": DESCRIPTIONS[level]}
                                  for level in LEVELS]}


def change(request: Request, endpoint_id: str, body: p.ServingEndpointPermissionsRequest,
           replace: bool) -> dict[str, Any]:
    record = endpoint_record(request, endpoint_id, "CAN_MANAGE")
    gov = governance(request)
    users = {u.user_name for u in gov.identities.users()}
    acl = body.given().get("access_control_list", [])
    gov.permissions.apply(record["id"], acl, users, replace)
    return gov.permissions.object_permissions(record)


@router.put("/{endpoint_id}", **ANSWER)
def set_permissions(request: Request, endpoint_id: str,
                    body: p.ServingEndpointPermissionsRequest) -> dict[str, Any]:
    return change(request, endpoint_id, body, replace=True)


@router.patch("/{endpoint_id}", **ANSWER)
def update_permissions(request: Request, endpoint_id: str,
                       body: p.ServingEndpointPermissionsRequest) -> dict[str, Any]:
    return change(request, endpoint_id, body, replace=False)
