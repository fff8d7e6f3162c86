#include "vmdk_stream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "cleanup.h"

struct vmdk_stream {
        struct input *in;
        struct vmdk_header h;
        uint64_t grain_bytes;
        uint64_t gd_entries;
        uint8_t *buf; /* one marker plus its compressed grain, sector padded */
        size_t buf_size;
        uint64_t grains_seen;
        uint64_t grains_listed; /* non-zero entries in the grain tables seen */
        uint64_t last_lba;
        bool any_grain;
        bool footer_seen;
        bool done;
};

/* A compressed grain may exceed the grain when the data does not compress. */
static size_t max_clen(const struct vmdk_stream *s)
{
        return (size_t) (2 * s->grain_bytes + 1024);
}

static uint64_t count_entries(const uint8_t *p, size_t n)
{
        uint64_t c = 0;

        for (size_t i = 0; i < n; i++)
                c += le32_load(p + 4 * i) > 1; /* 0 absent, 1 zero grain */
        return c;
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return (x > y) - (x < y);
}

/* qemu's layout puts the grain directory and tables before the first grain: read them on the
 * way (they lie between the descriptor and overHead) so the grain count can be checked. */
static int read_front_tables(struct vmdk_stream *s, struct err *err)
{
        _cleanup_free_ uint32_t *gd = NULL;
        uint64_t gd_bytes = s->gd_entries * 4, gt_bytes = (uint64_t) s->h.num_gtes_per_gt * 4;
        uint64_t end = s->h.overhead * 512;
        int r;

        if (s->h.gd_offset * 512 < s->in->pos || s->h.gd_offset * 512 > end ||
            gd_bytes > end - s->h.gd_offset * 512)
                return err_set(
                        err, -EBADMSG,
                        "'%s': grain directory is not between the header and the first grain",
                        s->in->name);
        if (gd_bytes > VMDK_MAX_GD_BYTES)
                return err_set(err, -EFBIG, "'%s': grain directory too large", s->in->name);
        gd = malloc(gd_bytes ? gd_bytes : 1);
        if (!gd)
                return -ENOMEM;
        r = input_skip(s->in, s->h.gd_offset * 512 - s->in->pos, err);
        if (r >= 0)
                r = input_read_full(s->in, gd, gd_bytes, err);
        if (r < 0)
                return r;
        for (uint64_t i = 0; i < s->gd_entries; i++)
                gd[i] = le32_load(&gd[i]);
        qsort(gd, s->gd_entries, sizeof(*gd), cmp_u32);
        for (uint64_t i = 0; i < s->gd_entries; i++) {
                uint64_t at = (uint64_t) gd[i] * 512;
                if (gd[i] == 0)
                        continue;
                if (at < s->in->pos || at > end || gt_bytes > end - at)
                        return err_set(
                                err, -EBADMSG,
                                "'%s': grain table at sector %u is not before the first grain",
                                s->in->name, gd[i]);
                r = input_skip(s->in, at - s->in->pos, err);
                if (r >= 0)
                        r = input_read_full(s->in, s->buf, gt_bytes, err);
                if (r < 0)
                        return r;
                s->grains_listed += count_entries(s->buf, s->h.num_gtes_per_gt);
        }
        return 0;
}

int vmdk_stream_new(struct input *in, struct vmdk_stream **ret, struct err *err)
{
        _cleanup_(vmdk_stream_freep) struct vmdk_stream *s = NULL;
        uint8_t head[VMDK_HEADER_SIZE];
        int r;

        if (in->pos != 0)
                return err_set(err, -EINVAL, "'%s': stream not at its start", in->name);
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->in = in;
        r = input_read_full(in, head, sizeof(head), err);
        if (r < 0)
                return r;
        r = vmdk_parse_header(head, sizeof(head), in->size, &s->h, err);
        if (r < 0)
                return err_prefix(err, r, "'%s'", in->name);
        if (!(s->h.flags & VMDK_FLAG_MARKERS) || !(s->h.flags & VMDK_FLAG_COMPRESSED))
                return err_set(err, -EMEDIUMTYPE, "'%s' is not a streamOptimized VMDK", in->name);
        if (s->h.overhead * 512 < VMDK_HEADER_SIZE)
                return err_set(err, -EBADMSG, "'%s': grains would overlap the header", in->name);
        s->grain_bytes = s->h.grain_size * 512;
        s->gd_entries = div_round_up(s->h.capacity, s->h.grain_size * s->h.num_gtes_per_gt);
        s->buf_size = (max_clen(s) + 12 + 511) & ~(size_t) 511;
        if (s->buf_size < (size_t) s->h.num_gtes_per_gt * 4)
                s->buf_size = (size_t) s->h.num_gtes_per_gt * 4;
        s->buf = malloc(s->buf_size);
        if (!s->buf)
                return -ENOMEM;
        if (s->h.gd_offset != VMDK_GD_AT_END) {
                r = read_front_tables(s, err);
                if (r < 0)
                        return r;
        }
        if (in->pos > s->h.overhead * 512)
                return err_set(err, -EBADMSG, "'%s': metadata overlaps the first grain", in->name);
        r = input_skip(in, s->h.overhead * 512 - in->pos, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

struct vmdk_stream *vmdk_stream_free(struct vmdk_stream *s)
{
        if (!s)
                return NULL;
        free(s->buf);
        free(s);
        return NULL;
}

const struct vmdk_header *vmdk_stream_header(const struct vmdk_stream *s)
{
        return &s->h;
}

static int finish(struct vmdk_stream *s, struct err *err)
{
        s->done = true;
        if (s->grains_seen != s->grains_listed)
                return err_set(
                        err, -EBADMSG,
                        "'%s' is truncated or corrupt: its grain tables list %llu grains, the stream holds %llu",
                        s->in->name, (unsigned long long) s->grains_listed,
                        (unsigned long long) s->grains_seen);
        return 0;
}

static int read_metadata(struct vmdk_stream *s, uint64_t sectors, uint32_t type, struct err *err)
{
        uint8_t rest[496];
        int r;

        /* The marker fills its sector: 12 bytes read, type 4 more, 496 of padding. */
        r = input_read_full(s->in, rest, sizeof(rest), err);
        if (r < 0)
                return r;
        switch (type) {
        case VMDK_MARKER_EOS:
                return finish(s, err);
        case VMDK_MARKER_GT:
                if (sectors != div_round_up((uint64_t) s->h.num_gtes_per_gt * 4, 512))
                        return err_set(err, -EBADMSG, "'%s': grain table marker of %llu sectors",
                                       s->in->name, (unsigned long long) sectors);
                r = input_read_full(s->in, s->buf, sectors * 512, err);
                if (r < 0)
                        return r;
                s->grains_listed += count_entries(s->buf, s->h.num_gtes_per_gt);
                return 0;
        case VMDK_MARKER_GD:
                if (sectors > div_round_up(s->gd_entries * 4, 512) + 1)
                        return err_set(err, -EBADMSG,
                                       "'%s': grain directory marker of %llu sectors", s->in->name,
                                       (unsigned long long) sectors);
                return input_skip(s->in, sectors * 512, err);
        case VMDK_MARKER_FOOTER: {
                uint8_t footer[VMDK_HEADER_SIZE];
                struct vmdk_header f;

                r = input_read_full(s->in, footer, sizeof(footer), err);
                if (r < 0)
                        return r;
                r = vmdk_parse_header(footer, sizeof(footer), UINT64_MAX, &f, err);
                if (r < 0)
                        return err_prefix(err, r == -EMEDIUMTYPE ? -EBADMSG : r, "'%s' footer",
                                          s->in->name);
                if (f.capacity != s->h.capacity || f.grain_size != s->h.grain_size)
                        return err_set(err, -EBADMSG, "'%s': footer disagrees with the header",
                                       s->in->name);
                s->footer_seen = true;
                return 0;
        }
        default:
                /* Progress markers and future types: skip what they announce. */
                if (sectors > s->h.capacity)
                        return err_set(err, -EBADMSG, "'%s': marker of type %u is too large",
                                       s->in->name, type);
                return input_skip(s->in, sectors * 512, err);
        }
}

int vmdk_stream_next(struct vmdk_stream *s, struct vmdk_grain *ret, struct err *err)
{
        for (;;) {
                uint64_t at = s->in->pos, lba;
                uint32_t clen;
                ssize_t n;
                int r;

                if (s->done)
                        return 0;
                n = input_read(s->in, s->buf, 12);
                if (n < 0)
                        return err_set(err, (int) n, "cannot read '%s' at offset %llu: %s",
                                       s->in->name, (unsigned long long) at,
                                       n == -EBADMSG ? "truncated or corrupt" : strerror((int) -n));
                if (n == 0) {
                        /* The end of a qemu-style stream; VMware's must end with EOS. */
                        if (s->h.gd_offset == VMDK_GD_AT_END)
                                return err_set(
                                        err, -EBADMSG,
                                        "'%s' is truncated: the stream ends without its footer and end-of-stream marker",
                                        s->in->name);
                        r = finish(s, err);
                        return r < 0 ? r : 0;
                }
                if (n < 12)
                        return err_set(err, -EBADMSG, "'%s' is truncated at offset %llu",
                                       s->in->name, (unsigned long long) (at + (uint64_t) n));
                lba = le64_load(s->buf);
                clen = le32_load(s->buf + 8);
                if (clen == 0) {
                        uint8_t type[4];
                        r = input_read_full(s->in, type, sizeof(type), err);
                        if (r < 0)
                                return r;
                        r = read_metadata(s, lba, le32_load(type), err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (s->footer_seen)
                        return err_set(err, -EBADMSG, "'%s': grain after the footer", s->in->name);
                if (clen > max_clen(s))
                        return err_set(err, -EBADMSG,
                                       "'%s': grain at offset %llu claims %u compressed bytes",
                                       s->in->name, (unsigned long long) at, clen);
                /* Every exporter writes grains in order; a repeat or a step back would let a
                 * stream replace one grain by another without changing the grain count. */
                if (s->any_grain && lba <= s->last_lba)
                        return err_set(
                                err, -EBADMSG,
                                "'%s': grain for sector %llu at offset %llu comes after sector %llu",
                                s->in->name, (unsigned long long) lba, (unsigned long long) at,
                                (unsigned long long) s->last_lba);
                if (lba >= s->h.capacity || lba % s->h.grain_size)
                        return err_set(err, -EBADMSG,
                                       "'%s': grain at offset %llu has bad sector number %llu",
                                       s->in->name, (unsigned long long) at,
                                       (unsigned long long) lba);
                /* The grain's bytes must all be there; its padding to the next sector may be
                 * missing after the last grain of a file. */
                size_t pad = (512 - ((size_t) clen + 12) % 512) % 512;
                r = input_read_full(s->in, s->buf + 12, clen, err);
                if (r < 0)
                        return r;
                n = input_read(s->in, s->buf + 12 + clen, pad);
                if (n < 0)
                        return err_set(err, (int) n, "cannot read '%s' at offset %llu", s->in->name,
                                       (unsigned long long) s->in->pos);
                s->grains_seen++;
                s->last_lba = lba;
                s->any_grain = true;
                *ret = (struct vmdk_grain){ .lba = lba, .clen = clen, .data = s->buf + 12 };
                return 1;
        }
}
