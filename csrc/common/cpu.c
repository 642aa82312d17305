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
    return avx512 ? FD_ISA_AVX512 : FD_ISA_AVX2;
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
