/* Per-dtype template: the GEMM epilogue of gemm.h in scalar C, for the
 * portable micro-kernels and the edge tiles of the float32/float64 driver
 * (gemm_impl.h, which includes it per dtype) and of the bfloat16 driver
 * (gemm_bf16.c, through common/fd_template.h).  The operation order is the
 * vector kernels' (gemm_ukr_epilogue.h): + C, + bias, z, activation.
 * Needs act/act.h.  No include guard: included once per dtype. */

/* One element: v (+ *Cp when addc) (+ *bp when bp); *zp = that when zp;
 * *Cp = act(that). */
static inline void FD_TNAME(fd_gemm_epi_store)(T v, int addc, T *Cp, T *zp, const T *bp, int act)
{
    if (addc) v += *Cp;
    if (bp) v += *bp;
    if (zp) *zp = v;
    *Cp = FD_TNAME(fd_act)(act, v);
}

/* An mr x nr tile of sums c (row-major, nr apart) stored to C (ldc apart)
 * through that epilogue; bias offset to the tile's first column, z to its
 * first element, either NULL for none. */
static inline void FD_TNAME(fd_gemm_tile_epi)(const T *c, int mr, int nr, T *C, int64_t ldc,
                                              int beta, const T *bias, T *z, int64_t ldz, int act)
{
    int r, j;
    for (r = 0; r < mr; r++)
        for (j = 0; j < nr; j++)
            FD_TNAME(fd_gemm_epi_store)(c[r * nr + j], beta, C + r * ldc + j,
                                        z ? z + r * ldz + j : NULL, bias ? bias + j : NULL, act);
}
