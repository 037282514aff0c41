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
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .catalog import Listing
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
from .transport import in_background, with_retries
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
    from .workspace import Workspace

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Progress",
    "Deployment",
    "check_endpoint_name",
    "suggest_endpoint_name",
    "list_endpoints",
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
# how long polls may keep failing in a row (server restarting, network blip) before a wait
# gives up: counted in time, not in tries, because a restart takes as long as it takes (a
# busy machine needs longer to start a server than an idle one)
_MAX_OUTAGE_S = 60.0


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
    model: str, version: int | str | None = None, taken: Iterable[str] | Workspace = ()
) -> str:
    """A valid, unused endpoint name for a model: ``smollm2-135m-instruct-v1``.

    Uses the model's last name segment (dots are not allowed in endpoint names), lowercased,
    with runs of other characters turned into ``-``; adds ``-2``, ``-3``… if ``taken``.
    ``taken`` is names, or a workspace (its endpoints' names): ``ws.suggest_endpoint_name(
    model, version)`` is this function with ``taken=ws``.
    """
    if hasattr(taken, "request"):  # a Workspace: avoid the endpoints it has
        taken = [e.name for e in list_endpoints(taken)]  # type: ignore[arg-type]
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


# --------------------------------------------------------------------------- list/get/delete


def _path(name: str) -> str:
    return f"{SERVING}/{quote(check_endpoint_name(name), safe='')}"


def list_endpoints(ws: Workspace, *, detailed: bool = False) -> Listing[ServingEndpoint]:
    """All serving endpoints, as a :class:`~pt_widgets.catalog.Listing` like every listing
    (iterate it, or ``.to_pandas()``: one row each with state, task, model, sizing, creator).

    The list route only summarises each config (no sizing), so ``detailed=True`` also gets
    every endpoint, eight at a time; the default is the one request. The route is not
    paginated: the listing has one page.
    """

    def pages() -> Iterator[list[ServingEndpoint]]:
        body = ws.call("GET", SERVING)
        summaries = [ServingEndpoint.from_wire(e) for e in body.get("endpoints") or []]
        yield _details(ws, summaries) if detailed else summaries

    return Listing(pages(), what="serving endpoints",
                   columns=list(ServingEndpoint(name="").to_row()))


def _details(ws: Workspace, summaries: list[ServingEndpoint]) -> list[ServingEndpoint]:
    from concurrent.futures import ThreadPoolExecutor

    def detail(summary: ServingEndpoint) -> ServingEndpoint:
        try:
            return get_endpoint(ws, summary.name)
        except NotFound:  # deleted between the list and the get
            return summary

    if not summaries:
        return []
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(detail, summaries))


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
        entities = get_endpoint(ws, name).latest_served_entities
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
    entities = endpoint.latest_served_entities
    deployment = entities[0].deployment if entities else None
    return Progress(endpoint.name, elapsed, endpoint.state.ready, endpoint.state.config_update,
                    deployment, endpoint.state_message, endpoint)


def _failure(ws: Workspace, endpoint: ServingEndpoint) -> DeploymentFailed:
    entities = endpoint.latest_served_entities
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
        e.deployment in FAILED_DEPLOYMENTS for e in endpoint.latest_served_entities
    )


def _poll_delay(attempt: int, poll_interval: float | None) -> float:
    """Fixed interval if given; else 0.5 s, 1 s, 2 s… up to 10 s (the SDK waiter's ceiling)."""
    if poll_interval is not None:
        return poll_interval
    return min(10.0, 0.5 * 2 ** min(attempt, 5))


class _NotReadyYet(Exception):
    """One poll found the endpoint still deploying: wait and poll again."""

    def __init__(self, endpoint: ServingEndpoint) -> None:
        super().__init__(endpoint.name)
        self.endpoint = endpoint


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
    last: list[ServingEndpoint] = []
    outage_since: float | None = None

    def poll() -> ServingEndpoint:
        nonlocal outage_since
        endpoint = get_endpoint(ws, name)
        outage_since = None
        last[:] = [endpoint]
        if progress is not None:
            progress(_progress(endpoint, time.monotonic() - started))
        if endpoint.is_ready:
            return endpoint
        if endpoint.update_failed or _entity_failed(endpoint):
            raise _failure(ws, endpoint)
        raise _NotReadyYet(endpoint)

    def delay_after(exc: Exception, attempt: int, elapsed: float) -> float | None:
        nonlocal outage_since
        if not isinstance(exc, _NotReadyYet):
            if isinstance(exc, (NotFound, ValidationError, DeploymentFailed)) or not isinstance(
                    exc, PtWidgetsError):
                return None
            # a hiccup while polling should not fail a 30-minute deploy; a server gone for
            # longer than _MAX_OUTAGE_S is reported (in its own one sentence)
            now = time.monotonic()
            outage_since = now if outage_since is None else outage_since
            if now - outage_since >= _MAX_OUTAGE_S:
                return None
        delay = _poll_delay(attempt, poll_interval)
        if elapsed + delay > timeout:
            state = _progress(last[0], elapsed).describe() if last else "no answer"
            raise WaitTimeout(
                f"Endpoint '{name}' is not ready after {timeout / 60:g} min ({state}); it may "
                f"still get there: wait again, or pass a longer timeout=."
            ) from None
        return delay

    return with_retries(poll, delay_after, cancel=cancel, cancelled=lambda: Cancelled(
        f"Stopped waiting for endpoint '{name}'; the deployment goes on in the workspace."))


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
        if _matches(current.pending_served_entities, entity):
            return current  # the same deploy is already rolling out: just wait for it
        raise Conflict(
            f"Endpoint '{name}' is already being updated to a different config; wait for it "
            "to finish (wait_until_ready) before deploying again.",
            status=409, error_code="RESOURCE_CONFLICT",
        )
    if not current.update_failed and _matches(current.served_entities, entity):
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
    """A deploy running in the background, built on a ``concurrent.futures.Future``.

    ``.progress`` is the last :class:`Progress`; ``.done``; ``.result(timeout)`` returns the
    ready endpoint or raises the deploy's error; ``.cancel()`` stops *waiting* (the
    workspace keeps deploying; delete the endpoint to stop it); ``.future`` is the Future
    itself (``add_done_callback``, ``concurrent.futures.wait``…).
    """

    def __init__(self, ws: Workspace, name: str, model: str, version: int | str,
                 sizing: Sizing | dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.name = name
        self.progress: Progress | None = None
        self._cancel = threading.Event()
        self._user_progress: Callable[[Progress], Any] | None = kwargs.pop("progress", None)
        self.future: Future[ServingEndpoint] = in_background(
            deploy, ws, name, model, version, sizing, progress=self._on_progress,
            cancel=self._cancel, name=f"deploy-{name}", **kwargs)

    def _on_progress(self, progress: Progress) -> None:
        self.progress = progress
        if self._user_progress is not None:
            self._user_progress(progress)

    @property
    def done(self) -> bool:
        return self.future.done()

    @property
    def endpoint(self) -> ServingEndpoint | None:
        """The ready endpoint once the deploy succeeded, else ``None``."""
        ok = self.future.done() and self.future.exception() is None
        return self.future.result() if ok else None

    @property
    def error(self) -> BaseException | None:
        """The deploy's error once it failed, else ``None``."""
        return self.future.exception() if self.future.done() else None

    def cancel(self) -> bool:
        """Stop waiting (``result()`` then raises :class:`Cancelled`); True if still running."""
        self._cancel.set()
        return not self.future.done()

    def add_done_callback(self, fn: Callable[[Deployment], Any]) -> None:
        """Call ``fn(self)`` when the deploy ends (at once if it has), from its thread."""
        self.future.add_done_callback(lambda _future: fn(self))

    def result(self, timeout: float | None = None) -> ServingEndpoint:
        """Wait for the deploy; return the ready endpoint or raise its error."""
        try:
            return self.future.result(timeout)
        except FutureTimeout:
            raise WaitTimeout(f"Deployment of '{self.name}' is still running.") from None

    def __repr__(self) -> str:
        state = "done" if self.done else (self.progress.describe() if self.progress else "starting")
        return f"<Deployment {self.name!r}: {state}>"


def deploy_in_background(ws: Workspace, name: str, model: str, version: int | str,
                         sizing: Sizing | dict[str, Any] | None = None,
                         **kwargs: Any) -> Deployment:
    """Start :func:`deploy` on a thread and return its :class:`Deployment` handle at once."""
    return Deployment(ws, name, model, version, sizing, **kwargs)
