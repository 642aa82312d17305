/* The bf16 pair operations of one vector width (simd_avx512bf16.h): FD_V,
 * the prefix of the float vector (v16f, v8f), and FD_V_BITS, its width in
 * bits (512, 256), name the intrinsics (_mm512_..., __m512i, __m512bh).
 * No include guard: included once per width; FD_V and FD_V_BITS are
 * undefined again at the end. */

#define FD_BCAT_(a, b) a##b
#define FD_BCAT(a, b) FD_BCAT_(a, b)
#define FD_BN(name) FD_PASTE2(FD_V, name)
#define FD_BMM(op) FD_PASTE2(FD_BCAT(_mm, FD_V_BITS), op)
#define FD_BF FD_BCAT(__m, FD_V_BITS)
#define FD_BI FD_BCAT(FD_BF, i)
#define FD_BBH FD_BCAT(FD_BF, bh)

typedef FD_BI FD_BN(ivec);

FD_INLINE FD_BI FD_BN(iload)(const uint32_t *p)
{ return FD_BMM(FD_BCAT(loadu_si, FD_V_BITS))((const void *)p); }
FD_INLINE FD_BI FD_BN(ibcast)(uint32_t w)
{ return FD_BMM(set1_epi32)((int)w); }
FD_INLINE FD_BF FD_BN(dpbf16)(FD_BF acc, FD_BI a, FD_BI b)
{ return FD_BMM(dpbf16_ps)(acc, (FD_BBH)a, (FD_BBH)b); }

#undef FD_BBH
#undef FD_BI
#undef FD_BF
#undef FD_BMM
#undef FD_BN
#undef FD_BCAT
#undef FD_BCAT_
#undef FD_V
#undef FD_V_BITS
