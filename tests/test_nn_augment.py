"""MLP.fit(augment=...) (issue 14): every batch is warped, cast and
normalised by the augmentation kernel inside the C epoch.  Parity with the
NumPy backend (fastdigits.reference.augment), determinism across thread
counts, a new warp every epoch, and bad input rejected before any work."""

import numpy as np
import pytest

import fastdigits
from fastdigits import _mlp
from fastdigits._augspec import ops
from fastdigits._mlp_init import init_params
from fastdigits.augment import Affine, Compose, Elastic
from fastdigits.nn import MLP
from fastdigits.reference import augment as ref_augment
from fastdigits.reference import nn as ref_nn

SPEC = [Affine(degrees=10, translate=0.1, scale=(0.9, 1.1)), Elastic(8, 3)]


@pytest.fixture(scope="module")
def raw():
    X, y = fastdigits.load_mnist("train")
    return X[:600], y[:600].astype(np.int64)


def _fit(X, y, backend="numpy", threads=1, epochs=1, spec=SPEC, fit_kw=None, **kw):
    with fastdigits.threads(threads):
        m = MLP((784, 40, 10), seed=5, dropout=0.2, backend=backend, **kw)
        m.fit(
            X,
            y,
            epochs=epochs,
            batch_size=50,
            augment=spec,
            lr_schedule="onecycle",
            **(fit_kw or {}),
        )
    return m


# what the epoch-kernel tests share: plain SGD on a ReLU net, MNIST normalisation
EPOCH_KW = dict(
    activation="relu",
    optimizer="sgd",
    lr=0.05,
    weight_decay=0.0,
    normalization=(1 / 255, 0.1307, 0.3081),
)


def _params_and_grads(hidden, seed):
    """float32 784-hidden-10 ReLU parameters and zero gradients."""
    P = init_params((784, hidden, 10), "relu", np.float32, seed)
    return P, [np.zeros_like(p) for p in P]


def _kernel_epoch(X, y, augment_epoch, kernel=_mlp.train_epoch):
    P, G = _params_and_grads(24, 2)
    kernel(
        P,
        G,
        [],
        X,
        y,
        np.arange(X.shape[0], dtype=np.int64),
        batch_size=25,
        momentum=0.0,
        augment=ops(SPEC),
        augment_seed=1,
        augment_epoch=augment_epoch,
        **EPOCH_KW,
    )
    return P


def test_fast_matches_numpy_backend(raw):
    X, y = raw[0][:300], raw[1][:300]
    fast = _fit(X, y, backend="fast")
    slow = _fit(X, y, backend="numpy")
    for a, b in zip(fast.params, slow.params):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert fast.history[0]["train_acc"] == pytest.approx(slow.history[0]["train_acc"], abs=0.01)


@pytest.mark.parametrize("spec", [Affine(degrees=15), Elastic(34, 4), Compose([])])
def test_epoch_kernel_matches_reference_batches(raw, spec, isa):
    """The C epoch against the NumPy epoch on the same augmented batches."""
    X, y = raw[0][:200], raw[1][:200]
    order = np.random.default_rng(1).permutation(200).astype(np.int64)[:170]
    kw = dict(
        batch_size=32, momentum=0.9, augment=ops(spec), augment_seed=9, augment_epoch=3, **EPOCH_KW
    )
    res = []
    for kernel in (_mlp.train_epoch, ref_nn.train_epoch):
        P, G = _params_and_grads(32, 1)
        S = [np.zeros_like(p) for p in P]
        with fastdigits.simd(isa):
            out = kernel(P, G, S, X, y, order, **kw)
        res.append((out, P))
    (lf, cf, sf), Pf = res[0]
    (lr_, cr, sr), Pr = res[1]
    assert sf == sr == 6 and cf == cr
    assert lf == pytest.approx(lr_, rel=1e-5)
    for a, b in zip(Pf, Pr):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("sigma", [1e-162, 5e-324])
def test_tiny_sigma_epoch_is_the_sigma_zero_epoch(raw, sigma):
    """2 sigma**2 == 0: the C epoch trained on blank (NaN-weighted) images
    and the NumPy epoch raised ZeroDivisionError; now both are sigma 0's."""
    X, y = raw[0][:100], raw[1][:100]
    order = np.arange(100, dtype=np.int64)
    kw = dict(batch_size=25, momentum=0.0, augment_seed=3, augment_epoch=1, **EPOCH_KW)
    res = {}
    for kernel in (_mlp.train_epoch, ref_nn.train_epoch):
        for s in (sigma, 0.0):
            P, G = _params_and_grads(16, 4)
            out = kernel(P, G, [], X, y, order, augment=ops(Elastic(6, s)), **kw)
            res[kernel, s] = (out, P)
    (out_tiny, P_tiny), (out_zero, P_zero) = (
        res[_mlp.train_epoch, sigma],
        res[_mlp.train_epoch, 0.0],
    )
    assert out_tiny == out_zero and np.isfinite(out_tiny[0])
    for a, b in zip(P_tiny, P_zero):
        assert np.array_equal(a, b)
    (ref_tiny, Pr_tiny), (ref_zero, Pr_zero) = (
        res[ref_nn.train_epoch, sigma],
        res[ref_nn.train_epoch, 0.0],
    )
    assert ref_tiny == ref_zero
    for a, b, c in zip(Pr_tiny, Pr_zero, P_zero):
        assert np.array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-5)


def test_reference_batch_is_the_augment_twin(raw):
    X = raw[0][:20]
    idx = np.arange(3, 19, 2, dtype=np.int64)
    got = ref_nn._augment_batch(X, idx, ops(SPEC), 4, 2, (1 / 255, 0.1307, 0.3081))
    want = ref_augment.apply(X[idx], SPEC, 4, epoch=2, indices=idx)
    want = want * np.float32(1 / 255 / 0.3081) + np.float32(-0.1307 / 0.3081)
    np.testing.assert_allclose(got, want.reshape(8, 784), rtol=1e-6, atol=1e-6)


def test_bit_identical_across_threads(raw, threads):
    X, y = raw
    base = _fit(X, y, backend="fast", threads=1, epochs=2)
    other = _fit(X, y, backend="fast", threads=threads, epochs=2)
    for a, b in zip(base.params, other.params):
        assert np.array_equal(a, b)


def test_warps_change_with_epoch_and_flat_rows_work(raw):
    X, y = raw[0][:200], raw[1][:200]
    # flat (n, 784) rows are square 28 x 28 images; same result as (n, 28, 28)
    a = _fit(X.reshape(200, 784), y, backend="fast")
    b = _fit(X, y, backend="fast")
    c = _fit(X.reshape(200, 784), y, backend="fast", fit_kw={"image_shape": (28, 28)})
    for p, q, r in zip(a.params, b.params, c.params):
        assert np.array_equal(p, q) and np.array_equal(p, r)
    # the epoch number is in the key: same order, new warps, other weights
    e0, e0b, e1 = (_kernel_epoch(X, y, e) for e in (0, 0, 1))
    assert np.array_equal(e0[0], e0b[0])
    assert not np.array_equal(e0[0], e1[0])
    # and augmentation does change training
    plain = MLP((784, 40, 10), seed=5, dropout=0.2, normalization="mnist")
    plain.fit(X, y, epochs=1, batch_size=50, lr_schedule="onecycle")
    assert not np.array_equal(plain.params[0], a.params[0])


def test_normalization_defaults_to_mnist(raw):
    X, y = raw[0][:100], raw[1][:100]
    m = _fit(X, y, backend="fast")
    assert m.normalization == pytest.approx((1 / 255, 0.1307, 0.3081))
    own = _fit(X, y, backend="fast", normalization=(1 / 255, 0.5, 0.5))
    assert own.normalization == (1 / 255, 0.5, 0.5)
    assert not np.array_equal(own.params[0], m.params[0])
    # inference on raw uint8 pixels uses the same normalisation
    assert m.predict(X).shape == (100,)


@pytest.mark.parametrize("backend", ["fast", "numpy"])
@pytest.mark.parametrize(
    "model_kw, X, fit_kw, exc, match",
    [
        ({"dtype": np.float64}, "u8", {}, TypeError, "float32 model"),
        ({}, "f32", {}, TypeError, "raw uint8"),
        ({}, "u8_27", {}, ValueError, "model expects 784"),
        ({}, "u8_flat_odd", {}, ValueError, "not a square image"),
        ({}, "u8", {"image_shape": (28, 27)}, ValueError, "image_shape"),
        ({}, "u8", {"image_shape": (0, 784)}, ValueError, "image_shape"),
        ({}, "u8", {"augment": Affine(degrees=5), "image_shape": "x"}, ValueError, "image_shape"),
        ({}, "u8", {"augment": "affine"}, (TypeError, ValueError), "augment|spec|Affine"),
        ({}, "u8", {"augment": None, "image_shape": (28, 28)}, ValueError, "only with augment"),
    ],
)
def test_bad_input(raw, backend, model_kw, X, fit_kw, exc, match):
    Xu, y = raw[0][:64], raw[1][:64]
    arrays = {
        "u8": Xu,
        "f32": Xu.astype(np.float32),
        "u8_27": Xu[:, :27, :27],
        "u8_flat_odd": np.zeros((64, 783), np.uint8),
    }
    sizes = (783,) if X == "u8_flat_odd" else (784,)
    m = MLP(sizes + (16, 10), seed=0, backend=backend, **model_kw)
    before = [p.copy() for p in m.params]
    kw = {"augment": Affine(degrees=5)}
    kw.update(fit_kw)
    with pytest.raises(exc, match=match):
        m.fit(arrays[X], y, epochs=1, **kw)
    assert m.epochs_trained == 0
    assert all(np.array_equal(p, q) for p, q in zip(m.params, before))


def test_kernel_validation():
    P = init_params((784, 16, 10), "relu", np.float32, 0)
    G = [np.zeros_like(p) for p in P]
    X = np.zeros((4, 28, 28), np.uint8)
    y = np.zeros(4, np.int64)
    o = np.arange(4, dtype=np.int64)
    kw = dict(
        activation="relu", batch_size=2, optimizer="sgd", lr=0.1, momentum=0.0, weight_decay=0.0
    )
    aug = ops(Affine(degrees=5))
    norm = (1 / 255, 0.1307, 0.3081)
    with pytest.raises(ValueError, match="normalization"):
        _mlp.train_epoch(P, G, [], X, y, o, augment=aug, **kw)
    with pytest.raises(ValueError, match="std > 0"):
        _mlp.train_epoch(P, G, [], X, y, o, augment=aug, normalization=(1, 0, 0), **kw)
    with pytest.raises(TypeError, match="uint8"):
        _mlp.train_epoch(
            P, G, [], X.astype(np.float32), y, o, augment=aug, normalization=norm, **kw
        )
    with pytest.raises(ValueError, match="27 x 28"):
        _mlp.train_epoch(
            P, G, [], np.ascontiguousarray(X[:, 1:]), y, o, augment=aug, normalization=norm, **kw
        )
    with pytest.raises(ValueError, match="augment_epoch"):
        _mlp.train_epoch(
            P, G, [], X, y, o, augment=aug, normalization=norm, augment_epoch=2**32, **kw
        )
    P64 = init_params((784, 16, 10), "relu", np.float64, 0)
    G64 = [np.zeros_like(p) for p in P64]
    with pytest.raises(TypeError, match="float32"):
        _mlp.train_epoch(P64, G64, [], X, y, o, augment=aug, normalization=norm, **kw)
    _mlp.train_epoch(P, G, [], X, y, o, augment=aug, normalization=norm, **kw)  # fine


@pytest.mark.slow
def test_mlp99_recipe_augments_on_a_slice(capsys):
    from fastdigits.cli import main

    rc = main(["train", "--recipe", "mlp99", "--limit", "300", "--threads", "2", "--no-progress"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "augment: Affine(" in out and "fast test accuracy:" in out
    rc = main(["train", "--recipe", "mlp99", "--limit", "300", "--dtype", "float64"])
    out, err = capsys.readouterr()
    assert rc == 2 and "needs --dtype float32" in err
