"""``pt-widgets lab`` starts its workspace on 8765 when free, and on any free port when 8765 is
taken between its check and the server's bind (two launches at once)."""

from __future__ import annotations

import os
import socket

import requests

from pt_widgets.widgets import launch

from ..support import server_env


def test_a_default_port_taken_after_the_check_falls_back_to_a_free_one(tmp_path, monkeypatch):
    for key, value in server_env().items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("PT_WIDGETS_HOME", str(tmp_path / "home"))
    with socket.socket() as held:
        try:
            held.bind(("127.0.0.1", 8765))
            held.listen()
        except OSError:
            pass  # something else holds it already: the same situation
        monkeypatch.setattr(launch, "_port_free", lambda port: True)  # free when checked
        proc, host = launch.start_workspace(tmp_path / "workspace.log")
        try:
            assert not host.endswith(":8765"), host
            assert requests.get(f"{host}/.well-known/databricks-config", timeout=30).ok
        finally:
            launch._stop(proc)
    log = (tmp_path / "workspace.log").read_text()
    assert "address already in use" in log  # the first attempt met the taken port
    assert proc.returncode is not None
