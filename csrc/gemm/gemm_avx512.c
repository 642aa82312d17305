/* AVX-512 GEMM micro-kernels (this file is compiled with -mavx512f...). */
#include "gemm/gemm.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "act/act.h"
#include "act/act_simd.h"
#include "simd/simd_avx512.h"
#include "common/fd_omp.h"

/* float32: 8 x 32 tile = 16 zmm accumulators */
#define T float
#define SFX f32
#define VP(name) v16f_##name
#define MR FD_GEMM_AVX512_F32_MR
#define NV (FD_GEMM_AVX512_F32_NR / 16)
#define NAME fd_ukr_avx512_f32
#define ACT_ROWS fd_act_rows_f32_avx512
#include "gemm/gemm_simd_impl.h"
#undef T
#undef SFX
#undef VP
#undef MR
#undef NV
#undef NAME
#undef ACT_ROWS

/* float64: 8 x 16 tile = 16 zmm accumulators */
#define T double
#define SFX f64
#define VP(name) v8d_##name
#define MR FD_GEMM_AVX512_F64_MR
#define NV (FD_GEMM_AVX512_F64_NR / 8)
#define NAME fd_ukr_avx512_f64
#define ACT_ROWS fd_act_rows_f64_avx512
#include "gemm/gemm_simd_impl.h"
#undef T
#undef SFX
#undef VP
#undef MR
#undef NV
#undef NAME
#undef ACT_ROWS

#endif /* FD_HAVE_X86_SIMD */

#if FD_HAVE_X86_SIMD
/* Narrow outputs (gemm.h: fd_small_n_avx512_*). */
#define T float
#define SFX f32
#define VP(name) v16f_##name
#include "gemm/gemm_small_n_impl.h"
#undef T
#undef SFX
#undef VP

#define T double
#define SFX f64
#define VP(name) v8d_##name
#include "gemm/gemm_small_n_impl.h"
#undef T
#undef SFX
#undef VP
#endif
