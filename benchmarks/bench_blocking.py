"""GEMM blocking before/after: main's constant blocks against the blocks
derived from this CPU's caches, with NumPy+OpenBLAS and PyTorch, one
interleaved run per thread count (fastdigits.bench.timing rules).

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_blocking.py

Contenders per shape:
  before     the GEMM driver on forged caches that give main's constant
             float32 AVX-512 blocks (KC 800, MC 256, NC 1024; bf16: KC 1024,
             MC 256, NC 1024) through _runtime._gemm_on_caches
  after      the same driver on the caches this CPU reports (what matmul uses)
  matmul     fastdigits.matmul (the public call: argument checks, out=)
  numpy      np.matmul (OpenBLAS)
  torch      torch.matmul
Medians over the rounds, and each contender's fastest sample ("best", the
quietest moment on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import fastdigits
from fastdigits import _runtime
from fastdigits.bench import timing
from fastdigits.bench.machine import fma_peak

try:
    import torch
except ImportError:
    torch = None

SHAPES = [(64, 784, 256), (1024, 784, 256), (64, 784, 1024), (1024, 784, 1024), (2048, 2048, 2048)]

# Forged caches whose derived blocks are main's constants (gemm_blocking.h
# before run-time blocking): float32 AVX-512 8 x 32, KC 800 (7/8 of 29264 B
# over 8 x 4 B), MC 256 (half of 1600 KiB over 800 x 4 B), NC 1024 (a
# quarter of 12.5 MiB over 800 x 4 B); bfloat16 8 x 32: KC 1024, MC 256,
# NC 1024.
BEFORE_F32 = {
    "l1d": {"size": 29264, "ways": 8},
    "l2": {"size": 1638400, "ways": 8},
    "l3": {"size": 13107200, "ways": 16},
}
BEFORE_BF16 = {
    "l1d": {"size": 21848, "ways": 0},
    "l2": {"size": 1 << 20, "ways": 8},
    "l3": {"size": 8 << 20, "ways": 16},
}


def check_before_blocks():
    isa = _runtime.ISA_NAMES.index(fastdigits.get_simd())
    b = _runtime.gemm_blocking(isa, "float32", BEFORE_F32)
    if isa >= 2:
        assert (b["kc"], b["mc"], b["nc"]) == (800, 256, 1024), b
    if isa >= 3:
        b = _runtime.gemm_blocking(isa, "bfloat16", BEFORE_BF16)
        assert (b["kc"], b["mc"], b["nc"]) == (1024, 256, 1024), b


def contenders(m, k, n, threads, bf16):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    out = np.empty((m, n), np.float32)
    isa = _runtime.ISA_NAMES.index(fastdigits.get_simd())
    here = _runtime.cache_info()
    before = BEFORE_BF16 if bf16 else BEFORE_F32
    prec = "bfloat16" if bf16 else "float32"
    fns = {
        "before": lambda: _runtime._gemm_on_caches(a, b, out, before, isa, threads, int(bf16)),
        "after": lambda: _runtime._gemm_on_caches(a, b, out, here, isa, threads, int(bf16)),
        "matmul": lambda: fastdigits.matmul(a, b, out=out, precision=prec),
        "numpy": lambda: np.matmul(a, b, out=out),
    }
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        if bf16:
            ta, tb = ta.bfloat16(), tb.bfloat16()
        tout = torch.empty((m, n), dtype=ta.dtype)
        fns["torch"] = lambda: torch.matmul(ta, tb, out=tout)
    return fns


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--shapes", default="")
    ap.add_argument("--bf16", action="store_true", help="precision='bfloat16' (torch: bf16)")
    ap.add_argument(
        "--cpu-clock",
        action="store_true",
        help="time one-thread runs on process CPU time (time.process_time), so other jobs "
        "on a shared machine do not count; wall clock otherwise and for > 1 thread",
    )
    args = ap.parse_args()
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",") if s] or SHAPES
    check_before_blocks()
    print("caches:", _runtime.cache_info())
    isa = _runtime.ISA_NAMES.index(fastdigits.get_simd())
    dt = "bfloat16" if args.bf16 else "float32"
    print("after blocks (%s, %s):" % (fastdigits.get_simd(), dt), _runtime.gemm_blocking(isa, dt))
    for threads in (int(t) for t in args.threads.split(",")):
        if torch is not None:
            torch.set_num_threads(threads)
        with threadpool_limits(threads), fastdigits.threads(threads):
            blas = [(i["internal_api"], i.get("architecture")) for i in threadpool_info()]
            peak = fma_peak(threads)["float32"]["peak_gflops"]
            cpu = args.cpu_clock and threads == 1
            clock = time.process_time if cpu else time.perf_counter
            print(
                "\nthreads=%d simd=%s precision=%s BLAS=%s torch=%s; FMA peak %.0f GFLOP/s; "
                "clock=%s; load %s"
                % (
                    threads,
                    fastdigits.get_simd(),
                    dt,
                    blas,
                    torch and torch.__version__,
                    peak,
                    "process_time" if cpu else "wall",
                    os.getloadavg(),
                )
            )
            names = ["before", "after", "matmul", "numpy"] + (["torch"] if torch else [])
            print(
                "%-16s " % "shape"
                + " ".join("%15s" % ("%s GF/s" % nm) for nm in names)
                + " | after/before  matmul/np  matmul/torch  %peak"
            )
            for m, k, n in shapes:
                res = timing.time_contenders(
                    {
                        nm: timing.Bench(f)
                        for nm, f in contenders(m, k, n, threads, args.bf16).items()
                    },
                    rounds=args.rounds,
                    min_sample_s=0.05,
                    pause_s=0.05,
                    pause_after={"numpy": 0.2},
                    wait_idle_s=0.5,
                    clock=clock,
                )
                fl = 2.0 * m * k * n
                med = {nm: fl / res[nm].median / 1e9 for nm in names}
                best = {nm: fl / res[nm].min / 1e9 for nm in names}
                cells = " ".join("%6.1f (%6.1f)" % (med[nm], best[nm]) for nm in names)
                tr = med["matmul"] / med["torch"] if torch else float("nan")
                print(
                    "%-16s %s | %12.3f %10.2f %13.2f %5.0f%%"
                    % (
                        "%dx%dx%d" % (m, k, n),
                        cells,
                        med["after"] / med["before"],
                        med["matmul"] / med["numpy"],
                        tr,
                        100 * med["matmul"] / peak,
                    ),
                    flush=True,
                )
    print("\ncells: median GF/s (best sample GF/s); ratios of medians")


if __name__ == "__main__":
    main()
