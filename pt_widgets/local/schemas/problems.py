"""Pydantic's validation errors as one Databricks-style sentence naming the field and rule.

``'config.served_entities[0].max_provisioned_throughput' must be an integer, got '60'.``
Unknown fields are gathered per object (``'request' has unknown field(s): colour.``).
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from .base import NAME_PATTERN, NAME_RULE

ROOT = "request"
TYPE_TAG = re.compile(r"^(str|int|float|bool|list|dict)$|[^a-z0-9_]")  # union branch labels
PHRASES = {
    "missing": "is required",
    "string_type": "must be a string",
    "int_type": "must be an integer", "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number", "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "dict_type": "must be a JSON object", "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "list_type": "must be a list",
}
UNSHOWN = {"missing", "dict_type", "model_type", "model_attributes_type"}
# Errors a field's ``description`` (its rule, e.g. "a number between 0 and 2") explains.
DESCRIBED = {"int_type", "int_parsing", "int_from_float", "float_type", "float_parsing",
             "finite_number", "bool_type", "bool_parsing", "string_type", "greater_than",
             "greater_than_equal", "less_than", "less_than_equal", "literal_error", "enum"}


def shown(value: Any) -> str:
    """A value quoted in a message, cut short: the message names it, not repeats it."""
    text = repr(value)
    return text if len(text) <= 80 else text[:76] + "...'"


def where(loc: Iterable[Any]) -> str:
    """``('body', 'tags', 0, 'key')`` → ``tags[0].key``; ``request`` for the body itself."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path") and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and not TYPE_TAG.search(part):
            out += f".{part}" if out else part
    return out or ROOT


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``X | None`` or ``list[X]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = nested_model(arg)
        if found is not None:
            return found
    return None


def described_rule(model: type[BaseModel] | None, loc: Iterable[Any]) -> str | None:
    """The ``description`` of the field at ``loc`` in ``model``: the rule, in words."""
    description = None
    for part in loc:
        if model is None or not isinstance(part, str) or part in ("body", "query", "path"):
            continue
        field = model.model_fields.get(part)
        if field is None:
            continue
        description = field.description
        model = nested_model(field.annotation)
    return description


def phrase(error: Mapping[str, Any], model: type[BaseModel] | None = None) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    rule = described_rule(model, error.get("loc", ())) if kind in DESCRIBED else None
    if rule:
        return f"must be {rule}"
    if kind in PHRASES:
        return PHRASES[kind]
    if kind == "value_error":
        return str(error.get("msg", "")).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        return f"must be {NAME_RULE}" if ctx.get("pattern") == NAME_PATTERN else \
            f"must match {ctx.get('pattern')}"
    if kind == "greater_than_equal":
        return "must not be negative" if ctx.get("ge") == 0 else f"must be at least {ctx['ge']}"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"is too large: the most is {ctx.get('le')}"
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected')}"
    if kind in ("too_short", "string_too_short"):
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"must have at least {least} items"
    if kind in ("too_long", "string_too_long"):
        return f"must have at most {ctx.get('max_length')} items"
    return f"is invalid ({error.get('msg', 'bad value')})"


def sentence(errors: list[Mapping[str, Any]], model: type[BaseModel] | None = None) -> str:
    """The first problem of ``errors`` as one sentence (unknown fields of one object grouped);
    ``model``, the validated model, lends its fields' descriptions as the rules."""
    if not errors:
        return "The request is invalid."
    unknown = [e for e in errors if e.get("type") == "extra_forbidden"]
    first = unknown[0] if unknown else errors[0]  # a misshapen object explains the rest
    if where(first.get("loc", ())) == ROOT and first.get("type") in UNSHOWN:
        return "The request body must be a JSON object."
    if first.get("type") == "extra_forbidden":
        parent = tuple(first["loc"][:-1])
        names = [str(e["loc"][-1]) for e in errors
                 if e.get("type") == "extra_forbidden" and tuple(e["loc"][:-1]) == parent]
        listed = ", ".join(shown(n)[1:-1] for n in sorted(names)[:5])
        return f"'{where(parent)}' has unknown field(s): {listed}."
    text = f"'{where(first.get('loc', ()))}' {phrase(first, model)}"
    if first.get("type") not in UNSHOWN and first.get("type") != "value_error":
        text += f", got {shown(first.get('input'))}"
    return text + "."
