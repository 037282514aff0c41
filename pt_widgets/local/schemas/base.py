"""Base classes and shared field types for the wire models.

Requests are closed and strict (``extra="forbid"``, no string-to-number coercion): Databricks'
JSON parser refuses unknown fields ("json: unknown field") and wrong types, and the local
workspace must refuse what Databricks refuses. Responses ignore what they do not declare, so
a response model is also the filter that decides what goes on the wire.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,63}$"
NAME_RULE = "1 to 63 characters of letters, digits, '-' and '_'"
MAX_COUNT = 10**12  # beyond any real throughput; keeps sums and products exact


class WireRequest(BaseModel):
    """A request body or part of one: unknown fields and wrong types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)

    def given(self) -> dict[str, Any]:
        """The fields the client sent (``null`` counts as not sent), by their wire names."""
        return self.model_dump(exclude_none=True, exclude_unset=True)


class WireResponse(BaseModel):
    """A response body or part of one: only declared fields reach the wire."""

    model_config = ConfigDict(extra="ignore")


Name = Annotated[str, Field(pattern=NAME_PATTERN, description=NAME_RULE)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Percentage = Annotated[int, Field(ge=0, le=100, description="an integer between 0 and 100")]


def version_string(value: Any) -> str:
    """A model version: a positive integer as a string or a JSON integer, echoed as a string.

    The SDK types ``entity_version`` as a string; real Databricks also accepts a JSON number
    (captured requests sent ``1`` and got back ``"1"``). ``True`` and "²" are refused.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"must be a positive integer version such as \"1\", got {value!r}")
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(f"must be a positive integer version such as \"1\", got {value!r}")
    return str(int(text))


Version = Annotated[str, PlainValidator(version_string), WithJsonSchema({"oneOf": [
    {"type": "string", "pattern": "^[0-9]*[1-9][0-9]*$"}, {"type": "integer", "minimum": 1}]})]
