"""Jupyter widgets and a Python API for provisioned-throughput model serving.

``import pt_widgets`` imports nothing else: every public name below is loaded on first use,
so the import stays cheap and makes no network call. Start with::

    import pt_widgets
    ws = pt_widgets.connect()          # Databricks config, or the running local workspace
    ws.chat("my-endpoint", "Hello!").text
    pt_widgets.query_history()        # every query of the session, as a DataFrame
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> (module relative to this package, attribute)
_LAZY: dict[str, tuple[str, str]] = {
    # connect
    "connect": (".workspace", "connect"),
    "Workspace": (".workspace", "Workspace"),
    "RetryPolicy": (".transport", "RetryPolicy"),
    "find_local_workspace": (".workspace", "find_local_workspace"),
    # catalog
    "list_catalogs": (".catalog", "list_catalogs"),
    "list_schemas": (".catalog", "list_schemas"),
    "list_models": (".catalog", "list_models"),
    "list_versions": (".catalog", "list_versions"),
    # sizing
    "OptimizationInfo": (".wire", "OptimizationInfo"),
    "SizingPlan": (".sizing", "SizingPlan"),
    "Sizing": (".sizing", "Sizing"),
    "Estimate": (".sizing", "Estimate"),
    "get_optimization_info": (".sizing", "get_optimization_info"),
    "sizing_plan": (".sizing", "sizing_plan"),
    # endpoints
    "deploy": (".endpoints", "deploy"),
    "wait_until_ready": (".endpoints", "wait_until_ready"),
    "deploy_in_background": (".endpoints", "deploy_in_background"),
    "Deployment": (".endpoints", "Deployment"),
    "Progress": (".endpoints", "Progress"),
    "suggest_endpoint_name": (".endpoints", "suggest_endpoint_name"),
    "ServingEndpoint": (".wire", "ServingEndpoint"),
    # rollout
    "add_entity": (".rollout", "add_entity"),
    "set_traffic": (".rollout", "set_traffic"),
    "promote": (".rollout", "promote"),
    "rollback": (".rollout", "rollback"),
    "remove_entity": (".rollout", "remove_entity"),
    # queries
    "chat": (".queries", "chat"),
    "completions": (".queries", "completions"),
    "embeddings": (".queries", "embeddings"),
    "stream_chat": (".queries", "stream_chat"),
    "QueryResult": (".results", "QueryResult"),
    "EmbeddingsResult": (".results", "EmbeddingsResult"),
    "ChatStream": (".queries", "ChatStream"),
    # batch
    "batch_chat": (".batch", "batch_chat"),
    "batch_completions": (".batch", "batch_completions"),
    "batch_embeddings": (".batch", "batch_embeddings"),
    # compare and load test
    "compare_endpoints": (".compare", "compare_endpoints"),
    "compare_summary": (".compare", "compare_summary"),
    "compare_wide": (".compare", "compare_wide"),
    "Target": (".compare", "Target"),
    "load_test": (".loadtest", "load_test"),
    "plan_load_test": (".loadtest", "plan_load_test"),
    "endpoint_capacity": (".loadtest", "endpoint_capacity"),
    "LoadTest": (".loadtest", "LoadTest"),
    "LoadTestPlan": (".loadtest", "LoadTestPlan"),
    "LoadTestResult": (".loadtest", "LoadTestResult"),
    "Recommendation": (".loadtest", "Recommendation"),
    # monitor
    "metrics_snapshot": (".monitor", "metrics_snapshot"),
    "MetricsSnapshot": (".monitor", "MetricsSnapshot"),
    "Monitor": (".monitor", "Monitor"),
    # history
    "query_history": (".history", "query_history"),
    "clear_history": (".history", "clear_history"),
    # model logging
    "log_chat_model": (".model_logging", "log_chat_model"),
    "log_completions_model": (".model_logging", "log_completions_model"),
    "log_embeddings_model": (".model_logging", "log_embeddings_model"),
    # widgets (anywidget + ipywidgets load only when one is used)
    "App": (".widgets", "App"),
    "ModelPicker": (".widgets", "ModelPicker"),
    "ThroughputSlider": (".widgets", "ThroughputSlider"),
    "DeployPanel": (".widgets", "DeployPanel"),
    "Playground": (".widgets", "Playground"),
    "EndpointsTable": (".widgets", "EndpointsTable"),
    "ComparePanel": (".widgets", "ComparePanel"),
    "LoadTestPanel": (".widgets", "LoadTestPanel"),
    "MonitorPanel": (".widgets", "MonitorPanel"),
    "GovernancePanel": (".widgets", "GovernancePanel"),
    "ExternalModelForm": (".widgets", "ExternalModelForm"),
    # errors
    "PtWidgetsError": (".errors", "PtWidgetsError"),
    "ApiError": (".errors", "ApiError"),
    "AuthenticationError": (".errors", "AuthenticationError"),
    "NotConfigured": (".errors", "NotConfigured"),
    "NotFound": (".errors", "NotFound"),
    "RateLimited": (".errors", "RateLimited"),
    "WorkspaceUnreachable": (".errors", "WorkspaceUnreachable"),
    "SizingError": (".errors", "SizingError"),
    "NotOptimizable": (".errors", "NotOptimizable"),
    "DeploymentFailed": (".errors", "DeploymentFailed"),
    "WaitTimeout": (".errors", "WaitTimeout"),
    "Cancelled": (".errors", "Cancelled"),
}

__all__ = [
    "__version__",
    "App",
    "ModelPicker",
    "ThroughputSlider",
    "DeployPanel",
    "Playground",
    "EndpointsTable",
    "ComparePanel",
    "LoadTestPanel",
    "MonitorPanel",
    "GovernancePanel",
    "ExternalModelForm",
    "connect",
    "Workspace",
    "RetryPolicy",
    "find_local_workspace",
    "list_catalogs",
    "list_schemas",
    "list_models",
    "list_versions",
    "OptimizationInfo",
    "SizingPlan",
    "Sizing",
    "Estimate",
    "get_optimization_info",
    "sizing_plan",
    "deploy",
    "wait_until_ready",
    "deploy_in_background",
    "Deployment",
    "Progress",
    "suggest_endpoint_name",
    "ServingEndpoint",
    "add_entity",
    "set_traffic",
    "promote",
    "rollback",
    "remove_entity",
    "chat",
    "completions",
    "embeddings",
    "stream_chat",
    "QueryResult",
    "EmbeddingsResult",
    "ChatStream",
    "batch_chat",
    "batch_completions",
    "batch_embeddings",
    "compare_endpoints",
    "compare_summary",
    "compare_wide",
    "Target",
    "load_test",
    "plan_load_test",
    "endpoint_capacity",
    "LoadTest",
    "LoadTestPlan",
    "LoadTestResult",
    "Recommendation",
    "metrics_snapshot",
    "MetricsSnapshot",
    "Monitor",
    "query_history",
    "clear_history",
    "log_chat_model",
    "log_completions_model",
    "log_embeddings_model",
    "PtWidgetsError",
    "ApiError",
    "AuthenticationError",
    "NotConfigured",
    "NotFound",
    "RateLimited",
    "WorkspaceUnreachable",
    "SizingError",
    "NotOptimizable",
    "DeploymentFailed",
    "WaitTimeout",
    "Cancelled",
]


def __getattr__(name: str) -> Any:
    """Import the module behind a public name on first access (PEP 562)."""
    if name == "__version__":
        globals()[name] = _installed_version()
        return globals()[name]
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pt_widgets' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), attr)
    globals()[name] = value
    return value


def _installed_version() -> str:
    """The distribution's version, from its metadata: it is typed once, in ``pyproject.toml``.
    Read on first use, so ``import pt_widgets`` does not pay for ``importlib.metadata``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pt_widgets")
    except PackageNotFoundError:  # a source tree put on sys.path without installing it
        return "0.0.0+unknown"  # semver: databricks-sdk checks the user agent


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"__version__"})


if TYPE_CHECKING:  # pragma: no cover - for editors and type checkers only
    from .batch import batch_chat, batch_completions, batch_embeddings
    from .catalog import list_catalogs, list_models, list_schemas, list_versions
    from .compare import Target, compare_endpoints, compare_summary, compare_wide
    from .endpoints import (
        Deployment,
        Progress,
        deploy,
        deploy_in_background,
        suggest_endpoint_name,
        wait_until_ready,
    )
    from .errors import (
        ApiError,
        AuthenticationError,
        Cancelled,
        DeploymentFailed,
        NotConfigured,
        NotFound,
        NotOptimizable,
        PtWidgetsError,
        RateLimited,
        SizingError,
        WaitTimeout,
        WorkspaceUnreachable,
    )
    from .history import clear_history, query_history
    from .loadtest import (
        LoadTest,
        LoadTestPlan,
        LoadTestResult,
        Recommendation,
        endpoint_capacity,
        load_test,
        plan_load_test,
    )
    from .model_logging import log_chat_model, log_completions_model, log_embeddings_model
    from .monitor import MetricsSnapshot, Monitor, metrics_snapshot
    from .queries import (
        ChatStream,
        EmbeddingsResult,
        QueryResult,
        chat,
        completions,
        embeddings,
        stream_chat,
    )
    from .rollout import add_entity, promote, remove_entity, rollback, set_traffic
    from .sizing import Estimate, Sizing, SizingPlan, get_optimization_info, sizing_plan
    from .transport import RetryPolicy
    from .widgets import (
        App,
        ComparePanel,
        DeployPanel,
        EndpointsTable,
        ExternalModelForm,
        GovernancePanel,
        LoadTestPanel,
        ModelPicker,
        MonitorPanel,
        Playground,
        ThroughputSlider,
    )
    from .wire import OptimizationInfo, ServingEndpoint
    from .workspace import Workspace, connect, find_local_workspace
