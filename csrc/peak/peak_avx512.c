/* FMA-throughput loops for the AVX-512 path (compiled with -mavx512f ...). */
#include "peak/peak.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#define VEC __m512
#define ELEM float
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMADD _mm512_fmadd_ps
#define ADDV _mm512_add_ps
#define STORE _mm512_storeu_ps
#define FNAME fd_peak_fma_f32_avx512
#include "peak/peak_simd_impl.h"
#undef VEC
#undef ELEM
#undef LANES
#undef SET1
#undef FMADD
#undef ADDV
#undef STORE
#undef FNAME

#define VEC __m512d
#define ELEM double
#define LANES 8
#define SET1 _mm512_set1_pd
#define FMADD _mm512_fmadd_pd
#define ADDV _mm512_add_pd
#define STORE _mm512_storeu_pd
#define FNAME fd_peak_fma_f64_avx512
#include "peak/peak_simd_impl.h"

#endif
