"""The Python API for governed endpoints, against the real governed workspace."""

from __future__ import annotations

import pytest

import pt_widgets
from pt_widgets.errors import PermissionDenied, RateLimited
from pt_widgets.transport import NO_RETRY

from .conftest import UPSTREAM_CHAT, new_token


@pytest.fixture(scope="module")
def wss(gov_server, alice_token, bob):
    bob_token = new_token(gov_server, "bob@example.com", "python api")
    return (pt_widgets.connect(gov_server.host, alice_token),
            pt_widgets.connect(gov_server.host, bob_token))


def test_secret_external_model_grant_and_revoke(gov_server, upstream, wss):
    alice, bob = wss
    reference = alice.create_secret("py-scope", "upstream", upstream.token)
    assert reference == "{{secrets/py-scope/upstream}}"
    assert upstream.token not in repr(alice) + reference
    endpoint = alice.deploy_external("py-ext", UPSTREAM_CHAT,
                                     f"{upstream.host}/serving-endpoints",
                                     api_key_reference=reference)
    assert endpoint.is_ready
    assert alice.chat("py-ext", "Say hi", max_tokens=4).text
    with pytest.raises(PermissionDenied, match="bob@example.com does not have CAN_QUERY"):
        bob.chat("py-ext", "hi", max_tokens=4)
    alice.grant("py-ext", "bob@example.com", "CAN_QUERY")
    assert bob.chat("py-ext", "Say hi", max_tokens=4).text
    table = alice.permissions("py-ext").set_index("principal")
    assert table.loc["bob@example.com", "level"] == "CAN_QUERY"
    assert table.loc["alice@example.com", "level"] == "CAN_MANAGE"
    alice.revoke("py-ext", "bob@example.com")
    assert "bob@example.com" not in set(alice.permissions("py-ext")["principal"])
    with pytest.raises(PermissionDenied):
        bob.chat("py-ext", "hi", max_tokens=4)


def test_set_gateway_needs_the_ai_gateway_route(gov_server, wss):
    """``set_gateway`` goes through ``PUT …/ai-gateway``; the limit it sets is enforced and
    usage is tracked from then on."""
    alice, _ = wss
    stored = alice.set_gateway("py-ext", calls_per_minute=1)
    assert stored["rate_limits"][0]["calls"] == 1
    try:
        assert alice.chat("py-ext", "Say hi", max_tokens=4).text
        with pytest.raises(RateLimited, match="1 calls per minute for user alice@example.com"):
            alice.chat("py-ext", "Say hi again", max_tokens=4, retry=NO_RETRY)
        frame = alice.usage("py-ext")
        assert list(frame.columns)[:3] == ["databricks_request_id", "request_time",
                                           "endpoint_name"]
        assert list(frame["requester"])[:1] == ["alice@example.com"]
    finally:
        alice.set_gateway("py-ext")  # no limit: the module's endpoint serves on
