"""The deploy panel's rollout section: a second version next to the live one, and the traffic
split between them.

It lists the served entities of one endpoint with their live state (model and version,
sizing, deployment state, traffic share) and changes them only through the Python API
(:mod:`pt_widgets.rollout`): add an entity with its own chunk-multiple sizing, set the split,
promote, roll back, remove. A change is one config update the workspace rolls out for
minutes, so it runs on the section's own thread and returns a ``Future`` at once: the kernel
stays free, the browser's request is answered at once (``{"started": true}``), and the
``status``/``action`` traits say what is running until the endpoint is READY again. Each
poll of that wait repaints the entities, so their states move while the update runs.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

import traitlets as t

from ..errors import ValidationError
from ._base import Facade, Part, Request, describe_error

if TYPE_CHECKING:  # pragma: no cover
    from ..endpoints import Progress
    from ..wire import ServedEntity, ServingEndpoint

log = logging.getLogger(__name__)

NO_ENDPOINT = "Deploy an endpoint first: its served entities show here."
MAX_VERSIONS = 50  # versions offered in the add form's list (newest first)


def entity_row(entity: ServedEntity, traffic: int | None, pending: bool) -> dict[str, Any]:
    """One served entity as the section lists it (plain JSON)."""
    return {
        "name": entity.name, "model": entity.entity_name or "",
        "version": str(entity.entity_version or ""),
        "min": entity.min_provisioned_throughput, "max": entity.max_provisioned_throughput,
        "units": entity.provisioned_model_units,
        "scale_to_zero": bool(entity.scale_to_zero_enabled),
        "state": entity.deployment or "", "message": entity.deployment_state_message or "",
        "traffic": traffic, "pending": pending,
    }


def entity_rows(endpoint: ServingEndpoint) -> list[dict[str, Any]]:
    """The live entities with their traffic, then entities that only the pending config has
    (being added: no traffic until the update is live). A live entity that the pending config
    also holds shows the pending deployment state: that is what is moving."""
    pending = {e.name: e for e in endpoint.pending_served_entities}
    traffic = endpoint.traffic
    rows = []
    for live in endpoint.served_entities:
        row = entity_row(live, traffic.get(live.name, 0), False)
        if live.name in pending and pending[live.name].deployment:
            row["state"] = pending[live.name].deployment
        rows.append(row)
    known = {e.name for e in endpoint.served_entities}
    rows += [entity_row(e, None, True) for e in pending.values() if e.name not in known]
    return rows


def sizing_args(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The add form's sizing (tokens/s or model units) as ``SizingPlan.validate`` arguments."""
    if not raw:
        return None
    if raw.get("model_units") not in (None, ""):
        return {"model_units": int(raw["model_units"])}
    args: dict[str, Any] = {"max_throughput": raw.get("max_throughput"),
                            "min_throughput": raw.get("min_throughput"),
                            "scale_to_zero": bool(raw.get("scale_to_zero"))}
    for key in ("max_throughput", "min_throughput"):
        if args[key] in (None, ""):
            args.pop(key)
    return args


class RolloutPart(Part):
    scope = "rollout"
    TRAITS: ClassVar = {
        "endpoint": lambda: t.Unicode(""),
        "entities": lambda: t.List(),  # entity_row() dicts, live ones first
        "config_update": lambda: t.Unicode(""),  # the endpoint's: NOT_UPDATING, IN_PROGRESS…
        "status": lambda: t.Unicode("idle"),  # idle loading ready busy error
        "action": lambda: t.Unicode(""),  # what runs now, e.g. "Promoting 'chat-2'…"
        "message": lambda: t.Unicode(""),  # how the last change ended, one sentence
        "candidate": lambda: t.Unicode(""),  # the entity the split, steps and promote act on
        "add_model": lambda: t.Unicode(""),  # the add form's model and version (prefilled)
        "add_version": lambda: t.Unicode(""),
        "error": lambda: t.Unicode(""),
    }

    def setup(self) -> None:
        self._runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pt_widgets-rollout")
        self._lock = threading.Lock()
        self._running: Future[Any] | None = None
        self._busy = False  # a change runs; cleared with the status, under the lock
        self._cancel = threading.Event()
        self.observe(lambda change: self.submit(self.load), "endpoint")

    # -- reading ------------------------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        """Read the endpoint's entities and split into the traits."""
        from ..endpoints import get_endpoint

        name = self.get("endpoint")
        if not name:
            self.set(entities=[], config_update="", status="idle", candidate="")
            return self.state()
        if not self.busy:
            self.set(status="loading")
        try:
            endpoint = get_endpoint(self.workspace(), name)
        except Exception:
            if not self.busy:  # e.g. deleted meanwhile: nothing to change; the error says why
                self.set(status="error", entities=[], candidate="")
            raise
        self.show(endpoint)
        return self.state()

    def show(self, endpoint: ServingEndpoint) -> None:
        """Paint one read of the endpoint (also called on every poll while an update runs)."""
        rows = entity_rows(endpoint)
        names = [r["name"] for r in rows if not r["pending"]]
        candidate = self.get("candidate")
        if candidate not in names or (candidate == names[0] and len(names) > 1):
            candidate = names[-1] if len(names) > 1 else ""
        values: dict[str, Any] = {"entities": rows, "candidate": candidate,
                                  "config_update": endpoint.state.config_update or ""}
        if not self.busy:
            values["status"] = "ready" if endpoint.served_entities else "loading"
        self.set(**values)

    def state(self) -> dict[str, Any]:
        return {name: self.get(name) for name in ("endpoint", "entities", "candidate",
                                                  "config_update", "status")}

    def live_names(self) -> list[str]:
        return [r["name"] for r in self.get("entities") if not r["pending"]]

    def plan(self, model: str, version: str) -> dict[str, Any]:
        """What the add form needs for ``model``: its versions and the chosen one's sizing."""
        from ..catalog import list_versions
        from ..sizing import sizing_plan

        model = model.strip()
        if not model:
            raise ValidationError("Name the model to add, e.g. main.default.my_chat.")
        versions = [str(v.version) for v in list_versions(self.workspace(), model)]
        versions = sorted(versions, key=lambda v: int(v) if v.isdigit() else 0,
                          reverse=True)[:MAX_VERSIONS]
        chosen = version if version in versions else (versions[0] if versions else "")
        if not chosen:
            raise ValidationError(f"Model {model!r} has no versions to serve.")
        plan = sizing_plan(self.workspace(), model, chosen)
        if not plan.eligible:
            raise ValidationError(plan.reason or f"{model} version {chosen} cannot be served "
                                                 "with provisioned throughput.")
        return {"model": model, "versions": versions, "version": chosen,
                "scheme": plan.scheme, "chunk_size": plan.chunk_size}

    # -- changing -----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._busy

    def start(self, action: str, change: Callable[..., Any], **kwargs: Any) -> Future[Any]:
        """Run ``change(ws, endpoint, ..., wait=True)`` on the section's thread; a Future."""
        name = self.get("endpoint")
        if not name:
            raise ValidationError(NO_ENDPOINT)
        with self._lock:
            if self.busy:
                raise ValidationError(f"{self.get('action') or 'An update'} is still running on "
                                      f"'{name}': wait for it to finish.")
            self._busy = True
            self.set(status="busy", action=action, message="", error="")
            try:
                running = self._runner.submit(self._run, name, change, kwargs)
            except RuntimeError:  # the widget was closed
                self._busy = False
                raise
            self._running = running
        return running

    def _run(self, name: str, change: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        """The change, then the busy state ends (before the Future does: whoever waits on it
        finds the section ready, and the next change may start at once)."""

        def progress(p: Progress) -> None:
            if p.endpoint is not None:
                self.show(p.endpoint)

        try:
            endpoint = change(self.workspace(), name, progress=progress, cancel=self._cancel,
                              **kwargs)
        except Exception as exc:
            self._reread()
            self.set(error=describe_error(exc))
            raise
        else:
            self.show(endpoint)
            split = {e.name: endpoint.traffic.get(e.name, 0) for e in endpoint.served_entities}
            self.set(message=f"'{name}' is ready: " + split_sentence(split))
            return endpoint
        finally:
            with self._lock:
                self._busy = False
                self.set(action="", status="ready")

    def _reread(self) -> None:
        """After a failed change: show the endpoint as it is now (best effort)."""
        try:
            self.load()
        except Exception:  # noqa: BLE001 - the change's own error is what the user reads
            log.debug("pt_widgets rollout: rereading the endpoint failed", exc_info=True)

    def add(self, model: str, version: str, sizing: Mapping[str, Any] | None,
            traffic: int = 10, name: str | None = None) -> Future[Any]:
        from ..rollout import add_entity

        if not str(model).strip() or not str(version).strip():
            raise ValidationError("Choose the model and version to add.")
        traffic = _percentage(traffic, "The new entity's traffic")
        return self.start(f"Adding {model} version {version} at {traffic} %…", add_entity,
                          model=str(model).strip(), version=str(version),
                          sizing=sizing_args(sizing), traffic=traffic, name=name or None)

    def set_traffic(self, split: Mapping[str, Any]) -> Future[Any]:
        from ..rollout import check_split, set_traffic

        routes = check_split({k: _percentage(v, f"The traffic of {k!r}")
                              for k, v in dict(split).items()}, self.live_names() or None)
        return self.start("Moving traffic: " + split_sentence(routes), set_traffic,
                          split=routes)

    def promote(self, entity: str) -> Future[Any]:
        from ..rollout import promote

        return self.start(f"Promoting {entity!r} to 100 %…", promote, entity=entity)

    def rollback(self) -> Future[Any]:
        from ..rollout import rollback

        oldest = (self.live_names() or ["the oldest entity"])[0]
        return self.start(f"Rolling back: 100 % to {oldest!r}…", rollback)

    def remove(self, entity: str, move_traffic_to: str | None = None) -> Future[Any]:
        from ..rollout import remove_entity

        return self.start(f"Removing {entity!r}…", remove_entity, entity=entity,
                          move_traffic_to=move_traffic_to or None)

    def wait(self, timeout: float = 900.0) -> Any:
        """Block until the running change ends: the endpoint, or the change's error."""
        running = self._running
        return None if running is None else running.result(timeout)

    def teardown(self) -> None:
        self._cancel.set()
        self._runner.shutdown(wait=False, cancel_futures=True)

    # -- requests from the browser ------------------------------------------------------------
    def rpc_load(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        return self.load()

    def rpc_plan(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        return self.plan(str(params.get("model") or ""), str(params.get("version") or ""))

    def rpc_add(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        self.add(str(params.get("model") or ""), str(params.get("version") or ""),
                 params.get("sizing") or None, params.get("traffic", 10),
                 str(params.get("name") or "") or None)
        return {"started": True}

    def rpc_set_traffic(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        split = params.get("split")
        if not isinstance(split, dict):
            raise ValidationError("A traffic split is a dict of served entity -> percentage.")
        self.set_traffic(split)
        return {"started": True}

    def rpc_promote(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        self.promote(str(params.get("entity") or ""))
        return {"started": True}

    def rpc_rollback(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        self.rollback()
        return {"started": True}

    def rpc_remove(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        self.remove(str(params.get("entity") or ""),
                    str(params.get("move_traffic_to") or "") or None)
        return {"started": True}


def _percentage(value: Any, what: str) -> int:
    """A whole percentage from a form or Python (``10``, ``10.0``, ``"10"``), else a sentence."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number == int(number) and 0 <= number <= 100):
        raise ValidationError(f"{what} must be a whole percentage from 0 to 100, got {value!r}.")
    return int(number)


def split_sentence(split: Mapping[str, int]) -> str:
    """``"'a' 90 %, 'b' 10 %."``"""
    return ", ".join(f"{name!r} {pct} %" for name, pct in split.items()) + "."


class RolloutControls(Facade):
    """``App().rollout`` / ``DeployPanel().rollout``: the rollout section from Python.

    Each change returns a ``concurrent.futures.Future`` at once (the endpoint once READY
    again); ``wait()`` blocks for the running one. ``entities`` lists the served entities.
    """

    part: RolloutPart

    def refresh(self) -> Any:
        """Read the endpoint's entities and split again."""
        self.part.load()
        return self

    def add(self, model: str, version: int | str, sizing: Mapping[str, Any] | None = None, *,
            traffic: int = 10, name: str | None = None) -> Future[Any]:
        """Serve ``model`` ``version`` next to the live entities at ``traffic`` %;
        ``sizing`` as the form sends it: ``{"max_throughput": 120, "min_throughput": 60}``."""
        return self.part.add(model, str(version), sizing, traffic, name)

    def set_traffic(self, split: Mapping[str, int]) -> Future[Any]:
        return self.part.set_traffic(split)

    def promote(self, entity: str) -> Future[Any]:
        return self.part.promote(entity)

    def rollback(self) -> Future[Any]:
        return self.part.rollback()

    def remove(self, entity: str, move_traffic_to: str | None = None) -> Future[Any]:
        return self.part.remove(entity, move_traffic_to)

    def wait(self, timeout: float = 900.0) -> Any:
        return self.part.wait(timeout)


def connect_rollout(deploy: Part, rollout: RolloutPart) -> None:
    """The deploy panel's ready endpoint is the one the rollout section shows, and the model
    version chosen for deploying (picker + slider) prefills its add form: pick v2, add it."""

    def on_status(change: dict[str, Any]) -> None:
        if deploy.get("status") != "ready" or not deploy.get("endpoint"):
            return
        if rollout.get("endpoint") == deploy.get("endpoint"):
            rollout.submit(rollout.load)  # redeployed: its entities changed
        else:
            rollout.set(endpoint=deploy.get("endpoint"))

    def on_model(change: dict[str, Any]) -> None:
        if deploy.get("model") and deploy.get("version"):
            rollout.set(add_model=deploy.get("model"), add_version=deploy.get("version"))

    deploy.observe(on_status, "status")
    deploy.observe(on_model, "model", "version")


def connect_playground(rollout: RolloutPart, playground: Part) -> None:
    """In the App the section works on the playground's endpoint (the one just deployed, or
    picked in the endpoints list), and the playground's served-entity chooser follows the
    entities the rollout changes."""

    def on_entities(change: dict[str, Any]) -> None:
        if playground.get("endpoint") and playground.get("endpoint") == rollout.get("endpoint"):
            playground.use_entities(rollout.live_names())  # type: ignore[attr-defined]

    def on_endpoint(change: dict[str, Any]) -> None:
        if change["new"]:
            rollout.set(endpoint=change["new"])

    rollout.observe(on_entities, "entities")
    playground.observe(on_endpoint, "endpoint")
