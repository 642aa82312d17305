/* FMA-throughput loops for the AVX2+FMA path (compiled with -mavx2 -mfma). */
#include "peak/peak.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "simd/simd_avx2.h"

#define FD_TEMPLATE "peak/peak_simd_impl.h"
#include "common/fd_template.h"

#else
FD_NO_SIMD_UNIT;
#endif
