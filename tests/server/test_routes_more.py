"""Routes the other server tests do not reach: single catalog/schema gets, alias deletion,
the model-unit ``/pt`` routes through the SDK, and ``pt-widgets local env``."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.serving import EndpointStateReady, PtEndpointCoreConfig, PtServedModel

from ..support import optimization_info

CHAT = "system.ai.smollm2_135m_instruct"
CHAT_MU = "system.ai.smollm2_135m_instruct_mu"


@pytest.fixture(scope="module")
def w(workspace) -> WorkspaceClient:
    return WorkspaceClient(host=workspace.host, token=workspace.token)


def test_get_catalog_and_schema(w):
    assert w.catalogs.get("system").catalog_type.value == "SYSTEM_CATALOG"
    assert w.schemas.get("main.default").catalog_name == "main"
    with pytest.raises(NotFound):
        w.catalogs.get("nowhere")
    with pytest.raises(NotFound):
        w.schemas.get("main.nowhere")


def test_delete_alias(w):
    w.registered_models.set_alias(full_name=CHAT, alias="doomed", version_num=1)
    w.registered_models.delete_alias(full_name=CHAT, alias="doomed")
    with pytest.raises(NotFound):
        w.model_versions.get_by_alias(full_name=CHAT, alias="doomed")


def test_model_unit_endpoint_create_and_update_through_pt_routes(w, workspace):
    units = optimization_info(workspace, CHAT_MU)["model_unit_chunk_size"]
    ready = w.serving_endpoints.create_provisioned_throughput_endpoint(
        name="sdk-mu", config=PtEndpointCoreConfig(served_entities=[PtServedModel(
            entity_name=CHAT_MU, entity_version="1", provisioned_model_units=units)]),
    ).result(timeout=timedelta(minutes=5))
    assert ready.state.ready == EndpointStateReady.READY
    assert ready.config.served_entities[0].provisioned_model_units == units
    updated = w.serving_endpoints.update_provisioned_throughput_endpoint_config(
        name="sdk-mu", config=PtEndpointCoreConfig(served_entities=[PtServedModel(
            entity_name=CHAT_MU, entity_version="1", provisioned_model_units=2 * units)]),
    ).result(timeout=timedelta(minutes=5))
    assert updated.config.served_entities[0].provisioned_model_units == 2 * units
    assert updated.config.config_version == 2
    w.serving_endpoints.delete(name="sdk-mu")


def test_local_env_prints_exports_for_the_running_server(workspace):
    out = subprocess.run([sys.executable, "-m", "pt_widgets.local", "env", "--data-dir",
                          str(workspace.data_dir)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"export DATABRICKS_HOST={workspace.host}" in out.stdout
    assert "export DATABRICKS_TOKEN=" in out.stdout
