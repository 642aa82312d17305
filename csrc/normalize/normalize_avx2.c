/* AVX2 range kernels for fused normalisation (built with -mavx2 -mfma). */
#include "normalize/normalize_internal.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>
#include <string.h>

static inline __m128i fd_load4_u8(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4); /* exactly 4 bytes: never reads past the input */
    return _mm_cvtsi32_si128(v);
}

#define T float
#define FN fd_norm_kern_u8_f32_avx2
#define V __m256
#define W 8
#define V_SET1(x) _mm256_set1_ps(x)
#define V_LOAD_U8(p) \
    _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define V_MUL _mm256_mul_ps
#define V_ADD _mm256_add_ps
#define V_STOREU(p, v) _mm256_storeu_ps((p), (v))
#define V_STREAM(p, v) _mm256_stream_ps((p), (v))
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
#define FN fd_norm_kern_u8_f64_avx2
#define V __m256d
#define W 4
#define V_SET1(x) _mm256_set1_pd(x)
#define V_LOAD_U8(p) _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(fd_load4_u8(p)))
#define V_MUL _mm256_mul_pd
#define V_ADD _mm256_add_pd
#define V_STOREU(p, v) _mm256_storeu_pd((p), (v))
#define V_STREAM(p, v) _mm256_stream_pd((p), (v))
#include "normalize/normalize_simd_impl.h"

#else
FD_NO_SIMD_UNIT;
#endif
