"""Persistence: endpoints survive restarts and kill -9; none stays IN_PROGRESS."""

from __future__ import annotations

import sqlite3

import requests

from ..support import wait_until

CHAT = "system.ai.smollm2_135m_instruct"


def create(server, name: str) -> dict:
    chunk = requests.get(
        f"{server.host}/api/2.0/serving-endpoints/get-model-optimization-info/{CHAT}/1",
        headers=server.headers, timeout=120).json()["throughput_chunk_size"]
    response = requests.post(f"{server.host}/api/2.0/serving-endpoints", headers=server.headers,
                             json={"name": name, "config": {"served_entities": [
                                 {"entity_name": CHAT, "entity_version": 1,
                                  "min_provisioned_throughput": chunk,
                                  "max_provisioned_throughput": chunk}]}}, timeout=60)
    response.raise_for_status()
    return response.json()


def get(server, name: str) -> dict:
    return requests.get(f"{server.host}/api/2.0/serving-endpoints/{name}",
                        headers=server.headers, timeout=10).json()


def settled(server, name: str):
    body = get(server, name)
    return body if body["state"]["config_update"] != "IN_PROGRESS" else None


def test_ready_endpoint_survives_a_clean_restart(start_workspace):
    server = start_workspace()
    created = create(server, "keep-me")
    wait_until(lambda: settled(server, "keep-me"), 180, what="deploy")
    server.restart()
    after = get(server, "keep-me")
    assert after["id"] == created["id"]
    assert after["state"] == {"ready": "READY", "config_update": "NOT_UPDATING",
                              "suspend": "NOT_SUSPENDED"}


def test_kill_9_mid_deploy_then_restart_ends_settled(start_workspace):
    server = start_workspace()
    with server.holding_loads():  # the crash lands mid-deploy however fast the load would be
        created = create(server, "crashy")
        assert get(server, "crashy")["state"]["config_update"] == "IN_PROGRESS"
        server.kill9()
    server.start()
    names = [e["name"] for e in requests.get(f"{server.host}/api/2.0/serving-endpoints",
                                             headers=server.headers, timeout=10).json()
             ["endpoints"]]
    assert names.count("crashy") == 1
    final = wait_until(lambda: settled(server, "crashy"), 180, what="resumed deploy")
    assert final["id"] == created["id"]
    # the resumed deploy of a valid model ends READY (not merely "no longer in progress")
    assert final["state"] == {"ready": "READY", "config_update": "NOT_UPDATING",
                              "suspend": "NOT_SUSPENDED"}, final
    answer = requests.post(f"{server.host}/serving-endpoints/crashy/invocations",
                           headers=server.headers, timeout=120,
                           json={"messages": [{"role": "user", "content": "Hi"}],
                                 "max_tokens": 2})
    assert answer.status_code == 200 and answer.json()["usage"]["completion_tokens"] >= 1
    conn = sqlite3.connect(server.data_dir / "workspace.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
