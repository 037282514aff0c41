"""Compare endpoints side by side: the same prompts to two to four targets, one table back.

``compare_endpoints(ws, targets, prompts)`` (also ``pt_widgets.compare_endpoints``).

A *target* is an endpoint plus the parameters to ask it with, so one endpoint can be compared
with itself (``[{"endpoint": "ep", "temperature": 0}, {"endpoint": "ep", "temperature": 1}]``).
Every prompt goes to every target; the cells run concurrently (by default one worker per
target, so the targets answer side by side) and each answer comes back with its latency,
token counts, time to first token (chat answers stream) and mean log-probability (chat and
completions). A failed cell keeps its one-sentence error as a value; the others go on.

``on_event`` sees the answers arrive: ``{"type": "delta", "row", "target", "text"}`` while a
chat streams and ``{"type": "cell", "row", "target", "cell"}`` when a cell is done; the
Compare widget shows exactly these.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import Cancelled, PtWidgetsError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .workspace import Workspace

__all__ = [
    "MAX_TARGETS",
    "COLUMNS",
    "Target",
    "make_targets",
    "compare_endpoints",
    "compare_wide",
    "compare_summary",
    "mean_logprob",
]

MAX_TARGETS = 4
KINDS = ("chat", "completions", "embeddings")
#: the parameters a target may set (anything else is refused in one sentence)
TARGET_PARAMS = ("temperature", "max_tokens", "top_p", "top_k", "stop", "system")
COLUMNS = ["prompt_index", "prompt", "target", "endpoint", "kind", "temperature", "max_tokens",
           "answer", "finish_reason", "prompt_tokens", "completion_tokens", "total_tokens",
           "latency_s", "ttft_s", "mean_logprob", "error"]
EventHandler = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Target:
    """One column of a comparison: an endpoint and how to ask it.

    ``kind`` is ``chat``, ``completions`` or ``embeddings`` (``None``: read from the
    endpoint's task). ``params`` override the comparison's common parameters for this target
    (``temperature``, ``max_tokens``, ``top_p``, ``top_k``, ``stop``, ``system``).
    """

    endpoint: str
    label: str = ""
    kind: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return self.label or self.endpoint


def _target_from(item: Any) -> Target:
    if isinstance(item, Target):
        return item
    if isinstance(item, str):
        return Target(item)
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], dict):
        return _target_from({"endpoint": item[0], **item[1]})
    if isinstance(item, dict):
        data = dict(item)
        endpoint = str(data.pop("endpoint", "") or "")
        label = str(data.pop("label", "") or "")
        kind = data.pop("kind", None)
        params = dict(data.pop("params", None) or {})
        params.update({k: v for k, v in data.items() if v is not None and v != ""})
        unknown = sorted(set(params) - set(TARGET_PARAMS))
        if unknown:
            raise ValidationError(f"A compare target cannot set {', '.join(unknown)}; use "
                                  f"{', '.join(TARGET_PARAMS)}.")
        return Target(endpoint, label, str(kind) if kind else None, params)
    raise ValidationError(f"A compare target is an endpoint name or a dict with 'endpoint', "
                          f"not {type(item).__name__}.")


def _param_label(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in params.items() if k != "system")


def make_targets(targets: Iterable[Any]) -> list[Target]:
    """Targets from names, dicts or :class:`Target`; labels made unique and readable.

    An endpoint used twice is labelled with the parameters that differ, e.g.
    ``ep (temperature=0)`` and ``ep (temperature=1)``.
    """
    out = [_target_from(t) for t in ([targets] if isinstance(targets, str) else targets)]
    if not out:
        raise ValidationError("Compare needs at least one endpoint (two to four side by side).")
    if len(out) > MAX_TARGETS:
        raise ValidationError(f"Compare at most {MAX_TARGETS} targets at once (got {len(out)}).")
    for t in out:
        if not t.endpoint:
            raise ValidationError("Every compare target needs an endpoint name.")
        if t.kind is not None and t.kind not in KINDS:
            raise ValidationError(f"Target kind {t.kind!r} is not one of {', '.join(KINDS)}.")
    labels: list[str] = []
    for i, t in enumerate(out):
        label = t.label
        if not label:
            same = sum(1 for u in out if u.endpoint == t.endpoint)
            extra = _param_label(t.params) if same > 1 else ""
            label = f"{t.endpoint} ({extra})" if extra else t.endpoint
        base, n = label, 1
        while label in labels:
            n += 1
            label = f"{base} #{n}"
        labels.append(label)
        out[i] = Target(t.endpoint, label, t.kind, dict(t.params))
    return out


def _prompts_from(prompts: Any, column: str | None) -> list[str]:
    """Prompts from a string, a list, a Series or a DataFrame column."""
    if isinstance(prompts, str):
        texts = [prompts]
    else:
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is a dependency
            pd = None  # type: ignore[assignment]
        if pd is not None and isinstance(prompts, (pd.DataFrame, pd.Series)):
            from .batch import _column

            texts, _, _ = _column(prompts, column)
        else:
            texts = [str(p) for p in prompts]
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise ValidationError("Give at least one prompt to compare.")
    return texts


def mean_logprob(tokens: Sequence[Any]) -> float | None:
    """The mean log-probability of the generated tokens (``None`` without logprobs)."""
    values = [t.logprob for t in tokens if t.logprob is not None and math.isfinite(t.logprob)]
    return sum(values) / len(values) if values else None


def _task_kind(ws: Workspace, endpoint: str) -> str:
    from .endpoints import get_endpoint

    task = (get_endpoint(ws, endpoint).task or "").lower()
    for kind in KINDS:
        if task.endswith(kind):
            return kind
    return "chat"  # a custom model without a task: most of them take chat messages


@dataclass
class _Cell:
    row: int
    col: int
    values: dict[str, Any]


def _run_cell(ws: Workspace, target: Target, kind: str, prompt: str, common: dict[str, Any],
              logprobs: bool, stream: bool, timeout: float | None,
              cancel: threading.Event | None,
              on_delta: Callable[[str], Any] | None) -> dict[str, Any]:
    """Ask one target one prompt; the row values (errors are values, never raised)."""
    from .queries import chat, completions, embeddings, stream_chat

    params = {**common, **target.params}
    system = params.pop("system", None)
    values: dict[str, Any] = {
        "temperature": params.get("temperature"), "max_tokens": params.get("max_tokens"),
        "answer": None, "finish_reason": None, "prompt_tokens": None,
        "completion_tokens": None, "total_tokens": None, "latency_s": None, "ttft_s": None,
        "mean_logprob": None, "error": None,
    }
    params = {k: v for k, v in params.items() if v is not None}
    started = time.perf_counter()
    try:
        if cancel is not None and cancel.is_set():
            raise Cancelled("Cancelled before this prompt was sent.")
        if kind == "embeddings":
            result: Any = embeddings(ws, target.endpoint, prompt, timeout=timeout, cancel=cancel)
            vector = result.vectors[0] if result.vectors else ()
            head = ", ".join(f"{x:.3f}" for x in vector[:4])
            values.update(answer=f"{len(vector)}-dim vector [{head}, …]",
                          prompt_tokens=result.usage.prompt_tokens,
                          total_tokens=result.usage.total_tokens,
                          latency_s=result.latency_s, temperature=None, max_tokens=None)
            return values
        gen = {k: v for k, v in params.items() if k in ("temperature", "max_tokens", "top_p",
                                                          "top_k", "stop")}
        if kind == "completions":
            result = completions(ws, target.endpoint, prompt, logprobs=logprobs,
                                 timeout=timeout, cancel=cancel, **gen)
        elif stream:
            with stream_chat(ws, target.endpoint, prompt, system=system, logprobs=logprobs,
                             timeout=timeout, cancel=cancel, on_delta=on_delta,
                             **gen) as s:
                result = s.read()
            if s.error is not None:
                raise s.error
            if cancel is not None and cancel.is_set():
                raise Cancelled("Cancelled while the answer was streaming.")
        else:
            result = chat(ws, target.endpoint, prompt, system=system, logprobs=logprobs,
                          timeout=timeout, cancel=cancel, **gen)
        usage = result.usage
        values.update(answer=result.text, finish_reason=result.finish_reason,
                      prompt_tokens=usage.prompt_tokens,
                      completion_tokens=usage.completion_tokens,
                      total_tokens=usage.total_tokens, latency_s=result.latency_s,
                      ttft_s=result.time_to_first_token_s,
                      mean_logprob=mean_logprob(result.logprobs))
    except Exception as exc:  # noqa: BLE001 - one cell's failure is that cell's value
        values.update(error=_sentence(exc), latency_s=time.perf_counter() - started)
    return values


def _sentence(exc: BaseException) -> str:
    if isinstance(exc, PtWidgetsError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def compare_endpoints(
    ws: Workspace,
    targets: Iterable[Any],
    prompts: Any,
    column: str | None = None,
    *,
    system: str | None = None,
    max_tokens: int | None = 64,
    temperature: float | None = None,
    logprobs: bool = True,
    stream: bool = True,
    max_workers: int | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    on_event: EventHandler | None = None,
) -> pd.DataFrame:
    """Send every prompt to every target; one row per (prompt, target), in order.

    ``targets`` are two to four endpoint names, dicts (``{"endpoint": "ep", "temperature":
    1.0, "label": "hot"}``) or :class:`Target`; ``prompts`` is one prompt, a list, a Series
    or a DataFrame (``column`` names the prompt column, default its only column or
    ``prompt``/``text``). ``system``, ``max_tokens`` and ``temperature`` apply to every
    target unless the target sets its own. Chat answers stream (``stream``), which gives the
    time to first token; ``logprobs`` adds each answer's mean token log-probability.

    Returns a DataFrame with :data:`COLUMNS` (``answer``, ``latency_s``, token counts,
    ``ttft_s``, ``mean_logprob``, ``error``...); ``compare_wide(df)`` puts the targets side
    by side and ``compare_summary(df)`` gives one row per target. ``cancel`` stops sending
    (unsent cells get a "Cancelled" error); ``on_event`` sees answers as they arrive.
    """
    import pandas as pd

    chosen = make_targets(targets)
    texts = _prompts_from(prompts, column)
    if max_workers is not None and max_workers < 1:
        raise ValidationError(f"max_workers must be at least 1, not {max_workers}.")
    kinds = [t.kind or _task_kind(ws, t.endpoint) for t in chosen]
    common = {"max_tokens": max_tokens, "temperature": temperature, "system": system}
    cells = [(i, j) for i in range(len(texts)) for j in range(len(chosen))]
    if on_event is not None:
        on_event({"type": "start", "prompts": texts, "targets": [t.label for t in chosen],
                  "kinds": kinds, "cells": len(cells)})
    results: dict[tuple[int, int], dict[str, Any]] = {}
    lock = threading.Lock()

    def run(cell: tuple[int, int]) -> None:
        row, col = cell
        target = chosen[col]
        on_delta = None
        if on_event is not None:
            def on_delta(text: str, row: int = row, col: int = col) -> None:
                on_event({"type": "delta", "row": row, "target": col, "text": text})
        values = _run_cell(ws, target, kinds[col], texts[row], common, logprobs, stream,
                           timeout, cancel, on_delta)
        with lock:
            results[cell] = values
        if on_event is not None:
            on_event({"type": "cell", "row": row, "target": col, "cell": values})

    workers = max_workers or len(chosen)
    with ThreadPoolExecutor(max_workers=min(workers, len(cells)),
                            thread_name_prefix="pt-compare") as pool:
        for future in [pool.submit(run, c) for c in cells]:
            future.result()

    rows = []
    for row, col in cells:
        target = chosen[col]
        rows.append({"prompt_index": row, "prompt": texts[row], "target": target.label,
                     "endpoint": target.endpoint, "kind": kinds[col], **results[(row, col)]})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.attrs["targets"] = [t.label for t in chosen]
    return frame


def compare_wide(frame: pd.DataFrame, values: Sequence[str] = ("answer", "latency_s",
                                                                "completion_tokens",
                                                                "mean_logprob")) -> pd.DataFrame:
    """The targets side by side: one row per prompt, columns ``(value, target)``."""
    order = list(frame.attrs.get("targets") or dict.fromkeys(frame["target"]))
    wide = frame.pivot(index=["prompt_index", "prompt"], columns="target", values=list(values))
    return wide.reindex(columns=[(v, t) for v in values for t in order])


def compare_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per target: answers, errors, mean latency / TTFT / tokens / logprob."""
    import pandas as pd

    order = list(frame.attrs.get("targets") or dict.fromkeys(frame["target"]))
    rows = []
    for label in order:
        part = frame[frame["target"] == label]
        ok = part[part["error"].isna()]

        def mean(col: str, data: pd.DataFrame = ok) -> float | None:
            series = pd.to_numeric(data[col], errors="coerce").dropna()
            return float(series.mean()) if len(series) else None

        rows.append({
            "target": label, "endpoint": part["endpoint"].iloc[0] if len(part) else "",
            "answers": len(ok), "errors": int(part["error"].notna().sum()),
            "mean_latency_s": mean("latency_s"), "mean_ttft_s": mean("ttft_s"),
            "mean_completion_tokens": mean("completion_tokens"),
            "mean_logprob": mean("mean_logprob"),
        })
    return pd.DataFrame(rows)
