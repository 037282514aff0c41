"""ComparePanel: the same prompts to two to four endpoints, answers side by side as they stream.

Targets (endpoint + optional temperature/max tokens) and the common parameters are synced
traits; the prompts travel in the ``run`` request. The run happens on a background thread
(``pt_widgets.compare_endpoints``) and every view hears it as events of this panel's scope:
``start``, ``delta`` (streamed text, batched every 50 ms per cell), ``cell`` (a finished
answer with its latency, tokens, TTFT and mean logprob) and ``done``. Events are small; a
view that comes late (or a page reload) fetches the table page by page with ``page``, so no
message nears a host's size cap (Databricks: 5 MB). In Python: ``panel.run(prompts)`` returns
the DataFrame; ``panel.result``, ``panel.summary``, ``panel.wide``.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

import traitlets as t

from ..errors import ValidationError
from ..transport import in_background
from ._adapters import endpoint_items
from ._base import Facade, Part, PtWidget, Request, declare, describe_error, redact

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Future

    import pandas as pd

MAX_PROMPTS = 50  # in the widget; the Python function takes any number
MAX_TEXT = 8_000  # characters of one answer shown in the browser (a page stays < 1 MB)
PAGE_ROWS = 25
DELTA_INTERVAL_S = 0.05


def _clip(text: Any, limit: int = MAX_TEXT) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def target_dicts(targets: Any) -> list[dict[str, Any]]:
    """Targets as the synced JSON: ``{"endpoint", "temperature", "max_tokens", "label"}``."""
    from ..compare import Target, _target_from

    out = []
    for item in ([targets] if isinstance(targets, str) else list(targets or [])):
        target = item if isinstance(item, Target) else _target_from(item)
        extra = {k: v for k, v in target.params.items() if k not in ("temperature",
                                                                      "max_tokens")}
        if extra:
            raise ValidationError(f"The Compare panel sets temperature and max_tokens per "
                                  f"endpoint, not {', '.join(sorted(extra))}; use "
                                  "pt_widgets.compare_endpoints() for more.")
        out.append({"endpoint": target.endpoint,
                    "temperature": target.params.get("temperature"),
                    "max_tokens": target.params.get("max_tokens"),
                    "label": target.label})
    return out


class ComparePart(Part):
    scope = "compare"
    TRAITS: ClassVar = {
        "targets": lambda: t.List(t.Dict(), []),
        "system_prompt": lambda: t.Unicode(""),
        "max_tokens": lambda: t.Int(64),
        "temperature": lambda: t.Float(0.2),
        "logprobs": lambda: t.Bool(True),
        "status": lambda: t.Unicode("idle"),  # idle running done stopped error
        "progress": lambda: t.Unicode(""),
        "error": lambda: t.Unicode(""),
    }

    def setup(self) -> None:
        self.frame: pd.DataFrame | None = None
        self._state: dict[str, Any] = {"prompts": [], "targets": [], "kinds": [], "cells": {}}
        self._cancel = threading.Event()
        self._future: Future[None] | None = None
        self._run_lock = threading.RLock()  # re-entrant: a status observer runs under it
        self._done = threading.Event()
        self._done.set()
        self._error: BaseException | None = None

    # -- endpoints ----------------------------------------------------------------------
    def rpc_endpoints(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        return {"items": endpoint_items(self.workspace())}

    # -- running ------------------------------------------------------------------------
    def _targets(self) -> list[Any]:
        from ..compare import Target, make_targets

        raw = []
        for item in self.get("targets") or []:
            endpoint = str(item.get("endpoint") or "").strip()
            if not endpoint:
                continue
            params = {}
            if item.get("temperature") not in (None, ""):
                params["temperature"] = float(item["temperature"])
            if item.get("max_tokens") not in (None, ""):
                params["max_tokens"] = int(item["max_tokens"])
            raw.append(Target(endpoint, str(item.get("label") or ""), None, params))
        if not raw:
            raise ValidationError("Choose the endpoints to compare first (two to four).")
        return make_targets(raw)

    def begin(self, prompts: Any, column: str | None = None) -> None:
        """Start a comparison on a background thread (one at a time)."""
        from ..compare import _prompts_from

        with self._run_lock:
            if not self._done.is_set():
                raise ValidationError("A comparison is already running; stop it first.")
            targets = self._targets()
            texts = _prompts_from(prompts, column)
            self._cancel = threading.Event()
            self._done.clear()
            self._error = None
            self.set(status="running", error="", progress=f"0 of {len(texts) * len(targets)}")
        self._future = in_background(self._run, targets, texts, name="pt-compare-panel")

    def _run(self, targets: list[Any], texts: list[str]) -> None:
        from ..compare import compare_endpoints, compare_summary

        pending: dict[tuple[int, int], list[str]] = {}
        last_sent: dict[tuple[int, int], float] = {}
        lock = threading.Lock()
        finished = 0

        def on_event(event: dict[str, Any]) -> None:
            nonlocal finished
            kind = event["type"]
            if kind == "start":
                self._state = {"prompts": list(event["prompts"]), "targets": event["targets"],
                               "kinds": event["kinds"], "cells": {}}
                self.emit({"type": "start", "prompts": [_clip(p, 2000) for p in
                                                        event["prompts"][:PAGE_ROWS]],
                           "total": len(event["prompts"]), "targets": event["targets"],
                           "kinds": event["kinds"]})
            elif kind == "delta":
                key = (event["row"], event["target"])
                with lock:
                    pending.setdefault(key, []).append(event["text"])
                    now = time.monotonic()
                    if now - last_sent.get(key, 0.0) < DELTA_INTERVAL_S:
                        return
                    last_sent[key] = now
                    text = "".join(pending.pop(key, []))
                self.emit({"type": "delta", "row": key[0], "target": key[1], "text": text})
            elif kind == "cell":
                key = (event["row"], event["target"])
                cell = {k: _jsonable(v) for k, v in event["cell"].items()}
                if cell.get("error"):
                    cell["error"] = redact(cell["error"])
                with lock:
                    pending.pop(key, None)
                    self._state["cells"][key] = cell
                    finished += 1
                    done = finished
                total = len(self._state["prompts"]) * len(self._state["targets"])
                self.set(progress=f"{done} of {total}")
                self.emit({"type": "cell", "row": key[0], "target": key[1],
                           "cell": {**cell, "answer": _clip(cell.get("answer"))}})

        try:
            frame = compare_endpoints(
                self.workspace(), targets, texts,
                system=self.get("system_prompt") or None, max_tokens=int(self.get("max_tokens")),
                temperature=float(self.get("temperature")), logprobs=bool(self.get("logprobs")),
                cancel=self._cancel, on_event=on_event)
            self.frame = frame
            status = "stopped" if self._cancel.is_set() else "done"
            self._finish({"type": "done", "status": status,
                          "summary": _records(compare_summary(frame))}, status=status)
        except Exception as exc:  # noqa: BLE001 - shown in the panel, raised by wait()
            self._error = exc
            self._finish({"type": "done", "status": "error", "summary": []}, status="error",
                         error=describe_error(exc))
        finally:
            self._done.set()

    def _finish(self, event: dict[str, Any], **traits: Any) -> None:
        """End a run in one observable order: the "done" event, the terminal status, then
        ``wait()`` returns. Whoever sees the status has heard the event, and whoever returns
        from ``wait()`` sees the status; held under the run lock, so a ``begin`` from another
        thread that saw the status waits for the end instead of finding the run still on."""
        with self._run_lock:
            self.emit(event)
            self.set(**traits)
            self._done.set()

    def teardown(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> pd.DataFrame:
        if not self._done.wait(timeout):
            raise TimeoutError(f"The comparison is still running after {timeout} s.")
        if self._error is not None:
            raise self._error
        assert self.frame is not None
        return self.frame

    def stop(self) -> None:
        self._cancel.set()

    def rpc_run(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        prompts = [str(p) for p in params.get("prompts") or [] if str(p).strip()]
        if not prompts:
            raise ValidationError("Write a prompt first.")
        if len(prompts) > MAX_PROMPTS:
            raise ValidationError(f"Compare at most {MAX_PROMPTS} prompts here (got "
                                  f"{len(prompts)}); use pt_widgets.compare_endpoints() for more.")
        self.begin(prompts)
        return {"started": True}

    def rpc_stop(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        self.stop()
        return {"stopping": not self._done.is_set()}

    def rpc_page(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        """Rows ``offset``… of the current table (prompts with their cells), paged."""
        offset = max(0, int(params.get("offset") or 0))
        limit = max(1, min(PAGE_ROWS, int(params.get("limit") or PAGE_ROWS)))
        state = self._state
        prompts = state["prompts"]
        rows = []
        for i in range(offset, min(len(prompts), offset + limit)):
            cells = []
            for j in range(len(state["targets"])):
                cell = state["cells"].get((i, j))
                cells.append({**cell, "answer": _clip(cell.get("answer"))} if cell else None)
            rows.append({"row": i, "prompt": _clip(prompts[i], 2000), "cells": cells})
        return {"targets": state["targets"], "kinds": state["kinds"], "total": len(prompts),
                "offset": offset, "rows": rows, "status": self.get("status")}


def _records(frame: Any) -> list[dict[str, Any]]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]


class CompareAPI:
    """Python methods of a Compare panel."""

    part: ComparePart

    def run(self, prompts: Any, column: str | None = None, *, targets: Any = None,
            timeout: float | None = None) -> pd.DataFrame:
        """Compare now and return the DataFrame (the panel shows the answers streaming).

        ``prompts``: one prompt, a list, a Series or a DataFrame (``column``). ``targets``
        replaces the panel's targets (names or dicts with ``endpoint``/``temperature``/
        ``max_tokens``).
        """
        self.start(prompts, column, targets=targets)
        try:
            return self.part.wait(timeout)
        except KeyboardInterrupt:
            self.part.stop()
            return self.part.wait()

    def start(self, prompts: Any, column: str | None = None, *, targets: Any = None) -> Any:
        """Start comparing in the background (``.wait()``, ``.stop()``); returns the panel."""
        if targets is not None:
            self.part.set(targets=target_dicts(targets))
        self.part.begin(prompts, column)
        return self

    def wait(self, timeout: float | None = None) -> pd.DataFrame:
        return self.part.wait(timeout)

    def stop(self) -> None:
        """Stop sending prompts (answers already streaming are cut short)."""
        self.part.stop()

    def set_targets(self, targets: Any) -> Any:
        """The endpoints to compare: names, or dicts with ``endpoint`` and ``temperature``."""
        self.part.set(targets=target_dicts(targets))
        return self

    @property
    def result(self) -> pd.DataFrame | None:
        """The last comparison: one row per (prompt, target)."""
        return self.part.frame

    @property
    def summary(self) -> pd.DataFrame | None:
        """One row per target: mean latency, TTFT, tokens, logprob; errors."""
        from ..compare import compare_summary

        return None if self.part.frame is None else compare_summary(self.part.frame)

    @property
    def wide(self) -> pd.DataFrame | None:
        """The targets side by side, one row per prompt."""
        from ..compare import compare_wide

        return None if self.part.frame is None else compare_wide(self.part.frame)


class CompareControls(CompareAPI, Facade):
    """``App().compare``: the Compare panel inside the App."""


class ComparePanel(CompareAPI, PtWidget):
    """Send one prompt (or a few) to two to four endpoints; answers side by side, streaming.

    ``ComparePanel(["ep-a", "ep-b"])`` or, one model at two temperatures,
    ``ComparePanel([{"endpoint": "ep", "temperature": 0}, {"endpoint": "ep",
    "temperature": 1}])``; then type a prompt and Run, or ``panel.run("Hi")`` → DataFrame.
    """

    PARTS: ClassVar = {"compare": ("", ComparePart)}
    _kind = t.Unicode("compare").tag(sync=True)
    vars().update(declare(PARTS))

    def __init__(self, targets: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if targets is not None:
            self.targets = target_dicts(targets)
        elif not self.targets:
            self.targets = [{"endpoint": "", "temperature": None, "max_tokens": None,
                             "label": ""} for _ in range(2)]

    @property
    def part(self) -> ComparePart:  # type: ignore[override]
        return self.parts["compare"]  # type: ignore[return-value]
