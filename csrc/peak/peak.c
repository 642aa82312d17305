/* Dispatch and portable path of the machine-limit probes (see peak.h). */
#include "peak/peak.h"

#include <string.h>

#include "common/fd_omp.h"

#ifdef _OPENMP
#include <omp.h>
#endif

typedef double (*peak_fn)(int64_t, double *);

static double peak_run(fd_ctx ctx, int64_t iters, int *threads_used, double *sink, peak_fn fn)
{
    double total = 0.0, s = 0.0;
    int used = 1;
    int nt = ctx.nthreads < 1 ? 1 : ctx.nthreads;
    (void)nt; /* used only by the OpenMP directive */
    if (iters < 0) iters = 0;
    /* Every thread runs the full loop: the probe measures aggregate
     * throughput, so thread count is never reduced for small work here. */
    FD_OMP(parallel num_threads(nt) reduction(+ : total, s))
    {
        double local_sink = 0.0;
        total += fn(iters, &local_sink);
        s += local_sink;
#ifdef _OPENMP
#pragma omp master
        used = omp_get_num_threads();
#endif
    }
    if (threads_used) *threads_used = used;
    if (sink) *sink = s;
    return total;
}

/* Per dtype: the portable loop, the pick and fd_peak_fma_<sfx> (peak_impl.h). */
#define FD_TEMPLATE "peak/peak_impl.h"
#include "common/fd_template.h"

void fd_peak_copy(fd_ctx ctx, int64_t n, const uint8_t *src, uint8_t *dst)
{
    /* Split into 256 KiB blocks so each thread streams its own range. */
    const int64_t block = (int64_t)1 << 18;
    int64_t nblocks, b;
    int nt;
    if (n <= 0) return;
    nblocks = (n + block - 1) / block;
    nt = fd_threads_for(&ctx, (size_t)nblocks, 4);
    FD_PARALLEL_FOR
    for (b = 0; b < nblocks; b++) {
        int64_t lo = b * block;
        int64_t len = n - lo < block ? n - lo : block;
        memcpy(dst + lo, src + lo, (size_t)len);
    }
}
