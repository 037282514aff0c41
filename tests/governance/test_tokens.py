"""Several users with their own tokens: the CLI, ``w.tokens`` and ``w.current_user``."""

from __future__ import annotations

import pytest
import requests
from databricks.sdk.errors import NotFound, PermissionDenied

from ..support import wait_until
from .conftest import client, new_token, token_cli


def refused(server, token: str) -> bool:
    """The gate turns the token away (whatever status it answers refusals with)."""
    response = requests.get(f"{server.host}/api/2.0/preview/scim/v2/Me",
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return response.status_code in (401, 403) and "error_code" in response.json()


def test_each_token_is_its_user(admin, alice, bob):
    me = admin.current_user.me()
    assert me.user_name == "local-user@localhost"
    assert "admins" in {g.display for g in me.groups}
    assert alice.current_user.me().user_name == "alice@example.com"
    assert bob.current_user.me().user_name == "bob@example.com"
    assert "admins" not in {g.display for g in alice.current_user.me().groups}


def test_a_user_creates_lists_and_deletes_own_tokens(gov_server, alice):
    created = alice.tokens.create(comment="notebook", lifetime_seconds=3600)
    assert created.token_value.startswith("dapi") and len(created.token_value) == 36
    info = created.token_info
    assert info.comment == "notebook"
    assert info.expiry_time - info.creation_time == 3600 * 1000
    assert client(gov_server, created.token_value).current_user.me().user_name == \
        "alice@example.com"
    listed = {t.token_id: t for t in alice.tokens.list()}
    assert info.token_id in listed and listed[info.token_id].comment == "notebook"
    assert "alice's laptop" in {t.comment for t in listed.values()}
    alice.tokens.delete(token_id=info.token_id)
    assert info.token_id not in {t.token_id for t in alice.tokens.list()}
    assert refused(gov_server, created.token_value)


def test_users_see_and_revoke_only_their_own_tokens(alice, bob):
    bobs = bob.tokens.create(comment="bob's").token_info.token_id
    assert bobs not in {t.token_id for t in alice.tokens.list()}
    with pytest.raises(NotFound, match="does not exist"):
        alice.tokens.delete(token_id=bobs)
    assert bobs in {t.token_id for t in bob.tokens.list()}


def test_cli_lists_and_revokes_while_the_server_runs(gov_server):
    token = new_token(gov_server, "carol@example.com", "to revoke")
    assert client(gov_server, token).current_user.me().user_name == "carol@example.com"
    listing = token_cli(gov_server, "list", "--user", "carol@example.com")
    assert listing.returncode == 0 and "to revoke" in listing.stdout
    assert token not in listing.stdout
    (line,) = [row for row in listing.stdout.splitlines() if "to revoke" in row]
    revoked = token_cli(gov_server, "revoke", line.split()[0])
    assert revoked.returncode == 0, revoked.stderr
    assert refused(gov_server, token)
    again = token_cli(gov_server, "revoke", line.split()[0])
    assert again.returncode == 1 and "does not exist" in again.stderr


def test_cli_refuses_a_bad_user_name(gov_server):
    done = token_cli(gov_server, "create", "--user", "no spaces please")
    assert done.returncode == 1 and "'user' must be" in done.stderr and not done.stdout


def test_an_expired_token_is_refused(gov_server, alice):
    short = alice.tokens.create(comment="short", lifetime_seconds=1).token_value
    wait_until(lambda: refused(gov_server, short), 30, what="the 1 s token to expire")


def test_unknown_and_malformed_tokens_are_refused(gov_server):
    for token in ("dapi" + "0" * 32, "", "not-a-token \u00e9"):
        assert refused(gov_server, token.encode("utf-8").decode("latin-1"))


def test_tokens_are_stored_hashed(gov_server, alice_token):
    extra = new_token(gov_server, "dave@example.com")
    assert client(gov_server, extra).current_user.me().user_name == "dave@example.com"
    for path in gov_server.data_dir.rglob("*"):
        if path.is_file() and path.name != "token":  # `token`: the owner's, by design (0600)
            data = path.read_bytes()
            assert alice_token.encode() not in data and extra.encode() not in data, path
    db = (gov_server.data_dir / "governance.db").read_bytes()
    assert gov_server.token.encode() not in db
    assert all(t not in "\n".join(gov_server.output) for t in (alice_token, extra))


def test_an_admin_creates_a_token_for_another_user_through_the_api(gov_server, admin, alice):
    created = admin.token_management.create_obo_token(
        application_id="dora@example.com", comment="day two", lifetime_seconds=600)
    assert created.token_value.startswith("dapi")
    assert created.token_info.comment == "day two"
    assert created.token_info.created_by_username == "local-user@localhost"
    dora = client(gov_server, created.token_value)
    assert dora.current_user.me().user_name == "dora@example.com"
    assert created.token_info.token_id in {t.token_id for t in dora.tokens.list()}
    with pytest.raises(PermissionDenied, match="Only workspace admins"):
        alice.token_management.create_obo_token(application_id="eve@example.com")
    assert refused(gov_server, "dapi" + "0" * 32)
