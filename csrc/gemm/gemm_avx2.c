/* AVX2+FMA GEMM micro-kernels (this file is compiled with -mavx2 -mfma). */
#include "gemm/gemm.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "act/act.h"
#include "act/act_simd.h"
#include "simd/simd_avx2.h"

/* float32: 6 x 16 tile = 12 ymm accumulators */
#define T float
#define SFX f32
#define VP(name) v8f_##name
#define MR FD_GEMM_AVX2_F32_MR
#define NV (FD_GEMM_AVX2_F32_NR / 8)
#define NAME fd_ukr_avx2_f32
#define ACT_ROWS fd_act_rows_f32_avx2
#include "gemm/gemm_simd_impl.h"
#undef T
#undef SFX
#undef VP
#undef MR
#undef NV
#undef NAME
#undef ACT_ROWS

/* float64: 6 x 8 tile = 12 ymm accumulators */
#define T double
#define SFX f64
#define VP(name) v4d_##name
#define MR FD_GEMM_AVX2_F64_MR
#define NV (FD_GEMM_AVX2_F64_NR / 4)
#define NAME fd_ukr_avx2_f64
#define ACT_ROWS fd_act_rows_f64_avx2
#include "gemm/gemm_simd_impl.h"
#undef T
#undef SFX
#undef VP
#undef MR
#undef NV
#undef NAME
#undef ACT_ROWS

#endif /* FD_HAVE_X86_SIMD */

#if FD_HAVE_X86_SIMD
/* Transposing pack for float panels whose lanes are contiguous along k
 * (s_p == 1: W^T, row-major A): dst[p * W + l] = src[l * s_l + p] for
 * l < valid.  8 x 8 blocks go through an in-register transpose; the ragged
 * rest is copied element by element.  Padding lanes are left to the caller. */
void fd_tpack_avx2_f32(int64_t kc, int W, int64_t valid, const float *src, int64_t s_l, float *dst)
{
    int64_t l0, p0, l, p;
    int64_t lfull = valid & ~(int64_t)7, pfull = kc & ~(int64_t)7;
    for (l0 = 0; l0 < lfull; l0 += 8) {
        const float *s = src + l0 * s_l;
        for (p0 = 0; p0 < pfull; p0 += 8) {
            __m256 r0 = _mm256_loadu_ps(s + 0 * s_l + p0);
            __m256 r1 = _mm256_loadu_ps(s + 1 * s_l + p0);
            __m256 r2 = _mm256_loadu_ps(s + 2 * s_l + p0);
            __m256 r3 = _mm256_loadu_ps(s + 3 * s_l + p0);
            __m256 r4 = _mm256_loadu_ps(s + 4 * s_l + p0);
            __m256 r5 = _mm256_loadu_ps(s + 5 * s_l + p0);
            __m256 r6 = _mm256_loadu_ps(s + 6 * s_l + p0);
            __m256 r7 = _mm256_loadu_ps(s + 7 * s_l + p0);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *d = dst + p0 * W + l0;
            _mm256_storeu_ps(d + 0 * W, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(d + 1 * W, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(d + 2 * W, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(d + 3 * W, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(d + 4 * W, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(d + 5 * W, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(d + 6 * W, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(d + 7 * W, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
        for (l = l0; l < l0 + 8; l++)
            for (p = pfull; p < kc; p++) dst[p * W + l] = src[l * s_l + p];
    }
    for (l = lfull; l < valid; l++)
        for (p = 0; p < kc; p++) dst[p * W + l] = src[l * s_l + p];
}
#endif
