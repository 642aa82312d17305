/* Decode a gzip uint8 IDX stream straight into normalised floats with zlib,
 * chunk by chunk (never holding the whole uint8 array).  With 2+ threads the
 * next chunk is inflated while the previous one is normalised.  The
 * libdeflate path needs no code here: fd_gz_inflate_exact into the tail of
 * the output buffer, then fd_normalize_u8_*_tail_inplace. */
#ifndef FD_IDX_NORMALIZE_H
#define FD_IDX_NORMALIZE_H

#include "idx/idx.h"

/* in[0..n): the whole gzip file; header_len + count bytes decompressed
 * (checked exactly); out: count floats = (byte * scale - mean) / std.
 * poll (may be NULL) is called between chunks: FD_IDX_STOPPED if it says
 * stop. */
int fd_gz_normalize_f32(fd_ctx ctx, const uint8_t *in, size_t n, int64_t header_len, int64_t count,
                        float *out, double scale, double mean, double std, fd_idx_poll *poll,
                        fd_idx_error *err);
int fd_gz_normalize_f64(fd_ctx ctx, const uint8_t *in, size_t n, int64_t header_len, int64_t count,
                        double *out, double scale, double mean, double std, fd_idx_poll *poll,
                        fd_idx_error *err);

/* fd_normalize_u8_*_tail_inplace (normalize.h) in slices, polling between
 * them; the same results.  Slices start at FD_NORM_POLL_SLICE elements and
 * double (up to FD_NORM_POLL_SLICE_MAX) or halve to take about
 * FD_IDX_POLL_SEC each: each ends in a barrier, which costs milliseconds on
 * a busy machine.  Up to FD_NORM_POLL_MIN elements (a fraction of a second)
 * in one call.  FD_OK or FD_IDX_STOPPED (buf is then partly normalised). */
#define FD_NORM_POLL_SLICE ((int64_t)1 << 21)
#define FD_NORM_POLL_SLICE_MAX ((int64_t)1 << 23)
#define FD_NORM_POLL_MIN ((int64_t)1 << 26)
int fd_normalize_tail_polled_f32(fd_ctx ctx, int64_t n, float *buf, double scale, double mean,
                                 double std, fd_idx_poll *poll);
int fd_normalize_tail_polled_f64(fd_ctx ctx, int64_t n, double *buf, double scale, double mean,
                                 double std, fd_idx_poll *poll);

/* fd_gz_normalize_* and fd_normalize_tail_polled_* for both dtypes (dtype
 * FD_F32 / FD_F64, common/fd_common.h; out and buf point to float or
 * double): the binding's one entry each.  FD_EINVAL (nothing read or
 * written) for an unknown dtype. */
int fd_gz_normalize(fd_ctx ctx, int dtype, const uint8_t *in, size_t n, int64_t header_len,
                    int64_t count, void *out, double scale, double mean, double std,
                    fd_idx_poll *poll, fd_idx_error *err);
int fd_normalize_tail_polled(fd_ctx ctx, int dtype, int64_t n, void *buf, double scale, double mean,
                             double std, fd_idx_poll *poll);

#endif
