/* Fused pixel normalisation: dispatch, threading and the portable path.
 *
 * out = (T)in * a + c with a = (T)(scale/std), c = (T)(-mean/std): one IEEE
 * multiply then one add in the output precision T (never fused into an FMA),
 * so every SIMD path and thread count gives bit-identical results.  See
 * normalize.h for the API. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* mincore() */
#endif
#include "normalize/normalize.h"
#include "normalize/normalize_internal.h"
#include "common/fd_fpenv.h"
#include "common/fd_omp.h"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#define FD_HAVE_MINCORE 1
#endif

/* Elements per thread below which a call stays serial: a thread start-up
 * (a few microseconds) costs about as much as converting this many. */
#define FD_NORM_GRAIN ((size_t)1 << 16)

/* Outputs of at least this many bytes are written with non-temporal stores:
 * they cannot stay in the cache anyway, and streaming avoids reading every
 * output line before writing it (a third of the memory traffic). */
#ifndef FD_NORM_STREAM_BYTES
#define FD_NORM_STREAM_BYTES ((uint64_t)16 << 20)
#endif

/* 1 when a sampled page of [p, p + bytes) is not yet backed by memory: a
 * fresh allocation, which the OS zeroes on first write and leaves in cache,
 * so regular stores beat streaming ones (that would have to evict those
 * lines first).  Four one-page mincore() probes; elsewhere assume touched. */
static int fd_norm_untouched(const void *p, uint64_t bytes)
{
#ifdef FD_HAVE_MINCORE
    long pg = sysconf(_SC_PAGESIZE);
    int k;
    if (pg <= 0 || bytes == 0) return 0;
    for (k = 0; k < 4; k++) {
        uintptr_t a = (uintptr_t)p + (uintptr_t)((bytes - 1) / 3 * (uint64_t)k);
        unsigned char v = 1;
        a &= ~(uintptr_t)(pg - 1);
        if (mincore((void *)a, (size_t)pg, &v) == 0 && !(v & 1)) return 1;
    }
#else
    (void)p;
    (void)bytes;
#endif
    return 0;
}

/* Start of thread t's range of n elements split nt ways, rounded down to the
 * next boundary head + k*lane (a 64-byte line of the output). */
static int64_t fd_norm_bound(int64_t n, int nt, int t, int64_t head, int64_t lane)
{
    int64_t b;
    if (t <= 0) return 0;
    if (t >= nt) return n;
    b = (n / nt) * t + ((n % nt) * t) / nt;
    if (b > head) b = head + ((b - head) / lane) * lane;
    return b < n ? b : n;
}

#define FD_TEMPLATE "normalize/normalize_impl.h"
#include "common/fd_template.h"

int fd_normalize_u8_ex(fd_ctx ctx, int dtype, int64_t n, const uint8_t *in, void *out, double scale,
                       double mean, double std, int store)
{
    if (dtype == FD_F32)
        fd_normalize_u8_f32_ex(ctx, n, in, out, scale, mean, std, store);
    else if (dtype == FD_F64)
        fd_normalize_u8_f64_ex(ctx, n, in, out, scale, mean, std, store);
    else
        return FD_EINVAL;
    return FD_OK;
}

int fd_normalize_u8_tail_inplace(fd_ctx ctx, int dtype, int64_t n, void *buf, double scale,
                                 double mean, double std)
{
    if (dtype == FD_F32)
        fd_normalize_u8_f32_tail_inplace(ctx, n, buf, scale, mean, std);
    else if (dtype == FD_F64)
        fd_normalize_u8_f64_tail_inplace(ctx, n, buf, scale, mean, std);
    else
        return FD_EINVAL;
    return FD_OK;
}
