"""Real answers through unmodified clients: databricks-sdk, mlflow.deployments, openai."""

from __future__ import annotations

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.serving import ChatMessage, ChatMessageRole
from openai import OpenAI

from ..support import deploy, optimization_info, wait_until

CHAT = "system.ai.smollm2_135m_instruct"
EMBED = "system.ai.all_minilm_l6_v2"
# greedy on both engines: "The capital of France is Paris." with a margin over 1 nat at every
# token (the bare question is a near-tie at its first token, which llama.cpp answers "L'...")
QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]


@pytest.fixture(scope="module")
def endpoints(workspace) -> dict[str, str]:
    deploy(workspace, "q-chat", CHAT, 4, 4)
    deploy(workspace, "q-embed", EMBED, 1, 1)
    return {"chat": "q-chat", "embed": "q-embed"}


@pytest.fixture(scope="module")
def sdk(workspace) -> WorkspaceClient:
    return WorkspaceClient(host=workspace.host, token=workspace.token)


@pytest.fixture(scope="module")
def oai(workspace) -> OpenAI:
    return OpenAI(base_url=f"{workspace.host}/serving-endpoints", api_key=workspace.token,
                  max_retries=0)


def test_sdk_query_chat_completions_embeddings(sdk, endpoints):
    chat = sdk.serving_endpoints.query(
        endpoints["chat"], messages=[ChatMessage(role=ChatMessageRole.USER,
                                                 content=QUESTION[0]["content"])],
        max_tokens=16, temperature=0.0)
    assert "Paris" in chat.choices[0].message.content
    assert chat.served_model_name == "smollm2_135m_instruct-1"
    assert chat.usage.completion_tokens <= 16 and chat.usage.prompt_tokens > 5
    completion = sdk.serving_endpoints.query(endpoints["chat"], prompt="1, 2, 3, 4,",
                                             max_tokens=6, temperature=0.0)
    assert completion.choices[0].text.strip().startswith("5")
    emb = sdk.serving_endpoints.query(endpoints["embed"], input=["a cat", "a kitten"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 384


def test_mlflow_predict_and_predict_stream(mlflow_deploy_client, endpoints):
    mlflow_client = mlflow_deploy_client
    body = {"messages": QUESTION, "max_tokens": 12, "temperature": 0.0, "logprobs": True}
    answer = mlflow_client.predict(endpoint=endpoints["chat"], inputs=body)
    content = answer["choices"][0]["message"]["content"]
    tokens = answer["choices"][0]["logprobs"]["content"]
    assert len(tokens) == answer["usage"]["completion_tokens"]
    assert all(t["logprob"] <= 0 for t in tokens)
    streamed = "".join(
        (chunk["choices"][0]["delta"].get("content") or "")
        for chunk in mlflow_client.predict_stream(endpoint=endpoints["chat"], inputs=body)
    )
    assert streamed == content  # temperature 0: the stream says exactly the same


def test_openai_chat_with_logprobs_stream_completions_embeddings(oai, endpoints):
    chat = oai.chat.completions.create(model=endpoints["chat"], messages=QUESTION,
                                       max_tokens=12, temperature=0, logprobs=True,
                                       top_logprobs=3)
    choice = chat.choices[0]
    assert choice.finish_reason in ("stop", "length")
    assert len(choice.logprobs.content) == chat.usage.completion_tokens
    first = choice.logprobs.content[0]
    assert len(first.top_logprobs) == 3
    assert first.top_logprobs[0].logprob >= first.top_logprobs[-1].logprob
    stream = oai.chat.completions.create(model=endpoints["chat"], messages=QUESTION,
                                         max_tokens=12, temperature=0, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == \
        choice.message.content
    completion = oai.completions.create(model=endpoints["chat"], prompt="The sky is",
                                        max_tokens=5, temperature=0)
    assert completion.choices[0].text
    emb = oai.embeddings.create(model=endpoints["embed"], input=["hello", "world"])
    assert [d.index for d in emb.data] == [0, 1] and len(emb.data[1].embedding) == 384


def scrape(workspace, endpoint: str) -> dict[str, float]:
    """The endpoint's Prometheus samples, keyed ``name{label="value",...}`` (sorted labels)."""
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"{workspace.host}/api/2.0/serving-endpoints/{endpoint}/metrics",
                        headers=workspace.headers, timeout=10).text
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def test_metrics_count_requests_and_tokens(workspace, endpoints, oai):
    """Each counter moves by exactly what was sent: one 2xx with its usage, one 4xx."""
    import openai

    entity = 'served_entity="smollm2_135m_instruct-1"'
    before = scrape(workspace, endpoints["chat"])
    chat = oai.chat.completions.create(model=endpoints["chat"], messages=QUESTION,
                                       max_tokens=4, temperature=0)
    with pytest.raises(openai.BadRequestError):
        oai.chat.completions.create(model=endpoints["chat"], messages=QUESTION, max_tokens=-1)
    after = scrape(workspace, endpoints["chat"])

    def moved(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved(f'request_count_total{{{entity},status_class="2xx"}}') == 1
    assert moved(f'request_count_total{{{entity},status_class="4xx"}}') == 1
    assert moved(f"request_4xx_count_total{{{entity}}}") == 1
    assert moved(f"request_429_count_total{{{entity}}}") == 0
    assert moved(f"request_5xx_count_total{{{entity}}}") == 0
    assert chat.usage.prompt_tokens > 0 and chat.usage.completion_tokens == 4
    assert moved(f"input_tokens_total{{{entity}}}") == chat.usage.prompt_tokens
    assert moved(f"output_tokens_total{{{entity}}}") == chat.usage.completion_tokens
    assert moved(f"request_latency_ms_count{{{entity}}}") == 2
    assert moved(f"request_latency_ms_sum{{{entity}}}") > 0
    chunk = optimization_info(workspace, CHAT)["throughput_chunk_size"]
    gauge = f"provisioned_throughput_tokens_per_second{{{entity}}}"
    # the autoscaler exports the rate on its first tick after the endpoint is up
    rate = wait_until(lambda: scrape(workspace, endpoints["chat"]).get(gauge), 30,
                      what="the provisioned-rate gauge")
    assert rate == 4 * chunk
