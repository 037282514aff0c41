"""The API's deploy raises DeploymentFailed carrying the state message and build-log tail."""

from __future__ import annotations

import pytest

from pt_widgets.errors import DeploymentFailed

from ..support import log_broken_chat_model

BROKEN = "main.default.broken_chat_api"


def test_deploy_of_unloadable_model_raises_with_reason_and_logs(ws, workspace):
    log_broken_chat_model(workspace, BROKEN)
    plan = ws.sizing_plan(BROKEN, 1)
    sizing = plan.validate(max_throughput=plan.chunk_size, min_throughput=plan.chunk_size)
    with pytest.raises(DeploymentFailed) as failure:
        ws.deploy("api-broken", BROKEN, 1, sizing, timeout=120)
    assert "Model load failed" in failure.value.state_message
    assert "ERROR" in failure.value.build_logs
    assert "api-broken" in str(failure.value)
    ws.delete_endpoint("api-broken")
