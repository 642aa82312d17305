/* The micro-kernels' prologue: a block of statements included at the start
 * of the kernel bodies of gemm_simd_impl.h (float32/float64) and
 * gemm_bf16_simd_impl.h (bf16 products).  Declares the register tile
 * VP(vec) c[MR][NV] (zeroed) and ints r, v, and warms the C tile while the
 * K loop runs.  In scope: C, ldc; MR, NV and UKR_NR defined by the
 * including template.  No include guard: included once per kernel. */
VP(vec) c[MR][NV];
int r, v;
#pragma GCC unroll 16
for (r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (v = 0; v < NV; v++) c[r][v] = VP(zero)();
#pragma GCC unroll 16
for (r = 0; r < MR; r++) {
    _mm_prefetch((const char *)(C + r * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(C + r * ldc + UKR_NR - 1), _MM_HINT_T0);
}
