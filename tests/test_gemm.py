"""fastdigits.matmul: the GEMM core against np.matmul."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdigits
from fastdigits import reference

from _specs import MATMUL_SHAPES

DTYPES = (np.float32, np.float64)
ISAS = fastdigits.available_simd()
# relative to max |a| @ |b|: float32 error grows ~ sqrt(k) eps, float64 too
TOL = {np.float32: 2e-5, np.float64: 1e-13}


def rand(rng, shape, dtype, order="C"):
    return np.asarray(rng.standard_normal(shape), dtype=dtype, order=order)


def check(c, a, b):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    ref = reference.matmul(a64, b64)
    scale = max((np.abs(a64) @ np.abs(b64)).max(), 1e-300) if ref.size else 1.0
    assert c.shape == ref.shape
    assert c.dtype == a.dtype
    err = np.abs(c - ref).max() / scale if ref.size else 0.0
    assert err <= TOL[a.dtype.type], err


@pytest.mark.parametrize("m,k,n", MATMUL_SHAPES)
def test_matmul_parity(isa, dtype, m, k, n):
    rng = np.random.default_rng(m * 1000 + k + n)
    a, b = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
    with fastdigits.simd(isa):
        check(fastdigits.matmul(a, b), a, b)


@pytest.mark.parametrize("a_order,b_order", [("F", "C"), ("C", "F"), ("F", "F")])
def test_matmul_layouts(isa, dtype, a_order, b_order):
    rng = np.random.default_rng(1)
    a, b = (
        rand(
            rng,
            (
                37,
                129,
            ),
            dtype,
            a_order,
        ),
        rand(rng, (129, 45), dtype, b_order),
    )
    with fastdigits.simd(isa):
        c = fastdigits.matmul(a, b)
        check(c, a, b)
        # transposed views: no copies, just strides
        check(fastdigits.matmul(b.T, a.T), b.T, a.T)


@pytest.mark.parametrize("k", [1, 15, 16, 17, 129, 789])
@pytest.mark.parametrize("n", [17, 45, 64, 100])
def test_matmul_transposed_b_packs_exactly(isa, dtype, k, n):
    """A B with unit row stride (a PyTorch weight's W.T) is packed by the
    transposing pack (16 x 16 blocks on AVX-512, 8 x 8 on AVX2, K and lane
    tails): the product equals, bit for bit, the one on a row-major copy
    of B (the same panels, the same sums), at 1 and 3 threads."""
    rng = np.random.default_rng(k * 100 + n)
    a = rand(rng, (37, k), dtype)
    bt = rand(rng, (n, k), dtype)
    with fastdigits.simd(isa):
        for nt in (1, 3):
            with fastdigits.threads(nt):
                c = fastdigits.matmul(a, bt.T)
                assert np.array_equal(c, fastdigits.matmul(a, np.ascontiguousarray(bt.T)))
    check(c, a, bt.T)


def test_matmul_strided_views():
    rng = np.random.default_rng(2)
    big = rand(rng, (90, 120), np.float64)
    a = big[::3, 1::2]
    b = big[::-1, ::4][:60]  # negative row stride
    check(fastdigits.matmul(a, b), a, b)


def test_matmul_big_sizes_and_blocks():
    # several MC/KC/NC blocks plus ragged edges in every dimension
    rng = np.random.default_rng(3)
    for dtype in DTYPES:
        a, b = rand(rng, (531, 801), dtype), rand(rng, (801, 267), dtype)
        check(fastdigits.matmul(a, b), a, b)


@pytest.mark.parametrize(
    # the last two: K split (two K parts, then column slabs of them)
    "m,k,n",
    [
        (300, 200, 70),
        (70, 200, 300),
        (150, 800, 150),
        (1000, 300, 10),
        (37, 1001, 70),
        (9, 512, 20),
    ],
)
def test_matmul_threads_bit_identical(isa, dtype, m, k, n):
    rng = np.random.default_rng(4)
    a, b = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
    with fastdigits.simd(isa):
        results = []
        for nt in (1, 2, 3, 4):
            with fastdigits.threads(nt):
                results.append(fastdigits.matmul(a, b))
    for other in results[1:]:
        assert np.array_equal(results[0], other)
    check(results[0], a, b)


@pytest.mark.parametrize("order", ["C", "F"])
def test_matmul_out_is_used(order):
    rng = np.random.default_rng(5)
    a, b = rand(rng, (33, 20), np.float32), rand(rng, (20, 41), np.float32)
    out = np.full((33, 41), np.nan, dtype=np.float32, order=order)
    c = fastdigits.matmul(a, b, out=out)
    assert c is out and np.shares_memory(c, out)
    check(out, a, b)


def test_matmul_read_only_inputs():
    rng = np.random.default_rng(6)
    a, b = rand(rng, (9, 8), np.float64), rand(rng, (8, 7), np.float64)
    a.flags.writeable = False
    b.flags.writeable = False
    check(fastdigits.matmul(a, b), a, b)


def test_matmul_empty_and_k0():
    for m, k, n in [(0, 5, 3), (4, 0, 3), (4, 5, 0)]:
        a, b = np.ones((m, k)), np.ones((k, n))
        c = fastdigits.matmul(a, b)
        assert c.shape == (m, n)
        assert np.array_equal(c, np.zeros((m, n)))


def test_matmul_bad_inputs():
    a32 = np.ones((3, 4), np.float32)
    b32 = np.ones((4, 5), np.float32)
    with pytest.raises(TypeError, match="a must be float32 or float64"):
        fastdigits.matmul(np.ones((3, 4), np.int64), b32)
    with pytest.raises(TypeError, match="b has dtype float64 but a"):
        fastdigits.matmul(a32, b32.astype(np.float64))
    with pytest.raises(ValueError, match="b must be 2-D"):
        fastdigits.matmul(a32, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="do not align"):
        fastdigits.matmul(a32, np.ones((3, 5), np.float32))
    with pytest.raises(ValueError, match="out must have shape"):
        fastdigits.matmul(a32, b32, out=np.empty((3, 4), np.float32))
    with pytest.raises(TypeError, match="out must have dtype"):
        fastdigits.matmul(a32, b32, out=np.empty((3, 5), np.float64))
    ro = np.empty((3, 5), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        fastdigits.matmul(a32, b32, out=ro)
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        fastdigits.matmul(a32, b32, out=np.empty((3, 10), np.float32)[:, ::2])
    sq = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="out overlaps a"):
        fastdigits.matmul(sq, sq.copy(), out=sq)


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(0, 40),
    k=st.integers(0, 40),
    n=st.integers(0, 40),
    f64=st.booleans(),
    a_f=st.booleans(),
    b_f=st.booleans(),
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**16),
)
def test_matmul_property(m, k, n, f64, a_f, b_f, isa, seed):
    rng = np.random.default_rng(seed)
    dtype = np.float64 if f64 else np.float32
    a = rand(rng, (m, k), dtype, "F" if a_f else "C")
    b = rand(rng, (k, n), dtype, "F" if b_f else "C")
    with fastdigits.simd(isa):
        check(fastdigits.matmul(a, b), a, b)
