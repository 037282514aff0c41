"""Query routes: ``/serving-endpoints/{name}/invocations`` and the OpenAI-style ones.

Order of work for one request: find the endpoint's serving entity (404/503/400), let the
replica validate the body and count its prompt tokens (400 naming the field), reserve
prompt + max output tokens at the provisioned rate (429 + Retry-After), run it, refund
what was not generated, record metrics. Streams are SSE with ``data:`` lines only, ending
``data: [DONE]``, which is what mlflow's ``predict_stream`` and the openai client parse.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..errors import ApiError, invalid, rate_limited
from ..governance.access import endpoint_access  # governance hook
from ..runtime import ServedEntity
from ..schemas import queries as q
from ..schemas.document import request_body
from ..throughput import Admission, RateLimited
from .common import json_body

router = APIRouter(tags=["invocations"],
                   dependencies=[Depends(endpoint_access)])  # governance hook: permissions
log = logging.getLogger("pt_widgets.local")
DEFAULT_MAX_TOKENS = 256


def operation(body: dict[str, Any], served: ServedEntity) -> str:
    """chat, completions or embeddings, from the body's fields and what the model serves."""
    embeds = served.desc.task == "llm/v1/embeddings"
    if "messages" in body:
        op = "chat"
    elif "prompt" in body:
        op = "completions"
    elif "input" in body:
        op = "embeddings"
    else:
        expected = "'input'" if embeds else "'messages' (chat) or 'prompt' (completions)"
        raise invalid(f"The request needs {expected}.")
    if embeds != (op == "embeddings"):
        raise invalid(f"Endpoint serves {served.desc.task}; a request with "
                      f"'{ {'chat': 'messages', 'completions': 'prompt'}.get(op, 'input') }' "
                      f"is for {'a chat/completions' if op != 'embeddings' else 'an embeddings'} "
                      "model.")
    return op


def output_budget(body: dict[str, Any], op: str) -> int:
    """The most output tokens the request may produce (reserved, refunded after)."""
    if op == "embeddings":
        return 0
    max_tokens = body.get("max_tokens")
    per_choice = max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else \
        DEFAULT_MAX_TOKENS
    n = body.get("n") if isinstance(body.get("n"), int) and body.get("n") > 0 else 1
    prompts = len(body["prompt"]) if op == "completions" and isinstance(body.get("prompt"),
                                                                          list) else 1
    return per_choice * n * max(1, prompts)


def usage_tokens(result: dict[str, Any]) -> tuple[int, int]:
    usage = result.get("usage") or {}
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


async def invoke(request: Request, name: str, body: dict[str, Any],
                 entity: str | None = None) -> Response:
    workspace = request.app.state.workspace
    started = time.perf_counter()
    try:
        ticket = workspace.governance.gateway.admit(  # governance hook: AI gateway, before PT
            getattr(request.state, "endpoint_record", None) or workspace.store.get(name),
            getattr(request.state, "user", None))
    except ApiError as exc:  # a spent gateway limit is a 429 of this endpoint's, counted so
        workspace.runtime.metrics_for(name).record(  # (no entity was chosen: label "")
            entity or "", exc.status or 429, (time.perf_counter() - started) * 1000)
        raise
    served = await run_in_threadpool(workspace.serving.served_entity, name, entity)
    metrics = workspace.runtime.metrics_for(name)
    status, tokens, answer = 200, (0, 0), None
    try:
        op = operation(body, served)
        stream = bool(body.get("stream"))
        if stream and op == "embeddings":
            raise invalid("'stream' is not supported for embeddings.")
        prompt_tokens = served.replica.prompt_tokens(body)
        try:
            admission = served.limiter.admit(prompt_tokens, output_budget(body, op))
        except RateLimited as exc:
            raise rate_limited(f"Endpoint '{name}' is over its provisioned throughput: "
                               f"{exc.reason}. Retry after {exc.retry_after_s} s, or raise "
                               "max_provisioned_throughput.", exc.retry_after_s) from None
        headers = {"served-model-name": served.name}
        if stream:
            try:  # governance hook: an external model's stream connects before the 200
                source = await open_stream(served.replica, op, body)
            except BaseException:
                admission.settle(0)
                raise
            iterator = stream_events(served, source, admission, metrics, started,
                                     ticket, body)  # governance hook: ticket, body
            return StreamingResponse(iterator, media_type="text/event-stream", headers=headers)
        try:
            result = await getattr(served.replica, op)(body)
        except BaseException:
            admission.settle(0)
            raise
        tokens, answer = usage_tokens(result), result
        admission.settle(sum(tokens))
        return JSONResponse(result, headers=headers)
    except ApiError as exc:
        status, answer = exc.status or 400, exc.body()
        raise
    except Exception:
        status = 500
        raise
    finally:
        if status != 200 or not body.get("stream"):
            metrics.record(served.name, status, (time.perf_counter() - started) * 1000, *tokens)
            served.note(f"{op_label(body)} -> {status}")
            ticket.finish(status, *tokens, served.name, body, answer)  # governance hook


def op_label(body: dict[str, Any]) -> str:
    return "chat" if "messages" in body else "completions" if "prompt" in body else "embeddings"


async def open_stream(replica: Any, op: str, body: dict[str, Any]) -> AsyncIterator[dict]:
    """The replica's stream; one that can fail on connecting (an external model's upstream)
    is opened here, so that failure is the response's status, not an event after a 200."""
    opener = getattr(replica, "open_stream", None)
    if opener is not None:
        return await opener(op, body)
    return getattr(replica, f"{op}_stream")(body)


async def stream_events(served: ServedEntity, source: AsyncIterator[dict],
                        admission: Admission, metrics, started: float, ticket=None,
                        body: dict[str, Any] | None = None) -> AsyncIterator[bytes]:
    tokens, status, chunks = (0, 0), 200, []
    try:
        async for chunk in source:
            chunks.append(chunk)  # governance hook: the inference table logs the stream
            tokens = usage_tokens(chunk) if chunk.get("usage") else tokens
            yield f"data: {json.dumps(chunk)}\n\n".encode()
        yield b"data: [DONE]\n\n"
    except ApiError as exc:
        status = exc.status or 400
        yield sse_error(exc)
    except Exception:
        status = 500
        log.exception("stream failed on %s", served.name)
        yield sse_error(ApiError("INTERNAL_ERROR", "The stream failed; see the server log."))
    finally:
        admission.settle(sum(tokens))
        metrics.record(served.name, status, (time.perf_counter() - started) * 1000, *tokens)
        if ticket is not None:  # governance hook
            ticket.finish(status, *tokens, served.name, body, chunks, streaming=True)


def sse_error(exc: ApiError) -> bytes:
    return f"data: {json.dumps(exc.body())}\n\n".encode()


ANSWERS = {200: {"description": "The answer, or its SSE stream when 'stream' is true.",
                 "model": q.ChatCompletion | q.Completion | q.EmbeddingsResponse,
                 "content": {"text/event-stream": {"schema": {"type": "string",
                                                              "pattern": "^data: "}}}}}
ANY_QUERY = request_body(q.ChatCompletionRequest, q.CompletionRequest, q.EmbeddingsRequest)


@router.post("/serving-endpoints/{name}/invocations", openapi_extra=ANY_QUERY,
             responses=ANSWERS)
async def invocations(request: Request, name: str) -> Response:
    return await invoke(request, name, await json_body(request))


@router.post("/serving-endpoints/{name}/served-models/{served_model}/invocations",
             openapi_extra=ANY_QUERY, responses=ANSWERS)
async def served_model_invocations(request: Request, name: str, served_model: str) -> Response:
    """A query to one served entity of the endpoint, whatever the traffic split says."""
    return await invoke(request, name, await json_body(request), served_model)


def endpoint_from_model(body: dict[str, Any]) -> str:
    model = body.pop("model", None)
    if not isinstance(model, str) or not model:
        raise invalid("'model' is required: the name of the serving endpoint to query.")
    return model


OPENAI_ROUTES = {  # path under /serving-endpoints: (what it is, its required field, its shape)
    "chat/completions": ("chat completions", "messages", q.OpenAIChatRequest),
    "completions": ("completions", "prompt", q.OpenAICompletionRequest),
    "embeddings": ("embeddings", "input", q.OpenAIEmbeddingsRequest),
}


def openai_route(what: str, required: str):
    """The OpenAI-style route: the endpoint is named by ``model`` in the body."""

    async def route(request: Request) -> Response:
        body = await json_body(request)
        name = endpoint_from_model(body)
        if required not in body:
            raise invalid(f"'{required}' is required for {what}.")
        return await invoke(request, name, body)

    return route


for path, (what, required, shape) in OPENAI_ROUTES.items():
    router.add_api_route(f"/serving-endpoints/{path}", openai_route(what, required),
                         methods=["POST"], name=f"openai_{required}", responses=ANSWERS,
                         openapi_extra=request_body(shape))


@router.get("/api/2.0/serving-endpoints/{name}/metrics", response_class=PlainTextResponse,
            responses={200: {"description": "Prometheus text exposition.",
                             "content": {"text/plain": {"schema": {"type": "string"}}}}})
def endpoint_metrics(request: Request, name: str) -> Response:
    workspace = request.app.state.workspace
    workspace.serving.require(name)
    text = workspace.runtime.metrics_for(name).render()
    return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")
