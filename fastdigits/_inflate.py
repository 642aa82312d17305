"""Which gzip inflater the IDX decoder uses (libdeflate from the ``deflate``
wheel or the system, else zlib), and inflating interruptibly."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
from typing import Any, Iterator, Optional, Tuple

import numpy as np

from . import _idx


class _Backend:
    def __init__(self) -> None:
        self.name = "zlib"
        self.addrs: Optional[Tuple[int, int, int]] = None
        self._lib = None  # keep the CDLL alive
        for name, path in self._candidates():
            try:
                lib = ctypes.CDLL(path)
                addrs = tuple(
                    ctypes.cast(getattr(lib, sym), ctypes.c_void_p).value
                    for sym in (
                        "libdeflate_alloc_decompressor",
                        "libdeflate_gzip_decompress_ex",
                        "libdeflate_free_decompressor",
                    )
                )
            except (OSError, AttributeError):
                continue
            if all(addrs):
                self.name, self.addrs, self._lib = name, addrs, lib
                return

    @staticmethod
    def _candidates():
        try:
            import deflate._deflate as _d  # the wheel's extension exports libdeflate

            yield "libdeflate (deflate wheel)", _d.__file__
        except ImportError:
            pass
        sysname = ctypes.util.find_library("deflate")
        if sysname:
            yield "libdeflate (system)", sysname


_BACKEND = _Backend()
_local = threading.local()


def inflate_backend() -> str:
    """Which gzip inflater read_idx uses: 'libdeflate (deflate wheel)',
    'libdeflate (system)' or 'zlib'."""
    if getattr(_local, "force_zlib", False):
        return "zlib"
    return _BACKEND.name


@contextlib.contextmanager
def _force_zlib() -> Iterator[None]:
    """Testing aid: use the zlib streaming path in this Python thread."""
    old = getattr(_local, "force_zlib", False)
    _local.force_zlib = True
    try:
        yield
    finally:
        _local.force_zlib = old


def _libdeflate_addrs() -> Optional[Tuple[int, int, int]]:
    if getattr(_local, "force_zlib", False):
        return None
    return _BACKEND.addrs


# libdeflate inflates a whole file in one call, which cannot stop for Ctrl-C.
# Outputs up to this size (tens of ms of work) are inflated inline, larger
# ones on a helper thread while the caller waits where Ctrl-C reaches it.
_INLINE_INFLATE = 1 << 26


def _inflate_into(comp: np.ndarray, region: np.ndarray, hlen: int) -> None:
    """_idx.gz_inflate_into, interruptible by Ctrl-C whichever inflater runs
    (zlib checks for signals between its chunks by itself)."""
    addrs = _libdeflate_addrs()
    if addrs is None or len(region) <= _INLINE_INFLATE:
        _idx.gz_inflate_into(comp, region, hlen, addrs)
    else:
        _run_interruptibly(_idx.gz_inflate_into, comp, region, hlen, addrs, False)


def _run_interruptibly(fn: Any, *args: Any) -> None:
    """fn(*args) (a GIL-free call that cannot poll) on a helper thread; the
    caller waits in Thread.join, which Ctrl-C interrupts.  After an interrupt
    the helper runs to its end in the background, holding the only
    references to its buffers, which nobody sees again."""
    failed: list = []

    def work() -> None:
        try:
            fn(*args)
        except BaseException as exc:  # handed to the caller below
            failed.append(exc)

    helper = threading.Thread(target=work, name="fastdigits-inflate", daemon=True)
    helper.start()
    helper.join()
    if failed:
        raise failed[0]
