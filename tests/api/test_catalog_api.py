"""Catalog browsing against the real local workspace: lazy pages, filters, aliases."""

from __future__ import annotations

import pytest

import pt_widgets
from pt_widgets.catalog import name_matcher
from pt_widgets.errors import NotFound

from .conftest import CHAT_MODEL, EMBED_MODEL


def test_catalogs_and_schemas(ws):
    assert {"main", "system"} <= set(ws.catalogs().names())
    assert ws.catalogs("sys").names() == ["system"]
    assert ws.schemas("system").names() == ["system.ai"]
    assert "main.default" in ws.schemas("main").names()
    frame = ws.catalogs().to_pandas()
    assert {"name", "catalog_type", "comment"} <= set(frame.columns)


def test_models_with_filter_and_limit(ws):
    names = ws.models("system", "ai").names()
    assert {CHAT_MODEL, EMBED_MODEL} <= set(names)
    assert ws.models("system.ai", name_filter="MINILM").names() == [EMBED_MODEL]
    assert ws.models("system.ai", name_filter="smollm2*instruct").names() == [CHAT_MODEL]
    assert len(ws.models("system.ai", limit=1).all()) == 1
    row = ws.models("system.ai", name_filter="minilm").to_pandas().iloc[0]
    assert row["full_name"] == EMBED_MODEL


def test_unknown_catalog_is_one_sentence(ws):
    with pytest.raises(NotFound) as info:
        ws.schemas("no_such_catalog").all()
    assert "no_such_catalog" in str(info.value) and str(info.value).endswith(".")


def test_versions_carry_aliases(ws):
    ws.call("PUT", f"/api/2.1/unity-catalog/models/{CHAT_MODEL}/aliases/champion",
            json={"version_num": 1})
    versions = ws.versions(CHAT_MODEL).all()
    assert [v.version for v in versions] == [1]
    assert versions[0].alias_names == ("champion",)
    assert ws.version_by_alias(CHAT_MODEL, "champion").version == 1
    assert ws.version(CHAT_MODEL, 1).status == "READY"
    assert [a.alias_name for a in ws.model(CHAT_MODEL).aliases] == ["champion"]
    # an alias works wherever a version is expected
    assert ws.sizing_plan(CHAT_MODEL, "champion").version == "1"


def test_listing_is_lazy_and_cached(ws):
    listing = ws.catalogs()
    assert "more not fetched yet" in repr(listing)
    first = listing.head(1)
    assert len(first) == 1
    assert listing.all()[0] == first[0]
    assert listing.count() == len(listing.all())


def test_name_matcher_substring_and_glob():
    assert name_matcher("LLAMA")("meta_llama_3")
    assert not name_matcher("llama")("mistral")
    assert name_matcher("meta_*_8b")("meta_llama_3_8b")
    assert not name_matcher("meta_*_8b")("meta_llama_3_70b")
    assert name_matcher(None)("anything")



def test_filter_on_a_schema_of_ten_thousand_models_finds_exactly_the_matches(bulk_workspace):
    """What it finds, in order (how fast: tests/benchmarks/bench_catalog.py)."""
    server = bulk_workspace
    ws = pt_widgets.connect(server.host, server.token)

    hits = ws.models("bulk.models", name_filter="model_0999").names()
    assert hits == [f"bulk.models.model_0999{i}" for i in range(10)]

    first = ws.models("bulk.models", name_filter="model_00", limit=5).names()
    assert first == [f"bulk.models.model_0000{i}" for i in range(5)]

    paged = ws.models("bulk.models", page_size=1000)
    assert paged.count() == 10_000
