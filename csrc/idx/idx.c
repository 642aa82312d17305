/* IDX header parsing, gzip inflate into caller buffers, in-place byte swap. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* clock_gettime() under -std=c99 */
#endif
#include "idx/idx.h"
#include "common/fd_omp.h"
#include "idx/idx_stream.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int set_err(fd_idx_error *err, int64_t offset, const char *fmt, ...)
{
    va_list ap;
    if (err) {
        err->offset = offset;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return FD_IDX_ERR;
}

double fd_idx_now(void)
{
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return -1.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#elif defined(TIME_UTC)
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC) return -1.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return -1.0; /* no clock: poll at every chance */
#endif
}

int fd_idx_poll_stop(fd_idx_poll *poll)
{
    double now;
    if (!poll || !poll->fn) return 0;
    now = fd_idx_now();
    if (now >= 0.0) {
        /* Not due yet (a clock set back makes it due at once). */
        if (now >= poll->last && now - poll->last < FD_IDX_POLL_SEC) return 0;
        poll->last = now;
    }
    return poll->fn(poll->arg) != 0;
}

static int type_elsize(int code)
{
    switch (code) {
    case 0x08: return 1; /* uint8 */
    case 0x09: return 1; /* int8 */
    case 0x0B: return 2; /* int16 */
    case 0x0C: return 4; /* int32 */
    case 0x0D: return 4; /* float32 */
    case 0x0E: return 8; /* float64 */
    default: return 0;
    }
}

static uint32_t load_be32(const uint8_t *p)
{ return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3]; }

int fd_idx_parse_header(const uint8_t *buf, size_t n, int64_t stream_len, int64_t max_total,
                        fd_idx_header *h, fd_idx_error *err)
{
    int rank, i, elsize, zero = 0;
    int64_t count = 1, hlen, total;
    /* A known stream length shorter than what we were given is a caller bug;
     * trust the smaller. */
    if (stream_len >= 0 && (uint64_t)stream_len < (uint64_t)n) n = (size_t)stream_len;
    if (n < 4) {
        /* stream_len < 0: the caller may have more bytes to give. */
        if (stream_len < 0) return FD_IDX_NEED_MORE;
        if (n == 0) return set_err(err, 0, "empty IDX file: no header at byte offset 0");
        return set_err(err, (int64_t)n,
                       "short IDX header: data ends at byte offset %lld, the "
                       "magic number needs 4 bytes",
                       (long long)n);
    }
    if (buf[0] != 0 || buf[1] != 0)
        return set_err(err, 0,
                       "bad IDX magic number at byte offset 0: expected two zero "
                       "bytes, got 0x%02x 0x%02x",
                       buf[0], buf[1]);
    elsize = type_elsize(buf[2]);
    if (elsize == 0)
        return set_err(err, 2,
                       "unknown IDX element type code 0x%02x at byte offset 2 "
                       "(expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)",
                       buf[2]);
    rank = buf[3];
    if (rank == 0)
        return set_err(err, 3,
                       "IDX rank 0 at byte offset 3: at least one "
                       "dimension is required");
    hlen = 4 + 4 * (int64_t)rank;
    if ((int64_t)n < hlen) {
        if (stream_len < 0) return FD_IDX_NEED_MORE;
        return set_err(err, (int64_t)n,
                       "short IDX header: data ends at byte offset %lld, the "
                       "header of a rank-%d file needs %lld bytes",
                       (long long)n, rank, (long long)hlen);
    }
    /* Product of dims, bounded so count * elsize + header fits int64.  The
     * bound applies to the product of the non-zero dims even when a dim is 0:
     * NumPy cannot make an empty array of shape (0, 2**32-1, 2**32-1) either. */
    for (i = 0; i < rank; i++) {
        int64_t d = (int64_t)load_be32(buf + 4 + 4 * i);
        h->dims[i] = d;
        if (d == 0) {
            zero = 1;
            continue;
        }
        if (count > (INT64_MAX / 16 - hlen) / elsize / d) {
            return set_err(err, 4 + 4 * (int64_t)i,
                           "IDX dimension product overflows at byte offset %lld "
                           "(dimension %d = %lld)",
                           (long long)(4 + 4 * i), i, (long long)d);
        }
        count *= d;
    }
    if (zero) count = 0;
    total = hlen + count * elsize;
    if (max_total >= 0 && total > max_total)
        return set_err(err, 4,
                       "IDX header (dimensions at byte offset 4) claims %lld bytes "
                       "of data, more than a gzip file of this size can hold "
                       "(at most %lld bytes at deflate's maximum ratio)",
                       (long long)(count * elsize),
                       (long long)(max_total - hlen > 0 ? max_total - hlen : 0));
    if (stream_len >= 0 && stream_len < total)
        return set_err(err, stream_len,
                       "IDX data shorter than the header says: it ends at byte "
                       "offset %lld, the header implies %lld bytes of data "
                       "(a complete file has %lld bytes)",
                       (long long)stream_len, (long long)(count * elsize), (long long)total);
    if (stream_len >= 0 && stream_len > total)
        return set_err(err, total,
                       "IDX data longer than the header says: %lld unexpected "
                       "trailing bytes start at byte offset %lld",
                       (long long)(stream_len - total), (long long)total);
    h->type_code = buf[2];
    h->elsize = elsize;
    h->rank = rank;
    h->header_len = hlen;
    h->count = count;
    h->data_nbytes = count * elsize;
    return FD_OK;
}

/* ---------------------------------------------------------------- zlib */

/* Number of zero bytes at the start of p[0..n). */
static size_t skip_zeros(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && !p[i]) i++;
    return i;
}

int fd_gzs_init(fd_gz_stream *s, const uint8_t *in, size_t n, int in_complete)
{
    memset(s, 0, sizeof(*s));
    s->in = in;
    s->n = n;
    s->in_complete = in_complete;
    /* 16 + MAX_WBITS: gzip wrapper required (no zlib/raw auto-detection). */
    if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) return FD_ENOMEM;
    s->live = 1;
    return FD_OK;
}

void fd_gzs_end(fd_gz_stream *s)
{
    if (s->live) inflateEnd(&s->z);
    s->live = 0;
}

/* Input and output per inflate call (zlib counts in uInt), small enough
 * that polling between calls keeps Ctrl-C prompt: a few ms of work. */
#define GZ_STEP ((size_t)1 << 22)

int fd_gzs_read(fd_gz_stream *s, uint8_t *out, size_t len, size_t *got, fd_idx_error *err)
{
    size_t done = 0;
    *got = 0;
    while (done < len && !s->ended) {
        size_t in_avail = s->n - s->in_pos, out_avail = len - done;
        size_t in_chunk = in_avail < GZ_STEP ? in_avail : GZ_STEP;
        size_t out_chunk = out_avail < GZ_STEP ? out_avail : GZ_STEP;
        int ret;
        s->z.next_in = (Bytef *)(s->in + s->in_pos);
        s->z.avail_in = (uInt)in_chunk;
        s->z.next_out = (Bytef *)(out + done);
        s->z.avail_out = (uInt)out_chunk;
        ret = inflate(&s->z, Z_NO_FLUSH);
        s->in_pos += in_chunk - s->z.avail_in;
        done += out_chunk - s->z.avail_out;
        s->out_pos += out_chunk - s->z.avail_out;
        if (fd_idx_poll_stop(s->poll)) {
            *got = done;
            return FD_IDX_STOPPED;
        }
        if (ret == Z_STREAM_END) {
            /* One member done; another may follow (multi-member gzip).
             * Zero padding after a member is skipped, before another member
             * or at the end, as gzip(1) and Python's gzip do.  zlib keeps
             * answering Z_STREAM_END until reset, so returning early here and
             * being called again re-enters this branch. */
            const uint8_t *rest;
            size_t left;
            s->in_pos += skip_zeros(s->in + s->in_pos, s->n - s->in_pos);
            rest = s->in + s->in_pos;
            left = s->n - s->in_pos;
            if (left < 2) {
                if (!s->in_complete) {
                    *got = done;
                    return done < len ? FD_IDX_NEED_MORE : FD_OK;
                }
                if (left == 0) {
                    s->ended = 1;
                    break;
                }
                return set_err(err, (int64_t)s->in_pos,
                               "corrupt gzip file: stray byte after a gzip "
                               "member at byte offset %lld",
                               (long long)s->in_pos);
            }
            if (!(rest[0] == 0x1f && rest[1] == 0x8b))
                return set_err(err, (int64_t)s->in_pos,
                               "corrupt gzip file: unexpected trailing data "
                               "after a gzip member at byte offset %lld",
                               (long long)s->in_pos);
            if (inflateReset(&s->z) != Z_OK)
                return set_err(err, (int64_t)s->in_pos, "zlib inflateReset failed");
            s->members++;
            continue;
        }
        if (ret == Z_MEM_ERROR) return FD_ENOMEM;
        if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT || ret == Z_STREAM_ERROR)
            return set_err(err, (int64_t)s->in_pos,
                           "corrupt gzip data at or before compressed byte "
                           "offset %lld: %s",
                           (long long)s->in_pos, s->z.msg ? s->z.msg : "invalid deflate stream");
        /* Z_OK / Z_BUF_ERROR: out of input or out of output. */
        if (s->z.avail_out > 0 && s->in_pos == s->n) {
            *got = done;
            if (!s->in_complete) return FD_IDX_NEED_MORE;
            return set_err(err, (int64_t)s->n,
                           "truncated gzip file: the compressed stream ends "
                           "early at byte offset %lld (after %lld decompressed "
                           "bytes)",
                           (long long)s->n, (long long)s->out_pos);
        }
    }
    *got = done;
    return FD_OK;
}

int fd_gz_peek(const uint8_t *in, size_t n, int in_complete, uint8_t *out, size_t cap, size_t *got,
               fd_idx_error *err)
{
    fd_gz_stream s;
    int rc = fd_gzs_init(&s, in, n, in_complete);
    *got = 0;
    if (rc != FD_OK) return rc;
    rc = fd_gzs_read(&s, out, cap, got, err);
    fd_gzs_end(&s);
    return rc;
}

static int zlib_exact(const uint8_t *in, size_t n, uint8_t *out, size_t expect, int64_t header_len,
                      fd_idx_poll *poll, fd_idx_error *err)
{
    fd_gz_stream s;
    uint8_t extra[64];
    size_t got = 0, more = 0;
    int rc = fd_gzs_init(&s, in, n, 1);
    if (rc != FD_OK) return rc;
    s.poll = poll;
    rc = fd_gzs_read(&s, out, expect, &got, err);
    if (rc == FD_OK && got < expect)
        rc = set_err(err, (int64_t)got,
                     "IDX data shorter than the header says: the decompressed "
                     "stream ends at byte offset %lld, the %lld-byte header "
                     "implies %lld bytes in all",
                     (long long)got, (long long)header_len, (long long)expect);
    if (rc == FD_OK) {
        /* Exactly `expect` bytes so far: the stream must end here. */
        rc = fd_gzs_read(&s, extra, sizeof(extra), &more, err);
        if (rc == FD_OK && more > 0)
            rc = set_err(err, (int64_t)expect,
                         "IDX data longer than the header says: decompressed "
                         "data continues past byte offset %lld (the %lld-byte "
                         "header implies %lld bytes in all)",
                         (long long)expect, (long long)header_len, (long long)expect);
    }
    fd_gzs_end(&s);
    return rc;
}

/* libdeflate_result: 0 success, 1 bad data, 2 short output, 3 no space. */
static int libdeflate_exact(const fd_libdeflate *lib, const uint8_t *in, size_t n, uint8_t *out,
                            size_t expect)
{
    void *d = lib->alloc_decompressor();
    size_t in_pos = 0, out_pos = 0;
    int ok = 0;
    if (!d) return 0;
    for (;;) {
        size_t ain = 0, aout = 0;
        int r = lib->gzip_decompress_ex(d, in + in_pos, n - in_pos, out + out_pos, expect - out_pos,
                                        &ain, &aout);
        if (r != 0 || ain == 0) break;
        in_pos += ain;
        out_pos += aout;
        in_pos += skip_zeros(in + in_pos, n - in_pos); /* padding */
        if (in_pos == n) {
            ok = out_pos == expect;
            break;
        }
        if (n - in_pos < 2 || in[in_pos] != 0x1f || in[in_pos + 1] != 0x8b) break;
    }
    lib->free_decompressor(d);
    return ok;
}

int fd_gz_inflate_exact(const fd_libdeflate *lib, const uint8_t *in, size_t n, uint8_t *out,
                        size_t expect, int64_t header_len, int *used_libdeflate, fd_idx_poll *poll,
                        fd_idx_error *err)
{
    if (used_libdeflate) *used_libdeflate = 0;
    if (lib && lib->alloc_decompressor && lib->gzip_decompress_ex && lib->free_decompressor &&
        n >= 18) {
        /* ISIZE (last 4 bytes, little-endian) is the last member's size mod
         * 2^32: a match means the one-shot path will almost surely work;
         * a mismatch means multi-member or a length error, which zlib
         * streams through and diagnoses precisely. */
        const uint8_t *t = in + n - 4;
        uint32_t isize = (uint32_t)t[0] | ((uint32_t)t[1] << 8) | ((uint32_t)t[2] << 16) |
            ((uint32_t)t[3] << 24);
        if (isize == (uint32_t)expect && libdeflate_exact(lib, in, n, out, expect)) {
            if (used_libdeflate) *used_libdeflate = 1;
            return FD_OK;
        }
    }
    return zlib_exact(in, n, out, expect, header_len, poll, err);
}

/* ---------------------------------------------------------- byte swap */

static int host_is_little(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Reverses the bytes of each elsize-byte field of v (elsize 2, 4 or 8):
 * swaps the adjacent bytes, then the adjacent 16-bit halves, then the
 * 32-bit halves, up to the field width. */
FD_INLINE uint64_t bswap_fields(uint64_t v, int elsize)
{
    const uint64_t m8 = 0x00ff00ff00ff00ffull, m16 = 0x0000ffff0000ffffull;
    v = ((v >> 8) & m8) | ((v & m8) << 8);
    if (elsize >= 4) v = ((v >> 16) & m16) | ((v & m16) << 16);
    if (elsize >= 8) v = (v >> 32) | (v << 32);
    return v;
}

/* Portable swap of n elements of elsize bytes, 8 bytes (whole elements) at
 * a time, the last word zero-padded; memcpy keeps it alignment-safe and
 * compilers vectorise the loop.  elsize is a constant where it is inlined
 * (bswap_portable). */
FD_INLINE void bswap_words(uint8_t *p, int64_t n, int elsize)
{
    const int64_t nbytes = n * elsize;
    int64_t i;
    uint64_t v;
    for (i = 0; i + 8 <= nbytes; i += 8) {
        memcpy(&v, p + i, 8);
        v = bswap_fields(v, elsize);
        memcpy(p + i, &v, 8);
    }
    if (i < nbytes) {
        v = 0;
        memcpy(&v, p + i, (size_t)(nbytes - i));
        v = bswap_fields(v, elsize);
        memcpy(p + i, &v, (size_t)(nbytes - i));
    }
}

static void bswap_portable(uint8_t *p, int64_t n, int elsize)
{
    switch (elsize) {
    case 2: bswap_words(p, n, 2); break;
    case 4: bswap_words(p, n, 4); break;
    case 8: bswap_words(p, n, 8); break;
    default: break;
    }
}

/* SIMD part of a block swap: swaps a prefix of the n elements, returns how
 * many; the portable loop does the rest. */
static int64_t fd_idx_bswap_generic(uint8_t *p, int64_t n, int elsize)
{
    (void)p;
    (void)n;
    (void)elsize;
    return 0;
}

/* The byte-swap workers of one SIMD path (see "Dispatch" in fd_common.h). */
typedef struct {
    int64_t (*bswap)(uint8_t *p, int64_t n, int elsize);
} fd_idx_kernels;

static fd_idx_kernels fd_idx_pick(int isa)
{
    fd_idx_kernels k;
    k.bswap = FD_PICK_NAMED(isa, fd_idx_bswap);
    return k;
}

static void bswap_block(const fd_idx_kernels *k, uint8_t *p, int64_t n, int elsize)
{
    int64_t done = k->bswap(p, n, elsize);
    bswap_portable(p + done * elsize, n - done, elsize);
}

void fd_idx_bswap_inplace(fd_ctx ctx, void *data, int64_t count, int elsize)
{
    uint8_t *p = (uint8_t *)data;
    int nt;
    int64_t nblocks;
    const int64_t block = 1 << 15; /* elements per work item */
    fd_idx_kernels k;
    if (elsize <= 1 || count <= 0 || !host_is_little()) return;
    k = fd_idx_pick(ctx.isa);
    nblocks = (count + block - 1) / block;
    nt = fd_threads_for(&ctx, (size_t)count * (size_t)elsize, (size_t)1 << 20);
    {
        int64_t b;
        FD_PARALLEL_FOR
        for (b = 0; b < nblocks; b++) {
            int64_t lo = b * block;
            int64_t m = count - lo < block ? count - lo : block;
            bswap_block(&k, p + lo * elsize, m, elsize);
        }
    }
}

int fd_idx_bswap_polled(fd_ctx ctx, void *data, int64_t count, int elsize, fd_idx_poll *poll)
{
    /* Elements per slice: 64 MiB, a few ms of work. */
    const int64_t slice = ((int64_t)1 << 26) / (elsize > 0 ? elsize : 1);
    int64_t lo;
    for (lo = 0; lo < count; lo += slice) {
        int64_t m = count - lo < slice ? count - lo : slice;
        fd_idx_bswap_inplace(ctx, (uint8_t *)data + lo * elsize, m, elsize);
        if (lo + m < count && fd_idx_poll_stop(poll)) return FD_IDX_STOPPED;
    }
    return FD_OK;
}
