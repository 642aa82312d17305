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

__all__ = ["adam_step", "sgd_step"]


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

    ``velocity`` is required when ``momentum != 0`` (ignored otherwise);
    ``nesterov=True`` requires ``momentum > 0``.  ``lr``, ``momentum`` and
    ``weight_decay`` must be finite and >= 0.  ``param`` and ``velocity``
    must be writeable, C-contiguous ndarrays; ``grad`` must match ``param``
    in shape and dtype; no two of them may share memory.  Returns None.
    """
    _optim.sgd_step(param, grad, lr, momentum, velocity, weight_decay, nesterov)


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

    ``lr``, ``eps``, ``weight_decay`` must be finite and >= 0, betas in
    ``[0, 1)``, ``step >= 1``.  ``param``, ``m`` and ``v`` must be
    writeable, C-contiguous ndarrays of one shape and dtype, ``grad`` must
    match; no two may share memory.  Returns None.
    """
    _optim.adam_step(param, grad, m, v, lr, beta1, beta2, eps, step, weight_decay)
