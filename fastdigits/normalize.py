"""Fused pixel normalisation: uint8 images -> float32/float64 in one pass.

``normalize(x, scale=1/255, mean=m, std=s)`` computes ``(x * scale - mean) /
std`` for every pixel with one read of the bytes and one write of the floats
(SIMD + OpenMP), instead of NumPy's chain of temporaries.

Numerics: each output is ``x * a + c`` with ``a = scale / std`` and
``c = -mean / std`` computed in float64 and rounded once to the output dtype,
then one multiply and one add in the output precision (never fused into an
FMA).  That is within a few ulp of the float64 reference
:func:`fastdigits.reference.normalize` (near zero, where ``x*scale`` and
``mean`` cancel, the error is a few ulp of ``|c|`` rather than of the result),
and bit-identical across SIMD paths, thread counts, and the in-place variant
used by the IDX decoder.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import DTypeLike

from . import _normalize

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
    """Normalise uint8 images to ``(images * scale - mean) / std`` in one pass.

    Parameters
    ----------
    images : array_like of uint8, any shape
        Pixel values 0..255, e.g. ``(N, 28, 28)`` MNIST images, or a CPU
        torch tensor (anything ``np.asarray`` accepts without a copy).  Any
        other dtype raises TypeError: float data is already "normalised
        enough" for NumPy to do in place.  Read-only input is fine;
        non-contiguous input is first copied to a contiguous byte array.
    scale, mean, std : float
        Finite; ``std`` nonzero.  ``scale/std`` and ``mean/std`` must be
        finite in the output dtype.  The defaults map 0..255 to 0..1.
    dtype : float32 (default) or float64
        Output dtype.  Must match ``out.dtype`` when ``out`` is given.
    flatten : bool
        If true the result has shape ``(N, prod(images.shape[1:]))``.
    out : ndarray, optional
        Result buffer: exact shape and dtype, C-contiguous, aligned,
        writeable, not overlapping ``images``.  Returned when given.

    Returns
    -------
    ndarray
        ``out``, or a new array of the output dtype.

    Notes
    -----
    Runs on ``fastdigits.get_num_threads()`` threads (inputs under ~64k
    pixels per thread stay serial) on the ``fastdigits.get_simd()`` path.
    A reused ``out`` of 16 MiB or more is written with non-temporal stores
    (no read-for-ownership of lines that cannot stay cached); a new result,
    or an ``out`` whose pages were never touched (probed with mincore on
    Linux), gets regular stores, since the OS zeroes fresh pages into the
    cache on first write.

    Examples
    --------
    >>> import numpy as np, fastdigits
    >>> fastdigits.normalize(np.array([0, 255], np.uint8))
    array([0., 1.], dtype=float32)

    Standardise MNIST test images into a flat batch, as the NumPy twin does:

    >>> images, labels = fastdigits.load_mnist("test")
    >>> x = fastdigits.normalize(images[:100], mean=fastdigits.MNIST_MEAN,
    ...                          std=fastdigits.MNIST_STD, flatten=True)
    >>> x.shape, x.dtype
    ((100, 784), dtype('float32'))
    >>> from fastdigits import reference
    >>> ref = reference.normalize(images[:100], mean=fastdigits.MNIST_MEAN,
    ...                           std=fastdigits.MNIST_STD, flatten=True)
    >>> np.allclose(x, ref, atol=1e-6)
    True

    Into an existing float64 buffer:

    >>> out = np.empty((100, 28, 28), np.float64)
    >>> fastdigits.normalize(images[:100], dtype=np.float64, out=out) is out
    True
    >>> float(out.min()), float(out.max())
    (0.0, 1.0)
    """
    return _normalize.normalize(images, scale, mean, std, dtype, flatten, out)
