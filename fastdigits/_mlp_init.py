"""What the MLP's two backends share: the optimiser names and the initial
weights (:class:`fastdigits.MLP` and its NumPy twin
:mod:`fastdigits.reference.nn` start from the same numbers)."""

from __future__ import annotations

import math
from typing import List, Sequence

import numpy as np

OPTIMIZERS = ("sgd", "adam")


def init_params(
    layer_sizes: Sequence[int], activation: str = "relu", dtype=np.float32, seed: int = 0
) -> List[np.ndarray]:
    """Initial ``[W0, b0, W1, b1, ...]`` from ``np.random.default_rng(seed)``.

    Hidden layers followed by relu/gelu get He-uniform weights
    (limit sqrt(6 / fan_in)); the others, and the output layer, Glorot-uniform
    (limit sqrt(6 / (fan_in + fan_out))).  Biases start at zero.  Values are
    drawn in float64 and rounded to ``dtype``, so both backends (and both
    dtypes) start from the same numbers.
    """
    rng = np.random.default_rng(seed)
    params: List[np.ndarray] = []
    n_layers = len(layer_sizes) - 1
    for i in range(n_layers):
        fan_in, fan_out = int(layer_sizes[i]), int(layer_sizes[i + 1])
        hidden = i < n_layers - 1
        if hidden and activation in ("relu", "gelu"):
            limit = math.sqrt(6.0 / fan_in)
        else:
            limit = math.sqrt(6.0 / (fan_in + fan_out))
        W = rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(dtype)
        params.append(np.ascontiguousarray(W))
        params.append(np.zeros(fan_out, dtype=dtype))
    return params
