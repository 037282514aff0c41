"""The App in a real JupyterLab, clicked through by Playwright on Debian's Chromium.

One JupyterLab and one local workspace per session; the tests of this module share one page
and run in order: open the quickstart -> pick system.ai -> the chat model -> version -> drag
the slider (lands on a chunk multiple) -> deploy -> READY -> chat with logprobs (answer and
token table) -> embeddings (vectors table) -> save the notebook with widget state (no token
in it) -> dark theme. Screenshots of each step go to test-artifacts/.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from ..support import wait_until
from .lab import (
    ARTIFACTS,
    code_cell_indices,
    kernel_exec,
    open_notebook,
    run_cell,
    save_notebook,
    screenshot,
    set_theme,
)
from .tti import measure, report, write_notebook

CHAT_MODEL = "system.ai.smollm2_135m_instruct"
EMBED_MODEL = "system.ai.all_minilm_l6_v2"
DEPLOY_TIMEOUT_MS = 300_000
QUERY_TIMEOUT_MS = 180_000

STATE: dict = {}


def app_root(page):
    return page.locator("[data-testid=ptw-app]")


def shot(page, name: str) -> None:
    screenshot(page.locator(".jp-NotebookPanel .jp-Notebook").first, name)


def drag_max_thumb_to(page, chunks: float, limit: int) -> None:
    """Drag the max thumb with the mouse to a (fractional) chunk position."""
    thumb = app_root(page).locator("[data-testid=slider-max]")
    box = thumb.bounding_box()
    assert box is not None
    thumb_w = 18  # CSS thumb width
    usable = box["width"] - thumb_w

    def x_of(value: float) -> float:
        return box["x"] + thumb_w / 2 + usable * value / limit

    y = box["y"] + box["height"] / 2
    start = float(thumb.input_value())
    page.mouse.move(x_of(start), y)
    page.mouse.down()
    for k in range(1, 11):  # a real drag: many small moves
        page.mouse.move(x_of(start + (chunks - start) * k / 10), y)
    page.mouse.up()


def deploy_and_wait(page, expected_name: str) -> None:
    root = app_root(page)
    name = root.locator("[data-testid=endpoint-name]")
    expect(name).to_have_value(expected_name, timeout=30_000)
    expect(root.locator("[data-testid=name-status]")).to_have_attribute(
        "data-status", re.compile("new|exists"), timeout=30_000)
    button = root.locator("[data-testid=deploy-button]")
    expect(button).to_be_enabled(timeout=30_000)
    button.click()
    status = root.locator("[data-testid=deploy-status]")
    expect(status).to_have_text(re.compile("submitting|pending|ready"), timeout=30_000)
    STATE.setdefault("statuses", []).append(status.inner_text())
    expect(status).to_have_text("ready", timeout=DEPLOY_TIMEOUT_MS)


def test_open_quickstart_and_pick_the_chat_model(page, lab):
    open_notebook(page, lab, "quickstart.ipynb")
    run_cell(page, code_cell_indices(page)[0])
    root = app_root(page)
    expect(root).to_have_attribute("data-ready", "true", timeout=60_000)
    shot(page, "01_app_opened.png")

    root.locator("[data-testid=catalog]").select_option("system")
    root.locator("[data-testid=schema]").select_option("ai")
    model = root.locator(f"[data-testid=model-list] li[data-name='{CHAT_MODEL}']")
    expect(model).to_be_visible(timeout=30_000)
    root.locator("[data-testid=model-search]").fill("smollm2")
    count = root.locator("[data-testid=model-count]")
    expect(count).to_have_text(re.compile(r"^\d+ of \d+ models"))
    model.click()
    root.locator("[data-testid=version]").select_option("1")
    expect(root.locator("[data-testid=eligibility]")).to_have_text(re.compile("eligible"),
                                                                    timeout=60_000)
    expect(root.locator("[data-testid=task-chip]")).to_have_text("task: chat")
    expect(root.locator("[data-testid=step-throughput]")).to_have_attribute("data-state", "done",
                                                                             timeout=30_000)
    shot(page, "02_model_picked.png")


def test_drag_the_slider_lands_on_chunk_multiples(page):
    root = app_root(page)
    readout = root.locator("[data-testid=slider-readout]")
    chunk = int(kernel_exec(page, "print(app.slider.chunk_size)").strip())
    limit = int(root.locator("[data-testid=slider-max]").get_attribute("max"))
    assert chunk > 0 and limit >= 4
    before = int(readout.get_attribute("data-max"))
    drag_max_thumb_to(page, 7.4, limit)  # between two chunks: the browser snaps
    expect(readout).not_to_have_attribute("data-max", str(before))
    shown = int(readout.get_attribute("data-max"))
    assert shown % chunk == 0 and shown == 7 * chunk, (shown, chunk)
    # the kernel got exactly the snapped value (saved when the thumb was released)
    values = wait_until(
        lambda: _ints(kernel_exec(page, "print(app.slider.max_value, app.slider.min_value)"),
                      want_first=shown),
        timeout=30, what="the kernel to receive the slider value")
    high, low = values
    assert high == shown and low % chunk == 0 and 0 < low <= high
    assert str(shown) in root.locator("[data-testid=deploy-summary]").inner_text().replace(",", "")
    shot(page, "03_slider_dragged.png")
    STATE["chunk"] = chunk


def test_deploy_until_ready_without_blocking_the_kernel(page):
    root = app_root(page)
    deploy_and_wait_started = root.locator("[data-testid=deploy-button]")
    expect(deploy_and_wait_started).to_be_enabled(timeout=30_000)
    name = root.locator("[data-testid=endpoint-name]").input_value()
    assert name == "smollm2-135m-instruct-v1"
    deploy_and_wait_started.click()
    status = root.locator("[data-testid=deploy-status]")
    expect(status).to_have_text(re.compile("submitting|pending"), timeout=30_000)
    # the kernel answers while the deploy runs (it runs on a background thread)
    assert kernel_exec(page, "print(1 + 1)", timeout_ms=10_000).strip() == "2"
    expect(root.locator("[data-testid=deploy-elapsed]")).to_have_text(re.compile(r"\d+:\d\d"))
    shot(page, "04_deploying.png")
    expect(status).to_have_text("ready", timeout=DEPLOY_TIMEOUT_MS)
    expect(root.locator("[data-testid=step-playground]")).to_have_attribute("data-state", "active")
    expect(root.locator("[data-testid=pg-endpoint]")).to_have_value(name)
    shot(page, "05_ready.png")


def test_chat_with_logprobs_shows_answer_and_token_table(page):
    root = app_root(page)
    expect(root.locator("[data-testid=pg-task]")).to_have_text("task: chat", timeout=30_000)
    root.locator("[data-testid=tab-chat]").click()
    root.locator("[data-testid=max-tokens]").fill("24")
    root.locator("[data-testid=max-tokens]").dispatch_event("change")
    root.locator("[data-testid=logprobs]").check()
    root.locator("[data-testid=top-logprobs]").fill("3")
    root.locator("[data-testid=top-logprobs]").dispatch_event("change")
    root.locator("[data-testid=chat-input]").fill("What is the capital of France?")
    root.locator("[data-testid=send-button]").click()
    table = root.locator("[data-testid=token-table]")
    expect(table).to_be_visible(timeout=QUERY_TIMEOUT_MS)
    answer = root.locator("[data-testid=pg-output] [data-testid=answer]")
    assert answer.inner_text().strip()
    assert table.locator("tbody tr").count() >= 1
    expect(root.locator("[data-testid=logprob-chart]")).to_be_visible()
    expect(root.locator("[data-testid=conversation] .ptw-msg")).to_have_count(2)
    shot(page, "06_chat_answer.png")
    page.set_viewport_size({"width": 1400, "height": 2600})  # the whole App in one picture
    root.scroll_into_view_if_needed()
    screenshot(root, "app.png")  # (the README's picture)
    page.set_viewport_size({"width": 1400, "height": 1000})
    out = kernel_exec(page, "print(len(app.playground.logprobs), type(app.playground.result)"
                            ".__name__, len(app.playground.history))")
    n_tokens, kind, n_history = out.split()
    assert int(n_tokens) == table.locator("tbody tr").count()
    assert kind == "DataFrame" and int(n_history) == 1


def test_embeddings_show_the_vectors_table(page):
    root = app_root(page)
    root.locator("[data-testid=model-search]").fill("minilm")
    root.locator(f"[data-testid=model-list] li[data-name='{EMBED_MODEL}']").click()
    expect(root.locator("[data-testid=task-chip]")).to_have_text("task: embeddings",
                                                                  timeout=60_000)
    deploy_and_wait(page, "all-minilm-l6-v2-v1")
    expect(root.locator("[data-testid=tab-embeddings]")).to_have_attribute(
        "aria-selected", "true", timeout=30_000)
    root.locator("[data-testid=texts-input]").fill(
        "A cat sits on the mat.\nA kitten rests on a rug.\nStock markets fell sharply.")
    root.locator("[data-testid=send-button]").click()
    vectors = root.locator("[data-testid=vectors-table]")
    expect(vectors).to_be_visible(timeout=QUERY_TIMEOUT_MS)
    expect(vectors.locator("tbody tr")).to_have_count(3)
    expect(root.locator("[data-testid=similarity-table] tbody tr")).to_have_count(3)
    assert "384" in root.locator("[data-testid=usage]").inner_text()
    shot(page, "07_embeddings.png")


def test_saved_notebook_has_widget_state_and_no_token(page, lab, workspace):
    save_notebook(page)
    text = (lab.root / "quickstart.ipynb").read_text()
    saved = json.loads(text)
    state = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(m["model_name"] == "AnyModel" for m in state.values())
    assert workspace.token not in text
    assert "dapi" not in text
    assert page.console_errors == [] or all("pt_widgets" not in e and "ptw" not in e
                                            for e in page.console_errors), page.console_errors


def test_dark_theme_renders(page):
    set_theme(page, "JupyterLab Dark")
    root = app_root(page)
    root.scroll_into_view_if_needed()
    color = root.evaluate("el => getComputedStyle(el).color")
    background = root.locator(".ptw-step").first.evaluate(
        "el => getComputedStyle(el).backgroundColor")
    shot(page, "08_dark_theme.png")
    set_theme(page, "JupyterLab Light")
    # light text on a dark panel
    assert _luma(color) > 0.5 > _luma(background), (color, background)


def _ints(text: str, want_first: int) -> tuple[int, ...] | None:
    values = tuple(int(x) for x in text.split())
    return values if values and values[0] == want_first else None


def _luma(css: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_time_to_interactive_is_close_to_an_int_slider(page, lab):
    """The benchmark's measurement, once, in the session's JupyterLab (numbers in artefacts)."""
    _, plan = write_notebook(lab.root, repeats=3)
    open_notebook(page, lab, "tti.ipynb")
    result = measure(page, plan)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "tti.json").write_text(json.dumps(result, indent=1))
    print("\n" + report(result))
    # Speed is the benchmark's business (tests/benchmarks/bench_widgets_tti.py, target 1.5x):
    # a ratio asserted here would fail on a loaded machine. What must hold anywhere: every
    # App was measured, and its shell came no later than its catalogs and first model page.
    samples = result["samples_ms"]
    assert len(samples["App"]) == len(samples["IntSlider"]) == 3, report(result)
    for shell, data, models in zip(samples["App"], samples["App data"], samples["App models"],
                                   strict=True):
        assert 0 < shell <= data <= models, report(result)
