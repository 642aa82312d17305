"""Dense-layer benchmarks: fastdigits vs NumPy (OpenBLAS) vs PyTorch CPU.

Two ways to run (both at 2 threads for every contender):

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
      python -m pytest benchmarks/bench_dense.py --benchmark-only
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_dense.py

bfloat16 rows (``--kinds forward_bf16,backward_bf16``): fastdigits with
precision="bfloat16", the NumPy column is fastdigits' own float32 call (so
"vs np" is bf16 over our fp32), torch is F.linear on bfloat16 tensors; the
header line names the bf16 path that ran.

The script form prints one table row per (kernel, shape): median time,
GFLOP/s and the speed-up of fastdigits over each contender.  Contenders are
timed by the same rules as `fastdigits bench` (fastdigits.bench.timing):
round by round in rotated order, a 0.2 s pause after NumPy (OpenBLAS threads
spin ~0.1 s after a call and would steal a core from the next contender),
each sample >= 50 ms of back-to-back calls after a few ms of untimed calls
that wake the contender's sleeping thread pool.  The median sample is
reported; the "best" columns use each contender's fastest sample instead.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import fastdigits
from fastdigits.bench import timing
from fastdigits.bench.machine import fma_peak

try:
    import torch
except ImportError:  # torch is optional: its columns are left out
    torch = None

THREADS = 2
# The grid: MNIST layers 784->256, 784->1024 and 256->10 at batch
# 64, 256, 1024 and 8192.
SHAPES = [(b, k, n) for k, n in ((784, 256), (784, 1024), (256, 10)) for b in (64, 256, 1024, 8192)]


def make(m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, k), dtype=np.float32)
    W = (rng.standard_normal((k, n), dtype=np.float32) / np.sqrt(k)).astype(np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    dy = rng.standard_normal((m, n), dtype=np.float32)
    return x, W, b, dy


def contenders(kind, m, k, n):
    """{name: zero-argument callable} for one benchmark row."""
    x, W, b, dy = make(m, k, n)
    out = np.empty((m, n), np.float32)
    y = np.maximum(x @ W + b, 0)
    dx_o, dW_o, db_o = (
        np.empty((m, k), np.float32),
        np.empty((k, n), np.float32),
        np.empty(n, np.float32),
    )
    fns = {}
    if kind.endswith("_bf16"):
        return _bf16_contenders(kind[:-5], x, W, b, dy, y, out, dx_o, dW_o, db_o)
    if kind == "gemm":
        fns["fastdigits"] = lambda: fastdigits.matmul(x, W, out=out)
        fns["numpy"] = lambda: np.matmul(x, W, out=out)
    elif kind == "forward":
        fns["fastdigits"] = lambda: fastdigits.dense_forward(x, W, b, "relu", out=out)
        fns["numpy"] = lambda: np.maximum(x @ W + b, 0)
    else:
        fns["fastdigits"] = lambda: fastdigits.dense_backward(
            dy, x, W, activation="relu", y=y, dx_out=dx_o, dW_out=dW_o, db_out=db_o
        )

        def np_backward():
            dz = dy * (y > 0)
            return dz @ W.T, x.T @ dz, dz.sum(0)

        fns["numpy"] = np_backward
    if torch is not None:
        tx, tW, tb = torch.from_numpy(x), torch.from_numpy(W), torch.from_numpy(b)
        tout = torch.from_numpy(out)
        if kind == "gemm":
            fns["torch"] = lambda: torch.matmul(tx, tW, out=tout)
        elif kind == "forward":
            fns["torch"] = lambda: torch.relu(torch.addmm(tb, tx, tW))
        else:
            gx = tx.clone().requires_grad_(True)
            gW = tW.clone().requires_grad_(True)
            gb = tb.clone().requires_grad_(True)
            ty = torch.relu(torch.addmm(gb, gx, gW))
            tdy = torch.from_numpy(dy)
            fns["torch"] = lambda: torch.autograd.grad(ty, (gx, gW, gb), tdy, retain_graph=True)
    return fns


def _bf16_contenders(kind, x, W, b, dy, y, out, dx_o, dW_o, db_o):
    """fastdigits bf16 vs fastdigits fp32 (the "numpy" slot) vs torch bf16."""
    fns = {}
    for name, prec in (("fastdigits", "bfloat16"), ("numpy", "float32")):
        if kind == "forward":
            fns[name] = lambda p=prec: fastdigits.dense_forward(
                x, W, b, "relu", out=out, precision=p
            )
        else:
            fns[name] = lambda p=prec: fastdigits.dense_backward(
                dy, x, W, activation="relu", y=y, dx_out=dx_o, dW_out=dW_o, db_out=db_o, precision=p
            )
    if torch is not None:
        bf = torch.bfloat16
        tx, tb = torch.from_numpy(x).to(bf), torch.from_numpy(b).to(bf)
        tW = torch.from_numpy(np.ascontiguousarray(W.T)).to(bf)
        F = torch.nn.functional
        if kind == "forward":
            fns["torch"] = lambda: torch.relu(F.linear(tx, tW, tb))
        else:
            for t in (tx, tW, tb):
                t.requires_grad_(True)
            ty = torch.relu(F.linear(tx, tW, tb))
            tdy = torch.from_numpy(dy).to(bf)
            fns["torch"] = lambda: torch.autograd.grad(ty, (tx, tW, tb), tdy, retain_graph=True)
    return fns


def flops(kind, m, k, n):
    return 2.0 * m * k * n * (2 if kind.startswith("backward") else 1)


# ---------------------------------------------------------------- pytest-benchmark
@pytest.fixture(autouse=True)
def _threads():
    if torch is not None:
        torch.set_num_threads(THREADS)
    with threadpool_limits(THREADS), fastdigits.threads(THREADS):
        time.sleep(0.2)
        yield


@pytest.mark.parametrize("contender", ["fastdigits", "numpy", "torch"])
@pytest.mark.parametrize("m,k,n", SHAPES, ids=lambda v: str(v))
@pytest.mark.parametrize("kind", ["gemm", "forward", "backward"])
def test_dense(benchmark, kind, m, k, n, contender):
    fns = contenders(kind, m, k, n)
    if contender not in fns:
        pytest.skip("torch is not installed")
    benchmark.group = "%s %dx%d->%d" % (kind, m, k, n)
    benchmark.extra_info["gflops"] = flops(kind, m, k, n) / 1e9
    benchmark(fns[contender])


# ---------------------------------------------------------------- table script
def _bf16_path():
    from fastdigits._info import bf16_path

    return bf16_path(fastdigits.get_simd())


def time_row(fns, rounds, pause, min_sample_s=0.05):
    """Median and best per-call seconds of each contender, timed by the
    `fastdigits bench` rules (fastdigits.bench.timing): warm-up, samples of
    >= min_sample_s each starting with untimed pool-waking calls, rounds in
    rotated order, `pause` after NumPy (OpenBLAS spins ~0.1 s after a call)
    and a short one after the others."""
    res = timing.time_contenders(
        {name: timing.Bench(f) for name, f in fns.items()},
        rounds=rounds,
        min_sample_s=min_sample_s,
        pause_s=min(pause, 0.05),
        pause_after={"numpy": pause},
    )
    return ({name: t.median for name, t in res.items()}, {name: t.min for name, t in res.items()})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--pause", type=float, default=0.2)
    ap.add_argument(
        "--peak",
        type=float,
        default=None,
        help="GFLOP/s peak for the %%-of-peak column (default: "
        "measured here: fastdigits' float32 FMA loop on every "
        "thread, as in `fastdigits bench`)",
    )
    ap.add_argument("--kinds", default="gemm,forward,backward")
    ap.add_argument(
        "--threads", type=int, default=THREADS, help="threads for every contender (default 2)"
    )
    ap.add_argument("--shapes", default="", help="only these shapes, e.g. 64x784x256,256x256x10")
    args = ap.parse_args()
    threads = args.threads
    if torch is not None:
        torch.set_num_threads(threads)
    with threadpool_limits(threads), fastdigits.threads(threads):
        blas = [
            (i["internal_api"], i.get("architecture"), i["num_threads"])
            for i in threadpool_info()
            if i["user_api"] == "blas"
        ]
        print(
            "fastdigits simd=%s (bf16: %s) threads=%d; numpy BLAS %s; torch %s threads=%s"
            % (
                fastdigits.get_simd(),
                _bf16_path(),
                fastdigits.get_num_threads(),
                blas,
                torch.__version__ if torch else "-",
                torch.get_num_threads() if torch else "-",
            )
        )
        if args.peak is None:
            args.peak = fma_peak(threads)["float32"]["peak_gflops"]
            print("FMA peak (float32, %d threads, measured): %.0f GFLOP/s" % (threads, args.peak))
        print(
            "%-9s %-15s %10s %8s %6s %10s %10s %8s %8s | %8s %8s %8s"
            % (
                "kernel",
                "shape",
                "fd ms",
                "fd GF/s",
                "%peak",
                "numpy ms",
                "torch ms",
                "vs np",
                "vs torch",
                "bestGF/s",
                "best np",
                "best th",
            )
        )
        shapes = [
            tuple(int(v) for v in sh.split("x")) for sh in args.shapes.split(",") if sh
        ] or SHAPES
        for kind in args.kinds.split(","):
            for m, k, n in shapes:
                fl = flops(kind, m, k, n)
                res, best = time_row(contenders(kind, m, k, n), args.rounds, args.pause)
                fd_t = res["fastdigits"]
                tt = res.get("torch", float("nan"))
                fd_b = best["fastdigits"]
                print(
                    "%-9s %-15s %10.4f %8.1f %5.0f%% %10.4f %10.4f %7.2fx %7.2fx | "
                    "%8.1f %7.2fx %7.2fx"
                    % (
                        kind,
                        "%dx%d->%d" % (m, k, n),
                        fd_t * 1e3,
                        fl / fd_t / 1e9,
                        100 * fl / fd_t / 1e9 / args.peak,
                        res["numpy"] * 1e3,
                        tt * 1e3,
                        res["numpy"] / fd_t,
                        tt / fd_t,
                        fl / fd_b / 1e9,
                        best["numpy"] / fd_b,
                        best.get("torch", float("nan")) / fd_b,
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
