/* FMA-throughput loops for the AVX-512 path (compiled with -mavx512f ...). */
#include "peak/peak.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "simd/simd_avx512.h"

#define T float
#define VP(name) v16f_##name
#define FNAME fd_peak_fma_f32_avx512
#include "peak/peak_simd_impl.h"
#undef T
#undef VP
#undef FNAME

#define T double
#define VP(name) v8d_##name
#define FNAME fd_peak_fma_f64_avx512
#include "peak/peak_simd_impl.h"

#endif
