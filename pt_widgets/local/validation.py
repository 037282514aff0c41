"""Rules of serving-endpoint configs that span fields; every rule names the field it is about.

The shapes (field names and types) are the pydantic models in ``schemas/serving.py``; what
reaches these functions has passed them. Nothing here writes anything: the serving manager
validates a whole request first and only then touches the store, so a rejected request
changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ApiError, invalid
from .optimization import Optimizer, Sizing
from .registry import VersionDescriptor
from .schemas.base import NAME_PATTERN, NAME_RULE, version_string
from .schemas.problems import shown


# Databricks documents 10 served entities per endpoint (databricks-api.md §1.8), users report
# 15 working; the local workspace takes what the SDK's types take: no count limit.
def required_version(value: Any, field: str) -> str:
    if value is None:
        raise invalid(f"'{field}' is required (a model version number such as \"1\").")
    try:
        return version_string(value)
    except ValueError as exc:
        raise invalid(f"'{field}' {exc}.") from None


def normalise_entity(raw: dict[str, Any], index: int, legacy: bool, optimizer: Optimizer,
                     pt: bool = False) -> dict[str, Any]:
    """Unify served_entities and legacy served_models input into one entity dict.

    On the model-unit ``/pt`` routes ``entity_version`` may be left out, as the SDK's
    PtServedModel allows: the latest version of the model is served.
    """
    where = f"{'served_models' if legacy else 'served_entities'}[{index}]"
    if raw.get("external_model") is not None:
        raise invalid(f"'{where}.external_model' is not supported by the local workspace: it "
                      "has no upstream provider to call.")
    name_key, version_key = ("model_name", "model_version") if legacy else (
        "entity_name", "entity_version")
    entity_name = raw.get(name_key)
    if not entity_name:
        raise invalid(f"'{where}.{name_key}' is required (a model name such as "
                      "'system.ai.smollm2_135m_instruct').")
    entity = {k: v for k, v in raw.items() if k not in ("model_name", "model_version")}
    entity["entity_name"] = entity_name
    version = raw.get(version_key)
    if version is None and pt:
        version = latest_version(optimizer, entity_name, f"{where}.{name_key}")
    entity["entity_version"] = required_version(version, f"{where}.{version_key}")
    entity["_where"] = where
    if entity.get("name") is None:  # defaulted from the model name: judged once it is known
        entity["name"] = f"{entity_name.split('.')[-1]}-{entity['entity_version']}"
    return entity


def latest_version(optimizer: Optimizer, full_name: str, field: str) -> str:
    versions = optimizer.registry.versions(full_name) if optimizer.registry.get_model(
        full_name) else []
    if not versions:
        raise invalid(f"'{field}': registered model '{full_name}' does not exist or has no "
                      "versions.")
    return str(versions[-1].version)


def check_sizing(entity: dict[str, Any], desc: VersionDescriptor, sizing: Sizing) -> None:
    """Apply the provisioned-throughput rules of the entity's sizing scheme, in place."""
    where = entity["_where"]
    has_tps = any(entity.get(k) is not None for k in
                  ("min_provisioned_throughput", "max_provisioned_throughput"))
    has_mu = entity.get("provisioned_model_units") is not None
    stz = bool(entity.get("scale_to_zero_enabled"))
    entity["scale_to_zero_enabled"] = stz
    if sizing.scheme == "model_units":
        if has_tps:
            raise invalid(
                f"{desc.full_name} is sized in model units: send "
                f"'{where}.provisioned_model_units' (a multiple of {sizing.chunk}) instead of "
                "min/max_provisioned_throughput."
            )
        if not has_mu:
            raise invalid(f"'{where}.provisioned_model_units' is required for {desc.full_name} "
                          f"(a positive multiple of {sizing.chunk}).")
        units = entity["provisioned_model_units"]
        if units == 0 or units % sizing.chunk:
            raise invalid(f"'{where}.provisioned_model_units' must be a positive multiple of "
                          f"{sizing.chunk}, got {units}.")
        if stz:
            raise invalid(f"'{where}.scale_to_zero_enabled' is not supported for model-unit "
                          "endpoints: they need positive fixed capacity.")
        return
    if has_mu:
        raise invalid(
            f"{desc.full_name} is sized in tokens per second: send "
            f"'{where}.min_provisioned_throughput' and 'max_provisioned_throughput' in "
            f"multiples of {sizing.chunk} instead of provisioned_model_units."
        )
    for key in ("min_provisioned_throughput", "max_provisioned_throughput"):
        if entity.get(key) is None:
            raise invalid(f"'{where}.{key}' is required for {desc.full_name}: a multiple of "
                          f"its throughput chunk, {sizing.chunk} tokens/s.")
    low, high = entity["min_provisioned_throughput"], entity["max_provisioned_throughput"]
    for key, value in (("min_provisioned_throughput", low), ("max_provisioned_throughput", high)):
        if value % sizing.chunk:
            raise invalid(f"'{where}.{key}' must be a multiple of {sizing.chunk} tokens/s "
                          f"(the chunk of {desc.full_name}), got {value}.")
    if high == 0:
        raise invalid(f"'{where}.max_provisioned_throughput' must be at least one chunk "
                      f"({sizing.chunk} tokens/s), got 0.")
    if low > high:
        raise invalid(f"'{where}.min_provisioned_throughput' ({low}) must not exceed "
                      f"'max_provisioned_throughput' ({high}).")
    if low == 0 and not stz:
        raise invalid(f"'{where}.min_provisioned_throughput' is 0, which needs "
                      "'scale_to_zero_enabled': true (or set a minimum of at least one chunk).")
    if low > 0 and stz:
        raise invalid(f"'{where}.scale_to_zero_enabled' is true but "
                      f"'min_provisioned_throughput' is {low}: scale to zero needs a minimum "
                      "of 0.")


def check_traffic(traffic: dict[str, Any] | None, names: list[str]) -> dict[str, Any]:
    """Routes name served entities of the config, at most once each, and add up to 100."""
    if traffic is None:
        if len(names) > 1:
            raise invalid("'traffic_config' is required when an endpoint serves more than one "
                          "entity.")
        return {"routes": [{"served_model_name": names[0], "served_entity_name": names[0],
                            "traffic_percentage": 100}]}
    routes = traffic.get("routes")
    if not routes:
        raise invalid("'traffic_config.routes' must be a non-empty list.")
    out, total, seen = [], 0, set()
    for i, route in enumerate(routes):
        where = f"traffic_config.routes[{i}]"
        target = route.get("served_entity_name") or route.get("served_model_name")
        if target not in names:
            raise invalid(f"'{where}' names '{target}', which is not a served entity of this "
                          f"config ({', '.join(names)}).")
        if target in seen:
            raise invalid(f"'{where}' routes to '{target}' again: give each served entity one "
                          "route.")
        seen.add(target)
        pct = route["traffic_percentage"]
        total += pct
        out.append({"served_model_name": target, "served_entity_name": target,
                    "traffic_percentage": pct})
    if total != 100:
        raise invalid(f"'traffic_config.routes' percentages must add up to 100, got {total}.")
    return {"routes": out}


def validate_config(config: dict[str, Any], optimizer: Optimizer, where: str = "config",
                    pt: bool = False) -> dict[str, Any]:
    """Validated entities (with descriptors and sizing) and traffic, or a 400."""
    entities_raw = config.get("served_entities")
    legacy_raw = config.get("served_models")
    if entities_raw and legacy_raw:
        raise invalid(f"'{where}' must use served_entities or served_models, not both.")
    legacy = not entities_raw
    raw_list = legacy_raw if legacy else entities_raw
    if not raw_list:
        raise invalid(f"'{where}.served_entities' must be a non-empty list.")
    entities = [normalise_entity(raw, i, legacy, optimizer, pt)
                for i, raw in enumerate(raw_list)]
    names = [e["name"] for e in entities]
    if len(set(names)) != len(names):
        raise invalid(f"Served entity names must be unique within an endpoint, got {names}.")
    for entity in entities:
        desc = describe_or_400(optimizer, entity)
        if not re.match(NAME_PATTERN, entity["name"]):  # an unknown model is the first problem
            raise invalid(f"'{entity['_where']}.name' is required for this model: the default "
                          f"made from its name, {shown(entity['name'])}, is not {NAME_RULE}.")
        reason = optimizer.ineligible_reason(desc)
        if reason:
            raise invalid(f"'{entity['_where']}' cannot be served with provisioned throughput: "
                          f"{reason}")
        sizing = optimizer.sizing(desc)
        check_sizing(entity, desc, sizing)
        entity["_desc"], entity["_sizing"] = desc, sizing
    traffic = check_traffic(config.get("traffic_config"), names)
    return {"entities": entities, "traffic": traffic}


def describe_or_400(optimizer: Optimizer, entity: dict[str, Any]) -> VersionDescriptor:
    """Unknown models or versions in a config are bad parameters (400), not missing routes."""
    try:
        return optimizer.describe(entity["entity_name"], entity["entity_version"])
    except ApiError as exc:
        raise invalid(f"'{entity['_where']}': {exc.message}") from exc
