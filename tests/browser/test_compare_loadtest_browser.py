"""ComparePanel and LoadTestPanel in a real JupyterLab, clicked through on Debian's Chromium.

One endpoint provisioned for exactly one chunk of the chat model: the compare sends one prompt
to it at temperature 0 and 1 (answers stream into two columns, with mean logprob); the load
test sweeps 1 and 8 concurrent requests, and its chart must show delivered tokens/s capped
near the provisioned rate with 429s beyond it. Then a second run is stopped with the button.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from playwright.sync_api import expect

import pt_widgets

from .lab import ARTIFACTS, code_cell_indices, kernel_exec, open_notebook, run_cell, screenshot

CHAT_MODEL = "system.ai.smollm2_135m_instruct"
ENDPOINT = "loadtest-one-chunk"
RUN_TIMEOUT_MS = 120_000

CELLS = [
    "from pt_widgets.widgets import ComparePanel, LoadTestPanel\n"
    f"EP = {ENDPOINT!r}",
    "cmp = ComparePanel([{'endpoint': EP, 'temperature': 0.0},\n"
    "                    {'endpoint': EP, 'temperature': 1.0}])\n"
    "cmp.max_tokens = 12\n"
    "cmp",
    "lt = LoadTestPanel(endpoint=EP, concurrency=[1, 8], seconds_per_level=6, max_tokens=16,\n"
    "                   prompt=PROMPT)\n"
    "lt",
]


def heavy_prompt(chunk: int) -> str:
    """A prompt worth a third of a second of one chunk (prompt tokens are charged whole).

    Eight of them at once reserve over twice what the bucket holds, so the 8-concurrent
    level meets 429s by construction, on a machine of any speed (the chunk is measured on
    it), not because this machine's engine happens to be slow.
    """
    return "Summarise:" + " data" * min(1800, max(20, chunk // 3))


@pytest.fixture(scope="module")
def chunk(workspace, lab) -> float:
    ws = pt_widgets.connect(workspace.host, workspace.token)
    size = ws.sizing_plan(CHAT_MODEL, 1).chunk_size
    ws.deploy(ENDPOINT, CHAT_MODEL, 1, {"max_throughput": size, "min_throughput": size},
              timeout=600)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cells = [CELLS[0] + f"\nPROMPT = {heavy_prompt(size)!r}", *CELLS[1:]]
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, lab.root / "compare_loadtest.ipynb")
    return float(size)


def widget(page, kind: str):
    return page.locator(f"[data-testid=ptw-{kind}]")


def test_compare_the_chat_model_with_itself_at_two_temperatures(page, lab, chunk):
    open_notebook(page, lab, "compare_loadtest.ipynb")
    cells = code_cell_indices(page)
    run_cell(page, cells[0])
    run_cell(page, cells[1])
    root = widget(page, "compare")
    expect(root).to_have_attribute("data-ready", "true", timeout=60_000)
    expect(root.locator("[data-testid=cmp-endpoint-1]")).to_have_value(ENDPOINT, timeout=30_000)
    expect(root.locator("[data-testid=cmp-temp-1]")).to_have_value("1")
    root.locator("[data-testid=cmp-prompts]").fill("What is the capital of France?")
    root.locator("[data-testid=cmp-run]").click()
    labels = root.locator("[data-testid=cmp-target-label]")
    expect(labels).to_have_text([f"{ENDPOINT} (temperature=0)", f"{ENDPOINT} (temperature=1)"],
                                timeout=30_000)
    done = root.locator("[data-testid=cmp-answer][data-done=true]")
    expect(done).to_have_count(2, timeout=RUN_TIMEOUT_MS)
    expect(root.locator("[data-testid=cmp-status]")).to_have_text("Done: 2 of 2 answers")
    metrics = root.locator("[data-testid=cmp-metrics]")
    for i in range(2):
        assert done.nth(i).inner_text().strip()
        expect(metrics.nth(i)).to_have_text(re.compile(r"s · \d+ tokens · first token .* · "
                                                       r"mean logprob -\d"))
    expect(root.locator("[data-testid=cmp-summary]").first).to_have_text(re.compile("logprob"))
    screenshot(root, "compare_two_temperatures.png")
    out = kernel_exec(page, "print(len(cmp.result), int(cmp.result['mean_logprob'].notna().sum()),"
                            " sorted(cmp.result['temperature'].tolist()))")
    assert out.strip() == "2 2 [0.0, 1.0]"


def test_load_test_chart_shows_the_cap_and_429s(page, chunk):
    run_cell(page, code_cell_indices(page)[2])
    root = widget(page, "loadtest")
    expect(root).to_have_attribute("data-ready", "true", timeout=60_000)
    caps = root.locator("[data-testid=lt-caps]")
    expect(caps).to_have_text(re.compile(r"2 levels \(1, 8 concurrent\) × up to 6 s .*at most "
                                         r"400 requests"))
    expect(root.locator("[data-testid=lt-capacity]")).to_have_text(
        f"Provisioned: {chunk:g} tokens/s (chunks of {chunk:g})", timeout=30_000)
    expect(root.locator("[data-testid=lt-max-line]")).to_have_count(1)
    root.locator("[data-testid=lt-start]").click()
    expect(root.locator("[data-testid=lt-status]")).to_have_text(re.compile("Running"),
                                                                 timeout=30_000)
    expect(root.locator("[data-testid=lt-stop]")).to_be_visible()
    expect(root.locator("[data-testid=lt-delivered]")).to_have_count(1, timeout=30_000)
    expect(root).to_have_attribute("data-status", "done", timeout=RUN_TIMEOUT_MS)
    expect(root.locator("[data-testid=lt-table] tbody tr")).to_have_count(2)
    assert root.locator("[data-testid=lt-429]").count() > 0
    advice = root.locator("[data-testid=lt-recommendation]")
    expect(advice).to_have_text(re.compile(r"^Your load needs \d+ chunks? \("))
    root.scroll_into_view_if_needed()
    screenshot(root, "loadtest_chart.png")
    levels = json.loads(kernel_exec(page, "print(lt.frame.to_json(orient='records'))"))
    top = levels[-1]
    assert top["concurrency"] == 8 and top["rate_limited"] > 0
    assert top["delivered_tokens_per_s"] <= chunk * (1 + 1 / top["seconds"]) + 1
    assert top["delivered_tokens_per_s"] >= 0.3 * chunk
    assert top["provisioned_tokens_per_s"] == chunk
    ARTIFACTS.mkdir(exist_ok=True)
    table = kernel_exec(page, "print(lt.frame.to_string()); print(lt.result.recommendation)")
    (ARTIFACTS / "loadtest_table.txt").write_text(table)
    assert advice.inner_text() == table.strip().splitlines()[-1]


def test_stop_button_ends_a_running_load_test(page):
    root = widget(page, "loadtest")
    seconds = root.locator("[data-testid=lt-seconds]")
    seconds.fill("60")
    seconds.dispatch_event("change")
    expect(root.locator("[data-testid=lt-caps]")).to_have_text(re.compile("up to 60 s"))
    root.locator("[data-testid=lt-start]").click()
    expect(root.locator("[data-testid=lt-status]")).to_have_text(re.compile(r"[1-9]\d* ok"),
                                                                 timeout=60_000)
    root.locator("[data-testid=lt-stop]").click()
    expect(root).to_have_attribute("data-status", "stopped", timeout=30_000)
    expect(root.locator("[data-testid=lt-table] tbody tr")).to_have_count(1)
    out = kernel_exec(page, "print(lt.result.stopped, len(lt.frame))")
    assert out.strip() == "True 1"
    assert page.console_errors == [] or all("ptw" not in e for e in page.console_errors)
