/* AVX-512 GEMM micro-kernels (this file is compiled with AVX-512 flags). */
#include "gemm/gemm.h"

#if FD_HAVE_X86_SIMD
#include "act/act.h"
#include "act/act_simd.h"
#include "common/fd_fpenv.h"
#include "common/fd_omp.h"
#include "simd/simd_avx512.h"

/* The MR x NR tile of each dtype is in gemm_blocking.h. */
#define FD_TEMPLATE "gemm/gemm_simd_impl.h"
#include "common/fd_template.h"

/* The taller float tile of Intel cores with two 512-bit FMA ports
 * (FD_GEMM_AVX512_TALL_F32_*, gemm_blocking.h): fd_ukr_f32_avx512tall. */
#define FD_UKR_PATH AVX512_TALL
#define FD_UKR_SUFFIX avx512tall
#define FD_TEMPLATE "gemm/gemm_simd_impl.h"
#include "common/fd_template.h"
#undef FD_UKR_PATH
#undef FD_UKR_SUFFIX

/* Transposing pack for float panels whose lanes are contiguous along k
 * (fd_tpack_f32_avx2's contract): 16 x 16 blocks, each of 16 whole-line
 * loads and 16 stores, through v16i_transpose16; the K tail with masked
 * loads.  Panels narrower than 16 lanes (W = MR = 8 when packing A) take
 * the AVX2 8 x 8 pack.  On the Xeon of issue 13 the AVX2 pack of a W^T
 * (a PyTorch weight) was 23% of a 64 x 784 x 256 forward. */
void fd_tpack_f32_avx512(int64_t kc, int W, int64_t valid, const float *src, int64_t s_l,
                         float *dst)
{
    const int64_t lfull = valid & ~(int64_t)15;
    int64_t l0, p0, l, p;
    int i;
    if (W % 16) {
        fd_tpack_f32_avx2(kc, W, valid, src, s_l, dst);
        return;
    }
    for (l0 = 0; l0 < lfull; l0 += 16) {
        const float *s = src + l0 * s_l;
        float *d = dst + l0;
        for (p0 = 0; p0 < kc; p0 += 16) {
            const int64_t np = kc - p0 < 16 ? kc - p0 : 16;
            const __mmask16 km = (__mmask16)((1u << np) - 1u);
            __m512i r[16];
#pragma GCC unroll 16
            for (i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_epi32(km, s + i * s_l + p0);
            v16i_transpose16(r);
            for (i = 0; i < np; i++) _mm512_storeu_si512((void *)(d + (p0 + i) * W), r[i]);
        }
    }
    for (l = lfull; l < valid; l++)
        for (p = 0; p < kc; p++) dst[p * W + l] = src[l * s_l + p];
}

/* Narrow outputs (gemm.h: fd_small_n_<sfx>_avx512). */
#define FD_TEMPLATE "gemm/gemm_small_n_impl.h"
#include "common/fd_template.h"

#else
FD_NO_SIMD_UNIT;
#endif
