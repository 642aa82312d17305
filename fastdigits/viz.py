"""See the data: digits rendered in the terminal and in Jupyter.

* :func:`render` / :func:`show` draw a batch of images (``(N, H, W)`` or
  PyTorch's ``(N, 1, H, W)``, or a single ``(H, W)`` image) as text, several side by side with a title above
  each one:

  - ``mode="blocks"`` (default): Unicode half blocks, two pixel rows per text
    line, so pixels come out square.  With colour (``color=True``, or a
    terminal when ``color=None``) each pixel gets the nearest of the 26 greys
    of the 256-colour terminal palette; without colour a pixel is ink when its
    grey level is >= 128.
  - ``mode="ascii"``: one character per pixel from the ramp ``" .:-=+*#%@"``
    (10 levels, 0 is a space), plain ASCII, safe for any terminal or log.
  - ``mode="numbers"``: the raw values in aligned columns, like printing the
    array, one image after another.

* :class:`Digits` wraps a batch for Jupyter: it displays as a PNG image grid
  (``_repr_png_`` / ``_repr_html_``; Pillow needed, ``pip install
  fastdigits[png]``, else a text rendering).  ``Digits(image_28x28)`` shows
  one picture.

Images need not be uint8: see :func:`to_uint8` for how other dtypes map to
the 256 grey levels.  Any array-like works (a CPU torch tensor too).
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any, List, Optional, Sequence, TextIO

import numpy as np

from ._images import _as_array, _as_batch, _labels_list, to_uint8  # noqa: F401

__all__ = ["ASCII_RAMP", "Digits", "render", "show", "to_uint8"]

#: Characters for ``mode="ascii"``, darkest (0) to brightest (255).
ASCII_RAMP = " .:-=+*#%@"
MODES = ("blocks", "ascii", "numbers")
GAP = 2  # spaces between images side by side

# The 256-colour palette's greys: 16 is black, 232..255 are 8, 18, ..., 238,
# 231 is white.  Each grey level maps to the nearest of these 26.
_GREY_LEVELS = np.array([0] + [8 + 10 * k for k in range(24)] + [255])
_GREY_CODES = np.array([16] + list(range(232, 256)) + [231])
_GREY_LUT = _GREY_CODES[np.abs(np.arange(256)[:, None] - _GREY_LEVELS[None, :]).argmin(axis=1)]
_ASCII_LUT = np.array(list(ASCII_RAMP))[np.arange(256) * len(ASCII_RAMP) // 256]
_RESET = "\x1b[0m"


def _titles(n: int, labels: Optional[List[str]], titles: Any, start: int) -> List[str]:
    if titles is not None:
        tl = [str(t) for t in titles]
        if len(tl) != n:
            raise ValueError("titles has %d entries but there are %d images" % (len(tl), n))
        return tl
    if labels is None:
        return ["#%d" % (start + i) for i in range(n)]
    return ["#%d: %s" % (start + i, lab) for i, lab in enumerate(labels)]


def _use_color(color: Optional[bool], file: Optional[TextIO]) -> bool:
    if color is not None:
        return bool(color)
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    stream = sys.stdout if file is None else file
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def _tile_blocks(img: np.ndarray, color: bool) -> List[str]:
    """Lines of one uint8 image, two pixel rows per line (same visible width)."""
    h, w = img.shape
    lines = []
    if color:
        codes = _GREY_LUT[img]
        for r in range(0, h, 2):
            top = codes[r]
            parts = []
            if r + 1 < h:
                bot = codes[r + 1]
                prev = None
                for c in range(w):
                    pair = (top[c], bot[c])
                    if pair != prev:
                        parts.append("\x1b[38;5;%dm\x1b[48;5;%dm" % pair)
                        prev = pair
                    parts.append("\u2580")  # upper half block: fg top, bg bottom
            else:  # odd height: last row alone, terminal background below
                parts.append("\x1b[49m")
                prev = None
                for c in range(w):
                    if top[c] != prev:
                        parts.append("\x1b[38;5;%dm" % top[c])
                        prev = top[c]
                    parts.append("\u2580")
            parts.append(_RESET)
            lines.append("".join(parts))
    else:
        ink = img >= 128
        if h % 2:
            ink = np.vstack([ink, np.zeros((1, w), bool)])
        glyphs = np.array([[" ", "\u2584"], ["\u2580", "\u2588"]])  # [top][bottom]
        cells = glyphs[ink[0::2].astype(np.intp), ink[1::2].astype(np.intp)]
        lines = ["".join(row) for row in cells]
    return lines


def _tile_ascii(img: np.ndarray) -> List[str]:
    return ["".join(row) for row in _ASCII_LUT[img]]


def _format_numbers(img: np.ndarray) -> List[str]:
    """Rows of an image's raw values in right-aligned columns."""
    if img.dtype.kind == "f":
        cells = np.array([["%.4g" % v for v in row] for row in img.tolist()], dtype=object)
    else:
        cells = np.array([[str(v) for v in row] for row in img.tolist()], dtype=object)
    width = max(len(s) for s in cells.ravel())
    return [" ".join(s.rjust(width) for s in row) for row in cells]


def _fit(text: str, width: int) -> str:
    return text[:width].ljust(width)


def render(
    images: Any,
    labels: Any = None,
    *,
    mode: str = "blocks",
    color: Optional[bool] = None,
    width: Optional[int] = None,
    titles: Optional[Sequence[Any]] = None,
    start: int = 0,
) -> str:
    """Render images as text (see the module doc for the modes).

    Parameters
    ----------
    images : array-like, shape (N, H, W), (N, 1, H, W) or (H, W)
    labels : optional sequence of N labels (or one label for one image),
        shown above each image as ``#index: label``.
    mode : "blocks", "ascii" or "numbers".
    color : for ``blocks``: True for 256-colour grey escapes, False for plain
        half blocks, None to decide by whether stdout is a terminal (and
        ``NO_COLOR`` / ``TERM=dumb``).
    width : text columns available (default: the terminal's width); images
        are placed side by side as many as fit, then wrap.
    titles : optional N strings used verbatim as the titles instead.
    start : index of the first image (titles count from it).

    Returns
    -------
    str
        The text, ending with a newline.

    Examples
    --------
    >>> import fastdigits
    >>> images, labels = fastdigits.load_mnist("test")
    >>> text = fastdigits.render(images[:2], labels[:2], color=False, width=80)
    >>> print(text, end="")
    #0: 7                         #1: 2
    <BLANKLINE>
                                              ▄▄▄▄
                                          ▄████████
           ▄▄▄                            ██▀    ██▀
          ▀▀▀▀███████████▄                      ███
                       ██                     ▄███
                     ▄██                     ███▀
                    ▄██                     ███▀
                    ██                    ▄███▀
                  ▄██                     ███           ▄▄▄▄
                 ██▀                      ████████████████▀▀
               ▄██                             ▀▀▀▀▀
               ███
               ▀▀

    The raw values of part of an image (the top bar of the 7):

    >>> print(fastdigits.render(images[0, 7:11, 6:13], mode="numbers"), end="")
    #0
     84 185 159 151  60  36   0
    222 254 254 254 254 241 198
     67 114  72 114 163 227 254
      0   0   0   0   0  17  66
    """
    if mode not in MODES:
        raise ValueError("mode must be one of %s, got %r" % (", ".join(MODES), mode))
    arr = _as_batch(images)
    n, h, w = arr.shape
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)):
        raise TypeError("start must be an int, got %s" % type(start).__name__)
    labs = _labels_list(labels, n)
    heads = _titles(n, labs, titles, int(start))
    if mode == "numbers":
        blocks = []
        for i in range(n):
            blocks.append("\n".join([heads[i]] + _format_numbers(arr[i])))
        return "\n\n".join(blocks) + "\n"
    if width is None:
        width = shutil.get_terminal_size(fallback=(80, 24)).columns
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError("width must be a positive int, got %r" % (width,))
    u8 = to_uint8(arr)
    use_color = mode == "blocks" and _use_color(color, None)
    per_row = max(1, (int(width) + GAP) // (w + GAP))
    out_rows = []
    for r0 in range(0, n, per_row):
        idx = range(r0, min(n, r0 + per_row))
        tiles = [
            _tile_blocks(u8[i], use_color) if mode == "blocks" else _tile_ascii(u8[i]) for i in idx
        ]
        lines = [(" " * GAP).join(_fit(heads[i], w) for i in idx).rstrip()]
        for k in range(len(tiles[0])):
            lines.append((" " * GAP).join(t[k] for t in tiles).rstrip(" "))
        out_rows.append("\n".join(lines))
    return "\n\n".join(out_rows) + "\n"


def show(images: Any, labels: Any = None, *, file: Optional[TextIO] = None, **options: Any) -> None:
    """Print images in the terminal: ``fastdigits.show(images[:10], labels[:10])``.

    ``options`` are the keyword parameters of :func:`render` (``mode``,
    ``color``, ``width``, ``titles``, ``start``), passed on to it;
    ``file`` defaults to ``sys.stdout``, and ``color=None`` (the default)
    uses colour only when that file is a terminal.

    Examples
    --------
    Three test digits at half size (every other pixel), in plain ASCII:

    >>> import fastdigits
    >>> images, labels = fastdigits.load_mnist("test")
    >>> fastdigits.show(images[:3, 6:24:2, 4:24:2], labels[:3], mode="ascii", width=80)
    #0: 7       #1: 2       #2: 1
                  @%  @           +
     %@@####*     .  %@           @
        ::: @       :@:          .%
           @-       @*           +-
          :@       #@            @
          %:       @+            %
         :@       @@            ++
         @.       @@@@**@@      @:
        %=         ==@@=.       @
    """
    stream = sys.stdout if file is None else file
    if options.get("color") is None:
        options["color"] = _use_color(None, stream)
    stream.write(render(images, labels, **options))
    flush = getattr(stream, "flush", None)
    if flush:
        flush()


class Digits:
    """A batch of digit images that Jupyter displays as a picture grid.

    ``Digits(images, labels)`` in a cell's last line shows a PNG montage
    (``ncols`` per row, each pixel ``scale`` x ``scale``, labels above).
    ``Digits(image)`` with a single (H, W) image shows one larger picture.
    ``print(Digits(...))`` renders half blocks as text.  Notebook displays
    show the first ``limit`` images only (a whole 60000-image set would be
    a 200 MB picture); :meth:`to_png` writes them all.

    Examples
    --------
    >>> import os, shutil, tempfile
    >>> import fastdigits
    >>> images, labels = fastdigits.load_mnist("test")
    >>> grid = fastdigits.Digits(images[:20], labels[:20])
    >>> grid
    Digits(20 images 28x28 uint8, labels 7 2 1 0 4 1 4 9 5 9 ...)
    >>> len(grid)
    20
    >>> grid._repr_png_()[:8]  # what Jupyter displays
    b'\\x89PNG\\r\\n\\x1a\\n'
    >>> d = tempfile.mkdtemp()
    >>> path = grid.to_png(os.path.join(d, "grid.png"))
    >>> os.path.getsize(path) > 0
    True
    >>> shutil.rmtree(d)
    """

    def __init__(
        self,
        images: Any,
        labels: Any = None,
        *,
        ncols: int = 10,
        scale: Optional[int] = None,
        start: int = 0,
        limit: int = 200,
    ) -> None:
        arr = _as_array(images)
        single = arr.ndim == 2
        self.images = _as_batch(arr)
        self.labels = _labels_list(labels, self.images.shape[0])
        if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
            raise ValueError("ncols must be a positive int, got %r" % (ncols,))
        if scale is None:
            scale = 8 if single else 2
        if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
            raise ValueError("scale must be a positive int, got %r" % (scale,))
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
            raise ValueError("limit must be a positive int, got %r" % (limit,))
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)):
            raise TypeError("start must be an int, got %s" % type(start).__name__)
        self.ncols = int(ncols)
        self.scale = int(scale)
        self.start = int(start)
        self.limit = int(limit)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        n, h, w = self.images.shape
        lab = ""
        if self.labels is not None:
            shown = " ".join(self.labels[:10]) + (" ..." if n > 10 else "")
            lab = ", labels %s" % shown
        return "Digits(%d image%s %dx%d %s%s)" % (
            n,
            "" if n == 1 else "s",
            h,
            w,
            self.images.dtype,
            lab,
        )

    def __str__(self) -> str:
        return render(self.images, self.labels, mode="blocks", color=False, start=self.start)

    def to_png(self, path: Any) -> Any:
        """Write the grid as a PNG file (see :func:`fastdigits.to_png`)."""
        from .png import to_png

        return to_png(self.images, path, labels=self.labels, ncols=self.ncols, scale=self.scale)

    def _png(self) -> Optional[bytes]:
        from .png import png_bytes

        k = self.limit
        try:
            return png_bytes(
                self.images[:k],
                labels=None if self.labels is None else self.labels[:k],
                ncols=self.ncols,
                scale=self.scale,
            )
        except ImportError:
            return None

    def _repr_png_(self) -> Optional[bytes]:
        return self._png()

    def _repr_html_(self) -> str:
        import base64
        import html

        k = self.limit
        n = len(self)
        note = ("<p>first %d of %d images</p>" % (k, n)) if n > k else ""
        data = self._png()
        if data is None:  # no Pillow: text rendering instead
            text = render(
                self.images[:k],
                None if self.labels is None else self.labels[:k],
                mode="ascii",
                width=120,
                start=self.start,
            )
            return "<pre>%s</pre>%s" % (html.escape(text), note)
        return (
            '<img src="data:image/png;base64,%s" alt="%s" '
            'style="image-rendering: pixelated"/>%s'
            % (base64.b64encode(data).decode("ascii"), html.escape(repr(self)), note)
        )
