"""One training epoch of a 784-256-10 MLP (SGD, momentum 0.9, batch 64) on
the 60,000 MNIST training images: fastdigits vs the NumPy reference MLP vs
the same model in PyTorch (nn.Sequential, CrossEntropyLoss, optim.SGD), all
on the same number of threads (default 2).

    pytest benchmarks/bench_mlp.py --benchmark-only
    python benchmarks/bench_mlp.py --rounds 5 --threads 2   # interleaved, medians + ratios

Time NumPy with ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`` so OpenBLAS
picks its own kernel.  Contenders are interleaved round by round with a pause
between them (BLAS / OpenMP thread pools spin for a while after a call).
On an oversubscribed machine (more runnable tasks than cores) libgomp's
spin-waiting makes multi-thread epochs erratic (a join waits for a
descheduled thread); ``OMP_WAIT_POLICY=passive`` steadies them, and
``--quiet-wait S`` waits for an idle run queue before each run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import fastdigits
from fastdigits.bench.cases import torch_epoch, torch_mlp
from fastdigits.bench.machine import blas_summary
from fastdigits.bench.timing import Bench, time_contenders
from fastdigits.commands.bench import add_wait_idle_option
from fastdigits.nn import MLP

SIZES = (784, 256, 10)
BATCH = 64
LR = 0.05
MOMENTUM = 0.9
PAUSE = 0.3  # let other pools stop spinning before the next contender


def mnist_train(dtype=np.float32):
    X, y = fastdigits.load_mnist("train", flatten=True)
    X = ((X.astype(dtype) / 255 - fastdigits.MNIST_MEAN) / fastdigits.MNIST_STD).astype(dtype)
    return np.ascontiguousarray(X), y.astype(np.int64)


class Contenders:
    """Each contender trains one epoch of a fresh model (built by the untimed
    reset) per call: a fastdigits.bench.timing.Bench each."""

    def __init__(self, threads: int):
        self.threads = threads
        self.X, self.y = mnist_train()
        self._torch = None

    def fastdigits(self) -> Bench:
        model = {}

        def reset():
            model["m"] = MLP(SIZES, seed=0)

        def run():
            with fastdigits.threads(self.threads):
                model["m"].fit(self.X, self.y, epochs=1, batch_size=BATCH, lr=LR, momentum=MOMENTUM)

        return Bench(run, reset, repeatable=False)

    def numpy(self) -> Bench:
        from threadpoolctl import threadpool_limits

        model = {}

        def reset():
            model["m"] = MLP(SIZES, seed=0, backend="numpy")

        def run():
            with threadpool_limits(limits=self.threads, user_api="blas"):
                model["m"].fit(self.X, self.y, epochs=1, batch_size=BATCH, lr=LR, momentum=MOMENTUM)

        return Bench(run, reset, repeatable=False)

    def pytorch(self) -> Bench:
        import torch

        torch.set_num_threads(self.threads)
        if self._torch is None:
            self._torch = (torch.from_numpy(self.X), torch.from_numpy(self.y))
        Xt, yt = self._torch
        lossf = torch.nn.CrossEntropyLoss()
        state = {}

        def reset():
            torch.manual_seed(0)
            model = torch_mlp(SIZES)
            state["model"] = model
            state["opt"] = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

        def run():
            n = Xt.shape[0]
            order = torch.from_numpy(np.random.default_rng([0, 0]).permutation(n))
            torch_epoch(state["model"], state["opt"], lossf, Xt, yt, order, BATCH)

        return Bench(run, reset, repeatable=False)


# ------------------------------------------------------------- pytest-benchmark
def _pedantic(benchmark, bench):
    def setup():
        time.sleep(PAUSE)
        bench.reset()

    benchmark.pedantic(bench.fn, setup=setup, rounds=3, iterations=1, warmup_rounds=1)


_CONTENDERS = None


def _contenders():
    global _CONTENDERS
    if _CONTENDERS is None:
        _CONTENDERS = Contenders(int(os.environ.get("FASTDIGITS_BENCH_THREADS", "2")))
    return _CONTENDERS


def test_epoch_fastdigits(benchmark):
    _pedantic(benchmark, _contenders().fastdigits())


def test_epoch_numpy_reference(benchmark):
    _pedantic(benchmark, _contenders().numpy())


def test_epoch_pytorch(benchmark):
    _pedantic(benchmark, _contenders().pytorch())


# --------------------------------------------------------------------- script
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default="fastdigits,numpy,pytorch", help="comma-separated contenders")
    add_wait_idle_option(p, "--quiet-wait", before="each run")
    args = p.parse_args(argv)
    c = Contenders(args.threads)
    names = [n for n in args.only.split(",") if n]
    print(
        "fastdigits %s, simd %s; %s; epoch of %s at batch %d on %d threads"
        % (
            fastdigits.__version__,
            fastdigits.get_simd(),
            blas_summary(),
            "-".join(map(str, SIZES)),
            BATCH,
            args.threads,
        )
    )
    res = time_contenders(
        {n: getattr(c, n)() for n in names},
        rounds=args.rounds,
        min_sample_s=0.0,
        pause_s=PAUSE,
        wait_idle_s=args.quiet_wait,
    )
    times = {n: t.samples for n, t in res.items()}
    med = {n: t.median for n, t in res.items()}
    for n in names:
        print(
            "%-10s median %.3f s  (min %.3f, max %.3f)" % (n, med[n], min(times[n]), max(times[n]))
        )
    if "fastdigits" in med:
        for n in names:
            if n != "fastdigits":
                print("speed-up vs %-8s %.2fx" % (n, med[n] / med["fastdigits"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
