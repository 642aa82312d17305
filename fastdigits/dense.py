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

__all__ = ["ACTIVATIONS", "dense_backward", "dense_forward", "matmul"]


def matmul(a: np.ndarray, b: np.ndarray, *, out: Optional[np.ndarray] = None) -> np.ndarray:
    """``a @ b`` for 2-D float32/float64 arrays of the same dtype.

    ``a`` and ``b`` may be C- or F-contiguous (or any strided view); ``out``
    (C- or F-contiguous, shape ``(a.shape[0], b.shape[1])``) is written in
    place and returned when given.
    """
    return _dense.matmul(a, b, out)


def dense_forward(x: np.ndarray, W: np.ndarray, b: Optional[np.ndarray] = None,
                  activation: Optional[str] = None, *, out: Optional[np.ndarray] = None,
                  preact_out: Optional[np.ndarray] = None) -> np.ndarray:
    """``y = act(x @ W + b)`` in one pass; ``activation=None`` (the default)
    is linear.

    x: ``(batch, in)``; W: ``(in, out)``; b: ``(out,)`` or None.
    Bias and activation are applied to each output tile while it is still in
    registers.  ``preact_out`` (``(batch, out)``), when given, receives the
    pre-activation ``z = x @ W + b`` (needed by :func:`dense_backward` for
    gelu).  Returns ``y`` (``out`` when given).
    """
    return _dense.dense_forward(x, W, b, activation, out, preact_out)


def dense_backward(dy: np.ndarray, x: np.ndarray, W: np.ndarray, y_or_z: Any = None,
                   activation: Optional[str] = None, *, y: Optional[np.ndarray] = None,
                   z: Optional[np.ndarray] = None, need_dx: bool = True,
                   dx_out: Optional[np.ndarray] = None, dW_out: Optional[np.ndarray] = None,
                   db_out: Optional[np.ndarray] = None,
                   accumulate: bool = False) -> Tuple[Optional[np.ndarray], np.ndarray, np.ndarray]:
    """Gradients of ``y = act(x @ W + b)`` given ``dy = dL/dy``.

    act' is computed from the layer **output** ``y=`` for relu/sigmoid/tanh
    and from the **pre-activation** ``z=`` for gelu (gelu' is not a function
    of y; get z from ``dense_forward(..., preact_out=z)``); the identity
    (``activation=None``) needs neither.  Passing the other one raises
    ValueError.  The positional ``y_or_z`` still works as ``y`` for
    relu/sigmoid/tanh; for gelu it is deprecated (DeprecationWarning): use
    ``z=``.  relu'(y) is 1 where y > 0, 0 where y <= 0, and NaN where y is
    NaN (NaN propagates, as through every other activation's derivative).
    Returns ``(dx, dW, db)``: ``dz = dy * act'``, ``db = dz.sum(0)``,
    ``dW = x.T @ dz`` (with W's layout: F-contiguous when W is),
    ``dx = dz @ W.T`` (``None`` when ``need_dx=False``, e.g. the first layer).
    With ``accumulate=True`` each result is added into its buffer when one is
    given (``dx_out``, ``dW_out``, ``db_out``) and returned as a new array
    otherwise (e.g. only ``dW_out`` to sum weight gradients over
    micro-batches); at least one buffer must be given.

    ``dz`` and ``db`` come from one pass over ``dy``: for layers with at least
    as many outputs as inputs, the one that packs ``dz`` for the ``dW``
    product; otherwise a pass of their own.  ``db`` sums fixed 64-row chunks
    in a fixed order, so every result is the same for any thread count.
    """
    act, yz, yz_name = backward_input(activation, y_or_z, y, z)
    return _dense.dense_backward(dy, x, W, yz, act, need_dx, dx_out,
                                 dW_out, db_out, accumulate, yz_name)
