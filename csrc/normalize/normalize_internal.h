/* Private to normalize*.c: the per-ISA range kernels behind fd_normalize_*.
 *
 * A kernel computes out[i] = (T)in[i] * a + c for i < n as an IEEE multiply
 * then add in T (never fused: every file is built with FP contraction off),
 * so all paths give bit-identical results.  With `stream` set it writes the
 * 64-byte aligned body with non-temporal stores (for outputs far larger than
 * the cache) and issues an sfence before returning. */
#ifndef FD_NORMALIZE_KERNELS_H
#define FD_NORMALIZE_KERNELS_H

#include "common/fd_common.h"

/* IEEE mul-then-add everywhere: stop compilers fusing them into an FMA, so
 * the portable, AVX2 and AVX-512 paths agree bit for bit. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

typedef void (*fd_norm_kern_f32)(int64_t n, const uint8_t *FD_RESTRICT in, float *FD_RESTRICT out,
                                 float a, float c, int stream);
typedef void (*fd_norm_kern_f64)(int64_t n, const uint8_t *FD_RESTRICT in, double *FD_RESTRICT out,
                                 double a, double c, int stream);

#if FD_HAVE_X86_SIMD
void fd_norm_kern_u8_f32_avx2(int64_t n, const uint8_t *FD_RESTRICT in, float *FD_RESTRICT out,
                              float a, float c, int stream);
void fd_norm_kern_u8_f64_avx2(int64_t n, const uint8_t *FD_RESTRICT in, double *FD_RESTRICT out,
                              double a, double c, int stream);
void fd_norm_kern_u8_f32_avx512(int64_t n, const uint8_t *FD_RESTRICT in, float *FD_RESTRICT out,
                                float a, float c, int stream);
void fd_norm_kern_u8_f64_avx512(int64_t n, const uint8_t *FD_RESTRICT in, double *FD_RESTRICT out,
                                double a, double c, int stream);
#endif

#endif
