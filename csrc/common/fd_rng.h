/* Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel
 * random numbers: as easy as 1, 2, 3", SC 2011; the generator of cuRAND,
 * PyTorch and JAX's philox).  A draw is a pure function of (key, counter),
 * so every thread computes the numbers of the samples it owns, with no
 * shared state: results do not depend on thread count, batch split or
 * prefetch depth.  fastdigits.reference.rng is the NumPy twin, bit for bit.
 *
 * Conventions, the same in every kernel:
 *   key     = the user's seed (64 bits, split into two 32-bit words);
 *   counter = (c0, c1, c2, c3) where c3's top 8 bits name the stream
 *             (FD_RNG_STREAM_*), so shuffling, augmentation, dropout and
 *             initialisation never share numbers, and the kernel defines
 *             the other 120 bits (typically sample index, epoch, draw block).
 */
#ifndef FD_RNG_H
#define FD_RNG_H

#include <stdint.h>

enum {
    FD_RNG_STREAM_SHUFFLE = 1,
    FD_RNG_STREAM_AUGMENT = 2,
    FD_RNG_STREAM_DROPOUT = 3,
    FD_RNG_STREAM_INIT = 4
};

typedef struct {
    uint32_t v[4];
} fd_rng4;

/* c3 with the stream id in its top 8 bits (low 24 bits: the kernel's). */
static inline uint32_t fd_rng_c3(unsigned stream, uint32_t low24)
{ return ((uint32_t)stream << 24) | (low24 & 0xFFFFFFu); }

static inline fd_rng4 fd_philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                       uint64_t seed)
{
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    fd_rng4 r;
    int round;
    for (round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    r.v[0] = c0;
    r.v[1] = c1;
    r.v[2] = c2;
    r.v[3] = c3;
    return r;
}

/* Uniform in [0, 1) from the top 24 bits: exact in float32 (and float64). */
static inline float fd_rng_uniform_f32(uint32_t u)
{ return (float)(u >> 8) * (1.0f / 16777216.0f); }

#endif /* FD_RNG_H */
