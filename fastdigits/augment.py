"""Data augmentation in C: random affine warps and elastic distortions.

:func:`apply` augments a stack of images in one call (OpenMP over images,
GIL released); :func:`fastdigits.batches` does the same inside its fused
batch pass.  The operations are described by plain frozen dataclasses,
:class:`Affine`, :class:`Elastic` and :class:`Compose` (a list works too).

Determinism: the random parameters of an image come from Philox4x32-10
keyed by ``seed``, at a counter made of ``(sample index, epoch, operation
position)``, so an image's result depends on ``(seed, epoch, sample index,
spec)`` only, never on its place in a batch, the batch size, the thread
count or the SIMD path (bit-identical across all of them).  The exact
definition is in ``csrc/augment/augment.h``;
:func:`fastdigits.reference.augment.apply` is its NumPy twin.

Output: float32 on the input's scale (uint8 input gives values in
``[0, 255]``; bilinear sampling keeps them in the input's range).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import _augment
from ._binding import out_buffer
from ._augspec import (
    Affine,
    Compose,
    Elastic,
    Spec,
    check_epoch,
    check_images,
    check_indices,
    check_seed,
    check_size,
    ops,
)

__all__ = ["Affine", "Compose", "Elastic", "apply"]


def apply(
    images: Any,
    spec: Spec,
    seed: int,
    *,
    epoch: int = 0,
    indices: Any = None,
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Augment each image with its own random parameters.

    Parameters
    ----------
    images : array_like, (n, h, w), uint8 or float32
        The images (read-only and non-contiguous input is fine; the latter
        is copied once).
    spec : Affine, Elastic, Compose or list of them, or None
        The operations, applied in order (each resamples the previous
        result).  None returns the images as float32.
    seed : int
        Key of the random numbers, ``0 <= seed < 2**64``.
    epoch : int, keyword-only
        ``0 <= epoch < 2**32``: a new epoch draws new parameters.
    indices : array_like of int, (n,), optional
        Sample id of each image (its index in the data set), ``>= 0``;
        default ``0..n-1``.  An image's augmentation depends only on
        ``(seed, epoch, sample id)``.
    out : ndarray, optional
        float32 ``(n, h, w)`` C-contiguous writeable buffer not overlapping
        ``images``; returned when given.

    Returns
    -------
    ndarray, float32, (n, h, w)
        The augmented images on the input's scale (uint8 in: 0..255).

    Examples
    --------
    >>> import numpy as np, fastdigits
    >>> from fastdigits.augment import Affine, Elastic, apply
    >>> images, _ = fastdigits.load_mnist("test")
    >>> x = apply(images[:8], [Affine(degrees=10, translate=0.1), Elastic(34, 4)], seed=1)
    >>> x.shape, x.dtype, bool(0 <= x.min() and x.max() <= 255)
    ((8, 28, 28), dtype('float32'), True)

    The same image gets the same warp wherever it sits:

    >>> y = apply(images[4:6], Affine(degrees=10), seed=1, indices=[4, 5])
    >>> z = apply(images[:8], Affine(degrees=10), seed=1)
    >>> bool(np.array_equal(y, z[4:6]))
    True

    The NumPy twin agrees to float32 rounding:

    >>> from fastdigits.reference import augment as ref
    >>> r = ref.apply(images[:8], Elastic(34, 4), seed=1)
    >>> bool(np.allclose(apply(images[:8], Elastic(34, 4), seed=1), r, atol=1e-3))
    True
    """
    a = check_images(images, (np.uint8, np.float32))
    rows = ops(spec)
    check_size(rows, a.shape[1], a.shape[2])
    seed = check_seed(seed)
    epoch = check_epoch(epoch)
    idx = check_indices(indices, a.shape[0])
    out = out_buffer(out, "out", a.shape, np.float32, inputs=((a, "images"),))
    a = np.ascontiguousarray(a)
    return _augment.augment(a, rows, seed, epoch, idx, out, 1.0, 0.0, 1.0)
