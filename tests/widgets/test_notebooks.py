"""The notebooks run top to bottom (nbclient, a real kernel, the real local workspace), and a
notebook saved with widget state holds no token."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts"


def run_notebook(name: str, workspace, tmp_path: Path) -> tuple[dict, str]:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    env = dict(os.environ)
    for key in ("DATABRICKS_CONFIG_PROFILE", "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN",
                "ANYWIDGET_HMR"):
        env.pop(key, None)
    env.update(DATABRICKS_HOST=workspace.host, DATABRICKS_TOKEN=workspace.token,
               PT_WIDGETS_HOME=str(tmp_path / "home"), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", IPYTHONDIR=str(tmp_path / "ipython"),
               JUPYTER_PLATFORM_DIRS="1")
    client = NotebookClient(nb, timeout=900, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)
    out = tmp_path / name
    nbformat.write(nb, out)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(out, ARTIFACTS / f"executed_{name}")
    return nb, out.read_text()


def outputs(nb: dict) -> str:
    text = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text.append(out.get("text", ""))
            text.append(json.dumps(out.get("data", {})))
    return "\n".join(text)


def widget_models(nb: dict) -> dict:
    return nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]


def assert_no_secret(text: str, token: str) -> None:
    assert token not in text
    assert "dapi" not in text


def test_quickstart_runs_the_whole_loop_and_saves_no_token(workspace, tmp_path):
    nb, text = run_notebook("quickstart.ipynb", workspace, tmp_path)
    shown = outputs(nb)
    assert "task=llm/v1/chat eligible=True" in shown
    assert "quickstart-chat ready" in shown
    assert "quickstart-embeddings" in shown
    states = [m["state"] for m in widget_models(nb).values() if m["model_name"] == "AnyModel"]
    assert [s["_kind"] for s in states] == ["app"]
    app_state = states[0]
    assert app_state["deploy_status"] == "ready" and app_state["deploy_endpoint"]
    assert app_state["playground_endpoint"] == "quickstart-embeddings"
    assert_no_secret(text, workspace.token)


def test_fine_tune_notebook_logs_and_deploys_with_provisioned_throughput(workspace, tmp_path):
    nb, text = run_notebook("fine_tune_and_deploy.ipynb", workspace, tmp_path)
    shown = outputs(nb)
    assert "task=llm/v1/embeddings eligible=True" in shown
    assert "support-search" in shown
    kinds = sorted(m["state"]["_kind"] for m in widget_models(nb).values()
                   if m["model_name"] == "AnyModel")
    assert kinds == ["deploy", "picker", "playground", "slider"]
    assert_no_secret(text, workspace.token)


def test_day_two_notebook_rolls_out_promotes_and_limits_a_second_user(workspace, tmp_path):
    nb, text = run_notebook("day_two.ipynb", workspace, tmp_path)
    (line,) = [row for row in outputs(nb).splitlines() if row.startswith("DAY_TWO_SUMMARY ")]
    summary = json.loads(line.split(" ", 1)[1])
    assert summary["traffic_canary"] == {"chat-v1": 90, "chat-v2": 10}
    assert summary["traffic_promoted"] == {"chat-v1": 0, "chat-v2": 100}
    assert summary["answered_after_promote"] == "chat-v2"
    assert summary["entities_in_inference_table"] == ["chat-v1", "chat-v2"]
    refused = summary["rate_limited"]
    assert refused.startswith("RateLimited: ") and "\n" not in refused
    assert "2 calls per minute for user analyst@example.com" in refused
    usage = summary["usage_per_user"]
    assert usage["analyst@example.com"]["ok"] >= 2  # its calls before the limit answered
    assert usage["local-user@localhost"]["ok"] >= 2  # the batch and the promoted query
    assert all(not cell.get("outputs") for cell in nbformat.read(
        NOTEBOOKS / "day_two.ipynb", as_version=4).cells if cell.cell_type == "code")
    assert_no_secret(text, workspace.token)
