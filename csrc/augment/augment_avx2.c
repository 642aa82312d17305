/* AVX2 augmentation kernels: Gaussian smoothing, Philox fill, bilinear warp. */
#include "augment/augment_internal.h"

#if FD_HAVE_X86_SIMD
#include "simd/simd_avx2.h"

#include "augment/augment_simd_impl.h"
#else
FD_NO_SIMD_UNIT;
#endif
