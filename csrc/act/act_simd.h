/* Vectorised sigmoid / tanh / gelu for the dense epilogue and the backward
 * dz pass (AVX2 and AVX-512, float and double).  Defined in
 * act_avx2.c / act_avx512.c from act_simd_impl.h; callers
 * dispatch on ctx.isa.  The portable path keeps act/act.h (libm).
 *
 * fd_act_rows_<sfx>_<isa>: p[i * ld + j] = act(p[i * ld + j]) for i < rows, j < n
 *   (act is FD_ACT_SIGMOID, FD_ACT_TANH or FD_ACT_GELU; others: no-op).
 * fd_dz_gelu_row_<sfx>_<isa>: dz[j] = dy[j] * gelu'(z[j]); ps[j] += dz[j], j < n.
 * Each element's result depends only on its input (no split dependence).
 */
#ifndef FD_ACT_SIMD_H
#define FD_ACT_SIMD_H

#include "common/fd_common.h"

#if FD_HAVE_X86_SIMD
#define FD_ACT_SIMD_DECL(ISA, T, SFX)                                                              \
    void fd_act_rows_##SFX##_##ISA(int act, int64_t rows, int64_t n, T *p, int64_t ld);            \
    void fd_dz_gelu_row_##SFX##_##ISA(int64_t n, const T *FD_RESTRICT dy, const T *FD_RESTRICT z,  \
                                      T *FD_RESTRICT dz, T *FD_RESTRICT ps);
FD_ACT_SIMD_DECL(avx2, float, f32)
FD_ACT_SIMD_DECL(avx2, double, f64)
FD_ACT_SIMD_DECL(avx512, float, f32)
FD_ACT_SIMD_DECL(avx512, double, f64)
#undef FD_ACT_SIMD_DECL
#endif

#endif /* FD_ACT_SIMD_H */
