"""Widgets refuse options they do not have (a typo must not be silently ignored)."""

from __future__ import annotations

import pytest

import pt_widgets

WIDGETS = ["App", "ModelPicker", "ThroughputSlider", "DeployPanel", "Playground",
           "EndpointsTable", "ComparePanel", "LoadTestPanel", "MonitorPanel"]


@pytest.mark.parametrize("name", WIDGETS)
def test_an_unknown_keyword_is_a_type_error_naming_it(name):
    cls = getattr(pt_widgets, name)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'endpoit'") as info:
        cls(endpoit="my-chat")
    assert name in str(info.value)


def test_known_options_and_traits_are_still_accepted():
    panel = pt_widgets.LoadTestPanel(endpoint="my-chat", concurrency=[1, 2],
                                     layout={"width": "600px"})
    assert panel.endpoint == "my-chat" and list(panel.concurrency) == [1, 2]
    assert panel.layout.width == "600px"
    slider = pt_widgets.ThroughputSlider(price_per_dbu=0.07)
    assert slider.price_per_dbu == 0.07
    panel.close()
    slider.close()
