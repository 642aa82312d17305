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
#define VP(name) v8f_##name
#define ROWS_NAME fd_act_rows_avx2_f32
#define DZ_NAME fd_dz_gelu_row_avx2_f32
#define TANH_SMALL 0.25
#define TANH_LONG 0
#include "act/act_simd_impl.h"
#undef T
#undef VP
#undef ROWS_NAME
#undef DZ_NAME
#undef TANH_SMALL
#undef TANH_LONG
#define T double
#define VP(name) v4d_##name
#define ROWS_NAME fd_act_rows_avx2_f64
#define DZ_NAME fd_dz_gelu_row_avx2_f64
#define TANH_SMALL 0.25
#define TANH_LONG 1
#include "act/act_simd_impl.h"
#undef T
#undef VP
#undef ROWS_NAME
#undef DZ_NAME
#undef TANH_SMALL
#undef TANH_LONG

#else
FD_NO_SIMD_UNIT;
#endif
