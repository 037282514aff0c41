"""``pt-widgets local serve|env`` (also ``python -m pt_widgets.local``).

``serve`` prints the ``DATABRICKS_HOST``/``DATABRICKS_TOKEN`` exports to use (the token as a
reference to its 0600 file, never the value: this output usually lands in a log), then one line
``pt-widgets local workspace ready at <url>`` once it is listening (tests and scripts wait
for that line). SIGINT/SIGTERM stop it cleanly: in-flight requests finish, replicas are
released and the discovery file is removed.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import shlex
import sys
from pathlib import Path

from .settings import (
    TOKEN_ENV,
    Settings,
    clear_discovery,
    default_data_dir,
    ensure_data_dir,
    read_discovery,
    resolve_token,
    write_discovery,
)

READY_LINE = "pt-widgets local workspace ready at"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pt-widgets local",
                                     description="The local Databricks-dialect workspace.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the local workspace server")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    serve.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    serve.add_argument("--data-dir", type=Path, default=None,
                       help=f"state directory (default {default_data_dir()})")
    serve.add_argument("--token", default=None,
                       help="bearer token (default: $PT_WIDGETS_LOCAL_TOKEN, else stored/new); "
                       "other local users can read it in `ps`: prefer the variable")
    serve.add_argument("--log-level", default="warning")
    env = sub.add_parser("env", help="print shell exports for the running local workspace")
    env.add_argument("--data-dir", type=Path, default=None)
    return parser


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exports(host_url: str, token: str) -> str:
    return "\n".join([
        f"export DATABRICKS_HOST={host_url}",
        f"export DATABRICKS_TOKEN={token}",
        f"export MLFLOW_TRACKING_URI={host_url}",
        f"export MLFLOW_TRACKING_TOKEN={token}",
    ])


def token_reference(data_dir: Path, token: str) -> str:
    """What ``serve`` prints in place of the token: its output usually ends up in a log file.

    A shell expression that reads the 0600 token file when that file holds the token, else
    the variable the caller set it from; ``pt-widgets local env`` prints the value itself.
    """
    path = data_dir / "token"
    try:
        stored = path.read_text().strip()
    except OSError:
        stored = ""
    if stored == token:
        return f'"$(cat {shlex.quote(str(path))})"'
    return f'"${TOKEN_ENV}"  # the token given with --token or ${TOKEN_ENV}'


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    data_dir = ensure_data_dir((args.data_dir or default_data_dir()).expanduser().resolve())
    token = resolve_token(data_dir, args.token)
    if not is_loopback(args.host):
        print(f"WARNING: binding {args.host}, which is not loopback: anyone who can reach this "
              "machine and knows the token can deploy and query models.", file=sys.stderr)
    settings = Settings(data_dir=data_dir, host=args.host, port=args.port, token=token)
    from .app import create_app

    app, workspace = create_app(settings)
    missing = workspace.start()
    for item in missing:
        print(f"note: built-in model not installed: {item}", file=sys.stderr)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            port = self.servers[0].sockets[0].getsockname()[1] if self.servers else args.port
            host_url = url_for(args.host, port)
            write_discovery(data_dir, host_url)
            print(exports(host_url, token_reference(data_dir, token)), flush=True)
            print(f"{READY_LINE} {host_url}", flush=True)

    # Idle keep-alive outlasts every Retry-After this server sends (5 s while deploying)
    # and the clients' longest wait (30 s): with uvicorn's default of 5 s a client retrying
    # after 5 s reused a connection the server was closing at that moment, and a POST was
    # answered "connection dropped" (seen in CI under CPU load).
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level,
                            lifespan="on", timeout_graceful_shutdown=10, timeout_keep_alive=75)
    try:
        Server(config).run()
    finally:
        clear_discovery(data_dir)
        workspace.stop()
    return 0


def env(args: argparse.Namespace) -> int:
    data_dir = (args.data_dir or default_data_dir()).expanduser().resolve()
    info = read_discovery(data_dir)
    token_file = data_dir / "token"
    if not info or not token_file.exists():
        print("No local workspace is running; start one with `pt-widgets local serve`.",
              file=sys.stderr)
        return 1
    print(exports(info["host"], token_file.read_text().strip()))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return serve(args) if args.command == "serve" else env(args)
