"""The core widgets wrapped by marimo's ``mo.ui.anywidget``, in a real ``marimo run`` page.

marimo renders anywidgets only (no ipywidgets containers) and relays custom messages, which is
all pt_widgets needs: the App lists catalogs (a request/response round trip), the Compare
panel streams two answers into its table (requests plus events). Driven by Playwright on
Debian's Chromium; nothing may leave 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..browser.lab import browser_page, free_port, screenshot, wait_http
from .conftest import CHAT_MODEL

ENDPOINT = "loadtest-one-chunk"  # shared with the API and browser tests (idempotent deploy)

NOTEBOOK = textwrap.dedent(f'''
    import marimo

    app = marimo.App()


    @app.cell
    def _():
        import marimo as mo
        from pt_widgets.widgets import App, ComparePanel
        return App, ComparePanel, mo


    @app.cell
    def _(ComparePanel, mo):
        compare = mo.ui.anywidget(ComparePanel([{{"endpoint": {ENDPOINT!r}, "temperature": 0.0}},
                                                {{"endpoint": {ENDPOINT!r}, "temperature": 1.0}}]))
        compare
        return (compare,)


    @app.cell
    def _(App, mo):
        pt_app = mo.ui.anywidget(App())
        pt_app
        return (pt_app,)


    if __name__ == "__main__":
        app.run()
''')


@pytest.fixture(scope="module")
def marimo_url(ws, workspace, tmp_path_factory) -> Iterator[str]:
    chunk = ws.sizing_plan(CHAT_MODEL, 1).chunk_size
    ws.deploy(ENDPOINT, CHAT_MODEL, 1, {"max_throughput": chunk, "min_throughput": chunk},
              timeout=600)
    base: Path = tmp_path_factory.mktemp("marimo")
    (base / "app.py").write_text(NOTEBOOK)
    env = dict(os.environ)
    env.pop("DATABRICKS_CONFIG_PROFILE", None)
    env.update(DATABRICKS_HOST=workspace.host, DATABRICKS_TOKEN=workspace.token,
               PT_WIDGETS_HOME=str(base / "home"), XDG_CONFIG_HOME=str(base / "config"),
               XDG_CACHE_HOME=str(base / "cache"), XDG_STATE_HOME=str(base / "state"),
               MARIMO_SKIP_UPDATE_CHECK="1", PYTHONUNBUFFERED="1")
    port = free_port()
    log = (base / "marimo.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "marimo", "run", "app.py", "--headless", "--no-token",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 60, alive=lambda: proc.poll() is None)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def test_app_and_compare_work_inside_mo_ui_anywidget(marimo_url):
    with browser_page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(marimo_url, timeout=90_000)
        compare = page.locator("[data-testid=ptw-compare]")
        expect(compare).to_have_attribute("data-ready", "true", timeout=60_000)
        app = page.locator("[data-testid=ptw-app]")
        expect(app).to_have_attribute("data-ready", "true", timeout=60_000)
        # request/response: the App's picker lists the catalogs from the workspace
        expect(app.locator("[data-testid=catalog] option[value=system]")).to_have_count(
            1, timeout=60_000)
        expect(compare.locator("[data-testid=cmp-endpoint-0]")).to_have_value(ENDPOINT,
                                                                              timeout=30_000)
        compare.locator("[data-testid=cmp-max-tokens]").fill("8")
        compare.locator("[data-testid=cmp-max-tokens]").dispatch_event("change")
        compare.locator("[data-testid=cmp-prompts]").fill("Say hello.")
        compare.locator("[data-testid=cmp-run]").click()
        # events: the answers stream in, then both cells are final
        expect(compare.locator("[data-testid=cmp-answer][data-done=true]")).to_have_count(
            2, timeout=120_000)
        expect(compare.locator("[data-testid=cmp-status]")).to_have_text("Done: 2 of 2 answers")
        expect(compare.locator("[data-testid=cmp-metrics]").first).to_contain_text("mean logprob")
        screenshot(page, "marimo.png")
        assert errors == []
        assert page.outside_requests == [], page.outside_requests
