"""In-place optimiser steps: SGD (momentum, Nesterov, weight decay) and AdamW.

Parameters are any C-contiguous float32/float64 NumPy arrays (of any
shape, updated as flat buffers); a torch parameter can be updated in place
through ``p.detach().numpy()``.  Arrays the step writes (param, velocity, m,
v) are never converted or copied: anything else raises.  ``grad`` is only
read: array-likes are converted (Python numbers to the param dtype) and a
non-contiguous grad is copied.  The state buffers (velocity, m, v) are
arrays of the same shape and dtype, zero-initialised by the caller, and
updated in place too.  Both steps return None.  Every argument is checked
before anything is written.  Results do not depend on the thread count.
The plain NumPy twins are in :mod:`fastdigits.reference`.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import _optim
from ._docstrings import fill_doc

__all__ = ["adam_step", "sgd_step"]


@fill_doc
def sgd_step(
    param: np.ndarray,
    grad: Any,
    *,
    lr: float,
    momentum: float = 0.0,
    velocity: Optional[np.ndarray] = None,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> None:
    """One step of SGD, in place, with ``torch.optim.SGD`` semantics (dampening 0).

    ``g = grad + weight_decay * param``; with momentum
    ``velocity = momentum * velocity + g`` and the step direction is
    ``velocity`` (or ``g + momentum * velocity`` when ``nesterov``);
    ``param -= lr * direction``.  Starting from ``velocity = 0`` matches
    PyTorch's first step exactly.

    Parameters
    ----------
    %(step_param_grad)s
    lr : float
        Learning rate, finite and >= 0.
    momentum : float
        Finite and >= 0; 0 (the default) is plain SGD.
    velocity : ndarray, optional
        Momentum buffer like ``param`` (writeable, C-contiguous), updated in
        place; required when ``momentum != 0``, ignored otherwise.
    weight_decay : float
        L2 penalty added to the gradient, finite and >= 0.
    nesterov : bool
        Nesterov momentum; requires ``momentum > 0``.

    %(step_raises)s

    Examples
    --------
    >>> import numpy as np, fastdigits
    >>> param = np.array([1.0, 2.0, 3.0], np.float32)
    >>> grad = np.array([1.0, 2.0, 4.0], np.float32)
    >>> fastdigits.sgd_step(param, grad, lr=0.5)
    >>> param
    array([0.5, 1. , 1. ], dtype=float32)

    With momentum, the velocity buffer carries over between steps:

    >>> param = np.array([1.0, 2.0, 3.0], np.float32)
    >>> velocity = np.zeros_like(param)
    >>> for _ in range(2):
    ...     fastdigits.sgd_step(param, grad, lr=0.25, momentum=0.5, velocity=velocity)
    >>> velocity
    array([1.5, 3. , 6. ], dtype=float32)
    >>> param
    array([0.375, 0.75 , 0.5  ], dtype=float32)
    """
    _optim.sgd_step(param, grad, lr, momentum, velocity, weight_decay, nesterov)


@fill_doc
def adam_step(
    param: np.ndarray,
    grad: Any,
    m: np.ndarray,
    v: np.ndarray,
    *,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    step: int,
    weight_decay: float = 0.0,
) -> None:
    """One AdamW step, in place, with ``torch.optim.AdamW`` semantics.

    ``param *= 1 - lr * weight_decay`` (decoupled decay), then
    ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g**2`` and
    ``param -= lr / (1 - beta1**step) * m / (sqrt(v / (1 - beta2**step)) + eps)``.
    ``step`` counts from 1 (the first call uses ``step=1``); ``m`` and
    ``v`` start as zeros.  With ``weight_decay=0`` this is plain Adam.

    Parameters
    ----------
    %(step_param_grad)s
    m, v : ndarray
        First and second moment buffers like ``param`` (writeable,
        C-contiguous), zeros before the first step, updated in place.
    lr : float
        Learning rate, finite and >= 0.
    beta1, beta2 : float
        Moment decay rates in ``[0, 1)``.
    eps : float
        Added to the denominator, finite and >= 0.
    step : int
        The step number, from 1.
    weight_decay : float
        Decoupled weight decay, finite and >= 0.

    %(step_raises)s

    Examples
    --------
    Adam's first step moves each parameter by about ``lr`` against the sign
    of its gradient:

    >>> import numpy as np, fastdigits
    >>> param = np.zeros(3, np.float32)
    >>> grad = np.array([0.5, -2.0, 3.0], np.float32)
    >>> m, v = np.zeros_like(param), np.zeros_like(param)
    >>> fastdigits.adam_step(param, grad, m, v, lr=0.1, step=1)
    >>> np.round(param, 4)
    array([-0.1,  0.1, -0.1], dtype=float32)
    >>> np.allclose(m, 0.1 * grad), np.allclose(v, 0.001 * grad**2)
    (True, True)

    The NumPy twin gives the same update:

    >>> from fastdigits import reference
    >>> p2, m2, v2 = np.zeros(3, np.float32), np.zeros(3, np.float32), np.zeros(3, np.float32)
    >>> reference.adam_step(p2, grad, m2, v2, lr=0.1, step=1)
    >>> np.allclose(param, p2)
    True
    """
    _optim.adam_step(param, grad, m, v, lr, beta1, beta2, eps, step, weight_decay)
