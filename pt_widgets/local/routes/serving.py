"""Serving-endpoint control-plane routes (``/api/2.0/serving-endpoints``): thin.

Each route parses its body with the schema named after databricks-sdk's request class,
calls the serving manager, and answers the SDK's response class. Both the slashless paths
the SDK uses and the trailing-slash ones MLflow's deploy client uses are served.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..errors import invalid
from ..governance.access import endpoint_access, visible, with_caller_level  # governance hook
from ..schemas import serving as s
from ..schemas.document import JSON
from ..serving import ServingManager, note_inert
from .common import WireRoute
from .endpoint_openapi import endpoint_document

router = APIRouter(prefix="/api/2.0/serving-endpoints", tags=["serving-endpoints"],
                   route_class=WireRoute,
                   dependencies=[Depends(endpoint_access)])  # governance hook: permissions
DETAILED = {"response_model": s.ServingEndpointDetailed, "response_model_exclude_none": True}


def manager(request: Request) -> ServingManager:
    return request.app.state.workspace.serving


@router.get("/get-model-optimization-info/{full_name}/{version}",
            response_model=s.OptimizationInfo, response_model_exclude_none=True)
async def optimization_info(request: Request, full_name: str, version: str) -> dict[str, Any]:
    optimizer = request.app.state.workspace.optimizer
    return await run_in_threadpool(optimizer.info, full_name, version)


@router.get("", response_model=s.ServingEndpointList, response_model_exclude_none=True)
@router.get("/", include_in_schema=False)
def list_endpoints(request: Request) -> dict[str, Any]:
    return {"endpoints": visible(request, manager(request).list())}  # governance hook


@router.post("", **DETAILED)
@router.post("/", include_in_schema=False, **DETAILED)
async def create_endpoint(request: Request, body: s.CreateServingEndpoint) -> dict[str, Any]:
    return await run_in_threadpool(manager(request).create, body.given())


@router.post("/pt", **DETAILED)
async def create_pt_endpoint(request: Request, body: s.CreatePtEndpointRequest
                             ) -> dict[str, Any]:
    return await run_in_threadpool(manager(request).create, body.given(), True)


@router.put("/pt/{name}/config", **DETAILED)
async def update_pt_config(request: Request, name: str,
                           body: s.UpdateProvisionedThroughputEndpointConfigRequest
                           ) -> dict[str, Any]:
    given = body.given()
    if given.get("config") is None:
        raise invalid("'config' is required: give config.served_entities.")
    note_inert(given, ("relocate_pt_commitment", "pt_commitment_auto_renew"), "")
    manager(request).require(name)
    return await run_in_threadpool(manager(request).update, name, given["config"], True)


@router.get("/{name}", **DETAILED)
def get_endpoint(request: Request, name: str) -> dict[str, Any]:
    return with_caller_level(request, manager(request).get(name))  # governance hook


@router.delete("/{name}", response_model=s.Empty)
def delete_endpoint(request: Request, name: str) -> dict[str, Any]:
    manager(request).delete(name)
    return {}


@router.put("/{name}/config", **DETAILED)
async def update_config(request: Request, name: str, body: s.EndpointCoreConfigInput
                        ) -> dict[str, Any]:
    manager(request).require(name)
    given = body.given()
    given.pop("name", None)  # the SDK serializes EndpointCoreConfigInput.name; the path names it
    return await run_in_threadpool(manager(request).update, name, given)


@router.patch("/{name}/tags", response_model=s.EndpointTags, response_model_exclude_none=True)
def patch_tags(request: Request, name: str, body: s.PatchServingEndpointTags) -> dict[str, Any]:
    """Delete the named keys, then add (a key added again takes the new value)."""
    given = body.given()
    dropped = set(given.get("delete_tags", []))
    added = given.get("add_tags", [])

    def change(record: dict[str, Any]) -> dict[str, Any]:
        keys = {t["key"] for t in added} | dropped
        record["tags"] = [t for t in record.get("tags") or [] if t["key"] not in keys] + added
        return {"tags": record["tags"]}

    return manager(request).edit(name, change)


def stored(key: str, value: Any, answer):
    """A change that stores ``value`` under ``key`` and answers ``answer(record)``."""
    def change(record: dict[str, Any]) -> Any:
        record[key] = value
        note_inert({key: value}, (key,), "")
        return answer(record)

    return change


@router.put("/{name}/ai-gateway", response_model=s.AiGatewayConfig,
            response_model_exclude_none=True)
def put_ai_gateway(request: Request, name: str, body: s.AiGatewayConfig) -> dict[str, Any]:
    """Stored where the governance gateway reads it on every request (``record["ai_gateway"]``):
    rate limits, usage tracking and the inference table take effect at once."""
    gateway = body.given()

    def change(record: dict[str, Any]) -> dict[str, Any]:
        record["ai_gateway"] = gateway
        return gateway

    answer = manager(request).edit(name, change)
    request.app.state.workspace.governance.gateway.warn_inert(name, gateway)  # governance hook
    return answer


@router.put("/{name}/rate-limits", response_model=s.PutResponse,
            response_model_exclude_none=True)
def put_rate_limits(request: Request, name: str, body: s.PutRequest) -> dict[str, Any]:
    limits = body.given().get("rate_limits", [])
    return manager(request).edit(name, stored("rate_limits", limits,
                                              lambda r: {"rate_limits": limits}))


@router.patch("/{name}/notifications",
              response_model=s.UpdateInferenceEndpointNotificationsResponse,
              response_model_exclude_none=True)
def update_notifications(request: Request, name: str,
                         body: s.UpdateInferenceEndpointNotifications) -> dict[str, Any]:
    notifications = body.given().get("email_notifications")
    return manager(request).edit(name, stored(
        "email_notifications", notifications,
        lambda r: {"name": r["name"], "email_notifications": notifications}))


@router.patch("/{name}/telemetry-config", **DETAILED)
def patch_telemetry_config(request: Request, name: str, body: s.PatchTelemetryConfigRequest
                           ) -> dict[str, Any]:
    telemetry = body.given().get("telemetry_config")
    manager(request).edit(name, stored("telemetry_config", telemetry, lambda r: None))
    return with_caller_level(request, manager(request).get(name))  # governance hook


@router.get("/{name}/openapi", response_class=Response,
            responses={200: {"description": "The endpoint's query schema (OpenAPI 3.1).",
                             "content": {JSON: {"schema": {"type": "object"}}}}})
def get_open_api(request: Request, name: str) -> Response:
    record = manager(request).require(name)
    return Response(endpoint_document(record["name"], record.get("task") or ""),
                    media_type=JSON)


@router.get("/{name}/served-models/{served_model_name}/build-logs", response_model=s.Logs)
def build_logs(request: Request, name: str, served_model_name: str) -> dict[str, Any]:
    return {"logs": manager(request).build_logs(name, served_model_name)}


@router.get("/{name}/served-models/{served_model_name}/logs", response_model=s.Logs)
def server_logs(request: Request, name: str, served_model_name: str) -> dict[str, Any]:
    return {"logs": manager(request).server_logs(name, served_model_name)}
