"""Benchmark: fastdigits.dropout vs NumPy (and PyTorch CPU), float32.

A (128, 1024) activation block (one hidden layer of a training batch) and a
(60000, 784) array, out= buffers, at the same thread count
(FASTDIGITS_BENCH_THREADS, default 2; NumPy's generator and ufuncs are
single-threaded whatever the count).  NumPy: ``rng.random(x.shape,
dtype=np.float32) < p`` then ``np.where``; PyTorch:
``torch.nn.functional.dropout``.  fastdigits' mask is counter-based
(Philox4x32-10), the same for any thread count.

Fused into a dense layer (issue 14): ``dense_forward(x, W, b, "relu",
dropout=0.5, seed=7)`` against ``dense_forward`` + ``dropout`` (two calls,
out= buffers), the layer alone (no dropout, for scale) and PyTorch
``F.dropout(F.relu(F.linear(x, W.T, b)), 0.5)``, 784 -> 256 and 784 -> 1024
at batch 64 and 1024.

  PYTHONPATH=. python benchmarks/bench_dropout.py [--rounds 15] [--fused-only]
      (contenders interleaved round by round, so machine noise hits all
       alike; prints medians and ratios)
  python -m pytest benchmarks/bench_dropout.py --benchmark-only
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import pytest

import fastdigits
from fastdigits.bench.timing import Bench, time_contenders

THREADS = int(os.environ.get("FASTDIGITS_BENCH_THREADS", "2"))
P = 0.3
SHAPES = {"batch 128x1024": (128, 1024), "60000x784": (60000, 784)}

try:
    import torch
except ImportError:  # PyTorch is optional
    torch = None


def contenders(shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    out = np.empty_like(x)
    rng = np.random.default_rng(1)
    scale = np.float32(1 / (1 - P))

    def fast():
        fastdigits.dropout(x, P, 7, out=out)

    def numpy():
        keep = rng.random(x.shape, dtype=np.float32) >= P
        np.multiply(x, scale, out=out)
        out[~keep] = 0

    c = {"fastdigits": fast, "numpy": numpy}
    if torch is not None:
        tx = torch.from_numpy(x)

        def torch_dropout():
            torch.nn.functional.dropout(tx, P, training=True)

        c["torch"] = torch_dropout
    return c


FUSED_P = 0.5
FUSED_SHAPES = {
    "784->256 b64": (64, 784, 256),
    "784->1024 b64": (64, 784, 1024),
    "784->256 b1024": (1024, 784, 256),
    "784->1024 b1024": (1024, 784, 1024),
}


def fused_contenders(m, k, n):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((m, k)).astype(np.float32)
    W = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    out = np.empty((m, n), np.float32)
    tmp = np.empty_like(out)

    def fused():
        fastdigits.dense_forward(x, W, b, "relu", out=out, dropout=FUSED_P, seed=7)

    def two_calls():
        fastdigits.dense_forward(x, W, b, "relu", out=tmp)
        fastdigits.dropout(tmp, FUSED_P, 7, out=out)

    def layer_only():
        fastdigits.dense_forward(x, W, b, "relu", out=out)

    c = {"fused": fused, "two calls": two_calls, "no dropout": layer_only}
    if torch is not None:
        F = torch.nn.functional
        tx, tW, tb = (
            torch.from_numpy(x),
            torch.from_numpy(np.ascontiguousarray(W.T)),
            torch.from_numpy(b),
        )

        def torch_fused():
            with torch.no_grad():
                F.dropout(F.relu(F.linear(tx, tW, tb)), FUSED_P, training=True)

        c["torch"] = torch_fused
    return c


def _medians(cs, rounds: int):
    """Median seconds per call of each contender, interleaved rounds on
    THREADS threads (fastdigits.bench.timing, waiting for an idle machine)."""
    benches = {name: Bench(fn) for name, fn in cs.items()}
    if torch is not None:
        torch.set_num_threads(THREADS)
    with fastdigits.threads(THREADS):
        timings = time_contenders(
            benches, rounds=rounds, min_sample_s=0.05, pause_s=0.05, wait_idle_s=2
        )
    return {name: t.median for name, t in timings.items()}


def run_fused(rounds: int) -> None:
    for name, (m, k, n) in FUSED_SHAPES.items():
        meds = _medians(fused_contenders(m, k, n), rounds)
        for c, med in meds.items():
            print("%-16s %-11s %9.3f ms  %5.2fx fused" % (name, c, med * 1e3, med / meds["fused"]))


def run(rounds: int) -> None:
    for name, shape in SHAPES.items():
        meds = _medians(contenders(shape), rounds)
        for k, med in meds.items():
            print(
                "%-15s %-11s %9.3f ms  %6.2f ns/element  %5.2fx fastdigits"
                % (name, k, med * 1e3, med / (shape[0] * shape[1]) * 1e9, med / meds["fastdigits"])
            )


@pytest.mark.parametrize("shape", list(FUSED_SHAPES), ids=list(FUSED_SHAPES))
@pytest.mark.parametrize("who", ["fused", "two calls"])
def test_dense_dropout(benchmark, shape, who):
    fn = fused_contenders(*FUSED_SHAPES[shape])[who]
    with fastdigits.threads(THREADS):
        benchmark(fn)


@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
@pytest.mark.parametrize("who", ["fastdigits", "numpy"])
def test_dropout(benchmark, shape, who):
    fn = contenders(SHAPES[shape])[who]
    with fastdigits.threads(THREADS):
        benchmark(fn)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--fused-only", action="store_true", help="only the dense-layer rows")
    args = ap.parse_args()
    if not args.fused_only:
        run(args.rounds)
    run_fused(args.rounds)
