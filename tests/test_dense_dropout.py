"""Dropout fused into the dense layers (issue 14): dense_forward(...,
dropout=p, seed=s) is dropout(dense_forward(...), p, s) bit for bit, and
dense_backward(..., dropout=p, seed=s) is dense_backward(dropout(dy, p, s),
...) bit for bit, on every SIMD path, dtype, precision and thread count;
the MLP epoch that uses both gives the weights of the unfused composition."""

import numpy as np
import pytest

import fastdigits
from fastdigits import _mlp, reference
from fastdigits._mlp_init import init_params
from fastdigits.reference.dropout import dropout_apply

from _dense import ACTS, SHAPES, TOL, layer


def layers(seed, dtype):
    """((m, k, n), (x, W, b)) for each of SHAPES, drawn in turn from
    default_rng(seed)."""
    rng = np.random.default_rng(seed)
    for m, k, n in SHAPES:
        yield (m, k, n), layer(rng, m, k, n, dtype)


def act_kw(act, y, z):
    """What dense_backward reads act' from (the un-dropped y; z for gelu)."""
    if act == "identity":
        return {}
    return {"z": z} if act == "gelu" else {"y": y}


def fused_and_unfused_forward(x, W, b, act, p, seed, **kw):
    n = W.shape[1]
    z = np.empty((x.shape[0], n), x.dtype)
    yk = np.empty_like(z)
    yd = fastdigits.dense_forward(
        x, W, b, act, dropout=p, seed=seed, preact_out=z, act_out=yk, **kw
    )
    z2 = np.empty_like(z)
    y = fastdigits.dense_forward(x, W, b, act, preact_out=z2, **kw)
    return yd, yk, z, fastdigits.dropout(y, p, seed), y, z2


def check_forward(x, W, b, act, p, seed, where, **kw):
    yd, yk, z, y2, y, z2 = fused_and_unfused_forward(x, W, b, act, p, seed, **kw)
    assert np.array_equal(yd, y2), where
    assert np.array_equal(yk, y), where  # act_out: the un-dropped output
    assert np.array_equal(z, z2), where  # preact_out is never dropped
    return yd, y, z


def check_backward(x, W, y, z, act, p, seed, where, **kw):
    rng = np.random.default_rng(x.shape[0] + 31 * W.shape[1])
    dy = rng.standard_normal(y.shape).astype(x.dtype)
    g = fastdigits.dense_backward(
        dy, x, W, activation=act, dropout=p, seed=seed, **act_kw(act, y, z), **kw
    )
    g2 = fastdigits.dense_backward(
        fastdigits.dropout(dy, p, seed), x, W, activation=act, **act_kw(act, y, z), **kw
    )
    for a, c in zip(g, g2):
        assert np.array_equal(a, c), where
    return dy, g


@pytest.mark.parametrize("act", ACTS)
def test_forward_is_the_two_call_form(isa, dtype, act):
    with fastdigits.simd(isa):
        for where, (x, W, b) in layers(1, dtype):
            for p, seed in ((0.5, 0), (0.13, 2**64 - 1)):
                check_forward(x, W, b, act, p, seed, where + (p,))


@pytest.mark.parametrize("act", ACTS)
def test_backward_is_the_two_call_form(isa, dtype, act):
    with fastdigits.simd(isa):
        for where, (x, W, b) in layers(2, dtype):
            yd, y, z = check_forward(x, W, b, act, 0.3, 11, where)
            check_backward(x, W, y, z, act, 0.3, 11, where)
            check_backward(x, W, y, z, act, 0.3, 11, where, need_dx=False)
            if act == "relu":  # relu' from the dropped output: the same gradients
                dy = np.ones_like(yd)
                g = fastdigits.dense_backward(
                    dy, x, W, activation="relu", y=yd, dropout=0.3, seed=11
                )
                g2 = fastdigits.dense_backward(
                    dy, x, W, activation="relu", y=y, dropout=0.3, seed=11
                )
                for a, c in zip(g, g2):
                    assert np.array_equal(a, c), where


@pytest.mark.parametrize("act", ACTS)
def test_bfloat16_products(bf16_isa, act):
    with fastdigits.simd(bf16_isa):
        for where, (x, W, b) in layers(3, np.float32):
            yd, y, z = check_forward(x, W, b, act, 0.4, 5, where, precision="bfloat16")
            check_backward(x, W, y, z, act, 0.4, 5, where, precision="bfloat16")


@pytest.mark.parametrize("m,k,n", [(300, 100, 200), (257, 784, 10), (96, 64, 1030)])
def test_threads_bit_identical(isa, dtype, threads, m, k, n):
    rng = np.random.default_rng(4)
    x, W, b = layer(rng, m, k, n, dtype)
    dy = rng.standard_normal((m, n)).astype(dtype)

    def run():
        yd = fastdigits.dense_forward(x, W, b, "tanh", dropout=0.25, seed=9)
        yk = np.empty_like(yd)
        fastdigits.dense_forward(x, W, b, "tanh", dropout=0.25, seed=9, act_out=yk)
        g = fastdigits.dense_backward(dy, x, W, activation="tanh", y=yk, dropout=0.25, seed=9)
        return (yd, yk) + tuple(g)

    with fastdigits.simd(isa):
        with fastdigits.threads(1):
            base = run()
        with fastdigits.threads(threads):
            got = run()
            yd, y, z = check_forward(x, W, b, "relu", 0.25, 9, threads)
            check_backward(x, W, y, z, "relu", 0.25, 9, threads)
    for a, c in zip(base, got):
        assert np.array_equal(a, c)


def test_zero_rate_is_no_dropout(dtype):
    rng = np.random.default_rng(5)
    x, W, b = layer(rng, 9, 6, 11, dtype)
    dy = rng.standard_normal((9, 11)).astype(dtype)
    for act in ACTS:
        y = fastdigits.dense_forward(x, W, b, act)
        yk = np.full_like(y, np.nan)
        assert np.array_equal(
            fastdigits.dense_forward(x, W, b, act, dropout=0.0, seed=3, act_out=yk), y
        )
        assert np.array_equal(yk, y)
        z = fastdigits.dense_forward(x, W, b)
        g = fastdigits.dense_backward(
            dy, x, W, activation=act, dropout=0.0, seed=3, **act_kw(act, y, z)
        )
        g2 = fastdigits.dense_backward(dy, x, W, activation=act, **act_kw(act, y, z))
        for a, c in zip(g, g2):
            assert np.array_equal(a, c)


def test_buffers_read_only_inputs_and_nan(dtype):
    rng = np.random.default_rng(6)
    x, W, b = layer(rng, 33, 12, 19, dtype)
    x[3, :] = np.nan  # row 3 of the output is NaN: dropped NaNs become 0
    for a in (x, W, b):
        a.flags.writeable = False
    out = np.empty((33, 19), dtype)
    z = np.empty_like(out)
    yk = np.empty_like(out)
    got = fastdigits.dense_forward(
        x, W, b, "sigmoid", out=out, preact_out=z, act_out=yk, dropout=0.5, seed=1
    )
    assert got is out and np.shares_memory(got, out)
    assert np.array_equal(out, fastdigits.dropout(yk, 0.5, 1), equal_nan=True)
    assert np.isnan(yk[3]).all() and (out[3] == 0).any() and np.isnan(out[3]).any()
    dy = rng.standard_normal((33, 19)).astype(dtype)
    dy.flags.writeable = False
    dx_out, dW_out, db_out = (
        np.empty((33, 12), dtype),
        np.empty((12, 19), dtype),
        np.empty(19, dtype),
    )
    dx, dW, db = fastdigits.dense_backward(
        dy,
        x,
        W,
        activation="sigmoid",
        y=yk,
        dropout=0.5,
        seed=1,
        dx_out=dx_out,
        dW_out=dW_out,
        db_out=db_out,
    )
    assert dx is dx_out and dW is dW_out and db is db_out


@pytest.mark.parametrize("act", ACTS)
def test_reference_twin(dtype, act):
    rng = np.random.default_rng(7)
    x, W, b = layer(rng, 21, 9, 14, dtype)
    z = np.empty((21, 14), dtype)
    yk = np.empty_like(z)
    yd = fastdigits.dense_forward(x, W, b, act, dropout=0.35, seed=4, preact_out=z, act_out=yk)
    zr, ykr = np.empty_like(z), np.empty_like(z)
    ydr = reference.dense_forward(x, W, b, act, dropout=0.35, seed=4, preact_out=zr, act_out=ykr)
    assert np.array_equal(yd == 0, ydr == 0)  # the same mask
    np.testing.assert_allclose(yd, ydr, rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_allclose(yk, ykr, rtol=TOL[dtype], atol=TOL[dtype])
    dy = rng.standard_normal((21, 14)).astype(dtype)
    g = fastdigits.dense_backward(
        dy, x, W, activation=act, dropout=0.35, seed=4, **act_kw(act, yk, z)
    )
    gr = reference.dense_backward(
        dy, x, W, activation=act, dropout=0.35, seed=4, **act_kw(act, yk, z)
    )
    for a, c in zip(g, gr):
        np.testing.assert_allclose(
            a,
            c,
            rtol=1e-4 if dtype == np.float32 else 1e-10,
            atol=1e-4 if dtype == np.float32 else 1e-10,
        )


@pytest.mark.parametrize(
    "kw,exc,word",
    [
        (dict(dropout=1.0), ValueError, "dropout"),
        (dict(dropout=-0.1), ValueError, "dropout"),
        (dict(dropout=float("nan")), ValueError, "dropout"),
        (dict(dropout="0.5"), TypeError, "dropout"),
        (dict(dropout=0.5, seed=-1), ValueError, "seed"),
        (dict(dropout=0.5, seed=2**64), ValueError, "seed"),
        (dict(dropout=0.5, seed=1.0), TypeError, "seed"),
    ],
)
def test_bad_dropout_arguments(kw, exc, word):
    rng = np.random.default_rng(8)
    x, W, b = layer(rng, 4, 3, 5, np.float32)
    out = np.full((4, 5), 7.0, np.float32)
    with pytest.raises(exc, match=word):
        fastdigits.dense_forward(x, W, b, "relu", out=out, **kw)
    assert (out == 7.0).all()  # nothing written
    y = fastdigits.dense_forward(x, W, b, "relu")
    dW = np.full((3, 5), 7.0, np.float32)
    with pytest.raises(exc, match=word):
        fastdigits.dense_backward(y, x, W, activation="relu", y=y, dW_out=dW, **kw)
    assert (dW == 7.0).all()


def test_act_out_checked():
    rng = np.random.default_rng(9)
    x, W, b = layer(rng, 4, 3, 5, np.float32)
    out = np.empty((4, 5), np.float32)
    with pytest.raises(ValueError, match="act_out"):
        fastdigits.dense_forward(x, W, b, "relu", out=out, act_out=np.empty((4, 4), np.float32))
    with pytest.raises((ValueError, TypeError), match="act_out"):
        fastdigits.dense_forward(x, W, b, "relu", out=out, act_out=out)


# --- the MLP epoch: fused layers == the unfused composition, bit for bit ---


def _unfused_step(P, X, y, act, p, p_in, seed, step, lr, precision):
    """One SGD step of the C epoch (one batch, constant lr, no momentum) from
    fastdigits' unfused kernels: dense_forward, then the dropout of the
    epoch's counter (c2 = step, tag = layer + 2; the input's tag 1), and
    dropout's backward as a separate pass over dL/dh."""
    L = len(P) // 2
    kw = dict(precision=precision)
    h = [dropout_apply(X.copy(), p_in, seed, step, 1) if p_in else X.copy()]
    inputs, ys, zs = [h[0]], [None], [None]
    for j in range(L):
        last = j == L - 1
        z = np.empty((X.shape[0], P[2 * j].shape[1]), X.dtype)
        yl = fastdigits.dense_forward(
            inputs[j], P[2 * j], P[2 * j + 1], None if last else act, preact_out=z, **kw
        )
        ys.append(yl)
        zs.append(z)
        if not last:
            yd = dropout_apply(yl, p, seed, step, j + 2)
            # relu / identity / gelu: the epoch keeps only the dropped output
            if act not in ("sigmoid", "tanh"):
                ys[-1] = yd
            inputs.append(yd)
    _, d = fastdigits.softmax_cross_entropy(ys[L], y)
    grads = [None] * (2 * L)
    for j in range(L - 1, -1, -1):
        last = j == L - 1
        a = None if last else act
        if not last:
            d = dropout_apply(d, p, seed, step, j + 2)
        ak = {} if a in (None, "identity") else act_kw(a, ys[j + 1], zs[j + 1])
        dx, grads[2 * j], grads[2 * j + 1] = fastdigits.dense_backward(
            d, inputs[j], P[2 * j], activation=a, need_dx=j > 0, **ak, **kw
        )
        d = dx
    for prm, g in zip(P, grads):
        fastdigits.sgd_step(prm, g, lr=lr)
    return P


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("prec", ["float32", "float64", "bfloat16"])
def test_mlp_epoch_equals_unfused_composition(act, prec):
    dtype = np.float64 if prec == "float64" else np.float32
    precision = "bfloat16" if prec == "bfloat16" else "float32"
    rng = np.random.default_rng(10)
    X = rng.standard_normal((50, 30)).astype(dtype)
    y = rng.integers(0, 10, 50).astype(np.int64)
    P = init_params((30, 24, 13, 10), act, dtype, 3)
    P2 = [a.copy() for a in P]
    G = [np.zeros_like(a) for a in P]
    _mlp.train_epoch(
        P,
        G,
        [],
        X,
        y,
        np.arange(50, dtype=np.int64),
        activation=act,
        batch_size=50,
        optimizer="sgd",
        lr=0.1,
        momentum=0.0,
        weight_decay=0.0,
        step=5,
        dropout=0.3,
        input_dropout=0.1,
        dropout_seed=12,
        precision=precision,
    )
    _unfused_step(P2, X, y, act, 0.3, 0.1, 12, 5, 0.1, precision)
    for a, c in zip(P, P2):
        assert np.array_equal(a, c)
