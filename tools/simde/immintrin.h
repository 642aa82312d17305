/* Emulated AVX-512 for testing the *_avx512.c units on a CPU without it
 * (setup.py's FASTDIGITS_EMULATE_AVX512=<simde include dir>, never a
 * shipped build).  Put first on those units' include path, it stands in
 * for the compiler's <immintrin.h>: the real header for the instruction
 * sets the unit is compiled for (AVX2, FMA, F16C), then SIMDe's portable
 * AVX-512 (https://github.com/simd-everywhere/simde) under the intrinsics'
 * own names; below, lane by lane, the intrinsics SIMDe lacks and those
 * whose SIMDe version differs from the hardware (vrndscaleps, masked loads
 * and stores).
 */
#ifndef FD_SIMDE_IMMINTRIN_H
#define FD_SIMDE_IMMINTRIN_H

#include_next <immintrin.h>

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

/* 8 int64 lanes from base + 4-byte-scaled 32-bit indices (the low 8 of
 * idx), as vpgatherdq with scale 4 */
static inline simde__m512i fd_emul_i32gather_epi64(simde__m256i idx, const void *base, int scale)
{
    int32_t ix[8];
    int64_t out[8];
    memcpy(ix, &idx, sizeof ix);
    for (int i = 0; i < 8; i++)
        memcpy(&out[i], (const char *)base + (int64_t)ix[i] * scale, 8);
    simde__m512i r;
    memcpy(&r, out, sizeof r);
    return r;
}
#undef _mm512_i32gather_epi64
#define _mm512_i32gather_epi64(idx, base, scale) fd_emul_i32gather_epi64((idx), (base), (scale))

/* non-temporal stores: plain stores here (the values are what matter) */
#undef _mm512_stream_ps
#define _mm512_stream_ps(p, v) simde_mm512_storeu_ps((p), (v))
#undef _mm512_stream_pd
#define _mm512_stream_pd(p, v) simde_mm512_storeu_pd((p), (v))
#undef _mm512_stream_si512
#define _mm512_stream_si512(p, v) simde_mm512_storeu_si512((p), (v))

/* 8 int32 -> 8 double, as vcvtdq2pd */
static inline simde__m512d fd_emul_cvtepi32_pd(simde__m256i a)
{
    int32_t v[8];
    double out[8];
    memcpy(v, &a, sizeof v);
    for (int i = 0; i < 8; i++) out[i] = (double)v[i];
    return simde_mm512_loadu_pd(out);
}
#undef _mm512_cvtepi32_pd
#define _mm512_cvtepi32_pd(a) fd_emul_cvtepi32_pd(a)

/* vrndscaleps with no fraction bits kept (imm bits 7:4 zero), the rounding
 * of imm bits 1:0; SIMDe's version reads _MM_FROUND_NO_EXC (bit 3) as part
 * of the scale (floor(-3.2) gave -3.5) */
static inline simde__m512 fd_emul_roundscale_ps(simde__m512 a, int imm)
{
    float v[16];
    simde_mm512_storeu_ps(v, a);
    for (int i = 0; i < 16; i++) {
        switch (imm & 3) {
        case 0: v[i] = nearbyintf(v[i]); break; /* (the default mode: to even) */
        case 1: v[i] = floorf(v[i]); break;
        case 2: v[i] = ceilf(v[i]); break;
        default: v[i] = truncf(v[i]); break;
        }
    }
    return simde_mm512_loadu_ps(v);
}
#undef _mm512_roundscale_ps
#define _mm512_roundscale_ps(a, imm) fd_emul_roundscale_ps((a), (imm))

/* Masked loads and stores lane by lane: SIMDe's read (and write back) the
 * whole vector, which faults past the end of a buffer and, for a store,
 * rewrites lanes another thread may be writing; the hardware touches only
 * the lanes in the mask. */
#define FD_EMUL_MASKED(T, E, N, M, SFX)                                                      \
    static inline T fd_emul_mask_loadu_##SFX(T src, M k, const void *p)                      \
    {                                                                                        \
        E v[N];                                                                              \
        memcpy(v, &src, sizeof v);                                                           \
        for (int i = 0; i < N; i++)                                                          \
            if ((k >> i) & 1) memcpy(&v[i], (const E *)p + i, sizeof(E));                    \
        T r;                                                                                 \
        memcpy(&r, v, sizeof r);                                                             \
        return r;                                                                            \
    }                                                                                        \
    static inline T fd_emul_maskz_loadu_##SFX(M k, const void *p)                            \
    {                                                                                        \
        T z;                                                                                 \
        memset(&z, 0, sizeof z);                                                             \
        return fd_emul_mask_loadu_##SFX(z, k, p);                                            \
    }                                                                                        \
    static inline void fd_emul_mask_storeu_##SFX(void *p, M k, T a)                          \
    {                                                                                        \
        E v[N];                                                                              \
        memcpy(v, &a, sizeof v);                                                             \
        for (int i = 0; i < N; i++)                                                          \
            if ((k >> i) & 1) memcpy((E *)p + i, &v[i], sizeof(E));                          \
    }
FD_EMUL_MASKED(simde__m512, float, 16, simde__mmask16, ps)
FD_EMUL_MASKED(simde__m512d, double, 8, simde__mmask8, pd)
FD_EMUL_MASKED(simde__m512i, int32_t, 16, simde__mmask16, epi32)
#undef _mm512_mask_loadu_ps
#undef _mm512_maskz_loadu_ps
#undef _mm512_mask_storeu_ps
#undef _mm512_mask_loadu_pd
#undef _mm512_maskz_loadu_pd
#undef _mm512_mask_storeu_pd
#undef _mm512_maskz_loadu_epi32
#undef _mm512_mask_storeu_epi32
#define _mm512_mask_loadu_ps(s, k, p) fd_emul_mask_loadu_ps((s), (k), (p))
#define _mm512_maskz_loadu_ps(k, p) fd_emul_maskz_loadu_ps((k), (p))
#define _mm512_mask_storeu_ps(p, k, a) fd_emul_mask_storeu_ps((p), (k), (a))
#define _mm512_mask_loadu_pd(s, k, p) fd_emul_mask_loadu_pd((s), (k), (p))
#define _mm512_maskz_loadu_pd(k, p) fd_emul_maskz_loadu_pd((k), (p))
#define _mm512_mask_storeu_pd(p, k, a) fd_emul_mask_storeu_pd((p), (k), (a))
#define _mm512_maskz_loadu_epi32(k, p) fd_emul_maskz_loadu_epi32((k), (p))
#define _mm512_mask_storeu_epi32(p, k, a) fd_emul_mask_storeu_epi32((p), (k), (a))

#endif
