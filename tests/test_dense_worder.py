"""dense_forward with a PyTorch weight layout (issue 15): W of shape (in, out)
F-contiguous, i.e. ``weight.t()``.  For the identity and relu the results
are bit for bit those of the same W in C order, whatever route the product
takes (narrow outputs copy W^T for the unpacked AVX-512 kernel when K fits
one panel); for every activation they match fastdigits.reference, with
dropout, preact_out and act_out, on every SIMD path, dtype and thread
count."""

import numpy as np
import pytest

import fastdigits
from fastdigits import reference
from fastdigits.reference.dropout import dropout_apply

from _dense import ACTS, TOL
from _dense import SHAPES as ALL_SHAPES
from _dense import layer as dense_layer

# The shapes of _dense.py but the empty ones (an empty W has no layout).
SHAPES = tuple(s for s in ALL_SHAPES if min(s) > 0)


def layer(rng, m, k, n, dtype):
    return dense_layer(rng, m, k, n, dtype, "F")


def forward(x, W, b, act, p=0.0, seed=0):
    m, n = x.shape[0], W.shape[1]
    z = np.full((m, n), np.nan, x.dtype)
    yk = np.full((m, n), np.nan, x.dtype)
    y = fastdigits.dense_forward(x, W, b, act, preact_out=z, act_out=yk, dropout=p, seed=seed)
    return y, z, yk


@pytest.mark.parametrize("act", ("identity", "relu"))
@pytest.mark.parametrize("p", (0.0, 0.3))
# K longer than one panel is left out: a C-order W of a narrow product is
# then summed over all of K at once and an F-order one panel by panel.
@pytest.mark.parametrize("m,k,n", [s for s in SHAPES if s[1] < 400 or s[2] > 16])
def test_f_order_weight_same_bits_as_c_order(isa, dtype, act, p, m, k, n):
    rng = np.random.default_rng(m + 3 * k + 7 * n)
    x, Wf, b = layer(rng, m, k, n, dtype)
    Wc = np.ascontiguousarray(Wf)
    assert Wf.flags.f_contiguous and not Wf.flags.c_contiguous or n == 1 or k == 1
    with fastdigits.simd(isa):
        for bias in (b, None):
            got = forward(x, Wf, bias, act, p, 5)
            want = forward(x, Wc, bias, act, p, 5)
            for g, w in zip(got, want):
                assert np.array_equal(g, w, equal_nan=True), (m, k, n, bias is None)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("m,k,n", SHAPES)
def test_f_order_weight_against_reference(isa, dtype, act, m, k, n):
    rng = np.random.default_rng(1 + m + 3 * k + 7 * n)
    x, W, b = layer(rng, m, k, n, dtype)
    x64, W64, b64 = (a.astype(np.float64) for a in (x, W, b))
    z_ref = np.empty((m, n))
    y_ref = reference.dense_forward(x64, W64, b64, act, preact_out=z_ref)
    with fastdigits.simd(isa):
        y, z, yk = forward(x, W, b, act)
        yd, zd, ykd = forward(x, W, b, act, 0.4, 9)
    scale = max(np.abs(y_ref).max(), np.abs(z_ref).max(), 1.0)
    for got, ref in ((y, y_ref), (z, z_ref), (yk, y_ref), (zd, z_ref), (ykd, y_ref)):
        assert got.dtype == dtype
        assert np.abs(got - ref).max() / scale <= TOL[dtype], (m, k, n)
    # dropout: the mask of the logical (m, n) output, as fastdigits.dropout
    assert np.array_equal(yd, dropout_apply(ykd, 0.4, 9))
    assert np.array_equal(yd, fastdigits.dropout(ykd, 0.4, seed=9))


@pytest.mark.parametrize("m,k,n", [(64, 256, 10), (257, 300, 13), (64, 784, 256)])
def test_f_order_weight_threads_bit_identical(isa, dtype, threads, m, k, n):
    rng = np.random.default_rng(2)
    x, W, b = layer(rng, m, k, n, dtype)
    with fastdigits.simd(isa):
        with fastdigits.threads(1):
            want = forward(x, W, b, "relu", 0.2, 3)
        with fastdigits.threads(threads):
            got = forward(x, W, b, "relu", 0.2, 3)
    for g, w in zip(got, want):
        assert np.array_equal(g, w)


def test_f_order_weight_out_buffers_and_accumulating_matmul():
    """out= is written in place; fastdigits.matmul with an F-order B of a
    narrow product (the same copy route) matches the C-order one."""
    rng = np.random.default_rng(3)
    x, W, b = layer(rng, 40, 70, 12, np.float32)
    out = np.empty((40, 12), np.float32)
    y = fastdigits.dense_forward(x, W, b, "relu", out=out)
    assert np.shares_memory(y, out)
    assert np.array_equal(out, fastdigits.dense_forward(x, np.ascontiguousarray(W), b, "relu"))
    assert np.array_equal(fastdigits.matmul(x, W), fastdigits.matmul(x, np.ascontiguousarray(W)))
