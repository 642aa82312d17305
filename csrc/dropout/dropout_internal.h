/* Private to dropout*.c: the per-ISA range workers behind fd_dropout_*.
 *
 * A range worker handles the Philox blocks q0 <= q < q1 (elements 4q ..
 * 4q+3, those below n) with the plan's threshold, scale and counter words:
 * out = (w >> 8) < thr ? 0 : x * scale.  The same portable
 * body (dropout_simd_impl.h) is compiled per instruction set, so the
 * compiler vectorises the generator with that set's 32x32->64 multiplies;
 * one multiply per kept element, so every path gives the same bits.
 * fd_dropout_tile_* is the tile worker of fd_drop_plan (dropout.h), from
 * the same body; fd_drop_plan_init picks both for the SIMD path. */
#ifndef FD_DROPOUT_INTERNAL_H
#define FD_DROPOUT_INTERNAL_H

#include "common/fd_common.h"
#include "dropout/dropout.h"

#define FD_DROPOUT_WORKER_DECL(T, SFX, ISA)                                                        \
    void fd_dropout_range_##SFX##_##ISA(const fd_drop_plan_##SFX *d, int64_t q0, int64_t q1,       \
                                        const T *x, T *out);                                       \
    void fd_dropout_tile_##SFX##_##ISA(const fd_drop_plan_##SFX *d, int64_t i0, int64_t j0,        \
                                       int64_t rows, int64_t cols, const T *src, int64_t lds,      \
                                       T *dst, int64_t ldd, T *keep, int64_t ldk);

FD_DECL_PATHS(FD_DROPOUT_WORKER_DECL)

#endif
