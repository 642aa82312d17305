/* Per-instruction-set vocabulary template: what every x86 instruction set
 * spells the same way, written once, included by simd_avx2.h and
 * simd_avx512.h: the float vector operations, simd_vec_impl.h instantiated
 * for each dtype through common/fd_template.h, and the byte vector
 * operations (IDX byte swaps) below.  The including header has named its
 * prefixes (FD_SIMD_VEC_f32, FD_SIMD_VEC_f64, FD_SIMD_BYTES), typedef'd
 * <prefix>_vec (and _mask for the float ones), defined <prefix>_W, and
 * defines
 *
 *     FD_V_MM            the intrinsics' width prefix (_mm256, _mm512)
 *     FD_V_MM_HALF       the prefix of half that width (_mm, _mm256)
 *     FD_V_SI            the integer vector's suffix (si256, si512)
 *     FD_V_BCAST128      the intrinsic that repeats one 128-bit lane
 *     FD_SIMD_MASK_IMPL  its template of the float operations whose
 *                        intrinsics differ (see simd_vec_impl.h)
 *
 * No include guard: included once per instruction set; those macros are
 * undefined again at the end. */

#define FD_TEMPLATE "simd/simd_vec_impl.h"
#include "common/fd_template.h"

#define FD_VBN(name) FD_PASTE2(FD_SIMD_BYTES, name)

FD_INLINE FD_VBN(vec) FD_VBN(load)(const uint8_t *p)
{ return FD_PASTE3(FD_V_MM, loadu, FD_V_SI)((const void *)p); }
FD_INLINE void FD_VBN(store)(uint8_t *p, FD_VBN(vec) v)
{ FD_PASTE3(FD_V_MM, storeu, FD_V_SI)((void *)p, v); }
/* The same 16-byte pattern in every 128-bit lane (shuffle indices). */
FD_INLINE FD_VBN(vec) FD_VBN(lane_pattern)(const uint8_t pattern[16])
{ return FD_V_BCAST128(_mm_loadu_si128((const __m128i *)pattern)); }
/* r[i] = a[idx[i]] within each 128-bit lane (vpshufb). */
FD_INLINE FD_VBN(vec) FD_VBN(shuffle)(FD_VBN(vec) a, FD_VBN(vec) idx)
{ return FD_PASTE2(FD_V_MM, shuffle_epi8)(a, idx); }

#undef FD_VBN

#undef FD_V_MM
#undef FD_V_MM_HALF
#undef FD_V_SI
#undef FD_V_BCAST128
#undef FD_SIMD_MASK_IMPL
