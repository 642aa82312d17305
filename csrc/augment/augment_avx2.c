/* AVX2 augmentation kernels: Gaussian smoothing, Philox fill, bilinear warp. */
#include "augment/augment_internal.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "simd/simd_avx2.h"
#define AUG_AVX2
#include "augment/augment_vec.h"

#define CONV_FN fd_aug_conv_avx2
#define FILL_FN fd_aug_fill_avx2
#define WARP_FN fd_aug_warp_avx2
#define PUT_U8_FN fd_aug_put_u8_avx2
#define OUT_FN fd_aug_out_avx2
#define NORM_U8_FN fd_aug_norm_u8_avx2
#define VP(name) v8f_##name
#define LANES 8
#include "augment/augment_simd_impl.h"

#else
FD_NO_SIMD_UNIT;
#endif
