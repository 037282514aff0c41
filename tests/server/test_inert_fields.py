"""Open where Databricks is open: every field the SDK defines for a request is accepted;
those the local workspace cannot act on are stored and echoed (and logged as inert).
See ``pt_widgets/local/README.md`` for the list."""

from __future__ import annotations

import pytest
import requests
from openai import OpenAI

from ..support import deploy, optimization_info, wait_until

CHAT = "system.ai.smollm2_135m_instruct"
CHAT_MU = "system.ai.smollm2_135m_instruct_mu"
EMBED = "system.ai.all_minilm_l6_v2"
SERVING = "/api/2.0/serving-endpoints"

TOP_LEVEL = {
    "description": "an endpoint with every field",
    "budget_policy_id": "policy-1",
    "usage_policy_id": "usage-1",
    "email_notifications": {"on_update_failure": ["ops@example.com"],
                            "on_update_success": ["me@example.com"]},
    "rate_limits": [{"calls": 5, "renewal_period": "minute", "key": "user"}],
    "route_optimized": True,
    "telemetry_config": {"enabled_telemetry_features": ["TELEMETRY_FEATURE_METRICS"],
                         "inference_table_config": {"name": "t", "sampling_fraction": 0.5},
                         "table_names": {"logs_table": "main.default.logs"},
                         "telemetry_profile_id": "profile"},
    "ai_gateway": {"usage_tracking_config": {"enabled": True},
                   "fallback_config": {"enabled": False},
                   "inference_table_config": {"catalog_name": "main", "schema_name": "default",
                                              "table_name_prefix": "ep", "enabled": True}},
    "tags": [{"key": "team", "value": "ml"}],
}
ENTITY_LEVEL = {
    "environment_vars": {"MODE": "local"},
    "instance_profile_arn": "arn:aws:iam::123:instance-profile/x",
    "workload_size": "Small",
    "workload_type": "GPU_SMALL",
    "burst_scaling_enabled": False,
    "min_provisioned_concurrency": 0,
    "max_provisioned_concurrency": 4,
}
CAPTURE = {"catalog_name": "main", "schema_name": "default", "table_name_prefix": "cap",
           "enabled": False}


def post(workspace, path: str, body: dict) -> requests.Response:
    return requests.post(workspace.host + path, headers=workspace.headers, json=body, timeout=60)


def delete(workspace, name: str) -> None:
    requests.delete(f"{workspace.host}{SERVING}/{name}", headers=workspace.headers, timeout=30)


def test_create_accepts_stores_and_echoes_every_sdk_field(workspace):
    chunk = optimization_info(workspace, EMBED)["throughput_chunk_size"]
    entity = {"entity_name": EMBED, "entity_version": 1, "min_provisioned_throughput": chunk,
              "max_provisioned_throughput": chunk, **ENTITY_LEVEL}
    body = {"name": "inert-ep", **TOP_LEVEL, "uc_system_metrics_export_state": "ENABLED",
            "config": {"name": "inert-ep", "served_entities": [entity],
                       "auto_capture_config": CAPTURE}}
    created = post(workspace, SERVING, body)
    assert created.status_code == 200, created.text
    try:
        got = requests.get(f"{workspace.host}{SERVING}/inert-ep", headers=workspace.headers,
                           timeout=30).json()
        for key, value in TOP_LEVEL.items():
            assert got[key] == value, key
        assert got["uc_system_metrics_export_state"] == "ENABLED"
        pending = got.get("pending_config") or got["config"]
        assert pending["auto_capture_config"] == CAPTURE
        served = pending["served_entities"][0]
        assert served["entity_version"] == "1"  # a JSON number is taken, a string echoed
        for key, value in ENTITY_LEVEL.items():
            assert served[key] == value, key
    finally:
        delete(workspace, "inert-ep")


def test_pt_routes_take_commitment_fields_and_default_the_version(workspace):
    units = optimization_info(workspace, CHAT_MU)["model_unit_chunk_size"]
    created = post(workspace, f"{SERVING}/pt", {"name": "inert-pt", "config": {
        "served_entities": [{"entity_name": CHAT_MU, "provisioned_model_units": units,
                             "pt_term": "COMMITMENT_TERM_1_MONTH", "pt_auto_renew": True}]}})
    assert created.status_code == 200, created.text
    try:
        served = created.json()["pending_config"]["served_entities"][0]
        assert served["entity_version"] == "1"  # no version: the latest one
        assert served["pt_term"] == "COMMITMENT_TERM_1_MONTH" and served["pt_auto_renew"]
    finally:
        delete(workspace, "inert-pt")
    # accepted by the body's shape: the answer is about the missing endpoint, not the fields
    update = requests.put(f"{workspace.host}{SERVING}/pt/no-such-ep/config",
                          headers=workspace.headers, timeout=30, json={
                              "config": {"served_entities": [{"entity_name": CHAT_MU,
                                                              "provisioned_model_units": units}]},
                              "relocate_pt_commitment": True, "pt_commitment_auto_renew": False})
    assert update.status_code == 404 and update.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.fixture(scope="module")
def chat_endpoint(workspace):
    deploy(workspace, "inert-chat", CHAT, 1, 4)
    yield "inert-chat"
    delete(workspace, "inert-chat")


def test_queries_take_openai_fields_current_clients_send(workspace, chat_endpoint):
    body = {"messages": [{"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
                         {"role": "user", "content": [{"type": "text", "text": "Say hi"}]}],
            "max_tokens": 1, "client_request_id": "req-1", "usage_context": {"team": "ml"},
            "extra_params": {"x": "y"}, "user": "ana",
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
            "tool_choice": "none", "response_format": {"type": "text"}}
    response = post(workspace, f"/serving-endpoints/{chat_endpoint}/invocations", body)
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["completion_tokens"] == 1
    client = OpenAI(base_url=f"{workspace.host}/serving-endpoints", api_key=workspace.token)
    answer = client.chat.completions.create(
        model=chat_endpoint, max_tokens=1, tool_choice="none",
        messages=[{"role": "user", "content": [{"type": "text", "text": "Say hi"}]}],
        tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        response_format={"type": "text"})
    assert answer.usage.completion_tokens == 1
    refused = post(workspace, f"/serving-endpoints/{chat_endpoint}/invocations",
                   {**body, "stream_options": {"include_usage": True}})
    assert refused.status_code == 400 and "stream_options" in refused.json()["message"]


def test_update_of_a_ready_endpoint_keeps_serving(workspace, chat_endpoint):
    """The live config answers while the new one deploys (a new model version would load;
    here a sizing change, which shares the loaded weights)."""
    chunk = optimization_info(workspace, CHAT)["throughput_chunk_size"]
    response = requests.put(f"{workspace.host}{SERVING}/{chat_endpoint}/config",
                            headers=workspace.headers, timeout=60, json={"served_entities": [
                                {"entity_name": CHAT, "entity_version": "1",
                                 "min_provisioned_throughput": chunk,
                                 "max_provisioned_throughput": 2 * chunk}]})
    assert response.status_code == 200, response.text
    query = post(workspace, f"/serving-endpoints/{chat_endpoint}/invocations",
                 {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1})
    assert query.status_code == 200, query.text

    def settled():
        body = requests.get(f"{workspace.host}{SERVING}/{chat_endpoint}",
                            headers=workspace.headers, timeout=30).json()
        return body if body["state"]["config_update"] == "NOT_UPDATING" else None

    done = wait_until(settled, 300, what="update settled")
    assert done["config"]["config_version"] == 2
    assert done["config"]["served_entities"][0]["max_provisioned_throughput"] == 2 * chunk
