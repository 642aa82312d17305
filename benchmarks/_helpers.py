"""Shared helpers for the pytest-benchmark suite (import as ``from _helpers import ...``).

Fairness rules, the same as `fastdigits bench` (see fastdigits.bench):
every contender runs on the same thread count (conftest sets fastdigits,
NumPy's BLAS via threadpoolctl and torch for the whole session and reports
each), a pause precedes every benchmark (OpenBLAS/libgomp threads spin for
~0.1 s after a call), and each benchmark tags its contender with
``contender(benchmark, "fastdigits" | "numpy" | "torch")`` so the summary
prints each group's speed-up of fastdigits over the others.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Optional

CONTENDERS = ("fastdigits", "numpy", "torch")


def contender(benchmark, name: str, group: Optional[str] = None) -> None:
    """Tag a benchmark with its contender (and optionally its group)."""
    if name not in CONTENDERS:
        raise ValueError("contender must be one of %s, got %r" % (CONTENDERS, name))
    benchmark.extra_info["contender"] = name
    if group is not None:
        benchmark.group = group


def public_api(dotted: str) -> Any:
    """``public_api("fastdigits.dense_forward")``: the object, or a clear
    ImportError naming what is missing from this build."""
    module, _, attr = dotted.rpartition(".")
    mod = importlib.import_module(module)
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise ImportError("%s is not in this build of fastdigits" % dotted) from None


def run(
    benchmark,
    fn: Callable[[], Any],
    *,
    setup: Optional[Callable[[], Any]] = None,
    rounds: Optional[int] = None,
    warmup_rounds: int = 1,
) -> Any:
    """Time fn() with pytest-benchmark; with ``setup`` (untimed, run before
    every round, e.g. a fresh model) or ``rounds`` this uses pedantic mode."""
    if setup is None and rounds is None:
        return benchmark(fn)

    def _setup():
        if setup is not None:
            setup()
        return (), {}

    return benchmark.pedantic(
        lambda: fn(), setup=_setup, rounds=rounds or 3, iterations=1, warmup_rounds=warmup_rounds
    )
