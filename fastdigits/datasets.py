"""MNIST (and lookalikes) as NumPy arrays, from the bundled files or a folder.

The four original MNIST files ship inside the package
(``fastdigits/data/mnist/*.gz``) and are verified against their published
SHA-256 once per process.  ``root=`` reads any folder holding the four
standard IDX file names, gzipped or raw, including torchvision's
``root/<Name>/raw/`` layout, so Fashion-MNIST and KMNIST load the same way.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from ._atomic import atomic_write
from .idx import IDXError, read_idx, read_idx_header, read_idx_normalized, write_idx

__all__ = ["MNIST_MEAN", "MNIST_NAMES", "MNIST_STD", "load_mnist", "mnist_path"]

#: Mean and standard deviation of the MNIST training pixels scaled to [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: Published SHA-256 of the original MNIST .gz files (bundled copies).
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

BUNDLED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "mnist")

# torchvision keeps raw files in root/<ClassName>/raw/.
_SUBDIRS = (
    "",
    "raw",
    os.path.join("MNIST", "raw"),
    os.path.join("FashionMNIST", "raw"),
    os.path.join("KMNIST", "raw"),
    "MNIST",
    "FashionMNIST",
    "KMNIST",
)

_verified: Dict[Tuple[str, int, int], bool] = {}
# Next to each cache entry: the SHA-256 of the entry as written.
_SUM_SUFFIX = ".sha256"
_verify_lock = threading.Lock()


def _candidates(base: str):
    alt = base.replace("-idx", ".idx")  # e.g. t10k-images.idx3-ubyte
    return (base, base + ".gz", alt, alt + ".gz")


def _find(root: str, base: str) -> str:
    for sub in _SUBDIRS:
        folder = os.path.join(root, sub)
        for name in _candidates(base):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(
        "root=%r has no %s[.gz] (looked in the folder itself and in %s)"
        % (root, base, ", ".join(s for s in _SUBDIRS if s))
    )


def _verify_key(path: str) -> Tuple[str, int, int]:
    st = os.stat(path)
    return (path, st.st_size, st.st_mtime_ns)


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify_once(path: str, expected: str) -> bool:
    """Whether `path` has SHA-256 `expected`; hashed once per process (per
    size and mtime), only successes are remembered."""
    key = _verify_key(path)
    if _verified.get(key):
        return True
    with _verify_lock:
        if _verified.get(key):
            return True
        ok = _sha256_file(path) == expected
        if ok:
            _verified[key] = True
        return ok


def _verify_bundled(path: str) -> None:
    """Check a bundled file's SHA-256 once per process (per size and mtime)."""
    expected = SHA256[os.path.basename(path)]
    if not _verify_once(path, expected):
        raise IDXError(
            "bundled file %s is corrupt: SHA-256 %s, expected %s "
            "(reinstall fastdigits)" % (path, _sha256_file(path), expected)
        )


def _cache_dir(cache: Union[bool, str, "os.PathLike[str]"]) -> Optional[str]:
    if isinstance(cache, (str, os.PathLike)):
        folder = os.fspath(cache)
        if not isinstance(folder, str):  # a PathLike of bytes
            raise TypeError("cache must be a bool or a folder path (str), got bytes")
        if not folder:
            raise ValueError("cache must be a bool or a folder path, got ''")
        return folder
    if not isinstance(cache, (bool, np.bool_)):
        # (a bytes path was taken as True: the default folder)
        raise TypeError("cache must be a bool or a folder path, got %s" % type(cache).__name__)
    env = os.environ.get("FASTDIGITS_CACHE", "").strip()
    if env:
        return env
    if cache:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(base, "fastdigits")
    return None


def _cache_key(path: str, bundled: bool) -> str:
    if bundled:
        return "mnist-" + SHA256[os.path.basename(path)][:16]
    st = os.stat(path)
    ident = "%s|%d|%d" % (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    return "data-" + hashlib.sha1(ident.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _entry_ok(target: str) -> bool:
    """A cache entry is used only if it matches the SHA-256 recorded when it
    was written (target + ".sha256"), checked once per process."""
    try:
        with open(target + _SUM_SUFFIX, "r", encoding="ascii") as f:
            expected = f.read().strip()
        hdr = read_idx_header(target)
        if hdr.compressed or hdr.file_size != hdr.data_offset + hdr.nbytes:
            return False
        return len(expected) == 64 and _verify_once(target, expected)
    except (IDXError, OSError, UnicodeDecodeError):
        return False


def _resolve(path: str, bundled: bool, cache_dir: Optional[str]) -> str:
    """The file to read: the source, or (caching) a decoded raw IDX copy.

    Bundled files are checksummed before they are decoded; a cache entry
    (made from a verified file, keyed by its hash) is checked against the
    SHA-256 recorded next to it instead, once per process; a damaged or
    unrecorded entry is rewritten from the source.
    """
    target = None
    if cache_dir is not None:
        base = os.path.basename(path)
        if base.endswith(".gz"):
            base = base[:-3]
        target = os.path.join(cache_dir, _cache_key(path, bundled), base)
        if os.path.isfile(target) and _entry_ok(target):
            return target
    if bundled:
        _verify_bundled(path)
    if target is None:
        return path
    os.makedirs(os.path.dirname(target), exist_ok=True)
    write_idx(target, read_idx(path), compress=False)
    digest = _sha256_file(target)
    atomic_write(target + _SUM_SUFFIX, lambda f: f.write(digest.encode("ascii") + b"\n"))
    _verified[_verify_key(target)] = True
    return target


def load_mnist(
    split: str = "train",
    *,
    root: Optional[Union[str, "os.PathLike[str]"]] = None,
    normalize: bool = False,
    flatten: bool = False,
    dtype: Any = np.float32,
    cache: Union[bool, str, "os.PathLike[str]"] = False,
) -> Tuple[np.ndarray, np.ndarray]:
    """Load MNIST (or a dataset in the same format) as ``(images, labels)``.

    Parameters
    ----------
    split : "train" or "test"
    root : folder, optional
        Folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each gzipped
        or raw), directly or in torchvision's ``MNIST/raw``,
        ``FashionMNIST/raw`` or ``KMNIST/raw`` sub-folders.  Default: the
        bundled MNIST files, whose SHA-256 is verified once per process
        (not done for other folders).
    normalize : bool
        False: images are uint8 pixels 0..255.  True: images are
        ``(pixels / 255 - MNIST_MEAN) / MNIST_STD`` in ``dtype``, decoded
        straight into floats with :func:`fastdigits.read_idx_normalized`.
    flatten : bool
        Images of shape ``(N, 784)`` instead of ``(N, 28, 28)``.
    dtype : float32 or float64
        Float type of normalised images (ignored when ``normalize=False``).
    cache : bool or folder
        Keep a decoded raw IDX copy (in the given folder, ``$FASTDIGITS_CACHE``,
        or ``~/.cache/fastdigits``) so later loads memory-map it in
        milliseconds.  Setting ``FASTDIGITS_CACHE`` turns caching on.
        Cached uint8 images are copy-on-write memory maps.  Each entry's
        SHA-256 is recorded next to it (``NAME.sha256``) and checked the
        first time a process uses it (about 30 ms for the training images);
        a damaged entry is rebuilt from the source.

    Returns
    -------
    images : ndarray, (N, 28, 28) or (N, 784), uint8 or ``dtype``
    labels : ndarray, (N,), uint8

    Raises
    ------
    ValueError
        An unknown ``split``.
    TypeError
        A ``dtype`` other than float32/float64 with ``normalize=True``, or a
        ``root`` that is not a path.
    FileNotFoundError
        ``root`` is not a folder or lacks one of the split's two files.
    IDXError
        A malformed file, image and label counts that differ, or a bundled
        file that fails its SHA-256 check.

    Examples
    --------
    >>> import os, shutil, tempfile
    >>> import fastdigits
    >>> images, labels = fastdigits.load_mnist("train")
    >>> images.shape, images.dtype
    ((60000, 28, 28), dtype('uint8'))
    >>> labels[:10]
    array([5, 0, 4, 1, 9, 2, 1, 3, 1, 4], dtype=uint8)

    Standardised floats, one row per image:

    >>> x, y = fastdigits.load_mnist("test", normalize=True, flatten=True)
    >>> x.shape, x.dtype
    ((10000, 784), dtype('float32'))
    >>> y[:10]
    array([7, 2, 1, 0, 4, 1, 4, 9, 5, 9], dtype=uint8)
    >>> round(float(x.min()), 4)  # a black pixel: (0 - MNIST_MEAN) / MNIST_STD
    -0.4242

    Any folder holding the standard file names loads the same way (here a
    five-image copy of the test set):

    >>> test_images, test_labels = fastdigits.load_mnist("test")
    >>> d = tempfile.mkdtemp()
    >>> _ = fastdigits.write_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"), test_images[:5])
    >>> _ = fastdigits.write_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"), test_labels[:5])
    >>> few_images, few_labels = fastdigits.load_mnist("test", root=d)
    >>> few_images.shape, few_labels
    ((5, 28, 28), array([7, 2, 1, 0, 4], dtype=uint8))
    >>> shutil.rmtree(d)
    """
    if split not in _FILES:
        raise ValueError("split must be 'train' or 'test', got %r" % (split,))
    dt = np.dtype(dtype)
    if normalize and dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError("dtype must be float32 or float64, got %s" % dt)
    if root is None:
        bundled = True
        paths = [os.path.join(BUNDLED_DIR, name + ".gz") for name in _FILES[split]]
    else:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError("root must be a folder path, got %s" % type(root).__name__)
        root = os.fspath(root)
        if not os.path.isdir(root):
            raise FileNotFoundError("root=%r is not a folder" % root)
        bundled = False
        paths = [_find(root, name) for name in _FILES[split]]
    cache_dir = _cache_dir(cache)
    if bundled and cache_dir is None and not all(_verified.get(_verify_key(p)) for p in paths):
        # Hash the bundled files on a helper thread while they are decoded
        # (both release the GIL); nothing is returned before the check passes.
        verifier = _Verifier(paths)
        try:
            images, labels = _decode(paths[0], paths[1], normalize, flatten, dt, False)
        except BaseException:
            verifier.result()  # a checksum failure explains a decode failure
            raise
        verifier.result()
    else:  # verified already, or cached (then _resolve verifies before caching)
        img_path, lab_path = (_resolve(p, bundled, cache_dir) for p in paths)
        images, labels = _decode(img_path, lab_path, normalize, flatten, dt, cache_dir is not None)
    return images, labels


class _Verifier:
    """_verify_bundled(paths) on a background thread; result() re-raises."""

    def __init__(self, paths: List[str]) -> None:
        self._exc: Optional[BaseException] = None
        self._thread = threading.Thread(
            target=self._run, args=(paths,), name="fastdigits-sha256", daemon=True
        )
        self._thread.start()

    def _run(self, paths: List[str]) -> None:
        try:
            for path in paths:
                _verify_bundled(path)
        except BaseException as exc:  # handed to the caller by result()
            self._exc = exc

    def result(self) -> None:
        self._thread.join()
        if self._exc is not None:
            raise self._exc


def _decode(
    img_path: str, lab_path: str, normalize: bool, flatten: bool, dt: np.dtype, use_mmap: bool
) -> Tuple[np.ndarray, np.ndarray]:
    labels = read_idx(lab_path, mmap=use_mmap)
    if normalize:
        images = read_idx_normalized(
            img_path, scale=1.0 / 255.0, mean=MNIST_MEAN, std=MNIST_STD, dtype=dt, flatten=flatten
        )
    else:
        images = read_idx(img_path, mmap=use_mmap)
        if flatten:
            images = images.reshape(images.shape[0], -1)
    if images.ndim < 1 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise IDXError(
            "%s and %s do not match: %s images, %s labels"
            % (img_path, lab_path, images.shape, labels.shape)
        )
    return images, labels


#: Names of the bundled MNIST files for :func:`mnist_path` (and the command
#: line's ``mnist:NAME``).
MNIST_NAMES = ("train-images", "train-labels", "test-images", "test-labels")


def mnist_path(name: str = "train-images") -> str:
    """The path of a bundled MNIST file (gzip IDX, inside the installed package).

    For code that wants a file name, such as :func:`read_idx`; note that
    :func:`load_mnist` also checks the files' SHA-256, reading a path
    directly does not.

    Parameters
    ----------
    name : str
        "train-images", "train-labels", "test-images" or "test-labels"
        ("train" and "test" alone mean the images).

    Returns
    -------
    str
        The file's path.

    Raises
    ------
    ValueError
        Any other name.

    Examples
    --------
    >>> import os, fastdigits
    >>> path = fastdigits.mnist_path("test-labels")
    >>> os.path.basename(path)
    't10k-labels-idx1-ubyte.gz'
    >>> fastdigits.read_idx(path)[:10]
    array([7, 2, 1, 0, 4, 1, 4, 9, 5, 9], dtype=uint8)
    >>> fastdigits.mnist_path("train") == fastdigits.mnist_path("train-images")
    True
    """
    if name in ("train", "test"):
        name += "-images"
    if name not in MNIST_NAMES:
        raise ValueError("name must be one of %s, got %r" % (", ".join(MNIST_NAMES), name))
    split, kind = name.split("-")
    base = _FILES[split][0 if kind == "images" else 1]
    return os.path.join(BUNDLED_DIR, base + ".gz")
