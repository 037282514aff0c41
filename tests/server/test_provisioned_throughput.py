"""The provisioned rate is enforced (429 + Retry-After above it) and autoscaling moves it."""

from __future__ import annotations

import concurrent.futures
import re
import time

import pytest
import requests

from ..support import deploy, optimization_info, wait_until

CHAT = "system.ai.smollm2_135m_instruct"
FAST_SCALING = {"PT_WIDGETS_SCALE_UP_DELAY_S": "2", "PT_WIDGETS_SCALE_DOWN_AFTER_S": "4",
                "PT_WIDGETS_SCALE_TO_ZERO_AFTER_S": "3", "PT_WIDGETS_DEMAND_WINDOW_S": "3"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from ..support import ServerProcess

    proc = ServerProcess(tmp_path_factory.mktemp("pt"), env=FAST_SCALING).start()
    yield proc
    proc.stop()


def ask(server, endpoint: str, max_tokens: int) -> requests.Response:
    return requests.post(f"{server.host}/serving-endpoints/{endpoint}/invocations",
                         headers=server.headers, timeout=120,
                         json={"messages": [{"role": "user", "content": "Say hi."}],
                               "max_tokens": max_tokens, "temperature": 0})


def gauge(server, endpoint: str, name: str) -> float:
    text = requests.get(f"{server.host}/api/2.0/serving-endpoints/{endpoint}/metrics",
                        headers=server.headers, timeout=10).text
    match = re.search(rf"^{name}{{[^}}]*}} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else -1.0


def test_burst_above_rate_gets_429_with_retry_after(server):
    chunk = optimization_info(server, CHAT)["throughput_chunk_size"]
    deploy(server, "pt-burst", CHAT, 1, 1)
    # each request reserves over half of the one-second bucket, so 8 at once exceed it on any
    # machine (the chunk is this machine's measured rate)
    max_tokens = max(48, min(1900, chunk // 2))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: ask(server, "pt-burst", max_tokens), range(8)))
    codes = [r.status_code for r in responses]
    assert 200 in codes and 429 in codes, codes
    assert set(codes) <= {200, 429}
    for r in responses:
        if r.status_code == 429:
            assert r.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
            assert int(r.headers["Retry-After"]) >= 1
            assert "provisioned" in r.json()["message"]


def test_traffic_below_rate_is_served(server):
    chunk = optimization_info(server, CHAT)["throughput_chunk_size"]
    deploy(server, "pt-calm", CHAT, 1, 1)
    first = ask(server, "pt-calm", 4)
    assert first.status_code == 200
    cost = first.json()["usage"]["total_tokens"]
    interval = cost / (0.5 * chunk)  # pace the client at half the provisioned rate
    for _ in range(4):
        time.sleep(interval)  # the load pattern, not synchronisation
        assert ask(server, "pt-calm", 4).status_code == 200


def test_sustained_demand_scales_up_to_max(server):
    chunk = optimization_info(server, CHAT)["throughput_chunk_size"]
    deploy(server, "pt-scale", CHAT, 1, 2)
    assert gauge(server, "pt-scale", "provisioned_throughput_tokens_per_second") in (-1, chunk)

    def pressed():
        # 8 concurrent asks reserve ~8 x 90 tokens a round: demand well above one chunk even
        # when a loaded machine makes each round slow (and the 429s count as demand too)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: ask(server, "pt-scale", 64), range(8)))
        return gauge(server, "pt-scale", "provisioned_throughput_tokens_per_second") == 2 * chunk

    wait_until(pressed, 60, interval=0.1, what="scale up to 2 chunks")
    logs = requests.get(f"{server.host}/api/2.0/serving-endpoints/pt-scale/served-models/"
                        "smollm2_135m_instruct-1/logs", headers=server.headers,
                        timeout=10).json()["logs"]
    assert "chat -> 429" in logs or "chat -> 200" in logs


def test_scale_to_zero_releases_and_first_request_waits_for_reload(server):
    deploy(server, "pt-zero", CHAT, 0, 1, scale_to_zero=True)
    assert ask(server, "pt-zero", 4).status_code == 200
    wait_until(lambda: gauge(server, "pt-zero", "provisioned_throughput_tokens_per_second")
               == 0, 30, what="scale to zero")
    woke = ask(server, "pt-zero", 4)
    assert woke.status_code == 200
    logs = requests.get(f"{server.host}/api/2.0/serving-endpoints/pt-zero/served-models/"
                        "smollm2_135m_instruct-1/logs", headers=server.headers,
                        timeout=10).json()["logs"]
    assert "scaling to zero" in logs and "Scaling from zero" in logs
