# distutils: libraries = z
"""Cython bindings for decode + normalise (csrc/idx/idx_normalize.c, csrc/normalize/normalize.h).

The caller (fastdigits/idx.py) validates the file header and the output
buffer; this module checks buffer sizes and releases the GIL.
"""
from libc.stdint cimport int64_t, uint8_t, uintptr_t

from fastdigits._common cimport fd_ctx, FD_F32, FD_F64
from fastdigits._binding cimport current_ctx
from fastdigits._idx cimport (
    FD_IDX_STOPPED,
    fd_gz_inflate_exact,
    fd_idx_error,
    fd_idx_poll,
    fd_libdeflate,
    init_poll,
    raise_error,
    raise_stopped,
)

cdef extern from "idx/idx_normalize.h" nogil:
    # one entry each for both dtypes: dtype (FD_F32 / FD_F64) picks the instance
    int fd_gz_normalize(fd_ctx ctx, int dtype, const uint8_t *inp, size_t n,
                        int64_t header_len, int64_t count, void *out,
                        double scale, double mean, double std,
                        fd_idx_poll *poll, fd_idx_error *err)
    int fd_normalize_tail_polled(fd_ctx ctx, int dtype, int64_t n, void *buf, double scale,
                                 double mean, double std, fd_idx_poll *poll)


cdef int _check(uint8_t[::1] out, int64_t count, int elsize) except -1:
    """The dtype code (FD_F32 / FD_F64) of elsize, once out's size is checked."""
    if elsize not in (4, 8):
        raise ValueError("elsize must be 4 or 8, got %d" % elsize)
    if count < 0 or out.shape[0] != count * elsize:
        raise ValueError("out holds %d bytes, need %d floats of %d bytes"
                         % (out.shape[0], count, elsize))
    return FD_F32 if elsize == 4 else FD_F64


def normalize_tail(uint8_t[::1] out, int64_t count, int elsize, double scale,
                   double mean, double std):
    """out's last `count` bytes are pixels: normalise them into all of out."""
    cdef fd_ctx ctx = current_ctx()
    cdef fd_idx_poll poll
    cdef int rc
    cdef int dt = _check(out, count, elsize)
    if count == 0:
        return
    init_poll(&poll)
    with nogil:
        rc = fd_normalize_tail_polled(ctx, dt, count, &out[0], scale, mean, std, &poll)
    if rc == FD_IDX_STOPPED:
        raise_stopped()


def gz_normalize_into(const uint8_t[::1] data, uint8_t[::1] out, int64_t header_len,
                      int64_t count, int elsize, double scale, double mean,
                      double std, object libdeflate=None):
    """Inflate the uint8 IDX gzip file `data` and normalise into `out`.

    libdeflate (function addresses, or None): inflate into the tail of out,
    then normalise in place; zlib: chunk by chunk.  Returns the path taken:
    'libdeflate-tail' or 'zlib-chunked'.
    """
    cdef fd_ctx ctx = current_ctx()
    cdef fd_libdeflate lib
    cdef fd_idx_poll poll
    cdef fd_idx_error err
    cdef int rc = 0, used = 0
    cdef size_t n = data.shape[0]
    cdef const uint8_t *p = &data[0] if n > 0 else NULL
    cdef uint8_t *o
    cdef uint8_t dummy[8]
    cdef int64_t lead
    cdef int dt = _check(out, count, elsize)
    o = &out[0] if count > 0 else dummy
    lead = count * (elsize - 1) - header_len
    init_poll(&poll)
    if libdeflate is not None and lead >= 0:
        a, g, f = libdeflate
        lib.alloc_decompressor = <void *(*)() noexcept nogil><uintptr_t>a
        lib.gzip_decompress_ex = <int (*)(void *, const void *, size_t, void *, size_t, size_t *, size_t *) noexcept nogil><uintptr_t>g
        lib.free_decompressor = <void (*)(void *) noexcept nogil><uintptr_t>f
        with nogil:
            rc = fd_gz_inflate_exact(&lib, p, n, o + lead, header_len + count,
                                     header_len, &used, &poll, &err)
            if rc == 0:
                rc = fd_normalize_tail_polled(ctx, dt, count, o, scale, mean, std, &poll)
        if rc != 0:
            raise_error(rc, &err)
        return "libdeflate-tail"
    with nogil:
        rc = fd_gz_normalize(ctx, dt, p, n, header_len, count, o, scale, mean, std, &poll,
                             &err)
    if rc != 0:
        raise_error(rc, &err)
    return "zlib-chunked"
