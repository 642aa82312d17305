/* The training epoch's first layer on sparse input (private to mlp*.c and
 * the fastdigits.torch layers' binding, _mlp.pyx).
 *
 * Digit images are mostly background: 81% of MNIST's pixels hold one value
 * c (0, or its normalised value).  The first layer's product is then
 *     x @ W = (x - c) @ W + c * colsum(W)
 * where x - c has 19% nonzeros.  Rows go in groups of FD_SP_G: a group
 * keeps the pixels where any of its rows differs from c (its union: 39% of
 * MNIST's 784 pixels for 4 rows taken at random, 35% for 4 rows of one
 * label, as the epoch groups them), so each row of W it reads serves the
 * group's rows.  A dense product reads all 784.  c is the batch's first
 * element; a batch whose unions cover more than FD_SP_MAX_FILL of its
 * pixels takes the dense product instead, and so does one whose first
 * row alone does (checked before anything is compressed).
 *
 * Every output element is summed over its group's pixels in ascending
 * order, in two parts added at the end: the pixels below the chunk
 * boundary (see below) that halves the batch's kept pixels most evenly,
 * and the rest.  The split depends on the batch only, so the bits do not
 * depend on the thread count; the two halves of the threads get about
 * the same work, and pairs of threads share their items at the end
 * (fd_pair_next, common/fd_omp.h) where one is slower.  NaN or inf
 * anywhere in W reaches c * colsum(W) (or 0 * inf = NaN), so such a
 * column is NaN or inf for every row, as in the dense product.
 *
 * The backward pass's weight gradient dW = x^T @ dz takes the same kept
 * pixels by the other side:
 *     dW = (x - c)^T @ dz + c * colsum(dz) = (x - c)^T @ dz + c * db,
 * so each row p of dW is c * db plus, over the batch rows whose pixel p
 * differs from c, (x - c)[r, p] times row r of dz.  The backward pass
 * first lays the groups' pixels out by pixel: each pixel's x - c for
 * every row of its groups (xt) and a bit per row that keeps it (mk);
 * then a row of dW is summed in registers over its pixel's rows in
 * ascending order and written once, while a tile of dz's columns stays in
 * cache for every pixel.  Each element's order is fixed by the batch: the
 * bits do not depend on the thread count.  A NaN or inf in dz reaches
 * c * db (or 0 * inf = NaN), so it spreads to its whole column of dW, as
 * in the dense product. */
#ifndef FD_MLP_SPARSE_H
#define FD_MLP_SPARSE_H

#include "common/fd_common.h"

#define FD_SP_G 4 /* rows per group */
#define FD_SP_MAX_FILL 0.75 /* union share of the pixels above which dense wins */
#define FD_SP_BLOCK 64 /* output columns per pass over the groups */
#define FD_SP_PF 12 /* kept pixels ahead whose rows of W the forward prefetches */
#define FD_SP_DB_ROWS 16 /* rows per partial sum of the bias gradient */
#define FD_SP_NEXT_MAX 16 /* widest next layer whose dx the backward makes */
#define FD_SP_PAD 16 /* room past a group's pixels: a compressor's vector stores */

/* n columns of one group's output rows: y[g, j] = act(sum_u
 * v[u * FD_SP_G + g] * W[ix[u] * ldw + j] + cw[j]) for g < rows, j < n
 * (act: FD_ACT_RELU when relu, else the identity). */
#define FD_SP_FORWARD_DECL(T, SFX, ISA)                                                            \
    void fd_sp_forward_##SFX##_##ISA(int64_t u_count, const int32_t *ix, const T *v, const T *W,   \
                                     int64_t ldw, int64_t n, const T *cw, int relu, T *y,          \
                                     int64_t ldy, int rows);

/* Rows p0 <= p < p1 of the weight gradient, n columns: dW[p * lddw + j] =
 * c * db[j] + sum over the rows r whose bit is set in p's mask words
 * mk[p * nw ..] (bit r % 64 of word r / 64), in ascending order, of
 * xt[p * mp + r] * dz[r * lddz + j] (the first term a product, then
 * FMAs, as the group's weight gradient summed them). */
#define FD_SP_WGRAD_DECL(T, SFX, ISA)                                                              \
    void fd_sp_wgrad_##SFX##_##ISA(int64_t p0, int64_t p1, const T *xt, int64_t mp,                \
                                   const uint64_t *mk, int64_t nw, const T *dz, int64_t lddz, T c, \
                                   const T *db, int64_t n, T *dW, int64_t lddw);

/* One row of the backward pass's dz for a relu layer of n outputs y
 * whose dy is the next layer's dx, from that layer's cn-wide gradient dn
 * and its weights transposed (WnT, cn x n row-major): dy[j] = sum over c
 * < cn, in order, of dn[c] * WnT[c * n + j] (the first term a product,
 * then FMAs, as the product's microkernels); dz[j] = dy[j] * relu'(y[j])
 * (1, 0, or a NaN y) and ps[j] += dz[j], as fd_dz_row. */
#define FD_SP_DZ_NEXT_DECL(T, SFX, ISA)                                                            \
    void fd_sp_dz_next_##SFX##_##ISA(int64_t n, int64_t cn, const T *dn, const T *WnT, const T *y, \
                                     T *dz, T *ps);

/* A block of `rows` rows' share of the next layer's weight gradient,
 * transposed: acc[c * n + j] = sum over r < rows, in order, of dn[r * cn +
 * c] * y[r * n + j] (the first term a product, then FMAs) for c < cn, j <
 * n; y is this layer's output (the next one's input). */
#define FD_SP_WNEXT_DECL(T, SFX, ISA)                                                              \
    void fd_sp_wnext_##SFX##_##ISA(int64_t rows, int64_t n, int64_t cn, const T *y, const T *dn,   \
                                   T *acc);

/* Rows [0, rows) of the next layer's product in the forward's last pass
 * (fd_sp_head): out[r * cn + c] = sum over j < n, in order, of y[r * ldy +
 * j] * wh[j * FD_SP_NEXT_MAX + c] (from 0, an FMA a term, as the dense
 * product's microkernels), plus bh[c] when bh is not NULL, for c < cn; wh
 * and bh padded with zeros to FD_SP_NEXT_MAX columns. */
#define FD_SP_HEAD_DECL(T, SFX, ISA)                                                               \
    void fd_sp_head_##SFX##_##ISA(int64_t rows, int64_t n, int64_t cn, const T *y, int64_t ldy,    \
                                  const T *wh, const T *bh, T *out);

/* The union of `rows` (<= FD_SP_G) rows xr[0..rows) (k long each): ix gets
 * the pixels where any row differs from c (a NaN differs) in ascending
 * order, v their x - c per row (0 for the rows past `rows`), and bnd[t]
 * the count of those below starts[t] for t <= nb (starts ascending, the
 * last k: bnd[nb] is the count).  ix and v have room for k + FD_SP_PAD
 * entries (a compressor may write whole vectors past the kept ones).
 * Returns the count. */
#define FD_SP_COMPRESS_DECL(T, SFX, ISA)                                                           \
    int64_t fd_sp_compress_##SFX##_##ISA(int64_t k, const int32_t *starts, int64_t nb,             \
                                         const T *const *xr, int rows, T c, unsigned char *f,      \
                                         int32_t *ix, T *v, int32_t *bnd);

/* cw[j] = b0[j] + sum over rows r0 <= r < r1 of c * W[r, j] for j < n (b0
 * NULL: 0), each column summed in row order: the terms of the dense
 * product's background, so they overflow where its own would.  wp (NULL:
 * none) gets a copy of those rows of W, ldp apart. */
#define FD_SP_COLSUM_DECL(T, SFX, ISA)                                                             \
    void fd_sp_colsum_##SFX##_##ISA(int64_t r0, int64_t r1, const T *W, int64_t ldw, int64_t n,    \
                                    T c, const T *b0, T *cw, T *wp, int64_t ldp);

/* The backward pass's lay-out of chunk q (pixels p0 <= p < p1) by pixel:
 * clears those pixels' mask words (p's at mk + p * nw), then, for each of
 * the ng groups' kept pixels in the chunk (group g's at ix + g * kk,
 * from bnd[g * (nch + 1) + q] to bnd[g * (nch + 1) + q + 1]), copies the
 * FD_SP_G values x - c (v, FD_SP_G a kept pixel) to xt + p * mp + g *
 * FD_SP_G and sets a bit per nonzero one (a NaN is nonzero) at bit g *
 * FD_SP_G + i of p's words. */
#define FD_SP_LAYOUT_DECL(T, SFX, ISA)                                                             \
    void fd_sp_layout_##SFX##_##ISA(int64_t p0, int64_t p1, int64_t q, int64_t ng, int64_t nch,    \
                                    const int32_t *bnd, const int32_t *ix, const T *v, int64_t kk, \
                                    T *xt, int64_t mp, uint64_t *mk, int64_t nw);

/* The index of the lowest set bit of a nonzero 64-bit word. */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static __inline int fd_sp_ctz64(uint64_t b)
{
    unsigned long i;
    if (_BitScanForward(&i, (unsigned long)(b & 0xFFFFFFFFu))) return (int)i;
    _BitScanForward(&i, (unsigned long)(b >> 32));
    return (int)i + 32;
}
#else
static inline int fd_sp_ctz64(uint64_t b)
{ return __builtin_ctzll(b); }
#endif

FD_DECL_PATHS(FD_SP_FORWARD_DECL)
FD_DECL_PATHS(FD_SP_WGRAD_DECL)
FD_DECL_PATHS(FD_SP_COLSUM_DECL)
FD_DECL_PATHS(FD_SP_COMPRESS_DECL)
FD_DECL_PATHS(FD_SP_DZ_NEXT_DECL)
FD_DECL_PATHS(FD_SP_WNEXT_DECL)
FD_DECL_PATHS(FD_SP_LAYOUT_DECL)
FD_DECL_PATHS(FD_SP_HEAD_DECL)

/* The epoch's output layer, its loss and its accuracy in the sparse
 * forward's last pass, on the rows each thread has just finished (the
 * step's serial part otherwise: about 7% of a 784-256-10 fit at batch 200
 * on 2 threads): a linear layer of cn <= FD_SP_NEXT_MAX outputs, out (m x
 * cn, row-major) = y @ wn + bn (wn n x cn row-major; bn NULL: none) as
 * fd_sp_head sums it; then each row's softmax cross-entropy against lab
 * (in [0, cn)) as fd_softmax_xent_rows (loss/loss.h) makes it, its
 * gradient to dout (m x cn) and its loss to li (m); and hit[r] = 1 where
 * the row's first arg-max (a NaN wins, as np.argmax) is lab[r], else 0.
 * Pointers to T of the forward's dtype. */
typedef struct {
    const void *wn, *bn;
    int64_t cn;
    void *out, *dout;
    const int64_t *lab;
    double *li;
    unsigned char *hit;
} fd_sp_head;

/* The sparse first layer for the epoch (mlp_impl.h):
 * fd_mlp_sparse_bytes_<sfx>: its scratch for m rows of k inputs and n
 * outputs (it serves any call of up to m rows).
 * fd_mlp_sparse_may_<sfx>: 0 when a batch whose first row is x0 (k long)
 * takes the dense product whatever its other rows (a background x0[0]
 * that is not finite, or x0 keeping more than FD_SP_MAX_FILL of its
 * pixels), else 1: what the forward checks first, for a caller to check
 * before it makes the scratch.
 * fd_mlp_sparse_forward_<sfx>: y (m x n, ldy) = act(x @ W + b) for
 * x (m x k, row-major, ldx = k; with idx, row r is x's row idx[r]: the
 * batch's rows read where they are), W k x n through (w_rs, w_cs): row-major
 * (w_cs 1, w_rs >= n) or column-major (w_rs 1, w_cs >= k: a PyTorch
 * weight's transpose, copied transposed into the scratch by the column-sum
 * pass, which reads all of W anyway), b (n; NULL: none), act FD_ACT_RELU
 * or FD_ACT_IDENTITY; with hd (NULL: none; its cn in [1, FD_SP_NEXT_MAX]),
 * the next layer, its loss and accuracy too (fd_sp_head); returns 1 when
 * done, 0 when the batch is too dense or W's strides are neither (nothing
 * written to y: take the dense product).
 * fd_mlp_sparse_backward_<sfx>, after a forward call that returned 1 on the
 * same scratch and m, k, n: fd_dense_backward's dW (k x n through (dw_rs,
 * dw_cs), row-major or column-major as W above; column-major rows are
 * summed in the scratch, then copied transposed) and db for that x, dy (m x n, lddy) and y (the forward's output, m x n
 * row-major; not read after an identity forward: may be NULL then) with
 * no dx.  dy NULL: the next layer is a linear one of cn
 * <= FD_SP_NEXT_MAX outputs over this relu layer, whose gradient is dn (m
 * x cn, row-major) and weights Wn (n x cn through (wn_rs, wn_cs)): its whole backward
 * pass runs in this one's dz pass, by blocks of FD_SP_DB_ROWS rows: this
 * layer's dy = dn @ Wn^T row by row (fd_sp_dz_next), and the next layer's
 * dWn (n x cn through (dwn_rs, dwn_cs)) = y^T dn and dbn (cn) = the column sums of dn,
 * each a sum of the blocks' sums in block order (fd_sp_wnext): the bits
 * do not depend on the thread count.  Sets *done to 1 when done, 0
 * (nothing written) when db is NULL: take fd_dense_backward.  Returns
 * FD_OK, or FD_EINVAL (nothing written) for dy NULL outside those bounds
 * or without a forward pass to follow. */
#define FD_SP_DRIVER_DECL(T, SFX)                                                                  \
    size_t fd_mlp_sparse_bytes_##SFX(int64_t m, int64_t k, int64_t n);                             \
    int fd_mlp_sparse_may_##SFX(int64_t k, const T *x0);                                           \
    int fd_mlp_sparse_forward_##SFX(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *x,       \
                                    const int64_t *idx, const T *W, int64_t w_rs, int64_t w_cs,    \
                                    const T *b, int act, T *y, int64_t ldy, void *scratch,         \
                                    const fd_sp_head *hd);                                         \
    int fd_mlp_sparse_backward_##SFX(                                                              \
        fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *dy, int64_t lddy, const T *dn,       \
        int64_t cn, const T *Wn, int64_t wn_rs, int64_t wn_cs, T *dWn, int64_t dwn_rs,             \
        int64_t dwn_cs, T *dbn, const T *y, int act, T *dW, int64_t dw_rs, int64_t dw_cs, T *db,   \
        void *scratch, int *done);
/* The index of a row's first maximum of c values (a NaN beats any number,
 * as np.argmax): the train accuracy's, in the epoch and in fd_sp_head. */
#define FD_MLP_ARGMAX_DECL(T, SFX) int64_t fd_mlp_argmax_##SFX(const T *row, int64_t c);
FD_MLP_ARGMAX_DECL(float, f32)
FD_MLP_ARGMAX_DECL(double, f64)

FD_SP_DRIVER_DECL(float, f32)
FD_SP_DRIVER_DECL(double, f64)

#endif /* FD_MLP_SPARSE_H */
