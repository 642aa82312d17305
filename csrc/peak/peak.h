/* Machine limits for `fastdigits bench`: a calibrated FMA-throughput loop
 * (the "peak" every matrix row is compared with) and a parallel memory copy
 * (the rate every streaming row is compared with).  Not used by kernels. */
#ifndef FD_PEAK_H
#define FD_PEAK_H

#include "common/fd_common.h"

/* Run `iters` iterations of an FMA-bound loop on each of ctx.nthreads
 * threads with the ctx.isa path.  Returns the floating-point operations done
 * in total (an FMA counts as 2); *threads_used receives the thread count
 * really started.  *sink receives a value derived from the accumulators so
 * the work cannot be optimised away. */
double fd_peak_fma_f32(fd_ctx ctx, int64_t iters, int *threads_used, double *sink);
double fd_peak_fma_f64(fd_ctx ctx, int64_t iters, int *threads_used, double *sink);

/* dst[0:n] = src[0:n] on ctx.nthreads threads (static split).  The buffers
 * must not overlap. */
void fd_peak_copy(fd_ctx ctx, int64_t n, const uint8_t *src, uint8_t *dst);

/* Per-thread loops, one per path (peak_avx2.c, peak_avx512.c); each returns
 * the flops it did.  Callers check the CPU first. */
double fd_peak_fma_f32_avx2(int64_t iters, double *sink);
double fd_peak_fma_f64_avx2(int64_t iters, double *sink);
double fd_peak_fma_f32_avx512(int64_t iters, double *sink);
double fd_peak_fma_f64_avx512(int64_t iters, double *sink);

#endif
