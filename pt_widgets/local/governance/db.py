"""The governance database: one SQLite file in the data dir for users, tokens and secrets.

Kept apart from the endpoint store (``workspace.db``) so the CLI can open it while a server
runs (WAL mode: readers never block the writer) and so its schema evolves on its own.
"""

from __future__ import annotations

from pathlib import Path

from ..sqlite import SqliteDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    user_name TEXT NOT NULL UNIQUE,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    comment TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL,
    expiry_ms INTEGER NOT NULL DEFAULT -1
);
CREATE TABLE IF NOT EXISTS secret_scopes (
    name TEXT PRIMARY KEY,
    creator_id INTEGER NOT NULL,
    all_users_manage INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS endpoint_grants (
    endpoint_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    level TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, principal)
);
CREATE TABLE IF NOT EXISTS usage (
    databricks_request_id TEXT PRIMARY KEY,
    request_time INTEGER NOT NULL,
    endpoint_name TEXT NOT NULL,
    served_entity_name TEXT,
    requester TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    input_token_count INTEGER NOT NULL,
    output_token_count INTEGER NOT NULL,
    execution_duration_ms INTEGER NOT NULL,
    request_streaming INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_by_endpoint ON usage (endpoint_name, request_time);
CREATE TABLE IF NOT EXISTS inference_log (
    databricks_request_id TEXT PRIMARY KEY,
    endpoint_name TEXT NOT NULL,
    request_date TEXT NOT NULL,
    request_time INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    execution_duration_ms INTEGER NOT NULL,
    request TEXT,
    response TEXT,
    served_entity_name TEXT,
    logging_error_codes TEXT NOT NULL,
    requester TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inference_by_endpoint ON inference_log (endpoint_name, request_time);
CREATE TABLE IF NOT EXISTS secrets (
    scope TEXT NOT NULL REFERENCES secret_scopes(name) ON DELETE CASCADE,
    key TEXT NOT NULL,
    ciphertext BLOB NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
"""

DB_NAME = "governance.db"


class GovernanceDB(SqliteDB):
    """Users, tokens, secrets, usage: one connection, one lock, one transaction per write."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir / DB_NAME, SCHEMA, "foreign_keys=ON")
