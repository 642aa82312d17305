/* GEMM driver: packing, cache blocking, threading, dispatch to the
 * micro-kernel of ctx.isa.  See gemm.h. */
#include "gemm/gemm.h"

#include <stdlib.h>

#include "act/act.h"
#include "common/fd_omp.h"
#include "gemm/gemm_bf16.h"

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
#define FD_TEMPLATE "gemm/gemm_impl.h"
#include "common/fd_template.h"
