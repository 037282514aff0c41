"""Every route but the discovery document needs the bearer token."""

from __future__ import annotations

import pytest
import requests

ROUTES = [
    ("GET", "/api/2.1/unity-catalog/catalogs"),
    ("GET", "/api/2.1/unity-catalog/models?catalog_name=system&schema_name=ai"),
    ("GET", "/api/2.0/serving-endpoints"),
    ("POST", "/api/2.0/serving-endpoints"),
    ("GET", "/api/2.0/serving-endpoints/get-model-optimization-info/system.ai.x/1"),
    ("POST", "/serving-endpoints/x/invocations"),
    ("GET", "/api/2.0/mlflow/registered-models/search"),
    ("GET", "/"),
]


@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", "Basic Zm9vOmJhcg=="])
def test_rejected_without_the_right_token(workspace, method, path, auth):
    """Databricks' answers: a bearer token it does not know is 403 "Invalid access token."
    (the SDK raises PermissionDenied); no bearer token at all is 401."""
    headers = {"Authorization": auth} if auth else {}
    response = requests.request(method, workspace.host + path, headers=headers, json={},
                                timeout=10)
    if auth and auth.startswith("Bearer"):
        assert response.status_code == 403
        assert response.json() == {"error_code": "403", "message": "Invalid access token."}
    else:
        assert response.status_code == 401
        assert response.json()["error_code"] == "401"
    assert workspace.token not in response.text


def test_sdk_raises_permission_denied_for_a_bad_token(workspace):
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import PermissionDenied

    w = WorkspaceClient(host=workspace.host, token="dapi-not-the-token")
    with pytest.raises(PermissionDenied, match="Invalid access token"):
        w.serving_endpoints.list()


def test_discovery_document_is_public(workspace):
    body = requests.get(workspace.host + "/.well-known/databricks-config", timeout=10).json()
    assert body["workspace_id"].isdigit()


def test_token_file_is_private(tmp_path):
    import os
    import stat
    import subprocess
    import sys

    data_dir = tmp_path / "generated"
    env = dict(os.environ, PT_WIDGETS_LOCAL_TOKEN="")
    env.pop("PT_WIDGETS_LOCAL_TOKEN")
    out = subprocess.run([sys.executable, "-c",
                          "from pathlib import Path; from pt_widgets.local.settings import "
                          "resolve_token, ensure_data_dir; "
                          f"print(resolve_token(ensure_data_dir(Path('{data_dir}'))))"],
                         capture_output=True, text=True, env=env, check=True).stdout.strip()
    path = data_dir / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == out and out.startswith("dapi")
