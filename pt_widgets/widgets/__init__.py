"""Jupyter widgets (anywidget) for provisioned-throughput model serving.

``App()`` is the whole loop in one widget; the steps also exist on their own:
``ModelPicker``, ``ThroughputSlider``, ``DeployPanel``, ``Playground``, ``EndpointsTable``
(``link(picker, slider, deploy, playground)`` connects standalone ones like the App does).
``ComparePanel`` (endpoints side by side) and ``LoadTestPanel`` (a bounded load test with a
live chart) answer "which model, and how many tokens/s do I need?"; ``MonitorPanel``
watches an endpoint's tokens/s, 429s and latency live. ``GovernancePanel`` governs an
endpoint (AI gateway limits, usage, inference table, permissions) and ``ExternalModelForm``
serves an OpenAI-compatible server as one.
The widgets call only the Python API (``pt_widgets.catalog``, ``sizing``, ``endpoints``,
``queries``); no token or secret is ever synced to the browser or saved in a notebook.
"""

from __future__ import annotations

from .app import App, link
from .compare import ComparePanel
from .deploy import DeployPanel
from .endpoints_table import EndpointsTable
from .external import ExternalModelForm
from .governance import GovernancePanel
from .loadtest import LoadTestPanel
from .monitor import MonitorPanel
from .picker import ModelPicker
from .playground import Playground
from .slider import ThroughputSlider

__all__ = [
    "App",
    "ComparePanel",
    "DeployPanel",
    "EndpointsTable",
    "ExternalModelForm",
    "GovernancePanel",
    "LoadTestPanel",
    "ModelPicker",
    "MonitorPanel",
    "Playground",
    "ThroughputSlider",
    "link",
]
