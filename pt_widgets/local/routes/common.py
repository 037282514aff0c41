"""Request parsing shared by the routes: JSON bodies with Databricks-shaped errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from ..errors import ApiError, invalid

MAX_DEPTH = 64


def too_deep(value: Any) -> bool:
    """Deeper than ``MAX_DEPTH``: later copies and dumps of it would hit Python's recursion
    limit (a 500), and no Databricks request nests more than a handful of levels."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return False


def nested_too_deep() -> ApiError:
    return ApiError("MALFORMED_REQUEST", "The request body nests objects or arrays more than "
                    f"{MAX_DEPTH} levels deep.")


def refuse_constant(name: str) -> None:
    """NaN and Infinity are not JSON: stored and echoed back they break strict clients."""
    raise ValueError(f"{name} is not a JSON number")


async def json_body(request: Request, required: bool = True) -> dict[str, Any]:
    """The request's JSON object; a clear 400 for anything else (empty, broken, not an object)."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ApiError("MALFORMED_REQUEST", "The request body is empty; send a JSON object.")
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError("MALFORMED_REQUEST", "The request body is not UTF-8 text (invalid byte "
                       f"at position {exc.start}); send a JSON object.") from exc
    try:
        body = json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as exc:  # where it broke, so the sender can find it
        raise ApiError("MALFORMED_REQUEST", f"The request body is not valid JSON: {exc.msg} "
                       f"at line {exc.lineno} column {exc.colno}.") from exc
    except ValueError as exc:  # NaN, or a number too long to convert (no Python advice kept)
        reason = str(exc).split(";")[0]
        raise ApiError("MALFORMED_REQUEST", f"The request body is not valid JSON: {reason}."
                       ) from exc
    except RecursionError as exc:  # nested past the parser's own limit
        raise nested_too_deep() from exc
    if too_deep(body):
        raise nested_too_deep()
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


class WireRoute(APIRoute):
    """A route whose JSON body is read by :func:`json_body` before FastAPI validates it.

    FastAPI's own parser takes NaN, Infinity and any depth, and reports broken JSON as a
    validation error; this one answers those the Databricks way (``MALFORMED_REQUEST``
    naming what broke) and hands FastAPI the parsed object, which the route's pydantic
    model then validates (a failure there is an ``INVALID_PARAMETER_VALUE``).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def parse_then_handle(request: Request) -> Response:
            request._json = await json_body(request)  # what Request.json() returns from now on
            return await handler(request)

        return parse_then_handle
