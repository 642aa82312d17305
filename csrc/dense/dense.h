/* Fused dense layers: forward (matmul + bias + activation) and backward.
 *
 * Layout: x is (m, k) row-major with leading dimension ldx; W is (k, n) with
 * arbitrary strides (w_rs, w_cs) so a C-contiguous W (w_rs = n, w_cs = 1)
 * and an F-contiguous W (w_rs = 1, w_cs = k: a transposed PyTorch weight)
 * are both read without a copy; dW is written with its own strides.  Every
 * other matrix is row-major with the given leading dimension.
 *
 * Results are bit-identical for any ctx.nthreads: work is split over
 * independent output blocks and every reduction sums fixed-size chunks in a
 * fixed order.
 */
#ifndef FD_DENSE_H
#define FD_DENSE_H

#include "act/act_code.h"
#include "common/fd_common.h"

/* Dropout fused into a layer (NULL: none): rate p in [0, 1), Philox key
 * seed and counter words c2, tag as fd_dropout_ex (dropout/dropout.h).  The
 * mask of output element (i, j) is that of flat index i * n + j of the
 * logical row-major (m, n) output, whatever ldy is: the layer's output is
 * bit for bit fd_dropout_ex over act(x @ W + b) stored contiguously. */
typedef struct {
    double p;
    uint64_t seed;
    uint32_t c2, tag;
} fd_dense_drop;

/* y = act(x @ W + b); b may be NULL (no bias); z, when not NULL, receives
 * the pre-activation x @ W + b (never dropped).  With drop (p > 0) y is
 * dropout(act(x @ W + b)): each finished output tile is masked and scaled
 * by (T)(1 / (1 - p)) while it is in L1 (a dropped NaN or inf becomes 0),
 * and yk, when not NULL, receives the un-dropped act(x @ W + b) (leading
 * dimension ldyk; what a sigmoid / tanh backward needs); with no drop (or
 * p == 0) yk, when not NULL, receives a copy of y.  `work` is scratch space
 * of at least fd_dense_forward_work_bytes(...) bytes, or NULL to allocate
 * per call.  w_packed: NULL, or (bfloat16 precision only) W already packed
 * by fd_gemm_bf16_pack_rows for this k x n and path (W itself is then not
 * read; gemm.h "Packed B").  Returns FD_OK, FD_ENOMEM or FD_EINVAL
 * (drop->p outside [0, 1): nothing written). */
#define FD_DENSE_FORWARD_DECL(T, SFX)                                                              \
    size_t fd_dense_forward_work_bytes_##SFX(fd_ctx ctx, int64_t m, int64_t k, int64_t n);         \
    int fd_dense_forward_##SFX(                                                                    \
        fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *x, int64_t ldx, const T *W,          \
        int64_t w_rs, int64_t w_cs, const T *b, int act, T *y, int64_t ldy, T *z, int64_t ldz,     \
        const fd_dense_drop *drop, T *yk, int64_t ldyk, const uint32_t *w_packed, void *work);

/* Backward of y = act(x @ W + b) given dy = dL/dy:
 *   dz = dy * act'(.)     act' from y (yz_is_preact = 0: identity, relu,
 *                         sigmoid, tanh) or from z (yz_is_preact = 1; gelu
 *                         needs z)
 *   db = sum over the batch of dz        (db may be NULL)
 *   dW = x^T @ dz                        (dW may be NULL; strides dw_rs, dw_cs)
 *   dx = dz @ W^T                        (dx may be NULL: first layer)
 * With accumulate != 0 the results are added to dW, db (and dx).
 * With drop (p > 0; the forward pass's parameters) dy is dL/d(dropped y)
 * and the dropout's backward is fused into the dz pass:
 *   dz = (dropped ? 0 : dy * (T)(1 / (1 - p))) * act'(.)
 * bit for bit the layer's backward on fd_dropout_ex(dy).  act' is read from
 * yz as above: for relu (and identity, which needs no yz) the dropped y
 * gives the same dz as the un-dropped one (they differ only where the mask
 * zeroes dz; a dropped NaN gives 0, not NaN); sigmoid and tanh need the
 * un-dropped y (the forward pass's yk), gelu z.
 * Returns FD_OK, FD_ENOMEM or FD_EINVAL (drop->p outside [0, 1)). */
#define FD_DENSE_BACKWARD_DECL(T, SFX)                                                             \
    size_t fd_dense_backward_work_bytes_##SFX(fd_ctx ctx, int64_t m, int64_t k, int64_t n);        \
    int fd_dense_backward_##SFX(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *dy,          \
                                int64_t lddy, const T *x, int64_t ldx, const T *W, int64_t w_rs,   \
                                int64_t w_cs, const T *yz, int64_t ldyz, int yz_is_preact,         \
                                int act, T *dx, int64_t lddx, T *dW, int64_t dw_rs, int64_t dw_cs, \
                                T *db, int accumulate, const fd_dense_drop *drop, void *work);

/* One row of the backward pass's dz: dz[j] = dy[j] * act'(yz[j]) (act' from
 * y, or from z for gelu, as above) added into the column sums ps[j], for
 * j < n; dz NULL for the identity: only the sums.  Portable code the
 * compiler vectorises; also the sparse first layer's (mlp/mlp_sparse.h). */
#define FD_DZ_ROW_DECL(T, SFX)                                                                     \
    void fd_dz_row_##SFX(int act, int64_t n, const T *FD_RESTRICT dy, const T *FD_RESTRICT yz,     \
                         T *FD_RESTRICT dz, T *FD_RESTRICT ps);

FD_DENSE_FORWARD_DECL(float, f32)
FD_DENSE_FORWARD_DECL(double, f64)
FD_DENSE_BACKWARD_DECL(float, f32)
FD_DENSE_BACKWARD_DECL(double, f64)
FD_DZ_ROW_DECL(float, f32)
FD_DZ_ROW_DECL(double, f64)

/* The same for both dtypes, for the bindings: one entry each whose dtype
 * (FD_F32, FD_F64; common/fd_common.h) says which instance above it calls
 * with the void * data (float or double).  fd_dense_matmul is the plain
 * product C = A @ B of fd_gemm (gemm/gemm.h, no epilogue; every matrix
 * strided); fd_dense_work_bytes is the scratch of a pass (FD_DENSE_MATMUL,
 * _FORWARD, _BACKWARD), 0 for an unknown dtype or pass; the others return
 * FD_EINVAL for an unknown dtype (nothing written).  fd_dense_forward's
 * w_packed (FD_F32 only; NULL otherwise) is the _f32 instance's. */
enum { FD_DENSE_MATMUL = 0, FD_DENSE_FORWARD = 1, FD_DENSE_BACKWARD = 2 };
size_t fd_dense_work_bytes(fd_ctx ctx, int dtype, int pass, int64_t m, int64_t k, int64_t n);
int fd_dense_matmul(fd_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n, const void *A,
                    int64_t a_rs, int64_t a_cs, const void *B, int64_t b_rs, int64_t b_cs, void *C,
                    int64_t c_rs, int64_t c_cs, void *work);
int fd_dense_forward(fd_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n, const void *x,
                     int64_t ldx, const void *W, int64_t w_rs, int64_t w_cs, const void *b, int act,
                     void *y, int64_t ldy, void *z, int64_t ldz, const fd_dense_drop *drop,
                     void *yk, int64_t ldyk, const uint32_t *w_packed, void *work);
/* A float32 k x n W packed once for bfloat16 forward products on ctx's
 * path (ctx.isa; this CPU's caches), to pass to fd_dense_forward as
 * w_packed (FD_F32, ctx.precision FD_PREC_BF16, the same path) any number
 * of times: the words fd_gemm_bf16_pack_rows writes (gemm/gemm_bf16.h).
 * fd_dense_packed_words: their count (0 when k or n < 1, or ctx.precision
 * is not FD_PREC_BF16).  fd_dense_pack_weights: W row-major (w_rs apart,
 * unit column stride) into dst; row ranges split over up to ctx.nthreads
 * threads (the words do not depend on the split).  Returns FD_OK, or
 * FD_EINVAL when ctx.precision is not FD_PREC_BF16 (nothing written). */
int64_t fd_dense_packed_words(fd_ctx ctx, int64_t k, int64_t n);
int fd_dense_pack_weights(fd_ctx ctx, int64_t k, int64_t n, const float *W, int64_t w_rs,
                          uint32_t *dst);
int fd_dense_backward(fd_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n, const void *dy,
                      int64_t lddy, const void *x, int64_t ldx, const void *W, int64_t w_rs,
                      int64_t w_cs, const void *yz, int64_t ldyz, int yz_is_preact, int act,
                      void *dx, int64_t lddx, void *dW, int64_t dw_rs, int64_t dw_cs, void *db,
                      int accumulate, const fd_dense_drop *drop, void *work);

#endif /* FD_DENSE_H */
