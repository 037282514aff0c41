"""Serving-endpoint lifecycle: create, update, delete, and the background deploy.

Lifecycle as on Databricks: a create answers ``NOT_READY``/``IN_PROGRESS`` with a
``pending_config`` and no ``config``; a worker thread loads every served entity's model;
success promotes the pending config (``READY``/``NOT_UPDATING``), failure ends
``UPDATE_FAILED`` with the reason in the entity's ``deployment_state_message`` and keeps
the failed ``pending_config`` visible. During an update the old config (and its loaded
replicas) keep serving until the new ones are ready. Every state change is one SQLite
transaction, and on start any endpoint left ``IN_PROGRESS`` by a dead process resumes.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from . import capacity
from .errors import ApiError, conflict, invalid, not_found, unavailable
from .governance.access import creator_name  # governance hook
from .optimization import DBUS_PER_CHUNK, Optimizer
from .runtime import Runtime
from .store import EndpointStore
from .validation import validate_config

log = logging.getLogger("pt_widgets.local")

CREATOR = "local-user@localhost"
PRIVATE = "_private"
CREATING = "Creating resources for served entity."
REUSED = "Reusing the loaded weights of"
# Fault-injection hook for tests (and for trying a slow deploy by hand): while the file this
# variable names exists, every weight load waits before it starts, so "the update is still in
# progress" is a state a test sets, not a race it hopes to win on a machine of unknown speed.
LOAD_HOLD_ENV = "PT_WIDGETS_LOAD_HOLD_FILE"
LOAD_HOLD_LIMIT_S = 600.0
# Accepted, stored and echoed; the local workspace has nothing they could act on (README).
INERT_ENDPOINT_FIELDS = ("budget_policy_id", "usage_policy_id", "email_notifications",
                         "rate_limits", "route_optimized", "telemetry_config",
                         "uc_system_metrics_export_state")
# ai_gateway: enforced by governance's gateway, which reads it from the record (and logs the
# parts it does not enforce)
STORED_ENDPOINT_FIELDS = ("description", "ai_gateway", *INERT_ENDPOINT_FIELDS)
INERT_ENTITY_FIELDS = ("burst_scaling_enabled", "environment_vars", "instance_profile_arn",
                       "min_provisioned_concurrency", "max_provisioned_concurrency",
                       "workload_size", "workload_type", "pt_term", "pt_auto_renew")
INERT_CONFIG_FIELDS = ("auto_capture_config",)


def now_ms() -> int:
    return int(time.time() * 1000)


def note_inert(given: dict[str, Any], fields: tuple[str, ...], where: str) -> None:
    for key in fields:
        if given.get(key) is not None:
            log.info("'%s%s' is stored and echoed; it has no effect on the local workspace.",
                     where, key)


def entity_output(entity: dict[str, Any], created: int) -> dict[str, Any]:
    """A validated served entity as ServedEntityOutput holds it: what was given, echoed, plus
    what the server works out (state, DBUs, the foundation model, the workload it runs on)."""
    sizing = entity["_sizing"]
    note_inert(entity, INERT_ENTITY_FIELDS, entity["_where"] + ".")
    out = {k: v for k, v in entity.items() if not k.startswith("_")}
    out["_capacity"] = capacity.entity_share(entity, sizing.pool)  # the machine share it holds
    out.update(workload_size=entity.get("workload_size") or "Small",
               workload_type=entity.get("workload_type") or "CPU",
               creator=CREATOR, creation_timestamp=created,
               scale_to_zero_enabled=bool(entity.get("scale_to_zero_enabled")),
               state={"deployment": "DEPLOYMENT_CREATING", "deployment_state_message": CREATING})
    if sizing.scheme == "model_units":
        chunks = entity["provisioned_model_units"] / sizing.chunk
        out["dbus"] = out["min_dbus"] = out["max_dbus"] = DBUS_PER_CHUNK * chunks
    else:
        out["min_dbus"] = DBUS_PER_CHUNK * entity["min_provisioned_throughput"] / sizing.chunk
        out["max_dbus"] = out["dbus"] = DBUS_PER_CHUNK * entity["max_provisioned_throughput"] \
            / sizing.chunk
    if entity["entity_name"].startswith("system.ai."):
        short = entity["entity_name"].split(".")[-1]
        out["foundation_model"] = {"name": short, "display_name": short}
    return out


def mirror_models(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The deprecated ``served_models`` view the real API still returns beside entities (its
    response model keeps the fields ServedModelOutput has)."""
    return [{**e, "model_name": e["entity_name"], "model_version": e["entity_version"]}
            for e in entities
            if "external_model" not in e]  # governance hook: no model/version to mirror


def public(record: dict[str, Any]) -> dict[str, Any]:
    """The record without private bookkeeping; the route's response model (detailed, or the
    list's summary) decides which of its fields go on the wire."""
    return {k: copy.deepcopy(v) for k, v in record.items() if k != PRIVATE and v is not None}


class ServingManager:
    """Owns endpoint records and the deploy workers that move them through their states."""

    def __init__(self, store: EndpointStore, optimizer: Optimizer, runtime: Runtime,
                 external: Any = None) -> None:
        self.store = store
        self.external = external  # governance hook: governance.external.ExternalModels
        self.optimizer = optimizer
        self.runtime = runtime
        self._threads: dict[str, threading.Thread] = {}
        self._live_logs: dict[tuple[str, str], list[str]] = {}
        self._reload_locks: dict[str, threading.Lock] = {}
        capacity.restore(runtime.capacity, store.all())

    # -- reads ------------------------------------------------------------------------------
    def require(self, name: str) -> dict[str, Any]:
        record = self.store.get(name)
        if record is None:
            raise not_found(f"Serving endpoint with name '{name}' does not exist.")
        return record

    def get(self, name: str) -> dict[str, Any]:
        return public(self.require(name))

    def list(self) -> list[dict[str, Any]]:
        return [public(r) for r in self.store.all()]

    # -- writes -----------------------------------------------------------------------------
    def create(self, body: dict[str, Any], pt_route: bool = False) -> dict[str, Any]:
        """``body``: the fields a CreateServingEndpoint/CreatePtEndpointRequest was given."""
        name = body["name"]
        config = body.get("config")
        if config is None:
            raise invalid("'config' is required: give config.served_entities with the model "
                          "to serve.")
        if config.get("name") not in (None, name):
            raise invalid(f"'config.name' ({config['name']!r}) must match the endpoint 'name' "
                          f"({name!r}).")
        validated = self._validate({k: v for k, v in config.items() if k != "name"},
                                   pt_route)  # governance hook
        note_inert(body, INERT_ENDPOINT_FIELDS, "")
        created = now_ms()
        record = {
            "name": name,
            "id": uuid.uuid4().hex,
            "creator": creator_name(),  # governance hook: the calling user
            "creation_timestamp": created,
            "last_updated_timestamp": created,
            "state": {"ready": "NOT_READY", "config_update": "IN_PROGRESS",
                      "suspend": "NOT_SUSPENDED"},
            "pending_config": self._pending(validated, 1, created, config),
            "config": None,
            **{key: body.get(key) for key in STORED_ENDPOINT_FIELDS},
            "permission_level": "CAN_MANAGE",
            "route_optimized": bool(body.get("route_optimized")),
            "task": validated["entities"][0]["_desc"].task,
            "tags": body.get("tags") or [],
            PRIVATE: {"generation": 1, "build_logs": {}},
        }
        with self.store.transaction() as conn:
            if self.store.get(name) is not None:
                raise conflict(f"Serving endpoint with name '{name}' already exists.",
                               "RESOURCE_ALREADY_EXISTS")
            self.store.insert(conn, record)
        self._start_deploy(name, 1)
        return public(record)

    def update(self, name: str, config: dict[str, Any], pt_route: bool = False) -> dict[str, Any]:
        """A new config: entities whose model, version and sizing are unchanged keep their
        loaded weights (only a changed model or version loads anything), and the live config
        serves until the new one is ready."""
        validated = self._validate(config, pt_route)  # governance hook
        with self.store.transaction() as conn:
            record = self.require(name)
            if record["state"]["config_update"] == "IN_PROGRESS":
                raise conflict(f"Serving endpoint '{name}' is already being updated; wait until "
                               "its config_update state is NOT_UPDATING.")
            version = (record.get("config") or record.get("pending_config")
                       or {}).get("config_version", 0) + 1
            record["pending_config"] = self._pending(validated, version, now_ms(), config)
            record["state"]["config_update"] = "IN_PROGRESS"
            record["last_updated_timestamp"] = now_ms()
            record["task"] = validated["entities"][0]["_desc"].task
            record[PRIVATE]["generation"] += 1
            generation = record[PRIVATE]["generation"]
            self.store.put(conn, record)
        self._start_deploy(name, generation)
        return public(record)

    def edit(self, name: str, change: Callable[[dict[str, Any]], Any]) -> Any:
        """Apply ``change`` to the stored record in one transaction, with no redeploy (tags,
        gateway, limits, notifications, telemetry); returns what ``change`` returns."""
        with self.store.transaction() as conn:
            record = self.require(name)
            result = change(record)
            record["last_updated_timestamp"] = now_ms()
            self.store.put(conn, record)
        return result

    def delete(self, name: str) -> None:
        with self.store.transaction() as conn:
            self.require(name)
            self.store.delete(conn, name)
        self.runtime.capacity.set_held(name, 0.0)
        self.runtime.release(name)

    def _validate(self, config: dict[str, Any], pt_route: bool) -> dict[str, Any]:
        """governance hook: a config of external models is validated by governance."""
        if self.external is not None and self.external.handles(config):
            return self.external.validate(config)
        return validate_config(config, self.optimizer, pt=pt_route)

    def _pending(self, validated: dict[str, Any], version: int, start: int,
                 given: dict[str, Any]) -> dict[str, Any]:
        entities = [self.external.entity_output(e, start) if "_external" in e  # governance hook
                    else entity_output(e, start) for e in validated["entities"]]
        for out, entity in zip(entities, validated["entities"], strict=True):
            if "_external" in entity:  # governance hook: its _source is already set
                continue
            out["_source"] = {"full_name": entity["entity_name"],
                              "version": int(entity["entity_version"])}
        note_inert(given, INERT_CONFIG_FIELDS, "config.")
        return {
            "start_time": start,
            "config_version": version,
            "served_entities": entities,
            "served_models": mirror_models(entities),
            "traffic_config": validated["traffic"],
            "auto_capture_config": given.get("auto_capture_config"),
        }

    # -- serving requests -------------------------------------------------------------------
    def served_entity(self, name: str, entity: str | None = None):
        """The entity that answers a query on ``name`` (``entity``: that served model only),
        loading it if this process has not.

        Raises 404 for an unknown endpoint or served model, 503 (with Retry-After) while the
        first config is still deploying, 400 when the endpoint never deployed successfully.
        """
        record = self.require(name)
        if record.get("config") is None:
            if record["state"]["config_update"] == "IN_PROGRESS":
                raise unavailable(f"Endpoint '{name}' is still deploying its first config; "
                                  "retry when its state is READY.", 5)
            raise ApiError("INVALID_STATE", f"Endpoint '{name}' has no ready config: its "
                           "deployment failed (see its served entity's state message).")
        if entity is not None:
            self._require_entity(record, entity, live_only=True)
        if not self.runtime.is_active(name):
            self._reactivate(name, record)
        served = self.runtime.pick(name, entity)
        if served is None:
            raise unavailable(f"Endpoint '{name}' is being replaced; retry.", 1)
        served.limiter.last_activity = time.monotonic()
        self.runtime.ensure_loaded(served)
        return served

    def _reactivate(self, name: str, record: dict[str, Any]) -> None:
        """After a restart, load the live config's replicas once (other callers wait)."""
        lock = self._reload_locks.setdefault(name, threading.Lock())
        with lock:
            if self.runtime.is_active(name):
                return
            loaded = {}
            for entity in record["config"]["served_entities"]:
                loaded[entity["name"]] = self._load_entity(entity, [])
            self.runtime.activate(name, record["config"], loaded)

    # -- logs -------------------------------------------------------------------------------
    def build_logs(self, name: str, entity: str) -> str:
        record = self.require(name)
        self._require_entity(record, entity)
        live = self._live_logs.get((name, entity))
        if live is not None:
            return "\n".join(live)
        return record[PRIVATE]["build_logs"].get(entity, "")

    def server_logs(self, name: str, entity: str) -> str:
        record = self.require(name)
        self._require_entity(record, entity)
        return "\n".join(self.runtime.request_log(name, entity))

    @staticmethod
    def _require_entity(record: dict[str, Any], entity: str, live_only: bool = False) -> None:
        names = set()
        for key in ("config",) if live_only else ("config", "pending_config"):
            names.update(e["name"] for e in (record.get(key) or {}).get("served_entities", []))
        if entity not in names:
            raise not_found(f"Served model '{entity}' does not exist on endpoint "
                            f"'{record['name']}'.")

    # -- deploy worker ----------------------------------------------------------------------
    def resume_interrupted(self) -> list[str]:
        """Restart the deploys a killed process left IN_PROGRESS, so none stays stuck."""
        resumed = []
        for record in self.store.all():
            if record["state"]["config_update"] == "IN_PROGRESS":
                self._start_deploy(record["name"], record[PRIVATE]["generation"])
                resumed.append(record["name"])
        return resumed

    def _start_deploy(self, name: str, generation: int) -> None:
        thread = threading.Thread(
            target=self._deploy, args=(name, generation), name=f"deploy-{name}", daemon=True
        )
        self._threads[name] = thread
        thread.start()

    def wait_idle(self, timeout: float = 600.0) -> None:
        """Join running deploy threads (used on shutdown and by in-process tooling)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads.values()):
            thread.join(max(0.0, deadline - time.monotonic()))

    def _current(self, name: str, generation: int) -> dict[str, Any] | None:
        record = self.store.get(name)
        if record is None or record[PRIVATE]["generation"] != generation:
            return None
        return record

    def _deploy(self, name: str, generation: int) -> None:
        record = self._current(name, generation)
        if record is None:
            return
        shortage = self._reserve(record)
        if shortage is not None:
            self._finish(name, generation, None, shortage)
            return
        loaded: dict[str, Any] = {}
        for entity in record["pending_config"]["served_entities"]:
            lines: list[str] = []
            self._live_logs[(name, entity["name"])] = lines
            try:
                loaded[entity["name"]] = self._load_entity(entity, lines, name)
            except Exception as exc:  # the reason is shown to the user, nothing is raised
                lines.append(f"ERROR: {exc}")
                log.warning("deploy of %s/%s failed: %s", name, entity["name"], exc)
                for replica in loaded.values():
                    replica.retire()
                self._finish(name, generation, None,
                             (entity["name"], f"Model load failed: {exc}"))
                return
            finally:
                self._live_logs.pop((name, entity["name"]), None)
                self._save_logs(name, generation, entity["name"], lines)
        self._finish(name, generation, loaded, None)

    def _reserve(self, record: dict[str, Any]) -> tuple[str, str] | None:
        """Reserve the pending config's minimums in the capacity pool; on a shortage, the
        entity that asks the most and why (the deploy then ends UPDATE_FAILED, as on
        Databricks, and the live config keeps serving)."""
        pending = record["pending_config"]
        problem = self.runtime.capacity.reserve(record["name"], capacity.config_share(pending),
                                                keep=capacity.config_share(record["config"]))
        if problem is None:
            return None
        largest = max(pending["served_entities"], key=lambda e: e.get("_capacity", 0.0))
        log.warning("deploy of %s refused: %s", record["name"], problem)
        return largest["name"], problem

    def _load_entity(self, entity: dict[str, Any], lines: list[str],
                     endpoint: str | None = None) -> Any:
        """Load the entity's model, or share the weights the live config already has loaded
        for the same model version (a routes-only or sizing-only update loads nothing)."""
        def say(message: str) -> None:
            lines.append(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}")

        if "external_model" in entity and self.external is not None:  # governance hook
            return self.external.load(entity, say)
        source = entity["_source"]
        say(f"Resolving {source['full_name']} version {source['version']}")
        desc = self.optimizer.describe(source["full_name"], source["version"])
        reason = self.optimizer.ineligible_reason(desc)
        if reason:
            raise RuntimeError(reason)
        sizing = self.optimizer.sizing(desc)
        live = self.runtime.loaded(endpoint, desc, entity["name"]) if endpoint else None
        if live is not None:
            say(f"{REUSED} {desc.full_name} version {desc.version} (no reload)")
            return self.runtime.share(live, sizing, entity)
        hold_load(say)
        return self.runtime.load(desc, sizing, entity, say)

    def _save_logs(self, name: str, generation: int, entity: str, lines: list[str]) -> None:
        with self.store.transaction() as conn:
            record = self._current(name, generation)
            if record is None:
                return
            record[PRIVATE]["build_logs"][entity] = "\n".join(lines[-500:])
            self.store.put(conn, record)

    def _finish(self, name: str, generation: int, loaded: dict[str, Any] | None,
                failure: tuple[str, str] | None) -> None:
        with self.store.transaction() as conn:
            record = self._current(name, generation)
            if record is None:  # deleted or superseded meanwhile: drop what was loaded
                for replica in (loaded or {}).values():
                    replica.retire()
                return
            pending = record["pending_config"]
            record["last_updated_timestamp"] = now_ms()
            if failure is None:
                for e in pending["served_entities"]:
                    e["state"] = {"deployment": "DEPLOYMENT_READY",
                                  "deployment_state_message": "Served entity is ready."}
                pending["served_models"] = mirror_models(pending["served_entities"])
                pending.pop("start_time", None)
                record["config"] = pending
                record["pending_config"] = None
                record["state"].update(ready="READY", config_update="NOT_UPDATING")
            else:
                failed, reason = failure
                for e in pending["served_entities"]:
                    if e["name"] == failed:
                        e["state"] = {"deployment": "DEPLOYMENT_FAILED",
                                      "deployment_state_message": reason}
                    else:
                        e["state"] = {"deployment": "DEPLOYMENT_ABORTED",
                                      "deployment_state_message": "Aborted: another served "
                                      "entity of this config failed."}
                pending["served_models"] = mirror_models(pending["served_entities"])
                record["state"]["config_update"] = "UPDATE_FAILED"
            self.store.put(conn, record)
            self.runtime.capacity.set_held(name, capacity.config_share(record["config"]))
            if failure is None:
                self.runtime.activate(name, record["config"], loaded or {})


def hold_load(say: Callable[[str], None], stopping: threading.Event | None = None) -> None:
    """Wait while the ``PT_WIDGETS_LOAD_HOLD_FILE`` file exists (at most 10 minutes, or
    until ``stopping`` is set: a server shutting down does not wait for the file)."""
    hold = os.environ.get(LOAD_HOLD_ENV)
    if not hold or not os.path.exists(hold):
        return
    say(f"Load held while {hold} exists ({LOAD_HOLD_ENV})")
    stopping = stopping or threading.Event()
    deadline = time.monotonic() + LOAD_HOLD_LIMIT_S
    while os.path.exists(hold) and time.monotonic() < deadline and not stopping.wait(0.02):
        pass
