"""Unity Catalog objects (``/api/2.1/unity-catalog``), named as databricks-sdk's catalog.py."""

from __future__ import annotations

from pydantic import Field

from .base import WireRequest, WireResponse


class Securable(WireResponse):
    """Ownership and audit fields every Unity Catalog object carries."""

    owner: str | None = None
    comment: str | None = None
    metastore_id: str | None = None
    created_at: int | None = None
    created_by: str | None = None
    updated_at: int | None = None
    updated_by: str | None = None
    browse_only: bool | None = None


class CatalogInfo(Securable):
    name: str
    full_name: str | None = None
    catalog_type: str | None = None
    securable_type: str | None = None
    isolation_mode: str | None = None


class SchemaInfo(Securable):
    name: str
    catalog_name: str
    full_name: str | None = None
    catalog_type: str | None = None


class RegisteredModelAlias(WireResponse):
    alias_name: str
    version_num: int
    catalog_name: str | None = None
    schema_name: str | None = None
    model_name: str | None = None
    id: str | None = None


class RegisteredModelInfo(Securable):
    name: str
    catalog_name: str
    schema_name: str
    full_name: str | None = None
    storage_location: str | None = None
    aliases: list[RegisteredModelAlias] | None = None


class ModelVersionInfo(Securable):
    model_name: str
    catalog_name: str
    schema_name: str
    version: int
    id: str | None = None
    status: str | None = None
    source: str | None = None
    run_id: str | None = None
    storage_location: str | None = None
    aliases: list[RegisteredModelAlias] | None = None


class Page(WireResponse):
    next_page_token: str | None = None


class ListCatalogsResponse(Page):
    catalogs: list[CatalogInfo]


class ListSchemasResponse(Page):
    schemas: list[SchemaInfo]


class ListRegisteredModelsResponse(Page):
    registered_models: list[RegisteredModelInfo]


class ListModelVersionsResponse(Page):
    model_versions: list[ModelVersionInfo]


class SetRegisteredModelAliasRequest(WireRequest):
    version_num: int = Field(ge=1)
