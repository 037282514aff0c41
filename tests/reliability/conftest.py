"""Reliability fixtures: one REAL local workspace for the read-mostly tests of this package.

``rel_server`` is its own process on its own data dir (not the session ``workspace``), so
what these tests assert about the stored state is not disturbed by other packages'
deploys. It serves a chat and an embeddings endpoint, each one chunk, and an alias.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from ..support import ServerProcess, wait_until
from .harness import CHAT, EMBED, SERVING, chunk_of, create, settled, tps_config

CHAT_ENDPOINT = "rel-chat"
EMBED_ENDPOINT = "rel-embed"
ALIAS = "champion"


@dataclass
class Deployed:
    server: ServerProcess
    chat: str
    embed: str
    chat_chunk: int
    embed_chunk: int
    alias: str = ALIAS


@pytest.fixture(scope="package")
def rel_server(tmp_path_factory) -> Iterator[ServerProcess]:
    # a shorter chunk measurement than the default: these tests need a chunk, not a precise one
    server = ServerProcess(tmp_path_factory.mktemp("reliability"),
                           env={"PT_WIDGETS_CALIBRATION_SECONDS": "2"}).start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def deployed(rel_server) -> Deployed:
    chat_chunk, embed_chunk = chunk_of(rel_server, CHAT), chunk_of(rel_server, EMBED)
    for name, model, chunk in ((CHAT_ENDPOINT, CHAT, chat_chunk),
                               (EMBED_ENDPOINT, EMBED, embed_chunk)):
        if requests.get(f"{rel_server.host}{SERVING}/{name}", headers=rel_server.headers,
                        timeout=30).status_code == 404:
            assert create(rel_server, name, tps_config(model, chunk, chunk)).status_code == 200
    for name in (CHAT_ENDPOINT, EMBED_ENDPOINT):
        final = wait_until(lambda n=name: settled(rel_server, n), 240, what=f"{name} deployed")
        assert final["state"]["ready"] == "READY", final
    response = requests.put(f"{rel_server.host}/api/2.1/unity-catalog/models/{CHAT}/aliases/"
                            f"{ALIAS}", headers=rel_server.headers, json={"version_num": 1},
                            timeout=30)
    assert response.status_code == 200, response.text
    return Deployed(rel_server, CHAT_ENDPOINT, EMBED_ENDPOINT, chat_chunk, embed_chunk)
