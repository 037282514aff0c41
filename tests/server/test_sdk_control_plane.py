"""The unmodified databricks-sdk against a real local workspace process."""

from __future__ import annotations

from datetime import timedelta

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import (
    InvalidParameterValue,
    NotFound,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from databricks.sdk.service.serving import (
    EndpointCoreConfigInput,
    EndpointStateConfigUpdate,
    EndpointStateReady,
    ServedEntityInput,
)

CHAT = "system.ai.smollm2_135m_instruct"
EMBED = "system.ai.all_minilm_l6_v2"


@pytest.fixture(scope="module")
def w(workspace) -> WorkspaceClient:
    return WorkspaceClient(host=workspace.host, token=workspace.token)


@pytest.fixture(scope="module")
def chunk(w) -> int:
    info = w.api_client.do(
        "GET", f"/api/2.0/serving-endpoints/get-model-optimization-info/{CHAT}/1"
    )
    assert info["optimizable"] is True
    assert info["model_type"] == "llama"
    assert isinstance(info["throughput_chunk_size"], int) and info["throughput_chunk_size"] > 0
    assert info["dbus"] > 0
    return info["throughput_chunk_size"]


def entity(chunk: int, low: int = 1, high: int = 2, **extra) -> ServedEntityInput:
    return ServedEntityInput(entity_name=CHAT, entity_version="1",
                             min_provisioned_throughput=low * chunk,
                             max_provisioned_throughput=high * chunk, **extra)


def test_catalogs_schemas_models_versions(w):
    assert {"system", "main"} <= {c.name for c in w.catalogs.list()}
    assert [s.full_name for s in w.schemas.list(catalog_name="system")] == ["system.ai"]
    assert "main.default" in [s.full_name for s in w.schemas.list(catalog_name="main")]
    models = {m.full_name: m for m in w.registered_models.list(catalog_name="system",
                                                                schema_name="ai")}
    assert {CHAT, EMBED} <= set(models)
    assert models[CHAT].catalog_name == "system" and models[CHAT].schema_name == "ai"
    versions = list(w.model_versions.list(full_name=CHAT))
    assert [v.version for v in versions] == [1]
    got = w.model_versions.get(full_name=CHAT, version=1)
    assert got.model_name == "smollm2_135m_instruct" and got.status.value == "READY"
    assert w.registered_models.get(full_name=EMBED).full_name == EMBED


def test_pagination_follows_next_page_token(w):
    pages = list(w.registered_models.list(catalog_name="system", schema_name="ai",
                                          max_results=1))
    assert len(pages) >= 2  # the SDK followed next_page_token across 1-item pages
    assert len({m.full_name for m in pages}) == len(pages)


def test_aliases(w):
    w.registered_models.set_alias(full_name=CHAT, alias="champion", version_num=1)
    by_alias = w.registered_models.get(full_name=CHAT, include_aliases=True)
    assert [(a.alias_name, a.version_num) for a in by_alias.aliases] == [("champion", 1)]
    assert w.model_versions.get_by_alias(full_name=CHAT, alias="champion").version == 1
    with pytest.raises(NotFound):
        w.model_versions.get_by_alias(full_name=CHAT, alias="nope")


def test_unknown_catalog_and_model_are_not_found(w):
    with pytest.raises(NotFound):
        list(w.schemas.list(catalog_name="no_such_catalog"))
    with pytest.raises(NotFound):
        w.registered_models.get(full_name="main.default.no_such_model")


def test_optimization_info_unknown_model_and_version(w):
    with pytest.raises(ResourceDoesNotExist):
        w.api_client.do("GET", "/api/2.0/serving-endpoints/get-model-optimization-info/"
                        "main.default.nope/1")
    with pytest.raises(ResourceDoesNotExist):
        w.api_client.do("GET", f"/api/2.0/serving-endpoints/get-model-optimization-info/{CHAT}/9")


def test_embedding_model_optimization_info(w):
    info = w.api_client.do("GET", f"/api/2.0/serving-endpoints/get-model-optimization-info/"
                           f"{EMBED}/1")
    assert info["optimizable"] is True and info["model_type"] == "bert"
    assert info["throughput_chunk_size"] > 0


def test_create_wait_get_list_update_delete(w, chunk):
    name = "sdk-lifecycle"
    created = w.serving_endpoints.create(
        name=name, config=EndpointCoreConfigInput(name=name, served_entities=[entity(chunk)])
    )
    first = created.response
    assert first.state.config_update == EndpointStateConfigUpdate.IN_PROGRESS
    assert first.state.ready == EndpointStateReady.NOT_READY
    assert first.config is None and first.pending_config.config_version == 1
    assert first.pending_config.served_entities[0].name == "smollm2_135m_instruct-1"
    assert len(first.id) == 32 and first.creation_timestamp > 10**12
    ready = created.result(timeout=timedelta(minutes=5))
    assert ready.state.ready == EndpointStateReady.READY
    assert ready.state.config_update == EndpointStateConfigUpdate.NOT_UPDATING
    served = ready.config.served_entities[0]
    assert served.entity_version == "1"
    assert served.min_provisioned_throughput == chunk
    assert served.max_provisioned_throughput == 2 * chunk
    assert served.state.deployment.value == "DEPLOYMENT_READY"
    assert ready.pending_config is None
    assert name in [e.name for e in w.serving_endpoints.list()]

    updated = w.serving_endpoints.update_config_and_wait(
        name=name, served_entities=[entity(chunk, 1, 3)], timeout=timedelta(minutes=5)
    )
    assert updated.config.config_version == 2
    assert updated.config.served_entities[0].max_provisioned_throughput == 3 * chunk
    logs = w.serving_endpoints.build_logs(name=name, served_model_name=served.name)
    assert "Reusing the loaded weights" in logs.logs  # a sizing-only update loads nothing
    assert "ready in" not in logs.logs

    w.serving_endpoints.delete(name=name)
    with pytest.raises(ResourceDoesNotExist):
        w.serving_endpoints.get(name=name)


def test_typed_errors(w, chunk):
    with pytest.raises(ResourceDoesNotExist):
        w.serving_endpoints.get(name="does-not-exist")
    with pytest.raises(InvalidParameterValue, match="multiple of"):
        w.serving_endpoints.create(name="bad-size", config=EndpointCoreConfigInput(
            name="bad-size", served_entities=[ServedEntityInput(
                entity_name=CHAT, entity_version="1", min_provisioned_throughput=chunk + 1,
                max_provisioned_throughput=2 * chunk)]))
    name = "sdk-dup"
    w.serving_endpoints.create(name=name, config=EndpointCoreConfigInput(
        name=name, served_entities=[entity(chunk)]))
    try:
        with pytest.raises(ResourceAlreadyExists):
            w.serving_endpoints.create(name=name, config=EndpointCoreConfigInput(
                name=name, served_entities=[entity(chunk)]))
    finally:
        w.serving_endpoints.delete(name=name)
    assert name not in [e.name for e in w.serving_endpoints.list()]
