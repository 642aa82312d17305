"""precision="bfloat16": matmul / dense_forward / dense_backward against the
bf16 NumPy twins (fastdigits.reference, operands rounded to bf16, float64
sums), on every SIMD path (avx512_bf16 and amx run the bf16 instructions,
the others the portable emulation), 1/2/3 threads bit-identical."""

import numpy as np
import pytest

import fastdigits
from fastdigits import _runtime, reference
from fastdigits.reference.dense import to_bfloat16

from _specs import LAYER_CASES, MATMUL_SHAPES

ACTS = ("identity", "relu", "sigmoid", "tanh", "gelu")
EPS32 = 2.0**-24
EPS_BF16 = 2.0**-8  # unit roundoff of bfloat16 (8 significant bits)


def bf16_product_bound(a, b):
    """Worst-case float32 summation error of a @ b with bf16 operands (the
    twin sums in float64): k * eps32 * |a| @ |b|, plus the final rounding."""
    absprod = np.abs(to_bfloat16(a)).astype(np.float64) @ np.abs(to_bfloat16(b)).astype(np.float64)
    k = a.shape[1]
    return (k + 2) * EPS32 * absprod + 1e-30


def assert_within_bf16(got, a, b, ref_bf16):
    """got (float32) against the bf16 twin: within float32 summation error;
    and against the exact float64 product: within bf16 operand rounding."""
    bound = bf16_product_bound(a, b)
    assert np.all(np.abs(got.astype(np.float64) - ref_bf16) <= bound + 2 * EPS32 * np.abs(ref_bf16))
    exact = a.astype(np.float64) @ b.astype(np.float64)
    absprod = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
    assert np.all(np.abs(got - exact) <= 2.01 * EPS_BF16 * absprod + bound)


@pytest.mark.parametrize("m,k,n", MATMUL_SHAPES)
@pytest.mark.parametrize("order", ["CC", "CF", "FC"])
def test_matmul_bf16_parity(bf16_isa, threads, m, k, n, order):
    rng = np.random.default_rng(m * 1000 + k + n)
    a = np.asarray(rng.standard_normal((m, k)), np.float32, order=order[0])
    b = np.asarray(rng.standard_normal((k, n)), np.float32, order=order[1])
    ref = reference.matmul(a, b, precision="bfloat16").astype(np.float64)
    ref64 = to_bfloat16(a).astype(np.float64) @ to_bfloat16(b).astype(np.float64)
    assert np.abs(ref - ref64).max() <= 2 * EPS32 * np.abs(ref64).max()
    with fastdigits.simd(bf16_isa):
        with fastdigits.threads(1):
            one = fastdigits.matmul(a, b, precision="bfloat16")
        with fastdigits.threads(threads):
            got = fastdigits.matmul(a, b, precision="bfloat16")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, one)
    assert_within_bf16(got, a, b, ref64)


@pytest.mark.parametrize("m,k", [(200, 256), (201, 257), (7, 1), (1000, 30)])
@pytest.mark.parametrize("a_order", ["C", "F"])
def test_narrow_output_same_bits_as_a_wide_one(bf16_isa, threads, m, k, a_order):
    """C of at most 16 columns (an MLP's 10 classes) runs on a narrower
    register tile on avx512_bf16: every element is the same sum as in a
    wide product, for any thread count, row-major or transposed A."""
    rng = np.random.default_rng(m + k)
    a = np.asarray(rng.standard_normal((m, k)), np.float32, order=a_order)
    wide = np.asarray(rng.standard_normal((k, 70)), np.float32)
    with fastdigits.simd(bf16_isa):
        with fastdigits.threads(1):
            full = fastdigits.matmul(a, wide, precision="bfloat16")
        for n in (1, 10, 15, 16, 17):
            b = np.ascontiguousarray(wide[:, :n])
            with fastdigits.threads(threads):
                got = fastdigits.matmul(a, b, precision="bfloat16")
            np.testing.assert_array_equal(got, full[:, :n])


def test_bf16_differs_from_float32_and_layouts_agree(bf16_isa):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((40, 300), dtype=np.float32)
    b = rng.standard_normal((300, 70), dtype=np.float32)
    with fastdigits.simd(bf16_isa):
        c = fastdigits.matmul(a, b, precision="bfloat16")
        f = fastdigits.matmul(a, b)
        for aa in (a, np.asfortranarray(a), a[:, ::1].copy()):
            for bb in (b, np.asfortranarray(b)):
                np.testing.assert_array_equal(fastdigits.matmul(aa, bb, precision="bfloat16"), c)
        out = np.empty((70, 40), np.float32).T  # F-contiguous out
        r = fastdigits.matmul(a, b, out=out, precision="bfloat16")
        assert r is out and np.shares_memory(r, out)
        np.testing.assert_array_equal(out, c)
    assert not np.array_equal(c, f)  # really rounded
    assert np.abs(c - f).max() <= 2.01 * EPS_BF16 * (np.abs(a) @ np.abs(b)).max()


def test_exact_on_bf16_values(bf16_isa):
    """Operands already bf16 (small integers), short K: every path exact."""
    rng = np.random.default_rng(2)
    a = rng.integers(-8, 9, (33, 19)).astype(np.float32)
    b = rng.integers(-8, 9, (19, 47)).astype(np.float32)
    with fastdigits.simd(bf16_isa):
        got = fastdigits.matmul(a, b, precision="bfloat16")
    np.testing.assert_array_equal(got, a @ b)


def test_to_bfloat16_rounding():
    one = np.float32(1.0)
    ulp = 2.0**-7
    x = np.array(
        [1 + ulp / 2, 1 + 1.5 * ulp, 1 + ulp / 2 + 2.0**-20, -(1 + ulp / 2), np.inf, -np.inf, 0.0],
        np.float32,
    )
    r = to_bfloat16(x)
    np.testing.assert_array_equal(
        r, [one, 1 + 2 * ulp, 1 + ulp, -one, np.inf, -np.inf, 0.0]
    )  # ties to even
    assert np.isnan(to_bfloat16(np.float32(np.nan)))
    big = np.array([0x7F7F8000], np.uint32).view(np.float32)  # max bf16 + half an ulp
    assert to_bfloat16(big) == np.inf


def test_nan_propagates(bf16_isa):
    a = np.ones((9, 40), np.float32)
    b = np.ones((40, 33), np.float32)
    a[3, 5] = np.nan
    with fastdigits.simd(bf16_isa):
        c = fastdigits.matmul(a, b, precision="bfloat16")
    assert np.isnan(c[3]).all()
    assert not np.isnan(np.delete(c, 3, axis=0)).any()


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("m,k,n,w_order,bias", LAYER_CASES)
def test_forward_bf16_parity(bf16_isa, threads, act, m, k, n, w_order, bias):
    rng = np.random.default_rng(k + n)
    x = rng.standard_normal((m, k), dtype=np.float32)
    W = np.asarray(rng.standard_normal((k, n)) / np.sqrt(k), np.float32, order=w_order)
    b = rng.standard_normal(n, dtype=np.float32) if bias else None
    with fastdigits.simd(bf16_isa):
        with fastdigits.threads(1):
            z1 = np.empty((m, n), np.float32)
            y1 = fastdigits.dense_forward(x, W, b, act, preact_out=z1, precision="bfloat16")
        with fastdigits.threads(threads):
            z = np.empty((m, n), np.float32)
            y = fastdigits.dense_forward(x, W, b, act, preact_out=z, precision="bfloat16")
    np.testing.assert_array_equal(y, y1)
    np.testing.assert_array_equal(z, z1)
    # the pre-activation: the bf16 product, plus the bias in float32
    prod = z - (b if bias else 0)
    ref64 = to_bfloat16(x).astype(np.float64) @ to_bfloat16(W).astype(np.float64)
    bound = bf16_product_bound(x, W) + 4 * EPS32 * (np.abs(z) + (np.abs(b) if bias else 0))
    assert np.all(np.abs(prod - ref64) <= bound)
    # the activation runs in float32 on z, as the float32 layer's does
    ref_y = reference.dense_forward(x, W, b, act, precision="bfloat16")
    yz = reference.dense_forward(z, np.eye(n, dtype=np.float32), None, act)
    np.testing.assert_allclose(y, yz, rtol=2e-6, atol=2e-6)
    tol = 1e-5 * k + 2e-3
    np.testing.assert_allclose(y, ref_y, rtol=tol, atol=tol)


def _bf16_ksplit_at(path, m, k, n):
    """Where the bfloat16 driver's K split cuts K (gemm_bf16.c,
    fd_bf_ksplit_at; 0: not split): 160 to 256 rows over K >= 512 within one
    K panel of the path, C of at most 2**20 elements, at half of K rounded
    up to the path's K unit (AMX: a tile of 32 bfloat16 values, else a pair)."""
    kc = _runtime.gemm_blocking(_runtime.ISA_NAMES.index(path), "bfloat16")["kc"]
    unit = 32 if path == "amx" else 2
    if not (160 <= m <= 256 and 512 <= k <= kc and m * n <= 1 << 20):
        return 0
    return (k // 2 + unit - 1) // unit * unit


@pytest.mark.parametrize("act", ["identity", "relu"])
@pytest.mark.parametrize(
    "m,k,n,w_order",
    # split (160 and 256 rows; an F-order W: column slabs of both parts; a
    # narrow C); not split (159 and 257 rows, K 511)
    [
        (200, 784, 256, "C"),
        (160, 600, 70, "F"),
        (256, 1000, 10, "C"),
        (159, 784, 64, "C"),
        (257, 784, 64, "C"),
        (200, 511, 64, "C"),
    ],
)
def test_bf16_k_split_is_two_half_products_joined(bf16_isa, act, m, k, n, w_order):
    """160 to 256 rows over K >= 512 are summed in two K parts (x[:, :kh] @
    W[:kh] and x[:, kh:] @ W[kh:], each a product of its own) and joined as
    the float32 split joins (second part + first, + bias, then the
    activation), bit for bit; the same bits on 1 to 5 threads, for a C- or
    F-order W and for a W packed beforehand (pack_weights, read from row kh
    in place)."""
    rng = np.random.default_rng(m + k + n)
    x = rng.standard_normal((m, k), dtype=np.float32)
    W = np.asarray(rng.standard_normal((k, n)) / np.sqrt(k), np.float32, order=w_order)
    b = rng.standard_normal(n, dtype=np.float32)
    kh = _bf16_ksplit_at(bf16_isa, m, k, n)

    def product(a, w):  # in blocks of 100 rows: never split themselves
        return np.concatenate(
            [fastdigits.matmul(a[i : i + 100], w, precision="bfloat16") for i in range(0, m, 100)]
        )

    with fastdigits.simd(bf16_isa):
        if kh:
            want_z = (product(x[:, kh:], W[kh:]) + product(x[:, :kh], W[:kh])) + b
        else:
            want_z = product(x, W) + b
        want = np.maximum(want_z, 0) if act == "relu" else want_z
        packed = fastdigits.pack_weights(W)
        for nt in (1, 2, 3, 4, 5):
            with fastdigits.threads(nt):
                for w in (W, packed):
                    z = np.full((m, n), np.nan, np.float32)
                    y = fastdigits.dense_forward(x, w, b, act, preact_out=z, precision="bfloat16")
                    np.testing.assert_array_equal(z, want_z)
                    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize(
    "m,k,n",
    # the split in one orientation only: C^T of 64 x 784 x 256 has 256 rows
    # (split), 200 x 784 x 300's has 300 (not), 1024 x 784 x 256's 256
    [(64, 784, 256), (200, 784, 300), (1024, 784, 256)],
)
def test_bf16_k_split_follows_the_row_major_product(bf16_isa, m, k, n):
    """A column-major C is computed as C^T = B^T A^T, whose m is n: it is
    split where the row-major product is, so the layout of C, or of W in a
    weight gradient (dW takes W's layout), changes no bit."""
    rng = np.random.default_rng(m + n)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    with fastdigits.simd(bf16_isa), fastdigits.threads(2):
        c = fastdigits.matmul(a, b, precision="bfloat16")
        f = np.empty((n, m), np.float32).T
        fastdigits.matmul(a, b, out=f, precision="bfloat16")
        np.testing.assert_array_equal(f, c)
        # dW = x^T dy of a 784 -> n layer at batch 600: n rows of dW^T
        x = rng.standard_normal((600, k), dtype=np.float32)
        dy = rng.standard_normal((600, n), dtype=np.float32)
        W = rng.standard_normal((k, n), dtype=np.float32)
        _, dw_c, _ = fastdigits.dense_backward(dy, x, W, precision="bfloat16")
        _, dw_f, _ = fastdigits.dense_backward(dy, x, np.asfortranarray(W), precision="bfloat16")
        assert dw_f.flags.f_contiguous
        np.testing.assert_array_equal(dw_f, dw_c)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("m,k,n,w_order,need_dx", LAYER_CASES)
def test_backward_bf16_parity(bf16_isa, threads, act, m, k, n, w_order, need_dx):
    rng = np.random.default_rng(m + k + n)
    x = rng.standard_normal((m, k), dtype=np.float32)
    W = np.asarray(rng.standard_normal((k, n)) / np.sqrt(k), np.float32, order=w_order)
    b = rng.standard_normal(n, dtype=np.float32)
    z = np.empty((m, n), np.float32)
    y = fastdigits.dense_forward(x, W, b, act, preact_out=z)
    yz = {"z": z} if act == "gelu" else {"y": y}
    dy = rng.standard_normal((m, n), dtype=np.float32)
    kw = dict(activation=act, need_dx=need_dx, precision="bfloat16", **yz)
    with fastdigits.simd(bf16_isa):
        with fastdigits.threads(1):
            one = fastdigits.dense_backward(dy, x, W, **kw)
        with fastdigits.threads(threads):
            got = fastdigits.dense_backward(dy, x, W, **kw)
    for g, o in zip(got, one):
        if g is None:
            assert o is None
        else:
            np.testing.assert_array_equal(g, o)
    dx, dW, db = got
    ref_dx, ref_dW, ref_db = reference.dense_backward(dy, x, W, **kw)
    # dz and db are float32 (as the float32 layer's)
    f_dx, f_dW, f_db = fastdigits.dense_backward(dy, x, W, activation=act, need_dx=need_dx, **yz)
    np.testing.assert_allclose(db, f_db, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(db, ref_db, rtol=1e-4, atol=1e-4)
    dz = dy if act == "identity" else dy * reference.dense._act_grad(act, z if act == "gelu" else y)
    # dz (float32) may differ from the twin's in its last bits; one of those
    # crossing a bf16 rounding boundary moves a term by a bf16 ulp
    flip_w = 2 * EPS_BF16 * np.outer(np.abs(x).max(0), np.abs(dz).max(0))
    assert np.all(np.abs(dW - ref_dW) <= bf16_product_bound(x.T, dz) + flip_w + 1e-6)
    assert np.all(np.abs(dW - f_dW) <= 2.01 * EPS_BF16 * (np.abs(x.T) @ np.abs(dz)) + 1e-4)
    # dW has W's memory layout (a single column is both C and F)
    assert (dW.flags.c_contiguous, dW.flags.f_contiguous) == (
        W.flags.c_contiguous,
        W.flags.f_contiguous,
    )
    if need_dx:
        flip_x = 2 * EPS_BF16 * np.outer(np.abs(dz).max(1), np.abs(W).max(1))
        assert np.all(np.abs(dx - ref_dx) <= bf16_product_bound(dz, W.T) + flip_x + 1e-6)
    else:
        assert dx is None and ref_dx is None


def test_out_buffers_and_accumulate_bf16():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20, 30), dtype=np.float32)
    W = rng.standard_normal((30, 40), dtype=np.float32)
    dy = rng.standard_normal((20, 40), dtype=np.float32)
    y = np.empty((20, 40), np.float32)
    r = fastdigits.dense_forward(x, W, None, "relu", out=y, precision="bfloat16")
    assert r is y
    dW = np.ones((30, 40), np.float32)
    _, dW2, _ = fastdigits.dense_backward(
        dy, x, W, activation="relu", y=y, dW_out=dW, accumulate=True, precision="bfloat16"
    )
    assert dW2 is dW
    _, ref, _ = fastdigits.dense_backward(dy, x, W, activation="relu", y=y, precision="bfloat16")
    np.testing.assert_allclose(dW, ref + 1, rtol=1e-6, atol=1e-6)


def test_precision_validation():
    a = np.ones((3, 4))
    b = np.ones((4, 5))
    with pytest.raises(TypeError, match="bfloat16.*float32"):
        fastdigits.matmul(a, b, precision="bfloat16")
    with pytest.raises(TypeError, match="bfloat16.*float32"):
        fastdigits.dense_forward(a, b, precision="bfloat16")
    with pytest.raises(TypeError, match="bfloat16.*float32"):
        fastdigits.dense_backward(np.ones((3, 5)), a, b, precision="bfloat16")
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    for bad in ("float16", "bf16", 16):
        with pytest.raises(ValueError, match="precision"):
            fastdigits.matmul(a32, b32, precision=bad)
        with pytest.raises(ValueError, match="precision"):
            reference.matmul(a32, b32, precision=bad)
    with pytest.raises(TypeError, match="bfloat16"):
        reference.matmul(a, b, precision="bfloat16")
    # precision="float32" is the default, float64 still works with it
    np.testing.assert_allclose(fastdigits.matmul(a, b, precision="float32"), a @ b)


def test_empty_and_k_zero_bf16(bf16_isa):
    with fastdigits.simd(bf16_isa):
        c = fastdigits.matmul(
            np.ones((3, 0), np.float32), np.ones((0, 4), np.float32), precision="bfloat16"
        )
        np.testing.assert_array_equal(c, np.zeros((3, 4), np.float32))
        y = fastdigits.dense_forward(
            np.ones((0, 5), np.float32), np.ones((5, 2), np.float32), precision="bfloat16"
        )
        assert y.shape == (0, 2)


def test_mlp_bfloat16_precision(threads):
    """MLP(precision="bfloat16"): float32 weights and state, bf16 products;
    bit-identical for any thread count, close to (not equal to) float32."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 40), dtype=np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + 2 * (X[:, 1] > 0)
    fits = {}
    for prec, t in (("float32", 1), ("bfloat16", 1), ("bfloat16", threads)):
        m = fastdigits.MLP((40, 32, 4), seed=3, precision=prec)
        with fastdigits.threads(t):
            m.fit(X, y, epochs=3, batch_size=32)
            fits[prec, t] = (m, m.decision_function(X))
    m16, out16 = fits["bfloat16", 1]
    assert all(p.dtype == np.float32 for p in m16.params)
    np.testing.assert_array_equal(fits["bfloat16", threads][1], out16)
    for a, b in zip(fits["bfloat16", threads][0].params, m16.params):
        np.testing.assert_array_equal(a, b)
    m32, out32 = fits["float32", 1]
    assert not np.array_equal(out16, out32)
    np.testing.assert_allclose(out16, out32, atol=0.5)  # 3 epochs of drift
    assert m16.score(X, y) >= m32.score(X, y) - 0.05
    assert "precision='bfloat16'" in repr(m16)
    with pytest.raises(ValueError, match="precision"):
        fastdigits.MLP((4, 3), precision="float16")
    with pytest.raises(ValueError, match="float32"):
        fastdigits.MLP((4, 3), dtype=np.float64, precision="bfloat16")
    with pytest.raises(ValueError, match="backend"):
        fastdigits.MLP((4, 3), backend="numpy", precision="bfloat16")


BF16_ONLY_PATHS = [p for p in fastdigits.available_simd() if p not in ("generic", "avx2", "avx512")]


@pytest.mark.parametrize("path", BF16_ONLY_PATHS or ["avx512_bf16"])
def test_float_kernels_identical_to_avx512_on_bf16_paths(path, dtype, threads):
    """Why the shared `isa` fixture leaves avx512_bf16 / amx out: without
    precision="bfloat16" every kernel runs the avx512 code there, bit for
    bit.  (Where the CPU has neither path, it checks that the avx512 path,
    or on a CPU without AVX-512 the generic one, gives the same bits twice;
    the bf16 ladder is covered by bf16_isa.)"""
    base = "avx512" if "avx512" in fastdigits.available_simd() else "generic"
    if path not in fastdigits.available_simd():
        path = base  # not avx2: its FMAs are not generic's bits
    rng = np.random.default_rng(7)
    x = rng.standard_normal((67, 97)).astype(dtype)
    W = rng.standard_normal((97, 45)).astype(dtype)
    b = rng.standard_normal(45).astype(dtype)
    dy = rng.standard_normal((67, 45)).astype(dtype)
    labels = rng.integers(0, 45, 67)
    u8 = rng.integers(0, 256, (33, 28, 28), dtype=np.uint8)

    def run():
        y = fastdigits.dense_forward(x, W, b, "gelu")
        z = np.empty_like(y)
        fastdigits.dense_forward(x, W, b, "gelu", preact_out=z)
        grads = fastdigits.dense_backward(dy, x, W, activation="gelu", z=z)
        loss, g = fastdigits.softmax_cross_entropy(y, labels)
        m = fastdigits.MLP((97, 31, 45), seed=3, dtype=dtype)
        m.fit(x, labels, epochs=1, batch_size=16)
        return [
            fastdigits.matmul(x, W),
            y,
            *grads,
            np.asarray(loss),
            g,
            fastdigits.normalize(u8, dtype=dtype),
            *m.params,
        ]

    with fastdigits.threads(threads):
        with fastdigits.simd(base):
            want = run()
        with fastdigits.simd(path):
            got = run()
    for a, c in zip(want, got):
        assert a.dtype == c.dtype and a.shape == c.shape
        assert a.tobytes() == c.tobytes()


@pytest.mark.parametrize(
    "optimizer, kw",
    [
        ("sgd", dict(momentum=0.9)),
        ("sgd", dict(momentum=0.9, nesterov=True, weight_decay=1e-3)),
        ("sgd", dict(momentum=0.0, l2=0.5)),
        ("adam", dict(l2=0.3)),
        ("adam", dict()),
    ],
)
def test_bf16_epoch_keeps_its_packed_weights(bf16_isa, threads, optimizer, kw):
    """A bfloat16 epoch packs each W once and then re-packs it chunk by chunk
    inside every optimiser step; one 4-step epoch must give the bits of 4
    one-step epochs, each of which packs W afresh.  K = 2101 spans two K
    panels on the bf16 paths, is odd, and its row chunks cross the panels."""
    from fastdigits import _mlp
    from fastdigits.reference import nn as ref

    rng = np.random.default_rng(6)
    n, batch = 80, 20
    X = rng.standard_normal((n, 2101)).astype(np.float32)
    y = rng.integers(0, 7, n)
    order = rng.permutation(n).astype(np.int64)
    nstate = 2 if optimizer == "adam" else (1 if kw.get("momentum") else 0)
    common = dict(activation="tanh", batch_size=batch, optimizer=optimizer, precision="bfloat16")
    common.update(lr=0.05 if optimizer == "sgd" else 0.01, momentum=0.0, weight_decay=0.0)
    common.update(kw)

    def fresh():
        p = ref.init_params((2101, 40, 7), "tanh", np.float32, 2)
        return p, [np.zeros_like(a) for a in p], [np.zeros_like(a) for a in p * nstate]

    with fastdigits.simd(bf16_isa), fastdigits.threads(threads):
        p1, g1, s1 = fresh()
        _mlp.train_epoch(p1, g1, s1, X, y, order, **common)
        p2, g2, s2 = fresh()
        for i in range(n // batch):
            part = order[i * batch : (i + 1) * batch]
            _mlp.train_epoch(p2, g2, s2, X, y, part, step=i, **common)
    for a, b in zip(p1 + s1, p2 + s2):
        np.testing.assert_array_equal(a, b)


def test_bf16_epoch_repacks_weights_a_callback_changed(bf16_isa):
    """The Python callback may change the weights between steps: a bfloat16
    epoch then packs them again.  Plain SGD, the callback resetting W to its
    first value after every step but the last: the result is one step from
    the first weights on the last batch."""
    from fastdigits import _mlp
    from fastdigits.reference import nn as ref

    rng = np.random.default_rng(7)
    n, batch = 60, 20
    X = rng.standard_normal((n, 50)).astype(np.float32)
    y = rng.integers(0, 5, n)
    order = np.arange(n, dtype=np.int64)
    p0 = ref.init_params((50, 24, 5), "relu", np.float32, 3)
    common = dict(activation="relu", batch_size=batch, optimizer="sgd", lr=0.1, momentum=0.0)
    common.update(weight_decay=0.0, precision="bfloat16")

    p = [a.copy() for a in p0]

    def reset(steps):
        if steps < n // batch:
            for a, b in zip(p, p0):
                a[...] = b

    with fastdigits.simd(bf16_isa):
        _mlp.train_epoch(
            p,
            [np.zeros_like(a) for a in p],
            [],
            X,
            y,
            order,
            callback=reset,
            callback_every=1,
            **common,
        )
        q = [a.copy() for a in p0]
        _mlp.train_epoch(q, [np.zeros_like(a) for a in q], [], X, y, order[-batch:], **common)
    for a, b in zip(p, q):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("act", ["relu", "gelu"])
@pytest.mark.parametrize("nthreads", [1, 2])
def test_bf16_inference_packs_once_same_bits_as_dense_chain(bf16_isa, nthreads, act):
    """bfloat16 inference packs each W once per call and reuses it for every
    256-row batch: the logits equal, batch by batch, a chain of bf16
    dense_forward calls (each packing W itself) bit for bit.  700 rows:
    batches of 256, 256 and 188 (both K-split: fd_bf_ksplit_at); K = 785 is
    odd and W's of 40, 17 and 10 columns have edge tiles."""
    from fastdigits import _mlp
    from fastdigits.reference import nn as ref

    assert _mlp._PREDICT_ROWS == 256 and 700 % 256
    rng = np.random.default_rng(8)
    X = rng.standard_normal((700, 785)).astype(np.float32)
    params = ref.init_params((785, 40, 17, 10), act, np.float32, 4)
    with fastdigits.simd(bf16_isa), fastdigits.threads(nthreads):
        got = _mlp.predict_logits(params, X, act, "bfloat16")
        chain = []
        for r in range(0, 700, 256):
            h = X[r : r + 256]
            for j in range(0, len(params), 2):
                last = j == len(params) - 2
                h = fastdigits.dense_forward(
                    h, params[j], params[j + 1], None if last else act, precision="bfloat16"
                )
            chain.append(h)
    assert got.dtype == np.float32 and got.shape == (700, 10)
    assert got.tobytes() == np.concatenate(chain).tobytes()


def test_bf16_inference_calls_take_whole_batches(bf16_isa):
    """A large layer cuts the rows into several nogil calls (784-4096-10: 660
    rows a call before); each call takes whole 256-row batches, so every row
    meets the products of one call over all of X.  A 660-row call ended in a
    148-row batch, which the bfloat16 K split (160-256 rows) leaves whole:
    rows 512-659 changed bits with the number of rows predicted."""
    from fastdigits import _mlp
    from fastdigits.reference import nn as ref

    rng = np.random.default_rng(5)
    X = rng.standard_normal((1100, 784)).astype(np.float32)
    params = ref.init_params((784, 4096, 10), "relu", np.float32, 4)
    with fastdigits.simd(bf16_isa):
        got = _mlp.predict_logits(params, X, "relu", "bfloat16")
        parts = [
            _mlp.predict_logits(params, X[r : r + 256], "relu", "bfloat16")
            for r in range(0, 1100, 256)
        ]
    assert got.tobytes() == np.concatenate(parts).tobytes()


@pytest.mark.parametrize("rows", [64, 159, 257])
def test_bf16_inference_short_batches_match_the_dense_chain(bf16_isa, rows):
    """A batch under 160 rows (no K split) or under 256 (AMX's long K
    panels) needs more scratch than a full one: 784-1500-10 inference of 64
    rows aborted with heap corruption on amx before the MLP sized its work
    block for the last batch too.  Each batch's logits equal a chain of
    dense_forward calls, which size their own scratch."""
    from fastdigits import _mlp
    from fastdigits.reference import nn as ref

    rng = np.random.default_rng(rows)
    X = rng.standard_normal((rows, 784)).astype(np.float32)
    params = ref.init_params((784, 1500, 10), "relu", np.float32, 4)
    with fastdigits.simd(bf16_isa):
        got = _mlp.predict_logits(params, X, "relu", "bfloat16")
        chain = []
        for r in range(0, rows, 256):
            h = fastdigits.dense_forward(
                X[r : r + 256], params[0], params[1], "relu", precision="bfloat16"
            )
            chain.append(
                fastdigits.dense_forward(h, params[2], params[3], None, precision="bfloat16")
            )
    assert got.tobytes() == np.concatenate(chain).tobytes()


def test_bf16_epoch_with_a_short_last_step_same_bits_as_that_step_alone(bf16_isa):
    """A last step of 76 rows takes AMX's long K panels and no K split (under
    160 rows), the 256-row steps short panels and the split: it needs more
    scratch than they do.  The work block was sized for full steps only and
    the step wrote past it (a segmentation fault in the same way in
    inference of 784-2048-10 for a last batch under 160 rows)."""
    from _epochs import epoch_whole_and_cut

    with fastdigits.simd(bf16_isa):
        whole, cut = epoch_whole_and_cut((784, 2048, 10), np.float32, 332, 256, "bfloat16")
    for p, q in zip(whole, cut):
        assert p.tobytes() == q.tobytes()
