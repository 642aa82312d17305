"""Benchmark: the sparse first layer (``fastdigits._mlp.sparse_forward`` /
``sparse_backward``, what the epoch, ``fastdigits.torch.MLP`` and the
scikit-learn estimator run on digit images) against the dense layer on the
same batch: fastdigits' ``dense_forward`` + ``dense_backward``, NumPy and
PyTorch.

One training step of MNIST's first layer, 784 -> 256 relu: the forward
from a batch of B rows (default 200, the scikit-learn setting) taken at
random from the bundled training images, normalised (the background is
-0.42, 81% of the pixels), then dW and db for a given dy (no dx: the first
layer needs none).  Every contender writes into out= buffers where it can,
at the same thread count (FASTDIGITS_BENCH_THREADS, default 2).  GFLOP/s
count the dense product's FLOPs (4 m k n) for all, so the sparse rows show
how much of the dense work they skip.  A new batch each call (a cycle of
32 batches).

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_sparse_pair.py [--rounds 9] [--batch 200]
  python -m pytest benchmarks/bench_sparse_pair.py --benchmark-only
"""

from __future__ import annotations

import argparse
import itertools
import os

import numpy as np
import pytest

import fastdigits
from fastdigits import _mlp
from fastdigits.bench.machine import blas_summary
from fastdigits.bench.timing import Bench, time_contenders

THREADS = int(os.environ.get("FASTDIGITS_BENCH_THREADS", "2"))
K, N, NBATCH = 784, 256, 32

try:
    import torch
except ImportError:  # PyTorch is optional
    torch = None


def contenders(batch: int):
    X, _ = fastdigits.load_mnist("train", normalize=True, flatten=True)
    rng = np.random.default_rng(0)
    xs = [np.ascontiguousarray(X[rng.permutation(X.shape[0])[:batch]]) for _ in range(NBATCH)]
    W = (rng.standard_normal((K, N)) * 0.05).astype(np.float32)
    b = np.zeros(N, np.float32)
    dy = (rng.standard_normal((batch, N)) * 0.01).astype(np.float32)
    y = np.empty((batch, N), np.float32)
    dW, db = np.empty_like(W), np.empty_like(b)
    nxt = itertools.cycle(xs).__next__

    def sparse_pair():
        x = nxt()
        scratch = _mlp.sparse_forward(x, W, b, "relu", y)
        _mlp.sparse_backward(scratch, y, dy, dW, db)

    def dense():
        x = nxt()
        fastdigits.dense_forward(x, W, b, "relu", out=y)
        fastdigits.dense_backward(dy, x, W, y, "relu", need_dx=False, dW_out=dW, db_out=db)

    def numpy():
        x = nxt()
        np.matmul(x, W, out=y)
        np.add(y, b, out=y)
        np.maximum(y, 0, out=y)
        dz = dy * (y > 0)
        np.matmul(x.T, dz, out=dW)
        dz.sum(0, out=db)

    c = {"sparse pair": sparse_pair, "dense": dense, "numpy": numpy}
    if torch is not None:
        F = torch.nn.functional
        txs = [torch.from_numpy(x) for x in xs]
        tW = torch.from_numpy(np.ascontiguousarray(W.T)).requires_grad_()
        tb = torch.from_numpy(b).requires_grad_()
        tdy = torch.from_numpy(dy)
        tnext = itertools.cycle(txs).__next__

        def torch_layer():
            tW.grad = tb.grad = None
            F.relu(F.linear(tnext(), tW, tb)).backward(tdy)

        c["torch"] = torch_layer
    return c


def run(rounds: int, batch: int) -> None:
    benches = {name: Bench(fn) for name, fn in contenders(batch).items()}
    if torch is not None:
        torch.set_num_threads(THREADS)
    with fastdigits.threads(THREADS):
        timings = time_contenders(
            benches,
            rounds=rounds,
            min_sample_s=0.05,
            pause_s=0.2,
            wait_idle_s=2,
            on_error=lambda name, exc: print("  %-12s failed: %s" % (name, exc)),
        )
    meds = {name: t.median for name, t in timings.items()}
    flop = 4.0 * batch * K * N
    print(
        "784 -> %d relu, batch %d, forward + dW/db, %d threads, simd %s; NumPy on %s"
        % (N, batch, THREADS, fastdigits.get_simd(), blas_summary())
    )
    for name, med in meds.items():
        print(
            "  %-12s %8.3f ms  %6.1f GFLOP/s (dense equivalent)  %5.2fx vs sparse pair"
            % (name, med * 1e3, flop / med * 1e-9, med / meds["sparse pair"])
        )


@pytest.mark.parametrize("who", ["sparse pair", "dense", "numpy"])
def test_first_layer_step(benchmark, who):
    fn = contenders(200)[who]
    with fastdigits.threads(THREADS):
        benchmark(fn)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--batch", type=int, default=200)
    args = ap.parse_args()
    run(args.rounds, args.batch)
