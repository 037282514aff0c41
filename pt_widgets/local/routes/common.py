"""Request parsing shared by the routes: JSON bodies with Databricks-shaped errors."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from ..errors import ApiError, invalid


async def json_body(request: Request, required: bool = True) -> dict[str, Any]:
    """The request's JSON object; a clear 400 for anything else (empty, broken, not an object)."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ApiError("MALFORMED_REQUEST", "The request body is empty; send a JSON object.")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            "MALFORMED_REQUEST", f"The request body is not valid JSON ({exc.__class__.__name__})."
        ) from exc
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body
