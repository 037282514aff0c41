"""Serving-endpoint permissions (``/api/2.0/permissions/serving-endpoints/{id}``), as
databricks-sdk's ``get/set/update_permissions`` and ``get_permission_levels`` call them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..permissions import Permissions
from ..schemas import permissions as p
from .common import WireRoute

router = APIRouter(prefix="/api/2.0/permissions/serving-endpoints", tags=["permissions"],
                   route_class=WireRoute)
ANSWER = {"response_model": p.ServingEndpointPermissions, "response_model_exclude_none": True}


def permissions(request: Request) -> Permissions:
    return request.app.state.workspace.permissions


@router.get("/{serving_endpoint_id}", **ANSWER)
def get_permissions(request: Request, serving_endpoint_id: str) -> dict[str, Any]:
    return permissions(request).get(serving_endpoint_id)


@router.put("/{serving_endpoint_id}", **ANSWER)
def set_permissions(request: Request, serving_endpoint_id: str,
                    body: p.ServingEndpointPermissionsRequest) -> dict[str, Any]:
    entries = body.given().get("access_control_list", [])
    return permissions(request).change(serving_endpoint_id, entries, replace=True)


@router.patch("/{serving_endpoint_id}", **ANSWER)
def update_permissions(request: Request, serving_endpoint_id: str,
                       body: p.ServingEndpointPermissionsRequest) -> dict[str, Any]:
    entries = body.given().get("access_control_list", [])
    return permissions(request).change(serving_endpoint_id, entries, replace=False)


@router.get("/{serving_endpoint_id}/permissionLevels",
            response_model=p.GetServingEndpointPermissionLevelsResponse)
def get_permission_levels(request: Request, serving_endpoint_id: str) -> dict[str, Any]:
    return permissions(request).levels(serving_endpoint_id)
