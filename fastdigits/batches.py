"""Shuffled, augmented, normalised training batches in one C pass each.

:func:`batches` is the loop most users write around a model (shuffle,
slice, augment, cast, normalise) as one call per batch of
``fastdigits._augment`` (``fd_batch_make_f32`` in csrc/augment/augment.h):
gather in shuffled order + augmentation + cast + normalisation, OpenMP over
images, the GIL released, while a background thread prepares the next
``prefetch`` batches.

Determinism: the order of an epoch is a permutation drawn from Philox keyed
by ``(seed, epoch)`` (indices sorted by 64-bit draws on the SHUFFLE stream,
ties by index) and each image's augmentation depends on ``(seed, epoch, its
index in the data set)`` only, so a batch is bit-identical for any thread
count, SIMD path, prefetch depth or batch size split.
:func:`fastdigits.reference.batches` is the NumPy twin.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, List, Tuple

import numpy as np
from numpy.typing import DTypeLike

from . import _augment
from ._augspec import BatchPlan, Spec, batch_plan

__all__ = ["Batches", "batches"]

_END = object()
_POLL_S = 0.05


def _make(plan: BatchPlan, maker: Any, start: int, count: int, order: np.ndarray):
    """One batch (X, y) as fresh arrays."""
    n, h, w = plan.images.shape
    x = np.empty((count, h * w) if plan.flatten else (count, h, w), np.float32)
    maker.make(start, count, x)
    if plan.dtype != np.float32:
        x = x.astype(plan.dtype)
    return x, plan.labels[order[start : start + count]]


def _put(q: "queue.Queue[Any]", item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _worker(plan, maker, order, bounds, q, stop) -> None:
    # Holds no reference to the Batches object, so dropping that object
    # (break out of a for loop, del) finalises it and stops this thread.
    try:
        for start, count in bounds:
            if stop.is_set():
                return
            if not _put(q, _make(plan, maker, start, count, order), stop):
                return
        _put(q, _END, stop)
    except BaseException as exc:  # handed to the consumer
        _put(q, exc, stop)


class Batches:
    """Iterator of ``(X, y)`` batches returned by :func:`batches`.

    ``len()`` is the number of batches.  Each ``X`` and ``y`` is a new array
    that the caller owns (batches are never reused or overwritten).  The
    background thread and its queued batches are released by
    :meth:`close`, at the end of the iteration, on leaving a ``with``
    block, or when the iterator is garbage collected (e.g. after ``break``
    out of a ``for`` loop over it).
    """

    def __init__(self, plan: BatchPlan) -> None:
        self._plan = plan
        self._bounds: List[Tuple[int, int]] = plan.bounds()
        if plan.shuffle:
            self._order = _augment.shuffle_order(plan.n, plan.seed, plan.epoch)
        else:
            self._order = np.arange(plan.n, dtype=np.int64)
        # captures this thread's fastdigits.threads() / simd() setting
        self._maker = _augment.BatchMaker(
            plan.images,
            self._order,
            plan.rows,
            plan.seed,
            plan.epoch,
            plan.scale,
            plan.mean,
            plan.std,
        )
        self._next = 0
        self._closed = False
        self._thread: Any = None
        self._queue: Any = None
        self._stop = threading.Event()

    def __len__(self) -> int:
        return len(self._bounds)

    def __iter__(self) -> "Batches":
        return self

    def __enter__(self) -> "Batches":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def order(self) -> np.ndarray:
        """The epoch's order: batch k holds ``order[k*batch_size:][:batch_size]``."""
        return self._order

    def _start(self) -> None:
        self._queue = queue.Queue(maxsize=self._plan.prefetch)
        self._thread = threading.Thread(
            target=_worker,
            args=(self._plan, self._maker, self._order, self._bounds, self._queue, self._stop),
            name="fastdigits-batches",
            daemon=True,
        )
        self._thread.start()

    def __next__(self) -> Tuple[np.ndarray, np.ndarray]:
        if self._closed or self._next >= len(self._bounds):
            self.close()
            raise StopIteration
        if self._plan.prefetch == 0:
            start, count = self._bounds[self._next]
            self._next += 1
            return _make(self._plan, self._maker, start, count, self._order)
        if self._thread is None:
            self._start()
        while True:
            try:
                item = self._queue.get(timeout=_POLL_S)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self.close()
                    raise RuntimeError(
                        "fastdigits.batches: the background thread stopped"
                    ) from None
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, BaseException):
            self.close()
            raise item
        self._next += 1
        return item

    def close(self) -> None:
        """Stop the background thread and drop the batches it prepared."""
        self._closed = True
        self._stop.set()
        t, self._thread = self._thread, None
        if t is not None and t is not threading.current_thread():
            t.join()
        q = self._queue
        if q is not None:
            while True:
                try:
                    q.get_nowait()
                except queue.Empty:
                    break

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


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
) -> Batches:
    """Iterate over one epoch of ``(X, y)`` training batches.

    Parameters
    ----------
    images : array_like, (n, h, w), uint8 (or float32 with ``normalize=False``)
        The data set.  Not copied when C-contiguous (kept for the epoch).
    labels : array_like, (n,)
        Gathered in the same order; ``y`` keeps their dtype.
    batch_size : int
        Images per batch, ``>= 1``; the last batch is smaller unless
        ``drop_last``.
    shuffle : bool
        Visit the images in the epoch's random order (see the module
        notes); False: in order.
    seed, epoch : int
        Key of the shuffle and of the augmentation, ``0 <= seed < 2**64``,
        ``0 <= epoch < 2**32``.  Pass a new epoch each epoch.
    drop_last : bool
        Drop the last, incomplete batch.
    normalize : bool or (mean, std)
        True: ``(x / 255 - MNIST_MEAN) / MNIST_STD``, exactly as
        :func:`fastdigits.normalize` computes it; a ``(mean, std)`` pair:
        ``(x / 255 - mean) / std``; False: the pixel values as they are
        (0..255 for uint8), as :func:`fastdigits.augment.apply` returns them.
    augment : Affine, Elastic, Compose or list of them, optional
        Augmentation applied to each image before normalisation; image
        ``i`` of the data set gets the same parameters as
        ``fastdigits.augment.apply(images[i:i+1], augment, seed,
        epoch=epoch, indices=[i])``.
    flatten : bool
        ``X`` of shape ``(b, h*w)`` (True) or ``(b, h, w)``.
    dtype : float32 or float64
        dtype of ``X`` (float64 is computed in float32 and widened).
    prefetch : int
        Batches prepared ahead by a background thread, ``>= 0`` (0: each
        batch is made when asked for, on the calling thread).  At most
        ``prefetch + 1`` batches exist beyond those the caller holds.

    Returns
    -------
    Batches
        An iterator of ``(X, y)`` with ``len()``; ``X`` and ``y`` are fresh
        arrays on every step.  Use it in a ``with`` block or call
        ``.close()`` to stop the background thread at once when leaving
        early (it is also stopped when the iterator is garbage collected).

    Raises
    ------
    TypeError, ValueError
        Invalid arguments, before any work (``batch_size < 1``, counts of
        images and labels differ, non-uint8 images with ``normalize``,
        ``prefetch < 0``, a bad augmentation spec...).

    Notes
    -----
    Each batch is one call of the C kernel on the thread count and SIMD
    path in force when :func:`batches` was called.

    Examples
    --------
    >>> import numpy as np, fastdigits
    >>> images, labels = fastdigits.load_mnist("test")
    >>> aug = fastdigits.Affine(degrees=10, translate=0.1)
    >>> it = fastdigits.batches(images, labels, 256, seed=1, augment=aug)
    >>> len(it)
    40
    >>> X, y = next(it)
    >>> X.shape, X.dtype, y.shape
    ((256, 784), dtype('float32'), (256,))
    >>> it.close()

    Without shuffling or augmentation a batch is exactly
    :func:`fastdigits.normalize`'s result:

    >>> X, y = next(iter(fastdigits.batches(images, labels, 100, shuffle=False)))
    >>> ref = fastdigits.normalize(images[:100], mean=fastdigits.MNIST_MEAN,
    ...                            std=fastdigits.MNIST_STD, flatten=True)
    >>> bool(np.array_equal(X, ref)), bool(np.array_equal(y, labels[:100]))
    (True, True)
    """
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
    return Batches(plan)
