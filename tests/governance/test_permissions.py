"""Endpoint permissions enforced, cell by cell: level × operation, with databricks-sdk.

The endpoint is an external model in front of the upstream workspace (no model loads in
the governed workspace). Its creator (alice) grants the levels with
``w.serving_endpoints.set_permissions``; every refusal is a 403 naming the user, the
endpoint and the missing level, and leaves the endpoint as it was.
"""

from __future__ import annotations

import pytest
from databricks.sdk.errors import PermissionDenied
from databricks.sdk.service.serving import (
    ChatMessage,
    ChatMessageRole,
    ExternalModel,
    ExternalModelProvider,
    OpenAiConfig,
    ServedEntityInput,
    ServingEndpointAccessControlRequest,
    ServingEndpointPermissionLevel,
)

from .conftest import UPSTREAM_CHAT, client, new_token

LEVELS = ["CAN_VIEW", "CAN_QUERY", "CAN_MANAGE"]
USERS = {"viewer@example.com": "CAN_VIEW", "querier@example.com": "CAN_QUERY",
         "manager@example.com": "CAN_MANAGE", "nobody@example.com": None}
NEEDS = {"list": "CAN_VIEW", "get": "CAN_VIEW", "logs": "CAN_VIEW", "query": "CAN_QUERY",
         "update": "CAN_MANAGE", "permissions": "CAN_MANAGE", "delete": "CAN_MANAGE"}
ENDPOINT = "perm-ep"


def rank(level):
    return LEVELS.index(level) + 1 if level else 0


def entity(upstream) -> ServedEntityInput:
    return ServedEntityInput(name="upstream", external_model=ExternalModel(
        provider=ExternalModelProvider.OPENAI, name=UPSTREAM_CHAT, task="llm/v1/chat",
        openai_config=OpenAiConfig(openai_api_base=f"{upstream.host}/serving-endpoints",
                                   openai_api_key_plaintext=upstream.token)))


def make_endpoint(alice, upstream, name: str):
    from databricks.sdk.service.serving import EndpointCoreConfigInput

    endpoint = alice.serving_endpoints.create_and_wait(
        name=name, config=EndpointCoreConfigInput(name=name, served_entities=[entity(upstream)]))
    acl = [ServingEndpointAccessControlRequest(
        user_name=user, permission_level=ServingEndpointPermissionLevel(level))
        for user, level in USERS.items() if level]
    alice.serving_endpoints.set_permissions(serving_endpoint_id=endpoint.id,
                                            access_control_list=acl)
    return endpoint


@pytest.fixture(scope="module")
def users(gov_server) -> dict:
    return {name: client(gov_server, new_token(gov_server, name)) for name in USERS}


@pytest.fixture(scope="module")
def endpoint(alice, upstream, users):
    return make_endpoint(alice, upstream, ENDPOINT)


def attempt(w, op: str, endpoint, upstream):
    name = endpoint.name
    if op == "list":
        return name in {e.name for e in w.serving_endpoints.list()}
    if op == "get":
        return w.serving_endpoints.get(name).permission_level.value
    if op == "logs":
        return w.serving_endpoints.logs(name=name, served_model_name="upstream")
    if op == "query":
        return w.serving_endpoints.query(name=name, max_tokens=4, messages=[
            ChatMessage(role=ChatMessageRole.USER, content="hi")])
    if op == "update":
        return w.serving_endpoints.update_config_and_wait(name=name,
                                                          served_entities=[entity(upstream)])
    if op == "permissions":
        return w.serving_endpoints.get_permissions(serving_endpoint_id=endpoint.id)
    raise AssertionError(op)


@pytest.mark.parametrize("op", [op for op in NEEDS if op != "delete"])
@pytest.mark.parametrize("user", list(USERS))
def test_permission_matrix(users, endpoint, upstream, alice, user, op):
    w, level = users[user], USERS[user]
    allowed = rank(level) >= rank(NEEDS[op])
    before = alice.serving_endpoints.get(endpoint.name)
    if op == "list":
        assert attempt(w, op, endpoint, upstream) is allowed
        return
    if allowed:
        result = attempt(w, op, endpoint, upstream)
        if op == "get":
            assert result == level  # the caller's own level, as on Databricks
        return
    with pytest.raises(PermissionDenied) as refused:
        attempt(w, op, endpoint, upstream)
    message = str(refused.value)
    assert user in message and f"'{endpoint.name}'" in message and NEEDS[op] in message
    after = alice.serving_endpoints.get(endpoint.name)
    assert after.config.config_version == before.config.config_version
    assert after.state.config_update.value == "NOT_UPDATING"


def test_creator_and_admin_manage(alice, admin, endpoint):
    assert alice.serving_endpoints.get(endpoint.name).permission_level.value == "CAN_MANAGE"
    assert admin.serving_endpoints.get(endpoint.name).permission_level.value == "CAN_MANAGE"
    acl = admin.serving_endpoints.get_permissions(serving_endpoint_id=endpoint.id)
    levels = {(a.user_name or a.group_name): a.all_permissions[0].permission_level.value
              for a in acl.access_control_list}
    assert levels["alice@example.com"] == "CAN_MANAGE"
    assert levels["querier@example.com"] == "CAN_QUERY"
    assert levels["admins"] == "CAN_MANAGE"
    assert "nobody@example.com" not in levels


def test_only_managers_delete(users, alice, upstream, endpoint):
    doomed = make_endpoint(alice, upstream, "perm-doomed")
    for user, level in USERS.items():
        if level == "CAN_MANAGE":
            continue
        with pytest.raises(PermissionDenied, match=f"{user} does not have CAN_MANAGE"):
            users[user].serving_endpoints.delete(doomed.name)
        assert alice.serving_endpoints.get(doomed.name).state.ready.value == "READY"
    users["manager@example.com"].serving_endpoints.delete(doomed.name)
    assert doomed.name not in {e.name for e in alice.serving_endpoints.list()}


def test_grants_are_validated_and_all_or_nothing(alice, bob, endpoint):
    bad = [ServingEndpointAccessControlRequest(
               user_name="bob@example.com",
               permission_level=ServingEndpointPermissionLevel.CAN_QUERY),
           ServingEndpointAccessControlRequest(
               user_name="ghost@example.com",
               permission_level=ServingEndpointPermissionLevel.CAN_QUERY)]
    from databricks.sdk.errors import InvalidParameterValue

    with pytest.raises(InvalidParameterValue, match="ghost@example.com' does not exist"):
        alice.serving_endpoints.update_permissions(serving_endpoint_id=endpoint.id,
                                                   access_control_list=bad)
    acl = alice.serving_endpoints.get_permissions(serving_endpoint_id=endpoint.id)
    assert "bob@example.com" not in {a.user_name for a in acl.access_control_list}
    levels = alice.serving_endpoints.get_permission_levels(serving_endpoint_id=endpoint.id)
    assert [lv.permission_level.value for lv in levels.permission_levels] == LEVELS
