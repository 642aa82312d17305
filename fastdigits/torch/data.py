"""``batches``: :func:`fastdigits.batches` yielding torch tensors."""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from ..batches import Batches as _Batches
from ..batches import batches as _np_batches


class TorchBatches:
    """Iterator of ``(X, y)`` CPU tensors over :class:`fastdigits.batches.Batches`.

    ``X`` wraps the NumPy batch with ``torch.from_numpy`` (no copy); ``len()``,
    ``close()`` and ``with`` behave as for the NumPy iterator.
    """

    def __init__(self, inner: _Batches, label_dtype: Optional[torch.dtype]) -> None:
        self._inner = inner
        self._label_dtype = label_dtype

    def __len__(self) -> int:
        return len(self._inner)

    def __iter__(self) -> "TorchBatches":
        return self

    def __next__(self) -> Tuple[Tensor, Tensor]:
        x, y = next(self._inner)
        ty = torch.from_numpy(y)
        if self._label_dtype is not None:
            ty = ty.to(self._label_dtype)
        return torch.from_numpy(x), ty

    def __enter__(self) -> "TorchBatches":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the background thread (see :meth:`fastdigits.batches.Batches.close`)."""
        self._inner.close()


def batches(
    images, labels, batch_size: int = 64, *, label_dtype: Optional[torch.dtype] = torch.int64, **kw
) -> TorchBatches:
    """:func:`fastdigits.batches` yielding torch tensors.

    Same arguments (``images`` may be a CPU tensor), plus ``label_dtype``:
    the labels' tensor dtype (int64 by default, what
    ``torch.nn.functional.cross_entropy`` takes; None keeps theirs).  ``X``
    shares the memory of the fresh NumPy batch (``torch.from_numpy``).

    Examples
    --------
    >>> import torch, fastdigits
    >>> from fastdigits.torch import batches
    >>> images, labels = fastdigits.load_mnist("test")
    >>> with batches(images, labels, 128, augment=fastdigits.Affine(degrees=10)) as it:
    ...     X, y = next(it)
    >>> X.shape, X.dtype, y.dtype
    (torch.Size([128, 784]), torch.float32, torch.int64)
    """
    if isinstance(images, Tensor):
        images = images.detach().cpu().numpy()
    if isinstance(labels, Tensor):
        labels = labels.detach().cpu().numpy()
    elif isinstance(labels, np.ndarray):
        labels = _torch_labels(labels)
    return TorchBatches(_np_batches(images, labels, batch_size, **kw), label_dtype)


def _torch_labels(labels: np.ndarray) -> np.ndarray:
    """labels in a dtype torch.from_numpy takes, checked before the
    iterator starts (not at the first batch): byte-swapped ones converted to
    the machine's order, others (object, strings) a TypeError."""
    lab = labels if labels.dtype.isnative else labels.astype(labels.dtype.newbyteorder("="))
    try:
        torch.from_numpy(lab[:0])
    except TypeError:
        raise TypeError(
            "labels must be numbers a torch tensor can hold, got dtype %s" % labels.dtype
        ) from None
    return lab
