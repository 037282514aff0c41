"""mlflow.deployments' Databricks client, unmodified, against the local workspace."""

from __future__ import annotations

import pytest
import requests

from ..support import wait_until

CHAT = "system.ai.smollm2_135m_instruct"


def test_create_get_list_update_delete(mlflow_deploy_client, workspace):
    client = mlflow_deploy_client
    chunk = requests.get(
        f"{workspace.host}/api/2.0/serving-endpoints/get-model-optimization-info/{CHAT}/1",
        headers=workspace.headers, timeout=120).json()["throughput_chunk_size"]
    name = "mlflow-lifecycle"
    entity = {"entity_name": CHAT, "entity_version": 1, "min_provisioned_throughput": 0,
              "max_provisioned_throughput": chunk, "scale_to_zero_enabled": True}
    created = client.create_endpoint(config={"name": name,
                                             "config": {"served_entities": [entity]}})
    assert created["name"] == name and created["state"]["config_update"] == "IN_PROGRESS"
    assert created["pending_config"]["served_entities"][0]["entity_version"] == "1"
    wait_until(lambda: client.get_endpoint(name)["state"]["ready"] == "READY", 300,
               what="endpoint READY")
    assert name in [e["name"] for e in client.list_endpoints()]
    entity["max_provisioned_throughput"] = 2 * chunk
    updated = client.update_endpoint_config(name, {"served_entities": [entity]})
    assert updated["pending_config"]["config_version"] == 2
    wait_until(lambda: client.get_endpoint(name)["state"]["config_update"] == "NOT_UPDATING",
               300, what="update finished")
    got = client.get_endpoint(name)
    assert got["config"]["served_entities"][0]["max_provisioned_throughput"] == 2 * chunk
    client.delete_endpoint(name)
    with pytest.raises(requests.HTTPError, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_endpoint(name)
