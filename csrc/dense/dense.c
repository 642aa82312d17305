/* Fused dense layers on top of the GEMM core (see dense.h, gemm.h).
 *
 * Forward: one GEMM whose epilogue adds the bias, keeps z and applies the
 * activation while each output tile is in registers.
 * Backward: one pass over dy computes dz = dy * act'(.) and the bias
 * gradient (fixed 64-row chunks summed in a fixed order: deterministic),
 * then dW = x^T dz and dx = dz W^T are two GEMMs reading dz, x and W through
 * strides (no transposed copies).  For the identity activation dz is dy.
 * Dropout (dense.h: fd_dense_drop) is fused into both: the forward GEMM's
 * tile hook masks each finished output tile, and the dz pass masks dy
 * (then dz is always made, also for the identity).
 */
#include "dense/dense.h"

#include <stdlib.h>
#include <string.h>

#include "act/act_simd.h"
#include "act/act.h"
#include "common/fd_fpenv.h"
#include "common/fd_omp.h"
#include "dropout/dropout.h"
#include "gemm/gemm.h"
#include "gemm/gemm_bf16.h"

#define FD_DB_CHUNK 64 /* rows per partial bias-gradient sum */

static size_t fd_align_up(size_t v)
{ return (v + 63) & ~(size_t)63; }
static void *fd_align64(void *p)
{ return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

#define FD_TEMPLATE "dense/dense_impl.h"
#include "common/fd_template.h"

/* The dtype-dispatching entries (dense.h): the _f32 or _f64 instance. */
size_t fd_dense_work_bytes(fd_ctx ctx, int dtype, int pass, int64_t m, int64_t k, int64_t n)
{
    int f64 = dtype == FD_F64;
    if (dtype != FD_F32 && !f64) return 0;
    switch (pass) {
    case FD_DENSE_MATMUL:
        return f64 ? fd_gemm_work_bytes_f64(ctx, m, k, n) : fd_gemm_work_bytes_f32(ctx, m, k, n);
    case FD_DENSE_FORWARD:
        return f64 ? fd_dense_forward_work_bytes_f64(ctx, m, k, n)
                   : fd_dense_forward_work_bytes_f32(ctx, m, k, n);
    case FD_DENSE_BACKWARD:
        return f64 ? fd_dense_backward_work_bytes_f64(ctx, m, k, n)
                   : fd_dense_backward_work_bytes_f32(ctx, m, k, n);
    default: return 0;
    }
}

int fd_dense_matmul(fd_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n, const void *A,
                    int64_t a_rs, int64_t a_cs, const void *B, int64_t b_rs, int64_t b_cs, void *C,
                    int64_t c_rs, int64_t c_cs, void *work)
{
    if (dtype == FD_F32)
        return fd_gemm_f32(ctx, m, k, n, A, a_rs, a_cs, B, b_rs, b_cs, C, c_rs, c_cs, NULL, work);
    if (dtype == FD_F64)
        return fd_gemm_f64(ctx, m, k, n, A, a_rs, a_cs, B, b_rs, b_cs, C, c_rs, c_cs, NULL, work);
    return FD_EINVAL;
}

int fd_dense_forward(fd_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n, const void *x,
                     int64_t ldx, const void *W, int64_t w_rs, int64_t w_cs, const void *b, int act,
                     void *y, int64_t ldy, void *z, int64_t ldz, const fd_dense_drop *drop,
                     void *yk, int64_t ldyk, const uint32_t *w_packed, void *work)
{
    if (dtype == FD_F32)
        return fd_dense_forward_f32(ctx, m, k, n, x, ldx, W, w_rs, w_cs, b, act, y, ldy, z, ldz,
                                    drop, yk, ldyk, w_packed, work);
    if (dtype == FD_F64 && !w_packed) /* packed words are bfloat16 pairs */
        return fd_dense_forward_f64(ctx, m, k, n, x, ldx, W, w_rs, w_cs, b, act, y, ldy, z, ldz,
                                    drop, yk, ldyk, NULL, work);
    return FD_EINVAL;
}

int64_t fd_dense_packed_words(fd_ctx ctx, int64_t k, int64_t n)
{ return ctx.precision == FD_PREC_BF16 ? fd_gemm_bf16_packed_words(ctx, k, n) : 0; }

int fd_dense_pack_weights(fd_ctx ctx, int64_t k, int64_t n, const float *W, int64_t w_rs,
                          uint32_t *dst)
{
    /* row chunks of an even count (pack_rows never splits a pair) */
    const int64_t rows = 64, nch = (k + rows - 1) / rows;
    int64_t ch;
    int nt;
    if (ctx.precision != FD_PREC_BF16) return FD_EINVAL;
    if (k < 1 || n < 1) return FD_OK;
    nt = fd_threads_for(&ctx, (size_t)(k * n), (size_t)1 << 16);
    FD_PARALLEL_FOR
    for (ch = 0; ch < nch; ch++) {
        const int64_t r0 = ch * rows, r1 = r0 + rows < k ? r0 + rows : k;
        fd_gemm_bf16_pack_rows(ctx, k, n, r0, r1, W, w_rs, dst);
    }
    return FD_OK;
}

int fd_dense_backward(fd_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n, const void *dy,
                      int64_t lddy, const void *x, int64_t ldx, const void *W, int64_t w_rs,
                      int64_t w_cs, const void *yz, int64_t ldyz, int yz_is_preact, int act,
                      void *dx, int64_t lddx, void *dW, int64_t dw_rs, int64_t dw_cs, void *db,
                      int accumulate, const fd_dense_drop *drop, void *work)
{
    if (dtype == FD_F32)
        return fd_dense_backward_f32(ctx, m, k, n, dy, lddy, x, ldx, W, w_rs, w_cs, yz, ldyz,
                                     yz_is_preact, act, dx, lddx, dW, dw_rs, dw_cs, db, accumulate,
                                     drop, work);
    if (dtype == FD_F64)
        return fd_dense_backward_f64(ctx, m, k, n, dy, lddy, x, ldx, W, w_rs, w_cs, yz, ldyz,
                                     yz_is_preact, act, dx, lddx, dW, dw_rs, dw_cs, db, accumulate,
                                     drop, work);
    return FD_EINVAL;
}
