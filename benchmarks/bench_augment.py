"""Benchmarks: augmented, normalised training batches (fastdigits.batches and
fastdigits.augment) vs a per-image SciPy loop, the NumPy twin and, where it
is installed, torchvision in a DataLoader.

Images per second over MNIST training images, batch 256, at the same thread
count (FASTDIGITS_BENCH_THREADS, default 2):

  fastdigits batches affine      fastdigits.batches(augment=Affine(degrees=10,
                                 translate=0.1)), MNIST normalisation, prefetch 2
  fastdigits batches elastic     ... augment=Elastic(34, 4) (Simard et al.)
  fastdigits apply affine/elastic  fastdigits.augment.apply(out=) on the set
  scipy affine_transform loop    per image scipy.ndimage.affine_transform
                                 (order=1, cval=0) with random parameters, then
                                 the batch normalised with NumPy
  numpy twin batches affine      fastdigits.reference.batches
  torchvision DataLoader         RandomAffine(10, (0.1, 0.1)) + ToTensor +
                                 Normalize, DataLoader(batch 256, 2 workers,
                                 shuffle) -- only when torchvision imports

Two ways to run it:

  python -m pytest benchmarks/bench_augment.py --benchmark-only
  PYTHONPATH=. python benchmarks/bench_augment.py [--rounds 5] [--images 20000]
      (contenders interleaved round by round; prints medians and ratios)
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import time

import numpy as np
import pytest

import fastdigits
from fastdigits.augment import Affine, Elastic
from fastdigits.bench.timing import wait_for_idle
from fastdigits.commands.bench import add_wait_idle_option

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "fastdigits", "data", "mnist")
THREADS = int(os.environ.get("FASTDIGITS_BENCH_THREADS", "2"))
BATCH = 256
AFFINE = Affine(degrees=10, translate=0.1)
ELASTIC = Elastic(34, 4)


def load(n: int):
    with gzip.open(os.path.join(DATA, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(DATA, "train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    reps = -(-n // len(images))
    return (
        np.ascontiguousarray(np.concatenate([images] * reps)[:n]),
        np.concatenate([labels] * reps)[:n],
    )


def _epoch(it):
    last = None
    for x, _ in it:
        last = x
    return last


def scipy_loop(x: np.ndarray, labels: np.ndarray):
    """RandomAffine(10, translate 0.1) per image with scipy.ndimage, batch
    normalised with NumPy: what a hand-written loop does."""
    from scipy import ndimage

    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    c = np.array([13.5, 13.5])
    last = None
    for s in range(0, len(x), BATCH):
        idx = order[s : s + BATCH]
        out = np.empty((len(idx), 28, 28), np.float32)
        for k, i in enumerate(idx):
            a = np.deg2rad(rng.uniform(-10, 10))
            t = rng.uniform(-2.8, 2.8, 2)
            m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            ndimage.affine_transform(
                x[i], m, offset=c - m @ (c + t), order=1, cval=0.0, output=out[k]
            )
        last = ((out / 255 - 0.1307) / 0.3081).reshape(len(idx), 784), labels[idx]
    return last


def contenders(x: np.ndarray, labels: np.ndarray, scipy_images: int) -> dict:
    """name -> (images per call, zero-argument callable)."""
    n = len(x)
    out = np.empty(x.shape, np.float32)

    def fd(fn):
        def run():
            with fastdigits.threads(THREADS):
                return fn()

        return run

    cs = {
        "fastdigits batches affine": (
            n,
            fd(lambda: _epoch(fastdigits.batches(x, labels, BATCH, augment=AFFINE))),
        ),
        "fastdigits batches affine prefetch=0": (
            n,
            fd(lambda: _epoch(fastdigits.batches(x, labels, BATCH, augment=AFFINE, prefetch=0))),
        ),
        "fastdigits batches elastic": (
            n,
            fd(lambda: _epoch(fastdigits.batches(x, labels, BATCH, augment=ELASTIC))),
        ),
        "fastdigits batches no augment": (n, fd(lambda: _epoch(fastdigits.batches(x, labels)))),
        "fastdigits apply affine": (n, fd(lambda: fastdigits.augment.apply(x, AFFINE, 0, out=out))),
        "fastdigits apply elastic": (
            n,
            fd(lambda: fastdigits.augment.apply(x, ELASTIC, 0, out=out)),
        ),
        "fastdigits apply affine 1 thread": (
            n,
            lambda: _one_thread(lambda: fastdigits.augment.apply(x, AFFINE, 0, out=out)),
        ),
        "fastdigits apply elastic 1 thread": (
            n,
            lambda: _one_thread(lambda: fastdigits.augment.apply(x, ELASTIC, 0, out=out)),
        ),
        "numpy twin batches affine": (
            n // 4,
            lambda: _epoch(
                fastdigits.reference.batches(x[: n // 4], labels[: n // 4], BATCH, augment=AFFINE)
            ),
        ),
    }
    try:
        import scipy.ndimage  # noqa: F401

        xs, ls = x[:scipy_images], labels[:scipy_images]
        cs["scipy affine_transform loop"] = (scipy_images, lambda: scipy_loop(xs, ls))
    except ImportError:
        pass
    try:
        import torch
        from torch.utils.data import DataLoader, Dataset
        from torchvision import transforms

        class _Set(Dataset):
            def __init__(self, x, y, tf):
                self.x, self.y, self.tf = x, y, tf

            def __len__(self):
                return len(self.x)

            def __getitem__(self, i):
                return self.tf(self.x[i]), int(self.y[i])

        tf = transforms.Compose(
            [
                transforms.ToPILImage(),
                transforms.RandomAffine(10, translate=(0.1, 0.1)),
                transforms.ToTensor(),
                transforms.Normalize((0.1307,), (0.3081,)),
            ]
        )
        tv = DataLoader(_Set(x, labels, tf), batch_size=BATCH, shuffle=True, num_workers=2)

        def run_tv():
            torch.set_num_threads(THREADS)
            last = None
            for xb, _ in tv:
                last = xb
            return last

        cs["torchvision DataLoader 2 workers"] = (n, run_tv)
    except ImportError:
        pass
    return cs


def _one_thread(fn):
    with fastdigits.threads(1):
        return fn()


# ---------------------------------------------------------------- pytest-benchmark

_CACHE: dict = {}


def _data():
    if "x" not in _CACHE:
        _CACHE["x"] = load(20000)
    return _CACHE["x"]


NAMES = list(contenders(np.zeros((4, 28, 28), np.uint8), np.zeros(4, np.int64), 4))


@pytest.mark.parametrize("name", NAMES)
def test_augment(benchmark, name):
    x, labels = _data()
    count, fn = contenders(x, labels, 2000)[name]
    time.sleep(0.2)
    benchmark.group = "augmented batches, MNIST, batch %d, %d threads" % (BATCH, THREADS)
    benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["images/s"] = round(count / benchmark.stats.stats.median)


# ---------------------------------------------------------------- script mode


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--images", type=int, default=20000)
    p.add_argument("--scipy-images", type=int, default=3000)
    add_wait_idle_option(p, "--quiet-wait", before="each round")
    args = p.parse_args(argv)
    x, labels = load(args.images)
    cs = contenders(x, labels, args.scipy_images)
    times = {k: [] for k in cs}
    for _, fn in cs.values():
        fn()  # warm up
    for _ in range(args.rounds):
        wait_for_idle(args.quiet_wait)
        for name, (_, fn) in cs.items():
            time.sleep(0.1)
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    rate = {k: cs[k][0] / statistics.median(v) for k, v in times.items()}
    best = {k: cs[k][0] / min(v) for k, v in times.items()}
    print(
        "augmented batches: %d MNIST images, batch %d, %d threads (fastdigits simd=%s), "
        "%d rounds" % (args.images, BATCH, THREADS, fastdigits.get_simd(), args.rounds)
    )
    ref = rate.get("scipy affine_transform loop")
    print("%-38s %14s %14s %12s" % ("contender", "images/s med", "images/s best", "x scipy"))
    for k in cs:
        print(
            "%-38s %14.0f %14.0f %12s"
            % (k, rate[k], best[k], "%.1f" % (rate[k] / ref) if ref else "-")
        )
    if "torchvision DataLoader 2 workers" not in cs:
        print("%-38s %14s" % ("torchvision DataLoader 2 workers", "unavailable"))


if __name__ == "__main__":
    main()
