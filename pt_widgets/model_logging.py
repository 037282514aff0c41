"""Log a transformers model so provisioned throughput accepts it, and register it in UC.

PT eligibility depends on how the model was logged (docs/mlflow.md §1, §2):

* chat/completions: ``mlflow.transformers.log_model(task="llm/v1/chat"|"llm/v1/completions")``;
  MLflow < 2.12 also needs the task in ``metadata`` (newer versions write it themselves, and
  reject a metadata task that disagrees with ``task=``);
* embeddings: the sentence-transformers flavor (the transformers flavor pools the CLS token
  and gives different vectors), whose ``log_model`` *drops* ``task``; the tested workaround
  is ``Model.log(flavor=mlflow.sentence_transformers, task="llm/v1/embeddings")``, which
  forwards it to ``save_model``. GTE/BGE fine-tunes also need ``metadata["model_type"]``.

Target: a Databricks workspace (tracking ``databricks``, registry ``databricks-uc``) or the
local workspace (its host is an MLflow tracking server). mlflow, torch and transformers are
imported only inside these functions, so ``import pt_widgets`` stays light.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from .workspace import Workspace

__all__ = [
    "CHAT",
    "COMPLETIONS",
    "EMBEDDINGS",
    "LoggedModel",
    "check_registered_name",
    "embedding_model_type",
    "logging_metadata",
    "mlflow_target",
    "log_transformers_model",
    "log_chat_model",
    "log_completions_model",
    "log_embeddings_model",
]

CHAT = "llm/v1/chat"
COMPLETIONS = "llm/v1/completions"
EMBEDDINGS = "llm/v1/embeddings"
TASKS = (CHAT, COMPLETIONS, EMBEDDINGS)
_PART = re.compile(r"^[A-Za-z0-9_-]+$")
_MLFLOW_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_TRACKING_TOKEN",
               "DATABRICKS_HOST", "DATABRICKS_TOKEN")


@dataclass(frozen=True)
class LoggedModel:
    """Where the model went: its UC name and new version, and the MLflow URIs."""

    registered_name: str
    version: int
    task: str
    model_uri: str
    run_id: str | None


# --------------------------------------------------------------------------- pure rules


def check_registered_name(name: str) -> str:
    """UC needs ``catalog.schema.model`` with letters, digits, ``_`` or ``-`` in each part."""
    parts = name.split(".") if isinstance(name, str) else []
    if len(parts) != 3 or not all(_PART.match(p) for p in parts):
        raise ValidationError(
            f"Registered model name {name!r} must have three parts, catalog.schema.model "
            "(e.g. 'main.default.my_chat_model')."
        )
    return name


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def embedding_model_type(name: str) -> str | None:
    """The ``model_type`` Databricks expects for GTE/BGE embedding fine-tunes, from a name."""
    lowered = name.lower()
    for family in ("gte", "bge"):
        if re.search(rf"(^|[^a-z]){family}([^a-z]|$)", lowered):
            return f"{family}-large"
    return None


def logging_metadata(
    task: str,
    mlflow_version: str,
    *,
    model_type: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The MLmodel ``metadata`` to log with ``task``.

    The task goes in only for MLflow < 2.12, which does not write it itself; ``model_type``
    only for embeddings (GTE/BGE serving reads it).
    """
    if task not in TASKS:
        raise ValidationError(f"task must be one of {', '.join(TASKS)}, not {task!r}.")
    metadata = dict(extra or {})
    if _version_tuple(mlflow_version) < (2, 12):
        metadata["task"] = task
    if task == EMBEDDINGS and model_type:
        metadata["model_type"] = model_type
    return metadata


# --------------------------------------------------------------------------- MLflow target


@contextmanager
def mlflow_target(ws: Workspace) -> Iterator[None]:
    """Point MLflow at ``ws`` for the duration of a block, then restore everything.

    Local workspace: its host is the tracking and registry server, the token goes in
    ``MLFLOW_TRACKING_TOKEN``. Databricks: ``databricks`` + ``databricks-uc`` (with the
    profile, if the workspace came from one), credentials via ``DATABRICKS_HOST``/``TOKEN``
    for PAT auth; other auth types are resolved by MLflow through the SDK as usual.
    """
    import mlflow

    saved_env = {k: os.environ.get(k) for k in _MLFLOW_ENV}
    saved_uris = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    config = ws._config  # noqa: SLF001 - credentials stay inside the package
    try:
        if ws.is_local:
            os.environ["MLFLOW_TRACKING_TOKEN"] = str(config.token or "")
            mlflow.set_tracking_uri(ws.host)
            mlflow.set_registry_uri(ws.host)
        else:
            profile = f"://{config.profile}" if config.profile else ""
            if config.auth_type == "pat" and not profile:
                os.environ["DATABRICKS_HOST"] = ws.host
                os.environ["DATABRICKS_TOKEN"] = str(config.token)
            mlflow.set_tracking_uri(f"databricks{profile}")
            mlflow.set_registry_uri(f"databricks-uc{profile}")
        yield
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        mlflow.set_tracking_uri(saved_uris[0])
        mlflow.set_registry_uri(saved_uris[1])


def _experiment(ws: Workspace, experiment: str | None) -> str:
    """A default experiment that exists on both targets (Databricks wants a workspace path)."""
    if experiment:
        return experiment
    return "pt_widgets" if ws.is_local else "/Shared/pt_widgets"


def _result(info: Any, registered_name: str, task: str) -> LoggedModel:
    version = getattr(info, "registered_model_version", None)
    if version is None:  # older MLflow: ask the registry for the newest version
        from mlflow import MlflowClient

        versions = MlflowClient().search_model_versions(f"name = '{registered_name}'")
        version = max(int(v.version) for v in versions)
    return LoggedModel(registered_name, int(version), task, info.model_uri,
                       getattr(info, "run_id", None))


def _name_kwargs(mlflow_version: str, positional_path: bool = False) -> dict[str, str | None]:
    """MLflow 3 calls the artifact ``name``; MLflow 2 ``artifact_path`` (``Model.log`` takes
    ``artifact_path`` positionally, so it must be passed as ``None`` beside ``name``)."""
    if _version_tuple(mlflow_version) < (3,):
        return {"artifact_path": "model"}
    return {"artifact_path": None, "name": "model"} if positional_path else {"name": "model"}


# --------------------------------------------------------------------------- logging


def log_transformers_model(
    ws: Workspace,
    model: Any,
    registered_name: str,
    task: str,
    *,
    tokenizer: Any = None,
    experiment: str | None = None,
    pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    **log_kwargs: Any,
) -> LoggedModel:
    """Log a transformers chat/completions model with ``task`` and register it in UC.

    ``model`` is a ``transformers`` Pipeline, a ``{"model", "tokenizer"}`` dict, or a model
    object with ``tokenizer=``. ``pip_requirements`` defaults to mlflow/torch/transformers
    (inferring them pins packages that may not install, see docs/mlflow.md gotcha 1).
    """
    if task not in (CHAT, COMPLETIONS):
        raise ValidationError(
            f"task must be {CHAT!r} or {COMPLETIONS!r} here; embeddings go through "
            "log_embeddings_model (the sentence-transformers flavor)."
        )
    check_registered_name(registered_name)
    import mlflow

    if tokenizer is not None and not isinstance(model, dict):
        model = {"model": model, "tokenizer": tokenizer}
    with mlflow_target(ws):
        mlflow.set_experiment(_experiment(ws, experiment))
        with mlflow.start_run():
            info = mlflow.transformers.log_model(
                transformers_model=model,
                task=task,
                registered_model_name=registered_name,
                metadata=logging_metadata(task, mlflow.__version__, extra=metadata),
                pip_requirements=pip_requirements or ["mlflow", "torch", "transformers"],
                **_name_kwargs(mlflow.__version__),
                **log_kwargs,
            )
        return _result(info, registered_name, task)


def log_chat_model(ws: Workspace, model: Any, registered_name: str, **kwargs: Any) -> LoggedModel:
    """:func:`log_transformers_model` with ``task="llm/v1/chat"`` (needs a chat template)."""
    return log_transformers_model(ws, model, registered_name, CHAT, **kwargs)


def log_completions_model(ws: Workspace, model: Any, registered_name: str,
                          **kwargs: Any) -> LoggedModel:
    """:func:`log_transformers_model` with ``task="llm/v1/completions"``."""
    return log_transformers_model(ws, model, registered_name, COMPLETIONS, **kwargs)


def log_embeddings_model(
    ws: Workspace,
    model: Any,
    registered_name: str,
    *,
    model_type: str | None = None,
    experiment: str | None = None,
    pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    **log_kwargs: Any,
) -> LoggedModel:
    """Log a sentence-transformers model with ``task="llm/v1/embeddings"`` and register it.

    ``model`` is a ``SentenceTransformer`` or a path to one. ``model_type`` (``gte-large``,
    ``bge-large``…) is guessed from the model/registered name for GTE/BGE fine-tunes.
    Uses ``Model.log`` because ``mlflow.sentence_transformers.log_model`` drops ``task``.
    """
    check_registered_name(registered_name)
    import mlflow
    import mlflow.sentence_transformers
    from mlflow.models import Model

    if isinstance(model, (str, os.PathLike)):
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(model))
    guess_from = " ".join([registered_name, str(getattr(model, "model_card_data", "") or "")])
    model_type = model_type or embedding_model_type(guess_from)
    with mlflow_target(ws):
        mlflow.set_experiment(_experiment(ws, experiment))
        with mlflow.start_run():
            info = Model.log(
                flavor=mlflow.sentence_transformers,
                model=model,
                task=EMBEDDINGS,
                registered_model_name=registered_name,
                metadata=logging_metadata(EMBEDDINGS, mlflow.__version__, model_type=model_type,
                                          extra=metadata),
                pip_requirements=pip_requirements
                or ["mlflow", "sentence-transformers", "torch"],
                **_name_kwargs(mlflow.__version__, positional_path=True),
                **log_kwargs,
            )
        return _result(info, registered_name, EMBEDDINGS)
