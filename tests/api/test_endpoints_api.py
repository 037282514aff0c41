"""Sizing and deploy/wait/list/get/delete against the real local workspace."""

from __future__ import annotations

import threading

import pytest

import pt_widgets
from pt_widgets.endpoints import Progress
from pt_widgets.errors import (
    Cancelled,
    Conflict,
    NotFound,
    SizingError,
    ValidationError,
    WaitTimeout,
)
from pt_widgets.sizing import MODEL_UNITS, TOKENS_PER_SECOND

from .conftest import CHAT_MODEL, EMBED_MODEL, MU_MODEL


def test_optimization_info_for_both_schemes(ws):
    chat = ws.optimization_info(CHAT_MODEL, 1)
    assert chat.optimizable and chat.model_type == "llama"
    assert chat.throughput_chunk_size > 0 and chat.dbus > 0
    mu = ws.sizing_plan(MU_MODEL, 1)
    assert mu.scheme == MODEL_UNITS and mu.chunk_size == 50
    embed = ws.sizing_plan(EMBED_MODEL, "1")
    assert embed.scheme == TOKENS_PER_SECOND and embed.eligible


def test_optimization_info_for_a_missing_version_is_not_found(ws):
    with pytest.raises(NotFound, match="version 9"):
        ws.optimization_info(CHAT_MODEL, 9)


def test_suggested_name_is_unused(ws, chat_endpoint):
    name = ws.suggest_endpoint_name(CHAT_MODEL, 1)
    assert name == "smollm2-135m-instruct-v1"
    # one function: the workspace method is the public one with taken=the workspace
    assert pt_widgets.suggest_endpoint_name(CHAT_MODEL, 1, taken=ws) == name
    assert not ws.endpoint_exists(name)


def test_invalid_sizing_is_rejected_before_any_request(ws):
    chunk = ws.sizing_plan(CHAT_MODEL, 1).chunk_size
    with pytest.raises(SizingError, match=f"multiple of {chunk}"):
        ws.deploy("api-never", CHAT_MODEL, 1, {"max_throughput": chunk + 1})
    with pytest.raises(SizingError, match="model units"):
        ws.deploy("api-never", MU_MODEL, 1, {"max_throughput": chunk})
    with pytest.raises(ValidationError, match="1-63 letters"):
        ws.deploy("api.never", CHAT_MODEL, 1)
    assert not ws.endpoint_exists("api-never")


def test_deploy_waits_with_progress_and_is_idempotent(ws):
    seen: list[Progress] = []
    ep = ws.deploy("api-deploy", CHAT_MODEL, 1, {"max_throughput": 2 * _chunk(ws),
                                                 "min_throughput": _chunk(ws)},
                   progress=seen.append, timeout=600)
    assert ep.is_ready and ep.state.ready == "READY"
    assert seen[0].config_update == "IN_PROGRESS" and seen[-1].ready == "READY"
    assert seen[-1].describe().startswith("api-deploy: DEPLOYMENT_READY after")
    entity = ep.served_entities[0]
    assert (entity.entity_name, entity.entity_version) == (CHAT_MODEL, "1")
    assert entity.max_provisioned_throughput == 2 * _chunk(ws)
    version = ep.config.config_version

    again = ws.deploy("api-deploy", CHAT_MODEL, 1, {"max_throughput": 2 * _chunk(ws),
                                                    "min_throughput": _chunk(ws)})
    assert again.config.config_version == version  # nothing was redeployed

    frame = ws.endpoints(detailed=True).to_pandas()
    row = frame.set_index("name").loc["api-deploy"]
    assert row["ready"] == "READY" and row["entity_name"] == CHAT_MODEL
    assert row["max_provisioned_throughput"] == 2 * _chunk(ws)
    quick = ws.endpoints().to_pandas().set_index("name").loc["api-deploy"]
    assert quick["entity_name"] == CHAT_MODEL
    assert "api-deploy" in [e.name for e in ws.list_endpoints()]
    assert ws.endpoint("api-deploy").id == ep.id


def test_update_changes_the_sizing_and_conflicts_are_explained(ws, workspace):
    chunk = _chunk(ws)
    # the update in flight swaps the model, so it loads weights, and the server holds that
    # load until the conflicting call has been answered (on a machine of any speed)
    ws.deploy("api-update", EMBED_MODEL, 1, timeout=600)
    with workspace.holding_loads():
        pending = ws.deploy("api-update", CHAT_MODEL, 1, {"max_throughput": 3 * chunk},
                            wait=False)
        assert pending.is_updating
        with pytest.raises(Conflict, match="already being updated"):
            ws.deploy("api-update", CHAT_MODEL, 1, {"max_throughput": 4 * chunk}, wait=False)
    # the same update again just waits for the one in flight
    done = ws.deploy("api-update", CHAT_MODEL, 1, {"max_throughput": 3 * chunk}, timeout=600)
    assert done.config.config_version == 2
    assert done.served_entities[0].max_provisioned_throughput == 3 * chunk
    assert ws.delete_endpoint("api-update") is True


def test_model_unit_deploy_goes_through_the_pt_route(ws):
    ep = ws.deploy("api-mu", MU_MODEL, 1, {"model_units": 50}, timeout=600)
    assert ep.served_entities[0].provisioned_model_units == 50
    ws.delete_endpoint("api-mu")


def test_wait_timeout_and_cancel(ws):
    ws.deploy("api-wait", CHAT_MODEL, 1, wait=False)
    with pytest.raises(WaitTimeout, match="not ready after") as info:
        ws.wait("api-wait", timeout=0.01)
    assert "api-wait" in str(info.value)

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled, match="goes on in the workspace"):
        ws.wait("api-wait", cancel=cancel)
    assert ws.wait("api-wait", timeout=600).is_ready
    ws.delete_endpoint("api-wait")


def test_background_deployment_handle(ws):
    job = ws.deploy_in_background("api-bg", CHAT_MODEL, 1, timeout=600)
    endpoint = job.result(timeout=600)
    assert job.done and endpoint.is_ready and job.progress.ready == "READY"

    job = ws.deploy_in_background("api-bg", CHAT_MODEL, 1, {"max_throughput": 2 * _chunk(ws)},
                                  poll_interval=5)
    job.cancel()
    with pytest.raises(Cancelled):
        job.result(timeout=30)
    ws.wait("api-bg", timeout=600)
    ws.delete_endpoint("api-bg")


def test_delete_is_forgiving_unless_asked(ws):
    ws.deploy("api-delete", CHAT_MODEL, 1, wait=False)
    assert ws.delete_endpoint("api-delete") is True
    assert ws.delete_endpoint("api-delete") is False
    with pytest.raises(NotFound, match="api-delete"):
        ws.delete_endpoint("api-delete", missing_ok=False)
    with pytest.raises(NotFound):
        ws.endpoint("api-delete")


def test_build_logs_tail(ws, chat_endpoint):
    logs = ws.build_logs(chat_endpoint)
    assert "Resolving system.ai.smollm2_135m_instruct version 1" in logs


def _chunk(ws) -> int:
    return ws.sizing_plan(CHAT_MODEL, 1).chunk_size
