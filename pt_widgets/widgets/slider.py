"""ThroughputSlider: a provisioned-throughput range that only takes chunk multiples.

The browser works in whole chunks (an ``<input type=range>`` with step 1 chunk), so snapping
and the live capacity/cost label need no round trip; it saves the values when a thumb is
released. Python snaps anything else it is given (the chunk rule is the workspace's, see
:class:`pt_widgets.SizingPlan`) and turns the choice into a validated ``Sizing``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

import traitlets as t

from ..sizing import MODEL_UNITS as UNITS  # the scheme words live in sizing.py
from ..sizing import TOKENS_PER_SECOND as TOKENS
from ._base import Facade, Part, PtWidget, Request, declare, describe_error

if TYPE_CHECKING:  # pragma: no cover
    from ..sizing import Estimate, Sizing, SizingPlan

DEFAULT_MAX_CHUNKS = 20


class SliderPart(Part):
    scope = "slider"
    TRAITS: ClassVar = {
        "model": lambda: t.Unicode(""),
        "version": lambda: t.Unicode(""),
        "state": lambda: t.Unicode(""),  # "", "loading", "ready", "disabled"
        "scheme": lambda: t.Unicode(""),  # tokens_per_second | model_units
        "chunk_size": lambda: t.Int(0),
        "max_chunks": lambda: t.Int(DEFAULT_MAX_CHUNKS),
        "min_value": lambda: t.Int(0),  # tokens/s (tokens scheme only)
        "max_value": lambda: t.Int(0),  # tokens/s, or model units
        "scale_to_zero": lambda: t.Bool(False),
        "dbus_per_chunk": lambda: t.Float(None, allow_none=True),
        "price_per_dbu": lambda: t.Float(None, allow_none=True),
        "disabled_reason": lambda: t.Unicode("Pick a model version first."),
        "error": lambda: t.Unicode(""),
        # the local workspace bills nothing: the page labels DBU/h and cost as illustrative
        "illustrative_cost": lambda: t.Bool(False),
    }

    def setup(self) -> None:
        self._configuring = False
        self.plan: SizingPlan | None = None
        self._settled = threading.Event()
        self._settled.set()
        self.observe(self._snap, "min_value", "max_value", "scale_to_zero", "max_chunks")

    # -- configuration ----------------------------------------------------------------
    def configure(self, plan: SizingPlan | None, reason: str = "") -> None:
        """Set up the range for a plan (or disable the slider, saying why)."""
        self.plan = plan
        if plan is None or not plan.eligible:
            why = reason or (plan.reason if plan is not None else "Pick a model version first.")
            self.set(disabled_reason=why, scheme="", chunk_size=0, min_value=0, max_value=0,
                     scale_to_zero=False, model=plan.model if plan else "",
                     version=plan.version if plan else "",
                     dbus_per_chunk=plan.dbus_per_chunk if plan else None, state="disabled")
            self._settled.set()
            return
        chunk = plan.chunk_size
        max_chunks = max(self.get("max_chunks"), 4)
        if plan.scheme == UNITS:
            low, high = 0, chunk
        else:
            low, high = 2 * chunk, 4 * chunk
        self._configuring = True  # no snapping against a half-updated state
        try:
            self.set(disabled_reason="", error="", model=plan.model, version=plan.version,
                     scheme=plan.scheme, chunk_size=chunk, max_chunks=max_chunks,
                     scale_to_zero=False, min_value=low, max_value=high,
                     dbus_per_chunk=plan.dbus_per_chunk,
                     illustrative_cost=self._bills_nothing())
        finally:
            self._configuring = False
        self.set(state="ready")
        self._settled.set()

    def _bills_nothing(self) -> bool:
        """True on the local workspace, whose DBU/h and cost figures are only illustrative."""
        from ..errors import NotConfigured

        try:
            return self.workspace().is_local
        except NotConfigured:  # a plan given by hand, no workspace to ask: say nothing
            return False

    def load(self, model: str, version: int | str) -> None:
        """Fetch the model's sizing plan in the background, then :meth:`configure`."""
        ticket = self.next_generation()
        self._settled.clear()
        self.set(model=model, version=str(version), error="", state="loading")

        def run() -> None:
            from ..sizing import sizing_plan

            try:
                plan = sizing_plan(self.workspace(), model, version)
            except Exception as exc:  # noqa: BLE001 - shown in the widget
                if self.current(ticket):
                    self.set(disabled_reason=describe_error(exc), state="disabled")
                    self._settled.set()
                return
            if self.current(ticket):
                self.configure(plan)

        self.submit(run)

    # -- snapping (anything not from the browser's own snapping) ---------------------------
    def _snap(self, change: dict[str, Any]) -> None:
        chunk = self.get("chunk_size")
        if self._configuring or chunk <= 0 or self.get("state") != "ready":
            return
        top = self.get("max_chunks") * chunk
        if self.get("scheme") == UNITS:
            high = min(top, max(chunk, _nearest(self.get("max_value"), chunk)))
            fixed = {"min_value": 0, "max_value": high, "scale_to_zero": False}
        else:
            high = min(top, max(chunk, _nearest(self.get("max_value"), chunk)))
            if self.get("scale_to_zero"):
                low = 0
            else:
                low = min(high, max(chunk, _nearest(self.get("min_value"), chunk)))
            fixed = {"min_value": low, "max_value": high}
        todo = {k: v for k, v in fixed.items() if self.get(k) != v}
        if todo:
            self.set(**todo)

    # -- results ----------------------------------------------------------------------
    def sizing(self) -> Sizing:
        """The chosen range as a validated :class:`pt_widgets.Sizing`."""
        from ..errors import SizingError

        if self.plan is None:
            raise SizingError(self.get("disabled_reason") or "Pick a model version first.")
        if self.get("scheme") == UNITS:
            return self.plan.validate(model_units=self.get("max_value"))
        return self.plan.validate(self.get("max_value"), self.get("min_value"),
                                  scale_to_zero=self.get("scale_to_zero"))

    def sizing_dict(self) -> dict[str, Any]:
        """The choice as plain JSON (what the deploy panel shows and uses)."""
        if self.get("state") != "ready":
            return {}
        if self.get("scheme") == UNITS:
            return {"scheme": UNITS, "provisioned_model_units": self.get("max_value")}
        return {
            "scheme": TOKENS,
            "min_provisioned_throughput": self.get("min_value"),
            "max_provisioned_throughput": self.get("max_value"),
            "scale_to_zero_enabled": self.get("scale_to_zero"),
        }

    def estimate(self) -> Estimate:
        assert self.plan is not None, "no sizing plan yet"
        return self.plan.estimate(self.sizing(), self.get("price_per_dbu"))

    def rpc_estimate(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        """The Python side's own estimate sentence (the browser computes its live label)."""
        return {"text": self.estimate().describe()}

    def wait(self, timeout: float = 120.0) -> None:
        if not self._settled.wait(timeout):
            raise TimeoutError(f"No sizing plan for {self.get('model')} after {timeout} s.")


def _nearest(value: int, chunk: int) -> int:
    return int(round(value / chunk)) * chunk


class SliderAPI:
    """Python methods of a throughput slider (standalone widget or ``App().slider``)."""

    part: SliderPart

    @property
    def sizing(self) -> Sizing:
        """The chosen range as a validated :class:`pt_widgets.Sizing`."""
        return self.part.sizing()

    @property
    def estimate(self) -> Estimate:
        """Capacity, DBU per hour (and cost with ``price_per_dbu``) of the chosen range."""
        return self.part.estimate()

    @property
    def sizing_plan(self) -> SizingPlan | None:
        return self.part.plan

    def configure(self, plan: SizingPlan | None, reason: str = "") -> Any:
        self.part.configure(plan, reason)
        return self

    def set_range(self, max_value: int, min_value: int | None = None, *,
                  scale_to_zero: bool | None = None) -> Any:
        """Set the range in tokens/s (or model units); values snap to chunk multiples."""
        values: dict[str, Any] = {"max_value": int(max_value)}
        if min_value is not None:
            values["min_value"] = int(min_value)
        if scale_to_zero is not None:
            values["scale_to_zero"] = bool(scale_to_zero)
        self.part.set(**values)
        return self

    def wait(self, timeout: float = 120.0) -> Any:
        self.part.wait(timeout)
        return self


class SliderControls(SliderAPI, Facade):
    """``App().slider``: the slider's traits and methods inside the App."""


class ThroughputSlider(SliderAPI, PtWidget):
    """Choose provisioned throughput for one model version, in chunk multiples.

    ``ThroughputSlider(model="system.ai.smollm2_135m_instruct", version=1)`` fetches the
    model's optimization info; ``slider.sizing`` is the validated choice;
    ``slider.estimate`` its capacity and DBU (and cost, with ``price_per_dbu``) per hour.
    """

    PARTS: ClassVar = {"slider": ("", SliderPart)}
    _kind = t.Unicode("slider").tag(sync=True)
    vars().update(declare(PARTS))

    def __init__(self, model: str = "", version: int | str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if model and version:
            self.part.load(model, version)
