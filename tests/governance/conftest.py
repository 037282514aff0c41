"""Governance fixtures: one REAL local workspace process of its own, and users made with the
real CLI (``pt-widgets local token create``) on its data dir while it runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from databricks.sdk import WorkspaceClient

from ..support import ServerProcess, new_token, token_cli

__all__ = ["new_token", "token_cli"]  # the tests import them from here


@pytest.fixture(scope="package")
def gov_server(tmp_path_factory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("governance"),
                           env={"PT_WIDGETS_CALIBRATION_SECONDS": "2"}).start()
    yield server
    server.stop()


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
