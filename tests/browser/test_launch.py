"""The README's first command: `python -m pt_widgets.widgets` starts the local workspace and
JupyterLab with the quickstart open; a newcomer sees the App within a minute."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from playwright.sync_api import expect

from pt_widgets.widgets.launch import ensure_quickstart, packaged_quickstart
from pt_widgets.workspace import find_local_workspace

from ..support import server_env
from .lab import (
    ROOT,
    browser_page,
    code_cell_indices,
    free_port,
    jupyter_env,
    run_cell,
    screenshot,
    wait_http,
    wait_kernel_idle,
)


def test_the_packaged_quickstart_is_copied_only_where_there_is_none(tmp_path):
    assert packaged_quickstart() == (ROOT / "notebooks" / "quickstart.ipynb").read_bytes()
    copied = ensure_quickstart(tmp_path)
    assert copied == tmp_path / "quickstart.ipynb"
    assert copied.read_bytes() == packaged_quickstart()
    copied.write_text("my own edits")
    assert ensure_quickstart(tmp_path).read_text() == "my own edits"  # never overwritten


def test_one_command_opens_the_quickstart_and_the_app_renders(tmp_path):
    notebooks = tmp_path / "notebooks"  # a copy: JupyterLab writes next to what it serves
    shutil.copytree(ROOT / "notebooks", notebooks,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    port = free_port()
    env = jupyter_env(tmp_path / "jupyter", server_env())  # no DATABRICKS_* configured
    env["PT_WIDGETS_HOME"] = str(tmp_path / "home")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pt_widgets.widgets", "--notebook",
         str(notebooks / "quickstart.ipynb"), "--no-browser", f"--port={port}",
         "--port-retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly"],
        cwd=ROOT, env=env, stdout=(tmp_path / "launch.log").open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/api/status", 150, alive=lambda: proc.poll() is None)
        with browser_page() as page:
            page.goto(f"{url}/", timeout=60_000)  # the launcher's default page: the quickstart
            expect(page.locator(".jp-NotebookPanel .jp-Notebook")).to_be_visible(timeout=60_000)
            assert page.url.endswith("/lab/tree/quickstart.ipynb")
            wait_kernel_idle(page)
            run_cell(page, code_cell_indices(page)[0])  # what the newcomer does: Shift+Enter
            app = page.locator("[data-testid=ptw-app]")
            expect(app.locator("[data-testid=catalog] option[value=system]")).to_be_attached(
                timeout=60_000)
            elapsed = time.monotonic() - started
            screenshot(page.locator(".jp-NotebookPanel .jp-Notebook").first, "00_launch.png")
        print(f"\nfrom the command to a usable App: {elapsed:.1f} s (the target lives in "
              "tests/benchmarks/bench_widgets_tti.py)")
        # the token the launcher's workspace issued and handed to JupyterLab's kernels
        token = (tmp_path / "home" / "local" / "token").read_text().strip()
        assert len(token) >= 16
    finally:
        proc.terminate()  # the launcher stops JupyterLab and the workspace it started
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(10)
    # ...and nothing it started is left answering
    assert find_local_workspace(tmp_path / "home", timeout=2) is None
    launch_log = (tmp_path / "launch.log").read_text()
    assert "local workspace at http://127.0.0.1:" in launch_log
    written = [*(tmp_path / "home").rglob("*.log"), *notebooks.rglob("*.ipynb")]
    assert any(p.suffix == ".log" for p in written)  # the workspace's own log is among them
    for text in [launch_log, *(p.read_text(errors="replace") for p in written)]:
        assert token not in text
