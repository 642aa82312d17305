/* The group forward of mlp_sparse.h written once over the vector
 * operations of simd/simd_avx2.h / simd/simd_avx512.h, instantiated by
 * mlp_sparse_avx2.c / mlp_sparse_avx512.c through common/fd_template.h:
 * a register tile of FD_SP_G rows x FD_SP_NV vectors, each W row loaded
 * once for the group's rows (and prefetched FD_SP_PF kept pixels ahead: the
 * rows are 1-4 KiB apart, too far for the hardware prefetchers); masked
 * loads and stores on the last columns. */

#ifndef FD_SP_NV
#error "define FD_SP_NV (vectors per row of the register tile) before the template"
#endif
#ifndef FD_SP_WNV
#error                                                                                             \
    "define FD_SP_WNV (vectors per row of the weight gradient's register tile) before the template"
#endif

/* Columns [j0, j0 + nv * W) (the last vector masked by tm when tail) of
 * the group's rows, summed on top of init (row g at init + g * ldi: ldi 0
 * for one row for all); off: each kept pixel's row of W as a byte offset,
 * with FD_SP_PF more past the count that point into W (the prefetches
 * need no test). */
FD_INLINE void FD_TNAME_ISA(fd_sp_tile, ISA)(int nv, int tail, VP(mask) tm, int64_t j0,
                                             int64_t u_count, const int64_t *off, const T *v,
                                             const T *W, const T *init, int64_t ldi, int relu, T *y,
                                             int64_t ldy, int rows)
{
    VP(vec) acc[FD_SP_G][FD_SP_NV], wv[FD_SP_NV];
    const VP(vec) zero = VP(zero)();
    const char *Wj = (const char *)(W + j0);
    int64_t u;
    int g, i, b;
#pragma GCC unroll 4
    for (g = 0; g < FD_SP_G; g++) {
        const T *c0 = init + (g < rows ? g : rows - 1) * ldi + j0; /* (rows past: unused) */
#pragma GCC unroll 4
        for (i = 0; i < nv; i++)
            acc[g][i] = tail && i == nv - 1 ? VP(mload)(c0 + i * VP(W), tm, zero)
                                            : VP(load)(c0 + i * VP(W));
    }
    for (u = 0; u < u_count; u++) {
        const T *w = (const T *)(Wj + off[u]);
        const char *pw = Wj + off[u + FD_SP_PF];
#pragma GCC unroll 4
        for (b = 0; b < nv * VP(W) * (int)sizeof(T); b += 64) /* a prefetch a line */
            _mm_prefetch(pw + b, _MM_HINT_T0);
#pragma GCC unroll 4
        for (i = 0; i < nv; i++)
            wv[i] =
                tail && i == nv - 1 ? VP(mload)(w + i * VP(W), tm, zero) : VP(load)(w + i * VP(W));
#pragma GCC unroll 4
        for (g = 0; g < FD_SP_G; g++) {
            const VP(vec) a = VP(set1)(v[u * FD_SP_G + g]);
#pragma GCC unroll 4
            for (i = 0; i < nv; i++) acc[g][i] = VP(fmadd)(a, wv[i], acc[g][i]);
        }
    }
    for (g = 0; g < rows; g++) {
        T *yr = y + g * ldy + j0;
#pragma GCC unroll 4
        for (i = 0; i < nv; i++) {
            /* MAXPS returns its second operand for a NaN: relu(NaN) = NaN */
            const VP(vec) o = relu ? VP(max)(zero, acc[g][i]) : acc[g][i];
            if (tail && i == nv - 1)
                VP(mstore)(yr + i * VP(W), tm, o);
            else
                VP(store)(yr + i * VP(W), o);
        }
    }
}

/* The kept pixels' byte offsets in W go on the stack, FD_SP_OFFS at a time
 * (each piece summed on top of the last one's output: the same sums). */
#define FD_SP_OFFS 1024
void FD_TNAME_ISA(fd_sp_forward, ISA)(int64_t u_count, const int32_t *ix, const T *v, const T *W,
                                      int64_t ldw, int64_t n, const T *cw, int relu, T *y,
                                      int64_t ldy, int rows)
{
    const int64_t full = n / VP(W), rem = n % VP(W);
    const VP(mask) tm = VP(tailmask)(rem ? rem : 1);
    int64_t off[FD_SP_OFFS + FD_SP_PF], vi, u, u0 = 0;
    do {
        const int64_t uc = u_count - u0 < FD_SP_OFFS ? u_count - u0 : FD_SP_OFFS;
        const int last = u0 + uc == u_count, act = relu && last;
        const T *init = u0 ? y : cw, *vu = v + u0 * FD_SP_G;
        const int64_t ldi = u0 ? ldy : 0;
        for (u = 0; u < uc; u++) off[u] = (int64_t)ix[u0 + u] * ldw * (int64_t)sizeof(T);
        for (; u < uc + FD_SP_PF; u++) off[u] = 0;
        for (vi = 0; vi + FD_SP_NV <= full; vi += FD_SP_NV)
            FD_TNAME_ISA(fd_sp_tile, ISA)(FD_SP_NV, 0, tm, vi * VP(W), uc, off, vu, W, init, ldi,
                                          act, y, ldy, rows);
        for (; vi < full; vi++)
            FD_TNAME_ISA(fd_sp_tile, ISA)(1, 0, tm, vi * VP(W), uc, off, vu, W, init, ldi, act, y,
                                          ldy, rows);
        if (rem)
            FD_TNAME_ISA(fd_sp_tile, ISA)(1, 1, tm, full * VP(W), uc, off, vu, W, init, ldi, act, y,
                                          ldy, rows);
        u0 += uc;
    } while (u0 < u_count);
}
#undef FD_SP_OFFS

/* The weight gradient's columns [j0, j0 + nv * W) (the last vector masked
 * by tm when tail) of rows p0..p1: a row's accumulators in registers from
 * c * db, an FMA per row that keeps the pixel, in row order, written once;
 * the rows of dz that the tile reads stay in cache from pixel to pixel.
 * (Two neighbouring pixels at a time, over the union of their rows with
 * one load of dz for both FMAs, ran 15-30% slower on a Xeon and about 20%
 * on a Zen 3: docs/performance.md, stops 39, 43 and 46.) */
FD_INLINE void FD_TNAME_ISA(fd_sp_wgrad_tile,
                            ISA)(int nv, int tail, VP(mask) tm, int64_t j0, int64_t p0, int64_t p1,
                                 const T *xt, int64_t mp, const uint64_t *mk, int64_t nw,
                                 const T *dz, int64_t lddz, T c, const T *db, T *dW, int64_t lddw)
{
    VP(vec) acc[FD_SP_WNV];
    const VP(vec) zero = VP(zero)(), vc = VP(set1)(c);
    int64_t p, w;
    int i;
    for (p = p0; p < p1; p++) {
        const T *xp = xt + p * mp;
        T *o = dW + p * lddw + j0;
#pragma GCC unroll 16
        for (i = 0; i < nv; i++)
            acc[i] = VP(mul)(vc,
                             tail && i == nv - 1 ? VP(mload)(db + j0 + i * VP(W), tm, zero)
                                                 : VP(load)(db + j0 + i * VP(W)));
        for (w = 0; w < nw; w++) {
            uint64_t bits = mk[p * nw + w];
            while (bits) {
                const int64_t r = w * 64 + fd_sp_ctz64(bits);
                const T *d = dz + r * lddz + j0;
                const VP(vec) a = VP(set1)(xp[r]);
                bits &= bits - 1;
#pragma GCC unroll 16
                for (i = 0; i < nv; i++)
                    acc[i] = VP(fmadd)(a,
                                       tail && i == nv - 1 ? VP(mload)(d + i * VP(W), tm, zero)
                                                           : VP(load)(d + i * VP(W)),
                                       acc[i]);
            }
        }
#pragma GCC unroll 16
        for (i = 0; i < nv; i++) {
            if (tail && i == nv - 1)
                VP(mstore)(o + i * VP(W), tm, acc[i]);
            else
                VP(store)(o + i * VP(W), acc[i]);
        }
    }
}

void FD_TNAME_ISA(fd_sp_wgrad, ISA)(int64_t p0, int64_t p1, const T *xt, int64_t mp,
                                    const uint64_t *mk, int64_t nw, const T *dz, int64_t lddz, T c,
                                    const T *db, int64_t n, T *dW, int64_t lddw)
{
    const int64_t full = n / VP(W), rem = n % VP(W);
    const VP(mask) tm = VP(tailmask)(rem ? rem : 1);
    int64_t vi = 0;
    for (; vi + FD_SP_WNV <= full; vi += FD_SP_WNV)
        FD_TNAME_ISA(fd_sp_wgrad_tile, ISA)(FD_SP_WNV, 0, tm, vi * VP(W), p0, p1, xt, mp, mk, nw,
                                            dz, lddz, c, db, dW, lddw);
    for (; vi < full; vi++)
        FD_TNAME_ISA(fd_sp_wgrad_tile, ISA)(1, 0, tm, vi * VP(W), p0, p1, xt, mp, mk, nw, dz, lddz,
                                            c, db, dW, lddw);
    if (rem)
        FD_TNAME_ISA(fd_sp_wgrad_tile, ISA)(1, 1, tm, full * VP(W), p0, p1, xt, mp, mk, nw, dz,
                                            lddz, c, db, dW, lddw);
}

/* (mlp_sparse.h) a vector of dy per pass over the cn rows of WnT (in L1:
 * cn x n is at most 16 x 256 floats in the epoch's shapes); the tail
 * masked. */
void FD_TNAME_ISA(fd_sp_dz_next, ISA)(int64_t n, int64_t cn, const T *dn, const T *WnT, const T *y,
                                      T *dz, T *ps)
{
    const int64_t full = n - n % VP(W);
    const VP(vec) zero = VP(zero)();
    int64_t j, c;
    for (j = 0; j < full; j += VP(W)) {
        VP(vec) a = VP(mul)(VP(set1)(dn[0]), VP(load)(WnT + j));
        VP(vec) g;
        for (c = 1; c < cn; c++) a = VP(fmadd)(VP(set1)(dn[c]), VP(load)(WnT + c * n + j), a);
        g = VP(mul)(a, VP(relu_grad)(VP(load)(y + j)));
        VP(store)(dz + j, g);
        VP(store)(ps + j, VP(add)(VP(load)(ps + j), g));
    }
    if (full < n) {
        const VP(mask) tm = VP(tailmask)(n - full);
        VP(vec) a = VP(mul)(VP(set1)(dn[0]), VP(mload)(WnT + full, tm, zero));
        VP(vec) g;
        for (c = 1; c < cn; c++)
            a = VP(fmadd)(VP(set1)(dn[c]), VP(mload)(WnT + c * n + full, tm, zero), a);
        g = VP(mul)(a, VP(relu_grad)(VP(mload)(y + full, tm, zero)));
        VP(mstore)(dz + full, tm, g);
        VP(mstore)(ps + full, tm, VP(add)(VP(mload)(ps + full, tm, zero), g));
    }
}

/* (mlp_sparse.h) a vector of each of acc's cn rows at a time, over the
 * block's rows: the cn (<= 16) accumulators in registers (the unrolled c
 * loop indexes them by constants) while each row of y gives one vector
 * and dn one broadcast per c; the tail vector masked. */
void FD_TNAME_ISA(fd_sp_wnext, ISA)(int64_t rows, int64_t n, int64_t cn, const T *y, const T *dn,
                                    T *acc)
{
    const VP(vec) zero = VP(zero)();
    int64_t j, r;
    int c;
    for (j = 0; j < n; j += VP(W)) {
        const int tail = n - j < VP(W);
        const VP(mask) tm = VP(tailmask)(tail ? n - j : 1);
        VP(vec) a[FD_SP_NEXT_MAX];
#pragma GCC unroll 16
        for (c = 0; c < FD_SP_NEXT_MAX; c++) a[c] = zero;
        for (r = 0; r < rows; r++) {
            const VP(vec) yv = tail ? VP(mload)(y + r * n + j, tm, zero) : VP(load)(y + r * n + j);
#pragma GCC unroll 16
            for (c = 0; c < FD_SP_NEXT_MAX; c++)
                if (c < cn) {
                    const VP(vec) d = VP(set1)(dn[r * cn + c]);
                    a[c] = r ? VP(fmadd)(d, yv, a[c]) : VP(mul)(d, yv);
                }
        }
#pragma GCC unroll 16
        for (c = 0; c < FD_SP_NEXT_MAX; c++)
            if (c < cn) {
                if (tail)
                    VP(mstore)(acc + c * n + j, tm, a[c]);
                else
                    VP(store)(acc + c * n + j, a[c]);
            }
    }
}

/* (mlp_sparse.h) hr rows x nvh vectors of sums at a time (about 8 FMA
 * chains), the rows past `rows` re-reading the last one (their sums
 * unused); wh and bh padded to whole vectors, the last one's store
 * masked. */
FD_INLINE void FD_TNAME_ISA(fd_sp_head_tile, ISA)(int hr, int nvh, int rows, int64_t n, int64_t cn,
                                                  const T *y, int64_t ldy, const T *wh, const T *bh,
                                                  T *out)
{
    VP(vec) acc[8][4], w[4];
    const T *yr[8];
    int64_t j;
    int r, i;
#pragma GCC unroll 8
    for (r = 0; r < hr; r++) {
        yr[r] = y + (r < rows ? r : rows - 1) * ldy;
#pragma GCC unroll 4
        for (i = 0; i < nvh; i++) acc[r][i] = VP(zero)();
    }
    for (j = 0; j < n; j++) {
#pragma GCC unroll 4
        for (i = 0; i < nvh; i++) w[i] = VP(load)(wh + j * FD_SP_NEXT_MAX + i * VP(W));
#pragma GCC unroll 8
        for (r = 0; r < hr; r++) {
            const VP(vec) a = VP(set1)(yr[r][j]);
#pragma GCC unroll 4
            for (i = 0; i < nvh; i++) acc[r][i] = VP(fmadd)(a, w[i], acc[r][i]);
        }
    }
#pragma GCC unroll 8
    for (r = 0; r < hr; r++) {
        if (r >= rows) break;
#pragma GCC unroll 4
        for (i = 0; i < nvh; i++) {
            T *o = out + r * cn + i * VP(W);
            const VP(vec) v = bh ? VP(add)(acc[r][i], VP(load)(bh + i * VP(W))) : acc[r][i];
            if ((i + 1) * VP(W) <= cn)
                VP(store)(o, v);
            else
                VP(mstore)(o, VP(tailmask)(cn - i * VP(W)), v);
        }
    }
}

void FD_TNAME_ISA(fd_sp_head, ISA)(int64_t rows, int64_t n, int64_t cn, const T *y, int64_t ldy,
                                   const T *wh, const T *bh, T *out)
{
    const int nvh = (int)((cn + VP(W) - 1) / VP(W)); /* 1..4 */
    const int hr = nvh == 1 ? 8 : nvh == 2 ? 4 : 2;
    int64_t r;
    for (r = 0; r < rows; r += hr) {
        const int left = (int)(rows - r < hr ? rows - r : hr);
        const T *yy = y + r * ldy;
        T *oo = out + r * cn;
        if (nvh == 1)
            FD_TNAME_ISA(fd_sp_head_tile, ISA)(8, 1, left, n, cn, yy, ldy, wh, bh, oo);
        else if (nvh == 2)
            FD_TNAME_ISA(fd_sp_head_tile, ISA)(4, 2, left, n, cn, yy, ldy, wh, bh, oo);
        else if (nvh == 3)
            FD_TNAME_ISA(fd_sp_head_tile, ISA)(2, 3, left, n, cn, yy, ldy, wh, bh, oo);
        else
            FD_TNAME_ISA(fd_sp_head_tile, ISA)(2, 4, left, n, cn, yy, ldy, wh, bh, oo);
    }
}

#if FD_SP_G != 4
#error "fd_sp_layout below moves a group's 4 values as one vector"
#endif
/* (mlp_sparse.h) a kept pixel's FD_SP_G values moved as one vector (SSE
 * for float32, AVX for float64, under either path's flags) and its bits
 * from one compare: NEQ_UQ counts a NaN as nonzero. */
void FD_TNAME_ISA(fd_sp_layout, ISA)(int64_t p0, int64_t p1, int64_t q, int64_t ng, int64_t nch,
                                     const int32_t *bnd, const int32_t *ix, const T *v, int64_t kk,
                                     T *xt, int64_t mp, uint64_t *mk, int64_t nw)
{
    int64_t p, g, u;
    for (p = p0; p < p1; p++)
        for (u = 0; u < nw; u++) mk[p * nw + u] = 0;
    for (g = 0; g < ng; g++) {
        const int32_t *bd = bnd + g * (nch + 1);
        const int sh = (int)(g * FD_SP_G % 64);
        uint64_t *mg = mk + g * FD_SP_G / 64;
        T *xg = xt + g * FD_SP_G;
        const T *vg = v + g * kk * FD_SP_G;
        const int32_t *ig = ix + g * kk;
        for (u = bd[q]; u < bd[q + 1]; u++) {
            const int64_t pp = ig[u];
#if FD_T_F64
            const __m256d a = _mm256_loadu_pd(vg + u * FD_SP_G);
            const unsigned nib =
                (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(a, _mm256_setzero_pd(), _CMP_NEQ_UQ));
            _mm256_storeu_pd(xg + pp * mp, a);
#else
            const __m128 a = _mm_loadu_ps(vg + u * FD_SP_G);
            const unsigned nib = (unsigned)_mm_movemask_ps(_mm_cmpneq_ps(a, _mm_setzero_ps()));
            _mm_storeu_ps(xg + pp * mp, a);
#endif
            mg[pp * nw] |= (uint64_t)nib << sh;
        }
    }
}

/* The index of the lowest set bit of a nonzero word. */
#ifndef FD_SP_CTZ
#define FD_SP_CTZ
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
FD_INLINE int fd_sp_ctz(unsigned b)
{
    unsigned long i;
    _BitScanForward(&i, b);
    return (int)i;
}
#else
FD_INLINE int fd_sp_ctz(unsigned b)
{ return __builtin_ctz(b); }
#endif
#endif

#if !FD_T_F64
#ifndef FD_SP_BITCOUNT
#define FD_SP_BITCOUNT
/* The number of set bits of a word below 2^16 (no POPCNT in the flags). */
FD_INLINE int64_t fd_sp_bitcount(unsigned b)
{
    b = b - ((b >> 1) & 0x5555u);
    b = (b & 0x3333u) + ((b >> 2) & 0x3333u);
    b = (b + (b >> 4)) & 0x0F0Fu;
    return (int64_t)((b + (b >> 8)) & 0x1Fu);
}
#endif
#endif

#if defined(FD_SIMD_AVX2_H) && !FD_T_F64
/* The compression's 8 pixels at j (all inside the row) with AVX2 float32:
 * the flags of the four rows as bits, their x - c transposed to a vector
 * of four per pixel, and each pixel's vector and number stored at the
 * count, which advances only for the kept ones (no branch a pixel: ix and
 * v have FD_SP_PAD entries of room).  Returns the new count; bnd[*t..]
 * gets the counts at the chunk starts below j + 8. */
FD_INLINE int64_t fd_sp_compress8(const T *const *xr, int rows, int64_t j, __m256 vc,
                                  const int32_t *starts, int64_t nb, int64_t *t,
                                  int32_t *FD_RESTRICT bnd, int64_t cnt, int32_t *FD_RESTRICT ix,
                                  T *FD_RESTRICT v)
{
    __m256 d[FD_SP_G];
    __m128 q[8];
    unsigned bits = 0;
    int g, i;
    for (g = 0; g < FD_SP_G; g++) {
        const __m256 x = _mm256_loadu_ps(xr[g] + j);
        bits |= (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(x, vc, _CMP_NEQ_UQ));
        d[g] = g < rows ? _mm256_sub_ps(x, vc) : _mm256_setzero_ps();
    }
    for (; *t <= nb && starts[*t] < j + 8; (*t)++) /* the chunks that start here */
        bnd[*t] = (int32_t)(cnt + fd_sp_bitcount(bits & ((1u << (starts[*t] - j)) - 1u)));
    if (!bits) return cnt;
    v8f_interleave4(d, q);
    for (i = 0; i < 8; i++) {
        _mm_storeu_ps(v + cnt * FD_SP_G, q[i]);
        ix[cnt] = (int32_t)(j + i);
        cnt += (bits >> i) & 1u;
    }
    return cnt;
}
#endif

#if defined(FD_SIMD_AVX512_H) && !FD_T_F64
/* The compression's 16 pixels at j (the first `left` of them, when fewer)
 * with AVX-512 float32: the flags of the four rows as bits, then the kept
 * pixels' numbers and their four x - c each (the rows interleaved, in
 * pixel order) packed by VCOMPRESS into registers and stored whole (ix and
 * v have FD_SP_PAD entries of room).  Returns the new count; bnd[*t..] gets
 * the counts at the chunk starts below j + 16. */
FD_INLINE int64_t fd_sp_compress16(const T *const *xr, int rows, int64_t j, int64_t left, __m512 vc,
                                   const int32_t *starts, int64_t nb, int64_t *t,
                                   int32_t *FD_RESTRICT bnd, int64_t cnt, int32_t *FD_RESTRICT ix,
                                   T *FD_RESTRICT v)
{
    /* each pixel's bit spread over its four lanes of an interleaved vector */
    static const uint16_t spread4[16] = {0x0000, 0x000F, 0x00F0, 0x00FF, 0x0F00, 0x0F0F,
                                         0x0FF0, 0x0FFF, 0xF000, 0xF00F, 0xF0F0, 0xF0FF,
                                         0xFF00, 0xFF0F, 0xFFF0, 0xFFFF};
    const __mmask16 km = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
    __m512 d[FD_SP_G], z[FD_SP_G];
    unsigned bits = 0;
    int g, L;
    for (g = 0; g < FD_SP_G; g++) { /* past k: c, never kept */
        const __m512 x = _mm512_mask_loadu_ps(vc, km, xr[g] + j);
        bits |= (unsigned)_mm512_cmp_ps_mask(x, vc, _CMP_NEQ_UQ);
        d[g] = g < rows ? _mm512_sub_ps(x, vc) : _mm512_setzero_ps();
    }
    for (; *t <= nb && starts[*t] < j + 16; (*t)++) /* the chunks that start here */
        bnd[*t] = (int32_t)(cnt + fd_sp_bitcount(bits & ((1u << (starts[*t] - j)) - 1u)));
    if (!bits) return cnt;
    _mm512_storeu_si512(
        (void *)(ix + cnt),
        _mm512_maskz_compress_epi32((__mmask16)bits,
                                    _mm512_add_epi32(_mm512_set1_epi32((int)j),
                                                     _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                                                       10, 11, 12, 13, 14, 15))));
    v16f_interleave4(d, z);
    for (L = 0; L < 4; L++) { /* pixels 4L .. 4L + 3 */
        const unsigned nib = (bits >> (4 * L)) & 15u;
        _mm512_storeu_ps(v + cnt * FD_SP_G, _mm512_maskz_compress_ps(spread4[nib], z[L]));
        cnt += fd_sp_bitcount(nib);
    }
    return cnt;
}
#endif

/* Compression (mlp_sparse.h): a vector compare per row and W pixels gives
 * the group's flags as bits; only the set ones are visited (float32:
 * packed by fd_sp_compress16 / fd_sp_compress8 instead, the last pixels
 * past a whole vector here).  f is unused. */
int64_t FD_TNAME_ISA(fd_sp_compress, ISA)(int64_t k, const int32_t *starts, int64_t nb,
                                          const T *const *rp, int rows, T c, unsigned char *f,
                                          int32_t *FD_RESTRICT ix, T *FD_RESTRICT v,
                                          int32_t *FD_RESTRICT bnd)
{
    const T *xr[FD_SP_G];
    const VP(vec) vc = VP(set1)(c);
    int64_t j = 0, cnt = 0, t = 0, next;
    int g;
    (void)f;
    for (g = 0; g < FD_SP_G; g++) xr[g] = rp[g < rows ? g : 0];
#if defined(FD_SIMD_AVX512_H) && !FD_T_F64
    for (; j < k; j += 16)
        cnt = fd_sp_compress16(xr, rows, j, k - j, vc, starts, nb, &t, bnd, cnt, ix, v);
#elif defined(FD_SIMD_AVX2_H) && !FD_T_F64
    for (; j + 8 <= k; j += 8)
        cnt = fd_sp_compress8(xr, rows, j, vc, starts, nb, &t, bnd, cnt, ix, v);
#endif
    /* the kept pixels one at a time */
    for (next = t <= nb ? starts[t] : k; j < k; j += VP(W)) {
        unsigned bits = 0;
        if (j + VP(W) <= k) {
#pragma GCC unroll 4
            for (g = 0; g < FD_SP_G; g++) bits |= VP(neq_bits)(VP(load)(xr[g] + j), vc);
        } else {
            int64_t u;
            for (u = j; u < k; u++)
                for (g = 0; g < FD_SP_G; g++) bits |= (unsigned)(xr[g][u] != c) << (u - j);
        }
        while (bits) {
            const int64_t jj = j + fd_sp_ctz(bits);
            bits &= bits - 1;
            T d[FD_SP_G];
            while (jj >= next) { /* the chunks that start at or before jj */
                bnd[t++] = (int32_t)cnt;
                next = starts[t];
            }
#pragma GCC unroll 4
            for (g = 0; g < FD_SP_G; g++) d[g] = g < rows ? xr[g][jj] - c : (T)0;
#pragma GCC unroll 4
            for (g = 0; g < FD_SP_G; g++) v[cnt * FD_SP_G + g] = d[g];
            ix[cnt++] = (int32_t)jj;
        }
    }
    while (t <= nb) bnd[t++] = (int32_t)cnt;
    return cnt;
}

/* cw[j] = b0[j] + sum over rows r0 <= r < r1 of c * W[r, j], for j < n (b0:
 * NULL for 0), each column summed in row order; wp (NULL: none) gets those
 * rows of W, ldp apart, from the same loads. */
void FD_TNAME_ISA(fd_sp_colsum, ISA)(int64_t r0, int64_t r1, const T *W, int64_t ldw, int64_t n,
                                     T c, const T *b0, T *cw, T *wp, int64_t ldp)
{
    const int64_t full = n - n % VP(W);
    const VP(vec) vc = VP(set1)(c), zero = VP(zero)();
    const VP(mask) tm = VP(tailmask)(n % VP(W) ? n % VP(W) : 1);
    int64_t j, r;
    for (j = 0; j < full; j += VP(W)) VP(store)(cw + j, b0 ? VP(load)(b0 + j) : zero);
    if (full < n) VP(mstore)(cw + full, tm, b0 ? VP(mload)(b0 + full, tm, zero) : zero);
    for (r = r0; r < r1; r++) {
        const T *w = W + r * ldw;
        T *o = wp ? wp + r * ldp : NULL;
        for (j = 0; j < full; j += VP(W)) {
            const VP(vec) wv = VP(load)(w + j);
            VP(store)(cw + j, VP(fmadd)(vc, wv, VP(load)(cw + j)));
            if (o) VP(store)(o + j, wv);
        }
        if (full < n) {
            const VP(vec) wv = VP(mload)(w + full, tm, zero);
            VP(mstore)(cw + full, tm, VP(fmadd)(vc, wv, VP(mload)(cw + full, tm, zero)));
            if (o) VP(mstore)(o + full, tm, wv);
        }
    }
}
