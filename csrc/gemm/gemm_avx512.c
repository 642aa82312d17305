/* AVX-512 GEMM micro-kernels (this file is compiled with -mavx512f...). */
#include "gemm/gemm.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "act/act.h"
#include "act/act_simd.h"
#include "common/fd_omp.h"

#define FD_CAT2(a, b) a##b
#define FD_CAT(a, b) FD_CAT2(a, b)

/* float32: 8 x 32 tile = 16 zmm accumulators */
#define T float
#define SFX f32
#define VT __m512
#define VL 16
#define MR FD_GEMM_AVX512_F32_MR
#define NV (FD_GEMM_AVX512_F32_NR / 16)
#define NAME fd_ukr_avx512_f32
#define VLOAD _mm512_load_ps
#define VLOADU _mm512_loadu_ps
#define VSTOREU _mm512_storeu_ps
#define VSET1 _mm512_set1_ps
#define VFMA _mm512_fmadd_ps
#define VADD _mm512_add_ps
#define VMAX _mm512_max_ps
#define VZERO _mm512_setzero_ps
#define ACT_ROWS fd_act_rows_avx512_f32
#include "gemm/gemm_simd_impl.h"
#undef ACT_ROWS
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

/* float64: 8 x 16 tile = 16 zmm accumulators */
#define T double
#define SFX f64
#define VT __m512d
#define VL 8
#define MR FD_GEMM_AVX512_F64_MR
#define NV (FD_GEMM_AVX512_F64_NR / 8)
#define NAME fd_ukr_avx512_f64
#define VLOAD _mm512_load_pd
#define VLOADU _mm512_loadu_pd
#define VSTOREU _mm512_storeu_pd
#define VSET1 _mm512_set1_pd
#define VFMA _mm512_fmadd_pd
#define VADD _mm512_add_pd
#define VMAX _mm512_max_pd
#define VZERO _mm512_setzero_pd
#define ACT_ROWS fd_act_rows_avx512_f64
#include "gemm/gemm_simd_impl.h"
#undef ACT_ROWS

#endif /* FD_HAVE_X86_SIMD */

#if FD_HAVE_X86_SIMD
/* Narrow outputs (gemm.h: fd_small_n_avx512_*). */
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

#define T float
#define SFX f32
#define VT __m512
#define MASK_T __mmask16
#define VLOADZ _mm512_maskz_loadu_ps
#define VSTOREM _mm512_mask_storeu_ps
#define VSET1 _mm512_set1_ps
#define VFMA _mm512_fmadd_ps
#define VADD _mm512_add_ps
#define VMAX _mm512_max_ps
#define VZERO _mm512_setzero_ps
#include "gemm/gemm_small_n_impl.h"
#undef T
#undef SFX
#undef VT
#undef MASK_T
#undef VLOADZ
#undef VSTOREM
#undef VSET1
#undef VFMA
#undef VADD
#undef VMAX
#undef VZERO

#define T double
#define SFX f64
#define VT __m512d
#define MASK_T __mmask8
#define VLOADZ _mm512_maskz_loadu_pd
#define VSTOREM _mm512_mask_storeu_pd
#define VSET1 _mm512_set1_pd
#define VFMA _mm512_fmadd_pd
#define VADD _mm512_add_pd
#define VMAX _mm512_max_pd
#define VZERO _mm512_setzero_pd
#include "gemm/gemm_small_n_impl.h"
#undef T
#undef SFX
#undef VT
#undef MASK_T
#undef VLOADZ
#undef VSTOREM
#undef VSET1
#undef VFMA
#undef VADD
#undef VMAX
#undef VZERO
#endif
