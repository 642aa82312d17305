/* GEMM core (no BLAS): C = A @ B (+ C) with a fused epilogue.
 *
 * BLIS-style: B is packed into KC x NR micro-panels, A into MR x KC
 * micro-panels, and a register-blocked micro-kernel (AVX-512, AVX2+FMA or
 * portable C, chosen by ctx.isa) computes MR x NR tiles.  A and B are read
 * through arbitrary row/column strides, so transposed or F-ordered operands
 * need no copy.  C is written through (c_rs, c_cs).
 *
 * Threads split the output tiles only (K is never split), and every block
 * size is independent of the thread count, so each output element sees the
 * same summation order and results are bit-identical for any ctx.nthreads.
 *
 * Scratch: fd_gemm_work_bytes depends on ctx (ISA block sizes and
 * ctx.nthreads: one packing area per thread), so size it with the ctx that
 * the call will use.  Threads are used only above ~1M multiply-adds; each
 * owns a slab of C and packs its own panels (no barriers inside a call).
 *
 * Epilogue, applied while the tile is in registers on the last K panel:
 *   v = A@B (+ C when beta)  (+ bias[col] when bias)
 *   z[row, col] = v          (when z != NULL; z row-major with ldz)
 *   C = act(v)
 * Bias, z and act need a row-major C (c_cs == 1).
 *
 * Tile hook (c_tile): called once for every finished rows x cols tile of C
 * (after the epilogue above, while the tile is still in L1 or L2: a row
 * tile's strip across one NC block of columns, or a row block of a narrow
 * or bfloat16 product) with the tile's first row i0 and column j0 in C and
 * its address; tiles do not overlap and cover C, and each is passed by the
 * thread that made it.  Needs a row-major C.  The dense forward pass
 * applies dropout this way.
 *
 * B producer (b_rows): B is written by the caller while it is packed.
 * b_rows(arg, p0, p1, j0, nc) must fill rows [p0, p1) x columns
 * [j0, j0 + nc) of B (row-major, b_cs == 1); the driver calls it for each
 * block just before packing that block, and each element's block exactly
 * once per call (threads then split the columns of C, never its rows, so
 * no two threads produce the same element).  Where the product would not
 * pack B (narrow outputs, a column-major C), it is called once for the
 * whole of B first.  The dense backward pass computes dz = dy * act' and
 * the bias gradient this way, in the pass that packs dz for dW = x^T dz.
 *
 * Packed B (b_packed): a bfloat16 product (ctx.precision FD_PREC_BF16)
 * reads B from words packed beforehand by fd_gemm_bf16_pack_rows for this
 * k x n and path, and never reads B itself; other products reject it
 * (FD_EINVAL).  The MLP's bfloat16 epoch packs each weight matrix in its
 * optimiser step this way.
 *
 * K split (ksplit_either): float32/float64 products of a few rows over a
 * long K are summed in two K parts (gemm_blocking.h: fd_gemm_ksplit_at);
 * with ksplit_either also where C^T has few rows (fd_gemm_ksplit_either_at:
 * the dense backward's weight gradient, whose K is the batch).  A
 * column-major C is split where the row-major product would be.
 */
#ifndef FD_GEMM_H
#define FD_GEMM_H

#include "common/fd_common.h"
#include "gemm/gemm_blocking.h"

#define FD_GEMM_DECL(T, SFX)                                                                       \
    typedef struct {                                                                               \
        const T *bias; /* per column of C, or NULL */                                              \
        T *z; /* pre-activation copy, or NULL */                                                   \
        int64_t ldz;                                                                               \
        int act; /* fd_activation */                                                               \
        int beta; /* 1: add into C */                                                              \
        /* Optional producer of B (row-major B only, see below), or NULL. */                       \
        void (*b_rows)(void *arg, int64_t p0, int64_t p1, int64_t j0, int64_t nc);                 \
        void *b_rows_arg;                                                                          \
        /* Optional hook on every finished tile of C (row-major C), or NULL. */                    \
        void (*c_tile)(void *arg, int64_t i0, int64_t j0, int64_t rows, int64_t cols, T *c,        \
                       int64_t ldc);                                                               \
        void *c_tile_arg;                                                                          \
        /* B already packed (bfloat16 products only, gemm_bf16.h), or NULL. */                     \
        const uint32_t *b_packed;                                                                  \
        /* float32/float64: split K also where C^T's rows qualify (gemm_blocking.h). */            \
        int ksplit_either;                                                                         \
    } fd_gemm_epi_##SFX;                                                                           \
    size_t fd_gemm_work_bytes_##SFX(fd_ctx ctx, int64_t m, int64_t k, int64_t n);                  \
    /* epi may be NULL (C = A@B).  work: fd_gemm_work_bytes bytes or NULL.   \
     * Returns FD_OK, FD_ENOMEM, or FD_EINVAL (epilogue with c_cs != 1). */                     \
    int fd_gemm_##SFX(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *A, int64_t a_rs,       \
                      int64_t a_cs, const T *B, int64_t b_rs, int64_t b_cs, T *C, int64_t c_rs,    \
                      int64_t c_cs, const fd_gemm_epi_##SFX *epi, void *work);                     \
    /* The same on caches c instead of this CPU's (tests; work NULL or sized \
     * for those blocks). */                     \
    int fd_gemm_caches_##SFX(fd_ctx ctx, const fd_caches *c, int64_t m, int64_t k, int64_t n,      \
                             const T *A, int64_t a_rs, int64_t a_cs, const T *B, int64_t b_rs,     \
                             int64_t b_cs, T *C, int64_t c_rs, int64_t c_cs,                       \
                             const fd_gemm_epi_##SFX *epi, void *work);                            \
    /* The register tile and cache blocks path isa uses on caches c. */                            \
    fd_gemm_blocks fd_gemm_blocking_##SFX(int isa, const fd_caches *c);                            \
    /* Rows of the tall tile path isa runs on this CPU (FD_TILE_AUTO), 0: none. */                 \
    int fd_gemm_tall_mr_##SFX(int isa);                                                            \
    /* The K split's join (fd_gemm_ksplit_at) over rows [r0, r1) on path isa: C = S + C, then    \
     * bias, z and act as the micro-kernels apply them (the bfloat16 split joins with it). */ \
    void fd_gemm_ksplit_join_##SFX(int isa, int64_t r0, int64_t r1, int64_t n, T *C, int64_t ldc,  \
                                   const T *S, int64_t lds, const T *bias, T *z, int64_t ldz,      \
                                   int act);                                                       \
    /* Transposing copy on path isa: dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols \
     * (the products' transposing pack: float32 SIMD blocks through registers). */  \
    void fd_gemm_tcopy_##SFX(int isa, int64_t rows, int64_t cols, const T *src, int64_t lds,       \
                             T *dst, int64_t ldd);

/* The K split's two schedules (fd_gemm_ksplit_at), for both drivers, over
 * nt threads from fd_gemm_ksplit_threads.  by_cols (B stored by columns):
 * thread t runs both parts of column slab t, then joins it; else threads
 * take column slabs of the parts (q[0] of the first, q[1] of the second;
 * one thread: both, in slot 0), then, after a barrier, the join by rows.
 * part(arg, p, j0, j1, slot): part p over columns [j0, j1) in packing slot
 * `slot`; join(arg, r0, r1, j0, j1): the join of that block, then its tile
 * hook. */
typedef struct {
    void (*part)(void *arg, int p, int64_t j0, int64_t j1, int slot);
    void (*join)(void *arg, int64_t r0, int64_t r1, int64_t j0, int64_t j1);
    void *arg;
    fd_gemm_blocks blocks[2]; /* each part's blocks (column slabs of NR) */
} fd_gemm_ksplit_job;
void fd_gemm_ksplit_run(const fd_gemm_ksplit_job *job, int nt, const int q[2], int by_cols,
                        int64_t m, int64_t n);

FD_GEMM_DECL(float, f32)
FD_GEMM_DECL(double, f64)

/* Micro-kernel: tile (MR x NR) = A @ Bp (row p of B at Bp + p * ldb: NR
 * when packed, or a row-major B read in place) over kc steps,
 * written to C (row-major, ldc) with the epilogue above; bias already offset
 * to the tile's first column; z to its first element.  A is packed (MR per
 * k) when lda == 0, else read in place: row r at Ap + r * lda with unit
 * column stride, rows >= arows replaced by row arows - 1. */
#define FD_UKR_DECL(T, SFX, NAME)                                                                  \
    void NAME(int64_t kc, const T *Ap, int64_t lda, int arows, const T *Bp, int64_t ldb, T *C,     \
              int64_t ldc, int beta, const T *bias, T *z, int64_t ldz, int act);

typedef void (*fd_ukr_f32)(int64_t, const float *, int64_t, int, const float *, int64_t, float *,
                           int64_t, int, const float *, float *, int64_t, int);
typedef void (*fd_ukr_f64)(int64_t, const double *, int64_t, int, const double *, int64_t, double *,
                           int64_t, int, const double *, double *, int64_t, int);

#if FD_HAVE_X86_SIMD
FD_UKR_DECL(float, f32, fd_ukr_f32_avx512)
FD_UKR_DECL(float, f32, fd_ukr_f32_avx512tall)
FD_UKR_DECL(double, f64, fd_ukr_f64_avx512)
FD_UKR_DECL(float, f32, fd_ukr_f32_avx2)
FD_UKR_DECL(double, f64, fd_ukr_f64_avx2)

/* AVX-512 path for narrow outputs (n <= FD_GEMM_AVX512_*_SMALL_N, b_cs ==
 * 1, row-major C): no packing; same epilogue as the micro-kernels; hook
 * (NULL or an epi with c_tile) gets each block of 8 rows. */
#define FD_SMALL_N_DECL(T, SFX)                                                                    \
    void fd_small_n_##SFX##_avx512(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *A,        \
                                   int64_t a_rs, int64_t a_cs, const T *B, int64_t b_rs, T *C,     \
                                   int64_t ldc, int beta, const T *bias, T *z, int64_t ldz,        \
                                   int act, const fd_gemm_epi_##SFX *hook);
void fd_tpack_f32_avx2(int64_t kc, int W, int64_t valid, const float *src, int64_t s_l, float *dst);
void fd_tpack_f32_avx512(int64_t kc, int W, int64_t valid, const float *src, int64_t s_l,
                         float *dst);
FD_SMALL_N_DECL(float, f32)
FD_SMALL_N_DECL(double, f64)
#endif

#endif /* FD_GEMM_H */
