"""Plain NumPy softmax cross-entropy: the twin of :mod:`fastdigits.loss`."""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np

from .._args import as_array, native_dtype

__all__ = ["softmax_cross_entropy"]


def softmax_cross_entropy(
    logits: Any,
    labels: Any,
    *,
    reduction: str = "mean",
    grad_out: Optional[np.ndarray] = None,
    need_grad: bool = True,
) -> Tuple[Union[np.floating, np.ndarray], Optional[np.ndarray]]:
    """Same signature and results as :func:`fastdigits.softmax_cross_entropy`.

    Computed in the logits dtype with the max-subtracted log-sum-exp:
    ``loss_i = (max_i - x[i, y_i]) + log(sum_j exp(x_ij - max_i))``.
    """
    # (as the kernel converts them: Python numbers become float64 logits)
    x = logits if isinstance(logits, np.ndarray) else as_array(logits, "logits")
    if native_dtype(x.dtype) not in (np.float32, np.float64):
        raise TypeError("logits must be float32 or float64, got dtype %s" % x.dtype)
    if x.ndim != 2:
        raise ValueError("logits must be 2-D (batch, classes), got shape %s" % (x.shape,))
    if reduction not in ("mean", "sum", "none"):
        raise ValueError("reduction must be 'mean', 'sum' or 'none', got %r" % (reduction,))
    y = labels if isinstance(labels, np.ndarray) else as_array(labels, "labels", natural=True)
    if y.dtype.kind not in "iu":
        raise TypeError("labels must hold integers (class ids), got dtype %s" % y.dtype)
    m, c = x.shape
    if y.shape != (m,):
        raise ValueError("labels must have shape (%d,) to match logits, got %s" % (m, y.shape))
    bad = np.flatnonzero((y < 0) | (y >= c))
    if bad.size:
        raise ValueError(
            "labels[%d] = %d is out of range: class ids must be in [0, %d)" % (bad[0], y[bad[0]], c)
        )
    if grad_out is not None and not need_grad:
        raise ValueError("grad_out was given but need_grad is False")
    rows_idx = np.arange(m)
    y = y.astype(np.int64)

    mx = x.max(axis=1, keepdims=True) if c else np.zeros((m, 1), x.dtype)
    e = np.exp(x - mx)
    s = e.sum(axis=1, keepdims=True)
    rows = (mx[:, 0] - x[rows_idx, y]) + np.log(s[:, 0])
    if reduction == "none":
        loss: Union[np.floating, np.ndarray] = rows
    elif reduction == "sum":
        loss = rows.sum(dtype=np.float64).astype(x.dtype)
    else:
        loss = (rows.sum(dtype=np.float64) / m if m else np.float64(np.nan)).astype(x.dtype)

    if not need_grad:
        return loss, None
    scale = x.dtype.type(1.0 / m) if reduction == "mean" and m else x.dtype.type(1.0)
    g = e / s
    g *= scale
    g[rows_idx, y] -= scale
    if grad_out is not None:
        grad_out[...] = g
        g = grad_out
    return loss, g
