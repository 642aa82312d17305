/* AVX-512 range kernels for fused normalisation (built with -mavx512f/bw/dq/vl). */
#include "normalize/normalize_internal.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#define T float
#define FN fd_norm_kern_u8_f32_avx512
#define V __m512
#define W 16
#define V_SET1(x) _mm512_set1_ps(x)
#define V_LOAD_U8(p) \
    _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p))))
#define V_MUL _mm512_mul_ps
#define V_ADD _mm512_add_ps
#define V_STOREU(p, v) _mm512_storeu_ps((p), (v))
#define V_STREAM(p, v) _mm512_stream_ps((p), (v))
#include "normalize/normalize_simd_impl.h"
#undef T
#undef FN
#undef V
#undef W
#undef V_SET1
#undef V_LOAD_U8
#undef V_MUL
#undef V_ADD
#undef V_STOREU
#undef V_STREAM

#define T double
#define FN fd_norm_kern_u8_f64_avx512
#define V __m512d
#define W 8
#define V_SET1(x) _mm512_set1_pd(x)
#define V_LOAD_U8(p) \
    _mm512_cvtepi32_pd(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define V_MUL _mm512_mul_pd
#define V_ADD _mm512_add_pd
#define V_STOREU(p, v) _mm512_storeu_pd((p), (v))
#define V_STREAM(p, v) _mm512_stream_pd((p), (v))
#include "normalize/normalize_simd_impl.h"

#else
FD_NO_SIMD_UNIT;
#endif
