/* x86 micro-kernel template FD_TNAME_ISA(fd_ukr, ISA), instantiated by
 * gemm_avx2.c / gemm_avx512.c through common/fd_template.h.  MR x NR is
 * this (ISA, dtype)'s entry of the blocking table (NR = NV vectors); the
 * epilogue's sigmoid/tanh/gelu run over the stored rows with
 * FD_TNAME_ISA(fd_act_rows, ISA) (act_simd.h).
 * B rows are ldb apart: NR when packed, or a row-major B read in place
 * (unaligned loads cost nothing extra on data that happens to be aligned).
 * The accumulator tile c[MR][NV] lives in registers (fully unrolled loops);
 * the epilogue (beta, bias, z, relu) runs on it before the single store.
 */
#if !(defined(FD_UKR_PATH) && FD_T_F64) /* second tiles: float only */
#if FD_T_F64
#define T_BITS 64
#else
#define T_BITS 32
#endif
#ifdef FD_UKR_PATH
/* a second tile of this instruction set: its own table entry and name */
#define UKR_PATH FD_UKR_PATH
#define UKR_NAME FD_TNAME_ISA(fd_ukr, FD_UKR_SUFFIX)
#else
#define UKR_PATH FD_SIMD_ISA_UP
#define UKR_NAME FD_TNAME_ISA(fd_ukr, ISA)
#endif
#define MR FD_GEMM_BLK(UKR_PATH, T_BITS, MR)
#define NV (FD_GEMM_BLK(UKR_PATH, T_BITS, NR) / VP(W))
#define UKR_NR (NV * VP(W))
#define UKR_ACT_ROWS FD_TNAME_ISA(fd_act_rows, ISA)
#define UKR_BVEC VP(vec)
#define UKR_BLOAD VP(load)
#define UKR_BCAST VP(set1)
#define UKR_MAC(acc, a, b) VP(fmadd)(a, b, acc)

void UKR_NAME(int64_t kc, const T *FD_RESTRICT Ap, int64_t lda, int arows, const T *FD_RESTRICT Bp,
              int64_t ldb, T *FD_RESTRICT C, int64_t ldc, int beta, const T *FD_RESTRICT bias,
              T *FD_RESTRICT z, int64_t ldz, int act)
{
    int64_t p;
#include "gemm/gemm_ukr_prologue.h"
    if (lda == 0) {
        /* packed A: MR values per k-step */
#pragma GCC unroll 4
        for (p = 0; p < kc; p++) {
#define UKR_A(r) Ap[r]
#include "gemm/gemm_ukr_kstep.h"
            Ap += MR;
            Bp += ldb;
        }
    } else {
        /* A read in place: MR rows with unit column stride (row-major x).
         * A is only ever broadcast, so packing it would buy nothing; rows
         * past arows repeat the last valid row (never read out of bounds,
         * results discarded by the caller). */
        const T *ar[MR];
#pragma GCC unroll 16
        for (r = 0; r < MR; r++) ar[r] = Ap + (r < arows ? r : arows - 1) * lda;
#pragma GCC unroll 4
        for (p = 0; p < kc; p++) {
#define UKR_A(r) ar[r][p]
#include "gemm/gemm_ukr_kstep.h"
            Bp += ldb;
        }
    }
#include "gemm/gemm_ukr_epilogue.h"
}

#undef MR
#undef NV
#undef T_BITS
#undef UKR_PATH
#undef UKR_NAME
#endif
