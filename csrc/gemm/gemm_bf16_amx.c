/* AMX bf16 GEMM micro-kernel and transposed-A packing (gemm_bf16.h);
 * compiled with -mamx-tile -mamx-bf16 (and AVX-512).  Chosen only where
 * fd_cpu_best_isa() found AMX-TILE and AMX-BF16 and the OS granted the tile
 * data (cpu.c).
 *
 * Intel's tile semantics (SDM vol. 2, TDPBF16PS):
 *   C[m][n] += sum_k A.bf16[m][2k] * B.bf16[k][2n] + A[m][2k+1] * B[k][2n+1]
 * with A a 16-row tile of 16 pairs (64 bytes a row) and B a tile of 16
 * rows of pairs by 16 columns (64 bytes a row), C 16 x 16 float.
 * Tiles: 0-3 the 2 x 2 C tiles of the 32 x 32 block, 4-5 A (rows 0-15,
 * 16-31), 6-7 B (columns 0-15, 16-31).  A is packed row by row (word
 * [r * kp + q]), B as the other paths (word [q * 32 + j]); kp is a
 * multiple of 16 (gemm_bf16.c pads K panels with zero pairs).
 *
 * A product that adds to C (beta: a K panel after the first, or C +=
 * A @ B) loads C into the C tiles and goes on with the sums there, so a
 * result is the same whichever way K is cut into panels.
 *
 * The tile configuration is loaded once per thread and product
 * (fd_amx_tiles_begin / _end around the thread's share of the loop nest),
 * not per micro-kernel call: LDTILECFG and TILERELEASE cost about as much
 * as a few tile products. */
#include "gemm/gemm_bf16.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "act/act.h"
#include "act/act_simd.h"
#include "simd/simd_avx512.h"
#include "simd/simd_avx512bf16.h"

#define AMX_MR FD_GEMM_BF16_AMX_MR
#define AMX_NR FD_GEMM_BF16_AMX_NR

typedef struct {
    uint8_t palette_id;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} fd_amx_tilecfg;

/* Eight 16 x 64-byte tiles.  A static table, not a local filled in: GCC
 * does not see LDTILECFG read its operand and may drop the stores to a
 * local configuration (seen with gcc 12: #GP at LDTILECFG). */
static const fd_amx_tilecfg fd_amx_cfg = {
    1, 0, {0}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16}};

void fd_amx_tiles_begin(void)
{ _tile_loadconfig(&fd_amx_cfg); }

void fd_amx_tiles_end(void)
{ _tile_release(); }

/* The epilogue of the other micro-kernels (gemm_ukr_epilogue.h) on 8 rows
 * of the 32 x 32 result, read back from the tiles' buffer into zmm. */
#define VP(name) v16f_##name
#define MR 8
#define NV 2
static inline void fd_amx_epi_rows8(const float *FD_RESTRICT buf, float *FD_RESTRICT C, int64_t ldc,
                                    int beta, const float *FD_RESTRICT bias, float *FD_RESTRICT z,
                                    int64_t ldz, int act)
{
    VP(vec) c[MR][NV];
    int r, v;
#define UKR_NR AMX_NR
#define UKR_ACT_ROWS fd_act_rows_f32_avx512
    for (r = 0; r < MR; r++)
        for (v = 0; v < NV; v++) c[r][v] = VP(load)(buf + r * AMX_NR + v * VP(W));
#include "gemm/gemm_ukr_epilogue.h"
}
#undef VP
#undef MR
#undef NV

/* The 2 x 2 C tiles (0-3) to the 32 x 32 block at C, rows ldc floats apart. */
FD_INLINE void fd_amx_store_c(float *C, int64_t ldc)
{
    _tile_stored(0, C, ldc * 4);
    _tile_stored(1, C + 16, ldc * 4);
    _tile_stored(2, C + 16 * ldc, ldc * 4);
    _tile_stored(3, C + 16 * ldc + 16, ldc * 4);
}

/* ... and back: C's 32 x 32 block into the C tiles. */
FD_INLINE void fd_amx_load_c(const float *C, int64_t ldc)
{
    _tile_loadd(0, C, ldc * 4);
    _tile_loadd(1, C + 16, ldc * 4);
    _tile_loadd(2, C + 16 * ldc, ldc * 4);
    _tile_loadd(3, C + 16 * ldc + 16, ldc * 4);
}

void fd_ukr_bf16_amx(int64_t kp, const uint32_t *Ap, const uint32_t *Bp, float *C, int64_t ldc,
                     int beta, const float *bias, float *z, int64_t ldz, int act)
{
    FD_GEMM_ALIGNED64(float buf[AMX_MR * AMX_NR]);
    int64_t q;
    int r;
    if (beta) {
        fd_amx_load_c(C, ldc); /* the sums go on from C's float32 values */
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    for (q = 0; q < kp; q += 16) {
        _tile_loadd(4, Ap + q, kp * 4);
        _tile_loadd(6, Bp + q * AMX_NR, AMX_NR * 4);
        _tile_loadd(5, Ap + 16 * kp + q, kp * 4);
        _tile_dpbf16ps(0, 4, 6);
        _tile_loadd(7, Bp + q * AMX_NR + 16, AMX_NR * 4);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(3, 5, 7);
    }
    if (!bias && !z && act == FD_ACT_IDENTITY) {
        fd_amx_store_c(C, ldc); /* nothing to add: the tiles go straight to C */
        return;
    }
    fd_amx_store_c(buf, AMX_NR);
    for (r = 0; r < AMX_MR; r += 8)
        fd_amx_epi_rows8(buf + r * AMX_NR, C + r * ldc, ldc, 0, bias, z ? z + r * ldz : NULL, ldz,
                         act);
}

/* A with unit row stride (x^T in dW = x^T dz: column r of a row-major x,
 * a_cs apart between K steps) straight into the rows layout the A tiles
 * load (word [r * kp + q]; mr and kp multiples of 16): the pair of K steps
 * 2q, 2q + 1 of 16 rows is one vector of words, and 16 such vectors
 * transposed are 16 pairs of each of the 16 rows. */
void fd_packa_t_bf16_amx(int64_t kc, int64_t kp, int64_t rows, const float *A, int64_t a_cs, int mr,
                         uint32_t *dst)
{
    const int64_t np = (kc + 1) / 2;
    int64_t h, q0;
    int i;
    for (h = 0; h < mr; h += 16) {
        const int64_t left = rows - h;
        const __mmask16 m = left >= 16 ? (__mmask16)0xffff
            : left > 0                 ? (__mmask16)((1u << left) - 1u)
                                       : (__mmask16)0;
        uint32_t *d = dst + h * kp;
        for (q0 = 0; q0 < kp; q0 += 16) {
            __m512i w[16];
            for (i = 0; i < 16; i++) {
                const int64_t q = q0 + i;
                __m512 x0 = v16f_zero(), x1 = v16f_zero();
                if (q < np) {
                    x0 = v16f_mloadz(A + 2 * q * a_cs + h, m);
                    if (2 * q + 1 < kc) x1 = v16f_mloadz(A + (2 * q + 1) * a_cs + h, m);
                }
                w[i] = v16f_bf16_pairs(x0, x1);
            }
            v16i_transpose16(w);
            for (i = 0; i < 16; i++) _mm512_storeu_si512((void *)(d + i * kp + q0), w[i]);
        }
    }
}

#else
FD_NO_SIMD_UNIT;
#endif
