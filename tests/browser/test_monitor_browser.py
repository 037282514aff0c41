"""MonitorPanel in a real JupyterLab on Debian's Chromium: it polls while on screen, a burst of
real requests above the provisioned rate (sent from Python) shows up as counted 429s in the
page, removing the view pauses the polling and closing the widget ends the thread.
Screenshot into test-artifacts/.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from playwright.sync_api import expect

import pt_widgets

from ..support import burst_until_429, deploy_one_chunk, wait_until
from .lab import code_cell_indices, kernel_exec, open_notebook, run_cell, screenshot

ENDPOINT = "monitor-one-chunk"

CELLS = [
    f"from pt_widgets.widgets import MonitorPanel\nEP = {ENDPOINT!r}",
    "mon = MonitorPanel(endpoint=EP, interval_s=1, window_s=120)\nmon",
]


@pytest.fixture(scope="module")
def ws(workspace):
    return pt_widgets.connect(workspace.host, workspace.token)


@pytest.fixture(scope="module")
def chunk(ws, lab) -> float:
    size = deploy_one_chunk(ws, ENDPOINT)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nbformat.write(nb, lab.root / "monitor.ipynb")
    return size


def kernel_says(page, code: str, expected: str, what: str) -> None:
    """Ask the kernel between its message handling (a blocking wait would stop it hearing
    the page) until ``code`` prints ``expected``."""
    wait_until(lambda: kernel_exec(page, code).strip() == expected, 60, interval=0.5, what=what)


def test_monitor_counts_429s_live_and_stops_when_unseen_or_closed(page, lab, ws, chunk):
    open_notebook(page, lab, "monitor.ipynb")
    cells = code_cell_indices(page)
    run_cell(page, cells[0])
    run_cell(page, cells[1])
    root = page.locator("[data-testid=ptw-monitor]")
    expect(root).to_have_attribute("data-ready", "true", timeout=60_000)
    expect(root.locator("[data-testid=mon-endpoint]")).to_have_value(ENDPOINT, timeout=30_000)
    expect(root).to_have_attribute("data-status", "watching", timeout=30_000)
    expect(root.locator("[data-testid=mon-readout]")).to_have_text(
        re.compile(rf"tokens/s delivered \(last minute\) · current rate {round(chunk):,} "
                   rf"\(provisioned {round(chunk):,}\)"),
        timeout=30_000)
    assert root.locator("[data-testid=mon-429-count]").inner_text() == "0"
    expect(root.locator("[data-testid=lt-max-line]")).to_have_count(1)

    answers = burst_until_429(ws, ENDPOINT, chunk)
    refused = sum(1 for status, _ in answers if status == 429)
    expect(root.locator("[data-testid=mon-429-count]")).to_have_text(str(refused),
                                                                      timeout=30_000)
    # every answered token is counted too (nothing else queries this endpoint here)
    kernel_says(page, "print(int(mon.frame['tokens'].sum()))",
                str(sum(tokens for _, tokens in answers)), "the answered tokens counted")
    expect(root.locator("[data-testid=lt-429]").first).to_be_visible()
    expect(root.locator("[data-testid=lt-delivered]")).to_have_count(1)
    root.scroll_into_view_if_needed()
    screenshot(root, "monitor_429s.png")
    assert kernel_exec(page, "print(int(mon.frame['rate_limited'].sum()))").strip() == str(refused)
    assert int(root.locator("[data-testid=mon-chart-box]").get_attribute("data-rows")) >= 2

    # the view goes away (output cleared): it says hidden, the kernel stops polling
    page.evaluate(
        """(i) => {
            const panel = window.jupyterapp.shell.currentWidget;
            panel.content.activeCellIndex = i;
            return window.jupyterapp.commands.execute('notebook:clear-cell-output');
        }""",
        cells[1],
    )
    expect(root).to_have_count(0)
    kernel_says(page, "print(mon.status, mon.monitor.running)", "paused False",
                "the polling to pause")
    # from Python it runs without a view; closing the widget ends its thread
    kernel_says(page, "mon.start(); print(mon.status)", "watching", "polling from Python")
    out = kernel_exec(page, "mon.close(); mon.monitor.wait(30); print(mon.monitor.running, "
                            "mon.monitor.future.done())")
    assert out.strip() == "False True"
    assert page.console_errors == [] or all("ptw" not in e for e in page.console_errors)
