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
 * assist on every FMA that touches them (an MNIST fit without shuffling
 * ran its epochs from the 15th on 17x slower).
 *
 * Only the control bits are set and restored; the sticky exception flags
 * are left as the kernel leaves them.  On AArch64 (GCC, Clang) the same is
 * done with FPCR, whose FZ bit flushes denormals (the flags live apart, in
 * FPSR); elsewhere these are no-ops and kernels compute in the thread's own
 * environment. */
#ifndef FD_FPENV_H
#define FD_FPENV_H

#include <stdint.h>

#include "common/fd_common.h"

typedef unsigned int fd_fpenv;

#if defined(__SSE__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 1)
#include <xmmintrin.h>
#define FD_HAVE_FPENV 1
#define FD_FPENV_FLAGS 0x3Fu /* MXCSR bits 0-5: sticky exception flags */
#define FD_FPENV_FLUSH 0x8040u /* MXCSR bit 15 FTZ, bit 6 DAZ */
FD_INLINE fd_fpenv fd_fpenv_read_(void)
{ return _mm_getcsr(); }
FD_INLINE void fd_fpenv_write_(fd_fpenv r)
{ _mm_setcsr(r); }
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define FD_HAVE_FPENV 1
#define FD_FPENV_FLAGS 0u /* FPCR holds controls only */
#define FD_FPENV_FLUSH (1u << 24) /* FPCR.FZ */
FD_INLINE fd_fpenv fd_fpenv_read_(void)
{
    uint64_t r;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(r));
    return (fd_fpenv)r; /* bits 32-63 are reserved (zero) */
}
FD_INLINE void fd_fpenv_write_(fd_fpenv r)
{
    const uint64_t v = r;
    __asm__ __volatile__("msr fpcr, %0" : : "r"(v));
}
#else
#define FD_HAVE_FPENV 0
#define FD_FPENV_FLAGS 0u
#define FD_FPENV_FLUSH 0u
FD_INLINE fd_fpenv fd_fpenv_read_(void)
{ return 0; }
FD_INLINE void fd_fpenv_write_(fd_fpenv r)
{ (void)r; }
#endif

/* The calling thread's control bits. */
FD_INLINE fd_fpenv fd_fpenv_get(void)
{ return fd_fpenv_read_() & ~FD_FPENV_FLAGS; }

FD_INLINE fd_fpenv fd_fpenv_flushing(fd_fpenv env)
{ return env | FD_FPENV_FLUSH; }

/* Run under the control bits `env` from here; returns the thread's own,
 * for fd_fpenv_leave.  Costs one register read when they are already set. */
FD_INLINE fd_fpenv fd_fpenv_enter(fd_fpenv env)
{
    const fd_fpenv r = fd_fpenv_read_();
    if ((r & ~FD_FPENV_FLAGS) != env) fd_fpenv_write_((r & FD_FPENV_FLAGS) | env);
    return r & ~FD_FPENV_FLAGS;
}

/* Back to the control bits `own` (fd_fpenv_enter's result). */
FD_INLINE void fd_fpenv_leave(fd_fpenv own)
{
    const fd_fpenv r = fd_fpenv_read_();
    if ((r & ~FD_FPENV_FLAGS) != own) fd_fpenv_write_((r & FD_FPENV_FLAGS) | own);
}

#endif /* FD_FPENV_H */
