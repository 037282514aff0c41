"""Fault trials: ``kill -9`` the server at a bad moment, restart it, prove nothing was lost.

Three moments, each one trial: during a deploy (the create answered, the model is
loading), during a config update (the PUT answered, the new replicas are loading, the old
ones serving) and during a burst of queries (requests in flight on every connection).
After each kill: the database files as the crash left them pass SQLite's integrity check;
after the restart every endpoint the server ever acknowledged is there exactly once with
its id, none stays IN_PROGRESS (interrupted deploys resume), every update that was
acknowledged is applied (or explicitly failed), and the endpoints answer queries again.
Used by ``test_faults.py`` (one trial of each) and ``tests/benchmarks/faults_long.py``.
"""

from __future__ import annotations

import concurrent.futures
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from ..support import ServerProcess, wait_until
from .harness import (
    CHAT,
    SERVING,
    ask_chat,
    create,
    endpoint_rows,
    get_endpoint,
    integrity,
    list_endpoints,
    tps_config,
    wait_all_settled,
)

SETTLE_TIMEOUT_S = 240


@dataclass
class Ledger:
    """What the server acknowledged: endpoint name -> id, and the config each must end on."""

    ids: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    max_tps: dict[str, int] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)

    def acknowledge(self, body: dict[str, Any]) -> None:
        self.ids[body["name"]] = body["id"]
        config = body.get("pending_config") or body.get("config")
        self.versions[body["name"]] = config["config_version"]
        self.max_tps[body["name"]] = config["served_entities"][0]["max_provisioned_throughput"]


def crash(server: ServerProcess) -> dict[str, str]:
    """kill -9, then the integrity check of the files exactly as the crash left them."""
    server.kill9()
    return integrity(server.data_dir)


def verify(server: ServerProcess, ledger: Ledger, crash_integrity: dict[str, str],
           kind: str, started: float) -> dict[str, Any]:
    """Restart and check the ledger against what the server and its database now say."""
    server.start()
    listed = list_endpoints(server)
    names = [e["name"] for e in listed]
    assert len(names) == len(set(names)), f"duplicated endpoints after {kind}: {names}"
    rows = [r["name"] for r in endpoint_rows(server.data_dir)]
    assert sorted(rows) == sorted(names), (rows, names)
    missing = set(ledger.ids) - set(names)
    assert not missing, f"endpoints lost after {kind}: {sorted(missing)}"
    unknown = set(names) - set(ledger.ids)
    assert not unknown, f"endpoints nobody created after {kind}: {sorted(unknown)}"
    for e in listed:
        assert e["id"] == ledger.ids[e["name"]], f"{e['name']} changed id after {kind}"
    final = wait_all_settled(server, SETTLE_TIMEOUT_S)
    for e in final:
        body = get_endpoint(server, e["name"])
        assert body["state"]["config_update"] == "NOT_UPDATING", (kind, body["state"])
        assert body["state"]["ready"] == "READY", (kind, body["state"])
        assert body["config"]["config_version"] == ledger.versions[e["name"]], (kind, body)
        entity = body["config"]["served_entities"][0]
        assert entity["max_provisioned_throughput"] == ledger.max_tps[e["name"]], (kind, body)
    after = integrity(server.data_dir)
    assert set(crash_integrity.values()) == {"ok"}, crash_integrity
    assert set(after.values()) == {"ok"}, after
    result = {"kind": kind, "endpoints": len(names),
              "seconds": round(time.monotonic() - started, 1)}
    ledger.trials.append(result)
    return result


def answers(server: ServerProcess, endpoint: str) -> bool:
    """The endpoint serves again after the restart (the first query reloads its replica)."""

    def ok():  # a 429 (bucket still empty from the burst) just means: ask again
        return ask_chat(server, endpoint, max_tokens=2, timeout=180).status_code == 200

    return bool(wait_until(ok, 180, interval=0.5, what=f"{endpoint} answering"))


def kill_during_deploy(server: ServerProcess, ledger: Ledger, chunk: int, n: int,
                       delay_s: float = 0.0) -> dict[str, Any]:
    started = time.monotonic()
    name = f"fault-deploy-{n}"
    response = create(server, name, tps_config(CHAT, chunk, chunk))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"]["config_update"] == "IN_PROGRESS"
    ledger.acknowledge(body)
    time.sleep(delay_s)  # where in the deploy the crash lands (the fault, not a sync)
    return verify(server, ledger, crash(server), "deploy", started)


def kill_during_update(server: ServerProcess, ledger: Ledger, chunk: int, n: int,
                       delay_s: float = 0.0) -> dict[str, Any]:
    """Flip a READY endpoint's max between one and two chunks and crash mid-rollout."""
    started = time.monotonic()
    name = next(iter(ledger.ids))
    current = get_endpoint(server, name)
    assert current["state"]["config_update"] == "NOT_UPDATING", current["state"]
    high = chunk if ledger.max_tps[name] == 2 * chunk else 2 * chunk
    response = requests.put(f"{server.host}{SERVING}/{name}/config", headers=server.headers,
                            json=tps_config(CHAT, chunk, high), timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"]["config_update"] == "IN_PROGRESS"
    ledger.acknowledge(body)
    time.sleep(delay_s)
    return verify(server, ledger, crash(server), "update", started)


def kill_during_burst(server: ServerProcess, ledger: Ledger, clients: int = 16,
                      answered_before_kill: int = 4) -> dict[str, Any]:
    """Queries on every connection, crash once some have been answered and more are running."""
    started = time.monotonic()
    name = next(iter(ledger.ids))
    answers(server, name)
    stop = threading.Event()
    answered = threading.Semaphore(0)
    outcomes: list[str] = []

    def client(i: int) -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                response = ask_chat(server, name, max_tokens=8, timeout=60, session=session,
                                    content=f"Count to {i}.")
                outcomes.append(str(response.status_code))
                answered.release()
            except requests.RequestException:
                outcomes.append("dropped")  # the crash: expected for requests in flight
                return

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        for i in range(clients):
            pool.submit(client, i)
        for _ in range(answered_before_kill):
            assert answered.acquire(timeout=120), "no query answered before the crash"
        crash_integrity = crash(server)
        stop.set()
    result = verify(server, ledger, crash_integrity, "burst", started)
    assert answers(server, name)
    result["queries_before_kill"] = len([o for o in outcomes if o != "dropped"])
    result["dropped_by_kill"] = outcomes.count("dropped")
    return result


def setup(server: ServerProcess, ledger: Ledger, chunk: int) -> None:
    """One READY endpoint to update and query (the first trial's subject)."""
    response = create(server, "fault-base", tps_config(CHAT, chunk, chunk))
    assert response.status_code == 200, response.text
    ledger.acknowledge(response.json())
    wait_all_settled(server, SETTLE_TIMEOUT_S)


def run_round(server: ServerProcess, ledger: Ledger, chunk: int, n: int,
              rng: random.Random | None = None) -> list[dict[str, Any]]:
    """One trial of each kind; ``rng`` spreads the crash over the rollout (long runs)."""
    delay = (lambda: rng.uniform(0.0, 1.5)) if rng else (lambda: 0.0)
    return [kill_during_deploy(server, ledger, chunk, n, delay()),
            kill_during_update(server, ledger, chunk, n, delay()),
            kill_during_burst(server, ledger)]
