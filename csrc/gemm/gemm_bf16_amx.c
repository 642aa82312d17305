/* AMX bf16 GEMM micro-kernel (gemm_bf16.h); compiled with -mamx-tile
 * -mamx-bf16 (and AVX-512).  Chosen only where fd_cpu_best_isa() found
 * AMX-TILE and AMX-BF16 and the OS granted the tile data (cpu.c).
 *
 * UNTESTED on the machine it was written on (AMD Zen 4: no AMX); written to
 * Intel's documented tile semantics (SDM vol. 2, TDPBF16PS):
 *   C[m][n] += sum_k A.bf16[m][2k] * B.bf16[k][2n] + A[m][2k+1] * B[k][2n+1]
 * with A a 16-row tile of 16 pairs (64 bytes a row) and B a tile of 16
 * rows of pairs by 16 columns (64 bytes a row), C 16 x 16 float.
 * Tiles: 0-3 the 2 x 2 C tiles of the 32 x 32 block, 4-5 A (rows 0-15,
 * 16-31), 6-7 B (columns 0-15, 16-31).  A is packed row by row (word
 * [r * kp + q]), B as the other paths (word [q * 32 + j]); kp is a
 * multiple of 16 (gemm_bf16.c pads K panels with zero pairs). */
#include "gemm/gemm_bf16.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "act/act.h"

#define AMX_MR FD_GEMM_BF16_AMX_MR
#define AMX_NR FD_GEMM_BF16_AMX_NR

typedef struct {
    uint8_t palette_id;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} fd_amx_tilecfg;

void fd_ukr_bf16_amx(int64_t kp, const uint32_t *Ap, const uint32_t *Bp, float *C, int64_t ldc,
                     int beta, const float *bias, float *z, int64_t ldz, int act)
{
    fd_amx_tilecfg cfg;
#if defined(_MSC_VER)
    __declspec(align(64)) float buf[AMX_MR * AMX_NR];
#else
    float buf[AMX_MR * AMX_NR] __attribute__((aligned(64)));
#endif
    int64_t q;
    int t, r, j;
    memset(&cfg, 0, sizeof(cfg));
    cfg.palette_id = 1;
    for (t = 0; t < 8; t++) {
        cfg.rows[t] = 16;
        cfg.colsb[t] = 64;
    }
    _tile_loadconfig(&cfg);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (q = 0; q < kp; q += 16) {
        _tile_loadd(4, Ap + q, kp * 4);
        _tile_loadd(5, Ap + 16 * kp + q, kp * 4);
        _tile_loadd(6, Bp + q * AMX_NR, AMX_NR * 4);
        _tile_loadd(7, Bp + q * AMX_NR + 16, AMX_NR * 4);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, buf, AMX_NR * 4);
    _tile_stored(1, buf + 16, AMX_NR * 4);
    _tile_stored(2, buf + 16 * AMX_NR, AMX_NR * 4);
    _tile_stored(3, buf + 16 * AMX_NR + 16, AMX_NR * 4);
    _tile_release();
    for (r = 0; r < AMX_MR; r++)
        for (j = 0; j < AMX_NR; j++) {
            float v = buf[r * AMX_NR + j];
            if (beta) v += C[r * ldc + j];
            if (bias) v += bias[j];
            if (z) z[r * ldz + j] = v;
            C[r * ldc + j] = fd_act_f32(act, v);
        }
}

#else
FD_NO_SIMD_UNIT;
#endif
