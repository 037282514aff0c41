"""An OpenAI-compatible server as a replica: what an external-model entity queries.

:class:`UpstreamReplica` has the async surface of the engine's ``Replica`` (``chat``,
``completions``, ``embeddings``, the ``*_stream`` variants, ``prompt_tokens``, ``close``), so
the serving runtime holds it like a loaded model and the invocation route needs no branch.
Each request forwards the body, with ``model`` set to the external model's name, to
``<base>/chat/completions``, ``<base>/completions`` or ``<base>/embeddings`` and hands the
answer back as it came.

Failure is always one sentence in the Databricks error shape, quickly: a connect timeout
(5 s, ``PT_WIDGETS_UPSTREAM_CONNECT_TIMEOUT_S``) bounds an unreachable host; an upstream
error names the upstream's HTTP status. Status choice (documented in the README):

* the upstream refused the request's content (400, 413, 422) → 400 ``BAD_REQUEST``;
* the upstream is over its own limit (429) → 429 ``REQUEST_LIMIT_EXCEEDED`` + Retry-After;
* anything else (401/403: the endpoint's key, 404: its URL or model name, 5xx, not JSON,
  unreachable) is the endpoint's upstream failing, not the caller → 502 ``BAD_GATEWAY``
  (not 503: clients retry 503 for minutes, and a wrong URL does not heal by waiting);
* no answer within the read timeout (300 s) → 504 ``DEADLINE_EXCEEDED``.

The API key never appears in a message, a log line or a repr.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from ..errors import ApiError, invalid

PATHS = {"chat": "/chat/completions", "completions": "/completions",
         "embeddings": "/embeddings"}
CONTENT_ERRORS = (400, 413, 422)
MAX_DETAIL = 300


def timeouts() -> httpx.Timeout:
    connect = float(os.environ.get("PT_WIDGETS_UPSTREAM_CONNECT_TIMEOUT_S", "5"))
    read = float(os.environ.get("PT_WIDGETS_UPSTREAM_READ_TIMEOUT_S", "300"))
    return httpx.Timeout(connect=connect, read=read, write=30.0, pool=connect)


def op_url(base: str, op: str) -> str:
    """``base`` + the operation's path, unless ``base`` already ends with it."""
    base = base.rstrip("/")
    path = PATHS[op]
    return base if base.endswith(path) else base + path


def upstream_detail(response: httpx.Response) -> str:
    """The upstream's own error message (OpenAI or Databricks shape), cut short."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:MAX_DETAIL] or "(empty body)"
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:MAX_DETAIL]
        if body.get("message"):
            return str(body["message"])[:MAX_DETAIL]
    return json.dumps(body)[:MAX_DETAIL]


class UpstreamReplica:
    """The external model of one served entity: where to send requests and how to sign them."""

    def __init__(self, entity: str, base_url: str, model: str, task: str,
                 headers: Callable[[], dict[str, str]]) -> None:
        self.entity = entity
        self.base_url = base_url
        self.model_name = model
        self.task = task
        self._headers = headers  # resolved per request: a rotated secret takes effect at once

    def __repr__(self) -> str:
        return f"UpstreamReplica({self.base_url!r}, model={self.model_name!r})"

    def close(self) -> None:
        """Nothing held between requests (each opens its own connection)."""

    # -- the replica surface ------------------------------------------------------------
    def prompt_tokens(self, body: dict[str, Any]) -> int:
        """An estimate (≈ 4 characters a token): the upstream tokenizes; usage comes back."""
        for field in ("messages", "prompt", "input"):
            if field in body:
                return max(1, len(json.dumps(body[field])) // 4)
        raise invalid("The request needs 'messages', 'prompt' or 'input'.")

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("chat", body)

    async def completions(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("completions", body)

    async def embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("embeddings", body)

    def chat_stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        return self._stream("chat", body)

    def completions_stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        return self._stream("completions", body)

    async def open_stream(self, op: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The stream, connected and past the upstream's status line: failures raise here,
        before the caller commits to a 200."""
        stream = self._stream(op, body)
        try:
            first = [await stream.__anext__()]
        except StopAsyncIteration:
            first = []

        async def chained() -> AsyncIterator[dict[str, Any]]:
            try:
                for chunk in first:
                    yield chunk
                async for chunk in stream:
                    yield chunk
            finally:
                await stream.aclose()

        return chained()

    # -- HTTP -----------------------------------------------------------------------------
    def _request(self, op: str, body: dict[str, Any], stream: bool) -> tuple[str, dict]:
        payload = {**body, "model": self.model_name}
        if stream:
            payload["stream"] = True
        return op_url(self.base_url, op), payload

    async def _call(self, op: str, body: dict[str, Any]) -> dict[str, Any]:
        url, payload = self._request(op, body, stream=False)
        try:
            async with httpx.AsyncClient(timeout=timeouts()) as client:
                response = await client.post(url, json=payload, headers=self._headers())
        except httpx.HTTPError as exc:
            raise self._transport_error(url, exc) from None
        if response.status_code != 200:
            raise self._status_error(url, response)
        try:
            answer = response.json()
        except ValueError:
            raise self._bad_gateway(url, "answered 200 with a body that is not JSON") from None
        if not isinstance(answer, dict):
            raise self._bad_gateway(url, "answered 200 with JSON that is not an object")
        return answer

    async def _stream(self, op: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        url, payload = self._request(op, body, stream=True)
        try:
            async with httpx.AsyncClient(timeout=timeouts()) as client, \
                    client.stream("POST", url, json=payload, headers=self._headers()) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise self._status_error(url, response)
                async for chunk in sse_objects(response):
                    yield chunk
        except httpx.HTTPError as exc:
            raise self._transport_error(url, exc) from None

    # -- errors ---------------------------------------------------------------------------
    def _who(self) -> str:
        return f"External model '{self.model_name}' (served entity '{self.entity}')"

    def _bad_gateway(self, url: str, what: str) -> ApiError:
        return ApiError("BAD_GATEWAY", f"{self._who()}: its server at {url} {what}.", status=502)

    def _status_error(self, url: str, response: httpx.Response) -> ApiError:
        status, detail = response.status_code, upstream_detail(response)
        said = f"{self._who()}: its server at {url} answered HTTP {status}: {detail}"
        if status in CONTENT_ERRORS:
            return ApiError("BAD_REQUEST", said, status=400)
        if status == 429:
            retry = response.headers.get("retry-after", "1")
            return ApiError("REQUEST_LIMIT_EXCEEDED", said, status=429,
                            headers={"Retry-After": retry if retry.isdigit() else "1"})
        return ApiError("BAD_GATEWAY", said, status=502)

    def _transport_error(self, url: str, exc: httpx.HTTPError) -> ApiError:
        if isinstance(exc, httpx.ReadTimeout):
            return ApiError("DEADLINE_EXCEEDED", f"{self._who()}: its server at {url} sent "
                            "nothing within the read timeout.", status=504)
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            reason = "timed out connecting" if isinstance(exc, httpx.TimeoutException) else \
                (str(exc) or type(exc).__name__)
            return ApiError("BAD_GATEWAY", f"{self._who()} cannot reach its server at {url}: "
                            f"{reason}.", status=502)
        return self._bad_gateway(url, f"failed mid-request ({type(exc).__name__})")


async def sse_objects(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The JSON objects of an SSE stream up to ``[DONE]``; an error event raises."""
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            raise ApiError("BAD_GATEWAY", f"The external model's stream sent a line that is not "
                           f"JSON: {data[:80]!r}.", status=502) from None
        if isinstance(chunk, dict) and ("error_code" in chunk or "error" in chunk):
            error = chunk.get("error")
            message = error.get("message") if isinstance(error, dict) else chunk.get("message")
            raise ApiError("BAD_GATEWAY", f"The external model's stream failed: {message}",
                           status=502)
        yield chunk
