/* Fused pixel normalisation: uint8 -> float, out = (in * scale - mean) / std,
 * in one pass (SIMD + OpenMP).  Implemented in normalize.c (dispatch and
 * portable path) and normalize_avx2.c / normalize_avx512.c. */
#ifndef FD_NORMALIZE_H
#define FD_NORMALIZE_H

#include "fd_common.h"

/* out[i] = (in[i] * scale - mean) / std for i < n.  in and out must not
 * overlap.  Never fails. */
void fd_normalize_u8_f32(fd_ctx ctx, int64_t n, const uint8_t *in, float *out,
                         double scale, double mean, double std);
void fd_normalize_u8_f64(fd_ctx ctx, int64_t n, const uint8_t *in, double *out,
                         double scale, double mean, double std);

/* The same, in place: the n input bytes sit at the END of the output buffer
 * (bytes [n*(sizeof(T)-1), n*sizeof(T)) of `buf`), as when gzip data is
 * inflated straight into the tail of the result array.  Processes the buffer
 * in stages whose writes never reach input bytes not yet read, each stage in
 * parallel. */
void fd_normalize_u8_f32_tail_inplace(fd_ctx ctx, int64_t n, float *buf,
                                      double scale, double mean, double std);
void fd_normalize_u8_f64_tail_inplace(fd_ctx ctx, int64_t n, double *buf,
                                      double scale, double mean, double std);

#endif
