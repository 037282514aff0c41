"""Provisioned-throughput sizing: which values are valid, and what they cost.

Databricks sells PT capacity in two schemes (docs/databricks-api.md §1.4, §7.2-7.3):

* **tokens per second** (Llama 3.x, GTE/BGE, DBRX…): ``min/max_provisioned_throughput`` in
  multiples of ``throughput_chunk_size``, with optional scale-to-zero;
* **model units** (GPT OSS, Gemma 3, Llama 4…): ``provisioned_model_units`` in multiples of
  ``model_unit_chunk_size``, fixed capacity, no scale-to-zero, on the ``/pt`` routes.

The server does not explain a rejected size well, so :class:`SizingPlan` validates before
any request and says, in one sentence, which value to pick instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from .errors import NotOptimizable, SizingError
from .wire import OptimizationInfo, ServedEntityInput

if TYPE_CHECKING:  # pragma: no cover
    from .workspace import Workspace

__all__ = [
    "TOKENS_PER_SECOND",
    "MODEL_UNITS",
    "Sizing",
    "Estimate",
    "SizingPlan",
    "get_optimization_info",
    "sizing_plan",
    "resolve_version",
]

TOKENS_PER_SECOND = "tokens_per_second"
MODEL_UNITS = "model_units"


def resolve_version(ws: Workspace, model: str, version: int | str) -> str:
    """A version number as a string; an alias such as ``champion`` is looked up first."""
    text = str(version).strip()
    if text.isdigit():
        return text
    from .catalog import get_version_by_alias

    return str(get_version_by_alias(ws, model, text).version)


def get_optimization_info(ws: Workspace, model: str, version: int | str) -> OptimizationInfo:
    """Ask the workspace whether (and how) a model version can get provisioned throughput.

    This route is not in databricks-sdk; the UC name goes into the path with its dots.
    """
    version = resolve_version(ws, model, version)
    path = (
        "/api/2.0/serving-endpoints/get-model-optimization-info/"
        f"{quote(model, safe='.-_')}/{quote(version, safe='')}"
    )
    return OptimizationInfo.from_wire(ws.call("GET", path))


@dataclass(frozen=True)
class Sizing:
    """A validated sizing, ready to become a served entity."""

    scheme: str
    min_provisioned_throughput: int | None = None
    max_provisioned_throughput: int | None = None
    provisioned_model_units: int | None = None
    scale_to_zero_enabled: bool = False


@dataclass(frozen=True)
class Estimate:
    """Capacity and cost of a sizing. DBUs and cost are per hour; ``None`` when unknown."""

    scheme: str
    min_chunks: float
    max_chunks: float
    min_tokens_per_second: int | None
    max_tokens_per_second: int | None
    model_units: int | None
    min_dbus_per_hour: float | None
    max_dbus_per_hour: float | None
    price_per_dbu: float | None = None

    @property
    def min_cost_per_hour(self) -> float | None:
        return _times(self.min_dbus_per_hour, self.price_per_dbu)

    @property
    def max_cost_per_hour(self) -> float | None:
        return _times(self.max_dbus_per_hour, self.price_per_dbu)

    def describe(self) -> str:
        """One line for a label: capacity, DBUs, and cost when a price was given."""
        if self.scheme == MODEL_UNITS:
            capacity = f"{self.model_units} model units"
        elif self.min_tokens_per_second == self.max_tokens_per_second:
            capacity = f"{self.max_tokens_per_second:,} tokens/s"
        else:
            capacity = f"{self.min_tokens_per_second:,}-{self.max_tokens_per_second:,} tokens/s"
        parts = [capacity]
        if self.max_dbus_per_hour is not None:
            parts.append(_range(self.min_dbus_per_hour, self.max_dbus_per_hour, "DBU/h"))
        if self.max_cost_per_hour is not None:
            parts.append(_range(self.min_cost_per_hour, self.max_cost_per_hour, "per hour"))
        return ", ".join(parts)


def _times(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a * b


def _range(low: float | None, high: float | None, unit: str) -> str:
    if low is None or low == high:
        return f"{high:g} {unit}"
    return f"{low:g}-{high:g} {unit}"


def _is_multiple(value: int, chunk: int) -> bool:
    return value % chunk == 0


@dataclass(frozen=True)
class SizingPlan:
    """What can be provisioned for one model version, and how to validate/estimate a choice."""

    model: str
    version: str
    info: OptimizationInfo

    # -- what the workspace said ---------------------------------------------------------------

    @property
    def scheme(self) -> str:
        """``model_units`` when the info carries ``model_unit_chunk_size``, else tokens/s."""
        return MODEL_UNITS if self.info.model_unit_chunk_size else TOKENS_PER_SECOND

    @property
    def chunk_size(self) -> int:
        """The increment: tokens/s per chunk, or model units per chunk."""
        size = (self.info.model_unit_chunk_size if self.scheme == MODEL_UNITS
                else self.info.throughput_chunk_size)
        return int(size or 0)

    @property
    def dbus_per_chunk(self) -> float | None:
        return self.info.dbus

    @property
    def eligible(self) -> bool:
        return self.info.optimizable and self.chunk_size > 0

    @property
    def reason(self) -> str:
        """Why the model cannot get provisioned throughput ("" when it can)."""
        if self.eligible:
            return ""
        what = f"{self.model} version {self.version}"
        said = self.info.raw.get("message") or self.info.raw.get("reason")
        if said:
            said = str(said).rstrip(".")
            if said.startswith(self.model):
                return f"{said}."
            if self.model in said:
                return f"{said[0].upper()}{said[1:]}."
            return f"{what} is not eligible for provisioned throughput: {said}."
        if self.info.optimizable:
            return (f"{what} is reported optimizable but the workspace gave no chunk size, so no "
                    "valid provisioned throughput can be chosen.")
        kind = f" (model type {self.info.model_type!r})" if self.info.model_type else ""
        return (f"{what}{kind} is not eligible for provisioned throughput: only supported "
                "foundation-model architectures logged with an llm/v1 task can be optimized.")

    # -- choices ------------------------------------------------------------------------------

    def choices(self, max_chunks: int = 20, *, include_zero: bool = False) -> list[int]:
        """Valid values, k × chunk for k = 1..max_chunks (0 first if ``include_zero``)."""
        self._require_eligible()
        start = 0 if include_zero and self.scheme == TOKENS_PER_SECOND else 1
        return [k * self.chunk_size for k in range(start, max_chunks + 1)]

    def default(self) -> Sizing:
        """The smallest always-on sizing: one chunk, no scale-to-zero (no cold starts)."""
        if self.scheme == MODEL_UNITS:
            return self.validate(model_units=self.chunk_size)
        return self.validate(max_throughput=self.chunk_size)

    # -- validation -----------------------------------------------------------------------------

    def _require_eligible(self) -> None:
        if not self.eligible:
            raise NotOptimizable(self.reason)

    def validate(
        self,
        max_throughput: int | None = None,
        min_throughput: int | None = None,
        *,
        model_units: int | None = None,
        scale_to_zero: bool = False,
    ) -> Sizing:
        """Check a sizing against the scheme's rules; raise :class:`SizingError` saying why.

        Tokens/s: ``max_throughput`` is required, both bounds are multiples of the chunk,
        0 ≤ min ≤ max; ``min_throughput`` defaults to 0 with scale-to-zero, else one chunk;
        scale-to-zero needs a minimum of 0 (and a minimum of 0 needs scale-to-zero).
        Model units: ``model_units`` a positive multiple of the chunk; no scale-to-zero.
        """
        self._require_eligible()
        if self.scheme == MODEL_UNITS:
            return self._validate_units(max_throughput, min_throughput, model_units, scale_to_zero)
        return self._validate_tokens(max_throughput, min_throughput, model_units, scale_to_zero)

    def _validate_units(
        self, max_tp: int | None, min_tp: int | None, units: int | None, scale_to_zero: bool
    ) -> Sizing:
        chunk = self.chunk_size
        if max_tp is not None or min_tp is not None:
            raise SizingError(
                f"{self.model} is provisioned in model units, not tokens per second: pass "
                f"model_units= (a multiple of {chunk})."
            )
        if scale_to_zero:
            raise SizingError(
                "Model-unit provisioned throughput has fixed capacity and cannot scale to zero: "
                "pass scale_to_zero=False."
            )
        if units is None or units <= 0 or not _is_multiple(units, chunk):
            raise SizingError(
                f"model_units must be a positive multiple of {chunk} (e.g. {chunk} or "
                f"{2 * chunk}), not {units}."
            )
        return Sizing(MODEL_UNITS, provisioned_model_units=int(units))

    def _validate_tokens(
        self, max_tp: int | None, min_tp: int | None, units: int | None, scale_to_zero: bool
    ) -> Sizing:
        chunk = self.chunk_size
        if units is not None:
            raise SizingError(
                f"{self.model} is provisioned in tokens per second, not model units: pass "
                f"max_throughput= (a multiple of {chunk})."
            )
        if max_tp is None or max_tp <= 0 or not _is_multiple(max_tp, chunk):
            raise SizingError(
                f"max_throughput must be a positive multiple of {chunk} tokens/s (e.g. {chunk} "
                f"or {2 * chunk}), not {max_tp}."
            )
        if min_tp is None:
            min_tp = 0 if scale_to_zero else chunk
        if min_tp < 0 or not _is_multiple(min_tp, chunk):
            raise SizingError(
                f"min_throughput must be 0 or a multiple of {chunk} tokens/s, not {min_tp}."
            )
        if min_tp > max_tp:
            raise SizingError(
                f"min_throughput ({min_tp}) must not exceed max_throughput ({max_tp})."
            )
        if scale_to_zero and min_tp != 0:
            raise SizingError(
                f"Scale-to-zero lets the endpoint drop below its minimum: pass min_throughput=0 "
                f"with scale_to_zero=True, or keep {min_tp} tokens/s with scale_to_zero=False."
            )
        if not scale_to_zero and min_tp == 0:
            raise SizingError(
                f"min_throughput=0 means scaling to zero: pass scale_to_zero=True, or a minimum "
                f"of at least {chunk} tokens/s."
            )
        return Sizing(TOKENS_PER_SECOND, min_provisioned_throughput=int(min_tp),
                      max_provisioned_throughput=int(max_tp), scale_to_zero_enabled=scale_to_zero)

    # -- estimate -------------------------------------------------------------------------------

    def estimate(
        self, sizing: Sizing | None = None, price_per_dbu: float | None = None
    ) -> Estimate:
        """Capacity, DBUs per hour (dbus per chunk × chunks) and cost (× ``price_per_dbu``)."""
        sizing = sizing or self.default()
        chunk = self.chunk_size
        dbus = self.dbus_per_chunk
        if sizing.scheme == MODEL_UNITS:
            units = int(sizing.provisioned_model_units or 0)
            chunks = units / chunk
            per_hour = None if dbus is None else chunks * dbus
            return Estimate(MODEL_UNITS, chunks, chunks, None, None, units, per_hour, per_hour,
                            price_per_dbu)
        low = int(sizing.min_provisioned_throughput or 0)
        high = int(sizing.max_provisioned_throughput or 0)
        return Estimate(
            TOKENS_PER_SECOND,
            low / chunk,
            high / chunk,
            low,
            high,
            None,
            None if dbus is None else low / chunk * dbus,
            None if dbus is None else high / chunk * dbus,
            price_per_dbu,
        )

    # -- request --------------------------------------------------------------------------------

    def served_entity(
        self, sizing: Sizing | None = None, name: str | None = None
    ) -> ServedEntityInput:
        """The served entity for a create/update request with this sizing."""
        sizing = sizing or self.default()
        return ServedEntityInput(
            entity_name=self.model,
            entity_version=self.version,
            name=name,
            min_provisioned_throughput=sizing.min_provisioned_throughput,
            max_provisioned_throughput=sizing.max_provisioned_throughput,
            provisioned_model_units=sizing.provisioned_model_units,
            scale_to_zero_enabled=(sizing.scale_to_zero_enabled
                                   if sizing.scheme == TOKENS_PER_SECOND else None),
        )


def sizing_plan(ws: Workspace, model: str, version: int | str) -> SizingPlan:
    """Fetch the optimization info of a model version and wrap it in a :class:`SizingPlan`."""
    version = resolve_version(ws, model, version)
    return SizingPlan(model, version, get_optimization_info(ws, model, version))
