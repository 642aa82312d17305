"""Fused dense layers and the GEMM core (C kernels, no BLAS).

Inputs are float32 or float64 arrays of one dtype, or array-likes converted
as NumPy does (lists of Python numbers take the dtype of the call's arrays;
a CPU torch tensor works, one that requires grad raises TypeError: pass
``t.detach()``).  Non-contiguous inputs are copied; ``W`` is
``(in_features, out_features)`` and is read in place when C- or
F-contiguous (``torch_linear.weight.detach().numpy().T`` is F-contiguous).
``out=`` buffers are used as given (never copied) or rejected.  Results do
not depend on the thread count (bit-identical for any
``fastdigits.threads(n)``).

Precision: ``precision="float32"`` (the default) or ``"bfloat16"`` on
:func:`matmul`, :func:`dense_forward` and :func:`dense_backward`.
bfloat16 takes and returns float32 arrays: the GEMM operands are rounded to
bfloat16 (round to nearest even; NaN stays NaN) while they are packed, the
products are summed in float32, and bias, activation, activation gradient
and bias gradient stay float32.  It runs on the ``"amx"`` path (tdpbf16ps),
the ``"avx512_bf16"`` path (vdpbf16ps), or, on any other
``fastdigits.simd(...)`` path, a portable emulation of the same rounding
(correct, not fast).  Results match the NumPy twin
(``fastdigits.reference``, same keyword) within bfloat16 accuracy (relative
error about ``2**-8`` per operand) and are bit-identical for any thread
count on each path, not across paths.  float64 arrays with
``precision="bfloat16"`` raise TypeError.

Activations: ``None`` or ``"identity"`` (linear, the default, as in
``torch.nn.Linear`` and Keras ``Dense``), ``"relu"``, ``"sigmoid"``,
``"tanh"``, ``"gelu"`` (tanh approximation
``0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))``).  NaN propagates through
every activation (``relu(NaN)`` is NaN, as ``np.maximum(z, 0)``).
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from . import _dense
from ._activation import ACTIVATIONS, backward_input
from ._docstrings import fill_doc

__all__ = [
    "ACTIVATIONS",
    "PackedWeights",
    "dense_backward",
    "dense_forward",
    "matmul",
    "pack_weights",
]

# a float32 W packed by pack_weights (the class is the binding's: no Python
# attribute reaches its words)
PackedWeights = _dense.PackedWeights


def matmul(
    a: np.ndarray,
    b: np.ndarray,
    *,
    out: Optional[np.ndarray] = None,
    precision: str = "float32",
) -> np.ndarray:
    """``a @ b`` for 2-D float32/float64 arrays of the same dtype.

    Parameters
    ----------
    a, b : ndarray, shapes (m, k) and (k, n)
        C- or F-contiguous, or any strided view (copied then).
    out : ndarray, optional
        C- or F-contiguous buffer of shape ``(m, n)`` and the inputs' dtype,
        written in place.
    precision : {"float32", "bfloat16"}
        ``"bfloat16"``: operands rounded to bfloat16, products summed in
        float32 (float32 arrays only; see the module notes).

    Returns
    -------
    ndarray, shape (m, n)
        ``out`` when given, else a new array.

    Examples
    --------
    >>> import numpy as np, fastdigits
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((100, 30), dtype=np.float32)
    >>> b = rng.standard_normal((30, 20), dtype=np.float32)
    >>> c = fastdigits.matmul(a, b)
    >>> c.shape, c.dtype
    ((100, 20), dtype('float32'))
    >>> from fastdigits import reference  # the NumPy twins
    >>> np.allclose(c, reference.matmul(a, b), rtol=1e-4, atol=1e-4)
    True

    F-contiguous operands are read in place, and ``out=`` is filled:

    >>> out = np.empty((100, 20), np.float32)
    >>> fastdigits.matmul(a, np.asfortranarray(b), out=out) is out
    True
    >>> np.allclose(out, c, rtol=1e-4, atol=1e-4)
    True

    bfloat16 products (float32 in and out), against the NumPy twin:

    >>> c16 = fastdigits.matmul(a, b, precision="bfloat16")
    >>> c16.dtype
    dtype('float32')
    >>> np.allclose(c16, reference.matmul(a, b, precision="bfloat16"), rtol=1e-3, atol=1e-3)
    True
    """
    return _dense.matmul(a, b, out, precision)


def pack_weights(W: np.ndarray, *, precision: str = "bfloat16") -> PackedWeights:
    """``W`` packed once for bfloat16 :func:`dense_forward` calls.

    A ``precision="bfloat16"`` :func:`dense_forward` rounds ``W`` to
    bfloat16 and packs it into the GEMM's layout on every call (about a
    tenth of a 1024 x 784 -> 256 layer on AMX).  Packed once here, the
    result is passed in place of ``W`` any number of times: the output is
    bit for bit that of the plain call with the same ``W``.

    Invalidation: the packed copy is a **snapshot** of ``W`` when it was
    packed; nothing tracks ``W`` afterwards.  After ``W`` changes (an
    optimiser step), call ``pack_weights`` again, or the layer keeps using
    the old values.  (``MLP(precision="bfloat16")`` does this itself: its
    training epoch re-packs each ``W`` inside every optimiser step, and its
    inference packs each ``W`` once per call.)

    The packed layout depends on the SIMD path (``fastdigits.get_simd()``
    when packing: ``"amx"`` tiles, ``"avx512_bf16"`` pairs, or the portable
    emulation's) and on this CPU's cache sizes (read once per process).  The
    path is recorded: using the result on another path (under
    ``fastdigits.simd(...)``, ``set_simd`` or ``FASTDIGITS_SIMD``) raises
    ValueError naming both paths.  PackedWeights cannot be pickled
    (TypeError): pickle ``W`` and pack it after loading.

    Parameters
    ----------
    W : array_like, shape (in, out)
        float32 weights (float64: TypeError), any memory order (one copy
        for a non-C-contiguous ``W``).
    precision : {"bfloat16"}
        The products it is packed for; ``"float32"`` raises ValueError
        (float32 products read ``W`` in place: nothing to pack).

    Returns
    -------
    PackedWeights
        Immutable (its buffer is read-only and private; safe to share
        between threads): ``.shape`` ``(in, out)``, ``.precision``
        ``"bfloat16"``, ``.path`` the SIMD path, ``.nbytes``.  Only
        :func:`dense_forward` takes it, with ``precision="bfloat16"``
        (another precision raises ValueError).

    Examples
    --------
    >>> import numpy as np, fastdigits
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((8, 5), dtype=np.float32)
    >>> W = rng.standard_normal((5, 3), dtype=np.float32)
    >>> b = rng.standard_normal(3, dtype=np.float32)
    >>> Wp = fastdigits.pack_weights(W)
    >>> Wp.shape, Wp.precision, Wp.path == fastdigits.get_simd()
    ((5, 3), 'bfloat16', True)
    >>> y = fastdigits.dense_forward(x, Wp, b, "relu", precision="bfloat16")
    >>> y2 = fastdigits.dense_forward(x, W, b, "relu", precision="bfloat16")
    >>> np.array_equal(y, y2)
    True

    A snapshot: after ``W`` changes, pack it again.

    >>> W *= 2
    >>> np.array_equal(fastdigits.dense_forward(x, Wp, b, "relu", precision="bfloat16"), y)
    True
    >>> Wp = fastdigits.pack_weights(W)
    """
    return _dense.pack_weights(W, precision)


@fill_doc
def dense_forward(
    x: np.ndarray,
    W: Any,
    b: Optional[np.ndarray] = None,
    activation: Optional[str] = None,
    *,
    out: Optional[np.ndarray] = None,
    preact_out: Optional[np.ndarray] = None,
    precision: str = "float32",
    dropout: float = 0.0,
    seed: int = 0,
    act_out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """``y = act(x @ W + b)`` in one pass (a fused dense layer).

    Bias and activation are applied to each output tile while it is still in
    registers; with ``dropout=p`` each finished tile is also masked and
    scaled while it is in L1: ``y = fastdigits.dropout(act(x @ W + b), p,
    seed)`` bit for bit, in one pass.

    Parameters
    ----------
    x : array_like, shape (batch, in)
    W : array_like, shape (in, out), or PackedWeights
        Or ``pack_weights(W)`` (:func:`pack_weights`: bfloat16 only, on
        the SIMD path it was packed on): the same result without packing
        ``W`` in this call.
    b : array_like, shape (out,), optional
    activation : {None, "identity", "relu", "sigmoid", "tanh", "gelu"}
        ``None`` (the default) is linear.
    out : ndarray, optional
        Buffer of shape ``(batch, out)`` that receives ``y``.
    preact_out : ndarray, optional
        Buffer of shape ``(batch, out)`` that receives the pre-activation
        ``z = x @ W + b`` (needed by :func:`dense_backward` for gelu).
    precision : {"float32", "bfloat16"}
        ``"bfloat16"``: ``x`` and ``W`` rounded to bfloat16 for the product,
        summed in float32; bias and activation in float32.
    dropout : float
        Drop rate ``p`` in ``[0, 1)`` (0, the default: no dropout).  Element
        ``(i, j)`` takes the mask of flat index ``i * out + j`` of
        :func:`fastdigits.dropout` on the ``(batch, out)`` result, with the
        same scaling ``1 / (1 - p)`` (a dropped NaN or inf becomes 0), so
        the result is the two-call form's bit for bit, for any thread count
        and SIMD path.
    seed : int
        The dropout mask's Philox key, in ``[0, 2**64)``.
    act_out : ndarray, optional
        Buffer of shape ``(batch, out)`` that receives the un-dropped
        ``act(x @ W + b)`` (what :func:`dense_backward` needs as ``y=`` for
        sigmoid and tanh under dropout); without dropout, a copy of ``y``.

    Returns
    -------
    y : ndarray, shape (batch, out)
        ``out`` when given; with ``dropout``, the dropped output.

    Examples
    --------
    %(dense_example_layer)s
    >>> y = fastdigits.dense_forward(x, W, b, "relu")
    >>> y.shape, y.dtype
    ((8, 3), dtype('float32'))
    >>> np.allclose(y, np.maximum(x @ W + b, 0), atol=1e-5)
    True

    Keep the pre-activation for a gelu layer's backward pass:

    >>> z = np.empty((8, 3), np.float32)
    >>> y = fastdigits.dense_forward(x, W, b, "gelu", preact_out=z)
    >>> np.allclose(z, x @ W + b, atol=1e-5)
    True
    >>> from fastdigits import reference
    >>> np.allclose(y, reference.dense_forward(x, W, b, "gelu"), atol=1e-5)
    True

    With bfloat16 products:

    >>> y16 = fastdigits.dense_forward(x, W, b, "relu", precision="bfloat16")
    >>> ref16 = reference.dense_forward(x, W, b, "relu", precision="bfloat16")
    >>> np.allclose(y16, ref16, rtol=1e-3, atol=1e-3)
    True

    Dropout fused into the layer, equal to the two-call form:

    >>> yd = fastdigits.dense_forward(x, W, b, "relu", dropout=0.5, seed=7)
    >>> y2 = fastdigits.dropout(fastdigits.dense_forward(x, W, b, "relu"), 0.5, seed=7)
    >>> np.array_equal(yd, y2)
    True
    """
    return _dense.dense_forward(
        x, W, b, activation, out, preact_out, precision, dropout, seed, act_out
    )


@fill_doc
def dense_backward(
    dy: np.ndarray,
    x: np.ndarray,
    W: np.ndarray,
    y_or_z: Any = None,
    activation: Optional[str] = None,
    *,
    y: Optional[np.ndarray] = None,
    z: Optional[np.ndarray] = None,
    need_dx: bool = True,
    dx_out: Optional[np.ndarray] = None,
    dW_out: Optional[np.ndarray] = None,
    db_out: Optional[np.ndarray] = None,
    accumulate: bool = False,
    precision: str = "float32",
    dropout: float = 0.0,
    seed: int = 0,
) -> Tuple[Optional[np.ndarray], np.ndarray, np.ndarray]:
    """Gradients of ``y = act(x @ W + b)`` given ``dy = dL/dy``.

    act' is computed from the layer **output** ``y=`` for relu/sigmoid/tanh
    and from the **pre-activation** ``z=`` for gelu (gelu' is not a function
    of y; get z from ``dense_forward(..., preact_out=z)``); the identity
    (``activation=None``) needs neither.  Passing the other one raises
    ValueError.  The positional ``y_or_z`` still works as ``y`` for
    relu/sigmoid/tanh; for gelu it is deprecated (DeprecationWarning): use
    ``z=``.  relu'(y) is 1 where y > 0, 0 where y <= 0, and NaN where y is
    NaN (NaN propagates, as through every other activation's derivative).

    Parameters
    ----------
    dy : array_like, shape (batch, out)
        Gradient of the loss with respect to the layer output.
    x : array_like, shape (batch, in)
        The layer input.
    W : array_like, shape (in, out)
        The weights.
    y_or_z : array_like, optional
        Positional form of ``y`` (deprecated for gelu, see above).
    activation : {None, "identity", "relu", "sigmoid", "tanh", "gelu"}
        The forward pass's activation.
    y, z : array_like, shape (batch, out), optional
        The layer output (relu, sigmoid, tanh) or pre-activation (gelu).
    need_dx : bool
        ``False`` skips ``dx`` (e.g. for the first layer).
    dx_out, dW_out, db_out : ndarray, optional
        Buffers for the results.
    accumulate : bool
        Add each result into its buffer when one is given, and return it as
        a new array otherwise (e.g. only ``dW_out`` to sum weight gradients
        over micro-batches); at least one buffer must be given.
    precision : {"float32", "bfloat16"}
        ``"bfloat16"``: the ``dW`` and ``dx`` products take bfloat16
        operands (``x``, ``dz``, ``W``), summed in float32; ``dz`` and ``db``
        are computed in float32.
    dropout, seed : float, int
        The forward pass's ``dropout=`` and ``seed=``: ``dy`` is then the
        gradient with respect to the dropped output, and dropout's backward
        is fused into the pass that makes ``dz``:
        ``dz = fastdigits.dropout(dy, p, seed) * act'``, bit for bit the
        two-call form ``dense_backward(fastdigits.dropout(dy, p, seed),
        ...)``.  act' is read from ``y=`` / ``z=`` as without dropout: for
        relu ``y=`` may be the dropped output (it gives the same gradients,
        except that a dropped NaN gives 0 rather than NaN); sigmoid and tanh
        need the un-dropped output (``dense_forward(..., act_out=)``); gelu
        takes ``z=``.

    Returns
    -------
    dx : ndarray, shape (batch, in), or None
        ``dz @ W.T``; ``None`` when ``need_dx=False``.
    dW : ndarray, shape (in, out)
        ``x.T @ dz``, with W's layout (F-contiguous when W is).
    db : ndarray, shape (out,)
        ``dz.sum(0)``, where ``dz = dy * act'``.

    Notes
    -----
    ``dz`` and ``db`` come from one pass over ``dy``: for layers with at least
    as many outputs as inputs, the one that packs ``dz`` for the ``dW``
    product; otherwise a pass of their own.  ``db`` sums fixed 64-row chunks
    in a fixed order, so every result is the same for any thread count.

    Examples
    --------
    A relu layer's gradients, checked against the formulas above:

    %(dense_example_layer)s
    >>> y = fastdigits.dense_forward(x, W, b, "relu")
    >>> dy = rng.standard_normal((8, 3), dtype=np.float32)
    >>> dx, dW, db = fastdigits.dense_backward(dy, x, W, activation="relu", y=y)
    >>> dx.shape, dW.shape, db.shape
    ((8, 5), (5, 3), (3,))
    >>> dz = dy * (y > 0)
    >>> (np.allclose(dx, dz @ W.T, atol=1e-5), np.allclose(dW, x.T @ dz, atol=1e-5),
    ...  np.allclose(db, dz.sum(0), atol=1e-5))
    (True, True, True)

    gelu needs the pre-activation ``z``, kept by :func:`dense_forward`:

    >>> z = np.empty((8, 3), np.float32)
    >>> y = fastdigits.dense_forward(x, W, b, "gelu", preact_out=z)
    >>> dx, dW, db = fastdigits.dense_backward(dy, x, W, activation="gelu", z=z,
    ...                                        need_dx=False)
    >>> dx is None
    True
    >>> from fastdigits import reference
    >>> _, dW_ref, db_ref = reference.dense_backward(dy, x, W, activation="gelu", z=z)
    >>> np.allclose(dW, dW_ref, atol=1e-5), np.allclose(db, db_ref, atol=1e-5)
    (True, True)

    A relu layer with dropout: the same ``dropout`` and ``seed`` in both
    passes, ``y=`` the dropped output:

    >>> yd = fastdigits.dense_forward(x, W, b, "relu", dropout=0.25, seed=3)
    >>> g = fastdigits.dense_backward(dy, x, W, activation="relu", y=yd, dropout=0.25, seed=3)
    >>> g2 = fastdigits.dense_backward(fastdigits.dropout(dy, 0.25, seed=3), x, W,
    ...                                activation="relu", y=yd)
    >>> all(np.array_equal(a, c) for a, c in zip(g, g2))
    True
    """
    act, yz, yz_name = backward_input(activation, y_or_z, y, z)
    return _dense.dense_backward(
        dy,
        x,
        W,
        yz,
        act,
        need_dx,
        dx_out,
        dW_out,
        db_out,
        accumulate,
        yz_name,
        precision,
        dropout,
        seed,
    )
