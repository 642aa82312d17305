"""softmax_cross_entropy: parity with the NumPy reference, PyTorch and finite
differences; stability, determinism across threads and SIMD paths, buffers
and validation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdigits
from fastdigits import reference

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]
ISAS = fastdigits.available_simd()


def tols(dtype):
    # float32: the row sum of exps is accurate to a few 1e-7 relative, so
    # log-sum-exp to a few 1e-7 absolute; float64 to ~1e-15.
    return dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def make(rng, m, c, dtype, scale=4.0):
    x = (rng.standard_normal((m, c)) * scale).astype(dtype)
    y = rng.integers(0, c, size=m) if c else np.zeros(m, np.int64)
    return x, y


def check_parity(x, y, reduction):
    loss, g = fastdigits.softmax_cross_entropy(x, y, reduction=reduction)
    rloss, rg = reference.softmax_cross_entropy(x, y, reduction=reduction)
    t = tols(x.dtype)
    assert g.dtype == x.dtype and g.shape == x.shape
    if reduction == "none":
        assert isinstance(loss, np.ndarray) and loss.shape == (x.shape[0],)
    else:
        assert isinstance(loss, np.generic) and np.ndim(loss) == 0
    assert np.asarray(loss).dtype == x.dtype
    np.testing.assert_allclose(loss, rloss, **t)
    gscale = 1.0 / x.shape[0] if reduction == "mean" else 1.0
    np.testing.assert_allclose(g, rg, rtol=t["rtol"], atol=t["atol"] * gscale)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "m,c",
    [(1, 1), (1, 10), (3, 1), (64, 10), (33, 1000), (5, 17), (7, 3), (2, 31), (9, 33), (4, 64)],
)
def test_parity_every_simd_path(isa, dtype, reduction, m, c):
    x, y = make(np.random.default_rng(m * 1000 + c), m, c, dtype)
    with fastdigits.simd(isa):
        check_parity(x, y, reduction)


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 40),
    c=st.integers(1, 70),
    f64=st.booleans(),
    reduction=st.sampled_from(REDUCTIONS),
    scale=st.sampled_from([0.1, 3.0, 50.0]),
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**32 - 1),
)
def test_parity_property(m, c, f64, reduction, scale, isa, seed):
    x, y = make(np.random.default_rng(seed), m, c, np.float64 if f64 else np.float32, scale)
    with fastdigits.simd(isa):
        check_parity(x, y, reduction)


def test_matches_torch_cross_entropy_and_backward(dtype):
    torch = pytest.importorskip("torch")
    x, y = make(np.random.default_rng(5), 37, 10, dtype)
    for reduction in REDUCTIONS:
        tx = torch.tensor(x, requires_grad=True)
        tl = torch.nn.functional.cross_entropy(tx, torch.tensor(y), reduction=reduction)
        tl.backward(torch.ones_like(tl))
        loss, g = fastdigits.softmax_cross_entropy(x, y, reduction=reduction)
        t = tols(dtype)
        np.testing.assert_allclose(loss, tl.detach().numpy(), **t)
        np.testing.assert_allclose(g, tx.grad.numpy(), rtol=t["rtol"], atol=t["atol"])


def test_gradient_by_finite_differences(isa):
    rng = np.random.default_rng(7)
    x, y = make(rng, 4, 7, np.float64, scale=2.0)
    h = 1e-6
    with fastdigits.simd(isa):
        for reduction in ("mean", "sum"):
            _, g = fastdigits.softmax_cross_entropy(x, y, reduction=reduction)
            num = np.empty_like(x)
            for i in range(x.shape[0]):
                for j in range(x.shape[1]):
                    xp, xm = x.copy(), x.copy()
                    xp[i, j] += h
                    xm[i, j] -= h
                    lp, _ = fastdigits.softmax_cross_entropy(xp, y, reduction=reduction)
                    lm, _ = fastdigits.softmax_cross_entropy(xm, y, reduction=reduction)
                    num[i, j] = (lp - lm) / (2 * h)
            np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


def test_extreme_logits_stay_finite_and_correct(isa, dtype):
    c = 10
    big = np.zeros((4, c), dtype)
    big[0, 0], big[0, 1] = 1e4, -1e4  # label 0: loss 0; label 1: 2e4
    big[1, :] = 1e4  # all equal: log(c), uniform softmax
    big[2, :] = -1e4
    big[3, 3] = -1e4
    y = np.array([1, 4, 9, 3])
    with fastdigits.simd(isa):
        loss, g = fastdigits.softmax_cross_entropy(big, y, reduction="none")
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(g))
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss[0], 2e4, rtol=rtol)
    np.testing.assert_allclose(loss[1:3], np.log(c), rtol=rtol)
    # row 3: 9 logits at 0 and the label at -1e4: loss = 1e4 + log(9)
    np.testing.assert_allclose(loss[3], 1e4 + np.log(9), rtol=rtol)
    expect = np.zeros((4, c))
    expect[0, 0], expect[0, 1] = 1.0, -1.0
    expect[1] = expect[2] = 1.0 / c
    expect[1, 4] -= 1.0
    expect[2, 9] -= 1.0
    expect[3] = 1.0 / 9
    expect[3, 3] = -1.0
    np.testing.assert_allclose(g, expect, rtol=rtol, atol=1e-7)
    with fastdigits.simd(isa):
        l0, g0 = fastdigits.softmax_cross_entropy(big[:1], [0], reduction="sum")
    assert l0 == 0 and np.all(g0 == 0)


def test_float32_range_extremes(isa):
    x = np.array([[3e38, -3e38, 0.0, 1.0]], np.float32)
    with fastdigits.simd(isa):
        loss, g = fastdigits.softmax_cross_entropy(x, [0], reduction="sum")
    assert loss == 0 and np.array_equal(g, np.zeros_like(x))


def test_nan_propagates_to_its_row_only(isa):
    x, y = make(np.random.default_rng(2), 3, 12, np.float64)
    x[1, 5] = np.nan
    with fastdigits.simd(isa):
        loss, g = fastdigits.softmax_cross_entropy(x, y, reduction="none")
    assert np.isnan(loss[1]) and np.all(np.isnan(g[1]))
    assert np.all(np.isfinite(loss[[0, 2]])) and np.all(np.isfinite(g[[0, 2]]))


def test_reductions_are_consistent(dtype):
    x, y = make(np.random.default_rng(3), 50, 13, dtype)
    rows, g_none = fastdigits.softmax_cross_entropy(x, y, reduction="none")
    total, g_sum = fastdigits.softmax_cross_entropy(x, y, reduction="sum")
    mean, g_mean = fastdigits.softmax_cross_entropy(x, y, reduction="mean")
    t = tols(dtype)
    np.testing.assert_allclose(total, rows.astype(np.float64).sum(), **t)
    np.testing.assert_allclose(mean, rows.astype(np.float64).mean(), **t)
    np.testing.assert_array_equal(g_none, g_sum)
    np.testing.assert_allclose(g_mean, g_sum / 50, rtol=t["rtol"], atol=t["atol"] / 50)
    # the gradient of each row sums to zero (softmax sums to one)
    np.testing.assert_allclose(g_sum.sum(axis=1), 0, atol=10 * t["atol"])


@pytest.mark.parametrize("m,c", [(4099, 10), (70, 1000)])
def test_one_and_two_threads_identical(isa, dtype, m, c):
    x, y = make(np.random.default_rng(m), m, c, dtype)
    out = {}
    for n in (1, 2):
        with fastdigits.simd(isa), fastdigits.threads(n):
            out[n] = [fastdigits.softmax_cross_entropy(x, y, reduction=r) for r in REDUCTIONS]
    for (l1, g1), (l2, g2) in zip(out[1], out[2]):
        assert np.array_equal(l1, l2) and np.array_equal(g1, g2)


def test_simd_paths_agree_closely(isa):
    x, y = make(np.random.default_rng(11), 31, 45, np.float32)
    with fastdigits.simd("generic"):
        base_loss, base_g = fastdigits.softmax_cross_entropy(x, y)
    with fastdigits.simd(isa):
        loss, g = fastdigits.softmax_cross_entropy(x, y)
    np.testing.assert_allclose(loss, base_loss, rtol=1e-6)
    np.testing.assert_allclose(g, base_g, rtol=1e-5, atol=1e-8)


def test_grad_out_is_used(dtype):
    x, y = make(np.random.default_rng(4), 9, 11, dtype)
    buf = np.full_like(x, 123.0)
    loss, g = fastdigits.softmax_cross_entropy(x, y, grad_out=buf)
    assert g is buf and np.shares_memory(g, buf)
    _, g2 = fastdigits.softmax_cross_entropy(x, y)
    np.testing.assert_array_equal(buf, g2)
    rloss, rg = reference.softmax_cross_entropy(x, y, grad_out=np.empty_like(x))
    np.testing.assert_allclose(rg, buf, rtol=tols(dtype)["rtol"], atol=1e-7)


def test_need_grad_false_skips_gradient():
    x, y = make(np.random.default_rng(8), 20, 10, np.float32)
    for r in REDUCTIONS:
        loss, g = fastdigits.softmax_cross_entropy(x, y, reduction=r, need_grad=False)
        full, _ = fastdigits.softmax_cross_entropy(x, y, reduction=r)
        assert g is None
        np.testing.assert_array_equal(loss, full)
        rl, rg = reference.softmax_cross_entropy(x, y, reduction=r, need_grad=False)
        assert rg is None


def test_read_only_and_non_contiguous_inputs():
    x, y = make(np.random.default_rng(9), 12, 20, np.float64)
    x.flags.writeable = False
    y.flags.writeable = False
    loss, g = fastdigits.softmax_cross_entropy(x, y)
    strided = x[:, ::2]
    l2, g2 = fastdigits.softmax_cross_entropy(strided, y % 10)
    l3, g3 = fastdigits.softmax_cross_entropy(np.ascontiguousarray(strided), y % 10)
    assert l2 == l3 and np.array_equal(g2, g3)
    check_parity(x, y, "mean")


@pytest.mark.parametrize(
    "ldtype", [np.uint8, np.int8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
)
def test_any_integer_label_dtype(ldtype):
    x, y = make(np.random.default_rng(10), 15, 10, np.float32)
    base = fastdigits.softmax_cross_entropy(x, y)
    loss, g = fastdigits.softmax_cross_entropy(x, y.astype(ldtype))
    assert loss == base[0] and np.array_equal(g, base[1])


def test_torch_tensors_via_numpy():
    torch = pytest.importorskip("torch")
    tx = torch.randn(6, 10, dtype=torch.float32)
    ty = torch.randint(0, 10, (6,))
    loss, g = fastdigits.softmax_cross_entropy(tx.numpy(), ty.numpy())
    ref = torch.nn.functional.cross_entropy(tx, ty)
    np.testing.assert_allclose(loss, ref.item(), rtol=2e-6)


def test_empty_batch():
    x = np.zeros((0, 10), np.float32)
    y = np.zeros(0, np.int64)
    loss, g = fastdigits.softmax_cross_entropy(x, y)
    assert np.isnan(loss) and g.shape == (0, 10)
    assert fastdigits.softmax_cross_entropy(x, y, reduction="sum")[0] == 0
    assert fastdigits.softmax_cross_entropy(x, y, reduction="none")[0].shape == (0,)


@pytest.mark.parametrize("bad", [-1, 10, 2**40])
def test_label_out_of_range_names_index_and_writes_nothing(bad):
    x, y = make(np.random.default_rng(1), 6, 10, np.float32)
    y[3] = bad
    buf = np.full_like(x, 7.0)
    with pytest.raises(ValueError, match=r"labels\[3\] = %d" % bad):
        fastdigits.softmax_cross_entropy(x, y, grad_out=buf)
    assert np.all(buf == 7.0)
    with pytest.raises(ValueError, match=r"labels\[3\]"):
        reference.softmax_cross_entropy(x, y)


def test_huge_unsigned_label_is_not_wrapped():
    x, y = make(np.random.default_rng(1), 4, 10, np.float32)
    y = y.astype(np.uint64)
    y[2] = np.uint64(2**64 - 1)  # would be -1 as int64
    with pytest.raises(ValueError, match=r"labels\[2\] = 18446744073709551615"):
        fastdigits.softmax_cross_entropy(x, y)


def test_bad_inputs_raise_clear_errors():
    x, y = make(np.random.default_rng(1), 6, 10, np.float32)
    sce = fastdigits.softmax_cross_entropy
    with pytest.raises(TypeError, match="logits"):
        sce(x.astype(np.int32), y)
    with pytest.raises(TypeError, match="logits"):
        sce(x.astype(np.float16), y)
    with pytest.raises(ValueError, match="logits"):
        sce(x.ravel(), y)
    with pytest.raises(TypeError, match="labels"):
        sce(x, y.astype(np.float32))
    with pytest.raises(TypeError, match="labels"):
        sce(x, y.astype(bool))
    with pytest.raises(ValueError, match="labels"):
        sce(x, y[:5])
    with pytest.raises(ValueError, match="labels"):
        sce(x, y.reshape(2, 3))
    with pytest.raises(ValueError, match="labels"):
        sce(np.zeros((2, 0), np.float32), [0, 0])
    with pytest.raises(ValueError, match="reduction"):
        sce(x, y, reduction="avg")
    with pytest.raises(TypeError, match="grad_out"):
        sce(x, y, grad_out=np.empty(x.shape, np.float64))
    with pytest.raises(TypeError, match="grad_out"):
        sce(x, y, grad_out=[[0.0] * 10] * 6)
    with pytest.raises(ValueError, match="grad_out"):
        sce(x, y, grad_out=np.empty((6, 11), np.float32))
    with pytest.raises(ValueError, match="grad_out"):
        sce(x, y, grad_out=np.empty((10, 6), np.float32).T)
    ro = np.empty_like(x)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="grad_out is read-only"):
        sce(x, y, grad_out=ro)
    with pytest.raises(ValueError, match="grad_out overlaps"):
        sce(x, y, grad_out=x)
    with pytest.raises(ValueError, match="need_grad"):
        sce(x, y, grad_out=np.empty_like(x), need_grad=False)
    with pytest.raises(TypeError):
        sce(x, y, "mean")  # keyword-only options


@pytest.mark.parametrize("where", ["start", "end"])
def test_no_out_of_bounds_access(isa, dtype, where):
    from _guarded import guarded_copy

    for m, c in [(1, 1), (3, 5), (2, 10), (5, 13), (1, 17), (9, 33)]:
        x0, y0 = make(np.random.default_rng(c), m, c, dtype)
        x, y = guarded_copy(x0, where), guarded_copy(y0.astype(np.int64), where)
        gbuf = guarded_copy(np.zeros_like(x0), where)
        with fastdigits.simd(isa):
            loss, g = fastdigits.softmax_cross_entropy(x, y, grad_out=gbuf, reduction="none")
            assert g is gbuf
            loss2, _ = fastdigits.softmax_cross_entropy(x, y, need_grad=False)
        rl, rg = reference.softmax_cross_entropy(x0, y0, reduction="none")
        np.testing.assert_allclose(loss, rl, **tols(dtype))
        np.testing.assert_allclose(g, rg, rtol=tols(dtype)["rtol"], atol=tols(dtype)["atol"])
        np.testing.assert_allclose(loss2, rl.astype(np.float64).mean(), **tols(dtype))


def test_concurrent_calls_from_python_threads():
    # the GIL is released around the kernel: concurrent callers must not
    # disturb each other (no hidden state in C)
    import threading

    x, y = make(np.random.default_rng(21), 600, 37, np.float64)
    want = fastdigits.softmax_cross_entropy(x, y, reduction="none")
    errors = []

    def work():
        try:
            for _ in range(20):
                got = fastdigits.softmax_cross_entropy(x, y, reduction="none")
                assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        except AssertionError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
