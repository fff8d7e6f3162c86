/* qcow2: header parsing and the reader, on synthetic images built in memory (or in a scratch
 * directory when a backing file is involved). Hostile inputs are valid samples with one field
 * patched, named for the break. */
#include "qcow2.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "helpers.h"
#include "image.h"
#include "input.h"

/* Header field offsets. */
enum {
        F_MAGIC = 0,
        F_VERSION = 4,
        F_BACKING_OFFSET = 8,
        F_BACKING_SIZE = 16,
        F_CLUSTER_BITS = 20,
        F_SIZE = 24,
        F_CRYPT = 32,
        F_L1_SIZE = 36,
        F_L1_OFFSET = 40,
        F_INCOMPAT = 72,
        F_COMPAT = 80,
        F_REFCOUNT_ORDER = 96,
        F_HEADER_LENGTH = 100,
        F_COMPRESSION_TYPE = 104,
};

#define HEADER_LENGTH 112

static void put_header(uint8_t *p, unsigned version, unsigned cluster_bits, uint64_t size,
                       uint32_t l1_size, uint64_t l1_offset)
{
        memset(p, 0, HEADER_LENGTH + 8);
        be32_store(p + F_MAGIC, QCOW2_MAGIC);
        be32_store(p + F_VERSION, version);
        be32_store(p + F_CLUSTER_BITS, cluster_bits);
        be64_store(p + F_SIZE, size);
        be32_store(p + F_L1_SIZE, l1_size);
        be64_store(p + F_L1_OFFSET, l1_offset);
        if (version >= 3) {
                be32_store(p + F_REFCOUNT_ORDER, 4);
                be32_store(p + F_HEADER_LENGTH, HEADER_LENGTH);
                /* compression type 0 at 104, then the end-of-extensions marker (zeros) at 112 */
        }
}

/* Appends a header extension at *pos (8-aligned) and moves *pos past it. */
static void put_extension(uint8_t *p, size_t *pos, uint32_t type, const void *data, uint32_t len)
{
        be32_store(p + *pos, type);
        be32_store(p + *pos + 4, len);
        memcpy(p + *pos + 8, data, len);
        *pos += 8 + ((len + 7) & ~7u);
        memset(p + *pos, 0, 8);
}

/* ---- qcow2_parse_header ---- */

/* The sample: v3, 64 KiB clusters, a 1 GiB disk (2 L1 entries at cluster 1), a 1 MiB file. */
#define S_CLUSTER   (UINT64_C(1) << 16)
#define S_SIZE      (UINT64_C(1) << 30)
#define S_FILE_SIZE (UINT64_C(1) << 20)

struct patch {
        unsigned width; /* 0: none, 1, 4 or 8 bytes */
        size_t off;
        uint64_t value;
};

struct header_case {
        const char *name;
        struct patch p[3];
        void (*fix)(uint8_t *buf); /* for what a patch cannot say */
        size_t len;                /* bytes passed; one cluster when 0 */
        uint64_t file_size;        /* S_FILE_SIZE when 0 */
        int expect;
};

/* clang-format off */
#define P(f, w, v) { (w), (f), (v) }
/* clang-format on */

static void fix_backing_name_in_cluster(uint8_t *buf)
{
        memcpy(buf + S_CLUSTER - 16, "base-image.qcow2", 16);
}

static void fix_backing_format_extension(uint8_t *buf)
{
        size_t pos = HEADER_LENGTH;
        put_extension(buf, &pos, 0x6803f857, "feature names", 13); /* skipped */
        put_extension(buf, &pos, QCOW2_EXT_BACKING_FORMAT, "raw", 3);
}

static void fix_extension_overrunning_header(uint8_t *buf)
{
        be32_store(buf + HEADER_LENGTH, 0x6803f857);
        be32_store(buf + HEADER_LENGTH + 4, 0xffffff00);
}

static void fix_backing_format_too_long(uint8_t *buf)
{
        size_t pos = HEADER_LENGTH;
        put_extension(buf, &pos, QCOW2_EXT_BACKING_FORMAT, "a-very-long-format", 18);
}

static void fix_junk_after_v2_header(uint8_t *buf)
{
        memset(buf + 72, 0xff, 40);
}

/* clang-format off */
static const struct header_case header_cases[] = {
        { "header_accepts_v3", { { 0 } }, NULL, 0, 0, 0 },
        { "header_accepts_v2", { P(F_VERSION, 4, 2) }, NULL, 0, 0, 0 },
        { "header_v2_ignores_the_v3_fields",
          { P(F_VERSION, 4, 2) }, fix_junk_after_v2_header, 72, 0, 0 },
        { "header_accepts_dirty_bit", { P(F_INCOMPAT, 8, QCOW2_INCOMPAT_DIRTY) }, NULL, 0, 0, 0 },
        { "header_accepts_lazy_refcounts", { P(F_COMPAT, 8, 1) }, NULL, 0, 0, 0 },
        { "header_accepts_refcount_order_0", { P(F_REFCOUNT_ORDER, 4, 0) }, NULL, 0, 0, 0 },
        { "header_accepts_refcount_order_6", { P(F_REFCOUNT_ORDER, 4, 6) }, NULL, 0, 0, 0 },
        { "header_accepts_cluster_bits_9",
          { P(F_CLUSTER_BITS, 4, 9), P(F_L1_SIZE, 4, 32768), P(F_L1_OFFSET, 8, 512) },
          NULL, 0, 0, 0 },
        { "header_accepts_cluster_bits_21",
          { P(F_CLUSTER_BITS, 4, 21), P(F_L1_SIZE, 4, 1), P(F_L1_OFFSET, 8, 2u << 20) },
          NULL, 0, 4u << 20, 0 },
        { "header_accepts_size_at_limit",
          { P(F_SIZE, 8, IMAGE_MAX_SIZE), P(F_L1_SIZE, 4, 1u << 21) }, NULL, 0, 32u << 20, 0 },
        { "header_accepts_l1_larger_than_needed", { P(F_L1_SIZE, 4, 100) }, NULL, 0, 0, 0 },
        { "header_accepts_empty_disk_without_l1",
          { P(F_SIZE, 8, 0), P(F_L1_SIZE, 4, 0), P(F_L1_OFFSET, 8, 0) }, NULL, 0, 0, 0 },
        { "header_accepts_backing_name_at_cluster_end",
          { P(F_BACKING_OFFSET, 8, S_CLUSTER - 16), P(F_BACKING_SIZE, 4, 16) },
          fix_backing_name_in_cluster, 0, 0, 0 },
        { "header_reads_backing_format_extension",
          { { 0 } }, fix_backing_format_extension, 0, 0, 0 },

        { "header_rejects_bad_magic", { P(F_MAGIC, 4, 0x514649fa) }, NULL, 0, 0, -EMEDIUMTYPE },
        { "header_rejects_version_1", { P(F_VERSION, 4, 1) }, NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_version_4", { P(F_VERSION, 4, 4) }, NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_cluster_bits_8", { P(F_CLUSTER_BITS, 4, 8) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_cluster_bits_22", { P(F_CLUSTER_BITS, 4, 22) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_cluster_bits_64", { P(F_CLUSTER_BITS, 4, 64) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_size_above_limit",
          { P(F_SIZE, 8, IMAGE_MAX_SIZE + 1) }, NULL, 0, 0, -EFBIG },
        { "header_rejects_size_uint64_max", { P(F_SIZE, 8, UINT64_MAX) }, NULL, 0, 0, -EFBIG },
        { "header_rejects_aes_encryption", { P(F_CRYPT, 4, 1) }, NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_luks_encryption", { P(F_CRYPT, 4, 2) }, NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_corrupt_bit",
          { P(F_INCOMPAT, 8, QCOW2_INCOMPAT_CORRUPT) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_external_data_file",
          { P(F_INCOMPAT, 8, QCOW2_INCOMPAT_DATA_FILE) }, NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_extended_l2",
          { P(F_INCOMPAT, 8, QCOW2_INCOMPAT_EXTL2) }, NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_zstd_compression",
          { P(F_INCOMPAT, 8, QCOW2_INCOMPAT_COMPRESSION), P(F_COMPRESSION_TYPE, 1, 1) },
          NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_compression_type_without_its_bit",
          { P(F_COMPRESSION_TYPE, 1, 1) }, NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_unknown_incompatible_bit_5",
          { P(F_INCOMPAT, 8, UINT64_C(1) << 5) }, NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_unknown_incompatible_bit_63",
          { P(F_INCOMPAT, 8, UINT64_C(1) << 63) }, NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_l1_too_small_for_the_size",
          { P(F_L1_SIZE, 4, 1) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_l1_of_0_entries", { P(F_L1_SIZE, 4, 0) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_l1_above_limit",
          { P(F_L1_SIZE, 4, QCOW2_MAX_L1_BYTES / 8 + 1) }, NULL, 0, UINT64_C(1) << 30, -EFBIG },
        { "header_rejects_l1_at_eof", { P(F_L1_OFFSET, 8, S_FILE_SIZE) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_l1_crossing_eof",
          { P(F_L1_OFFSET, 8, S_FILE_SIZE - S_CLUSTER), P(F_L1_SIZE, 4, S_CLUSTER / 8 + 1) },
          NULL, 0, 0, -EBADMSG },
        /* offset + length wraps around: a naive "offset + length <= file" passes. */
        { "header_rejects_l1_offset_that_wraps",
          { P(F_L1_OFFSET, 8, UINT64_MAX - S_CLUSTER + 1) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_unaligned_l1_offset",
          { P(F_L1_OFFSET, 8, S_CLUSTER + 512) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_header_length_below_104",
          { P(F_HEADER_LENGTH, 4, 100) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_header_length_past_the_buffer",
          { P(F_HEADER_LENGTH, 4, S_CLUSTER + 8) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_truncated_v3_header", { { 0 } }, NULL, 103, 0, -EBADMSG },
        { "header_rejects_truncated_v2_header", { P(F_VERSION, 4, 2) }, NULL, 71, 0, -EBADMSG },
        { "header_rejects_backing_name_past_the_cluster",
          { P(F_BACKING_OFFSET, 8, S_CLUSTER - 8), P(F_BACKING_SIZE, 4, 16) },
          NULL, 0, 0, -EBADMSG },
        { "header_rejects_backing_offset_that_wraps",
          { P(F_BACKING_OFFSET, 8, UINT64_MAX - 7), P(F_BACKING_SIZE, 4, 16) },
          NULL, 0, 0, -EBADMSG },
        { "header_rejects_empty_backing_name",
          { P(F_BACKING_OFFSET, 8, 1024), P(F_BACKING_SIZE, 4, 0) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_backing_name_above_limit",
          { P(F_BACKING_OFFSET, 8, 1024), P(F_BACKING_SIZE, 4, QCOW2_MAX_BACKING_NAME + 1) },
          NULL, 0, 0, -EBADMSG },
        { "header_rejects_extension_overrunning_the_header",
          { { 0 } }, fix_extension_overrunning_header, 0, 0, -EBADMSG },
        { "header_rejects_backing_format_name_too_long",
          { { 0 } }, fix_backing_format_too_long, 0, 0, -EBADMSG },
        /* qemu refuses > 6; 1u << 32 would be undefined behaviour in qcow2_open(). */
        { "header_rejects_refcount_order_above_6",
          { P(F_REFCOUNT_ORDER, 4, 7) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_refcount_order_32",
          { P(F_REFCOUNT_ORDER, 4, 32) }, NULL, 0, 0, -EBADMSG },
};
/* clang-format on */

static void apply_patch(uint8_t *buf, const struct patch *p)
{
        switch (p->width) {
        case 0:
                break;
        case 1:
                buf[p->off] = (uint8_t) p->value;
                break;
        case 4:
                be32_store(buf + p->off, (uint32_t) p->value);
                break;
        case 8:
                be64_store(buf + p->off, p->value);
                break;
        default:
                fail_msg("bad patch width %u", p->width);
        }
}

static void test_header_case(void **state)
{
        const struct header_case *c = *state;
        uint8_t *buf = calloc(1, S_CLUSTER);
        struct qcow2_header h = { 0 };
        struct err err = { { 0 } };
        int r;

        assert_non_null(buf);
        put_header(buf, 3, 16, S_SIZE, 2, S_CLUSTER);
        for (size_t i = 0; i < ELEMENTSOF(c->p); i++)
                apply_patch(buf, &c->p[i]);
        if (c->fix)
                c->fix(buf);
        r = qcow2_parse_header(buf, c->len ? c->len : S_CLUSTER,
                               c->file_size ? c->file_size : S_FILE_SIZE, &h, &err);
        if (r != c->expect)
                fail_msg("%s: got %d (%s), expected %d", c->name, r, err.msg, c->expect);
        if (r < 0) {
                assert_true(err.msg[0] != 0);
                free(buf);
                return;
        }
        assert_int_equal(h.version, be32_load(buf + F_VERSION));
        assert_int_equal(h.cluster_bits, be32_load(buf + F_CLUSTER_BITS));
        assert_int_equal(h.size, be64_load(buf + F_SIZE));
        assert_int_equal(h.l1_size, be32_load(buf + F_L1_SIZE));
        assert_int_equal(h.l1_table_offset, be64_load(buf + F_L1_OFFSET));
        assert_int_equal(h.backing_file_offset, be64_load(buf + F_BACKING_OFFSET));
        assert_int_equal(h.backing_file_size, be32_load(buf + F_BACKING_SIZE));
        if (h.version == 3) {
                assert_int_equal(h.incompatible_features, be64_load(buf + F_INCOMPAT));
                assert_int_equal(h.header_length, HEADER_LENGTH);
        } else {
                assert_int_equal(h.incompatible_features, 0);
                assert_int_equal(h.header_length, 72);
                assert_int_equal(h.refcount_order, 4);
        }
        if (c->fix == fix_backing_format_extension)
                assert_string_equal(h.backing_format, "raw");
        else
                assert_string_equal(h.backing_format, "");
        free(buf);
}

static void test_header_rejection_leaves_output_untouched(void **state)
{
        uint8_t buf[4096] = { 0 };
        struct qcow2_header h;

        (void) state;
        memset(&h, 0x5a, sizeof(h));
        put_header(buf, 3, 16, S_SIZE, 2, S_CLUSTER);
        be32_store(buf + F_CRYPT, 1);
        assert_int_equal(qcow2_parse_header(buf, sizeof(buf), S_FILE_SIZE, &h, NULL), -EOPNOTSUPP);
        assert_int_equal(h.version, 0x5a5a5a5au);
}

/* Regression (common/qcow2.c, qcow2_parse_header, fixed): the backing file name is bounded by the
 * buffer (len), not by the first cluster as the API comment and qemu ("Invalid backing file
 * offset" when offset > cluster_size) say. qcow2_open() passes up to 2 MiB, so with 64 KiB
 * clusters a name in the second cluster (a data or table cluster) is taken as the backing
 * file. Compare against the cluster size: offset > cs || size > cs - offset -> -EBADMSG. */
static void test_header_rejects_backing_name_in_the_second_cluster(void **state)
{
        uint8_t *buf = calloc(2, S_CLUSTER);
        struct qcow2_header h;
        struct err err = { { 0 } };
        int r;

        (void) state;
        assert_non_null(buf);
        put_header(buf, 3, 16, S_SIZE, 2, 2 * S_CLUSTER);
        be64_store(buf + F_BACKING_OFFSET, S_CLUSTER + 64);
        be32_store(buf + F_BACKING_SIZE, 9);
        memcpy(buf + S_CLUSTER + 64, "/etc/hosts", 9);
        r = qcow2_parse_header(buf, 2 * S_CLUSTER, S_FILE_SIZE, &h, &err);
        free(buf);
        if (r != -EBADMSG)
                fail_msg("a backing name in cluster 1 was accepted: %d (%s)", r, err.msg);
}

/* Regression (common/qcow2.c, qcow2_parse_header, fixed): header extensions are parsed for v3 only,
 * but qemu writes them for v2 too (qemu-img create -o compat=0.10 -b base -F raw): the
 * backing format of a v2 image is lost and the backing file is probed, which is exactly the
 * guess STYLE.md section 3 forbids (a raw base whose guest wrote a qcow2 header at sector 0
 * would be opened as qcow2). Parse the extensions from offset 72 for v2. */
static void test_header_reads_backing_format_extension_of_v2(void **state)
{
        uint8_t *buf = calloc(1, S_CLUSTER);
        struct qcow2_header h = { 0 };
        struct err err = { { 0 } };
        size_t pos = 72;

        (void) state;
        assert_non_null(buf);
        put_header(buf, 2, 16, S_SIZE, 2, S_CLUSTER);
        put_extension(buf, &pos, QCOW2_EXT_BACKING_FORMAT, "raw", 3);
        be64_store(buf + F_BACKING_OFFSET, 1024);
        be32_store(buf + F_BACKING_SIZE, 8);
        memcpy(buf + 1024, "base.raw", 8);
        assert_int_equal(qcow2_parse_header(buf, S_CLUSTER, S_FILE_SIZE, &h, &err), 0);
        free(buf);
        assert_string_equal(h.backing_format, "raw");
}

static void test_l1_entries_cover_the_disk(void **state)
{
        (void) state;
        assert_int_equal(qcow2_l1_entries(0, 16), 0);
        assert_int_equal(qcow2_l1_entries(1, 16), 1);
        assert_int_equal(qcow2_l1_entries(UINT64_C(512) << 20, 16), 1);
        assert_int_equal(qcow2_l1_entries((UINT64_C(512) << 20) + 1, 16), 2);
        assert_int_equal(qcow2_l1_entries(UINT64_C(32) << 10, 9), 1);
        assert_int_equal(qcow2_l1_entries(IMAGE_MAX_SIZE, 9), UINT64_C(1) << 35);
        assert_int_equal(qcow2_l1_entries(IMAGE_MAX_SIZE, 21), 2048);
}

/* ---- images ---- */

/* A qcow2 image under construction: header at cluster 0, the L1 table from cluster 1, then
 * L2 tables and data clusters appended as they are set. */
struct q2 {
        struct tbuf b;
        unsigned version, cluster_bits;
        uint64_t cs, size, l1_offset;
        uint32_t l1_size;
        uint8_t *content; /* the disk it should read as */
};

static void q2_build(struct q2 *q, unsigned version, unsigned cluster_bits, uint64_t size)
{
        *q = (struct q2){ .version = version, .cluster_bits = cluster_bits, .size = size };
        q->cs = UINT64_C(1) << cluster_bits;
        q->l1_size = (uint32_t) qcow2_l1_entries(size, cluster_bits);
        q->l1_offset = q->cs;
        q->content = calloc(1, size ? size : 1);
        assert_non_null(q->content);
        put_header(tbuf_grow(&q->b, q->cs), version, cluster_bits, size, q->l1_size, q->l1_offset);
        (void) tbuf_grow(&q->b, div_round_up((uint64_t) q->l1_size * 8, q->cs) * q->cs);
}

static void q2_free(struct q2 *q)
{
        tbuf_free(&q->b);
        free(q->content);
}

static uint64_t q2_append_cluster(struct q2 *q)
{
        uint64_t at = q->b.len;

        (void) tbuf_grow(&q->b, q->cs);
        return at;
}

/* Where the L2 entry for virtual cluster vc lives (its table is made on first use). */
static uint8_t *q2_l2_entry(struct q2 *q, uint64_t vc)
{
        uint64_t per = q->cs / 8, l1i = vc / per;
        uint8_t *l1e = q->b.p + q->l1_offset + 8 * l1i;
        uint64_t l2 = be64_load(l1e) & QCOW2_OFFSET_MASK;

        if (!l2) {
                l2 = q2_append_cluster(q);
                be64_store(q->b.p + q->l1_offset + 8 * l1i, l2 | QCOW2_OFLAG_COPIED);
        }
        return q->b.p + l2 + 8 * (vc % per);
}

static void q2_set(struct q2 *q, uint64_t vc, uint64_t entry)
{
        uint8_t *e = q2_l2_entry(q, vc);
        be64_store(e, entry);
}

/* A data cluster holding fill_pattern(seed); returns its host offset. */
static uint64_t q2_data(struct q2 *q, uint64_t vc, uint64_t seed)
{
        uint64_t at, n = q->size - vc * q->cs < q->cs ? q->size - vc * q->cs : q->cs;

        (void) q2_l2_entry(q, vc); /* the table first: data clusters then sit back to back */
        at = q2_append_cluster(q);
        fill_pattern(q->b.p + at, n, seed);
        memcpy(q->content + vc * q->cs, q->b.p + at, n);
        q2_set(q, vc, at | QCOW2_OFLAG_COPIED);
        return at;
}

/* A compressed cluster (raw deflate, 4 KiB window as qemu) at an unaligned host offset;
 * returns the entry written. */
static uint64_t q2_compressed(struct q2 *q, uint64_t vc, uint64_t seed, uint64_t *ret_host)
{
        unsigned x = 62 - (q->cluster_bits - 8);
        uint64_t n = q->size - vc * q->cs < q->cs ? q->size - vc * q->cs : q->cs, host, entry;
        uint8_t *plain = calloc(1, q->cs);
        z_stream z = { 0 };
        size_t clen;

        assert_non_null(plain);
        fill_pattern(plain, n, seed);
        memcpy(q->content + vc * q->cs, plain, n);
        (void) q2_l2_entry(q, vc);
        host = q->b.len + 200; /* unaligned on purpose */
        (void) tbuf_grow(&q->b, 200 + q->cs + 1024);
        assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY), Z_OK);
        z.next_in = plain;
        z.avail_in = (uInt) q->cs;
        z.next_out = q->b.p + host;
        z.avail_out = (uInt) (q->cs + 1024);
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        clen = q->cs + 1024 - z.avail_out;
        deflateEnd(&z);
        free(plain);
        q->b.len = host + clen;
        tbuf_pad(&q->b, q->cs);
        entry = QCOW2_OFLAG_COMPRESSED | ((host + clen - 1) / 512 - host / 512) << x | host;
        q2_set(q, vc, entry);
        if (ret_host)
                *ret_host = host;
        return entry;
}

static struct image *q2_open(struct q2 *q, size_t len, int expect, struct err *err)
{
        struct input *in = NULL;
        struct image *img = NULL;
        int r;

        assert_int_equal(input_new_memory(q->b.p, len ? len : q->b.len, "test.qcow2", &in), 0);
        r = image_open(in, IMAGE_FORMAT_PROBE, &img, err);
        if (r != expect)
                fail_msg("image_open: got %d (%s), expected %d", r, err->msg, expect);
        if (r >= 0) {
                assert_int_equal(img->format, IMAGE_FORMAT_QCOW2);
                assert_int_equal(img->size, q->size);
        }
        return img;
}

static void assert_map(struct image *img, uint64_t off, uint64_t len, enum image_map_kind kind,
                       uint64_t want_len, uint64_t host_off)
{
        struct image_map m;
        struct err err = { { 0 } };
        int r = img->ops->map(img, off, len, &m, &err);

        if (r < 0)
                fail_msg("map(%llu): %d %s", (unsigned long long) off, r, err.msg);
        if (m.kind != kind || m.len != want_len)
                fail_msg("map(%llu, %llu): kind %d len %llu, expected kind %d len %llu",
                         (unsigned long long) off, (unsigned long long) len, m.kind,
                         (unsigned long long) m.len, kind, (unsigned long long) want_len);
        if (kind == IMAGE_MAP_DATA || kind == IMAGE_MAP_DEFLATE)
                assert_int_equal(m.host_off, host_off);
        assert_int_equal(image_map_chain(img, off, len, &m, &err), 0);
        assert_int_equal(m.kind, kind == IMAGE_MAP_UNALLOC ? IMAGE_MAP_ZERO : kind);
}

static void test_open_v3_maps_data_zero_unalloc_and_compressed(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };
        struct image *img;
        uint64_t d0, d5, zhost, chost;
        /* 4 KiB clusters: an L2 table covers 2 MiB. Three tables; a short last cluster. */
        const uint64_t cs = 4096, per = cs / 8, size = 2 * per * cs + 3 * cs + 1000;

        (void) state;
        q2_build(&q, 3, 12, size);
        d0 = q2_data(&q, 0, 1);
        (void) q2_data(&q, 1, 2); /* right after cluster 0 on the host */
        /* cluster 2: unallocated */
        q2_set(&q, 3, QCOW2_OFLAG_ZERO);
        (void) q2_compressed(&q, 4, 4, &chost);
        d5 = q2_data(&q, 5, 5);
        zhost = q2_append_cluster(&q);
        memset(q.b.p + zhost, 0xee, cs); /* preallocated zero cluster: the flag wins */
        q2_set(&q, 6, zhost | QCOW2_OFLAG_ZERO | QCOW2_OFLAG_COPIED);
        q2_set(&q, 7, QCOW2_OFLAG_ZERO);
        (void) q2_data(&q, per + 1, 9);    /* in the second L2 table */
        (void) q2_data(&q, size / cs, 10); /* the short last cluster, in the third */

        img = q2_open(&q, 0, 0, &err);
        assert_string_equal(img->subformat, "v3");
        assert_map(img, 0, size, IMAGE_MAP_DATA, 2 * cs, d0);
        assert_map(img, 100, size - 100, IMAGE_MAP_DATA, 2 * cs - 100, d0 + 100);
        assert_map(img, cs, 10, IMAGE_MAP_DATA, 10, d0 + cs);
        assert_map(img, 2 * cs, size - 2 * cs, IMAGE_MAP_UNALLOC, cs, 0);
        assert_map(img, 3 * cs, size - 3 * cs, IMAGE_MAP_ZERO, cs, 0);
        assert_map(img, 4 * cs + 10, size, IMAGE_MAP_DEFLATE, cs - 10, chost);
        assert_map(img, 5 * cs, size - 5 * cs, IMAGE_MAP_DATA, cs, d5);
        /* Zero entries merge, preallocated or not. */
        assert_map(img, 6 * cs, size - 6 * cs, IMAGE_MAP_ZERO, 2 * cs, 0);
        /* The unallocated rest of the first table is one answer, and stops at its end. */
        assert_map(img, 8 * cs, size - 8 * cs, IMAGE_MAP_UNALLOC, (per - 8) * cs, 0);
        assert_map(img, per * cs, size, IMAGE_MAP_UNALLOC, cs, 0);
        assert_map(img, (per + 1) * cs, size, IMAGE_MAP_DATA, cs,
                   be64_load(q2_l2_entry(&q, per + 1)) & QCOW2_OFFSET_MASK);
        /* The answer for the short last cluster stops at the end of the disk. */
        assert_map(img, size - 1000, 1000, IMAGE_MAP_DATA, 1000,
                   be64_load(q2_l2_entry(&q, size / cs)) & QCOW2_OFFSET_MASK);
        assert_image_equals(img, q.content, size);
        image_free(img);
        q2_free(&q);
}

static void test_open_v2_has_no_zero_flag(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };
        struct image *img;
        uint64_t d0;

        (void) state;
        q2_build(&q, 2, 16, 1u << 20);
        d0 = q2_data(&q, 0, 1);
        q2_set(&q, 0, d0 | QCOW2_OFLAG_COPIED | QCOW2_OFLAG_ZERO);
        img = q2_open(&q, 0, 0, &err);
        assert_string_equal(img->subformat, "v2");
        assert_map(img, 0, 1u << 20, IMAGE_MAP_DATA, 65536, d0);
        assert_image_equals(img, q.content, q.size);
        image_free(img);
        q2_free(&q);
}

static void test_open_unallocated_l1_entry_maps_to_the_end_of_its_table(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };
        struct image *img;
        const uint64_t l2_cover = 512 * 4096; /* 4 KiB clusters */

        (void) state;
        q2_build(&q, 3, 12, 3 * l2_cover);
        (void) q2_data(&q, 2 * 512, 1);
        img = q2_open(&q, 0, 0, &err);
        assert_map(img, 0, q.size, IMAGE_MAP_UNALLOC, l2_cover, 0);
        assert_map(img, l2_cover + 4096, q.size, IMAGE_MAP_UNALLOC, l2_cover - 4096, 0);
        image_free(img);
        q2_free(&q);
}

static void test_map_l1_entry_past_eof_is_ebadmsg(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;

        (void) state;
        q2_build(&q, 3, 16, 1u << 20);
        (void) q2_data(&q, 0, 1);
        be64_store(q.b.p + q.l1_offset, q.b.len | QCOW2_OFLAG_COPIED);
        img = q2_open(&q, 0, 0, &err);
        assert_int_equal(image_map_chain(img, 0, q.size, &m, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "L1"));
        image_free(img);
        q2_free(&q);
}

static void test_map_l1_entry_to_the_last_partial_cluster_is_ebadmsg(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;
        uint64_t l2;

        (void) state;
        q2_build(&q, 3, 16, 1u << 20);
        (void) q2_data(&q, 0, 1);
        l2 = be64_load(q.b.p + q.l1_offset) & QCOW2_OFFSET_MASK;
        img = q2_open(&q, l2 + 4096, 0, &err); /* the file ends inside the L2 table */
        assert_int_equal(image_map_chain(img, 0, q.size, &m, &err), -EBADMSG);
        image_free(img);
        q2_free(&q);
}

static void test_map_unaligned_l1_entry_is_ebadmsg(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;

        (void) state;
        q2_build(&q, 3, 16, 1u << 20);
        (void) q2_data(&q, 0, 1);
        be64_store(q.b.p + q.l1_offset, (2 * q.cs + 512) | QCOW2_OFLAG_COPIED);
        img = q2_open(&q, 0, 0, &err);
        assert_int_equal(image_map_chain(img, 0, q.size, &m, &err), -EBADMSG);
        image_free(img);
        q2_free(&q);
}

static void test_map_l2_entry_past_eof_is_ebadmsg(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;

        (void) state;
        q2_build(&q, 3, 16, 1u << 20);
        (void) q2_data(&q, 0, 1);
        (void) q2_data(&q, 1, 2);
        q2_set(&q, 1, q.b.len | QCOW2_OFLAG_COPIED);
        img = q2_open(&q, 0, 0, &err);
        /* Cluster 0 is fine and no longer merges with cluster 1. */
        assert_map(img, 0, q.size, IMAGE_MAP_DATA, q.cs, 3 * q.cs);
        assert_int_equal(image_map_chain(img, q.cs, q.size - q.cs, &m, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "L2"));
        image_free(img);
        q2_free(&q);
}

static void test_map_l2_entry_near_the_offset_limit_is_ebadmsg(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;

        (void) state;
        q2_build(&q, 3, 16, 1u << 20);
        q2_set(&q, 0, QCOW2_OFFSET_MASK & ~(q.cs - 1));
        img = q2_open(&q, 0, 0, &err);
        assert_int_equal(image_map_chain(img, 0, q.size, &m, &err), -EBADMSG);
        image_free(img);
        q2_free(&q);
}

static void test_map_unaligned_l2_entry_is_ebadmsg(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;
        uint64_t d;

        (void) state;
        q2_build(&q, 3, 16, 1u << 20);
        d = q2_data(&q, 0, 1);
        q2_set(&q, 0, (d + 512) | QCOW2_OFLAG_COPIED);
        img = q2_open(&q, 0, 0, &err);
        assert_int_equal(image_map_chain(img, 0, q.size, &m, &err), -EBADMSG);
        image_free(img);
        q2_free(&q);
}

static void test_open_l1_table_past_eof_fails(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };

        (void) state;
        q2_build(&q, 3, 16, 1u << 20);
        (void) q2_open(&q, q.l1_offset + 4, -EBADMSG, &err);
        q2_free(&q);
}

/* Decoding of compressed entries: x = 62 - (cluster_bits - 8) bits of host byte offset, then
 * the number of additional 512-byte sectors. */
struct compressed_case {
        const char *name;
        unsigned cluster_bits;
        uint64_t host;  /* where the compressed bytes start */
        uint64_t extra; /* additional sectors */
        bool copied;    /* bit 63 set (qemu never sets it; it must not count) */
};

/* clang-format off */
static const struct compressed_case compressed_cases[] = {
        { "compressed_entry_with_512_byte_clusters", 9, 3 * 512 + 17, 0, false },
        { "compressed_entry_with_4_KiB_clusters", 12, 5 * 4096 + 100, 3, false },
        { "compressed_entry_with_64_KiB_clusters", 16, 4 * 65536 + 511, 127, false },
        { "compressed_entry_at_a_sector_boundary", 16, 4 * 65536 + 1024, 5, false },
        { "compressed_entry_with_copied_bit", 16, 4 * 65536 + 3, 2, true },
        { "compressed_entry_with_2_MiB_clusters", 21, 4 * (2u << 20) + 4000, 4095, false },
};
/* clang-format on */

static void test_compressed_case(void **state)
{
        const struct compressed_case *c = *state;
        struct q2 q;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;
        unsigned x = 62 - (c->cluster_bits - 8);
        uint64_t cs = UINT64_C(1) << c->cluster_bits, entry, vc = 2;

        q2_build(&q, 3, c->cluster_bits, 8 * cs);
        entry = QCOW2_OFLAG_COMPRESSED | c->extra << x | c->host;
        if (c->copied)
                entry |= QCOW2_OFLAG_COPIED;
        q2_set(&q, vc, entry);
        tbuf_resize(&q.b, c->host + (c->extra + 1) * 512 + cs); /* nothing is cut at EOF */
        img = q2_open(&q, 0, 0, &err);
        assert_int_equal(image_map_chain(img, vc * cs + 7, cs, &m, &err), 0);
        assert_int_equal(m.kind, IMAGE_MAP_DEFLATE);
        assert_int_equal(m.deflate, IMAGE_DEFLATE_RAW);
        assert_int_equal(m.host_off, c->host);
        assert_int_equal(m.clen, (c->extra + 1) * 512 - c->host % 512);
        assert_int_equal(m.unit_len, cs);
        assert_int_equal(m.unit_start, vc * cs);
        assert_int_equal(m.len, cs - 7);
        image_free(img);
        q2_free(&q);
}

static void test_compressed_length_is_cut_at_eof(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;
        uint64_t host = 4 * 65536 + 100;

        (void) state;
        q2_build(&q, 3, 16, 1u << 20);
        q2_set(&q, 0, QCOW2_OFLAG_COMPRESSED | UINT64_C(9) << 54 | host);
        tbuf_resize(&q.b, host + 1000);
        img = q2_open(&q, 0, 0, &err);
        assert_int_equal(image_map_chain(img, 0, q.size, &m, &err), 0);
        assert_int_equal(m.kind, IMAGE_MAP_DEFLATE);
        assert_int_equal(m.clen, 1000);
        image_free(img);
        q2_free(&q);
}

static void test_compressed_cluster_past_eof_is_ebadmsg(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;

        (void) state;
        q2_build(&q, 3, 16, 1u << 20);
        (void) q2_l2_entry(&q, 0);
        q2_set(&q, 0, QCOW2_OFLAG_COMPRESSED | (q.b.len + 1000));
        img = q2_open(&q, 0, 0, &err);
        assert_int_equal(image_map_chain(img, 0, q.size, &m, &err), -EBADMSG);
        image_free(img);
        q2_free(&q);
}

static void test_compressed_clusters_read_back(void **state)
{
        struct q2 q;
        struct err err = { { 0 } };
        struct image *img;

        (void) state;
        q2_build(&q, 3, 12, 64 * 4096 + 1536);
        for (uint64_t vc = 0; vc < 64; vc += 3)
                (void) q2_compressed(&q, vc, vc + 1, NULL);
        (void) q2_compressed(&q, 64, 65, NULL); /* the short last cluster */
        (void) q2_data(&q, 1, 77);
        img = q2_open(&q, 0, 0, &err);
        assert_image_equals(img, q.content, q.size);
        image_free(img);
        q2_free(&q);
}

/* ---- backing files ---- */

static int setup_tmpdir(void **state)
{
        *state = tmpdir_new();
        return 0;
}

static int teardown_tmpdir(void **state)
{
        tmpdir_remove(*state);
        return 0;
}

static void test_open_overlay_reads_unallocated_clusters_from_raw_backing(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *base_path = path_join(dir, "base.raw");
        _cleanup_free_ char *top_path = path_join(dir, "top.qcow2");
        const uint64_t size = 1u << 20;
        uint8_t *base = malloc(size), *want = malloc(size);
        struct q2 q;
        struct err err = { { 0 } };
        struct image *img = NULL;
        size_t pos = HEADER_LENGTH;

        assert_non_null(base);
        assert_non_null(want);
        /* The base looks like a qcow2 image; the format in the overlay says raw. */
        fill_random(base, size, 42);
        put_header(base, 3, 16, UINT64_C(1) << 40, 1, 65536);
        file_write(base_path, base, size);

        q2_build(&q, 3, 16, size);
        (void) q2_data(&q, 1, 1);
        q2_set(&q, 2, QCOW2_OFLAG_ZERO);
        put_extension(q.b.p, &pos, QCOW2_EXT_BACKING_FORMAT, "raw", 3);
        memcpy(q.b.p + 1024, "base.raw", 8);
        be64_store(q.b.p + F_BACKING_OFFSET, 1024);
        be32_store(q.b.p + F_BACKING_SIZE, 8);
        file_write(top_path, q.b.p, q.b.len);

        assert_int_equal(image_open_path(top_path, IMAGE_FORMAT_QCOW2, &img, &err), 0);
        assert_non_null(img->backing);
        assert_int_equal(img->backing->format, IMAGE_FORMAT_RAW);
        assert_string_equal(img->backing_name, "base.raw");
        memcpy(want, base, size);
        memcpy(want + 65536, q.content + 65536, 65536);
        memset(want + 2 * 65536, 0, 65536);
        assert_image_equals(img, want, size);
        image_free(img);
        q2_free(&q);
        free(base);
        free(want);
}

static void test_open_with_missing_backing_file_fails(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *top_path = path_join(dir, "top.qcow2");
        struct q2 q;
        struct err err = { { 0 } };
        struct image *img = NULL;

        q2_build(&q, 3, 16, 1u << 20);
        memcpy(q.b.p + 1024, "gone.qcow2", 10);
        be64_store(q.b.p + F_BACKING_OFFSET, 1024);
        be32_store(q.b.p + F_BACKING_SIZE, 10);
        file_write(top_path, q.b.p, q.b.len);
        assert_int_equal(image_open_path(top_path, IMAGE_FORMAT_PROBE, &img, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "gone.qcow2"));
        q2_free(&q);
}

static void test_open_qcow2_as_vmdk_is_emediumtype(void **state)
{
        struct q2 q;
        struct input *in = NULL;
        struct image *img = NULL;
        struct err err = { { 0 } };

        (void) state;
        q2_build(&q, 3, 16, 1u << 20);
        assert_int_equal(input_new_memory(q.b.p, q.b.len, "test.qcow2", &in), 0);
        assert_int_equal(image_open(in, IMAGE_FORMAT_VMDK, &img, &err), -EMEDIUMTYPE);
        q2_free(&q);
}

int main(void)
{
        static const struct CMUnitTest fixed[] = {
                cmocka_unit_test(test_header_rejection_leaves_output_untouched),
                cmocka_unit_test(test_header_rejects_backing_name_in_the_second_cluster),
                cmocka_unit_test(test_header_reads_backing_format_extension_of_v2),
                cmocka_unit_test(test_l1_entries_cover_the_disk),
                cmocka_unit_test(test_open_v3_maps_data_zero_unalloc_and_compressed),
                cmocka_unit_test(test_open_v2_has_no_zero_flag),
                cmocka_unit_test(test_open_unallocated_l1_entry_maps_to_the_end_of_its_table),
                cmocka_unit_test(test_map_l1_entry_past_eof_is_ebadmsg),
                cmocka_unit_test(test_map_l1_entry_to_the_last_partial_cluster_is_ebadmsg),
                cmocka_unit_test(test_map_unaligned_l1_entry_is_ebadmsg),
                cmocka_unit_test(test_map_l2_entry_past_eof_is_ebadmsg),
                cmocka_unit_test(test_map_l2_entry_near_the_offset_limit_is_ebadmsg),
                cmocka_unit_test(test_map_unaligned_l2_entry_is_ebadmsg),
                cmocka_unit_test(test_open_l1_table_past_eof_fails),
                cmocka_unit_test(test_compressed_length_is_cut_at_eof),
                cmocka_unit_test(test_compressed_cluster_past_eof_is_ebadmsg),
                cmocka_unit_test(test_compressed_clusters_read_back),
                cmocka_unit_test_setup_teardown(
                        test_open_overlay_reads_unallocated_clusters_from_raw_backing, setup_tmpdir,
                        teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_open_with_missing_backing_file_fails,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test(test_open_qcow2_as_vmdk_is_emediumtype),
        };
        struct test_list l = { 0 };

        for (size_t i = 0; i < ELEMENTSOF(header_cases); i++)
                tests_add(&l, header_cases[i].name, test_header_case, NULL, NULL,
                          (void *) &header_cases[i]);
        for (size_t i = 0; i < ELEMENTSOF(compressed_cases); i++)
                tests_add(&l, compressed_cases[i].name, test_compressed_case, NULL, NULL,
                          (void *) &compressed_cases[i]);
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                tests_add(&l, fixed[i].name, fixed[i].test_func, fixed[i].setup_func,
                          fixed[i].teardown_func, NULL);
        return tests_run("qcow2", &l);
}
