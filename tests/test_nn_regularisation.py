"""MLP dropout (fused in the C epoch), per-step learning-rate schedules,
label smoothing and fractional epochs (issue 14): parity with the NumPy
backend, determinism across thread counts, persistence and bad input."""

import numpy as np
import pytest

import fastdigits
from fastdigits import _mlp
from fastdigits._mlp_init import init_params
from fastdigits.nn import MLP
from fastdigits.reference import nn as ref


@pytest.fixture(scope="module")
def small():
    X, y = fastdigits.load_mnist("train", normalize=True, flatten=True)
    return X[:1200], y[:1200].astype(np.int64)


def _epoch(kernel, dtype, act, opt, X, y, **kw):
    P = init_params((784, 48, 24, 10), act, dtype, 3)
    G = [np.zeros_like(p) for p in P]
    S = [np.zeros_like(p) for p in (P + P if opt == "adam" else P)]
    order = np.random.default_rng(0).permutation(X.shape[0]).astype(np.int64)
    out = kernel(
        P,
        G,
        S,
        X.astype(dtype),
        y,
        order,
        activation=act,
        batch_size=50,
        optimizer=opt,
        lr=0.05 if opt == "sgd" else 1e-3,
        momentum=0.9 if opt == "sgd" else 0.0,
        weight_decay=0.0,
        step=7,
        **kw,
    )
    return out, P


FULL = dict(
    dropout=0.3,
    input_dropout=0.1,
    dropout_seed=5,
    label_smoothing=0.1,
    schedule="onecycle",
    schedule_start=2,
    schedule_total=40,
    warmup=8,
)


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "gelu", "identity"])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_epoch_matches_reference(small, dtype, act, opt):
    X, y = small
    (l1, c1, s1), P1 = _epoch(ref.train_epoch, dtype, act, opt, X, y, **FULL)
    (l2, c2, s2), P2 = _epoch(_mlp.train_epoch, dtype, act, opt, X, y, **FULL)
    assert s1 == s2 == 7 + 24
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert abs(c1 - c2) <= (3 if dtype == np.float32 else 0)
    np.testing.assert_allclose(l1, l2, rtol=tol)
    for a, b in zip(P1, P2):
        np.testing.assert_allclose(a, b, atol=tol, rtol=tol)


@pytest.mark.parametrize("schedule", ["constant", "linear"])
def test_schedules_match_reference(small, schedule):
    X, y = small
    kw = dict(schedule=schedule, schedule_total=24, warmup=5)
    _, P1 = _epoch(ref.train_epoch, np.float64, "relu", "sgd", X, y, **kw)
    _, P2 = _epoch(_mlp.train_epoch, np.float64, "relu", "sgd", X, y, **kw)
    for a, b in zip(P1, P2):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_dropout_changes_training_and_is_seeded(small):
    X, y = small
    _, plain = _epoch(_mlp.train_epoch, np.float64, "relu", "sgd", X, y)
    _, d1 = _epoch(_mlp.train_epoch, np.float64, "relu", "sgd", X, y, dropout=0.5, dropout_seed=1)
    _, d1b = _epoch(_mlp.train_epoch, np.float64, "relu", "sgd", X, y, dropout=0.5, dropout_seed=1)
    _, d2 = _epoch(_mlp.train_epoch, np.float64, "relu", "sgd", X, y, dropout=0.5, dropout_seed=2)
    assert not np.array_equal(plain[0], d1[0])
    assert not np.array_equal(d1[0], d2[0])
    assert all(np.array_equal(a, b) for a, b in zip(d1, d1b))


def test_dropout_bit_identical_across_threads(small, isa):
    X, y = small
    runs = []
    for t in (1, 2, 3):
        with fastdigits.threads(t), fastdigits.simd(isa):
            runs.append(_epoch(_mlp.train_epoch, np.float32, "relu", "adam", X, y, **FULL))
    for out, P in runs[1:]:
        assert out == runs[0][0]
        assert all(np.array_equal(a, b) for a, b in zip(P, runs[0][1]))


def test_label_smoothing_gradient_is_the_smoothed_targets():
    """The reference's smoothed gradient is (softmax - targets) / m with
    targets (1 - eps) onehot + eps / C."""
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 10))
    labels = rng.integers(0, 10, 6)
    _, g = ref.softmax_xent(logits, labels)
    eps, m, c = 0.2, 6, 10
    g -= eps / c / m
    g[np.arange(m), labels] += eps / m
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    t = np.full((m, c), eps / c)
    t[np.arange(m), labels] += 1 - eps
    np.testing.assert_allclose(g, (p - t) / m, atol=1e-15)


def test_step_lr_shapes():
    lrs = [ref.step_lr(1.0, "onecycle", t, 100, 20) for t in range(100)]
    assert lrs[0] == pytest.approx(1 / 25) and max(lrs) == pytest.approx(1.0, abs=1e-2)
    assert int(np.argmax(lrs)) in (19, 20) and lrs[-1] < 1e-3
    lin = [ref.step_lr(1.0, "linear", t, 100, 10) for t in range(100)]
    assert lin[0] == pytest.approx(0.1) and lin[9] == 1.0 and lin[-1] == pytest.approx(1 / 90)
    assert ref.step_lr(0.5, "constant", 50, 100, 0) == 0.5


def test_mlp_fast_and_numpy_agree_with_everything_on(small):
    X, y = small
    kw = dict(epochs=1.5, lr_schedule="onecycle", warmup=0.2, label_smoothing=0.1)
    models = [
        MLP((784, 32, 10), seed=1, backend=b, dropout=0.2, input_dropout=0.1)
        for b in ("fast", "numpy")
    ]
    for m in models:
        m.fit(X, y, **kw)
    for a, b in zip(models[0].params, models[1].params):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert models[0].epochs_trained == 2
    # predict applies no dropout: deterministic and equal to a plain forward
    z = models[0].decision_function(X[:50])
    assert np.array_equal(z, models[0].decision_function(X[:50]))
    np.testing.assert_allclose(z, ref.forward(models[0].params, X[:50], "relu"), atol=1e-5)


def test_fractional_epochs_see_part_of_the_data(small):
    X, y = small
    m = MLP((784, 16, 10), seed=0)
    seen = []
    m.fit(X, y, epochs=0.5, batch_size=100, callback=lambda e, d, t: seen.append(d))
    assert m.epochs_trained == 1 and max(seen) == 6


def test_dropout_saved_in_the_model_file(tmp_path, small):
    X, y = small
    m = MLP((784, 16, 10), seed=0, dropout=0.25, input_dropout=0.1)
    m.fit(X, y, epochs=1)
    again = MLP.load(m.save(tmp_path / "m"))
    assert (again.dropout, again.input_dropout) == (0.25, 0.1)
    assert np.array_equal(again.predict(X), m.predict(X))
    plain = MLP((784, 16, 10))
    assert MLP.load(plain.save(tmp_path / "p")).dropout == 0.0


@pytest.mark.parametrize(
    "kw, exc, word",
    [
        (dict(dropout=1.0), ValueError, "dropout"),
        (dict(dropout=-0.1), ValueError, "dropout"),
        (dict(input_dropout=1.5), ValueError, "input_dropout"),
        (dict(dropout="0.5"), TypeError, "dropout"),
    ],
)
def test_bad_dropout(kw, exc, word):
    with pytest.raises(exc, match=word):
        MLP((784, 16, 10), **kw)


@pytest.mark.parametrize(
    "kw, word",
    [
        (dict(label_smoothing=1.0), "label_smoothing"),
        (dict(warmup=1.5), "warmup"),
        (dict(warmup=-1), "warmup"),
        (dict(warmup=10, lr_schedule="cosine"), "warmup"),
        (dict(lr_schedule="step"), "lr_schedule"),
        (dict(epochs=-0.5), "epochs"),
    ],
)
def test_bad_fit_options(small, kw, word):
    X, y = small
    with pytest.raises(ValueError, match=word):
        MLP((784, 16, 10)).fit(X, y, **kw)
