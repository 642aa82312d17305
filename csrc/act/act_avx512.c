/* Vector sigmoid / tanh / gelu, AVX-512 path (this file is compiled with
 * -mavx512f...): act_simd_impl.h instantiated for float and double. */
#include "act/act_simd.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "act/act.h"
#include "simd/simd_avx512.h"

/* Vector activations (act_simd.h); below |x| = 0.25 tanh uses its
 * Taylor series, long enough for the dtype. */
#define T float
#define VT __m512
#define VP(name) v16f_##name
#define ROWS_NAME fd_act_rows_avx512_f32
#define DZ_NAME fd_dz_gelu_row_avx512_f32
#define ACT_ABS(x) _mm512_abs_ps(x)
#define ACT_SIGN(x) _mm512_and_ps(_mm512_set1_ps(-0.0f), (x))
#define ACT_XOR(a, b) _mm512_xor_ps((a), (b))
#define ACT_SEL_NEG(s, a, b) _mm512_mask_blend_ps(_mm512_movepi32_mask(_mm512_castps_si512(s)), (b), (a))
#define ACT_SEL_LT(x, y, a, b) _mm512_mask_blend_ps(_mm512_cmp_ps_mask((x), (y), _CMP_LT_OQ), (b), (a))
#define TANH_SMALL 0.25
#define TANH_LONG 0
#include "act/act_simd_impl.h"
#undef T
#undef VT
#undef VP
#undef ROWS_NAME
#undef DZ_NAME
#undef ACT_ABS
#undef ACT_SIGN
#undef ACT_XOR
#undef ACT_SEL_NEG
#undef ACT_SEL_LT
#undef TANH_SMALL
#undef TANH_LONG
#define T double
#define VT __m512d
#define VP(name) v8d_##name
#define ROWS_NAME fd_act_rows_avx512_f64
#define DZ_NAME fd_dz_gelu_row_avx512_f64
#define ACT_ABS(x) _mm512_abs_pd(x)
#define ACT_SIGN(x) _mm512_and_pd(_mm512_set1_pd(-0.0), (x))
#define ACT_XOR(a, b) _mm512_xor_pd((a), (b))
#define ACT_SEL_NEG(s, a, b) _mm512_mask_blend_pd(_mm512_movepi64_mask(_mm512_castpd_si512(s)), (b), (a))
#define ACT_SEL_LT(x, y, a, b) _mm512_mask_blend_pd(_mm512_cmp_pd_mask((x), (y), _CMP_LT_OQ), (b), (a))
#define TANH_SMALL 0.25
#define TANH_LONG 1
#include "act/act_simd_impl.h"
#undef T
#undef VT
#undef VP
#undef ROWS_NAME
#undef DZ_NAME
#undef ACT_ABS
#undef ACT_SIGN
#undef ACT_XOR
#undef ACT_SEL_NEG
#undef ACT_SEL_LT
#undef TANH_SMALL
#undef TANH_LONG

#else
FD_NO_SIMD_UNIT;
#endif
