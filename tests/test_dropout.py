"""dropout: bit-exact parity with the NumPy twin (same Philox draws, same drop
rule), every SIMD path and thread count, out= buffers, in place, read-only
and non-contiguous input, and the statistics of the mask."""

import numpy as np
import pytest

import fastdigits
from fastdigits import reference
from fastdigits.reference.rng import STREAM_DROPOUT, philox4x32_10, rng_c3, uniform_f32

SIZES = [0, 1, 3, 4, 5, 63, 64, 65, 255, 1000, 4099, 70001]


def data(n, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(n).astype(dtype)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9])
def test_parity_bit_exact(isa, dtype, threads, n, p):
    x = data(n, dtype, n)
    want = reference.dropout(x, p, 42)
    with fastdigits.simd(isa), fastdigits.threads(threads):
        got = fastdigits.dropout(x, p, 42)
    assert got.dtype == x.dtype and got.shape == x.shape
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))


def test_same_bits_for_every_thread_count_and_path(dtype):
    x = data(100_003, dtype)
    runs = []
    for isa in fastdigits.available_simd():
        for t in (1, 2, 3, 4):
            with fastdigits.simd(isa), fastdigits.threads(t):
                runs.append(fastdigits.dropout(x, 0.3, 9))
    assert all(np.array_equal(r, runs[0]) for r in runs)


def test_drop_rule_is_the_documented_one():
    """Element i: word i % 4 of philox(i // 4 low, i // 4 high, 0, stream), u < p."""
    n, p, seed = 37, 0.4, 123
    x = np.arange(1, n + 1, dtype=np.float64)
    q = np.arange(n) // 4
    words = philox4x32_10(q, q >> 32, 0, rng_c3(STREAM_DROPOUT, 0), seed)
    w = np.stack(words, axis=1)[np.arange(n), np.arange(n) % 4]
    drop = uniform_f32(w).astype(np.float64) < p
    want = np.where(drop, 0.0, x * (1.0 / (1.0 - p)))
    assert np.array_equal(fastdigits.dropout(x, p, seed), want)


def test_mask_statistics_and_scaling():
    x = np.ones(400_000, np.float32)
    for p in (0.1, 0.5, 0.8):
        y = fastdigits.dropout(x, p, 3)
        kept = y != 0
        assert abs(1 - kept.mean() - p) < 0.005
        assert np.all(y[kept] == np.float32(1 / (1 - p)))
        assert abs(y.mean() - 1) < 0.02  # inverted scaling keeps the mean


def test_seeds_differ_and_repeat():
    x = np.ones(1000)
    a, b = fastdigits.dropout(x, 0.5, 1), fastdigits.dropout(x, 0.5, 2)
    assert not np.array_equal(a, b)
    assert np.array_equal(a, fastdigits.dropout(x, 0.5, 1))
    big = 2**64 - 1
    assert np.array_equal(fastdigits.dropout(x, 0.5, big), reference.dropout(x, 0.5, big))


def test_nd_shapes_follow_c_order(dtype):
    x = data(2 * 3 * 5 * 7, dtype).reshape(2, 3, 5, 7)
    y = fastdigits.dropout(x, 0.5, 11)
    assert y.shape == x.shape
    assert np.array_equal(y.reshape(-1), fastdigits.dropout(x.reshape(-1), 0.5, 11))


def test_out_buffer_is_used(dtype):
    x = data(999, dtype)
    out = np.empty_like(x)
    res = fastdigits.dropout(x, 0.25, 4, out=out)
    assert res is out and np.shares_memory(res, out)
    assert np.array_equal(out, reference.dropout(x, 0.25, 4))


def test_in_place(dtype):
    x = data(999, dtype)
    want = reference.dropout(x, 0.25, 4)
    res = fastdigits.dropout(x, 0.25, 4, out=x)
    assert res is x and np.array_equal(x, want)


def test_read_only_and_non_contiguous_input(dtype):
    x = data(2000, dtype).reshape(40, 50)
    ro = x.copy()
    ro.flags.writeable = False
    assert np.array_equal(fastdigits.dropout(ro, 0.5, 1), reference.dropout(x, 0.5, 1))
    nc = x[:, ::2]
    assert np.array_equal(
        fastdigits.dropout(nc, 0.5, 1), reference.dropout(np.ascontiguousarray(nc), 0.5, 1)
    )


def test_lists_and_p_zero():
    y = fastdigits.dropout([1.0, 2.0, 3.0], 0.0, 0)
    assert y.dtype == np.float64 and np.array_equal(y, [1.0, 2.0, 3.0])
    assert np.array_equal(
        fastdigits.dropout([[1, 2], [3, 4]], 0.5, 7), reference.dropout([[1, 2], [3, 4]], 0.5, 7)
    )


def test_dropped_nan_is_zero():
    x = np.full(64, np.nan, np.float32)
    y = fastdigits.dropout(x, 0.5, 0)
    dropped = ~np.isnan(y)
    assert dropped.any() and np.all(y[dropped] == 0)
    assert np.array_equal(np.isnan(y), np.isnan(reference.dropout(x, 0.5, 0)))


@pytest.mark.parametrize("p", [-0.01, 1.0, 2.0, float("nan")])
def test_bad_rate(p):
    with pytest.raises(ValueError, match="p must be in"):
        fastdigits.dropout(np.ones(3), p, 0)
    with pytest.raises(ValueError, match="p must be in"):
        reference.dropout(np.ones(3), p, 0)


def test_bad_dtype():
    with pytest.raises(TypeError, match="x must be float32 or float64"):
        fastdigits.dropout(np.ones(3, np.int32), 0.5, 0)
