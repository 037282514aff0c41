"""API-layer fixtures: a Workspace connected to the real local workspace process, and two
endpoints (chat, embeddings) deployed once per session through the API under test."""

from __future__ import annotations

import pytest

import pt_widgets
from pt_widgets.workspace import Workspace

CHAT_MODEL = "system.ai.smollm2_135m_instruct"
MU_MODEL = "system.ai.smollm2_135m_instruct_mu"
EMBED_MODEL = "system.ai.all_minilm_l6_v2"
CHAT_ENDPOINT = "api-chat"
EMBED_ENDPOINT = "api-embed"


@pytest.fixture(scope="session")
def ws(workspace) -> Workspace:
    return pt_widgets.connect(workspace.host, workspace.token)


@pytest.fixture(scope="session")
def chat_endpoint(ws) -> str:
    plan = ws.sizing_plan(CHAT_MODEL, 1)
    ws.deploy(CHAT_ENDPOINT, CHAT_MODEL, 1, {"max_throughput": 8 * plan.chunk_size,
                                             "min_throughput": 8 * plan.chunk_size},
              timeout=600)
    return CHAT_ENDPOINT


@pytest.fixture(scope="session")
def embed_endpoint(ws) -> str:
    plan = ws.sizing_plan(EMBED_MODEL, 1)
    ws.deploy(EMBED_ENDPOINT, EMBED_MODEL, 1, {"max_throughput": 4 * plan.chunk_size},
              timeout=600)
    return EMBED_ENDPOINT
