/* Instantiates a per-dtype template once for float and once for double:
 *
 *     #define FD_TEMPLATE "loss/loss_impl.h"
 *     #include "common/fd_template.h"
 *
 * The template sees T (float, double), SFX (f32, f64), FD_T_F64 (0, 1) and
 * FD_TMATH(fn), the libm function for T (FD_TMATH(exp): expf, exp), and names what it defines FD_TNAME(fd_foo) (fd_foo_f32; fd_common.h).
 * In a per-instruction-set unit, after simd/simd_avx2.h or simd_avx512.h, it
 * also sees ISA (avx2, avx512), names what it defines
 * FD_TNAME_ISA(fd_foo, ISA) (fd_foo_f32_avx2) and calls its dtype's vector
 * operations as VP(name) (v8f_name or v4d_name on AVX2).
 *
 * No include guard: included once per template.  FD_TEMPLATE is undefined
 * again at the end. */
#ifndef FD_TEMPLATE
#error "define FD_TEMPLATE, the template to instantiate, before including common/fd_template.h"
#endif
#if defined(T) || defined(SFX)
#error "common/fd_template.h: T or SFX is already defined"
#endif

#ifdef FD_SIMD_ISA
#define ISA FD_SIMD_ISA
#define FD_VP__(prefix, name) prefix##_##name
#define FD_VP_(prefix, name) FD_VP__(prefix, name)
#define VP(name) FD_VP_(FD_PASTE2(FD_SIMD_VEC, SFX), name)
#endif

#define T float
#define SFX f32
#define FD_T_F64 0
#define FD_TMATH(fn) fn##f
#include FD_TEMPLATE
#undef T
#undef SFX
#undef FD_T_F64
#undef FD_TMATH

#define T double
#define SFX f64
#define FD_T_F64 1
#define FD_TMATH(fn) fn
#include FD_TEMPLATE
#undef T
#undef SFX
#undef FD_T_F64
#undef FD_TMATH

#ifdef FD_SIMD_ISA
#undef ISA
#undef VP
#undef FD_VP_
#undef FD_VP__
#endif
#undef FD_TEMPLATE
