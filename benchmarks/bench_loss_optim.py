"""Benchmarks: softmax cross-entropy (loss + gradient) and optimiser steps.

Contenders at the same thread count: fastdigits, the NumPy reference and
PyTorch CPU (F.cross_entropy + backward; torch.optim SGD/AdamW with
foreach=True), float32.  Two ways to run it:

  OMP_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
      python -m pytest benchmarks/bench_loss_optim.py --benchmark-only
      (pytest-benchmark table; thread count = fastdigits.get_num_threads(),
       applied to torch too; GB/s in extra_info)
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
      PYTHONPATH=. python benchmarks/bench_loss_optim.py [--threads 1] [--rounds 25]
      (contenders interleaved round by round, each timing a batch of calls,
       with a 0.2 s pause between contenders; prints medians, ratios, GB/s)

GB/s counts compulsory traffic: logits read + gradient written for the
loss; p, g, v read and p, v written for SGD with momentum; p, g, m, v read
and p, m, v written for AdamW.  On a shared, oversubscribed machine compare
1-thread runs: a descheduled OpenMP worker stalls every parallel region.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pytest

import fastdigits
from fastdigits import reference
from fastdigits.bench.timing import Bench, time_contenders

try:
    import torch
except ImportError:  # pragma: no cover - torch is optional for the script mode
    torch = None

XENT_SHAPES = [(64, 10), (1024, 10), (8192, 10), (8192, 1000)]
OPT_SIZES = [784 * 256, 784 * 1024]
CONTENDERS = ["fastdigits", "numpy", "torch"]


def xent_case(shape, who):
    """(callable, bytes moved) for one cross-entropy contender."""
    m, c = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((m, c)).astype(np.float32)
    y = rng.integers(0, c, size=m)
    nbytes = 2 * x.nbytes + y.nbytes
    if who == "fastdigits":
        g = np.empty_like(x)
        return (lambda: fastdigits.softmax_cross_entropy(x, y, grad_out=g)), nbytes
    if who == "numpy":
        return (lambda: reference.softmax_cross_entropy(x, y)), nbytes
    tx = torch.from_numpy(x).requires_grad_(True)
    ty = torch.from_numpy(y)

    def step():
        tx.grad = None
        torch.nn.functional.cross_entropy(tx, ty).backward()

    return step, nbytes


def sgd_case(n, who):
    rng = np.random.default_rng(1)
    p = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32) * 1e-3
    v = np.zeros_like(p)
    nbytes = 5 * p.nbytes
    if who == "fastdigits":
        return (lambda: fastdigits.sgd_step(p, g, lr=1e-3, momentum=0.9, velocity=v)), nbytes
    if who == "numpy":
        return (lambda: reference.sgd_step(p, g, lr=1e-3, momentum=0.9, velocity=v)), nbytes
    tp = torch.nn.Parameter(torch.from_numpy(p))
    tp.grad = torch.from_numpy(g)
    return torch.optim.SGD([tp], lr=1e-3, momentum=0.9, foreach=True).step, nbytes


def adam_case(n, who):
    rng = np.random.default_rng(2)
    p = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32) * 1e-3
    m, v = np.zeros_like(p), np.zeros_like(p)
    nbytes = 7 * p.nbytes
    state = {"t": 0}
    if who in ("fastdigits", "numpy"):
        fn = fastdigits.adam_step if who == "fastdigits" else reference.adam_step

        def step():
            state["t"] += 1
            fn(p, g, m, v, lr=1e-3, step=state["t"], weight_decay=0.01)

        return step, nbytes
    tp = torch.nn.Parameter(torch.from_numpy(p))
    tp.grad = torch.from_numpy(g)
    return torch.optim.AdamW([tp], lr=1e-3, weight_decay=0.01, foreach=True).step, nbytes


def all_cases():
    for shape in XENT_SHAPES:
        yield "softmax_xent %dx%d f32" % shape, xent_case, shape
    for n in OPT_SIZES:
        yield "sgd momentum n=%d f32" % n, sgd_case, n
    for n in OPT_SIZES:
        yield "adamw n=%d f32" % n, adam_case, n


# ---- pytest-benchmark -------------------------------------------------------


@pytest.fixture(autouse=True)
def _same_threads_and_quiet():
    pytest.importorskip("torch")
    torch.set_num_threads(fastdigits.get_num_threads())
    time.sleep(0.2)  # let spinning OpenMP/BLAS workers of the last contender idle
    yield


def _bench(benchmark, group, make, arg, who):
    fn, nbytes = make(arg, who)
    benchmark.group = group
    benchmark.extra_info["threads"] = fastdigits.get_num_threads()
    benchmark.extra_info["simd"] = fastdigits.get_simd()
    benchmark.extra_info["bytes"] = nbytes
    benchmark(fn)
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        benchmark.extra_info["gbps"] = nbytes / stats.stats.median / 1e9


@pytest.mark.parametrize("who", CONTENDERS)
@pytest.mark.parametrize("shape", XENT_SHAPES, ids=lambda s: "%dx%d" % s)
def test_softmax_cross_entropy(benchmark, shape, who):
    _bench(benchmark, "softmax_xent %dx%d f32" % shape, xent_case, shape, who)


@pytest.mark.parametrize("who", CONTENDERS)
@pytest.mark.parametrize("n", OPT_SIZES)
def test_sgd_momentum_step(benchmark, n, who):
    _bench(benchmark, "sgd momentum n=%d f32" % n, sgd_case, n, who)


@pytest.mark.parametrize("who", CONTENDERS)
@pytest.mark.parametrize("n", OPT_SIZES)
def test_adamw_step(benchmark, n, who):
    _bench(benchmark, "adamw n=%d f32" % n, adam_case, n, who)


# ---- script mode: interleaved medians ---------------------------------------


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument(
        "--batch-seconds",
        type=float,
        default=0.01,
        help="time per contender per round (calls are batched)",
    )
    args = ap.parse_args(argv)
    who_all = CONTENDERS if torch is not None else CONTENDERS[:2]
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(
        "fastdigits %s, simd %s, %d thread(s), %d interleaved rounds"
        % (fastdigits.__version__, fastdigits.get_simd(), args.threads, args.rounds)
    )
    with fastdigits.threads(args.threads):
        for group, make, arg in all_cases():
            benches = {}
            for who in who_all:
                fn, nbytes = make(arg, who)
                benches[who] = Bench(fn)
            res = time_contenders(
                benches,
                rounds=args.rounds,
                min_sample_s=args.batch_seconds,
                pause_s=0.2 if args.threads > 1 else 0.0,
            )
            med = {w: t.median for w, t in res.items()}
            fd = med["fastdigits"]
            print(
                "%-26s %s | fastdigits %.1f GB/s"
                % (
                    group,
                    " | ".join("%s %.1f us (x%.2f)" % (w, m * 1e6, m / fd) for w, m in med.items()),
                    nbytes / fd / 1e9,
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
