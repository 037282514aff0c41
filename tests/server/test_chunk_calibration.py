"""The chunk is the measured figure: change the measurement and the chunk follows.

A hard-coded chunk would pass every other test; this one changes the figure the server
measured (its calibration cache in the data dir, ``calibration.json``), restarts it, and
expects optimization info, the sizing rule and a deployed endpoint's provisioned rate to
follow the new figure.
"""

from __future__ import annotations

import json
import re

import requests

from ..support import deploy, optimization_info, wait_until

CHAT = "system.ai.smollm2_135m_instruct"
EMBED = "system.ai.all_minilm_l6_v2"
FACTOR = 3.7  # far from 1, and not a round multiple a rounding rule could hide


def rate_gauge(server, endpoint: str) -> float | None:
    text = requests.get(f"{server.host}/api/2.0/serving-endpoints/{endpoint}/metrics",
                        headers=server.headers, timeout=10).text
    match = re.search(r"^provisioned_throughput_tokens_per_second\{[^}]*\} ([0-9.e+]+)$",
                      text, re.M)
    return float(match.group(1)) if match else None


def test_the_chunk_follows_a_changed_measurement(start_workspace):
    server = start_workspace()
    measured = {model: optimization_info(server, model)["throughput_chunk_size"]
                for model in (CHAT, EMBED)}
    server.stop()

    cache_file = server.data_dir / "calibration.json"
    cache = json.loads(cache_file.read_text())
    assert len(cache) >= 2, cache  # one measurement per model source
    for entry in cache.values():
        entry["tokens_per_second"] = round(entry["tokens_per_second"] * FACTOR, 1)
    cache_file.write_text(json.dumps(cache))

    server.start()
    for model, before in measured.items():
        after = optimization_info(server, model)["throughput_chunk_size"]
        assert after != before, model
        # chunks are rounded down to tens: the ratio holds within that rounding
        assert before * FACTOR - 10 <= after <= (before + 10) * FACTOR, (model, before, after)
    assert json.loads(cache_file.read_text()) == cache  # read, not measured again

    chunk = optimization_info(server, CHAT)["throughput_chunk_size"]
    deploy(server, "follows-the-chunk", CHAT, 1, 1)
    rate = wait_until(lambda: rate_gauge(server, "follows-the-chunk"), 30,
                      what="the provisioned-rate gauge")
    assert rate == chunk
