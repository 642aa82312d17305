"""Augmentation specs (plain frozen dataclasses) and the argument checks
shared by :mod:`fastdigits.augment`, :mod:`fastdigits.batches` and their
NumPy twins.  Pure Python: no kernel is imported here.

A spec is an :class:`Affine`, an :class:`Elastic`, a :class:`Compose` of
them or a list / tuple of them (applied in order, each resampling the
previous result).  ``ops(spec)`` lowers it to the ``(kind, params)`` rows
the C kernel (csrc/augment/augment.h) and the reference read.

No augmentation kernel is imported here; the one kernel module used is
:mod:`fastdigits._normalize`, whose own check of normalisation
coefficients :func:`batch_plan` runs (see :func:`check_coefficients`).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _normalize
from ._args import as_array, behaved, c_contiguous, float_dtype, native_dtype

# Operation codes: the values of FD_AUG_AFFINE / FD_AUG_ELASTIC in augment.h.
AFFINE = 1
ELASTIC = 2
MAX_OPS = 16
MAX_SIGMA = 1000.0
# |degrees| at most (FD_AUG_MAX_DEGREES): far more than any rotation range
# needs, and far from where the drawn angle overflows.
MAX_DEGREES = 1e6
# alpha at most: the kernel scales the field by alpha as a float32.
MAX_ALPHA = float(np.finfo(np.float32).max)
# Image sizes an operation can run on (fd_aug_check): float32 coordinates
# exact below 2**24, padded images indexed with 32-bit offsets, and the
# elastic field's scratch.
MAX_SIDE = 1 << 24
MAX_PADDED = 1 << 31
MAX_ELASTIC_PIXELS = 1 << 21

Number = Union[int, float]


def _real(name: str, v: Any) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError("%s must be a real number, got %s" % (name, type(v).__name__))
    x = float(v)
    if not math.isfinite(x):
        raise ValueError("%s must be finite, got %r" % (name, v))
    return x


def _range(name: str, v: Any, sym_ok: bool = True, lo_min: Optional[float] = None) -> tuple:
    """A number d >= 0 -> (-d, d); a pair (lo, hi) with lo <= hi -> as given."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError("%s must be a number or a (min, max) pair, got %r" % (name, v))
        lo, hi = _real(name, v[0]), _real(name, v[1])
        if lo > hi:
            raise ValueError("%s must have min <= max, got %r" % (name, v))
        return lo, hi
    d = _real(name, v)
    if d < 0:
        raise ValueError("%s must be >= 0, got %r" % (name, v))
    return -d, d


@dataclass(frozen=True)
class Affine:
    """Random affine warp, with torchvision ``RandomAffine``'s parameters.

    Parameters
    ----------
    degrees : float or (min, max)
        Rotation angle in degrees, uniform in ``(-degrees, degrees)`` or
        ``(min, max)``; positive turns counter-clockwise as displayed.
        Within ``[-1e6, 1e6]``.
    translate : float or (fx, fy)
        Maximum shift as a fraction of the width (and height): the shift is
        uniform in ``(-fx*w, fx*w)`` pixels (``(-fy*h, fy*h)`` vertically),
        not rounded.  Fractions in ``[0, 1]``.
    scale : (min, max), optional
        Zoom factor, uniform in the range; ``0 < min <= max``.  None: 1.
    shear : float, (min, max) or (xmin, xmax, ymin, ymax)
        Shear angles in degrees, ``|shear| < 90``: a number or a pair shears
        along x only, four values along x and y.

    Notes
    -----
    The warp is ``p' = s R Sh p + t`` about the image centre
    ``((w-1)/2, (h-1)/2)``, with ``Sh = [[1, tan shx], [tan shy, 1]]``; each
    output pixel takes the bilinear sample of the input at its inverse
    image, and input pixels outside the image count as 0 (MNIST's black
    background).
    """

    degrees: Any = 0
    translate: Any = 0
    scale: Any = None
    shear: Any = 0

    def __post_init__(self) -> None:
        self.params()  # validate now

    def params(self) -> Tuple[float, ...]:
        """The ten numbers of FD_AUG_AFFINE (see csrc/augment/augment.h)."""
        d0, d1 = _range("degrees", self.degrees)
        if max(abs(d0), abs(d1)) > MAX_DEGREES:
            raise ValueError(
                "degrees must be within [-%g, %g], got %r"
                % (MAX_DEGREES, MAX_DEGREES, self.degrees)
            )
        if isinstance(self.translate, (tuple, list)):
            if len(self.translate) != 2:
                raise ValueError("translate must be a number or a pair, got %r" % (self.translate,))
            tx, ty = (_real("translate", t) for t in self.translate)
        else:
            tx = ty = _real("translate", self.translate)
        if not (0 <= tx <= 1 and 0 <= ty <= 1):
            raise ValueError("translate must be fractions in [0, 1], got %r" % (self.translate,))
        if self.scale is None:
            s0 = s1 = 1.0
        else:
            if not isinstance(self.scale, (tuple, list)) or len(self.scale) != 2:
                raise ValueError("scale must be a (min, max) pair, got %r" % (self.scale,))
            s0, s1 = _real("scale", self.scale[0]), _real("scale", self.scale[1])
            if not 0 < s0 <= s1:
                raise ValueError("scale must have 0 < min <= max, got %r" % (self.scale,))
        if isinstance(self.shear, (tuple, list)) and len(self.shear) == 4:
            x0, x1 = _range("shear", tuple(self.shear[:2]))
            y0, y1 = _range("shear", tuple(self.shear[2:]))
        else:
            x0, x1 = _range("shear", self.shear)
            y0 = y1 = 0.0
        if max(abs(x0), abs(x1), abs(y0), abs(y1)) >= 90:
            raise ValueError("shear must be within (-90, 90) degrees, got %r" % (self.shear,))
        return (d0, d1, tx, ty, s0, s1, x0, x1, y0, y1)


@dataclass(frozen=True)
class Elastic:
    """Elastic distortion (Simard, Steinkraus and Platt, 2003).

    Parameters
    ----------
    alpha : float
        Displacement scale in pixels, ``0 <= alpha <= 3.4e38`` (the largest
        float32; Simard: 34 for 28x28).
    sigma : float
        Standard deviation of the Gaussian smoothing the random field, in
        pixels, ``0 <= sigma <= 1000`` (Simard: 4).  0 (or a sigma so
        small that ``2 sigma**2`` is 0 in float64) smooths nothing.

    Notes
    -----
    Per image, two fields of per-pixel uniforms in ``[-1, 1)`` (dx, dy) are
    smoothed by a Gaussian of std ``sigma`` truncated at radius
    ``ceil(3 sigma)`` (weights normalised to sum 1, the field taken as zero
    outside the image: zero padding), along columns then rows, and scaled by
    ``alpha``; pixel ``(x, y)`` takes the bilinear sample of the input at
    ``(x + dx, y + dy)``, outside pixels counting as 0.
    """

    alpha: float
    sigma: float

    def __post_init__(self) -> None:
        self.params()

    def params(self) -> Tuple[float, ...]:
        """(alpha, sigma), as FD_AUG_ELASTIC reads them."""
        a, s = _real("alpha", self.alpha), _real("sigma", self.sigma)
        if not 0 <= a <= MAX_ALPHA:
            raise ValueError(
                "alpha must be in [0, %r] (the largest float32: the kernel scales the "
                "field in float32), got %r" % (MAX_ALPHA, self.alpha)
            )
        if not 0 <= s <= MAX_SIGMA:
            raise ValueError("sigma must be in [0, %g], got %r" % (MAX_SIGMA, self.sigma))
        return (a, s)


@dataclass(frozen=True)
class Compose:
    """Operations applied in order, each resampling the previous result."""

    ops: Sequence[Any] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ops", tuple(self.ops))
        ops(self)


Spec = Union[None, Affine, Elastic, Compose, Sequence[Any]]


def ops(spec: Spec) -> List[Tuple[int, Tuple[float, ...]]]:
    """The spec as ``[(kind, params), ...]`` (empty for None)."""
    out: List[Tuple[int, Tuple[float, ...]]] = []

    def walk(s: Any) -> None:
        if s is None:
            return
        if isinstance(s, Affine):
            out.append((AFFINE, s.params()))
        elif isinstance(s, Elastic):
            out.append((ELASTIC, s.params()))
        elif isinstance(s, Compose):
            for x in s.ops:
                walk(x)
        elif isinstance(s, (list, tuple)):
            for x in s:
                walk(x)
        else:
            raise TypeError(
                "augment must be an Affine, an Elastic, a Compose or a list of them, got %s"
                % type(s).__name__
            )

    walk(spec)
    if len(out) > MAX_OPS:
        raise ValueError("augment has %d operations; at most %d" % (len(out), MAX_OPS))
    return out


def check_int(name: str, v: Any, lo: int, hi: int) -> int:
    """v as an int in [lo, hi), or TypeError / ValueError naming it."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError("%s must be an int, got %s" % (name, type(v).__name__))
    v = int(v)
    if not lo <= v < hi:
        raise ValueError("%s must be in [%d, %d), got %d" % (name, lo, hi, v))
    return v


def check_seed(seed: Any) -> int:
    return check_int("seed", seed, 0, 1 << 64)


def check_epoch(epoch: Any) -> int:
    return check_int("epoch", epoch, 0, 1 << 32)


def check_images(images: Any, allowed: Sequence[Any]) -> np.ndarray:
    """images as an (n, h, w) array of one of the allowed dtypes (not copied
    when already one, in the machine's byte order and aligned)."""
    if images is None or isinstance(images, (str, bytes)):
        raise TypeError("images must be an (n, h, w) array, got %s" % type(images).__name__)
    own = hasattr(images, "dtype") or hasattr(images, "__array_interface__")
    # a tensor that requires grad, ragged lists...: TypeError naming images
    a = images if isinstance(images, np.ndarray) else as_array(images, "images", natural=True)
    if not own and not isinstance(images, np.ndarray):
        # plain Python data (nested lists): pixels 0..255 become uint8,
        # real numbers float32
        if a.dtype.kind in "iu" and a.size and 0 <= a.min() and a.max() <= 255:
            a = a.astype(np.uint8)
        elif a.dtype.kind in "iu" and a.size == 0:
            a = a.astype(np.uint8)
        elif a.dtype.kind == "f" and np.dtype(np.float32) in [np.dtype(d) for d in allowed]:
            a = a.astype(np.float32)
    if native_dtype(a.dtype) not in [np.dtype(d) for d in allowed]:
        raise TypeError(
            "images must have dtype %s, got %s"
            % (" or ".join(np.dtype(d).name for d in allowed), a.dtype)
        )
    if a.ndim != 3:
        raise ValueError("images must have shape (n, h, w), got %s" % (a.shape,))
    return behaved(a)  # a byte-swapped or unaligned float32 array: copied


def check_size(rows: List[Tuple[int, Tuple[float, ...]]], h: int, w: int) -> None:
    """The limits on h x w images of the kernel's operations (fd_aug_check
    in csrc/augment/augment.c), ValueError naming the one broken.  They bind
    only where an operation runs on some pixel: no operations or empty
    images fit any size."""
    if not rows or h == 0 or w == 0:
        return
    if h >= MAX_SIDE or w >= MAX_SIDE:
        raise ValueError(
            "augment needs images under 2**24 pixels along each axis (coordinates are "
            "float32), got %d x %d images" % (h, w)
        )
    if (h + 2) * (w + 2) >= MAX_PADDED:
        raise ValueError(
            "augment needs (h + 2) * (w + 2) < 2**31 (the kernel indexes its padded images "
            "with 32-bit offsets), got %d x %d images" % (h, w)
        )
    if h * w > MAX_ELASTIC_PIXELS and any(kind == ELASTIC for kind, _ in rows):
        raise ValueError(
            "Elastic needs images of at most 2**21 pixels, got %d x %d images" % (h, w)
        )


def check_coefficients(scale: float, mean: float, std: float) -> None:
    """fastdigits.normalize's own check of (scale, mean, std) for float32
    output (a = scale/std and c = -mean/std finite in float32, which is where
    the batch kernel computes them too): its ValueError, or nothing."""
    _normalize.check_coefficients(scale, mean, std, np.float32)


def check_indices(indices: Any, n: int) -> Optional[np.ndarray]:
    """indices as a contiguous int64 array of n non-negative sample ids."""
    if indices is None:
        return None
    a = np.asarray(indices)
    if a.dtype.kind not in "iu" or a.dtype == np.uint64 and a.size and a.max() >= 2**63:
        raise TypeError("indices must be integers, got %s" % a.dtype)
    if a.shape != (n,):
        raise ValueError("indices must have shape (%d,), got %s" % (n, a.shape))
    a = c_contiguous(a, np.int64)
    if a.size and a.min() < 0:
        raise ValueError("indices must be >= 0")
    return a


MNIST_MEAN = 0.1307  # = fastdigits.datasets.MNIST_MEAN (kept here: no import)
MNIST_STD = 0.3081


@dataclass(frozen=True)
class BatchPlan:
    """The validated arguments of fastdigits.batches (and its twin)."""

    images: np.ndarray  # (n, h, w) uint8 or float32, C-contiguous
    labels: np.ndarray  # (n,)
    batch_size: int
    shuffle: bool
    seed: int
    epoch: int
    drop_last: bool
    scale: float
    mean: float
    std: float
    rows: List[Tuple[int, Tuple[float, ...]]]
    flatten: bool
    dtype: np.dtype
    prefetch: int

    @property
    def n(self) -> int:
        return int(self.images.shape[0])

    def __len__(self) -> int:
        n, b = self.n, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def bounds(self) -> List[Tuple[int, int]]:
        """(start, count) of each batch in the epoch's order."""
        return [
            (k * self.batch_size, min(self.batch_size, self.n - k * self.batch_size))
            for k in range(len(self))
        ]


def _bool(name: str, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError("%s must be a bool, got %s" % (name, type(v).__name__))
    return bool(v)


def batch_plan(
    images: Any,
    labels: Any,
    batch_size: Any,
    shuffle: Any,
    seed: Any,
    epoch: Any,
    drop_last: Any,
    normalize: Any,
    augment: Any,
    flatten: Any,
    dtype: Any,
    prefetch: Any,
) -> BatchPlan:
    """Check every argument of fastdigits.batches before any work."""
    a = check_images(images, (np.uint8, np.float32))
    if labels is None or isinstance(labels, (str, bytes)):
        raise TypeError("labels must be an array of n labels, got %s" % type(labels).__name__)
    lab = labels if isinstance(labels, np.ndarray) else as_array(labels, "labels", natural=True)
    if lab.ndim != 1:
        raise ValueError("labels must be 1-D, got shape %s" % (lab.shape,))
    if lab.shape[0] != a.shape[0]:
        raise ValueError(
            "images and labels have different counts: %d images, %d labels"
            % (a.shape[0], lab.shape[0])
        )
    bs = check_int("batch_size", batch_size, 1, 1 << 62)
    pf = check_int("prefetch", prefetch, 0, 1 << 20)
    if isinstance(normalize, np.bool_):
        normalize = bool(normalize)
    if normalize is True:
        scale, mean, std = 1.0 / 255, MNIST_MEAN, MNIST_STD
    elif normalize is False or normalize is None:
        scale, mean, std = 1.0, 0.0, 1.0
    elif isinstance(normalize, (tuple, list)) and len(normalize) == 2:
        scale = 1.0 / 255
        mean, std = _real("normalize mean", normalize[0]), _real("normalize std", normalize[1])
        if std == 0:
            raise ValueError("normalize std must be nonzero, got %r" % (normalize[1],))
        check_coefficients(scale, mean, std)
    else:
        raise TypeError(
            "normalize must be True, False or a (mean, std) pair, got %r" % (normalize,)
        )
    if normalize is not False and normalize is not None and a.dtype != np.uint8:
        raise TypeError(
            "normalize needs uint8 images (pixels 0..255), got %s; pass normalize=False "
            "for float images" % a.dtype
        )
    dt = float_dtype(dtype)
    rows = ops(augment)
    check_size(rows, a.shape[1], a.shape[2])
    return BatchPlan(
        images=np.ascontiguousarray(a),
        labels=lab,
        batch_size=bs,
        shuffle=_bool("shuffle", shuffle),
        seed=check_seed(seed),
        epoch=check_epoch(epoch),
        drop_last=_bool("drop_last", drop_last),
        scale=scale,
        mean=mean,
        std=std,
        rows=rows,
        flatten=_bool("flatten", flatten),
        dtype=dt,
        prefetch=pf,
    )
