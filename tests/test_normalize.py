"""fastdigits.normalize: parity with the NumPy reference, every SIMD path and
thread count bit-identical, the in-place tail C path, and argument checks."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdigits
from fastdigits import _normalize
from fastdigits import reference as ref

DTYPES = [np.float32, np.float64]
MNIST = dict(scale=1 / 255, mean=0.1307, std=0.3081)


def _assert_close(got, x, scale, mean, std, dtype):
    """A few ulp of the largest term: x*a and c are each rounded once."""
    want = ref.normalize(x, scale=scale, mean=mean, std=std, dtype=np.float64)
    eps = np.finfo(dtype).eps
    a, c = abs(scale / std), abs(mean / std)
    tol = 4 * eps * (np.asarray(x, np.float64) * a + c) + np.finfo(dtype).tiny
    err = np.abs(got.astype(np.float64) - want.reshape(got.shape))
    assert got.dtype == dtype
    assert np.all(err <= tol.reshape(got.shape)), float(np.max(err / tol.reshape(got.shape)))


def _images(rng, shape):
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mnist_like_matches_reference_tightly(dtype):
    rng = np.random.default_rng(0)
    x = _images(rng, (37, 28, 28))
    got = fastdigits.normalize(x, dtype=dtype, **MNIST)
    want = ref.normalize(x, dtype=dtype, **MNIST)
    assert got.shape == x.shape
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


def test_all_256_values_every_path(isa, dtype):
    x = np.arange(256, dtype=np.uint8)
    with fastdigits.simd(isa):
        got = fastdigits.normalize(x, dtype=dtype, **MNIST)
    _assert_close(got, x, dtype=dtype, **MNIST)


shapes = st.one_of(
    st.integers(0, 300).map(lambda n: (n,)),
    st.tuples(st.integers(0, 5), st.integers(0, 9), st.integers(1, 31)),
)


@settings(max_examples=60, deadline=None)
@given(
    shape=shapes,
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(1e-3, 10),
    mean=st.floats(-5, 5),
    std=st.floats(0.05, 20) | st.floats(-20, -0.05),
    dtype=st.sampled_from(DTYPES),
    offset=st.integers(0, 17),
    store=st.sampled_from(["auto", "cached", "stream"]),
)
def test_property_parity_all_paths_identical(shape, seed, scale, mean, std, dtype, offset, store):
    # store='stream' forces non-temporal stores (aligned head, body, tail)
    # even on these small buffers.
    rng = np.random.default_rng(seed)
    # An offset into a larger buffer makes the output start unaligned.
    n = math.prod(shape)
    base = _images(rng, n + offset)
    x = base[offset:].reshape(shape)
    results = []
    for isa in fastdigits.available_simd():
        with fastdigits.simd(isa):
            backing = np.empty(n + offset, dtype)
            out = backing[offset:].reshape(shape)
            got = _normalize.normalize(x, scale, mean, std, dtype, False, out, store)
            assert got is out
            results.append(got)
    _assert_close(results[0], x, scale, mean, std, dtype)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 15, 16, 17, 63, 64, 65, 4 * 65536 + 61, 2_200_001])
@pytest.mark.parametrize("store", ["fresh", "auto", "stream"])
def test_threads_and_simd_paths_bit_identical(dtype, n, isa, threads, store):
    # Large n passes the per-thread grain (threads really split the work);
    # 2_200_001 float64 outputs are over the 16 MiB streaming threshold when
    # given as out= ('auto').  The baseline: the portable path on one thread.
    rng = np.random.default_rng(n)
    x = _images(rng, n)
    with fastdigits.simd("generic"), fastdigits.threads(1):
        base = fastdigits.normalize(x, dtype=dtype, **MNIST)
    _assert_close(base, x, dtype=dtype, **MNIST)
    with fastdigits.simd(isa), fastdigits.threads(threads):
        if store == "fresh":
            got = fastdigits.normalize(x, dtype=dtype, **MNIST)
        else:
            got = np.full(n, np.nan, dtype)
            _normalize.normalize(
                x, MNIST["scale"], MNIST["mean"], MNIST["std"], dtype, False, got, store
            )
    np.testing.assert_array_equal(got, base)


def test_large_float32_stream_path_with_unaligned_out():
    # 5M float32 = 20 MB output: streaming stores, unaligned head per thread.
    rng = np.random.default_rng(5)
    n = 5_000_011
    x = _images(rng, n)
    backing = np.empty(n + 3, np.float32)
    for off in (0, 1, 3):
        out = backing[off : off + n]
        out[:] = np.nan
        with fastdigits.threads(2):
            assert fastdigits.normalize(x, out=out, **MNIST) is out
        _assert_close(out, x, dtype=np.float32, **MNIST)


@pytest.mark.parametrize("dtype", DTYPES)
def test_flatten(dtype):
    x = _images(np.random.default_rng(1), (7, 5, 3))
    got = fastdigits.normalize(x, flatten=True, dtype=dtype, **MNIST)
    assert got.shape == (7, 15)
    np.testing.assert_array_equal(got, fastdigits.normalize(x, dtype=dtype, **MNIST).reshape(7, 15))
    np.testing.assert_allclose(
        got, ref.normalize(x, flatten=True, dtype=dtype, **MNIST), rtol=1e-6, atol=1e-6
    )
    out = np.empty((7, 15), dtype)
    assert fastdigits.normalize(x, flatten=True, dtype=dtype, out=out, **MNIST) is out
    with pytest.raises(ValueError, match="out must have shape"):
        fastdigits.normalize(x, flatten=True, dtype=dtype, out=np.empty((7, 5, 3), dtype))


def test_defaults_scale_to_unit_interval():
    x = np.array([0, 51, 255], np.uint8)
    got = fastdigits.normalize(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [0.0, 0.2, 1.0], rtol=1e-7)


def test_empty_and_zero_d():
    for shape in [(0,), (0, 28, 28), (3, 0)]:
        x = np.zeros(shape, np.uint8)
        assert fastdigits.normalize(x).shape == shape
    assert fastdigits.normalize(np.zeros((0, 4, 4), np.uint8), flatten=True).shape == (0, 16)
    got = fastdigits.normalize(np.array(255, np.uint8), mean=0.5, std=0.5)
    assert got.shape == () and got == 1.0
    with pytest.raises(ValueError, match="flatten"):
        fastdigits.normalize(np.array(3, np.uint8), flatten=True)


def test_read_only_and_non_contiguous_input():
    rng = np.random.default_rng(2)
    x = _images(rng, (20, 28, 28))
    x.setflags(write=False)
    got = fastdigits.normalize(x, **MNIST)
    _assert_close(got, x, dtype=np.float32, **MNIST)
    sliced = x[::2, ::3, 1:]
    assert not sliced.flags.c_contiguous
    got = fastdigits.normalize(sliced, **MNIST)
    np.testing.assert_array_equal(got, fastdigits.normalize(np.ascontiguousarray(sliced), **MNIST))
    assert fastdigits.normalize(x.T, **MNIST).shape == x.T.shape
    np.testing.assert_array_equal(
        fastdigits.normalize(x.T, **MNIST), fastdigits.normalize(x, **MNIST).T
    )


def test_array_likes_and_tensors():
    class ArrayLike:  # anything exposing __array__, as CPU torch tensors do
        def __array__(self, dtype=None, copy=None):
            return np.array([0, 255], np.uint8)

    np.testing.assert_allclose(fastdigits.normalize(ArrayLike()), [0, 1])
    with pytest.raises(TypeError, match=r"images must have dtype uint8 .*got int64"):
        fastdigits.normalize([0, 255])  # a list becomes int64: not pixels
    try:
        import torch
    except ImportError:  # torch is optional; the protocol is covered above
        return
    t = torch.tensor([[0, 51], [255, 102]], dtype=torch.uint8)
    np.testing.assert_allclose(fastdigits.normalize(t), [[0, 0.2], [1, 0.4]], rtol=1e-7)
    np.testing.assert_allclose(fastdigits.normalize(t.numpy()), [[0, 0.2], [1, 0.4]], rtol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_is_used(dtype):
    x = _images(np.random.default_rng(3), (9, 11))
    out = np.full((9, 11), np.nan, dtype)
    got = fastdigits.normalize(x, dtype=dtype, out=out, **MNIST)
    assert got is out and np.shares_memory(got, out)
    _assert_close(out, x, dtype=dtype, **MNIST)
    ref_out = np.full((9, 11), np.nan, dtype)
    assert ref.normalize(x, dtype=dtype, out=ref_out, **MNIST) is ref_out
    np.testing.assert_allclose(out, ref_out, rtol=1e-6, atol=1e-6)


def test_bad_out():
    x = np.zeros((4, 5), np.uint8)
    with pytest.raises(ValueError, match="out must have shape"):
        fastdigits.normalize(x, out=np.empty((5, 4), np.float32))
    with pytest.raises(TypeError, match="out must have dtype float32, got float64"):
        fastdigits.normalize(x, out=np.empty((4, 5), np.float64))
    with pytest.raises(TypeError, match="out must have dtype float32, got float64"):
        fastdigits.normalize(x, dtype=np.float32, out=np.empty((4, 5), np.float64))
    ro = np.empty((4, 5), np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="out is read-only"):
        fastdigits.normalize(x, out=ro)
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        fastdigits.normalize(x, out=np.empty((5, 4), np.float32).T)
    with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
        fastdigits.normalize(x, out=[[0.0] * 5] * 4)
    raw = np.zeros(4 * 5 * 4 + 1, np.uint8)
    unaligned = raw[1:].view(np.float32).reshape(4, 5)
    if not unaligned.flags.aligned:
        with pytest.raises(ValueError, match="aligned"):
            fastdigits.normalize(x, out=unaligned)
    # out overlapping the input bytes
    buf = np.zeros(20, np.float32)
    inp = buf.view(np.uint8)[:20].reshape(4, 5)
    with pytest.raises(ValueError, match="overlap"):
        fastdigits.normalize(inp, out=buf.reshape(4, 5))


@pytest.mark.parametrize(
    "kw,exc,match",
    [
        (dict(std=0.0), ValueError, "std must be nonzero"),
        (dict(std=-0.0), ValueError, "std must be nonzero"),
        (dict(std=float("nan")), ValueError, "std must be finite"),
        (dict(std=float("inf")), ValueError, "std must be finite"),
        (dict(mean=float("nan")), ValueError, "mean must be finite"),
        (dict(scale=float("inf")), ValueError, "scale must be finite"),
        (dict(scale="2"), TypeError, "scale must be a real number"),
        (dict(mean=10**400), ValueError, "mean must be finite"),
        (dict(std=True), TypeError, "std must be a real number"),
        (dict(scale=1e30, std=1e-20), ValueError, "finite in float32"),
        (dict(dtype=np.int32), TypeError, "dtype must be float32 or float64"),
        (dict(dtype="nonsense"), TypeError, "dtype must be float32 or float64"),
        (dict(flatten=1), TypeError, "flatten must be a bool"),
    ],
)
def test_bad_arguments(kw, exc, match):
    with pytest.raises(exc, match=match):
        fastdigits.normalize(np.zeros(3, np.uint8), **kw)


@pytest.mark.parametrize("dt", [np.float32, np.float64, np.int16, np.int64, bool])
def test_non_uint8_images_rejected(dt):
    with pytest.raises(TypeError, match="images must have dtype uint8"):
        fastdigits.normalize(np.zeros(3, dt))


def test_numpy_scalar_parameters():
    x = np.arange(10, dtype=np.uint8)
    got = fastdigits.normalize(x, scale=np.float32(0.5), mean=np.int64(1), std=np.float64(2))
    np.testing.assert_allclose(got, (x * 0.5 - 1) / 2, rtol=1e-7)


# --- the in-place tail C entry point (used by the IDX decoder) -------------


def _tail_buffer(x, dtype, offset=0):
    """A float buffer of x.size elements whose last x.size bytes are x."""
    n = x.size
    backing = np.zeros(n + offset, dtype)
    buf = backing[offset:]
    buf.view(np.uint8)[n * (buf.itemsize - 1) :] = x
    return buf


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 33, 100, 1023, 65536 * 5 + 7, 1_000_003]
)
def test_tail_inplace_bit_identical_to_normal_path(dtype, n, isa, threads):
    rng = np.random.default_rng(n)
    x = _images(rng, n)
    with fastdigits.simd(isa), fastdigits.threads(threads):
        want = fastdigits.normalize(x, dtype=dtype, **MNIST)
        buf = _tail_buffer(x, dtype, offset=n % 3)
        got = _normalize._normalize_tail_inplace_test(buf, **MNIST)
    assert got is buf
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("touched", [False, True])
def test_tail_inplace_large_touched_buffer_streams(touched):
    # 17.6 MB float64: a touched buffer takes streaming stores in the first
    # stage, a fresh one regular stores; both must match the normal path.
    n = 2_200_001
    x = _images(np.random.default_rng(7), n)
    buf = np.empty(n, np.float64)
    if touched:
        buf.fill(np.nan)
    buf.view(np.uint8)[n * 7 :] = x
    with fastdigits.threads(2):
        _normalize._normalize_tail_inplace_test(buf, **MNIST)
        np.testing.assert_array_equal(buf, fastdigits.normalize(x, dtype=np.float64, **MNIST))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 3000),
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from(DTYPES),
    offset=st.integers(0, 16),
)
def test_tail_inplace_property(n, seed, dtype, offset):
    x = _images(np.random.default_rng(seed), n)
    want = fastdigits.normalize(x, dtype=dtype, **MNIST)
    buf = _tail_buffer(x, dtype, offset)
    np.testing.assert_array_equal(_normalize._normalize_tail_inplace_test(buf, **MNIST), want)


def test_tail_inplace_bad_arguments():
    with pytest.raises(TypeError, match="buf"):
        _normalize._normalize_tail_inplace_test([1.0])
    with pytest.raises(TypeError, match="dtype"):
        _normalize._normalize_tail_inplace_test(np.zeros(4, np.int32))
    with pytest.raises(ValueError, match="buf"):
        _normalize._normalize_tail_inplace_test(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="std"):
        _normalize._normalize_tail_inplace_test(np.zeros(4, np.float32), std=0.0)


def test_bad_store_policy():
    with pytest.raises(ValueError, match="_store"):
        _normalize.normalize(np.zeros(3, np.uint8), 1.0, 0.0, 1.0, np.float32, False, None, "fast")
