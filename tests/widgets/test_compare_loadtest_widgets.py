"""ComparePanel and LoadTestPanel models against the REAL local workspace, no browser.

Requests are fed to ``handle_request`` as the front end sends them; the events every view
hears are captured from the widget's ``send``. Every message must be plain JSON, small, and
free of the token.
"""

from __future__ import annotations

import json
import threading

import pytest

from pt_widgets.widgets import ComparePanel, LoadTestPanel

from ..support import wait_until
from .conftest import CHAT_MODEL, Recorder, RequestFailed

ONE_CHUNK = "loadtest-one-chunk"  # the same endpoint as the API tests (deploy is idempotent)
MESSAGE_LIMIT = 200_000  # bytes; far under Databricks' 5 MB widget message cap


@pytest.fixture(scope="module")
def one_chunk(ws) -> str:
    chunk = ws.sizing_plan(CHAT_MODEL, 1).chunk_size
    ws.deploy(ONE_CHUNK, CHAT_MODEL, 1, {"max_throughput": chunk, "min_throughput": chunk},
              timeout=600)
    return ONE_CHUNK


def scope_events(rec: Recorder, kind: str | None = None) -> list[dict]:
    events = rec.events(None)
    return [e for e in events if kind is None or e.get("type") == kind]


def check_messages(rec: Recorder, token: str) -> None:
    for m in rec.messages:
        text = json.dumps(m)
        assert token not in text and "dapi" not in text
        assert len(text) < MESSAGE_LIMIT


def test_compare_panel_streams_both_temperatures_into_the_table(ws, workspace, one_chunk):
    panel = ComparePanel([{"endpoint": one_chunk, "temperature": 0.0},
                          {"endpoint": one_chunk, "temperature": 1.0}], workspace=ws)
    rec = Recorder(panel)
    assert panel.targets[1] == {"endpoint": one_chunk, "temperature": 1.0, "max_tokens": None,
                                "label": ""}
    names = [e["name"] for e in rec.request("compare:endpoints")["items"]]
    assert one_chunk in names
    panel.max_tokens = 8
    assert rec.request("compare:run", {"prompts": ["Say hello.", "Say goodbye."]}) == {
        "started": True}
    wait_until(lambda: panel.status == "done", 120, what="the comparison to finish")
    start = scope_events(rec, "start")[0]
    assert start["targets"] == [f"{one_chunk} (temperature=0)", f"{one_chunk} (temperature=1)"]
    cells = scope_events(rec, "cell")
    assert sorted((c["row"], c["target"]) for c in cells) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(c["cell"]["error"] is None and c["cell"]["answer"] for c in cells)
    assert all(c["cell"]["mean_logprob"] < 0 for c in cells)
    assert scope_events(rec, "delta"), "answers should stream"
    assert scope_events(rec, "done")[0]["summary"][0]["answers"] == 2
    assert panel.progress == "4 of 4"
    frame = panel.result
    assert len(frame) == 4 and frame["error"].isna().all()
    assert panel.summary["target"].tolist() == start["targets"]
    assert panel.wide.shape[0] == 2
    page = rec.request("compare:page", {"offset": 1, "limit": 5})
    assert page["total"] == 2 and [r["row"] for r in page["rows"]] == [1]
    assert page["rows"][0]["cells"][1]["answer"] == frame.iloc[3]["answer"]
    check_messages(rec, workspace.token)


def test_compare_panel_from_python_refuses_bad_input(ws, workspace, one_chunk):
    panel = ComparePanel(workspace=ws)
    rec = Recorder(panel)
    assert [t["endpoint"] for t in panel.targets] == ["", ""]
    with pytest.raises(RequestFailed, match="Choose the endpoints"):
        rec.request("compare:run", {"prompts": ["Hi"]})
    with pytest.raises(RequestFailed, match="Write a prompt"):
        rec.request("compare:run", {"prompts": [" "]})
    with pytest.raises(RequestFailed, match="at most 50 prompts"):
        rec.request("compare:run", {"prompts": ["x"] * 51})
    panel.max_tokens = 8
    frame = panel.run(["One word: yes."], targets=[one_chunk])
    assert len(frame) == 1 and frame.loc[0, "target"] == one_chunk
    assert panel.status == "done"
    assert scope_events(rec, "cell")[0]["cell"]["answer"] == frame.loc[0, "answer"]
    check_messages(rec, workspace.token)


def test_load_test_panel_shows_caps_runs_stops_and_keeps_the_result(ws, workspace, one_chunk):
    panel = LoadTestPanel(endpoint=one_chunk, concurrency=[2, 4], seconds_per_level=60,
                          max_tokens=8, workspace=ws)
    rec = Recorder(panel)
    assert panel.caps.startswith("2 levels (2, 4 concurrent) × up to 60 s or 200 requests")
    assert "at most 400 requests" in panel.caps and panel.plan_error == ""
    wait_until(lambda: panel.capacity.get("max_tokens_per_s"), 60, what="the capacity")
    assert panel.capacity["scheme"] == "tokens_per_second"
    panel.concurrency = [0]
    assert "from 1 to 64" in panel.plan_error and panel.caps == ""
    with pytest.raises(RequestFailed, match="from 1 to 64"):
        rec.request("loadtest:start")
    # The run is held at its first progress with an answer (the runner's thread waits in
    # `send`) until this test has stopped it: on a machine of any speed the first level is
    # still on, and the second never starts.
    first_answer, release = threading.Event(), threading.Event()

    def hold_at_first_answer(message: dict) -> None:
        event = message.get("event") or {}
        if event.get("type") == "progress" and event["ok"] >= 1 and not first_answer.is_set():
            first_answer.set()
            assert release.wait(120), "the test never released the run"

    rec.on_message = hold_at_first_answer
    try:
        started = rec.request("loadtest:start", {"concurrency": [2, 4]})
        assert started["plan"]["concurrency"] == [2, 4]
        with pytest.raises(RequestFailed, match="already running"):
            rec.request("loadtest:start")
        assert first_answer.wait(60), "no answer within 60 s"
        assert panel.status == "running"
        assert rec.request("loadtest:stop") == {"stopping": True}
        assert panel.status == "stopping"
    finally:
        release.set()
    wait_until(lambda: panel.status == "stopped", 60, what="the test to stop")
    result = panel.result
    assert result.stopped and len(result.levels) == 1
    assert panel.frame["concurrency"].tolist() == [2]
    assert panel.recommendation == result.recommendation.text
    progress = scope_events(rec, "progress")[-1]
    assert all(len(b) == 4 for b in progress["bins"])
    kinds = [e["type"] for e in scope_events(rec)]
    assert kinds[0] == "start" and kinds[-1] == "done" and "level" in kinds
    saved = rec.request("loadtest:result")
    assert saved["status"] == "stopped" and saved["result"]["levels"] == result.levels
    check_messages(rec, workspace.token)


def test_load_test_panel_run_from_python(ws, workspace, one_chunk):
    panel = LoadTestPanel(endpoint=one_chunk, concurrency=1, seconds_per_level=2,
                          max_tokens=4, workspace=ws)
    rec = Recorder(panel)
    assert panel.plan.max_requests == 200
    result = panel.run()
    assert panel.status == "done" and not result.stopped
    assert result.frame["ok"].iloc[0] >= 1
    assert scope_events(rec, "done")[0]["result"]["recommendation"] == panel.recommendation
    state = json.dumps({k: v for k, v in panel.get_state().items() if k not in ("_esm", "_css")})
    assert workspace.token not in state and "dapi" not in state


def test_app_hands_a_ready_endpoint_to_its_compare_and_load_test_sections(ws, one_chunk):
    from pt_widgets.widgets import App

    app = App(workspace=ws)
    assert [t["endpoint"] for t in app.compare.targets] == ["", ""]
    assert app.loadtest.endpoint == "" and "Choose the endpoint" in app.loadtest.plan_error
    app.deploy.part.set(endpoint=one_chunk, status="ready")
    assert app.loadtest.endpoint == one_chunk and app.loadtest.caps
    assert [t["endpoint"] for t in app.compare.targets] == [one_chunk, ""]
    wait_until(lambda: app.loadtest.capacity.get("max_tokens_per_s"), 60, what="the capacity")
    app.compare.max_tokens = 8
    frame = app.compare.run("Say yes.", targets=[one_chunk])
    assert len(frame) == 1 and frame["error"].isna().all()
    app.close()
