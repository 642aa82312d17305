/* In-place SGD and AdamW steps: portable span workers and the drivers that
 * split the flat buffer into fixed blocks over OpenMP threads.  Block
 * boundaries depend on n only and each element is updated by itself, so
 * results do not depend on the thread count. */
#include "optim/optim.h"

#include <math.h>

#include "optim/optim_internal.h"

/* The parallel loop pragma, only in OpenMP builds (a serial -Wall build
 * would warn about an unknown pragma); MSVC spells _Pragma __pragma.
 * The loop's thread count is `nt`. */
#if defined(_OPENMP) && defined(_MSC_VER)
#define FD_LO_PARALLEL_FOR __pragma(omp parallel for num_threads(nt) schedule(static))
#elif defined(_OPENMP)
#define FD_LO_PARALLEL_FOR _Pragma("omp parallel for num_threads(nt) schedule(static)")
#else
#define FD_LO_PARALLEL_FOR (void)nt;
#endif

#define FD_OPTIM_GENERIC(T, SFX)                                                 \
    void fd_sgd_span_##SFX##_generic(int64_t n, T *p, const T *g, T *v, T lr,    \
                                     T mom, T wd, int flags)                     \
    {                                                                            \
        int64_t i;                                                               \
        for (i = 0; i < n; i++) {                                                \
            T gi = g[i];                                                         \
            if (flags & FD_SGD_WD) gi = gi + wd * p[i];                          \
            if (flags & FD_SGD_MOM) {                                            \
                T vi = mom * v[i] + gi;                                          \
                v[i] = vi;                                                       \
                gi = (flags & FD_SGD_NESTEROV) ? gi + mom * vi : vi;             \
            }                                                                    \
            p[i] = p[i] - lr * gi;                                               \
        }                                                                        \
    }                                                                            \
    void fd_adam_span_##SFX##_generic(int64_t n, T *p, const T *g, T *m, T *v,   \
                                      T decay, T b1, T c1, T b2, T c2,           \
                                      T inv_bc2s, T eps, T step_size)            \
    {                                                                            \
        int64_t i;                                                               \
        for (i = 0; i < n; i++) {                                                \
            const T gi = g[i];                                                   \
            const T mi = b1 * m[i] + c1 * gi;                                    \
            const T vi = b2 * v[i] + (c2 * gi) * gi;                             \
            m[i] = mi;                                                           \
            v[i] = vi;                                                           \
            p[i] = p[i] * decay - step_size * (mi / (sqrt##SFX(vi) * inv_bc2s + eps)); \
        }                                                                        \
    }

#define sqrtf32 sqrtf
#define sqrtf64 sqrt
FD_OPTIM_GENERIC(float, f32)
FD_OPTIM_GENERIC(double, f64)

/* Elements per block: a multiple of every vector width, large enough to
 * amortise the dispatch, small enough to balance threads. */
#define FD_OPT_BLOCK 4096
/* Elements per thread before a second thread pays off. */
#define FD_OPT_GRAIN 32768

#if FD_HAVE_X86_SIMD
#define FD_OPT_DISPATCH(KIND, SFX, ...)                                          \
    do {                                                                         \
        if (ctx.isa >= FD_ISA_AVX512) fd_##KIND##_span_##SFX##_avx512(__VA_ARGS__); \
        else if (ctx.isa >= FD_ISA_AVX2) fd_##KIND##_span_##SFX##_avx2(__VA_ARGS__); \
        else fd_##KIND##_span_##SFX##_generic(__VA_ARGS__);                      \
    } while (0)
#else
#define FD_OPT_DISPATCH(KIND, SFX, ...)                                          \
    do { fd_##KIND##_span_##SFX##_generic(__VA_ARGS__); } while (0)
#endif

/* velocity == NULL disables momentum (the header allows NULL only when
 * momentum == 0; the Python layer enforces it). */
#define FD_SGD_DRIVER(T, SFX)                                                      \
    void fd_sgd_step_##SFX(fd_ctx ctx, int64_t n, T *param, const T *grad,         \
                           double lr, double momentum, T *velocity,                \
                           double weight_decay, int nesterov)                      \
    {                                                                              \
        int flags = 0, nt;                                                         \
        int64_t nblocks, b;                                                        \
        if (n <= 0) return;                                                        \
        if (weight_decay != 0.0) flags |= FD_SGD_WD;                               \
        if (momentum != 0.0 && velocity != NULL) {                                 \
            flags |= FD_SGD_MOM;                                                   \
            if (nesterov) flags |= FD_SGD_NESTEROV;                                \
        }                                                                          \
        nblocks = (n + FD_OPT_BLOCK - 1) / FD_OPT_BLOCK;                           \
        nt = fd_threads_for(&ctx, (size_t)n, FD_OPT_GRAIN);                        \
        FD_LO_PARALLEL_FOR                                                         \
        for (b = 0; b < nblocks; b++) {                                            \
            int64_t off = b * FD_OPT_BLOCK;                                        \
            int64_t len = n - off < FD_OPT_BLOCK ? n - off : FD_OPT_BLOCK;         \
            FD_OPT_DISPATCH(sgd, SFX, len, param + off, grad + off,                \
                            velocity ? velocity + off : NULL, (T)lr, (T)momentum,  \
                            (T)weight_decay, flags);                               \
        }                                                                          \
    }

/* Scalars (bias corrections, step size) are computed in double once, as
 * torch.optim.AdamW does in Python.  step < 1 is treated as 1. */
#define FD_ADAM_DRIVER(T, SFX)                                                     \
    void fd_adam_step_##SFX(fd_ctx ctx, int64_t n, T *param, const T *grad,        \
                            T *m, T *v, double lr, double beta1, double beta2,     \
                            double eps, int64_t step, double weight_decay)         \
    {                                                                              \
        double bc1, bc2;                                                           \
        T decay, b1, c1, b2, c2, inv_bc2s, teps, step_size;                        \
        int nt;                                                                    \
        int64_t nblocks, b;                                                        \
        if (n <= 0) return;                                                        \
        if (step < 1) step = 1;                                                    \
        bc1 = 1.0 - pow(beta1, (double)step);                                      \
        bc2 = 1.0 - pow(beta2, (double)step);                                      \
        decay = (T)(1.0 - lr * weight_decay);                                      \
        b1 = (T)beta1;                                                             \
        c1 = (T)(1.0 - beta1);                                                     \
        b2 = (T)beta2;                                                             \
        c2 = (T)(1.0 - beta2);                                                     \
        inv_bc2s = (T)(1.0 / sqrt(bc2));                                           \
        teps = (T)eps;                                                             \
        step_size = (T)(lr / bc1);                                                 \
        nblocks = (n + FD_OPT_BLOCK - 1) / FD_OPT_BLOCK;                           \
        nt = fd_threads_for(&ctx, (size_t)n, FD_OPT_GRAIN);                        \
        FD_LO_PARALLEL_FOR                                                         \
        for (b = 0; b < nblocks; b++) {                                            \
            int64_t off = b * FD_OPT_BLOCK;                                        \
            int64_t len = n - off < FD_OPT_BLOCK ? n - off : FD_OPT_BLOCK;         \
            FD_OPT_DISPATCH(adam, SFX, len, param + off, grad + off, m + off,      \
                            v + off, decay, b1, c1, b2, c2, inv_bc2s, teps,        \
                            step_size);                                            \
        }                                                                          \
    }

FD_SGD_DRIVER(float, f32)
FD_SGD_DRIVER(double, f64)
FD_ADAM_DRIVER(float, f32)
FD_ADAM_DRIVER(double, f64)
