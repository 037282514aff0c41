"""The Python API against what Databricks really does: 429s and 503s with Retry-After, slow
deploys, restarts, and a server that is gone or stops answering.

Every server here is a REAL local workspace process; the faults are real (kill -9, a
deploy still running, an empty token bucket, a socket that never answers). Waits that
could hang run on a thread joined with a deadline, so a hang fails the test instead of
stalling the suite. Retry timing is read from the client's own debug log (the delay it
chose), never measured on the wall clock.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

import pt_widgets
from pt_widgets.errors import RateLimited, RequestTimeout, Unavailable, WorkspaceUnreachable
from pt_widgets.workspace import RetryPolicy

from ..support import spend_at_admission, wait_until
from .harness import (
    CHAT,
    SERVING,
    PinnedServer,
    create,
    endpoint_rows,
    seed_calibration,
    tps_config,
)

RETRY_LOG = re.compile(r"HTTP (\d+) on \w+ (\S+); retrying in ([0-9.]+) s")
HANG_GUARD_S = 180  # a call still running after this is a hang, whatever the machine load


def within(seconds: float, call: Callable[[], Any]) -> Any:
    """Run ``call`` on a thread; its result or exception, or fail if it is still running."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the call was still running after {seconds} s (a hang)"
    if "error" in box:
        raise box["error"]
    return box["value"]


def retries(caplog) -> list[tuple[int, str, float]]:
    return [(int(m[1]), m[2], float(m[3])) for r in caplog.records
            if (m := RETRY_LOG.search(r.getMessage()))]


def one_sentence(text: str) -> bool:
    return "\n" not in text and text.endswith(".") and len(text) < 400


@pytest.fixture(scope="module")
def pinned(deployed, tmp_path_factory) -> Iterator[PinnedServer]:
    """A server that keeps its port across restarts (clients keep their host).

    Shared by the tests below that kill it; each (re)starts it if it is down.
    """
    data_dir = tmp_path_factory.mktemp("pinned")
    seed_calibration(deployed.server.data_dir, data_dir)
    server = PinnedServer(data_dir).start()
    yield server
    server.stop()


def drain_bucket(server, endpoint: str, chunk: int) -> None:
    """Spend about four seconds of the provisioned rate in one query, so the next is a 429.

    The cost is in the prompt (prompt tokens are charged whole, nothing is refunded), so
    the bucket stays empty however short the model's answer is; and it is spent at
    admission (see ``spend_at_admission``), however long the prefill takes.
    """
    spend_at_admission(server, endpoint, "word " * min(4 * chunk, 1500))


def test_429_is_retried_after_the_servers_retry_after(deployed, caplog):
    server = deployed.server
    ws = pt_widgets.connect(server.host, server.token)
    caplog.set_level(logging.DEBUG, logger="pt_widgets.workspace")
    drain_bucket(server, deployed.chat, deployed.chat_chunk)
    refused = requests.post(f"{server.host}/serving-endpoints/{deployed.chat}/invocations",
                            headers=server.headers, timeout=60,
                            json={"messages": [{"role": "user", "content": "hi"}],
                                  "max_tokens": 2})
    assert refused.status_code == 429
    retry_after = int(refused.headers["Retry-After"])
    result = within(HANG_GUARD_S, lambda: ws.chat(
        deployed.chat, "Say hi.", max_tokens=2, retry=RetryPolicy(max_attempts=10,
                                                                    deadline_s=120)))
    assert result.text is not None and result.usage.completion_tokens
    waits = retries(caplog)
    assert waits and all(status == 429 for status, _, _ in waits), waits
    # slept what the server asked for (plus jitter); the header the client got came a moment
    # after ours, so it may be up to one second lower
    assert waits[0][2] >= max(1, retry_after - 1)
    assert len(waits) <= 5  # waited, did not hammer


def test_429_beyond_the_deadline_is_raised_not_slept_through(deployed, caplog):
    server = deployed.server
    ws = pt_widgets.connect(server.host, server.token)
    caplog.set_level(logging.DEBUG, logger="pt_widgets.workspace")
    drain_bucket(server, deployed.chat, deployed.chat_chunk)
    with pytest.raises(RateLimited) as info:
        within(HANG_GUARD_S, lambda: ws.chat(
            deployed.chat, "Say hi.", max_tokens=2,
            retry=RetryPolicy(max_attempts=10, deadline_s=0.5)))
    assert retries(caplog) == []  # the wait would cross the deadline: not started
    assert info.value.status == 429 and info.value.retry_after >= 1
    assert one_sentence(str(info.value)), str(info.value)


def test_503_while_the_first_config_deploys_is_retried_until_ready(deployed, caplog):
    server = deployed.server
    ws = pt_widgets.connect(server.host, server.token)
    caplog.set_level(logging.DEBUG, logger="pt_widgets.workspace")
    name = "resilience-503"
    response = create(server, name, tps_config(CHAT, deployed.chat_chunk, deployed.chat_chunk))
    assert response.status_code == 200, response.text
    try:
        result = within(HANG_GUARD_S, lambda: ws.chat(
            name, "Say hi.", max_tokens=2, retry=RetryPolicy(max_attempts=20, deadline_s=150)))
        assert result.usage.completion_tokens
        waits = retries(caplog)
        # the first call lands while the replica loads (a load takes far longer than one
        # request), so at least one 503 was waited out, each for its Retry-After
        assert waits, "no 503 was retried: the call did not meet the deploy"
        assert all(status == 503 and delay >= 5 for status, _, delay in waits), waits
    finally:
        requests.delete(f"{server.host}{SERVING}/{name}", headers=server.headers, timeout=30)


def test_503_with_a_short_deadline_fails_in_one_sentence(deployed, caplog):
    server = deployed.server
    ws = pt_widgets.connect(server.host, server.token)
    caplog.set_level(logging.DEBUG, logger="pt_widgets.workspace")
    name = "resilience-503-deadline"
    response = create(server, name, tps_config(CHAT, deployed.chat_chunk, deployed.chat_chunk))
    assert response.status_code == 200, response.text
    try:
        with pytest.raises(Unavailable) as info:
            within(HANG_GUARD_S, lambda: ws.chat(
                name, "Say hi.", max_tokens=2, retry=RetryPolicy(max_attempts=20, deadline_s=2)))
        assert info.value.status == 503 and info.value.retry_after == 5
        assert retries(caplog) == []
        assert one_sentence(str(info.value)), str(info.value)
    finally:
        wait_until(lambda: requests.get(f"{server.host}{SERVING}/{name}", headers=server.headers,
                                        timeout=30).json()["state"]["config_update"]
                   != "IN_PROGRESS", 240, what="deploy settled")
        requests.delete(f"{server.host}{SERVING}/{name}", headers=server.headers, timeout=30)


def alive(server: PinnedServer) -> PinnedServer:
    if server.proc is None or server.proc.poll() is not None:
        server.start()
    return server


def test_waiting_for_ready_survives_a_server_restart(pinned):
    ws = pt_widgets.connect(alive(pinned).host, pinned.token)
    plan = ws.sizing_plan(CHAT, 1)
    seen: list[str] = []
    with pinned.holding_loads():  # the load waits, so the crash lands mid-deploy on any machine
        deployment = ws.deploy_in_background("survivor", CHAT, 1,
                                             {"max_throughput": plan.chunk_size},
                                             poll_interval=0.5, timeout=600,
                                             progress=lambda p: seen.append(p.describe()))
        wait_until(lambda: seen, 60, interval=0.02, what="the first progress report")
        pinned.kill9()  # the create was acknowledged, the model load is held
    assert not deployment.done
    [row] = [r for r in endpoint_rows(pinned.data_dir) if r["name"] == "survivor"]
    assert row["state"]["config_update"] == "IN_PROGRESS"  # the crash landed mid-deploy
    pinned.start()  # same port, same data dir: the interrupted deploy resumes
    endpoint = within(HANG_GUARD_S, deployment.result)
    assert endpoint.is_ready, endpoint
    assert ws.endpoint("survivor").is_ready
    assert ws.chat("survivor", "Say hi.", max_tokens=2).usage.completion_tokens


class HeldUpstream:
    """An OpenAI-compatible "upstream" that accepts a query and never answers it.

    An external-model endpoint in front of it keeps a query in flight for as long as the test
    wants, on a machine of any speed: ``received`` is set when the request has arrived.
    """

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.received = threading.Event()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:  # closed by the test
            return
        self._conns.append(conn)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        self.received.set()

    def close(self) -> None:
        for conn in [*self._conns, self.sock]:
            conn.close()


def test_a_server_dying_mid_query_and_then_dead_is_reported_in_one_sentence(pinned):
    ws = pt_widgets.connect(alive(pinned).host, pinned.token)
    upstream = HeldUpstream()
    ws.call("POST", SERVING, json={"name": "cut-off", "config": {"served_entities": [{
        "name": "held", "external_model": {
            "provider": "openai", "name": "m", "task": "llm/v1/chat",
            "openai_config": {"openai_api_base": upstream.base,
                              "openai_api_key_plaintext": "sk-test"}}}]}})
    ws.wait("cut-off", timeout=300)
    box: dict[str, Any] = {}

    def held_query() -> None:
        try:
            box["result"] = ws.chat("cut-off", "Tell a long story.", max_tokens=240)
        except Exception as exc:  # noqa: BLE001 - inspected below
            box["error"] = exc

    thread = threading.Thread(target=held_query, daemon=True)
    thread.start()
    try:
        assert upstream.received.wait(HANG_GUARD_S), "the query never reached the upstream"
        pinned.kill9()  # the query is in flight: the upstream holds it until the test ends
        thread.join(HANG_GUARD_S)
    finally:
        upstream.close()
    assert not thread.is_alive(), "the query hung after the server died"
    error = box.get("error")
    assert isinstance(error, WorkspaceUnreachable), box
    assert one_sentence(str(error)) and "dropped" in str(error), str(error)
    # the server stays dead: every kind of call says so in one sentence, none hangs
    for call in (lambda: ws.endpoint("cut-off"),
                 lambda: ws.chat("cut-off", "Say hi.", max_tokens=2),
                 lambda: ws.wait("cut-off", poll_interval=0.2, timeout=600),
                 lambda: pt_widgets.connect(pinned.host, pinned.token)):
        with pytest.raises(WorkspaceUnreachable) as info:
            within(HANG_GUARD_S, call)
        message = str(info.value)
        assert one_sentence(message) and pinned.host in message, message
        assert "connection refused" in message and "pt_widgets.local serve" in message


def test_a_server_that_never_answers_times_out_in_one_sentence(deployed):
    """A socket that accepts and then says nothing (a hung process, a stuck proxy)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        host = f"http://127.0.0.1:{silent.getsockname()[1]}"
        ws = pt_widgets.connect(host, deployed.server.token, verify=False, timeout=2)
        with pytest.raises(RequestTimeout) as info:
            within(HANG_GUARD_S, lambda: ws.chat("anything", "hi", max_tokens=2))
    assert one_sentence(str(info.value)) and "timeout=" in str(info.value), str(info.value)
