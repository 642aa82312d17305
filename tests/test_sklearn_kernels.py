"""The scikit-learn semantics of the MLP epoch kernel (l2, nesterov,
adam_eps_hat): C against the NumPy twin and against the formulas; and
fastdigits.nn.MLP.score.  No scikit-learn needed."""

import math

import numpy as np
import pytest

from fastdigits import _mlp
from fastdigits.nn import MLP
from fastdigits.reference import nn as ref

TOL = {np.float32: dict(rtol=2e-4, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-13)}


def _run(kernel, optimizer, dtype, n=203, batch=50, **kw):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 12)).astype(dtype)
    y = rng.integers(0, 4, n)
    params = ref.init_params((12, 9, 4), "tanh", dtype, 1)
    grads = [np.zeros_like(p) for p in params]
    k = 2 if optimizer == "adam" else (1 if kw.get("momentum") else 0)
    state = [np.zeros_like(p) for p in params * k]
    order = rng.permutation(n).astype(np.int64)
    out = kernel(
        params,
        grads,
        state,
        X,
        y,
        order,
        activation="tanh",
        batch_size=batch,
        optimizer=optimizer,
        lr=0.05 if optimizer == "sgd" else 0.01,
        weight_decay=0.0,
        **dict(dict(momentum=0.0), **kw),
    )
    return out, params


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "optimizer, kw",
    [
        ("sgd", dict(l2=0.7)),
        ("sgd", dict(l2=0.7, momentum=0.9, nesterov=True)),
        ("sgd", dict(momentum=0.5, nesterov=True)),
        ("adam", dict(l2=0.3, adam_eps_hat=True, eps=1e-2)),
        ("adam", dict(adam_eps_hat=True, eps=1e-2, beta2=0.9)),
    ],
)
def test_epoch_c_matches_numpy_twin(isa, dtype, optimizer, kw):
    """(l2: the penalty's span on each SIMD path.)"""
    import fastdigits

    with fastdigits.simd(isa):
        (loss_c, correct_c, step_c), p_c = _run(_mlp.train_epoch, optimizer, dtype, **kw)
    (loss_r, correct_r, step_r), p_r = _run(ref.train_epoch, optimizer, dtype, **kw)
    assert step_c == step_r == 5
    assert loss_c == pytest.approx(loss_r, rel=TOL[dtype]["rtol"])
    for a, b in zip(p_c, p_r):
        np.testing.assert_allclose(a, b, **TOL[dtype])


def test_options_change_the_result():
    # each option really reaches the kernel (not silently ignored)
    base_sgd = _run(_mlp.train_epoch, "sgd", np.float64, momentum=0.9)
    base_adam = _run(_mlp.train_epoch, "adam", np.float64, eps=1e-2)
    for opt, base, kw in (
        ("sgd", base_sgd, dict(momentum=0.9, l2=0.5)),
        ("sgd", base_sgd, dict(momentum=0.9, nesterov=True)),
        ("adam", base_adam, dict(eps=1e-2, adam_eps_hat=True)),
    ):
        _, p = _run(_mlp.train_epoch, opt, np.float64, **kw)
        assert not np.allclose(p[0], base[1][0])


def test_l2_loss_and_gradient_formula():
    # One full batch, plain SGD: the step is lr * (dxent/dW + l2/m * W) on the
    # weights only, and the loss gains l2/2 * sum ||W||^2 (per batch, m rows:
    # l2/(2m) per row).
    n, l2, lr = 40, 0.9, 0.1
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, 6))
    y = rng.integers(0, 3, n)
    p0 = ref.init_params((6, 5, 3), "relu", np.float64, 0)
    p0[1][:] = 0.3
    outs = []
    for l2_ in (0.0, l2):
        p = [a.copy() for a in p0]
        g = [np.zeros_like(a) for a in p]
        loss, _, _ = _mlp.train_epoch(
            p,
            g,
            [],
            X,
            y,
            np.arange(n, dtype=np.int64),
            activation="relu",
            batch_size=n,
            optimizer="sgd",
            lr=lr,
            momentum=0.0,
            weight_decay=0.0,
            l2=l2_,
        )
        outs.append((loss, p))
    sq = sum(float((W * W).sum()) for W in p0[0::2])
    assert outs[1][0] == pytest.approx(outs[0][0] + 0.5 * l2 * sq, rel=1e-12)
    for j, (a, b) in enumerate(zip(outs[0][1], outs[1][1])):
        extra = lr * l2 / n * p0[j] if j % 2 == 0 else 0.0  # biases: no penalty
        np.testing.assert_allclose(b, a - extra, rtol=1e-12, atol=1e-15)


def test_eps_hat_is_eps_over_sqrt_bias_correction():
    # adam_eps_hat=True on step t == eps / sqrt(1 - beta2**t) without it
    kw = dict(batch=203, beta2=0.9)
    _, p_hat = _run(_mlp.train_epoch, "adam", np.float64, eps=0.05, adam_eps_hat=True, **kw)
    _, p_eq = _run(_mlp.train_epoch, "adam", np.float64, eps=0.05 / math.sqrt(1 - 0.9), **kw)
    for a, b in zip(p_hat, p_eq):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("l2", [-1.0, float("inf"), float("nan")])
def test_bad_l2(l2):
    with pytest.raises(ValueError, match="l2"):
        _run(_mlp.train_epoch, "sgd", np.float64, l2=l2)


def test_mlp_score():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 10)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    m = MLP((10, 8, 3), seed=0)
    assert m.score(X, y) == pytest.approx(float((m.predict(X) == y).mean()))
    assert m.score(X, y) == pytest.approx(m.evaluate(X, y)[1])
    m.fit(X, y, epochs=100, batch_size=16)  # random labels: memorised
    assert m.score(X, y) > 0.8
    with pytest.raises(ValueError, match="outside"):
        m.score(X, y + 3)
    with pytest.raises(ValueError, match="features"):
        m.score(X[:, :5], y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_l2_pass_same_bits_for_any_thread_count(dtype):
    # the L2 pass is threaded over fixed blocks (first layer: 300 x 256 weights,
    # enough for two threads); its loss and updates must not depend on them
    import fastdigits

    rng = np.random.default_rng(2)
    X = rng.standard_normal((90, 300)).astype(dtype)
    y = rng.integers(0, 5, 90)
    out = []
    for nt in (1, 2, 3):
        p = ref.init_params((300, 256, 5), "relu", dtype, 0)
        g = [np.zeros_like(a) for a in p]
        st = [np.zeros_like(a) for a in p + p]
        with fastdigits.threads(nt):
            r = _mlp.train_epoch(
                p,
                g,
                st,
                X,
                y,
                np.arange(90, dtype=np.int64),
                activation="relu",
                batch_size=32,
                optimizer="adam",
                lr=1e-2,
                momentum=0.0,
                weight_decay=0.0,
                l2=0.3,
                adam_eps_hat=True,
            )
        out.append((r, p))
    for r, p in out[1:]:
        assert r == out[0][0]
        for a, b in zip(p, out[0][1]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
@pytest.mark.parametrize("eps_hat", [False, True])
def test_adam_with_l2_is_the_l2_gradient_then_adam(precision, eps_hat, threads):
    """Adam with l2 (the penalty and the step in one pass over each weight)
    gives the bits of the two steps apart: the l2 gradient (an SGD step of
    lr 0 leaves the weights and returns it in grads) then fastdigits.adam_step."""
    import fastdigits

    rng = np.random.default_rng(4)
    n, l2, lr, eps, b2 = 77, 0.3, 1e-2, 1e-3, 0.999
    X = rng.standard_normal((n, 300)).astype(np.float32)
    y = rng.integers(0, 10, n)
    order = np.arange(n, dtype=np.int64)
    kw = dict(activation="relu", batch_size=n, momentum=0.0, weight_decay=0.0, l2=l2)
    kw.update(precision=precision)
    with fastdigits.threads(threads):
        p = ref.init_params((300, 256, 10), "relu", np.float32, 0)
        g = [np.zeros_like(a) for a in p]
        st = [np.zeros_like(a) for a in p + p]
        got = _mlp.train_epoch(
            p, g, st, X, y, order, optimizer="adam", lr=lr, eps=eps, adam_eps_hat=eps_hat, **kw
        )
        q = ref.init_params((300, 256, 10), "relu", np.float32, 0)
        gq = [np.zeros_like(a) for a in q]
        plain = _mlp.train_epoch(q, gq, [], X, y, order, optimizer="sgd", lr=0.0, **kw)
        e = eps / math.sqrt(1.0 - b2) if eps_hat else eps
        m2 = [np.zeros_like(a) for a in q + q]
        for i, (w, gw) in enumerate(zip(q, gq)):
            fastdigits.adam_step(w, gw, m2[i], m2[len(q) + i], lr=lr, eps=e, beta2=b2, step=1)
    assert got[0] == plain[0] and got[2] == plain[2] == 1
    for a, b in zip(g + p + st, gq + q + m2):
        np.testing.assert_array_equal(a, b)


def test_without_sklearn_the_import_error_says_what_to_install():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "try:\n    import fastdigits.sklearn\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pip install 'fastdigits[sklearn]'" in out.stdout, out.stdout + out.stderr
