"""Governance fixtures: one REAL local workspace process of its own, and users made with the
real CLI (``pt-widgets local token create``) on its data dir while it runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from databricks.sdk import WorkspaceClient

from ..support import ServerProcess, server_env


@pytest.fixture(scope="package")
def gov_server(tmp_path_factory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("governance"),
                           env={"PT_WIDGETS_CALIBRATION_SECONDS": "2"}).start()
    yield server
    server.stop()


def token_cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess:
    """``pt-widgets local token ...`` on the server's data dir, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "pt_widgets.local", "token", *args,
                           "--data-dir", str(server.data_dir)],
                          capture_output=True, text=True, env=server_env(), timeout=120)


def new_token(server: ServerProcess, user: str, comment: str = "") -> str:
    done = token_cli(server, "create", "--user", user, "--comment", comment)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def client(server: ServerProcess, token: str) -> WorkspaceClient:
    return WorkspaceClient(host=server.host, token=token)


@pytest.fixture(scope="package")
def admin(gov_server) -> WorkspaceClient:
    return client(gov_server, gov_server.token)


@pytest.fixture(scope="package")
def alice_token(gov_server) -> str:
    return new_token(gov_server, "alice@example.com", "alice's laptop")


@pytest.fixture(scope="package")
def alice(gov_server, alice_token) -> WorkspaceClient:
    return client(gov_server, alice_token)


@pytest.fixture(scope="package")
def bob(gov_server) -> WorkspaceClient:
    return client(gov_server, new_token(gov_server, "bob@example.com"))


UPSTREAM_CHAT = "up-chat"
UPSTREAM_EMBED = "up-embed"


@pytest.fixture(scope="package")
def upstream(tmp_path_factory) -> Iterator[ServerProcess]:
    """A second local workspace: the OpenAI-compatible engine external models point at."""
    from ..support import deploy

    server = ServerProcess(tmp_path_factory.mktemp("upstream"),
                           token="dapi-upstream-secret-token-4242",
                           env={"PT_WIDGETS_CALIBRATION_SECONDS": "2"}).start()
    try:
        deploy(server, UPSTREAM_CHAT, "system.ai.smollm2_135m_instruct", 1, 1, timeout=600)
        deploy(server, UPSTREAM_EMBED, "system.ai.all_minilm_l6_v2", 1, 1, timeout=600)
        yield server
    finally:
        server.stop()
