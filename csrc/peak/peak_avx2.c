/* FMA-throughput loops for the AVX2+FMA path (compiled with -mavx2 -mfma). */
#include "peak/peak.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#define VEC __m256
#define ELEM float
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMADD _mm256_fmadd_ps
#define ADDV _mm256_add_ps
#define STORE _mm256_storeu_ps
#define FNAME fd_peak_fma_f32_avx2
#include "peak/peak_simd_impl.h"
#undef VEC
#undef ELEM
#undef LANES
#undef SET1
#undef FMADD
#undef ADDV
#undef STORE
#undef FNAME

#define VEC __m256d
#define ELEM double
#define LANES 4
#define SET1 _mm256_set1_pd
#define FMADD _mm256_fmadd_pd
#define ADDV _mm256_add_pd
#define STORE _mm256_storeu_pd
#define FNAME fd_peak_fma_f64_avx2
#include "peak/peak_simd_impl.h"

#endif
