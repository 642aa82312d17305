"""NaN through the MLP: the fast backend reports what the NumPy backend does.

Before the relu fix the fast kernels turned a NaN pre-activation into 0, so
one NaN image trained NaN weights while the reported epoch loss stayed
finite (2.39 against the NumPy backend's NaN).
"""

import numpy as np
import pytest

from fastdigits import MLP


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 20)).astype(np.float32)
    X[0, :] = np.nan
    return X, np.arange(256) % 10


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_nan_input_gives_nan_loss_in_both_backends(activation):
    X, y = _data()
    hist = {}
    for backend in ("fast", "numpy"):
        m = MLP([20, 16, 10], activation=activation, backend=backend, seed=0)
        hist[backend] = m.fit(X, y, epochs=1, batch_size=64)[-1]
    assert np.isnan(hist["numpy"]["loss"])
    assert np.isnan(hist["fast"]["loss"])
    # the train accuracy's argmax treats NaN logits as np.argmax does
    assert hist["fast"]["train_acc"] == hist["numpy"]["train_acc"]


def test_all_nan_image_predicts_as_the_numpy_backend():
    """Both backends give NaN logits for an all-NaN image and the same class
    (np.argmax: the first NaN, class 0)."""
    X, y = _data()
    preds = {}
    for backend in ("fast", "numpy"):
        m = MLP([20, 16, 10], backend=backend, seed=0)
        m.fit(X[1:], y[1:], epochs=1, batch_size=64)
        nan_img = np.full((1, 20), np.nan, np.float32)
        assert np.isnan(m.decision_function(nan_img)).all()
        preds[backend] = m.predict(nan_img)
    assert preds["fast"].tolist() == preds["numpy"].tolist() == [0]
