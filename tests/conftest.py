"""Shared fixtures: a REAL local workspace server process, reached over HTTP.

``workspace`` is one server per test session (models load once). ``start_workspace``
starts extra servers on their own data dirs, for restart and kill -9 tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import ServerProcess


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

