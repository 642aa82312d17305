/* GEMM driver: packing, cache blocking, threading, dispatch to the
 * micro-kernel of ctx.isa.  See gemm.h. */
#include "gemm/gemm.h"

#include <stdlib.h>

#include "act/act.h"
#include "common/fd_omp.h"
#include "gemm/gemm_bf16.h"

#define FD_CAT2(a, b) a##b
#define FD_CAT(a, b) FD_CAT2(a, b)
#define FD_ALIGN 64
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

/* Blocking: gemm_blocking.h. */
#define T float
#define SFX f32
#define FD_TPACK_SIMD 1 /* AVX2 8x8 transposing pack (float only) */
#define SFX_UP 32
#include "gemm/gemm_impl.h"
#undef T
#undef SFX
#undef SFX_UP
#undef FD_TPACK_SIMD
#define FD_TPACK_SIMD 0

#define T double
#define SFX f64
#define SFX_UP 64
#include "gemm/gemm_impl.h"
