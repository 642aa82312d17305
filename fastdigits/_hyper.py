"""Hyper-parameter checks shared by the bindings (fastdigits._optim,
_dropout, _dense) and the NumPy twins (fastdigits.reference): both refuse
the same values with the same messages."""

from __future__ import annotations

import operator
from typing import Any, Tuple

import numpy as np

from ._args import finite_real


def real(value: Any, name: str, below_one: bool = False) -> float:
    """value as a finite float >= 0 (and < 1 when below_one), or
    TypeError/ValueError naming the argument."""
    v = finite_real(value, name)
    if v < 0.0:
        raise ValueError("%s must be >= 0, got %r" % (name, v))
    if below_one and v >= 1.0:
        raise ValueError("%s must be < 1, got %r" % (name, v))
    return v


def check_rate(p: Any, name: str = "p") -> float:
    """p as a float in [0, 1) (a dropout or smoothing rate), or
    TypeError/ValueError naming the argument."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError("%s must be a real number in [0, 1), got %s" % (name, type(p).__name__))
    v = float(p)
    if not 0.0 <= v < 1.0:
        raise ValueError("%s must be in [0, 1), got %r" % (name, p))
    return v


def check_seed(seed: Any, name: str = "seed") -> int:
    """seed as an int in [0, 2**64) (a Philox key), or TypeError/ValueError
    naming the argument."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError("%s must be an int, got %s" % (name, type(seed).__name__))
    s = int(seed)
    if not 0 <= s < 2**64:
        raise ValueError("%s must be in [0, 2**64), got %d" % (name, s))
    return s


def sgd(
    lr: Any, momentum: Any, weight_decay: Any, nesterov: Any
) -> Tuple[float, float, float, bool]:
    """(lr, momentum, weight_decay, nesterov) of an SGD step, checked."""
    lr, momentum, weight_decay = (
        real(lr, "lr"),
        real(momentum, "momentum"),
        real(weight_decay, "weight_decay"),
    )
    if not isinstance(nesterov, (bool, np.bool_)):
        raise TypeError("nesterov must be a bool, got %s" % type(nesterov).__name__)
    if nesterov and momentum <= 0.0:
        raise ValueError("nesterov=True requires momentum > 0")
    return lr, momentum, weight_decay, bool(nesterov)


def adam(
    lr: Any, beta1: Any, beta2: Any, eps: Any, step: Any, weight_decay: Any
) -> Tuple[float, float, float, float, int, float]:
    """(lr, beta1, beta2, eps, step, weight_decay) of an AdamW step, checked."""
    checked = (
        real(lr, "lr"),
        real(beta1, "beta1", below_one=True),
        real(beta2, "beta2", below_one=True),
        real(eps, "eps"),
    )
    wd = real(weight_decay, "weight_decay")
    if step is None or isinstance(step, (bool, np.bool_)):
        raise TypeError("step must be an int (the step count, from 1)")
    try:
        n = operator.index(step)
    except TypeError:
        raise TypeError(
            "step must be an int (the step count, from 1), got %s" % type(step).__name__
        ) from None
    if n < 1:
        raise ValueError("step must be >= 1 (it counts from 1), got %d" % n)
    if n > 2**62:
        raise ValueError("step must be <= 2**62, got %d" % n)
    return checked + (n, wd)
