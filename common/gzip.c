#include "gzip.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GZIP_INBUF (64u << 10)

struct gzip_input {
        struct input in;
        struct input *inner;
        z_stream z;
        bool z_ready;
        bool inner_eof;
        bool done;
        uint8_t buf[GZIP_INBUF];
};

static int fill(struct gzip_input *g)
{
        ssize_t n;

        if (g->z.avail_in || g->inner_eof)
                return 0;
        n = input_read(g->inner, g->buf, sizeof(g->buf));
        if (n < 0)
                return (int) n;
        if (n == 0)
                g->inner_eof = true;
        g->z.next_in = g->buf;
        g->z.avail_in = (uInt) n;
        return 0;
}

static ssize_t gzip_read(struct input *in, void *out, size_t len)
{
        struct gzip_input *g = (struct gzip_input *) in;
        size_t produced = 0;

        if (len > UINT32_MAX)
                len = UINT32_MAX;
        while (!g->done && produced == 0 && len > 0) {
                int r = fill(g), zr;

                if (r < 0)
                        return r;
                if (g->z.avail_in == 0 && g->inner_eof)
                        return -EBADMSG; /* the stream ends inside a member */
                g->z.next_out = (Bytef *) out;
                g->z.avail_out = (uInt) len;
                zr = inflate(&g->z, Z_NO_FLUSH);
                produced = len - g->z.avail_out;
                if (zr == Z_STREAM_END) {
                        /* Another member may follow; anything else after it is an error. */
                        r = fill(g);
                        if (r < 0)
                                return r;
                        if (g->z.avail_in == 0 && g->inner_eof)
                                g->done = true;
                        else if (inflateReset(&g->z) != Z_OK)
                                return -EIO;
                } else if (zr != Z_OK && !(zr == Z_BUF_ERROR && produced)) {
                        return zr == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
                }
        }
        in->pos += produced;
        return (ssize_t) produced;
}

static void gzip_free(struct input *in)
{
        struct gzip_input *g = (struct gzip_input *) in;

        if (g->z_ready)
                inflateEnd(&g->z);
}

static const struct input_ops gzip_ops = {
        .read = gzip_read,
        .free = gzip_free,
};

int gzip_input_new(struct input *inner, struct input **ret)
{
        struct gzip_input *g = calloc(1, sizeof(*g));

        if (!g)
                return -ENOMEM;
        g->in.ops = &gzip_ops;
        g->in.size = UINT64_MAX;
        g->inner = inner;
        g->in.name = strdup(inner->name);
        if (!g->in.name || inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) { /* 16: gzip framing */
                input_free(&g->in);
                return -ENOMEM;
        }
        g->z_ready = true;
        *ret = &g->in;
        return 0;
}
