"""`fastdigits bench`: time every kernel against NumPy and PyTorch, fairly."""

from __future__ import annotations

import argparse
import json
import os
import sys

NAME = "bench"
HELP = "time every kernel against NumPy and PyTorch on the same thread count"

EPILOG = """\
examples:
  fastdigits bench --quick                 # about a minute on 2 cores
  fastdigits bench --only dense_forward --json bench.json --plot bench.png
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE fastdigits bench

--only takes glob patterns matched against case names (see --list), or plain
words matched anywhere in them; comma-separated or repeated."""


def _threads(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number, got %r" % text) from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be >= 1, got %d" % n)
    from .._config import MAX_THREADS

    if n > MAX_THREADS:
        raise argparse.ArgumentTypeError(
            "must be <= %d (fastdigits.MAX_THREADS), got %d" % (MAX_THREADS, n)
        )
    return n


def _seconds(text: str) -> float:
    try:
        s = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds, got %r" % text) from None
    if not (s >= 0 and s < float("inf")):
        raise argparse.ArgumentTypeError("must be >= 0 seconds, got %r" % text)
    return s


def add_wait_idle_option(
    parser: argparse.ArgumentParser, flag: str = "--wait-idle", before: str = "each sample"
) -> None:
    """The option, shared with the scripts in benchmarks/, that waits for an
    idle machine before each timing (``wait_idle_s`` of
    :func:`fastdigits.bench.timing.time_contenders`): seconds >= 0, default 0."""
    parser.add_argument(
        flag,
        type=_seconds,
        metavar="S",
        default=0.0,
        help="on a shared machine: before %s wait up to S seconds "
        "until nothing else is runnable (Linux)" % before,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument(
        "--quick",
        action="store_true",
        help="batch sizes 64 and 1024 only, fewer rounds, a tenth of an epoch: about a minute "
        "on 2 cores (a first run also compiles the torch.compile rows: ~10 s more)",
    )
    parser.add_argument(
        "--threads",
        type=_threads,
        metavar="N",
        default=None,
        help="threads for every contender (default: fastdigits' default, "
        "i.e. OMP_NUM_THREADS or the core count)",
    )
    parser.add_argument(
        "--json",
        metavar="FILE",
        help="write every figure to FILE as JSON (schema: fastdigits bench --print-schema)",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="write a PNG bar chart of the speed-ups (needs matplotlib)",
    )
    parser.add_argument(
        "--markdown", metavar="FILE.md", help="also write the table as Markdown (e.g. for a README)"
    )
    parser.add_argument(
        "--only",
        metavar="PATTERN",
        action="append",
        default=[],
        help="run only the cases matching PATTERN",
    )
    parser.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default="float32",
        help="floating-point type of the kernels (default float32)",
    )
    add_wait_idle_option(parser)
    parser.add_argument(
        "--no-torch", action="store_true", help="leave PyTorch out even when it is installed"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--list", action="store_true", help="list the selected case names and exit")
    parser.add_argument(
        "--print-schema",
        action="store_true",
        help="print the JSON Schema of --json's output and exit",
    )
    # Tiny sizes for the tests (also FASTDIGITS_BENCH_TINY=1): not a benchmark.
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)


def run(args) -> int:
    from ..cli import CommandError
    from ..bench import runner, schema

    if args.print_schema:
        print(json.dumps(schema.SCHEMA, indent=2))
        return 0
    tiny = args.tiny or os.environ.get("FASTDIGITS_BENCH_TINY", "") not in ("", "0")
    only = [p.strip() for item in args.only for p in item.split(",") if p.strip()]
    if args.only and not only:
        raise CommandError("--only needs a non-empty pattern")
    from ._view import check_output, progress_wanted

    for opt, path, suffix in (
        ("--json", args.json, None),
        ("--plot", args.plot, ".png"),
        ("--markdown", args.markdown, None),
    ):
        if path is not None:
            check_output(opt, path, suffix)
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            from ..bench.plot import INSTALL_HINT

            raise CommandError(INSTALL_HINT) from None
    import fastdigits

    opts = runner.Options(
        mode="tiny" if tiny else ("quick" if args.quick else "full"),
        threads=args.threads or fastdigits.get_num_threads(),
        dtype=args.dtype,
        only=only,
        use_torch=not args.no_torch,
        wait_idle_s=args.wait_idle,
        progress=progress_wanted(args.no_progress) and not args.list,
        argv=list(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else [],
    )
    names = runner.case_names(opts)
    if not names:
        raise CommandError(
            "--only %s matches no case (see fastdigits bench --list)" % ",".join(only)
        )
    if args.list:
        try:
            print("\n".join(names))
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. `fastdigits bench --list | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    from ..bench import report

    doc = runner.run(opts)
    print()
    print(report.table_text(doc))
    from .._atomic import atomic_write  # a failed write keeps the old file whole

    if args.json is not None:
        text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
        atomic_write(args.json, lambda f: f.write(text.encode("utf-8")))
        print("wrote %s" % args.json)
    if args.markdown is not None:
        text = report.markdown_text(doc)
        atomic_write(args.markdown, lambda f: f.write(text.encode("utf-8")))
        print("wrote %s" % args.markdown)
    if args.plot is not None:
        from ..bench.plot import write_plot

        write_plot(doc, args.plot)
        print("wrote %s" % args.plot)
    return 0
