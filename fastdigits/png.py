"""Digit grids (montages) as PNG files.  Needs Pillow: ``pip install fastdigits[png]``.

Layout of a montage of N images of H x W pixels, ``ncols`` per row
(``c = min(ncols, N)`` columns, ``r = ceil(N / c)`` rows):

* each image is enlarged ``scale`` times (every pixel becomes a
  ``scale x scale`` square of the same grey level, no smoothing);
* with labels, a black strip ``label_height(scale)`` pixels tall, holding the
  label in white, sits just above each image;
* cells are separated from each other and from the border by ``PAD`` pixels
  of grey ``PAD_GREY``; unused cells of the last row are ``PAD_GREY`` too.

So image ``i`` occupies rows ``y0 .. y0 + H*scale`` and columns
``x0 .. x0 + W*scale`` with ``x0 = PAD + (i % c) * (W*scale + PAD)`` and
``y0 = PAD + (i // c) * (label_height + H*scale + PAD) + label_height``.
The file is 8-bit greyscale; grey levels follow :func:`fastdigits.to_uint8`.
"""

from __future__ import annotations

import io
import os
from typing import Any, Tuple

import numpy as np

from ._atomic import atomic_write
from ._docstrings import fill_doc
from ._images import _as_batch, _labels_list, to_uint8

__all__ = [
    "MAX_MONTAGE_PIXELS",
    "PAD",
    "PAD_GREY",
    "label_height",
    "montage",
    "png_bytes",
    "to_png",
]

PAD = 2
PAD_GREY = 96
_INSTALL_HINT = (
    "writing PNG needs Pillow, an optional extra: "
    "pip install fastdigits[png]  (or: pip install pillow)"
)


def _pil():
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return Image, ImageDraw, ImageFont


def label_height(scale: int) -> int:
    """Height in pixels of the label strip above each image at this scale."""
    return _font_px(scale) + 4


def _font_px(scale: int) -> int:
    return max(10, min(32, 3 * int(scale)))


def _check_pos(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError("%s must be an int, got %s" % (name, type(value).__name__))
    if value < 1:
        raise ValueError("%s must be >= 1, got %d" % (name, value))
    return int(value)


def _font(ImageFont: Any, px: int) -> Any:
    try:
        return ImageFont.load_default(size=px)  # FreeType build of Pillow >= 10.1
    except (TypeError, AttributeError, OSError, ImportError):
        return ImageFont.load_default()  # small bitmap font


# The largest montage (64 MiB of pixels; 2**31 allowed a 2 GiB canvas, and
# Pillow refuses to open PNGs above ~179 million pixels as decompression
# bombs): 4,500 MNIST digits at scale 4 fit.
MAX_MONTAGE_PIXELS = 1 << 26


def montage(
    images: Any, labels: Any = None, *, ncols: int = 10, scale: int = 4
) -> Tuple[np.ndarray, np.ndarray]:
    """The montage as a uint8 array, and each image's box.

    Returns ``(pixels, boxes)``: ``pixels`` is the (height, width) uint8 grid
    written by :func:`to_png`; ``boxes[i] = (x0, y0, x1, y1)`` is where image
    i's enlarged pixels are (x1, y1 exclusive).  A montage of more than
    ``MAX_MONTAGE_PIXELS`` (2**26) pixels is a ValueError, raised before
    anything is allocated.  Labels need Pillow (to draw
    text); without labels this is plain NumPy.
    """
    arr = _as_batch(images)
    ncols = _check_pos(ncols, "ncols")
    scale = _check_pos(scale, "scale")
    labs = _labels_list(labels, arr.shape[0])
    n, h, w = arr.shape
    u8 = to_uint8(arr)
    c = min(ncols, n)
    r = -(-n // c)
    lh = label_height(scale) if labs is not None else 0
    cw, ch = w * scale, h * scale
    total_w = PAD + c * (cw + PAD)
    total_h = PAD + r * (lh + ch + PAD)
    if total_w * total_h > MAX_MONTAGE_PIXELS:
        raise ValueError(
            "montage would be %d x %d pixels, more than %d: too large; show fewer images "
            "or use a smaller scale" % (total_w, total_h, MAX_MONTAGE_PIXELS)
        )
    canvas = np.full((total_h, total_w), PAD_GREY, np.uint8)
    boxes = np.zeros((n, 4), np.int64)
    for i in range(n):
        x0 = PAD + (i % c) * (cw + PAD)
        y0 = PAD + (i // c) * (lh + ch + PAD) + lh
        big = np.repeat(np.repeat(u8[i], scale, axis=0), scale, axis=1)
        canvas[y0 : y0 + ch, x0 : x0 + cw] = big
        boxes[i] = (x0, y0, x0 + cw, y0 + ch)
    if labs is not None:
        Image, ImageDraw, ImageFont = _pil()
        font = _font(ImageFont, _font_px(scale))
        for i, text in enumerate(labs):
            x0, y0 = int(boxes[i, 0]), int(boxes[i, 1]) - lh
            strip = Image.new("L", (cw, lh), 0)
            draw = ImageDraw.Draw(strip)
            left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
            tx = max(0, (cw - (right - left)) // 2 - left)
            ty = (lh - (bottom - top)) // 2 - top
            draw.text((tx, ty), text, fill=255, font=font)
            canvas[y0 : y0 + lh, x0 : x0 + cw] = np.asarray(strip, dtype=np.uint8)
    return canvas, boxes


def _encode(pixels: np.ndarray, fp: Any) -> None:
    Image = _pil()[0]
    Image.fromarray(pixels, mode=None).save(fp, format="PNG", optimize=False)


def png_bytes(images: Any, labels: Any = None, *, ncols: int = 10, scale: int = 4) -> bytes:
    """The montage (see :func:`to_png`) as PNG file bytes."""
    _pil()
    pixels, _ = montage(images, labels, ncols=ncols, scale=scale)
    buf = io.BytesIO()
    _encode(pixels, buf)
    return buf.getvalue()


def check_png_name(path: Any, writer: str) -> None:
    """ValueError unless the file name ``path`` ends in .png (``writer``:
    the function named in the message); to_png's and the plots' check."""
    name = os.fsdecode(os.fspath(path))
    if not name.lower().endswith(".png"):
        raise ValueError("%s writes PNG: the file name must end in .png, got %r" % (writer, name))


@fill_doc
def to_png(images: Any, path: Any, *, labels: Any = None, ncols: int = 10, scale: int = 4) -> Any:
    """Write images as a grid PNG: ``fastdigits.to_png(x[:100], "grid.png", labels=y[:100])``.

    The layout is described in :mod:`fastdigits.png`.

    Parameters
    ----------
    images : array-like (N, H, W), or one (H, W) image
        See :func:`fastdigits.to_uint8` for the grey mapping of non-uint8
        data.
    path : str, PathLike or binary file object
        A file name ending in ``.png``, written atomically as
        :func:`fastdigits.write_idx` does (a temporary file in the target's
        folder is renamed over it, symlinks are followed, an existing file
        keeps its permissions), or a writable binary file object.
    labels : sequence of N labels, optional
        Drawn above the images.
    ncols : int
        Images per row (>= 1).
    scale : int
        Pixel enlargement (>= 1).

    %(returns_path)s

    Raises
    ------
    ImportError
        Pillow is missing (the message names ``pip install fastdigits[png]``).
    ValueError
        A file name with another extension (a PNG in ``grid.txt`` or
        ``grid.jpg`` would mislead whoever opens it).

    Examples
    --------
    >>> import os, shutil, tempfile
    >>> import numpy as np, fastdigits
    >>> from PIL import Image
    >>> images, labels = fastdigits.load_mnist("test")
    >>> d = tempfile.mkdtemp()
    >>> path = fastdigits.to_png(images[:20], os.path.join(d, "grid.png"),
    ...                          labels=labels[:20], ncols=10, scale=2)
    >>> with Image.open(path) as png:
    ...     print(png.size, png.mode)
    ...     pixels = np.asarray(png)
    (582, 146) L

    The first digit sits below its label strip, each pixel a 2 x 2 square:

    >>> from fastdigits.png import PAD, label_height
    >>> top = PAD + label_height(2)
    >>> np.array_equal(pixels[top:top + 56:2, PAD:PAD + 56:2], images[0])
    True
    >>> fastdigits.to_png(images[:4], os.path.join(d, "grid.jpg"))
    Traceback (most recent call last):
    ...
    ValueError: to_png writes PNG: the file name must end in .png, got '...grid.jpg'
    >>> shutil.rmtree(d)
    """
    _pil()
    if not hasattr(path, "write"):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                "path must be a file name or a binary file object, got %s" % type(path).__name__
            )
        check_png_name(path, "to_png")
    pixels, _ = montage(images, labels, ncols=ncols, scale=scale)
    if hasattr(path, "write"):
        _encode(pixels, path)
        return path
    atomic_write(path, lambda f: _encode(pixels, f))
    return path
