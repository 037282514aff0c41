"""The provisioned rate is enforced (429 + Retry-After above it) and autoscaling moves it."""

from __future__ import annotations

import concurrent.futures
import math
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


def ask(server, endpoint: str, max_tokens: int, content: str = "Say hi.") -> requests.Response:
    return requests.post(f"{server.host}/serving-endpoints/{endpoint}/invocations",
                         headers=server.headers, timeout=300,
                         json={"messages": [{"role": "user", "content": content}],
                               "max_tokens": max_tokens, "temperature": 0})


def heavy_prompt(chunk: int) -> str:
    """A prompt of at least ``min(chunk + 50, 1800)`` tokens (each " data" is >= 1 token).

    A request reserves its prompt tokens, which are never refunded, so a burst of these
    exceeds the provisioned rate by construction, whatever the machine's speed (the chunk is
    measured on it): no answer has to be "still running" and no engine has to be slow.
    """
    return "Summarise:" + " data" * min(chunk + 50, 1800)


def burst_size(chunk: int) -> int:
    """Enough heavy requests at once to ask for over three seconds of one chunk."""
    return min(48, max(4, math.ceil(3 * chunk / min(chunk + 50, 1800)) + 1))


def gauge(server, endpoint: str, name: str) -> float:
    text = requests.get(f"{server.host}/api/2.0/serving-endpoints/{endpoint}/metrics",
                        headers=server.headers, timeout=10).text
    match = re.search(rf"^{name}{{[^}}]*}} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else -1.0


def test_burst_above_rate_gets_429_with_retry_after(server):
    chunk = optimization_info(server, CHAT)["throughput_chunk_size"]
    deploy(server, "pt-burst", CHAT, 1, 1)
    n, prompt = burst_size(chunk), heavy_prompt(chunk)
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(lambda _: ask(server, "pt-burst", 4, prompt), range(n)))
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
    rate = "provisioned_throughput_tokens_per_second"
    # exported from the autoscaler's first tick on: before any demand, one chunk (the min)
    wait_until(lambda: gauge(server, "pt-scale", rate) >= 0, 30, what="the rate gauge")
    assert gauge(server, "pt-scale", rate) == chunk
    n, prompt = burst_size(chunk), heavy_prompt(chunk)

    def press() -> list[int]:
        # each round asks for over three seconds of one chunk (refused asks count as demand
        # too), so demand stays above the rate however fast or slow each round is
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            return [r.status_code for r in pool.map(
                lambda _: ask(server, "pt-scale", 4, prompt), range(n))]

    codes: list[int] = []
    wait_until(lambda: codes.extend(press()) or gauge(server, "pt-scale", rate) == 2 * chunk,
               120, interval=0.1, what="scale up to 2 chunks")
    assert 429 in codes and set(codes) <= {200, 429}, codes
    codes.extend(press())
    assert gauge(server, "pt-scale", rate) == 2 * chunk  # still pressed: held at max, not beyond
    logs = requests.get(f"{server.host}/api/2.0/serving-endpoints/pt-scale/served-models/"
                        "smollm2_135m_instruct-1/logs", headers=server.headers,
                        timeout=10).json()["logs"]
    assert logs.count("chat -> 429") == codes.count(429), logs[-2000:]
    assert logs.count("chat -> 200") == codes.count(200)


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
