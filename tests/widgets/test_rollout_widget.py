"""The deploy panel's rollout section against the session's REAL local workspace: deploy v1 of
a logged model from the panel, add v2 next to it at 10 % with its own sizing (requests as the
browser sends them), move the split, promote, roll back, remove; the server's traffic config
is read over HTTP after each step. Changes answer at once and run in the background; while
one runs (the weight load held by the server's test hook) the section shows the pending entity
and refuses a second change in one sentence."""

from __future__ import annotations

import pytest

from pt_widgets.errors import ValidationError
from pt_widgets.widgets import App, DeployPanel, Playground

from ..support import log_tiny_chat_model, wait_until
from .conftest import Recorder, RequestFailed

MODEL = "main.default.rollout_widget_chat"
ENDPOINT = "rollout-widget"
READY_S = 600


@pytest.fixture(scope="module")
def versions(workspace) -> tuple[str, str]:
    """Two logged versions of one tiny chat model (v1 serves, v2 is rolled out)."""
    return tuple(str(log_tiny_chat_model(workspace, MODEL).registered_model_version)
                 for _ in range(2))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def panel(ws, versions):
    widget = DeployPanel(model=MODEL, version=versions[0], workspace=ws)
    yield widget, Recorder(widget)
    widget.close()
    ws.delete_endpoint(ENDPOINT)


def traffic(ws) -> dict[str, int]:
    return ws.endpoint(ENDPOINT).traffic


def shown(widget) -> dict[str, int | None]:
    return {row["name"]: row["traffic"] for row in widget.rollout.entities}


def settle(widget) -> None:
    widget.rollout.wait(READY_S)
    assert widget.rollout.status == "ready" and widget.rollout.error == ""


def test_deploying_v1_shows_its_entity(panel, ws, versions):
    widget, _ = panel
    widget.part.set(endpoint_name=ENDPOINT, name_edited=True)
    assert widget.start().wait(READY_S) == ENDPOINT
    wait_until(lambda: widget.rollout.endpoint == ENDPOINT and widget.rollout.entities, 60,
               what="the rollout section to list the deployed endpoint")
    (row,) = widget.rollout.entities
    assert (row["model"], row["version"], row["traffic"]) == (MODEL, versions[0], 100)
    assert row["state"] == "DEPLOYMENT_READY" and row["pending"] is False
    assert widget.rollout.add_model == MODEL
    assert traffic(ws) == {row["name"]: 100}


def test_add_v2_at_ten_percent_shows_it_pending_and_refuses_a_second_change(
        panel, ws, workspace, versions):
    widget, recorder = panel
    plan = recorder.request("rollout:plan", {"model": MODEL, "version": versions[1]})
    assert plan["version"] == versions[1] and set(versions) <= set(plan["versions"])
    chunk = plan["chunk_size"]
    (live,) = shown(widget)
    with workspace.holding_loads():  # v2's weights wait: the update stays IN_PROGRESS
        answer = recorder.request("rollout:add", {
            "model": MODEL, "version": versions[1], "traffic": 10,
            "sizing": {"min_throughput": chunk, "max_throughput": 2 * chunk}})
        assert answer == {"started": True}  # answered at once; the update runs on
        wait_until(lambda: any(r["pending"] for r in widget.rollout.entities), 120,
                   what="the entity being added to show as pending")
        assert widget.rollout.status == "busy"
        assert widget.rollout.action == f"Adding {MODEL} version {versions[1]} at 10 %…"
        with pytest.raises(ValidationError, match=r"still running on 'rollout-widget'"):
            widget.rollout.rollback()
        with pytest.raises(RequestFailed, match=r"still running"):
            recorder.request("rollout:promote", {"entity": live})
        assert traffic(ws) == {live: 100}  # nothing live changed while it loads
    settle(widget)
    added = next(r for r in widget.rollout.entities if r["name"] != live)
    assert (added["version"], added["min"], added["max"]) == (versions[1], chunk, 2 * chunk)
    assert traffic(ws) == shown(widget) == {live: 90, added["name"]: 10}
    assert widget.rollout.candidate == added["name"]
    assert widget.rollout.message == f"'{ENDPOINT}' is ready: '{live}' 90 %, " \
                                     f"'{added['name']}' 10 %."


def test_move_promote_roll_back_remove(panel, ws):
    widget, recorder = panel
    live, canary = list(shown(widget))
    version = ws.endpoint(ENDPOINT).config.config_version
    with pytest.raises(RequestFailed, match=r"must add up to 100, got 90"):
        recorder.request("rollout:set_traffic", {"split": {live: 60, canary: 30}})
    with pytest.raises(RequestFailed, match=r"whole percentage from 0 to 100, got 89\.5"):
        recorder.request("rollout:set_traffic", {"split": {live: 89.5, canary: 10.5}})
    assert ws.endpoint(ENDPOINT).config.config_version == version  # nothing was sent

    recorder.request("rollout:set_traffic", {"split": {live: 70, canary: 30}})
    settle(widget)
    assert traffic(ws) == shown(widget) == {live: 70, canary: 30}

    widget.rollout.promote(canary).result(READY_S)  # the Python API: a Future
    settle(widget)
    assert traffic(ws) == shown(widget) == {live: 0, canary: 100}

    recorder.request("rollout:rollback")
    settle(widget)
    assert traffic(ws) == shown(widget) == {live: 100, canary: 0}
    aim_the_playground_at_one_entity(ws, live, canary)

    recorder.request("rollout:remove", {"entity": canary})
    settle(widget)
    assert traffic(ws) == shown(widget) == {live: 100}


def aim_the_playground_at_one_entity(ws, live: str, canary: str) -> None:
    """At 100/0 the split never picks the canary; the playground's chooser reaches it."""
    pg = Playground(endpoint=ENDPOINT, workspace=ws)
    try:
        wait_until(lambda: pg.served_models == [live, canary], 60,
                   what="the playground to list the endpoint's entities")
        pg.served_model = canary
        assert pg.chat("Hello", max_tokens=2).served_model == canary
        assert pg.history["endpoint"].tolist() == [ENDPOINT]
        pg.served_model = ""
        assert pg.chat("Hello", max_tokens=2).served_model == live
    finally:
        pg.close()


def test_a_failed_change_is_one_sentence_in_the_error_trait(panel, ws):
    widget, recorder = panel
    (live,) = shown(widget)
    recorder.request("rollout:add", {"model": MODEL, "version": "1", "traffic": 10,
                                     "sizing": {"max_throughput": 7}})
    with pytest.raises(ValidationError):
        widget.rollout.wait(READY_S)
    error = widget.rollout.error
    assert "max_throughput" in error or "multiple" in error, error
    assert error.endswith(".") and "\n" not in error
    assert widget.rollout.status == "ready" and shown(widget) == {live: 100}


def test_the_app_hosts_the_section_and_follows_the_deploy_step(ws):
    app = App(workspace=ws)
    try:
        assert app.rollout.endpoint == "" and app.rollout.status == "idle"
        with pytest.raises(ValidationError, match="Deploy an endpoint first"):
            app.rollout.rollback()
        app.rollout.endpoint = "no-such-endpoint"
        wait_until(lambda: app.rollout.status == "error", 60, what="the missing endpoint")
        assert "no-such-endpoint" in app.rollout.error and app.rollout.entities == []
        app.deploy.model = MODEL  # as the picker and slider set it
        app.deploy.version = "2"
        assert (app.rollout.add_model, app.rollout.add_version) == (MODEL, "2")
        app.playground.endpoint = ENDPOINT  # e.g. picked in the endpoints list
        assert app.rollout.endpoint == ENDPOINT
        wait_until(lambda: [r["name"] for r in app.rollout.entities] == app.playground.served_models
                   != [], 60, what="both sections to list the endpoint's entity")
    finally:
        app.close()
