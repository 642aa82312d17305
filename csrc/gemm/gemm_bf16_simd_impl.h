/* bf16 micro-kernel template (gemm_bf16.h), included once per vector
 * width with VP(name) (v16f_ or v8f_: simd_avx512.h / simd_avx2.h and
 * simd_avx512bf16.h), MR, NV (vectors per row: NR = NV * VP(W)), NAME and
 * ACT_ROWS, A_ROWS (1: A packed row by row, word [r * kp + q]; 0: pair by
 * pair, word [q * MR + r]).  Accumulators c[MR][NV] stay in registers; per pair of K, one
 * broadcast word of A per row and NV words-vectors of B; the epilogue is
 * the float32 micro-kernel's (gemm_simd_impl.h). */
#define UKR_NR (NV * VP(W))
#define UKR_ACT_ROWS ACT_ROWS

void NAME(int64_t kp, const uint32_t *FD_RESTRICT Ap, const uint32_t *FD_RESTRICT Bp,
          float *FD_RESTRICT C, int64_t ldc, int beta, const float *FD_RESTRICT bias,
          float *FD_RESTRICT z, int64_t ldz, int act)
{
    VP(vec) c[MR][NV];
    int64_t q;
    int r, v;
#pragma GCC unroll 16
    for (r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (v = 0; v < NV; v++) c[r][v] = VP(zero)();
#pragma GCC unroll 16
    for (r = 0; r < MR; r++) {
        _mm_prefetch((const char *)(C + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + r * ldc + UKR_NR - 1), _MM_HINT_T0);
    }
#if A_ROWS
    {
        /* A row by row: row r's pairs at Ap + r * kp */
        const uint32_t *ar[MR];
#pragma GCC unroll 16
        for (r = 0; r < MR; r++) ar[r] = Ap + r * kp;
#pragma GCC unroll 2
        for (q = 0; q < kp; q++) {
            VP(ivec) b[NV];
#pragma GCC unroll 4
            for (v = 0; v < NV; v++) b[v] = VP(iload)(Bp + v * VP(W));
#pragma GCC unroll 16
            for (r = 0; r < MR; r++) {
                VP(ivec) a = VP(ibcast)(ar[r][q]);
#pragma GCC unroll 4
                for (v = 0; v < NV; v++) c[r][v] = VP(dpbf16)(c[r][v], a, b[v]);
            }
            Bp += UKR_NR;
        }
    }
#else
#pragma GCC unroll 2
    for (q = 0; q < kp; q++) {
        VP(ivec) b[NV];
#pragma GCC unroll 4
        for (v = 0; v < NV; v++) b[v] = VP(iload)(Bp + v * VP(W));
#pragma GCC unroll 16
        for (r = 0; r < MR; r++) {
            VP(ivec) a = VP(ibcast)(Ap[r]);
#pragma GCC unroll 4
            for (v = 0; v < NV; v++) c[r][v] = VP(dpbf16)(c[r][v], a, b[v]);
        }
        Ap += MR;
        Bp += UKR_NR;
    }
#endif
#include "gemm/gemm_ukr_epilogue.h"
}

#undef UKR_NR
#undef UKR_ACT_ROWS
