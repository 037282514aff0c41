"""Validation of serving-endpoint configs: every rule names the field it is about.

Nothing here writes anything: the serving manager validates a whole request first and
only then touches the store, so a rejected request changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ApiError, invalid
from .optimization import Optimizer, Sizing
from .registry import VersionDescriptor

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
ENTITY_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
MAX_ENTITIES = 10
ENTITY_FIELDS = {
    "entity_name", "entity_version", "name", "min_provisioned_throughput",
    "max_provisioned_throughput", "provisioned_model_units", "scale_to_zero_enabled",
    "burst_scaling_enabled", "workload_size", "workload_type", "environment_vars",
    "instance_profile_arn", "min_provisioned_concurrency", "max_provisioned_concurrency",
    "external_model",
}
PT_ENTITY_FIELDS = {"entity_name", "entity_version", "name", "provisioned_model_units",
                    "burst_scaling_enabled"}
LEGACY_FIELDS = {
    "model_name", "model_version", "name", "min_provisioned_throughput",
    "max_provisioned_throughput", "scale_to_zero_enabled", "workload_size", "workload_type",
    "environment_vars", "instance_profile_arn", "min_provisioned_concurrency",
    "max_provisioned_concurrency",
}
CONFIG_FIELDS = {"name", "served_entities", "served_models", "traffic_config",
                 "auto_capture_config"}
CREATE_FIELDS = {"name", "config", "ai_gateway", "budget_policy_id", "description",
                 "email_notifications", "rate_limits", "route_optimized", "tags",
                 "telemetry_config", "usage_policy_id"}
CREATE_TYPES = (
    ("description", str, "a string"), ("budget_policy_id", str, "a string"),
    ("usage_policy_id", str, "a string"), ("route_optimized", bool, "true or false"),
    ("ai_gateway", dict, "an object"), ("email_notifications", dict, "an object"),
    ("telemetry_config", dict, "an object"), ("rate_limits", list, "a list"),
    ("tags", list, "a list of {key, value}"),
)


def check_endpoint_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise invalid(
            "'name' must be 1 to 63 characters of letters, digits, '-' and '_' "
            f"(got {shown(name)})."
        )
    return name


def check_fields(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise invalid(f"'{where}' must be a JSON object.")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        names = ", ".join(shown(name)[1:-1] for name in unknown[:5])
        raise invalid(f"'{where}' has unknown field(s): {names}.")
    return obj


def shown(value: Any) -> str:
    """A value quoted in an error message, cut short: the message names it, not repeats it."""
    text = repr(value)
    return text if len(text) <= 80 else text[:76] + "...'"


def check_create_types(body: dict[str, Any]) -> None:
    """Top-level create fields the server keeps or echoes must have their wire types."""
    for key, kind, what in CREATE_TYPES:
        value = body.get(key)
        if value is not None and not isinstance(value, kind):
            raise invalid(f"'{key}' must be {what}, got {shown(value)}.")
    tags = body.get("tags") or []
    for i, tag in enumerate(tags):
        check_fields(tag, {"key", "value"}, f"tags[{i}]")
        if not isinstance(tag.get("key"), str) or not tag["key"]:
            raise invalid(f"'tags[{i}].key' is required: a non-empty string.")
        if tag.get("value") is not None and not isinstance(tag["value"], str):
            raise invalid(f"'tags[{i}].value' must be a string, got {shown(tag['value'])}.")


def as_int(value: Any, field: str) -> int:
    """Integers only (JSON numbers with no fraction); booleans and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(f"'{field}' must be an integer, got {shown(value)}.")
    if isinstance(value, float) and not value.is_integer():
        raise invalid(f"'{field}' must be an integer, got {shown(value)}.")
    number = int(value)
    if number < 0:
        raise invalid(f"'{field}' must not be negative, got {number}.")
    if number > 10**12:
        raise invalid(f"'{field}' is too large ({number}).")
    return number


def as_bool(value: Any, field: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(f"'{field}' must be true or false, got {shown(value)}.")
    return value


def version_string(value: Any, field: str) -> str:
    if isinstance(value, bool) or value is None:
        raise invalid(f"'{field}' is required (a model version number such as \"1\").")
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1:  # "²" and "١" are digits too
        raise invalid(f"'{field}' must be a positive integer version, got {shown(value)}.")
    return str(int(text))


def normalise_entity(raw: Any, index: int, legacy: bool, pt: bool = False) -> dict[str, Any]:
    """Unify served_entities and legacy served_models input into one entity dict.

    On the model-unit ``/pt`` routes an entity is a PtServedModel, which has no
    tokens-per-second or scaling fields.
    """
    where = f"{'served_models' if legacy else 'served_entities'}[{index}]"
    check_fields(raw, LEGACY_FIELDS if legacy else PT_ENTITY_FIELDS if pt else ENTITY_FIELDS,
                 where)
    if raw.get("external_model") is not None:
        raise invalid(f"'{where}.external_model' is not supported by the local workspace.")
    check_unused_fields(raw, where)
    name_key, version_key = ("model_name", "model_version") if legacy else (
        "entity_name", "entity_version")
    entity_name = raw.get(name_key)
    if not isinstance(entity_name, str) or not entity_name:
        raise invalid(f"'{where}.{name_key}' is required (a model name such as "
                      "'system.ai.smollm2_135m_instruct').")
    entity = dict(raw)
    entity.pop("model_name", None)
    entity.pop("model_version", None)
    entity["entity_name"] = entity_name
    entity["entity_version"] = version_string(raw.get(version_key), f"{where}.{version_key}")
    entity["_where"] = where
    if entity.get("name") is None:  # defaulted from the model name: judged once it is known
        entity["name"] = f"{entity_name.split('.')[-1]}-{entity['entity_version']}"
        return entity
    if not isinstance(entity["name"], str) or not ENTITY_NAME_RE.match(entity["name"]):
        raise invalid(f"'{where}.name' must be 1 to 63 letters, digits, '-' or '_' "
                      f"(got {shown(entity['name'])}).")
    return entity


def check_unused_fields(raw: dict[str, Any], where: str) -> None:
    """Fields PT serving ignores still need their wire types, as Databricks' parser insists."""
    for key in ("workload_size", "workload_type", "instance_profile_arn"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise invalid(f"'{where}.{key}' must be a string, got {shown(raw[key])}.")
    if raw.get("burst_scaling_enabled") is not None:
        as_bool(raw["burst_scaling_enabled"], f"{where}.burst_scaling_enabled", True)
    for key in ("min_provisioned_concurrency", "max_provisioned_concurrency"):
        if raw.get(key) is not None:
            as_int(raw[key], f"{where}.{key}")
    env = raw.get("environment_vars")
    if env is not None and not (isinstance(env, dict) and
                                all(isinstance(v, str) for v in env.values())):
        raise invalid(f"'{where}.environment_vars' must be an object of strings, got "
                      f"{shown(env)}.")


def check_sizing(entity: dict[str, Any], desc: VersionDescriptor, sizing: Sizing) -> None:
    """Apply the provisioned-throughput rules of the entity's sizing scheme, in place."""
    where = entity["_where"]
    has_tps = any(entity.get(k) is not None for k in
                  ("min_provisioned_throughput", "max_provisioned_throughput"))
    has_mu = entity.get("provisioned_model_units") is not None
    stz = as_bool(entity.get("scale_to_zero_enabled"), f"{where}.scale_to_zero_enabled", False)
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
        units = as_int(entity["provisioned_model_units"], f"{where}.provisioned_model_units")
        if units == 0 or units % sizing.chunk:
            raise invalid(f"'{where}.provisioned_model_units' must be a positive multiple of "
                          f"{sizing.chunk}, got {units}.")
        if stz:
            raise invalid(f"'{where}.scale_to_zero_enabled' is not supported for model-unit "
                          "endpoints: they need positive fixed capacity.")
        entity["provisioned_model_units"] = units
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
    low = as_int(entity["min_provisioned_throughput"], f"{where}.min_provisioned_throughput")
    high = as_int(entity["max_provisioned_throughput"], f"{where}.max_provisioned_throughput")
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
    entity["min_provisioned_throughput"], entity["max_provisioned_throughput"] = low, high


def check_traffic(traffic: Any, names: list[str]) -> dict[str, Any]:
    if traffic is None:
        if len(names) > 1:
            raise invalid("'traffic_config' is required when an endpoint serves more than one "
                          "entity.")
        return {"routes": [{"served_model_name": names[0], "served_entity_name": names[0],
                            "traffic_percentage": 100}]}
    check_fields(traffic, {"routes"}, "traffic_config")
    routes = traffic.get("routes")
    if not isinstance(routes, list) or not routes:
        raise invalid("'traffic_config.routes' must be a non-empty list.")
    out, total = [], 0
    for i, route in enumerate(routes):
        where = f"traffic_config.routes[{i}]"
        check_fields(route, {"served_model_name", "served_entity_name", "traffic_percentage"},
                     where)
        target = route.get("served_entity_name") or route.get("served_model_name")
        if target not in names:
            raise invalid(f"'{where}' names '{target}', which is not a served entity of this "
                          f"config ({', '.join(names)}).")
        pct = as_int(route.get("traffic_percentage"), f"{where}.traffic_percentage")
        if pct > 100:
            raise invalid(f"'{where}.traffic_percentage' must be between 0 and 100, got {pct}.")
        total += pct
        out.append({"served_model_name": target, "served_entity_name": target,
                    "traffic_percentage": pct})
    if total != 100:
        raise invalid(f"'traffic_config.routes' percentages must add up to 100, got {total}.")
    return {"routes": out}


def validate_config(config: Any, optimizer: Optimizer, where: str = "config",
                    pt: bool = False) -> dict[str, Any]:
    """Validated entities (with descriptors and sizing) and traffic, or a 400."""
    check_fields(config, CONFIG_FIELDS, where)
    capture = config.get("auto_capture_config")
    if capture is not None and not isinstance(capture, dict):
        raise invalid(f"'{where}.auto_capture_config' must be an object, got {shown(capture)}.")
    entities_raw = config.get("served_entities")
    legacy_raw = config.get("served_models")
    if entities_raw and legacy_raw:
        raise invalid(f"'{where}' must use served_entities or served_models, not both.")
    legacy = not entities_raw
    raw_list = legacy_raw if legacy else entities_raw
    if not isinstance(raw_list, list) or not raw_list:
        raise invalid(f"'{where}.served_entities' must be a non-empty list.")
    if len(raw_list) > MAX_ENTITIES:
        raise invalid(f"'{where}.served_entities' may hold at most {MAX_ENTITIES} entities, got "
                      f"{len(raw_list)}.")
    entities = [normalise_entity(raw, i, legacy, pt) for i, raw in enumerate(raw_list)]
    names = [e["name"] for e in entities]
    if len(set(names)) != len(names):
        raise invalid(f"Served entity names must be unique within an endpoint, got {names}.")
    for entity in entities:
        desc = describe_or_400(optimizer, entity)
        if not ENTITY_NAME_RE.match(entity["name"]):  # an unknown model is the first problem
            raise invalid(f"'{entity['_where']}.name' is required for this model: the default "
                          f"made from its name, {shown(entity['name'])}, is not 1 to 63 "
                          "letters, digits, '-' or '_'.")
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
