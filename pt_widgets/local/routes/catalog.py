"""Unity Catalog read routes (``/api/2.1/unity-catalog``), a view over MLflow's registry.

Pagination follows the contract: ``max_results`` absent = everything (deprecated but
real), 0 = the server's default page, negative = 400; ``next_page_token`` is present only
while more rows remain. Model listings use keyset tokens (the last name seen), so page N
of a 10,000-model schema costs the same as page 1.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import APIRouter, Request

from ..errors import ApiError, invalid, missing_model, missing_version
from ..registry import BUILTIN_SCHEMAS, OWNER, Registry
from ..schemas import catalog as c
from ..schemas.serving import Empty
from .common import WireRoute

router = APIRouter(prefix="/api/2.1/unity-catalog", tags=["unity-catalog"],
                   route_class=WireRoute)

SPARSE = {"response_model_exclude_none": True}  # absent, not null, as Databricks answers
MODELS_PAGE_IN_SCHEMA = 10_000
MODELS_PAGE_DEFAULT = 100
MODELS_PAGE_CAP = 1_000
VERSIONS_PAGE_DEFAULT = 100
VERSIONS_PAGE_CAP = 1_000
CATALOGS_PAGE_DEFAULT = 1_000


def registry(request: Request) -> Registry:
    return request.app.state.workspace.registry


def metastore_id(request: Request) -> str:
    return request.app.state.workspace.metastore_id


def encode_token(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_token(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise invalid("'page_token' is not a token this server issued.") from exc
    if not isinstance(value, dict):
        raise invalid("'page_token' is not a token this server issued.")
    offset, after = value.get("offset", 0), value.get("after", "")
    if type(offset) is not int or offset < 0 or not isinstance(after, str):  # forged
        raise invalid("'page_token' is not a token this server issued.")
    return value


def page_size(max_results: int | None, default: int, cap: int) -> int | None:
    """None means unpaginated (``max_results`` absent)."""
    if max_results is None:
        return None
    if max_results < 0:
        raise invalid(f"'max_results' must be 0 or positive, got {max_results}.")
    if max_results == 0:
        return default
    return min(max_results, cap)


def paginate_list(items: list, max_results: int | None, token: str | None, default: int, cap: int):
    size = page_size(max_results, default, cap)
    offset = int(decode_token(token).get("offset", 0))
    if size is None:
        return items[offset:], None
    page = items[offset : offset + size]
    nxt = encode_token({"offset": offset + size}) if offset + size < len(items) else None
    return page, nxt


def with_token(body: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token:
        body["next_page_token"] = token
    return body


def split_full_name(full_name: str, parts: int, what: str) -> list[str]:
    pieces = full_name.split(".")
    if len(pieces) != parts or not all(pieces):
        raise invalid(f"'{what}' must have {parts} dot-separated parts, got '{full_name}'.")
    return pieces


# -- catalogs and schemas ----------------------------------------------------------------


def catalog_info(request: Request, name: str) -> dict[str, Any]:
    ts = request.app.state.workspace.started_ms
    return {
        "name": name,
        "full_name": name,
        "owner": OWNER,
        "comment": "Foundation models" if name == "system" else "",
        "catalog_type": "SYSTEM_CATALOG" if name == "system" else "MANAGED_CATALOG",
        "metastore_id": metastore_id(request),
        "isolation_mode": "OPEN",
        "securable_type": "CATALOG",
        "browse_only": False,
        "created_at": ts,
        "created_by": OWNER,
        "updated_at": ts,
        "updated_by": OWNER,
    }


def schema_info(request: Request, catalog: str, schema: str) -> dict[str, Any]:
    ts = request.app.state.workspace.started_ms
    return {
        "name": schema,
        "catalog_name": catalog,
        "full_name": f"{catalog}.{schema}",
        "owner": OWNER,
        "comment": "",
        "catalog_type": "SYSTEM_CATALOG" if catalog == "system" else "MANAGED_CATALOG",
        "metastore_id": metastore_id(request),
        "browse_only": False,
        "created_at": ts,
        "created_by": OWNER,
        "updated_at": ts,
        "updated_by": OWNER,
    }


def require_catalog(request: Request, name: str) -> set[str]:
    catalogs = registry(request).catalogs()
    if name not in catalogs:
        raise ApiError("CATALOG_DOES_NOT_EXIST", f"Catalog '{name}' does not exist.")
    return catalogs[name]


@router.get("/catalogs", response_model=c.ListCatalogsResponse, **SPARSE)
def list_catalogs(
    request: Request, max_results: int | None = None, page_token: str | None = None
) -> dict[str, Any]:
    names = sorted(registry(request).catalogs())
    page, nxt = paginate_list(names, max_results, page_token, CATALOGS_PAGE_DEFAULT, 1_000)
    return with_token({"catalogs": [catalog_info(request, n) for n in page]}, nxt)


@router.get("/catalogs/{name}", response_model=c.CatalogInfo, **SPARSE)
def get_catalog(request: Request, name: str) -> dict[str, Any]:
    require_catalog(request, name)
    return catalog_info(request, name)


@router.get("/schemas", response_model=c.ListSchemasResponse, **SPARSE)
def list_schemas(
    request: Request,
    catalog_name: str | None = None,
    max_results: int | None = None,
    page_token: str | None = None,
) -> dict[str, Any]:
    if not catalog_name:
        raise invalid("'catalog_name' is required to list schemas.")
    schemas = sorted(require_catalog(request, catalog_name))
    page, nxt = paginate_list(schemas, max_results, page_token, 1_000, 1_000)
    return with_token({"schemas": [schema_info(request, catalog_name, s) for s in page]}, nxt)


@router.get("/schemas/{full_name}", response_model=c.SchemaInfo, **SPARSE)
def get_schema(request: Request, full_name: str) -> dict[str, Any]:
    catalog, schema = split_full_name(full_name, 2, "full_name")
    if schema not in require_catalog(request, catalog):
        raise ApiError("SCHEMA_DOES_NOT_EXIST", f"Schema '{full_name}' does not exist.")
    return schema_info(request, catalog, schema)


# -- registered models ---------------------------------------------------------------------


def model_info(request: Request, row: tuple, aliases: list | None = None) -> dict[str, Any]:
    name, created, updated, description = row
    catalog, schema, short = (name.split(".", 2) + ["", ""])[:3]
    info = {
        "name": short,
        "catalog_name": catalog,
        "schema_name": schema,
        "full_name": name,
        "owner": OWNER,
        "comment": description or "",
        "created_at": created,
        "created_by": OWNER,
        "updated_at": updated,
        "updated_by": OWNER,
        "metastore_id": metastore_id(request),
        "storage_location": str(request.app.state.workspace.settings.artifacts_dir),
        "browse_only": False,
    }
    if aliases is not None:
        info["aliases"] = aliases
    return info


def alias_list(full_name: str, aliases: dict[str, Any]) -> list[dict[str, Any]]:
    catalog, schema, short = (full_name.split(".", 2) + ["", ""])[:3]
    return [
        {
            "alias_name": alias,
            "version_num": int(version),
            "catalog_name": catalog,
            "schema_name": schema,
            "model_name": short,
        }
        for alias, version in sorted(aliases.items())
    ]


def require_model(request: Request, full_name: str):
    model = registry(request).get_model(full_name)
    if model is None:
        raise missing_model(full_name)
    return model


@router.get("/models", response_model=c.ListRegisteredModelsResponse, **SPARSE)
def list_models(
    request: Request,
    catalog_name: str | None = None,
    schema_name: str | None = None,
    max_results: int | None = None,
    page_token: str | None = None,
) -> dict[str, Any]:
    if bool(catalog_name) != bool(schema_name):
        raise invalid("'catalog_name' and 'schema_name' must be given together, or neither.")
    if catalog_name:
        require_catalog(request, catalog_name)
        prefix, default, cap = f"{catalog_name}.{schema_name}.", MODELS_PAGE_IN_SCHEMA, 10_000
    else:
        prefix, default, cap = "", MODELS_PAGE_DEFAULT, MODELS_PAGE_CAP
    size = page_size(max_results, default, cap) or default
    after = str(decode_token(page_token).get("after", ""))
    rows = registry(request).model_names(prefix, after, size + 1)
    if not prefix:
        rows = [r for r in rows if r[0].count(".") == 2]
    more = len(rows) > size
    rows = rows[:size]
    nxt = encode_token({"after": rows[-1][0]}) if more and rows else None
    return with_token({"registered_models": [model_info(request, r) for r in rows]}, nxt)


@router.get("/models/{full_name}", response_model=c.RegisteredModelInfo, **SPARSE)
def get_model(request: Request, full_name: str, include_aliases: bool = False) -> dict[str, Any]:
    model = require_model(request, full_name)
    row = (model.name, model.creation_timestamp, model.last_updated_timestamp, model.description)
    aliases = alias_list(full_name, model.aliases or {}) if include_aliases else None
    return model_info(request, row, aliases)


def version_info(request: Request, mv, aliases: dict[str, Any] | None) -> dict[str, Any]:
    catalog, schema, short = (mv.name.split(".", 2) + ["", ""])[:3]
    info = {
        "model_name": short,
        "catalog_name": catalog,
        "schema_name": schema,
        "version": int(mv.version),
        "id": f"{mv.name}/{mv.version}",
        "status": "READY" if mv.status == "READY" else "PENDING_REGISTRATION",
        "source": mv.source,
        "run_id": mv.run_id or "",
        "storage_location": mv.source,
        "comment": mv.description or "",
        "created_at": mv.creation_timestamp,
        "created_by": mv.user_id or OWNER,
        "updated_at": mv.last_updated_timestamp,
        "updated_by": mv.user_id or OWNER,
        "metastore_id": metastore_id(request),
    }
    if aliases is not None:
        mine = {a: v for a, v in aliases.items() if str(v) == str(mv.version)}
        info["aliases"] = alias_list(mv.name, mine)
    return info


@router.get("/models/{full_name}/versions", response_model=c.ListModelVersionsResponse, **SPARSE)
def list_versions(
    request: Request,
    full_name: str,
    max_results: int | None = None,
    page_token: str | None = None,
) -> dict[str, Any]:
    require_model(request, full_name)
    versions = registry(request).versions(full_name)
    size = page_size(max_results, VERSIONS_PAGE_DEFAULT, VERSIONS_PAGE_CAP) or VERSIONS_PAGE_DEFAULT
    page, nxt = paginate_list(versions, size, page_token, VERSIONS_PAGE_DEFAULT, VERSIONS_PAGE_CAP)
    return with_token({"model_versions": [version_info(request, v, None) for v in page]}, nxt)


def parse_version(version: str) -> int:
    if not (version.isascii() and version.isdigit()) or int(version) < 1:  # not "²", "١"
        raise invalid(f"'version' must be a positive integer, got '{version}'.")
    return int(version)


@router.get("/models/{full_name}/versions/{version}", response_model=c.ModelVersionInfo, **SPARSE)
def get_version(
    request: Request, full_name: str, version: str, include_aliases: bool = False
) -> dict[str, Any]:
    model = require_model(request, full_name)
    mv = registry(request).get_version(full_name, parse_version(version))
    if mv is None:
        raise missing_version(full_name, version)
    return version_info(request, mv, (model.aliases or {}) if include_aliases else None)


@router.get("/models/{full_name}/aliases/{alias}", response_model=c.ModelVersionInfo, **SPARSE)
def get_by_alias(
    request: Request, full_name: str, alias: str, include_aliases: bool = False
) -> dict[str, Any]:
    model = require_model(request, full_name)
    mv = registry(request).version_by_alias(full_name, alias)
    if mv is None:
        raise ApiError(
            "RESOURCE_DOES_NOT_EXIST", f"Alias '{alias}' does not exist on model '{full_name}'."
        )
    return version_info(request, mv, (model.aliases or {}) if include_aliases else None)


@router.put("/models/{full_name}/aliases/{alias}", response_model=c.RegisteredModelAlias, **SPARSE)
def set_alias(request: Request, full_name: str, alias: str,
              body: c.SetRegisteredModelAliasRequest) -> dict[str, Any]:
    from mlflow.exceptions import MlflowException

    require_model(request, full_name)
    version = body.version_num
    if registry(request).get_version(full_name, version) is None:
        raise missing_version(full_name, version)
    try:
        registry(request).client.set_registered_model_alias(full_name, alias, str(version))
    except MlflowException as exc:  # the registry's alias rules: reserved, charset, length
        raise invalid(f"'alias' is not allowed: {exc.message}") from exc
    return alias_list(full_name, {alias: version})[0]


@router.delete("/models/{full_name}/aliases/{alias}", response_model=Empty, **SPARSE)
def delete_alias(request: Request, full_name: str, alias: str) -> dict[str, Any]:
    model = require_model(request, full_name)
    if alias not in (model.aliases or {}):
        raise ApiError(
            "RESOURCE_DOES_NOT_EXIST", f"Alias '{alias}' does not exist on model '{full_name}'."
        )
    registry(request).client.delete_registered_model_alias(full_name, alias)
    return {}


__all__ = ["router", "BUILTIN_SCHEMAS"]
