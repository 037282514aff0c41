"""The ``pt-widgets`` command: ``pt-widgets local ...`` runs the local workspace."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "local":
        from .local.cli import main as local_main

        return local_main(args[1:])
    print("usage: pt-widgets local {serve,env} [...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
