"""The secrets API as ``w.secrets`` calls it: scopes, values encrypted at rest, never returned."""

from __future__ import annotations

import base64
import stat

import pytest
from databricks.sdk.errors import (
    InvalidParameterValue,
    PermissionDenied,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)

VALUE = "sk-local-" + "7f3a9c" * 6


def test_scopes_and_secrets_round_trip(gov_server, alice):
    alice.secrets.create_scope(scope="alice-keys")
    assert "alice-keys" in {s.name for s in alice.secrets.list_scopes()}
    assert {s.backend_type.value for s in alice.secrets.list_scopes()} == {"DATABRICKS"}
    alice.secrets.put_secret(scope="alice-keys", key="openai", string_value=VALUE)
    alice.secrets.put_secret(scope="alice-keys", key="raw",
                             bytes_value=base64.b64encode(b"\x00\x01binary").decode())
    listed = {m.key: m for m in alice.secrets.list_secrets(scope="alice-keys")}
    assert set(listed) == {"openai", "raw"}
    assert listed["openai"].last_updated_timestamp > 0
    alice.secrets.put_secret(scope="alice-keys", key="openai", string_value=VALUE + "x")
    assert len(list(alice.secrets.list_secrets(scope="alice-keys"))) == 2
    alice.secrets.delete_secret(scope="alice-keys", key="raw")
    assert [m.key for m in alice.secrets.list_secrets(scope="alice-keys")] == ["openai"]
    with pytest.raises(ResourceDoesNotExist, match="raw does not exist"):
        alice.secrets.delete_secret(scope="alice-keys", key="raw")


def test_a_value_is_never_returned(alice):
    alice.secrets.create_scope(scope="never-shown")
    alice.secrets.put_secret(scope="never-shown", key="k", string_value=VALUE)
    with pytest.raises(PermissionDenied, match=r"never returns secret values.*secrets/"):
        alice.secrets.get_secret(scope="never-shown", key="k")


def test_scope_rules(alice, bob, admin):
    alice.secrets.create_scope(scope="alice-only")
    with pytest.raises(ResourceAlreadyExists, match="already exists"):
        alice.secrets.create_scope(scope="alice-only")
    with pytest.raises(PermissionDenied, match="bob@example.com does not have MANAGE"):
        bob.secrets.put_secret(scope="alice-only", key="k", string_value="x")
    with pytest.raises(PermissionDenied):
        bob.secrets.list_secrets(scope="alice-only")
    with pytest.raises(PermissionDenied):
        bob.secrets.delete_scope(scope="alice-only")
    admin.secrets.put_secret(scope="alice-only", key="by-admin", string_value="x")
    alice.secrets.create_scope(scope="shared", initial_manage_principal="users")
    bob.secrets.put_secret(scope="shared", key="bobs", string_value="x")
    with pytest.raises(ResourceDoesNotExist, match="Scope nope does not exist"):
        alice.secrets.put_secret(scope="nope", key="k", string_value="x")
    with pytest.raises(InvalidParameterValue, match="'scope' must be"):
        alice.secrets.create_scope(scope="bad scope!")
    with pytest.raises(InvalidParameterValue, match="Exactly one of"):
        alice.secrets.put_secret(scope="shared", key="k")
    with pytest.raises(InvalidParameterValue, match="at most 131072 bytes"):
        alice.secrets.put_secret(scope="shared", key="big", string_value="x" * 131073)
    alice.secrets.delete_scope(scope="shared")
    assert "shared" not in {s.name for s in alice.secrets.list_scopes()}


def test_values_are_encrypted_at_rest_with_a_private_key(gov_server, alice):
    alice.secrets.create_scope(scope="at-rest")
    alice.secrets.put_secret(scope="at-rest", key="k", string_value=VALUE)
    key = gov_server.data_dir / "secrets.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((gov_server.data_dir / "token-digest.key").stat().st_mode) == 0o600
    for path in gov_server.data_dir.rglob("*"):
        if path.is_file():
            assert VALUE.encode() not in path.read_bytes(), path
    assert VALUE not in "\n".join(gov_server.output)
