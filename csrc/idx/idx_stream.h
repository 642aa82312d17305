/* Incremental zlib gzip reader over an in-memory compressed buffer (all
 * members), shared by idx.c and the chunked decode+normalise path. */
#ifndef FD_IDX_STREAM_H
#define FD_IDX_STREAM_H

#include <zlib.h>

#include "idx/idx.h"

typedef struct {
    z_stream z;
    const uint8_t *in;
    size_t n, in_pos;
    int64_t out_pos; /* decompressed bytes produced so far */
    int in_complete; /* in[0..n) is the whole file */
    int ended; /* final member done */
    int live; /* z needs inflateEnd */
    int members;
    fd_idx_poll *poll; /* polled between inflate calls; NULL: never */
} fd_gz_stream;

int fd_gzs_init(fd_gz_stream *s, const uint8_t *in, size_t n, int in_complete);
/* Produce up to len bytes; *got < len only at the end of the stream (FD_OK)
 * or when more input is needed (FD_IDX_NEED_MORE, partial input only), or
 * FD_IDX_STOPPED when s->poll said stop.  Set s->poll after fd_gzs_init. */
int fd_gzs_read(fd_gz_stream *s, uint8_t *out, size_t len, size_t *got, fd_idx_error *err);
void fd_gzs_end(fd_gz_stream *s);

#endif
