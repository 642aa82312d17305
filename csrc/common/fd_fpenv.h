/* The floating-point environment kernels compute in.
 *
 * x86 keeps the denormal controls (FTZ, DAZ) and the rounding mode per
 * thread, in MXCSR.  OpenMP workers keep whatever state they were left in,
 * so a kernel whose blocks ran in whichever thread's MXCSR could give a
 * block computed by a worker other bits than the same block computed by
 * the caller.  Every parallel region therefore captures the caller's
 * controls (fd_fpenv_get) and runs each block under them (fd_fpenv_enter /
 * fd_fpenv_leave), then puts the worker's own back: the kernels compute
 * as if serially in the calling thread's environment (so they follow,
 * say, torch.set_flush_denormal in the caller), and leave no state behind.
 *
 * fd_fpenv_flushing: the same controls with FTZ and DAZ set (denormal
 * results and operands taken as zero), which the MLP's training and
 * inference entry points use for their whole call (fd_ctx.flush_denormals):
 * gradients that fade into the denormal range otherwise cost a microcode
 * assist on every FMA that touches them (an MNIST epoch ran 5x slower once
 * training had converged).
 *
 * Only the control bits are set and restored; the sticky exception flags
 * are left as the kernel leaves them.  Elsewhere (no SSE) these are
 * no-ops: the portable build computes in the thread's own environment. */
#ifndef FD_FPENV_H
#define FD_FPENV_H

#include "common/fd_common.h"

#if defined(__SSE__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 1)
#include <xmmintrin.h>
#define FD_HAVE_MXCSR 1
#else
#define FD_HAVE_MXCSR 0
#endif

typedef unsigned int fd_fpenv;

#define FD_FPENV_FLAGS 0x3Fu /* MXCSR bits 0-5: sticky exception flags */
#define FD_FPENV_FLUSH 0x8040u /* MXCSR bit 15 FTZ, bit 6 DAZ */

/* The calling thread's control bits. */
FD_INLINE fd_fpenv fd_fpenv_get(void)
{
#if FD_HAVE_MXCSR
    return _mm_getcsr() & ~FD_FPENV_FLAGS;
#else
    return 0;
#endif
}

FD_INLINE fd_fpenv fd_fpenv_flushing(fd_fpenv env)
{ return env | FD_FPENV_FLUSH; }

/* Run under the control bits `env` from here; returns the thread's own,
 * for fd_fpenv_leave.  Costs one MXCSR read when they are already set. */
FD_INLINE fd_fpenv fd_fpenv_enter(fd_fpenv env)
{
#if FD_HAVE_MXCSR
    const unsigned int csr = _mm_getcsr();
    if ((csr & ~FD_FPENV_FLAGS) != env) _mm_setcsr((csr & FD_FPENV_FLAGS) | env);
    return csr & ~FD_FPENV_FLAGS;
#else
    (void)env;
    return 0;
#endif
}

/* Back to the control bits `own` (fd_fpenv_enter's result). */
FD_INLINE void fd_fpenv_leave(fd_fpenv own)
{
#if FD_HAVE_MXCSR
    const unsigned int csr = _mm_getcsr();
    if ((csr & ~FD_FPENV_FLAGS) != own) _mm_setcsr((csr & FD_FPENV_FLAGS) | own);
#else
    (void)own;
#endif
}

#endif /* FD_FPENV_H */
