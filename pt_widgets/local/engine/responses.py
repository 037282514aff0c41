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


def chat_response(
    rid: str, created: int, model: str, choices: list[dict[str, Any]], use: dict[str, int]
) -> dict[str, Any]:
    """``choices`` items: index, text, finish_reason, logprobs (already shaped)."""
    return {
        "id": rid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": c["index"],
                "message": {"role": "assistant", "content": c["text"]},
                "finish_reason": c["finish_reason"],
                "logprobs": c["logprobs"],
            }
            for c in choices
        ],
        "usage": use,
    }


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
    return {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [
            {"index": index, "delta": delta, "finish_reason": finish_reason, "logprobs": logprobs}
        ],
        "usage": use,
    }


def completion_response(
    rid: str, created: int, model: str, choices: list[dict[str, Any]], use: dict[str, int]
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": c["index"],
                "text": c["text"],
                "finish_reason": c["finish_reason"],
                "logprobs": c["logprobs"],
            }
            for c in choices
        ],
        "usage": use,
    }


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
    return {
        "id": rid,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": index, "text": text, "finish_reason": finish_reason, "logprobs": logprobs}
        ],
        "usage": use,
    }


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
