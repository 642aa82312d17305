/* Cache blocks from the caches the CPU reports (see gemm_blocking.h). */
#include "gemm/gemm_blocking.h"

static int64_t fd_blk_clamp(int64_t v, int64_t lo, int64_t hi)
{ return v < lo ? lo : v > hi ? hi : v; }

/* v rounded down to a multiple of q (q >= 1), at least q. */
static int64_t fd_blk_floor(int64_t v, int64_t q)
{
    v = v / q * q;
    return v < q ? q : v;
}

/* Bytes of a cache level a block may fill: `num / den` of it, and, where
 * the level is shared by several CPUs, only this CPU's share. */
static int64_t fd_blk_budget(const fd_cache_level *l, int num, int den)
{
    int64_t share = l->size / (l->sharing > 1 ? l->sharing : 1);
    return share / den * num;
}

fd_gemm_blocks fd_gemm_derive_blocks(const fd_caches *c, int mr, int nr, int kbytes, int kalign,
                                     int rules)
{
    fd_gemm_blocks b;
    fd_caches def;
    int64_t kc, nc, mc, l2_bytes, l3_bytes;
    int ways, l2_only;
    if (c == NULL) {
        fd_caches_default(&def);
        c = &def;
    }
    b.mr = mr;
    b.nr = nr;
    if (rules & FD_GEMM_RULE_KC_AB_L1) {
        /* KC (L1d, matrix units): the A and B micro-panels ((MR + NR) x KC)
         * in FD_GEMM_KC_AB_L1 of L1d */
        kc = fd_blk_budget(&c->l1d, FD_GEMM_KC_AB_L1_NUM, FD_GEMM_KC_AB_L1_DEN) /
            ((int64_t)(mr + nr) * kbytes);
    } else if (rules & FD_GEMM_RULE_KC_L2) {
        /* KC (L2, matrix units): the A and B micro-panels ((MR + NR) x KC)
         * in FD_GEMM_KC_L2 of L2 */
        kc = fd_blk_budget(&c->l2, FD_GEMM_KC_L2_NUM, FD_GEMM_KC_L2_DEN) /
            ((int64_t)(mr + nr) * kbytes);
    } else {
        /* KC (L1d): the MR x KC micro-panel of A is what every micro-kernel
         * call of the jr loop reads again; it gets all ways of L1d but one,
         * which is left to the KC x NR micro-panel of B streaming through
         * (and the C tile).  Unknown associativity: 3/4 of L1d. */
        ways = c->l1d.ways;
        kc = (ways >= 2 ? c->l1d.size / ways * (ways - 1) : c->l1d.size / 4 * 3) /
            ((int64_t)mr * kbytes);
    }
    kc = fd_blk_floor(fd_blk_clamp(kc, FD_GEMM_KC_MIN, FD_GEMM_KC_MAX), kalign);
    /* NC (L2 / L3): the KC x NC block of B is read again by every A
     * micro-panel (the ir loop), so it should stay in this core's share of
     * L2 (FD_GEMM_NC_L2 of it) or, where an L3 is reported, of L3
     * (FD_GEMM_NC_L3); with FD_GEMM_RULE_NC_BIG_L2 an L2 of
     * FD_GEMM_NC_L2_ONLY_BYTES or more keeps it in L2 (FD_GEMM_NC_L2_ONLY
     * of it) whatever the L3 (see gemm_blocking.h). */
    l2_only = (rules & FD_GEMM_RULE_NC_BIG_L2) && c->l2.size >= FD_GEMM_NC_L2_ONLY_BYTES;
    l2_bytes = l2_only ? fd_blk_budget(&c->l2, FD_GEMM_NC_L2_ONLY_NUM, FD_GEMM_NC_L2_ONLY_DEN)
                       : fd_blk_budget(&c->l2, FD_GEMM_NC_L2_NUM, FD_GEMM_NC_L2_DEN);
    l3_bytes = c->l3.size > 0 && !l2_only
        ? fd_blk_budget(&c->l3, FD_GEMM_NC_L3_NUM, FD_GEMM_NC_L3_DEN)
        : 0;
    nc = (l3_bytes > l2_bytes ? l3_bytes : l2_bytes) / (kc * kbytes);
    /* MC (L2): the MC x KC block of A packed at once (only a strided A is
     * packed; a row-major A is read in place) takes FD_GEMM_MC_L2 of L2. */
    mc = fd_blk_budget(&c->l2, FD_GEMM_MC_L2_NUM, FD_GEMM_MC_L2_DEN) / (kc * kbytes);
    b.kc = kc;
    b.nc = fd_blk_floor(fd_blk_clamp(nc, nr, FD_GEMM_NC_MAX), nr);
    b.mc = fd_blk_floor(fd_blk_clamp(mc, mr, FD_GEMM_MC_MAX), mr);
    return b;
}

fd_gemm_blocks fd_gemm_path_blocks(fd_gemm_blocks entry, const fd_caches *c, int kbytes, int kalign,
                                   int rules)
{
    fd_gemm_blocks b = fd_gemm_derive_blocks(c, entry.mr, entry.nr, kbytes, kalign, rules);
    if (entry.kc < b.kc) b.kc = entry.kc; /* the table's KC is the path's cap */
    return b;
}

void fd_gemm_small_m_blocks(fd_gemm_blocks *b, const fd_caches *c, int kbytes, int rules, int64_t m,
                            int64_t n)
{
    fd_caches def;
    int64_t nc, kc;
    if (c == NULL) {
        fd_caches_default(&def);
        c = &def;
    }
    if (m > FD_GEMM_SMALL_M || !(rules & FD_GEMM_RULE_NC_BIG_L2) ||
        c->l2.size < FD_GEMM_NC_L2_ONLY_BYTES)
        return;
    /* whole rows of B, at most a page of each */
    nc = fd_gemm_min(fd_gemm_round_up(n, b->nr), fd_blk_floor(FD_GEMM_PAGE_BYTES / kbytes, b->nr));
    if (nc <= b->nc) return;
    kc = fd_blk_budget(&c->l2, FD_GEMM_NC_L2_NUM, FD_GEMM_NC_L2_DEN) / (nc * kbytes);
    b->nc = nc;
    b->kc = fd_blk_clamp(kc, FD_GEMM_KC_MIN, b->kc);
}

int fd_gemm_tall_f32(int tile)
{
    if (tile == FD_TILE_TALL) return 1;
    if (tile == FD_TILE_BASE) return 0;
    return fd_cpu_fma512_ports() >= 2;
}

int64_t fd_gemm_k_inner_bytes(const fd_caches *c)
{
    fd_caches def;
    if (c == NULL) {
        fd_caches_default(&def);
        c = &def;
    }
    return fd_blk_budget(&c->l2, FD_GEMM_K_INNER_L2_NUM, FD_GEMM_K_INNER_L2_DEN);
}
