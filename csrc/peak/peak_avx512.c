/* FMA-throughput loops for the AVX-512 path (compiled with -mavx512f ...). */
#include "peak/peak.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "simd/simd_avx512.h"

#define FD_TEMPLATE "peak/peak_simd_impl.h"
#include "common/fd_template.h"

#else
FD_NO_SIMD_UNIT;
#endif
