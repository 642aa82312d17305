"""A scikit-learn ``MLPClassifier`` whose training epochs run in the fastdigits C kernels.

>>> import warnings
>>> from sklearn.exceptions import ConvergenceWarning
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from fastdigits import load_mnist
>>> from fastdigits.sklearn import MLPClassifier
>>> X_train, y_train = load_mnist("train", flatten=True)
>>> X_test, y_test = load_mnist("test", flatten=True)
>>> clf = make_pipeline(StandardScaler(),
...                     MLPClassifier((32,), learning_rate_init=0.01, max_iter=2,
...                                   random_state=0))
>>> with warnings.catch_warnings():  # 2 epochs are too few to converge
...     warnings.simplefilter("ignore", ConvergenceWarning)
...     score = clf.fit(X_train[:3000], y_train[:3000]).score(X_test, y_test)
>>> score > 0.85
True

:class:`MLPClassifier` takes scikit-learn's parameter names, defaults and
meanings (``sklearn.neural_network.MLPClassifier``) and is a drop-in
replacement for the stochastic solvers: same initialisation (the same
weights for the same ``random_state``), same per-epoch shuffling, the same
L2 penalty, learning-rate schedules, SGD/Nesterov momentum and Adam update,
the same stopping rules (``tol``, ``n_iter_no_change``, ``early_stopping``)
and the same fitted attributes.  Each epoch is one call into C
(:func:`fastdigits._mlp.train_epoch`), so it trains several times faster.

Differences from scikit-learn (each raises a clear error where it applies):

* ``solver="lbfgs"`` is not available (only "sgd" and "adam");
* no ``sample_weight``, no sparse ``X``, no multi-label ``y``, and ``y``
  must hold at least two classes (scikit-learn fits a single class and
  predicts it);
* a binary problem uses a two-unit softmax output layer (the same model as
  scikit-learn's single logistic unit, but ``coefs_[-1]`` has 2 columns);
* the reported loss does not clip probabilities at machine epsilon as
  scikit-learn's ``log_loss`` does (it only differs when a true class gets a
  probability below ~1e-7 in float32 / 2e-16 in float64);
* training and prediction flush denormal floats to zero (restoring the
  caller's setting afterwards), where scikit-learn keeps them: a fit that
  drives gradients below the smallest normal float does not slow down
  (see ``fastdigits.MLP``).

``X`` is used as float32 or float64 (as given; other dtypes become
float64), like scikit-learn.  One parameter is not scikit-learn's:
``precision="bfloat16"`` trains with bfloat16 matrix products (float32
model), faster on CPUs with AVX512_BF16.  Scale pixel data first (e.g. ``X / 255`` or a
``StandardScaler`` in a ``Pipeline``), as with scikit-learn.

Requires scikit-learn (``pip install fastdigits[sklearn]``).
"""

from __future__ import annotations

import numbers
import warnings
from typing import List

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state, column_or_1d, shuffle as _sk_shuffle
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "fastdigits.sklearn needs scikit-learn: pip install 'fastdigits[sklearn]' (%s)" % exc
    ) from None

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn

    def _validate_data(est, *args, **kwargs):
        return est._validate_data(*args, **kwargs)


from ._args import c_contiguous
from .nn import _softmax_rows

__all__ = ["MLPClassifier"]

# scikit-learn's activation names -> fastdigits' ("logistic" is the sigmoid)
_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_SOLVERS = ("sgd", "adam")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")
_PRECISIONS = ("float32", "bfloat16")


def _mlp():
    from . import _mlp as kernels  # the compiled epoch

    return kernels


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier trained by the fastdigits C epoch.

    The parameters and attributes are those of
    ``sklearn.neural_network.MLPClassifier`` (see the module docstring for
    what differs).

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Units of each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Hidden-layer activation.
    solver : {"sgd", "adam"}, default="adam"
        "lbfgs" is not supported (ValueError).
    alpha : float, default=1e-4
        L2 penalty on the weights (not the biases): each batch of m samples
        adds ``alpha / (2 m) * sum ||W||^2`` to its loss.
    batch_size : int or "auto", default="auto"
        ``min(200, n_samples)`` for "auto"; larger values are clipped to
        n_samples with a warning.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        SGD only: "invscaling" sets ``learning_rate_init / (t + 1) ** power_t``
        after each epoch (t = samples seen); "adaptive" divides the rate by 5
        when ``n_iter_no_change`` epochs in a row bring no improvement of
        ``tol`` (and stops once it is <= 1e-6).
    learning_rate_init : float, default=1e-3
    power_t : float, default=0.5
    max_iter : int, default=200
        Epochs.
    shuffle : bool, default=True
        Shuffle the samples every epoch (with ``random_state``).
    random_state : int, RandomState or None, default=None
        Weight initialisation, shuffling and the early-stopping split; the same
        value gives the same initial weights and sample order as scikit-learn.
    tol : float, default=1e-4
    verbose : bool, default=False
        Print the loss of every epoch.
    warm_start : bool, default=False
        ``fit`` continues from the current weights.
    momentum : float, default=0.9
        SGD momentum, in [0, 1].
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified
        for two classes, as in scikit-learn), stop when its accuracy has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and keep the best weights.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters (epsilon added to sqrt(v) as in scikit-learn).
    n_iter_no_change : int, default=10
    precision : {"float32", "bfloat16"}, default="float32"
        Not in scikit-learn: the arithmetic of the training epochs' matrix
        products.  "bfloat16" rounds their operands to bfloat16 and sums in
        float32 (``vdpbf16ps`` where the CPU has AVX512_BF16, about 1.8x
        faster epochs on such a CPU; emulated, and slower, elsewhere); the
        weights, gradients, optimiser state and predictions stay float32, and
        ``X`` is used as float32.  On MNIST (784-256-10, adam, 5 epochs) the
        test accuracy moves by about a tenth of a point either way.

    Attributes
    ----------
    classes_, n_features_in_, feature_names_in_, coefs_, intercepts_,
    loss_, best_loss_, loss_curve_, validation_scores_,
    best_validation_score_, t_, n_iter_, n_layers_, n_outputs_,
    out_activation_ : as in scikit-learn (``out_activation_`` is always
    "softmax"; ``n_outputs_`` is the number of output units, ``len(classes_)``).

    Examples
    --------
    >>> import warnings
    >>> import numpy as np, fastdigits
    >>> from sklearn.exceptions import ConvergenceWarning
    >>> from fastdigits.sklearn import MLPClassifier
    >>> X, y = fastdigits.load_mnist("train", flatten=True)
    >>> X = X[:3000] / np.float32(255)  # float32 pixels in [0, 1]
    >>> X_test, y_test = fastdigits.load_mnist("test", flatten=True)
    >>> clf = MLPClassifier((32,), learning_rate_init=0.01, max_iter=3, random_state=0)
    >>> with warnings.catch_warnings():  # 3 epochs are too few to converge
    ...     warnings.simplefilter("ignore", ConvergenceWarning)
    ...     clf = clf.fit(X, y[:3000])
    >>> clf.n_iter_, len(clf.loss_curve_), clf.classes_
    (3, 3, array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], dtype=uint8))
    >>> [W.shape for W in clf.coefs_], clf.coefs_[0].dtype
    ([(784, 32), (32, 10)], dtype('float32'))
    >>> clf.score(X_test / np.float32(255), y_test) > 0.85
    True
    >>> clf.predict_proba(X_test[:5] / np.float32(255)).shape
    (5, 10)
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        precision="float32",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.precision = precision

    # ------------------------------------------------------------ parameters
    def _check_params(self) -> List[int]:
        """Validate the hyper-parameters; returns the hidden layer sizes."""
        hidden = self.hidden_layer_sizes
        if _is_int(hidden):
            hidden = (hidden,)
        try:
            hidden = list(hidden)
        except TypeError:
            raise TypeError(
                "hidden_layer_sizes must be an int or a tuple of ints, got %r"
                % (self.hidden_layer_sizes,)
            ) from None
        if not all(_is_int(h) for h in hidden):
            raise TypeError(
                "hidden_layer_sizes must be an int or a tuple of ints, got %r"
                % (self.hidden_layer_sizes,)
            )
        if any(h <= 0 for h in hidden):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % hidden)

        def choice(name, options):
            v = getattr(self, name)
            if not isinstance(v, str) or v not in options:
                raise ValueError(
                    "The '%s' parameter of MLPClassifier must be one of %s. "
                    "Got %r instead." % (name, sorted(options), v)
                )

        def real(name, lo, hi=None, lo_open=False, hi_open=False):
            v = getattr(self, name)
            if not _is_real(v):
                raise TypeError(
                    "The '%s' parameter of MLPClassifier must be a float. "
                    "Got %r instead." % (name, v)
                )
            if (
                not np.isfinite(v)
                or (v <= lo if lo_open else v < lo)
                or (hi is not None and (v >= hi if hi_open else v > hi))
            ):
                raise ValueError(
                    "The '%s' parameter of MLPClassifier must be in the range "
                    "%s%s, %s%s. Got %r instead."
                    % (
                        name,
                        "(" if lo_open else "[",
                        lo,
                        "inf" if hi is None else hi,
                        ")" if hi is None or hi_open else "]",
                        v,
                    )
                )

        def integer(name, lo):
            v = getattr(self, name)
            if not _is_int(v) or v < lo:
                raise ValueError(
                    "The '%s' parameter of MLPClassifier must be an int >= %d. "
                    "Got %r instead." % (name, lo, v)
                )

        def boolean(name):
            v = getattr(self, name)
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError(
                    "The '%s' parameter of MLPClassifier must be a bool. "
                    "Got %r instead." % (name, v)
                )

        choice("activation", _ACTIVATIONS)
        if self.solver == "lbfgs":
            raise ValueError(
                "solver='lbfgs' is not supported by fastdigits.sklearn."
                "MLPClassifier (only 'sgd' and 'adam'); use "
                "sklearn.neural_network.MLPClassifier for it"
            )
        choice("solver", _SOLVERS)
        choice("learning_rate", _LEARNING_RATES)
        real("alpha", 0.0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            integer("batch_size", 1)
        real("learning_rate_init", 0.0, lo_open=True)
        real("power_t", 0.0)
        integer("max_iter", 1)
        boolean("shuffle")
        real("tol", 0.0)
        boolean("warm_start")
        real("momentum", 0.0, 1.0)
        boolean("nesterovs_momentum")
        boolean("early_stopping")
        real("validation_fraction", 0.0, 1.0, hi_open=True)
        real("beta_1", 0.0, 1.0, hi_open=True)
        real("beta_2", 0.0, 1.0, hi_open=True)
        real("epsilon", 0.0, lo_open=True)
        integer("n_iter_no_change", 1)
        choice("precision", _PRECISIONS)
        if not (
            self.verbose is None
            or _is_real(self.verbose)
            or isinstance(self.verbose, (bool, np.bool_))
        ):
            raise TypeError(
                "The 'verbose' parameter of MLPClassifier must be a bool or "
                "an int. Got %r instead." % (self.verbose,)
            )
        return hidden

    # ------------------------------------------------------------------ data
    def _validate_input(self, X, y, incremental: bool, reset: bool):
        X, y = _validate_data(
            self,
            X,
            y,
            accept_sparse=False,
            multi_output=True,
            # a bfloat16 fit trains a float32 model
            dtype=np.float32 if self.precision == "bfloat16" else (np.float64, np.float32),
            order="C",
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim != 1:
            raise ValueError(
                "fastdigits.sklearn.MLPClassifier supports single-output "
                "targets only (y of shape (n_samples,)); got y of shape %s "
                "(multi-label / multi-output)" % (y.shape,)
            )
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            classes = np.unique(y)
            if len(classes) < 2:  # (checked first: a fitted model stays usable)
                raise ValueError(
                    "MLPClassifier needs samples of at least 2 classes in y; "
                    "got 1 class: %r" % (classes[0],)
                )
            self.classes_ = classes
        else:
            classes = np.unique(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as "
                        "in the previous call to fit. Previously got %s, `y` has %s"
                        % (self.classes_, classes)
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. `self.classes_` "
                    "has %s. 'y' has %s." % (self.classes_, classes)
                )
        codes = np.ascontiguousarray(np.searchsorted(self.classes_, y), dtype=np.int64)
        return X, y, codes

    def _params(self, dtype) -> list:
        """The weights as the kernels' flat [W0, b0, W1, b1, ...] list, made
        C-contiguous and writeable in ``dtype`` (coefs_/intercepts_ are updated
        in place by training, and keep referring to the same arrays)."""
        for lst in (self.coefs_, self.intercepts_):
            for i, a in enumerate(lst):
                if (
                    not isinstance(a, np.ndarray)
                    or a.dtype != dtype
                    or not a.flags.c_contiguous
                    or not a.flags.writeable
                ):
                    lst[i] = np.array(a, dtype=dtype, order="C")
        return [a for pair in zip(self.coefs_, self.intercepts_) for a in pair]

    # -------------------------------------------------------------- training
    def fit(self, X, y):
        """Train on (X, y) for up to ``max_iter`` epochs; returns self."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), keeping the optimiser state between calls.

        ``classes`` (all the labels to expect) is required on the first call.
        """
        first = not hasattr(self, "classes_")
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = np.unique(np.asarray(classes))
            check_classification_targets(classes)
            if len(classes) < 2:
                raise ValueError(
                    "MLPClassifier needs at least 2 classes; got classes=%r" % (classes,)
                )
            if type_of_target(y).startswith("multilabel"):
                raise ValueError(
                    "fastdigits.sklearn.MLPClassifier does not support multi-label targets"
                )
            self.classes_ = classes
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                "`classes=%r` is not the same as on last call to partial_fit, "
                "was: %r" % (classes, self.classes_)
            )
        return self._fit(X, y, incremental=True)

    def _fit(self, X, y, incremental: bool):
        hidden = self._check_params()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y, codes = self._validate_input(X, y, incremental, reset=first_pass)
        n_classes = len(self.classes_)
        layer_units = [X.shape[1]] + hidden + [n_classes]
        self._random_state = check_random_state(self.random_state)
        if not first_pass and [c.shape for c in self.coefs_] != list(
            zip(layer_units[:-1], layer_units[1:])
        ):
            raise ValueError(
                "the network shape %s does not match the fitted one; refit "
                "without warm_start" % (layer_units,)
            )
        if first_pass:
            self._initialize(layer_units, X.dtype)
        dtype = self.coefs_[0].dtype
        if self.precision == "bfloat16" and dtype != np.float32:
            raise ValueError(
                "precision='bfloat16' trains float32 weights; this model was "
                "fitted in %s: refit it (without warm_start / partial_fit)" % dtype
            )
        # (a later call may bring the other float type; C order, aligned)
        X = c_contiguous(X, dtype)
        params = self._params(dtype)
        if not incremental or not hasattr(self, "_opt_state"):
            self._new_optimizer(params)
        self._fit_stochastic(X, codes, params, incremental)
        if not all(np.isfinite(w).all() for w in params):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data "
                "may contain large values and need to be preprocessed."
            )
        return self

    def _initialize(self, layer_units, dtype) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.n_outputs_ = layer_units[-1]
        self.out_activation_ = "softmax"
        # Glorot-uniform with scikit-learn's factors and draws (same RandomState
        # calls in the same order, so the same weights for a given random_state).
        factor = 2.0 if self.activation == "logistic" else 6.0
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            W = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            b = self._random_state.uniform(-bound, bound, fan_out)
            self.coefs_.append(np.ascontiguousarray(W, dtype=dtype))
            self.intercepts_.append(np.ascontiguousarray(b, dtype=dtype))
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [i.copy() for i in self.intercepts_]
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _new_optimizer(self, params) -> None:
        """Fresh optimiser state, as scikit-learn makes at every fit."""
        if self.solver == "adam":
            self._opt_state = [np.zeros_like(p) for p in params + params]
        else:
            self._opt_state = [np.zeros_like(p) for p in params] if self.momentum else []
        self._opt_step = 0
        self._lr = float(self.learning_rate_init)
        # The C SGD keeps PyTorch's velocity v (step = lr * v); scikit-learn's
        # is -lr * v.  They agree while lr is fixed; _velocity_lr remembers the
        # rate the stored v belongs to, so a schedule change rescales it.
        self._velocity_lr = self._lr

    def _fit_stochastic(self, X, codes, params, incremental: bool) -> None:
        kernels = _mlp()
        early_stopping = self.early_stopping
        X_val = y_val = None
        if early_stopping:
            # Split as scikit-learn does (same random_state draw; stratified
            # only for two classes, where its output is one unit), so the same
            # rows are held out.
            idx = np.arange(X.shape[0])
            strat = None
            if len(self.classes_) == 2:
                strat = (
                    LabelBinarizer().fit(self.classes_).transform(self.classes_[codes]).astype(bool)
                )
            idx_train, idx_val = train_test_split(
                idx,
                random_state=self._random_state,
                test_size=self.validation_fraction,
                stratify=strat,
            )
            if idx_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase "
                    "'validation_fraction' or the size of your dataset."
                )
            X_val, y_val = X[idx_val], self.classes_[codes[idx_val]]
            X, codes = np.ascontiguousarray(X[idx_train]), codes[idx_train]
        n = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. "
                    "It is going to be clipped",
                    stacklevel=2,
                )
            batch_size = int(np.clip(self.batch_size, 1, n))
        activation = _ACTIVATIONS[self.activation]
        sample_idx = np.arange(n, dtype=np.int64)
        grads = [np.empty_like(p) for p in params]
        sgd = self.solver == "sgd"
        momentum = float(self.momentum) if sgd else 0.0
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    sample_idx = _sk_shuffle(sample_idx, random_state=self._random_state)
                if sgd and self._opt_state and self._velocity_lr != self._lr:
                    for v in self._opt_state:
                        v *= v.dtype.type(self._velocity_lr / self._lr)
                    self._velocity_lr = self._lr
                loss_sum, _, self._opt_step = kernels.train_epoch(
                    params,
                    grads,
                    self._opt_state,
                    X,
                    codes,
                    np.ascontiguousarray(sample_idx),
                    activation=activation,
                    batch_size=batch_size,
                    optimizer=self.solver,
                    lr=self._lr,
                    momentum=momentum,
                    weight_decay=0.0,
                    beta1=float(self.beta_1),
                    beta2=float(self.beta_2),
                    eps=float(self.epsilon),
                    step=self._opt_step,
                    l2=float(self.alpha),
                    nesterov=bool(self.nesterovs_momentum),
                    adam_eps_hat=True,
                    precision=self.precision,
                )
                self.n_iter_ += 1
                self.loss_ = loss_sum / n
                self.t_ += n
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                self._update_no_improvement_count(early_stopping, X_val, y_val)
                if sgd and self.learning_rate == "invscaling":
                    self._lr = float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if early_stopping else "Training loss"
                    msg = "%s did not improve more than tol=%f for %d consecutive epochs." % (
                        what,
                        self.tol,
                        self.n_iter_no_change,
                    )
                    if self._trigger_stopping(msg):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) reached and "
                        "the optimization hasn't converged yet." % self.max_iter,
                        ConvergenceWarning,
                        stacklevel=2,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=2)
        if early_stopping:  # keep the best weights, in the arrays already exposed
            for dst, src in zip(
                self.coefs_ + self.intercepts_, self._best_coefs + self._best_intercepts
            ):
                dst[...] = src

    def _trigger_stopping(self, msg: str) -> bool:
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(msg + " Stopping.")
            return True
        if self._lr <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._lr /= 5.0
        if self.verbose:
            print(msg + " Setting learning rate to %f" % self._lr)
        return False

    def _update_no_improvement_count(self, early_stopping, X_val, y_val) -> None:
        if early_stopping:
            y_pred = self.classes_[self._logits(X_val).argmax(axis=1)]
            score = float(accuracy_score(y_val, y_pred))
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [i.copy() for i in self.intercepts_]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    # ------------------------------------------------------------- inference
    def _logits(self, X) -> np.ndarray:
        """Logits for validated X (cast to the weights' dtype)."""
        params = self._params(self.coefs_[0].dtype)
        X = c_contiguous(X, params[0].dtype)
        return _mlp().predict_logits(params, X, _ACTIVATIONS[self.activation])

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of :attr:`classes_`."""
        check_is_fitted(self)
        X = _validate_data(
            self, X, accept_sparse=False, dtype=(np.float64, np.float32), order="C", reset=False
        )
        return _softmax_rows(self._logits(X))

    def predict_log_proba(self, X) -> np.ndarray:
        """``log(predict_proba(X))``."""
        p = self.predict_proba(X)
        return np.log(p, out=p)

    def predict(self, X) -> np.ndarray:
        """Predicted class labels (values of :attr:`classes_`)."""
        check_is_fitted(self)
        X = _validate_data(
            self, X, accept_sparse=False, dtype=(np.float64, np.float32), order="C", reset=False
        )
        return self.classes_[self._logits(X).argmax(axis=1)]

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.classifier_tags.multi_label = False
        return tags

    def _more_tags(self) -> dict:  # scikit-learn < 1.6
        return {"multilabel": False}

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "coefs_")
