"""DeployPanel: name an endpoint, create or update it, and watch it become ready.

The deploy runs on a background thread (``pt_widgets.endpoints.deploy_in_background``) whose
progress callback updates the traits, so the kernel stays free: other cells and widgets keep
working while the workspace deploys. The browser ticks the elapsed time itself from
``started_at``; Python updates the state on every poll.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

import traitlets as t

from ._adapters import normalize_task
from ._base import Facade, Part, PtWidget, Request, declare, describe_error, redact
from .rollout import RolloutControls, RolloutPart, connect_rollout

if TYPE_CHECKING:  # pragma: no cover
    from ..endpoints import Deployment, Progress

LOG_TAIL_LINES = 40
LOG_REFRESH_S = 2.0
EXPECTED_DEPLOY_S = 30.0  # only shapes the progress bar while the workspace works


class DeployPart(Part):
    scope = "deploy"
    TRAITS: ClassVar = {
        "model": lambda: t.Unicode(""),
        "version": lambda: t.Unicode(""),
        "sizing": lambda: t.Dict(),  # JSON of the chosen sizing (from the slider)
        "endpoint_name": lambda: t.Unicode(""),
        "name_edited": lambda: t.Bool(False),  # the user typed a name: stop suggesting
        "disabled_reason": lambda: t.Unicode("Pick a model version and a throughput first."),
        "status": lambda: t.Unicode("idle"),  # idle starting deploying ready failed cancelled
        "phase": lambda: t.Unicode(""),  # e.g. "IN_PROGRESS · DEPLOYMENT_CREATING"
        "message": lambda: t.Unicode(""),
        "started_at": lambda: t.Float(0.0),  # epoch ms, for the browser's ticking clock
        "elapsed_s": lambda: t.Float(0.0),
        "progress": lambda: t.Float(0.0),  # 0..1
        "log_tail": lambda: t.Unicode(""),
        "endpoint": lambda: t.Unicode(""),  # the endpoint of the last successful deploy
        "endpoint_task": lambda: t.Unicode(""),
        "error": lambda: t.Unicode(""),
    }

    def setup(self) -> None:
        self._deployment: Deployment | None = None
        self._done = threading.Event()
        self._done.set()
        self._last_logs = 0.0
        self._started = 0.0

    # -- what to deploy -------------------------------------------------------------------
    def configure(self, model: str, version: str, sizing: dict[str, Any] | None,
                  reason: str = "") -> None:
        """Set the model/version/sizing to deploy (from the picker and slider)."""
        changed_model = (model, version) != (self.get("model"), self.get("version"))
        values: dict[str, Any] = {"model": model, "version": str(version),
                                  "sizing": dict(sizing or {})}
        running = self._deployment is not None and not self._deployment.done
        if changed_model and not running and self.get("status") != "idle":
            values.update(status="idle", phase="", message="", progress=0.0, log_tail="",
                          error="", started_at=0.0, elapsed_s=0.0)
        if reason:
            values["disabled_reason"] = reason
        elif not model or not version:
            values["disabled_reason"] = "Pick a model version first."
        elif not sizing:
            values["disabled_reason"] = "Choose a throughput first."
        else:
            values["disabled_reason"] = ""
        self.set(**values)
        if changed_model and model and version and not self.get("name_edited"):
            self.submit(self._suggest, model, str(version), self.get("endpoint_name"))

    def _suggest(self, model: str, version: str, before: str) -> None:
        """Suggest a free name, unless the name was changed meanwhile (by hand or code)."""
        from ..endpoints import suggest_endpoint_name

        name = suggest_endpoint_name(model, version, taken=self.workspace())
        with self.host._lock:
            if ((model, version) == (self.get("model"), self.get("version"))
                    and not self.get("name_edited") and self.get("endpoint_name") == before):
                self.set(endpoint_name=name)

    def rpc_check_name(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        """Is the name valid, and would deploying create or update an endpoint?"""
        from ..endpoints import check_endpoint_name, get_endpoint
        from ..errors import NotFound, ValidationError

        name = str(params.get("name") or "")
        try:
            check_endpoint_name(name)
        except ValidationError as exc:
            return {"name": name, "status": "invalid", "message": str(exc)}
        try:
            existing = get_endpoint(self.workspace(), name)
        except NotFound:
            return {"name": name, "status": "new",
                    "message": f"A new endpoint '{name}' will be created."}
        entity = existing.display_entity
        serving = (f"{entity.entity_name} version {entity.entity_version}" if entity
                   else "nothing yet")
        return {"name": name, "status": "exists",
                "message": f"Endpoint '{name}' exists (serving {serving}, "
                           f"{existing.state.ready or 'unknown'}): deploying updates it."}

    # -- deploy ---------------------------------------------------------------------------
    def rpc_deploy(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        if "endpoint_name" in params:
            self.set(endpoint_name=str(params["endpoint_name"]))
        self.start()
        return {"started": True, "endpoint_name": self.get("endpoint_name")}

    def rpc_cancel(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        return {"cancelled": self.cancel()}

    def start(self, sizing: Any = None) -> None:
        """Start deploying in the background; returns at once."""
        from ..endpoints import check_endpoint_name, deploy_in_background
        from ..errors import ValidationError

        if self._deployment is not None and not self._deployment.done:
            raise ValidationError("A deploy is already running in this panel: wait for it or "
                                  "cancel it.")
        if self.get("disabled_reason"):
            raise ValidationError(self.get("disabled_reason"))
        name = check_endpoint_name(self.get("endpoint_name"))
        chosen = sizing if sizing is not None else _sizing_args(self.get("sizing"))
        self._done.clear()
        self._started = time.monotonic()
        self._last_logs = 0.0
        self.set(status="starting", phase="", message=f"Submitting endpoint '{name}'…",
                 started_at=time.time() * 1000, elapsed_s=0.0, progress=0.02, log_tail="",
                 error="", endpoint="", endpoint_task="")
        try:
            self._deployment = deploy_in_background(
                self.workspace(), name, self.get("model"), self.get("version"), chosen,
                progress=self._on_progress)
        except Exception:
            self._done.set()
            self.set(status="failed", progress=0.0)
            raise
        self._deployment.add_done_callback(self._watch)

    def _on_progress(self, p: Progress) -> None:
        deployment = p.deployment or ""
        phase = " · ".join(x for x in (p.config_update, deployment, p.ready) if x)
        elapsed = time.monotonic() - self._started
        fraction = 0.1 + 0.85 * (1 - math.exp(-elapsed / EXPECTED_DEPLOY_S))
        values: dict[str, Any] = {
            "status": "deploying", "phase": phase, "elapsed_s": round(elapsed, 1),
            "message": redact(p.message or p.describe()), "progress": round(fraction, 3),
        }
        now = time.monotonic()
        if now - self._last_logs >= LOG_REFRESH_S:
            self._last_logs = now
            tail = self._logs(p.name)
            if tail:
                values["log_tail"] = tail
        self.set(**values)

    def _logs(self, name: str) -> str:
        from ..endpoints import build_logs

        try:
            return redact(build_logs(self.workspace(), name, tail=LOG_TAIL_LINES))
        except Exception:  # noqa: BLE001 - logs are a nicety while waiting
            return ""

    def _watch(self, deployment: Deployment) -> None:
        from ..errors import Cancelled, DeploymentFailed

        try:
            endpoint = deployment.result()
        except Cancelled as exc:
            self.set(message=redact(str(exc)), error="",
                     elapsed_s=round(time.monotonic() - self._started, 1), status="cancelled")
        except DeploymentFailed as exc:
            self.set(error=describe_error(exc), message=redact(exc.state_message or ""),
                     log_tail=redact(exc.build_logs or self._logs(deployment.name)),
                     elapsed_s=round(time.monotonic() - self._started, 1), status="failed")
        except Exception as exc:  # noqa: BLE001 - shown in the widget
            self.set(error=describe_error(exc),
                     elapsed_s=round(time.monotonic() - self._started, 1), status="failed")
        else:
            # status last: observers of "status" read the other traits
            self.set(progress=1.0, endpoint=endpoint.name,
                     endpoint_task=normalize_task(endpoint.task or ""),
                     phase="READY", message=f"Endpoint '{endpoint.name}' is ready.",
                     log_tail=self._logs(endpoint.name) or self.get("log_tail"),
                     elapsed_s=round(time.monotonic() - self._started, 1), status="ready")
        finally:
            self._done.set()

    def cancel(self) -> bool:
        """Stop waiting for the running deploy (the workspace may keep deploying)."""
        if self._deployment is None or self._deployment.done:
            return False
        self._deployment.cancel()
        return True

    def wait(self, timeout: float = 600.0) -> str:
        """Block until the running deploy ends; return the ready endpoint's name or raise."""
        from ..errors import DeploymentFailed, PtWidgetsError

        if not self._done.wait(timeout):
            raise TimeoutError(f"The deploy of '{self.get('endpoint_name')}' is still running "
                               f"after {timeout} s.")
        status = self.get("status")
        if status == "ready":
            return self.get("endpoint")
        if status == "failed":
            raise DeploymentFailed(self.get("error"), endpoint=self.get("endpoint_name"),
                                   build_logs=self.get("log_tail"))
        raise PtWidgetsError(self.get("message") or f"The deploy ended as {status}.")

    def teardown(self) -> None:
        self.cancel()


def _sizing_args(sizing: dict[str, Any]) -> dict[str, Any] | None:
    """The slider's JSON as arguments for ``SizingPlan.validate``."""
    if not sizing or sizing.get("scheme") == "default":
        return None  # the plan's smallest always-on sizing
    if sizing.get("scheme") == "model_units":
        return {"model_units": sizing.get("provisioned_model_units")}
    return {
        "max_throughput": sizing.get("max_provisioned_throughput"),
        "min_throughput": sizing.get("min_provisioned_throughput"),
        "scale_to_zero": bool(sizing.get("scale_to_zero_enabled")),
    }


class DeployAPI:
    """Python methods of a deploy panel (standalone widget or ``App().deploy``)."""

    part: DeployPart

    def start(self) -> Any:
        """Start deploying in the background (returns at once; the kernel stays free)."""
        self.part.start()
        return self

    def cancel(self) -> bool:
        """Stop waiting for the running deploy (the workspace may keep deploying)."""
        return self.part.cancel()

    def wait(self, timeout: float = 600.0) -> str:
        """Block until the deploy ends; the ready endpoint's name, or raise its error."""
        return self.part.wait(timeout)


class DeployControls(DeployAPI, Facade):
    """``App().deploy``: the deploy panel's traits and methods inside the App."""


class DeployPanel(DeployAPI, PtWidget):
    """Create or update a provisioned-throughput endpoint and follow it until it is ready.

    ``DeployPanel(model=..., version=..., sizing={"max_throughput": 240})``; ``.start()``,
    ``.cancel()``, ``.wait()``; ``.endpoint`` is the ready endpoint's name. ``.rollout`` is its
    rollout section (a second served entity and the traffic split of the ready endpoint).
    """

    @property
    def part(self) -> Any:
        """The deploy part (the panel also hosts the rollout section's part)."""
        return self.parts["deploy"]

    PARTS: ClassVar = {"deploy": ("", DeployPart), "rollout": ("rollout_", RolloutPart)}
    _kind = t.Unicode("deploy").tag(sync=True)
    vars().update(declare(PARTS))

    def __init__(self, model: str = "", version: int | str = "",
                 sizing: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        connect_rollout(self.parts["deploy"], self.parts["rollout"])  # type: ignore[arg-type]
        self.rollout = RolloutControls(self.parts["rollout"])
        if model and version:
            state = _sizing_state(sizing) if sizing else {"scheme": "default"}
            self.part.configure(model, str(version), state)


def _sizing_state(args: dict[str, Any]) -> dict[str, Any]:
    """``SizingPlan.validate`` arguments -> the JSON the panel keeps (inverse of above)."""
    if "model_units" in args:
        return {"scheme": "model_units", "provisioned_model_units": args["model_units"]}
    return {
        "scheme": "tokens_per_second",
        "min_provisioned_throughput": args.get("min_throughput"),
        "max_provisioned_throughput": args.get("max_throughput"),
        "scale_to_zero_enabled": bool(args.get("scale_to_zero", False)),
    }
