"""``get-model-optimization-info``: is a version eligible, and what is one chunk?

For a local model the chunk is what one replica of it really serves on this machine
(input + output tokens per second under a concurrent load), measured once per model
source and cached in ``calibration.json`` in the data dir; the figure therefore differs
between machines, exactly as a real chunk differs between model sizes. Model-unit
models (declared with the version tag ``pt_widgets.sizing=model_units``) are sized in
increments of ``MODEL_UNIT_CHUNK`` units, one replica being worth that many units.

A source can be *claimed* by the start-up preparation (``preparation.py``) before the server
listens: a request that needs a claimed source's figure waits until the preparation has
measured it (or gave up), so no answer ever carries a chunk that a moment later changes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    """Answers optimization info and owns the calibration cache."""

    def __init__(self, registry: Registry, data_dir: Path, measure) -> None:
        self.registry = registry
        self.path = data_dir / "calibration.json"
        self.measure = measure  # callable(desc) -> tokens/s of one replica
        self._lock = threading.Lock()  # one measurement at a time: they would share the CPU
        self._claims = threading.Condition()
        self._claimed: set[str] = set()  # sources the start-up preparation will measure

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
        return self.sizing_at(desc, self.tokens_per_second(desc))

    @staticmethod
    def sizing_at(desc: VersionDescriptor, measured: float) -> Sizing:
        """The sizing of ``desc`` when one replica serves ``measured`` tokens/s."""
        if desc.sizing == "model_units":
            return Sizing("model_units", MODEL_UNIT_CHUNK, measured / MODEL_UNIT_CHUNK)
        chunk = max(10, int(measured // 10 * 10))
        return Sizing("tokens_per_second", chunk, 1.0)

    def tokens_per_second(self, desc: VersionDescriptor) -> float:
        """One replica's measured tokens/s, from the cache or measured now (once)."""
        return self.measurement(desc)[0]

    @staticmethod
    def source_key(desc: VersionDescriptor) -> str:
        """The calibration cache's key: versions of one weights file share one figure."""
        return f"{desc.kind}:{desc.path}:{desc.filename or ''}"

    def cached_keys(self) -> set[str]:
        """The sources whose figure ``calibration.json`` already holds."""
        return set(read_json(self.path))

    def claim(self, desc: VersionDescriptor) -> str:
        """Reserve ``desc``'s measurement for the caller (the start-up preparation): others
        wait in :meth:`measurement` until :meth:`release`."""
        key = self.source_key(desc)
        with self._claims:
            self._claimed.add(key)
        return key

    def release(self, key: str) -> None:
        with self._claims:
            self._claimed.discard(key)
            self._claims.notify_all()

    def measurement(self, desc: VersionDescriptor, claimed: bool = False
                    ) -> tuple[float, float | None]:
        """(tokens/s, seconds the measurement took, or None when read from the cache).

        ``claimed``: the caller holds the claim on this source (the preparation itself);
        everyone else first waits for a claim on it to be released.
        """
        key = self.source_key(desc)
        if not claimed:
            with self._claims:
                self._claims.wait_for(lambda: key not in self._claimed)
        with self._lock:
            cache = read_json(self.path)
            if key in cache:
                return float(cache[key]["tokens_per_second"]), None
            started = time.monotonic()
            value = round(float(self.measure(desc)), 1)  # what later reads of the cache see
            seconds = round(time.monotonic() - started, 1)
            cache = read_json(self.path)
            cache[key] = {
                "tokens_per_second": value,
                "measured_at": int(time.time()),
                "seconds": seconds,
                "cpus": os.cpu_count(),
            }
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(cache, indent=1))
            tmp.replace(self.path)
            return value, seconds
