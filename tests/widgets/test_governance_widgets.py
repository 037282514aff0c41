"""The external model form and the governance panel against the session's REAL local
workspace (two users) with a second local workspace as the external model's upstream.

The tests of this module run in order: the form deploys ``gov-ext``, the panel then governs
it and a second endpoint created with usage tracking and the inference table on.
"""

from __future__ import annotations

import json
import logging

import pytest

import pt_widgets
from pt_widgets import governance
from pt_widgets.errors import PermissionDenied, ValidationError
from pt_widgets.widgets import App, GovernancePanel

from .conftest import Recorder, RequestFailed, create_tracked_endpoint

EXT = "gov-ext"
TRACKED = "gov-tracked"
BOB = "bob@example.com"


@pytest.fixture(scope="module")
def app_messages(ws):
    """The App whose external model form the tests fill, and its recorded messages."""
    widget = App(workspace=ws)
    yield widget, Recorder(widget)
    widget.close()


@pytest.fixture(scope="module")
def panel(ws):
    widget = GovernancePanel(endpoint=EXT, workspace=ws)
    yield widget
    widget.close()


def test_external_form_checks_its_fields(app_messages):
    app, recorder = app_messages
    app.external.endpoint_name = "bad name"
    with pytest.raises(RequestFailed, match="letters, digits"):
        recorder.request("external:secret", {"value": "x"})
    app.external.endpoint_name = EXT
    with pytest.raises(RequestFailed, match="Type the server's API key"):
        recorder.request("external:secret", {"value": ""})
    app.external.base_url = "ftp://example.com"
    with pytest.raises(RequestFailed, match="Base URL must start with http"):
        recorder.request("external:deploy")
    assert app.external.status == "idle"


def test_external_model_deploys_from_the_form_and_the_playground_chats(
        app_messages, ws, upstream, caplog):
    app, recorder = app_messages
    caplog.set_level(logging.DEBUG)
    secret = upstream.token  # the upstream refuses any other key
    app.external.endpoint_name = EXT
    app.external.base_url = f"{upstream.host}/serving-endpoints"
    app.external.model = "up-chat"
    answer = recorder.request("external:secret", {"value": secret})
    assert answer == {"reference": "{{secrets/pt-widgets/gov-ext-key}}"}
    assert app.external.secret_reference == answer["reference"]
    recorder.request("external:deploy")
    app.external.wait(600)
    assert app.external.status == "ready" and app.external.endpoint == EXT
    # the App opens it in the playground and governs it
    assert app.playground.endpoint == EXT and app.playground.disabled_reason == ""
    assert app.governance.endpoint == EXT
    reply = app.playground.chat("Say hi", max_tokens=8)
    assert reply.text and reply.usage.completion_tokens > 0
    # the key went to the secrets API only: no trait, message or log line holds it
    state = json.dumps({k: v for k, v in app.get_state().items() if k != "_esm"}, default=str)
    assert secret not in state
    assert secret not in json.dumps(recorder.messages)
    assert secret not in caplog.text
    # the form stored it under the endpoint's key (other tests on this shared workspace may
    # have stored theirs in the same scope), and the listing never returns a value
    scopes = ws.call("GET", "/api/2.0/secrets/list", params={"scope": "pt-widgets"})
    assert "gov-ext-key" in [s["key"] for s in scopes["secrets"]]
    assert secret not in json.dumps(scopes)


def test_manager_sees_and_changes_permissions(panel, bob_ws):
    rec = Recorder(panel)
    state = rec.request("governance:load")
    assert state["level"] == "CAN_MANAGE" and state["can_manage"] is True
    assert state["read_only_reason"] == ""
    rows = rec.request("governance:grant", {"principal": BOB, "level": "CAN_QUERY"})["rows"]
    assert {"principal": BOB, "level": "CAN_QUERY", "inherited": False} in rows
    frame = panel.permissions
    assert frame[frame.principal == BOB].level.tolist() == ["CAN_QUERY"]
    with pytest.raises(RequestFailed, match="level must be one of CAN_VIEW, CAN_QUERY"):
        rec.request("governance:grant", {"principal": BOB, "level": "CAN_OWN"})
    with pytest.raises(RequestFailed, match="Name a user"):
        rec.request("governance:grant", {"principal": " ", "level": "CAN_VIEW"})


def test_others_read_only_with_a_sentence(panel, bob_ws):
    bobs = GovernancePanel(endpoint=EXT, workspace=bob_ws)
    try:
        rec = Recorder(bobs)
        state = rec.request("governance:load")
        assert state["level"] == "CAN_QUERY" and state["can_manage"] is False
        assert state["read_only_reason"] == (
            f"You hold CAN_QUERY on '{EXT}': only its managers (CAN_MANAGE) and workspace "
            "admins see and change its permissions, limits and tables.")
        with pytest.raises(RequestFailed, match="You hold CAN_QUERY"):
            rec.request("governance:grant", {"principal": BOB, "level": "CAN_MANAGE"})
        with pytest.raises(ValidationError, match="You hold CAN_QUERY"):
            bobs.permissions  # noqa: B018 - the property is the API under test
        # the server agrees: bob cannot grant himself more through the API either
        with pytest.raises(PermissionDenied):
            governance.grant(bob_ws, EXT, BOB, "CAN_MANAGE")
        panel.revoke(BOB)
        assert BOB not in panel.permissions.principal.tolist()
        state = rec.request("governance:load")
        assert state["level"] == "" and "hold no permission" in state["read_only_reason"]
    finally:
        bobs.close()


def test_usage_per_user_and_latest_inference_rows(ws, bob_ws, upstream):
    create_tracked_endpoint(ws, TRACKED, upstream)
    panel = GovernancePanel(endpoint=TRACKED, workspace=ws)
    try:
        rec = Recorder(panel)
        state = rec.request("governance:load")
        assert state["usage_tracking"] is True and state["inference_table"] is True
        panel.grant(BOB, "CAN_QUERY")
        for i in range(26):
            pt_widgets.chat(ws, TRACKED, f"Count to {i}", max_tokens=1)
        pt_widgets.chat(bob_ws, TRACKED, "Bob says hi", max_tokens=1)
        usage = panel.usage
        assert usage.requester.tolist() == ["local-user@localhost", BOB]
        assert usage.requests.tolist() == [26, 1] and usage.errors.tolist() == [0, 0]
        assert (usage.output_tokens > 0).all()
        rows = panel.inference_rows
        assert len(rows) == 27 and "Bob says hi" in rows.request[0]  # latest first
        first = rec.request("governance:page", {"table": "inference", "offset": 0})
        assert first["total"] == 27 and len(first["rows"]) == 25
        assert "Bob says hi" in first["rows"][0]["request"]
        second = rec.request("governance:page", {"table": "inference", "offset": 25})
        assert len(second["rows"]) == 2 and "Count to 0" in second["rows"][-1]["request"]
        per_user = rec.request("governance:page", {"table": "usage"})
        assert [r["requester"] for r in per_user["rows"]] == ["local-user@localhost", BOB]
        with pytest.raises(RequestFailed, match="table must be 'usage' or 'inference'"):
            rec.request("governance:page", {"table": "logs"})
    finally:
        panel.close()


def test_payloads_are_clipped_in_the_browser_not_in_python(ws):
    panel = GovernancePanel(endpoint=TRACKED, workspace=ws)
    try:
        long_prompt = "word " * 2000  # 10,000 characters
        pt_widgets.chat(ws, TRACKED, long_prompt, max_tokens=1)
        assert long_prompt in panel.inference_rows.request[0]
        page = Recorder(panel).request("governance:page", {"table": "inference", "limit": 1})
        shown = page["rows"][0]["request"]
        assert len(shown) < 8_100 and shown.endswith("more characters]")
    finally:
        panel.close()
