"""Query an endpoint: chat, completions, embeddings and streaming chat.

Plain HTTP to ``POST /serving-endpoints/{name}/invocations`` with the workspace's auth
headers, because the SDK's ``query`` has no ``logprobs``/``top_logprobs``/``top_p``, drops
``finish_reason`` (it reads ``finishReason``) and cannot stream (it JSON-parses the SSE
body). Every call, successful or not, is appended to the session history.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import PtWidgetsError, ValidationError, api_error_from_response
from .history import HISTORY
from .results import EmbeddingsResult, QueryResult, logprobs_rows
from .wire import ChatChunk, Choice, Completion, EmbeddingsResponse, TokenLogprob, Usage

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from .transport import RetryPolicy
    from .workspace import Workspace

__all__ = [
    "Messages",
    "QueryOptions",
    "QueryResult",
    "EmbeddingsResult",
    "ChatStream",
    "build_messages",
    "iter_sse_data",
    "logprobs_rows",
    "chat",
    "completions",
    "embeddings",
    "stream_chat",
]

Messages = str | Sequence[dict[str, str]] | Sequence[tuple[str, str]]


# --------------------------------------------------------------------------- request bodies


def build_messages(messages: Messages, system: str | None = None) -> list[dict[str, str]]:
    """A prompt string, ``(role, content)`` pairs or message dicts → wire messages.

    ``system`` is prepended unless the messages already start with a system message.
    """
    if isinstance(messages, str):
        out = [{"role": "user", "content": messages}]
    else:
        out = []
        for m in messages:
            if isinstance(m, dict):
                out.append({"role": str(m["role"]), "content": str(m["content"])})
            else:
                role, content = m
                out.append({"role": str(role), "content": str(content)})
    if not out:
        raise ValidationError("A chat needs at least one message.")
    if system and out[0]["role"] != "system":
        out.insert(0, {"role": "system", "content": system})
    return out


@dataclass(frozen=True)
class QueryOptions:
    """The keyword options every query function takes (an unknown one is a ``TypeError``).

    Generation: ``max_tokens``, ``temperature``, ``top_p``, ``top_k``, ``stop``, ``n``,
    ``logprobs`` (each token's log-probability; ``top_logprobs=k`` adds the k best
    alternatives and implies it), ``extra`` (more body fields, sent as given). Transport:
    ``served_model`` (one served entity behind the endpoint), ``timeout`` (read timeout,
    seconds), ``retry`` (a :class:`~pt_widgets.transport.RetryPolicy`), ``cancel`` (an Event).
    """

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: str | list[str] | None = None
    n: int | None = None
    logprobs: bool = False
    top_logprobs: int | None = None
    extra: dict[str, Any] | None = None
    served_model: str | None = None
    timeout: float | None = None
    retry: RetryPolicy | None = None
    cancel: threading.Event | None = None

    def body(self) -> dict[str, Any]:
        """Generation parameters, unset ones omitted (the server rejects explicit junk)."""
        body: dict[str, Any] = {"max_tokens": self.max_tokens, "temperature": self.temperature,
                                "top_p": self.top_p, "top_k": self.top_k, "stop": self.stop,
                                "n": self.n}
        if self.logprobs or self.top_logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = self.top_logprobs
        body = {k: v for k, v in body.items() if v is not None}
        body.update(self.extra or {})
        return body


# --------------------------------------------------------------------------- transport


def _invocations_path(endpoint: str, served_model: str | None) -> str:
    path = f"/serving-endpoints/{quote(endpoint, safe='')}"
    if served_model:
        path += f"/served-models/{quote(served_model, safe='')}"
    return path + "/invocations"


def _record(ws: Workspace, endpoint: str, kind: str, input_text: Any, *, result: Any = None,
            error: BaseException | None = None, latency: float | None = None) -> None:
    usage = getattr(result, "usage", None) or Usage()
    output = getattr(result, "text", None)
    if isinstance(result, EmbeddingsResult):
        output = f"{len(result.vectors)} × {result.dimensions} vectors"
    HISTORY.add(
        host=ws.host,
        endpoint=endpoint,
        kind=kind,
        input=input_text,
        output=output or "",
        finish_reason=getattr(result, "finish_reason", None),
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        latency_s=latency,
        status="error" if error is not None else "ok",
        error=str(error) if error is not None else None,
    )


def _last_user_text(messages: list[dict[str, str]]) -> str:
    return next((m["content"] for m in reversed(messages) if m["role"] == "user"),
                messages[-1]["content"])


def _send(ws: Workspace, endpoint: str, body: dict[str, Any], options: QueryOptions,
          **request: Any) -> requests.Response:
    return ws.request("POST", _invocations_path(endpoint, options.served_model), json=body,
                      timeout=options.timeout, retry=options.retry, cancel=options.cancel,
                      **request)


def _post(ws: Workspace, endpoint: str, body: dict[str, Any], options: QueryOptions,
          ) -> tuple[dict[str, Any], str | None]:
    resp = _send(ws, endpoint, body, options)
    try:
        data = resp.json()
    except ValueError:
        raise PtWidgetsError(f"Endpoint '{endpoint}' answered with something that is not JSON."
                             ) from None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]  # MLflow scoring servers wrap one answer in a list
    return data, resp.headers.get("served-model-name")


def _query(ws: Workspace, endpoint: str, kind: str, body: dict[str, Any], input_text: str,
           options: QueryOptions) -> QueryResult:
    started = time.perf_counter()
    try:
        data, served = _post(ws, endpoint, {**body, **options.body()}, options)
        result = QueryResult(endpoint, kind, Completion.from_wire(data),
                             time.perf_counter() - started, served)
    except BaseException as exc:
        _record(ws, endpoint, kind, input_text, error=exc, latency=time.perf_counter() - started)
        raise
    _record(ws, endpoint, kind, input_text, result=result, latency=result.latency_s)
    return result


# --------------------------------------------------------------------------- public API


def chat(ws: Workspace, endpoint: str, messages: Messages, *, system: str | None = None,
         **options: Any) -> QueryResult:
    """Ask a chat endpoint. ``messages`` is a prompt string, ``(role, content)`` pairs or dicts.

    ``options`` are :class:`QueryOptions` (``max_tokens``, ``temperature``, ``top_p``,
    ``top_k``, ``stop``, ``n``, ``logprobs``, ``top_logprobs``, ``extra``, ``served_model``,
    ``timeout``, ``retry``, ``cancel``). ``logprobs=True`` returns each token's
    log-probability (``top_logprobs=k`` adds the k best alternatives; it implies
    ``logprobs``): see ``result.logprobs_frame()``.
    """
    wire_messages = build_messages(messages, system)
    return _query(ws, endpoint, "chat", {"messages": wire_messages},
                  _last_user_text(wire_messages), QueryOptions(**options))


def completions(ws: Workspace, endpoint: str, prompt: str, **options: Any) -> QueryResult:
    """Continue a prompt on a completions endpoint (the options of :func:`chat`)."""
    return _query(ws, endpoint, "completions", {"prompt": prompt}, prompt,
                  QueryOptions(**options))


def embeddings(
    ws: Workspace,
    endpoint: str,
    texts: str | Sequence[str],
    *,
    normalize: bool = False,
    extra: dict[str, Any] | None = None,
    served_model: str | None = None,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
    cancel: threading.Event | None = None,
) -> EmbeddingsResult:
    """Embed one text or a list; one vector per input, in order.

    ``normalize=True`` scales vectors to unit length client-side; otherwise ``result.note``
    says when they are not (dot products are then not cosine similarities). The other
    options are those of :class:`QueryOptions` that apply to embeddings.
    """
    options = QueryOptions(served_model=served_model, timeout=timeout, retry=retry,
                           cancel=cancel)
    inputs = (texts,) if isinstance(texts, str) else tuple(texts)
    if not inputs:
        raise ValidationError("Give at least one text to embed.")
    started = time.perf_counter()
    preview = inputs[0] if len(inputs) == 1 else f"[{len(inputs)} texts] {inputs[0]}"
    try:
        data, served = _post(ws, endpoint, {"input": list(inputs), **(extra or {})}, options)
        wire = EmbeddingsResponse.from_wire(data)
        if len(wire.data) != len(inputs):
            raise PtWidgetsError(f"Endpoint '{endpoint}' returned {len(wire.data)} vectors for "
                                 f"{len(inputs)} inputs.")
        result = EmbeddingsResult(endpoint, inputs, tuple(d.embedding for d in wire.data),
                                  wire.usage, time.perf_counter() - started, wire.model,
                                  served_model=served)
        if normalize:
            result = result.normalize()
    except BaseException as exc:
        _record(ws, endpoint, "embeddings", preview, error=exc,
                latency=time.perf_counter() - started)
        raise
    _record(ws, endpoint, "embeddings", preview, result=result, latency=result.latency_s)
    return result


# --------------------------------------------------------------------------- streaming


def iter_sse_data(lines: Iterable[bytes | str]) -> Iterator[dict[str, Any]]:
    """Decode ``data: {json}`` lines until ``data: [DONE]``; ignore blanks and comments.

    An error object sent mid-stream (``{"error_code", "message"}``) raises an
    :class:`ApiError` so a failure after the first token is not mistaken for the end.
    """
    for raw in lines:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        line = line.rstrip("\r\n")
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        if not payload:
            continue
        data = json.loads(payload)
        if isinstance(data, dict) and ("error_code" in data or "error" in data) and (
            "choices" not in data
        ):
            raise api_error_from_response(500, payload)
        yield data


@dataclass
class _Accumulator:
    """Folds stream chunks into one chat answer (per choice index)."""

    text: dict[int, list[str]] = field(default_factory=dict)
    finish: dict[int, str | None] = field(default_factory=dict)
    logprobs: dict[int, list[TokenLogprob]] = field(default_factory=dict)
    usage: Usage | None = None
    id: str | None = None
    model: str | None = None

    def add(self, chunk: ChatChunk) -> str:
        """Fold one chunk in; return the new text of choice 0."""
        self.id = self.id or chunk.id
        self.model = self.model or chunk.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        delta = ""
        for choice in chunk.choices:
            self.text.setdefault(choice.index, []).append(choice.content)
            self.logprobs.setdefault(choice.index, []).extend(choice.logprobs)
            if choice.finish_reason:
                self.finish[choice.index] = choice.finish_reason
            if choice.index == 0:
                delta += choice.content
        return delta

    def completion(self) -> Completion:
        choices = tuple(
            Choice(index=i, role="assistant", content="".join(parts),
                   finish_reason=self.finish.get(i), logprobs=tuple(self.logprobs.get(i, ())))
            for i, parts in sorted(self.text.items())
        )
        return Completion(id=self.id, object="chat.completion", model=self.model,
                              choices=choices, usage=self.usage or Usage())


class ChatStream:
    """Iterate for text deltas as they arrive; ``.result`` is the whole answer afterwards.

    ``close()`` (or leaving a ``with`` block, or setting ``cancel``) stops reading and drops
    the connection. The finished (or partial, if closed early) answer goes to the history.
    """

    def __init__(self, ws: Workspace, endpoint: str, body: dict[str, Any], input_text: str,
                 options: QueryOptions, on_delta: Callable[[str], Any] | None = None) -> None:
        self.endpoint = endpoint
        self._ws = ws
        self._input = input_text
        self._cancel = options.cancel
        self._on_delta = on_delta
        self._acc = _Accumulator()
        self._started = time.perf_counter()
        self._first: float | None = None
        self._closed = False
        self.result: QueryResult | None = None
        self.error: BaseException | None = None
        self._resp = _send(ws, endpoint, body, options, stream=True,
                           headers={"Accept": "text/event-stream"})
        self._served = self._resp.headers.get("served-model-name")
        self._chunks = iter_sse_data(self._resp.iter_lines(chunk_size=None))

    def __iter__(self) -> Iterator[str]:
        try:
            for data in self._chunks:
                if self._cancel is not None and self._cancel.is_set():
                    break
                delta = self._acc.add(ChatChunk.from_wire(data))
                if delta and self._first is None:
                    self._first = time.perf_counter() - self._started
                if delta:
                    if self._on_delta is not None:
                        self._on_delta(delta)
                    yield delta
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.close()

    @property
    def text(self) -> str:
        """Everything received so far (choice 0)."""
        return "".join(self._acc.text.get(0, []))

    def read(self) -> QueryResult:
        """Consume the whole stream and return the result."""
        for _ in self:
            pass
        assert self.result is not None
        return self.result

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._resp.close()
        latency = time.perf_counter() - self._started
        self.result = QueryResult(self.endpoint, "stream_chat", self._acc.completion(), latency,
                                  self._served, self._first)
        _record(self._ws, self.endpoint, "stream_chat", self._input,
                result=self.result if self.error is None else None, error=self.error,
                latency=latency)

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stream_chat(ws: Workspace, endpoint: str, messages: Messages, *,
                system: str | None = None, on_delta: Callable[[str], Any] | None = None,
                **options: Any) -> ChatStream:
    """Start a streaming chat; iterate the returned :class:`ChatStream` for text deltas.

    ``for piece in ws.stream_chat("ep", "Hi"): print(piece, end="")``; afterwards
    ``stream.result`` is a :class:`QueryResult` (with ``time_to_first_token_s``). The
    options of :func:`chat` (one choice: no ``n``); ``on_delta(text)`` hears each piece.
    """
    chosen = QueryOptions(**options)
    if chosen.n is not None:
        raise ValidationError("A streamed chat has one choice: drop n= (or use chat()).")
    wire_messages = build_messages(messages, system)
    body = {"messages": wire_messages, "stream": True, **chosen.body()}
    started = time.perf_counter()
    try:
        return ChatStream(ws, endpoint, body, _last_user_text(wire_messages), chosen, on_delta)
    except BaseException as exc:
        _record(ws, endpoint, "stream_chat", _last_user_text(wire_messages), error=exc,
                latency=time.perf_counter() - started)
        raise
