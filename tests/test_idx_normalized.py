"""read_idx_normalized: decode uint8 IDX straight into normalised floats."""

import gzip
import io
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdigits
from fastdigits.normalize import normalize as fd_normalize
from fastdigits import IDXError, idx, load_mnist, read_idx, read_idx_normalized, write_idx
from fastdigits import reference as ref

BUNDLED = os.path.join(os.path.dirname(fastdigits.__file__), "data", "mnist")
T10K = os.path.join(BUNDLED, "t10k-images-idx3-ubyte.gz")
M, S = fastdigits.MNIST_MEAN, fastdigits.MNIST_STD


def close(got, want, scale, mean, std):
    """Within a few ulp of the float64 reference, measured against |c| near 0."""
    eps = np.finfo(got.dtype).eps
    tol = 4 * eps * (abs(mean / std) + 255 * abs(scale / std))
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=0, atol=tol)


@pytest.fixture(scope="module")
def t10k_u8():
    return read_idx(T10K)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bundled_matches_normalize_of_read_idx(inflater, t10k_u8, dtype):
    got = read_idx_normalized(T10K, mean=M, std=S, dtype=dtype)
    want = fd_normalize(t10k_u8, mean=M, std=S, dtype=dtype)
    assert got.tobytes() == want.tobytes()  # same kernel numerics, bit for bit
    head = ((t10k_u8[:500].astype(np.float64) / 255 - M) / S).astype(dtype)
    close(got[:500], head, 1 / 255, M, S)


def test_every_path_thread_count_and_simd_identical(tmp_path, t10k_u8, isa, threads):
    raw = tmp_path / "raw.idx"
    write_idx(raw, t10k_u8)
    with fastdigits.simd("generic"), fastdigits.threads(1):
        base = read_idx_normalized(T10K, mean=M, std=S)
    with fastdigits.simd(isa), fastdigits.threads(threads):
        for src in (T10K, raw):
            assert read_idx_normalized(src, mean=M, std=S).tobytes() == base.tobytes()
        with idx._force_zlib():
            assert read_idx_normalized(T10K, mean=M, std=S).tobytes() == base.tobytes()


def test_flatten_must_be_a_bool():
    # "no" was taken as True; normalize() raises for it
    for bad in ("no", 1, None):
        with pytest.raises(TypeError, match="flatten must be a bool"):
            read_idx_normalized(T10K, flatten=bad)


def test_flatten_and_out(inflater, t10k_u8):
    out = np.empty((10000, 784), np.float32)
    res = read_idx_normalized(T10K, scale=1.0, mean=0.5, std=2.0, flatten=True, out=out)
    assert res is out
    assert np.shares_memory(res, out)
    want = fd_normalize(t10k_u8, scale=1.0, mean=0.5, std=2.0, flatten=True)
    assert out.tobytes() == want.tobytes()


def pixels(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(0, 9), min_size=1, max_size=3).map(tuple),
    compress=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    flatten=st.booleans(),
    scale=st.floats(1e-3, 10),
    mean=st.floats(-5, 5),
    std=st.floats(0.1, 10),
    zlib_only=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_property_parity_small_files(
    tmp_path_factory, shape, compress, dtype, flatten, scale, mean, std, zlib_only, seed
):
    # Tiny files exercise the path where the pixels do not fit behind the
    # header in the output tail (zlib chunks even with libdeflate).
    d = tmp_path_factory.mktemp("n")
    p = d / "a.idx"
    write_idx(p, pixels(shape, seed), compress=compress)
    kw = dict(scale=scale, mean=mean, std=std, dtype=dtype, flatten=flatten)
    want = ref.read_idx_normalized(p, **kw)
    if zlib_only:
        with idx._force_zlib():
            got = read_idx_normalized(p, **kw)
    else:
        got = read_idx_normalized(p, **kw)
    close(got, want, scale, mean, std)
    # Same numerics and shape as the fused kernel on the decoded array.
    assert got.tobytes() == fd_normalize(read_idx(p), **kw).tobytes()
    assert got.shape == fd_normalize(read_idx(p), **kw).shape


@pytest.mark.parametrize("n", [1, 5, 6, 100, 1_100_001])
def test_odd_sizes_gzip_and_raw(tmp_path, inflater, n):
    x = pixels((n,), seed=n)
    for name in ("a.idx", "a.idx.gz"):
        write_idx(tmp_path / name, x)
        got = read_idx_normalized(tmp_path / name, mean=0.25, std=0.5, dtype=np.float64)
        close(got, (x / 255.0 - 0.25) / 0.5, 1 / 255, 0.25, 0.5)


def test_multi_member_and_file_objects(inflater):
    x = pixels((50, 3))
    raw = b"\0\0\x08\x02" + (50).to_bytes(4, "big") + (3).to_bytes(4, "big") + x.tobytes()
    data = gzip.compress(raw[:9]) + gzip.compress(raw[9:77]) + gzip.compress(raw[77:])
    want = ((x / 255.0 - M) / S).astype(np.float32)
    close(read_idx_normalized(io.BytesIO(data), mean=M, std=S), want, 1 / 255, M, S)
    close(read_idx_normalized(io.BytesIO(raw), mean=M, std=S), want, 1 / 255, M, S)


def test_errors_name_the_problem(tmp_path, inflater):
    write_idx(tmp_path / "f.idx.gz", np.zeros((3, 3), np.float32))
    with pytest.raises(IDXError, match="uint8"):
        read_idx_normalized(tmp_path / "f.idx.gz")
    x = pixels((300, 10))
    write_idx(tmp_path / "p.gz", x)
    data = (tmp_path / "p.gz").read_bytes()
    for k in range(0, len(data), max(1, len(data) // 40)):
        with pytest.raises(IDXError):
            read_idx_normalized(io.BytesIO(data[:k]))
    raw = b"\0\0\x08\x01" + (10).to_bytes(4, "big") + bytes(10)
    with pytest.raises(IDXError, match="shorter"):
        read_idx_normalized(io.BytesIO(raw[:-1]))
    with pytest.raises(IDXError, match="longer"):
        read_idx_normalized(io.BytesIO(raw + b"\0"))
    big = gzip.compress(raw[:-10] + bytes(11))
    with pytest.raises(IDXError, match="longer"):
        read_idx_normalized(io.BytesIO(big))


def test_argument_checks(tmp_path):
    p = tmp_path / "a.idx"
    write_idx(p, pixels((4, 5)))
    with pytest.raises(ValueError, match="std"):
        read_idx_normalized(p, std=0.0)
    with pytest.raises(ValueError, match="mean"):
        read_idx_normalized(p, mean=float("nan"))
    with pytest.raises(TypeError, match="scale"):
        read_idx_normalized(p, scale="1")
    with pytest.raises(TypeError, match="dtype"):
        read_idx_normalized(p, dtype=np.float16)
    with pytest.raises(ValueError, match="out must have shape"):
        read_idx_normalized(p, out=np.empty((5, 4), np.float32))
    with pytest.raises(TypeError, match="out must have dtype"):
        read_idx_normalized(p, out=np.empty((4, 5), np.float64))
    ro = np.empty((4, 5), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        read_idx_normalized(p, out=ro)
    with pytest.raises(ValueError, match="contiguous"):
        read_idx_normalized(p, out=np.empty((5, 4), np.float32).T)
    with pytest.raises(TypeError, match="out must be"):
        read_idx_normalized(p, out=[0.0] * 20)


def test_load_mnist_normalize(t10k_u8):
    images, labels = load_mnist("test", normalize=True)
    assert images.dtype == np.float32 and images.shape == (10000, 28, 28)
    assert images.tobytes() == fd_normalize(t10k_u8, mean=M, std=S).tobytes()
    close(images[:300], ((t10k_u8[:300] / 255.0 - M) / S).astype(np.float32), 1 / 255, M, S)
    flat64, _ = load_mnist("test", normalize=True, flatten=True, dtype=np.float64)
    assert flat64.shape == (10000, 784) and flat64.dtype == np.float64
    assert flat64.tobytes() == fd_normalize(t10k_u8, mean=M, std=S, dtype=np.float64).tobytes()


def test_load_mnist_normalize_from_cache(tmp_path, monkeypatch, t10k_u8):
    monkeypatch.setenv("FASTDIGITS_CACHE", str(tmp_path))
    a, _ = load_mnist("test", normalize=True)
    b, _ = load_mnist("test", normalize=True)  # from the cached raw copy
    assert a.tobytes() == b.tobytes()
