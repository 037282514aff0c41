"""Secret scopes and secrets, encrypted at rest; values leave only through :meth:`resolve`.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a
key kept in the data dir with mode 0600. No route returns a value: the only reader is the
server itself, resolving ``{{secrets/<scope>/<key>}}`` references in an external model's
config when it calls the upstream. Access follows Databricks' scope ACL in its simplest
form: the scope's creator (or every user, with ``initial_manage_principal: "users"``) and
admins manage it.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ..errors import ApiError, invalid
from .db import GovernanceDB
from .identity import User
from .keys import SECRETS_KEY, private_key

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
PART = r"([A-Za-z0-9_.-]{1,128})"
REFERENCE_RE = re.compile(r"^\{\{\s*secrets/" + PART + "/" + PART + r"\s*\}\}$")
MAX_VALUE_BYTES = 128 * 1024  # Databricks' limit per secret
MAX_SCOPES = 1000


def now_ms() -> int:
    return int(time.time() * 1000)


def check_name(value: object, field: str) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise invalid(f"'{field}' must be 1 to 128 letters, digits, '_', '-' or '.' "
                      f"(got {value!r:.80}).")
    return value


@dataclass(frozen=True)
class SecretMetadata:
    key: str
    last_updated_timestamp: int


def is_reference(value: object) -> bool:
    return isinstance(value, str) and bool(REFERENCE_RE.match(value.strip()))


class Vault:
    """Scopes and encrypted secrets in the governance database."""

    def __init__(self, db: GovernanceDB, data_dir: Path) -> None:
        self.db = db
        self._fernet = Fernet(private_key(data_dir, SECRETS_KEY, Fernet.generate_key))

    # -- scopes -----------------------------------------------------------------------------
    def create_scope(self, user: User, scope: str, manage_principal: str | None = None,
                     backend: str | None = None) -> None:
        check_name(scope, "scope")
        if backend not in (None, "DATABRICKS"):
            raise invalid(f"'scope_backend_type' {backend!r} is not available locally: only "
                          "DATABRICKS scopes (stored in the local workspace) are.")
        if manage_principal not in (None, "users", user.user_name):
            raise invalid("'initial_manage_principal' must be 'users' or omitted (the creator "
                          f"manages the scope), got {manage_principal!r:.80}.")
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM secret_scopes WHERE name = ?", (scope,)).fetchone():
                raise ApiError("RESOURCE_ALREADY_EXISTS", f"Scope {scope} already exists!")
            count = conn.execute("SELECT COUNT(*) FROM secret_scopes").fetchone()[0]
            if count >= MAX_SCOPES:
                raise ApiError("MAX_SECRET_SCOPES_EXCEEDED",
                               f"The workspace already holds {MAX_SCOPES} secret scopes.",
                               status=400)
            conn.execute("INSERT INTO secret_scopes (name, creator_id, all_users_manage, "
                         "created_ms) VALUES (?, ?, ?, ?)",
                         (scope, user.id, int(manage_principal == "users"), now_ms()))

    def scopes(self) -> list[str]:
        return [r[0] for r in self.db.rows("SELECT name FROM secret_scopes ORDER BY name")]

    def delete_scope(self, user: User, scope: str) -> None:
        self._require_manage(user, scope)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM secrets WHERE scope = ?", (scope,))
            conn.execute("DELETE FROM secret_scopes WHERE name = ?", (scope,))

    def _require_manage(self, user: User, scope: str) -> None:
        check_name(scope, "scope")
        row = self.db.row("SELECT creator_id, all_users_manage FROM secret_scopes WHERE name = ?",
                          (scope,))
        if row is None:
            raise ApiError("RESOURCE_DOES_NOT_EXIST", f"Scope {scope} does not exist!")
        if not (user.is_admin or row[1] or row[0] == user.id):
            raise ApiError("PERMISSION_DENIED", f"User {user.user_name} does not have MANAGE "
                           f"permission on scope {scope}.")

    # -- secrets ----------------------------------------------------------------------------
    def put(self, user: User, scope: str, key: str, string_value: str | None = None,
            bytes_value: str | None = None) -> None:
        check_name(key, "key")
        value = secret_bytes(string_value, bytes_value)
        self._require_manage(user, scope)
        sealed = self._fernet.encrypt(value)
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO secrets (scope, key, ciphertext, updated_ms) "
                         "VALUES (?, ?, ?, ?) ON CONFLICT(scope, key) DO UPDATE SET "
                         "ciphertext = excluded.ciphertext, updated_ms = excluded.updated_ms",
                         (scope, key, sealed, now_ms()))

    def list(self, user: User, scope: str) -> list[SecretMetadata]:
        self._require_manage(user, scope)
        rows = self.db.rows("SELECT key, updated_ms FROM secrets WHERE scope = ? ORDER BY key",
                            (scope,))
        return [SecretMetadata(*r) for r in rows]

    def delete(self, user: User, scope: str, key: str) -> None:
        check_name(key, "key")
        self._require_manage(user, scope)
        with self.db.transaction() as conn:
            gone = conn.execute("DELETE FROM secrets WHERE scope = ? AND key = ?", (scope, key))
            if gone.rowcount == 0:
                raise ApiError("RESOURCE_DOES_NOT_EXIST",
                               f"Secret Key {key} does not exist in scope {scope}.")

    # -- server-internal --------------------------------------------------------------------
    def resolve(self, reference: str) -> str:
        """The value a ``{{secrets/scope/key}}`` reference names (server-internal only)."""
        match = REFERENCE_RE.match(reference.strip())
        if not match:
            raise invalid("A secret reference must look like {{secrets/<scope>/<key>}}.")
        scope, key = match.groups()
        row = self.db.row("SELECT ciphertext FROM secrets WHERE scope = ? AND key = ?",
                          (scope, key))
        if row is None:
            raise invalid(f"Secret reference {{{{secrets/{scope}/{key}}}}} names a secret that "
                          "does not exist.")
        return self.unseal(row[0])

    def check_readable(self, user: User, reference: str, field: str) -> None:
        """``user`` may put this reference in a config: the secret exists in a scope they
        manage (else the endpoint would send another user's key where its URL says)."""
        match = REFERENCE_RE.match(reference.strip())
        if not match:
            raise invalid(f"'{field}' must look like {{{{secrets/<scope>/<key>}}}}.")
        scope, key = match.groups()
        try:
            self._require_manage(user, scope)
        except ApiError as exc:
            raise ApiError(exc.error_code, f"'{field}': {exc.message}") from None
        if self.db.row("SELECT 1 FROM secrets WHERE scope = ? AND key = ?", (scope, key)) is None:
            raise invalid(f"'{field}' names secret '{key}' in scope '{scope}', which does not "
                          "exist: put it first (w.secrets.put_secret).")

    def seal(self, value: str) -> str:
        """Encrypt a value kept elsewhere (a plaintext API key in an endpoint record)."""
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def unseal(self, sealed: bytes | str) -> str:
        try:
            return self._fernet.decrypt(sealed).decode("utf-8", errors="replace")
        except InvalidToken as exc:  # the key file was replaced: say so, show nothing
            raise ApiError("INTERNAL_ERROR", "A stored secret cannot be decrypted with the "
                           "data dir's secrets.key (was it replaced?).", status=500) from exc


def secret_bytes(string_value: str | None, bytes_value: str | None) -> bytes:
    """Exactly one of the two value fields, as bytes, within Databricks' size limit."""
    if (string_value is None) == (bytes_value is None):
        raise invalid("Exactly one of 'string_value' and 'bytes_value' must be given.")
    if string_value is not None:
        if not isinstance(string_value, str):
            raise invalid("'string_value' must be a string.")
        value = string_value.encode("utf-8")
    else:
        try:
            value = base64.b64decode(str(bytes_value), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid("'bytes_value' must be base64-encoded bytes.") from exc
    if len(value) > MAX_VALUE_BYTES:
        raise invalid(f"A secret value may hold at most {MAX_VALUE_BYTES} bytes, got "
                      f"{len(value)}.")
    return value

