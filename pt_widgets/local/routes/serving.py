"""Serving-endpoint control-plane routes (``/api/2.0/serving-endpoints``).

Both the slashless paths the SDK uses and the trailing-slash ones MLflow's deploy client
uses are served. The model-unit ``/pt`` routes share the same manager.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from .. import openapi as oa
from ..governance.access import endpoint_access, visible, with_caller_level  # governance hook
from ..serving import ServingManager
from .common import json_body

router = APIRouter(prefix="/api/2.0/serving-endpoints", tags=["serving-endpoints"],
                   dependencies=[Depends(endpoint_access)])  # governance hook: permissions


def manager(request: Request) -> ServingManager:
    return request.app.state.workspace.serving


@router.get("/get-model-optimization-info/{full_name}/{version}", responses=oa.ok(oa.OPTIMIZATION))
async def optimization_info(request: Request, full_name: str, version: str) -> dict[str, Any]:
    optimizer = request.app.state.workspace.optimizer
    return await run_in_threadpool(optimizer.info, full_name, version)


@router.get("", responses=oa.ok(oa.ENDPOINT_LIST))
@router.get("/", include_in_schema=False)
def list_endpoints(request: Request) -> dict[str, Any]:
    return {"endpoints": visible(request, manager(request).list())}  # governance hook


@router.post("", openapi_extra=oa.body(oa.CREATE), responses=oa.ok(oa.ENDPOINT))
@router.post("/", include_in_schema=False)
async def create_endpoint(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    return await run_in_threadpool(manager(request).create, body)


@router.post("/pt", openapi_extra=oa.body(oa.CREATE_PT), responses=oa.ok(oa.ENDPOINT))
async def create_pt_endpoint(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    return await run_in_threadpool(manager(request).create, body, True)


@router.put("/pt/{name}/config", openapi_extra=oa.body(oa.UPDATE_PT),
            responses=oa.ok(oa.ENDPOINT))
async def update_pt_config(request: Request, name: str) -> dict[str, Any]:
    body = await json_body(request)
    from ..validation import check_fields

    check_fields(body, {"config"}, "request")
    return await run_in_threadpool(manager(request).update, name, body.get("config"), True)


@router.get("/{name}", responses=oa.ok(oa.ENDPOINT))
def get_endpoint(request: Request, name: str) -> dict[str, Any]:
    return with_caller_level(request, manager(request).get(name))  # governance hook


@router.delete("/{name}", responses=oa.ok(oa.EMPTY))
def delete_endpoint(request: Request, name: str) -> dict[str, Any]:
    manager(request).delete(name)
    return {}


@router.put("/{name}/config", openapi_extra=oa.body(oa.CONFIG_INPUT),
            responses=oa.ok(oa.ENDPOINT))
async def update_config(request: Request, name: str) -> dict[str, Any]:
    body = await json_body(request)
    manager(request).require(name)
    return await run_in_threadpool(manager(request).update, name, body)


@router.get("/{name}/served-models/{served_model_name}/build-logs", responses=oa.ok(oa.LOGS))
def build_logs(request: Request, name: str, served_model_name: str) -> dict[str, Any]:
    return {"logs": manager(request).build_logs(name, served_model_name)}


@router.get("/{name}/served-models/{served_model_name}/logs", responses=oa.ok(oa.LOGS))
def server_logs(request: Request, name: str, served_model_name: str) -> dict[str, Any]:
    return {"logs": manager(request).server_logs(name, served_model_name)}
