/* AVX2 GEMM micro-kernels (this file is compiled with -mavx2 -mfma flags). */
#include "gemm/gemm.h"

#if FD_HAVE_X86_SIMD
#include "act/act.h"
#include "act/act_simd.h"
#include "common/fd_omp.h"
#include "simd/simd_avx2.h"

/* The MR x NR tile of each dtype is in gemm_blocking.h. */
#define FD_TEMPLATE "gemm/gemm_simd_impl.h"
#include "common/fd_template.h"

/* Transposing pack for float panels whose lanes are contiguous along k
 * (s_p == 1: W^T, row-major A): dst[p * W + l] = src[l * s_l + p] for
 * l < valid.  8 x 8 blocks go through an in-register transpose; the ragged
 * rest is copied element by element.  Padding lanes are left to the caller. */
void fd_tpack_f32_avx2(int64_t kc, int W, int64_t valid, const float *src, int64_t s_l, float *dst)
{
    int64_t l0, p0, l, p;
    int64_t lfull = valid & ~(int64_t)7, pfull = kc & ~(int64_t)7;
    int i;
    for (l0 = 0; l0 < lfull; l0 += 8) {
        const float *s = src + l0 * s_l;
        for (p0 = 0; p0 < pfull; p0 += 8) {
            __m256 r[8];
            float *d = dst + p0 * W + l0;
#pragma GCC unroll 8
            for (i = 0; i < 8; i++) r[i] = v8f_load(s + i * s_l + p0);
            v8f_transpose8(r);
#pragma GCC unroll 8
            for (i = 0; i < 8; i++) v8f_store(d + i * W, r[i]);
        }
        for (l = l0; l < l0 + 8; l++)
            for (p = pfull; p < kc; p++) dst[p * W + l] = src[l * s_l + p];
    }
    for (l = lfull; l < valid; l++)
        for (p = 0; p < kc; p++) dst[p * W + l] = src[l * s_l + p];
}

#else
FD_NO_SIMD_UNIT;
#endif
