"""Shared by the commands: open IDX files, name the bundled data, check
output paths, parse ranges.

Every user mistake becomes a :class:`fastdigits.cli.CommandError` (one line,
exit code 2): missing file, not an IDX file, wrong rank, bad index or range,
an output file whose folder does not exist.

Input file arguments go through :func:`resolve_input`, the one place where
the bundled MNIST's short names are understood (see :data:`MNIST_NAMES_HELP`).
"""

from __future__ import annotations

import io
import os
import stat
import sys
from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from ..cli import CommandError

# IDX element type codes.
TYPE_NAMES = {
    0x08: "uint8",
    0x09: "int8",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}
_CODE_OF = {
    ("u", 1): 0x08,
    ("i", 1): 0x09,
    ("i", 2): 0x0B,
    ("i", 4): 0x0C,
    ("f", 4): 0x0D,
    ("f", 8): 0x0E,
}


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
        msg = msg[len(path) + 2 :]
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


#: For --help texts and the README.
MNIST_NAMES_HELP = (
    "mnist:train / mnist:test name the bundled MNIST files: the images "
    "where an image file is expected, the labels for --labels; "
    "mnist:train-images, mnist:train-labels, mnist:test-images and "
    "mnist:test-labels name one file explicitly"
)


def resolve_input(path: str, kind: str = "images") -> str:
    """The file an input argument names: ``mnist:...`` -> a bundled MNIST file
    (``kind`` "images" or "labels" says which one a bare ``mnist:train`` or
    ``mnist:test`` means); anything else is a path, returned unchanged."""
    if not path.startswith("mnist:"):
        return path
    from ..datasets import MNIST_NAMES, mnist_path

    name = path[len("mnist:") :]
    if name in ("train", "test"):
        name += "-" + kind
    if name not in MNIST_NAMES:
        raise CommandError(
            "unknown bundled data set %r: use mnist:train, mnist:test, %s"
            % (path, ", ".join("mnist:" + n for n in MNIST_NAMES))
        )
    return mnist_path(name)


def check_output(opt: str, path: str, suffix: Optional[str] = None) -> None:
    """Fail now, before any work, if ``path`` cannot be written later: its
    folder must exist and be writable, it must not be a folder, and it must
    end in ``suffix`` (case-insensitive) when one is given."""
    if not path:
        # ('' passed every check below: the work ran, then open('') failed)
        raise CommandError("%s needs a file name, got ''" % opt)
    if suffix is not None and not path.lower().endswith(suffix):
        raise CommandError(
            "%s %s: the file name must end in %s (it is written as %s)"
            % (opt, path, suffix, suffix[1:].upper())
        )
    if os.path.isdir(path):
        raise CommandError("%s %s: is a folder, not a file" % (opt, path))
    if path.endswith(os.sep) or (os.altsep and path.endswith(os.altsep)):
        raise CommandError(
            "%s %s: is a folder name (it ends in %s), not a file" % (opt, path, path[-1])
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CommandError("%s %s: no such folder %s" % (opt, path, folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CommandError(
            "%s %s: cannot write in folder %s (permission denied)" % (opt, path, folder)
        )


def check_output_folder(opt: str, path: str) -> None:
    """Like :func:`check_output` for a folder that is created when missing
    (its parent must exist)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise CommandError("%s %s: exists and is not a folder" % (opt, path))
    probe = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(probe):
        raise CommandError("%s %s: no such folder %s" % (opt, path, probe))
    if not os.access(probe, os.W_OK | os.X_OK):
        raise CommandError(
            "%s %s: cannot write in folder %s (permission denied)" % (opt, path, probe)
        )


def progress_wanted(no_progress: bool, stream: Any = None) -> bool:
    """A progress bar only on a terminal: in a log or a pipe its carriage-
    return updates would be hundreds of lines of noise."""
    stream = sys.stderr if stream is None else stream
    try:
        return not no_progress and stream.isatty()
    except (AttributeError, ValueError):  # closed or unusual stream
        return False


def _check_file(path: str, what: str) -> None:
    if not os.path.exists(path):
        raise CommandError("%s: no such file: %s" % (what, path))
    if os.path.isdir(path):
        raise CommandError("%s: %s is a directory, not an IDX file" % (what, path))
    if not os.access(path, os.R_OK):
        raise CommandError("%s: cannot read %s (permission denied)" % (what, path))


class _Recorder(io.RawIOBase):
    """A stream (pipe, FIFO, /dev/stdin) passed through to read_idx, noting
    its first two bytes (gzip or not) and how many bytes it gave."""

    def __init__(self, f: Any, name: str) -> None:
        super().__init__()
        self._f = f
        self.name = name
        self.head = b""
        self.nbytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self._f.readinto(b) or 0
        if n and len(self.head) < 2:
            self.head += memoryview(b).cast("B")[: min(n, 2 - len(self.head))].tobytes()
        self.nbytes += n
        return n


class StreamHeader(NamedTuple):
    """What :func:`read_header` returns for a stream: a stream can be read
    only once, so its data come with the header (``array``)."""

    dtype: np.dtype
    shape: Tuple[int, ...]
    data_offset: int
    compressed: bool
    file_size: int  #: bytes the stream gave (compressed size for gzip)
    array: np.ndarray


def _is_stream(path: str) -> bool:
    """A pipe, FIFO, /dev/stdin, device: no second reading, no header alone."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _read_stream(path: str) -> StreamHeader:
    read_idx = idx_api()[0]
    with open(path, "rb", buffering=0) as f:
        rec = _Recorder(f, path)
        arr = read_idx(rec)
    return StreamHeader(
        arr.dtype,
        tuple(arr.shape),
        4 + 4 * arr.ndim,  # IDX: 4 magic bytes, then 4 per dimension
        rec.head == b"\x1f\x8b",
        rec.nbytes,
        arr,
    )


def read_header(path: str, what: str = "FILE") -> Any:
    """The IDX header of ``path`` (already resolved by :func:`resolve_input`),
    or a CommandError saying what is wrong.

    A stream (pipe, FIFO, /dev/stdin) cannot be opened twice: it is read
    whole, once, here, and the data come back with the header (a
    :class:`StreamHeader`; :func:`read_array` takes them from it)."""
    _check_file(path, what)
    _, read_idx_header, IDXError = idx_api()
    try:
        return _read_stream(path) if _is_stream(path) else read_idx_header(path)
    except (IDXError, ValueError, EOFError) as exc:
        raise CommandError(_idx_message(path, exc)) from exc
    except OSError as exc:
        raise CommandError("%s: %s" % (path, exc.strerror or exc)) from exc


def read_array(path: str, header: Any = None, what: str = "FILE") -> np.ndarray:
    """The array of an IDX file: memory-mapped when raw, decoded when gzip
    (a stream's, read by :func:`read_header`, from ``header``)."""
    if header is None:
        header = read_header(path, what)
    if isinstance(header, StreamHeader):
        return header.array
    read_idx, _, IDXError = idx_api()
    try:
        return read_idx(path, mmap=not header.compressed)
    except (IDXError, ValueError, EOFError) as exc:
        raise CommandError(_idx_message(path, exc)) from exc
    except OSError as exc:
        raise CommandError("%s: %s" % (path, exc.strerror or exc)) from exc


def read_images(path: str, min_rank: int = 3) -> np.ndarray:
    """An image file's (N, H, W) array (or, with ``min_rank=2``, (N, ...)
    rows of features); other ranks are a CommandError."""
    header = read_header(path, "FILE")
    shape = tuple(header.shape)
    if not min_rank <= len(shape) <= 3:
        raise CommandError(
            "%s: not an image file: rank %d, shape %s (images are rank 3: "
            "count x rows x columns%s)"
            % (
                path,
                len(shape),
                "x".join(map(str, shape)),
                "; or rank 2: count x features" if min_rank == 2 else "",
            )
        )
    if 0 in shape:
        raise CommandError("%s: holds no images (shape %s)" % (path, "x".join(map(str, shape))))
    return read_array(path, header)


def read_labels(path: str, n_images: int) -> np.ndarray:
    """A label file's 1-D array (``path`` already resolved with
    ``kind="labels"``), checked against the image count."""
    header = read_header(path, "--labels")
    shape = tuple(header.shape)
    if len(shape) != 1:
        raise CommandError(
            "--labels %s: not a label file: rank %d, shape %s (labels are rank 1)"
            % (path, len(shape), "x".join(map(str, shape)))
        )
    if shape[0] != n_images:
        raise CommandError(
            "--labels %s has %d labels but the image file has %d images"
            % (path, shape[0], n_images)
        )
    return read_array(path, header, "--labels")


#: One more than the largest class label the commands accept: ``train``
#: gives its model an output per class up to the largest label it sees.
MAX_CLASSES = 65536


def check_labels(labels: np.ndarray, path: str) -> np.ndarray:
    """A label file's values as int64 class ids, or a CommandError naming
    ``path``, the first bad label and its index: labels must be whole
    numbers (integral values in a float file) from 0 to MAX_CLASSES - 1."""
    y = np.asarray(labels)
    if y.dtype.kind not in "iuf":
        raise CommandError("%s: labels must be numbers, got dtype %s" % (path, y.dtype))
    checks = []
    if y.dtype.kind == "f":
        checks.append((np.isnan, "is not a number"))
        checks.append((lambda v: np.isfinite(v) & (np.floor(v) != v), "is not a whole number"))
    checks.append((lambda v: v < 0, "is negative"))
    checks.append((lambda v: v >= MAX_CLASSES, "is too large"))
    for bad, why in checks:
        mask = bad(y)
        if mask.any():
            i = int(np.argmax(mask))
            v = y[i].item()
            raise CommandError(
                "%s: label %s at index %d %s: class labels must be whole numbers from "
                "0 to %d (at most %d classes)" % (path, v, i, why, MAX_CLASSES - 1, MAX_CLASSES)
            )
    return y.astype(np.int64)


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
        raise CommandError(
            "bad range %r: need 0 <= A < B <= %d (the file has %d images)" % (text, n, n)
        )
    return a, b


def select(index: Optional[str], rng: Optional[str], n: int, default: int) -> Tuple[int, int]:
    """(start, stop) from --index / --range, else the first ``default`` images."""
    if index is not None:
        try:
            index = int(index)
        except ValueError:
            raise CommandError("bad index %r: expected a whole number" % index) from None
        if not 0 <= index < n:
            raise CommandError(
                "bad index %d: need 0 <= I < %d (the file has %d images)" % (index, n, n)
            )
        return index, index + 1
    if rng is not None:
        return parse_range(rng, n)
    return 0, max(1, min(default, n))


def add_selection_arguments(parser: Any, default_help: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--index", "-i", metavar="I", help="one image, number I (from 0)")
    group.add_argument(
        "--range", "-r", metavar="A:B", help="images A to B-1, e.g. 0:10 (%s)" % default_help
    )
    parser.add_argument(
        "--labels",
        "-l",
        metavar="LABELS",
        help="IDX label file to show the labels from (mnist:train and "
        "mnist:test name the bundled labels)",
    )


def add_image_arguments(parser: Any, default_help: str) -> None:
    """FILE, an IDX image file, and the selection options (--index, --range,
    --labels; ``default_help`` says what is shown without them)."""
    parser.add_argument(
        "file", metavar="FILE", help="IDX image file (rank 3), raw or gzip; " + MNIST_NAMES_HELP
    )
    add_selection_arguments(parser, default_help)


def read_selection(args: Any, default: Any) -> Tuple[np.ndarray, int, int, Optional[np.ndarray]]:
    """(images, a, b, labels): images a to b-1 of args.file as --index /
    --range select them, and their labels from --labels (None without).
    ``default``: how many images to take without --index / --range, or a
    function of the file's image array giving that number."""
    images = read_images(resolve_input(args.file))
    n = images.shape[0]
    a, b = select(args.index, args.range, n, default(images) if callable(default) else default)
    labels = None
    if args.labels:
        labels = read_labels(resolve_input(args.labels, "labels"), n)[a:b]
    return images[a:b], a, b, labels
