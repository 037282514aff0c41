"""ModelPicker and ThroughputSlider models against the real local workspace (no browser)."""

from __future__ import annotations

import threading

import pytest

import pt_widgets
from pt_widgets.errors import PtWidgetsError
from pt_widgets.widgets import App, ModelPicker, ThroughputSlider

from .conftest import CHAT_MODEL, EMBED_MODEL, MU_MODEL, Recorder, RequestFailed


def test_lists_catalogs_schemas_models_and_versions(ws):
    picker = ModelPicker(workspace=ws)
    rec = Recorder(picker)
    assert {"system", "main"} <= set(rec.request("picker:catalogs")["items"])
    assert rec.request("picker:schemas", {"catalog": "system"})["items"] == ["ai"]
    page = rec.request("picker:models", {"catalog": "system", "schema": "ai", "query": "smol",
                                         "offset": 0, "limit": 50})
    assert {"smollm2_135m_instruct", "smollm2_135m_instruct_mu"} <= set(page["items"])
    assert all("smol" in name for name in page["items"]) and page["items"] == sorted(page["items"])
    assert page["total"] == len(page["items"]) < page["schema_total"]
    glob = rec.request("picker:models", {"catalog": "system", "schema": "ai", "query": "*v2",
                                         "offset": 0, "limit": 50})
    assert "all_minilm_l6_v2" in glob["items"] and all(n.endswith("v2") for n in glob["items"])
    versions = rec.request("picker:versions", {"model": CHAT_MODEL})["items"]
    expected = sorted(a.alias_name for a in ws.model(CHAT_MODEL).aliases if a.version_num == 1)
    assert versions[0]["version"] == "1" and sorted(versions[0]["aliases"]) == expected
    picker.close()


def published(widget, name: str, timeout: float = 120.0):
    """The trait's value once it is set (it may be set already)."""
    ready = threading.Event()
    widget.observe(lambda change: ready.set(), names=[name])
    if not getattr(widget, name):
        assert ready.wait(timeout), f"{name} was never published"
    return getattr(widget, name)


@pytest.mark.parametrize(("kind", "prefix"), [(ModelPicker, ""), (App, "picker_")])
def test_the_first_pages_are_published_as_the_widget_is_created(ws, kind, prefix):
    """The view draws them without asking: no catalogs -> schemas -> models round trips
    before the first model page shows (the App's time-to-interactive)."""
    widget = kind(workspace=ws)
    start = published(widget, prefix + "start")
    assert {"system", "main"} <= set(start["catalogs"])
    assert start["schemas"] == {"system": ["ai"]}
    page = {k: v for k, v in start["models"]["system.ai"].items() if k != "ms"}
    asked = Recorder(widget).request("picker:models", {"catalog": "system", "schema": "ai",
                                                       "offset": 0, "limit": 50})
    assert page == {k: v for k, v in asked.items() if k != "ms"}
    assert {"smollm2_135m_instruct", "all_minilm_l6_v2"} <= set(page["items"])
    widget.close()


def test_choosing_a_version_shows_task_and_eligibility(ws):
    picker = ModelPicker(workspace=ws)
    picker.model = CHAT_MODEL  # what the browser sets
    picker.version = "1"
    picker.wait()
    assert (picker.catalog, picker.schema) == ("system", "ai")
    assert picker.task == "llm/v1/chat" and picker.eligible is True
    assert picker.scheme == "tokens_per_second" and picker.chunk_size > 0
    assert picker.model_type == "llama" and picker.reason == "" and picker.info_state == "ready"
    assert picker.sizing_plan is not None and picker.sizing_plan.chunk_size == picker.chunk_size

    picker.select(EMBED_MODEL).wait()  # newest version
    assert picker.version == "1" and picker.task == "llm/v1/embeddings" and picker.eligible

    picker.select(MU_MODEL, 1).wait()
    assert picker.scheme == "model_units" and picker.chunk_size == 50
    picker.close()


def test_a_version_that_is_not_eligible_disables_the_next_steps(ws, not_eligible_model):
    name, version = not_eligible_model
    app = App(workspace=ws)
    app.picker.select(name, version).wait()
    assert app.picker.eligible is False and app.picker.task == ""
    assert "no llm/v1/* task" in app.picker.reason
    assert app.slider.state == "disabled" and app.slider.disabled_reason == app.picker.reason
    assert app.deploy.disabled_reason == app.picker.reason
    with pytest.raises(PtWidgetsError, match="no llm/v1"):
        app.deploy.start()
    app.close()


def test_an_unknown_model_is_an_error_in_the_widget(ws):
    picker = ModelPicker(workspace=ws)
    picker.model = "main.default.does_not_exist"
    picker.version = "1"
    with pytest.raises(PtWidgetsError):
        picker.wait()
    assert picker.info_state == "error" and "does_not_exist" in picker.error
    picker.close()


def test_every_request_is_answered_even_when_it_fails(ws):
    picker = ModelPicker(workspace=ws)
    rec = Recorder(picker)
    with pytest.raises(RequestFailed, match="nope"):
        rec.request("picker:schemas", {"catalog": "nope"})
    with pytest.raises(RequestFailed, match="Unknown request"):
        rec.request("picker:drop_tables")
    assert len(rec.responses()) == 2
    picker.close()



def test_a_schema_of_ten_thousand_models_pages_in_one_message_each(bulk_workspace):
    """What each page holds (how fast: tests/benchmarks/bench_catalog.py)."""
    server = bulk_workspace
    picker = ModelPicker(workspace=pt_widgets.connect(server.host, server.token))
    rec = Recorder(picker)
    params = {"catalog": "bulk", "schema": "models", "offset": 0, "limit": 50}
    first = rec.request("picker:models", params)
    assert first["items"][:2] == ["model_00000", "model_00001"] and len(first["items"]) == 50
    assert first["total"] == first["schema_total"] == 10_000
    later = rec.request("picker:models", dict(params, offset=9_950))
    assert later["items"] == [f"model_{i:05d}" for i in range(9_950, 10_000)]
    found = rec.request("picker:models", dict(params, query="0999"))
    assert found["total"] == 11 and found["items"][0] == "model_00999"
    # one message per page, never one per model
    assert len(rec.messages) == 3
    picker.close()


def test_slider_snaps_to_chunks_and_validates(ws):
    slider = ThroughputSlider(CHAT_MODEL, 1, workspace=ws).wait()
    c = slider.chunk_size
    assert slider.state == "ready" and (slider.min_value, slider.max_value) == (2 * c, 4 * c)
    assert slider.illustrative_cost is True  # the local workspace bills nothing: the page says so
    slider.set_range(7 * c + c // 3, 3 * c - c // 3)  # off-grid values from Python snap
    assert (slider.min_value, slider.max_value) == (3 * c, 7 * c)
    sizing = slider.sizing
    assert (sizing.min_provisioned_throughput, sizing.max_provisioned_throughput) == (3 * c, 7 * c)
    slider.scale_to_zero = True
    assert slider.min_value == 0 and slider.sizing.scale_to_zero_enabled
    slider.scale_to_zero = False
    assert slider.min_value == c
    slider.max_value = 10**9
    assert slider.max_value == slider.max_chunks * c
    slider.set_range(4 * c, 2 * c)
    slider.price_per_dbu = 0.07
    estimate = slider.estimate
    assert estimate.max_tokens_per_second == 4 * c
    assert estimate.max_cost_per_hour == pytest.approx(4 * 24.0 * 0.07)
    slider.close()


def test_slider_switches_to_model_units(ws):
    slider = ThroughputSlider(MU_MODEL, 1, workspace=ws).wait()
    assert slider.scheme == "model_units" and slider.chunk_size == 50
    assert (slider.min_value, slider.max_value) == (0, 50)
    slider.set_range(120)
    assert slider.max_value == 100 and slider.sizing.provisioned_model_units == 100
    slider.scale_to_zero = True  # not possible with model units: snapped back
    assert slider.scale_to_zero is False
    slider.close()


def test_versions_show_their_aliases_and_an_alias_selects_its_version(ws, not_eligible_model):
    name, version = not_eligible_model
    ws.call("PUT", f"/api/2.1/unity-catalog/models/{name}/aliases/champion",
            json={"version_num": int(version)})
    picker = ModelPicker(workspace=ws)
    rec = Recorder(picker)
    rows = rec.request("picker:versions", {"model": name, "refresh": True})["items"]
    assert next(r for r in rows if r["version"] == version)["aliases"] == ["champion"]
    picker.select(name, "champion").wait()
    assert picker.version == version and picker.aliases == ["champion"]
    picker.close()
