"""Query bodies parsed into the engine's request objects, with Databricks-style 400s.

The shapes (field names, types, ranges) are the pydantic models of
``pt_widgets.local.schemas.queries``; a body that does not fit raises
:func:`pt_widgets.local.errors.invalid` with one sentence that names the field and the rule.
What spans fields (``top_logprobs`` needs ``logprobs``, prompt + ``max_tokens`` against the
context) stays here. ``null`` for an optional parameter means "absent", because
OpenAI-style clients sometimes send explicit nulls. Fields the engine cannot honour
(``tools``, ``response_format``, ...) are accepted and logged as having no local effect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pt_widgets.local.errors import invalid
from pt_widgets.local.schemas import queries as q
from pt_widgets.local.schemas.problems import sentence

log = logging.getLogger("pt_widgets.local")
DEFAULT_MAX_TOKENS = 256
DEFAULT_TEMPERATURE = 1.0
Model = TypeVar("Model", bound=BaseModel)


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


@dataclass(kw_only=True)
class GenerationRequest:
    params: SamplingParams
    n: int = 1
    stream: bool = False


@dataclass(kw_only=True)
class ChatRequest(GenerationRequest):
    messages: list[dict[str, str]]


@dataclass(kw_only=True)
class CompletionRequest(GenerationRequest):
    prompts: list[str]


@dataclass
class EmbeddingRequest:
    inputs: list[str]
    encoding_format: str = "float"
    extra: dict[str, Any] = field(default_factory=dict)


def validated(model: type[Model], body: Any) -> Model:
    """``body`` as ``model``, or a 400 naming the first problem."""
    try:
        parsed = model.model_validate(body)
    except ValidationError as exc:
        raise invalid(sentence(exc.errors(), model)) from None
    inert = [name for name in q.INERT if getattr(parsed, name, None) is not None]
    if inert:
        log.info("query fields with no local effect (accepted, ignored): %s", ", ".join(inert))
    return parsed


def sampling(req: q.GenerationRequest, logprobs: bool, top_logprobs: int) -> SamplingParams:
    """``top_logprobs`` only with ``logprobs`` (OpenAI's rule)."""
    if req.top_logprobs is not None:
        if not logprobs:
            raise invalid("'top_logprobs' can only be set when 'logprobs' is true.")
        top_logprobs = req.top_logprobs
    return SamplingParams(
        max_tokens=req.max_tokens,
        temperature=DEFAULT_TEMPERATURE if req.temperature is None else req.temperature,
        top_p=1.0 if req.top_p is None else req.top_p,
        top_k=req.top_k or 0,
        stop=tuple(dict.fromkeys(req.stop or ())),
        logprobs=logprobs,
        top_logprobs=top_logprobs,
    )


def parse_chat(body: Any) -> ChatRequest:
    req = validated(q.ChatCompletionRequest, body)
    return ChatRequest(
        messages=[{"role": m.role, "content": m.content} for m in req.messages],
        params=sampling(req, bool(req.logprobs), 0),
        n=req.n or 1,
        stream=bool(req.stream),
    )


def parse_completions(body: Any) -> CompletionRequest:
    """``logprobs`` is a boolean; completions also take the legacy OpenAI integer (= top N)."""
    req = validated(q.CompletionRequest, body)
    legacy_top = req.logprobs if type(req.logprobs) is int else 0
    return CompletionRequest(
        prompts=list(req.prompt),
        params=sampling(req, req.logprobs is not None and req.logprobs is not False, legacy_top),
        n=req.n or 1,
        stream=bool(req.stream),
    )


def parse_embeddings(body: Any) -> EmbeddingRequest:
    req = validated(q.EmbeddingsRequest, body)
    return EmbeddingRequest(inputs=list(req.input), encoding_format=req.encoding_format or "float")


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
