/* Fused pixel normalisation: uint8 -> float, out = (in * scale - mean) / std,
 * in one pass (SIMD + OpenMP).  Implemented in normalize.c (dispatch and
 * portable path) and normalize_avx2.c / normalize_avx512.c. */
#ifndef FD_NORMALIZE_H
#define FD_NORMALIZE_H

#include "common/fd_common.h"

/* out[i] = (in[i] * scale - mean) / std for i < n.  in and out must not
 * overlap.  Never fails. */
void fd_normalize_u8_f32(fd_ctx ctx, int64_t n, const uint8_t *in, float *out, double scale,
                         double mean, double std);
void fd_normalize_u8_f64(fd_ctx ctx, int64_t n, const uint8_t *in, double *out, double scale,
                         double mean, double std);

/* Store policy for fd_normalize_u8_*_ex. */
enum {
    FD_NORM_STORE_AUTO = 0, /* non-temporal stores for large outputs
                                 whose pages are already in memory (what the
                                 functions above do) */
    FD_NORM_STORE_CACHED = 1, /* regular stores: best for a freshly allocated
                                 `out`, whose pages the OS zeroes on first
                                 touch, leaving those lines in cache */
    FD_NORM_STORE_STREAM = 2 /* non-temporal stores whatever the size */
};

/* As above with an explicit store policy (one of FD_NORM_STORE_*). */
void fd_normalize_u8_f32_ex(fd_ctx ctx, int64_t n, const uint8_t *in, float *out, double scale,
                            double mean, double std, int store);
void fd_normalize_u8_f64_ex(fd_ctx ctx, int64_t n, const uint8_t *in, double *out, double scale,
                            double mean, double std, int store);

/* The same, in place: the n input bytes sit at the END of the output buffer
 * (bytes [n*(sizeof(T)-1), n*sizeof(T)) of `buf`), as when gzip data is
 * inflated straight into the tail of the result array.  Processes the buffer
 * in stages whose writes never reach input bytes not yet read, each stage in
 * parallel.  The first stage uses FD_NORM_STORE_AUTO (a buffer freshly
 * allocated for the decoder gets regular stores), later ones regular stores. */
void fd_normalize_u8_f32_tail_inplace(fd_ctx ctx, int64_t n, float *buf, double scale, double mean,
                                      double std);
void fd_normalize_u8_f64_tail_inplace(fd_ctx ctx, int64_t n, double *buf, double scale, double mean,
                                      double std);

/* fd_normalize_u8_*_ex and fd_normalize_u8_*_tail_inplace for both dtypes
 * (dtype FD_F32 / FD_F64, common/fd_common.h; out and buf point to float or
 * double): the binding's one entry each.  FD_OK, or FD_EINVAL for an
 * unknown dtype (nothing written). */
int fd_normalize_u8_ex(fd_ctx ctx, int dtype, int64_t n, const uint8_t *in, void *out, double scale,
                       double mean, double std, int store);
int fd_normalize_u8_tail_inplace(fd_ctx ctx, int dtype, int64_t n, void *buf, double scale,
                                 double mean, double std);

#endif
