"""IDX decoding benchmarks: fastdigits vs the plain NumPy/gzip baseline.

    pytest benchmarks/bench_idx.py --benchmark-only

Groups (compare medians within a group):
  read-gz          read_idx(train-images .gz)     vs np.frombuffer(gzip.open(p).read())
  read-normalized  read_idx_normalized(.gz)       vs gzip + frombuffer + astype/255/-mean//std
  read-mmap        read_idx(raw copy, mmap=True)  (must stay well under 1 ms)

Uses ../shared/data/mnist (beside the repository) when present, else the bundled files.  Both
contenders run on the same thread count (fastdigits' default; NumPy's gzip
path is single-threaded either way).
"""

import gzip
import os
import time

import numpy as np
import pytest

import fastdigits
from fastdigits import idx

SHARED = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "shared",
    "data",
    "mnist",
)
BUNDLED = os.path.join(os.path.dirname(fastdigits.__file__), "data", "mnist")
DATA = SHARED if os.path.isdir(SHARED) else BUNDLED
TRAIN = os.path.join(DATA, "train-images-idx3-ubyte.gz")
M, S = fastdigits.MNIST_MEAN, fastdigits.MNIST_STD


@pytest.fixture(autouse=True)
def _pause():
    # BLAS/OpenMP worker threads spin briefly after a call: let them settle.
    time.sleep(0.2)


def numpy_read(path):
    return np.frombuffer(gzip.open(path).read(), np.uint8, offset=16)


def numpy_read_normalized(path):
    x = numpy_read(path)
    return ((x.astype(np.float32) / 255) - M) / S


@pytest.mark.benchmark(group="read-gz")
def test_read_gz_fastdigits(benchmark):
    benchmark.extra_info["backend"] = idx.inflate_backend()
    a = benchmark(idx.read_idx, TRAIN)
    assert a.shape == (60000, 28, 28)


@pytest.mark.benchmark(group="read-gz")
def test_read_gz_fastdigits_zlib(benchmark):
    with idx._force_zlib():
        a = benchmark(idx.read_idx, TRAIN)
    assert a.shape == (60000, 28, 28)


@pytest.mark.benchmark(group="read-gz")
def test_read_gz_numpy(benchmark):
    a = benchmark(numpy_read, TRAIN)
    assert a.size == 60000 * 784


@pytest.mark.benchmark(group="read-normalized")
def test_read_normalized_fastdigits(benchmark):
    a = benchmark(idx.read_idx_normalized, TRAIN, mean=M, std=S)
    assert a.shape == (60000, 28, 28)


@pytest.mark.benchmark(group="read-normalized")
def test_read_normalized_fastdigits_zlib(benchmark):
    with idx._force_zlib():
        a = benchmark(idx.read_idx_normalized, TRAIN, mean=M, std=S)
    assert a.shape == (60000, 28, 28)


@pytest.mark.benchmark(group="read-normalized")
def test_read_normalized_numpy(benchmark):
    a = benchmark(numpy_read_normalized, TRAIN)
    assert a.size == 60000 * 784


@pytest.fixture(scope="module")
def raw_copy(tmp_path_factory):
    path = tmp_path_factory.mktemp("idx") / "train-images-idx3-ubyte"
    idx.write_idx(path, idx.read_idx(TRAIN))
    return path


@pytest.mark.benchmark(group="read-mmap")
def test_read_mmap_raw(benchmark, raw_copy):
    a = benchmark(idx.read_idx, raw_copy, mmap=True)
    assert a.shape == (60000, 28, 28)
    assert benchmark.stats.stats.median < 1e-3


def _interleaved(rounds=15):
    """`python benchmarks/bench_idx.py [rounds]`: contenders interleaved round
    by round (so machine load hits them alike), medians and ratios."""
    import sys
    import tempfile

    from fastdigits.bench.timing import Bench, time_contenders

    contenders = {
        "read_idx gz": lambda: idx.read_idx(TRAIN),
        "numpy gzip+frombuffer": lambda: numpy_read(TRAIN),
        "read_idx_normalized gz": lambda: idx.read_idx_normalized(TRAIN, mean=M, std=S),
        "numpy gzip+normalize": lambda: numpy_read_normalized(TRAIN),
    }
    with tempfile.TemporaryDirectory() as d:
        raw = os.path.join(d, "train-images-idx3-ubyte")
        idx.write_idx(raw, idx.read_idx(TRAIN))
        contenders["read_idx mmap raw"] = lambda: idx.read_idx(raw, mmap=True)
        res = time_contenders(
            {k: Bench(fn) for k, fn in contenders.items()},
            rounds=rounds,
            min_sample_s=0.0,
            pause_s=0.2,
        )
    med = {k: t.median for k, t in res.items()}
    mins = {k: t.min for k, t in res.items()}
    print(
        "fastdigits %s, %d threads, inflate: %s, data: %s, %d rounds"
        % (
            fastdigits.__version__,
            fastdigits.get_num_threads(),
            idx.inflate_backend(),
            DATA,
            rounds,
        ),
        file=sys.stdout,
    )
    for k, v in med.items():
        print("  %-26s median %9.3f ms  (min %9.3f ms)" % (k, v * 1e3, mins[k] * 1e3))
    print(
        "  speed-up read_idx gz           : %.2fx"
        % (med["numpy gzip+frombuffer"] / med["read_idx gz"])
    )
    print(
        "  speed-up read_idx_normalized gz: %.2fx"
        % (med["numpy gzip+normalize"] / med["read_idx_normalized gz"])
    )


if __name__ == "__main__":
    import sys

    _interleaved(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
