"""Sampling draws from the distribution it is asked for (no model needed: fixed logits rows).

A seeded generator makes every draw reproducible, so the frequencies are fixed numbers and
the tolerance (five standard errors) is a property of the code, not luck."""

from __future__ import annotations

import math

import torch

from pt_widgets.local.engine.sampling import sample
from pt_widgets.local.engine.validation import SamplingParams

DRAWS = 20_000


def frequencies(logits: list[float], params: SamplingParams, rows: int = 8) -> list[float]:
    """Token frequencies over ``DRAWS`` draws, ``rows`` identical rows per step."""
    gen = torch.Generator().manual_seed(1234)
    batch = torch.tensor([logits] * rows, dtype=torch.float32)
    counts = torch.zeros(len(logits))
    for _ in range(DRAWS // rows):
        counts += torch.bincount(sample(batch, [params] * rows, gen), minlength=len(logits))
    return (counts / counts.sum()).tolist()


def assert_close(seen: list[float], expected: list[float]) -> None:
    for got, p in zip(seen, expected, strict=True):
        tolerance = 5 * math.sqrt(max(p * (1 - p), 1e-9) / DRAWS)
        assert abs(got - p) <= tolerance, (seen, expected)


def test_temperature_sampling_follows_the_softmax():
    logits = [2.0, 1.0, 0.0, -1.0, float("-inf")]
    temperature = 0.7
    expected = torch.softmax(torch.tensor(logits) / temperature, dim=0).tolist()
    seen = frequencies(logits, SamplingParams(temperature=temperature))
    assert_close(seen, expected)
    assert seen[-1] == 0.0  # a masked token is never drawn


def test_top_k_and_top_p_renormalise_what_they_keep():
    logits = [2.0, 1.5, 1.0, 0.0]
    kept = torch.softmax(torch.tensor(logits[:2]), dim=0).tolist()
    assert_close(frequencies(logits, SamplingParams(temperature=1.0, top_k=2)), kept + [0, 0])
    # top_p: the smallest prefix of the sorted distribution whose mass reaches p
    probs = torch.softmax(torch.tensor(logits), dim=0).tolist()
    p = probs[0] + probs[1] / 2  # inside the second token's mass: keeps two tokens
    assert_close(frequencies(logits, SamplingParams(temperature=1.0, top_p=p)), kept + [0, 0])


def test_greedy_rows_take_the_argmax_beside_sampled_rows():
    gen = torch.Generator().manual_seed(0)
    batch = torch.tensor([[0.0, 3.0, 1.0], [0.0, 3.0, 1.0]])
    tokens = sample(batch, [SamplingParams(temperature=0.0), SamplingParams(temperature=5.0)],
                    gen)
    assert tokens[0].item() == 1
