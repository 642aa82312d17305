/* AVX2+FMA GEMM micro-kernels (this file is compiled with -mavx2 -mfma). */
#include "gemm.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "activations.h"

#define FD_CAT2(a, b) a##b
#define FD_CAT(a, b) FD_CAT2(a, b)

/* float32: 6 x 16 tile = 12 ymm accumulators */
#define T float
#define SFX f32
#define VT __m256
#define VL 8
#define MR FD_AVX2_MR_F32
#define NV (FD_AVX2_NR_F32 / 8)
#define NAME fd_ukr_avx2_f32
#define VLOAD _mm256_load_ps
#define VLOADU _mm256_loadu_ps
#define VSTOREU _mm256_storeu_ps
#define VSET1 _mm256_set1_ps
#define VFMA _mm256_fmadd_ps
#define VADD _mm256_add_ps
#define VMAX _mm256_max_ps
#define VZERO _mm256_setzero_ps
#include "ukr_x86_impl.h"
#undef T
#undef SFX
#undef VT
#undef VL
#undef MR
#undef NV
#undef NAME
#undef VLOAD
#undef VLOADU
#undef VSTOREU
#undef VSET1
#undef VFMA
#undef VADD
#undef VMAX
#undef VZERO

/* float64: 6 x 8 tile = 12 ymm accumulators */
#define T double
#define SFX f64
#define VT __m256d
#define VL 4
#define MR FD_AVX2_MR_F64
#define NV (FD_AVX2_NR_F64 / 4)
#define NAME fd_ukr_avx2_f64
#define VLOAD _mm256_load_pd
#define VLOADU _mm256_loadu_pd
#define VSTOREU _mm256_storeu_pd
#define VSET1 _mm256_set1_pd
#define VFMA _mm256_fmadd_pd
#define VADD _mm256_add_pd
#define VMAX _mm256_max_pd
#define VZERO _mm256_setzero_pd
#include "ukr_x86_impl.h"

#endif /* FD_HAVE_X86_SIMD */
