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

/* 512-bit FMA ports of this core, by the rule below (cpuid reports no
 * port count): 0 without AVX-512, 2 on an Intel CPU with AVX-512 and AMX
 * or AVX512_FP16 (Sapphire Rapids and its successors: server cores, all
 * with two), 1 on any other AVX-512 CPU (AMD Zen 4, whose 512-bit
 * operations run on 256-bit units; Intel client cores and the older
 * server cores, some of whose models have one port).  Read once. */
int fd_cpu_fma512_ports(void);

/* One level of the data cache hierarchy, as the CPU reports it. */
typedef struct {
    int64_t size; /* bytes; 0: absent or unknown */
    int line; /* bytes per line */
    int ways; /* associativity; 0: unknown or fully associative */
    int sharing; /* logical CPUs that share it (>= 1) */
} fd_cache_level;

/* Where fd_cpu_caches() found its figures. */
enum {
    FD_CACHES_DEFAULT = 0, /* nothing to read: fd_caches_default() */
    FD_CACHES_CPUID_LEAF4 = 1, /* CPUID leaf 4 (Intel deterministic cache parameters) */
    FD_CACHES_CPUID_AMD = 2, /* CPUID leaf 0x8000001D (AMD, TOPOEXT) */
    FD_CACHES_CPUID_AMD_LEGACY = 3, /* CPUID leaves 0x80000005 / 0x80000006 */
    FD_CACHES_SYSFS = 4 /* /sys/devices/system/cpu/cpu0/cache/index* */
};

/* L1 data, L2 and L3 caches of the CPU the process runs on (cpu 0). */
typedef struct {
    fd_cache_level l1d, l2, l3;
    int source; /* FD_CACHES_* */
} fd_caches;

/* The caches of this CPU: read once per process (CPUID on x86, Linux sysfs
 * elsewhere, fd_caches_default() where neither answers), thread-safely
 * (pthread_once / InitOnceExecuteOnce); the returned struct is never
 * written again.  Levels the CPU does not report are filled from the
 * defaults (L1d, L2) or left at size 0 (L3). */
const fd_caches *fd_cpu_caches(void);

/* The documented fallback: L1d 32 KiB 8-way, L2 1 MiB 8-way, L3 absent,
 * 64-byte lines, not shared (a Zen 4 core, where the per-ISA constants of
 * gemm/gemm_blocking.h were first measured). */
void fd_caches_default(fd_caches *c);

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
