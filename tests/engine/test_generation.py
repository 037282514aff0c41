"""Chat and completions on the real SmolLM2-135M-Instruct (GGUF, converted once and cached)."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from pt_widgets.local.engine import Replica, inspect_source, load_replica, measure_throughput
from pt_widgets.local.engine.sources import gguf_cache_path
from pt_widgets.local.errors import ApiError

from ..support import wait_until
from .helpers import CACHE_DIR, greedy, run, smol_source, user


def test_inspect_reads_gguf_header_without_loading() -> None:
    info = inspect_source(smol_source())
    assert info["model_type"] == "llama"
    assert info["architectures"] == ["LlamaForCausalLM"]
    assert info["native_context_length"] == 8192
    assert info["context_length"] == 2048


def test_load_reports_progress(smol: Replica, smol_logs: list[str]) -> None:
    assert smol.task == "llm/v1/chat"
    assert smol.model_type == "llama"
    assert smol.context_length == 2048
    assert any(line.startswith("Loaded 134.5M parameters in") for line in smol_logs)
    assert any(f"on {smol.engine}" in line for line in smol_logs)
    assert any("context length 2048" in line for line in smol_logs)


def test_greedy_is_deterministic_and_well_formed(smol: Replica) -> None:
    body = greedy("What is Apache Spark?", max_tokens=12)
    a = run(smol.chat(body))
    b = run(smol.chat(body))
    assert a["choices"][0]["message"] == b["choices"][0]["message"]
    assert "Spark" in a["choices"][0]["message"]["content"]
    assert a["object"] == "chat.completion"
    assert a["id"].startswith("chatcmpl_") and a["id"] != b["id"]
    assert abs(a["created"] - time.time()) < 60
    assert a["model"] == "smollm2"
    choice = a["choices"][0]
    assert choice["index"] == 0 and choice["logprobs"] is None
    assert choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == "length"
    u = a["usage"]
    assert u["completion_tokens"] == 12
    assert u["prompt_tokens"] == smol.prompt_tokens(body)
    assert u["total_tokens"] == u["prompt_tokens"] + 12


def test_subnormal_temperature_with_top_k_samples_like_greedy(smol: Replica) -> None:
    """Found by fuzzing: logits / 1e-45 overflowed to inf and the softmax gave NaN (a 500)."""
    body = greedy("What is Apache Spark?", max_tokens=6)
    expected = run(smol.chat(body))["choices"][0]["message"]
    tiny = run(smol.chat({**body, "temperature": 1e-45, "top_k": 238}))
    assert tiny["choices"][0]["message"] == expected


def test_concurrent_requests_share_a_batch_and_match_solo_output(smol_torch: Replica) -> None:
    """Four prompts of different lengths: batched (left padding) == one at a time."""
    prompts = ["Hi!", "Name a colour.", "What is the capital of France?", "Count to five."]
    solo = [run(smol_torch.chat(greedy(p, 10)))["choices"][0]["message"]["content"]
            for p in prompts]
    steps_before = smol_torch.stats["batched_steps"]
    # the engine keeps a running maximum; measure this call's own (the worker is idle now)
    smol_torch.stats["max_batch_size"] = 0

    async def together() -> list[dict]:
        return await asyncio.gather(*(smol_torch.chat(greedy(p, 10)) for p in prompts))

    batched = [r["choices"][0]["message"]["content"] for r in run(together())]
    assert smol_torch.stats["max_batch_size"] == 4  # all four in one step, never more
    assert smol_torch.stats["batched_steps"] > steps_before
    assert batched == solo


def test_late_request_joins_running_batch(smol: Replica) -> None:
    """Continuous batching: a request sent while another streams is answered before it ends.

    Ordered by events, not by the clock: the short request is sent once the long one has
    streamed its first token (so it is running), and the two then advance in the same decode
    steps, so the short one (6 tokens) ends first on a machine of any speed as long as the
    long one has more than 6 tokens left (checked: it runs to its 160-token limit).
    """
    solo = run(smol.chat(greedy("Name a colour.", 6)))["choices"][0]["message"]["content"]

    async def staggered() -> tuple[list[str], str, dict]:
        finished: list[str] = []
        first_token = asyncio.Event()
        last: dict = {}

        async def long() -> None:
            body = greedy("Write a long story about a dragon who learns to code.", 160,
                          stream=True)
            async for chunk in smol.chat_stream(body):
                if chunk["choices"][0]["delta"].get("content"):
                    first_token.set()
                last.update(chunk)
            finished.append("long")

        task = asyncio.ensure_future(long())
        await first_token.wait()
        short = await smol.chat(greedy("Name a colour.", 6))
        finished.append("short")
        await task
        return finished, short["choices"][0]["message"]["content"], last

    order, text, last = run(staggered())
    assert last["choices"][0]["finish_reason"] == "length"
    assert last["usage"]["completion_tokens"] == 160
    assert order == ["short", "long"]
    assert text == solo


def test_logprobs_are_real_and_consistent(smol: Replica) -> None:
    body = greedy("Say hello.", 8, logprobs=True, top_logprobs=3)
    r = run(smol.chat(body))
    content = r["choices"][0]["logprobs"]["content"]
    assert len(content) == r["usage"]["completion_tokens"]
    assert "".join(e["token"] for e in content).startswith(r["choices"][0]["message"]["content"])
    for e in content:
        assert e["logprob"] <= 0 and math.isfinite(e["logprob"])
        assert bytes(e["bytes"]).decode("utf-8", "replace") == e["token"]
        tops = e["top_logprobs"]
        assert len(tops) == 3
        values = [t["logprob"] for t in tops]
        assert values == sorted(values, reverse=True)
        assert all(v <= 0 for v in values)
        assert tops[0]["token"] == e["token"]  # greedy picks the most likely token
        assert tops[0]["logprob"] == pytest.approx(e["logprob"], abs=1e-5)
    no_top = run(smol.chat(greedy("Say hello.", 3, logprobs=True)))
    assert all(e["top_logprobs"] == [] for e in no_top["choices"][0]["logprobs"]["content"])


def test_stop_string_ends_text_before_it(smol: Replica) -> None:
    full = run(smol.chat(greedy("What is Apache Spark?", 16)))["choices"][0]["message"]["content"]
    words = full.split(" ")
    stop = " " + words[4]
    r = run(smol.chat(greedy("What is Apache Spark?", 16, stop=[stop, "zzzz"])))
    choice = r["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == full[: full.index(stop)]
    assert r["usage"]["completion_tokens"] < 16


def test_eos_gives_stop(smol_torch: Replica) -> None:
    r = run(smol_torch.chat(greedy("What is the capital of France?", 20)))
    assert r["choices"][0]["message"]["content"] == "The capital of France is Paris."
    assert r["choices"][0]["finish_reason"] == "stop"
    assert r["usage"]["completion_tokens"] == 7  # EOS itself is not counted


def test_n_choices_with_sampling(smol: Replica) -> None:
    body = {"messages": user("Write a word."), "max_tokens": 5, "n": 2, "temperature": 1.0}
    r = run(smol.chat(body))
    assert [c["index"] for c in r["choices"]] == [0, 1]
    assert r["usage"]["prompt_tokens"] == smol.prompt_tokens(body)
    tokens = r["usage"]["completion_tokens"]
    assert 2 <= tokens <= 10
    assert all(c["finish_reason"] in ("stop", "length") for c in r["choices"])


def test_sampling_params_mix_in_one_batch(smol_torch: Replica) -> None:
    """Greedy, top-p and top-k rows in one batch; the greedy row is unaffected by the others."""
    solo = run(smol_torch.chat(greedy("Name a fruit.", 8)))["choices"][0]["message"]["content"]
    bodies = [
        greedy("Name a fruit.", 8),
        {"messages": user("Name a fruit."), "max_tokens": 8, "temperature": 1.5, "top_p": 0.5},
        {"messages": user("Name a fruit."), "max_tokens": 3, "temperature": 0.7, "top_k": 5},
    ]

    async def together() -> list[dict]:
        return await asyncio.gather(*(smol_torch.chat(b) for b in bodies))

    rs = run(together())
    assert rs[0]["choices"][0]["message"]["content"] == solo
    assert rs[2]["usage"]["completion_tokens"] <= 3


def test_chat_stream_reassembles_to_non_stream_text(smol: Replica) -> None:
    body = greedy("What is Apache Spark?", 14, logprobs=True)
    full = run(smol.chat(body))

    async def collect() -> list[dict]:
        return [c async for c in smol.chat_stream(dict(body, stream=True))]

    chunks = run(collect())
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == full["choices"][0]["message"]["content"]
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "length"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert chunks[-1]["usage"] == full["usage"]
    streamed_lp = [e for c in chunks[1:] for e in c["choices"][0]["logprobs"]["content"]]
    assert [e["token"] for e in streamed_lp] == [
        e["token"] for e in full["choices"][0]["logprobs"]["content"]
    ]


def test_abandoned_stream_frees_its_batch_rows(smol: Replica) -> None:
    async def consume_two() -> None:
        gen = smol.chat_stream(greedy("Tell me a long story.", 200, stream=True))
        async for i, _ in _aenumerate(gen):
            if i == 2:
                break
        await gen.aclose()

    run(consume_two())
    # the worker drops the rows at its next step: wait for that state, not for a time
    wait_until(lambda: smol._gen is not None and smol._gen.active_rows == 0, 120,
               interval=0.02, what="the abandoned stream's rows to be freed")


async def _aenumerate(gen):  # type: ignore[no-untyped-def]
    i = 0
    async for x in gen:
        yield i, x
        i += 1


def test_completions_multi_prompt_and_stream(smol: Replica) -> None:
    body = {"prompt": ["The capital of France is", "1, 2, 3,"], "max_tokens": 6, "temperature": 0}
    r = run(smol.completions(dict(body, n=2)))
    assert r["object"] == "text_completion" and r["id"].startswith("cmpl_")
    assert [c["index"] for c in r["choices"]] == [0, 1, 2, 3]
    texts = [c["text"] for c in r["choices"]]
    assert texts[0] == texts[1] and texts[2] == texts[3]  # greedy: n copies agree
    assert r["usage"]["prompt_tokens"] == smol.prompt_tokens(body)

    async def collect() -> list[dict]:
        return [c async for c in smol.completions_stream(dict(body, stream=True))]

    chunks = run(collect())
    by_index: dict[int, str] = {}
    for c in chunks:
        ch = c["choices"][0]
        by_index[ch["index"]] = by_index.get(ch["index"], "") + ch["text"]
    assert by_index == {0: texts[0], 1: texts[2]}


def test_completions_logprobs_legacy_integer(smol: Replica) -> None:
    r = run(smol.completions({"prompt": "Hello", "max_tokens": 3, "temperature": 0, "logprobs": 2}))
    content = r["choices"][0]["logprobs"]["content"]
    assert len(content) == r["usage"]["completion_tokens"]
    assert all(len(e["top_logprobs"]) == 2 for e in content)


def test_context_length_is_enforced(smol: Replica) -> None:
    body = greedy("Hello there", 2040)
    n = smol.prompt_tokens({"messages": user("Hello there")})
    with pytest.raises(ApiError) as err:
        run(smol.chat(body))
    assert err.value.status == 400 and err.value.error_code == "INVALID_PARAMETER_VALUE"
    msg = err.value.message
    assert "2048" in msg and f"{n} in the prompt" in msg and "2040 in 'max_tokens'" in msg
    long_prompt = "word " * 2100
    with pytest.raises(ApiError, match="context length is 2048"):
        smol.prompt_tokens({"messages": user(long_prompt)})


def test_wrong_task_is_rejected(smol: Replica) -> None:
    with pytest.raises(ApiError, match="does not accept embeddings"):
        run(smol.embeddings({"input": "hi"}))


def test_system_prompt_applied_once(smol: Replica) -> None:
    sp = "You are a pirate. Answer like one."
    pirate = Replica(
        smol_source(system_prompt=sp),
        smol.context_length,
        smol.model_type,
        tokenizer=smol.tokenizer,
        generator=smol._gen,
    )
    rendered = pirate.render_chat(user("Hello"))
    assert rendered.count(sp) == 1
    assert "named SmolLM" not in rendered  # the template's own default is replaced
    own = pirate.render_chat([{"role": "system", "content": "Be brief."}, *user("Hello")])
    assert sp not in own and own.count("Be brief.") == 1
    base = smol.prompt_tokens({"messages": user("Hello")})
    assert pirate.prompt_tokens({"messages": user("Hello")}) != base
    r = run(pirate.chat(greedy("Hello", 4)))
    assert r["usage"]["prompt_tokens"] == pirate.prompt_tokens({"messages": user("Hello")})


def test_hf_directory_source_matches_gguf(smol_torch: Replica) -> None:
    """kind="hf": the converted cache is a plain save_pretrained dir; same greedy output."""
    from pt_widgets.local.engine import ModelSource

    path = gguf_cache_path(smol_source(), CACHE_DIR)
    src = ModelSource("hf", path, "llm/v1/completions", display_name="smol-hf")
    assert inspect_source(src)["model_type"] == "llama"
    hf = load_replica(src, CACHE_DIR)
    try:
        body = {"prompt": "The capital of France is", "max_tokens": 5, "temperature": 0}
        a = run(hf.completions(body))["choices"][0]["text"]
        b = run(smol_torch.completions(body))["choices"][0]["text"]
        assert a == b
    finally:
        hf.close()
    with pytest.raises(ApiError) as err:
        run(hf.completions(body))
    assert err.value.status == 503


def test_measure_throughput(smol: Replica) -> None:
    """A positive figure from a real load through the engine (no floor: any machine speed)."""
    generated_before = smol.stats["generated_tokens"]
    tps = measure_throughput(smol, seconds=3.0)
    assert math.isfinite(tps) and tps > 0
    assert smol.stats["generated_tokens"] > generated_before  # the load ran through the engine
