/* In-place byte swap of big-endian IDX elements with AVX2 byte shuffles. */
#include "idx/idx.h"

#if FD_HAVE_X86_SIMD
#include "simd/simd_avx2.h"

#include "idx/idx_bswap_simd_impl.h"
#else
FD_NO_SIMD_UNIT;
#endif
