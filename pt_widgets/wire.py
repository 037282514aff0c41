"""The one place that maps wire JSON to Python objects and back.

Field names are the wire's (``entity_version``, ``throughput_chunk_size``, ``config_update``…)
so a reader can hold this file against the contract (docs/databricks-api.md) line by line.
Objects are frozen dataclasses built with ``from_wire``; each keeps the full JSON it came
from in ``raw`` (excluded from repr and equality) so nothing the server sends is lost.
Request bodies are built by ``*_request`` functions that drop unset fields, because the
server treats an absent field and an explicit ``null`` differently.

Why one module of about 700 lines: the architecture keeps *one* place in the client that
maps wire JSON to Python, so a field name lives here and nowhere else; the sections
(Unity Catalog, optimization info, serving endpoints, request bodies, query answers) are
plain frozen dataclasses with no logic beyond parsing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")
JSON = dict[str, Any]

__all__ = [
    "CatalogInfo",
    "SchemaInfo",
    "ModelAlias",
    "RegisteredModel",
    "ModelVersion",
    "OptimizationInfo",
    "ServedEntityInput",
    "ServedEntity",
    "EndpointState",
    "EndpointConfig",
    "ServingEndpoint",
    "Usage",
    "TopLogprob",
    "TokenLogprob",
    "Choice",
    "Completion",
    "ChatCompletion",
    "EmbeddingItem",
    "EmbeddingsResponse",
    "ChatChunk",
    "to_row",
    "drop_none",
    "create_endpoint_request",
    "update_config_request",
    "pt_create_request",
    "pt_update_request",
]


def drop_none(body: JSON) -> JSON:
    """Remove keys whose value is ``None`` (unset), recursively for dicts inside lists too."""
    out: JSON = {}
    for key, value in body.items():
        if value is None:
            continue
        if isinstance(value, dict):
            value = drop_none(value)
        elif isinstance(value, list):
            value = [drop_none(v) if isinstance(v, dict) else v for v in value]
        out[key] = value
    return out


def _simple(cls: type[T], wire: JSON | None, /, **overrides: Any) -> T:
    """Build ``cls`` from the wire keys that match its field names; keep everything in raw."""
    wire = wire or {}
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    kwargs = {k: v for k, v in wire.items() if k in names and k != "raw"}
    kwargs.update(overrides)
    if "raw" in names:
        kwargs["raw"] = wire
    return cls(**kwargs)


def to_row(obj: Any) -> JSON:
    """A flat-ish dict for a DataFrame row: the dataclass fields without ``raw``."""
    row = asdict(obj)
    row.pop("raw", None)
    return row


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- Unity Catalog


@dataclass(frozen=True)
class CatalogInfo:
    name: str
    comment: str | None = None
    owner: str | None = None
    catalog_type: str | None = None
    created_at: int | None = None
    updated_at: int | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: JSON) -> CatalogInfo:
        return _simple(cls, data)


@dataclass(frozen=True)
class SchemaInfo:
    name: str
    catalog_name: str
    full_name: str
    comment: str | None = None
    owner: str | None = None
    created_at: int | None = None
    updated_at: int | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: JSON) -> SchemaInfo:
        full = data.get("full_name") or f"{data.get('catalog_name')}.{data.get('name')}"
        return _simple(cls, data, full_name=full)


@dataclass(frozen=True)
class ModelAlias:
    alias_name: str
    version_num: int

    @classmethod
    def from_wire(cls, data: JSON) -> ModelAlias:
        return cls(alias_name=str(data.get("alias_name")), version_num=int(data["version_num"]))


def _aliases(data: JSON) -> tuple[ModelAlias, ...]:
    return tuple(ModelAlias.from_wire(a) for a in data.get("aliases") or [] if "version_num" in a)


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    catalog_name: str
    schema_name: str
    full_name: str
    comment: str | None = None
    owner: str | None = None
    created_at: int | None = None
    updated_at: int | None = None
    aliases: tuple[ModelAlias, ...] = ()
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: JSON) -> RegisteredModel:
        full = data.get("full_name") or ".".join(
            str(data.get(k)) for k in ("catalog_name", "schema_name", "name")
        )
        return _simple(cls, data, full_name=full, aliases=_aliases(data))


@dataclass(frozen=True)
class ModelVersion:
    """A UC model version. ``version`` is an int on the UC wire (serving uses a string)."""

    model_name: str
    catalog_name: str
    schema_name: str
    version: int
    status: str | None = None
    source: str | None = None
    run_id: str | None = None
    comment: str | None = None
    created_at: int | None = None
    created_by: str | None = None
    aliases: tuple[ModelAlias, ...] = ()
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @property
    def full_name(self) -> str:
        return f"{self.catalog_name}.{self.schema_name}.{self.model_name}"

    @property
    def alias_names(self) -> tuple[str, ...]:
        return tuple(a.alias_name for a in self.aliases)

    @classmethod
    def from_wire(cls, data: JSON, aliases: tuple[ModelAlias, ...] | None = None) -> ModelVersion:
        return _simple(
            cls,
            data,
            version=int(data["version"]),
            aliases=aliases if aliases is not None else _aliases(data),
        )


# --------------------------------------------------------------------------- optimization info


@dataclass(frozen=True)
class OptimizationInfo:
    """``GET …/get-model-optimization-info/{model}/{version}``.

    ``throughput_chunk_size`` (tokens/s per increment) marks the tokens-per-second scheme;
    ``model_unit_chunk_size`` the model-unit scheme; ``dbus`` is DBUs per hour per chunk.
    """

    optimizable: bool
    model_type: str | None = None
    throughput_chunk_size: int | None = None
    model_unit_chunk_size: int | None = None
    dbus: float | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: JSON) -> OptimizationInfo:
        dbus = data.get("dbus")
        return _simple(
            cls,
            data,
            optimizable=bool(data.get("optimizable", False)),
            throughput_chunk_size=_int_or_none(data.get("throughput_chunk_size")),
            model_unit_chunk_size=_int_or_none(data.get("model_unit_chunk_size")),
            dbus=float(dbus) if isinstance(dbus, (int, float)) else None,
        )


# --------------------------------------------------------------------------- serving endpoints


@dataclass(frozen=True)
class ServedEntityInput:
    """One served entity of a create/update request (only the PT-relevant fields)."""

    entity_name: str
    entity_version: str
    name: str | None = None
    min_provisioned_throughput: int | None = None
    max_provisioned_throughput: int | None = None
    provisioned_model_units: int | None = None
    scale_to_zero_enabled: bool | None = None
    burst_scaling_enabled: bool | None = None

    def to_wire(self) -> JSON:
        return drop_none(asdict(self))

    @classmethod
    def keeping(cls, entity: ServedEntity) -> ServedEntityInput:
        """A live entity as a request entity with its own name and sizing: what an update that
        adds, removes or re-routes *other* entities sends for it so it stays as it is."""
        return cls(
            entity_name=str(entity.entity_name),
            entity_version=str(entity.entity_version),
            name=entity.name,
            min_provisioned_throughput=entity.min_provisioned_throughput,
            max_provisioned_throughput=entity.max_provisioned_throughput,
            provisioned_model_units=entity.provisioned_model_units,
            scale_to_zero_enabled=entity.scale_to_zero_enabled,
        )

    def to_pt_wire(self) -> JSON:
        """The ``PtServedModel`` shape of the model-unit route (no throughput, no scale-to-zero)."""
        body = self.to_wire()
        for key in ("min_provisioned_throughput", "max_provisioned_throughput",
                    "scale_to_zero_enabled"):
            body.pop(key, None)
        return body


@dataclass(frozen=True)
class ServedEntity:
    name: str
    entity_name: str | None = None
    entity_version: str | None = None
    min_provisioned_throughput: int | None = None
    max_provisioned_throughput: int | None = None
    provisioned_model_units: int | None = None
    scale_to_zero_enabled: bool | None = None
    workload_size: str | None = None
    workload_type: str | None = None
    deployment: str | None = None
    deployment_state_message: str | None = None
    dbus: float | None = None
    min_dbus: float | None = None
    max_dbus: float | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: JSON) -> ServedEntity:
        state = data.get("state") or {}
        version = data.get("entity_version", data.get("model_version"))
        return _simple(
            cls,
            data,
            name=str(data.get("name", "")),
            entity_name=data.get("entity_name") or data.get("model_name"),
            entity_version=None if version is None else str(version),
            deployment=state.get("deployment"),
            deployment_state_message=state.get("deployment_state_message"),
        )

    def same_sizing(self, other: ServedEntityInput) -> bool:
        """Whether this running entity already is what ``other`` asks for (idempotent deploys)."""
        return (
            self.entity_name == other.entity_name
            and str(self.entity_version) == str(other.entity_version)
            and (other.name is None or self.name == other.name)
            and (self.min_provisioned_throughput or 0) == (other.min_provisioned_throughput or 0)
            and (self.max_provisioned_throughput or 0) == (other.max_provisioned_throughput or 0)
            and (self.provisioned_model_units or 0) == (other.provisioned_model_units or 0)
            and bool(self.scale_to_zero_enabled) == bool(other.scale_to_zero_enabled)
        )


@dataclass(frozen=True)
class EndpointState:
    ready: str | None = None
    config_update: str | None = None

    @classmethod
    def from_wire(cls, data: JSON | None) -> EndpointState:
        data = data or {}
        # some docs use update_state for config_update; accept both
        return cls(ready=data.get("ready"),
                   config_update=data.get("config_update") or data.get("update_state"))


@dataclass(frozen=True)
class EndpointConfig:
    config_version: int | None = None
    served_entities: tuple[ServedEntity, ...] = ()
    traffic_config: JSON | None = None
    start_time: int | None = None

    @classmethod
    def from_wire(cls, data: JSON | None) -> EndpointConfig | None:
        if not data:
            return None
        entities = data.get("served_entities") or data.get("served_models") or []
        return cls(
            config_version=_int_or_none(data.get("config_version")),
            served_entities=tuple(ServedEntity.from_wire(e) for e in entities),
            traffic_config=data.get("traffic_config"),
            start_time=_int_or_none(data.get("start_time")),
        )

    @property
    def routes(self) -> dict[str, int]:
        """The traffic split, served entity name -> percentage, in route order. Routes may
        name the entity by ``served_entity_name`` or the older ``served_model_name``; an
        entity without a route gets 0 %, and a config without routes sends all traffic to its
        only entity (how the server defaults it)."""
        routes = (self.traffic_config or {}).get("routes") or []
        split = {str(r.get("served_entity_name") or r.get("served_model_name")):
                 int(r.get("traffic_percentage") or 0) for r in routes}
        if not split and len(self.served_entities) == 1:
            return {self.served_entities[0].name: 100}
        return {**split, **{e.name: 0 for e in self.served_entities if e.name not in split}}


FAILED_UPDATES = ("UPDATE_FAILED", "UPDATE_CANCELED")
FAILED_DEPLOYMENTS = ("DEPLOYMENT_FAILED", "DEPLOYMENT_ABORTED")


@dataclass(frozen=True)
class ServingEndpoint:
    """A serving endpoint from get/list/create/update (list elements carry a summary config)."""

    name: str
    id: str | None = None
    creator: str | None = None
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    state: EndpointState = field(default_factory=EndpointState)
    task: str | None = None
    config: EndpointConfig | None = None
    pending_config: EndpointConfig | None = None
    permission_level: str | None = None
    route_optimized: bool | None = None
    tags: tuple[JSON, ...] = ()
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: JSON) -> ServingEndpoint:
        return _simple(
            cls,
            data,
            name=str(data["name"]),
            state=EndpointState.from_wire(data.get("state")),
            config=EndpointConfig.from_wire(data.get("config")),
            pending_config=EndpointConfig.from_wire(data.get("pending_config")),
            tags=tuple(data.get("tags") or ()),
        )

    @property
    def is_ready(self) -> bool:
        """READY and not updating: the moment a deploy is done."""
        return self.state.ready == "READY" and self.state.config_update in (None, "NOT_UPDATING")

    @property
    def is_updating(self) -> bool:
        return self.state.config_update == "IN_PROGRESS"

    @property
    def update_failed(self) -> bool:
        return self.state.config_update in FAILED_UPDATES

    @property
    def served_entities(self) -> tuple[ServedEntity, ...]:
        """The entities of the live config: what answers queries now."""
        return self.config.served_entities if self.config else ()

    @property
    def pending_served_entities(self) -> tuple[ServedEntity, ...]:
        """The entities of the pending config (being rolled out), ``()`` when none is."""
        return self.pending_config.served_entities if self.pending_config else ()

    @property
    def latest_served_entities(self) -> tuple[ServedEntity, ...]:
        """The pending entities during an update, else the live ones: what a deploy waits on."""
        return self.pending_served_entities or self.served_entities

    @property
    def traffic(self) -> dict[str, int]:
        """The live traffic split (served entity name -> percentage), ``{}`` before the first
        config is live."""
        return self.config.routes if self.config else {}

    @property
    def display_entity(self) -> ServedEntity | None:
        """The first live entity, or the first pending one while the first config rolls out:
        the one a listing row shows."""
        entities = self.served_entities or self.pending_served_entities
        return entities[0] if entities else None

    @property
    def state_message(self) -> str:
        """The most useful deployment message of the latest entities: the failed entity's
        (the reason), then an aborted one's, then the others'."""
        entities = sorted(self.latest_served_entities,
                          key=lambda e: (e.deployment != FAILED_DEPLOYMENTS[0],
                                         e.deployment not in FAILED_DEPLOYMENTS))
        messages = (e.deployment_state_message for e in entities)
        return next((m for m in messages if m), "")

    def to_row(self) -> JSON:
        """One DataFrame row: the fields users scan a list of endpoints for."""
        entity = self.display_entity
        return {
            "name": self.name,
            "ready": self.state.ready,
            "config_update": self.state.config_update,
            "task": self.task,
            "entity_name": entity.entity_name if entity else None,
            "entity_version": entity.entity_version if entity else None,
            "min_provisioned_throughput": entity.min_provisioned_throughput if entity else None,
            "max_provisioned_throughput": entity.max_provisioned_throughput if entity else None,
            "provisioned_model_units": entity.provisioned_model_units if entity else None,
            "scale_to_zero_enabled": entity.scale_to_zero_enabled if entity else None,
            "creator": self.creator,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "id": self.id,
        }


def traffic_config(routes: dict[str, int]) -> JSON:
    """The ``traffic_config`` of a request from a split (served entity name -> percentage)."""
    return {"routes": [{"served_entity_name": name, "traffic_percentage": pct}
                       for name, pct in routes.items()]}


def _traffic(entities: list[ServedEntityInput],
             routes: dict[str, int] | None = None) -> JSON | None:
    """The given split; else an explicit 100 % route for a single named entity (the server
    defaults it otherwise)."""
    if routes is not None:
        return traffic_config(routes)
    if len(entities) != 1 or not entities[0].name:
        return None
    return {"routes": [{"served_entity_name": entities[0].name, "traffic_percentage": 100}]}


def create_endpoint_request(
    name: str, entities: list[ServedEntityInput], tags: dict[str, str] | None = None
) -> JSON:
    """Body of ``POST /api/2.0/serving-endpoints`` (tokens-per-second PT)."""
    return drop_none({
        "name": name,
        "config": {
            "name": name,
            "served_entities": [e.to_wire() for e in entities],
            "traffic_config": _traffic(entities),
        },
        "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()] or None,
    })


def update_config_request(entities: list[ServedEntityInput],
                          routes: dict[str, int] | None = None) -> JSON:
    """Body of ``PUT /api/2.0/serving-endpoints/{name}/config`` (no ``name`` here);
    ``routes`` is the traffic split when the endpoint serves several entities."""
    return drop_none({
        "served_entities": [e.to_wire() for e in entities],
        "traffic_config": _traffic(entities, routes),
    })


def pt_create_request(
    name: str, entities: list[ServedEntityInput], tags: dict[str, str] | None = None
) -> JSON:
    """Body of ``POST /api/2.0/serving-endpoints/pt`` (model-unit PT)."""
    return drop_none({
        "name": name,
        "config": {
            "served_entities": [e.to_pt_wire() for e in entities],
            "traffic_config": _traffic(entities),
        },
        "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()] or None,
    })


def pt_update_request(entities: list[ServedEntityInput]) -> JSON:
    """Body of ``PUT /api/2.0/serving-endpoints/pt/{name}/config``."""
    return drop_none({
        "config": {
            "served_entities": [e.to_pt_wire() for e in entities],
            "traffic_config": _traffic(entities),
        }
    })


# --------------------------------------------------------------------------- query answers


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None

    @classmethod
    def from_wire(cls, data: JSON | None) -> Usage:
        data = data or {}
        return cls(*(_int_or_none(data.get(k)) for k in
                     ("prompt_tokens", "completion_tokens", "total_tokens")))


@dataclass(frozen=True)
class TopLogprob:
    token: str
    logprob: float
    bytes: tuple[int, ...] | None = None

    @classmethod
    def from_wire(cls, data: JSON) -> TopLogprob:
        raw_bytes = data.get("bytes")
        return cls(str(data.get("token", "")), float(data.get("logprob", 0.0)),
                   tuple(raw_bytes) if raw_bytes is not None else None)


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    bytes: tuple[int, ...] | None = None
    top_logprobs: tuple[TopLogprob, ...] = ()

    @classmethod
    def from_wire(cls, data: JSON) -> TokenLogprob:
        top = TopLogprob.from_wire(data)
        alternatives = tuple(TopLogprob.from_wire(t) for t in data.get("top_logprobs") or [])
        return cls(top.token, top.logprob, top.bytes, alternatives)


def _logprobs(data: Any) -> tuple[TokenLogprob, ...]:
    """OpenAI shape ``{"content": [...]}``; also accept a bare list."""
    if isinstance(data, dict):
        data = data.get("content")
    if not isinstance(data, list):
        return ()
    return tuple(TokenLogprob.from_wire(t) for t in data if isinstance(t, dict))


@dataclass(frozen=True)
class Choice:
    """One choice of a chat (``message``) or completions (``text``) answer, or a stream delta."""

    index: int = 0
    role: str | None = None
    content: str = ""
    finish_reason: str | None = None
    logprobs: tuple[TokenLogprob, ...] = ()

    @classmethod
    def from_wire(cls, data: JSON) -> Choice:
        message = data.get("message") or data.get("delta") or {}
        content = message.get("content") if message else data.get("text")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return cls(
            index=int(data.get("index") or 0),
            role=message.get("role"),
            content=content or "",
            finish_reason=data.get("finish_reason") or data.get("finishReason"),
            logprobs=_logprobs(data.get("logprobs")),
        )


@dataclass(frozen=True)
class Completion:
    """A generation answer: ``chat.completion`` or ``text_completion`` (``object`` says which).

    One type for both because the wire envelope is the same; only a choice's text sits in
    ``message.content`` (chat) or ``text`` (completions), which :class:`Choice` reads.
    """

    id: str | None = None
    object: str | None = None
    created: int | None = None
    model: str | None = None
    choices: tuple[Choice, ...] = ()
    usage: Usage = field(default_factory=Usage)
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: JSON) -> Completion:
        if isinstance(data.get("predictions"), list) and "choices" not in data:
            data = _from_predictions(data)
        return _simple(
            cls,
            data,
            choices=tuple(Choice.from_wire(c) for c in data.get("choices") or []),
            usage=Usage.from_wire(data.get("usage")),
        )


ChatCompletion = Completion  # the old name, from when only chat answers were mapped


def _from_predictions(data: JSON) -> JSON:
    """Legacy custom-signature answer ``{"predictions": [{"candidates": [...]}]}``."""
    first = data["predictions"][0] if data["predictions"] else {}
    if not isinstance(first, dict):
        return {"choices": [{"index": 0, "text": str(first)}], **data}
    candidates = first.get("candidates") or []
    choices = [
        {"index": i, "text": c.get("text", ""),
         "finish_reason": (c.get("metadata") or {}).get("finish_reason")}
        for i, c in enumerate(candidates)
    ]
    return {"choices": choices, "usage": first.get("metadata"), **data}


@dataclass(frozen=True)
class ChatChunk:
    """One SSE ``chat.completion.chunk``."""

    id: str | None = None
    model: str | None = None
    choices: tuple[Choice, ...] = ()
    usage: Usage | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: JSON) -> ChatChunk:
        usage = data.get("usage")
        return _simple(
            cls,
            data,
            choices=tuple(Choice.from_wire(c) for c in data.get("choices") or []),
            usage=Usage.from_wire(usage) if usage else None,
        )


@dataclass(frozen=True)
class EmbeddingItem:
    index: int
    embedding: tuple[float, ...]

    @classmethod
    def from_wire(cls, data: JSON) -> EmbeddingItem:
        vector = tuple(float(x) for x in data.get("embedding") or [])
        return cls(int(data.get("index") or 0), vector)


@dataclass(frozen=True)
class EmbeddingsResponse:
    model: str | None = None
    data: tuple[EmbeddingItem, ...] = ()
    usage: Usage = field(default_factory=Usage)
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: JSON) -> EmbeddingsResponse:
        items = sorted((EmbeddingItem.from_wire(d) for d in data.get("data") or []),
                       key=lambda item: item.index)
        return _simple(cls, data, data=tuple(items), usage=Usage.from_wire(data.get("usage")))
