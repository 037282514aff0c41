"""Shared fixtures: a REAL local workspace server process, reached over HTTP.

``workspace`` is one server per test session (models load once). ``start_workspace``
starts extra servers on their own data dirs, for restart and kill -9 tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import BULK_MODELS, ServerProcess, seed_models


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("workspace")).start()
    yield server
    server.stop()


@pytest.fixture
def start_workspace(tmp_path) -> Iterator:
    started: list[ServerProcess] = []

    def start(data_dir: Path | None = None, **env: str) -> ServerProcess:
        server = ServerProcess(data_dir or tmp_path / f"ws{len(started)}", env=env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()



@pytest.fixture(scope="session")
def bulk_workspace(tmp_path_factory) -> Iterator[ServerProcess]:
    """A second server whose schema ``bulk.models`` holds 10,000 registered models."""
    server = ServerProcess(tmp_path_factory.mktemp("bulk")).start()
    seed_models(server.data_dir, "bulk", "models", BULK_MODELS)
    yield server
    server.stop()


@pytest.fixture
def mlflow_deploy_client(workspace, monkeypatch):
    """``mlflow.deployments.get_deploy_client("databricks")`` configured the documented way:
    ``DATABRICKS_HOST``/``DATABRICKS_TOKEN`` in the environment (for this test only: it
    reads them on every call, and other tests must not see them)."""
    from mlflow.deployments import get_deploy_client

    monkeypatch.setenv("DATABRICKS_HOST", workspace.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", workspace.token)
    return get_deploy_client("databricks")
