/* In-place byte swap of big-endian IDX elements with AVX2 byte shuffles. */
#include "idx/idx.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

static __m256i swap_mask(int elsize)
{
    switch (elsize) {
    case 2:
        return _mm256_setr_epi8(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, 1, 0, 3, 2, 5,
                                4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
    case 4:
        return _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7,
                                6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    default:
        return _mm256_setr_epi8(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3,
                                2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
    }
}

int64_t fd_idx_bswap_avx2(uint8_t *p, int64_t n, int elsize)
{
    const __m256i m = swap_mask(elsize);
    int64_t nbytes = n * elsize, i = 0;
    if (elsize != 2 && elsize != 4 && elsize != 8) return 0;
    /* Unaligned loads/stores: the buffer may start anywhere. */
    for (; i + 64 <= nbytes; i += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(p + i + 32));
        _mm256_storeu_si256((__m256i *)(p + i), _mm256_shuffle_epi8(a, m));
        _mm256_storeu_si256((__m256i *)(p + i + 32), _mm256_shuffle_epi8(b, m));
    }
    for (; i + 32 <= nbytes; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i));
        _mm256_storeu_si256((__m256i *)(p + i), _mm256_shuffle_epi8(a, m));
    }
    return i / elsize;
}
#else
int64_t fd_idx_bswap_avx2(uint8_t *p, int64_t n, int elsize)
{
    (void)p;
    (void)n;
    (void)elsize;
    return 0;
}
#endif
