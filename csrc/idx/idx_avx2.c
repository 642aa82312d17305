/* In-place byte swap of big-endian IDX elements with AVX2 byte shuffles. */
#include "idx/idx.h"

#if FD_HAVE_X86_SIMD
#include "simd/simd_avx2.h"

#include "idx/idx_bswap_simd_impl.h"
#else
int64_t fd_idx_bswap_avx2(uint8_t *p, int64_t n, int elsize)
{
    (void)p;
    (void)n;
    (void)elsize;
    return 0;
}
#endif
