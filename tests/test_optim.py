"""sgd_step / adam_step: parity with the NumPy reference, hand-computed steps
and torch.optim; tails, determinism across threads and SIMD paths,
in-place semantics and validation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdigits
from fastdigits import reference

DTYPES = [np.float32, np.float64]
ISAS = fastdigits.available_simd()
# n around the vector widths (4, 8, 16) and the 4096-element block size
SIZES = [1, 3, 7, 8, 15, 17, 33, 4095, 4097, 8193 + 5]
SGD_CASES = [
    dict(),
    dict(momentum=0.9),
    dict(momentum=0.5, nesterov=True),
    dict(weight_decay=0.1),
    dict(momentum=0.9, weight_decay=0.01, nesterov=True),
]


def tols(dtype):
    return dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-14)


def arrays(rng, shape, dtype, k):
    return [rng.standard_normal(shape).astype(dtype) for _ in range(k)]


def run_sgd(fn, p0, grads, lr=0.05, **kw):
    p = p0.copy()
    v = np.zeros_like(p) if kw.get("momentum", 0.0) else None
    for g in grads:
        fn(p, g, lr=lr, velocity=v, **kw)
    return p, v


def run_adam(fn, p0, grads, **kw):
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(grads, start=1):
        fn(p, g, m, v, step=t, **kw)
    return p, m, v


@pytest.mark.parametrize("n", SIZES)
def test_sgd_matches_reference_every_path_and_tail(isa, dtype, n):
    rng = np.random.default_rng(n)
    p0, *grads = arrays(rng, n, dtype, 4)
    for kw in SGD_CASES:
        with fastdigits.simd(isa):
            p, v = run_sgd(fastdigits.sgd_step, p0, grads, **kw)
        rp, rv = run_sgd(reference.sgd_step, p0, grads, **kw)
        np.testing.assert_allclose(p, rp, **tols(dtype))
        if v is not None:
            np.testing.assert_allclose(v, rv, **tols(dtype))


@pytest.mark.parametrize("n", SIZES)
def test_adam_matches_reference_every_path_and_tail(isa, dtype, n):
    rng = np.random.default_rng(n + 1)
    p0, *grads = arrays(rng, n, dtype, 4)
    kw = dict(lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.05)
    with fastdigits.simd(isa):
        got = run_adam(fastdigits.adam_step, p0, grads, **kw)
    ref = run_adam(reference.adam_step, p0, grads, **kw)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, **tols(dtype))


# what both property tests draw: the size, dtype, SIMD path and input seed
# (see property_inputs)
PROPERTY_DRAWS = dict(
    n=st.integers(1, 300),
    f64=st.booleans(),
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**32 - 1),
)


def property_inputs(n, f64, seed):
    """(dtype, p0, grads): a parameter and two gradient steps of n elements."""
    dtype = np.float64 if f64 else np.float32
    p0, *grads = arrays(np.random.default_rng(seed), n, dtype, 3)
    return dtype, p0, grads


@settings(max_examples=30, deadline=None)
@given(
    **PROPERTY_DRAWS,
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    nesterov=st.booleans(),
    wd=st.sampled_from([0.0, 1e-3, 0.5]),
    lr=st.floats(1e-4, 1.0),
)
def test_sgd_property(n, f64, isa, momentum, nesterov, wd, lr, seed):
    dtype, p0, grads = property_inputs(n, f64, seed)
    kw = dict(momentum=momentum, nesterov=nesterov and momentum > 0, weight_decay=wd)
    with fastdigits.simd(isa):
        p, _ = run_sgd(fastdigits.sgd_step, p0, grads, lr=lr, **kw)
    rp, _ = run_sgd(reference.sgd_step, p0, grads, lr=lr, **kw)
    np.testing.assert_allclose(p, rp, **tols(dtype))


@settings(max_examples=30, deadline=None)
@given(
    **PROPERTY_DRAWS,
    beta1=st.sampled_from([0.0, 0.9]),
    beta2=st.sampled_from([0.9, 0.999]),
    eps=st.sampled_from([1e-8, 1e-3]),
    wd=st.sampled_from([0.0, 0.01]),
    lr=st.floats(1e-4, 0.1),
)
def test_adam_property(n, f64, isa, beta1, beta2, eps, wd, lr, seed):
    dtype, p0, grads = property_inputs(n, f64, seed)
    kw = dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=wd)
    with fastdigits.simd(isa):
        got = run_adam(fastdigits.adam_step, p0, grads, **kw)
    ref = run_adam(reference.adam_step, p0, grads, **kw)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, **tols(dtype))


def test_sgd_hand_computed_step(isa):
    p = np.array([1.0, 2.0, -1.0, 0.5, 3.0])
    g = np.array([0.5, -1.0, 2.0, 0.0, -0.25])
    v = np.array([0.1, 0.0, -0.2, 1.0, 0.3])
    lr, mu, wd = 0.1, 0.9, 0.01
    expect_v, expect_p = [], []
    for pi, gi, vi in zip(p, g, v):
        d = gi + wd * pi
        nv = mu * vi + d
        expect_v.append(nv)
        expect_p.append(pi - lr * (d + mu * nv))  # nesterov
    with fastdigits.simd(isa):
        fastdigits.sgd_step(p, g, lr=lr, momentum=mu, velocity=v, weight_decay=wd, nesterov=True)
    np.testing.assert_allclose(v, expect_v, rtol=1e-15)
    np.testing.assert_allclose(p, expect_p, rtol=1e-15)


def test_adam_first_step_is_signed_lr(isa, dtype):
    # step 1 from zero moments: m_hat = g, v_hat = g^2, so
    # p <- p (1 - lr wd) - lr g / (|g| + eps)
    p = np.array([1.0, -2.0, 0.5, 4.0, -3.0, 2.5, 1.5, -0.5, 0.25], dtype)
    g = np.array([0.3, -2.0, 1e-3, -5.0, 0.0, 7.0, -0.1, 0.2, 1.0], dtype)
    lr, eps, wd = 0.01, 1e-8, 0.1
    expect = [
        float(pi) * (1 - lr * wd) - lr * float(gi) / (abs(float(gi)) + eps) for pi, gi in zip(p, g)
    ]
    m, v = np.zeros_like(p), np.zeros_like(p)
    with fastdigits.simd(isa):
        fastdigits.adam_step(p, g, m, v, lr=lr, eps=eps, step=1, weight_decay=wd)
    np.testing.assert_allclose(p, expect, rtol=1e-6 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(m, 0.1 * g.astype(np.float64), rtol=1e-6)
    np.testing.assert_allclose(v, 0.001 * g.astype(np.float64) ** 2, rtol=1e-6)


def test_several_steps_match_torch(isa, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    shape = (7, 13)
    p0, *grads = arrays(rng, shape, dtype, 6)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for kw in SGD_CASES:
        tp = torch.tensor(p0.copy(), requires_grad=True)
        opt = torch.optim.SGD([tp], lr=0.05, **kw)
        for g in grads:
            tp.grad = torch.tensor(g)
            opt.step()
        with fastdigits.simd(isa):
            p, _ = run_sgd(fastdigits.sgd_step, p0, grads, lr=0.05, **kw)
        np.testing.assert_allclose(p, tp.detach().numpy(), **tol)
    for kw in (dict(lr=1e-2), dict(lr=3e-3, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)):
        tp = torch.tensor(p0.copy(), requires_grad=True)
        opt = torch.optim.AdamW([tp], **kw)
        for g in grads:
            tp.grad = torch.tensor(g)
            opt.step()
        b1, b2 = kw.get("betas", (0.9, 0.999))
        with fastdigits.simd(isa):
            p, m, v = run_adam(
                fastdigits.adam_step,
                p0,
                grads,
                lr=kw["lr"],
                beta1=b1,
                beta2=b2,
                eps=kw.get("eps", 1e-8),
                weight_decay=kw.get("weight_decay", 0.01),
            )
        np.testing.assert_allclose(p, tp.detach().numpy(), **tol)
        st_ = opt.state[tp]
        np.testing.assert_allclose(m, st_["exp_avg"].numpy(), **tol)
        np.testing.assert_allclose(v, st_["exp_avg_sq"].numpy(), **tol)


def test_updates_torch_parameter_in_place():
    torch = pytest.importorskip("torch")
    w = torch.nn.Parameter(torch.randn(5, 4))
    before = w.detach().clone()
    g = torch.randn(5, 4)
    fastdigits.sgd_step(w.detach().numpy(), g.numpy(), lr=0.5)
    np.testing.assert_allclose(w.detach().numpy(), (before - 0.5 * g).numpy(), rtol=1e-6)


def test_one_and_two_threads_identical(isa, dtype):
    rng = np.random.default_rng(12)
    n = 784 * 100 + 3
    p0, *grads = arrays(rng, n, dtype, 2)
    res = {}
    for t in (1, 2):
        with fastdigits.simd(isa), fastdigits.threads(t):
            s = run_sgd(
                fastdigits.sgd_step, p0, grads, momentum=0.9, nesterov=True, weight_decay=1e-3
            )
            a = run_adam(fastdigits.adam_step, p0, grads, lr=1e-3, weight_decay=0.01)
        res[t] = (s, a)
    assert np.array_equal(res[1][0][0], res[2][0][0])
    assert np.array_equal(res[1][0][1], res[2][0][1])
    for a, b in zip(res[1][1], res[2][1]):
        assert np.array_equal(a, b)


def test_in_place_any_shape_and_returns_none():
    rng = np.random.default_rng(4)
    p = rng.standard_normal((3, 5, 7))
    g = rng.standard_normal((3, 5, 7))
    m, v = np.zeros_like(p), np.zeros_like(p)
    buf = p
    assert fastdigits.adam_step(p, g, m, v, lr=0.1, step=1) is None
    assert p is buf and not np.array_equal(p, g) and np.any(m != 0) and np.any(v != 0)
    before = p.copy()
    assert fastdigits.sgd_step(p, g, lr=0.1) is None
    np.testing.assert_allclose(p, before - 0.1 * g, rtol=1e-15)
    ro = g.copy()
    ro.flags.writeable = False  # read-only gradients are fine
    fastdigits.sgd_step(p, ro, lr=0.1)


def test_zero_lr_and_empty_params_leave_params_alone():
    rng = np.random.default_rng(5)
    p = rng.standard_normal(37).astype(np.float32)
    before = p.copy()
    fastdigits.sgd_step(p, rng.standard_normal(37).astype(np.float32), lr=0.0)
    assert np.array_equal(p, before)
    e = np.zeros(0, np.float32)
    fastdigits.adam_step(e, e.copy(), e.copy(), e.copy(), lr=0.1, step=1)


def _bufs(dtype=np.float32, n=10):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(n).astype(dtype) for _ in range(4)]


def test_sgd_validation_names_argument_and_writes_nothing():
    p, g, v, _ = _bufs()
    before = p.copy()
    sgd = fastdigits.sgd_step
    cases = [
        (TypeError, "param", lambda: sgd(list(p), g, lr=0.1)),
        (TypeError, "param", lambda: sgd(p.astype(np.int32), g, lr=0.1)),
        (TypeError, "grad", lambda: sgd(p, g.astype(np.float64), lr=0.1)),
        (ValueError, "grad", lambda: sgd(p, g[:5], lr=0.1)),
        (ValueError, "lr", lambda: sgd(p, g, lr=float("nan"))),
        (ValueError, "lr", lambda: sgd(p, g, lr=float("inf"))),
        (ValueError, "lr", lambda: sgd(p, g, lr=-0.1)),
        (TypeError, "lr", lambda: sgd(p, g, lr="0.1")),
        (ValueError, "momentum", lambda: sgd(p, g, lr=0.1, momentum=float("nan"), velocity=v)),
        (ValueError, "weight_decay", lambda: sgd(p, g, lr=0.1, weight_decay=float("inf"))),
        (ValueError, "velocity", lambda: sgd(p, g, lr=0.1, momentum=0.9)),
        (ValueError, "velocity", lambda: sgd(p, g, lr=0.1, momentum=0.9, velocity=v[:3])),
        (
            TypeError,
            "velocity",
            lambda: sgd(p, g, lr=0.1, momentum=0.9, velocity=v.astype(np.float64)),
        ),
        (ValueError, "nesterov", lambda: sgd(p, g, lr=0.1, nesterov=True)),
        (ValueError, "grad overlaps param", lambda: sgd(p, p, lr=0.1)),
        (ValueError, "velocity", lambda: sgd(p, g, lr=0.1, momentum=0.9, velocity=p)),
        (ValueError, "velocity overlaps grad", lambda: sgd(p, g, lr=0.1, momentum=0.9, velocity=g)),
    ]
    for exc, name, call in cases:
        with pytest.raises(exc, match=name):
            call()
        assert np.array_equal(p, before), name
    ro = p.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="param is read-only"):
        sgd(ro, g, lr=0.1)
    with pytest.raises(ValueError, match="param must be C-contiguous"):
        sgd(np.zeros((4, 4), np.float32).T, np.zeros((4, 4), np.float32), lr=0.1)
    with pytest.raises(ValueError, match="nesterov"):
        reference.sgd_step(p, g, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="velocity"):
        reference.sgd_step(p, g, lr=0.1, momentum=0.9)


def test_adam_validation_names_argument_and_writes_nothing():
    p, g, m, v = _bufs(np.float64)
    before = [a.copy() for a in (p, m, v)]
    adam = fastdigits.adam_step
    whole = np.zeros(20)
    cases = [
        (ValueError, "step", lambda: adam(p, g, m, v, lr=0.1, step=0)),
        (TypeError, "step", lambda: adam(p, g, m, v, lr=0.1, step=1.0)),
        (TypeError, "step", lambda: adam(p, g, m, v, lr=0.1, step=True)),
        (ValueError, "beta1", lambda: adam(p, g, m, v, lr=0.1, beta1=1.0, step=1)),
        (ValueError, "beta2", lambda: adam(p, g, m, v, lr=0.1, beta2=float("nan"), step=1)),
        (ValueError, "beta2", lambda: adam(p, g, m, v, lr=0.1, beta2=-0.5, step=1)),
        (ValueError, "eps", lambda: adam(p, g, m, v, lr=0.1, eps=float("inf"), step=1)),
        (
            ValueError,
            "weight_decay",
            lambda: adam(p, g, m, v, lr=0.1, weight_decay=float("nan"), step=1),
        ),
        (ValueError, "lr", lambda: adam(p, g, m, v, lr=float("-inf"), step=1)),
        (TypeError, "m ", lambda: adam(p, g, m.astype(np.float32), v, lr=0.1, step=1)),
        (ValueError, "v ", lambda: adam(p, g, m, v[:4], lr=0.1, step=1)),
        (ValueError, "m overlaps param", lambda: adam(p, g, p, v, lr=0.1, step=1)),
        (ValueError, "v overlaps m", lambda: adam(p, g, m, m, lr=0.1, step=1)),
        (ValueError, "v overlaps grad", lambda: adam(p, g, m, g, lr=0.1, step=1)),
        # partial overlap: two views of one buffer
        (
            ValueError,
            "m overlaps param",
            lambda: adam(whole[:10], g, whole[5:15], v, lr=0.1, step=1),
        ),
    ]
    for exc, name, call in cases:
        with pytest.raises(exc, match=name):
            call()
        for a, b in zip((p, m, v), before):
            assert np.array_equal(a, b), name
    assert np.all(whole == 0)
    ro = v.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="v is read-only"):
        adam(p, g, m, ro, lr=0.1, step=1)
    with pytest.raises(TypeError):
        adam(p, g, m, v, 0.1, step=1)  # options are keyword-only
    with pytest.raises(ValueError, match="step"):
        reference.adam_step(p, g, m, v, lr=0.1, step=0)


@pytest.mark.parametrize("where", ["start", "end"])
def test_no_out_of_bounds_access(isa, dtype, where):
    from _guarded import guarded_copy

    for n in [1, 3, 5, 9, 17, 31, 4096 + 3]:
        rng = np.random.default_rng(n)
        p0, g0, v0 = arrays(rng, n, dtype, 3)
        m0, s0 = v0 * 0.1, np.abs(v0)
        p, g, v = (guarded_copy(a, where) for a in (p0, g0, v0))
        ap, m, s = (guarded_copy(a, where) for a in (p0, m0, s0))
        with fastdigits.simd(isa):
            fastdigits.sgd_step(
                p, g, lr=0.1, momentum=0.9, velocity=v, nesterov=True, weight_decay=0.01
            )
            fastdigits.adam_step(ap, g, m, s, lr=0.1, step=2, weight_decay=0.01)
        rp, rv = p0.copy(), v0.copy()
        reference.sgd_step(
            rp, g0, lr=0.1, momentum=0.9, velocity=rv, nesterov=True, weight_decay=0.01
        )
        np.testing.assert_allclose(p, rp, **tols(dtype))
        np.testing.assert_allclose(v, rv, **tols(dtype))
        rap = p0.copy()
        reference.adam_step(rap, g0, m0, s0, lr=0.1, step=2, weight_decay=0.01)
        for got, want in ((ap, rap), (m, m0), (s, s0)):
            np.testing.assert_allclose(got, want, **tols(dtype))


def test_concurrent_steps_on_separate_buffers():
    import threading

    rng = np.random.default_rng(22)
    p0, g = arrays(rng, 50_000, np.float32, 2)
    want = p0.copy()
    wm, wv = np.zeros_like(p0), np.zeros_like(p0)
    for t in range(1, 6):
        fastdigits.adam_step(want, g, wm, wv, lr=1e-2, step=t)
    results = [None] * 4

    def work(k):
        p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
        for t in range(1, 6):
            fastdigits.adam_step(p, g, m, v, lr=1e-2, step=t)
        results[k] = p

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        assert np.array_equal(r, want)
