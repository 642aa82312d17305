/* The fastdigits kernels a native (C++) PyTorch operator calls: a table of
 * function pointers that fastdigits._mlp.native_api() hands out in a
 * PyCapsule named "fastdigits.native_api" (fastdigits/torch/_native.py
 * builds the operators, mlp_op.cpp, against this header).  Plain C, no
 * fastdigits header: the operators are compiled apart from the package.
 *
 * dtype: 0 float32, 1 float64.  act: 0 identity, 1 relu.  Matrices are
 * C-contiguous (x m x k, y m x n, dy m x n, dx m x k) except the weights:
 * W (k x n) is read at W[i * w_rs + j * w_cs], dW written at
 * dW[i * dw_rs + j * dw_cs] (Wn, dWn likewise); the sparse functions take
 * them row-major (w_cs 1) or column-major (w_rs 1: a PyTorch weight's
 * transpose).  sparse_may and sparse_forward return 1 when
 * the sparse product applies / was taken (0: take the dense one); the
 * others return 0 on success.  sparse_backward: after a relu forward, with
 * the next (linear, cn <= sparse_head_max outputs) layer's backward fused
 * (dn its output gradient, Wn its n x cn weights); sparse_backward_dy: the
 * layer's own dy (y unread after an identity forward).  Contracts:
 * csrc/mlp/mlp_sparse.h, csrc/dense/dense.h. */
#ifndef FD_NATIVE_API_H
#define FD_NATIVE_API_H

#include <stddef.h>
#include <stdint.h>

#define FDN_API_VERSION 2 /* 2: the sparse functions take the weights' strides */

typedef struct {
    int isa; /* the SIMD path (fastdigits._config.kernel_context) */
    int nthreads; /* >= 1 */
    int tile; /* the float32 GEMM's tile rule: 0, the CPU's */
} fdn_ctx;

typedef struct {
    int version; /* FDN_API_VERSION */
    int sparse_head_max; /* the widest output layer sparse_backward fuses */
    int (*sparse_may)(int dtype, int64_t k, const void *x0);
    size_t (*sparse_bytes)(int dtype, int64_t m, int64_t k, int64_t n);
    int (*sparse_forward)(fdn_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n, const void *x,
                          const void *W, int64_t w_rs, int64_t w_cs, const void *b, int act,
                          void *y, void *scratch);
    int (*sparse_backward)(fdn_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n, const void *dn,
                           int64_t cn, const void *Wn, int64_t wn_rs, int64_t wn_cs, void *dWn,
                           int64_t dwn_rs, int64_t dwn_cs, void *dbn, const void *y, void *dW,
                           int64_t dw_rs, int64_t dw_cs, void *db, void *scratch);
    int (*sparse_backward_dy)(fdn_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n,
                              const void *dy, const void *y, int act, void *dW, int64_t dw_rs,
                              int64_t dw_cs, void *db, void *scratch);
    size_t (*dense_work_bytes)(fdn_ctx ctx, int dtype, int backward, int64_t m, int64_t k,
                               int64_t n);
    int (*dense_forward)(fdn_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n, const void *x,
                         const void *W, int64_t w_rs, int64_t w_cs, const void *b, int act, void *y,
                         void *work);
    int (*dense_backward)(fdn_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n, const void *dy,
                          const void *x, const void *W, int64_t w_rs, int64_t w_cs, const void *y,
                          int act, void *dx, void *dW, int64_t dw_rs, int64_t dw_cs, void *db,
                          void *work);
} fdn_api;

#endif /* FD_NATIVE_API_H */
