"""Fused dense layers and the GEMM core (C kernels, no BLAS).

All functions take C-contiguous float32 or float64 NumPy arrays (a CPU torch
tensor works through ``tensor.numpy()``); the dtypes of all arguments must
match.  ``W`` is ``(in_features, out_features)`` and may be C- or
F-contiguous (``torch_linear.weight.detach().numpy().T`` is F-contiguous and
is read without a copy).  Results do not depend on the thread count
(bit-identical for any ``fastdigits.threads(n)``).

Activations: ``"identity"``, ``"relu"``, ``"sigmoid"``, ``"tanh"``,
``"gelu"`` (tanh approximation ``0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))``).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from . import _dense

ACTIVATIONS: Tuple[str, ...] = tuple(_dense.ACTIVATIONS)

__all__ = ["ACTIVATIONS", "dense_backward", "dense_forward", "matmul"]


def matmul(a: np.ndarray, b: np.ndarray, *, out: Optional[np.ndarray] = None) -> np.ndarray:
    """``a @ b`` for 2-D float32/float64 arrays of the same dtype.

    ``a`` and ``b`` may be C- or F-contiguous (or any strided view); ``out``
    (C- or F-contiguous, shape ``(a.shape[0], b.shape[1])``) is written in
    place and returned when given.
    """
    return _dense.matmul(a, b, out)


def dense_forward(x: np.ndarray, W: np.ndarray, b: Optional[np.ndarray] = None,
                  activation: str = "relu", *, out: Optional[np.ndarray] = None,
                  preact_out: Optional[np.ndarray] = None) -> np.ndarray:
    """``y = act(x @ W + b)`` in one pass.

    x: ``(batch, in)`` C-contiguous; W: ``(in, out)``; b: ``(out,)`` or None.
    Bias and activation are applied to each output tile while it is still in
    registers.  ``preact_out`` (``(batch, out)``), when given, receives the
    pre-activation ``z = x @ W + b`` (needed by :func:`dense_backward` for
    gelu).  Returns ``y`` (``out`` when given).
    """
    return _dense.dense_forward(x, W, b, activation, out, preact_out)


def dense_backward(dy: np.ndarray, x: np.ndarray, W: np.ndarray, y_or_z: np.ndarray,
                   activation: str, *, need_dx: bool = True,
                   dx_out: Optional[np.ndarray] = None, dW_out: Optional[np.ndarray] = None,
                   db_out: Optional[np.ndarray] = None,
                   accumulate: bool = False) -> Tuple[Optional[np.ndarray], np.ndarray, np.ndarray]:
    """Gradients of ``y = act(x @ W + b)`` given ``dy = dL/dy``.

    ``y_or_z`` is the layer **output y** for identity/relu/sigmoid/tanh and the
    **pre-activation z** for gelu (gelu' is not a function of y).
    Returns ``(dx, dW, db)``: ``dz = dy * act'``, ``db = dz.sum(0)``,
    ``dW = x.T @ dz`` (with W's layout: F-contiguous when W is),
    ``dx = dz @ W.T`` (``None`` when ``need_dx=False``, e.g. the first layer).
    With ``accumulate=True`` the results are added into ``dW_out``, ``db_out``
    (and ``dx_out``), which must then be given.

    ``dz`` and ``db`` come from one pass over ``dy``: for layers with at least
    as many outputs as inputs, the one that packs ``dz`` for the ``dW``
    product; otherwise a pass of their own.  ``db`` sums fixed 64-row chunks
    in a fixed order, so every result is the same for any thread count.
    """
    return _dense.dense_backward(dy, x, W, y_or_z, activation, need_dx, dx_out,
                                 dW_out, db_out, accumulate)
