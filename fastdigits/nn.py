"""A multi-layer perceptron whose whole training epoch runs in one C call.

>>> import numpy as np
>>> from fastdigits import load_mnist
>>> from fastdigits.nn import MLP
>>> X_train, y_train = load_mnist("train", normalize=True, flatten=True)
>>> X_test, y_test = load_mnist("test", normalize=True, flatten=True)
>>> model = MLP((784, 32, 10), seed=0)
>>> history = model.fit(X_train[:3000], y_train[:3000], epochs=2)
>>> loss, acc = model.evaluate(X_test, y_test)
>>> acc > 0.85
True

(A small model on 3000 images, to run in a blink; ``MLP((784, 256, 10))``
with the default 10 epochs on all 60000 reaches about 98%, see below.)
The NumPy backend computes the same weights from the same start:

>>> slow = MLP((784, 32, 10), seed=0, backend="numpy")
>>> fast = MLP((784, 32, 10), seed=0)
>>> _ = slow.fit(X_train[:1000], y_train[:1000], epochs=1)
>>> _ = fast.fit(X_train[:1000], y_train[:1000], epochs=1)
>>> all(np.allclose(a, b, atol=1e-5) for a, b in zip(fast.params, slow.params))
True

``backend="fast"`` (default) trains with the C kernels: each epoch is a single
call that releases the GIL and gathers batches, runs the fused dense layers,
softmax cross-entropy, backward pass and optimiser step without Python or
allocation per batch.  ``backend="numpy"`` runs the same maths in plain NumPy
(:mod:`fastdigits.reference.nn`) from the same initial weights and the same
sample order, so the two can be compared side by side.

Input normalisation: a model may remember how its inputs were normalised
(``normalization="mnist"`` or ``(scale, mean, std)``, saved in its file).
uint8 input (raw pixels) is then mapped to ``(x * scale - mean) / std`` by
:func:`fastdigits.normalize` before use, in ``fit`` and in every inference
method, and so is other integer input (a list of ints, int64), which must
then hold values 0..255; float input is taken as already normalised.  A model without a
normalisation refuses uint8 input with a TypeError instead of silently
scoring raw pixels.

Interrupts: the fast backend's epoch returns to Cython after every
optimiser step, which runs pending signal handlers (Ctrl-C) when 50 ms have
passed since its last check, so KeyboardInterrupt arrives within one step
plus 50 ms.  An epoch that does not complete (interrupt, or
an exception from ``callback``) is rolled back: the weights and gradients are
restored to their values at the start of that epoch, so ``params``,
``epochs_trained`` and ``history`` always describe the same completed epochs.

Default hyper-parameters (chosen to reach >= 98% MNIST test accuracy within
10 epochs for 784-256-10 on standardised inputs; measured 98.40 / 98.29 /
98.30% for seeds 0 / 1 / 2): SGD, lr 0.05 with a per-epoch cosine decay
over the ``fit`` call, momentum 0.9, no weight decay, batch 64, He-uniform
init.  Adam defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8 (AdamW-style
decoupled weight decay).
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
import zipfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ._activation import ACTIVATIONS
from ._args import c_contiguous
from ._hyper import check_rate
from ._mlp_init import OPTIMIZERS, init_params
from .reference import nn as _ref  # the numpy backend

__all__ = ["MLP", "ModelFileError", "ACTIVATIONS", "OPTIMIZERS", "DEFAULT_LR", "MAX_BATCH_SIZE"]

BACKENDS = ("fast", "numpy")
#: fit(lr_schedule=...): "cosine" and "constant" set the rate per epoch;
#: "linear" and "onecycle" are computed per step in C (see fit)
LR_SCHEDULES = ("cosine", "constant", "linear", "onecycle")
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3}
DEFAULT_MOMENTUM = 0.9
#: Largest ``batch_size`` accepted: a clear error instead of an OverflowError
#: in the binding (no data set that fits in memory has more rows); a batch
#: larger than the data set is the whole set in one step.
MAX_BATCH_SIZE = 2**31 - 1
# Dense layers the fast backend's epoch and inference take (FD_MLP_MAX_LAYERS
# in csrc/mlp/mlp.c); tests/test_nn.py checks both sides of it.
MAX_LAYERS = 64
MODEL_FORMAT = "fastdigits.nn.MLP/1"

Normalization = Union[None, str, Sequence[float]]

#: callback(epoch, steps_done, steps_per_epoch), called every
#: ``callback_every`` optimiser steps and once at the end of each epoch.
Callback = Callable[[int, int, int], Any]


def _fast():
    from . import _mlp  # the compiled kernels

    return _mlp


def _check_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError("dtype must be float32 or float64, got %s" % dt)
    return dt


class ModelFileError(ValueError):
    """A model file that cannot be loaded; the message names the file and why.

    Examples
    --------
    >>> import os, shutil, tempfile
    >>> from fastdigits.nn import MLP, ModelFileError
    >>> d = tempfile.mkdtemp()
    >>> path = os.path.join(d, "junk.npz")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(b"not a model")
    >>> try:
    ...     MLP.load(path)
    ... except ModelFileError as exc:
    ...     print(str(exc).replace(d, "DIR"))
    DIR/junk.npz: not a readable model file (.npz): File is not a zip file
    >>> shutil.rmtree(d)
    """


def _check_normalization(value: Normalization) -> Optional[Tuple[float, float, float]]:
    """None, "mnist" or (scale, mean, std) -> None or a checked float triple."""
    if value is None:
        return None
    if isinstance(value, str):
        if value != "mnist":
            raise ValueError(
                "normalization must be None, 'mnist' or (scale, mean, std), got %r" % (value,)
            )
        from .datasets import MNIST_MEAN, MNIST_STD

        return (1.0 / 255.0, float(MNIST_MEAN), float(MNIST_STD))
    try:
        scale, mean, std = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            "normalization must be None, 'mnist' or (scale, mean, std), got %r" % (value,)
        ) from None
    if not all(math.isfinite(v) for v in (scale, mean, std)) or std == 0 or scale == 0:
        raise ValueError(
            "normalization (scale, mean, std) must be finite with scale and "
            "std nonzero, got %r" % ((scale, mean, std),)
        )
    return (scale, mean, std)


def _real(value, name: str) -> float:
    """A real number (not a bool) as a float; TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError("%s must be a number, got %r" % (name, value))
    return float(value)


def _check_batch_size(batch_size) -> int:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or not 1 <= batch_size <= MAX_BATCH_SIZE
    ):
        raise ValueError(
            "batch_size must be an int from 1 to %d, got %r" % (MAX_BATCH_SIZE, batch_size)
        )
    return int(batch_size)


def _model_path(path) -> str:
    """The file name :meth:`MLP.save` writes for ``path`` (``.npz`` appended
    when missing, as :func:`numpy.savez` does)."""
    p = os.fspath(path)
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    return p if p.endswith(".npz") else p + ".npz"


def _as_array(a, name):
    if hasattr(a, "numpy") and not isinstance(a, np.ndarray):  # CPU torch tensor
        a = a.detach().numpy() if hasattr(a, "detach") else a.numpy()
    return np.asarray(a)


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    """Softmax of each row of the logits ``z``, in place (``z`` is returned).

    The max of each row is subtracted first, so large logits do not overflow.
    Shared by :meth:`MLP.predict_proba` and
    ``fastdigits.sklearn.MLPClassifier.predict_proba``.
    """
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


_FIT_FLAG_LOCK = threading.Lock()


def _one_fit_at_a_time(fit: Callable[..., Any]) -> Callable[..., Any]:
    """fit refuses to start while it runs on the same model (called from
    its callback or another thread): the two would interleave steps
    and history rows."""

    @functools.wraps(fit)
    def guarded(self, *args, **kwargs):
        with _FIT_FLAG_LOCK:  # test and set as one step for threads
            if getattr(self, "_fitting", False):
                raise RuntimeError(
                    "MLP.fit is already running on this model (called from its callback "
                    "or from another thread); fit a copy, or call fit after it returns"
                )
            self._fitting = True
        try:
            return fit(self, *args, **kwargs)
        finally:
            self._fitting = False

    return guarded


class MLP:
    """A fully connected classifier trained one C call per epoch.

    Layers ``layer_sizes[0] -> ... -> layer_sizes[-1]``.

    Hidden layers use ``activation`` (identity, relu, sigmoid, tanh, gelu);
    the last layer is linear and trained with softmax cross-entropy.
    Weights live in :attr:`params` as ``[W0, b0, W1, b1, ...]`` NumPy arrays
    (W stored (in, out), C-contiguous), with matching :attr:`grads` (the
    gradients of the last training step), so other training code can use them.

    ``normalization``: how raw uint8 inputs are mapped to the floats the
    model works on: None (uint8 input is refused), ``"mnist"`` (pixels / 255
    standardised with MNIST_MEAN / MNIST_STD, as ``load_mnist(normalize=True)``
    and ``fastdigits train`` do) or ``(scale, mean, std)`` for
    ``(x * scale - mean) / std``.  Kept in :attr:`normalization` and in the
    saved file.

    ``precision``: ``"float32"`` (default) or ``"bfloat16"`` (float32 models,
    fast backend): every layer's products, in :meth:`fit` and inference,
    take bfloat16 operands and sum in float32 (the ``precision=`` of
    :func:`fastdigits.dense_forward`); weights, gradients, optimiser state,
    bias, activations and loss stay float32.  Nothing bf16 is kept between
    calls (weights are converted as they are packed), so there is no cache
    to invalidate.  Not saved in the model file: :meth:`load` gives a
    float32-precision model (set :attr:`precision` to change it).

    Denormals: the fast backend's training and inference run with denormal
    floats flushed to zero (x86 FTZ/DAZ, AArch64 FZ) and restore the
    calling thread's setting when they return and while ``callback`` runs;
    a model that fits its training set would otherwise slow down many
    times over as its gradients fade below the smallest normal float (see
    the precision guide).  The dense kernels themselves follow the caller.

    Examples
    --------
    Train on raw pixels (normalised by the model), then score, predict,
    save and reload:

    >>> import os, shutil, tempfile
    >>> import numpy as np, fastdigits
    >>> X, y = fastdigits.load_mnist("train")
    >>> X_test, y_test = fastdigits.load_mnist("test")
    >>> model = fastdigits.MLP((784, 32, 10), normalization="mnist", seed=0)
    >>> history = model.fit(X[:3000], y[:3000], epochs=2)
    >>> [row["epoch"] for row in history], sorted(history[0])
    ([1, 2], ['epoch', 'loss', 'seconds', 'train_acc'])
    >>> model.score(X_test, y_test) > 0.85
    True
    >>> model.predict(X_test[:5]).shape, model.predict_proba(X_test[:5]).shape
    ((5,), (5, 10))
    >>> [W.shape for W in model.params[::2]]
    [(784, 32), (32, 10)]
    >>> d = tempfile.mkdtemp()
    >>> path = model.save(os.path.join(d, "model"))
    >>> os.path.basename(path)
    'model.npz'
    >>> again = fastdigits.MLP.load(path)
    >>> again.epochs_trained, np.array_equal(again.predict(X_test), model.predict(X_test))
    (2, True)
    >>> shutil.rmtree(d)
    """

    def __init__(
        self,
        layer_sizes: Sequence[int] = (784, 256, 10),
        activation: str = "relu",
        dtype=np.float32,
        seed: int = 0,
        backend: str = "fast",
        normalization: Normalization = None,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        precision: str = "float32",
    ) -> None:
        sizes = tuple(layer_sizes)
        if len(sizes) < 2:
            raise ValueError(
                "layer_sizes needs at least an input and an output size, got %r" % (sizes,)
            )
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
                raise ValueError("layer_sizes must be positive ints, got %r" % (sizes,))
        if sizes[-1] < 2:
            raise ValueError("layer_sizes: the output layer needs >= 2 classes, got %d" % sizes[-1])
        if activation not in ACTIVATIONS:
            raise ValueError(
                "activation must be one of %s, got %r" % (", ".join(ACTIVATIONS), activation)
            )
        if backend not in BACKENDS:
            raise ValueError("backend must be one of %s, got %r" % (", ".join(BACKENDS), backend))
        if backend == "fast" and len(sizes) - 1 > MAX_LAYERS:
            # (it failed at fit / predict with "invalid layer sizes")
            raise ValueError(
                "the fast backend runs at most %d layers, layer_sizes has %d; "
                "use backend='numpy' for a deeper model" % (MAX_LAYERS, len(sizes) - 1)
            )
        if (
            isinstance(seed, bool)
            or not isinstance(seed, (int, np.integer))
            or not 0 <= seed < 2**64
        ):
            # (the range every other seed takes, and what a model file stores)
            raise ValueError("seed must be an int in [0, 2**64), got %r" % (seed,))
        self.dropout = check_rate(dropout, "dropout")
        self.input_dropout = check_rate(input_dropout, "input_dropout")
        if precision not in ("float32", "bfloat16"):
            raise ValueError('precision must be "float32" or "bfloat16", got %r' % (precision,))
        # bfloat16: every layer's GEMMs (forward, dW, dx) round their operands
        # to bf16 and sum in float32; weights, gradients, optimiser state,
        # bias, activations and loss stay float32.  Within one training
        # epoch (one C call) each W's bf16 packing is kept: made when the
        # epoch starts, re-made by every optimiser step (and after a
        # callback, which may change the weights); nothing bf16 outlives
        # the call, so weights changed between calls are always seen
        self.precision = precision
        self.layer_sizes: Tuple[int, ...] = tuple(int(s) for s in sizes)
        self.activation = activation
        self.dtype = _check_dtype(dtype)
        if precision == "bfloat16" and (self.dtype != np.float32 or backend != "fast"):
            raise ValueError('precision="bfloat16" needs dtype=float32 and backend="fast"')
        self.seed = int(seed)
        self.backend = backend
        self.normalization: Optional[Tuple[float, float, float]] = _check_normalization(
            normalization
        )
        self.params: List[np.ndarray] = init_params(
            self.layer_sizes, activation, self.dtype, self.seed
        )
        self.grads: List[np.ndarray] = [np.zeros_like(p) for p in self.params]
        self.history: List[Dict[str, Any]] = []
        self.epochs_trained = 0

    # ------------------------------------------------------------------ data
    def _check_X(self, X, name="X") -> np.ndarray:
        X = _as_array(X, name)
        if X.ndim < 2:
            raise ValueError(
                "%s must have shape (n_samples, %d), got %s" % (name, self.layer_sizes[0], X.shape)
            )
        if X.ndim > 2:
            X = X.reshape(X.shape[0], -1)
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                "%s has %d features per sample, the model expects %d"
                % (name, X.shape[1], self.layer_sizes[0])
            )
        if X.shape[0] == 0:
            raise ValueError("%s is empty" % name)
        if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
            raise TypeError("%s must hold numbers, got dtype %s" % (name, X.dtype))
        if self.normalization is not None and X.dtype.kind in "iu" and X.dtype != np.uint8:
            # integers given to a model that normalises its input are pixels
            # too (a list of ints, .tolist(), int64 or torch.long): they were
            # read as normalised numbers
            if X.size and (X.min() < 0 or X.max() > 255):
                raise ValueError(
                    "%s holds integers outside 0..255: this model normalises pixels "
                    "(uint8 values); pass pixels, or floats normalised as in training" % name
                )
            X = X.astype(np.uint8)
        if X.dtype == np.uint8:  # raw pixels
            if self.normalization is None:
                raise TypeError(
                    "%s holds uint8 pixels but this model has no input normalization: pass "
                    "floats normalised as in training, or give the model "
                    "normalization='mnist' or (scale, mean, std)" % name
                )
            from .normalize import normalize

            scale, mean, std = self.normalization
            return normalize(X, scale=scale, mean=mean, std=std, dtype=self.dtype)
        return c_contiguous(X, self.dtype)

    def _check_y(self, y, n, name="y") -> np.ndarray:
        y = _as_array(y, name)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError("%s must have shape (%d,), got %s" % (name, n, y.shape))
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError("%s must hold integer class labels, got dtype %s" % (name, y.dtype))
        n_classes = self.layer_sizes[-1]
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError("%s holds labels outside [0, %d)" % (name, n_classes))
        return c_contiguous(y, np.int64)

    # -------------------------------------------------------------- training
    def _augment_args(self, X, augment, image_shape) -> Tuple[np.ndarray, Dict[str, Any]]:
        """Checked uint8 images (n, h, w) and the epoch kernel's augment
        arguments for fit(augment=...)."""
        from ._augspec import ops

        rows = ops(augment)  # validates the spec
        if self.dtype != np.float32:
            raise TypeError("augment needs a float32 model, this one is %s" % self.dtype.name)
        X = _as_array(X, "X")
        if X.dtype != np.uint8:
            raise TypeError(
                "X must hold raw uint8 pixels with augment (the kernel warps the images "
                "before normalising them), got dtype %s" % X.dtype
            )
        k = self.layer_sizes[0]
        if X.ndim not in (2, 3) or X.shape[0] == 0:
            raise ValueError("X must be non-empty uint8 images (n, h, w) or (n, h*w)")
        if image_shape is not None:
            if (
                len(image_shape) != 2
                or not all(isinstance(v, (int, np.integer)) for v in image_shape)
                or min(image_shape) < 1
            ):
                raise ValueError(
                    "image_shape must be (h, w) positive ints, got %r" % (image_shape,)
                )
            h, w = int(image_shape[0]), int(image_shape[1])
            if X.ndim == 3 and X.shape[1:] != (h, w):
                raise ValueError("X images are %s, image_shape says %s" % (X.shape[1:], (h, w)))
        elif X.ndim == 3:
            h, w = X.shape[1:]
        else:
            h = w = int(round(math.sqrt(X.shape[1])))
            if h * w != X.shape[1]:
                raise ValueError(
                    "X rows have %d pixels, not a square image: give image_shape=(h, w)"
                    % X.shape[1]
                )
        if h * w != k or (X.ndim == 2 and X.shape[1] != k):
            raise ValueError(
                "X images have %d pixels, the model expects %d inputs"
                % (X.shape[1] if X.ndim == 2 else h * w, k)
            )
        norm = self.normalization or _check_normalization("mnist")
        images = np.ascontiguousarray(X).reshape(X.shape[0], h, w)
        kw = dict(augment=rows, augment_seed=self.seed % 2**64, normalization=norm)
        return images, kw

    @_one_fit_at_a_time
    def fit(
        self,
        X,
        y,
        *,
        epochs: int = 10,
        batch_size: int = 64,
        optimizer: str = "sgd",
        lr: Optional[float] = None,
        momentum: Optional[float] = None,
        weight_decay: float = 0.0,
        shuffle: bool = True,
        validation_data: Optional[Tuple[Any, Any]] = None,
        callback: Optional[Callback] = None,
        callback_every: int = 50,
        epoch_callback: Optional[Callable[[Dict[str, Any]], Any]] = None,
        lr_schedule: str = "cosine",
        verbose: bool = False,
        warmup: Union[int, float] = 0,
        label_smoothing: float = 0.0,
        augment: Any = None,
        image_shape: Optional[Tuple[int, int]] = None,
    ) -> List[Dict[str, Any]]:
        """Train in place and return the history (also kept in :attr:`history`).

        Each epoch's sample order is ``np.random.default_rng([seed, epoch])
        .permutation(n)`` (epochs counted across fit calls), so both backends
        see the same batches.  Optimiser state (velocity / Adam moments)
        starts fresh at every call.  ``lr`` defaults to 0.05 (sgd) or 1e-3
        (adam); ``momentum`` (sgd only) to 0.9.  ``callback(epoch, steps_done,
        steps_per_epoch)`` is called every ``callback_every`` steps and at
        the end of each epoch (it may raise to stop training);
        ``epoch_callback(row)`` gets each epoch's history row as soon as it
        is complete.  ``lr_schedule``: "cosine" (default: the rate for epoch
        e of E (from 0) is ``lr * (1 + cos(pi * e / E)) / 2``, set once per
        epoch), "constant", or one of the per-step schedules computed in C
        before every optimiser step from the step count (no Python per
        batch): "linear" (decay to zero over the whole fit) and "onecycle"
        (cosine up from lr/25 to lr over the warm-up, then cosine down to 0);
        ``lr`` is their peak.  ``warmup``: warm-up steps (an int) or a
        fraction of the fit's steps (a float in [0, 1)) for "constant",
        "linear" and "onecycle" (linear ramp, or onecycle's rise; 0: none,
        onecycle then starts at its peak).  ``label_smoothing`` eps trains
        against (1 - eps) one-hot + eps / classes (the loss reported stays
        the plain cross-entropy).  ``epochs`` may be fractional (2.5: two
        epochs, then the first half of a third epoch's shuffled order).
        Dropout (the model's ``dropout`` / ``input_dropout``) is applied in
        training only; its masks are keyed by ``seed + 2**32 *
        epochs_trained`` at the start of the call and the step number.

        ``augment``: an :class:`~fastdigits.augment.Affine`,
        :class:`~fastdigits.augment.Elastic`, :class:`~fastdigits.augment.Compose`
        or list of them (None: off).  Every batch is then warped, cast and
        normalised by the augmentation kernel inside the epoch's C loop (no
        Python per batch; the NumPy backend uses
        :mod:`fastdigits.reference.augment`).  Requirements, checked before
        any work: a float32 model; X raw uint8 images, ``(n, h, w)`` or
        ``(n, h*w)`` with ``h*w`` the model's inputs (flat rows are taken as
        square images unless ``image_shape=(h, w)`` says otherwise); the
        normalisation is the model's, and a model without one gets MNIST's
        (``normalization`` is then set to "mnist", so inference on raw
        uint8 pixels matches training).  Sample ``i``'s warp depends only on
        ``(seed, epoch, i)``: the Philox key is the model's ``seed``, the
        epoch is :attr:`epochs_trained` (new warps every epoch, across fit
        calls), so results are bit-identical for any thread count.

        Returns one dict per epoch: epoch, loss, train_acc, seconds, and
        val_loss / val_acc when ``validation_data=(X_val, y_val)`` is given.
        ``batch_size`` is 1 .. MAX_BATCH_SIZE (a batch larger than X is all
        of X).  An epoch cut short (KeyboardInterrupt, or an exception raised
        by ``callback`` or during its validation) is rolled back before the
        exception propagates: weights and gradients return to their values
        at the start of that epoch, and it is not counted in
        ``epochs_trained`` or ``history``.  While fit runs, another fit of
        the same model (from ``callback`` or another thread) raises
        RuntimeError; ``predict`` and friends may be called.
        """
        aug_kw: Dict[str, Any] = {}
        if augment is not None:
            X, aug_kw = self._augment_args(X, augment, image_shape)
        else:
            if image_shape is not None:
                raise ValueError("image_shape applies only with augment")
            X = self._check_X(X)
        y = self._check_y(y, X.shape[0])
        if (
            isinstance(epochs, bool)
            or not isinstance(epochs, (int, float, np.integer, np.floating))
            or not 0 <= epochs < float("inf")
        ):
            raise ValueError("epochs must be a non-negative number, got %r" % (epochs,))
        batch_size = _check_batch_size(batch_size)
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                "optimizer must be one of %s, got %r" % (", ".join(OPTIMIZERS), optimizer)
            )
        lr = DEFAULT_LR[optimizer] if lr is None else _real(lr, "lr")
        if not (lr > 0 and np.isfinite(lr)):
            raise ValueError("lr must be a positive finite number, got %r" % lr)
        if momentum is None:
            momentum = DEFAULT_MOMENTUM if optimizer == "sgd" else 0.0
        momentum = _real(momentum, "momentum")
        if optimizer == "adam" and momentum:
            raise ValueError("momentum applies to sgd only (adam uses beta1)")
        if not 0.0 <= momentum < 1.0:
            raise ValueError("momentum must be in [0, 1), got %r" % momentum)
        weight_decay = _real(weight_decay, "weight_decay")
        if not (weight_decay >= 0 and np.isfinite(weight_decay)):
            raise ValueError("weight_decay must be >= 0, got %r" % weight_decay)
        if (
            isinstance(callback_every, bool)
            or not isinstance(callback_every, (int, np.integer))
            or callback_every < 1
        ):
            raise ValueError("callback_every must be a positive int, got %r" % (callback_every,))
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable")
        if epoch_callback is not None and not callable(epoch_callback):
            raise TypeError("epoch_callback must be callable")
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                "lr_schedule must be one of %s, got %r" % (", ".join(LR_SCHEDULES), lr_schedule)
            )
        label_smoothing = check_rate(label_smoothing, "label_smoothing")
        if isinstance(warmup, bool) or not isinstance(
            warmup, (int, float, np.integer, np.floating)
        ):
            raise ValueError(
                "warmup must be an int (steps) or a fraction in [0, 1), got %r" % (warmup,)
            )
        if isinstance(warmup, (float, np.floating)) and not 0.0 <= warmup < 1.0:
            raise ValueError("a fractional warmup must be in [0, 1), got %r" % (warmup,))
        if not 0 <= warmup < 2**63:
            raise ValueError("warmup must be from 0 to 2**63 - 1 steps, got %r" % (warmup,))
        if warmup and lr_schedule == "cosine":
            raise ValueError("warmup applies to the constant, linear and onecycle schedules")
        # Trained on MNIST-normalised inputs, the model reads raw uint8 at
        # inference too: set once an epoch has finished (a fit that fails
        # or is rolled back leaves the model as it was)
        new_norm = aug_kw["normalization"] if aug_kw and self.normalization is None else None
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError(
                    "validation_data must be a pair (X_val, y_val), got %s"
                    % type(validation_data).__name__
                )
            if new_norm is not None:  # X_val as the trained model will read it
                self.normalization = new_norm
            try:
                Xv = self._check_X(validation_data[0], "validation_data[0]")
            finally:
                if new_norm is not None:
                    self.normalization = None
            val = (Xv, self._check_y(validation_data[1], Xv.shape[0], "validation_data[1]"))

        n = X.shape[0]
        n_loops = int(math.ceil(epochs))
        # samples seen in each epoch of this call: n, but the last epoch may
        # be partial (no per-epoch list: a huge epochs must not allocate)
        last_size = n
        if n_loops and epochs != n_loops:
            last_size = max(1, int(round((epochs - (n_loops - 1)) * n)))
        per_batch = min(batch_size, n)
        total_steps = (
            (n_loops - 1) * -(-n // per_batch) + -(-last_size // per_batch) if n_loops else 0
        )
        if total_steps >= 2**63:
            # (the kernels count steps, for Adam's bias correction and the
            # schedules, in 64 bits)
            raise ValueError(
                "epochs=%r on %d samples at batch_size %d is more optimiser steps than "
                "a step counter holds (2**63 - 1)" % (epochs, n, batch_size)
            )
        warm = (
            int(round(warmup * total_steps))
            if isinstance(warmup, (float, np.floating))  # (np.float32(0.5) was 0 steps)
            else int(warmup)
        )
        step_schedule = lr_schedule if lr_schedule in ("linear", "onecycle") else "constant"
        drop_kw: Dict[str, Any] = {}
        if (
            self.dropout
            or self.input_dropout
            or label_smoothing
            or warm
            or step_schedule != "constant"
        ):
            drop_kw = dict(
                dropout=self.dropout,
                input_dropout=self.input_dropout,
                dropout_seed=(self.seed + (self.epochs_trained << 32)) % 2**64,
                label_smoothing=label_smoothing,
                schedule=step_schedule,
                schedule_start=0,
                schedule_total=total_steps,
                warmup=warm,
            )
        if optimizer == "sgd":
            state = [np.zeros_like(p) for p in self.params] if momentum else []
        else:
            state = [np.zeros_like(p) for p in self.params] + [
                np.zeros_like(p) for p in self.params
            ]
        kernel = _ref.train_epoch if self.backend == "numpy" else _fast().train_epoch
        prec = {} if self.backend == "numpy" else {"precision": self.precision}
        step = 0
        new_rows = []
        for e in range(n_loops):
            epoch = self.epochs_trained
            lr_e = lr
            if lr_schedule == "cosine":
                lr_e = lr * 0.5 * (1.0 + math.cos(math.pi * e / epochs))
            if shuffle:
                order = np.random.default_rng([self.seed, epoch]).permutation(n)
            else:
                order = np.arange(n)
            n_e = last_size if e == n_loops - 1 else n
            order = np.ascontiguousarray(order[:n_e], dtype=np.int64)
            steps_e = -(-n_e // batch_size)
            cb = None
            if callback is not None:

                def cb(done, _epoch=epoch, _total=steps_e):
                    callback(_epoch, done, _total)

            # Rollback point: an epoch that does not finish leaves no trace.
            start = [p.copy() for p in self.params] + [g.copy() for g in self.grads]
            try:
                t0 = time.perf_counter()
                loss_sum, correct, step = kernel(
                    self.params,
                    self.grads,
                    state,
                    X,
                    y,
                    order,
                    activation=self.activation,
                    batch_size=min(batch_size, n),
                    optimizer=optimizer,
                    lr=lr_e,
                    momentum=momentum,
                    weight_decay=weight_decay,
                    step=step,
                    callback=cb,
                    callback_every=int(callback_every),
                    **drop_kw,
                    **prec,
                    **({**aug_kw, "augment_epoch": epoch % 2**32} if aug_kw else {}),
                )
                seconds = time.perf_counter() - t0
                if callback is not None and steps_e % callback_every:
                    callback(epoch, steps_e, steps_e)
                row: Dict[str, Any] = {
                    "epoch": epoch + 1,
                    "loss": loss_sum / n_e,
                    "train_acc": correct / n_e,
                    "seconds": seconds,
                }
                if val is not None:
                    row["val_loss"], row["val_acc"] = self.evaluate(*val)
            except BaseException:
                for p, saved in zip(self.params + self.grads, start):
                    p[...] = saved
                raise
            del start
            self.epochs_trained += 1
            if new_norm is not None:
                self.normalization = new_norm
            self.history.append(row)
            new_rows.append(row)
            if epoch_callback is not None:
                epoch_callback(row)
            if verbose:
                print(
                    " ".join(
                        "%s=%.4g" % kv if isinstance(kv[1], float) else "%s=%s" % kv
                        for kv in row.items()
                    )
                )
        return new_rows

    # ------------------------------------------------------------- inference
    def decision_function(self, X) -> np.ndarray:
        """Logits, shape (n_samples, n_classes)."""
        X = self._check_X(X)
        if self.backend == "numpy":
            return _ref.predict_logits(self.params, X, self.activation)
        return _fast().predict_logits(self.params, X, self.activation, self.precision)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (softmax of the logits)."""
        return _softmax_rows(self.decision_function(X))

    def predict(self, X) -> np.ndarray:
        """Predicted class ids (int64)."""
        return self.decision_function(X).argmax(axis=1).astype(np.int64)

    def evaluate(self, X, y) -> Tuple[float, float]:
        """(mean cross-entropy loss, accuracy) on (X, y)."""
        X = self._check_X(X)
        y = self._check_y(y, X.shape[0])
        z = self.decision_function(X).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = float(-logp[np.arange(y.shape[0]), y].mean())
        acc = float((z.argmax(axis=1) == y).mean())
        return loss, acc

    # ----------------------------------------------------------- persistence
    def save(self, path) -> Any:
        """Write a plain ``.npz`` (readable by NumPy alone): W0, b0, W1, b1,
        ..., layer_sizes, activation, seed, epochs_trained and, when set,
        normalization (scale, mean, std), dropout (hidden, input) and
        precision (``"bfloat16"``).

        ``.npz`` is appended to a name without it (as :func:`numpy.savez`
        does, and as :meth:`load` looks it up).  The file is written
        atomically as :func:`fastdigits.write_idx` (a temporary file in the
        target's folder renamed over it, symlinks followed, permissions kept),
        so an interrupted save leaves any earlier file intact.  ``path`` may also
        be a writable binary file object.  Returns the file name written (or
        the file object).
        """
        arrays = {}
        for i in range(len(self.params) // 2):
            arrays["W%d" % i] = self.params[2 * i]
            arrays["b%d" % i] = self.params[2 * i + 1]
        if self.normalization is not None:
            arrays["normalization"] = np.asarray(self.normalization, dtype=np.float64)
        if self.dropout or self.input_dropout:
            arrays["dropout"] = np.asarray([self.dropout, self.input_dropout], dtype=np.float64)
        if self.precision != "float32":
            arrays["precision"] = np.asarray(self.precision)
        arrays.update(
            layer_sizes=np.asarray(self.layer_sizes, dtype=np.int64),
            activation=np.asarray(self.activation),
            seed=np.asarray(self.seed, dtype=np.uint64),
            epochs_trained=np.asarray(self.epochs_trained, dtype=np.int64),
            format=np.asarray(MODEL_FORMAT),
        )
        if hasattr(path, "write"):
            np.savez(path, **arrays)
            return path
        from ._atomic import atomic_write  # the same atomic write as write_idx

        target = _model_path(path)
        atomic_write(target, lambda f: np.savez(f, **arrays))
        return target

    @classmethod
    def load(cls, path, backend: str = "fast", precision: Optional[str] = None) -> "MLP":
        """Rebuild a model written by :meth:`save` (weights keep their dtype).

        ``precision``: None (default) for the one it was saved with (files
        without one: ``"float32"``), or ``"float32"`` / ``"bfloat16"`` to
        choose.  A model saved with ``"bfloat16"`` and loaded with
        ``backend="numpy"`` (which runs float32 only) needs
        ``precision="float32"``: the ValueError says so.

        ``path`` is looked up as :meth:`save` names it (``m`` -> ``m.npz``),
        or as given when only that exists; it may also be a readable,
        seekable binary file object (what :meth:`save` writes to one).  Any unreadable, damaged or
        inconsistent file raises :class:`ModelFileError` (a ValueError)
        naming the file and the problem; every array's shape is checked
        against ``layer_sizes`` and the archive's sizes before anything is
        allocated.
        """
        if backend not in BACKENDS:
            raise ValueError("backend must be one of %s, got %r" % (", ".join(BACKENDS), backend))
        if hasattr(path, "read"):  # a binary file object, as save() takes
            name = str(getattr(path, "name", "<file object>"))
            data = _read_model_file(name, path)
        else:
            name = _model_path(path)
            if not os.path.exists(name) and os.path.exists(os.fspath(path)):
                name = os.fsdecode(os.fspath(path))
            data = _read_model_file(name)
        sizes = data["layer_sizes"]
        chosen = precision is not None
        if precision is None:
            precision = data["precision"]
            if precision != "float32" and backend != "fast":
                raise ValueError(
                    "%s: the model was saved with precision=%r, which backend=%r does not "
                    "run: load it with backend='fast', or pass precision='float32'"
                    % (name, precision, backend)
                )
        elif precision not in ("float32", "bfloat16"):
            raise ValueError('precision must be "float32" or "bfloat16", got %r' % (precision,))
        try:
            model = cls(
                sizes,
                activation=data["activation"],
                dtype=data["dtype"],
                seed=data["seed"],
                backend=backend,
                normalization=data["normalization"],
                dropout=data["dropout"][0],
                input_dropout=data["dropout"][1],
                precision=precision,
            )
        except (TypeError, ValueError) as exc:
            if chosen and "precision" in str(exc):  # the caller's choice, not the file
                raise ValueError("%s: %s" % (name, exc)) from None
            raise ModelFileError("%s: invalid model settings: %s" % (name, exc)) from None
        for j, arr in enumerate(data["params"]):
            model.params[j][...] = arr
        model.epochs_trained = data["epochs_trained"]
        return model

    def __repr__(self) -> str:
        extra = "" if self.normalization is None else ", normalization=%r" % (self.normalization,)
        if self.dropout:
            extra += ", dropout=%r" % self.dropout
        if self.input_dropout:
            extra += ", input_dropout=%r" % self.input_dropout
        if self.precision != "float32":
            extra += ", precision=%r" % (self.precision,)
        return "MLP(layer_sizes=%r, activation=%r, dtype=%s, seed=%d, backend=%r%s)" % (
            self.layer_sizes,
            self.activation,
            self.dtype.name,
            self.seed,
            self.backend,
            extra,
        )

    def score(self, X, y) -> float:
        """Mean accuracy on (X, y) (class ids), as scikit-learn's ``score``."""
        X = self._check_X(X)
        y = self._check_y(y, X.shape[0])
        return float((self.decision_function(X).argmax(axis=1) == y).mean())


# Deflate cannot expand data more than ~1032:1; a member claiming more is forged.
_MAX_DEFLATE_RATIO = 1032


def _npy_headers(zf: zipfile.ZipFile, name: str) -> Dict[str, Tuple[Tuple[int, ...], np.dtype]]:
    """key -> (shape, dtype) of every array in the archive, from the .npy
    headers alone, each checked against the member's size in the archive."""
    fmt = np.lib.format
    out = {}
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise ModelFileError(
                "%s: unexpected member %r (not a .npy array)" % (name, info.filename)
            )
        key = info.filename[:-4]
        if info.compress_type == zipfile.ZIP_STORED:
            ok = info.file_size == info.compress_size
        else:
            ok = info.file_size <= _MAX_DEFLATE_RATIO * info.compress_size + 1024
        if not ok:
            raise ModelFileError(
                "%s: %s: archive sizes are inconsistent (%d bytes stored, "
                "%d claimed)" % (name, key, info.compress_size, info.file_size)
            )
        with zf.open(info) as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
            offset = f.tell()
        if dtype.hasobject:
            raise ModelFileError(
                "%s: %s holds Python objects; a model file holds numbers" % (name, key)
            )
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if offset + nbytes != info.file_size:
            raise ModelFileError(
                "%s: %s: header says %s %s (%d bytes) but the member has %d "
                "bytes of data" % (name, key, dtype, shape, nbytes, info.file_size - offset)
            )
        out[key] = (tuple(shape), dtype)
    return out


def _read_model_file(name: str, fileobj: Any = None) -> Dict[str, Any]:
    """The checked contents of a model file (see :meth:`MLP.load`): the file
    ``name``, or the binary file object ``fileobj`` (``name`` then only
    names it in messages)."""
    if fileobj is None and os.path.isdir(name):
        raise ModelFileError("%s: is a folder, not a model file" % name)
    if fileobj is None and not os.path.exists(name):
        raise ModelFileError("%s: no such file" % name)
    fmt = np.lib.format
    try:
        with zipfile.ZipFile(name if fileobj is None else fileobj) as zf:
            heads = _npy_headers(zf, name)

            def read(key: str) -> np.ndarray:
                with zf.open(key + ".npy") as f:
                    return fmt.read_array(f, allow_pickle=False)

            def scalar(key: str, kind: str, default: Any = None) -> Any:
                if key not in heads:
                    if default is None:
                        raise ModelFileError("%s: no %s (not a fastdigits MLP file)" % (name, key))
                    return default
                shape, dt = heads[key]
                if shape != () or dt.kind not in kind:
                    raise ModelFileError(
                        "%s: %s must be a single %s value, got %s %s"
                        % (name, key, "text" if kind == "U" else "integer", dt, shape)
                    )
                return read(key)[()]

            if "layer_sizes" not in heads or "activation" not in heads:
                raise ModelFileError(
                    "%s: not a fastdigits MLP file (no layer_sizes/activation)" % name
                )
            shape, dt = heads["layer_sizes"]
            if len(shape) != 1 or not 2 <= shape[0] <= 1000 or dt.kind not in "iu":
                raise ModelFileError(
                    "%s: layer_sizes must be 2 to 1000 integers, got %s %s" % (name, dt, shape)
                )
            sizes = tuple(int(v) for v in read("layer_sizes"))
            if min(sizes) < 1:
                raise ModelFileError("%s: layer_sizes must be positive, got %s" % (name, sizes))
            expected = []
            for i in range(len(sizes) - 1):
                expected += [("W%d" % i, (sizes[i], sizes[i + 1])), ("b%d" % i, (sizes[i + 1],))]
            dtype = None
            for key, want in expected:
                if key not in heads:
                    raise ModelFileError("%s: %s is missing (layer_sizes %s)" % (name, key, sizes))
                shape, dt = heads[key]
                if shape != want:
                    raise ModelFileError(
                        "%s: %s has shape %s, layer_sizes %s need %s"
                        % (name, key, shape, sizes, want)
                    )
                if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
                    raise ModelFileError(
                        "%s: %s must be float32 or float64, got %s" % (name, key, dt)
                    )
                if dtype is not None and dt != dtype:
                    raise ModelFileError("%s: %s is %s but W0 is %s" % (name, key, dt, dtype))
                dtype = dt
            norm = None
            if "normalization" in heads:
                shape, dt = heads["normalization"]
                if shape != (3,) or dt.kind != "f":
                    raise ModelFileError(
                        "%s: normalization must be 3 floats (scale, mean, "
                        "std), got %s %s" % (name, dt, shape)
                    )
                norm = tuple(float(v) for v in read("normalization"))
            drop = (0.0, 0.0)
            if "dropout" in heads:
                shape, dt = heads["dropout"]
                if shape != (2,) or dt.kind != "f":
                    raise ModelFileError(
                        "%s: dropout must be 2 floats (hidden, input), got %s %s"
                        % (name, dt, shape)
                    )
                drop = tuple(float(v) for v in read("dropout"))
            data = {
                "dropout": drop,
                "layer_sizes": sizes,
                "dtype": dtype,
                "normalization": norm,
                "activation": str(scalar("activation", "U")),
                "precision": str(scalar("precision", "U", "float32")),
                "seed": int(scalar("seed", "iu", 0)),
                "epochs_trained": int(scalar("epochs_trained", "iu", 0)),
                "params": [read(key) for key, _ in expected],
            }
    except ModelFileError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        ValueError,
        OSError,
        KeyError,
    ) as exc:  # damaged archive, bad CRC, truncated member, ...
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        try:
            with open(name, "rb") as f:
                if f.read(6) == b"\x93NUMPY":
                    why = "it is a single .npy array, a model is an .npz archive"
        except OSError:
            pass
        raise ModelFileError("%s: not a readable model file (.npz): %s" % (name, why)) from None
    if data["epochs_trained"] < 0:
        raise ModelFileError("%s: epochs_trained is negative" % name)
    return data
