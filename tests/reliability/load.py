"""Load at twice the provisioned rate: 32 paced clients, loopback only, bounded in time.

Each client sends queries (short chats, or batches of 16 sentences to embed) paced so that
all clients together ask for ``factor`` times the endpoint's provisioned tokens/s (prompt +
``max_tokens``, which is what a request reserves); a client whose answer takes longer than
its interval sends the next one at once.
What is measured: every answer's status, whether a refusal is a 429 with an integer
Retry-After, connections dropped (any exception), tokens the server admitted against the
rate it promised, and the server's resident memory after a warm-up against the end.
Used by ``test_load.py`` (short) and ``tests/benchmarks/load_test.py`` (60 s).
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field

import psutil
import requests

from ..support import ServerProcess

PROMPT = "Name three colours."
MAX_TOKENS = 8
SENTENCES = [f"Sentence {i} about provisioned throughput and serving." for i in range(16)]


def body_for(kind: str) -> dict:
    """One request: a short chat (prompt + 8 tokens) or 16 sentences to embed."""
    if kind == "embeddings":
        return {"input": SENTENCES}
    return {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": MAX_TOKENS,
            "temperature": 0}


@dataclass
class LoadReport:
    clients: int
    seconds: float
    provisioned_tps: float
    offered_tps: float
    statuses: collections.Counter = field(default_factory=collections.Counter)
    refusals_without_retry_after: int = 0
    refusals_not_429: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    delivered_tokens: int = 0
    cost: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    rss_after_warmup: int = 0
    rss_end: int = 0
    rss_peak: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + len(self.dropped)

    @property
    def share_429(self) -> float:
        return self.statuses[429] / max(1, self.requests)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def memory_growth(self) -> float:
        return (self.rss_end - self.rss_after_warmup) / max(1, self.rss_after_warmup)

    @property
    def delivered_tps(self) -> float:
        """Tokens (prompt + generated) of the answered requests, per second."""
        return self.delivered_tokens / self.seconds

    @property
    def asked_tps(self) -> float:
        """What the clients really asked for (pacing falls behind when answers are slow)."""
        return self.requests * self.cost / self.seconds

    def summary(self) -> str:
        lat = sorted(self.latencies_ms) or [0.0]
        return (
            f"{self.clients} clients x {self.seconds:.0f} s, asked {self.asked_tps:.0f} tokens/s"
            f" (target {self.offered_tps:.0f}) against {self.provisioned_tps:.0f} provisioned: "
            f"{self.requests} requests,"
            f" {self.statuses[200]} answered 200, {self.statuses[429]} answered 429 "
            f"({100 * self.share_429:.0f}%), 5xx {self.server_errors}, dropped "
            f"{len(self.dropped)}, 429 without Retry-After {self.refusals_without_retry_after},"
            f" other refusals {len(self.refusals_not_429)}; delivered {self.delivered_tps:.0f} "
            f"tokens/s; latency p50 {lat[len(lat) // 2]:.0f} ms, p99 "
            f"{lat[int(len(lat) * 0.99)]:.0f} ms; server RSS {self.rss_after_warmup / 2**20:.0f}"
            f" -> {self.rss_end / 2**20:.0f} MiB ({100 * self.memory_growth:+.1f}%), peak "
            f"{self.rss_peak / 2**20:.0f} MiB"
        )


def request_cost(server: ServerProcess, endpoint: str, kind: str = "chat") -> int:
    """Tokens one request reserves: its prompt tokens (asked once) plus ``max_tokens``."""
    for _ in range(60):
        response = ask(requests.Session(), server, endpoint, kind)
        if response.status_code == 200:
            extra = MAX_TOKENS if kind == "chat" else 0
            return int(response.json()["usage"]["prompt_tokens"]) + extra
        time.sleep(float(response.headers.get("Retry-After", "1")))  # honour the server
    raise AssertionError("the endpoint never answered the cost probe")


def ask(session: requests.Session, server: ServerProcess, endpoint: str,
        kind: str = "chat") -> requests.Response:
    return session.post(f"{server.host}/serving-endpoints/{endpoint}/invocations",
                        headers=server.headers, timeout=120, json=body_for(kind))


def run_load(server: ServerProcess, endpoint: str, provisioned_tps: float, *, clients: int = 32,
             seconds: float = 60.0, warmup_s: float = 5.0, factor: float = 2.0,
             kind: str = "chat") -> LoadReport:
    cost = request_cost(server, endpoint, kind)
    interval = cost * clients / (factor * provisioned_tps)  # per client, between sends
    process = psutil.Process(server.proc.pid)
    report = LoadReport(clients, seconds, provisioned_tps, factor * provisioned_tps, cost=cost)
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    measure_from = start + warmup_s
    deadline = measure_from + seconds

    def client(i: int) -> None:
        session = requests.Session()
        next_send = start + interval * i / clients  # spread the first sends evenly
        while True:
            now = time.monotonic()
            if now >= deadline:
                return
            if next_send > now:
                time.sleep(next_send - now)  # pacing the offered load, not synchronisation
            sent = time.monotonic()
            if sent >= deadline:
                return
            next_send = max(sent, next_send) + interval
            measured = sent >= measure_from
            try:
                response = ask(session, server, endpoint, kind)
            except requests.RequestException as exc:
                with lock:
                    report.dropped.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            if not measured:
                continue
            with lock:
                report.statuses[response.status_code] += 1
                if response.status_code == 200:
                    usage = response.json()["usage"]
                    report.delivered_tokens += usage["total_tokens"]
                    report.latencies_ms.append((time.monotonic() - sent) * 1000)
                elif response.status_code == 429:
                    after = response.headers.get("Retry-After", "")
                    if not after.isdigit() or response.json().get("error_code") != \
                            "REQUEST_LIMIT_EXCEEDED":
                        report.refusals_without_retry_after += 1
                else:
                    report.refusals_not_429.append(f"{response.status_code} "
                                                   f"{response.text[:200]}")

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    while time.monotonic() < measure_from:
        time.sleep(0.2)
    report.rss_after_warmup = report.rss_peak = process.memory_info().rss
    while time.monotonic() < deadline:
        report.rss_peak = max(report.rss_peak, process.memory_info().rss)
        time.sleep(0.5)  # memory sampling period
    for thread in threads:
        thread.join(timeout=180)
    report.rss_end = process.memory_info().rss
    report.rss_peak = max(report.rss_peak, report.rss_end)
    return report
