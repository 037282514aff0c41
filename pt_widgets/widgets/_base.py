"""What every pt_widgets widget shares: the bundle, parts, request/response messages, errors.

A widget is one ``anywidget.AnyWidget`` hosting one or more *parts* (picker, slider, deploy,
playground, endpoints). A part is the logic of one panel: it owns a set of synced traits,
declared on the host with a prefix (``""`` for a standalone widget, ``"slider_"`` inside the
App), and answers requests addressed to its scope (``"slider:..."``). So the App is a single
anywidget (it also works where only anywidgets render, e.g. marimo) and the standalone
widgets run the very same code.

Message protocol over custom messages (``model.send`` / ``msg:custom``):

* browser -> kernel ``{"ptw": "request", "id", "method": "scope:name", "params"}``
* kernel -> browser ``{"ptw": "response", "id", "ok": true, "result"}`` or
  ``{"ptw": "response", "id", "ok": false, "error": "one sentence"}`` -- always, exactly once
* kernel -> browser ``{"ptw": "event", "id" (or null), "scope", "event"}`` for streaming and
  for results of Python-initiated work
* browser -> kernel ``{"ptw": "cancel", "id"}``

Requests run on a small thread pool, never on the kernel's shell thread, so a slow workspace
never freezes the notebook; the answer is sent from the worker thread. Nothing secret is
ever put in a trait or a message: error text goes through :func:`redact`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import anywidget
import traitlets

if TYPE_CHECKING:  # pragma: no cover
    from ..workspace import Workspace

log = logging.getLogger("pt_widgets.widgets")

STATIC = Path(__file__).resolve().parent.parent / "static"
#: At most this long, a widget being displayed waits for its first data (see
#: ``PtWidget._repr_mimebundle_``); a local workspace answers in a few tens of ms.
DISPLAY_WAIT_S = 0.5
BUNDLE = STATIC / "widget.js"
STYLES = STATIC / "widget.css"


def _bundle(path: Path) -> Path | str:
    """The built file, or a stub that shows how to build it (instead of failing on import)."""
    if path.is_file():
        return path
    hint = ("The pt_widgets front end is not built: run `npm --prefix js ci && npm --prefix js "
            "run build` in the source tree (the package build does this).")
    if path.suffix == ".css":
        return "/* pt_widgets: front end not built */"
    return ("export default { render({ el }) { el.textContent = " + repr(hint) + "; } };\n")


# --------------------------------------------------------------------------- secrets

_SECRET_PATTERNS = (
    re.compile(r"dapi[0-9a-zA-Z\-]{8,}"),  # Databricks personal access tokens
    re.compile(r"(?i)(bearer\s+)[^\s'\"]+"),
    re.compile(r"(?i)((?:token|password|secret|authorization)[\"']?\s*[=:]\s*[\"']?)[^\s'\",}]+"),
)


def redact(text: Any) -> str:
    """Text with anything that looks like a credential replaced by ``[REDACTED]``."""
    out = "" if text is None else str(text)
    env_token = os.environ.get("DATABRICKS_TOKEN")
    if env_token and len(env_token) >= 8:
        out = out.replace(env_token, "[REDACTED]")
    for pattern in _SECRET_PATTERNS:
        out = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[REDACTED]", out)
    return out


def describe_error(exc: BaseException) -> str:
    """One sentence for the user: ours are already sentences; anything else gets its type."""
    from ..errors import PtWidgetsError

    if isinstance(exc, PtWidgetsError):
        text = str(exc)
    elif isinstance(exc, (ValueError, TypeError, KeyError)) and str(exc):
        text = f"{type(exc).__name__}: {exc}"
    else:
        text = f"Unexpected {type(exc).__name__}: {exc or 'no details'} (see the kernel log)."
        log.error("pt_widgets widget error\n%s", "".join(traceback.format_exception(exc)))
    return redact(text)


# --------------------------------------------------------------------------- workspace

_shared_lock = threading.Lock()
_shared_ws: Workspace | None = None


def shared_workspace() -> Workspace:
    """One ``pt_widgets.connect()`` per process for widgets built without ``workspace=``."""
    global _shared_ws
    with _shared_lock:
        if _shared_ws is None:
            from ..workspace import connect

            _shared_ws = connect()
        return _shared_ws


def reset_shared_workspace() -> None:
    """Forget the shared workspace (the next widget request connects again)."""
    global _shared_ws
    with _shared_lock:
        _shared_ws = None


# --------------------------------------------------------------------------- parts


class Request:
    """What a request handler gets besides its params: cancellation and streaming events."""

    def __init__(self, host: PtWidget, scope: str, request_id: str | None) -> None:
        self.host = host
        self.scope = scope
        self.id = request_id
        self.cancel = threading.Event()

    def emit(self, event: dict[str, Any]) -> None:
        self.host.send_event(self.scope, event, self.id)


class Part:
    """The logic of one panel, bound to a host widget and a trait prefix.

    Subclasses list their synced traits in ``TRAITS`` (factories, so each host gets fresh
    trait objects) and answer requests with ``rpc_<name>(params, request)`` methods.
    """

    scope: ClassVar[str] = ""
    TRAITS: ClassVar[dict[str, Callable[[], traitlets.TraitType]]] = {}

    def __init__(self, host: PtWidget, prefix: str) -> None:
        self.host = host
        self.prefix = prefix
        self._generation = 0
        self._gen_lock = threading.Lock()

    # -- traits ---------------------------------------------------------------------------
    def get(self, name: str) -> Any:
        return getattr(self.host, self.prefix + name)

    def set(self, **values: Any) -> None:
        """Set several traits at once (one message), safely from any thread."""
        with self.host._lock, self.host.hold_sync():
            for name, value in values.items():
                setattr(self.host, self.prefix + name, value)

    def observe(self, handler: Callable[[dict[str, Any]], Any], *names: str) -> None:
        """Observe own traits; an exception in the handler lands in the ``error`` trait."""

        def safe(change: dict[str, Any]) -> None:
            try:
                handler(change)
            except Exception as exc:  # noqa: BLE001 - shown in the widget, not swallowed
                self.fail(exc)

        self.host.observe(safe, names=[self.prefix + n for n in names])

    def fail(self, exc: BaseException | str) -> None:
        text = exc if isinstance(exc, str) else describe_error(exc)
        if "error" in self.TRAITS:
            self.set(error=redact(text))

    # -- background work ------------------------------------------------------------------
    def next_generation(self) -> int:
        """A new ticket; work started with an older ticket must not overwrite newer state."""
        with self._gen_lock:
            self._generation += 1
            return self._generation

    def current(self, ticket: int) -> bool:
        return ticket == self._generation

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` on the host's pool; an exception goes to the ``error`` trait."""

        def run() -> None:
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001 - shown in the widget
                self.fail(exc)

        self.host._pool.submit(run)

    def workspace(self) -> Workspace:
        return self.host.workspace

    def emit(self, event: dict[str, Any]) -> None:
        """An unsolicited event for this panel's views (e.g. a result computed in Python)."""
        self.host.send_event(self.scope, event, None)

    def handlers(self) -> dict[str, Callable[[dict[str, Any], Request], Any]]:
        return {name[4:]: getattr(self, name) for name in dir(self) if name.startswith("rpc_")}


class WaitsForPart:
    """``wait()`` for a panel's Python API: block until its part settles, return the panel
    (so ``picker.select(...).wait()`` chains)."""

    part: Any

    def wait(self, timeout: float = 120.0) -> Any:
        """Block until the panel's background lookup is done (raises its error, if any)."""
        self.part.wait(timeout)
        return self


class Facade:
    """A part seen from Python inside a multi-part widget: ``app.slider.max_value``.

    Trait names read and write the host's prefixed traits; ``observe`` takes the short names.
    """

    part: Part

    def __init__(self, part: Part) -> None:
        object.__setattr__(self, "part", part)

    def __getattr__(self, name: str) -> Any:
        part = object.__getattribute__(self, "part")
        if name in type(part).TRAITS:
            return part.get(name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in type(self.part).TRAITS:
            self.part.set(**{name: value})
        else:
            object.__setattr__(self, name, value)

    def observe(self, handler: Callable[[dict[str, Any]], Any], names: Any) -> None:
        names = [names] if isinstance(names, str) else list(names)
        self.part.host.observe(handler, names=[self.part.prefix + n for n in names])

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(type(self.part).TRAITS))

    def __repr__(self) -> str:
        state = ", ".join(f"{k}={self.part.get(k)!r}" for k in list(type(self.part).TRAITS)[:6])
        return f"<{type(self).__name__} {state}>"


def declare(parts: dict[str, tuple[str, type[Part]]]) -> dict[str, traitlets.TraitType]:
    """The synced traits of a host: each part's ``TRAITS`` under its prefix."""
    out: dict[str, traitlets.TraitType] = {}
    for prefix, part in parts.values():
        for name, factory in part.TRAITS.items():
            out[prefix + name] = factory().tag(sync=True)
    return out


# --------------------------------------------------------------------------- the host


def _reject_unknown(cls: type[PtWidget], kwargs: dict[str, Any]) -> None:
    """A misspelt option (``ModelPicker(modle=...)``) is a ``TypeError``, as lonboard's
    layers do, instead of being set as a stray attribute and silently doing nothing.

    Accepted: the widget's traits (its synced state, plus ipywidgets' ``layout`` & co.).
    """
    unknown = sorted(k for k in kwargs if not cls.class_traits().get(k))
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        plural = "s" if len(unknown) > 1 else ""
        raise TypeError(f"{cls.__name__}() got unexpected keyword argument{plural} {names}; "
                        f"see help({cls.__name__}) for its options.")


class PtWidget(anywidget.AnyWidget):
    """Base of all pt_widgets widgets (see the module docstring for the protocol)."""

    _esm = _bundle(BUNDLE)
    _css = _bundle(STYLES)
    _kind = traitlets.Unicode("").tag(sync=True)

    # scope -> (trait prefix, Part class); set by subclasses
    PARTS: ClassVar[dict[str, tuple[str, type[Part]]]] = {}

    def __init__(self, *, workspace: Workspace | None = None, **kwargs: Any) -> None:
        _reject_unknown(type(self), kwargs)
        self._lock = threading.RLock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pt_widgets")
        self._ws_given = workspace
        self._inflight: dict[str, Request] = {}
        super().__init__(**kwargs)
        self.parts: dict[str, Part] = {
            scope: cls(self, prefix) for scope, (prefix, cls) in self.PARTS.items()
        }
        self._handlers: dict[str, Callable[[dict[str, Any], Request], Any]] = {}
        for scope, part in self.parts.items():
            for name, fn in part.handlers().items():
                self._handlers[f"{scope}:{name}"] = fn
        self.on_msg(self._on_custom_msg)
        for part in self.parts.values():
            setup = getattr(part, "setup", None)
            if setup is not None:
                setup()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Before the notebook shows the view, give each part's first data a short moment
        (``before_display``: the picker's first pages, fetched since ``__init__``): sent
        before the display message, they are in the model when the view first renders, so
        the first catalog page appears with the App instead of one round trip later. Bounded:
        a slow workspace only delays the data, never the widget, by more than the wait."""
        deadline = time.monotonic() + DISPLAY_WAIT_S
        for part in self.parts.values():
            wait = getattr(part, "before_display", None)
            if wait is not None:
                wait(max(0.0, deadline - time.monotonic()))
        return super()._repr_mimebundle_(**kwargs)

    @property
    def part(self) -> Any:
        """The part of a one-part widget (every standalone panel; the App has several)."""
        if len(self.parts) != 1:
            raise AttributeError(f"{type(self).__name__} has {len(self.parts)} parts: use "
                                 ".parts[scope].")
        return next(iter(self.parts.values()))

    # -- workspace ----------------------------------------------------------------------
    @property
    def workspace(self) -> Workspace:
        """The workspace this widget talks to (``connect()`` on first use if none was given)."""
        return self._ws_given if self._ws_given is not None else shared_workspace()

    # -- messages -----------------------------------------------------------------------
    def _ptw_send(self, content: dict[str, Any]) -> None:
        try:
            self.send(content)
        except Exception:  # noqa: BLE001 - a closed comm must not crash a worker thread
            log.debug("pt_widgets: could not send %s", content.get("ptw"), exc_info=True)

    def send_event(self, scope: str, event: dict[str, Any], request_id: str | None) -> None:
        self._ptw_send({"ptw": "event", "id": request_id, "scope": scope, "event": event})

    def _on_custom_msg(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("ptw")
        if kind == "cancel":
            req = self._inflight.get(str(content.get("id")))
            if req is not None:
                req.cancel.set()
        elif kind == "request":
            self.handle_request(content)

    def handle_request(self, content: dict[str, Any]) -> None:
        """Answer one request on the pool (tests call this directly with a fake ``send``)."""
        request_id = str(content.get("id", ""))
        method = str(content.get("method", ""))
        params = content.get("params") or {}
        scope = method.split(":", 1)[0]
        req = Request(self, scope, request_id)
        handler = self._handlers.get(method)
        if handler is None:
            self._reply(request_id, error=f"Unknown request {method!r} (widget and front end "
                                          "versions differ? re-run the cell).")
            return
        self._inflight[request_id] = req

        def run() -> None:
            try:
                result = handler(params if isinstance(params, dict) else {}, req)
            except Exception as exc:  # noqa: BLE001 - the answer carries it
                self._reply(request_id, error=describe_error(exc))
            else:
                self._reply(request_id, result=result)
            finally:
                self._inflight.pop(request_id, None)

        try:
            self._pool.submit(run)
        except RuntimeError:  # pool shut down: the widget was closed
            self._inflight.pop(request_id, None)
            self._reply(request_id, error="This widget was closed; re-run the cell.")

    def _reply(self, request_id: str, *, result: Any = None, error: str | None = None) -> None:
        if error is not None:
            self._ptw_send({"ptw": "response", "id": request_id, "ok": False, "error": error})
        else:
            self._ptw_send({"ptw": "response", "id": request_id, "ok": True, "result": result})

    def close(self) -> None:
        for req in list(getattr(self, "_inflight", {}).values()):
            req.cancel.set()
        for part in getattr(self, "parts", {}).values():
            closing = getattr(part, "teardown", None)
            if closing is not None:
                closing()
        if hasattr(self, "_pool"):
            self._pool.shutdown(wait=False, cancel_futures=True)
        super().close()
