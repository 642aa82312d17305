"""fastdigits.sklearn.MLPClassifier: scikit-learn's estimator checks, parity
with sklearn.neural_network.MLPClassifier, partial_fit, labels, Pipeline and
GridSearchCV, errors."""

import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLP  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastdigits.sklearn import MLPClassifier  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _digits(n=400, dtype=np.float64):
    X, y = load_digits(return_X_y=True)
    return np.ascontiguousarray(X[:n] / 16.0, dtype=dtype), y[:n]


# Every check of scikit-learn's estimator suite; none is expected to fail
# (sample_weight and sparse input are not accepted, which the checks handle
# through the estimator's signature and tags).
@parametrize_with_checks(
    [MLPClassifier(max_iter=50), MLPClassifier(max_iter=50, precision="bfloat16")]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _assert_same_model(a, b, rtol=1e-9, atol=1e-12):
    assert len(a.coefs_) == len(b.coefs_)
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert x.shape == y.shape and x.dtype == y.dtype
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=rtol)
    assert a.n_iter_ == b.n_iter_ and a.t_ == b.t_


PARITY = [
    dict(solver="adam"),
    dict(solver="adam", alpha=0.5, beta_1=0.8, beta_2=0.99, epsilon=1e-3, batch_size=37),
    dict(solver="sgd", learning_rate_init=0.05),
    dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False, momentum=0.5),
    dict(solver="sgd", learning_rate_init=0.05, momentum=0.0, alpha=0.0),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.2, power_t=0.3),
    # tol so large that the rate drops (and the velocity is rescaled) every 2 epochs
    dict(
        solver="sgd", learning_rate="adaptive", learning_rate_init=0.1, tol=10.0, n_iter_no_change=1
    ),
    dict(solver="adam", early_stopping=True, validation_fraction=0.2),
    dict(solver="adam", tol=10.0, n_iter_no_change=2),  # stops early on the loss
    dict(solver="adam", activation="logistic", hidden_layer_sizes=(20, 15)),
    dict(solver="sgd", activation="tanh", learning_rate_init=0.05, shuffle=False),
    dict(solver="adam", activation="identity", batch_size=1000),
]


@pytest.mark.parametrize("kw", PARITY, ids=lambda kw: ",".join("%s=%s" % i for i in kw.items()))
def test_same_training_as_sklearn(kw):
    # Same init draws, same shuffles, same maths: the trajectories agree to
    # rounding (float64, multiclass).
    X, y = _digits()
    kw = dict(dict(hidden_layer_sizes=(24,), max_iter=6, random_state=3), **kw)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", UserWarning)
        ours = MLPClassifier(**kw).fit(X, y)
        theirs = SkMLP(**kw).fit(X, y)
    clipped = [str(w.message) for w in seen if "clipped" in str(w.message)]
    assert len(clipped) == (2 if kw.get("batch_size", 0) > len(X) else 0)  # both warn
    _assert_same_model(ours, theirs)
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_) if theirs.best_loss_ else True
    if kw.get("early_stopping"):
        assert ours.validation_scores_ == pytest.approx(theirs.validation_scores_)
        assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9)


def test_stops_on_no_improvement_like_sklearn():
    X, y = _digits()
    kw = dict(hidden_layer_sizes=(16,), max_iter=50, random_state=0, tol=10.0, n_iter_no_change=3)
    ours = MLPClassifier(**kw).fit(X, y)
    # epoch 1 sets best_loss_; epochs 2..5 improve by less than tol: 4 > 3
    assert ours.n_iter_ == SkMLP(**kw).fit(X, y).n_iter_ == 5


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_keeps_optimizer_state_like_sklearn(solver):
    X, y = _digits()
    kw = dict(hidden_layer_sizes=(16,), solver=solver, random_state=0, learning_rate_init=0.01)
    ours, theirs = MLPClassifier(**kw), SkMLP(**kw)
    classes = np.arange(10)
    for i in range(3):
        rows = slice(100 * i, 100 * i + 150)
        ours.partial_fit(X[rows], y[rows], classes=classes if i == 0 else None)
        theirs.partial_fit(X[rows], y[rows], classes=classes if i == 0 else None)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert ours.n_iter_ == 1 and ours.t_ == 450 and len(ours.loss_curve_) == 3
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)


def test_partial_fit_errors():
    X, y = _digits(100)
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    clf = MLPClassifier(hidden_layer_sizes=(8,)).partial_fit(X, y, classes=np.arange(10))
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X, y + 10)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.arange(10))


def test_warm_start_continues():
    X, y = _digits()
    kw = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0, warm_start=True)
    ours, theirs = MLPClassifier(**kw).fit(X, y), SkMLP(**kw).fit(X, y)
    ours.fit(X, y)
    theirs.fit(X, y)
    _assert_same_model(ours, theirs)
    assert len(ours.loss_curve_) == 6
    with pytest.raises(ValueError, match="same classes"):
        ours.fit(X[y < 5], y[y < 5])


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["zero", "one", "two"]),
        np.array([-7, 3, 100]),
        np.array([1.0, 2.0, 30.0]),
        np.array([True, False, True])[:2],
    ],
)
def test_any_label_values(labels):
    X, y = _digits(300)
    y = y % len(labels)
    y_lab = labels[y]
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=60, random_state=0).fit(X, y_lab)
    np.testing.assert_array_equal(clf.classes_, np.unique(labels))
    pred = clf.predict(X)
    assert pred.dtype == clf.classes_.dtype and set(pred) <= set(labels)
    assert clf.score(X, y_lab) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (300, len(labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))


def test_binary_uses_two_softmax_units():
    X, y = _digits(300)
    y = np.where(y < 5, "low", "high")
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, random_state=0).fit(X, y)
    assert clf.coefs_[-1].shape == (16, 2) and clf.n_outputs_ == 2
    assert clf.out_activation_ == "softmax"
    assert clf.score(X, y) > 0.9


def test_float32_stays_float32_and_pickles():
    X, y = _digits(300, np.float32)
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(X, y)
    assert all(c.dtype == np.float32 for c in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X).dtype == np.float32
    # float64 input to a float32 model is cast, not refused
    np.testing.assert_array_equal(clf.predict(X.astype(np.float64)), clf.predict(X))
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    back.partial_fit(X, y)  # the optimiser state survived too
    assert back.t_ == clf.t_ + 300


def test_bfloat16_precision_trains_a_float32_model():
    import fastdigits

    X, y = _digits(400)  # float64 in: a bfloat16 fit trains float32 weights
    kw = dict(hidden_layer_sizes=(32,), max_iter=20, random_state=0)
    ref = MLPClassifier(**kw).fit(X.astype(np.float32), y)
    fits = []
    for n in (1, 3):
        with fastdigits.threads(n):
            fits.append(MLPClassifier(precision="bfloat16", **kw).fit(X, y))
    bf = fits[0]
    assert all(c.dtype == np.float32 for c in bf.coefs_ + bf.intercepts_)
    assert bf.predict_proba(X).dtype == np.float32
    for a, b in zip(bf.coefs_ + bf.intercepts_, fits[1].coefs_ + fits[1].intercepts_):
        np.testing.assert_array_equal(a, b)  # bit-identical for 1 and 3 threads
    # the products really were rounded to bfloat16 (not the float32 training),
    # and train the same model to within that rounding
    assert not np.array_equal(bf.coefs_[0], ref.coefs_[0])
    np.testing.assert_allclose(bf.loss_curve_, ref.loss_curve_, rtol=0.05)
    assert abs(bf.score(X, y) - ref.score(X, y)) <= 0.02
    # a float64 model cannot continue in bfloat16
    f64 = MLPClassifier(warm_start=True, **kw).fit(X, y)
    with pytest.raises(ValueError, match="bfloat16"):
        f64.set_params(precision="bfloat16").fit(X, y)


def test_coefs_are_the_trained_arrays():
    # coefs_ / intercepts_ are what predict uses; replacing them is honoured
    X, y = _digits(200)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
    clf.coefs_[-1] = np.zeros_like(clf.coefs_[-1]).T.copy().T  # a Fortran-order array
    clf.intercepts_[-1] = np.arange(10.0)
    assert (clf.predict(X) == 9).all()


def test_pipeline_and_grid_search():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600]
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier(max_iter=30, learning_rate_init=0.01, random_state=0)
    )
    grid = GridSearchCV(
        pipe,
        {"mlpclassifier__hidden_layer_sizes": [(16,), (32,)], "mlpclassifier__alpha": [1e-4, 1e-2]},
        cv=3,
    )
    grid.fit(X, y)
    assert set(grid.best_params_) == {"mlpclassifier__hidden_layer_sizes", "mlpclassifier__alpha"}
    assert grid.best_score_ > 0.85
    assert grid.score(X, y) > 0.9
    assert grid.best_estimator_[-1].coefs_[0].shape[0] == 64


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        (dict(solver="lbfgs"), ValueError, "lbfgs"),
        (dict(solver="newton"), ValueError, "solver"),
        (dict(activation="gelu"), ValueError, "activation"),
        (dict(hidden_layer_sizes=(10, 0)), ValueError, "hidden_layer_sizes"),
        (dict(hidden_layer_sizes="10"), TypeError, "hidden_layer_sizes"),
        (dict(alpha=-1.0), ValueError, "alpha"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(learning_rate="cosine"), ValueError, "learning_rate"),
        (dict(learning_rate_init=0.0), ValueError, "learning_rate_init"),
        (dict(max_iter=0), ValueError, "max_iter"),
        (dict(momentum=1.5), ValueError, "momentum"),
        (dict(beta_2=1.0), ValueError, "beta_2"),
        (dict(epsilon=0.0), ValueError, "epsilon"),
        (dict(validation_fraction=1.0), ValueError, "validation_fraction"),
        (dict(n_iter_no_change=0), ValueError, "n_iter_no_change"),
        (dict(shuffle="yes"), TypeError, "shuffle"),
        (dict(precision="float16"), ValueError, "precision"),
    ],
)
def test_bad_parameters(kw, exc, match):
    X, y = _digits(50)
    with pytest.raises(exc, match=match):
        MLPClassifier(**kw).fit(X, y)


def test_a_refit_that_fails_leaves_the_fitted_model_usable():
    # a one-class y used to replace classes_ before the error was raised:
    # predict then failed with an IndexError (2 output units, 1 class)
    X, y = _digits(60)
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    before = clf.predict(X)
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(X[:5], np.zeros(5, int))
    np.testing.assert_array_equal(clf.predict(X), before)


def test_bad_data():
    X, y = _digits(50)
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier().fit(X, np.zeros(50, int))
    with pytest.raises(ValueError, match="multi-label|single-output"):
        MLPClassifier().fit(X, np.stack([y % 2, y % 3], axis=1))
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X, np.linspace(0, 1, 50))
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier().fit(np.full_like(X, np.nan), y)
    with pytest.raises(TypeError):
        MLPClassifier().fit(X, y, sample_weight=np.ones(50))
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :10])
    with pytest.raises(ValueError, match="non-finite"):
        MLPClassifier(
            learning_rate_init=1.0, solver="sgd", max_iter=5, random_state=0, activation="identity"
        ).fit(X * 1e100, y)
