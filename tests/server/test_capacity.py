"""The capacity pool: provisioned minimums cannot exceed what the machine serves.

One workspace at the product's default (a model's pool = one replica's measured throughput =
4 chunks; one machine), fast autoscaling. Every step waits on a state the server reports
(an endpoint's state, the provisioned-rate gauge, the entity's log), never on time.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading

import pytest
import requests

from ..support import deploy, optimization_info, wait_until

CHAT = "system.ai.smollm2_135m_instruct"
POOL = {"PT_WIDGETS_CAPACITY_CHUNKS": "4", "PT_WIDGETS_CAPACITY_MACHINES": "1",
        "PT_WIDGETS_SCALE_UP_DELAY_S": "1", "PT_WIDGETS_SCALE_DOWN_AFTER_S": "600",
        "PT_WIDGETS_DEMAND_WINDOW_S": "3"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from ..support import ServerProcess

    proc = ServerProcess(tmp_path_factory.mktemp("capacity"), env=POOL).start()
    yield proc
    proc.stop()


def url(server, path: str = "") -> str:
    return f"{server.host}/api/2.0/serving-endpoints{path}"


def endpoint(server, name: str) -> dict:
    return requests.get(url(server, f"/{name}"), headers=server.headers, timeout=10).json()


def create(server, name: str, chunks: int, chunk: int) -> None:
    entity = {"entity_name": CHAT, "entity_version": "1",
              "min_provisioned_throughput": chunks * chunk,
              "max_provisioned_throughput": chunks * chunk}
    response = requests.post(url(server), headers=server.headers, timeout=60,
                             json={"name": name, "config": {"served_entities": [entity]}})
    assert response.status_code == 200, response.text


def failed(server, name: str) -> dict | None:
    body = endpoint(server, name)
    return body if body["state"]["config_update"] == "UPDATE_FAILED" else None


def rate(server, name: str) -> float:
    text = requests.get(url(server, f"/{name}/metrics"), headers=server.headers,
                        timeout=10).text
    match = re.search(r"^provisioned_throughput_tokens_per_second\{[^}]*\} ([0-9.e+]+)$",
                      text, re.M)
    return float(match.group(1)) if match else -1.0


def entity_log(server, name: str) -> str:
    entity = endpoint(server, name)["config"]["served_entities"][0]["name"]
    return requests.get(url(server, f"/{name}/served-models/{entity}/logs"),
                        headers=server.headers, timeout=10).json()["logs"]


class Pressure:
    """Asks an endpoint for far more than its rate, round after round, until stopped
    (refused asks count as demand too, so the autoscaler always sees pressure)."""

    def __init__(self, server, name: str, chunk: int) -> None:
        self.server, self.name = server, name
        self.prompt = "Summarise:" + " data" * min(chunk + 50, 1800)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _ask(self, _: int) -> int:
        return requests.post(
            f"{self.server.host}/serving-endpoints/{self.name}/invocations",
            headers=self.server.headers, timeout=300,
            json={"messages": [{"role": "user", "content": self.prompt}], "max_tokens": 2,
                  "temperature": 0}).status_code

    def _run(self) -> None:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            while not self.stop.is_set():
                list(pool.map(self._ask, range(4)))

    def __enter__(self) -> Pressure:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(300)


def test_minimums_fit_the_pool_and_autoscaling_takes_only_what_is_free(server):
    info = optimization_info(server, CHAT)
    chunk = info["throughput_chunk_size"]

    deploy(server, "cap-holder", CHAT, 2, 2)  # half the pool
    create(server, "cap-too-big", 3, chunk)  # three quarters: does not fit beside it
    body = wait_until(lambda: failed(server, "cap-too-big"), 120, what="UPDATE_FAILED")
    message = body["pending_config"]["served_entities"][0]["state"]["deployment_state_message"]
    assert message.startswith("Insufficient capacity"), message
    assert "needs 75 %" in message and "50 % is free" in message, message
    assert "'cap-holder' 50 %" in message, message
    assert body.get("config") is None  # nothing of it serves, nothing half-deployed

    deploy(server, "cap-grower", CHAT, 1, 3)  # a quarter reserved, up to three
    # an update of the holder that does not fit fails, and its live config keeps serving
    too_much = {"served_entities": [{"entity_name": CHAT, "entity_version": "1",
                                     "min_provisioned_throughput": 4 * chunk,
                                     "max_provisioned_throughput": 4 * chunk}]}
    assert requests.put(url(server, "/cap-holder/config"), headers=server.headers,
                        json=too_much, timeout=60).status_code == 200
    held = wait_until(lambda: failed(server, "cap-holder"), 120, what="UPDATE_FAILED")
    assert held["state"]["ready"] == "READY"
    assert held["config"]["served_entities"][0]["min_provisioned_throughput"] == 2 * chunk
    assert "Insufficient capacity" in \
        held["pending_config"]["served_entities"][0]["state"]["deployment_state_message"]

    with Pressure(server, "cap-grower", chunk):
        # one chunk is free (1 - 1/2 - 1/4): the grower takes it, then is held
        wait_until(lambda: rate(server, "cap-grower") == 2 * chunk, 120,
                   what="the grower at two chunks")
        wait_until(lambda: "scale up held" in entity_log(server, "cap-grower"), 120,
                   what="the held scale-up in the entity's log")
        assert rate(server, "cap-grower") == 2 * chunk
        # the holder goes: its half is free, the grower reaches its max
        requests.delete(url(server, "/cap-holder"), headers=server.headers, timeout=60)
        wait_until(lambda: rate(server, "cap-grower") == 3 * chunk, 120,
                   what="the grower at its max")
        # a new minimum reserves what the grower was bursting with: it steps back
        deploy(server, "cap-late", CHAT, 2, 2)
        wait_until(lambda: rate(server, "cap-grower") == 2 * chunk, 120,
                   what="the grower back to two chunks")
        assert "capacity reclaimed" in entity_log(server, "cap-grower")

    # reservations survive a restart: the pool is still three quarters held
    server.restart()
    create(server, "cap-after-restart", 2, chunk)
    body = wait_until(lambda: failed(server, "cap-after-restart"), 120, what="UPDATE_FAILED")
    message = body["pending_config"]["served_entities"][0]["state"]["deployment_state_message"]
    assert "25 % is free" in message and "'cap-late' 50 %" in message, message
