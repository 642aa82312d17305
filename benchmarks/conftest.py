"""pytest-benchmark suite configuration: same threads for every contender,
machine facts in the header, pauses between benchmarks, speed-up summary.

Options: ``--bench-threads N`` (default: fastdigits' default thread count),
``--bench-pause S`` (default 0.2), ``--bench-profile quick|full|tiny`` (sizes
of bench_cases.py, which runs the very cases of `fastdigits bench`).
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)  # _helpers
# Benchmark the in-place build of this checkout when there is one.
if os.path.isdir(os.path.join(ROOT, "fastdigits")) and any(
    f.startswith("_runtime") and f.endswith((".so", ".pyd"))
    for f in os.listdir(os.path.join(ROOT, "fastdigits"))
):
    sys.path.insert(0, ROOT)


def pytest_addoption(parser):
    g = parser.getgroup("fastdigits benchmarks")
    g.addoption(
        "--bench-threads",
        type=int,
        default=None,
        help="threads for every contender (default: fastdigits' default)",
    )
    g.addoption(
        "--bench-pause",
        type=float,
        default=0.2,
        help="seconds to pause before each benchmark (default 0.2)",
    )
    g.addoption(
        "--bench-profile",
        default="quick",
        choices=("quick", "full", "tiny"),
        help="sizes of the `fastdigits bench` cases in bench_cases.py",
    )


def _threads(config) -> int:
    import fastdigits

    return config.getoption("bench_threads") or fastdigits.get_num_threads()


def pytest_report_header(config):
    from fastdigits.bench import machine

    try:
        facts = machine.facts(use_torch=machine.torch_available())
    except Exception as exc:  # the header must never break the run
        return ["fastdigits: machine facts unavailable (%s)" % exc]
    blas = (
        ", ".join(
            "%s %s (%s)" % (b["internal_api"], b["version"], b["architecture"])
            for b in facts["blas"]
        )
        or "none"
    )
    lines = [
        "fastdigits %s: cpu %s, %d cores, simd %s, openmp %s, %s"
        % (
            facts["fastdigits"],
            facts["cpu"],
            facts["logical_cores"],
            facts["simd"],
            "on" if facts["openmp"] else "off",
            facts["compiler"],
        ),
        "contenders on %d thread(s): NumPy %s with BLAS %s; PyTorch %s"
        % (_threads(config), facts["numpy"], blas, facts["torch"] or "not installed"),
    ]
    lines += ["WARNING: " + w for w in facts["warnings"]]
    return lines


@pytest.fixture(scope="session", autouse=True)
def same_threads(request):
    """Every contender on the same thread count for the whole session; the
    observed counts are checked (a mismatch fails loudly, not silently)."""
    from fastdigits.bench import machine

    n = _threads(request.config)
    with machine.same_threads(n, machine.torch_available()) as report:
        for who, t in report.items():
            if t.get("observed") is not None and t["observed"] != t["requested"]:
                raise pytest.UsageError(
                    "%s runs %s threads, not the %d requested" % (who, t["observed"], n)
                )
        import fastdigits

        fastdigits.set_num_threads(n)
        try:
            yield report
        finally:
            fastdigits.set_num_threads(None)


@pytest.fixture
def nthreads(same_threads):
    """The thread count every contender uses in this session."""
    return same_threads["fastdigits"]["requested"]


@pytest.fixture(autouse=True)
def _pause_between_benchmarks(request):
    """Let the previous contender's spinning thread pools go to sleep."""
    pause = request.config.getoption("bench_pause")
    if pause > 0 and "benchmark" in request.fixturenames:
        time.sleep(pause)
    yield


def _label(bench) -> str:
    """The contender tag (see _helpers.contender) or else the test's name."""
    return (getattr(bench, "extra_info", None) or {}).get("contender") or bench.name


def _ours(entries):
    """fastdigits' entry of a group: the one tagged so, else the shortest
    test name mentioning fastdigits (``..._fastdigits`` over
    ``..._fastdigits_zlib``); None when there is none."""
    tagged = [e for e in entries if e[0] == "fastdigits"]
    if tagged:
        return tagged[0]
    named = sorted((e for e in entries if "fastdigits" in e[0].lower()), key=lambda e: len(e[0]))
    return named[0] if named else None


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    """Per group: fastdigits' median and its speed-up over every other entry."""
    bs = getattr(config, "_benchmarksession", None)
    if bs is None or not getattr(bs, "benchmarks", None):
        return
    groups = defaultdict(list)
    for b in bs.benchmarks:
        stats = getattr(b, "stats", None)
        if stats is None or not getattr(stats, "rounds", 0):
            continue
        groups[b.group or b.fullname].append((_label(b), stats.median))
    lines = []
    for group in sorted(groups, key=str):
        entries = groups[group]
        ours = _ours(entries)
        if ours is None or len(entries) < 2:
            continue
        parts = ["%s x%.2f" % (label, t / ours[1]) for label, t in entries if (label, t) != ours]
        lines.append(
            "%s: fastdigits (%s) %.4g s; speed-up vs %s"
            % (group, ours[0], ours[1], ", ".join(parts))
        )
    if lines:
        terminalreporter.write_sep("-", "fastdigits speed-up (other's median / ours)")
        for line in lines:
            terminalreporter.write_line(line)
