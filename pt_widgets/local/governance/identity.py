"""Users and their bearer tokens: who is calling.

The owner's token (the one ``serve`` runs with) belongs to the admin user, as the person who
started the workspace. Other users get tokens from ``pt-widgets local token create --user``
or, once they hold one, from ``/api/2.0/token/create``. Tokens are kept as keyed digests
(:mod:`.keys`), so the database never holds one in plain text; the value is shown once,
when it is created.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ApiError, invalid, not_found
from .db import GovernanceDB
from .keys import digest, token_key

ADMIN_NAME = "local-user@localhost"  # the creator the serving layer has always recorded
USER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
MAX_COMMENT = 1000
MAX_LIFETIME_S = 10 * 365 * 24 * 3600


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class User:
    """A caller, as resolved from its token; nothing secret is held here."""

    id: int
    user_name: str
    is_admin: bool = False


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never its value."""

    token_id: str
    user_name: str
    comment: str
    creation_time: int
    expiry_time: int

    def wire(self) -> dict[str, object]:
        return {"token_id": self.token_id, "comment": self.comment,
                "creation_time": self.creation_time, "expiry_time": self.expiry_time}


def check_user_name(name: object) -> str:
    if not isinstance(name, str) or not USER_NAME_RE.match(name):
        raise invalid("'user' must be 1 to 128 letters, digits or '._@+-', starting with a "
                      f"letter or digit (got {name!r:.80}).")
    return name


def new_token() -> str:
    """The Databricks personal-access-token look: ``dapi`` and 32 hex digits."""
    return "dapi" + secrets.token_hex(16)


class Identities:
    """Users and tokens in the governance database, and the token → user lookup."""

    def __init__(self, db: GovernanceDB, data_dir: Path, owner_token: str | None = None) -> None:
        self.db = db
        self._key = token_key(data_dir)
        self._owner = f"Bearer {owner_token}".encode() if owner_token else None
        self.admin = self.ensure_user(ADMIN_NAME, admin=True)

    # -- users ------------------------------------------------------------------------------
    def ensure_user(self, user_name: str, admin: bool = False) -> User:
        """The user of that name, created on first mention."""
        check_user_name(user_name)
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO users (user_name, is_admin, created_ms) VALUES (?, ?, ?) "
                         "ON CONFLICT(user_name) DO NOTHING", (user_name, int(admin), now_ms()))
            if admin:
                conn.execute("UPDATE users SET is_admin = 1 WHERE user_name = ?", (user_name,))
        return self.user(user_name)

    def user(self, user_name: str) -> User:
        row = self.db.row("SELECT id, user_name, is_admin FROM users WHERE user_name = ?",
                          (user_name,))
        if row is None:
            raise not_found(f"User '{user_name}' does not exist.")
        return User(row[0], row[1], bool(row[2]))

    def users(self) -> list[User]:
        rows = self.db.rows("SELECT id, user_name, is_admin FROM users ORDER BY id")
        return [User(r[0], r[1], bool(r[2])) for r in rows]

    # -- tokens -----------------------------------------------------------------------------
    def create_token(self, user: User, comment: str = "",
                     lifetime_seconds: int | None = None) -> tuple[str, TokenInfo]:
        """A new token for ``user``: its value (returned once, never stored) and its info."""
        if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
            raise invalid(f"'comment' must be a string of at most {MAX_COMMENT} characters.")
        created = now_ms()
        expiry = -1
        if lifetime_seconds is not None and lifetime_seconds > 0:
            if lifetime_seconds > MAX_LIFETIME_S:
                raise invalid(f"'lifetime_seconds' must be at most {MAX_LIFETIME_S} (ten years), "
                              f"got {lifetime_seconds}.")
            expiry = created + lifetime_seconds * 1000
        value, token_id = new_token(), secrets.token_hex(32)
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO tokens (token_id, digest, user_id, comment, created_ms, "
                         "expiry_ms) VALUES (?, ?, ?, ?, ?, ?)",
                         (token_id, digest(self._key, value), user.id, comment, created, expiry))
        return value, TokenInfo(token_id, user.user_name, comment, created, expiry)

    def tokens(self, user: User | None = None) -> list[TokenInfo]:
        """Tokens of ``user`` (all users' when None), oldest first."""
        sql = ("SELECT t.token_id, u.user_name, t.comment, t.created_ms, t.expiry_ms "
               "FROM tokens t JOIN users u ON u.id = t.user_id")
        rows = (self.db.rows(sql + " WHERE t.user_id = ? ORDER BY t.created_ms", (user.id,))
                if user else self.db.rows(sql + " ORDER BY t.created_ms"))
        return [TokenInfo(*r) for r in rows]

    def revoke(self, token_id: str, user: User | None = None) -> None:
        """Delete a token (only ``user``'s own unless None: the admin's CLI)."""
        with self.db.transaction() as conn:
            if user is None:
                gone = conn.execute("DELETE FROM tokens WHERE token_id = ?", (token_id,))
            else:
                gone = conn.execute("DELETE FROM tokens WHERE token_id = ? AND user_id = ?",
                                    (token_id, user.id))
            if gone.rowcount == 0:
                raise ApiError("RESOURCE_DOES_NOT_EXIST",
                               f"Token with id '{token_id}' does not exist.")

    # -- authentication ---------------------------------------------------------------------
    def user_for_header(self, authorization: bytes | None) -> User | None:
        """The user an ``Authorization`` header value authenticates, or None."""
        if not authorization:
            return None
        if self._owner is not None and hmac.compare_digest(authorization, self._owner):
            return self.admin
        scheme, _, token = authorization.partition(b" ")
        if scheme != b"Bearer" or not token:
            return None
        try:
            text = token.decode("ascii")
        except UnicodeDecodeError:
            return None
        row = self.db.row("SELECT u.id, u.user_name, u.is_admin, t.expiry_ms FROM tokens t "
                          "JOIN users u ON u.id = t.user_id WHERE t.digest = ?",
                          (digest(self._key, text),))
        if row is None or (row[3] != -1 and row[3] <= now_ms()):
            return None
        return User(row[0], row[1], bool(row[2]))
