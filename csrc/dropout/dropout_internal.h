/* Private to dropout*.c: the per-ISA range workers behind fd_dropout_*.
 *
 * A worker handles the Philox blocks q0 <= q < q1 (elements 4q .. 4q+3,
 * those below n): out = (w >> 8) < thr ? 0 : x * scale.  The same portable
 * body (dropout_simd_impl.h) is compiled per instruction set, so the
 * compiler vectorises the generator with that set's 32x32->64 multiplies;
 * one multiply per kept element, so every path gives the same bits. */
#ifndef FD_DROPOUT_INTERNAL_H
#define FD_DROPOUT_INTERNAL_H

#include "common/fd_common.h"

#define FD_DROPOUT_WORKER_DECL(T, SFX, ISA)                                                        \
    void fd_dropout_range_##SFX##_##ISA(int64_t q0, int64_t q1, int64_t n, const T *x, T *out,     \
                                        uint32_t thr, T scale, uint64_t seed, uint32_t c2,         \
                                        uint32_t c3);

FD_DECL_PATHS(FD_DROPOUT_WORKER_DECL)

#endif
