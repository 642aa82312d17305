/* GEMM driver: packing, cache blocking, threading, dispatch to the
 * micro-kernel of ctx.isa.  See gemm.h. */
#include "gemm/gemm.h"

#include <stdlib.h>

#include "act/act.h"

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

/* Cache blocks.  float: KC = 800 takes K = 784 (MNIST) in one panel, so
 * each C tile is loaded and stored once; the MR x KC micro-panel of A
 * (25 KiB) still fits L1d, and the KC x NC panel of B streams from L2/L3.
 * Measured on a Zen 4 (L1d 32 KiB, L2 1 MiB): one panel beat three
 * (KC = 384) by 1-4% at one thread on 784->256/1024, and NC = 1024 beat
 * 256 and 512.  AVX2 keeps KC = 384: with 800, a small batch reading B in
 * place (64 x 784 -> 256) lost 10%.  double keeps its 2-4 panels (KC =
 * 400 measured the same) and takes NC = 1024 too (one thread, 784->1024:
 * 48-54 against 43-52 GFLOP/s with 512). */
#define T float
#define SFX f32
#define FD_TPACK_SIMD 1 /* AVX2 8x8 transposing pack (float only) */
#define SFX_UP 32
#define GENERIC_MR 4
#define GENERIC_NR 8
#define KC_512 800
#define MC_512 256
#define NC_512 1024
#define KC_AVX2 384
#define MC_AVX2 240
#define NC_AVX2 1024
#include "gemm/gemm_impl.h"
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
#define NC_512 1024
#define KC_AVX2 256
#define MC_AVX2 192
#define NC_AVX2 512
#include "gemm/gemm_impl.h"
