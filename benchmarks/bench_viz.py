"""`fastdigits info` statistics and the renderers, on the 60000 train images.

    pytest benchmarks/bench_viz.py --benchmark-only

data_stats (exact 8-bit sums, chunked) vs the plain NumPy min/max/mean/std
that converts the whole array to float64.  Renderers are timed for scale.
"""

import gzip
import os

import numpy as np
import pytest

import fastdigits
from fastdigits import png
from fastdigits.commands.info import data_stats

DATA = os.path.join(os.path.dirname(fastdigits.__file__), "data", "mnist")


@pytest.fixture(scope="module")
def train():
    with gzip.open(os.path.join(DATA, "train-images-idx3-ubyte.gz"), "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)


def numpy_stats(x):
    return x.min(), x.max(), x.mean(), x.std()


@pytest.mark.benchmark(group="info-stats")
def test_stats_fastdigits(benchmark, train):
    st = benchmark(data_stats, train)
    assert st["mean"] == pytest.approx(train.mean())


@pytest.mark.benchmark(group="info-stats")
def test_stats_numpy(benchmark, train):
    benchmark(numpy_stats, train)


TRAIN_GZ = os.path.join(DATA, "train-images-idx3-ubyte.gz")


def info_fastdigits():
    return data_stats(fastdigits.read_idx(TRAIN_GZ))


def info_numpy():
    with gzip.open(TRAIN_GZ, "rb") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16)
    return numpy_stats(x)


@pytest.mark.benchmark(group="info-end-to-end")
def test_info_gz_fastdigits(benchmark):
    benchmark(info_fastdigits)


@pytest.mark.benchmark(group="info-end-to-end")
def test_info_gz_numpy(benchmark):
    benchmark(info_numpy)


@pytest.mark.benchmark(group="render")
@pytest.mark.parametrize("mode,color", [("blocks", True), ("blocks", False), ("ascii", None)])
def test_render_100(benchmark, train, mode, color):
    benchmark(fastdigits.render, train[:100], mode=mode, color=color, width=160)


@pytest.mark.benchmark(group="render")
def test_png_100(benchmark, train):
    benchmark(png.png_bytes, train[:100], labels=list(range(100)), scale=4)
