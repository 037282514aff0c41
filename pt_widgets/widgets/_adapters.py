"""Thin private adapters for what the widgets need and the Python API does not (yet) offer.

Each one is built only from public API calls and objects; the lead is told about each gap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..workspace import Workspace

CHAT = "llm/v1/chat"
COMPLETIONS = "llm/v1/completions"
EMBEDDINGS = "llm/v1/embeddings"

# architectures that Databricks serves as embedding models with provisioned throughput
_EMBEDDING_TYPES = {"bert", "gte", "bge", "new", "xlm-roberta", "roberta", "mpnet", "nomic_bert"}


def task_of(info: Any, endpoint_task: str | None = None) -> str:
    """The ``llm/v1/*`` task of a model version.

    GAP: optimization info carries ``model_type`` but not the task the version was logged
    with. An endpoint's ``task`` is authoritative once deployed; before that the task is read
    from the info if the workspace sends it, else inferred from the architecture family
    (encoders serve embeddings, decoders chat). "" when unknown (e.g. not optimizable).
    """
    if endpoint_task:
        return normalize_task(endpoint_task)
    raw = getattr(info, "raw", None) or {}
    if raw.get("task"):
        return normalize_task(str(raw["task"]))
    model_type = str(getattr(info, "model_type", None) or "").lower()
    if not model_type:
        return ""
    return EMBEDDINGS if model_type in _EMBEDDING_TYPES else CHAT


def normalize_task(task: str) -> str:
    """``llm/v1/chat`` from ``chat``, ``llm/v1/chat`` or ``CHAT``."""
    text = task.strip().lower()
    if text in ("chat", "completions", "embeddings"):
        return f"llm/v1/{text}"
    return text


def modes_for(task: str) -> list[str]:
    """Which playground forms a task supports (chat models also answer completions)."""
    task = normalize_task(task or "")
    if task == EMBEDDINGS:
        return ["embeddings"]
    if task == COMPLETIONS:
        return ["completions"]
    if task == CHAT:
        return ["chat", "completions"]
    return ["chat", "completions", "embeddings"]


def endpoint_items(ws: Workspace) -> list[dict[str, Any]]:
    """The workspace's endpoints as the endpoint choosers list them (name, task, ready)."""
    from ..endpoints import list_endpoints

    return [{"name": e.name, "task": normalize_task(e.task or ""), "ready": e.is_ready}
            for e in sorted(list_endpoints(ws), key=lambda e: e.name)]
