/* GEMM driver: packing, cache blocking, threading, dispatch to the
 * micro-kernel of ctx.isa.  See gemm.h. */
#include "gemm.h"

#include <stdlib.h>

#include "activations.h"

#define FD_CAT2(a, b) a##b
#define FD_CAT(a, b) FD_CAT2(a, b)
#define FD_ALIGN 64
/* Largest MR x NR tile of any micro-kernel (elements). */
#define FD_TILE_MAX 256
#if defined(_MSC_VER)
#define FD_ALIGNED64(decl) __declspec(align(64)) decl
#else
#define FD_ALIGNED64(decl) decl __attribute__((aligned(64)))
#endif

static void *fd_align_ptr(void *p)
{
    uintptr_t u = (uintptr_t)p;
    return (void *)((u + FD_ALIGN - 1) & ~(uintptr_t)(FD_ALIGN - 1));
}

/* Cache blocks for this CPU class (L1d 48 KiB, L2 2 MiB per core): an
 * MR x KC micro-panel of A stays in L1, the KC x NC panel of B in L2
 * (<= 1.5 MiB), and KC = 384 keeps K = 784 to 3 equal panels. */
#define T float
#define SFX f32
#define FD_TPACK_SIMD 1 /* AVX2 8x8 transposing pack (float only) */
#define SFX_UP 32
#define GENERIC_MR 4
#define GENERIC_NR 8
#define KC_512 384
#define MC_512 256
#define NC_512 1024
#define KC_AVX2 384
#define MC_AVX2 240
#define NC_AVX2 1024
#include "gemm_impl.h"
#undef T
#undef SFX
#undef SFX_UP
#undef FD_TPACK_SIMD
#define FD_TPACK_SIMD 0
#undef GENERIC_MR
#undef GENERIC_NR
#undef KC_512
#undef MC_512
#undef NC_512
#undef KC_AVX2
#undef MC_AVX2
#undef NC_AVX2

#define T double
#define SFX f64
#define SFX_UP 64
#define GENERIC_MR 4
#define GENERIC_NR 4
#define KC_512 256
#define MC_512 192
#define NC_512 512
#define KC_AVX2 256
#define MC_AVX2 192
#define NC_AVX2 512
#include "gemm_impl.h"
