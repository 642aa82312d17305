# distutils: libraries = z
"""Cython bindings for the IDX decoder in csrc/idx/idx.c.

Only validates arguments, converts buffers and releases the GIL; the file
handling and array allocation live in fastdigits/idx.py.
"""
from libc.stdint cimport int64_t, uint8_t, uintptr_t

from fastdigits._common cimport fd_ctx
from fastdigits._binding cimport current_ctx

cdef extern from "idx/idx.h" nogil:
    enum:
        FD_IDX_ERR
        FD_IDX_NEED_MORE
        FD_IDX_MAX_RANK
        FD_IDX_MAX_HEADER
        FD_GZ_MAX_RATIO
    ctypedef struct fd_idx_header:
        int type_code
        int elsize
        int rank
        int64_t dims[255]
        int64_t header_len
        int64_t count
        int64_t data_nbytes
    int fd_idx_parse_header(const uint8_t *buf, size_t n, int64_t stream_len,
                            int64_t max_total, fd_idx_header *h,
                            fd_idx_error *err)
    int fd_gz_peek(const uint8_t *inp, size_t n, int in_complete, uint8_t *out,
                   size_t cap, size_t *got, fd_idx_error *err)
    int fd_idx_bswap_polled(fd_ctx ctx, void *data, int64_t count, int elsize,
                            fd_idx_poll *poll)


class IDXError(ValueError):
    """A malformed, truncated or corrupt IDX (or gzip) file.

    The message names the problem and the byte offset it was found at;
    ``offset`` holds that offset (-1 when not applicable).
    """

    def __init__(self, message, offset=-1):
        super().__init__(message)
        self.offset = offset


IDXError.__module__ = "fastdigits"

MAX_HEADER = FD_IDX_MAX_HEADER
GZ_MAX_RATIO = FD_GZ_MAX_RATIO


cdef int raise_error(int rc, fd_idx_error *err) except -1:
    if rc == FD_IDX_STOPPED:  # Ctrl-C (or another signal handler raised)
        return raise_stopped()
    if rc == -1:  # FD_ENOMEM
        raise MemoryError("fastdigits.idx: out of memory in the decoder")
    raise IDXError(err.msg.decode("utf-8", "replace"), err.offset)


def parse_header(const uint8_t[::1] buf, int64_t stream_len=-1,
                 int64_t max_total=-1):
    """(type_code, elsize, dims, header_len, count) or None if more bytes are needed."""
    cdef fd_idx_header h
    cdef fd_idx_error err
    cdef int rc
    cdef size_t n = buf.shape[0]
    cdef const uint8_t *p = &buf[0] if n > 0 else NULL
    with nogil:
        rc = fd_idx_parse_header(p, n, stream_len, max_total, &h, &err)
    if rc == FD_IDX_NEED_MORE:
        return None
    if rc != 0:
        raise_error(rc, &err)
    dims = tuple(h.dims[i] for i in range(h.rank))
    return h.type_code, h.elsize, dims, h.header_len, h.count


def gz_peek(const uint8_t[::1] data, bint in_complete, size_t cap):
    """Inflate up to cap bytes from the start of a gzip stream.

    Returns (bytes, need_more): need_more is True when data was partial and
    ran out before cap bytes (read more and call again).
    """
    cdef fd_idx_error err
    cdef int rc
    cdef size_t got = 0
    cdef size_t n = data.shape[0]
    cdef bytearray out = bytearray(cap)
    cdef uint8_t *o = <uint8_t *><char *>out if cap > 0 else NULL
    cdef const uint8_t *p = &data[0] if n > 0 else NULL
    with nogil:
        rc = fd_gz_peek(p, n, in_complete, o, cap, &got, &err)
    if rc == FD_IDX_NEED_MORE:
        return bytes(out[:got]), True
    if rc != 0:
        raise_error(rc, &err)
    return bytes(out[:got]), False


def gz_inflate_into(const uint8_t[::1] data, uint8_t[::1] out, int64_t header_len,
                    object libdeflate=None, bint poll_signals=True):
    """Inflate the whole gzip file `data` into `out` (exactly len(out) bytes).

    libdeflate: None or (alloc, gzip_decompress_ex, free) function addresses.
    poll_signals: check for signals between zlib chunks (pointless off the
    main thread).  Returns True when libdeflate produced the data, False for
    zlib.
    """
    cdef fd_libdeflate lib
    cdef fd_libdeflate *libp = NULL
    cdef fd_idx_error err
    cdef fd_idx_poll poll
    cdef int rc, used = 0
    cdef size_t n = data.shape[0]
    cdef size_t expect = out.shape[0]
    cdef const uint8_t *p = &data[0] if n > 0 else NULL
    cdef uint8_t *o = &out[0] if expect > 0 else NULL
    cdef uint8_t dummy[1]
    if libdeflate is not None:
        a, g, f = libdeflate
        lib.alloc_decompressor = <void *(*)() noexcept nogil><uintptr_t>a
        lib.gzip_decompress_ex = <int (*)(void *, const void *, size_t, void *, size_t, size_t *, size_t *) noexcept nogil><uintptr_t>g
        lib.free_decompressor = <void (*)(void *) noexcept nogil><uintptr_t>f
        libp = &lib
    if o == NULL:
        o = dummy
    init_poll(&poll)
    with nogil:
        rc = fd_gz_inflate_exact(libp, p, n, o, expect, header_len, &used,
                                 &poll if poll_signals else NULL, &err)
    if rc != 0:
        raise_error(rc, &err)
    return bool(used)


def bswap_inplace(uint8_t[::1] data, int elsize):
    """Swap big-endian elements of `elsize` bytes to native order, in place."""
    cdef fd_ctx ctx = current_ctx()
    cdef fd_idx_poll poll
    cdef int64_t count
    cdef int rc
    if elsize not in (1, 2, 4, 8):
        raise ValueError("elsize must be 1, 2, 4 or 8, got %d" % elsize)
    if data.shape[0] % elsize:
        raise ValueError("data length %d is not a multiple of elsize %d"
                         % (data.shape[0], elsize))
    count = data.shape[0] // elsize
    if count == 0 or elsize == 1:
        return
    init_poll(&poll)
    with nogil:
        rc = fd_idx_bswap_polled(ctx, &data[0], count, elsize, &poll)
    if rc == FD_IDX_STOPPED:
        raise_stopped()
