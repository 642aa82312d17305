/* bf16 micro-kernel template (gemm_bf16.h) of the AVX512_BF16 path,
 * included by gemm_bf16_avx512bf16.c once per vector width and A layout
 * with VP(name) (v16f_ or v8f_: simd_avx512.h / simd_avx2.h and
 * simd_avx512bf16.h), MR, NR (a multiple of VP(W): NV = NR / VP(W) vectors
 * per row), NAME and A_ROWS (1: A packed row by row, word [r * kp + q]; 0:
 * pair by pair, word [q * MR + r]), all undefined again at the end.  Accumulators c[MR][NV] stay in registers; per pair of K, one
 * broadcast word of A per row and NV words-vectors of B; the prologue, K
 * step and epilogue are the float32 micro-kernel's (gemm_simd_impl.h). */
#define NV (NR / VP(W))
#define UKR_NR (NV * VP(W))
#define UKR_ACT_ROWS fd_act_rows_f32_avx512
#define UKR_BVEC VP(ivec)
#define UKR_BLOAD VP(iload)
#define UKR_BCAST VP(ibcast)
#define UKR_MAC(acc, a, b) VP(dpbf16)(acc, a, b)

void NAME(int64_t kp, const uint32_t *FD_RESTRICT Ap, const uint32_t *FD_RESTRICT Bp,
          float *FD_RESTRICT C, int64_t ldc, int beta, const float *FD_RESTRICT bias,
          float *FD_RESTRICT z, int64_t ldz, int act)
{
    int64_t q;
#include "gemm/gemm_ukr_prologue.h"
#if A_ROWS
    {
        /* A row by row: row r's pairs at Ap + r * kp */
        const uint32_t *ar[MR];
#pragma GCC unroll 16
        for (r = 0; r < MR; r++) ar[r] = Ap + r * kp;
#pragma GCC unroll 2
        for (q = 0; q < kp; q++) {
#define UKR_A(r) ar[r][q]
#include "gemm/gemm_ukr_kstep.h"
            Bp += UKR_NR;
        }
    }
#else
#pragma GCC unroll 2
    for (q = 0; q < kp; q++) {
#define UKR_A(r) Ap[r]
#include "gemm/gemm_ukr_kstep.h"
        Ap += MR;
        Bp += UKR_NR;
    }
#endif
#include "gemm/gemm_ukr_epilogue.h"
}

#undef NV
#undef VP
#undef MR
#undef NR
#undef NAME
#undef A_ROWS
