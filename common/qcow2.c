#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "cleanup.h"

/* Few L2 tables are hot at once when converting front to back. */
#define QCOW2_L2_CACHE 4

struct qcow2_l2_slot {
        uint64_t offset; /* host offset of the table, 0 = empty slot */
        uint64_t *entries;
};

struct qcow2 {
        struct image img;
        struct qcow2_header h;
        uint64_t cluster_size;
        uint64_t l2_entries; /* per table */
        uint64_t *l1;
        struct qcow2_l2_slot l2[QCOW2_L2_CACHE];
        unsigned l2_next;
};

bool qcow2_probe(const uint8_t *buf, size_t len)
{
        return len >= 4 && be32_load(buf) == QCOW2_MAGIC;
}

uint64_t qcow2_l1_entries(uint64_t size, unsigned cluster_bits)
{
        uint64_t l2_covers = (UINT64_C(1) << cluster_bits) * ((UINT64_C(1) << cluster_bits) / 8);
        return div_round_up(size, l2_covers);
}

static int qcow2_parse_extensions(const uint8_t *buf, size_t len, size_t start, uint64_t limit,
                                  struct qcow2_header *h, struct err *err)
{
        size_t pos = start;

        /* Extensions run from the end of the header to the backing name or the cluster end. */
        if (limit > len)
                limit = len;
        while (pos + 8 <= limit) {
                uint32_t type = be32_load(buf + pos), elen = be32_load(buf + pos + 4);
                pos += 8;
                if (type == QCOW2_EXT_END)
                        return 0;
                if (elen > limit - pos)
                        return err_set(err, -EBADMSG, "header extension 0x%08x overruns the header",
                                       type);
                if (type == QCOW2_EXT_BACKING_FORMAT) {
                        if (elen >= sizeof(h->backing_format))
                                return err_set(err, -EBADMSG, "backing format name too long");
                        memcpy(h->backing_format, buf + pos, elen);
                        h->backing_format[elen] = 0;
                }
                pos += (elen + 7) & ~(size_t) 7;
        }
        return 0;
}

int qcow2_parse_header(const uint8_t *buf, size_t len, uint64_t file_size, struct qcow2_header *ret,
                       struct err *err)
{
        struct qcow2_header h = { 0 };
        uint64_t cs, need, known;

        if (len < 72)
                return err_set(err, -EBADMSG, "qcow2 header truncated (%zu bytes)", len);
        if (be32_load(buf) != QCOW2_MAGIC)
                return err_set(err, -EMEDIUMTYPE, "not a qcow2 image");
        h.version = be32_load(buf + 4);
        h.backing_file_offset = be64_load(buf + 8);
        h.backing_file_size = be32_load(buf + 16);
        h.cluster_bits = be32_load(buf + 20);
        h.size = be64_load(buf + 24);
        h.crypt_method = be32_load(buf + 32);
        h.l1_size = be32_load(buf + 36);
        h.l1_table_offset = be64_load(buf + 40);
        h.refcount_table_offset = be64_load(buf + 48);
        h.refcount_table_clusters = be32_load(buf + 56);
        h.nb_snapshots = be32_load(buf + 60);
        h.snapshots_offset = be64_load(buf + 64);
        h.refcount_order = 4;
        h.header_length = 72;

        if (h.version != 2 && h.version != 3)
                return err_set(err, -EOPNOTSUPP, "qcow2 version %u is not supported", h.version);
        if (h.version == 3) {
                if (len < 104)
                        return err_set(err, -EBADMSG, "qcow2 v3 header truncated");
                h.incompatible_features = be64_load(buf + 72);
                h.compatible_features = be64_load(buf + 80);
                h.autoclear_features = be64_load(buf + 88);
                h.refcount_order = be32_load(buf + 96);
                h.header_length = be32_load(buf + 100);
                if (h.header_length < 104 || h.header_length > len)
                        return err_set(err, -EBADMSG, "bad qcow2 header length %u",
                                       h.header_length);
                if (h.header_length > 104)
                        h.compression_type = buf[104];
        }
        if (h.cluster_bits < QCOW2_MIN_CLUSTER_BITS || h.cluster_bits > QCOW2_MAX_CLUSTER_BITS)
                return err_set(err, -EBADMSG, "bad cluster size 2^%u", h.cluster_bits);
        cs = UINT64_C(1) << h.cluster_bits;
        if (h.refcount_order > 6)
                return err_set(err, -EBADMSG, "bad refcount width 2^%u bits", h.refcount_order);
        if (h.size > IMAGE_MAX_SIZE)
                return err_set(err, -EFBIG, "virtual size %llu is absurd (limit %llu)",
                               (unsigned long long) h.size, (unsigned long long) IMAGE_MAX_SIZE);
        if (h.crypt_method != 0)
                return err_set(err, -EOPNOTSUPP, "encrypted qcow2 images are not supported");

        known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESSION;
        if (h.incompatible_features & QCOW2_INCOMPAT_CORRUPT)
                return err_set(
                        err, -EBADMSG,
                        "the image is marked corrupt; repair it with 'qemu-img check -r all' first");
        if (h.incompatible_features & QCOW2_INCOMPAT_DATA_FILE)
                return err_set(err, -EOPNOTSUPP,
                               "qcow2 with an external data file is not supported");
        if (h.incompatible_features & QCOW2_INCOMPAT_EXTL2)
                return err_set(err, -EOPNOTSUPP, "qcow2 with extended L2 entries is not supported");
        if (h.incompatible_features & ~known)
                return err_set(err, -EOPNOTSUPP, "unknown incompatible qcow2 features 0x%llx",
                               (unsigned long long) (h.incompatible_features & ~known));
        if (h.compression_type != 0 || (h.incompatible_features & QCOW2_INCOMPAT_COMPRESSION))
                return err_set(err, -EOPNOTSUPP,
                               "qcow2 compression type %u (zstd) is not supported",
                               h.compression_type);

        need = qcow2_l1_entries(h.size, h.cluster_bits);
        if (h.l1_size < need)
                return err_set(err, -EBADMSG, "L1 table has %u entries, the disk needs %llu",
                               h.l1_size, (unsigned long long) need);
        if ((uint64_t) h.l1_size * 8 > QCOW2_MAX_L1_BYTES)
                return err_set(err, -EFBIG, "L1 table of %u entries is too large", h.l1_size);
        if (h.l1_table_offset % cs)
                return err_set(err, -EBADMSG, "L1 table offset is not cluster aligned");
        if (h.l1_table_offset > file_size ||
            (uint64_t) h.l1_size * 8 > file_size - h.l1_table_offset)
                return err_set(err, -EBADMSG, "L1 table lies outside the file");

        if (h.backing_file_offset) {
                if (h.backing_file_size == 0 || h.backing_file_size > QCOW2_MAX_BACKING_NAME)
                        return err_set(err, -EBADMSG, "bad backing file name length %u",
                                       h.backing_file_size);
                if (h.backing_file_offset > len || h.backing_file_offset > cs ||
                    h.backing_file_size > len - h.backing_file_offset ||
                    h.backing_file_size > cs - h.backing_file_offset)
                        return err_set(err, -EBADMSG,
                                       "backing file name lies outside the first cluster");
        }
        {
                /* qemu writes extensions (the backing format) for v2 images as well. */
                uint64_t limit = h.backing_file_offset ? h.backing_file_offset : cs;
                int r = qcow2_parse_extensions(buf, len, h.header_length, limit, &h, err);
                if (r < 0)
                        return r;
        }
        *ret = h;
        return 0;
}

static int qcow2_load_l2(struct qcow2 *q, uint64_t offset, uint64_t **ret, struct err *err)
{
        struct qcow2_l2_slot *s;
        int r;

        for (unsigned i = 0; i < QCOW2_L2_CACHE; i++)
                if (q->l2[i].offset == offset) {
                        *ret = q->l2[i].entries;
                        return 0;
                }
        s = &q->l2[q->l2_next];
        q->l2_next = (q->l2_next + 1) % QCOW2_L2_CACHE;
        s->offset = 0;
        r = input_pread_full(q->img.in, s->entries, q->cluster_size, offset, err);
        if (r < 0)
                return r;
        for (uint64_t i = 0; i < q->l2_entries; i++)
                s->entries[i] = be64_load(&s->entries[i]);
        s->offset = offset;
        *ret = s->entries;
        return 0;
}

static int qcow2_map(struct image *img, uint64_t off, uint64_t len, struct image_map *ret,
                     struct err *err)
{
        struct qcow2 *q = (struct qcow2 *) img;
        uint64_t cs = q->cluster_size, file_size = img->in->size;
        uint64_t l1_index = off / (cs * q->l2_entries);
        uint64_t l2_index = (off / cs) % q->l2_entries;
        uint64_t in_cluster = off % cs;
        uint64_t l2_offset, *l2, e, done;
        int r;

        l2_offset = q->l1[l1_index] & QCOW2_OFFSET_MASK;
        if (!l2_offset) {
                uint64_t rest = cs * q->l2_entries - off % (cs * q->l2_entries);
                *ret = (struct image_map){ .kind = IMAGE_MAP_UNALLOC,
                                           .len = rest < len ? rest : len };
                return 0;
        }
        if (l2_offset % cs || l2_offset > file_size - cs || file_size < cs)
                return err_set(err, -EBADMSG, "L1 entry %llu points outside the file",
                               (unsigned long long) l1_index);
        r = qcow2_load_l2(q, l2_offset, &l2, err);
        if (r < 0)
                return r;

        e = l2[l2_index];
        if (e & QCOW2_OFLAG_COMPRESSED) {
                unsigned x = 62 - (q->h.cluster_bits - 8);
                uint64_t host = e & ((UINT64_C(1) << x) - 1);
                uint64_t sectors =
                        ((e & ~QCOW2_OFLAG_COPIED) >> x) & ((UINT64_C(1) << (62 - x)) - 1);
                uint64_t clen = (sectors + 1) * 512 - (host & 511);

                if (host >= file_size)
                        return err_set(err, -EBADMSG,
                                       "compressed cluster at %llu lies outside the file",
                                       (unsigned long long) (off - in_cluster));
                if (clen > file_size - host) /* the last sector may be cut short at EOF */
                        clen = file_size - host;
                *ret = (struct image_map){
                        .kind = IMAGE_MAP_DEFLATE,
                        .len = cs - in_cluster < len ? cs - in_cluster : len,
                        .in = img->in,
                        .host_off = host,
                        .deflate = IMAGE_DEFLATE_RAW,
                        .clen = (uint32_t) clen,
                        .unit_len = (uint32_t) cs,
                        .unit_start = off - in_cluster,
                };
                return 0;
        }

        /* Merge following entries of the same kind (and contiguous on disk) into one answer. */
        done = cs - in_cluster;
        if (q->h.version >= 3 && (e & QCOW2_OFLAG_ZERO)) {
                while (done < len && l2_index + 1 < q->l2_entries &&
                       (l2[l2_index + 1] & QCOW2_OFLAG_ZERO) &&
                       !(l2[l2_index + 1] & QCOW2_OFLAG_COMPRESSED)) {
                        l2_index++;
                        done += cs;
                }
                *ret = (struct image_map){ .kind = IMAGE_MAP_ZERO, .len = done < len ? done : len };
                return 0;
        }
        uint64_t host = e & QCOW2_OFFSET_MASK;
        if (!host) {
                while (done < len && l2_index + 1 < q->l2_entries && l2[l2_index + 1] == 0) {
                        l2_index++;
                        done += cs;
                }
                *ret = (struct image_map){ .kind = IMAGE_MAP_UNALLOC,
                                           .len = done < len ? done : len };
                return 0;
        }
        if (host % cs || file_size < cs || host > file_size - cs)
                return err_set(err, -EBADMSG, "L2 entry for offset %llu points outside the file",
                               (unsigned long long) (off - in_cluster));
        uint64_t next = host + cs;
        while (done < len && l2_index + 1 < q->l2_entries) {
                uint64_t ne = l2[l2_index + 1];
                if ((ne & (QCOW2_OFLAG_COMPRESSED | QCOW2_OFLAG_ZERO)) ||
                    (ne & QCOW2_OFFSET_MASK) != next || next > file_size - cs)
                        break;
                l2_index++;
                done += cs;
                next += cs;
        }
        *ret = (struct image_map){
                .kind = IMAGE_MAP_DATA,
                .len = done < len ? done : len,
                .in = img->in,
                .host_off = host + in_cluster,
        };
        return 0;
}

static void qcow2_free(struct image *img)
{
        struct qcow2 *q = (struct qcow2 *) img;

        free(q->l1);
        for (unsigned i = 0; i < QCOW2_L2_CACHE; i++)
                free(q->l2[i].entries);
}

static const struct image_ops qcow2_ops = {
        .map = qcow2_map,
        .free = qcow2_free,
};

int qcow2_open(struct input *in, struct image **ret, struct err *err)
{
        _cleanup_(input_freep) struct input *owned = in;
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_free_ uint8_t *head = NULL;
        struct qcow2 *q;
        size_t head_len;
        ssize_t n;
        int r;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        img = &q->img;
        img->ops = &qcow2_ops;
        img->format = IMAGE_FORMAT_QCOW2;
        img->backing_format = IMAGE_FORMAT_PROBE;
        img->in = TAKE_PTR(owned);

        /* The header, its extensions and the backing name all live in the first cluster. */
        head_len = (size_t) 1 << QCOW2_MAX_CLUSTER_BITS;
        head = calloc(1, head_len);
        if (!head)
                return -ENOMEM;
        n = img->in->ops->pread(img->in, head, head_len, 0);
        if (n < 0)
                return err_set(err, (int) n, "cannot read '%s'", img->in->name);
        r = qcow2_parse_header(head, (size_t) n, img->in->size, &q->h, err);
        if (r < 0)
                return err_prefix(err, r, "'%s'", img->in->name);

        q->cluster_size = UINT64_C(1) << q->h.cluster_bits;
        q->l2_entries = q->cluster_size / 8;
        img->size = q->h.size;
        (void) snprintf(img->subformat, sizeof(img->subformat), "v%u", q->h.version);

        q->l1 = calloc(q->h.l1_size ? q->h.l1_size : 1, sizeof(uint64_t));
        if (!q->l1)
                return -ENOMEM;
        r = input_pread_full(img->in, q->l1, (size_t) q->h.l1_size * 8, q->h.l1_table_offset, err);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < q->h.l1_size; i++)
                q->l1[i] = be64_load(&q->l1[i]);
        for (unsigned i = 0; i < QCOW2_L2_CACHE; i++) {
                q->l2[i].entries = malloc(q->cluster_size);
                if (!q->l2[i].entries)
                        return -ENOMEM;
        }

        if (q->h.backing_file_offset) {
                img->backing_name = strndup((const char *) head + q->h.backing_file_offset,
                                            q->h.backing_file_size);
                if (!img->backing_name)
                        return -ENOMEM;
                if (q->h.backing_format[0]) {
                        r = image_format_from_string(q->h.backing_format);
                        if (r < 0)
                                return err_set(err, -EOPNOTSUPP,
                                               "'%s': backing format '%s' is not supported",
                                               img->in->name, q->h.backing_format);
                        img->backing_format = r;
                }
        }
        (void) image_add_prop(img, "cluster_size", "%llu", (unsigned long long) q->cluster_size);
        (void) image_add_prop(img, "compat", "%s", q->h.version == 2 ? "0.10" : "1.1");
        (void) image_add_prop(img, "refcount_bits", "%u", 1u << q->h.refcount_order);
        if (q->h.nb_snapshots)
                (void) image_add_prop(img, "snapshots", "%u", q->h.nb_snapshots);
        (void) image_add_extent(img, img->in->name, "qcow2", img->size, 0);
        *ret = TAKE_PTR(img);
        return 0;
}
