"""IDX input sources: paths and binary file objects, regular files and
streams (pipes, FIFOs, devices), read in interruptible pieces."""

from __future__ import annotations

import io
import os
import stat
from typing import Any, Optional, Tuple

import numpy as np

from ._idx import IDXError
from ._idx_format import _ALIGN, Source


# Reads and writes go in pieces of at most this many bytes: one read(2) of
# gigabytes cannot be interrupted, and Python checks for Ctrl-C between
# pieces.  It is also the most a stream (pipe, FIFO, device) is trusted with
# before its data arrives: a header's promise alone never allocates more.
_PIECE = 1 << 26


class _Input:
    """A path or binary file object, read from its current position.

    Regular files (and seekable objects without a file descriptor, such as
    BytesIO) have a known size; anything else (pipes, FIFOs, /dev/stdin,
    character devices, sockets, non-seekable objects) is read as a stream of
    unknown length (``size`` None) until end of file.
    """

    def __init__(self, source: Source) -> None:
        self.close_after = False
        if isinstance(source, (str, bytes, os.PathLike)):
            self.name = os.fsdecode(source)
            self.f = open(source, "rb", buffering=0)
            self.close_after = True
        elif hasattr(source, "read"):
            self.f = source
            self.name = str(getattr(source, "name", None) or type(source).__name__)
        else:
            raise TypeError(
                "source must be a path (str or os.PathLike) or a binary "
                "file object, got %s" % type(source).__name__
            )
        self.start = 0
        self.size: Optional[int] = None  # bytes from start to end of file
        self.regular = False  # a regular file on disk (mmap-able)
        self.seekable = False
        try:
            st = os.fstat(self.f.fileno())
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            st = None  # no file descriptor (BytesIO, custom objects)
        try:
            if st is not None and not stat.S_ISREG(st.st_mode):
                pass  # a stream: fstat's size (0 for pipes) means nothing
            elif self.close_after:
                self.size = st.st_size
                self.regular = self.seekable = True
            elif self.f.seekable():
                self.start = self.f.tell()
                end = self.f.seek(0, io.SEEK_END)
                self.f.seek(self.start)
                self.size = end - self.start
                self.regular = st is not None
                self.seekable = True
        except (OSError, AttributeError, ValueError):
            self.size = None
        self.pos = 0  # bytes consumed so far

    def __enter__(self) -> "_Input":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.close_after:
            self.f.close()

    def rewind(self) -> None:
        """Put a caller's seekable file object back where it was."""
        if not self.close_after and self.seekable:
            self.f.seek(self.start)

    def error(self, exc: IDXError) -> IDXError:
        return IDXError("%s: %s" % (self.name, exc), getattr(exc, "offset", -1))

    def read(self, n: int) -> bytes:
        """Up to n more bytes (fewer only at end of file)."""
        parts = []
        while n > 0:
            chunk = self.f.read(min(n, _PIECE))
            if not chunk:
                break
            if not isinstance(chunk, (bytes, bytearray)):
                raise TypeError(
                    "source must be a binary file object (read() returned "
                    "%s)" % type(chunk).__name__
                )
            parts.append(chunk)
            n -= len(chunk)
            self.pos += len(chunk)
        return b"".join(parts)

    def readinto(self, buf: np.ndarray) -> int:
        """Fill the uint8 array buf from the current position; bytes read."""
        mv = memoryview(buf).cast("B")
        got = 0
        readinto = getattr(self.f, "readinto", None)
        while got < len(mv):
            want = min(len(mv) - got, _PIECE)
            if readinto is not None:
                n = readinto(mv[got : got + want])
            else:  # a minimal file-like object with read() only
                chunk = self.f.read(want)
                if chunk and not isinstance(chunk, (bytes, bytearray)):
                    raise TypeError(
                        "source must be a binary file object (read() "
                        "returned %s)" % type(chunk).__name__
                    )
                n = len(chunk) if chunk else 0
                mv[got : got + n] = chunk
            if not n:
                break
            got += n
        self.pos += got
        return got

    def read_array(self, nbytes: int) -> np.ndarray:
        """The next nbytes bytes (fewer at end of file) as a 64-byte aligned
        uint8 array.  From a stream, memory grows with the data that actually
        arrives, not with what a header promised."""
        if self.size is not None or nbytes <= _PIECE:
            buf, _ = _aligned_empty(nbytes, 0)
            return buf[: self.readinto(buf)]
        parts, got = [], 0
        while got < nbytes:
            part = np.empty(min(nbytes - got, _PIECE), np.uint8)
            n = self.readinto(part)
            parts.append(part[:n])
            got += n
            if n < len(part):
                break
        buf, _ = _aligned_empty(got, 0)
        if parts:
            np.concatenate(parts, out=buf)
        return buf

    def rest(self) -> np.ndarray:
        """Everything from the current position to the end of a stream."""
        return self.read_array(1 << 62)


def _aligned_empty(nbytes: int, lead: int) -> Tuple[np.ndarray, int]:
    """A uint8 buffer of lead + nbytes bytes where byte `lead` is 64-aligned."""
    raw = np.empty(lead + nbytes + _ALIGN, np.uint8)
    off = (-(raw.ctypes.data + lead)) % _ALIGN
    return raw[off : off + lead + nbytes], off
