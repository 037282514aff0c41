"""Shared by the reliability tests and the long scripts in ``tests/benchmarks``.

Everything here talks to a REAL ``pt-widgets local serve`` process over loopback HTTP and
reads its data dir from outside (the way an operator would after a crash): a snapshot of
the stored state to prove a rejected request changed nothing, the SQLite integrity check,
and the endpoint inventory to prove a crash lost or duplicated nothing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from ..support import ServerProcess, wait_until

CHAT = "system.ai.smollm2_135m_instruct"
CHAT_MU = "system.ai.smollm2_135m_instruct_mu"
EMBED = "system.ai.all_minilm_l6_v2"
SERVING = "/api/2.0/serving-endpoints"
SQLITE_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")


# -- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PinnedServer(ServerProcess):
    """A server that keeps its port across restarts, as a real workspace keeps its URL
    (``ServerProcess`` defaults to port 0, a new port per start)."""

    port: int = field(default_factory=free_port)


def seed_calibration(source_dir: Path, data_dir: Path) -> None:
    """Reuse another data dir's measured chunk sizes: skips a re-measurement per new dir.

    The chunk is a property of the model and the machine, not of the data dir; copying it
    only saves the seconds the measurement costs (it is what a restart reads anyway).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    calibration = source_dir / "calibration.json"
    if calibration.exists():
        shutil.copy(calibration, data_dir / "calibration.json")


# -- HTTP helpers -----------------------------------------------------------------------------


def chunk_of(server: ServerProcess, model: str = CHAT) -> int:
    info = requests.get(f"{server.host}{SERVING}/get-model-optimization-info/{model}/1",
                        headers=server.headers, timeout=180).json()
    return int(info.get("throughput_chunk_size") or info["model_unit_chunk_size"])


def tps_config(model: str, low: int, high: int, **extra: Any) -> dict[str, Any]:
    entity = {"entity_name": model, "entity_version": "1", "min_provisioned_throughput": low,
              "max_provisioned_throughput": high, **extra}
    return {"served_entities": [entity]}


def create(server: ServerProcess, name: str, config: dict[str, Any]) -> requests.Response:
    return requests.post(f"{server.host}{SERVING}", headers=server.headers, timeout=60,
                         json={"name": name, "config": config})


def get_endpoint(server: ServerProcess, name: str) -> dict[str, Any]:
    return requests.get(f"{server.host}{SERVING}/{name}", headers=server.headers,
                        timeout=30).json()


def list_endpoints(server: ServerProcess) -> list[dict[str, Any]]:
    response = requests.get(f"{server.host}{SERVING}", headers=server.headers, timeout=30)
    response.raise_for_status()
    return response.json()["endpoints"]


def settled(server: ServerProcess, name: str) -> dict[str, Any] | None:
    body = get_endpoint(server, name)
    return body if body["state"]["config_update"] != "IN_PROGRESS" else None


def wait_all_settled(server: ServerProcess, timeout: float = 240) -> list[dict[str, Any]]:
    """Every endpoint out of IN_PROGRESS (READY or UPDATE_FAILED), polled with a deadline."""

    def done():
        endpoints = list_endpoints(server)
        return endpoints if all(e["state"]["config_update"] != "IN_PROGRESS"
                                for e in endpoints) else None

    return wait_until(done, timeout, interval=0.25, what="every endpoint settled")


def ask_chat(server: ServerProcess, endpoint: str, max_tokens: int = 8,
             timeout: float = 120, session: requests.Session | None = None,
             content: str = "Say hi.") -> requests.Response:
    return (session or requests).post(
        f"{server.host}/serving-endpoints/{endpoint}/invocations", headers=server.headers,
        timeout=timeout, json={"messages": [{"role": "user", "content": content}],
                               "max_tokens": max_tokens, "temperature": 0})


# -- stored state -----------------------------------------------------------------------------


def _dump(db: Path) -> bytes:
    """A database's logical content (schema + rows), read-only, WAL included."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return "\n".join(conn.iterdump()).encode()
    finally:
        conn.close()


def stored_state(data_dir: Path) -> dict[str, str]:
    """sha256 of everything the workspace persists: each database's dump, every other file.

    Databases are compared by content, not by file bytes, because SQLite may checkpoint its
    WAL into the main file at any time without changing a single row.
    """
    digests: dict[str, str] = {}
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        rel = str(path.relative_to(data_dir))
        if path.name.endswith(SQLITE_SUFFIXES):
            if path.suffix == ".db":
                digests[rel] = hashlib.sha256(_dump(path)).hexdigest()
            continue
        digests[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def endpoint_rows(data_dir: Path) -> list[dict[str, Any]]:
    """The endpoint records as stored (read straight from SQLite, not through the server)."""
    conn = sqlite3.connect(f"file:{data_dir / 'workspace.db'}?mode=ro", uri=True, timeout=30)
    try:
        return [json.loads(r[0]) for r in conn.execute("SELECT record FROM endpoints")]
    finally:
        conn.close()


def integrity(data_dir: Path) -> dict[str, str]:
    """``PRAGMA integrity_check`` of each database in the data dir ("ok" when sound)."""
    out = {}
    for db in ("workspace.db", "mlflow.db"):
        conn = sqlite3.connect(str(data_dir / db), timeout=30)
        try:
            out[db] = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
    return out
