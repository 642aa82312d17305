"""Inverted dropout with a counter-based mask, deterministic for any thread count.

The C kernel (csrc/dropout/) draws each element's keep/drop decision from
Philox4x32-10 (csrc/common/fd_rng.h) keyed by ``seed``, with the element's
index in the counter, so the mask depends on (seed, index) only: not on the
thread count, the SIMD path or how the work is split.  The plain NumPy twin
is :func:`fastdigits.reference.dropout`, bit for bit.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import _dropout

__all__ = ["dropout"]


def dropout(x: Any, p: float, seed: int, *, out: Optional[np.ndarray] = None) -> np.ndarray:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Parameters
    ----------
    x : array_like, float32 or float64, any shape
        Input (lists become float64; non-contiguous input is copied once;
        read-only input is fine).
    p : float
        Drop probability, in ``[0, 1)``.  ``p = 0`` returns a copy of ``x``.
    seed : int
        Philox key, in ``[0, 2**64)``.  The same (seed, shape) gives the same
        mask on every call, thread count and SIMD path.
    out : ndarray, optional
        C-contiguous, writeable buffer of x's shape and dtype that receives
        the result; it may be ``x`` itself (in place) but must not otherwise
        overlap it.

    Returns
    -------
    ndarray
        ``out`` when given, else a new array of x's shape and dtype.

    Raises
    ------
    TypeError
        Non-float ``x``, a non-number ``p``, a non-int ``seed``, an ``out``
        of another dtype.
    ValueError
        ``p`` outside ``[0, 1)``, ``seed`` outside ``[0, 2**64)``, an unusable
        ``out``; nothing is written.

    Notes
    -----
    Element ``i`` (of the flattened, C-ordered array) is dropped when
    ``u < p``, where ``u = (w >> 8) / 2**24`` is the top 24 bits of word
    ``i % 4`` of ``philox4x32_10(c0, c1, 0, STREAM_DROPOUT << 24, seed)``
    with ``c0, c1`` the low and high 32 bits of ``i // 4``
    (:mod:`fastdigits.reference.rng`).  A kept element is ``x * (1 / (1 -
    p))`` rounded once in x's dtype; a dropped one is 0 (also for NaN or
    inf).  The backward pass of dropout is the same call on the gradient.

    Examples
    --------
    >>> import numpy as np, fastdigits
    >>> x = np.ones(8, dtype=np.float32)
    >>> y = fastdigits.dropout(x, 0.5, seed=0)
    >>> set(y.tolist()) <= {0.0, 2.0}  # dropped, or kept and scaled by 1 / (1 - p)
    True
    >>> np.array_equal(y, fastdigits.reference.dropout(x, 0.5, seed=0))
    True
    >>> big = fastdigits.dropout(np.ones(100_000), 0.25, seed=1)
    >>> round(float((big == 0).mean()), 2)
    0.25
    """
    return _dropout.dropout(x, p, seed, out)
