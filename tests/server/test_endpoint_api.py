"""The rest of the serving-endpoint API, driven by databricks-sdk's own methods over HTTP:
tags, AI gateway, legacy rate limits, notifications, telemetry, the endpoint's OpenAPI
document and permissions. None of them redeploys the endpoint."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, NotFound
from databricks.sdk.service.serving import (
    AiGatewayGuardrailParameters,
    AiGatewayGuardrailPiiBehavior,
    AiGatewayGuardrailPiiBehaviorBehavior,
    AiGatewayGuardrails,
    AiGatewayRateLimit,
    AiGatewayRateLimitKey,
    AiGatewayRateLimitRenewalPeriod,
    AiGatewayUsageTrackingConfig,
    EmailNotifications,
    EndpointCoreConfigInput,
    EndpointTag,
    RateLimit,
    RateLimitKey,
    RateLimitRenewalPeriod,
    ServedEntityInput,
    ServingEndpointAccessControlRequest,
    ServingEndpointPermissionLevel,
)

from ..support import new_token, optimization_info

EMBED = "system.ai.all_minilm_l6_v2"
NAME = "api-ep"


@pytest.fixture(scope="module")
def w(workspace) -> WorkspaceClient:
    return WorkspaceClient(host=workspace.host, token=workspace.token)


@pytest.fixture(scope="module")
def endpoint(w, workspace):
    chunk = optimization_info(workspace, EMBED)["throughput_chunk_size"]
    ready = w.serving_endpoints.create_and_wait(
        name=NAME, tags=[EndpointTag(key="team", value="ml"), EndpointTag(key="old")],
        config=EndpointCoreConfigInput(name=NAME, served_entities=[ServedEntityInput(
            entity_name=EMBED, entity_version="1", min_provisioned_throughput=chunk,
            max_provisioned_throughput=chunk)]), timeout=timedelta(minutes=5))
    yield ready
    w.serving_endpoints.delete(name=NAME)


def assert_not_redeployed(w) -> None:
    now = w.serving_endpoints.get(name=NAME)
    assert now.state.config_update.value == "NOT_UPDATING"
    assert now.config.config_version == 1 and now.pending_config is None


def test_patch_tags(w, endpoint):
    answer = w.serving_endpoints.patch(name=NAME, add_tags=[
        EndpointTag(key="stage", value="dev"), EndpointTag(key="team", value="research")],
        delete_tags=["old"])
    expected = {"team": "research", "stage": "dev"}
    assert {t.key: t.value for t in answer.tags} == expected
    assert {t.key: t.value for t in w.serving_endpoints.get(name=NAME).tags} == expected
    assert_not_redeployed(w)


def test_put_ai_gateway_stores_validates_and_echoes(w, endpoint):
    limits = [AiGatewayRateLimit(renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE,
                                 calls=100, key=AiGatewayRateLimitKey.USER),
              AiGatewayRateLimit(renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE,
                                 tokens=5000, key=AiGatewayRateLimitKey.ENDPOINT)]
    guardrails = AiGatewayGuardrails(input=AiGatewayGuardrailParameters(
        pii=AiGatewayGuardrailPiiBehavior(behavior=AiGatewayGuardrailPiiBehaviorBehavior.BLOCK),
        invalid_keywords=["secret"]))
    answer = w.serving_endpoints.put_ai_gateway(
        name=NAME, rate_limits=limits, guardrails=guardrails,
        usage_tracking_config=AiGatewayUsageTrackingConfig(enabled=True))
    assert answer.rate_limits == limits and answer.guardrails == guardrails
    assert answer.usage_tracking_config.enabled is True
    stored = w.serving_endpoints.get(name=NAME).ai_gateway
    assert stored.rate_limits == limits and stored.guardrails == guardrails
    with pytest.raises(InvalidParameterValue, match="renewal_period"):
        w.api_client.do("PUT", f"/api/2.0/serving-endpoints/{NAME}/ai-gateway",
                        body={"rate_limits": [{"renewal_period": "hour", "calls": 1}]})
    assert_not_redeployed(w)


def test_put_legacy_rate_limits(w, endpoint):
    limits = [RateLimit(calls=10, renewal_period=RateLimitRenewalPeriod.MINUTE,
                        key=RateLimitKey.ENDPOINT)]
    assert w.serving_endpoints.put(name=NAME, rate_limits=limits).rate_limits == limits
    with pytest.raises(InvalidParameterValue, match="calls"):
        w.api_client.do("PUT", f"/api/2.0/serving-endpoints/{NAME}/rate-limits",
                        body={"rate_limits": [{"renewal_period": "minute"}]})
    assert_not_redeployed(w)


def test_update_notifications(w, endpoint):
    notes = EmailNotifications(on_update_failure=["ops@example.com"],
                               on_update_success=["me@example.com"])
    answer = w.serving_endpoints.update_notifications(name=NAME, email_notifications=notes)
    assert answer.name == NAME and answer.email_notifications == notes
    assert w.serving_endpoints.get(name=NAME).email_notifications == notes
    assert_not_redeployed(w)


def test_patch_telemetry_config(w, endpoint):
    if not hasattr(w.serving_endpoints, "patch_telemetry_config"):
        pytest.skip("this databricks-sdk has no patch_telemetry_config")
    from databricks.sdk.service.serving import TelemetryConfig

    config = TelemetryConfig.from_dict({"enabled_telemetry_features": [
        "TELEMETRY_FEATURE_LOGS"], "telemetry_profile_id": "p1"})
    answer = w.serving_endpoints.patch_telemetry_config(name=NAME, telemetry_config=config)
    assert answer.name == NAME and answer.telemetry_config == config
    assert_not_redeployed(w)


def test_get_open_api_describes_the_task(w, endpoint):
    contents = w.serving_endpoints.get_open_api(name=NAME).contents.read()
    doc = json.loads(contents)
    operation = doc["paths"][f"/{NAME}/invocations"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request_schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert "input" in request_schema["properties"]  # an embeddings endpoint
    with pytest.raises(NotFound):
        w.serving_endpoints.get_open_api(name="no-such-endpoint")


def acl(permissions) -> dict[str, tuple[str, bool]]:
    out = {}
    for entry in permissions.access_control_list:
        who = entry.user_name or entry.group_name or entry.service_principal_name
        level = entry.all_permissions[0]
        out[who] = (level.permission_level.value, bool(level.inherited))
    return out


def test_permissions(w, endpoint, workspace):
    new_token(workspace, "ana@example.com")  # grants name users that exist (governance)
    endpoint_id = endpoint.id
    levels = w.serving_endpoints.get_permission_levels(serving_endpoint_id=endpoint_id)
    assert {lv.permission_level.value for lv in levels.permission_levels} == {
        "CAN_MANAGE", "CAN_QUERY", "CAN_VIEW"}
    start = w.serving_endpoints.get_permissions(serving_endpoint_id=endpoint_id)
    assert start.object_id == f"/serving-endpoints/{endpoint_id}"
    assert acl(start)[endpoint.creator] == ("CAN_MANAGE", False)
    assert acl(start)["admins"] == ("CAN_MANAGE", True)
    query = ServingEndpointPermissionLevel.CAN_QUERY
    view = ServingEndpointPermissionLevel.CAN_VIEW
    after_set = w.serving_endpoints.set_permissions(
        serving_endpoint_id=endpoint_id,
        access_control_list=[ServingEndpointAccessControlRequest(user_name="ana@example.com",
                                                                 permission_level=query)])
    assert acl(after_set)["ana@example.com"] == ("CAN_QUERY", False)
    after_update = w.serving_endpoints.update_permissions(
        serving_endpoint_id=endpoint_id,
        access_control_list=[ServingEndpointAccessControlRequest(group_name="users",
                                                                 permission_level=view)])
    assert {k: v for k, v in acl(after_update).items() if k in ("ana@example.com", "users")
            } == {"ana@example.com": ("CAN_QUERY", False), "users": ("CAN_VIEW", False)}
    cleared = w.serving_endpoints.set_permissions(serving_endpoint_id=endpoint_id,
                                                  access_control_list=[])
    assert set(acl(cleared)) == {endpoint.creator, "admins"}
    with pytest.raises(InvalidParameterValue, match="exactly one"):
        w.serving_endpoints.update_permissions(
            serving_endpoint_id=endpoint_id, access_control_list=[
                ServingEndpointAccessControlRequest(user_name="a@x", group_name="g",
                                                    permission_level=view)])
    with pytest.raises(NotFound):
        w.serving_endpoints.get_permissions(serving_endpoint_id="0" * 32)
    assert_not_redeployed(w)


def test_unknown_routes_answer_json_404(workspace):
    for path in ("/api/2.0/mlflow/no-such-route", "/no/such/page",
                 "/api/2.0/serving-endpoints/x/y/z", "/api/2.0/permissions/jobs/1"):
        response = requests.get(workspace.host + path, headers=workspace.headers, timeout=30)
        assert response.status_code == 404, path
        assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND", path
    mlflow = requests.get(f"{workspace.host}/api/2.0/mlflow/registered-models/search",
                          headers=workspace.headers, timeout=30)
    assert mlflow.status_code == 200 and "registered_models" in mlflow.json()
