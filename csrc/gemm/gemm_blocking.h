/* GEMM blocking: one table per instruction set and dtype, the only place
 * these numbers are written (gemm.c, gemm_impl.h and the micro-kernel units
 * read them from here).
 *
 *   MR x NR     register block: the micro-kernel's tile of C
 *   KC, MC, NC  cache blocks: the K panel, rows of A and columns of B packed
 *               per step (MC % MR == 0, NC % NR == 0)
 *   SMALL_N     outputs up to this many columns take the unpacked
 *               narrow-output kernel (AVX-512 only: one vector of lanes)
 *
 * Cache blocks.  float: KC = 800 takes K = 784 (MNIST) in one panel, so
 * each C tile is loaded and stored once; the MR x KC micro-panel of A
 * (25 KiB) still fits L1d, and the KC x NC panel of B streams from L2/L3.
 * Measured on a Zen 4 (L1d 32 KiB, L2 1 MiB): one panel beat three
 * (KC = 384) by 1-4% at one thread on 784->256/1024, and NC = 1024 beat
 * 256 and 512.  AVX2 keeps KC = 384: with 800, a small batch reading B in
 * place (64 x 784 -> 256) lost 10%.  double keeps its 2-4 panels (KC =
 * 400 measured the same) and takes NC = 1024 too (one thread, 784->1024:
 * 48-54 against 43-52 GFLOP/s with 512). */
#ifndef FD_GEMM_BLOCKING_H
#define FD_GEMM_BLOCKING_H

#include "common/cpu.h"

/* Cache blocks derived at run time (gemm_blocking.c) from the caches the
 * CPU reports (common/cpu.h, fd_cpu_caches), BLIS-style (Low et al. 2016,
 * "Analytical modeling is enough for high-performance BLIS"), for the loop
 * order of gemm_impl.h (jc, pc, ic, ir, jr: an A micro-panel is reused
 * across the jr loop, the packed KC x NC block of B across the ir loop):
 *   KC  MR x KC micro-panel of A in all ways of L1d but one
 *   NC  KC x NC block of B in this core's share of L3 (NC_L3), or of L2
 *       (NC_L2) where no L3 is reported
 *   MC  MC x KC block of A in MC_L2 of L2
 * clamped to the limits below and rounded down (KC to the path's K
 * alignment, MC to MR, NC to NR).  The per-ISA KC, MC and NC in the table
 * below are no longer used by the drivers: they record what was measured
 * on a Zen 4 before (and what the derivation gives there, see
 * docs/performance.md).  MR and NR (the register tile) stay compile-time
 * constants of each micro-kernel. */
#define FD_GEMM_KC_MIN 64
#define FD_GEMM_KC_MAX 2048
#define FD_GEMM_MC_MAX 1024
#define FD_GEMM_NC_MAX 4096
#define FD_GEMM_NC_L2_NUM 1
#define FD_GEMM_NC_L2_DEN 2
#define FD_GEMM_NC_L3_NUM 1
#define FD_GEMM_NC_L3_DEN 4
#define FD_GEMM_MC_L2_NUM 1
#define FD_GEMM_MC_L2_DEN 2

/* Register tile and cache blocks of one path and dtype. */
typedef struct {
    int mr, nr;
    int64_t kc, mc, nc;
} fd_gemm_blocks;

/* Blocks for an MR x NR micro-kernel whose packed operands take kbytes
 * per K element and row (4 float, 8 double, 2 bfloat16) and whose K panel
 * is a multiple of kalign, on caches c (NULL: fd_caches_default()).  A
 * pure function: the same caches give the same blocks. */
fd_gemm_blocks fd_gemm_derive_blocks(const fd_caches *c, int mr, int nr, int kbytes, int kalign);

/* portable C: plain loops the compiler may vectorise */
#define FD_GEMM_GENERIC_F32_MR 4
#define FD_GEMM_GENERIC_F32_NR 8
#define FD_GEMM_GENERIC_F32_KC 256
#define FD_GEMM_GENERIC_F32_MC 128
#define FD_GEMM_GENERIC_F32_NC 2048

#define FD_GEMM_GENERIC_F64_MR 4
#define FD_GEMM_GENERIC_F64_NR 4
#define FD_GEMM_GENERIC_F64_KC 256
#define FD_GEMM_GENERIC_F64_MC 128
#define FD_GEMM_GENERIC_F64_NC 2048

/* AVX2 + FMA: 6 x 16 float / 6 x 8 double = 12 ymm accumulators */
#define FD_GEMM_AVX2_F32_MR 6
#define FD_GEMM_AVX2_F32_NR 16
#define FD_GEMM_AVX2_F32_KC 384
#define FD_GEMM_AVX2_F32_MC 240
#define FD_GEMM_AVX2_F32_NC 1024

#define FD_GEMM_AVX2_F64_MR 6
#define FD_GEMM_AVX2_F64_NR 8
#define FD_GEMM_AVX2_F64_KC 256
#define FD_GEMM_AVX2_F64_MC 192
#define FD_GEMM_AVX2_F64_NC 512

/* AVX-512: 8 x 32 float / 8 x 16 double = 16 zmm accumulators */
#define FD_GEMM_AVX512_F32_MR 8
#define FD_GEMM_AVX512_F32_NR 32
#define FD_GEMM_AVX512_F32_KC 800
#define FD_GEMM_AVX512_F32_MC 256
#define FD_GEMM_AVX512_F32_NC 1024
#define FD_GEMM_AVX512_F32_SMALL_N 16

#define FD_GEMM_AVX512_F64_MR 8
#define FD_GEMM_AVX512_F64_NR 16
#define FD_GEMM_AVX512_F64_KC 256
#define FD_GEMM_AVX512_F64_MC 192
#define FD_GEMM_AVX512_F64_NC 1024
#define FD_GEMM_AVX512_F64_SMALL_N 8

/* bfloat16 (gemm_bf16.h), float32 in and out.  KC counts K elements (a
 * multiple of 2: K goes in pairs).  A 1024-element K panel is 512 pairs:
 * the 8 x 512 words of A (16 KiB) fit L1d, the 512 x NC words of B stream
 * from L2. */
#define FD_GEMM_BF16_GENERIC_MR 4
#define FD_GEMM_BF16_GENERIC_NR 8
#define FD_GEMM_BF16_GENERIC_KC 512
#define FD_GEMM_BF16_GENERIC_MC 128
#define FD_GEMM_BF16_GENERIC_NC 1024

/* vdpbf16ps on zmm: 8 x 32 float tile, 16 accumulators */
#define FD_GEMM_BF16_AVX512_MR 8
#define FD_GEMM_BF16_AVX512_NR 32
#define FD_GEMM_BF16_AVX512_KC 1024
#define FD_GEMM_BF16_AVX512_MC 256
#define FD_GEMM_BF16_AVX512_NC 1024
/* the ymm twin (6 x 32, 24 accumulators), run instead when 1 */
#define FD_GEMM_BF16_AVX512_YMM_MR 6
#define FD_GEMM_BF16_AVX512_USE_YMM 0
/* A packed row by row (1) or pair by pair (0), see gemm_bf16.h */
#define FD_GEMM_BF16_AVX512_A_ROWS 1

/* AMX: 2 x 2 tiles of 16 x 16 float; K panels padded to 16 pairs */
#define FD_GEMM_BF16_AMX_MR 32
#define FD_GEMM_BF16_AMX_NR 32
#define FD_GEMM_BF16_AMX_KC 1024
#define FD_GEMM_BF16_AMX_MC 256
#define FD_GEMM_BF16_AMX_NC 1024

/* Largest MR x NR tile of any micro-kernel (elements): the edge-tile
 * buffer's size. */
#define FD_GEMM_TILE_MAX 256
#define FD_GEMM_BF16_TILE_MAX 1024

/* FD_GEMM_BLK(AVX2, 32, KC) is FD_GEMM_AVX2_F32_KC: the templates look their
 * entry up by instruction set and dtype width. */
#define FD_GEMM_BLK_(isa, bits, field) FD_GEMM_##isa##_F##bits##_##field
#define FD_GEMM_BLK(isa, bits, field) FD_GEMM_BLK_(isa, bits, field)

#endif /* FD_GEMM_BLOCKING_H */
