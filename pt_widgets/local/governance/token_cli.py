"""``pt-widgets local token create|list|revoke``: users' tokens, managed on the data dir.

Works whether or not a server runs on that data dir (the governance database is SQLite in
WAL mode, and the server looks every token up on each request, so a new or revoked token
takes effect at once). ``create`` prints the token alone on stdout, once: it is not stored,
so ``TOKEN=$(pt-widgets local token create --user bob)`` is the way to keep it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import ApiError
from ..settings import default_data_dir, ensure_data_dir


def add_subcommands(token: argparse.ArgumentParser) -> None:
    """``create|list|revoke`` under ``pt-widgets local token`` (which alone prints the owner's)."""
    actions = token.add_subparsers(dest="token_command", required=False)
    create = actions.add_parser("create", help="print a new token for a user (shown once)")
    create.add_argument("--user", required=True, help="user name, e.g. alice@example.com "
                        "(created on first use)")
    create.add_argument("--comment", default="", help="what the token is for")
    create.add_argument("--lifetime-seconds", type=int, default=None,
                        help="expire after this many seconds (default: never)")
    listing = actions.add_parser("list", help="list tokens (never their values)")
    listing.add_argument("--user", default=None, help="only this user's tokens")
    revoke = actions.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")
    for parser in (create, listing, revoke):
        parser.set_defaults(run=run)
        parser.add_argument("--data-dir", type=Path, default=None,
                            help=f"state directory (default {default_data_dir()})")


def shown_time(ms: int) -> str:
    return "never" if ms < 0 else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def run(args: argparse.Namespace) -> int:
    from . import Governance

    data_dir = ensure_data_dir((args.data_dir or default_data_dir()).expanduser().resolve())
    governance = Governance(data_dir)
    try:
        identities = governance.identities
        if args.token_command == "create":
            user = identities.ensure_user(args.user)
            value, info = identities.create_token(user, args.comment, args.lifetime_seconds)
            print(f"Token {info.token_id} for {user.user_name} (shown once; it is not stored):",
                  file=sys.stderr)
            print(value)
        elif args.token_command == "list":
            user = identities.user(args.user) if args.user else None
            print(f"{'token_id':<64}  {'user':<24}  {'created':<20}  {'expires':<20}  comment")
            for info in identities.tokens(user):
                print(f"{info.token_id:<64}  {info.user_name:<24}  "
                      f"{shown_time(info.creation_time):<20}  {shown_time(info.expiry_time):<20}"
                      f"  {info.comment}")
        else:
            identities.revoke(args.token_id)
            print(f"Revoked token {args.token_id}.", file=sys.stderr)
    except ApiError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        governance.close()
    return 0
