"""Permissions on a serving endpoint (``/api/2.0/permissions/serving-endpoints/{id}``).

Named as databricks-sdk's ``ServingEndpointPermissions*`` classes. An entry names exactly
one principal (user, group or service principal) and one level.
"""

from __future__ import annotations

from pydantic import model_validator

from .base import WireRequest, WireResponse
from .serving import PermissionLevel


class ServingEndpointAccessControlRequest(WireRequest):
    group_name: str | None = None
    permission_level: PermissionLevel | None = None
    service_principal_name: str | None = None
    user_name: str | None = None

    @model_validator(mode="after")
    def one_principal(self) -> ServingEndpointAccessControlRequest:
        named = [n for n in (self.user_name, self.group_name, self.service_principal_name) if n]
        if len(named) != 1:
            raise ValueError("must name exactly one of user_name, group_name or "
                             "service_principal_name")
        return self


class ServingEndpointPermissionsRequest(WireRequest):
    access_control_list: list[ServingEndpointAccessControlRequest] | None = None


class ServingEndpointPermission(WireResponse):
    permission_level: PermissionLevel | None = None
    inherited: bool | None = None
    inherited_from_object: list[str] | None = None


class ServingEndpointAccessControlResponse(WireResponse):
    all_permissions: list[ServingEndpointPermission] | None = None
    display_name: str | None = None
    group_name: str | None = None
    service_principal_name: str | None = None
    user_name: str | None = None


class ServingEndpointPermissions(WireResponse):
    access_control_list: list[ServingEndpointAccessControlResponse] | None = None
    object_id: str | None = None
    object_type: str | None = None


class ServingEndpointPermissionsDescription(WireResponse):
    description: str | None = None
    permission_level: PermissionLevel | None = None


class GetServingEndpointPermissionLevelsResponse(WireResponse):
    permission_levels: list[ServingEndpointPermissionsDescription]
