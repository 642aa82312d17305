/* The micro-kernels' epilogue: a block of statements included at the end of
 * the kernel bodies of gemm_simd_impl.h (float32/float64) and
 * gemm_bf16_simd_impl.h (bf16 products), so both apply beta, bias, the
 * pre-activation copy z, ReLU and the stores in one place.  In scope: the
 * register tile VP(vec) c[MR][NV], ints r, v, and C, ldc, beta, bias, z,
 * ldz, act; UKR_NR and UKR_ACT_ROWS (the vector sigmoid/tanh/gelu over the
 * stored rows, act_simd.h) defined by the including template; this block
 * undefines them and the K step's UKR_BVEC, UKR_BLOAD, UKR_BCAST and
 * UKR_MAC (gemm_ukr_kstep.h) at the end.  No include guard: included once
 * per kernel. */
if (beta) {
#pragma GCC unroll 16
    for (r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (v = 0; v < NV; v++) c[r][v] = VP(add)(c[r][v], VP(load)(C + r * ldc + v * VP(W)));
}
if (bias) {
#pragma GCC unroll 4
    for (v = 0; v < NV; v++) {
        VP(vec) bv = VP(load)(bias + v * VP(W));
#pragma GCC unroll 16
        for (r = 0; r < MR; r++) c[r][v] = VP(add)(c[r][v], bv);
    }
}
if (z) {
#pragma GCC unroll 16
    for (r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (v = 0; v < NV; v++) VP(store)(z + r * ldz + v * VP(W), c[r][v]);
}
if (act == FD_ACT_RELU) {
    /* MAXPS returns its second operand when either is NaN: c second,
     * so relu(NaN) = NaN, as np.maximum(z, 0) */
    VP(vec) zero = VP(zero)();
#pragma GCC unroll 16
    for (r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (v = 0; v < NV; v++) c[r][v] = VP(max)(zero, c[r][v]);
}
#pragma GCC unroll 16
for (r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (v = 0; v < NV; v++) VP(store)(C + r * ldc + v * VP(W), c[r][v]);
if (act != FD_ACT_IDENTITY && act != FD_ACT_RELU) {
    /* Transcendental activations: the tile was just stored, so it is in
     * L1; apply them there rather than in a separate pass over C. */
    UKR_ACT_ROWS(act, MR, UKR_NR, C, ldc);
}
#undef UKR_NR
#undef UKR_ACT_ROWS
#undef UKR_BVEC
#undef UKR_BLOAD
#undef UKR_BCAST
#undef UKR_MAC
