"""Batch invariance: a greedy row's tokens do not depend on what else shares the batch.

Random arrival schedules (rows joining and leaving at different steps, prompts of different
lengths, ``n`` > 1, stop strings, ``max_tokens`` 1, sampled neighbours, abandoned streams),
seeded and bounded. Every greedy row that was not abandoned must equal the same request run
alone, on both engines: torch (fp32; the cache surgery of joining and leaving rows is what is
under test) and llama.cpp (one KV cache shared by all sequences; each row's attention only
sees its own cells, and the matrix kernels compute each row independently of the others).
Logprobs agree within a tolerance: a different batch size may change the summation order.
"""

from __future__ import annotations

import pytest

from pt_widgets.local.engine import Replica

from .schedule import Planned, random_schedule, run_alone, run_schedule

LOGPROB_TOLERANCE = {"torch": 1e-3, "llama.cpp": 0.05}


def _compare(engine: str, i: int, batched: Planned, alone: Planned) -> None:
    assert batched.error is None and alone.error is None, (batched.error, alone.error)
    for row in range(batched.body.get("n", 1)):
        where = f"{engine}: request {i} row {row} ({batched.body})"
        assert batched.tokens.get(row, []) == alone.tokens.get(0, []), where
        assert batched.texts.get(row, "") == alone.texts.get(0, ""), where
        assert batched.finish[row] == alone.finish[0], where
        for a, b in zip(batched.logprobs.get(row, []), alone.logprobs.get(0, []), strict=True):
            assert a == pytest.approx(b, abs=LOGPROB_TOLERANCE[engine]), where


@pytest.mark.parametrize("seed", [1, 2])
def test_greedy_rows_equal_their_solo_run(engine_replica: Replica, seed: int) -> None:
    plan = random_schedule(seed)
    steps = engine_replica.stats["batched_steps"]
    run_schedule(engine_replica, plan)
    assert engine_replica.stats["batched_steps"] > steps  # rows really shared steps
    checked = [(i, p) for i, p in enumerate(plan) if p.checked]
    assert len(checked) >= 4
    for p in plan:
        if not p.checked and p.cancel_after is None:  # sampled rows: well-formed
            assert p.error is None and len(p.finish) == p.body.get("n", 1)
    for i, p in checked:
        _compare(engine_replica.engine, i, p, run_alone(engine_replica, p))
    assert engine_replica._gen is not None and engine_replica._gen.active_rows == 0
