/* AVX-512 range kernels for fused normalisation (built with -mavx512f/bw/dq/vl). */
#include "normalize/normalize_internal.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "simd/simd_avx512.h"

#define T float
#define FN fd_norm_kern_u8_f32_avx512
#define VP(name) v16f_##name
#include "normalize/normalize_simd_impl.h"
#undef T
#undef FN
#undef VP

#define T double
#define FN fd_norm_kern_u8_f64_avx512
#define VP(name) v8d_##name
#include "normalize/normalize_simd_impl.h"

#else
FD_NO_SIMD_UNIT;
#endif
