"""NumPy reference for :func:`fastdigits.normalize`."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["normalize"]


def normalize(
    images: Any,
    *,
    scale: float = 1.0 / 255,
    mean: float = 0.0,
    std: float = 1.0,
    dtype: DTypeLike = np.float32,
    flatten: bool = False,
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """``((images * scale) - mean) / std`` computed in float64, cast to dtype.

    Same signature as :func:`fastdigits.normalize`; only checks that the input
    is uint8 and std is nonzero.
    """
    x = np.asarray(images)
    if x.dtype != np.uint8:
        raise TypeError("images must have dtype uint8, got %s" % x.dtype)
    if std == 0:
        raise ValueError("std must be nonzero")
    r = ((x.astype(np.float64) * scale) - mean) / std
    if flatten:
        r = r.reshape(x.shape[0], math.prod(x.shape[1:]))
    r = r.astype(dtype)
    if out is not None:
        out[...] = r
        return out
    return r
