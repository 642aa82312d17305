"""NumPy twin of :func:`fastdigits.batches`: a plain generator."""

from __future__ import annotations

from typing import Any, Iterator, Tuple

import numpy as np
from numpy.typing import DTypeLike

from .._augspec import Spec, batch_plan
from .augment import _augment, shuffle_order

__all__ = ["batches"]


def batches(
    images: Any,
    labels: Any,
    batch_size: int = 64,
    *,
    shuffle: bool = True,
    seed: int = 0,
    epoch: int = 0,
    drop_last: bool = False,
    normalize: Any = True,
    augment: Spec = None,
    flatten: bool = True,
    dtype: DTypeLike = np.float32,
    prefetch: int = 2,
) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """Same arguments and batches as :func:`fastdigits.batches` (``prefetch``
    is checked and otherwise ignored: everything runs on the caller's
    thread)."""
    plan = batch_plan(
        images,
        labels,
        batch_size,
        shuffle,
        seed,
        epoch,
        drop_last,
        normalize,
        augment,
        flatten,
        dtype,
        prefetch,
    )
    return _generate(plan)


def _generate(plan) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    n, h, w = plan.images.shape
    order = shuffle_order(n, plan.seed, plan.epoch) if plan.shuffle else np.arange(n)
    a = np.float32(plan.scale / plan.std)
    c = np.float32(-plan.mean / plan.std)
    for start, count in plan.bounds():
        idx = order[start : start + count]
        x = _augment(plan.images[idx], plan.rows, idx, plan.seed, plan.epoch)
        x = x * a + c
        x = x.reshape((count, h * w) if plan.flatten else (count, h, w)).astype(plan.dtype)
        yield x, plan.labels[idx]
