"""A real JupyterLab in a throwaway folder, driven by Playwright on Debian's Chromium.

Used by the browser tests and by ``tests/benchmarks/bench_widgets_tti.py``. Everything lives
under one temporary directory (Jupyter config/data/runtime dirs, IPython dir, user settings,
workspaces and a copy of the notebooks), so nothing in the venv or the repo is written.
No network: Chromium's background traffic is switched off and any request that is not to
127.0.0.1 is aborted and recorded.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts"

CHROMIUM_CANDIDATES = (
    os.environ.get("CHROMIUM", ""),
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
    "/usr/lib/chromium/chromium-headless-shell",
)
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]

LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True,
                                               "windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyter-widgets/jupyterlab-manager/plugin": {"saveState": True},
}


def chromium() -> str:
    for path in CHROMIUM_CANDIDATES:
        if path and os.access(path, os.X_OK):
            return path
    raise RuntimeError("No Chromium found: install Debian's `chromium` (apt-get install -y "
                       "--no-install-recommends chromium) or set CHROMIUM=/path/to/binary.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def jupyter_env(base: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment whose Jupyter/IPython/JupyterLab state all lives under ``base``."""
    dirs = {name: base / name for name in
            ("config", "data", "runtime", "ipython", "settings", "workspaces")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    for plugin, values in LAB_SETTINGS.items():
        target = dirs["settings"] / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    env = dict(os.environ)
    for key in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "DATABRICKS_CONFIG_PROFILE"):
        env.pop(key, None)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        IPYTHONDIR=str(dirs["ipython"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def wait_http(url: str, timeout: float, alive: Any = None) -> None:
    """Poll ``url`` until it answers 200; fail early if ``alive()`` turns false."""
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None and not alive():
            raise RuntimeError(f"the server for {url} exited")
        try:
            with urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer in {timeout} s")
        time.sleep(0.2)


class LabServer:
    """``jupyter lab`` on a free loopback port, serving a copy of ``notebooks/``."""

    def __init__(self, base: Path, env: dict[str, str] | None = None,
                 notebooks: Path = NOTEBOOKS) -> None:
        self.base = base
        self.root = base / "root"
        self.extra_env = env or {}
        self.notebooks = notebooks
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        self.log_path = base / "lab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        return jupyter_env(self.base, self.extra_env)

    def start(self, timeout: float = 90.0) -> LabServer:
        if self.root.exists():
            shutil.rmtree(self.root)
        shutil.copytree(self.notebooks, self.root,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.pyc"))
        self.port = free_port()
        log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
             "--ip=127.0.0.1", f"--port={self.port}", "--port-retries=0",
             "--IdentityProvider.token=", "--ServerApp.password=",
             "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={self.root}",
             "--LabApp.news_url=None", "--LabApp.expose_app_in_browser=True",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--LabApp.extension_manager=readonly"],
            stdout=log, stderr=subprocess.STDOUT, text=True, env=self._env(), cwd=self.root,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited:\n{self.log_tail()}")
            try:
                with urlopen(f"{self.url}/api/status", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"JupyterLab did not answer in {timeout} s:\n{self.log_tail()}")
            time.sleep(0.2)

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


EXPECT_TIMEOUT_MS = 60_000


@contextmanager
def browser_page(viewport: tuple[int, int] = (1400, 1000)) -> Iterator[Any]:
    """A Playwright page on Debian's Chromium; requests that leave 127.0.0.1 are aborted."""
    from playwright.sync_api import expect, sync_playwright

    # Playwright's default 5 s per expectation is a speed assumption: a state that follows an
    # event (a status after the last answer) can take longer on a loaded machine. A longer
    # wait only delays a real failure; it never makes a passing check fail.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        outside: list[str] = []

        def guard(route: Any) -> None:
            url = route.request.url
            if url.startswith(("http://127.0.0.1", "data:", "blob:")):
                route.continue_()
            else:
                outside.append(url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.outside_requests = outside  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            context.close()
            browser.close()


# ------------------------------------------------------------------------- notebook helpers

def open_notebook(page: Any, lab: LabServer, name: str, timeout_ms: int = 90_000) -> None:
    """Open a notebook and wait until its kernel is idle."""
    page.goto(f"{lab.url}/lab/tree/{name}?reset", timeout=timeout_ms)
    page.wait_for_selector(".jp-Notebook", timeout=timeout_ms)
    page.wait_for_function("() => !!window.jupyterapp", timeout=timeout_ms)
    wait_kernel_idle(page, timeout_ms)


def wait_kernel_idle(page: Any, timeout_ms: int = 90_000) -> None:
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session
                      && w.sessionContext.session.kernel;
            return !!k && k.status === 'idle' && k.connectionStatus === 'connected';
        }""",
        timeout=timeout_ms,
    )


def run_cell(page: Any, index: int) -> None:
    """Run one cell (by index) of the current notebook, the way Shift+Enter does."""
    page.evaluate(
        """(i) => {
            const panel = window.jupyterapp.shell.currentWidget;
            panel.content.activeCellIndex = i;
            panel.content.deselectAll();
            return window.jupyterapp.commands.execute('notebook:run-cell');
        }""",
        index,
    )


def code_cell_indices(page: Any) -> list[int]:
    return page.evaluate(
        """() => window.jupyterapp.shell.currentWidget.content.widgets
                 .map((c, i) => [c.model.type, i]).filter(p => p[0] === 'code').map(p => p[1])"""
    )


def kernel_exec(page: Any, code: str, timeout_ms: int = 60_000) -> str:
    """Run code in the notebook's kernel (not in a cell) and return its stdout."""
    return page.evaluate(
        """async ([code, timeout]) => {
            const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const future = kernel.requestExecute({ code, silent: false, store_history: false });
            let out = '';
            let err = '';
            future.onIOPub = (msg) => {
                if (msg.header.msg_type === 'stream') out += msg.content.text;
                if (msg.header.msg_type === 'error') {
                    err += msg.content.ename + ': ' + msg.content.evalue;
                }
            };
            const done = future.done;
            const timer = new Promise((_, rej) => setTimeout(
                () => rej(new Error('kernel_exec timeout')), timeout));
            await Promise.race([done, timer]);
            if (err) throw new Error(err);
            return out;
        }""",
        [code, timeout_ms],
    )


def save_notebook(page: Any, timeout_ms: int = 30_000) -> None:
    """Save the current notebook (with widget state) and wait for the PUT to finish."""
    with page.expect_response(
        lambda r: "/api/contents/" in r.url and r.request.method == "PUT", timeout=timeout_ms
    ) as info:
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    assert info.value.ok, f"saving the notebook failed: HTTP {info.value.status}"


def set_theme(page: Any, theme: str) -> None:
    page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})",
                  theme)
    page.wait_for_function("(t) => document.body.dataset.jpThemeName === t", arg=theme,
                           timeout=30_000)


def screenshot(target: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    target.screenshot(path=str(path))
    return path
