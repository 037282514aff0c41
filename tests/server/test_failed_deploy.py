"""A deploy whose model cannot load ends UPDATE_FAILED with the reason, never stuck."""

from __future__ import annotations

import requests

from ..support import log_broken_chat_model, optimization_info, wait_until

BROKEN = "main.default.broken_chat"


def test_load_failure_ends_update_failed_with_reason_and_logs(workspace):
    log_broken_chat_model(workspace, BROKEN)
    chunk = optimization_info(workspace, BROKEN)["throughput_chunk_size"]
    created = requests.post(f"{workspace.host}/api/2.0/serving-endpoints",
                            headers=workspace.headers, timeout=30, json={
                                "name": "broken-ep", "config": {"served_entities": [{
                                    "entity_name": BROKEN, "entity_version": "1",
                                    "min_provisioned_throughput": chunk,
                                    "max_provisioned_throughput": chunk}]}})
    assert created.status_code == 200, created.text

    def failed():
        body = requests.get(f"{workspace.host}/api/2.0/serving-endpoints/broken-ep",
                            headers=workspace.headers, timeout=10).json()
        return body if body["state"]["config_update"] != "IN_PROGRESS" else None

    final = wait_until(failed, 120, what="deploy to end")
    assert final["state"] == {"ready": "NOT_READY", "config_update": "UPDATE_FAILED",
                              "suspend": "NOT_SUSPENDED"}
    entity = final["pending_config"]["served_entities"][0]
    assert entity["state"]["deployment"] == "DEPLOYMENT_FAILED"
    assert "Model load failed" in entity["state"]["deployment_state_message"]
    logs = requests.get(f"{workspace.host}/api/2.0/serving-endpoints/broken-ep/served-models/"
                        f"{entity['name']}/build-logs", headers=workspace.headers,
                        timeout=10).json()["logs"]
    assert "ERROR" in logs
    query = requests.post(f"{workspace.host}/serving-endpoints/broken-ep/invocations",
                          headers=workspace.headers, timeout=10,
                          json={"messages": [{"role": "user", "content": "hi"}]})
    assert query.status_code == 400 and query.json()["error_code"] == "INVALID_STATE"
    requests.delete(f"{workspace.host}/api/2.0/serving-endpoints/broken-ep",
                    headers=workspace.headers, timeout=10).raise_for_status()
