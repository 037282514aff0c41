"""kind="mlflow": MLflow artifact directories, loaded with transformers / sentence-transformers."""

from __future__ import annotations

import numpy as np

from pt_widgets.local.engine import ModelSource, inspect_source, load_replica

from .helpers import CACHE_DIR, greedy, minilm_path, run


def test_tiny_mlflow_chat_model_answers(mlflow_models: dict[str, str]) -> None:
    src = ModelSource("mlflow", mlflow_models["chat"], "llm/v1/chat", display_name="tiny")
    info = inspect_source(src)
    assert info["model_type"] == "llama" and info["context_length"] == 128
    assert info["mlflow_task"] == "llm/v1/chat"
    logs: list[str] = []
    replica = load_replica(src, CACHE_DIR, log=logs.append)
    try:
        assert replica.context_length == 128
        assert any(line.startswith("Loaded 0.0M parameters") for line in logs)
        a = run(replica.chat(greedy("hello world", 6, logprobs=True, top_logprobs=2)))
        b = run(replica.chat(greedy("hello world", 6, logprobs=True, top_logprobs=2)))
        assert a["choices"][0]["message"] == b["choices"][0]["message"]
        assert a["model"] == "tiny"
        # random weights: the answer may end on EOS at any step, but only the request's
        # max_tokens (6, not the model's own generation_config of 16) may cut it
        used = a["usage"]["completion_tokens"]
        finish = a["choices"][0]["finish_reason"]
        assert (finish == "length" and used == 6) or (finish == "stop" and 0 <= used < 6), (
            finish, used)
        assert len(a["choices"][0]["logprobs"]["content"]) == used
        c = run(replica.completions({"prompt": "the quick", "max_tokens": 4, "n": 2}))
        assert [ch["index"] for ch in c["choices"]] == [0, 1]
        assert all(ch["finish_reason"] in ("stop", "length") for ch in c["choices"])
        assert c["usage"]["completion_tokens"] <= 8
    finally:
        replica.close()


def test_mlflow_sentence_transformers_embeddings(mlflow_models: dict[str, str]) -> None:
    src = ModelSource("mlflow", mlflow_models["embeddings"], "llm/v1/embeddings")
    assert inspect_source(src)["context_length"] == 256
    replica = load_replica(src, CACHE_DIR)
    direct = load_replica(
        ModelSource("sentence_transformers", minilm_path(), "llm/v1/embeddings"), CACHE_DIR
    )
    try:
        a = run(replica.embeddings({"input": "hello world"}))["data"][0]["embedding"]
        b = run(direct.embeddings({"input": "hello world"}))["data"][0]["embedding"]
        assert len(a) == 384
        assert float(np.dot(a, b)) > 0.9999
    finally:
        replica.close()
        direct.close()
