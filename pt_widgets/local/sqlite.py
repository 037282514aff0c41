"""One SQLite connection shared by a server's threads: the base of the local workspace's stores.

Both stores (``workspace.db`` for endpoints, ``governance.db`` for users, tokens, secrets,
usage) need the same things: one connection used from many threads under one lock, WAL mode so
readers (GET polling, the CLI while a server runs) never block the writer, and writes that are
one ``BEGIN IMMEDIATE`` transaction each, so a crash leaves the old state or the new one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class SqliteDB:
    """A thread-safe connection with one lock; every write is one transaction."""

    def __init__(self, path: Path, schema: str, *pragmas: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                                     timeout=30)
        for pragma in ("journal_mode=WAL", *pragmas):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.executescript(schema)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Serialise writers: a read-modify-write happens under one lock and one transaction."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def row(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def integrity_ok(self) -> bool:
        return self.row("PRAGMA integrity_check") == ("ok",)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
