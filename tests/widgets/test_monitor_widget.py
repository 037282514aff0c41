"""MonitorPanel against the REAL local workspace, no browser: it polls only while a view says
it is visible, the window grows row by row (429s counted), and stop/close end the thread.

Views are played by ``monitor:visibility`` requests, exactly as the page sends them.
"""

from __future__ import annotations

import json
import threading

import pytest

from pt_widgets.monitor import COLUMNS
from pt_widgets.widgets import App, MonitorPanel

from ..support import burst_until_429, deploy_one_chunk, wait_until
from .conftest import Recorder

ENDPOINT = "monitor-one-chunk"
MESSAGE_LIMIT = 200_000


@pytest.fixture(scope="module")
def one_chunk(ws) -> float:
    return deploy_one_chunk(ws, ENDPOINT)


def rows(rec: Recorder) -> list[dict]:
    return [e["row"] for e in rec.events(None) if e.get("type") == "row"]


def thread_alive() -> bool:
    return any(t.name == f"pt-monitor-{ENDPOINT}" for t in threading.enumerate())


def ended(panel) -> None:
    """The polling thread ended (waited on, not assumed)."""
    panel.monitor.wait(30)
    assert not panel.monitor.running and panel.monitor.future.done()
    assert not thread_alive()


def visible(rec: Recorder, view: str, on: bool) -> str:
    return rec.request("monitor:visibility", {"view": view, "visible": on})["status"]


def test_polls_only_while_a_view_is_visible_and_counts_429s(ws, workspace, one_chunk):
    panel = MonitorPanel(endpoint=ENDPOINT, interval_s=0.5, window_s=60, workspace=ws)
    rec = Recorder(panel)
    assert panel.status == "paused" and panel.monitor is None and not thread_alive()
    assert ENDPOINT in [e["name"] for e in rec.request("monitor:endpoints")["items"]]
    assert visible(rec, "a", True) == "watching" and panel.monitor.running
    wait_until(lambda: len(rows(rec)) >= 2, 60, what="two intervals")
    first = len(panel.frame)
    assert first >= 2 and list(panel.frame.columns) == COLUMNS
    refused = sum(1 for status, _ in burst_until_429(ws, ENDPOINT, one_chunk) if status == 429)
    wait_until(lambda: sum(r["rate_limited"] for r in rows(rec)) >= refused, 60,
               what="the 429s counted in the rows")
    assert len(panel.frame) > first  # the window grows
    assert sum(r["rate_limited"] for r in rows(rec)) == refused
    assert rows(rec)[-1]["max_tokens_per_s"] == one_chunk
    # a second view; the first one goes away: still polling. The last one goes: it stops
    assert visible(rec, "b", True) == "watching"
    assert visible(rec, "a", False) == "watching" and panel.monitor.running
    assert visible(rec, "b", False) == "paused"
    ended(panel)
    window = rec.request("monitor:window")["rows"]
    assert window == panel.rows and len(window) == len(rows(rec))
    for m in rec.messages:
        text = json.dumps(m)
        assert workspace.token not in text and len(text) < MESSAGE_LIMIT
    panel.close()


def test_stop_start_and_close_from_python(ws, one_chunk):
    panel = MonitorPanel(endpoint=ENDPOINT, interval_s=0.5, workspace=ws)
    rec = Recorder(panel)
    panel.start()  # no view needed
    assert panel.status == "watching"
    wait_until(lambda: rows(rec), 60, what="an interval")
    panel.stop()
    assert panel.status == "stopped"
    ended(panel)
    count = len(rows(rec))
    assert visible(rec, "a", True) == "stopped" and not panel.monitor.running
    assert len(rows(rec)) == count
    panel.start()
    assert panel.status == "watching" and panel.monitor.running
    wait_until(lambda: len(rows(rec)) > count, 60, what="polling again")
    panel.close()
    ended(panel)


def test_bad_interval_is_one_sentence_and_no_thread(ws, one_chunk):
    panel = MonitorPanel(endpoint=ENDPOINT, interval_s=0.1, workspace=ws)
    rec = Recorder(panel)
    assert visible(rec, "a", True) == "error"
    assert "interval_s must be at least 0.5 s" in panel.error and panel.monitor is None
    panel.interval_s = 1.0
    assert panel.status == "watching" and panel.error == ""
    panel.close()
    ended(panel)


def test_app_monitors_the_endpoint_it_deployed(ws, one_chunk):
    app = App(workspace=ws)
    rec = Recorder(app)
    assert app.monitor.endpoint == "" and app.monitor.status == "idle"
    app.deploy.part.set(endpoint=ENDPOINT, status="ready")
    assert app.monitor.endpoint == ENDPOINT and app.monitor.status == "paused"
    app.monitor.interval_s = 0.5
    assert visible(rec, "v", True) == "watching"
    wait_until(lambda: len(app.monitor.frame) >= 1, 60, what="an interval")
    app.close()
    ended(app.monitor)
