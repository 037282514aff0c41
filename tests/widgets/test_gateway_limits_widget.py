"""The governance panel's AI gateway editor end to end: limits added and removed in the
panel are stored by ``PUT .../ai-gateway`` and enforced by the workspace (a second user gets
429 once his limit is spent), the switches round-trip, bad limits are one sentence.

The panel writes through ``PUT /api/2.0/serving-endpoints/{name}/ai-gateway`` (the wire
layer's route), which stores the config where the governance gateway reads it.
"""

from __future__ import annotations

import pytest

import pt_widgets
from pt_widgets.errors import RateLimited
from pt_widgets.transport import NO_RETRY
from pt_widgets.widgets import GovernancePanel

from .conftest import Recorder, RequestFailed, create_tracked_endpoint

NAME = "gov-limits"
BOB = "bob@example.com"


def test_rate_limits_edited_in_the_panel_are_enforced(ws, workspace, bob_token, upstream):
    create_tracked_endpoint(ws, NAME, upstream)
    bob = pt_widgets.connect(workspace.host, bob_token)
    bob.retry = NO_RETRY  # a 429 is the answer under test, not something to wait out
    panel = GovernancePanel(endpoint=NAME, workspace=ws)
    try:
        rec = Recorder(panel)
        assert rec.request("governance:load")["rate_limits"] == []
        panel.grant(BOB, "CAN_QUERY")
        bobs_limit = {"key": "user", "principal": BOB, "calls": 1, "tokens": None}
        everyone = {"key": "endpoint", "principal": "", "calls": None, "tokens": 100_000}
        state = rec.request("governance:set_gateway", {
            "rate_limits": [bobs_limit, everyone], "usage_tracking": True,
            "inference_table": True})
        assert state["rate_limits"] == [bobs_limit, everyone]
        assert panel.rate_limits == [bobs_limit, everyone]

        pt_widgets.chat(bob, NAME, "one", max_tokens=1)
        with pytest.raises(RateLimited, match="REQUEST_LIMIT_EXCEEDED|limit"):
            pt_widgets.chat(bob, NAME, "two", max_tokens=1)
        pt_widgets.chat(ws, NAME, "the admin is not bob", max_tokens=1)

        # remove bob's limit in the panel: he is served again at once
        state = rec.request("governance:set_gateway", {"rate_limits": [everyone]})
        assert state["rate_limits"] == [everyone]
        pt_widgets.chat(bob, NAME, "three", max_tokens=1)

        # bad limits are one sentence and change nothing
        for bad, sentence in (({"key": "user_group", "calls": 1}, "key must be 'endpoint'"),
                              ({"key": "user"}, "needs calls per minute"),
                              ({"key": "user", "calls": 0}, "whole number of at least 1")):
            with pytest.raises(RequestFailed, match=sentence):
                rec.request("governance:set_gateway", {"rate_limits": [bad]})
        assert rec.request("governance:load")["rate_limits"] == [everyone]

        # the switches round-trip; the Python API edits the same config
        state = rec.request("governance:set_gateway", {"usage_tracking": False})
        assert state["usage_tracking"] is False and state["inference_table"] is True
        panel.set_limits([{"key": "user", "calls": 5}])
        assert panel.rate_limits == [{"key": "user", "principal": "", "calls": 5,
                                      "tokens": None}]
        assert panel.part.get("usage_tracking") is True
    finally:
        panel.close()
