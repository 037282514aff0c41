"""Response bodies in the OpenAI / Databricks shapes (``databricks-api.md`` §3.3-3.4)."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import numpy as np


def new_id(prefix: str) -> str:
    """Ids like Databricks': ``chatcmpl_<uuid hex>``."""
    return f"{prefix}_{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def logprobs_block(entries: list[dict[str, Any]] | None, wanted: bool) -> dict[str, Any] | None:
    return {"content": list(entries or [])} if wanted else None


def answer(kind: str, rid: str, created: int, model: str, choices: list[dict[str, Any]],
           use: dict[str, int]) -> dict[str, Any]:
    """The envelope every chat/completion answer and chunk shares (``schemas.queries``)."""
    return {"id": rid, "object": kind, "created": created, "model": model, "choices": choices,
            "usage": use}


def choice(index: int, finish_reason: str | None, logprobs: dict[str, Any] | None,
           **content: Any) -> dict[str, Any]:
    """One choice: ``message``, ``delta`` or ``text`` between its index and finish reason."""
    return {"index": index, **content, "finish_reason": finish_reason, "logprobs": logprobs}


def chat_response(
    rid: str, created: int, model: str, choices: list[dict[str, Any]], use: dict[str, int]
) -> dict[str, Any]:
    """``choices`` items: index, text, finish_reason, logprobs (already shaped)."""
    return answer("chat.completion", rid, created, model, [
        choice(c["index"], c["finish_reason"], c["logprobs"],
               message={"role": "assistant", "content": c["text"]}) for c in choices], use)


def chat_chunk(
    rid: str,
    created: int,
    model: str,
    index: int,
    delta: dict[str, Any],
    finish_reason: str | None,
    logprobs: dict[str, Any] | None,
    use: dict[str, int],
) -> dict[str, Any]:
    return answer("chat.completion.chunk", rid, created, model,
                  [choice(index, finish_reason, logprobs, delta=delta)], use)


def completion_response(
    rid: str, created: int, model: str, choices: list[dict[str, Any]], use: dict[str, int]
) -> dict[str, Any]:
    return answer("text_completion", rid, created, model, [
        choice(c["index"], c["finish_reason"], c["logprobs"], text=c["text"])
        for c in choices], use)


def completion_chunk(
    rid: str,
    created: int,
    model: str,
    index: int,
    text: str,
    finish_reason: str | None,
    logprobs: dict[str, Any] | None,
    use: dict[str, int],
) -> dict[str, Any]:
    """OpenAI streams completions as ``text_completion`` objects holding one choice each."""
    return answer("text_completion", rid, created, model,
                  [choice(index, finish_reason, logprobs, text=text)], use)


def embeddings_response(
    model: str, vectors: np.ndarray, prompt_tokens: int, encoding_format: str = "float"
) -> dict[str, Any]:
    """``base64`` is float32 little-endian, as the openai client decodes it."""
    data = []
    for i, v in enumerate(vectors):
        if encoding_format == "base64":
            emb: Any = base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii")
        else:
            emb = [float(x) for x in v]
        data.append({"object": "embedding", "index": i, "embedding": emb})
    return {
        "object": "list",
        "model": model,
        "data": data,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
