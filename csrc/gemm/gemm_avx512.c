/* AVX-512 GEMM micro-kernels (this file is compiled with -mavx512f...). */
#include "gemm/gemm.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "act/act.h"
#include "act/act_simd.h"

#define FD_CAT2(a, b) a##b
#define FD_CAT(a, b) FD_CAT2(a, b)

/* float32: 8 x 32 tile = 16 zmm accumulators */
#define T float
#define SFX f32
#define VT __m512
#define VL 16
#define MR FD_AVX512_MR_F32
#define NV (FD_AVX512_NR_F32 / 16)
#define NAME fd_ukr_avx512_f32
#define VLOAD _mm512_load_ps
#define VLOADU _mm512_loadu_ps
#define VSTOREU _mm512_storeu_ps
#define VSET1 _mm512_set1_ps
#define VFMA _mm512_fmadd_ps
#define VADD _mm512_add_ps
#define VMAX _mm512_max_ps
#define VZERO _mm512_setzero_ps
#define ACT_ROWS fd_act_rows_avx512_f32
#include "gemm/gemm_simd_impl.h"
#undef ACT_ROWS
#undef T
#undef SFX
#undef VT
#undef VL
#undef MR
#undef NV
#undef NAME
#undef VLOAD
#undef VLOADU
#undef VSTOREU
#undef VSET1
#undef VFMA
#undef VADD
#undef VMAX
#undef VZERO

/* float64: 8 x 16 tile = 16 zmm accumulators */
#define T double
#define SFX f64
#define VT __m512d
#define VL 8
#define MR FD_AVX512_MR_F64
#define NV (FD_AVX512_NR_F64 / 8)
#define NAME fd_ukr_avx512_f64
#define VLOAD _mm512_load_pd
#define VLOADU _mm512_loadu_pd
#define VSTOREU _mm512_storeu_pd
#define VSET1 _mm512_set1_pd
#define VFMA _mm512_fmadd_pd
#define VADD _mm512_add_pd
#define VMAX _mm512_max_pd
#define VZERO _mm512_setzero_pd
#define ACT_ROWS fd_act_rows_avx512_f64
#include "gemm/gemm_simd_impl.h"
#undef ACT_ROWS

#endif /* FD_HAVE_X86_SIMD */

#if FD_HAVE_X86_SIMD
/* Narrow C (n <= one vector, e.g. a 10-class output layer): no packing, no
 * padding to NR.  Rows in blocks of 8 (8 independent FMA chains), B rows
 * read with a masked load, the epilogue applied before a masked store.
 * Requires b_cs == 1 and a row-major C.  Each row's sum runs over k in
 * order, whatever the thread count. */
#define FD_SMALL_IMPL(T, SFX, VT, VL, MASK_T, LOADZ, STOREM, SET1, FMA, ADD,   \
                      MAX, ZERO)                                               \
    void fd_small_n_avx512_##SFX(fd_ctx ctx, int64_t m, int64_t k, int64_t n,  \
                                 const T *A, int64_t a_rs, int64_t a_cs,       \
                                 const T *B, int64_t b_rs, T *C, int64_t ldc,  \
                                 int beta, const T *bias, T *z, int64_t ldz,   \
                                 int act)                                      \
    {                                                                          \
        const MASK_T mask = (MASK_T)((1u << n) - 1u);                          \
        int64_t nblk = (m + 7) / 8, blk;                                       \
        int nt = fd_threads_for(&ctx, (size_t)m * (size_t)k * (size_t)n,       \
                                (size_t)1 << 16);                              \
        _Pragma("omp parallel for num_threads(nt) schedule(static)")           \
        for (blk = 0; blk < nblk; blk++) {                                     \
            int64_t i0 = blk * 8, p;                                           \
            int rows = (int)(m - i0 < 8 ? m - i0 : 8), r;                      \
            VT acc[8], res[8];                                                 \
            const T *ar[8];                                                    \
            _Pragma("GCC unroll 8")                                            \
            for (r = 0; r < 8; r++) {                                          \
                acc[r] = ZERO();                                               \
                /* short blocks re-read their last row; results unused */     \
                ar[r] = A + (i0 + (r < rows ? r : rows - 1)) * a_rs;           \
            }                                                                  \
            for (p = 0; p < k; p++) {                                          \
                VT bv = LOADZ(mask, B + p * b_rs);                             \
                _Pragma("GCC unroll 8")                                        \
                for (r = 0; r < 8; r++)                                        \
                    acc[r] = FMA(SET1(ar[r][p * a_cs]), bv, acc[r]);           \
            }                                                                  \
            /* acc[] is only ever indexed by constants (unrolled loops), so \
             * it stays in registers; the epilogue works on a copy. */        \
            _Pragma("GCC unroll 8")                                            \
            for (r = 0; r < 8; r++) res[r] = acc[r];                           \
            for (r = 0; r < rows; r++) {                                       \
                T *cr = C + (i0 + r) * ldc;                                    \
                VT v = res[r];                                                 \
                if (beta) v = ADD(v, LOADZ(mask, cr));                         \
                if (bias) v = ADD(v, LOADZ(mask, bias));                       \
                if (z) STOREM(z + (i0 + r) * ldz, mask, v);                    \
                /* v second: MAXPS returns it when NaN (relu(NaN) = NaN) */   \
                if (act == FD_ACT_RELU) v = MAX(ZERO(), v);                    \
                STOREM(cr, mask, v);                                           \
                if (act != FD_ACT_IDENTITY && act != FD_ACT_RELU)              \
                    fd_act_rows_avx512_##SFX(act, 1, n, cr, ldc);              \
            }                                                                  \
        }                                                                      \
    }

FD_SMALL_IMPL(float, f32, __m512, 16, __mmask16, _mm512_maskz_loadu_ps,
              _mm512_mask_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps,
              _mm512_add_ps, _mm512_max_ps, _mm512_setzero_ps)
FD_SMALL_IMPL(double, f64, __m512d, 8, __mmask8, _mm512_maskz_loadu_pd,
              _mm512_mask_storeu_pd, _mm512_set1_pd, _mm512_fmadd_pd,
              _mm512_add_pd, _mm512_max_pd, _mm512_setzero_pd)
#endif
