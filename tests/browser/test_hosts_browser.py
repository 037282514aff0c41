"""The widgets in the other Jupyter hosts: Jupyter Notebook 7 and Voila, on Debian's Chromium.

Each host serves a throwaway copy of ``notebooks/`` plus a small notebook holding the
Compare and load-test panels. In Notebook 7 the quickstart is run top to bottom from the
page, then the App is used from the browser (an embeddings query) and the panels answer. In
Voila (which executes the notebook itself and shows only outputs) the quickstart's App is
there with its deployed endpoint, answers a query, and the panels run a comparison and a
short load test. Nothing may leave 127.0.0.1 except the FontAwesome CSS Voila asks a CDN for.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

import pt_widgets

from .lab import (
    NOTEBOOKS,
    browser_page,
    chromium,
    free_port,
    jupyter_env,
    kernel_exec,
    screenshot,
    wait_http,
    wait_kernel_idle,
)

CHAT_MODEL = "system.ai.smollm2_135m_instruct"
ENDPOINT = "loadtest-one-chunk"  # shared with the other tests (idempotent deploy)
RUN_MS = 180_000
VOILA_CDN = "https://cdn.jsdelivr.net/npm/@fortawesome/"

PANELS = [
    "from pt_widgets.widgets import ComparePanel, LoadTestPanel",
    f"cmp = ComparePanel([{{'endpoint': {ENDPOINT!r}, 'temperature': 0.0}},\n"
    f"                    {{'endpoint': {ENDPOINT!r}, 'temperature': 1.0}}])\n"
    "cmp.max_tokens = 8\n"
    "cmp",
    f"lt = LoadTestPanel(endpoint={ENDPOINT!r}, concurrency=[2], seconds_per_level=2,\n"
    "                   max_tokens=8)\n"
    "lt",
]


class HostServer:
    """A Jupyter host (``jupyter notebook`` or ``voila``) on a free loopback port."""

    def __init__(self, base: Path, env: dict[str, str], command: list[str],
                 ready_path: str) -> None:
        self.base = base
        self.root = base / "root"
        self.env = env
        self.command = command
        self.ready_path = ready_path
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.log_path = base / "host.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HostServer:
        shutil.copytree(NOTEBOOKS, self.root,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.pyc"))
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(src) for src in PANELS]
        nbformat.write(nb, self.root / "panels.ipynb")
        log = self.log_path.open("w")
        command = [part.format(port=self.port, root=self.root) for part in self.command]
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True,
                                     env=jupyter_env(self.base, self.env), cwd=self.root)
        try:
            wait_http(self.url + self.ready_path, 90, alive=lambda: self.proc.poll() is None)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"{command[2]} did not start:\n{self.log_tail()}") from None
        return self

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


@pytest.fixture(scope="module")
def host_env(workspace, tmp_path_factory) -> dict[str, str]:
    chromium()
    ws = pt_widgets.connect(workspace.host, workspace.token)
    chunk = ws.sizing_plan(CHAT_MODEL, 1).chunk_size
    ws.deploy(ENDPOINT, CHAT_MODEL, 1, {"max_throughput": chunk, "min_throughput": chunk},
              timeout=600)
    return {"DATABRICKS_HOST": workspace.host, "DATABRICKS_TOKEN": workspace.token,
            "PT_WIDGETS_HOME": str(tmp_path_factory.mktemp("hosts_home"))}


@pytest.fixture(scope="module")
def notebook7(host_env, tmp_path_factory) -> Iterator[HostServer]:
    server = HostServer(tmp_path_factory.mktemp("nb7"), host_env, [
        sys.executable, "-m", "jupyter", "notebook", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", "--port={port}", "--port-retries=0", "--IdentityProvider.token=",
        "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        "--ServerApp.root_dir={root}", "--JupyterNotebookApp.expose_app_in_browser=True"],
        "/api/status").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def voila(host_env, tmp_path_factory) -> Iterator[HostServer]:
    server = HostServer(tmp_path_factory.mktemp("voila"), host_env, [
        sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1",
        "--port={port}", "--show_tracebacks=True", "{root}"],
        "/voila/static/voila.js").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(host_env) -> Iterator:
    with browser_page() as p:
        p.errors = []  # uncaught errors from the widgets (hosts' own noise is not ours to fix)
        p.on("pageerror", lambda e: ours(f"{e.message}\n{e.stack}") and p.errors.append(
            e.message))
        yield p
        outside = [u for u in p.outside_requests if not u.startswith(VOILA_CDN)]
        assert outside == [], f"requests left the machine: {outside}"


def ours(text: str) -> bool:
    return any(mark in text for mark in ("ptw", "pt_widgets", "anywidget", "blob:"))


def embed_from_the_browser(app) -> None:
    """Use the App's playground (now on the embeddings endpoint) from the page."""
    expect(app.locator("[data-testid=tab-embeddings]")).to_have_attribute(
        "aria-selected", "true", timeout=30_000)
    app.locator("[data-testid=texts-input]").fill("A dog runs.\nA puppy sprints.")
    app.locator("[data-testid=send-button]").click()
    expect(app.locator("[data-testid=vectors-table] tbody tr")).to_have_count(2, timeout=60_000)
    expect(app.locator("[data-testid=similarity-table] tbody tr")).to_have_count(2)


def compare_from_the_browser(page) -> None:
    cmp = page.locator("[data-testid=ptw-compare]")
    expect(cmp).to_have_attribute("data-ready", "true", timeout=60_000)
    expect(cmp.locator("[data-testid=cmp-endpoint-1]")).to_have_value(ENDPOINT, timeout=30_000)
    cmp.locator("[data-testid=cmp-prompts]").fill("Name a fruit.")
    cmp.locator("[data-testid=cmp-run]").click()
    expect(cmp.locator("[data-testid=cmp-answer][data-done=true]")).to_have_count(
        2, timeout=RUN_MS)
    expect(cmp.locator("[data-testid=cmp-metrics]").nth(1)).to_contain_text("mean logprob")


def test_notebook7_runs_the_quickstart(page, notebook7):
    page.goto(f"{notebook7.url}/notebooks/quickstart.ipynb", timeout=90_000)
    page.wait_for_selector(".jp-Notebook", timeout=90_000)
    page.wait_for_function("() => !!window.jupyterapp", timeout=90_000)
    wait_kernel_idle(page)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    app = page.locator("[data-testid=ptw-app]")
    expect(app).to_have_attribute("data-ready", "true", timeout=60_000)
    expect(app.locator("[data-testid=step-deploy]")).to_have_attribute("data-state", "done",
                                                                       timeout=RUN_MS)
    last = page.locator(".jp-Notebook .jp-Cell").last
    expect(last.locator(".jp-OutputArea-output")).to_contain_text("quickstart-embeddings",
                                                                  timeout=RUN_MS)
    wait_kernel_idle(page)
    out = kernel_exec(page, "print(app.deploy.status, app.playground.endpoint, "
                            "len(app.playground.history))")
    assert out.split() == ["ready", "quickstart-embeddings", "2"]
    app.scroll_into_view_if_needed()
    embed_from_the_browser(app)
    screenshot(app, "notebook7_quickstart.png")
    assert page.errors == []


def test_notebook7_panels(page, notebook7):
    page.goto(f"{notebook7.url}/notebooks/panels.ipynb", timeout=90_000)
    page.wait_for_function("() => !!window.jupyterapp", timeout=90_000)
    wait_kernel_idle(page)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    compare_from_the_browser(page)
    lt = page.locator("[data-testid=ptw-loadtest]")
    expect(lt.locator("[data-testid=lt-caps]")).to_contain_text("at most 200 requests")
    assert page.errors == []


def test_voila_renders_the_quickstart_and_its_widgets_answer(page, voila):
    page.goto(f"{voila.url}/voila/render/quickstart.ipynb", timeout=RUN_MS)
    app = page.locator("[data-testid=ptw-app]")
    expect(app).to_have_attribute("data-ready", "true", timeout=RUN_MS)
    # Voila ran every cell: the App followed them to the embeddings endpoint
    expect(app.locator("[data-testid=deploy-status]")).to_have_text("ready", timeout=RUN_MS)
    expect(app.locator("[data-testid=pg-endpoint]")).to_have_value("quickstart-embeddings",
                                                                   timeout=RUN_MS)
    expect(page.get_by_text("app.deploy.start()")).to_have_count(0)  # outputs only, no code
    embed_from_the_browser(app)
    screenshot(app, "voila_quickstart.png")
    assert page.errors == []


def test_voila_panels_compare_and_load_test(page, voila):
    page.goto(f"{voila.url}/voila/render/panels.ipynb", timeout=RUN_MS)
    compare_from_the_browser(page)
    lt = page.locator("[data-testid=ptw-loadtest]")
    expect(lt.locator("[data-testid=lt-caps]")).to_contain_text("at most 200 requests")
    lt.locator("[data-testid=lt-start]").click()
    expect(lt).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(lt.locator("[data-testid=lt-table] tbody tr")).to_have_count(1)
    expect(lt.locator("[data-testid=lt-recommendation]")).to_have_text(
        re.compile(r"^Your load needs \d+ chunks? \("))
    screenshot(page.locator("body"), "voila_panels.png")
    assert page.errors == []
