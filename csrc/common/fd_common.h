/* Shared definitions for the fastdigits C kernels.
 *
 * The kernels are plain C99 and know nothing of Python.  Every entry point
 * takes an fd_ctx by value: which SIMD path to run and how many OpenMP
 * threads it may use.  Nothing is kept in globals, so kernels are reentrant
 * and thread-safe by construction.
 */
#ifndef FD_COMMON_H
#define FD_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* FD_NOINLINE: a function kept out of line (so that the compiler
 * vectorises its restrict-qualified loops, which it may not once inlined).
 * FD_PREFETCH(p): a hint to bring p's cache line in for reading (nothing
 * where the compiler has no such builtin). */
#if defined(_MSC_VER)
#define FD_RESTRICT __restrict
#define FD_INLINE static __forceinline
#define FD_NOINLINE __declspec(noinline)
#define FD_PREFETCH(p) ((void)(p))
#else
#define FD_RESTRICT __restrict__
#define FD_INLINE static inline __attribute__((always_inline))
#define FD_NOINLINE __attribute__((noinline))
#define FD_PREFETCH(p) __builtin_prefetch(p)
#endif

/* A function whose loops gcc's loop vectoriser must leave alone, so that
 * the basic-block vectoriser takes its fully unrolled inner loops instead
 * (the portable GEMM micro-kernel: gcc vectorised its k loop, four k-steps
 * at a time with shuffles, rather than the tile's rows).  Other compilers
 * vectorise innermost loops only. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__INTEL_COMPILER)
#define FD_NO_LOOP_VECTORIZE __attribute__((optimize("no-tree-loop-vectorize")))
#else
#define FD_NO_LOOP_VECTORIZE
#endif

/* x86-64 SIMD paths are compiled only on x86-64 and when not opted out
 * (FASTDIGITS_NO_SIMD=1 builds define FD_NO_SIMD): the portable path is
 * always there. */
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(FD_NO_SIMD)
#define FD_HAVE_X86_SIMD 1
#else
#define FD_HAVE_X86_SIMD 0
#endif

/* A per-ISA unit (<kernel>_avx2.c, ...) compiled where FD_HAVE_X86_SIMD is
 * 0 defines nothing; it ends with `#else FD_NO_SIMD_UNIT; #endif` so the
 * translation unit is not empty (ISO C). */
#define FD_NO_SIMD_UNIT typedef int fd_no_simd_unit

/* SIMD paths, ordered: a higher value implies the lower ones are usable. */
typedef enum {
    FD_ISA_GENERIC = 0, /* portable C, any compiler, any CPU */
    FD_ISA_AVX2 = 1, /* x86-64 AVX2 + FMA */
    FD_ISA_AVX512 = 2, /* x86-64 AVX-512 F/BW/DQ/VL */
    FD_ISA_AVX512_BF16 = 3, /* AVX-512 + AVX512_BF16 (vdpbf16ps) */
    FD_ISA_AMX = 4 /* + AMX-TILE/AMX-BF16, tile data granted by the OS */
} fd_isa;

/* Precision of the float32 GEMM's products (fd_ctx.precision).  BF16:
 * operands rounded to bfloat16 while packed, products accumulated in
 * float32 (gemm/gemm_bf16.h); only fd_gemm_f32 reads it, so every float32
 * kernel built on the GEMM (dense, MLP) follows it. */
enum { FD_PREC_F32 = 0, FD_PREC_BF16 = 1 };

typedef struct {
    int isa; /* an fd_isa the CPU supports (checked by the caller) */
    int nthreads; /* >= 1; kernels may use fewer for small inputs */
    int precision; /* FD_PREC_F32 (0) or FD_PREC_BF16 */
    int tile; /* float32 AVX-512 GEMM row tiles: FD_TILE_AUTO (0, the CPU's
               * rule), FD_TILE_BASE or FD_TILE_TALL (gemm_blocking.h) */
    int flush_denormals; /* 1: the MLP entry points run the call with
                          * denormals flushed to zero (common/fd_fpenv.h);
                          * other kernels ignore it */
} fd_ctx;

/* fd_ctx.tile: tests and benchmarks force one of the float32 GEMM's tile
 * choices on any AVX-512 CPU; results are the same for all three. */
enum { FD_TILE_AUTO = 0, FD_TILE_BASE = 1, FD_TILE_TALL = 2 };

/* Status codes returned by kernels that can fail. */
enum { FD_OK = 0, FD_ENOMEM = -1, FD_EINVAL = -2 };

/* Element type of a dtype-dispatching entry point (fd_dense_forward, ...):
 * the one function a binding declares and calls, with void * data, for
 * both dtypes; it calls the _f32 or _f64 instance.  FD_U8: uint8 input
 * (fd_augment's images, whose instances are _u8 and _f32). */
enum { FD_F32 = 0, FD_F64 = 1, FD_U8 = 2 };

/* Per-dtype templates: a header instantiated for float and double by
 * common/fd_template.h (T, SFX = f32 / f64) names what it defines
 * FD_TNAME(fd_foo), which is fd_foo_f32 or fd_foo_f64, and, in a
 * per-instruction-set unit, FD_TNAME_ISA(fd_foo, ISA), which is
 * fd_foo_f32_avx2 or fd_foo_f64_avx2: one naming rule everywhere. */
#define FD_PASTE2_(a, b) a##_##b
#define FD_PASTE2(a, b) FD_PASTE2_(a, b)
#define FD_PASTE3_(a, b, c) a##_##b##_##c
#define FD_PASTE3(a, b, c) FD_PASTE3_(a, b, c)
#define FD_TNAME(name) FD_PASTE2(name, SFX)
#define FD_TNAME_ISA(name, isa) FD_PASTE3(name, SFX, isa)

/* Declares a per-dtype, per-path function family in a kernel's private
 * header: DECL(T, SFX, ISA), a macro declaring the function for one dtype
 * and path, for float (f32) and double (f64) on every path the build has
 * (generic; avx2 and avx512 with x86 SIMD), e.g.
 * FD_DECL_PATHS(FD_XENT_ROWS_DECL) declares fd_xent_rows_f32_generic ...
 * fd_xent_rows_f64_avx512. */
#define FD_DECL_DTYPES(DECL, isa) DECL(float, f32, isa) DECL(double, f64, isa)
#if FD_HAVE_X86_SIMD
#define FD_DECL_PATHS(DECL)                                                                        \
    FD_DECL_DTYPES(DECL, generic) FD_DECL_DTYPES(DECL, avx2) FD_DECL_DTYPES(DECL, avx512)
#else
#define FD_DECL_PATHS(DECL) FD_DECL_DTYPES(DECL, generic)
#endif

/* Dispatch, the same in every kernel: one static function per kernel and
 * dtype, fd_<kernel>_pick_<sfx>(int isa), returns a struct of function
 * pointers (fd_<kernel>_kernels_<sfx>; dropout's is its plan,
 * fd_drop_plan_<sfx>, which fd_drop_plan_init fills) for the SIMD path isa:
 * the caller has checked that the CPU supports it, and builds without x86
 * SIMD always get the portable functions.  It is the only code that compares isa; a
 * kernel's driver calls it once per call, before any parallel loop, and
 * calls through the table. */

/* In a pick function: the function of the path isa among name_avx512,
 * name_avx2 and name_generic (FD_PICK_NAMED), or, in a per-dtype template,
 * among FD_TNAME_ISA(name, avx512 / avx2 / generic) (FD_PICK), e.g.
 * k.rows = FD_PICK(isa, fd_xent_rows).  A build without x86 SIMD names only
 * the generic one. */
#if FD_HAVE_X86_SIMD
#define FD_PICK_NAMED(isa, name)                                                                   \
    ((isa) >= FD_ISA_AVX512     ? FD_PASTE2(name, avx512)                                          \
         : (isa) >= FD_ISA_AVX2 ? FD_PASTE2(name, avx2)                                            \
                                : FD_PASTE2(name, generic))
#else
#define FD_PICK_NAMED(isa, name) ((void)(isa), FD_PASTE2(name, generic))
#endif
#define FD_PICK(isa, name) FD_PICK_NAMED(isa, FD_TNAME(name))

/* Threads to use for `work` units when each thread should get at least
 * `grain` units: tiny inputs stay serial (no thread start-up cost). */
static inline int fd_threads_for(const fd_ctx *ctx, size_t work, size_t grain)
{
    size_t t;
    if (grain == 0) grain = 1;
    t = work / grain;
    if (t < 1) t = 1;
    if (t > (size_t)ctx->nthreads) t = (size_t)ctx->nthreads;
    return (int)t;
}

#endif /* FD_COMMON_H */
