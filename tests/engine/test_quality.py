"""The llama.cpp engine stays close to torch fp32 on the same GGUF (the gate of issue 12).

Greedy continuations of ``quality.PROMPTS`` (32 new tokens each) served by each engine;
llama.cpp's tokens teacher-forced through fp32. Measured on this machine: per-step agreement
~97 %, mean |delta logprob| ~0.04, prefix agreement ~60 % (a flipped near-tie, such as the
quickstart's "The"/"L" at 0.08 nats apart, makes the rest of that answer differ).
"""

from __future__ import annotations

import torch

from pt_widgets.local.engine import Replica, quality
from pt_widgets.local.engine.quality import GreedyRun, first_divergence, score


def test_llama_cpp_passes_the_quality_gate(smol_torch: Replica, smol_llama: Replica) -> None:
    q = quality.compare_replicas(smol_torch, smol_llama)
    assert q.tokens >= len(quality.PROMPTS) * 8
    assert q.agreement >= quality.MIN_AGREEMENT, q.line()
    assert q.mean_abs_delta <= quality.MAX_MEAN_ABS_DELTA, q.line()
    assert q.passes
    assert 0 < q.prefix_agreement <= 1


def test_both_engines_are_fed_the_same_prompt_ids(smol_torch: Replica, smol_llama: Replica):
    ids = quality.chat_prompt_ids(smol_torch, ["What is the capital of France?"])[0]
    assert ids == quality.chat_prompt_ids(smol_llama, ["What is the capital of France?"])[0]
    assert ids.count(smol_torch.tokenizer.convert_tokens_to_ids("<|im_start|>")) == 3  # parsed
    assert ids[0] != ids[1]  # one BOS/<|im_start|>, not two


def _logp(rows: list[dict[int, float]], vocab: int = 8) -> torch.Tensor:
    out = torch.full((len(rows), vocab), -20.0)
    for k, row in enumerate(rows):
        for tok, lp in row.items():
            out[k, tok] = lp
    return out


def test_score_definitions() -> None:
    ref = [GreedyRun((1, 2, 3), (-0.1, -0.2, -0.3), ended=True), GreedyRun((4, 5), (0, 0), False)]
    cand = [GreedyRun((1, 2, 3), (-0.2, -0.2, -0.3), ended=True), GreedyRun((4, 6), (0, -1), False)]
    # fp32 teacher-forced on the candidate's tokens: it prefers 5 over 6 at the second step
    logps = [_logp([{1: -0.1}, {2: -0.2}, {3: -0.3}]), _logp([{4: 0.0}, {5: -0.5, 6: -0.9}])]
    q = score(ref, cand, logps)
    assert q.agreement == 4 / 5  # one of five candidate tokens is not fp32's argmax
    assert q.prefix_agreement == (4 + 1) / (4 + 2)  # the end counts as a position
    assert abs(q.mean_abs_delta - (0.1 + 0.1) / 5) < 1e-6
    assert q.first_divergence == (None, 1)
    assert not q.passes


def test_first_divergence() -> None:
    assert first_divergence([1, 2], [1, 2]) is None
    assert first_divergence([1, 2], [1, 3]) == 1
    assert first_divergence([1, 2], [1, 2, 3]) == 2
