/* AVX-512 GEMM micro-kernels (this file is compiled with AVX-512 flags). */
#include "gemm/gemm.h"

#if FD_HAVE_X86_SIMD
#include "act/act.h"
#include "act/act_simd.h"
#include "common/fd_omp.h"
#include "simd/simd_avx512.h"

/* The MR x NR tile of each dtype is in gemm_blocking.h. */
#define FD_TEMPLATE "gemm/gemm_simd_impl.h"
#include "common/fd_template.h"

/* The taller float tile of Intel cores with two 512-bit FMA ports
 * (FD_GEMM_AVX512_TALL_F32_*, gemm_blocking.h): fd_ukr_f32_avx512tall. */
#define FD_UKR_PATH AVX512_TALL
#define FD_UKR_SUFFIX avx512tall
#define FD_TEMPLATE "gemm/gemm_simd_impl.h"
#include "common/fd_template.h"
#undef FD_UKR_PATH
#undef FD_UKR_SUFFIX

/* Narrow outputs (gemm.h: fd_small_n_<sfx>_avx512). */
#define FD_TEMPLATE "gemm/gemm_small_n_impl.h"
#include "common/fd_template.h"

#else
FD_NO_SIMD_UNIT;
#endif
