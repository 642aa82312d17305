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
#if defined(FD_EMULATE_AVX512) && defined(FD_X86)
    /* a test build whose AVX-512 units run on SIMDe (setup.py's
     * FASTDIGITS_EMULATE_AVX512): their path on an AVX2 CPU */
    return FD_ISA_AVX512;
#elif defined(FD_X86)
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

#ifdef FD_X86
/* Is the CPUID vendor string (leaf 0: EBX, EDX, ECX) `name`? */
static int fd_cpu_vendor_is(const char *name)
{
    unsigned r[4];
    char vendor[13];
    fd_cpuid(0, 0, r);
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    vendor[12] = '\0';
    return strcmp(vendor, name) == 0;
}
#endif

/* See cpu.h.  Read once (a benign race: every thread computes the same). */
static int fd_cpu_fma512_ports_detect(void)
{
#ifdef FD_X86
    unsigned r[4];
    if (fd_cpu_best_isa() < FD_ISA_AVX512) return 0;
    if (!fd_cpu_vendor_is("GenuineIntel")) return 1;
    fd_cpuid(7, 0, r);
    /* AMX-TILE (EDX bit 24) or AVX512_FP16 (EDX bit 23) */
    return ((r[3] >> 24) & 1) || ((r[3] >> 23) & 1) ? 2 : 1;
#else
    return 0;
#endif
}

int fd_cpu_fma512_ports(void)
{
    static volatile int ports = -1;
    if (ports < 0) ports = fd_cpu_fma512_ports_detect();
    return ports;
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

#ifdef FD_EMULATE_AVX512
#define FD_BUILD_NOTE " (test build: AVX-512 emulated by SIMDe)"
#else
#define FD_BUILD_NOTE ""
#endif

const char *fd_compiler_version(void)
{
#if defined(__clang__)
    return "clang " __clang_version__ FD_BUILD_NOTE;
#elif defined(__GNUC__)
    return "gcc " __VERSION__ FD_BUILD_NOTE;
#elif defined(_MSC_VER)
#define FD_STR2(x) #x
#define FD_STR(x) FD_STR2(x)
    return "msvc " FD_STR(_MSC_VER);
#else
    return "unknown C99 compiler";
#endif
}

/* ---- cache sizes ---------------------------------------------------- */

void fd_caches_default(fd_caches *c)
{
    memset(c, 0, sizeof(*c));
    c->l1d.size = 32 * 1024;
    c->l1d.ways = 8;
    c->l2.size = 1024 * 1024;
    c->l2.ways = 8;
    c->l1d.line = c->l2.line = c->l3.line = 64;
    c->l1d.sharing = c->l2.sharing = c->l3.sharing = 1;
    c->source = FD_CACHES_DEFAULT;
}

/* Store one reported cache (level 1-3, data or unified) into c. */
static void fd_cache_put(fd_caches *c, int level, int64_t size, int line, int ways, int sharing)
{
    fd_cache_level *l = level == 1 ? &c->l1d : level == 2 ? &c->l2 : level == 3 ? &c->l3 : NULL;
    if (!l || size <= 0) return;
    l->size = size;
    l->line = line > 0 ? line : 64;
    l->ways = ways > 0 ? ways : 0;
    l->sharing = sharing > 0 ? sharing : 1;
}

#ifdef FD_X86
/* Deterministic cache parameters (Intel leaf 4, AMD leaf 0x8000001D: the
 * same layout).  Returns how many data/unified levels it found. */
static int fd_caches_leaf4(fd_caches *c, unsigned leaf)
{
    int found = 0;
    unsigned i;
    for (i = 0; i < 16; i++) {
        unsigned r[4];
        unsigned type, level, sharing, line, parts, ways, sets;
        fd_cpuid((int)leaf, (int)i, r);
        type = r[0] & 0x1f;
        if (type == 0) break; /* no more caches */
        if (type == 2) continue; /* instruction cache */
        level = (r[0] >> 5) & 0x7;
        sharing = ((r[0] >> 14) & 0xfff) + 1;
        line = (r[1] & 0xfff) + 1;
        parts = ((r[1] >> 12) & 0x3ff) + 1;
        ways = ((r[1] >> 22) & 0x3ff) + 1;
        sets = r[2] + 1;
        fd_cache_put(c, (int)level, (int64_t)ways * parts * line * sets, (int)line,
                     (r[0] >> 9) & 1 ? 0 : (int)ways, (int)sharing);
        found++;
    }
    return found;
}

/* AMD's encoded associativity of leaf 0x80000006 (0xF: fully associative). */
static int fd_amd_ways(unsigned code)
{
    static const int ways[16] = {0, 1, 2, 3, 4, 6, 8, 0, 16, 0, 32, 48, 64, 96, 128, 0};
    return ways[code & 0xf];
}

/* Older AMD CPUs without TOPOEXT: L1d from 0x80000005, L2 / L3 from
 * 0x80000006 (sharing not reported). */
static int fd_caches_amd_legacy(fd_caches *c)
{
    unsigned r[4];
    int found = 0;
    fd_cpuid((int)0x80000000u, 0, r);
    if (r[0] >= 0x80000005u) {
        fd_cpuid((int)0x80000005u, 0, r);
        if (r[2] >> 24) {
            fd_cache_put(c, 1, (int64_t)(r[2] >> 24) * 1024, (int)(r[2] & 0xff),
                         (int)((r[2] >> 16) & 0xff), 1);
            found++;
        }
    }
    if (r[0] >= 0x80000006u || found) {
        fd_cpuid((int)0x80000000u, 0, r);
        if (r[0] >= 0x80000006u) {
            fd_cpuid((int)0x80000006u, 0, r);
            if (r[2] >> 16) {
                fd_cache_put(c, 2, (int64_t)(r[2] >> 16) * 1024, (int)(r[2] & 0xff),
                             fd_amd_ways(r[2] >> 12), 1);
                found++;
            }
            if (r[3] >> 18) {
                fd_cache_put(c, 3, (int64_t)(r[3] >> 18) * 512 * 1024, (int)(r[3] & 0xff),
                             fd_amd_ways(r[3] >> 12), 1);
                found++;
            }
        }
    }
    return found;
}

static int fd_caches_cpuid(fd_caches *c)
{
    unsigned r[4];
    fd_cpuid(0, 0, r); /* r[0]: the highest standard leaf */
    if (fd_cpu_vendor_is("AuthenticAMD") || fd_cpu_vendor_is("HygonGenuine")) {
        unsigned e[4];
        fd_cpuid((int)0x80000000u, 0, e);
        if (e[0] >= 0x8000001Du) {
            fd_cpuid((int)0x80000001u, 0, e);
            if (((e[2] >> 22) & 1) && fd_caches_leaf4(c, 0x8000001Du) > 0)
                return FD_CACHES_CPUID_AMD;
        }
        return fd_caches_amd_legacy(c) > 0 ? FD_CACHES_CPUID_AMD_LEGACY : FD_CACHES_DEFAULT;
    }
    if (r[0] >= 4 && fd_caches_leaf4(c, 4) > 0) return FD_CACHES_CPUID_LEAF4;
    return FD_CACHES_DEFAULT;
}
#endif

#if defined(__linux__)
#include <stdio.h>

/* First line of a sysfs file into buf; 0 when unreadable. */
static int fd_read_line(const char *path, char *buf, int len)
{
    FILE *f = fopen(path, "r");
    int ok;
    if (!f) return 0;
    ok = fgets(buf, len, f) != NULL;
    fclose(f);
    return ok;
}

/* How many CPUs a list such as "0-3,8,10-11" names. */
static int fd_count_cpus(const char *s)
{
    int n = 0;
    while (*s && *s != '\n') {
        char *end;
        long a = strtol(s, &end, 10), b;
        if (end == s) break;
        b = a;
        s = end;
        if (*s == '-') {
            b = strtol(s + 1, &end, 10);
            s = end;
        }
        if (b >= a) n += (int)(b - a + 1);
        if (*s == ',') s++;
    }
    return n;
}

static int fd_caches_sysfs(fd_caches *c)
{
    int i, found = 0;
    for (i = 0; i < 16; i++) {
        char path[96], buf[128];
        int level, line = 0, ways = 0, sharing = 1;
        int64_t size;
        char unit = 0;
        sprintf(path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        if (!fd_read_line(path, buf, (int)sizeof(buf))) break;
        level = atoi(buf);
        sprintf(path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
        if (!fd_read_line(path, buf, (int)sizeof(buf)) || strncmp(buf, "Instruction", 11) == 0)
            continue;
        sprintf(path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        if (!fd_read_line(path, buf, (int)sizeof(buf))) continue;
        size = strtol(buf, NULL, 10);
        {
            const char *u = buf;
            while (*u >= '0' && *u <= '9') u++;
            unit = *u;
        }
        if (unit == 'K') size *= 1024;
        if (unit == 'M') size *= 1024 * 1024;
        sprintf(path, "/sys/devices/system/cpu/cpu0/cache/index%d/coherency_line_size", i);
        if (fd_read_line(path, buf, (int)sizeof(buf))) line = atoi(buf);
        sprintf(path, "/sys/devices/system/cpu/cpu0/cache/index%d/ways_of_associativity", i);
        if (fd_read_line(path, buf, (int)sizeof(buf))) ways = atoi(buf);
        sprintf(path, "/sys/devices/system/cpu/cpu0/cache/index%d/shared_cpu_list", i);
        if (fd_read_line(path, buf, (int)sizeof(buf))) sharing = fd_count_cpus(buf);
        fd_cache_put(c, level, size, line, ways, sharing);
        found++;
    }
    return found > 0 ? FD_CACHES_SYSFS : FD_CACHES_DEFAULT;
}
#endif

#if FD_PTHREADS || defined(_WIN32)
static fd_caches fd_caches_found; /* written once, by fd_caches_detect */

static void fd_caches_detect(void)
{
    fd_caches c, def;
    int src = FD_CACHES_DEFAULT;
    memset(&c, 0, sizeof(c));
#ifdef FD_X86
    src = fd_caches_cpuid(&c);
#endif
#if defined(__linux__)
    if (src == FD_CACHES_DEFAULT) {
        memset(&c, 0, sizeof(c));
        src = fd_caches_sysfs(&c);
    }
#endif
    /* Levels not reported (or nonsense) take the documented defaults. */
    fd_caches_default(&def);
    if (c.l1d.size < 4096) c.l1d = def.l1d;
    if (c.l2.size <= c.l1d.size) c.l2 = def.l2.size > c.l1d.size ? def.l2 : c.l1d;
    if (c.l3.size < c.l2.size) memset(&c.l3, 0, sizeof(c.l3));
    if (src == FD_CACHES_DEFAULT) c = def;
    c.source = src;
    fd_caches_found = c;
}
#endif

#if FD_PTHREADS
static pthread_once_t fd_caches_once = PTHREAD_ONCE_INIT;

const fd_caches *fd_cpu_caches(void)
{
    pthread_once(&fd_caches_once, fd_caches_detect);
    return &fd_caches_found;
}
#elif defined(_WIN32)
#include <windows.h>
static INIT_ONCE fd_caches_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK fd_caches_once_cb(PINIT_ONCE once, PVOID arg, PVOID *ctx)
{
    (void)once;
    (void)arg;
    (void)ctx;
    fd_caches_detect();
    return TRUE;
}

const fd_caches *fd_cpu_caches(void)
{
    InitOnceExecuteOnce(&fd_caches_once, fd_caches_once_cb, NULL, NULL);
    return &fd_caches_found;
}
#else
/* No threads library to run the detection once safely: the documented
 * defaults, a constant. */
const fd_caches *fd_cpu_caches(void)
{
    static const fd_caches def = {
        {32 * 1024, 64, 8, 1}, {1024 * 1024, 64, 8, 1}, {0, 64, 0, 1}, FD_CACHES_DEFAULT};
    return &def;
}
#endif
