"""Image helpers shared by the text renderer (:mod:`fastdigits.viz`), the
PNG writer (:mod:`fastdigits.png`) and the plots: array-likes to an
(N, H, W) batch, labels to strings, and the grey mapping
:func:`fastdigits.to_uint8`."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any, List, Optional

import numpy as np


def _as_array(images: Any, name: str = "images") -> np.ndarray:
    if hasattr(images, "detach") and hasattr(images, "cpu"):  # torch tensor
        images = images.detach().cpu().numpy()
    try:
        arr = np.asarray(images)
    except Exception as exc:  # pragma: no cover - exotic array-likes
        raise TypeError("%s must be an array, got %s" % (name, type(images).__name__)) from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            "%s must hold numbers (bool, int or float), got dtype %s" % (name, arr.dtype)
        )
    return arr


def _as_batch(images: Any, name: str = "images") -> np.ndarray:
    """(N, H, W) view of a batch, or of one (H, W) image."""
    arr = _as_array(images, name)
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim == 4 and arr.shape[1] == 1:  # PyTorch's (N, 1, H, W)
        arr = arr[:, 0]
    if arr.ndim != 3:
        raise ValueError(
            "%s must be one image (H, W) or a batch (N, H, W) or (N, 1, H, W), "
            "got shape %s" % (name, arr.shape)
        )
    if arr.shape[0] == 0:
        raise ValueError("%s is empty (shape %s): nothing to show" % (name, arr.shape))
    if arr.shape[1] == 0 or arr.shape[2] == 0:
        raise ValueError("%s has an empty image size, shape %s" % (name, arr.shape))
    return arr


def to_uint8(images: Any) -> np.ndarray:
    """Map images to 256 grey levels (0 black, 255 white), as displayed.

    * uint8 is used as is, bool as 0/255;
    * other integers already within 0..255 are kept as they are;
    * floats within [0, 1] are scaled by 255 and rounded;
    * anything else (e.g. normalised data with negative values) is stretched
      linearly from its minimum..maximum over the whole array to 0..255, so a
      batch keeps one common scale (finite values: +inf shows as 255, -inf
      and NaN as 0); a constant array as 0.

    Examples
    --------
    >>> import numpy as np, fastdigits
    >>> fastdigits.to_uint8(np.array([0.0, 0.5, 1.0]))
    array([  0, 128, 255], dtype=uint8)
    >>> fastdigits.to_uint8(np.array([-1.0, 0.0, 1.0]))  # stretched min..max
    array([  0, 128, 255], dtype=uint8)
    >>> fastdigits.to_uint8(np.array([True, False]))
    array([255,   0], dtype=uint8)

    Stretching standardised MNIST images gives back their pixels:

    >>> pixels, _ = fastdigits.load_mnist("test")
    >>> x, _ = fastdigits.load_mnist("test", normalize=True)
    >>> np.array_equal(fastdigits.to_uint8(x[:100]), pixels[:100])
    True
    """
    arr = _as_array(images)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * np.uint8(255)
    if arr.size == 0:
        return arr.astype(np.uint8)
    if arr.dtype.kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi <= 255:
            return arr.astype(np.uint8)
        x = arr.astype(np.float64)
    else:
        x = arr.astype(np.float64)
        pos_inf = x == np.inf  # saturates to white (-inf and NaN: black)
        finite = np.isfinite(x)
        if not finite.all():
            x = np.where(finite, x, np.nan)
        if not finite.any():
            return np.where(pos_inf, 255, 0).astype(np.uint8)
        lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
        if lo >= 0.0 and hi <= 1.0:
            y = np.nan_to_num(np.rint(x * 255.0), nan=0.0)
            return np.where(pos_inf, 255.0, y).astype(np.uint8)
    if hi == lo:
        y = np.zeros(arr.shape)
    elif np.isfinite(hi - lo):
        y = np.rint((x - lo) * (255.0 / (hi - lo)))
    else:  # a range wider than float64's largest value (-1e308 .. 1e308 came out black)
        y = np.rint((x / 2 - lo / 2) * (255.0 / (hi / 2 - lo / 2)))
    if arr.dtype.kind == "f":
        y = np.where(pos_inf, 255.0, y)
    return np.nan_to_num(np.clip(y, 0, 255), nan=0.0).astype(np.uint8)


def _labels_list(labels: Any, n: int) -> Optional[List[str]]:
    if labels is None:
        return None
    if isinstance(labels, (Mapping, AbstractSet)):
        # (np.ndim of a dict is 0: it was taken as one label)
        raise TypeError(
            "labels must be a sequence of labels, one per image, got %s" % type(labels).__name__
        )
    if isinstance(labels, (str, bytes)) or np.ndim(labels) == 0:
        labels = [labels]
    if hasattr(labels, "detach") and hasattr(labels, "cpu"):
        labels = labels.detach().cpu().numpy()
    if isinstance(labels, np.ndarray) and labels.ndim != 1:
        raise ValueError("labels must be 1-D (one label per image), got shape %s" % (labels.shape,))
    out = [str(v.item() if isinstance(v, np.generic) else v) for v in labels]
    if len(out) != n:
        raise ValueError("labels has %d entries but there are %d images" % (len(out), n))
    return out
