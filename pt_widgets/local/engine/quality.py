"""How close a generation engine stays to the torch fp32 reference on the same weights.

The llama.cpp engine runs the 4-bit GGUF with llama.cpp's CPU kernels, which quantise each
activation vector to 8 bits before the dot products with 4-bit weights; torch runs the same
4-bit weights de-quantised to fp32 in fp32 arithmetic. The token ids fed are identical (both
engines get the prompt the replica tokenised), so any difference is arithmetic. This module
measures it on greedy continuations of a fixed prompt set:

* **agreement** (the gate): the share of the candidate's greedy tokens that fp32, fed the
  same prefix (teacher-forced), also ranks first. Each step is judged on its own context,
  so one near-tie that flips costs that one token, not the rest of the sequence.
* **prefix agreement** (reported): tokens equal to fp32's own greedy continuation up to the
  first divergence, over the compared positions (the longer of the two sequences; ending is
  a position, so two sequences that end together at the same token agree fully). Strict:
  after a flipped near-tie the two texts differ, so everything after counts as disagreement.
* **mean |delta logprob|**: over the candidate's tokens, the candidate's reported logprob
  against fp32's logprob of the same token on the same prefix.

The pure computation is :func:`score`; :func:`greedy_run` and :func:`teacher_forced` produce
its inputs from a running engine and a torch model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .loop import GenerationEngine, run_alone
from .replica import Replica
from .validation import SamplingParams

#: The gate (issue 12): an engine serves the chat model by default only if it passes.
MIN_AGREEMENT = 0.90
MAX_MEAN_ABS_DELTA = 0.1

#: A fixed, small set of short chat prompts (the quickstart's question first).
PROMPTS = (
    "What is the capital of France?",
    "What is Apache Spark?",
    "Write a haiku about the sea.",
    "Give me three tips for writing clean Python code.",
    "Why is the sky blue?",
    "Summarise the plot of Hamlet in two sentences.",
    "What does a data engineer do?",
    "Explain what a vector database is.",
    "Name a few uses of machine learning in retail.",
    "How many days are there in a leap year?",
)
NEW_TOKENS = 32
END = -1  # stands for "ended here" in a token sequence


@dataclass(frozen=True)
class GreedyRun:
    """One greedy continuation: generated ids, their logprobs, and whether it ended (EOS)."""

    tokens: tuple[int, ...]
    logprobs: tuple[float, ...]
    ended: bool

    def with_end(self) -> tuple[int, ...]:
        return (*self.tokens, END) if self.ended else self.tokens


@dataclass(frozen=True)
class Quality:
    """The figures of one candidate engine against fp32 (see the module docstring)."""

    agreement: float
    prefix_agreement: float
    mean_abs_delta: float
    tokens: int  # candidate tokens compared
    first_divergence: tuple[int | None, ...]  # per prompt: index of the first differing token

    @property
    def passes(self) -> bool:
        return self.agreement >= MIN_AGREEMENT and self.mean_abs_delta <= MAX_MEAN_ABS_DELTA

    def line(self) -> str:
        return (
            f"token agreement {self.agreement:.1%} (prefix {self.prefix_agreement:.1%}), "
            f"mean |delta logprob| {self.mean_abs_delta:.3f} over {self.tokens} tokens: "
            f"{'passes' if self.passes else 'fails'} (>= {MIN_AGREEMENT:.0%}, "
            f"<= {MAX_MEAN_ABS_DELTA})"
        )


def first_divergence(a: Sequence[int], b: Sequence[int]) -> int | None:
    """Index of the first position where the sequences differ (None when equal)."""
    for k, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return k
    return None if len(a) == len(b) else min(len(a), len(b))


def score(
    reference: Sequence[GreedyRun],
    candidate: Sequence[GreedyRun],
    reference_logp: Sequence[torch.Tensor],
) -> Quality:
    """The candidate's figures against fp32.

    ``reference_logp[i]`` holds fp32's log-softmax rows teacher-forced over prompt ``i``'s
    candidate tokens: row ``k`` is the distribution the candidate's token ``k`` was chosen
    from (``[len(tokens), vocab]``).
    """
    agree = compared = prefix = positions = 0
    deltas: list[float] = []
    firsts: list[int | None] = []
    for ref, cand, logp in zip(reference, candidate, reference_logp, strict=True):
        argmax = logp.argmax(dim=-1).tolist()
        for k, tok in enumerate(cand.tokens):
            agree += argmax[k] == tok
            deltas.append(abs(float(logp[k, tok]) - cand.logprobs[k]))
        compared += len(cand.tokens)
        a, b = ref.with_end(), cand.with_end()
        k = first_divergence(a, b)
        firsts.append(k)
        prefix += len(a) if k is None else k
        positions += max(len(a), len(b))
    return Quality(
        agreement=agree / max(1, compared),
        prefix_agreement=prefix / max(1, positions),
        mean_abs_delta=sum(deltas) / max(1, len(deltas)),
        tokens=compared,
        first_divergence=tuple(firsts),
    )


def teacher_forced(model: Any, prompt: Sequence[int], run: GreedyRun) -> torch.Tensor:
    """fp32 log-softmax rows for each of the run's tokens, from one uncached forward pass."""
    ids = torch.tensor([[*prompt, *run.tokens]])
    with torch.inference_mode():
        logits = model(input_ids=ids, use_cache=False).logits[0].float()
    start = len(prompt) - 1
    return torch.log_softmax(logits[start : start + len(run.tokens)], dim=-1)


def greedy_run(
    engine: GenerationEngine, prompt: Sequence[int], max_tokens: int = NEW_TOKENS
) -> GreedyRun:
    """One greedy continuation served by the engine alone (a lone row: deterministic)."""
    params = SamplingParams(max_tokens=max_tokens, temperature=0.0, logprobs=True)
    updates = run_alone(engine, list(prompt), params, timeout=600)
    tokens = tuple(t for u in updates for t in u.tokens)
    logprobs = tuple(e["logprob"] for u in updates for e in (u.logprobs or []))
    return GreedyRun(tokens, logprobs, ended=updates[-1].finish_reason == "stop")


def compare(
    model: Any,
    reference: GenerationEngine,
    candidate: GenerationEngine,
    prompts: Sequence[Sequence[int]],
    max_tokens: int = NEW_TOKENS,
) -> Quality:
    """Greedy runs of both engines on each prompt, scored against fp32 ``model``."""
    refs = [greedy_run(reference, p, max_tokens) for p in prompts]
    cands = [greedy_run(candidate, p, max_tokens) for p in prompts]
    logps = [teacher_forced(model, p, c) for p, c in zip(prompts, cands, strict=True)]
    return score(refs, cands, logps)


def chat_prompt_ids(replica: Replica, prompts: Sequence[str] = PROMPTS) -> list[list[int]]:
    """The token ids the replica feeds its engine for each prompt as a one-message chat."""
    return [replica._prepare_chat({"messages": [{"role": "user", "content": p}]})[1]
            for p in prompts]  # fmt: skip


def compare_replicas(
    reference: Replica,
    candidate: Replica,
    prompts: Sequence[str] = PROMPTS,
    max_tokens: int = NEW_TOKENS,
) -> Quality:
    """:func:`compare` for two replicas of one model; ``reference`` must run on torch.

    Both must feed their engines the same ids (same chat template, special tokens parsed as
    specials, one BOS): otherwise the comparison would measure the prompts, not the engines.
    """
    ids = chat_prompt_ids(reference, prompts)
    if ids != chat_prompt_ids(candidate, prompts):
        raise ValueError("The two replicas build different prompt token ids.")
    ref, cand = reference._gen, candidate._gen
    if ref is None or cand is None or not hasattr(ref, "model"):
        raise ValueError("compare_replicas needs a running torch reference and a candidate.")
    return compare(ref.model, ref, cand, ids, max_tokens)
