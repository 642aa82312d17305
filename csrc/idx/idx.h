/* IDX decoding: header parsing and validation, gzip inflate straight into the
 * result buffer (libdeflate when the caller hands in its functions, zlib
 * streaming otherwise), and in-place big-endian -> native byte swap.
 *
 * No I/O and no allocation of results here: the caller owns every buffer, so
 * the Python layer decides where the data lands (64-byte aligned arrays, the
 * tail of a float buffer for decode+normalise, a memory map, ...). */
#ifndef FD_IDX_H
#define FD_IDX_H

#include "common/fd_common.h"

#define FD_IDX_MAX_RANK 255
#define FD_IDX_MAX_HEADER (4 + 4 * FD_IDX_MAX_RANK)
/* Largest expansion deflate can achieve is about 1032:1; any gzip file whose
 * header claims more data than that (plus slack) is rejected before any
 * allocation. */
#define FD_GZ_MAX_RATIO 1032

/* Status codes (FD_OK, FD_ENOMEM from fd_common.h). */
enum {
    FD_IDX_ERR = -10, /* malformed input; fd_idx_error says what/where */
    FD_IDX_STOPPED = -11, /* the poll callback asked to stop (e.g. Ctrl-C) */
    FD_IDX_NEED_MORE = 1 /* header incomplete in a partial buffer: read more */
};

/* Long loops (inflate, byte swap, normalise) stop between chunks of a few
 * MB to call fn(arg), at most every FD_IDX_POLL_SEC seconds; nonzero means
 * stop now (the Python layer checks for signals there, so Ctrl-C is
 * honoured while the GIL is released).  A NULL fd_idx_poll or fn: never.
 * `last` is the caller's scratch space, zero-initialise it. */
typedef struct {
    int (*fn)(void *arg);
    void *arg;
    double last;
} fd_idx_poll;
#define FD_IDX_POLL_SEC 0.05

/* Nonzero when the poll callback says stop (called now if it is due). */
int fd_idx_poll_stop(fd_idx_poll *poll);
/* Seconds on a clock for measuring intervals (-1 if unavailable). */
double fd_idx_now(void);

typedef struct {
    int64_t offset; /* byte offset the problem was found at (-1: none) */
    char msg[320]; /* human-readable message, names the problem and offset */
} fd_idx_error;

typedef struct {
    int type_code; /* 0x08 .. 0x0E */
    int elsize; /* bytes per element */
    int rank; /* 1 .. 255 */
    int64_t dims[FD_IDX_MAX_RANK];
    int64_t header_len; /* 4 + 4 * rank */
    int64_t count; /* product of dims */
    int64_t data_nbytes; /* count * elsize */
} fd_idx_header;

/* Parse an IDX header from the first n bytes of the (decompressed) stream.
 * stream_len: total length of the decompressed stream when known (raw
 *   files: the file size; checks the data length exactly), -1 when unknown.
 * max_total: largest stream the source can possibly hold (gzip: compressed
 *   size * FD_GZ_MAX_RATIO), -1 for no limit; checked before anything is
 *   allocated.
 * Returns FD_OK, FD_IDX_NEED_MORE (only when n < header size and the stream
 * may be longer than n), or FD_IDX_ERR. */
int fd_idx_parse_header(const uint8_t *buf, size_t n, int64_t stream_len, int64_t max_total,
                        fd_idx_header *h, fd_idx_error *err);

/* libdeflate entry points, resolved by the caller (ctypes) from the deflate
 * wheel or the system library; NULL members mean "not available". */
typedef struct {
    void *(*alloc_decompressor)(void);
    int (*gzip_decompress_ex)(void *d, const void *in, size_t in_nbytes, void *out,
                              size_t out_nbytes_avail, size_t *actual_in_nbytes_ret,
                              size_t *actual_out_nbytes_ret);
    void (*free_decompressor)(void *d);
} fd_libdeflate;

/* Inflate the first (at most) cap bytes of a gzip stream (all members) with
 * zlib, for header peeking.  in_complete: 1 when in[0..n) is the whole file
 * (running out of input is then a truncation error), 0 when more may follow
 * (FD_IDX_NEED_MORE).  *got receives the bytes produced (< cap only when the
 * stream ended early). */
int fd_gz_peek(const uint8_t *in, size_t n, int in_complete, uint8_t *out, size_t cap, size_t *got,
               fd_idx_error *err);

/* Inflate the complete gzip file in[0..n) into out, which must receive
 * exactly `expect` bytes (header_len of them the IDX header, for messages).
 * Uses libdeflate when lib is non-NULL and complete (one shot straight into
 * out, all members; it cannot poll), zlib streaming (polled) otherwise or
 * when the ISIZE trailer does not match `expect` (multi-member or a length
 * error).  Any libdeflate failure re-runs zlib to diagnose and report the
 * byte offset.  *used_libdeflate (may be NULL) tells which path produced
 * the data.  FD_IDX_STOPPED when the poll said stop (out is then partly
 * written). */
int fd_gz_inflate_exact(const fd_libdeflate *lib, const uint8_t *in, size_t n, uint8_t *out,
                        size_t expect, int64_t header_len, int *used_libdeflate, fd_idx_poll *poll,
                        fd_idx_error *err);

/* Big-endian elements of size elsize (1, 2, 4, 8) -> native order, in place,
 * SIMD (ctx.isa) and OpenMP (ctx.nthreads).  No-op on big-endian hosts and
 * for elsize 1. */
void fd_idx_bswap_inplace(fd_ctx ctx, void *data, int64_t count, int elsize);
/* The same in slices, polling between them: FD_OK or FD_IDX_STOPPED. */
int fd_idx_bswap_polled(fd_ctx ctx, void *data, int64_t count, int elsize, fd_idx_poll *poll);

/* SIMD kernels (idx_avx2.c / idx_avx512.c, built with x86 SIMD only): swap
 * the first n elements and return how many were done (a multiple of the
 * vector width; the caller finishes the tail). */
#if FD_HAVE_X86_SIMD
int64_t fd_idx_bswap_avx2(uint8_t *p, int64_t n, int elsize);
int64_t fd_idx_bswap_avx512(uint8_t *p, int64_t n, int elsize);
#endif

#endif
