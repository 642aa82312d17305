/* AVX-512 GEMM for narrow outputs, FD_TNAME_ISA(fd_small_n, ISA),
 * instantiated by gemm_avx512.c through common/fd_template.h.
 *
 * Narrow C (n <= one vector, e.g. a 10-class output layer): no packing, no
 * padding to NR.  Rows in blocks of 8 (8 independent FMA chains), B rows
 * read with a masked load, the epilogue applied before a masked store.
 * Requires b_cs == 1 and a row-major C.  Each row's sum runs over k in
 * order, whatever the thread count. */

#define FN(name) FD_TNAME(name)

void FD_TNAME_ISA(fd_small_n, ISA)(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *A,
                                   int64_t a_rs, int64_t a_cs, const T *B, int64_t b_rs, T *C,
                                   int64_t ldc, int beta, const T *bias, T *z, int64_t ldz, int act,
                                   const FN(fd_gemm_epi) * hook)
{
    const VP(mask) mask = (VP(mask))((1u << n) - 1u);
    int64_t nblk = (m + 7) / 8, blk;
    int nt = fd_threads_for(&ctx, (size_t)m * (size_t)k * (size_t)n, (size_t)1 << 16);
    const fd_fpenv env = fd_fpenv_get();
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        FD_FOR
        for (blk = 0; blk < nblk; blk++) {
            int64_t i0 = blk * 8, p;
            int rows = (int)(m - i0 < 8 ? m - i0 : 8), r;
            VP(vec) acc[8], res[8];
            const T *ar[8];
#pragma GCC unroll 8
            for (r = 0; r < 8; r++) {
                acc[r] = VP(zero)();
                /* short blocks re-read their last row; results unused */
                ar[r] = A + (i0 + (r < rows ? r : rows - 1)) * a_rs;
            }
            for (p = 0; p < k; p++) {
                VP(vec) bv = VP(mloadz)(B + p * b_rs, mask);
#pragma GCC unroll 8
                for (r = 0; r < 8; r++) acc[r] = VP(fmadd)(VP(set1)(ar[r][p * a_cs]), bv, acc[r]);
            }
            /* acc[] is only ever indexed by constants (unrolled loops), so
         * it stays in registers; the epilogue works on a copy. */
#pragma GCC unroll 8
            for (r = 0; r < 8; r++) res[r] = acc[r];
            for (r = 0; r < rows; r++) {
                T *cr = C + (i0 + r) * ldc;
                VP(vec) v = res[r];
                if (beta) v = VP(add)(v, VP(mloadz)(cr, mask));
                if (bias) v = VP(add)(v, VP(mloadz)(bias, mask));
                if (z) VP(mstore)(z + (i0 + r) * ldz, mask, v);
                /* v second: MAXPS returns it when NaN (relu(NaN) = NaN) */
                if (act == FD_ACT_RELU) v = VP(max)(VP(zero)(), v);
                VP(mstore)(cr, mask, v);
                if (act != FD_ACT_IDENTITY && act != FD_ACT_RELU)
                    FD_TNAME_ISA(fd_act_rows, ISA)(act, 1, n, cr, ldc);
            }
            if (hook) hook->c_tile(hook->c_tile_arg, i0, 0, rows, n, C + i0 * ldc, ldc);
        }
        fd_fpenv_leave(own);
    }
}

#undef FN
