"""Benchmarks: softmax cross-entropy (loss + gradient) and optimiser steps.

    OMP_NUM_THREADS=1 pytest benchmarks/bench_loss_optim.py --benchmark-only

The thread count for every contender is fastdigits.get_num_threads() (set
it with OMP_NUM_THREADS); on a shared, oversubscribed machine compare
1-thread runs: a descheduled OpenMP worker stalls every parallel region.

Contenders at the same thread count (fastdigits.get_num_threads(), applied
to torch with torch.set_num_threads): fastdigits, the NumPy reference and
PyTorch CPU (F.cross_entropy + backward; torch.optim SGD/AdamW with
foreach=True).  Each benchmark records GB/s of compulsory traffic in
extra_info ("gbps").  A short sleep before each timing lets OpenMP/BLAS
worker threads spinning from the previous contender go idle.
"""
import time

import numpy as np
import pytest

import fastdigits
from fastdigits import reference

torch = pytest.importorskip("torch")

XENT_SHAPES = [(64, 10), (1024, 10), (8192, 10), (8192, 1000)]
OPT_SIZES = [784 * 256, 784 * 1024]
CONTENDERS = ["fastdigits", "numpy", "torch"]


@pytest.fixture(autouse=True)
def _quiet_threads():
    n = fastdigits.get_num_threads()
    torch.set_num_threads(n)
    time.sleep(0.2)
    yield


def _record(benchmark, nbytes):
    benchmark.extra_info["bytes"] = nbytes
    benchmark.extra_info["threads"] = fastdigits.get_num_threads()
    benchmark.extra_info["simd"] = fastdigits.get_simd()
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        benchmark.extra_info["gbps"] = nbytes / stats.stats.median / 1e9


@pytest.mark.parametrize("who", CONTENDERS)
@pytest.mark.parametrize("shape", XENT_SHAPES, ids=lambda s: "%dx%d" % s)
def test_softmax_cross_entropy(benchmark, shape, who):
    m, c = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((m, c)).astype(np.float32)
    y = rng.integers(0, c, size=m)
    benchmark.group = "softmax_xent %dx%d f32" % shape
    if who == "fastdigits":
        g = np.empty_like(x)
        benchmark(lambda: fastdigits.softmax_cross_entropy(x, y, grad_out=g))
    elif who == "numpy":
        benchmark(lambda: reference.softmax_cross_entropy(x, y))
    else:
        tx = torch.from_numpy(x).requires_grad_(True)
        ty = torch.from_numpy(y)

        def step():
            tx.grad = None
            torch.nn.functional.cross_entropy(tx, ty).backward()

        benchmark(step)
    _record(benchmark, 2 * x.nbytes + y.nbytes)  # read logits, write gradient


def _sgd_case(n, who):
    rng = np.random.default_rng(1)
    p = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32) * 1e-3
    v = np.zeros_like(p)
    if who == "fastdigits":
        return lambda: fastdigits.sgd_step(p, g, lr=1e-3, momentum=0.9, velocity=v)
    if who == "numpy":
        return lambda: reference.sgd_step(p, g, lr=1e-3, momentum=0.9, velocity=v)
    tp = torch.nn.Parameter(torch.from_numpy(p))
    tp.grad = torch.from_numpy(g)
    opt = torch.optim.SGD([tp], lr=1e-3, momentum=0.9, foreach=True)
    return opt.step


def _adam_case(n, who):
    rng = np.random.default_rng(2)
    p = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32) * 1e-3
    m, v = np.zeros_like(p), np.zeros_like(p)
    state = {"t": 0}
    if who == "fastdigits":
        def step():
            state["t"] += 1
            fastdigits.adam_step(p, g, m, v, lr=1e-3, step=state["t"], weight_decay=0.01)
        return step
    if who == "numpy":
        def step():
            state["t"] += 1
            reference.adam_step(p, g, m, v, lr=1e-3, step=state["t"], weight_decay=0.01)
        return step
    tp = torch.nn.Parameter(torch.from_numpy(p))
    tp.grad = torch.from_numpy(g)
    opt = torch.optim.AdamW([tp], lr=1e-3, weight_decay=0.01, foreach=True)
    return opt.step


@pytest.mark.parametrize("who", CONTENDERS)
@pytest.mark.parametrize("n", OPT_SIZES)
def test_sgd_momentum_step(benchmark, n, who):
    benchmark.group = "sgd momentum n=%d f32" % n
    benchmark(_sgd_case(n, who))
    _record(benchmark, 5 * 4 * n)  # read p, g, v; write p, v


@pytest.mark.parametrize("who", CONTENDERS)
@pytest.mark.parametrize("n", OPT_SIZES)
def test_adamw_step(benchmark, n, who):
    benchmark.group = "adamw n=%d f32" % n
    benchmark(_adam_case(n, who))
    _record(benchmark, 7 * 4 * n)  # read p, g, m, v; write p, m, v
