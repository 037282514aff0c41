"""Endpoint names, the session history, and a light, network-free ``import pt_widgets``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pt_widgets.endpoints import check_endpoint_name, suggest_endpoint_name
from pt_widgets.errors import ValidationError
from pt_widgets.history import History


@pytest.mark.parametrize(
    ("model", "version", "expected"),
    [
        ("system.ai.smollm2_135m_instruct", 1, "smollm2-135m-instruct-v1"),
        ("main.default.My Model!", None, "my-model"),
        ("main.default.___", "2", "endpoint-v2"),
        ("a.b." + "x" * 80, 12, "x" * 59),
    ],
)
def test_suggested_names_are_valid(model, version, expected):
    name = suggest_endpoint_name(model, version)
    assert name == expected
    assert check_endpoint_name(name) == name


def test_suggested_name_avoids_taken_ones():
    taken = ["smollm2-135m-instruct-v1", "SMOLLM2-135M-INSTRUCT-V1-2"]
    assert suggest_endpoint_name("system.ai.smollm2_135m_instruct", 1, taken) == (
        "smollm2-135m-instruct-v1-3")


@pytest.mark.parametrize("bad", ["", "has.dot", "x" * 64, "spa ce", None])
def test_invalid_endpoint_names_are_rejected_with_a_suggestion(bad):
    with pytest.raises(ValidationError, match="1-63 letters"):
        check_endpoint_name(bad)


def test_history_is_bounded_clipped_and_a_frame():
    history = History(maxlen=3)
    for i in range(5):
        history.add(host="h", endpoint="e", kind="chat", input="x" * 5000, output=f"out{i}",
                    finish_reason="stop", prompt_tokens=1, completion_tokens=2,
                    total_tokens=3, latency_s=0.1, status="ok")
    frame = history.to_pandas()
    assert list(frame["output"]) == ["out2", "out3", "out4"]
    assert len(frame["input"][0]) == 2000
    assert str(frame["timestamp"].dtype).startswith("datetime64")
    history.clear()
    assert len(history) == 0 and list(history.to_pandas().columns)[0] == "timestamp"


PROBE = r"""
import json, socket, sys
def no_network(*a, **k):
    raise AssertionError("network call during import")
socket.socket.connect = no_network
socket.create_connection = no_network
import pt_widgets
heavy = ["mlflow", "torch", "transformers", "databricks", "requests", "pandas", "numpy",
         "ipywidgets", "anywidget", "pt_widgets.local"]
print(json.dumps({m: m in sys.modules for m in heavy} | {"names": len(pt_widgets.__all__)}))
"""


def test_import_is_light_and_makes_no_network_call():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True)
    loaded = json.loads(out.stdout)
    assert loaded.pop("names") > 20
    assert not any(loaded.values()), loaded


def test_public_names_resolve_lazily():
    import pt_widgets

    for name in pt_widgets.__all__:
        assert getattr(pt_widgets, name) is not None
    with pytest.raises(AttributeError):
        pt_widgets.no_such_name  # noqa: B018
