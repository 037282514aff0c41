"""A row whose logits come out non-finite fails its own request; the others go on.

The fault is injected after the real model's output layer (rows whose last input token is
the poison token get NaN logits), in a separate engine over the same weights.
"""

from __future__ import annotations

import asyncio

import torch

from pt_widgets.local.engine import Replica
from pt_widgets.local.engine.generation import TorchEngine
from pt_widgets.local.engine.loading import eos_token_ids
from pt_widgets.local.engine.sampling import nonfinite_rows
from pt_widgets.local.errors import ApiError

from .helpers import run

POISONED = "Tell me about zebras"
HEALTHY = "The capital of France is"


def test_nonfinite_rows_are_found() -> None:
    inf, nan = float("inf"), float("nan")
    logits = torch.tensor(
        [[0.0, 5.0, 1.0], [nan, 1.0, 2.0], [1.0, inf, 0.0], [-inf, -inf, -inf], [-inf, 0.0, 1.0]]
    )
    assert nonfinite_rows(logits) == [1, 2, 3]  # a partly -inf row is a real distribution


def test_a_nonfinite_row_fails_only_its_request(smol_torch: Replica) -> None:
    assert smol_torch._gen is not None
    model, tok = smol_torch._gen.model, smol_torch.tokenizer
    poison = tok(POISONED, add_special_tokens=True)["input_ids"][-1]
    last_ids: list[torch.Tensor] = []

    def remember(module, args, kwargs):  # type: ignore[no-untyped-def]
        last_ids.append(kwargs["input_ids"][:, -1])

    def corrupt(module, args, out):  # type: ignore[no-untyped-def]
        rows = last_ids.pop() == poison
        out[rows] = float("nan")
        return out

    engine = TorchEngine(model, tok, eos_token_ids(model, tok), name="poisoned")
    replica = Replica(smol_torch.source, smol_torch.context_length, smol_torch.model_type,
                      tokenizer=tok, generator=engine)  # fmt: skip
    healthy = {"prompt": HEALTHY, "max_tokens": 6, "temperature": 0}
    expected = run(replica.completions(healthy))["choices"][0]["text"]
    hooks = [model.register_forward_pre_hook(remember, with_kwargs=True),
             model.lm_head.register_forward_hook(corrupt)]  # fmt: skip
    try:

        async def both() -> list:
            bad = {"prompt": POISONED, "max_tokens": 6, "temperature": 0.7, "n": 2}
            return await asyncio.gather(
                replica.completions(bad), replica.completions(healthy), return_exceptions=True
            )

        failed, served = run(both())
    finally:
        for h in hooks:
            h.remove()
        replica.close()
    assert isinstance(failed, ApiError), failed
    assert failed.status == 500 and "non-finite logits" in failed.message
    assert not isinstance(served, BaseException), served
    assert served["choices"][0]["text"] == expected
    assert engine.stats["failed_rows"] == 2

