/* One K step of the micro-kernels: a block included in each K loop of
 * gemm_simd_impl.h and gemm_bf16_simd_impl.h.  Loads NV vectors of B at
 * Bp, then for each of the MR rows broadcasts row r's A value UKR_A(r)
 * and accumulates its products with them into c[r][].  The including
 * template defines UKR_BVEC (the type of a B vector), UKR_BLOAD(p),
 * UKR_BCAST(x) and UKR_MAC(acc, a, b) (acc + a * b); the loop defines
 * UKR_A(r) just before the include, and it is undefined here.  In scope:
 * the tile c[MR][NV], ints r, v and Bp.  No include guard. */
{
    UKR_BVEC b[NV];
#pragma GCC unroll 4
    for (v = 0; v < NV; v++) b[v] = UKR_BLOAD(Bp + v * VP(W));
#pragma GCC unroll 16
    for (r = 0; r < MR; r++) {
        UKR_BVEC a = UKR_BCAST(UKR_A(r));
#pragma GCC unroll 4
        for (v = 0; v < NV; v++) c[r][v] = UKR_MAC(c[r][v], a, b[v]);
    }
}
#undef UKR_A
