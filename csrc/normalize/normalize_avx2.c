/* AVX2 range kernels for fused normalisation (built with -mavx2 -mfma). */
#include "normalize/normalize_internal.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "simd/simd_avx2.h"

#define FD_TEMPLATE "normalize/normalize_simd_impl.h"
#include "common/fd_template.h"

#else
FD_NO_SIMD_UNIT;
#endif
