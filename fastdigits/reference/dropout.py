"""NumPy twin of fastdigits.dropout (csrc/dropout/): the same Philox draws,
the same drop rule, bit for bit."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._args import as_array, native_dtype
from .._hyper import check_rate, check_seed
from .rng import STREAM_DROPOUT, philox4x32_10, rng_c3


def dropout_mask_words(n: int, seed: int, c2: int = 0, tag: int = 0) -> np.ndarray:
    """The n Philox words of elements 0 .. n-1 (see fastdigits.dropout's Notes)."""
    q = np.arange((n + 3) // 4, dtype=np.uint64)
    w = philox4x32_10(
        q & np.uint64(0xFFFFFFFF), q >> np.uint64(32), c2, rng_c3(STREAM_DROPOUT, tag), seed
    )
    return np.stack(w, axis=1).reshape(-1)[:n]


def dropout_apply(x: np.ndarray, p: float, seed: int, c2: int = 0, tag: int = 0) -> np.ndarray:
    """Dropout of a contiguous array x with counter words c2 and tag (the MLP's)."""
    if p == 0:
        return x.copy()
    flat = x.reshape(-1)
    thr = np.uint32(int(np.ceil(p * 16777216.0)))
    drop = (dropout_mask_words(flat.size, seed, c2, tag) >> np.uint32(8)) < thr
    scale = x.dtype.type(1.0 / (1.0 - p))
    res = np.where(drop, x.dtype.type(0), flat * scale)
    return res.reshape(x.shape)


def dropout(x: Any, p: float, seed: int, *, out: Optional[np.ndarray] = None) -> np.ndarray:
    """Plain NumPy :func:`fastdigits.dropout`."""
    p = check_rate(p)
    seed = check_seed(seed)
    a = x if isinstance(x, np.ndarray) else as_array(x, "x")
    if native_dtype(a.dtype) not in (np.float32, np.float64):
        raise TypeError("x must be float32 or float64, got dtype %s" % a.dtype)
    # (ascontiguousarray makes a 0-d array 1-d: the result keeps x's shape)
    res = dropout_apply(np.ascontiguousarray(a), p, seed).reshape(a.shape)
    if out is not None:
        out[...] = res
        return out
    return res
