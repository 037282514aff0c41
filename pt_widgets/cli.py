"""The ``pt-widgets`` command: ``lab`` to try the widgets, ``local serve|env|token`` for the
local workspace.

One argparse tree, so ``pt-widgets --help`` lists everything; each command's module is
imported only when that command runs (``--help`` stays instant and works without the
``local`` extra). ``lab`` passes every option it does not know to ``jupyter lab``.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from .local.cli import DESCRIPTION, add_commands

    parser = argparse.ArgumentParser(
        prog="pt-widgets",
        description="Pick, size, deploy and query foundation models with provisioned "
        "throughput, on Databricks or on the local workspace.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{lab,local}")
    lab = sub.add_parser(
        "lab", allow_abbrev=False,  # never swallow a prefix of a JupyterLab option
        help="start (or reuse) the local workspace and open JupyterLab on the quickstart",
        description="Copy the quickstart into this folder when it is absent (an existing file "
        "is never overwritten), start the local workspace unless one is running, and open "
        "JupyterLab on the quickstart. Other options go to `jupyter lab`.")
    lab.add_argument("--notebook", help="open this notebook instead of ./quickstart.ipynb")
    lab.set_defaults(run=run_lab, passes_options_on=True)
    local = sub.add_parser("local", help="the local Databricks-dialect workspace",
                           description=DESCRIPTION)
    add_commands(local.add_subparsers(dest="local_command", required=True))
    local.set_defaults(passes_options_on=False)
    return parser


def run_lab(args: argparse.Namespace, lab_options: list[str]) -> int:
    from .widgets.launch import launch

    return launch(args.notebook, lab_options)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.passes_options_on:
        return args.run(args, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    from .local.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
