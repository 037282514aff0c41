"""Keys kept in the data dir (mode 0600): one for token digests, one for secret values.

Tokens are stored as HMAC-SHA256 digests under a per-data-dir key, never as text: a copy
of the database alone does not let anyone log in, and a lookup is one indexed query.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

TOKEN_KEY = "token-digest.key"
SECRETS_KEY = "secrets.key"


def private_key(data_dir: Path, name: str, make) -> bytes:
    """The key in ``data_dir/name``, created (0600) on first use; stable across restarts."""
    path = data_dir / name
    if not path.exists():
        write_private_once(path, make())
    os.chmod(path, 0o600)
    return path.read_bytes().strip()


def write_private_once(path: Path, value: bytes) -> None:
    """Create the key unless another process (CLI and server) just did: first writer wins."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(value)


def token_key(data_dir: Path) -> bytes:
    return private_key(data_dir, TOKEN_KEY, lambda: secrets.token_hex(32).encode())


def digest(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()

