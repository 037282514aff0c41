"""Let no one in, and leak nothing: auth on every route, loopback by default, a private
token file, the token absent from logs, errors, files and reprs, bodies size-limited.

The route list is the server's own OpenAPI document (so a new route is covered the day
it is added) plus MLflow's routes mounted beside them and paths no route serves.
"""

from __future__ import annotations

import base64
import logging
import pickle
import stat
import subprocess
import sys

import psutil
import pytest
import requests

import pt_widgets
from pt_widgets.errors import AuthenticationError
from pt_widgets.local.cli import is_loopback

from ..support import server_env
from .harness import CHAT, SERVING, PinnedServer, ask_chat, seed_calibration

DISCOVERY = "/.well-known/databricks-config"
MLFLOW_ROUTES = [
    ("GET", "/api/2.0/mlflow/experiments/search?max_results=1"),
    ("POST", "/api/2.0/mlflow/experiments/create"),
    ("POST", "/api/2.0/mlflow/registered-models/create"),
    ("GET", "/api/2.0/mlflow/registered-models/search"),
    ("DELETE", "/api/2.0/mlflow/registered-models/delete"),
    ("GET", "/ajax-api/2.0/mlflow/experiments/search"),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/x.txt"),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts"),
    ("GET", "/"),
    ("GET", "/static-files/index.html"),
    ("GET", "/health"),
    ("GET", "/version"),
]
OTHER_ROUTES = [
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/nowhere"),
    ("POST", DISCOVERY),
    ("PUT", DISCOVERY),
    ("GET", DISCOVERY + "/../../api/2.0/serving-endpoints"),
    ("GET", "//api/2.0/serving-endpoints"),
    ("OPTIONS", SERVING),
    ("OPTIONS", "/serving-endpoints/x/invocations"),
]


def documented_routes(server, deployed) -> list[tuple[str, str]]:
    """Every operation of the OpenAPI document, with real names in its path."""
    doc = requests.get(f"{server.host}/openapi.json", headers=server.headers, timeout=30).json()
    endpoint_id = requests.get(f"{server.host}/api/2.0/serving-endpoints/{deployed.chat}",
                               headers=server.headers, timeout=30).json()["id"]
    names = {"name": deployed.chat, "full_name": CHAT, "version": "1",
             "alias": deployed.alias, "served_model_name": "smollm2_135m_instruct-1",
             "served_model": "smollm2_135m_instruct-1",
             "endpoint_id": endpoint_id}  # the permissions routes take an id (or a name)
    routes = []
    for path, operations in doc["paths"].items():
        for method in operations:
            routes.append((method.upper(), path.format(**names)))
    assert len(routes) >= 27
    return routes


def bad_credentials(token: str) -> dict[str, dict[str, str]]:
    basic = base64.b64encode(f"token:{token}".encode()).decode()
    return {
        "none": {},
        "wrong": {"Authorization": "Bearer dapi-not-the-token"},
        "empty": {"Authorization": ""},
        "scheme-only": {"Authorization": "Bearer"},
        "no-scheme": {"Authorization": token},
        "basic": {"Authorization": f"Basic {basic}"},
        "prefix": {"Authorization": f"Bearer {token[:-1]}"},
        "suffix": {"Authorization": f"Bearer {token}x"},
        "cookie": {"Cookie": f"token={token}"},
        "other-header": {"X-Databricks-Token": token},
    }


BEARER_BUT_WRONG = ("wrong", "prefix", "suffix")


def test_every_route_but_discovery_refuses_bad_credentials(deployed):
    server = deployed.server
    routes = documented_routes(server, deployed) + MLFLOW_ROUTES + OTHER_ROUTES
    tried = 0
    for method, path in routes:
        if path == DISCOVERY and method == "GET":
            continue
        for label, headers in bad_credentials(server.token).items():
            query = f"{'&' if '?' in path else '?'}token={server.token}" if label == "none" else ""
            response = requests.request(method, f"{server.host}{path}{query}", headers=headers,
                                        json={"name": "x"}, timeout=30, allow_redirects=False)
            tried += 1
            if label in BEARER_BUT_WRONG:  # Databricks: an unknown token is a 403
                assert response.status_code == 403, (method, path, label, response.status_code)
                assert response.json() == {"error_code": "403",
                                           "message": "Invalid access token."}
            else:  # no bearer token at all: 401
                assert response.status_code == 401, (method, path, label, response.status_code)
                assert response.json()["error_code"] == "401"
                assert response.headers["WWW-Authenticate"] == "Bearer"
            assert server.token not in response.text
    assert tried >= 400


def test_only_the_discovery_document_is_public_and_it_holds_no_secret(deployed):
    server = deployed.server
    response = requests.get(f"{server.host}{DISCOVERY}", timeout=30)
    assert response.status_code == 200 and server.token not in response.text
    assert set(response.json()) <= {"workspace_id", "oidc_endpoint"}
    head = requests.head(f"{server.host}{DISCOVERY}", timeout=30)  # passes the gate too
    assert head.status_code in (200, 405) and server.token not in head.text


def test_the_right_token_opens_every_documented_route(deployed):
    """The other side of the gate: nothing documented is refused to the real token."""
    server = deployed.server
    for method, path in documented_routes(server, deployed):
        if method != "GET":
            continue
        response = requests.get(f"{server.host}{path}", headers=server.headers, timeout=60)
        assert response.status_code not in (401, 403), (path, response.text)


@pytest.mark.parametrize("host,loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.0.2.1", False), ("example.com", False),
])
def test_loopback_detection(host, loopback):
    assert is_loopback(host) is loopback


def test_binding_a_non_loopback_address_warns_first(tmp_path):
    """192.0.2.1 is a documentation address no machine has: the warning is printed before
    the bind fails, so no socket is ever opened beyond loopback by this test."""
    env = {k: v for k, v in server_env().items() if k != "PT_WIDGETS_LOCAL_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "pt_widgets.local", "serve", "--host",
                           "192.0.2.1", "--port", "0", "--data-dir", str(tmp_path / "ws")],
                          capture_output=True, text=True, env=env, timeout=180)
    assert "WARNING: binding 192.0.2.1, which is not loopback" in done.stderr, done.stderr
    assert done.returncode != 0


@pytest.fixture
def own_token_server(deployed, tmp_path):
    """A server that chose its own token (none given), logging at uvicorn's most verbose."""
    data_dir = tmp_path / "own-token"
    seed_calibration(deployed.server.data_dir, data_dir)
    server = PinnedServer(data_dir, pass_token=False, extra_args=["--log-level", "trace"])
    yield server.start()
    server.stop()


def test_default_bind_token_file_and_logs(own_token_server, deployed):
    server = own_token_server
    token = server.token
    assert server.host.startswith("http://127.0.0.1:")
    listening = [c.laddr for c in psutil.Process(server.proc.pid).net_connections("inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening
    token_file = server.data_dir / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700
    assert token.startswith("dapi") and len(token) >= 36
    # exercise the server: good and bad tokens, errors, a deploy, queries, MLflow's routes
    for headers in (server.headers, {"Authorization": "Bearer nope"}, {}):
        requests.get(f"{server.host}{SERVING}/missing", headers=headers, timeout=30)
        requests.post(f"{server.host}{SERVING}", headers=headers, data=b"{", timeout=30)
        requests.get(f"{server.host}/api/2.0/mlflow/experiments/search?max_results=1",
                     headers=headers, timeout=30)
    ws = pt_widgets.connect(server.host, token)
    plan = ws.sizing_plan(CHAT, 1)
    ws.deploy("quiet", CHAT, 1, {"max_throughput": plan.chunk_size}, timeout=300)
    assert ask_chat(server, "quiet", max_tokens=2).status_code == 200
    server.restart()
    assert server.token == token  # the stored token survives a restart
    assert ws.endpoint("quiet").is_ready
    server.stop()
    log = "\n".join(server.output)
    assert "TRACE:" in log and "ASGI" in log  # the most verbose logging really was on
    assert token not in log
    assert f'export DATABRICKS_TOKEN="$(cat {token_file})"' in log  # a reference, not the value
    for path in server.data_dir.rglob("*"):
        if path.is_file() and path != token_file:
            assert token.encode() not in path.read_bytes(), path


def test_the_token_never_shows_in_reprs_errors_or_client_logs(deployed, caplog):
    server = deployed.server
    caplog.set_level(logging.DEBUG)
    ws = pt_widgets.connect(server.host, server.token)
    plan = ws.sizing_plan(CHAT, 1)
    objects = [ws, ws.sdk(), ws.sdk().config, ws.retry, plan, ws.endpoint(deployed.chat),
               ws.list_endpoints(), ws.catalogs(), ws.models("system", "ai"),
               ws.chat(deployed.chat, "Say hi.", max_tokens=2),
               ws.embeddings(deployed.embed, ["hello"]),
               ws.deploy_in_background(deployed.chat, CHAT, 1,
                                       {"max_throughput": deployed.chat_chunk,
                                        "min_throughput": deployed.chat_chunk})]
    with pytest.raises(Exception) as missing:
        ws.endpoint("does-not-exist")
    with pytest.raises(AuthenticationError) as refused:
        pt_widgets.connect(server.host, server.token + "x")
    objects += [missing.value, refused.value, objects[-1].result(timeout=300)]
    for obj in objects:
        assert server.token not in repr(obj), type(obj)
        assert server.token not in str(obj), type(obj)
    assert server.token + "x" not in str(refused.value)
    with pytest.raises(TypeError):
        pickle.dumps(ws)
    assert caplog.records and server.token not in caplog.text
