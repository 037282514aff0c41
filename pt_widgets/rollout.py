"""Roll a version out next to the live one: several served entities behind one endpoint and
the traffic split between them.

Every function here reads the endpoint's *live* config, changes one thing (an entity added
or removed, or the split) and sends the whole config back with ``PUT .../config``, keeping the
other entities' names and sizing exactly as they are (so on the local workspace a routes-only
change reloads no weights). Splits are checked before anything is written: percentages are
whole numbers 0-100 adding up to 100, and name served entities of the endpoint; a bad one
raises one sentence and sends nothing.

"Roll back" means: all traffic back to the *oldest* served entity, the first of the live
config. :func:`add_entity` appends the new entity after the live ones, so the first entity is
the one that served before the rollout began; rolling back is therefore right after a partial
split, a promote, or both, and needs no history kept anywhere (it survives restarts and works
from another notebook). Once that entity is removed, the next oldest takes its place.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import quote

from .endpoints import (
    SERVING,
    Progress,
    _coerce_sizing,
    check_endpoint_name,
    get_endpoint,
    wait_until_ready,
)
from .errors import Conflict, ValidationError
from .sizing import Sizing, sizing_plan
from .wire import ServedEntityInput, ServingEndpoint, update_config_request

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Unpack

    from .workspace import Workspace

__all__ = ["add_entity", "set_traffic", "promote", "rollback", "remove_entity",
           "check_split"]


# --------------------------------------------------------------------------- checks


def check_split(split: Mapping[str, Any], names: list[str] | None = None) -> dict[str, int]:
    """Return ``split`` as ``{entity: percentage}`` if it is a valid traffic split.

    Percentages are whole numbers from 0 to 100 adding up to 100; with ``names`` (the
    endpoint's served entities) every key must be one of them. Raises
    :class:`~pt_widgets.errors.ValidationError` with one sentence naming the rule otherwise.
    """
    if not isinstance(split, Mapping) or not split:
        raise ValidationError(
            "A traffic split must be a non-empty dict of served entity name -> percentage, "
            f"e.g. {{'entity-a': 90, 'entity-b': 10}}; got {split!r}.")
    for name, pct in split.items():
        if not isinstance(pct, int) or isinstance(pct, bool) or not 0 <= pct <= 100:
            raise ValidationError(f"The traffic percentage of {name!r} must be a whole number "
                                  f"from 0 to 100, got {pct!r}.")
    total = sum(split.values())
    if total != 100:
        raise ValidationError(f"Traffic percentages must add up to 100, got {total} "
                              f"({', '.join(f'{k}: {v}' for k, v in split.items())}).")
    if names is not None:
        unknown = [name for name in split if name not in names]
        if unknown:
            raise ValidationError(
                f"The traffic split names {', '.join(map(repr, unknown))}, which "
                f"{'is' if len(unknown) == 1 else 'are'} not served by this endpoint (it "
                f"serves {', '.join(map(repr, names))}).")
    return {str(name): int(pct) for name, pct in split.items()}


def _live(ws: Workspace, endpoint: str) -> ServingEndpoint:
    """The endpoint, if its live config may be changed now (not mid-update, has a config)."""
    current = get_endpoint(ws, endpoint)
    if current.is_updating:
        raise Conflict(
            f"Endpoint '{endpoint}' is being updated; wait for it to finish (ws.wait) before "
            "changing its served entities or traffic.",
            status=409, error_code="RESOURCE_CONFLICT")
    if not current.served_entities:
        raise ValidationError(f"Endpoint '{endpoint}' has no live config yet; wait until its "
                              "first deploy is ready.")
    return current


def _names(endpoint: ServingEndpoint) -> list[str]:
    return [e.name for e in endpoint.served_entities]


def _require(entity: Any, names: list[str], endpoint: str, role: str) -> str:
    if entity not in names:
        raise ValidationError(f"Endpoint '{endpoint}' serves no entity named {entity!r} "
                              f"({role}); it serves {', '.join(map(repr, names))}.")
    return str(entity)


def _scaled(split: dict[str, int], total: int) -> dict[str, int]:
    """``split`` scaled to add up to ``total`` (largest remainders get the rounding)."""
    weight = sum(split.values())
    if not split:
        return {}
    if weight == 0:  # nobody had traffic: the first entity takes it
        return {name: total if i == 0 else 0 for i, name in enumerate(split)}
    exact = {name: pct * total / weight for name, pct in split.items()}
    out = {name: int(value) for name, value in exact.items()}
    by_remainder = sorted(exact, key=lambda n: exact[n] - out[n], reverse=True)
    for name in by_remainder[: total - sum(out.values())]:
        out[name] += 1
    return out


# --------------------------------------------------------------------------- update


def _send(ws: Workspace, endpoint: str, entities: list[ServedEntityInput],
          routes: dict[str, int], wait: bool, **waiting: Any) -> ServingEndpoint:
    """PUT the whole config (entities + split); with ``wait``, return once READY again."""
    path = f"{SERVING}/{quote(check_endpoint_name(endpoint), safe='')}/config"
    updated = ServingEndpoint.from_wire(
        ws.call("PUT", path, json=update_config_request(entities, routes)))
    if not wait:
        return updated
    return wait_until_ready(ws, endpoint, **waiting)


class Waiting(TypedDict, total=False):
    """How the functions here wait for READY after a change (``wait=True``): the options of
    :func:`~pt_widgets.endpoints.wait_until_ready` (``timeout`` defaults to 90 minutes)."""

    timeout: float
    progress: Callable[[Progress], Any] | None
    cancel: threading.Event | None
    poll_interval: float | None


def _entity_name(model: str, version: int | str, taken: list[str]) -> str:
    """``<model's last segment>-<version>``, made unique among ``taken`` with ``-2``…"""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{model.rsplit('.', 1)[-1]}-{version}")[:60]
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def add_entity(
    ws: Workspace,
    endpoint: str,
    model: str,
    version: int | str,
    sizing: Sizing | dict[str, Any] | None = None,
    *,
    traffic: int = 10,
    name: str | None = None,
    wait: bool = True,
    **waiting: Unpack[Waiting],
) -> ServingEndpoint:
    """Serve ``model`` ``version`` next to the live entities with its own ``sizing`` and
    ``traffic`` percent of the requests (a canary: 10 % by default).

    The live entities keep their sizing and share the remaining ``100 - traffic`` percent in
    their current proportions. ``name`` defaults to ``<model>-<version>`` (made unique).
    ``sizing`` is as for :func:`~pt_widgets.endpoints.deploy`, validated before any write.
    """
    if not isinstance(traffic, int) or isinstance(traffic, bool) or not 0 <= traffic <= 100:
        raise ValidationError(f"traffic= must be a whole percentage from 0 to 100, got "
                              f"{traffic!r}.")
    current = _live(ws, endpoint)
    names = _names(current)
    if name is not None and name in names:
        raise ValidationError(f"Endpoint '{endpoint}' already serves an entity named {name!r}; "
                              "pick another name=, or set_traffic to move traffic to it.")
    plan = sizing_plan(ws, model, version)
    entity = plan.served_entity(_coerce_sizing(plan, sizing),
                                name=name or _entity_name(model, version, names))
    routes = {**_scaled(current.traffic, 100 - traffic), str(entity.name): traffic}
    entities = [ServedEntityInput.keeping(e) for e in current.served_entities] + [entity]
    return _send(ws, endpoint, entities, routes, wait,
                 **waiting)


def set_traffic(
    ws: Workspace,
    endpoint: str,
    split: Mapping[str, int],
    *,
    wait: bool = True,
    **waiting: Unpack[Waiting],
) -> ServingEndpoint:
    """Split the endpoint's traffic as ``split`` says: ``{"entity-a": 90, "entity-b": 10}``.

    Entities left out of ``split`` get 0 %. Checked by :func:`check_split` before anything is
    sent; the entities themselves (and their sizing) stay as they are.
    """
    check_split(split)
    current = _live(ws, endpoint)
    routes = check_split(split, _names(current))
    routes = {**routes, **{n: 0 for n in _names(current) if n not in routes}}
    if routes == current.traffic:
        return wait_until_ready(ws, endpoint, **waiting) if wait else current
    entities = [ServedEntityInput.keeping(e) for e in current.served_entities]
    return _send(ws, endpoint, entities, routes, wait,
                 **waiting)


def promote(ws: Workspace, endpoint: str, entity: str, **options: Any) -> ServingEndpoint:
    """Send 100 % of the traffic to served entity ``entity`` (the others stay, at 0 %, so
    :func:`rollback` is instant). Options as for :func:`set_traffic`."""
    return set_traffic(ws, endpoint, {entity: 100}, **options)


def rollback(ws: Workspace, endpoint: str, **options: Any) -> ServingEndpoint:
    """Send 100 % of the traffic back to the oldest served entity (the first of the live
    config: the one that served before :func:`add_entity` added the others). Options as for
    :func:`set_traffic`."""
    oldest = _live(ws, endpoint).served_entities[0].name
    return set_traffic(ws, endpoint, {oldest: 100}, **options)


def remove_entity(
    ws: Workspace,
    endpoint: str,
    entity: str,
    *,
    move_traffic_to: str | None = None,
    wait: bool = True,
    **waiting: Unpack[Waiting],
) -> ServingEndpoint:
    """Stop serving ``entity``. Refuses the endpoint's last entity (delete the endpoint
    instead) and an entity that still has traffic, unless ``move_traffic_to`` names the
    entity that takes its share."""
    current = _live(ws, endpoint)
    names, routes = _names(current), dict(current.traffic)
    _require(entity, names, endpoint, "the entity to remove")
    if len(names) == 1:
        raise ValidationError(f"{entity!r} is the only entity of endpoint '{endpoint}'; "
                              "delete the endpoint instead of removing its last entity.")
    share = routes.pop(entity, 0)
    if share and move_traffic_to is None:
        raise ValidationError(
            f"{entity!r} still gets {share} % of the traffic of endpoint '{endpoint}'; move it "
            "first (set_traffic / promote) or pass move_traffic_to=<another entity>.")
    if share:
        target = _require(move_traffic_to, [n for n in names if n != entity], endpoint,
                          "move_traffic_to")
        routes[target] = routes.get(target, 0) + share
    entities = [ServedEntityInput.keeping(e) for e in current.served_entities
                if e.name != entity]
    return _send(ws, endpoint, entities, routes, wait,
                 **waiting)
