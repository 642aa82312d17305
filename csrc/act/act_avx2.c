/* Vector sigmoid / tanh / gelu, AVX2+FMA path (this file is compiled with
 * -mavx2 -mfma): act_simd_impl.h instantiated for float and double. */
#include "act/act_simd.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "act/act.h"
#include "simd/simd_avx2.h"

/* Vector activations (act_simd.h); below |x| = 0.25 tanh uses its
 * Taylor series, long enough for the dtype. */
#define T float
#define VT __m256
#define VP(name) v8f_##name
#define ROWS_NAME fd_act_rows_avx2_f32
#define DZ_NAME fd_dz_gelu_row_avx2_f32
#define ACT_ABS(x) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), (x))
#define ACT_SIGN(x) _mm256_and_ps(_mm256_set1_ps(-0.0f), (x))
#define ACT_XOR(a, b) _mm256_xor_ps((a), (b))
#define ACT_SEL_NEG(s, a, b) _mm256_blendv_ps((b), (a), (s))
#define ACT_SEL_LT(x, y, a, b) _mm256_blendv_ps((b), (a), _mm256_cmp_ps((x), (y), _CMP_LT_OQ))
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
#define VT __m256d
#define VP(name) v4d_##name
#define ROWS_NAME fd_act_rows_avx2_f64
#define DZ_NAME fd_dz_gelu_row_avx2_f64
#define ACT_ABS(x) _mm256_andnot_pd(_mm256_set1_pd(-0.0), (x))
#define ACT_SIGN(x) _mm256_and_pd(_mm256_set1_pd(-0.0), (x))
#define ACT_XOR(a, b) _mm256_xor_pd((a), (b))
#define ACT_SEL_NEG(s, a, b) _mm256_blendv_pd((b), (a), (s))
#define ACT_SEL_LT(x, y, a, b) _mm256_blendv_pd((b), (a), _mm256_cmp_pd((x), (y), _CMP_LT_OQ))
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
