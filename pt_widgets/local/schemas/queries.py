"""Query shapes: chat, completions and embeddings (OpenAI-compatible, as Databricks serves).

Requests are closed (Databricks answers ``stream_options`` with "json: unknown field") but
open to every field current clients send: databricks-sdk's ``query()`` extras
(``client_request_id``, ``usage_context``, ``extra_params``), OpenAI's ``tools``,
``tool_choice``, ``response_format`` and content-part message arrays. Fields the local
engine cannot honour are accepted and logged as having no local effect (``INERT``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PlainValidator, WithJsonSchema

from .base import WireRequest, WireResponse

ROLES = ("system", "user", "assistant")
MAX_N = 5
MAX_STOP = 4
MAX_TOP_LOGPROBS = 20
MAX_EMBEDDING_INPUTS = 2048
MAX_TOP_K = 1_000_000  # beyond any vocabulary; keeps the value within torch's int64
INERT = ("tools", "tool_choice", "response_format", "client_request_id", "usage_context",
         "extra_params", "user", "seed")


def strings(field: str, limit: int | None = None, empty_ok: bool = False):
    """A string or a list of strings (OpenAI's ``prompt``/``input``/``stop``), as a list."""
    rule = (f"a non-empty string or a list of {f'at most {limit} ' if limit else ''}"
            f"{'' if empty_ok else 'non-empty '}strings")

    def check(value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or (not items and not empty_ok) or \
                (limit is not None and len(items) > limit) or \
                not all(isinstance(s, str) and s for s in items):
            raise ValueError(f"must be {rule}, got {value!r}"[:200])
        return items

    item = {"type": "string", "minLength": 1}
    array = {"type": "array", "items": item, "minItems": 0 if empty_ok else 1}
    if limit is not None:
        array["maxItems"] = limit
    return Annotated[list[str], PlainValidator(check),
                     WithJsonSchema({"anyOf": [item, array]})]


def message_content(value: Any) -> str:
    """A message's text: a string, or OpenAI content parts whose ``text`` parts are joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(
            isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
            and set(p) <= {"type", "text"} for p in value):
        return "".join(p["text"] for p in value)
    raise ValueError("must be a string or a list of {\"type\": \"text\", \"text\": ...} parts, "
                     f"got {value!r}"[:200])


Content = Annotated[str, PlainValidator(message_content), WithJsonSchema({"anyOf": [
    {"type": "string"},
    {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["type", "text"], "additionalProperties": False,
        "properties": {"type": {"const": "text"}, "text": {"type": "string"}}}}]})]


class QueryRequest(WireRequest):
    model_config = ConfigDict(allow_inf_nan=False)

    model: str | None = Field(default=None, description="a string: the endpoint's name")
    client_request_id: str | None = None
    usage_context: dict[str, Any] | None = None
    extra_params: dict[str, Any] | None = None
    user: str | None = None


class GenerationRequest(QueryRequest):
    max_tokens: int | None = Field(default=None, ge=1, description="a positive integer")
    temperature: float | None = Field(default=None, ge=0, le=2,
                                      description="a number between 0 and 2")
    top_p: float | None = Field(default=None, gt=0, le=1,
                                description="a number greater than 0 and at most 1")
    top_k: int | None = Field(default=None, ge=1, le=MAX_TOP_K,
                              description=f"an integer between 1 and {MAX_TOP_K}")
    n: int | None = Field(default=None, ge=1, le=MAX_N,
                          description=f"an integer between 1 and {MAX_N}")
    stop: strings("stop", MAX_STOP) | None = None
    stream: bool | None = Field(default=None, description="a boolean")
    top_logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS,
                                     description=f"an integer between 0 and {MAX_TOP_LOGPROBS}")
    seed: int | None = None


class ChatMessage(WireRequest):
    role: Literal["system", "user", "assistant"]
    content: Content
    name: str | None = None


class ChatCompletionRequest(GenerationRequest):
    messages: list[ChatMessage] = Field(min_length=1, description="a list of {role, content} "
                                        "objects")
    logprobs: bool | None = Field(default=None, description="a boolean")
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None


class CompletionRequest(GenerationRequest):
    prompt: strings("prompt")
    # a boolean, or OpenAI's legacy integer (= how many alternatives per token)
    logprobs: bool | Annotated[int, Field(ge=0, le=MAX_TOP_LOGPROBS)] | None = Field(
        default=None, description=f"a boolean or an integer between 0 and {MAX_TOP_LOGPROBS}")


class EmbeddingsRequest(QueryRequest):
    input: strings("input", MAX_EMBEDDING_INPUTS)
    encoding_format: Literal["float", "base64"] | None = Field(
        default=None, description="'float' or 'base64'")


class OpenAIChatRequest(ChatCompletionRequest):
    model: str = Field(min_length=1)


class OpenAICompletionRequest(CompletionRequest):
    model: str = Field(min_length=1)


class OpenAIEmbeddingsRequest(EmbeddingsRequest):
    model: str = Field(min_length=1)


# -- responses --------------------------------------------------------------------------------

class Usage(WireResponse):
    prompt_tokens: int
    completion_tokens: int | None = None
    total_tokens: int


class TopLogprob(WireResponse):
    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob] = []


class Logprobs(WireResponse):
    content: list[TokenLogprob]


class AssistantMessage(WireResponse):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(WireResponse):
    index: int
    message: AssistantMessage
    finish_reason: str | None = None
    logprobs: Logprobs | None = None


class CompletionChoice(WireResponse):
    index: int
    text: str
    finish_reason: str | None = None
    logprobs: Logprobs | None = None


class Delta(WireResponse):
    role: str | None = None
    content: str | None = None


class ChunkChoice(WireResponse):
    index: int
    delta: Delta
    finish_reason: str | None = None
    logprobs: Logprobs | None = None


class Answer(WireResponse):
    id: str
    created: int
    model: str
    usage: Usage


class ChatCompletion(Answer):
    object: Literal["chat.completion"] = "chat.completion"
    choices: list[ChatChoice]


class ChatCompletionChunk(Answer):
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: list[ChunkChoice]


class Completion(Answer):
    """Also each streamed completion chunk (OpenAI streams ``text_completion`` objects)."""

    object: Literal["text_completion"] = "text_completion"
    choices: list[CompletionChoice]


class Embedding(WireResponse):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str  # str: base64 float32 little-endian


class EmbeddingsResponse(WireResponse):
    object: Literal["list"] = "list"
    model: str
    data: list[Embedding]
    usage: Usage
