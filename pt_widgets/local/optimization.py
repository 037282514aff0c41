"""``get-model-optimization-info``: is a version eligible, and what is one chunk?

What one replica of a local model really serves on this machine (input + output tokens
per second under a concurrent load) is measured once per model source and cached in
``calibration.json`` in the data dir. That figure is the model's capacity pool
(``capacity.py``), and the chunk is one ``PT_WIDGETS_CAPACITY_CHUNKS``-th of it (default a
quarter, rounded down to tens), so the pool is a whole number of chunks; the figures
differ between machines, exactly as a real chunk differs between model sizes. Model-unit
models (declared with the version tag ``pt_widgets.sizing=model_units``) are sized in
increments of ``MODEL_UNIT_CHUNK`` units, each increment worth one chunk.

The cache, and the wait for a measurement the start-up preparation is making, are
``calibration_cache.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .calibration_cache import CalibrationCache
from .capacity import chunks_per_pool
from .errors import invalid, missing_model, missing_version
from .registry import Registry, VersionDescriptor, read_json

MODEL_UNIT_CHUNK = 50
# DBUs per chunk: the figure a real Llama-2-7B endpoint reported for one chunk (24 DBU).
DBUS_PER_CHUNK = 24.0
SUPPORTED_TYPES = {"llama", "mistral", "mixtral", "dbrx", "mpt", "bert", "gte", "bge", "new"}
CALIBRATION_SECONDS_ENV = "PT_WIDGETS_CALIBRATION_SECONDS"


@dataclass
class Sizing:
    """How a served entity of this version is sized and how fast one chunk is."""

    scheme: str  # "tokens_per_second" or "model_units" (one vocabulary, client and server)
    chunk: int  # tokens/s per chunk, or model units per increment
    tokens_per_second_per_unit: float  # tokens/s that one unit of `chunk` buys
    pool: float = 0.0  # the model's capacity pool, in the scheme's units (a whole # of chunks)

    @property
    def pool_tps(self) -> float:
        """The pool in tokens/s, whichever scheme sizes the model."""
        return self.pool * self.tokens_per_second_per_unit


def model_type_of(desc: VersionDescriptor) -> str | None:
    """The architecture family, from config.json (or the ``model_type`` metadata GTE/BGE use)."""
    meta_type = str(desc.metadata.get("model_type", "")).lower()
    for family in ("gte", "bge"):
        if meta_type.startswith(family):
            return family
    if desc.kind == "gguf":
        return "llama"
    if not desc.path:
        return None
    base = Path(desc.path)
    for candidate in ("config.json", "model/config.json", "model.sentence_transformer/config.json"):
        config = read_json(base / candidate)
        if config.get("model_type"):
            return str(config["model_type"]).lower()
    for sub in sorted(base.glob("*/config.json")):
        config = read_json(sub)
        if config.get("model_type"):
            return str(config["model_type"]).lower()
    return None


class Optimizer:
    """Answers optimization info; the figures come from the calibration cache."""

    def __init__(self, registry: Registry, calibration: CalibrationCache) -> None:
        self.registry = registry
        self.calibration = calibration

    def describe(self, full_name: str, version: Any) -> VersionDescriptor:
        text = str(version)
        number = int(text) if text.isascii() and text.isdigit() else -1  # not "1_0", "²"
        if number < 1:
            raise invalid(f"'version' must be a positive integer, got '{version}'.")
        if self.registry.get_model(full_name) is None:
            raise missing_model(full_name)
        desc = self.registry.describe(full_name, number)
        if desc is None:
            raise missing_version(full_name, number)
        return desc

    def ineligible_reason(self, desc: VersionDescriptor) -> str | None:
        if desc.problem:
            return desc.problem
        if desc.task is None:
            return (
                f"{desc.full_name} version {desc.version} has no llm/v1/* task: log it with "
                "task='llm/v1/chat', 'llm/v1/completions' or 'llm/v1/embeddings'."
            )
        mtype = model_type_of(desc)
        if mtype not in SUPPORTED_TYPES:
            return (
                f"the architecture '{mtype}' of {desc.full_name} is not supported for "
                "provisioned throughput (supported: llama, mistral, mixtral, dbrx, mpt, "
                "bert/gte/bge)."
            )
        return None

    def info(self, full_name: str, version: Any) -> dict[str, Any]:
        desc = self.describe(full_name, version)
        reason = self.ineligible_reason(desc)
        if reason:
            return {"optimizable": False, "reason": reason}
        sizing = self.sizing(desc)
        body: dict[str, Any] = {"optimizable": True, "model_type": model_type_of(desc)}
        if sizing.scheme == "model_units":
            body["model_unit_chunk_size"] = sizing.chunk
        else:
            body["throughput_chunk_size"] = sizing.chunk
        body["dbus"] = DBUS_PER_CHUNK
        return body

    def sizing(self, desc: VersionDescriptor) -> Sizing:
        return sizing_at(desc, self.tokens_per_second(desc))

    def tokens_per_second(self, desc: VersionDescriptor) -> float:
        """One replica's measured tokens/s, from the cache or measured now (once)."""
        return self.calibration.measurement(desc)[0]


def sizing_at(desc: VersionDescriptor, measured: float) -> Sizing:
    """The sizing of ``desc`` when one replica of it serves ``measured`` tokens/s."""
    chunks = chunks_per_pool()
    if desc.sizing == "model_units":
        units = MODEL_UNIT_CHUNK * chunks
        return Sizing("model_units", MODEL_UNIT_CHUNK, measured / units, pool=units)
    chunk = max(10, int(measured / chunks // 10 * 10))
    return Sizing("tokens_per_second", chunk, 1.0, pool=chunk * chunks)
