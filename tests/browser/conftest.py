"""Browser fixtures: one JupyterLab per session, pointed at the session's local workspace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .lab import LabServer, browser_page, chromium


@pytest.fixture(scope="session")
def lab(workspace, tmp_path_factory) -> Iterator[LabServer]:
    chromium()  # fail at once, in one sentence, when the browser is missing
    home = tmp_path_factory.mktemp("pt_home")
    server = LabServer(tmp_path_factory.mktemp("lab"), env={
        "DATABRICKS_HOST": workspace.host,
        "DATABRICKS_TOKEN": workspace.token,
        "PT_WIDGETS_HOME": str(home),
    }).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(lab) -> Iterator:
    with browser_page() as p:
        p.console_errors = []
        p.on("console", lambda m: m.type == "error" and p.console_errors.append(m.text))
        p.on("pageerror", lambda e: p.console_errors.append(str(e)))
        yield p
        assert p.outside_requests == [], f"requests left the machine: {p.outside_requests}"
