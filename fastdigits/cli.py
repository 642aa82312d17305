"""The `fastdigits` command (also `python -m fastdigits`)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import List, Optional

from . import _config, commands


class CommandError(Exception):
    """A user error: printed as one line, exit code 2, no traceback."""


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Bad options: one line on stderr and exit status 2, no usage dump.

    ``parser.prog`` names the command in the line (``fastdigits train:
    error: ... (see fastdigits train --help)``).  Also for a sub-command's
    parser: options it does not know are its error, not the top-level
    parser's (which would print its own usage)."""

    def error(message: str) -> None:
        print(
            "%s: error: %s (see %s --help)" % (parser.prog, message, parser.prog), file=sys.stderr
        )
        sys.exit(2)

    strict_parse = parser.parse_known_args

    def parse_known_args(args=None, namespace=None):
        # Unknown options would otherwise go back to the top-level parser,
        # which prints its usage too.
        ns, extra = strict_parse(args, namespace)
        if extra:
            error("unrecognized arguments: %s" % " ".join(extra))
        return ns, extra

    parser.error = error  # type: ignore[method-assign]
    parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


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
        one_line_errors(p)
    one_line_errors(parser)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        names = ", ".join(mod.NAME for mod in _command_modules())
        parser.error("no command given: use one of %s" % names)
    args = parser.parse_args(argv)
    bad_env = _config.env_error()
    if bad_env:
        print("fastdigits %s: error: %s" % (args.command, bad_env), file=sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except CommandError as exc:
        print("fastdigits %s: error: %s" % (args.command, exc), file=sys.stderr)
        return 2
    except MemoryError as exc:
        # a size the user asked for that this machine cannot hold (the
        # commands bound their options; this is the last line of defence)
        why = " ".join(str(exc).split())  # numpy's "Unable to allocate 584. GiB ..."
        print(
            "fastdigits %s: error: out of memory%s" % (args.command, ": " + why if why else ""),
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("fastdigits: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
