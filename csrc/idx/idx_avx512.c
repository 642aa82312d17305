/* In-place byte swap of big-endian IDX elements with AVX-512BW shuffles. */
#include "idx/idx.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

int64_t fd_idx_bswap_avx512(uint8_t *p, int64_t n, int elsize)
{
    __m512i m;
    int64_t nbytes = n * elsize, i = 0;
    switch (elsize) {
    case 2:
        m = _mm512_broadcast_i32x4(
            _mm_setr_epi8(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14));
        break;
    case 4:
        m = _mm512_broadcast_i32x4(
            _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
        break;
    case 8:
        m = _mm512_broadcast_i32x4(
            _mm_setr_epi8(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8));
        break;
    default: return 0;
    }
    for (; i + 64 <= nbytes; i += 64) {
        __m512i a = _mm512_loadu_si512((const void *)(p + i));
        _mm512_storeu_si512((void *)(p + i), _mm512_shuffle_epi8(a, m));
    }
    return i / elsize;
}
#else
int64_t fd_idx_bswap_avx512(uint8_t *p, int64_t n, int elsize)
{
    (void)p;
    (void)n;
    (void)elsize;
    return 0;
}
#endif
