"""Tokens and secrets (``/api/2.0/token/*``, ``/api/2.0/secrets/*``), named as databricks-sdk's
``settings`` and ``workspace`` dataclasses; the routes are in ``governance/routes.py``."""

from __future__ import annotations

from typing import Any

from .base import WireRequest, WireResponse


# -- tokens -----------------------------------------------------------------------------------
class CreateTokenRequest(WireRequest):
    comment: str | None = None
    lifetime_seconds: int | None = None


class RevokeTokenRequest(WireRequest):
    token_id: str


class PublicTokenInfo(WireResponse):
    token_id: str
    comment: str
    creation_time: int
    expiry_time: int


class CreateTokenResponse(WireResponse):
    token_value: str
    token_info: PublicTokenInfo


class ListPublicTokensResponse(WireResponse):
    token_infos: list[PublicTokenInfo]


class CreateOboTokenRequest(WireRequest):
    """``token_management.create_obo_token``: an admin makes a token for another principal
    (Databricks: a service principal's application id; here: any user name)."""

    application_id: str
    comment: str | None = None
    lifetime_seconds: int | None = None


class OboTokenInfo(WireResponse):
    token_id: str
    comment: str
    creation_time: int
    expiry_time: int
    owner_id: int
    created_by_username: str


class CreateOboTokenResponse(WireResponse):
    token_value: str
    token_info: OboTokenInfo


# -- secrets ----------------------------------------------------------------------------------
class CreateScope(WireRequest):
    scope: str
    initial_manage_principal: str | None = None
    scope_backend_type: str | None = None
    backend_azure_keyvault: dict[str, Any] | None = None  # accepted; no Key Vault here


class DeleteScope(WireRequest):
    scope: str


class DeleteSecret(WireRequest):
    scope: str
    key: str


class PutSecret(DeleteSecret):
    string_value: str | None = None
    bytes_value: str | None = None

    def __repr__(self) -> str:  # never show a value, not even in a traceback
        return f"PutSecret(scope={self.scope!r}, key={self.key!r})"

    __str__ = __repr__


class SecretScope(WireResponse):
    name: str
    backend_type: str


class ListScopesResponse(WireResponse):
    scopes: list[SecretScope]


class SecretMetadata(WireResponse):
    key: str
    last_updated_timestamp: int


class ListSecretsResponse(WireResponse):
    secrets: list[SecretMetadata]
