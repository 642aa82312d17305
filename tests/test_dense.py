"""fastdigits.dense_forward / dense_backward against fastdigits.reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdigits
from fastdigits import reference

from _specs import LAYER_CASES

DTYPES = (np.float32, np.float64)
ISAS = fastdigits.available_simd()
ACTS = ("identity", "relu", "sigmoid", "tanh", "gelu")
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def layer(rng, m, k, n, dtype, w_order="C", bias=True):
    x = np.asarray(rng.standard_normal((m, k)), dtype=dtype)
    W = np.asarray(rng.standard_normal((k, n)) / np.sqrt(max(k, 1)), dtype=dtype, order=w_order)
    b = np.asarray(rng.standard_normal(n), dtype=dtype) if bias else None
    return x, W, b


def up(a):
    return None if a is None else a.astype(np.float64)


def assert_close(got, ref, dtype):
    """max error relative to the largest reference value (float64 reference)."""
    assert got.shape == ref.shape
    if ref.size == 0:
        return
    scale = max(np.abs(ref).max(), 1.0)
    err = np.abs(got.astype(np.float64) - ref).max() / scale
    assert err <= TOL[dtype], err


def yz_for(act, y, z):
    return z if act == "gelu" else y


def yz_kw(act, yz):
    """dense_backward's keyword for what act' is computed from: the
    pre-activation z for gelu, the output y otherwise."""
    return {"z": yz} if act == "gelu" else {"y": yz}


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("m,k,n,w_order,bias", LAYER_CASES)
def test_forward_parity(isa, dtype, act, m, k, n, w_order, bias):
    rng = np.random.default_rng(m + 7 * k + 13 * n)
    x, W, b = layer(rng, m, k, n, dtype, w_order, bias)
    z = np.empty((m, n), dtype)
    with fastdigits.simd(isa):
        y = fastdigits.dense_forward(x, W, b, act, preact_out=z)
    z_ref = np.empty((m, n))
    y_ref = reference.dense_forward(up(x), up(W), up(b), act, preact_out=z_ref)
    assert y.dtype == dtype
    assert_close(z, z_ref, dtype)
    assert_close(y, y_ref, dtype)


@pytest.mark.parametrize("act", ["identity", "relu"])
@pytest.mark.parametrize(
    "m,k,n,w_order",
    [(37, 129, 45, "C"), (37, 129, 45, "F"), (130, 300, 70, "C"), (9, 2101, 33, "F")],
)
def test_forward_edge_tiles_without_preact(isa, dtype, act, m, k, n, w_order):
    """Edge tiles (n not a multiple of the tile width) without preact_out
    and with a bias store row by row (the identity) or element by element
    (relu): the reference's values, and the same bits as with preact_out,
    at 1 and 3 threads; K = 2101 spans several K panels."""
    rng = np.random.default_rng(m + k + n)
    x, W, b = layer(rng, m, k, n, dtype, w_order, True)
    with fastdigits.simd(isa):
        for nt in (1, 3):
            with fastdigits.threads(nt):
                y = fastdigits.dense_forward(x, W, b, act)
                y_z = fastdigits.dense_forward(x, W, b, act, preact_out=np.empty((m, n), dtype))
            assert np.array_equal(y, y_z)
    assert_close(y, reference.dense_forward(up(x), up(W), up(b), act), dtype)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("m,k,n,w_order,need_dx", LAYER_CASES)
def test_backward_parity(isa, dtype, act, m, k, n, w_order, need_dx):
    rng = np.random.default_rng(m + 3 * k + 5 * n)
    x, W, b = layer(rng, m, k, n, dtype, w_order)
    z = np.empty((m, n), dtype)
    y = fastdigits.dense_forward(x, W, b, act, preact_out=z)
    yz = yz_for(act, y, z)
    dy = np.asarray(rng.standard_normal((m, n)), dtype=dtype)
    with fastdigits.simd(isa):
        dx, dW, db = fastdigits.dense_backward(
            dy, x, W, activation=act, need_dx=need_dx, **yz_kw(act, yz)
        )
    rdx, rdW, rdb = reference.dense_backward(
        up(dy), up(x), up(W), activation=act, **yz_kw(act, up(yz)), need_dx=need_dx
    )
    assert_close(dW, rdW, dtype)
    assert_close(db, rdb, dtype)
    # dW has W's layout, like a PyTorch weight gradient
    assert dW.flags.f_contiguous == W.flags.f_contiguous
    assert dW.flags.c_contiguous == W.flags.c_contiguous
    if need_dx:
        assert_close(dx, rdx, dtype)
    else:
        assert dx is None


def num_grad(f, a, eps=1e-6):
    g = np.zeros_like(a)
    it = np.nditer(a, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = a[i]
        a[i] = old + eps
        fp = f()
        a[i] = old - eps
        fm = f()
        a[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


@pytest.mark.parametrize("act", ACTS)
def test_backward_finite_differences(act):
    rng = np.random.default_rng(11)
    m, k, n = 5, 6, 4
    x, W, b = layer(rng, m, k, n, np.float64)
    if act == "relu":  # keep pre-activations away from the kink
        b = b + np.sign(b) * 0.5
    g = rng.standard_normal((m, n))

    def loss():
        return float((fastdigits.dense_forward(x, W, b, act) * g).sum())

    z = np.empty((m, n))
    y = fastdigits.dense_forward(x, W, b, act, preact_out=z)
    dx, dW, db = fastdigits.dense_backward(g, x, W, activation=act, **yz_kw(act, yz_for(act, y, z)))
    np.testing.assert_allclose(dx, num_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dW, num_grad(loss, W), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(db, num_grad(loss, b), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("act", ACTS)
def test_float32_close_to_float64(act):
    rng = np.random.default_rng(12)
    x, W, b = layer(rng, 64, 784, 100, np.float64)
    y64 = fastdigits.dense_forward(x, W, b, act)
    y32 = fastdigits.dense_forward(
        x.astype(np.float32), W.astype(np.float32), b.astype(np.float32), act
    )
    assert np.abs(y32 - y64).max() / np.abs(y64).max() < 1e-5


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh", "gelu"])
def test_threads_bit_identical(isa, dtype, act):
    rng = np.random.default_rng(13)
    # both slab directions (batch > out and out > batch)
    for m, k, n, w_order in [(200, 150, 90, "C"), (64, 160, 300, "F"), (2000, 200, 10, "C")]:
        x, W, b = layer(rng, m, k, n, dtype, w_order)
        dy = np.asarray(rng.standard_normal((m, n)), dtype=dtype)
        outs = []
        with fastdigits.simd(isa):
            for nt in (1, 2, 3):
                with fastdigits.threads(nt):
                    z = np.empty((m, n), dtype)
                    y = fastdigits.dense_forward(x, W, b, act, preact_out=z)
                    grads = fastdigits.dense_backward(
                        dy, x, W, activation=act, **yz_kw(act, yz_for(act, y, z))
                    )
                    outs.append((y, z) + grads)
        for other in outs[1:]:
            for a, c in zip(outs[0], other):
                assert np.array_equal(a, c)


@pytest.mark.parametrize("act", ACTS)
def test_k_split_products(isa, dtype, act):
    """A batch of at most 256 rows over K >= 512 is summed in two K parts
    and joined (gemm_blocking.h, fd_gemm_ksplit_at; threads take the parts
    of a C-order W, column slabs of both parts of an F-order one): the
    same bits on 1 to 5 threads (the parts, then column slabs of them), the epilogue (bias,
    preact, activation) on the joined sums, within tolerance of the
    reference; and a weight gradient whose K is such a batch (>= 512 rows,
    <= 256 inputs) adds to dW_out as one sum with accumulate=True."""
    rng = np.random.default_rng(21)
    for m, k, n, w_order in [
        (37, 600, 70, "C"),
        (128, 513, 33, "F"),
        (64, 784, 256, "C"),
        (200, 784, 100, "C"),
    ]:
        x, W, b = layer(rng, m, k, n, dtype, w_order)
        outs = []
        with fastdigits.simd(isa):
            for nt in (1, 2, 3, 4, 5):
                with fastdigits.threads(nt):
                    z = np.full((m, n), np.nan, dtype)
                    outs.append((fastdigits.dense_forward(x, W, b, act, preact_out=z), z))
        for y, z in outs[1:]:
            assert np.array_equal(y, outs[0][0]) and np.array_equal(z, outs[0][1])
        rz = np.empty((m, n))
        ry = reference.dense_forward(up(x), up(W), up(b), act, preact_out=rz)
        assert_close(outs[0][0], ry, dtype)
        assert_close(outs[0][1], rz, dtype)
    # dW = x^T dz: 40 x 600 x 30, K = the batch of 600
    x, W, b = layer(rng, 600, 40, 30, dtype)
    dy = np.asarray(rng.standard_normal((600, 30)), dtype=dtype)
    z = np.empty((600, 30), dtype)
    y = fastdigits.dense_forward(x, W, b, act, preact_out=z)
    yz = yz_for(act, y, z)
    grads = []
    with fastdigits.simd(isa):
        for nt in (1, 2, 3):
            with fastdigits.threads(nt):
                dW = np.full((40, 30), 0.5, dtype)
                fastdigits.dense_backward(
                    dy,
                    x,
                    W,
                    activation=act,
                    dW_out=dW,
                    accumulate=True,
                    **yz_kw(act, yz),
                )
                grads.append(dW)
    assert np.array_equal(grads[0], grads[1]) and np.array_equal(grads[0], grads[2])
    _, rdW, _ = reference.dense_backward(up(dy), up(x), up(W), activation=act, **yz_kw(act, up(yz)))
    assert_close(grads[0], rdW + 0.5, dtype)


@pytest.mark.parametrize(
    "m,k,n",
    # split in one orientation only (C^T of m x k x n has n rows): 300 x 784 x
    # 200 and 1024 x 784 x 256 (C^T split), 200 x 784 x 300 and 8 x 784 x 300
    # (C split, C^T not)
    [(300, 784, 200), (1024, 784, 256), (200, 784, 300), (8, 784, 300)],
)
def test_k_split_follows_the_row_major_product(isa, dtype, m, k, n):
    """A column-major C is computed as C^T = B^T A^T, whose m is n: it is
    split where the row-major product is, so an F-order out, or an F-order W
    in a weight gradient (dW takes W's layout), gives the bits of the
    C-order one."""
    rng = np.random.default_rng(m + n)
    a = np.asarray(rng.standard_normal((m, k)), dtype)
    b = np.asarray(rng.standard_normal((k, n)), dtype)
    with fastdigits.simd(isa), fastdigits.threads(2):
        c = fastdigits.matmul(a, b)
        f = np.empty((n, m), dtype).T
        fastdigits.matmul(a, b, out=f)
        assert np.array_equal(f, c)
    # dW = x^T dy of a 784 -> 256 layer at batch 600 (K >= 512): dW^T has
    # 256 rows (split by its own rule), dW 784 (not).  (Where C^T has at
    # most 128 rows its K panels can differ too: gemm_blocking.h,
    # fd_gemm_small_m_blocks.)
    x = np.asarray(rng.standard_normal((600, 784)), dtype)
    dy = np.asarray(rng.standard_normal((600, 256)), dtype)
    W = np.asarray(rng.standard_normal((784, 256)), dtype)
    with fastdigits.simd(isa), fastdigits.threads(2):
        _, dw_c, _ = fastdigits.dense_backward(dy, x, W)
        _, dw_f, _ = fastdigits.dense_backward(dy, x, np.asfortranarray(W))
    assert dw_f.flags.f_contiguous
    assert np.array_equal(dw_f, dw_c)


@pytest.mark.parametrize("batch", [600, 1024])
def test_weight_gradient_k_split_where_its_transpose_is_small(isa, dtype, batch):
    """dW = x^T dz takes the K split where dW^T's rows (the outputs) would
    (fd_gemm_epi.ksplit_either): for 784 -> 256 at a batch >= 512 it is the
    two half-batch products joined (second + first), bit for bit, on 1-3
    threads and for a C- or F-order W."""
    rng = np.random.default_rng(batch)
    x = np.asarray(rng.standard_normal((batch, 784)), dtype)
    dy = np.asarray(rng.standard_normal((batch, 256)), dtype)
    W = np.asarray(rng.standard_normal((784, 256)), dtype)
    kh = (batch // 2 + 7) // 8 * 8
    with fastdigits.simd(isa):
        want = fastdigits.matmul(x[kh:].T, dy[kh:]) + fastdigits.matmul(x[:kh].T, dy[:kh])
        for nt in (1, 2, 3):
            with fastdigits.threads(nt):
                for w in (W, np.asfortranarray(W)):
                    _, dW, _ = fastdigits.dense_backward(dy, x, w, need_dx=False)
                    assert np.array_equal(dW, want), (nt, w.flags.f_contiguous)


@pytest.mark.parametrize("act", ACTS)
def test_backward_dz_and_db_on_every_path(isa, dtype, act):
    # out >= in: dz and db are made inside the dW product's packing of dz.
    # Batch 500 spans two K panels, so 64-row bias chunks straddle a panel
    # edge; 70x8->10 takes the narrow-output kernel, which packs nothing;
    # F-order W makes dW column-major.  out < in: a pass of their own, over
    # 64-row chunks (batch 300) or, with fewer chunks than threads, over
    # column slabs (batch 40).
    rng = np.random.default_rng(21)
    for m, k, n, w_order in [
        (500, 100, 300, "C"),
        (70, 8, 10, "C"),
        (130, 40, 40, "C"),
        (129, 30, 97, "F"),
        (300, 120, 100, "C"),
        (40, 120, 100, "C"),
    ]:
        x, W, b = layer(rng, m, k, n, dtype, w_order)
        dy = np.asarray(rng.standard_normal((m, n)), dtype=dtype)
        z = np.empty((m, n), dtype)
        y = fastdigits.dense_forward(x, W, b, act, preact_out=z)
        yz = yz_for(act, y, z)
        ref = reference.dense_backward(up(dy), up(x), up(W), activation=act, **yz_kw(act, up(yz)))
        outs = []
        with fastdigits.simd(isa):
            for nt in (1, 2, 3):
                with fastdigits.threads(nt):
                    outs.append(
                        fastdigits.dense_backward(dy, x, W, activation=act, **yz_kw(act, yz))
                    )
        for got, r in zip(outs[0], ref):
            assert_close(got, r, dtype)
        for other in outs[1:]:
            for a, c in zip(outs[0], other):
                assert np.array_equal(a, c)
        # accumulate=True adds the same gradients into the buffers
        bufs = tuple(g.copy() for g in outs[0])
        with fastdigits.simd(isa):
            fastdigits.dense_backward(
                dy,
                x,
                W,
                activation=act,
                **yz_kw(act, yz),
                dx_out=bufs[0],
                dW_out=bufs[1],
                db_out=bufs[2],
                accumulate=True,
            )
        for got, once in zip(bufs, outs[0]):
            assert_close(got, 2 * once.astype(np.float64), dtype)


@pytest.mark.parametrize("n", [45, 10])
def test_out_buffers_are_used_and_accumulate(n):
    rng = np.random.default_rng(14)
    m, k = 33, 70
    for w_order in ("C", "F"):
        x, W, b = layer(rng, m, k, n, np.float64, w_order)
        out = np.full((m, n), np.nan)
        pre = np.full((m, n), np.nan)
        y = fastdigits.dense_forward(x, W, b, "tanh", out=out, preact_out=pre)
        assert y is out and np.shares_memory(y, out)
        np.testing.assert_allclose(pre, x @ W + b, rtol=1e-12, atol=1e-12)
        dy = rng.standard_normal((m, n))
        dx_o, db_o = np.full((m, k), np.nan), np.full(n, np.nan)
        dW_o = np.full((k, n), np.nan, order=w_order)
        dx, dW, db = fastdigits.dense_backward(
            dy, x, W, y, "tanh", dx_out=dx_o, dW_out=dW_o, db_out=db_o
        )
        assert dx is dx_o and dW is dW_o and db is db_o
        rdx, rdW, rdb = reference.dense_backward(dy, x, W, y, "tanh")
        first = (dx.copy(), dW.copy(), db.copy())
        np.testing.assert_allclose(dW, rdW, rtol=1e-12, atol=1e-12)
        fastdigits.dense_backward(
            dy, x, W, y, "tanh", dx_out=dx_o, dW_out=dW_o, db_out=db_o, accumulate=True
        )
        for got, f in zip((dx_o, dW_o, db_o), first):
            np.testing.assert_allclose(got, 2 * f, rtol=1e-12, atol=1e-12)


def test_read_only_inputs_and_torch_weight_layout():
    rng = np.random.default_rng(15)
    x, W, b = layer(rng, 10, 20, 30, np.float32)
    Wt = np.ascontiguousarray(W.T)  # a torch Linear weight (out, in)
    for a in (x, W, b, Wt):
        a.flags.writeable = False
    y = fastdigits.dense_forward(x, Wt.T, b, "relu")
    np.testing.assert_allclose(y, np.maximum(x @ W + b, 0), rtol=1e-5, atol=1e-5)
    dx, dW, db = fastdigits.dense_backward(np.ones_like(y), x, Wt.T, y, "relu")
    assert dW.flags.f_contiguous and dW.T.shape == Wt.shape


def test_batch_zero():
    x, W, b = layer(np.random.default_rng(0), 0, 5, 3, np.float64)
    assert fastdigits.dense_forward(x, W, b).shape == (0, 3)
    dx, dW, db = fastdigits.dense_backward(np.empty((0, 3)), x, W, np.empty((0, 3)), "relu")
    assert dx.shape == (0, 5)
    assert np.array_equal(dW, np.zeros((5, 3))) and np.array_equal(db, np.zeros(3))


def test_forward_validation():
    x, W, b = layer(np.random.default_rng(0), 4, 5, 3, np.float32)
    f = fastdigits.dense_forward
    with pytest.raises(ValueError, match="activation must be None or one of"):
        f(x, W, b, "softplus")
    with pytest.raises(TypeError, match="W has dtype float64 but x"):
        f(x, W.astype(np.float64), b)
    with pytest.raises(TypeError, match="b has dtype float64"):
        f(x, W, b.astype(np.float64))
    with pytest.raises(TypeError, match="x must be float32 or float64"):
        f(x.astype(np.int32), W, b)
    with pytest.raises(ValueError, match="x must be 2-D"):
        f(x[0], W, b)
    with pytest.raises(ValueError, match="W must have shape"):
        f(x, W[:4], b)
    with pytest.raises(ValueError, match="b must have shape"):
        f(x, W, b[:2])
    with pytest.raises(ValueError, match="out must have shape"):
        f(x, W, b, out=np.empty((4, 4), np.float32))
    with pytest.raises(TypeError, match="out must have dtype"):
        f(x, W, b, out=np.empty((4, 3), np.float64))
    ro = np.empty((4, 3), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        f(x, W, b, out=ro)
    xs = np.ones((3, 3), np.float32)
    with pytest.raises(ValueError, match="out overlaps x"):
        f(xs, np.ones((3, 3), np.float32), None, out=xs)
    buf = np.empty((4, 3), np.float32)
    with pytest.raises(ValueError, match="preact_out overlaps out"):
        f(x, W, b, out=buf, preact_out=buf)


def test_backward_validation():
    x, W, b = layer(np.random.default_rng(0), 4, 5, 3, np.float64)
    y = fastdigits.dense_forward(x, W, b)
    dy = np.ones_like(y)
    g = fastdigits.dense_backward
    with pytest.raises(ValueError, match="activation must be None or one of"):
        g(dy, x, W, y, "swish")
    with pytest.raises(ValueError, match="dy must have shape"):
        g(np.ones((4, 2)), x, W, y, "relu")
    with pytest.raises(ValueError, match="y_or_z must have shape"):
        g(dy, x, W, np.ones((2, 3)), "relu")
    with pytest.raises(TypeError, match="x has dtype float32 but dy"):
        g(dy, x.astype(np.float32), W, y, "relu")
    with pytest.raises(ValueError, match="accumulate=True needs at least one of"):
        g(dy, x, W, y, "relu", accumulate=True)
    with pytest.raises(ValueError, match="dW_out must have shape"):
        g(dy, x, W, y, "relu", dW_out=np.empty((3, 5)))
    with pytest.raises(ValueError, match="db_out overlaps"):
        g(dy, x, W, y, "relu", db_out=dy[0])
    with pytest.raises(ValueError, match="dx_out given but need_dx=False"):
        g(dy, x, W, y, "relu", need_dx=False, dx_out=np.empty((4, 5)))


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 24),
    k=st.integers(1, 40),
    n=st.integers(1, 40),
    act=st.sampled_from(ACTS),
    f64=st.booleans(),
    w_f=st.booleans(),
    bias=st.booleans(),
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**16),
)
def test_dense_property(m, k, n, act, f64, w_f, bias, isa, seed):
    rng = np.random.default_rng(seed)
    dtype = np.float64 if f64 else np.float32
    x, W, b = layer(rng, m, k, n, dtype, "F" if w_f else "C", bias)
    dy = np.asarray(rng.standard_normal((m, n)), dtype=dtype)
    with fastdigits.simd(isa):
        z = np.empty((m, n), dtype)
        y = fastdigits.dense_forward(x, W, b, act, preact_out=z)
        yz = yz_for(act, y, z)
        grads = fastdigits.dense_backward(dy, x, W, activation=act, **yz_kw(act, yz))
    assert_close(y, reference.dense_forward(up(x), up(W), up(b), act), dtype)
    for got, ref in zip(
        grads, reference.dense_backward(up(dy), up(x), up(W), activation=act, **yz_kw(act, up(yz)))
    ):
        assert_close(got, ref, dtype)


@settings(max_examples=60, deadline=None)
@given(
    m=st.sampled_from([1, 2, 31, 33, 64, 65, 160, 257]),
    k=st.sampled_from([1, 17, 33, 256, 784, 1025]),
    n=st.sampled_from([1, 10, 33, 64, 256, 300]),
    act=st.sampled_from(ACTS),
    f64=st.booleans(),
    w_f=st.booleans(),
    bias=st.booleans(),
    dropout=st.sampled_from([0.0, 0.3]),
    accumulate=st.booleans(),
    need_dx=st.booleans(),
    threads=st.integers(1, 4),
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**16),
)
def test_dense_property_blocked(
    m, k, n, act, f64, w_f, bias, dropout, accumulate, need_dx, threads, isa, seed
):
    """Layers of sizes around the register tiles, K panels, K splits and
    thread slabs, with every option of the calls: the reference's values,
    and the same bits on `threads` threads as on one."""
    rng = np.random.default_rng(seed)
    dtype = np.float64 if f64 else np.float32
    x, W, b = layer(rng, m, k, n, dtype, "F" if w_f else "C", bias)
    dy = np.asarray(rng.standard_normal((m, n)), dtype=dtype)
    drop = dict(dropout=dropout, seed=seed)
    ref_y = reference.dense_forward(up(x), up(W), up(b), act, **drop)
    z = up(x) @ up(W) + (up(b) if bias else 0)
    yz = z if act == "gelu" else reference.dense_forward(up(x), up(W), up(b), act)
    kw = dict(activation=act, need_dx=need_dx, accumulate=accumulate, **drop)
    start = {"dW_out": rng.standard_normal((k, n)), "db_out": rng.standard_normal(n)}
    if need_dx:
        start["dx_out"] = rng.standard_normal((m, k))
    if not accumulate:
        start = {}
    ref = reference.dense_backward(
        up(dy), up(x), up(W), **yz_kw(act, yz), **kw, **{a: v.copy() for a, v in start.items()}
    )
    got = {}
    for t in (threads, 1):
        with fastdigits.simd(isa), fastdigits.threads(t):
            y = fastdigits.dense_forward(x, W, b, act, **drop)
            outs = {a: v.astype(dtype) for a, v in start.items()}
            g = fastdigits.dense_backward(dy, x, W, **yz_kw(act, yz.astype(dtype)), **kw, **outs)
        got[t] = (y,) + tuple(g)
    for a, c in zip(got[threads], got[1]):
        assert (a is None and c is None) or np.array_equal(a, c)
    assert_close(got[1][0], ref_y, dtype)
    for a, r in zip(got[1][1:], ref):
        assert (a is None) == (r is None)
        if a is not None:
            assert_close(a, r, dtype)


EXTREMES = (
    0.0,
    -0.0,
    1e-3,
    -1e-3,
    0.2,
    -0.2,
    0.3,
    -0.3,
    3.0,
    -3.0,
    30.0,
    -30.0,
    100.0,
    -100.0,
    1e4,
    -1e4,
    np.inf,
    -np.inf,
    np.nan,
)


def assert_same_special(got, ref, dtype, scale=1.0):
    """NaN exactly where ref has NaN, equal infinities, else close (relative
    to max(1, |ref|, scale); a sum's rounding error grows with the sum of
    its terms' magnitudes, pass that as scale)."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    fin = np.isfinite(ref)
    np.testing.assert_array_equal(got[~fin & ~np.isnan(ref)], ref[~fin & ~np.isnan(ref)])
    assert np.isfinite(got[fin]).all()
    scale = np.broadcast_to(scale, ref.shape)[fin]
    err = np.abs(got[fin].astype(np.float64) - ref[fin]) / np.maximum(
        np.maximum(1.0, np.abs(ref[fin])), scale
    )
    assert err.max() <= TOL[dtype], err.max()


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("n", [10, 37, 64])  # narrow-n kernel, edge tiles, full tiles
@pytest.mark.parametrize("m,threads", [(13, 1), (1500, 2)])  # serial; split over 2 threads
def test_activation_extreme_inputs(isa, dtype, act, n, m, threads):
    # z = x @ 0 + b = b exactly: the bias carries the extreme pre-activations
    # (NaN included: relu(NaN) is NaN, and so is relu'(NaN), as in the reference)
    k = 40
    b = np.resize(np.array(EXTREMES, dtype=dtype), n)
    x = np.ones((m, k), dtype=dtype)
    W = np.zeros((k, n), dtype=dtype)
    dy = np.asarray(np.random.default_rng(n).standard_normal((m, n)), dtype=dtype)
    with fastdigits.simd(isa), fastdigits.threads(threads), np.errstate(all="ignore"):
        z = np.empty((m, n), dtype=dtype)
        y = fastdigits.dense_forward(x, W, b, act, preact_out=z)
        _, _, db = fastdigits.dense_backward(
            dy, x, W, activation=act, **yz_kw(act, yz_for(act, y, z))
        )
        y_ref = reference.dense_forward(up(x), up(W), up(b), act)
        _, _, rdb = reference.dense_backward(
            up(dy), up(x), up(W), activation=act, **yz_kw(act, up(yz_for(act, y, z)))
        )
    np.testing.assert_array_equal(z, np.broadcast_to(b, (m, n)))
    assert_same_special(y, y_ref, dtype)
    # |act'| <= 1.13 for all five: the db sums' terms are at most |dy|
    assert_same_special(db, rdb, dtype, scale=np.abs(up(dy)).sum(axis=0) * 1.13)
