"""The App's whole loop against the real local workspace: pick, size, deploy in the
background, query (streaming chat with logprobs, embeddings), list and delete endpoints.
Deploys are shared by the tests of this module (they run in order)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from pt_widgets.errors import PtWidgetsError
from pt_widgets.widgets import App, DeployPanel, EndpointsTable, Playground
from pt_widgets.widgets._base import redact

from ..support import wait_until
from .conftest import CHAT_MODEL, EMBED_MODEL, MU_MODEL, Recorder, RequestFailed

CHAT_ENDPOINT = "widgets-chat"
EMBED_ENDPOINT = "widgets-embed"


@pytest.fixture(scope="module")
def app(ws):
    widget = App(workspace=ws)
    yield widget
    widget.close()


@pytest.fixture(scope="module")
def recorder(app):
    return Recorder(app)


def test_deploy_runs_in_the_background_until_ready(app, recorder, ws):
    rec = recorder
    app.picker.select(CHAT_MODEL, 1).wait()
    assert app.slider.state == "ready"
    c = app.slider.chunk_size
    app.slider.set_range(4 * c, 2 * c)
    assert app.deploy.sizing == {"scheme": "tokens_per_second", "min_provisioned_throughput": 2 * c,
                                 "max_provisioned_throughput": 4 * c,
                                 "scale_to_zero_enabled": False}
    assert app.deploy.disabled_reason == ""
    wait_until(lambda: app.deploy.endpoint_name, 30, what="a suggested endpoint name")
    assert app.deploy.endpoint_name.startswith("smollm2-135m-instruct-v1")

    invalid = rec.request("deploy:check_name", {"name": "widgets chat"})
    assert invalid["status"] == "invalid" and "letters, digits" in invalid["message"]
    assert rec.request("deploy:check_name", {"name": CHAT_ENDPOINT})["status"] == "new"

    statuses: list[str] = []
    app.observe(lambda ch: statuses.append(ch["new"]), names=["deploy_status"])
    rec.request("deploy:deploy", {"endpoint_name": CHAT_ENDPOINT})
    # answered before the deploy ended: it runs on a thread (a model load outlasts a reply)
    assert app.deploy.status in ("starting", "deploying")
    assert app.deploy.started_at > 0
    # the kernel's thread is free meanwhile: other requests are answered
    assert rec.request("picker:catalogs", timeout=10)["items"]

    assert app.deploy.wait(600) == CHAT_ENDPOINT
    assert statuses[0] == "starting" and "deploying" in statuses and statuses[-1] == "ready"
    assert app.deploy.progress == 1.0 and app.deploy.elapsed_s > 0
    assert app.deploy.endpoint == CHAT_ENDPOINT and app.deploy.endpoint_task == "llm/v1/chat"
    assert app.deploy.log_tail  # the build log tail is shown in the widget
    # deploying enabled the playground for the new endpoint
    assert app.playground.endpoint == CHAT_ENDPOINT and app.playground.disabled_reason == ""
    assert app.playground.modes == ["chat", "completions"]
    assert rec.request("deploy:check_name", {"name": CHAT_ENDPOINT})["status"] == "exists"
    served = ws.endpoint(CHAT_ENDPOINT).served_entities[0]
    assert (served.min_provisioned_throughput, served.max_provisioned_throughput) == (2 * c, 4 * c)


def test_chat_streams_with_logprobs_and_gives_dataframes(app, recorder):
    rid = recorder.start("playground:run", {
        "mode": "chat", "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 16, "temperature": 0, "logprobs": True, "top_logprobs": 2, "stream": True,
    })
    result = recorder.answer(rid)["result"]
    assert recorder.answer(rid)["ok"], result
    deltas = [e["text"] for e in recorder.events(rid) if e["type"] == "delta"]
    assert deltas and "".join(deltas) == result["text"]
    tokens = result["logprobs"]
    assert len(tokens) == result["usage"]["completion_tokens"] > 0
    assert all(len(t["top"]) == 2 for t in tokens)
    assert result["table"]["columns"][:3] == ["endpoint", "kind", "index"]

    frame = app.playground.logprobs
    assert list(frame["token"]) == [t["token"] for t in tokens]
    assert app.playground.result["text"][0] == result["text"]
    history = app.playground.history
    assert list(history["status"]) == ["ok"] and history["endpoint"][0] == CHAT_ENDPOINT
    assert app.playground.status == "done"


def test_completions_and_a_failed_query_are_shown(app, recorder):
    result = recorder.request("playground:run", {"mode": "completions",
                                                 "prompt": "The capital of France is",
                                                 "max_tokens": 8, "temperature": 0})
    assert result["mode"] == "completions" and result["usage"]["completion_tokens"] > 0
    with pytest.raises(RequestFailed, match="no-such-endpoint"):
        recorder.request("playground:run", {"mode": "chat", "endpoint": "no-such-endpoint",
                                            "messages": [{"role": "user", "content": "hi"}]})
    assert app.playground.status == "error" and "no-such-endpoint" in app.playground.error
    assert list(app.playground.history["status"]) == ["ok", "ok", "error"]


def test_python_side_queries_show_in_the_widget(app, recorder):
    answer = app.playground.chat("Hi!", max_tokens=8, logprobs=True)
    pushed = [e for e in recorder.events(None) if e.get("type") == "result"]
    assert pushed and pushed[-1]["result"]["text"] == answer.text
    assert recorder.request("playground:last")["result"]["text"] == answer.text


def test_embeddings_endpoint_and_cosine_table(app, recorder):
    app.picker.select(EMBED_MODEL, 1).wait()
    assert app.deploy.status == "idle"  # a new model resets the panel
    app.deploy.endpoint_name = EMBED_ENDPOINT
    app.deploy.start()
    assert app.deploy.wait(600) == EMBED_ENDPOINT
    assert app.playground.endpoint == EMBED_ENDPOINT and app.playground.mode == "embeddings"
    result = recorder.request("playground:run", {
        "mode": "embeddings", "texts": ["A cat sits on the mat.", "A kitten rests on a rug.",
                                        "Stock markets fell sharply."]})
    assert [r["dimensions"] for r in result["rows"]] == [384] * 3
    matrix = result["similarity"]["matrix"]
    assert [round(matrix[i][i], 3) for i in range(3)] == [1.0, 1.0, 1.0]
    assert matrix[0][1] > matrix[0][2]  # the cat is closer to the kitten than to the stocks
    assert app.playground.similarity.shape == (3, 3)
    assert list(app.playground.result["dimensions"]) == [384] * 3


def test_endpoints_table_lists_and_deletes_with_confirmation(app, recorder, ws):
    rows = {r["name"]: r for r in recorder.request("endpoints:list")["items"]}
    assert {CHAT_ENDPOINT, EMBED_ENDPOINT} <= set(rows)
    assert rows[EMBED_ENDPOINT]["task"] == "llm/v1/embeddings" and rows[EMBED_ENDPOINT]["ready"]
    served = ws.endpoint(CHAT_ENDPOINT).served_entities[0]
    assert rows[CHAT_ENDPOINT]["max_provisioned_throughput"] == served.max_provisioned_throughput
    assert served.max_provisioned_throughput > 0
    with pytest.raises(RequestFailed, match="confirmation"):
        recorder.request("endpoints:delete", {"name": EMBED_ENDPOINT})
    assert recorder.request("endpoints:delete", {"name": EMBED_ENDPOINT, "confirmed": True})[
        "deleted"]
    assert EMBED_ENDPOINT not in [e.name for e in ws.list_endpoints()]
    table = EndpointsTable(workspace=ws)
    assert CHAT_ENDPOINT in list(table.frame["name"])
    table.close()


def test_standalone_playground_finds_the_task_of_its_endpoint(ws):
    pg = Playground(endpoint=CHAT_ENDPOINT, workspace=ws)
    wait_until(lambda: pg.endpoint_task == "llm/v1/chat", 30, what="the endpoint's task")
    assert pg.modes == ["chat", "completions"]
    result = pg.complete("Once upon a time", max_tokens=6)
    assert result.usage.completion_tokens and len(pg.history) == 1
    pg.close()


def test_cancel_stops_waiting_for_a_deploy(ws):
    panel = DeployPanel(MU_MODEL, 1, workspace=ws)
    panel.endpoint_name = "widgets-cancel"
    wait_until(lambda: panel.disabled_reason == "", 10, what="the panel to be ready")
    try:
        panel.start()
        assert panel.cancel() is True
        with pytest.raises(PtWidgetsError, match="Stopped waiting"):
            panel.wait(120)
        assert panel.status == "cancelled"
    finally:
        ws.delete_endpoint("widgets-cancel")
        panel.close()


def test_the_kernel_thread_is_never_blocked_by_requests(app, recorder):
    """handle_request returns at once: the work happens on the widget's pool."""
    gate, entered = threading.Event(), threading.Event()
    part = app.parts["picker"]
    original = part.rpc_catalogs

    def held(params, req):
        entered.set()
        assert gate.wait(120)
        return original(params, req)

    app._handlers["picker:catalogs"] = held
    try:
        # the kernel's thread: it must come back while the handler is still held
        ids: list[str] = []
        kernel = threading.Thread(target=lambda: ids.append(recorder.start("picker:catalogs")))
        kernel.start()
        kernel.join(60)
        assert not kernel.is_alive(), "handle_request waited for the handler"
        assert entered.wait(60) and not gate.is_set()
        assert not [m for m in recorder.responses() if m["id"] == ids[0]]  # not answered yet
        gate.set()
        assert recorder.answer(ids[0], 60)["ok"]
    finally:
        gate.set()
        app._handlers["picker:catalogs"] = original


def test_no_secret_in_state_or_messages(app, recorder, workspace):
    state = json.dumps(app.get_state(), default=str)
    assert workspace.token not in state and "dapi" not in state
    for message in recorder.messages:
        assert workspace.token not in json.dumps(message)
    app.parts["deploy"].fail(f"request failed: Authorization: Bearer {workspace.token}")
    assert workspace.token not in app.deploy.error and "[REDACTED]" in app.deploy.error
    app.deploy.error = ""


def test_redact():
    assert redact("token=dapi0123456789abcdef0123456789abcdef and more") == \
        "token=[REDACTED] and more"
    assert redact("Bearer abc.def") == "Bearer [REDACTED]"
    assert redact("pass token=, set DATABRICKS_TOKEN") == "pass token=, set DATABRICKS_TOKEN"
    assert redact("max_tokens: 64") == "max_tokens: 64"


def test_a_failed_deploy_shows_its_reason_and_log_tail(ws):
    """How the panel reports a failed update (the error and build log come from the API's
    DeploymentFailed, here handed over by a finished deployment)."""
    from pt_widgets.errors import DeploymentFailed

    class Finished:
        name = "widgets-failed"

        def result(self):
            raise DeploymentFailed(
                "Deploying endpoint 'widgets-failed' failed (UPDATE_FAILED): Model load failed: "
                "out of memory; the build-log tail is in .build_logs.",
                endpoint="widgets-failed", state_message="Model load failed: out of memory",
                build_logs="loading weights\nERROR: out of memory (token=dapi0123456789abcdef)")

    panel = DeployPanel(workspace=ws)
    panel.part._started = time.monotonic()
    panel.part._watch(Finished())
    assert panel.status == "failed" and "out of memory" in panel.error
    assert panel.message == "Model load failed: out of memory"
    assert "ERROR: out of memory" in panel.log_tail and "dapi0123" not in panel.log_tail
    with pytest.raises(DeploymentFailed, match="out of memory"):
        panel.wait(1)
    panel.close()
