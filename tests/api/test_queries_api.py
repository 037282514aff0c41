"""chat / completions / embeddings / streaming / batch against real endpoints, over HTTP."""

from __future__ import annotations

import math
import threading

import pandas as pd
import pytest

import pt_widgets
from pt_widgets.errors import BadRequest, NotFound, RateLimited
from pt_widgets.queries import EmbeddingsResult
from pt_widgets.wire import Usage
from pt_widgets.workspace import NO_RETRY, RetryPolicy

from ..support import spend_at_admission
from .conftest import CHAT_MODEL


def test_chat_returns_text_reason_usage_latency(ws, chat_endpoint):
    result = ws.chat(chat_endpoint, "Name a colour.", system="Answer in one word.",
                     max_tokens=8, temperature=0)
    assert result.text and result.finish_reason in ("stop", "length")
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens <= 8
    assert result.latency_s > 0 and result.served_model == "smollm2_135m_instruct-1"
    frame = result.to_pandas()
    assert list(frame[["text", "finish_reason"]].iloc[0]) == [result.text, result.finish_reason]
    again = ws.chat(chat_endpoint, [("system", "Answer in one word."),
                                    ("user", "Name a colour.")], max_tokens=8, temperature=0)
    assert again.text == result.text  # temperature 0 is greedy: same messages, same answer


def test_chat_logprobs_one_row_per_token_with_alternatives(ws, chat_endpoint):
    result = ws.chat(chat_endpoint, "Count: one, two,", max_tokens=6, top_logprobs=3)
    frame = result.logprobs_frame()
    assert len(frame) == result.usage.completion_tokens == len(result.logprobs)
    # A sampled token may hold part of a multi-byte character (its text is then U+FFFD, as
    # OpenAI reports it): the tokens' raw bytes, not their texts, add up to the answer.
    raw = b"".join(bytes(tok.bytes or ()) for tok in result.logprobs)
    assert raw.decode("utf-8", errors="replace") == result.text
    whole = [tok.token for tok in result.logprobs if "\ufffd" not in tok.token]
    assert all(t in result.text for t in whole)
    assert all(len(top) == 3 for top in frame["top_tokens"])
    assert all(0 < p <= 1 for p in frame["probability"])
    first = frame.iloc[0]
    assert first["top_logprobs"] == sorted(first["top_logprobs"], reverse=True)
    assert math.isclose(first["probability"], math.exp(first["logprob"]))


def test_completions(ws, chat_endpoint):
    result = ws.completions(chat_endpoint, "The capital of France is", max_tokens=3,
                            temperature=0, logprobs=True)
    assert result.kind == "completions" and result.finish_reason == "length"
    assert result.usage.completion_tokens == 3 and len(result.logprobs) == 3


def test_streaming_chat_yields_deltas_then_a_result(ws, chat_endpoint):
    pieces: list[str] = []
    stream = ws.stream_chat(chat_endpoint, "Say hello.", max_tokens=12, on_delta=pieces.append)
    streamed = list(stream)
    assert streamed == pieces and len(streamed) > 1
    result = stream.result
    assert result.text == "".join(streamed)
    assert result.finish_reason in ("stop", "length")
    assert result.usage.completion_tokens > 0
    assert 0 < result.time_to_first_token_s <= result.latency_s


def test_closing_a_stream_early_keeps_the_partial_answer(ws, chat_endpoint):
    with ws.stream_chat(chat_endpoint, "Tell me a long story.", max_tokens=64) as stream:
        first = next(iter(stream))
    assert stream.result is not None and stream.result.text == first


def test_embeddings_one_vector_per_input(ws, embed_endpoint):
    texts = ["a cat", "a dog", "quantum chromodynamics"]
    result = ws.embeddings(embed_endpoint, texts)
    assert result.dimensions == 384 and len(result.vectors) == 3
    frame = result.to_pandas()
    assert list(frame["input"]) == texts and list(frame["dimensions"]) == [384] * 3
    unit = result.normalize()
    assert unit.is_normalized and all(abs(n - 1) < 1e-6 for n in unit.norms)
    cos = sum(a * b for a, b in zip(unit.vectors[0], unit.vectors[1], strict=True))
    far = sum(a * b for a, b in zip(unit.vectors[0], unit.vectors[2], strict=True))
    assert cos > far
    assert ws.embeddings(embed_endpoint, "single").dimensions == 384


def test_unnormalised_vectors_are_pointed_out():
    raw = EmbeddingsResult("e", ("x",), ((3.0, 4.0),), Usage(), 0.1)
    assert not raw.is_normalized and "normalize()" in raw.note and "normalize()" in repr(raw)
    assert raw.normalize().vectors == ((0.6, 0.8),) and raw.normalize().note == ""


def test_query_errors_are_one_sentence(ws, chat_endpoint, embed_endpoint):
    with pytest.raises(NotFound) as info:
        ws.chat("api-no-such-endpoint", "hi")
    assert "api-no-such-endpoint" in str(info.value)
    with pytest.raises(BadRequest, match="max_tokens"):
        ws.chat(chat_endpoint, "hi", max_tokens=0)
    with pytest.raises(BadRequest, match="embeddings"):
        ws.chat(embed_endpoint, "hi")


def test_every_query_lands_in_the_session_history(ws, chat_endpoint, embed_endpoint):
    pt_widgets.clear_history()
    ws.chat(chat_endpoint, "history one", max_tokens=2)
    ws.embeddings(embed_endpoint, ["history two"])
    list(ws.stream_chat(chat_endpoint, "history three", max_tokens=2))
    with pytest.raises(NotFound):
        ws.completions("api-no-such-endpoint", "history four")
    frame = pt_widgets.query_history()
    assert list(frame["kind"]) == ["chat", "embeddings", "stream_chat", "completions"]
    assert list(frame["input"]) == ["history one", "history two", "history three",
                                    "history four"]
    assert list(frame["status"]) == ["ok", "ok", "ok", "error"]
    assert frame["latency_s"].notna().all() and frame["host"].eq(ws.host).all()


@pytest.fixture(scope="module")
def small_endpoint(ws) -> str:
    """One chunk of throughput, so a long prompt drains the bucket and the next gets a 429."""
    plan = ws.sizing_plan(CHAT_MODEL, 1)
    ws.deploy("api-small", CHAT_MODEL, 1, {"max_throughput": plan.chunk_size}, timeout=600)
    yield "api-small"
    ws.delete_endpoint("api-small")


def words_for(ws, seconds: float) -> str:
    """A prompt worth about ``seconds`` of one chunk (the chunk is measured per machine)."""
    chunk = ws.sizing_plan(CHAT_MODEL, 1).chunk_size
    return "word " * max(20, min(int(chunk * seconds), 1500))


def test_rate_limits_surface_retry_after_or_are_retried(ws, workspace, small_endpoint):
    long_prompt = words_for(ws, 2.0)
    # about two seconds of the rate spent at once (a fresh endpoint's bucket is full)
    spend_at_admission(workspace, small_endpoint, long_prompt)
    with pytest.raises(RateLimited) as info:
        ws.chat(small_endpoint, long_prompt, max_tokens=1, retry=NO_RETRY)
    assert info.value.retry_after >= 1 and "retry after" in str(info.value)
    patient = RetryPolicy(max_attempts=10, max_delay_s=30, deadline_s=60)
    assert ws.chat(small_endpoint, long_prompt, max_tokens=1, retry=patient).usage.total_tokens


def test_batch_chat_keeps_order_errors_and_retries(ws, small_endpoint):
    padding = words_for(ws, 0.5)
    prompts = [f"{padding}Repeat the number {i}." for i in range(12)]
    frame = pd.DataFrame({"id": range(12), "prompt": prompts}, index=[f"r{i}" for i in range(12)])
    seen: list[int] = []
    out = ws.batch_chat(small_endpoint, frame, max_tokens=4, temperature=0, max_workers=6,
                        progress=lambda done, total: seen.append(done))
    assert list(out.index) == list(frame.index) and list(out["prompt"]) == prompts
    assert out["error"].isna().all(), out["error"].dropna().tolist()
    assert out["response"].str.len().gt(0).all()
    assert out["attempts"].max() > 1  # one chunk of throughput: some rows met a 429 and waited
    assert sorted(seen) == list(range(1, 13))


def test_batch_keeps_per_row_errors(ws, chat_endpoint):
    out = ws.batch_chat(chat_endpoint, ["ok?", "fine?"], max_tokens=0, progress=False)
    assert out["response"].isna().all()
    assert out["error"].str.contains("max_tokens").all()


def test_batch_cancel(ws, chat_endpoint):
    cancel = threading.Event()
    cancel.set()
    out = ws.batch_chat(chat_endpoint, ["a", "b", "c"], cancel=cancel, progress=False)
    assert out["error"].str.startswith("Cancelled").all()


def test_batch_embeddings_groups_requests_in_order(ws, embed_endpoint):
    texts = pd.Series([f"sentence number {i}" for i in range(37)], name="text")
    out = ws.batch_embeddings(embed_endpoint, texts, batch_size=8, normalize=True,
                              progress=False)
    assert list(out["text"]) == list(texts) and out["error"].isna().all()
    assert out["dimensions"].eq(384).all()
    assert out["norm"].sub(1).abs().lt(1e-6).all()
    single = ws.embeddings(embed_endpoint, texts[20], normalize=True).vectors[0]
    assert max(abs(a - b) for a, b in zip(single, out["embedding"][20], strict=True)) < 1e-4


def test_batch_completions(ws, chat_endpoint):
    out = ws.batch_completions(chat_endpoint, ["1, 2, 3,", "a, b, c,"], max_tokens=2,
                               progress=False)
    assert out["finish_reason"].eq("length").all()
