"""Drive a generation engine directly with an arrival schedule tied to generation progress.

A request joins when another one has produced a given number of tokens (or ended), and some
requests are abandoned after a few tokens, as a client closing a stream does. The triggers
fire inside the engine's emit callback, so the schedule is the same on any machine, however
fast: it is counted in engine steps, never in seconds.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from pt_widgets.local.engine import Replica
from pt_widgets.local.engine.loop import GenJob, RowUpdate

PROMPTS = (
    "Hi!",
    "Name a colour.",
    "What is the capital of France?",
    "Write a short poem about the sea and the sky at night.",
    "Explain how a steam engine works, step by step, for a curious child.",
    "Summarise this: " + "Spark splits large datasets into partitions and processes them. " * 12,
)
STOPS = ((), (), (), (".",), (",", "zzz"), (" the",))


@dataclass
class Planned:
    """One request of a schedule and what it produced."""

    body: dict[str, Any]
    parent: int | None = None  # joins when this request has produced `after` tokens
    after: int = 0
    cancel_after: int | None = None  # abandoned after this many tokens
    texts: dict[int, str] = field(default_factory=dict)
    tokens: dict[int, list[str]] = field(default_factory=dict)
    logprobs: dict[int, list[float]] = field(default_factory=dict)
    tops: dict[int, list[list[float]]] = field(default_factory=dict)
    finish: dict[int, str | None] = field(default_factory=dict)
    error: BaseException | None = None
    produced: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def checked(self) -> bool:
        """Greedy and not abandoned: its rows must equal the same request run alone."""
        return self.cancel_after is None and self.body.get("temperature") == 0


def random_schedule(seed: int, size: int = 8) -> list[Planned]:
    """``size`` requests: mixed prompt lengths, n, stops, max_tokens 1, sampled and abandoned."""
    rng = random.Random(seed)
    plan: list[Planned] = []
    for i in range(size):
        body: dict[str, Any] = {
            "messages": [{"role": "user", "content": rng.choice(PROMPTS)}],
            "max_tokens": rng.choice((1, 2, 5, 8, 12, 16)),
            "temperature": 0,
            "n": rng.choice((1, 1, 2)),
            "logprobs": True,
            "top_logprobs": 2,
        }
        if stops := rng.choice(STOPS):
            body["stop"] = list(stops)
        if rng.random() < 0.2:
            body.update(temperature=0.9, top_p=0.9)
        p = Planned(body)
        if i >= 2:  # the first two arrive together; the others join mid-generation
            p.parent, p.after = rng.randrange(i), rng.randrange(5)
        if rng.random() < 0.2:
            p.cancel_after = rng.randrange(1, 4)
            body["max_tokens"] = 16
        plan.append(p)
    return plan


def run_schedule(replica: Replica, plan: list[Planned], timeout: float = 300.0) -> None:
    """Submit the plan's requests as their triggers fire; wait until every one has ended."""
    engine = replica._gen
    assert engine is not None
    lock = threading.RLock()
    fired: set[int] = set()

    def submit(i: int) -> None:
        fired.add(i)
        _, ids, params = replica._prepare_chat(plan[i].body)
        job = GenJob([ids], [params], plan[i].body.get("n", 1), lambda item: on_emit(i, job, item))
        engine.submit(job)

    def triggers(parent: int) -> None:
        p = plan[parent]
        for j, child in enumerate(plan):
            ended = p.done.is_set()
            if j not in fired and child.parent == parent and (p.produced >= child.after or ended):
                submit(j)

    def on_emit(i: int, job: GenJob, item: list[RowUpdate] | BaseException) -> None:
        p = plan[i]
        with lock:
            if isinstance(item, BaseException):
                p.error = item
            else:
                for u in item:
                    p.texts[u.index] = p.texts.get(u.index, "") + u.text
                    for e in u.logprobs or []:
                        p.tokens.setdefault(u.index, []).append(e["token"])
                        p.logprobs.setdefault(u.index, []).append(e["logprob"])
                        tops = [t["logprob"] for t in e["top_logprobs"]]
                        p.tops.setdefault(u.index, []).append(tops)
                    if u.finish_reason is not None:
                        p.finish[u.index] = u.finish_reason
                p.produced = max(len(t) for t in p.tokens.values()) if p.tokens else 0
            rows = p.body.get("n", 1)
            if p.cancel_after is not None and p.produced >= p.cancel_after:
                job.cancelled = True
            if p.error is not None or len(p.finish) == rows or job.cancelled:
                p.done.set()
            triggers(i)

    with lock:
        submit(0)
        submit(1)
    # request 0 and 1 start; every other one is fired by an earlier one, at the latest when
    # that one ends, so waiting in order sees each fire before its wait
    for i, p in enumerate(plan):
        assert p.done.wait(timeout), f"request {i} did not end"


def run_alone(replica: Replica, planned: Planned) -> Planned:
    """The same request with the engine to itself."""
    alone = Planned(dict(planned.body))
    run_schedule_single(replica, alone)
    return alone


def run_schedule_single(replica: Replica, p: Planned) -> None:
    engine = replica._gen
    assert engine is not None
    _, ids, params = replica._prepare_chat(p.body)
    n = p.body.get("n", 1)

    def emit(item: list[RowUpdate] | BaseException) -> None:
        if isinstance(item, BaseException):
            p.error = item
            p.done.set()
            return
        for u in item:
            p.texts[u.index] = p.texts.get(u.index, "") + u.text
            for e in u.logprobs or []:
                p.tokens.setdefault(u.index, []).append(e["token"])
                p.logprobs.setdefault(u.index, []).append(e["logprob"])
                p.tops.setdefault(u.index, []).append([t["logprob"] for t in e["top_logprobs"]])
            if u.finish_reason is not None:
                p.finish[u.index] = u.finish_reason
        if len(p.finish) == n:
            p.done.set()

    engine.submit(GenJob([ids], [params], n, emit))
    assert p.done.wait(300), "a lone request did not end"
