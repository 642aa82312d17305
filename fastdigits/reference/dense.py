"""Plain NumPy twins of :mod:`fastdigits.dense` (same signatures)."""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from .._activation import ACTIVATIONS, activation_name, backward_input

_GELU_C = np.sqrt(2.0 / np.pi)
_GELU_A = 0.044715


def _act(name: Optional[str], z: np.ndarray) -> np.ndarray:
    name = activation_name(name)
    if name == "identity":
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "sigmoid":
        # stable for large |z|: exp of a non-positive number only
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)
    if name == "tanh":
        return np.tanh(z)
    if name == "gelu":
        c = z.dtype.type(_GELU_C)
        a = z.dtype.type(_GELU_A)
        return z.dtype.type(0.5) * z * (1 + np.tanh(c * (z + a * z * z * z)))
    raise ValueError("activation must be one of %s, got %r" % (", ".join(ACTIVATIONS), name))


def _act_grad(name: str, yz: np.ndarray) -> np.ndarray:
    """act'(.) from y (identity, relu, sigmoid, tanh) or from z (gelu)."""
    if name == "identity":
        return np.ones_like(yz)
    if name == "relu":
        # 1 where y > 0, 0 where y <= 0, NaN where y is NaN (NaN propagates)
        return np.where(np.isnan(yz), yz, yz > 0).astype(yz.dtype)
    if name == "sigmoid":
        return yz * (1 - yz)
    if name == "tanh":
        return 1 - yz * yz
    if name == "gelu":
        t = yz.dtype.type
        z2 = yz * yz
        th = np.tanh(t(_GELU_C) * (yz + t(_GELU_A) * z2 * yz))
        return t(0.5) * (1 + th) + t(0.5) * yz * (1 - th * th) * t(_GELU_C) * (
            1 + t(3 * _GELU_A) * z2
        )
    raise ValueError("activation must be one of %s, got %r" % (", ".join(ACTIVATIONS), name))


def matmul(a: np.ndarray, b: np.ndarray, *, out: Optional[np.ndarray] = None) -> np.ndarray:
    """``a @ b`` for 2-D float arrays."""
    return np.matmul(a, b, out=out)


def dense_forward(
    x: np.ndarray,
    W: np.ndarray,
    b: Optional[np.ndarray] = None,
    activation: Optional[str] = None,
    *,
    out: Optional[np.ndarray] = None,
    preact_out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """``act(x @ W + b)``; ``preact_out`` receives ``x @ W + b``."""
    activation = activation_name(activation)
    z = x @ W
    if b is not None:
        z += b
    if preact_out is not None:
        preact_out[...] = z
    y = _act(activation, z)
    if out is not None:
        out[...] = y
        return out
    return y


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
) -> Tuple[Optional[np.ndarray], np.ndarray, np.ndarray]:
    """Gradients of ``y = act(x @ W + b)``: returns ``(dx, dW, db)``.

    relu/sigmoid/tanh take the output ``y=``, gelu the pre-activation ``z=``
    (see :func:`fastdigits.dense_backward`)."""
    activation, yz, _ = backward_input(activation, y_or_z, y, z)
    if accumulate and dx_out is None and dW_out is None and db_out is None:
        raise ValueError(
            "accumulate=True needs at least one of dx_out, dW_out, db_out (the buffers to add into)"
        )
    dz = dy if activation == "identity" else dy * _act_grad(activation, yz)
    dW = x.T @ dz
    db = dz.sum(axis=0)
    dx = dz @ W.T if need_dx else None
    results = []
    for val, buf in ((dx, dx_out), (dW, dW_out), (db, db_out)):
        if buf is not None and val is not None:
            if accumulate:
                buf += val
            else:
                buf[...] = val
            val = buf
        results.append(val)
    return results[0], results[1], results[2]
