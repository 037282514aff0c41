"""Day two in a real JupyterLab: deploy an external model from the App's form (its upstream a
second local workspace, its key typed into the password field), chat with it in the
playground, grant CAN_QUERY in the "Govern" section and see it listed, set a calls-per-minute
limit there and see its 429s counted in the "Monitor" section, then save the notebook and find
the typed key nowhere in the .ipynb nor in the widget's state.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from playwright.sync_api import expect

from ..governance.conftest import new_token
from ..widgets.conftest import UPSTREAM_CHAT, upstream  # noqa: F401 - the upstream fixture
from .lab import code_cell_indices, kernel_exec, open_notebook, run_cell, save_notebook, screenshot

NOTEBOOK = "govern.ipynb"
ENDPOINT = "browser-ext"
BOB = "browser-bob@example.com"
DEPLOY_TIMEOUT_MS = 300_000
QUERY_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def notebook(lab, workspace) -> str:
    new_token(workspace, BOB, "browser test")  # a second user to grant to
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("from pt_widgets.widgets import App\napp = App()\napp")]
    nbformat.write(nb, lab.root / NOTEBOOK)
    return NOTEBOOK


def app_root(page):
    return page.locator("[data-testid=ptw-app]")


def open_section(page, testid: str):
    section = app_root(page).locator(f"[data-testid={testid}]")
    section.locator("summary").click()
    expect(section).to_have_attribute("open", "")
    return section


def test_deploy_an_external_model_from_the_form_and_chat(page, lab, notebook, upstream):  # noqa: F811
    open_notebook(page, lab, notebook)
    run_cell(page, code_cell_indices(page)[0])
    root = app_root(page)
    expect(root).to_have_attribute("data-ready", "true", timeout=60_000)
    form = open_section(page, "step-external")
    form.locator("[data-testid=external-provider]").select_option("openai")
    form.locator("[data-testid=external-base-url]").fill(f"{upstream.host}/serving-endpoints")
    form.locator("[data-testid=external-model]").fill(UPSTREAM_CHAT)
    form.locator("[data-testid=external-endpoint-name]").fill(ENDPOINT)
    form.locator("[data-testid=external-secret]").fill(upstream.token)
    form.locator("[data-testid=external-deploy]").click()
    expect(form.locator("[data-testid=external-secret]")).to_have_value("")
    expect(form.locator("[data-testid=external-reference]")).to_have_text(
        f"key stored as {{{{secrets/pt-widgets/{ENDPOINT}-key}}}}", timeout=30_000)
    expect(form.locator("[data-testid=external-status]")).to_have_text(
        f"'{ENDPOINT}' is ready.", timeout=DEPLOY_TIMEOUT_MS)
    screenshot(form, "external_model_deployed.png")

    expect(root.locator("[data-testid=pg-task]")).to_have_text("task: chat", timeout=30_000)
    root.locator("[data-testid=tab-chat]").click()
    root.locator("[data-testid=chat-input]").fill("Say hello to the upstream.")
    root.locator("[data-testid=send-button]").click()
    answer = root.locator("[data-testid=pg-output] [data-testid=answer]")
    expect(answer).to_have_text(re.compile(r"\S"), timeout=QUERY_TIMEOUT_MS)
    assert kernel_exec(page, "print(app.playground.endpoint)").strip() == ENDPOINT
    screenshot(root.locator("[data-testid=step-playground]"), "external_model_chat.png")


def test_grant_can_query_and_see_it_listed(page):
    govern = open_section(page, "step-govern")
    expect(govern.locator("[data-testid=governance-endpoint]")).to_contain_text(ENDPOINT,
                                                                               timeout=30_000)
    expect(govern.locator("[data-testid=governance-endpoint]")).to_contain_text("you: CAN_MANAGE")
    rows = govern.locator("[data-testid=permission-row]")
    expect(rows.first).to_be_visible(timeout=30_000)
    govern.locator("[data-testid=grant-principal]").fill(BOB)
    govern.locator("[data-testid=grant-level]").select_option("CAN_QUERY")
    govern.locator("[data-testid=grant]").click()
    bob = govern.locator(f"[data-testid=permission-row][data-principal='{BOB}']")
    expect(bob).to_contain_text("CAN_QUERY", timeout=30_000)
    out = kernel_exec(page, "p = app.governance.permissions\n"
                            f"print(p[p.principal == {BOB!r}].level.tolist())")
    assert out.strip() == "['CAN_QUERY']"
    screenshot(govern, "governance_permissions.png")


def ensure_open(page, testid: str):
    """The section, opened if it is not (a click on an open one's summary closes it)."""
    section = app_root(page).locator(f"[data-testid={testid}]")
    if section.get_attribute("open") is None:
        section.locator("summary").click()
    expect(section).to_have_attribute("open", "")
    return section


CALLS = """
from pt_widgets.errors import ApiError
from pt_widgets.transport import NO_RETRY
codes = []
for i in range(5):
    try:
        app.workspace.chat({endpoint!r}, f"Hello {{i}}", max_tokens=4, retry=NO_RETRY)
        codes.append(200)
    except ApiError as error:
        codes.append(error.status)
print(codes.count(429), codes.count(200), len(codes))
"""


def test_set_a_rate_limit_and_see_the_429s_in_the_monitor(page):
    monitor = ensure_open(page, "step-monitor")
    monitor.locator("[data-testid=mon-endpoint]").select_option(ENDPOINT)
    expect(monitor.locator("[data-status=watching]")).to_have_count(1, timeout=30_000)
    # one interval measured: the 429s below fall in a later one, against a known baseline
    expect(monitor.locator("[data-testid=mon-chart-box]")).to_have_attribute(
        "data-rows", re.compile(r"^[1-9]"), timeout=60_000)
    assert monitor.locator("[data-testid=mon-429-count]").inner_text() == "0"

    govern = ensure_open(page, "step-govern")
    govern.locator("[data-testid=limit-key]").select_option("endpoint")
    govern.locator("[data-testid=limit-calls]").fill("2")
    govern.locator("[data-testid=limit-add]").click()
    expect(govern.locator("[data-testid=rate-limit]")).to_have_count(1, timeout=30_000)
    expect(govern.locator("[data-testid=rate-limit]")).to_contain_text("2")

    refused, answered, total = map(int, kernel_exec(page, CALLS.format(endpoint=ENDPOINT))
                                   .split())
    assert total == 5 and answered <= 2 and refused == 5 - answered, (refused, answered)
    expect(monitor.locator("[data-testid=mon-429-count]")).to_have_text(str(refused),
                                                                       timeout=60_000)
    # an external model has no provisioned rate, and the monitor says so
    expect(monitor.locator("[data-testid=mon-readout]")).to_contain_text("no provisioned rate")
    monitor.scroll_into_view_if_needed()
    screenshot(monitor, "monitor_gateway_429s.png")


def test_saved_notebook_and_widget_state_hold_no_trace_of_the_key(page, lab, upstream):  # noqa: F811
    save_notebook(page)
    text = (lab.root / NOTEBOOK).read_text()
    saved = json.loads(text)
    assert saved["metadata"]["widgets"]  # the widget state was saved, and without the key
    assert upstream.token not in text
    state = kernel_exec(page, "import json\nprint(json.dumps({k: v for k, v in "
                              "app.get_state().items() if k not in ('_esm', '_css')}, "
                              "default=str))")
    assert upstream.token not in state
    assert json.loads(state)["external_secret_reference"] == (
        f"{{{{secrets/pt-widgets/{ENDPOINT}-key}}}}")
