"""Benchmarks: fastdigits.normalize vs NumPy (and PyTorch CPU) on MNIST train.

The 60000x28x28 uint8 training images -> float32, mean 0.1307, std 0.3081,
at the same thread count (FASTDIGITS_BENCH_THREADS, default 2; NumPy's
elementwise ufuncs are single-threaded whatever the count).

Two ways to run it (NumPy timing: clear the OpenBLAS overrides, see below):

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
      python -m pytest benchmarks/bench_normalize.py --benchmark-only
      (pytest-benchmark table; GB/s in extra_info)
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
      PYTHONPATH=. python benchmarks/bench_normalize.py [--rounds 15]
      (contenders interleaved round by round with a 0.2 s pause between them,
       so machine noise hits all alike; prints medians, ratios and GB/s)

GB/s counts the bytes the operation must move: n input bytes plus n*4 output
bytes.  "fresh" means the result is allocated by the call (its pages fault on
first write); "out=" reuses a preallocated buffer.
"""

from __future__ import annotations

import argparse
import gzip
import os
import time

import numpy as np
import pytest

import fastdigits
from fastdigits.bench.timing import Bench, time_contenders
from fastdigits.commands.bench import add_wait_idle_option

MNIST_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "shared",
    "data",
    "mnist",
    "train-images-idx3-ubyte.gz",
)
MEAN, STD = 0.1307, 0.3081
THREADS = int(os.environ.get("FASTDIGITS_BENCH_THREADS", "2"))


def load_images() -> np.ndarray:
    try:
        with gzip.open(MNIST_PATH) as f:
            data = f.read()
        return np.frombuffer(data, np.uint8, offset=16).reshape(60000, 28, 28)
    except OSError:  # no data set here: random pixels of the same shape
        return np.random.default_rng(0).integers(0, 256, (60000, 28, 28), dtype=np.uint8)


try:
    import torch
except ImportError:  # PyTorch is optional
    torch = None


def contenders(x: np.ndarray, dtype=np.float32) -> dict:
    """name -> zero-argument callable producing the normalised images."""
    out = np.empty(x.shape, dtype)
    a = dtype(1 / 255 / STD)
    c = dtype(-MEAN / STD)

    def fd(**kw):
        with fastdigits.threads(THREADS):
            return fastdigits.normalize(x, mean=MEAN, std=STD, dtype=dtype, **kw)

    def fd_1t():
        with fastdigits.threads(1):
            return fastdigits.normalize(x, mean=MEAN, std=STD, dtype=dtype, out=out)

    def numpy_out():
        np.multiply(x, a, out=out)
        return np.add(out, c, out=out)

    cs = {
        "fastdigits out=": lambda: fd(out=out),
        "fastdigits fresh": fd,
        "fastdigits out= 1 thread": fd_1t,
        "numpy naive": lambda: ((x.astype(dtype) / 255) - MEAN) / STD,
        "numpy best out=": numpy_out,
        "np.copyto out=": lambda: np.copyto(out, x),
        "np.copyto fresh": lambda: np.copyto(np.empty(x.shape, dtype), x),
    }
    if torch is not None:
        tx = torch.from_numpy(x.copy())  # torch wants a writeable array
        tdt = torch.float32 if dtype == np.float32 else torch.float64
        tout = torch.empty(tx.shape, dtype=tdt)

        def torch_naive():
            torch.set_num_threads(THREADS)
            return (tx.to(tdt) / 255 - MEAN) / STD

        def torch_out():
            torch.set_num_threads(THREADS)
            tout.copy_(tx)
            return tout.mul_(float(a)).add_(float(c))

        cs["torch naive"] = torch_naive
        cs["torch out= (copy_, mul_, add_)"] = torch_out
    return cs


# ---------------------------------------------------------------- pytest-benchmark

X = None


def _images():
    global X
    if X is None:
        X = load_images()
    return X


NAMES = list(contenders(np.zeros((1, 1, 1), np.uint8)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", NAMES)
def test_normalize(benchmark, name, dtype):
    x = _images()
    fn = contenders(x, dtype)[name]
    if "copyto" not in name:  # every other contender computes the same thing
        np.testing.assert_allclose(
            np.asarray(fn())[:2],
            fastdigits.normalize(x[:2], mean=MEAN, std=STD, dtype=dtype),
            rtol=1e-5,
            atol=1e-5,
        )
    time.sleep(0.2)  # let the previous contender's thread pools go idle
    benchmark.group = "normalize MNIST train uint8->%s, %d threads" % (
        np.dtype(dtype).name,
        THREADS,
    )
    benchmark.pedantic(fn, rounds=15, iterations=1, warmup_rounds=2)
    if benchmark.stats is not None:  # None under --benchmark-disable
        med = benchmark.stats.stats.median
        benchmark.extra_info["GB/s"] = round(x.size * (1 + np.dtype(dtype).itemsize) / med / 1e9, 2)


# ---------------------------------------------------------------- script mode


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    add_wait_idle_option(p, "--quiet-wait", before="each round")
    args = p.parse_args(argv)
    dtype = np.dtype(args.dtype).type
    x = load_images()
    cs = contenders(x, dtype)
    res = time_contenders(
        {k: Bench(fn) for k, fn in cs.items()},
        rounds=args.rounds,
        min_sample_s=0.0,
        pause_s=0.2,
        wait_idle_s=args.quiet_wait,
    )
    try:
        from threadpoolctl import threadpool_info

        blas = [
            "%s/%s" % (i.get("internal_api"), i.get("architecture"))
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
    except ImportError:
        blas = []
    nbytes = x.size * (1 + np.dtype(dtype).itemsize)
    med = {k: t.median for k, t in res.items()}
    print(
        "normalize %s uint8 -> %s, %d threads (fastdigits simd=%s), BLAS %s, "
        "%d rounds"
        % (
            x.shape,
            np.dtype(dtype).name,
            THREADS,
            fastdigits.get_simd(),
            ", ".join(blas) or "-",
            args.rounds,
        )
    )
    print(
        "%-32s %10s %8s %14s %14s" % ("contender", "median ms", "GB/s", "x fd out=", "x fd fresh")
    )
    for k, m in med.items():
        print(
            "%-32s %10.2f %8.1f %14.2f %14.2f"
            % (
                k,
                m * 1e3,
                nbytes / m / 1e9,
                m / med["fastdigits out="],
                m / med["fastdigits fresh"],
            )
        )


if __name__ == "__main__":
    main()
