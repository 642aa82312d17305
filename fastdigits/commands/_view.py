"""Shared by `fastdigits info`, `show` and `grid`: open IDX files, parse ranges.

Every user mistake becomes a :class:`fastdigits.cli.CommandError` (one line,
exit code 2): missing file, not an IDX file, wrong rank, bad index or range.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Optional, Tuple

import numpy as np

from ..cli import CommandError

# IDX element type codes.
TYPE_NAMES = {0x08: "uint8", 0x09: "int8", 0x0B: "int16", 0x0C: "int32",
              0x0D: "float32", 0x0E: "float64"}
_CODE_OF = {("u", 1): 0x08, ("i", 1): 0x09, ("i", 2): 0x0B, ("i", 4): 0x0C,
            ("f", 4): 0x0D, ("f", 8): 0x0E}


def type_code(dtype: Any) -> int:
    """IDX type code of a (native or big-endian) NumPy dtype."""
    dt = np.dtype(dtype)
    return _CODE_OF[(dt.kind, dt.itemsize)]


def idx_api():
    """(read_idx, read_idx_header, IDXError) from fastdigits.idx."""
    from ..idx import IDXError, read_idx, read_idx_header

    return read_idx, read_idx_header, IDXError


def _idx_message(path: str, exc: BaseException) -> str:
    msg = str(exc)
    if msg.startswith(path + ": "):  # the decoder names the file already
        msg = msg[len(path) + 2:]
    return "%s: not a valid IDX file: %s" % (path, msg)


def quiet_broken_pipe(fn, *args, **kwargs) -> int:
    """Run ``fn``; if stdout's reader went away (``| head``), stop quietly."""
    try:
        fn(*args, **kwargs)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would complain again when flushing at exit: point stdout nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return 0


def _check_file(path: str, what: str) -> None:
    if not os.path.exists(path):
        raise CommandError("%s: no such file: %s" % (what, path))
    if os.path.isdir(path):
        raise CommandError("%s: %s is a directory, not an IDX file" % (what, path))
    if not os.access(path, os.R_OK):
        raise CommandError("%s: cannot read %s (permission denied)" % (what, path))


def read_header(path: str, what: str = "FILE") -> Any:
    """The IDX header of ``path``, or a CommandError saying what is wrong."""
    _check_file(path, what)
    _, read_idx_header, IDXError = idx_api()
    try:
        return read_idx_header(path)
    except (IDXError, ValueError, EOFError) as exc:
        raise CommandError(_idx_message(path, exc)) from exc
    except OSError as exc:
        raise CommandError("%s: %s" % (path, exc.strerror or exc)) from exc


def read_array(path: str, header: Any = None, what: str = "FILE") -> np.ndarray:
    """The array of an IDX file: memory-mapped when raw, decoded when gzip."""
    if header is None:
        header = read_header(path, what)
    read_idx, _, IDXError = idx_api()
    try:
        return read_idx(path, mmap=not header.compressed)
    except (IDXError, ValueError, EOFError) as exc:
        raise CommandError(_idx_message(path, exc)) from exc
    except OSError as exc:
        raise CommandError("%s: %s" % (path, exc.strerror or exc)) from exc


def read_images(path: str) -> np.ndarray:
    """An image file's (N, H, W) array; other ranks are a CommandError."""
    header = read_header(path, "FILE")
    shape = tuple(header.shape)
    if len(shape) != 3:
        raise CommandError("%s: not an image file: rank %d, shape %s (images are rank 3: "
                           "count x rows x columns)" % (path, len(shape), "x".join(map(str, shape))))
    if 0 in shape:
        raise CommandError("%s: holds no images (shape %s)" % (path, "x".join(map(str, shape))))
    return read_array(path, header)


def read_labels(path: str, n_images: int) -> np.ndarray:
    """A label file's 1-D array, checked against the image count."""
    header = read_header(path, "--labels")
    shape = tuple(header.shape)
    if len(shape) != 1:
        raise CommandError("--labels %s: not a label file: rank %d, shape %s (labels are rank 1)"
                           % (path, len(shape), "x".join(map(str, shape))))
    if shape[0] != n_images:
        raise CommandError("--labels %s has %d labels but the image file has %d images"
                           % (path, shape[0], n_images))
    return read_array(path, header, "--labels")


def parse_range(text: str, n: int) -> Tuple[int, int]:
    """``"A:B"`` (A or B may be left out) -> (A, B) with 0 <= A < B <= n."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        a = int(parts[0]) if parts[0].strip() else 0
        b = int(parts[1]) if parts[1].strip() else n
    except ValueError:
        raise CommandError("bad range %r: expected A:B, e.g. 0:10" % text) from None
    if not 0 <= a < b <= n:
        raise CommandError("bad range %r: need 0 <= A < B <= %d (the file has %d images)"
                           % (text, n, n))
    return a, b


def select(index: Optional[str], rng: Optional[str], n: int, default: int) -> Tuple[int, int]:
    """(start, stop) from --index / --range, else the first ``default`` images."""
    if index is not None:
        try:
            index = int(index)
        except ValueError:
            raise CommandError("bad index %r: expected a whole number" % index) from None
        if not 0 <= index < n:
            raise CommandError("bad index %d: need 0 <= I < %d (the file has %d images)"
                               % (index, n, n))
        return index, index + 1
    if rng is not None:
        return parse_range(rng, n)
    return 0, max(1, min(default, n))


def add_selection_arguments(parser: Any, default_help: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--index", "-i", metavar="I",
                       help="one image, number I (from 0)")
    group.add_argument("--range", "-r", metavar="A:B",
                       help="images A to B-1, e.g. 0:10 (%s)" % default_help)
    parser.add_argument("--labels", "-l", metavar="LABELS",
                        help="IDX label file to show the labels from")
