/* FMA-throughput loops for the AVX2+FMA path (compiled with -mavx2 -mfma). */
#include "peak/peak.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "simd/simd_avx2.h"

#define T float
#define VP(name) v8f_##name
#define FNAME fd_peak_fma_f32_avx2
#include "peak/peak_simd_impl.h"
#undef T
#undef VP
#undef FNAME

#define T double
#define VP(name) v4d_##name
#define FNAME fd_peak_fma_f64_avx2
#include "peak/peak_simd_impl.h"

#endif
