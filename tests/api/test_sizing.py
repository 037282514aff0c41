"""Sizing rules of both PT schemes, checked before any request (and matching the server)."""

from __future__ import annotations

import pytest

from pt_widgets.errors import NotOptimizable, SizingError
from pt_widgets.sizing import MODEL_UNITS, TOKENS_PER_SECOND, Sizing, SizingPlan
from pt_widgets.wire import OptimizationInfo

TPS = SizingPlan("system.ai.llama", "1", OptimizationInfo.from_wire(
    {"optimizable": True, "model_type": "llama", "throughput_chunk_size": 970, "dbus": 24}))
MU = SizingPlan("system.ai.gpt_oss", "1", OptimizationInfo.from_wire(
    {"optimizable": True, "model_unit_chunk_size": 50, "dbus": 10}))
OFF = SizingPlan("main.default.custom", "3", OptimizationInfo.from_wire(
    {"optimizable": False, "model_type": "whisper"}))


def test_scheme_and_choices():
    assert TPS.scheme == TOKENS_PER_SECOND and TPS.chunk_size == 970
    assert TPS.choices(3) == [970, 1940, 2910]
    assert TPS.choices(2, include_zero=True) == [0, 970, 1940]
    assert MU.scheme == MODEL_UNITS and MU.choices(2) == [50, 100]


def test_default_is_one_always_on_chunk():
    assert TPS.default() == Sizing(TOKENS_PER_SECOND, 970, 970, None, False)
    assert MU.default() == Sizing(MODEL_UNITS, provisioned_model_units=50)


def test_valid_tokens_sizings():
    assert TPS.validate(2910, 970) == Sizing(TOKENS_PER_SECOND, 970, 2910, None, False)
    assert TPS.validate(1940, scale_to_zero=True) == Sizing(TOKENS_PER_SECOND, 0, 1940, None,
                                                            True)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"max_throughput": 1000}, "multiple of 970"),
        ({"max_throughput": 0}, "positive multiple"),
        ({}, "positive multiple"),
        ({"max_throughput": 970, "min_throughput": 100}, "multiple of 970"),
        ({"max_throughput": 970, "min_throughput": 1940}, "must not exceed"),
        ({"max_throughput": 970, "min_throughput": 970, "scale_to_zero": True}, "min_throughput=0"),
        ({"max_throughput": 970, "min_throughput": 0}, "scale_to_zero=True"),
        ({"model_units": 50}, "tokens per second"),
    ],
)
def test_invalid_tokens_sizings_say_why(kwargs, fragment):
    with pytest.raises(SizingError, match=fragment):
        TPS.validate(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"model_units": 60}, "multiple of 50"),
        ({"model_units": 0}, "positive multiple"),
        ({"max_throughput": 970}, "model units"),
        ({"model_units": 50, "scale_to_zero": True}, "cannot scale to zero"),
    ],
)
def test_invalid_model_unit_sizings_say_why(kwargs, fragment):
    with pytest.raises(SizingError, match=fragment):
        MU.validate(**kwargs)


def test_ineligible_model_says_why_and_blocks_everything():
    assert not OFF.eligible
    assert "main.default.custom version 3" in OFF.reason and "whisper" in OFF.reason
    with pytest.raises(NotOptimizable, match="not eligible"):
        OFF.validate(970)
    with pytest.raises(NotOptimizable):
        OFF.choices()


def test_server_reason_is_used_when_given():
    plan = SizingPlan("main.default.x", "1", OptimizationInfo.from_wire(
        {"optimizable": False, "reason": "main.default.x version 1 has no llm/v1/* task."}))
    assert plan.reason == "main.default.x version 1 has no llm/v1/* task."


def test_estimate_tokens_scheme_with_price():
    est = TPS.estimate(TPS.validate(2910, 970), price_per_dbu=0.5)
    assert (est.min_tokens_per_second, est.max_tokens_per_second) == (970, 2910)
    assert (est.min_dbus_per_hour, est.max_dbus_per_hour) == (24, 72)
    assert (est.min_cost_per_hour, est.max_cost_per_hour) == (12, 36)
    assert est.describe() == "970-2,910 tokens/s, 24-72 DBU/h, 12-36 per hour"


def test_estimate_scale_to_zero_and_model_units():
    est = TPS.estimate(TPS.validate(970, scale_to_zero=True))
    assert est.min_dbus_per_hour == 0 and est.max_cost_per_hour is None
    mu = MU.estimate(MU.validate(model_units=100), price_per_dbu=2)
    assert (mu.model_units, mu.max_dbus_per_hour, mu.max_cost_per_hour) == (100, 20, 40)
    assert mu.describe() == "100 model units, 20 DBU/h, 40 per hour"


def test_served_entity_carries_the_scheme_fields():
    entity = TPS.served_entity(TPS.validate(1940, scale_to_zero=True), name="llama-1")
    assert entity.to_wire() == {
        "entity_name": "system.ai.llama", "entity_version": "1", "name": "llama-1",
        "min_provisioned_throughput": 0, "max_provisioned_throughput": 1940,
        "scale_to_zero_enabled": True}
    assert MU.served_entity(MU.default()).to_wire() == {
        "entity_name": "system.ai.gpt_oss", "entity_version": "1", "provisioned_model_units": 50}
