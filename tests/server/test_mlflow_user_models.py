"""The seed's flow: log a model with MLflow into the local workspace, then deploy and query.

The test builds a tiny Llama chat model (BPE tokenizer trained on a few sentences, random
weights), logs it with ``mlflow.transformers.log_model(task="llm/v1/chat",
registered_model_name="main.default.…")`` against the local workspace as a plain tracking
URI, and follows it through the catalog, optimization info, a provisioned-throughput
deploy and a query through the openai client.
"""

from __future__ import annotations

import pytest
import requests

from ..support import deploy, optimization_info, tiny_chat_pipeline


@pytest.fixture(scope="module")
def mlflow_at_workspace(workspace):
    import mlflow

    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_TOKEN", workspace.token)
    mp.setenv("HF_HUB_OFFLINE", "1")
    mlflow.set_tracking_uri(workspace.host)
    mlflow.set_registry_uri(workspace.host)
    mlflow.set_experiment("pt-widgets-tests")
    yield mlflow
    mlflow.set_tracking_uri(None)
    mp.undo()


def test_logged_chat_model_is_listed_sized_deployed_and_queried(workspace, mlflow_at_workspace):
    mlflow = mlflow_at_workspace
    with mlflow.start_run():
        mlflow.transformers.log_model(
            tiny_chat_pipeline(), name="model", task="llm/v1/chat",
            registered_model_name="main.default.tiny_chat",
            pip_requirements=["mlflow", "torch", "transformers"])

    listed = requests.get(f"{workspace.host}/api/2.1/unity-catalog/models",
                          params={"catalog_name": "main", "schema_name": "default"},
                          headers=workspace.headers, timeout=10).json()["registered_models"]
    assert "main.default.tiny_chat" in [m["full_name"] for m in listed]
    info = optimization_info(workspace, "main.default.tiny_chat")
    assert info["optimizable"] is True and info["model_type"] == "llama"

    deploy(workspace, "tiny-chat", "main.default.tiny_chat", 1, 1)
    from openai import OpenAI

    oai = OpenAI(base_url=f"{workspace.host}/serving-endpoints", api_key=workspace.token)
    answer = oai.chat.completions.create(model="tiny-chat", max_tokens=5, logprobs=True,
                                         messages=[{"role": "user", "content": "hello"}])
    assert answer.usage.completion_tokens >= 1
    assert len(answer.choices[0].logprobs.content) == answer.usage.completion_tokens


def test_model_without_llm_task_is_listed_but_not_optimizable(workspace, mlflow_at_workspace):
    mlflow = mlflow_at_workspace

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    with mlflow.start_run():
        mlflow.pyfunc.log_model(name="model", python_model=Echo(),
                                registered_model_name="main.default.echo",
                                pip_requirements=["mlflow"])
    info = optimization_info(workspace, "main.default.echo")
    assert info["optimizable"] is False
    assert "llm/v1" in info["reason"]
    response = requests.post(f"{workspace.host}/api/2.0/serving-endpoints",
                             headers=workspace.headers, timeout=30, json={
                                 "name": "echo-ep", "config": {"served_entities": [{
                                     "entity_name": "main.default.echo", "entity_version": "1",
                                     "min_provisioned_throughput": 100,
                                     "max_provisioned_throughput": 100}]}})
    assert response.status_code == 400
    assert "cannot be served with provisioned throughput" in response.json()["message"]


def test_copied_version_serves_the_same_weights(workspace, mlflow_at_workspace):
    """``copy_model_version`` registers the source's URI as the new version's source: the
    copy is sized like the original (a quick "v2" with the same weights)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    first = client.copy_model_version("models:/system.ai.smollm2_135m_instruct/1",
                                      "main.default.copied_chat")
    second = client.copy_model_version(f"models:/main.default.copied_chat/{first.version}",
                                       "main.default.copied_chat")  # a copy of a copy
    assert second.source == f"models:/main.default.copied_chat/{first.version}"
    original = optimization_info(workspace, "system.ai.smollm2_135m_instruct")
    for version in (first.version, second.version):
        info = optimization_info(workspace, "main.default.copied_chat", version)
        assert info["optimizable"] is True
        assert info["throughput_chunk_size"] == original["throughput_chunk_size"]
