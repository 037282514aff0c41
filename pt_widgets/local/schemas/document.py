"""What FastAPI's generated OpenAPI document cannot know: bearer auth and the error shape.

Every shape in the document comes from the models in this package (FastAPI generates it);
this adds the security scheme, the Databricks error body on every authenticated route
(with ``Retry-After`` where the server sends it) and drops FastAPI's 422, which this server
never answers (validation failures are Databricks-shaped 400s).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .base import WireResponse

JSON = "application/json"
SHARED_SCHEMAS: dict[str, Any] = {}  # components the request_body() schemas refer to
RETRY_AFTER = {"Retry-After": {"description": "Whole seconds to wait before retrying.",
                               "required": True,
                               "schema": {"type": "string", "pattern": "^[0-9]+$"}}}


class Error(WireResponse):
    """``{"error_code", "message"}``: what Databricks answers on every failure."""

    model_config = {"extra": "allow"}  # MLflow's routes add error_class and friends
    error_code: str
    message: str


def error_responses(path: str) -> dict[str, Any]:
    error = {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}
    out: dict[str, Any] = {
        "4XX": {"description": "Client error: {error_code, message}.", "content": error},
        "429": {"description": "Over the provisioned throughput or a rate limit.",
                "content": error, "headers": RETRY_AFTER},
    }
    if path.startswith("/serving-endpoints"):
        out["503"] = {"description": "The endpoint is still deploying; retry later.",
                      "content": error, "headers": RETRY_AFTER}
    return out


def install(api: FastAPI, public_paths: tuple[str, ...]) -> None:
    """Serve the generated document with bearer auth and the error shape added."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema:
            return api.openapi_schema
        doc = get_openapi(title=api.title, version=api.version, routes=api.routes,
                          description="The local workspace's Databricks-dialect routes. "
                          "MLflow's own REST API is served beside them.")
        components = doc.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        for name, schema in SHARED_SCHEMAS.items():
            schemas.setdefault(name, schema)
        schemas["Error"] = Error.model_json_schema()
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"bearer": []}]
        for path, operations in doc["paths"].items():
            for operation in operations.values():
                operation["responses"].pop("422", None)
                if path in public_paths:
                    operation["security"] = []
                else:
                    operation["responses"].update(error_responses(path))
        api.openapi_schema = doc
        return doc

    api.openapi = openapi


def request_body(*models: type) -> dict[str, Any]:
    """``openapi_extra`` for a route that picks its body model at run time (a query's shape
    depends on the endpoint's task): the alternatives, generated from the models."""
    from pydantic import TypeAdapter

    adapter = TypeAdapter(models[0] if len(models) == 1 else _union(models))
    schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
    SHARED_SCHEMAS.update(schema.pop("$defs", {}))
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}


def _union(models: tuple[type, ...]):
    from typing import Union

    return Union[models]  # noqa: UP007 (a runtime tuple of types)
