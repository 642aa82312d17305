#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syscall() for arch_prctl (AMX tile-data permission) */
#endif
#include "common/cpu.h"

#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define FD_PTHREADS 1
#else
#define FD_PTHREADS 0
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

#if FD_HAVE_X86_SIMD
#define FD_X86 1
#if defined(_MSC_VER)
#include <intrin.h>
static void fd_cpuid(int leaf, int sub, unsigned r[4])
{
    int out[4];
    __cpuidex(out, leaf, sub);
    memcpy(r, out, sizeof(out));
}
static unsigned long long fd_xgetbv(void)
{ return _xgetbv(0); }
#else
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
static void fd_cpuid(int leaf, int sub, unsigned r[4])
{ __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }
static unsigned long long fd_xgetbv(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif
#endif

#ifdef FD_X86
/* AMX tile data: the CPU has it enabled in XCR0 (bits 17 TILECFG, 18
 * TILEDATA), and on Linux the process must ask for it once
 * (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), Linux >= 5.16);
 * refused (old kernel, seccomp, ...) means no AMX path.  Asking again is
 * harmless: the permission is per process and sticky. */
static int fd_amx_permitted(void)
{
    if ((fd_xgetbv() & 0x60000ULL) != 0x60000ULL) return 0;
#if defined(__linux__) && !defined(_MSC_VER)
    {
        const long req_perm = 0x1023, get_perm = 0x1022, xtiledata = 18;
        unsigned long bits = 0;
        if (syscall(SYS_arch_prctl, req_perm, xtiledata) != 0) return 0;
        if (syscall(SYS_arch_prctl, get_perm, &bits) != 0) return 0;
        return (bits >> xtiledata) & 1;
    }
#else
    return 0; /* other OSes: untested, so not used */
#endif
}
#endif

int fd_cpu_amx_state(void)
{
#ifdef FD_X86
    unsigned r[4];
    fd_cpuid(0, 0, r);
    if (r[0] < 7) return 0;
    fd_cpuid(7, 0, r);
    if (!(((r[3] >> 22) & 1) && ((r[3] >> 24) & 1))) return 0;
    return fd_cpu_best_isa() >= FD_ISA_AMX ? 2 : 1;
#else
    return 0;
#endif
}

int fd_cpu_best_isa(void)
{
#ifdef FD_X86
    unsigned r[4];
    unsigned long long xcr0;
    int osxsave, avx2, fma, avx512;
    fd_cpuid(0, 0, r);
    if (r[0] < 7) return FD_ISA_GENERIC;
    fd_cpuid(1, 0, r);
    osxsave = (r[2] >> 27) & 1;
    fma = (r[2] >> 12) & 1;
    if (!osxsave) return FD_ISA_GENERIC;
    xcr0 = fd_xgetbv();
    /* The OS must save XMM and YMM state (bits 1, 2). */
    if ((xcr0 & 0x6) != 0x6) return FD_ISA_GENERIC;
    fd_cpuid(7, 0, r);
    avx2 = (r[1] >> 5) & 1;
    if (!(avx2 && fma)) return FD_ISA_GENERIC;
    /* AVX-512 F(16) DQ(17) BW(30) VL(31), and opmask/ZMM state (bits 5-7). */
    avx512 = ((r[1] >> 16) & 1) && ((r[1] >> 17) & 1) && ((r[1] >> 30) & 1) && ((r[1] >> 31) & 1) &&
        ((xcr0 & 0xE0) == 0xE0);
    if (!avx512) return FD_ISA_AVX2;
    {
        /* AVX512_BF16: CPUID.(7,1):EAX bit 5 */
        unsigned r1[4];
        int amx;
        if (r[0] < 1) return FD_ISA_AVX512;
        /* AMX-BF16 (EDX bit 22) and AMX-TILE (bit 24) of leaf 7.0 */
        amx = ((r[3] >> 22) & 1) && ((r[3] >> 24) & 1);
        fd_cpuid(7, 1, r1);
        if (!((r1[0] >> 5) & 1)) return FD_ISA_AVX512;
        return amx && fd_amx_permitted() ? FD_ISA_AMX : FD_ISA_AVX512_BF16;
    }
#else
    return FD_ISA_GENERIC;
#endif
}

void fd_cpu_brand(char *buf, size_t len)
{
    if (len == 0) return;
    buf[0] = '\0';
#ifdef FD_X86
    {
        unsigned r[4], words[12];
        int i;
        fd_cpuid((int)0x80000000u, 0, r);
        if (r[0] < 0x80000004u) return;
        for (i = 0; i < 3; i++) fd_cpuid((int)(0x80000002u + i), 0, words + 4 * i);
        {
            char tmp[49];
            const char *s = tmp;
            memcpy(tmp, words, 48);
            tmp[48] = '\0';
            while (*s == ' ') s++;
            strncpy(buf, s, len - 1);
            buf[len - 1] = '\0';
        }
    }
#endif
}

int fd_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fd_omp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int fd_omp_in_parallel(void)
{
#ifdef _OPENMP
    return omp_in_parallel();
#else
    return 0;
#endif
}

#if FD_PTHREADS
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int release;
} fd_probe_gate;

static void *fd_probe_wait(void *arg)
{
    fd_probe_gate *g = (fd_probe_gate *)arg;
    pthread_mutex_lock(&g->mu);
    while (!g->release) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return NULL;
}
#endif

int fd_probe_threads(int n)
{
#if FD_PTHREADS
    fd_probe_gate g;
    pthread_t *tids;
    int made = 0, i;
    if (n <= 1) return n < 1 ? 1 : n;
    tids = (pthread_t *)malloc((size_t)(n - 1) * sizeof(pthread_t));
    if (!tids) return 1;
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    g.release = 0;
    /* all alive at once, as in an OpenMP team */
    while (made < n - 1 && pthread_create(&tids[made], NULL, fd_probe_wait, &g) == 0) made++;
    pthread_mutex_lock(&g.mu);
    g.release = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    for (i = 0; i < made; i++) pthread_join(tids[i], NULL);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
    free(tids);
    return made + 1;
#else
    return n;
#endif
}

const char *fd_compiler_version(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#elif defined(_MSC_VER)
#define FD_STR2(x) #x
#define FD_STR(x) FD_STR2(x)
    return "msvc " FD_STR(_MSC_VER);
#else
    return "unknown C99 compiler";
#endif
}
