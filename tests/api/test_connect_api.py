"""connect(): every way a workspace is resolved, and every way it fails, in one sentence."""

from __future__ import annotations

import json
import pickle
import socket
import time

import pytest

import pt_widgets
from pt_widgets.errors import (
    AuthenticationError,
    ConfigurationError,
    NotConfigured,
    WorkspaceUnreachable,
)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No DATABRICKS_* variables, an empty home, and an empty pt_widgets home."""
    import os

    for key in list(os.environ):
        if key.startswith("DATABRICKS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PT_WIDGETS_HOME", str(tmp_path / "ptw"))
    (tmp_path / "home").mkdir()
    return tmp_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_explicit_host_and_token(workspace, clean_env):
    ws = pt_widgets.connect(workspace.host, workspace.token)
    assert ws.host == workspace.host and ws.auth_type == "pat" and ws.is_local
    assert ws.catalogs().names()


def test_host_without_scheme_on_loopback_means_http(workspace, clean_env):
    ws = pt_widgets.connect(workspace.host.removeprefix("http://"), workspace.token)
    assert ws.host == workspace.host


def test_environment_variables(workspace, clean_env, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", workspace.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", workspace.token)
    ws = pt_widgets.connect()
    assert ws.host == workspace.host and ws.source == "databricks-sdk default"


def test_databrickscfg_profile(workspace, clean_env, monkeypatch):
    cfg = clean_env / "home" / ".databrickscfg"
    cfg.write_text(f"[DEFAULT]\nhost = http://127.0.0.1:1\ntoken = nope\n\n"
                   f"[local]\nhost = {workspace.host}\ntoken = {workspace.token}\n")
    ws = pt_widgets.connect(profile="local")
    assert ws.host == workspace.host
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "local")
    assert pt_widgets.connect().host == workspace.host


def write_discovery(home, host: str, token: str) -> None:
    folder = home / "local"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "workspace.json").write_text(json.dumps({"host": host, "pid": 1}))
    (folder / "token").write_text(token + "\n")
    (folder / "token").chmod(0o600)


def test_nothing_configured_finds_the_running_local_workspace(workspace, clean_env):
    write_discovery(clean_env / "ptw", workspace.host, workspace.token)
    ws = pt_widgets.connect()
    assert ws.host == workspace.host and ws.source == "local"
    assert pt_widgets.find_local_workspace() == (workspace.host, workspace.token)
    assert pt_widgets.connect(local=True).host == workspace.host


def test_nothing_configured_and_nothing_running_says_how_to_start(clean_env):
    write_discovery(clean_env / "ptw", f"http://127.0.0.1:{free_port()}", "stale")
    started = time.monotonic()
    with pytest.raises(NotConfigured) as info:
        pt_widgets.connect()
    assert time.monotonic() - started < 5
    text = str(info.value)
    assert "python -m pt_widgets.local serve" in text and "DATABRICKS_HOST" in text
    assert text.count(". ") == 0


def test_unreachable_server_fails_fast_in_one_sentence(clean_env):
    host = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(WorkspaceUnreachable) as info:
        pt_widgets.connect(host, "dapi-x")
    assert time.monotonic() - started < 5
    assert str(info.value) == (
        f"Cannot reach the workspace at {host}: connection refused; check the host, or start "
        "the local workspace with `python -m pt_widgets.local serve`.")


def test_wrong_host_name_fails_fast(clean_env):
    started = time.monotonic()
    with pytest.raises(WorkspaceUnreachable, match="does not resolve"):
        pt_widgets.connect("https://no-such-workspace.invalid", "dapi-x")
    assert time.monotonic() - started < 10


def test_bad_token_fails_fast_in_one_sentence(workspace, clean_env):
    started = time.monotonic()
    with pytest.raises(AuthenticationError) as info:
        pt_widgets.connect(workspace.host, "dapi-wrong")
    assert time.monotonic() - started < 5
    text = str(info.value)
    assert text.startswith(f"The workspace at {workspace.host} rejected the credentials")
    assert "dapi-wrong" not in text


def test_host_without_token(workspace, clean_env):
    with pytest.raises(ConfigurationError, match="Found no credentials"):
        pt_widgets.connect(workspace.host)


def test_the_token_never_shows(workspace, clean_env, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    ws = pt_widgets.connect(workspace.host, workspace.token)
    ws.catalogs().all()
    for text in (repr(ws), str(ws), caplog.text, repr(vars(ws).get("host"))):
        assert workspace.token not in text
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(ws)


def test_sdk_client_shares_the_credentials(workspace, clean_env):
    ws = pt_widgets.connect(workspace.host, workspace.token)
    assert {c.name for c in ws.sdk().catalogs.list()} >= {"main", "system"}
