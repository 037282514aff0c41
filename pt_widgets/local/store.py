"""SQLite persistence for serving endpoints.

One row per endpoint holds its whole record as JSON (the wire shape plus private fields
such as build logs), written in a single transaction per change, so a crash at any point
leaves either the old or the new record, never half of one. WAL mode keeps readers (GET
polling) from blocking the deploy worker's writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class EndpointStore:
    """Durable endpoint records keyed by name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Serialise writers: read-modify-write of a record happens under one lock + txn."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def get(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT record FROM endpoints WHERE name = ?", (name,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT record FROM endpoints ORDER BY name").fetchall()
        return [json.loads(r[0]) for r in rows]

    def insert(self, conn: sqlite3.Connection, record: dict[str, Any]) -> None:
        conn.execute(
            "INSERT INTO endpoints (name, record) VALUES (?, ?)",
            (record["name"], json.dumps(record)),
        )

    def put(self, conn: sqlite3.Connection, record: dict[str, Any]) -> None:
        conn.execute(
            "UPDATE endpoints SET record = ? WHERE name = ?", (json.dumps(record), record["name"])
        )

    def delete(self, conn: sqlite3.Connection, name: str) -> None:
        conn.execute("DELETE FROM endpoints WHERE name = ?", (name,))

    def get_value(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_value(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def integrity_ok(self) -> bool:
        with self._lock:
            return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        with self._lock:
            self._conn.close()
