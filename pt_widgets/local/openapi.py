"""The OpenAPI document of the local workspace: request and response schemas, errors, auth.

The routes read raw JSON bodies (so every rejection is a Databricks-shaped 400 that names
the field, not FastAPI's 422), which leaves FastAPI nothing to describe them with. The
schemas here are declared on those routes through ``openapi_extra`` so the document says
what the server really accepts and answers, and a schema-driven fuzzer (schemathesis)
generates real bodies and checks the real answers against it. They describe, they do not
validate: ``validation.py`` and the engine stay the single place where rules are enforced,
and the fuzzer is what keeps the two in agreement.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

JSON = "application/json"
Schema = dict[str, Any]

NAME = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,63}$"}
COUNT = {"type": "integer", "minimum": 0}
TEXT = {"type": "string"}
FLAG = {"type": "boolean"}


def obj(properties: dict[str, Schema], required: tuple[str, ...] = (), closed: bool = True,
        nulls: bool = False, **extra: Any) -> Schema:
    """A JSON object; ``closed`` objects refuse unknown fields, as the server does.

    ``nulls``: optional fields may be ``null``, which the server reads as "absent" (as
    OpenAI-style clients and the SDK's serializers sometimes send them).
    """
    if nulls:
        properties = {k: v if k in required else {"anyOf": [v, {"type": "null"}]}
                      for k, v in properties.items()}
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


# -- requests ---------------------------------------------------------------------------------

SCALING = {
    "min_provisioned_throughput": COUNT,
    "max_provisioned_throughput": COUNT,
    "scale_to_zero_enabled": FLAG,
    "workload_size": TEXT,
    "workload_type": TEXT,
    "environment_vars": {"type": "object", "additionalProperties": TEXT},
    "instance_profile_arn": TEXT,
    "min_provisioned_concurrency": COUNT,
    "max_provisioned_concurrency": COUNT,
}
VERSION = {"oneOf": [{"type": "string", "pattern": "^[0-9]+$"}, {"type": "integer",
                                                                  "minimum": 1}]}
SERVED_ENTITY = obj({
    "entity_name": {"type": "string", "minLength": 1},
    "entity_version": VERSION,
    "name": NAME,
    "provisioned_model_units": COUNT,
    "burst_scaling_enabled": FLAG,
    **SCALING,
}, ("entity_name", "entity_version"), nulls=True)
SERVED_MODEL = obj({
    "model_name": {"type": "string", "minLength": 1},
    "model_version": VERSION,
    "name": NAME,
    **SCALING,
}, ("model_name", "model_version"), nulls=True)
ROUTE = obj({"served_model_name": TEXT, "served_entity_name": TEXT,
             "traffic_percentage": {"type": "integer", "minimum": 0, "maximum": 100}},
            ("traffic_percentage",), nulls=True)
TRAFFIC = obj({"routes": array(ROUTE, minItems=1)}, ("routes",))
CONFIG_INPUT = obj({
    "name": NAME,
    "served_entities": array(SERVED_ENTITY, minItems=1, maxItems=10),
    "served_models": array(SERVED_MODEL, minItems=1, maxItems=10),
    "traffic_config": TRAFFIC,
    "auto_capture_config": {"type": "object"},
}, nulls=True)
PT_ENTITY = obj({
    "entity_name": {"type": "string", "minLength": 1},
    "entity_version": VERSION,
    "name": NAME,
    "provisioned_model_units": {"type": "integer", "minimum": 1},
    "burst_scaling_enabled": FLAG,
}, ("entity_name", "entity_version", "provisioned_model_units"), nulls=True)
PT_CONFIG = obj({"served_entities": array(PT_ENTITY, minItems=1, maxItems=10),
                 "traffic_config": TRAFFIC}, ("served_entities",), nulls=True)
TAG = obj({"key": {"type": "string", "minLength": 1}, "value": TEXT}, ("key",), nulls=True)
CREATE_COMMON = {
    "name": NAME,
    "ai_gateway": {"type": "object"},
    "budget_policy_id": TEXT,
    "description": TEXT,
    "email_notifications": {"type": "object"},
    "tags": array(TAG),
    "telemetry_config": {"type": "object"},
    "usage_policy_id": TEXT,
}
CREATE = obj({**CREATE_COMMON, "config": CONFIG_INPUT, "rate_limits": array({"type": "object"}),
              "route_optimized": FLAG}, ("name", "config"), nulls=True)
CREATE_PT = obj({**CREATE_COMMON, "config": PT_CONFIG}, ("name", "config"), nulls=True)
UPDATE_PT = obj({"config": PT_CONFIG}, ("config",))
SET_ALIAS = obj({"version_num": {"type": "integer", "minimum": 1}}, ("version_num",))

MESSAGE = obj({"role": {"enum": ["system", "user", "assistant"]},
               "content": TEXT, "name": TEXT}, ("role", "content"), nulls=True)
STRINGS = {"oneOf": [{"type": "string", "minLength": 1},
                     array({"type": "string", "minLength": 1}, minItems=1)]}
COMMON_QUERY = {"model": TEXT, "client_request_id": TEXT, "usage_context": {"type": "object"},
                "extra_params": {"type": "object"}}
GENERATION = {
    "max_tokens": {"type": "integer", "minimum": 1},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    "top_p": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "top_k": {"type": "integer", "minimum": 1},
    "n": {"type": "integer", "minimum": 1, "maximum": 5},
    "stop": {"oneOf": [{"type": "string", "minLength": 1},
                       array({"type": "string", "minLength": 1}, maxItems=4)]},
    "stream": FLAG,
    "logprobs": FLAG,
    "top_logprobs": {"type": "integer", "minimum": 0, "maximum": 20},
}
CHAT = obj({**COMMON_QUERY, **GENERATION, "messages": array(MESSAGE, minItems=1)},
           ("messages",), nulls=True)
COMPLETIONS = obj({**COMMON_QUERY, **GENERATION, "prompt": STRINGS}, ("prompt",), nulls=True)
EMBEDDINGS = obj({**COMMON_QUERY, "input": STRINGS,
                  "encoding_format": {"enum": ["float", "base64"]}}, ("input",), nulls=True)
INVOCATION = {"oneOf": [CHAT, COMPLETIONS, EMBEDDINGS]}


def with_model(schema: Schema) -> Schema:
    """The OpenAI-style routes name the endpoint in ``model`` (required there)."""
    return {**schema, "properties": {**schema["properties"], "model": NAME},
            "required": [*schema["required"], "model"]}


# -- responses --------------------------------------------------------------------------------

ERROR = obj({"error_code": {"type": "string", "minLength": 1},
             "message": {"type": "string", "minLength": 1}}, ("error_code", "message"),
            closed=False)
STATE = obj({"ready": {"enum": ["READY", "NOT_READY"]},
             "config_update": {"enum": ["NOT_UPDATING", "IN_PROGRESS", "UPDATE_FAILED",
                                        "UPDATE_CANCELED"]},
             "suspend": TEXT}, ("ready", "config_update"), closed=False)
ENTITY_STATE = obj({"deployment": {"enum": ["DEPLOYMENT_CREATING", "DEPLOYMENT_READY",
                                            "DEPLOYMENT_FAILED", "DEPLOYMENT_ABORTED",
                                            "DEPLOYMENT_RECOVERING"]},
                    "deployment_state_message": TEXT}, ("deployment",), closed=False)
ENTITY_OUTPUT = obj({"name": NAME, "entity_name": TEXT, "entity_version": TEXT,
                     "state": ENTITY_STATE, **{k: COUNT for k in (
                         "min_provisioned_throughput", "max_provisioned_throughput",
                         "provisioned_model_units")}},
                    ("name", "entity_name", "entity_version", "state"), closed=False)
CONFIG_OUTPUT = obj({"config_version": {"type": "integer", "minimum": 1},
                     "served_entities": array(ENTITY_OUTPUT, minItems=1),
                     "served_models": array({"type": "object"}),
                     "traffic_config": obj({"routes": array(obj({
                         "served_entity_name": TEXT, "served_model_name": TEXT,
                         "traffic_percentage": {"type": "integer", "minimum": 0,
                                                "maximum": 100}}, closed=False))},
                         closed=False)},
                    ("config_version", "served_entities"), closed=False)
MILLIS = {"type": "integer", "minimum": 0}
ENDPOINT_COMMON = {"name": NAME, "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                   "creator": TEXT, "creation_timestamp": MILLIS,
                   "last_updated_timestamp": MILLIS, "state": STATE, "task": TEXT,
                   "tags": array(TAG), "description": TEXT}
ENDPOINT = obj({**ENDPOINT_COMMON, "config": CONFIG_OUTPUT, "pending_config": CONFIG_OUTPUT,
                "permission_level": {"enum": ["CAN_MANAGE", "CAN_QUERY", "CAN_VIEW"]},
                "route_optimized": FLAG},
               ("name", "id", "creator", "creation_timestamp", "state"), closed=False)
ENDPOINT_LIST = obj({"endpoints": array(obj(ENDPOINT_COMMON, ("name", "id", "state"),
                                            closed=False))}, ("endpoints",))
EMPTY = obj({})
LOGS = obj({"logs": TEXT}, ("logs",))
OPTIMIZATION = obj({"optimizable": FLAG, "model_type": TEXT, "reason": TEXT,
                    "throughput_chunk_size": {"type": "integer", "minimum": 1},
                    "model_unit_chunk_size": {"type": "integer", "minimum": 1},
                    "dbus": {"type": "number", "minimum": 0}}, ("optimizable",))
DISCOVERY = obj({"workspace_id": {"type": "string", "pattern": "^[0-9]+$"},
                 "oidc_endpoint": TEXT}, ("workspace_id",), closed=False)

PAGE_TOKEN = {"next_page_token": {"type": "string", "minLength": 1}}
CATALOG = obj({"name": TEXT, "full_name": TEXT, "owner": TEXT, "metastore_id": TEXT,
               "catalog_type": TEXT, "created_at": MILLIS, "updated_at": MILLIS},
              ("name", "full_name"), closed=False)
SCHEMA_INFO = obj({"name": TEXT, "catalog_name": TEXT, "full_name": TEXT,
                   "created_at": MILLIS}, ("name", "catalog_name", "full_name"), closed=False)
MODEL = obj({"name": TEXT, "catalog_name": TEXT, "schema_name": TEXT, "full_name": TEXT,
             "created_at": MILLIS, "updated_at": MILLIS, "aliases": array({"type": "object"})},
            ("name", "catalog_name", "schema_name", "full_name"), closed=False)
ALIAS = obj({"alias_name": TEXT, "version_num": {"type": "integer", "minimum": 1},
             "catalog_name": TEXT, "schema_name": TEXT, "model_name": TEXT},
            ("alias_name", "version_num"), closed=False)
MODEL_VERSION = obj({"model_name": TEXT, "catalog_name": TEXT, "schema_name": TEXT,
                     "version": {"type": "integer", "minimum": 1}, "status": TEXT,
                     "aliases": array(ALIAS)},
                    ("model_name", "catalog_name", "schema_name", "version"), closed=False)
CATALOG_LIST = obj({"catalogs": array(CATALOG), **PAGE_TOKEN}, ("catalogs",))
SCHEMA_LIST = obj({"schemas": array(SCHEMA_INFO), **PAGE_TOKEN}, ("schemas",))
MODEL_LIST = obj({"registered_models": array(MODEL), **PAGE_TOKEN}, ("registered_models",))
VERSION_LIST = obj({"model_versions": array(MODEL_VERSION), **PAGE_TOKEN}, ("model_versions",))

USAGE = obj({"prompt_tokens": COUNT, "completion_tokens": COUNT, "total_tokens": COUNT},
            ("prompt_tokens", "total_tokens"), closed=False)
CHOICE = obj({"index": COUNT, "finish_reason": {"type": ["string", "null"]},
              "message": obj({"role": TEXT, "content": TEXT}, ("role", "content"),
                             closed=False),
              "text": TEXT}, ("index",), closed=False)
QUERY_ANSWER = {"oneOf": [
    obj({"object": {"enum": ["chat.completion", "text_completion"]}, "id": TEXT,
         "model": TEXT, "created": COUNT, "choices": array(CHOICE, minItems=1),
         "usage": USAGE}, ("object", "choices", "usage"), closed=False),
    obj({"object": {"const": "list"}, "model": TEXT, "usage": USAGE,
         "data": array(obj({"index": COUNT, "object": {"const": "embedding"},
                            "embedding": {"type": ["array", "string"]}},
                           ("index", "embedding"), closed=False), minItems=1)},
        ("object", "data"), closed=False),
]}
SSE = {"type": "string", "pattern": "^data: "}


def body(schema: Schema) -> dict[str, Any]:
    """``openapi_extra`` declaring a required JSON request body."""
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}


def ok(schema: Schema, media: str = JSON, more: dict[str, Schema] | None = None,
       ) -> dict[int | str, Any]:
    """``responses`` for a route's 200 (``more``: other media types, e.g. SSE)."""
    content = {media: {"schema": schema}}
    content.update({kind: {"schema": v} for kind, v in (more or {}).items()})
    return {200: {"description": "Success", "content": content}}


QUERY_RESPONSES = ok(QUERY_ANSWER, more={"text/event-stream": SSE})


# -- the document -----------------------------------------------------------------------------

RETRY_AFTER = {"Retry-After": {"description": "Whole seconds to wait before retrying.",
                               "required": True,
                               "schema": {"type": "string", "pattern": "^[0-9]+$"}}}


def error_responses(path: str) -> dict[str, Any]:
    """What every authenticated route may answer besides 200: a Databricks-shaped error."""
    error = {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}
    out: dict[str, Any] = {
        "4XX": {"description": "Client error: {error_code, message}.", "content": error},
        "429": {"description": "Over the provisioned throughput.", "content": error,
                "headers": RETRY_AFTER},
    }
    if path.startswith("/serving-endpoints"):
        out["503"] = {"description": "The endpoint is still deploying; retry later.",
                      "content": error, "headers": RETRY_AFTER}
    return out


def install(api: FastAPI, public_paths: tuple[str, ...]) -> None:
    """Serve a document with bearer auth, the error shape and no FastAPI 422s in it."""

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
        schemas["Error"] = ERROR
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
