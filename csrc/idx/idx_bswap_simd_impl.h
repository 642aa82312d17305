/* In-place byte swap of big-endian IDX elements, written once over the byte
 * vectors of simd/simd_isa_impl.h (FD_SIMD_BYTES: v32b, v64b);
 * included by idx_avx2.c / idx_avx512.c after their simd/ header.  Defines
 * fd_idx_bswap_<isa>: swaps whole vectors from the start of p and returns
 * how many elements it did (the caller swaps the rest). */
#define VB(name) FD_PASTE2(FD_SIMD_BYTES, name)

int64_t FD_PASTE2(fd_idx_bswap, FD_SIMD_ISA)(uint8_t *p, int64_t n, int elsize)
{
    static const uint8_t swap2[16] = {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14};
    static const uint8_t swap4[16] = {3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12};
    static const uint8_t swap8[16] = {7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8};
    const uint8_t *pattern = elsize == 2 ? swap2 : elsize == 4 ? swap4 : elsize == 8 ? swap8 : NULL;
    int64_t nbytes = n * elsize, i = 0;
    VB(vec) m;
    if (pattern == NULL) return 0;
    m = VB(lane_pattern)(pattern);
    /* Unaligned loads/stores: the buffer may start anywhere. */
    for (; i + VB(W) <= nbytes; i += VB(W)) VB(store)(p + i, VB(shuffle)(VB(load)(p + i), m));
    return i / elsize;
}

#undef VB
