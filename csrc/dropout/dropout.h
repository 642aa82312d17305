/* Inverted dropout with a counter-based mask (Philox4x32-10, common/fd_rng.h).
 *
 * out[i] = 0 where element i is dropped, else x[i] * (T)(1 / (1 - p)).
 * Element i is dropped when the top 24 bits of its 32-bit Philox word,
 * read as the uniform u = (w >> 8) / 2^24, satisfy u < p.
 *
 * Counter (key = seed): element i uses word i % 4 of the block
 *   q = i / 4:  c0 = low 32 bits of q, c1 = high 32 bits of q,
 *               c2 = `c2` (0 for fd_dropout; the MLP's global step),
 *               c3 = FD_RNG_STREAM_DROPOUT << 24 | `tag` (24 bits; 0 for
 *               fd_dropout, 1 + layer in the MLP: see mlp.h).
 * A mask is a pure function of (seed, counter): results are bit-identical
 * for any thread count and SIMD path, and a backward pass re-derives the
 * mask instead of storing it (dropout's backward is the same call on dy).
 * x may equal out (in place); a dropped NaN or inf becomes 0.
 * Returns FD_OK, or FD_EINVAL (nothing written) for n < 0 or p outside
 * [0, 1). */
#ifndef FD_DROPOUT_H
#define FD_DROPOUT_H

#include "common/fd_common.h"

#define FD_DROPOUT_DECL(T, SFX)                                                                    \
    int fd_dropout_##SFX(fd_ctx ctx, int64_t n, const T *x, T *out, double p, uint64_t seed);      \
    int fd_dropout_ex_##SFX(fd_ctx ctx, int64_t n, const T *x, T *out, double p, uint64_t seed,    \
                            uint32_t c2, uint32_t tag);

FD_DROPOUT_DECL(float, f32)
FD_DROPOUT_DECL(double, f64)

#endif
