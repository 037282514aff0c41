"""SQLite persistence for serving endpoints.

One row per endpoint holds its whole record as JSON (the wire shape plus private fields
such as build logs), written in a single transaction per change, so a crash at any point
leaves either the old or the new record, never half of one. WAL mode keeps readers (GET
polling) from blocking the deploy worker's writes.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from .sqlite import SqliteDB

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


class EndpointStore(SqliteDB):
    """Durable endpoint records keyed by name."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA, "synchronous=FULL")

    def get(self, name: str) -> dict[str, Any] | None:
        row = self.row("SELECT record FROM endpoints WHERE name = ?", (name,))
        return json.loads(row[0]) if row else None

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self.rows("SELECT record FROM endpoints ORDER BY name")]

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
        row = self.row("SELECT value FROM kv WHERE key = ?", (key,))
        return row[0] if row else None

    def set_value(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
