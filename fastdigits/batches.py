"""Shuffled, augmented, normalised training batches in one C pass each.

:func:`batches` is the loop most users write around a model (shuffle,
slice, augment, cast, normalise) as one call per batch of
``fastdigits._augment`` (``fd_augment`` in csrc/augment/augment.h):
gather in shuffled order + augmentation + cast + normalisation, the GIL
released, while background threads prepare the next ``prefetch`` batches.

Threads: with ``prefetch=0`` each batch is made on the calling thread,
OpenMP over its images.  With ``prefetch > 0`` batches are made whole, one
per thread and each on one core (no OpenMP team): ``min(threads - 1,
prefetch)`` background threads (at least one) keep the next batches ready,
and a caller that finds its next batch not ready makes one of the window
itself instead of waiting (when ``threads >= 2``).  A second OpenMP team in
a background thread would make libgomp count more threads than cores and
switch every team in the process, the caller's too, from spinning to
sleeping at its barriers (measured: the batch kernel 1.5x slower in such a
team); so the background threads never start one.

Determinism: the order of an epoch is a permutation drawn from Philox keyed
by ``(seed, epoch)`` (indices sorted by 64-bit draws on the SHUFFLE stream,
ties by index) and each image's augmentation depends on ``(seed, epoch, its
index in the data set)`` only, so a batch is bit-identical for any thread
count, SIMD path, prefetch depth, batch size split or thread that made it.
:func:`fastdigits.reference.batches` is the NumPy twin.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from numpy.typing import DTypeLike

from . import _augment
from ._augspec import BatchPlan, Spec, batch_plan
from ._config import get_num_threads, threads

__all__ = ["Batches", "batches"]

_POLL_S = 0.05


def _make(plan: BatchPlan, maker: Any, start: int, count: int, order: np.ndarray):
    """One batch (X, y) as fresh arrays."""
    n, h, w = plan.images.shape
    x = np.empty((count, h * w) if plan.flatten else (count, h, w), np.float32)
    maker.make(start, count, x)
    if plan.dtype != np.float32:
        x = x.astype(plan.dtype)
    return x, plan.labels[order[start : start + count]]


class _Window:
    """State shared by the consumer and the background threads (which hold
    no reference to the Batches object, so dropping it finalises it).

    Batch k may be made once ``k < consumed + depth``: at most ``depth =
    prefetch + 1`` batches exist beyond those the caller holds.  Batches are
    claimed in order (``issued`` is the next one to claim); ``ready`` maps
    an index to its ``(X, y)`` or to the exception that making it raised.
    """

    def __init__(self, plan: BatchPlan, maker: Any, order: np.ndarray, bounds, depth: int):
        self.plan = plan
        self.maker = maker  # one OpenMP thread per batch
        self.order = order
        self.bounds = bounds
        self.depth = depth
        self.cond = threading.Condition(threading.Lock())
        self.ready: Dict[int, Any] = {}
        self.issued = 0
        self.consumed = 0
        self.stop = False

    def claim(self) -> Optional[int]:
        """The next batch to make, or None (window full or epoch done); lock held."""
        k = self.issued
        if self.stop or k >= len(self.bounds) or k >= self.consumed + self.depth:
            return None
        self.issued = k + 1
        return k

    def make(self, k: int) -> Any:
        """Make batch k (claimed by this thread), publish it and return it
        (or the exception making it raised); lock not held."""
        start, count = self.bounds[k]
        try:
            item: Any = _make(self.plan, self.maker, start, count, self.order)
        except BaseException as exc:  # handed to the consumer in batch order
            item = exc
        with self.cond:
            if not self.stop:
                self.ready[k] = item
            self.cond.notify_all()
        return item


def _worker(win: _Window) -> None:
    while True:
        with win.cond:
            k = win.claim()
            while k is None:
                if win.stop or win.issued >= len(win.bounds):
                    return
                win.cond.wait()
                k = win.claim()
        win.make(k)


class Batches:
    """Iterator of ``(X, y)`` batches returned by :func:`batches`.

    ``len()`` is the number of batches.  Each ``X`` and ``y`` is a new array
    that the caller owns (batches are never reused or overwritten).  The
    background threads and the batches they prepared are released by
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
        # both capture this thread's fastdigits.threads() / simd() setting
        self._maker = self._new_maker()
        self._next = 0
        self._closed = False
        self._threads: List[threading.Thread] = []
        self._win: Any = None
        nt = get_num_threads()
        self._helps = nt >= 2  # the caller makes batches rather than wait
        self._nworkers = max(1, min(nt - 1, plan.prefetch))
        if plan.prefetch > 0:
            with threads(1):
                serial = self._new_maker()
            self._win = _Window(plan, serial, self._order, self._bounds, plan.prefetch + 1)

    def _new_maker(self) -> Any:
        p = self._plan
        return _augment.BatchMaker(
            p.images, self._order, p.rows, p.seed, p.epoch, p.scale, p.mean, p.std
        )

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
        for _ in range(min(self._nworkers, len(self._bounds))):
            t = threading.Thread(
                target=_worker, args=(self._win,), name="fastdigits-batches", daemon=True
            )
            self._threads.append(t)
            t.start()

    def __next__(self) -> Tuple[np.ndarray, np.ndarray]:
        if self._closed or self._next >= len(self._bounds):
            self.close()
            raise StopIteration
        k = self._next
        win = self._win
        if win is None:
            start, count = self._bounds[k]
            self._next += 1
            return _make(self._plan, self._maker, start, count, self._order)
        if not self._threads:
            self._start()
        try:
            with win.cond:
                while k not in win.ready:
                    j = win.claim() if self._helps else None
                    if j is not None:
                        win.cond.release()
                        try:
                            made = win.make(j)
                        finally:
                            win.cond.acquire()
                        if isinstance(made, (KeyboardInterrupt, SystemExit)):
                            raise made  # Ctrl-C now, not when batch j is due
                        continue
                    if not win.cond.wait(_POLL_S) and not any(t.is_alive() for t in self._threads):
                        if k not in win.ready:
                            raise RuntimeError("fastdigits.batches: the background thread stopped")
                item = win.ready.pop(k)
                win.consumed = k + 1
                win.cond.notify_all()
        except BaseException:
            self.close()
            raise
        if isinstance(item, BaseException):
            self.close()
            raise item
        self._next += 1
        return item

    def close(self) -> None:
        """Stop the background threads and drop the batches they prepared."""
        self._closed = True
        win = self._win
        if win is not None:
            with win.cond:
                win.stop = True
                win.ready.clear()
                win.cond.notify_all()
        ts, self._threads = self._threads, []
        for t in ts:
            if t is not threading.current_thread():
                t.join()

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
        ``(x / 255 - mean) / std``, with the checks of
        :func:`fastdigits.normalize` (``std`` nonzero, ``1/255/std`` and
        ``mean/std`` finite in float32); False: the pixel values as they are
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
        Batches prepared ahead by background threads, ``>= 0`` (0: each
        batch is made when asked for, on the calling thread; see the module
        notes).  At most ``prefetch + 1`` batches exist beyond those the
        caller holds.

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
        a ``(mean, std)`` that :func:`fastdigits.normalize` refuses,
        ``prefetch < 0``, a bad augmentation spec or one whose operations
        cannot run on images of that size, a tensor that requires grad...).

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
