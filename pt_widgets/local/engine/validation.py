"""Request validation for the three query shapes, with Databricks-style 400 messages.

Every problem raises :func:`pt_widgets.local.errors.invalid` with one sentence that names the
field and the rule. Unknown top-level fields are rejected, as Databricks does (it answers
``stream_options`` with "json: unknown field"). ``null`` for an optional parameter means
"absent", because OpenAI-style clients sometimes send explicit nulls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pt_widgets.local.errors import invalid

ROLES = ("system", "user", "assistant")
MAX_N = 5
MAX_STOP = 4
MAX_TOP_LOGPROBS = 20
MAX_EMBEDDING_INPUTS = 2048
DEFAULT_MAX_TOKENS = 256
MAX_TOP_K = 1_000_000  # beyond any vocabulary; keeps the value within torch's int64
DEFAULT_TEMPERATURE = 1.0

# Fields every query accepts and ignores: `model` (OpenAI clients send the endpoint name) and
# the databricks-sdk `query()` extras.
_COMMON = {"model", "client_request_id", "usage_context", "extra_params"}
_GENERATION = {
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "n",
    "stop",
    "stream",
    "logprobs",
    "top_logprobs",
}
CHAT_FIELDS = frozenset(_COMMON | _GENERATION | {"messages"})
COMPLETIONS_FIELDS = frozenset(_COMMON | _GENERATION | {"prompt"})
EMBEDDINGS_FIELDS = frozenset(_COMMON | {"input", "encoding_format"})
MESSAGE_FIELDS = frozenset({"role", "content", "name"})


@dataclass(frozen=True)
class SamplingParams:
    """Per-row decoding settings. ``max_tokens`` None means "default, clipped to the room left"."""

    max_tokens: int | None = None
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = 1.0
    top_k: int = 0  # 0 = no top-k filter
    stop: tuple[str, ...] = ()
    logprobs: bool = False
    top_logprobs: int = 0


@dataclass
class ChatRequest:
    messages: list[dict[str, str]]
    params: SamplingParams
    n: int = 1
    stream: bool = False


@dataclass
class CompletionRequest:
    prompts: list[str]
    params: SamplingParams
    n: int = 1
    stream: bool = False


@dataclass
class EmbeddingRequest:
    inputs: list[str]
    encoding_format: str = "float"
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Field checks
# ---------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def check_body(body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        names = ", ".join(f"'{k}'" for k in unknown)
        plural = "fields" if len(unknown) > 1 else "field"
        raise invalid(
            f"Unknown {plural} {names} in the request body; allowed fields are: "
            f"{', '.join(sorted(allowed))}."
        )
    for key in ("client_request_id",):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise invalid(f"'{key}' must be a string, got {_show(body[key])}.")
    for key in ("usage_context", "extra_params"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise invalid(f"'{key}' must be an object, got {_show(body[key])}.")
    if body.get("model") is not None and not isinstance(body["model"], str):
        raise invalid(f"'model' must be a string, got {_show(body['model'])}.")
    return body


def _max_tokens(v: Any) -> int | None:
    if v is None:
        return None
    if not _is_int(v) or v < 1:
        raise invalid(f"'max_tokens' must be a positive integer, got {_show(v)}.")
    return v


def _temperature(v: Any) -> float:
    if v is None:
        return DEFAULT_TEMPERATURE
    if not _is_number(v) or not 0 <= v <= 2:
        raise invalid(f"'temperature' must be a number between 0 and 2, got {_show(v)}.")
    return float(v)


def _top_p(v: Any) -> float:
    if v is None:
        return 1.0
    if not _is_number(v) or not 0 < v <= 1:
        raise invalid(f"'top_p' must be a number greater than 0 and at most 1, got {_show(v)}.")
    return float(v)


def _top_k(v: Any) -> int:
    if v is None:
        return 0
    if not _is_int(v) or not 1 <= v <= MAX_TOP_K:
        raise invalid(f"'top_k' must be an integer between 1 and {MAX_TOP_K}, got {_show(v)}.")
    return v


def _n(v: Any) -> int:
    if v is None:
        return 1
    if not _is_int(v) or not 1 <= v <= MAX_N:
        raise invalid(f"'n' must be an integer between 1 and {MAX_N}, got {_show(v)}.")
    return v


def _stop(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        v = [v]
    rule = f"'stop' must be a non-empty string or a list of at most {MAX_STOP} non-empty strings"
    if not isinstance(v, list) or len(v) > MAX_STOP:
        raise invalid(f"{rule}, got {_show(v)}.")
    if not all(isinstance(s, str) and s for s in v):
        raise invalid(f"{rule}, got {_show(v)}.")
    return tuple(dict.fromkeys(v))


def _stream(v: Any) -> bool:
    if v is None:
        return False
    if not isinstance(v, bool):
        raise invalid(f"'stream' must be a boolean, got {_show(v)}.")
    return v


def _logprobs(body: dict[str, Any], allow_int: bool) -> tuple[bool, int]:
    """``logprobs`` is a boolean; completions also take the legacy OpenAI integer (= top N)."""
    lp = body.get("logprobs")
    top = body.get("top_logprobs")
    if lp is None:
        lp_bool, implied_top = False, None
    elif isinstance(lp, bool):
        lp_bool, implied_top = lp, None
    elif allow_int and _is_int(lp) and 0 <= lp <= MAX_TOP_LOGPROBS:
        lp_bool, implied_top = True, lp
    else:
        extra = f" or an integer between 0 and {MAX_TOP_LOGPROBS}" if allow_int else ""
        raise invalid(f"'logprobs' must be a boolean{extra}, got {_show(lp)}.")
    if top is None:
        return lp_bool, implied_top or 0
    if not _is_int(top) or not 0 <= top <= MAX_TOP_LOGPROBS:
        raise invalid(
            f"'top_logprobs' must be an integer between 0 and {MAX_TOP_LOGPROBS}, got {_show(top)}."
        )
    if not lp_bool:
        raise invalid("'top_logprobs' can only be set when 'logprobs' is true.")
    return lp_bool, top


def _sampling(body: dict[str, Any], allow_int_logprobs: bool) -> SamplingParams:
    logprobs, top_logprobs = _logprobs(body, allow_int_logprobs)
    return SamplingParams(
        max_tokens=_max_tokens(body.get("max_tokens")),
        temperature=_temperature(body.get("temperature")),
        top_p=_top_p(body.get("top_p")),
        top_k=_top_k(body.get("top_k")),
        stop=_stop(body.get("stop")),
        logprobs=logprobs,
        top_logprobs=top_logprobs,
    )


# ---------------------------------------------------------------------------------------------
# Request shapes
# ---------------------------------------------------------------------------------------------


def _messages(v: Any) -> list[dict[str, str]]:
    if v is None:
        raise invalid("'messages' is required: a non-empty list of {role, content} objects.")
    if not isinstance(v, list):
        raise invalid(f"'messages' must be a list of {{role, content}} objects, got {_show(v)}.")
    if not v:
        raise invalid("'messages' must not be empty.")
    out = []
    for i, m in enumerate(v):
        if not isinstance(m, dict):
            raise invalid(f"'messages[{i}]' must be an object with 'role' and 'content'.")
        unknown = sorted(k for k in m if k not in MESSAGE_FIELDS)
        if unknown:
            raise invalid(
                f"'messages[{i}]' has unknown field(s) {', '.join(repr(k) for k in unknown)}; "
                "allowed are 'role', 'content' and 'name'."
            )
        role = m.get("role")
        if role not in ROLES:
            raise invalid(
                f"'messages[{i}].role' must be one of {', '.join(ROLES)}, got {_show(role)}."
            )
        content = m.get("content")
        if not isinstance(content, str):
            raise invalid(f"'messages[{i}].content' must be a string, got {_show(content)}.")
        if m.get("name") is not None and not isinstance(m["name"], str):
            raise invalid(f"'messages[{i}].name' must be a string, got {_show(m['name'])}.")
        out.append({"role": role, "content": content})
    return out


def parse_chat(body: Any) -> ChatRequest:
    body = check_body(body, CHAT_FIELDS)
    messages = _messages(body.get("messages"))
    return ChatRequest(
        messages=messages,
        params=_sampling(body, allow_int_logprobs=False),
        n=_n(body.get("n")),
        stream=_stream(body.get("stream")),
    )


def parse_completions(body: Any) -> CompletionRequest:
    body = check_body(body, COMPLETIONS_FIELDS)
    prompt = body.get("prompt")
    rule = "'prompt' must be a non-empty string or a non-empty list of non-empty strings"
    if prompt is None:
        raise invalid("'prompt' is required: a non-empty string or a list of non-empty strings.")
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, list) or not prompts:
        raise invalid(f"{rule}, got {_show(prompt)}.")
    if not all(isinstance(p, str) and p for p in prompts):
        raise invalid(f"{rule}, got {_show(prompt)}.")
    return CompletionRequest(
        prompts=list(prompts),
        params=_sampling(body, allow_int_logprobs=True),
        n=_n(body.get("n")),
        stream=_stream(body.get("stream")),
    )


def parse_embeddings(body: Any) -> EmbeddingRequest:
    body = check_body(body, EMBEDDINGS_FIELDS)
    value = body.get("input")
    rule = "'input' must be a non-empty string or a non-empty list of non-empty strings"
    if value is None:
        raise invalid("'input' is required: a non-empty string or a list of non-empty strings.")
    inputs = [value] if isinstance(value, str) else value
    if not isinstance(inputs, list) or not inputs:
        raise invalid(f"{rule}, got {_show(value)}.")
    if not all(isinstance(s, str) and s for s in inputs):
        raise invalid(f"{rule}, got {_show(value)}.")
    if len(inputs) > MAX_EMBEDDING_INPUTS:
        raise invalid(
            f"'input' can hold at most {MAX_EMBEDDING_INPUTS} strings, got {len(inputs)}."
        )
    fmt = body.get("encoding_format")
    if fmt is None:
        fmt = "float"
    if fmt not in ("float", "base64"):
        raise invalid(f"'encoding_format' must be 'float' or 'base64', got {_show(fmt)}.")
    return EmbeddingRequest(inputs=list(inputs), encoding_format=fmt)


def resolve_max_tokens(requested: int | None, prompt_tokens: int, context_length: int) -> int:
    """Check prompt + max_tokens against the context; the default is clipped to the room left."""
    room = context_length - prompt_tokens
    if requested is None:
        if room < 1:
            raise invalid(
                f"This model's context length is {context_length} tokens, but the prompt has "
                f"{prompt_tokens} tokens, leaving no room for a completion."
            )
        return min(DEFAULT_MAX_TOKENS, room)
    if prompt_tokens + requested > context_length:
        raise invalid(
            f"This model's context length is {context_length} tokens, but the request asks for "
            f"{prompt_tokens + requested} tokens ({prompt_tokens} in the prompt and "
            f"{requested} in 'max_tokens'); reduce the prompt or 'max_tokens'."
        )
    return requested
