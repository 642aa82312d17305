/* GEMM driver: packing, cache blocking, threading, dispatch to the
 * micro-kernel of ctx.isa.  See gemm.h. */
#include "gemm/gemm.h"

#include <limits.h>
#include <stdlib.h>

#include "act/act.h"
#include "act/act_simd.h"
#include "common/fd_fpenv.h"
#include "common/fd_omp.h"
#include "gemm/gemm_bf16.h"

void fd_gemm_ksplit_run(const fd_gemm_ksplit_job *job, int nt, const int q[2], int by_cols,
                        int64_t m, int64_t n)
{
    const fd_fpenv env = fd_fpenv_get();
    int t;
    if (by_cols) {
        const int64_t units = (n + job->blocks[0].nr - 1) / job->blocks[0].nr;
        FD_OMP(parallel for num_threads(nt) schedule(static) if (nt > 1))
        for (t = 0; t < nt; t++) {
            const fd_fpenv own = fd_fpenv_enter(env);
            int64_t i0, i1, j0, j1;
            fd_gemm_slab(&job->blocks[0], 1, units, t, nt, m, n, &i0, &i1, &j0, &j1);
            if (j1 > j0) {
                job->part(job->arg, 0, j0, j1, t);
                job->part(job->arg, 1, j0, j1, t);
                job->join(job->arg, 0, m, j0, j1);
            }
            fd_fpenv_leave(own);
        }
        return;
    }
    FD_OMP(parallel num_threads(nt) if (nt > 1))
    {
        const fd_fpenv own = fd_fpenv_enter(env);
    FD_OMP(for schedule(static))
    for (t = 0; t < q[0] + q[1]; t++) {
        const int part = t >= q[0], slab = part ? t - q[0] : t;
        const int64_t units = (n + job->blocks[part].nr - 1) / job->blocks[part].nr;
        int64_t i0, i1, j0, j1;
        fd_gemm_slab(&job->blocks[part], 1, units, slab, q[part], m, n, &i0, &i1, &j0, &j1);
        if (j1 > j0) job->part(job->arg, part, j0, j1, nt > 1 ? t : 0);
    }
    FD_OMP(for schedule(static))
    for (t = 0; t < nt; t++) {
        const int64_t r0 = m * t / nt, r1 = m * (t + 1) / nt;
        if (r1 > r0) job->join(job->arg, r0, r1, 0, n);
    }
    fd_fpenv_leave(own);
    }
}

/* Blocking: gemm_blocking.h. */
#define FD_TEMPLATE "gemm/gemm_impl.h"
#include "common/fd_template.h"
