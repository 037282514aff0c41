"""External models: an endpoint of the governed workspace in front of another local
workspace (its OpenAI-compatible ``/serving-endpoints`` routes), driven by the unmodified
databricks-sdk and openai clients."""

from __future__ import annotations

import socket

import openai
import pytest
import requests
from databricks.sdk.errors import DatabricksError, InvalidParameterValue, PermissionDenied
from databricks.sdk.service.serving import (
    BearerTokenAuth,
    ChatMessage,
    ChatMessageRole,
    CustomProviderConfig,
    EndpointCoreConfigInput,
    ExternalModel,
    ExternalModelProvider,
    OpenAiConfig,
    ServedEntityInput,
)

from .conftest import UPSTREAM_CHAT, UPSTREAM_EMBED

SCOPE = "upstream"


def openai_entity(base: str, model: str, task: str = "llm/v1/chat", **keys) -> ServedEntityInput:
    keys = keys or {"openai_api_key": f"{{{{secrets/{SCOPE}/token}}}}"}
    return ServedEntityInput(name="upstream", external_model=ExternalModel(
        provider=ExternalModelProvider.OPENAI, name=model, task=task,
        openai_config=OpenAiConfig(openai_api_base=base, **keys)))


def create(w, name: str, entity: ServedEntityInput):
    return w.serving_endpoints.create_and_wait(
        name=name, config=EndpointCoreConfigInput(name=name, served_entities=[entity]))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ext_chat(alice, upstream) -> str:
    alice.secrets.create_scope(scope=SCOPE)
    alice.secrets.put_secret(scope=SCOPE, key="token", string_value=upstream.token)
    endpoint = create(alice, "ext-chat", openai_entity(f"{upstream.host}/serving-endpoints",
                                                         UPSTREAM_CHAT))
    assert endpoint.state.ready.value == "READY"
    return "ext-chat"


@pytest.fixture(scope="module")
def ext_embed(admin, upstream) -> str:
    entity = ServedEntityInput(name="minilm", external_model=ExternalModel(
        provider=ExternalModelProvider.CUSTOM, name=UPSTREAM_EMBED, task="llm/v1/embeddings",
        custom_provider_config=CustomProviderConfig(
            custom_provider_url=f"{upstream.host}/serving-endpoints",
            bearer_token_auth=BearerTokenAuth(token_plaintext=upstream.token))))
    create(admin, "ext-embed", entity)
    return "ext-embed"


def test_chat_and_completions_through_the_upstream(alice, ext_chat):
    answer = alice.serving_endpoints.query(
        name=ext_chat, messages=[ChatMessage(role=ChatMessageRole.USER, content="Say hi")],
        max_tokens=8)
    assert answer.choices[0].message.content and answer.usage.completion_tokens > 0
    completion = alice.serving_endpoints.query(name=ext_chat, prompt="Once upon a time",
                                               max_tokens=6)
    assert completion.choices[0].text and completion.usage.completion_tokens > 0


def test_streamed_chat_through_the_upstream(gov_server, alice_token, ext_chat):
    client = openai.OpenAI(base_url=f"{gov_server.host}/serving-endpoints",
                           api_key=alice_token, max_retries=0)
    chunks = list(client.chat.completions.create(
        model=ext_chat, messages=[{"role": "user", "content": "Count to three"}],
        max_tokens=8, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) >= 2 and text
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_embeddings_through_a_custom_provider(admin, ext_embed):
    answer = admin.serving_endpoints.query(name=ext_embed, input=["hello", "world"])
    assert len(answer.data) == 2 and len(answer.data[0].embedding) == 384


def test_config_echoes_references_never_keys(gov_server, admin, upstream, ext_chat, ext_embed):
    chat = admin.serving_endpoints.get(ext_chat).config.served_entities[0]
    assert chat.external_model.openai_config.openai_api_key == "{{secrets/upstream/token}}"
    assert chat.creator == "alice@example.com"
    raw = requests.get(f"{gov_server.host}/api/2.0/serving-endpoints/{ext_embed}",
                       headers=gov_server.headers, timeout=30)
    auth = raw.json()["config"]["served_entities"][0]["external_model"][
        "custom_provider_config"]
    assert auth["custom_provider_url"] == f"{upstream.host}/serving-endpoints"
    assert "token_plaintext" not in str(auth)
    listed = requests.get(f"{gov_server.host}/api/2.0/serving-endpoints",
                          headers=gov_server.headers, timeout=30).text
    for text in (raw.text, listed, "\n".join(gov_server.output)):
        assert upstream.token not in text
    for path in gov_server.data_dir.rglob("*"):
        if path.is_file():
            assert upstream.token.encode() not in path.read_bytes(), path


def test_an_unreachable_upstream_fails_in_one_sentence(gov_server, admin):
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    create(admin, "ext-dead", openai_entity(dead, "m", openai_api_key_plaintext="sk-x"))
    with pytest.raises(DatabricksError, match="cannot reach its server at http://127.0.0.1"):
        admin.serving_endpoints.query(
            name="ext-dead", messages=[ChatMessage(role=ChatMessageRole.USER, content="hi")])
    streamed = requests.post(f"{gov_server.host}/serving-endpoints/ext-dead/invocations",
                             headers=gov_server.headers, timeout=60,
                             json={"messages": [{"role": "user", "content": "hi"}],
                                   "stream": True})
    assert streamed.status_code == 502
    assert streamed.json()["error_code"] == "BAD_GATEWAY"
    assert "cannot reach" in streamed.json()["message"]


def test_upstream_errors_name_the_upstream_status(gov_server, admin, upstream, ext_chat):
    create(admin, "ext-wrong-model", openai_entity(f"{upstream.host}/serving-endpoints",
                                                   "no-such-endpoint"))
    response = requests.post(f"{gov_server.host}/serving-endpoints/ext-wrong-model/invocations",
                             headers=gov_server.headers, timeout=60,
                             json={"messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 502
    assert "answered HTTP 404" in response.json()["message"]
    bad = requests.post(f"{gov_server.host}/serving-endpoints/{ext_chat}/invocations",
                        headers=gov_server.headers, timeout=60,
                        json={"messages": [{"role": "user", "content": "hi"}],
                              "temperature": 99})
    assert bad.status_code == 400, bad.text
    assert "answered HTTP 400" in bad.json()["message"]
    assert upstream.token not in response.text + bad.text


def test_external_model_configs_are_validated(alice, bob, upstream, ext_chat):
    base = f"{upstream.host}/serving-endpoints"
    anthropic = ServedEntityInput(name="a", external_model=ExternalModel(
        provider=ExternalModelProvider.ANTHROPIC, name="claude", task="llm/v1/chat"))
    with pytest.raises(InvalidParameterValue, match="'anthropic' is not served by the local"):
        alice.serving_endpoints.create(name="ext-bad", config=EndpointCoreConfigInput(
            name="ext-bad", served_entities=[anthropic]))
    with pytest.raises(InvalidParameterValue, match="does not exist: put it first"):
        create(alice, "ext-bad", openai_entity(base, UPSTREAM_CHAT,
                                               openai_api_key="{{secrets/upstream/missing}}"))
    with pytest.raises(PermissionDenied, match="bob@example.com does not have MANAGE"):
        create(bob, "ext-bad", openai_entity(base, UPSTREAM_CHAT))
    with pytest.raises(InvalidParameterValue, match="exactly one of 'openai_api_key'"):
        create(alice, "ext-bad", openai_entity(base, UPSTREAM_CHAT, openai_api_key="{{x}}",
                                               openai_api_key_plaintext="k"))
    with pytest.raises(InvalidParameterValue, match="http:// or https://"):
        create(alice, "ext-bad", openai_entity("ftp://x", UPSTREAM_CHAT,
                                               openai_api_key_plaintext="k"))
    assert "ext-bad" not in {e.name for e in alice.serving_endpoints.list()}
