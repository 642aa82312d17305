"""Plain NumPy optimiser steps: the twins of :mod:`fastdigits.optim`.

In place, in the parameter dtype, with the same formulas as
``torch.optim.SGD`` / ``torch.optim.AdamW``.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .. import _hyper

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
    """Same signature and semantics as :func:`fastdigits.sgd_step`."""
    lr, momentum, weight_decay, nesterov = _hyper.sgd(lr, momentum, weight_decay, nesterov)
    if momentum != 0 and velocity is None:
        raise ValueError("velocity buffer is required when momentum != 0")
    t = param.dtype.type
    g = np.asarray(grad, dtype=param.dtype)
    if weight_decay != 0:
        g = g + t(weight_decay) * param
    if momentum != 0:
        assert velocity is not None
        velocity *= t(momentum)
        velocity += g
        g = g + t(momentum) * velocity if nesterov else velocity
    param -= t(lr) * g


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
    """Same signature and semantics as :func:`fastdigits.adam_step`."""
    lr, beta1, beta2, eps, step, weight_decay = _hyper.adam(
        lr, beta1, beta2, eps, step, weight_decay
    )
    t = param.dtype.type
    g = np.asarray(grad, dtype=param.dtype)
    param *= t(1.0 - lr * weight_decay)
    m *= t(beta1)
    m += t(1.0 - beta1) * g
    v *= t(beta2)
    v += t(1.0 - beta2) * g * g
    bc1 = 1.0 - beta1**step
    bc2 = 1.0 - beta2**step
    denom = np.sqrt(v) / t(math.sqrt(bc2)) + t(eps)
    param -= t(lr / bc1) * (m / denom)
