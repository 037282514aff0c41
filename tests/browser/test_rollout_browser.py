"""Rollout in a real JupyterLab on Debian's Chromium: deploy v1 of a logged model from the
deploy panel, open its rollout section, add v2 as a second served entity at 10 % (busy while
the server holds its weight load), move the split a step and with the slider, promote, roll
back. After each step the server's traffic config (over HTTP, through the Python API) and the
panel's table agree. Screenshot into test-artifacts/."""

from __future__ import annotations

import nbformat
import pytest
from playwright.sync_api import expect

import pt_widgets

from ..support import log_tiny_chat_model
from .lab import code_cell_indices, kernel_exec, open_notebook, run_cell, screenshot

MODEL = "main.default.rollout_browser_chat"
ENDPOINT = "browser-rollout"
NOTEBOOK = "rollout.ipynb"
READY_MS = 300_000


@pytest.fixture(scope="module")
def ws(workspace):
    return pt_widgets.connect(workspace.host, workspace.token)


@pytest.fixture(scope="module")
def versions(workspace, lab, ws):
    """Two logged versions of one tiny chat model, and a notebook with a deploy panel on v1."""
    v1, v2 = (str(log_tiny_chat_model(workspace, MODEL).registered_model_version)
              for _ in range(2))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        f"from pt_widgets.widgets import DeployPanel\npanel = DeployPanel(model={MODEL!r}, "
        f"version={v1!r})\npanel")]
    nbformat.write(nb, lab.root / NOTEBOOK)
    yield v1, v2
    ws.delete_endpoint(ENDPOINT)


def expect_split(section, ws, split: dict[str, int]) -> None:
    """The panel shows ``split`` once the update is live, and the server says the same."""
    shown = " · ".join(f"{name} {pct} %" for name, pct in split.items())
    expect(section.locator("[data-testid=rollout-entities]")).to_have_attribute(
        "data-split", shown, timeout=READY_MS)
    expect(section.locator("[data-testid=rollout]")).to_have_attribute("data-status", "ready",
                                                                       timeout=READY_MS)
    assert ws.endpoint(ENDPOINT).traffic == split


def test_add_a_second_entity_move_the_split_promote_roll_back(page, lab, workspace, ws,
                                                              versions):
    v1, v2 = versions
    open_notebook(page, lab, NOTEBOOK)
    run_cell(page, code_cell_indices(page)[0])
    root = page.locator("[data-testid=ptw-deploy]")
    expect(root).to_have_attribute("data-ready", "true", timeout=60_000)
    root.locator("[data-testid=endpoint-name]").fill(ENDPOINT)
    expect(root.locator("[data-testid=name-status]")).to_have_attribute("data-status", "new",
                                                                        timeout=30_000)
    root.locator("[data-testid=deploy-button]").click()
    expect(root.locator("[data-testid=deploy-status]")).to_have_text("ready", timeout=READY_MS)

    section = root.locator("[data-testid=step-rollout]")
    section.locator("summary").click()
    expect(section.locator("[data-testid=rollout-endpoint]")).to_have_text(ENDPOINT,
                                                                           timeout=30_000)
    (live,) = ws.endpoint(ENDPOINT).traffic
    expect_split(section, ws, {live: 100})
    expect(section.locator("[data-testid=rollout-split-controls]")).to_be_hidden()

    expect(section.locator("[data-testid=rollout-add-model]")).to_have_value(MODEL)
    section.locator("[data-testid=rollout-add-version]").select_option(v2)
    section.locator("[data-testid=rollout-add-max]").fill("2")
    expect(section.locator("[data-testid=rollout-add-sizing]")).to_contain_text("tokens/s")
    with workspace.holding_loads():  # v2's weights wait: the panel must show it busy
        section.locator("[data-testid=rollout-add]").click()
        expect(section.locator("[data-testid=rollout]")).to_have_attribute(
            "data-status", "busy", timeout=30_000)
        expect(section.locator("[data-testid=rollout-action]")).to_have_text(
            f"Adding {MODEL} version {v2} at 10 %…")
        expect(section.locator("[data-testid=rollout-add]")).to_be_disabled()
        pending = section.locator("[data-testid=rollout-entity]").nth(1)
        expect(pending).to_contain_text("(being added)", timeout=60_000)
        canary = pending.get_attribute("data-name")
        assert ws.endpoint(ENDPOINT).traffic == {live: 100}  # nothing live moved yet
    expect_split(section, ws, {live: 90, canary: 10})
    sized = ws.endpoint(ENDPOINT).served_entities[1]
    assert (sized.entity_version, sized.max_provisioned_throughput) == (
        v2, 2 * sized.min_provisioned_throughput)

    section.locator("[data-testid=rollout-step-up]").click()
    expect_split(section, ws, {live: 80, canary: 20})

    slider = section.locator("[data-testid=rollout-split]")
    slider.evaluate("(el) => { el.value = '50'; el.dispatchEvent(new Event('input')); }")
    expect(section.locator("[data-testid=rollout-split-readout]")).to_have_text(
        f"{live} 50 % · {canary} 50 %")
    section.locator("[data-testid=rollout-apply]").click()
    expect_split(section, ws, {live: 50, canary: 50})

    section.locator("[data-testid=rollout-promote]").click()
    expect_split(section, ws, {live: 0, canary: 100})
    section.scroll_into_view_if_needed()
    screenshot(section, "rollout_promoted.png")

    section.locator("[data-testid=rollout-rollback]").click()
    expect_split(section, ws, {live: 100, canary: 0})
    expect(section.locator("[data-testid=rollout-message]")).to_have_text(
        f"'{ENDPOINT}' is ready: '{live}' 100 %, '{canary}' 0 %.")
    assert kernel_exec(page, "print(panel.rollout.entities[0]['traffic'])").strip() == "100"
    screenshot(section, "rollout_rolled_back.png")
    assert page.console_errors == [] or all("ptw" not in e for e in page.console_errors)
