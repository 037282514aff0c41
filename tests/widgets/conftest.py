"""Widget-model fixtures: widgets talking to the session's REAL local workspace, no browser.

A widget's custom messages are captured by replacing its ``send``; requests are fed to
``handle_request`` exactly as the front end's messages would be, and answered from the
widget's worker threads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

import pt_widgets
from pt_widgets.workspace import Workspace

CHAT_MODEL = "system.ai.smollm2_135m_instruct"
MU_MODEL = "system.ai.smollm2_135m_instruct_mu"
EMBED_MODEL = "system.ai.all_minilm_l6_v2"


class RequestFailed(Exception):
    pass


class Recorder:
    """Capture a widget's custom messages and make requests like the browser does."""

    def __init__(self, widget: Any) -> None:
        self.widget = widget
        self.messages: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        # called with each message on the sending thread, after it is recorded: a test acts
        # at an exact point of a run (the sender waits for it) instead of racing the run
        self.on_message: Callable[[dict[str, Any]], None] | None = None
        widget.send = self._send

    def _send(self, content: Any, buffers: Any = None) -> None:
        json.dumps(content)  # every message must be plain JSON
        with self._cond:
            self.messages.append(content)
            self._cond.notify_all()
        if self.on_message is not None:
            self.on_message(content)

    def start(self, method: str, params: dict[str, Any] | None = None) -> str:
        request_id = uuid.uuid4().hex
        self.widget.handle_request({"ptw": "request", "id": request_id, "method": method,
                                    "params": params or {}})
        return request_id

    def answer(self, request_id: str, timeout: float = 120.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((m for m in self.messages
                         if m.get("ptw") == "response" and m.get("id") == request_id), None)

        with self._cond:
            if not self._cond.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"no answer to request {request_id} in {timeout} s")
            return found()  # type: ignore[return-value]

    def request(self, method: str, params: dict[str, Any] | None = None,
                timeout: float = 120.0) -> Any:
        reply = self.answer(self.start(method, params), timeout)
        if not reply["ok"]:
            raise RequestFailed(reply["error"])
        return reply["result"]

    def events(self, request_id: str | None = None) -> list[dict[str, Any]]:
        with self._cond:
            return [m["event"] for m in self.messages
                    if m.get("ptw") == "event" and m.get("id") == request_id]

    def responses(self) -> list[dict[str, Any]]:
        with self._cond:
            return [m for m in self.messages if m.get("ptw") == "response"]


@pytest.fixture(scope="session")
def ws(workspace) -> Workspace:
    return pt_widgets.connect(workspace.host, workspace.token)


@pytest.fixture(scope="session")
def not_eligible_model(workspace) -> tuple[str, str]:
    """A real registered model version without an llm/v1 task (so not PT-eligible)."""
    name = "main.default.widget_echo_model"
    code = textwrap.dedent(f"""
        import mlflow
        from mlflow.pyfunc import PythonModel

        class Echo(PythonModel):
            def predict(self, context, model_input, params=None):
                return model_input

        mlflow.set_tracking_uri({workspace.host!r})
        mlflow.set_registry_uri({workspace.host!r})
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(name="model", python_model=Echo(),
                                           registered_model_name={name!r},
                                           pip_requirements=["mlflow"])
        print("VERSION", info.registered_model_version)
    """)
    env = dict(os.environ, MLFLOW_TRACKING_TOKEN=workspace.token)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    version = done.stdout.split("VERSION")[-1].strip()
    return name, version


UPSTREAM_CHAT = "up-chat"


@pytest.fixture(scope="session")
def upstream(tmp_path_factory):
    """A second local workspace serving a chat model: the server external models point at
    (as in ``tests/governance``), with a token of its own."""
    from ..support import ServerProcess, deploy

    server = ServerProcess(tmp_path_factory.mktemp("widgets-upstream"),
                           token="dapi-widgets-upstream-token-7777",
                           env={"PT_WIDGETS_CALIBRATION_SECONDS": "2"}).start()
    try:
        deploy(server, UPSTREAM_CHAT, CHAT_MODEL, 1, 1, timeout=600)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def bob_token(workspace) -> str:
    """A second user of the session's workspace (a token made with the real CLI)."""
    from ..governance.conftest import new_token

    return new_token(workspace, "bob@example.com", "widgets")


@pytest.fixture(scope="session")
def bob_ws(workspace, bob_token) -> Workspace:
    return pt_widgets.connect(workspace.host, bob_token)


def create_tracked_endpoint(ws: Workspace, name: str, upstream: Any) -> str:
    """An external endpoint in front of ``upstream`` created with usage tracking and the
    inference table on (the ``ai_gateway`` of the create call)."""
    from pt_widgets.endpoints import wait_until_ready

    entity = {"name": "upstream", "external_model": {
        "provider": "openai", "name": UPSTREAM_CHAT, "task": "llm/v1/chat",
        "openai_config": {"openai_api_base": f"{upstream.host}/serving-endpoints",
                          "openai_api_key_plaintext": upstream.token}}}
    gateway = {"usage_tracking_config": {"enabled": True},
               "inference_table_config": {"enabled": True, "catalog_name": "main",
                                          "schema_name": "default",
                                          "table_name_prefix": name.replace("-", "_")}}
    ws.call("POST", "/api/2.0/serving-endpoints",
            json={"name": name, "config": {"served_entities": [entity]}, "ai_gateway": gateway})
    wait_until_ready(ws, name, timeout=300)
    return name
