#include "cpu.h"

#include <string.h>

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
static unsigned long long fd_xgetbv(void) { return _xgetbv(0); }
#else
#include <cpuid.h>
static void fd_cpuid(int leaf, int sub, unsigned r[4])
{
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}
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
    avx512 = ((r[1] >> 16) & 1) && ((r[1] >> 17) & 1) && ((r[1] >> 30) & 1) &&
             ((r[1] >> 31) & 1) && ((xcr0 & 0xE0) == 0xE0);
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
