"""Softmax cross-entropy over integer class labels, loss and gradient in one pass.

The C kernel (csrc/loss/loss.c) computes, per row, the max-subtracted
log-sum-exp and the softmax, so any finite logits (1e4, -1e4, all equal)
give finite, correct results.  The batch reduction sums fixed row blocks in
a fixed order: results are bit-identical for any thread count.  The plain
NumPy twin is :func:`fastdigits.reference.softmax_cross_entropy`.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np

from . import _loss

__all__ = ["softmax_cross_entropy"]


def softmax_cross_entropy(
    logits: Any,
    labels: Any,
    *,
    reduction: str = "mean",
    grad_out: Optional[np.ndarray] = None,
    need_grad: bool = True,
) -> Tuple[Union[np.floating, np.ndarray], Optional[np.ndarray]]:
    """Cross-entropy of ``softmax(logits)`` against integer ``labels``, and its gradient.

    Parameters
    ----------
    logits : array_like, shape (batch, classes), float32 or float64
        Unnormalised scores (a CPU torch tensor via ``tensor.numpy()``).
        Non-contiguous input is copied once.
    labels : array_like of integers, shape (batch,)
        Class ids in ``[0, classes)``; any integer dtype.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` averages the per-row losses (as ``torch.nn.functional.
        cross_entropy``), ``"sum"`` adds them, ``"none"`` returns them all.
    grad_out : ndarray, optional
        C-contiguous, writeable buffer of the logits' shape and dtype that
        receives the gradient (must not overlap the inputs).
    need_grad : bool
        ``False`` skips the gradient (forward only; faster).

    Returns
    -------
    loss : NumPy scalar of the logits dtype, or array of shape (batch,) for
        ``reduction="none"``.
    dlogits : ndarray (batch, classes) or None
        Gradient of the reduced loss w.r.t. the logits:
        ``softmax(logits) - onehot(labels)``, divided by ``batch`` for
        ``"mean"``; for ``"none"`` each row's gradient of its own loss.
        ``None`` when ``need_grad`` is False; ``grad_out`` when given.

    Raises
    ------
    TypeError
        Non-float logits, non-integer labels, ``grad_out`` of another dtype.
    ValueError
        Bad shapes or reduction, a label out of range (the message names
        ``labels[i]``), or an unusable ``grad_out``; nothing is written.

    Notes
    -----
    A batch of 0 rows gives NaN for ``"mean"`` (as NumPy and PyTorch) and 0
    for ``"sum"``.

    Examples
    --------
    >>> import numpy as np, fastdigits
    >>> logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]], dtype=np.float32)
    >>> labels = np.array([0, 1])
    >>> loss, grad = fastdigits.softmax_cross_entropy(logits, labels)
    >>> loss.dtype, grad.shape
    (dtype('float32'), (2, 3))

    The same as computing the softmax by hand:

    >>> p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    >>> bool(np.isclose(loss, -np.log(p[[0, 1], labels]).mean()))
    True
    >>> np.allclose(grad, (p - np.eye(3)[labels]) / 2)
    True

    Per-row losses without the gradient; huge logits stay finite:

    >>> losses, none = fastdigits.softmax_cross_entropy(logits, labels, reduction="none",
    ...                                                 need_grad=False)
    >>> losses.shape, none is None
    ((2,), True)
    >>> loss, _ = fastdigits.softmax_cross_entropy(np.array([[1e4, -1e4]]), np.array([1]))
    >>> float(loss)
    20000.0
    >>> fastdigits.softmax_cross_entropy(logits, np.array([0, 3]))
    Traceback (most recent call last):
    ...
    ValueError: labels[1] = 3 is out of range: class ids must be in [0, 3)
    """
    return _loss.softmax_cross_entropy(logits, labels, reduction, grad_out, need_grad)
