"""The AI gateway in force: a per-user call limit, usage tracking and the inference table,
across a restart. The endpoint is an external model in front of the upstream workspace."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import requests
from databricks.sdk.service.serving import (
    AiGatewayConfig,
    AiGatewayGuardrailParameters,
    AiGatewayGuardrails,
    AiGatewayInferenceTableConfig,
    AiGatewayRateLimit,
    AiGatewayRateLimitKey,
    AiGatewayRateLimitRenewalPeriod,
    AiGatewayUsageTrackingConfig,
    EndpointCoreConfigInput,
    ExternalModel,
    ExternalModelProvider,
    OpenAiConfig,
    ServedEntityInput,
    ServingEndpointAccessControlRequest,
    ServingEndpointPermissionLevel,
)

import pt_widgets

from ..support import ServerProcess
from .conftest import UPSTREAM_CHAT, client, new_token

ENDPOINT = "gw-ep"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def gw_server(tmp_path_factory) -> Iterator[ServerProcess]:
    """Its own workspace on a fixed port, so it can restart under the same URL."""
    server = ServerProcess(tmp_path_factory.mktemp("gateway"), port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def callers(gw_server) -> dict[str, str]:
    return {name: new_token(gw_server, name) for name in ("ann@example.com", "ben@example.com")}


@pytest.fixture(scope="module")
def endpoint(gw_server, upstream, callers) -> str:
    admin = client(gw_server, gw_server.token)
    entity = ServedEntityInput(name="upstream", external_model=ExternalModel(
        provider=ExternalModelProvider.OPENAI, name=UPSTREAM_CHAT, task="llm/v1/chat",
        openai_config=OpenAiConfig(openai_api_base=f"{upstream.host}/serving-endpoints",
                                   openai_api_key_plaintext=upstream.token)))
    gateway = AiGatewayConfig(
        rate_limits=[AiGatewayRateLimit(calls=3, key=AiGatewayRateLimitKey.USER,
                                        renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE)],
        usage_tracking_config=AiGatewayUsageTrackingConfig(enabled=True),
        inference_table_config=AiGatewayInferenceTableConfig(
            catalog_name="main", schema_name="default", table_name_prefix="gw", enabled=True),
        guardrails=AiGatewayGuardrails(input=AiGatewayGuardrailParameters(
            invalid_keywords=["forbidden"])))
    endpoint = admin.serving_endpoints.create_and_wait(
        name=ENDPOINT, ai_gateway=gateway,
        config=EndpointCoreConfigInput(name=ENDPOINT, served_entities=[entity]))
    admin.serving_endpoints.set_permissions(serving_endpoint_id=endpoint.id, access_control_list=[
        ServingEndpointAccessControlRequest(
            user_name=user, permission_level=ServingEndpointPermissionLevel.CAN_QUERY)
        for user in callers])
    return ENDPOINT


def ask(server: ServerProcess, token: str, text: str,
        endpoint: str = ENDPOINT) -> requests.Response:
    return requests.post(f"{server.host}/serving-endpoints/{endpoint}/invocations",
                         headers={"Authorization": f"Bearer {token}"}, timeout=120,
                         json={"messages": [{"role": "user", "content": text}],
                               "max_tokens": 2})


def table(server: ServerProcess, which: str, token: str | None = None) -> dict:
    response = requests.get(f"{server.host}/api/2.0/pt-widgets/serving-endpoints/{ENDPOINT}/"
                            f"{which}", headers={"Authorization": f"Bearer "
                                                 f"{token or server.token}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_limit_usage_and_inference_table_across_a_restart(gw_server, callers, endpoint):
    ann, ben = callers["ann@example.com"], callers["ben@example.com"]
    for i in range(3):
        assert ask(gw_server, ann, f"ann {i}").status_code == 200
    refused = ask(gw_server, ann, "ann 3")
    assert refused.status_code == 429
    assert refused.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "3 calls per minute for user ann@example.com" in refused.json()["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    served = ask(gw_server, ben, "ben 0")  # another user keeps being served
    assert served.status_code == 200, served.text
    gw_server.restart()
    again = ask(gw_server, ben, "ben 1")  # the external endpoint comes back after a restart
    assert again.status_code == 200, again.text
    usage = table(gw_server, "usage")
    rows = usage["rows"]
    assert [(r["requester"], r["status_code"]) for r in rows] == \
        [("ann@example.com", 200)] * 3 + [("ben@example.com", 200)] * 2
    assert all(r["served_entity_name"] == "upstream" and r["input_token_count"] > 0
               and r["output_token_count"] > 0 and r["execution_duration_ms"] >= 0
               for r in rows)
    assert "guardrails.input.invalid_keywords" in usage["not_enforced"]
    logged = table(gw_server, "inference-table")["rows"]
    assert [json.loads(r["request"])["messages"][0]["content"] for r in logged] == \
        ["ann 0", "ann 1", "ann 2", "ben 0", "ben 1"]
    assert all(json.loads(r["response"])["choices"] and r["logging_error_codes"] == []
               for r in logged)
    assert {r["databricks_request_id"] for r in logged} == \
        {r["databricks_request_id"] for r in rows}
    ws = pt_widgets.connect(gw_server.host, gw_server.token)  # the same, as DataFrames
    frame = ws.usage(ENDPOINT)
    assert list(frame["requester"]) == ["ann@example.com"] * 3 + ["ben@example.com"] * 2
    assert frame.attrs["not_enforced"] == ["guardrails.input.invalid_keywords"]
    assert list(ws.inference_table(ENDPOINT)["status_code"]) == [200] * 5


def test_tables_need_can_manage(gw_server, callers, endpoint):
    response = requests.get(f"{gw_server.host}/api/2.0/pt-widgets/serving-endpoints/{ENDPOINT}"
                            "/usage", headers={"Authorization": f"Bearer "
                                               f"{callers['ben@example.com']}"}, timeout=30)
    assert response.status_code == 403
    assert "ben@example.com does not have CAN_MANAGE" in response.json()["message"]


def test_a_token_limit_for_the_whole_endpoint(gw_server, upstream, callers, endpoint):
    """``tokens: 1`` per minute, key ``endpoint``: the first answer spends it for everyone."""
    admin = client(gw_server, gw_server.token)
    entity = ServedEntityInput(name="upstream", external_model=ExternalModel(
        provider=ExternalModelProvider.OPENAI, name=UPSTREAM_CHAT, task="llm/v1/chat",
        openai_config=OpenAiConfig(openai_api_base=f"{upstream.host}/serving-endpoints",
                                   openai_api_key_plaintext=upstream.token)))
    admin.serving_endpoints.create_and_wait(
        name="gw-tokens", ai_gateway=AiGatewayConfig(rate_limits=[AiGatewayRateLimit(
            tokens=1, key=AiGatewayRateLimitKey.ENDPOINT,
            renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE)]),
        config=EndpointCoreConfigInput(name="gw-tokens", served_entities=[entity]))
    assert ask(gw_server, gw_server.token, "first", "gw-tokens").status_code == 200
    refused = ask(gw_server, gw_server.token, "second", "gw-tokens")
    assert refused.status_code == 429
    assert "1 tokens per minute for all callers together" in refused.json()["message"]
    # the gateway's 429 is one of the endpoint's: its metrics count it (the monitor reads them)
    metrics = requests.get(f"{gw_server.host}/api/2.0/serving-endpoints/gw-tokens/metrics",
                           headers=gw_server.headers, timeout=10).text
    assert 'request_429_count_total{served_entity=""} 1.0' in metrics, metrics


def test_a_limit_put_through_the_ai_gateway_route_is_enforced(gw_server, upstream, callers,
                                                              endpoint):
    """``w.serving_endpoints.put_ai_gateway`` (the wire layer's route) stores the config where
    the gateway reads it: the new limit refuses the next call, with no redeploy."""
    admin = client(gw_server, gw_server.token)
    entity = ServedEntityInput(name="upstream", external_model=ExternalModel(
        provider=ExternalModelProvider.OPENAI, name=UPSTREAM_CHAT, task="llm/v1/chat",
        openai_config=OpenAiConfig(openai_api_base=f"{upstream.host}/serving-endpoints",
                                   openai_api_key_plaintext=upstream.token)))
    admin.serving_endpoints.create_and_wait(
        name="gw-put", config=EndpointCoreConfigInput(name="gw-put", served_entities=[entity]))
    ben = callers["ben@example.com"]
    admin.serving_endpoints.set_permissions(
        serving_endpoint_id=admin.serving_endpoints.get(name="gw-put").id,
        access_control_list=[ServingEndpointAccessControlRequest(
            user_name="ben@example.com",
            permission_level=ServingEndpointPermissionLevel.CAN_QUERY)])
    assert ask(gw_server, ben, "before", "gw-put").status_code == 200
    answer = admin.serving_endpoints.put_ai_gateway(
        name="gw-put", rate_limits=[AiGatewayRateLimit(
            calls=1, key=AiGatewayRateLimitKey.USER,
            renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE)],
        usage_tracking_config=AiGatewayUsageTrackingConfig(enabled=True))
    assert answer.rate_limits[0].calls == 1
    assert ask(gw_server, ben, "first", "gw-put").status_code == 200
    refused = ask(gw_server, ben, "second", "gw-put")
    assert refused.status_code == 429, refused.text
    assert "1 calls per minute for user ben@example.com" in refused.json()["message"]
    assert ask(gw_server, gw_server.token, "admin", "gw-put").status_code == 200  # per user
    stored = admin.serving_endpoints.get(name="gw-put")
    assert stored.ai_gateway.rate_limits[0].calls == 1
    assert stored.config.config_version == 1 and stored.pending_config is None
