/* Run-time CPU feature detection: which fd_isa paths this CPU can run. */
#ifndef FD_CPU_H
#define FD_CPU_H

#include "common/fd_common.h"

/* Highest fd_isa the CPU and the operating system support.  Where the CPU
 * has AMX it asks Linux for the tile-data permission (arch_prctl), once per
 * process in effect; FD_ISA_AMX only when granted. */
int fd_cpu_best_isa(void);

/* AMX (AMX-TILE + AMX-BF16): 0 not in this CPU (or build), 1 in the CPU
 * but tile data not enabled or refused by the OS, 2 usable. */
int fd_cpu_amx_state(void);

/* Human-readable CPU brand string (x86) or "" when unknown. */
void fd_cpu_brand(char *buf, size_t len);

/* The compiler that built the kernels, e.g. "gcc 12.2.0". */
const char *fd_compiler_version(void);

/* 1 if this build was compiled with OpenMP, else 0. */
int fd_openmp_enabled(void);

/* omp_get_max_threads() with OpenMP, 1 without. */
int fd_omp_max_threads(void);

/* 1 when called from inside an active OpenMP parallel region. */
int fd_omp_in_parallel(void);

/* How many threads (the caller included, at most n) can run at once: starts
 * n - 1 threads that wait until all are up, then stops them.  libgomp ends
 * the process when it cannot create a team's thread, so a new, larger
 * thread count is probed this way first.  Returns n where threads are not
 * POSIX threads (not probed). */
int fd_probe_threads(int n);

#endif
