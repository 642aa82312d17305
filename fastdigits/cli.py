"""The `fastdigits` command (also `python -m fastdigits`)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import List, Optional

from . import commands


class CommandError(Exception):
    """A user error: printed as one line, exit code 2, no traceback."""


def _command_modules():
    mods = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            mods.append(importlib.import_module("%s.%s" % (commands.__name__, info.name)))
    return mods


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="fastdigits", description="Fast IDX/MNIST data path and fused dense-layer kernels."
    )
    parser.add_argument("--version", action="version", version="fastdigits " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except CommandError as exc:
        print("fastdigits %s: error: %s" % (args.command, exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastdigits: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
