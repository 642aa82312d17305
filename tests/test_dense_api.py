"""dense_forward / dense_backward call forms, identical for fastdigits and its
NumPy twin: None means linear, act' from the array each activation needs
(y= or z=), relu keeps NaN, accumulate into only the buffers given."""

import warnings

import numpy as np
import pytest

import fastdigits
from fastdigits import reference

IMPLS = [pytest.param(fastdigits, id="fast"), pytest.param(reference, id="reference")]


def _layer(dtype=np.float64, m=6, k=5, n=4, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((m, k)).astype(dtype),
        rng.standard_normal((k, n)).astype(dtype),
        rng.standard_normal(n).astype(dtype),
        rng.standard_normal((m, n)).astype(dtype),
    )


@pytest.mark.parametrize("mod", IMPLS)
def test_default_and_none_are_linear(mod):
    x, W, b, _ = _layer()
    lin = x @ W + b
    np.testing.assert_allclose(mod.dense_forward(x, W, b), lin, rtol=1e-12)
    np.testing.assert_allclose(mod.dense_forward(x, W, b, None), lin, rtol=1e-12)
    np.testing.assert_array_equal(
        mod.dense_forward(x, W, b, None), mod.dense_forward(x, W, b, "identity")
    )
    assert (lin < 0).any()  # relu would have changed it


@pytest.mark.parametrize("mod", IMPLS)
def test_backward_linear_needs_neither(mod):
    x, W, b, dy = _layer()
    dx, dW, db = mod.dense_backward(dy, x, W)
    np.testing.assert_allclose(dx, dy @ W.T, rtol=1e-12)
    np.testing.assert_allclose(dW, x.T @ dy, rtol=1e-12)
    np.testing.assert_allclose(db, dy.sum(0), rtol=1e-12)


@pytest.mark.parametrize("mod", IMPLS)
@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh"])
def test_backward_from_y(mod, act):
    x, W, b, dy = _layer()
    y = mod.dense_forward(x, W, b, act)
    kw = mod.dense_backward(dy, x, W, activation=act, y=y)
    pos = mod.dense_backward(dy, x, W, y, act)  # the old positional form still works
    for a, c in zip(kw, pos):
        np.testing.assert_array_equal(a, c)
    with pytest.raises(ValueError, match=r"needs the layer output y="):
        mod.dense_backward(dy, x, W, activation=act, z=x @ W + b)
    with pytest.raises(ValueError, match=r"needs the layer output y="):
        mod.dense_backward(dy, x, W, activation=act)
    with pytest.raises(TypeError, match="pass exactly one"):
        mod.dense_backward(dy, x, W, y, act, y=y)


@pytest.mark.parametrize("mod", IMPLS)
def test_backward_gelu_needs_z(mod):
    x, W, b, dy = _layer()
    z = np.empty_like(dy)
    y = mod.dense_forward(x, W, b, "gelu", preact_out=z)
    good = mod.dense_backward(dy, x, W, activation="gelu", z=z)
    # the output y in place of z gave gradients off by 2.7 with no error
    with pytest.raises(ValueError, match=r"gelu' needs|needs the pre-activation z=.*preact_out"):
        mod.dense_backward(dy, x, W, activation="gelu", y=y)
    with pytest.raises(ValueError, match=r"pre-activation z=.*preact_out"):
        mod.dense_backward(dy, x, W, activation="gelu")
    # the old positional form (correct when it passed z) works, deprecated
    with pytest.warns(DeprecationWarning, match="z="):
        old = mod.dense_backward(dy, x, W, z, "gelu")
    for a, c in zip(good, old):
        np.testing.assert_array_equal(a, c)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mod.dense_backward(dy, x, W, activation="gelu", z=z)  # no warning


def test_twins_share_signatures():
    import inspect

    for name in ("dense_forward", "dense_backward", "matmul", "pack_weights"):
        assert inspect.signature(getattr(fastdigits, name)) == inspect.signature(
            getattr(reference, name)
        ), name


def test_relu_keeps_nan_every_path(isa, dtype, threads):
    """relu(NaN) = NaN (as np.maximum) on every SIMD path, dtype, thread count,
    kernel (narrow n, edge and full tiles), and relu'(NaN) = NaN."""
    dt = dtype
    x1 = np.array([[np.nan, 1]])
    with fastdigits.simd(isa), fastdigits.threads(threads):
        y = fastdigits.dense_forward(x1.astype(dt), np.eye(2, dtype=dt), None, "relu")
        assert np.isnan(y).all(), y
        for n in (10, 37, 96):
            x, W, b, _ = _layer(dt, m=700, k=64, n=n, seed=n)
            x[::5, 3] = np.nan
            y = fastdigits.dense_forward(x, W, b, "relu")
            r = reference.dense_forward(x, W, b, "relu")
            np.testing.assert_array_equal(np.isnan(y), np.isnan(r))
            assert np.isnan(y).sum() == 140 * n
            dy = np.ones_like(y)
            _, _, db = fastdigits.dense_backward(dy, x, W, activation="relu", y=y)
            _, _, rdb = reference.dense_backward(dy, x, W, activation="relu", y=r)
            assert np.isnan(db).all() and np.isnan(rdb).all()


@pytest.mark.parametrize("mod", IMPLS)
def test_accumulate_only_dW(mod):
    x, W, b, dy = _layer()
    y = mod.dense_forward(x, W, b, "tanh")
    dx0, dW0, db0 = mod.dense_backward(dy, x, W, activation="tanh", y=y)
    acc = np.ones_like(W)
    dx, dW, db = mod.dense_backward(dy, x, W, activation="tanh", y=y, dW_out=acc, accumulate=True)
    assert dW is acc
    np.testing.assert_allclose(acc, 1 + dW0, rtol=1e-12)
    np.testing.assert_allclose(db, db0, rtol=1e-12)  # no buffer: returned fresh
    np.testing.assert_allclose(dx, dx0, rtol=1e-12)
    with pytest.raises(ValueError, match="at least one of dx_out, dW_out, db_out"):
        mod.dense_backward(dy, x, W, activation="tanh", y=y, accumulate=True)
