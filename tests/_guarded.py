"""Arrays placed flush against an inaccessible (PROT_NONE) page, so a
kernel reading or writing one element past either end crashes the test
instead of silently touching a neighbour.  POSIX only; elsewhere plain
arrays are returned (the tests still check values)."""

import ctypes
import ctypes.util
import mmap
import sys

import numpy as np

_PROT_NONE = 0
_keep = []  # the mappings must outlive the arrays viewing them


def _mprotect():
    if sys.platform.startswith("win"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fn = libc.mprotect
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_MPROTECT = _mprotect()


def guarded_copy(a, where="end"):
    """A copy of `a` (C-contiguous) that ends ("end") or starts ("start")
    exactly at a page boundary next to a PROT_NONE page."""
    a = np.ascontiguousarray(a)
    if _MPROTECT is None or a.nbytes == 0:
        return a.copy()
    page = mmap.PAGESIZE
    data_pages = -(-a.nbytes // page)
    total = (data_pages + 2) * page
    buf = mmap.mmap(-1, total, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    for guard in (base, base + total - page):
        if _MPROTECT(guard, page, _PROT_NONE) != 0:
            raise OSError(ctypes.get_errno(), "mprotect failed")
    offset = page if where == "start" else total - page - a.nbytes
    out = np.frombuffer(buf, dtype=a.dtype, count=a.size, offset=offset).reshape(a.shape)
    out[...] = a
    _keep.append(buf)
    return out
