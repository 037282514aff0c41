"""Deploy, wait for, list, get and delete provisioned-throughput serving endpoints.

``deploy`` is create-or-update by name: calling it twice with the same arguments does not
fail (the second call finds the endpoint already serving that config and just waits). The
wait polls until the endpoint is READY *and* not updating (the SDK's waiter stops at "not
updating" and its 20-minute default is shorter than real PT deploys); it reports progress,
honours a caller timeout, can be cancelled from another thread, and on failure raises one
sentence with the entity's state message and the build-log tail attached.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import (
    Cancelled,
    Conflict,
    DeploymentFailed,
    NotFound,
    PtWidgetsError,
    SizingError,
    ValidationError,
    WaitTimeout,
)
from .sizing import MODEL_UNITS, Sizing, SizingPlan, sizing_plan
from .wire import (
    FAILED_DEPLOYMENTS,
    ServedEntityInput,
    ServingEndpoint,
    create_endpoint_request,
    pt_create_request,
    pt_update_request,
    update_config_request,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .workspace import Workspace

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Progress",
    "Deployment",
    "check_endpoint_name",
    "suggest_endpoint_name",
    "suggest_endpoint_name_for",
    "list_endpoints",
    "endpoints_frame",
    "get_endpoint",
    "endpoint_exists",
    "delete_endpoint",
    "build_logs",
    "deploy",
    "deploy_in_background",
    "wait_until_ready",
]

SERVING = "/api/2.0/serving-endpoints"
DEFAULT_TIMEOUT_S = 90 * 60.0  # real PT deploys can take 30+ minutes; the SDK's 20 is too short
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
_MAX_POLL_FAILURES = 5


# --------------------------------------------------------------------------- names


def check_endpoint_name(name: str) -> str:
    """Return ``name`` if Databricks accepts it (1-63 letters, digits, ``-``, ``_``)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationError(
            f"Endpoint name {name!r} is invalid: use 1-63 letters, digits, '-' or '_' "
            f"(e.g. {suggest_endpoint_name(str(name or 'my-endpoint'))!r})."
        )
    return name


def suggest_endpoint_name(
    model: str, version: int | str | None = None, taken: Iterable[str] = ()
) -> str:
    """A valid, unused endpoint name for a model: ``smollm2-135m-instruct-v1``.

    Uses the model's last name segment (dots are not allowed in endpoint names), lowercased,
    with runs of other characters turned into ``-``; adds ``-2``, ``-3``… if ``taken``.
    """
    short = model.rsplit(".", 1)[-1]
    base = re.sub(r"[^a-z0-9-]+", "-", short.lower()).strip("-") or "endpoint"
    if version is not None and str(version).strip():
        base = f"{base}-v{re.sub(r'[^a-z0-9]+', '', str(version).lower())}"
    base = base[:59].rstrip("-")
    used = {t.lower() for t in taken}
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def suggest_endpoint_name_for(ws: Workspace, model: str, version: int | str | None = None) -> str:
    """:func:`suggest_endpoint_name` avoiding the endpoints that exist in the workspace."""
    return suggest_endpoint_name(model, version, (e.name for e in list_endpoints(ws)))


# --------------------------------------------------------------------------- list/get/delete


def _path(name: str) -> str:
    return f"{SERVING}/{quote(check_endpoint_name(name), safe='')}"


def list_endpoints(ws: Workspace) -> list[ServingEndpoint]:
    """All serving endpoints (the route is not paginated)."""
    body = ws.call("GET", SERVING)
    return [ServingEndpoint.from_wire(e) for e in body.get("endpoints") or []]


def endpoints_frame(ws: Workspace, *, detailed: bool = True) -> pd.DataFrame:
    """The endpoints as a DataFrame, one row each: state, task, model, sizing, creator.

    The list route only summarises each config (no sizing), so ``detailed`` (default) gets
    every endpoint too, eight at a time; ``detailed=False`` is one request and has no sizing.
    """
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    endpoints = list_endpoints(ws)
    if detailed and endpoints:

        def detail(summary: ServingEndpoint) -> ServingEndpoint:
            try:
                return get_endpoint(ws, summary.name)
            except NotFound:  # deleted between the list and the get
                return summary

        with ThreadPoolExecutor(max_workers=8) as pool:
            endpoints = list(pool.map(detail, endpoints))
    columns = list(ServingEndpoint(name="").to_row())
    return pd.DataFrame([e.to_row() for e in endpoints], columns=columns)


def get_endpoint(ws: Workspace, name: str) -> ServingEndpoint:
    """One endpoint with its live and pending config and state."""
    return ServingEndpoint.from_wire(ws.call("GET", _path(name)))


def endpoint_exists(ws: Workspace, name: str) -> bool:
    try:
        get_endpoint(ws, name)
    except NotFound:
        return False
    return True


def delete_endpoint(ws: Workspace, name: str, *, missing_ok: bool = True) -> bool:
    """Delete an endpoint; True if it existed. Deleting a missing one is fine by default."""
    try:
        ws.call("DELETE", _path(name))
    except NotFound:
        if not missing_ok:
            raise
        return False
    return True


def build_logs(ws: Workspace, name: str, served_model: str | None = None, tail: int = 40) -> str:
    """The last ``tail`` lines of a served entity's build logs (first entity by default)."""
    if served_model is None:
        entities = get_endpoint(ws, name).served_entities
        if not entities:
            return ""
        served_model = entities[0].name
    path = f"{_path(name)}/served-models/{quote(served_model, safe='')}/build-logs"
    text = str(ws.call("GET", path).get("logs") or "")
    return "\n".join(text.splitlines()[-tail:]) if tail else text


# --------------------------------------------------------------------------- progress/wait


@dataclass(frozen=True)
class Progress:
    """What a wait reports on every poll (also what a widget shows)."""

    name: str
    elapsed_s: float
    ready: str | None
    config_update: str | None
    deployment: str | None
    message: str
    endpoint: ServingEndpoint | None = None

    def describe(self) -> str:
        minutes, seconds = divmod(int(self.elapsed_s), 60)
        state = self.deployment or self.config_update or self.ready or "unknown"
        text = f"{self.name}: {state} after {minutes}m{seconds:02d}s"
        return f"{text} ({self.message})" if self.message else text


def _progress(endpoint: ServingEndpoint, elapsed: float) -> Progress:
    entities = endpoint.served_entities
    deployment = entities[0].deployment if entities else None
    return Progress(endpoint.name, elapsed, endpoint.state.ready, endpoint.state.config_update,
                    deployment, endpoint.state_message, endpoint)


def _failure(ws: Workspace, endpoint: ServingEndpoint) -> DeploymentFailed:
    entities = endpoint.served_entities
    failed = next((e for e in entities if e.deployment in FAILED_DEPLOYMENTS), None)
    entity = failed or (entities[0] if entities else None)
    logs = ""
    if entity is not None:
        try:
            logs = build_logs(ws, endpoint.name, entity.name)
        except PtWidgetsError:
            logs = ""
    message = endpoint.state_message
    status = endpoint.state.config_update or (entity.deployment if entity else "failed")
    sentence = f"Deploying endpoint '{endpoint.name}' failed ({status})"
    sentence += f": {message.rstrip('.')}" if message else ""
    sentence += "; the build-log tail is in .build_logs." if logs else "."
    return DeploymentFailed(sentence, endpoint=endpoint.name, state_message=message,
                            build_logs=logs)


def _entity_failed(endpoint: ServingEndpoint) -> bool:
    """An entity failed and nothing is still being rolled out (it will not recover)."""
    return not endpoint.is_updating and any(
        e.deployment in FAILED_DEPLOYMENTS for e in endpoint.served_entities
    )


def _poll_delay(attempt: int, poll_interval: float | None) -> float:
    """Fixed interval if given; else 0.5 s, 1 s, 2 s… up to 10 s (the SDK waiter's ceiling)."""
    if poll_interval is not None:
        return poll_interval
    return min(10.0, 0.5 * 2 ** min(attempt, 5))


def wait_until_ready(
    ws: Workspace,
    name: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: Callable[[Progress], Any] | None = None,
    cancel: threading.Event | None = None,
    poll_interval: float | None = None,
) -> ServingEndpoint:
    """Block until the endpoint is READY and not updating, then return it.

    Raises :class:`DeploymentFailed` (state message + build-log tail) when the update failed
    or was cancelled, :class:`WaitTimeout` after ``timeout`` seconds (default 90 minutes; the
    deployment goes on server-side), :class:`Cancelled` as soon as ``cancel`` is set.
    ``progress`` is called with a :class:`Progress` after every poll.
    """
    started = time.monotonic()
    attempt = failures = 0
    last: ServingEndpoint | None = None
    while True:
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"Stopped waiting for endpoint '{name}'; the deployment goes on "
                            "in the workspace.")
        try:
            last = get_endpoint(ws, name)
            failures = 0
        except (NotFound, ValidationError):
            raise
        except PtWidgetsError:
            failures += 1  # a hiccup while polling should not fail a 30-minute deploy
            if failures >= _MAX_POLL_FAILURES:
                raise
        elapsed = time.monotonic() - started
        if last is not None:
            if progress is not None:
                progress(_progress(last, elapsed))
            if last.is_ready:
                return last
            if last.update_failed or _entity_failed(last):
                raise _failure(ws, last)
        delay = _poll_delay(attempt, poll_interval)
        if elapsed + delay > timeout:
            state = _progress(last, elapsed).describe() if last else "no answer"
            raise WaitTimeout(
                f"Endpoint '{name}' is not ready after {timeout / 60:g} min ({state}); it may "
                f"still get there: wait again, or pass a longer timeout=."
            )
        if cancel is not None:
            cancel.wait(delay)
        else:
            time.sleep(delay)
        attempt += 1


# --------------------------------------------------------------------------- deploy


def _coerce_sizing(plan: SizingPlan, sizing: Sizing | dict[str, Any] | None) -> Sizing:
    if sizing is None:
        return plan.default()
    if isinstance(sizing, dict):
        return plan.validate(**sizing)
    if sizing.scheme != plan.scheme:
        raise SizingError(
            f"{plan.model} uses the {plan.scheme.replace('_', ' ')} scheme but the sizing is in "
            f"{sizing.scheme.replace('_', ' ')}; build it with the model's sizing plan."
        )
    if sizing.scheme == MODEL_UNITS:
        return plan.validate(model_units=sizing.provisioned_model_units)
    return plan.validate(sizing.max_provisioned_throughput, sizing.min_provisioned_throughput,
                         scale_to_zero=sizing.scale_to_zero_enabled)


def _matches(entities: Iterable[Any], wanted: ServedEntityInput) -> bool:
    entities = list(entities)
    return len(entities) == 1 and entities[0].same_sizing(wanted)


def _create(ws: Workspace, name: str, entity: ServedEntityInput, scheme: str,
            tags: dict[str, str] | None) -> ServingEndpoint:
    if scheme == MODEL_UNITS:
        body = ws.call("POST", f"{SERVING}/pt", json=pt_create_request(name, [entity], tags))
    else:
        body = ws.call("POST", SERVING, json=create_endpoint_request(name, [entity], tags))
    return ServingEndpoint.from_wire(body)


def _update(ws: Workspace, name: str, entity: ServedEntityInput, scheme: str) -> ServingEndpoint:
    if scheme == MODEL_UNITS:
        path = f"{SERVING}/pt/{quote(name, safe='')}/config"
        body = ws.call("PUT", path, json=pt_update_request([entity]))
    else:
        body = ws.call("PUT", f"{_path(name)}/config", json=update_config_request([entity]))
    return ServingEndpoint.from_wire(body)


def _apply(ws: Workspace, name: str, entity: ServedEntityInput, scheme: str,
           tags: dict[str, str] | None) -> ServingEndpoint:
    """Create, update, or leave alone: the idempotent heart of :func:`deploy`."""
    try:
        current = get_endpoint(ws, name)
    except NotFound:
        try:
            return _create(ws, name, entity, scheme, tags)
        except Conflict:
            current = get_endpoint(ws, name)  # created concurrently: treat as an update
    if current.is_updating:
        if current.pending_config and _matches(current.pending_config.served_entities, entity):
            return current  # the same deploy is already rolling out: just wait for it
        raise Conflict(
            f"Endpoint '{name}' is already being updated to a different config; wait for it "
            "to finish (wait_until_ready) before deploying again.",
            status=409, error_code="RESOURCE_CONFLICT",
        )
    if not current.update_failed and _matches(current.live_entities, entity):
        return current  # already serving exactly this: nothing to do
    return _update(ws, name, entity, scheme)


def deploy(
    ws: Workspace,
    name: str,
    model: str,
    version: int | str,
    sizing: Sizing | dict[str, Any] | None = None,
    *,
    served_entity_name: str | None = None,
    tags: dict[str, str] | None = None,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: Callable[[Progress], Any] | None = None,
    cancel: threading.Event | None = None,
    poll_interval: float | None = None,
) -> ServingEndpoint:
    """Create or update endpoint ``name`` to serve ``model`` ``version`` with ``sizing``.

    ``sizing`` is a :class:`Sizing` from the model's plan, a dict of
    :meth:`SizingPlan.validate` arguments (``{"max_throughput": 1940}`` or
    ``{"model_units": 50}``), or ``None`` for the smallest always-on size. It is validated
    against the model's optimization info before any write. ``version`` may be an alias.
    With ``wait`` (default) returns once READY (see :func:`wait_until_ready`); otherwise
    returns the endpoint as the create/update call left it.
    """
    check_endpoint_name(name)
    plan = sizing_plan(ws, model, version)
    chosen = _coerce_sizing(plan, sizing)
    entity = plan.served_entity(chosen, name=served_entity_name)
    endpoint = _apply(ws, name, entity, plan.scheme, tags)
    if not wait:
        return endpoint
    if progress is not None:
        progress(_progress(endpoint, 0.0))
    return wait_until_ready(ws, name, timeout=timeout, progress=progress, cancel=cancel,
                            poll_interval=poll_interval)


class Deployment:
    """A deploy running on a background thread: poll ``.progress``, ``.cancel()``, ``.result()``.

    Cancelling stops *waiting* (the workspace keeps deploying; delete the endpoint to stop it).
    """

    def __init__(self, ws: Workspace, name: str, model: str, version: int | str,
                 sizing: Sizing | dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.name = name
        self.progress: Progress | None = None
        self.endpoint: ServingEndpoint | None = None
        self.error: BaseException | None = None
        self._cancel = threading.Event()
        self._user_progress: Callable[[Progress], Any] | None = kwargs.pop("progress", None)
        self._args = (ws, name, model, version, sizing)
        self._kwargs = kwargs
        self._thread = threading.Thread(target=self._run, name=f"deploy-{name}", daemon=True)
        self._thread.start()

    def _on_progress(self, progress: Progress) -> None:
        self.progress = progress
        if self._user_progress is not None:
            self._user_progress(progress)

    def _run(self) -> None:
        try:
            self.endpoint = deploy(*self._args, progress=self._on_progress, cancel=self._cancel,
                                   **self._kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to result()
            self.error = exc

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def cancel(self) -> None:
        self._cancel.set()

    def result(self, timeout: float | None = None) -> ServingEndpoint:
        """Wait for the deploy; return the ready endpoint or raise its error."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise WaitTimeout(f"Deployment of '{self.name}' is still running.")
        if self.error is not None:
            raise self.error
        assert self.endpoint is not None
        return self.endpoint

    def __repr__(self) -> str:
        state = "done" if self.done else (self.progress.describe() if self.progress else "starting")
        return f"<Deployment {self.name!r}: {state}>"


def deploy_in_background(ws: Workspace, name: str, model: str, version: int | str,
                         sizing: Sizing | dict[str, Any] | None = None,
                         **kwargs: Any) -> Deployment:
    """Start :func:`deploy` on a thread and return its :class:`Deployment` handle at once."""
    return Deployment(ws, name, model, version, sizing, **kwargs)

