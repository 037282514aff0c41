"""Reading the AI gateway's tables over HTTP (the local stand-in for querying
``system.serving.endpoint_usage`` and an endpoint's inference table with SQL).

``GET /api/2.0/pt-widgets/serving-endpoints/{name}/usage`` and ``.../inference-table``
answer ``{"columns": [...], "rows": [{...}], "not_enforced": [...]}``; both need
``CAN_MANAGE`` on the endpoint (the inference table holds every caller's payloads).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .access import caller, governance
from .gateway import INFERENCE_COLUMNS, USAGE_COLUMNS, inert_features

router = APIRouter(prefix="/api/2.0/pt-widgets/serving-endpoints", tags=["ai-gateway"])


def managed_record(request: Request, name: str) -> dict[str, Any]:
    record = request.app.state.workspace.serving.require(name)
    user = caller(request)
    if user is not None:
        governance(request).permissions.require(user, record, "CAN_MANAGE")
    return record


@router.get("/{name}/usage")
def usage(request: Request, name: str) -> dict[str, Any]:
    record = managed_record(request, name)
    return {"columns": list(USAGE_COLUMNS), "rows": governance(request).gateway.usage(name),
            "not_enforced": inert_features(record.get("ai_gateway"))}


@router.get("/{name}/inference-table")
def inference_table(request: Request, name: str) -> dict[str, Any]:
    record = managed_record(request, name)
    return {"columns": list(INFERENCE_COLUMNS),
            "rows": governance(request).gateway.inference_rows(name),
            "not_enforced": inert_features(record.get("ai_gateway"))}
