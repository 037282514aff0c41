"""App: the four steps in one widget, connected in Python.

Pick a model -> the slider is set up for it (or disabled, saying why) -> the chosen sizing
goes to the deploy panel -> a ready endpoint enables the playground. It is one anywidget
(all five parts behind prefixed traits), so it renders wherever anywidgets render.
"""

from __future__ import annotations

from typing import Any, ClassVar

import traitlets as t

from ._base import Part, PtWidget, declare
from .compare import CompareControls, ComparePart
from .deploy import DeployControls, DeployPart
from .endpoints_table import EndpointsControls, EndpointsPart
from .external import ExternalControls, ExternalPart
from .governance import GovernanceControls, GovernancePart
from .loadtest import LoadTestControls, LoadTestPart
from .monitor import MonitorControls, MonitorPart
from .picker import PickerControls, PickerPart
from .playground import PlaygroundControls, PlaygroundPart
from .rollout import RolloutControls, RolloutPart, connect_playground, connect_rollout
from .slider import SliderControls, SliderPart

NO_ENDPOINT = "Deploy an endpoint (step 3), or pick a ready one in the endpoints list."


def connect_parts(picker: PickerPart | None = None, slider: SliderPart | None = None,
         deploy: DeployPart | None = None, playground: PlaygroundPart | None = None,
         endpoints: EndpointsPart | None = None) -> None:
    """Connect parts: picker -> slider -> deploy -> playground (and endpoints -> playground)."""
    if picker is not None and slider is not None:
        def on_info(change: dict[str, Any]) -> None:
            state = picker.get("info_state")
            if state == "ready":
                slider.configure(picker.plan)
            elif state == "loading":
                slider.set(model=picker.get("model"), version=picker.get("version"),
                           disabled_reason="Looking up the model's provisioned throughput…",
                           state="loading")
            elif state == "error":
                slider.configure(None, reason=picker.get("error"))
            else:
                slider.configure(None)

        picker.observe(on_info, "info_state")

    if slider is not None and deploy is not None:
        def on_sizing(change: dict[str, Any]) -> None:
            reason = "" if slider.get("state") == "ready" else slider.get("disabled_reason")
            deploy.configure(slider.get("model"), slider.get("version"), slider.sizing_dict(),
                             reason=reason)

        slider.observe(on_sizing, "state", "min_value", "max_value", "scale_to_zero",
                       "scheme", "model", "version", "disabled_reason")

    if deploy is not None and (playground is not None or endpoints is not None):
        def on_status(change: dict[str, Any]) -> None:
            status = deploy.get("status")
            if status == "ready" and playground is not None:
                playground.set(endpoint=deploy.get("endpoint"), disabled_reason="")
                playground.use_task(deploy.get("endpoint_task"))
            if endpoints is not None and status in ("deploying", "ready", "failed") and (
                    status != "deploying" or change.get("old") != "deploying"):
                endpoints.refresh()

        deploy.observe(on_status, "status")

    if endpoints is not None and playground is not None:
        def on_selected(change: dict[str, Any]) -> None:
            if change["new"]:
                playground.set(endpoint=change["new"], disabled_reason="")

        endpoints.observe(on_selected, "selected")


def connect_ready_endpoint(deploy: DeployPart, compare: ComparePart | None = None,
                           loadtest: LoadTestPart | None = None,
                           monitor: MonitorPart | None = None) -> None:
    """A newly ready endpoint becomes the load test's and the monitor's target and the first
    compare target."""

    def on_status(change: dict[str, Any]) -> None:
        if deploy.get("status") != "ready" or not deploy.get("endpoint"):
            return
        name = deploy.get("endpoint")
        if monitor is not None:
            monitor.set(endpoint=name)
        if loadtest is not None and loadtest.get("status") not in ("running", "stopping"):
            loadtest.set(endpoint=name)
        if compare is not None and compare.get("status") != "running":
            targets = [dict(t) for t in compare.get("targets") or []]
            if not any(t.get("endpoint") == name for t in targets):
                empty = next((t for t in targets if not t.get("endpoint")), None)
                if empty is not None:
                    empty.update(endpoint=name, label="")
                elif len(targets) < 4:
                    targets.append({"endpoint": name, "temperature": None, "max_tokens": None,
                                    "label": ""})
                compare.set(targets=targets)

    deploy.observe(on_status, "status")


def connect_governance(playground: PlaygroundPart, external: ExternalPart,
                       governance: GovernancePart, endpoints: EndpointsPart | None = None) -> None:
    """A ready external model opens in the playground; the playground's endpoint is the one
    the "Govern" section governs."""

    def on_external(change: dict[str, Any]) -> None:
        if external.get("status") == "ready" and external.get("endpoint"):
            playground.set(endpoint=external.get("endpoint"), disabled_reason="")
            playground.use_task(external.get("endpoint_task"))
            if endpoints is not None:
                endpoints.refresh()

    external.observe(on_external, "status")
    playground.observe(lambda change: governance.set(endpoint=change["new"] or ""), "endpoint")


def link(picker: Any = None, slider: Any = None, deploy: Any = None, playground: Any = None,
         endpoints: Any = None) -> None:
    """Connect standalone widgets like the App does: ``link(picker, slider, deploy)``."""

    def part(widget: Any) -> Part | None:
        return None if widget is None else widget.part

    connect_parts(part(picker), part(slider), part(deploy), part(playground), part(endpoints))  # type: ignore[arg-type]


class App(PtWidget):
    """Pick a model, size it, deploy it, query it: the whole loop in one widget.

    ``app = App()`` (connects to the configured or local workspace on first use, or pass
    ``workspace=``). Python side: ``app.picker``, ``app.slider``, ``app.deploy``,
    ``app.playground``, ``app.endpoints``, ``app.compare``, ``app.loadtest`` and ``app.monitor``
    (folded sections: endpoints side by side, a load test, a live monitor), ``app.external``
    (an OpenAI-compatible server as an endpoint) and ``app.governance`` (the folded "Govern"
    section, on the playground's endpoint) and ``app.rollout`` (the deploy step's rollout
    section: a second served entity and the traffic split) expose each step's state and
    methods, e.g.
    ``app.picker.select("system.ai.smollm2_135m_instruct", 1).wait()``,
    ``app.deploy.start().wait()``, ``app.playground.chat("Hello").text``.
    """

    PARTS: ClassVar = {
        "picker": ("picker_", PickerPart),
        "slider": ("slider_", SliderPart),
        "deploy": ("deploy_", DeployPart),
        "playground": ("playground_", PlaygroundPart),
        "endpoints": ("endpoints_", EndpointsPart),
        "compare": ("compare_", ComparePart),
        "loadtest": ("loadtest_", LoadTestPart),
        "monitor": ("monitor_", MonitorPart),
        "external": ("external_", ExternalPart),
        "governance": ("governance_", GovernancePart),
        "rollout": ("rollout_", RolloutPart),
    }
    _kind = t.Unicode("app").tag(sync=True)
    vars().update(declare(PARTS))

    def __init__(self, *, price_per_dbu: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        p = self.parts
        connect_parts(p["picker"], p["slider"], p["deploy"], p["playground"], p["endpoints"])  # type: ignore[arg-type]
        connect_ready_endpoint(p["deploy"], p["compare"], p["loadtest"],  # type: ignore[arg-type]
                               p["monitor"])  # type: ignore[arg-type]
        connect_governance(p["playground"], p["external"], p["governance"], p["endpoints"])  # type: ignore[arg-type]
        connect_rollout(p["deploy"], p["rollout"])  # type: ignore[arg-type]
        connect_playground(p["rollout"], p["playground"])  # type: ignore[arg-type]
        p["playground"].set(disabled_reason=NO_ENDPOINT)
        p["compare"].set(targets=[{"endpoint": "", "temperature": None, "max_tokens": None,
                                   "label": ""} for _ in range(2)])
        if price_per_dbu is not None:
            p["slider"].set(price_per_dbu=float(price_per_dbu))
        self.picker = PickerControls(p["picker"])  # type: ignore[arg-type]
        self.slider = SliderControls(p["slider"])  # type: ignore[arg-type]
        self.deploy = DeployControls(p["deploy"])  # type: ignore[arg-type]
        self.playground = PlaygroundControls(p["playground"])  # type: ignore[arg-type]
        self.endpoints = EndpointsControls(p["endpoints"])  # type: ignore[arg-type]
        self.compare = CompareControls(p["compare"])  # type: ignore[arg-type]
        self.loadtest = LoadTestControls(p["loadtest"])  # type: ignore[arg-type]
        self.monitor = MonitorControls(p["monitor"])  # type: ignore[arg-type]
        self.external = ExternalControls(p["external"])  # type: ignore[arg-type]
        self.governance = GovernanceControls(p["governance"])  # type: ignore[arg-type]
        self.rollout = RolloutControls(p["rollout"])  # type: ignore[arg-type]
