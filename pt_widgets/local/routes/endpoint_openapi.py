"""``GET /api/2.0/serving-endpoints/{name}/openapi``: the query schema of one endpoint.

Databricks answers an OpenAPI document describing the endpoint's invocation path with the
request and response formats of its task; here both come from the query models.
"""

from __future__ import annotations

import json

from pydantic import TypeAdapter

from ..schemas import queries as q

BY_TASK = {
    "llm/v1/chat": (q.ChatCompletionRequest, q.ChatCompletion),
    "llm/v1/completions": (q.CompletionRequest, q.Completion),
    "llm/v1/embeddings": (q.EmbeddingsRequest, q.EmbeddingsResponse),
}


def endpoint_document(name: str, task: str) -> str:
    request_model, response_model = BY_TASK.get(task, BY_TASK["llm/v1/chat"])
    ref = "#/components/schemas/{model}"
    request_schema = TypeAdapter(request_model).json_schema(ref_template=ref)
    response_schema = TypeAdapter(response_model).json_schema(ref_template=ref,
                                                              mode="serialization")
    components = {**request_schema.pop("$defs", {}), **response_schema.pop("$defs", {})}
    components[request_model.__name__] = request_schema
    components[response_model.__name__] = response_schema
    doc = {
        "openapi": "3.1.0",
        "info": {"title": name, "version": "1", "description": f"Queries to the {task} "
                 f"endpoint '{name}'."},
        "servers": [{"url": "/serving-endpoints"}],
        "paths": {f"/{name}/invocations": {"post": {
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": ref.format(model=request_model.__name__)}}}},
            "responses": {"200": {"description": "Successful response", "content": {
                "application/json": {"schema": {
                    "$ref": ref.format(model=response_model.__name__)}}}}},
        }}},
        "components": {"schemas": components},
    }
    return json.dumps(doc, indent=1)
