"""MonitorPanel: one endpoint watched live (delivered tokens/s against its provisioned band,
the current rate, 429s, latency p50/p95) from its metrics export.

The polling is a :class:`pt_widgets.monitor.Monitor` thread, and it runs only while someone
can see it: each view of the panel reports ``visibility`` (on screen and the tab visible, or
not; a removed view reports hidden), and the kernel polls while at least one view is visible.
From Python, ``panel.start()`` polls regardless of views and ``panel.stop()`` stops until
``start()`` again; ``panel.close()`` stops for good. Each new interval goes to the views as one
``row`` event (small); a view that renders asks for the current window (``window``).
``panel.frame`` is the window as a DataFrame.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

import traitlets as t

from ._adapters import endpoint_items
from ._base import Facade, Part, PtWidget, Request, declare

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..monitor import Monitor

MAX_WINDOW_ROWS = 600  # what one "window" answer carries at most (a few hundred KB)


class MonitorPart(Part):
    scope = "monitor"
    TRAITS: ClassVar = {
        "endpoint": lambda: t.Unicode(""),
        "interval_s": lambda: t.Float(2.0),
        "window_s": lambda: t.Float(300.0),
        "status": lambda: t.Unicode("idle"),  # idle paused watching stopped error
        "error": lambda: t.Unicode(""),
    }

    def setup(self) -> None:
        self.monitor: Monitor | None = None
        self._views: set[str] = set()
        self._forced = False  # panel.start(): poll with no view visible
        self._stopped = False  # panel.stop(): do not poll until start()
        self._closed = False
        self._state_lock = threading.RLock()
        self.observe(self._on_config, "endpoint", "interval_s", "window_s")
        self.reconcile()  # the status of the traits the widget was built with

    # -- when to poll -----------------------------------------------------------------------
    def _wanted(self) -> bool:
        return (bool(self.get("endpoint")) and not self._closed and not self._stopped
                and (self._forced or bool(self._views)))

    def _config(self) -> tuple[str, float, float]:
        return self.get("endpoint"), float(self.get("interval_s")), float(self.get("window_s"))

    def reconcile(self) -> None:
        """Start, keep or stop the polling thread to match the views, the form and Python."""
        with self._state_lock:
            wanted, current = self._wanted(), self.monitor
            same = current is not None and (current.endpoint, current.interval_s,
                                            current.window_s) == self._config()
            if current is not None and (not wanted or not same):
                current.stop()
            if wanted:
                if not same:
                    self.monitor = self._new_monitor()
                    self.emit({"type": "reset"})
                if self.monitor is not None:
                    self._start(self.monitor)
            self.set(status=self._status())

    def _start(self, monitor: Monitor) -> None:
        before = monitor.future
        monitor.start()
        if monitor.future is not before and monitor.future is not None:
            # the status follows a thread that ends by itself (the endpoint was deleted)
            monitor.future.add_done_callback(lambda _: self._after_thread())

    def _status(self) -> str:
        if self._stopped:
            return "stopped"
        if not self.get("endpoint"):
            return "idle"
        if not self._wanted():
            return "paused"
        if self.monitor is not None and self.monitor.running:
            return "watching"
        return "error" if self.get("error") else "paused"

    def _new_monitor(self) -> Monitor | None:
        from ..errors import ValidationError
        from ..monitor import Monitor

        endpoint, interval_s, window_s = self._config()
        try:
            monitor = Monitor(self.workspace(), endpoint, interval_s=interval_s,
                              window_s=window_s, on_row=self._on_row, on_error=self._on_error)
        except ValidationError as exc:
            self.fail(exc)
            return None
        self.set(error="")
        return monitor

    def _on_config(self, change: dict[str, Any]) -> None:
        self.reconcile()

    # -- what the thread reports ------------------------------------------------------------
    def _on_row(self, row: dict[str, Any]) -> None:
        self.emit({"type": "row", "row": row})

    def _on_error(self, error: str) -> None:
        if error:
            self.fail(error)
        else:
            self.set(error="")

    def _after_thread(self) -> None:
        with self._state_lock:
            self.set(status=self._status())

    # -- requests from the views --------------------------------------------------------------
    def rpc_visibility(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        view = str(params.get("view") or "")
        with self._state_lock:
            if params.get("visible"):
                self._views.add(view)
            else:
                self._views.discard(view)
        self.reconcile()
        return {"status": self.get("status")}

    def rpc_window(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        rows = self.monitor.rows if self.monitor is not None else []
        return {"rows": rows[-MAX_WINDOW_ROWS:]}

    def rpc_endpoints(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        return {"items": endpoint_items(self.workspace())}

    # -- Python -------------------------------------------------------------------------------
    def set_polling(self, on: bool) -> None:
        """Python's word: poll whatever the views say (``on``), or not until asked again."""
        with self._state_lock:
            self._stopped, self._forced = not on, on
        self.reconcile()

    def teardown(self) -> None:
        with self._state_lock:
            self._closed = True
            if self.monitor is not None:
                self.monitor.stop()


class MonitorAPI:
    """Python methods of a monitor panel."""

    part: MonitorPart

    def start(self) -> Any:
        """Poll now, whether or not a view is on screen (until :meth:`stop`)."""
        return self._poll(True)

    def stop(self) -> None:
        """Stop polling (the page's views no longer restart it; :meth:`start` does)."""
        self._poll(False)

    def _poll(self, on: bool) -> Any:
        self.part.set_polling(on)
        return self

    @property
    def monitor(self) -> Monitor | None:
        """The :class:`~pt_widgets.monitor.Monitor` behind the panel (``.future``, ``.wait()``)."""
        return self.part.monitor

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [] if self.part.monitor is None else self.part.monitor.rows

    @property
    def frame(self) -> pd.DataFrame:
        """The window: one row per interval (delivered tokens/s, 429s, latency p50/p95…)."""
        from ..monitor import rows_frame

        return rows_frame(self.rows)


class MonitorControls(MonitorAPI, Facade):
    """``App().monitor``: the monitor inside the App."""


class MonitorPanel(MonitorAPI, PtWidget):
    """Watch an endpoint live: delivered tokens/s against its provisioned min/max and current
    rate, 429s, latency p50/p95, over the last ``window_s`` seconds.

    ``MonitorPanel(endpoint="my-endpoint", interval_s=2, window_s=300)``; it polls the
    endpoint's metrics while the panel is on screen, ``panel.stop()`` / ``panel.close()``
    stop it. ``panel.frame`` is the window as a DataFrame.
    """

    # endpoint=, interval_s=, window_s= are its traits: set before the part starts
    PARTS: ClassVar = {"monitor": ("", MonitorPart)}
    _kind = t.Unicode("monitor").tag(sync=True)
    vars().update(declare(PARTS))
