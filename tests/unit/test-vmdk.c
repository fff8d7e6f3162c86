/* VMDK: the sparse extent header, the text descriptor, and images opened from synthetic files
 * (monolithicSparse built by hand, FLAT/ZERO descriptors, delta disks, streamOptimized read
 * at random). Hostile inputs are valid samples with one field patched, named for the break. */
#include "vmdk.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "helpers.h"
#include "image.h"
#include "input.h"

/* ---- vmdk_parse_header ---- */

/* The sample: a 2 MiB disk of 64 KiB grains in a 1 MiB file. */
#define H_FILE_SIZE    (UINT64_C(1) << 20)
#define H_FILE_SECTORS (H_FILE_SIZE / 512)

static const struct vmdk_header sample_header = {
        .version = 1,
        .flags = VMDK_FLAG_NL_TEST,
        .capacity = 4096,
        .grain_size = 128,
        .desc_offset = 1,
        .desc_size = 20,
        .num_gtes_per_gt = 512,
        .rgd_offset = 0,
        .gd_offset = 21,
        .overhead = 128,
        .compress_algorithm = 0,
};

/* Field offsets in the on-disk header. */
enum {
        F_MAGIC = 0,
        F_VERSION = 4,
        F_FLAGS = 8,
        F_CAPACITY = 12,
        F_GRAIN = 20,
        F_DESC_OFFSET = 28,
        F_DESC_SIZE = 36,
        F_GTES = 44,
        F_GD = 56,
        F_OVERHEAD = 64,
        F_ALGORITHM = 77,
};

struct patch {
        unsigned width; /* 0: none, 2, 4 or 8 bytes */
        size_t off;
        uint64_t value;
};

struct header_case {
        const char *name;
        struct patch p[2];
        const char *nl;     /* replaces the 4 newline test bytes */
        size_t len;         /* bytes passed; VMDK_HEADER_SIZE when 0, none when LEN_EMPTY */
        uint64_t file_size; /* H_FILE_SIZE when 0 */
        int expect;
};

/* clang-format off */
#define P(f, w, v) { (w), (f), (v) }
/* clang-format on */
#define LEN_EMPTY SIZE_MAX

/* clang-format off */
static const struct header_case header_cases[] = {
        { "header_accepts_version_1", { P(F_VERSION, 4, 1) }, NULL, 0, 0, 0 },
        { "header_accepts_version_2", { P(F_VERSION, 4, 2) }, NULL, 0, 0, 0 },
        { "header_accepts_version_3", { P(F_VERSION, 4, 3) }, NULL, 0, 0, 0 },
        { "header_accepts_grain_size_1", { P(F_GRAIN, 8, 1) }, NULL, 0, 0, 0 },
        { "header_accepts_grain_size_at_limit", { P(F_GRAIN, 8, VMDK_MAX_GRAIN) }, NULL, 0, 0, 0 },
        { "header_accepts_512_entries_per_gt", { P(F_GTES, 4, 512) }, NULL, 0, 0, 0 },
        { "header_accepts_capacity_at_limit",
          { P(F_CAPACITY, 8, IMAGE_MAX_SIZE / 512) }, NULL, 0, 0, 0 },
        { "header_accepts_gd_at_end", { P(F_GD, 8, VMDK_GD_AT_END) }, NULL, 0, 0, 0 },
        { "header_accepts_no_descriptor",
          { P(F_DESC_OFFSET, 8, 0), P(F_DESC_SIZE, 8, 0) }, NULL, 0, 0, 0 },
        { "header_accepts_descriptor_ending_at_eof",
          { P(F_DESC_OFFSET, 8, H_FILE_SECTORS - 20) }, NULL, 0, 0, 0 },
        { "header_accepts_gd_past_eof_when_the_size_is_unknown",
          { P(F_GD, 8, UINT64_C(1) << 40) }, NULL, 0, UINT64_MAX, 0 },
        { "header_accepts_mangled_newline_bytes_without_the_test_flag",
          { P(F_FLAGS, 4, 0) }, "\n \n\n", 0, 0, 0 },
        { "header_accepts_compressed_grains_with_markers",
          { P(F_FLAGS, 4, VMDK_FLAG_NL_TEST | VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS),
            P(F_ALGORITHM, 2, 1) },
          NULL, 0, 0, 0 },

        { "header_rejects_bad_magic", { P(F_MAGIC, 4, 0x44574f43) }, NULL, 0, 0, -EMEDIUMTYPE },
        { "header_rejects_version_0", { P(F_VERSION, 4, 0) }, NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_version_4", { P(F_VERSION, 4, 4) }, NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_grain_size_0", { P(F_GRAIN, 8, 0) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_grain_size_not_a_power_of_two",
          { P(F_GRAIN, 8, 96) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_grain_size_above_limit",
          { P(F_GRAIN, 8, 2 * VMDK_MAX_GRAIN) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_huge_power_of_two_grain_size",
          { P(F_GRAIN, 8, UINT64_C(1) << 63) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_0_entries_per_gt", { P(F_GTES, 4, 0) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_513_entries_per_gt",
          { P(F_GTES, 4, VMDK_MAX_GTES + 1) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_capacity_above_limit",
          { P(F_CAPACITY, 8, IMAGE_MAX_SIZE / 512 + 1) }, NULL, 0, 0, -EFBIG },
        { "header_rejects_capacity_uint64_max",
          { P(F_CAPACITY, 8, UINT64_MAX) }, NULL, 0, 0, -EFBIG },
        { "header_rejects_descriptor_past_eof",
          { P(F_DESC_OFFSET, 8, H_FILE_SECTORS - 19) }, NULL, 0, 0, -EBADMSG },
        /* offset + size wraps to 10 sectors: a naive "offset + size <= file" passes. */
        { "header_rejects_descriptor_offset_that_wraps",
          { P(F_DESC_OFFSET, 8, UINT64_MAX - 9) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_descriptor_size_that_wraps",
          { P(F_DESC_SIZE, 8, UINT64_MAX) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_descriptor_larger_than_limit",
          { P(F_DESC_SIZE, 8, VMDK_MAX_DESC / 512 + 1) }, NULL, 0, UINT64_C(1) << 31, -EBADMSG },
        { "header_rejects_gd_at_eof", { P(F_GD, 8, H_FILE_SECTORS) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_gd_near_uint64_max",
          { P(F_GD, 8, UINT64_MAX - 1) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_overhead_past_eof",
          { P(F_OVERHEAD, 8, H_FILE_SECTORS + 1) }, NULL, 0, 0, -EBADMSG },
        { "header_rejects_compressed_grains_without_markers",
          { P(F_FLAGS, 4, VMDK_FLAG_NL_TEST | VMDK_FLAG_COMPRESSED), P(F_ALGORITHM, 2, 1) },
          NULL, 0, 0, -EOPNOTSUPP },
        { "header_rejects_compression_algorithm_2",
          { P(F_FLAGS, 4, VMDK_FLAG_NL_TEST | VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS),
            P(F_ALGORITHM, 2, 2) },
          NULL, 0, 0, -EOPNOTSUPP },
        /* A text-mode transfer turned "\n \r\n" into "\n \n" (CRLF to LF) ... */
        { "header_rejects_newline_test_after_crlf_to_lf", { { 0 } }, "\n \n\0", 0, 0, -EBADMSG },
        /* ... or into "\r\n \r\r\n" (LF to CRLF): the 4 bytes read "\r\n \r". */
        { "header_rejects_newline_test_after_lf_to_crlf", { { 0 } }, "\r\n \r", 0, 0, -EBADMSG },
        { "header_rejects_truncated_buffer", { { 0 } }, NULL, VMDK_HEADER_SIZE - 1, 0, -EBADMSG },
        { "header_rejects_empty_buffer", { { 0 } }, NULL, LEN_EMPTY, 0, -EBADMSG },
};
/* clang-format on */

static void apply_patch(uint8_t *buf, const struct patch *p)
{
        switch (p->width) {
        case 0:
                break;
        case 2:
                le16_put(buf + p->off, (uint16_t) p->value);
                break;
        case 4:
                le32_store(buf + p->off, (uint32_t) p->value);
                break;
        case 8:
                le64_store(buf + p->off, p->value);
                break;
        default:
                fail_msg("bad patch width %u", p->width);
        }
}

static void test_header_case(void **state)
{
        const struct header_case *c = *state;
        uint8_t buf[VMDK_HEADER_SIZE];
        struct vmdk_header h = { 0 }, want;
        struct err err = { { 0 } };
        size_t len = c->len == LEN_EMPTY ? 0 : c->len ? c->len : sizeof(buf);
        int r;

        vmdk_put_header(buf, &sample_header);
        for (size_t i = 0; i < ELEMENTSOF(c->p); i++)
                apply_patch(buf, &c->p[i]);
        if (c->nl)
                memcpy(buf + 73, c->nl, 4);
        r = vmdk_parse_header(buf, len, c->file_size ? c->file_size : H_FILE_SIZE, &h, &err);
        if (r != c->expect)
                fail_msg("%s: got %d (%s), expected %d", c->name, r, err.msg, c->expect);
        if (r < 0) {
                assert_true(err.msg[0] != 0);
                return;
        }
        /* On success every field comes back as written. */
        vmdk_put_header(buf, &sample_header);
        for (size_t i = 0; i < ELEMENTSOF(c->p); i++)
                apply_patch(buf, &c->p[i]);
        want = sample_header;
        want.version = le32_load(buf + F_VERSION);
        want.flags = le32_load(buf + F_FLAGS);
        want.capacity = le64_load(buf + F_CAPACITY);
        want.grain_size = le64_load(buf + F_GRAIN);
        want.desc_offset = le64_load(buf + F_DESC_OFFSET);
        want.desc_size = le64_load(buf + F_DESC_SIZE);
        want.num_gtes_per_gt = le32_load(buf + F_GTES);
        want.gd_offset = le64_load(buf + F_GD);
        want.overhead = le64_load(buf + F_OVERHEAD);
        want.compress_algorithm = le16_load(buf + F_ALGORITHM);
        assert_int_equal(h.version, want.version);
        assert_int_equal(h.flags, want.flags);
        assert_int_equal(h.capacity, want.capacity);
        assert_int_equal(h.grain_size, want.grain_size);
        assert_int_equal(h.desc_offset, want.desc_offset);
        assert_int_equal(h.desc_size, want.desc_size);
        assert_int_equal(h.num_gtes_per_gt, want.num_gtes_per_gt);
        assert_int_equal(h.rgd_offset, want.rgd_offset);
        assert_int_equal(h.gd_offset, want.gd_offset);
        assert_int_equal(h.overhead, want.overhead);
        assert_int_equal(h.compress_algorithm, want.compress_algorithm);
}

static void test_header_rejection_leaves_output_untouched(void **state)
{
        uint8_t buf[VMDK_HEADER_SIZE];
        struct vmdk_header h;

        (void) state;
        memset(&h, 0x5a, sizeof(h));
        vmdk_put_header(buf, &sample_header);
        le32_store(buf + F_VERSION, 9);
        assert_int_equal(vmdk_parse_header(buf, sizeof(buf), H_FILE_SIZE, &h, NULL), -EOPNOTSUPP);
        assert_int_equal(h.version, 0x5a5a5a5au);
}

/* ---- vmdk_parse_descriptor ---- */

static const char vmware_descriptor[] =
        "# Disk DescriptorFile\n"
        "version=1\n"
        "encoding=\"UTF-8\"\n"
        "CID=fffffffe\n"
        "parentCID=0a1b2c3d\n"
        "isNativeSnapshot=\"no\"\n"
        "createType=\"twoGbMaxExtentSparse\"\n"
        "parentFileNameHint=\"base disk.vmdk\"\n"
        "\n"
        "# Extent description\n"
        "RW 4192256 SPARSE \"test-s001.vmdk\"\n"
        "RW 4192256 SPARSE \"test-s002.vmdk\"\n"
        "RW 2048 SPARSE \"test-s003.vmdk\"\n"
        "\n"
        "# The Disk Data Base\n"
        "#DDB\n"
        "\n"
        "ddb.adapterType = \"lsilogic\"\n"
        "ddb.geometry.cylinders = \"522\"\n"
        "ddb.geometry.heads = \"255\"\n"
        "ddb.geometry.sectors = \"63\"\n"
        "ddb.longContentID = \"8f15b3d0e1a0e4ddb3d9e7fbfffffffe\"\n"
        "ddb.uuid = \"60 00 C2 9b 69 2f c9 76-74 c4 07 9e 10 87 3b f9\"\n"
        "ddb.virtualHWVersion = \"14\"\n";

static void assert_vmware_descriptor(const struct vmdk_desc *d)
{
        assert_int_equal(d->cid, 0xfffffffe);
        assert_int_equal(d->parent_cid, 0x0a1b2c3d);
        assert_string_equal(d->create_type, "twoGbMaxExtentSparse");
        assert_non_null(d->parent_hint);
        assert_string_equal(d->parent_hint, "base disk.vmdk");
        assert_string_equal(d->adapter_type, "lsilogic");
        assert_string_equal(d->hw_version, "14");
        assert_int_equal(d->n_extents, 3);
        assert_int_equal(d->extents[0].type, VMDK_EXTENT_SPARSE);
        assert_int_equal(d->extents[0].sectors, 4192256);
        assert_string_equal(d->extents[0].file, "test-s001.vmdk");
        assert_int_equal(d->extents[0].offset, 0);
        assert_int_equal(d->extents[1].sectors, 4192256);
        assert_string_equal(d->extents[1].file, "test-s002.vmdk");
        assert_int_equal(d->extents[2].type, VMDK_EXTENT_SPARSE);
        assert_int_equal(d->extents[2].sectors, 2048);
        assert_string_equal(d->extents[2].file, "test-s003.vmdk");
}

static void test_descriptor_vmware_split_sparse(void **state)
{
        struct vmdk_desc d = { 0 };
        struct err err = { { 0 } };

        (void) state;
        assert_int_equal(
                vmdk_parse_descriptor(vmware_descriptor, strlen(vmware_descriptor), &d, &err), 0);
        assert_vmware_descriptor(&d);
        vmdk_desc_release(&d);
        assert_int_equal(d.n_extents, 0);
        assert_null(d.extents);
}

static void test_descriptor_crlf_line_ends(void **state)
{
        struct vmdk_desc d = { 0 };
        struct err err = { { 0 } };
        char *crlf = malloc(2 * sizeof(vmware_descriptor));
        size_t n = 0;

        (void) state;
        assert_non_null(crlf);
        for (const char *p = vmware_descriptor; *p; p++) {
                if (*p == '\n')
                        crlf[n++] = '\r';
                crlf[n++] = *p;
        }
        assert_int_equal(vmdk_parse_descriptor(crlf, n, &d, &err), 0);
        /* No '\r' may stick to values or file names. */
        assert_vmware_descriptor(&d);
        vmdk_desc_release(&d);
        free(crlf);
}

static void test_descriptor_keys_and_extent_types_ignore_case(void **state)
{
        static const char text[] = "VERSION=1\n"
                                   "cid=0000abcd\n"
                                   "PARENTcid=FFFFFFFF\n"
                                   "CREATETYPE=\"vmfs\"\n"
                                   "DDB.AdapterType = \"pvscsi\"\n"
                                   "rw 2048 vmfs \"disk-flat.vmdk\"\n"
                                   "Rw 100 FLAT \"other-flat.vmdk\" 7\n"
                                   "rdonly 10 Zero\n"
                                   "RW 64 sparse \"s.vmdk\"\n";
        struct vmdk_desc d = { 0 };
        struct err err = { { 0 } };

        (void) state;
        assert_int_equal(vmdk_parse_descriptor(text, strlen(text), &d, &err), 0);
        assert_int_equal(d.cid, 0xabcd);
        assert_int_equal(d.parent_cid, VMDK_NO_PARENT);
        assert_string_equal(d.create_type, "vmfs");
        assert_string_equal(d.adapter_type, "pvscsi");
        assert_int_equal(d.n_extents, 4);
        assert_int_equal(d.extents[0].type, VMDK_EXTENT_FLAT);
        assert_int_equal(d.extents[0].sectors, 2048);
        assert_int_equal(d.extents[1].type, VMDK_EXTENT_FLAT);
        assert_int_equal(d.extents[1].offset, 7);
        assert_int_equal(d.extents[2].type, VMDK_EXTENT_ZERO);
        assert_int_equal(d.extents[3].type, VMDK_EXTENT_SPARSE);
        vmdk_desc_release(&d);
}

static void test_descriptor_rdonly_extents(void **state)
{
        static const char text[] = "version=1\n"
                                   "RDONLY 8388608 SPARSE \"generated-stream.vmdk\"\n"
                                   "RDONLY 16 FLAT \"ro-flat.vmdk\" 0\n";
        struct vmdk_desc d = { 0 };

        (void) state;
        assert_int_equal(vmdk_parse_descriptor(text, strlen(text), &d, NULL), 0);
        assert_int_equal(d.n_extents, 2);
        assert_int_equal(d.extents[0].type, VMDK_EXTENT_SPARSE);
        assert_int_equal(d.extents[0].sectors, 8388608);
        assert_string_equal(d.extents[0].file, "generated-stream.vmdk");
        assert_int_equal(d.extents[1].type, VMDK_EXTENT_FLAT);
        vmdk_desc_release(&d);
}

static void test_descriptor_zero_extent_needs_no_file(void **state)
{
        static const char text[] = "version=1\nRW 4096 ZERO\nRW 1 ZERO   \n";
        struct vmdk_desc d = { 0 };

        (void) state;
        assert_int_equal(vmdk_parse_descriptor(text, strlen(text), &d, NULL), 0);
        assert_int_equal(d.n_extents, 2);
        assert_int_equal(d.extents[0].type, VMDK_EXTENT_ZERO);
        assert_int_equal(d.extents[0].sectors, 4096);
        assert_null(d.extents[0].file);
        assert_null(d.extents[1].file);
        vmdk_desc_release(&d);
}

static void test_descriptor_file_names_with_spaces(void **state)
{
        static const char text[] = "version=1\n"
                                   "RW 2048 FLAT \"My Disk 1-flat.vmdk\" 0\n"
                                   "RW\t16\tSPARSE\t\"  two  spaces .vmdk\"\n";
        struct vmdk_desc d = { 0 };

        (void) state;
        assert_int_equal(vmdk_parse_descriptor(text, strlen(text), &d, NULL), 0);
        assert_int_equal(d.n_extents, 2);
        assert_string_equal(d.extents[0].file, "My Disk 1-flat.vmdk");
        assert_string_equal(d.extents[1].file, "  two  spaces .vmdk");
        vmdk_desc_release(&d);
}

static void test_descriptor_flat_offsets(void **state)
{
        static const char text[] = "version=1\n"
                                   "RW 2048 FLAT \"a-flat.vmdk\" 4096\n"
                                   "RW 2048 FLAT \"a-flat.vmdk\"\n"
                                   "RW 2048 VMFS \"b-flat.vmdk\" 0\n";
        struct vmdk_desc d = { 0 };

        (void) state;
        assert_int_equal(vmdk_parse_descriptor(text, strlen(text), &d, NULL), 0);
        assert_int_equal(d.n_extents, 3);
        assert_int_equal(d.extents[0].offset, 4096);
        assert_int_equal(d.extents[1].offset, 0);
        assert_int_equal(d.extents[2].offset, 0);
        vmdk_desc_release(&d);
}

static void test_descriptor_stops_at_first_nul(void **state)
{
        /* Embedded descriptors are NUL-padded; whatever follows the first NUL is not text. */
        static const char text[] =
                "version=1\nCID=00000001\nRW 10 ZERO\n\0garbage that is not a descriptor line\n";
        struct vmdk_desc d = { 0 };
        struct err err = { { 0 } };

        (void) state;
        assert_int_equal(vmdk_parse_descriptor(text, sizeof(text) - 1, &d, &err), 0);
        assert_int_equal(d.n_extents, 1);
        assert_int_equal(d.cid, 1);
        vmdk_desc_release(&d);
}

static void test_descriptor_defaults_without_cid_lines(void **state)
{
        static const char text[] = "version=1\nRW 10 ZERO\n";
        struct vmdk_desc d = { 0 };

        (void) state;
        assert_int_equal(vmdk_parse_descriptor(text, strlen(text), &d, NULL), 0);
        assert_int_equal(d.parent_cid, VMDK_NO_PARENT);
        assert_null(d.parent_hint);
        assert_string_equal(d.create_type, "");
        vmdk_desc_release(&d);
}

static void test_descriptor_accepts_max_extents(void **state)
{
        struct tbuf b = { 0 };
        struct vmdk_desc d = { 0 };
        struct err err = { { 0 } };

        (void) state;
        tbuf_put(&b, "version=1\n", 10);
        for (unsigned i = 0; i < VMDK_MAX_EXTENTS; i++)
                tbuf_put(&b, "RW 1 ZERO\n", 10);
        assert_int_equal(vmdk_parse_descriptor((const char *) b.p, b.len, &d, &err), 0);
        assert_int_equal(d.n_extents, VMDK_MAX_EXTENTS);
        vmdk_desc_release(&d);
        tbuf_free(&b);
}

static void test_descriptor_rejects_more_than_max_extents(void **state)
{
        struct tbuf b = { 0 };
        struct vmdk_desc d = { 0 };
        struct err err = { { 0 } };

        (void) state;
        tbuf_put(&b, "version=1\n", 10);
        for (unsigned i = 0; i < VMDK_MAX_EXTENTS + 1; i++)
                tbuf_put(&b, "RW 1 ZERO\n", 10);
        assert_int_equal(vmdk_parse_descriptor((const char *) b.p, b.len, &d, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "extents"));
        assert_int_equal(d.n_extents, 0);
        tbuf_free(&b);
}

static void test_descriptor_rejects_text_above_limit(void **state)
{
        char *text = malloc(VMDK_MAX_DESC + 1);
        struct vmdk_desc d = { 0 };

        (void) state;
        assert_non_null(text);
        memset(text, '#', VMDK_MAX_DESC + 1);
        memcpy(text, "version=1\n", 10);
        assert_int_equal(vmdk_parse_descriptor(text, VMDK_MAX_DESC + 1, &d, NULL), -EBADMSG);
        free(text);
}

/* Regression (common/vmdk.c, vmdk_parse_descriptor, fixed): lines are split with strtok_r(), which
 * skips empty lines, so "descriptor line N" in messages is off by the number of blank LF-only
 * lines before the culprit (real descriptors have several). */
static void test_descriptor_error_names_the_right_line(void **state)
{
        static const char text[] = "version=1\n\n\nRW 10 FLAT unquoted-flat.vmdk\n";
        struct vmdk_desc d = { 0 };
        struct err err = { { 0 } };

        (void) state;
        assert_int_equal(vmdk_parse_descriptor(text, strlen(text), &d, &err), -EBADMSG);
        if (!strstr(err.msg, "line 4"))
                fail_msg("message should name line 4: '%s'", err.msg);
}

struct desc_case {
        const char *name;
        const char *text;
        int expect;
};

/* clang-format off */
static const struct desc_case desc_cases[] = {
        { "descriptor_rejects_missing_version_line", "CID=1\nRW 10 ZERO\n", -EBADMSG },
        { "descriptor_rejects_empty_text", "", -EBADMSG },
        { "descriptor_rejects_version_4", "version=4\nRW 10 ZERO\n", -EOPNOTSUPP },
        { "descriptor_rejects_version_not_a_number", "version=one\nRW 10 ZERO\n", -EOPNOTSUPP },
        { "descriptor_rejects_unknown_line_shape",
          "version=1\nthis is not a key value\nRW 10 ZERO\n", -EBADMSG },
        { "descriptor_rejects_unquoted_file_name",
          "version=1\nRW 10 FLAT disk-flat.vmdk\n", -EBADMSG },
        { "descriptor_rejects_unterminated_file_name",
          "version=1\nRW 10 FLAT \"disk-flat.vmdk\n", -EBADMSG },
        { "descriptor_rejects_incomplete_extent", "version=1\nRW 10\n", -EBADMSG },
        { "descriptor_rejects_flat_extent_without_file", "version=1\nRW 10 FLAT\n", -EBADMSG },
        { "descriptor_rejects_sparse_extent_with_empty_file",
          "version=1\nRW 10 SPARSE \"\"\n", -EBADMSG },
        { "descriptor_rejects_0_sectors", "version=1\nRW 0 FLAT \"a-flat.vmdk\"\n", -EBADMSG },
        { "descriptor_rejects_negative_sectors",
          "version=1\nRW -5 FLAT \"a-flat.vmdk\"\n", -EBADMSG },
        { "descriptor_rejects_sectors_overflowing_64_bits",
          "version=1\nRW 99999999999999999999 FLAT \"a-flat.vmdk\"\n", -EBADMSG },
        { "descriptor_rejects_sectors_above_size_limit",
          "version=1\nRW 2199023255553 FLAT \"a-flat.vmdk\"\n", -EBADMSG },
        { "descriptor_rejects_sectors_with_trailing_junk",
          "version=1\nRW 12abc FLAT \"a-flat.vmdk\"\n", -EBADMSG },
        { "descriptor_rejects_hex_sectors", "version=1\nRW 0x10 FLAT \"a-flat.vmdk\"\n", -EBADMSG },
        { "descriptor_rejects_bad_flat_offset",
          "version=1\nRW 10 FLAT \"a-flat.vmdk\" x\n", -EBADMSG },
        { "descriptor_rejects_negative_flat_offset",
          "version=1\nRW 10 FLAT \"a-flat.vmdk\" -1\n", -EBADMSG },
        { "descriptor_rejects_flat_offset_above_limit",
          "version=1\nRW 10 FLAT \"a-flat.vmdk\" 2199023255553\n", -EBADMSG },
        { "descriptor_rejects_noaccess_extent",
          "version=1\nNOACCESS 10 FLAT \"a-flat.vmdk\"\n", -EOPNOTSUPP },
        { "descriptor_rejects_vmfsrdm_extent",
          "version=1\nRW 10 VMFSRDM \"a-rdm.vmdk\"\n", -EOPNOTSUPP },
        { "descriptor_rejects_vmfsraw_extent",
          "version=1\nRW 10 VMFSRAW \"a-rdmp.vmdk\"\n", -EOPNOTSUPP },
        { "descriptor_rejects_vmfssparse_extent",
          "version=1\nRW 10 VMFSSPARSE \"a-delta.vmdk\"\n", -EOPNOTSUPP },
        { "descriptor_rejects_unknown_extent_type",
          "version=1\nRW 10 SESPARSE \"a-sesparse.vmdk\"\n", -EOPNOTSUPP },
        /* Each extent is within the limit; together they pass it by one sector. */
        { "descriptor_rejects_extents_summing_past_limit",
          "version=1\nRW 2199023255552 ZERO\nRW 1 ZERO\n", -EFBIG },
        { "descriptor_rejects_bad_cid", "version=1\nCID=zz\nRW 10 ZERO\n", -EBADMSG },
        { "descriptor_rejects_cid_above_32_bits",
          "version=1\nCID=123456789\nRW 10 ZERO\n", -EBADMSG },
        { "descriptor_rejects_negative_parent_cid",
          "version=1\nparentCID=-1\nRW 10 ZERO\n", -EBADMSG },
};
/* clang-format on */

static void test_desc_case(void **state)
{
        const struct desc_case *c = *state;
        struct vmdk_desc d;
        struct err err = { { 0 } };
        int r;

        memset(&d, 0x5a, sizeof(d));
        r = vmdk_parse_descriptor(c->text, strlen(c->text), &d, &err);
        if (r != c->expect)
                fail_msg("%s: got %d (%s), expected %d", c->name, r, err.msg, c->expect);
        assert_true(err.msg[0] != 0);
        assert_int_equal(d.cid, 0x5a5a5a5au); /* untouched on failure */
}

/* ---- vmdk_probe ---- */

static void test_probe_recognises_headers_and_descriptors(void **state)
{
        uint8_t h[VMDK_HEADER_SIZE];
        static const char desc[] = "# Disk DescriptorFile\n\n  # comment\nversion = 1\n";
        static const char not_desc[] = "# Disk DescriptorFile\nCID=1\nversion=1\n";

        (void) state;
        vmdk_put_header(h, &sample_header);
        assert_true(vmdk_probe(h, sizeof(h)));
        assert_true(vmdk_probe((const uint8_t *) "COWD\1\0\0\0", 8));
        assert_true(vmdk_probe((const uint8_t *) desc, strlen(desc)));
        assert_false(vmdk_probe((const uint8_t *) not_desc, strlen(not_desc)));
        assert_false(vmdk_probe((const uint8_t *) "QFI\xfb", 4));
        assert_false(vmdk_probe((const uint8_t *) "ver", 3));
        assert_false(vmdk_probe(h, 3));
}

/* ---- images on disk ---- */

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

#define GRAIN_SECTORS 16u /* 8 KiB grains keep the files small */
#define GRAIN_BYTES   (GRAIN_SECTORS * 512u)
#define GTES          512u
#define GT_COVER      ((uint64_t) GRAIN_BYTES * GTES) /* 4 MiB */

static struct image *open_path(const char *dir, const char *name, int expect, struct err *err)
{
        _cleanup_free_ char *p = path_join(dir, name);
        struct image *img = NULL;
        int r = image_open_path(p, IMAGE_FORMAT_PROBE, &img, err);

        if (r != expect)
                fail_msg("opening '%s': got %d (%s), expected %d", name, r, err->msg, expect);
        return img;
}

static void write_in(const char *dir, const char *name, const void *data, size_t len)
{
        _cleanup_free_ char *p = path_join(dir, name);
        file_write(p, data, len);
}

/* Checks one answer of the layer itself and of the chain. */
static void assert_map(struct image *img, uint64_t off, uint64_t len,
                       enum image_map_kind layer_kind, uint64_t want_len, uint64_t host_off)
{
        struct image_map m;
        struct err err = { { 0 } };
        int r;

        r = img->ops->map(img, off, len, &m, &err);
        if (r < 0)
                fail_msg("map(%llu): %d %s", (unsigned long long) off, r, err.msg);
        if (m.kind != layer_kind || m.len != want_len)
                fail_msg("map(%llu, %llu): kind %d len %llu, expected kind %d len %llu",
                         (unsigned long long) off, (unsigned long long) len, m.kind,
                         (unsigned long long) m.len, layer_kind, (unsigned long long) want_len);
        if (layer_kind == IMAGE_MAP_DATA || layer_kind == IMAGE_MAP_DEFLATE)
                assert_int_equal(m.host_off, host_off);

        /* The chain never answers UNALLOC: zeros at the bottom, else the parent's answer. */
        assert_int_equal(image_map_chain(img, off, len, &m, &err), 0);
        if (layer_kind != IMAGE_MAP_UNALLOC) {
                assert_int_equal(m.kind, layer_kind);
                assert_int_equal(m.len, want_len);
        } else if (!img->backing) {
                assert_int_equal(m.kind, IMAGE_MAP_ZERO);
                assert_int_equal(m.len, want_len);
        } else {
                assert_int_not_equal(m.kind, IMAGE_MAP_UNALLOC);
                assert_true(m.len <= want_len);
        }
}

static const int sample_grains[] = {
        1, G_ABSENT, G_ZERO, 3, 4, G_ZERO, 6, /* then absent to the end of GT 0 */
};

static void test_open_monolithic_sparse_maps_data_unalloc_and_zero(void **state)
{
        const char *dir = *state;
        struct sparse s;
        struct err err = { { 0 } };
        struct image *img;
        uint64_t capacity = 6u << 11; /* 6 MiB: GT 0 full, GT 1 (absent) half */

        sparse_build(&s, GRAIN_SECTORS, capacity, sample_grains, ELEMENTSOF(sample_grains), NULL);
        write_in(dir, "disk.vmdk", s.b.p, s.b.len);
        img = open_path(dir, "disk.vmdk", 0, &err);
        assert_int_equal(img->format, IMAGE_FORMAT_VMDK);
        assert_string_equal(img->subformat, "monolithicSparse");
        assert_int_equal(img->size, capacity * 512);
        assert_false(img->streamable);
        assert_null(img->backing);

        assert_map(img, 0, img->size, IMAGE_MAP_DATA, GRAIN_BYTES, s.grain_sector[0] * 512);
        assert_map(img, 100, img->size - 100, IMAGE_MAP_DATA, GRAIN_BYTES - 100,
                   s.grain_sector[0] * 512 + 100);
        assert_map(img, GRAIN_BYTES, img->size - GRAIN_BYTES, IMAGE_MAP_UNALLOC, GRAIN_BYTES, 0);
        assert_map(img, 2 * GRAIN_BYTES, img->size, IMAGE_MAP_ZERO, GRAIN_BYTES, 0);
        /* Grains 3 and 4 sit back to back in the file: one answer covers both. */
        assert_map(img, 3 * GRAIN_BYTES, img->size - 3 * GRAIN_BYTES, IMAGE_MAP_DATA,
                   2 * GRAIN_BYTES, s.grain_sector[3] * 512);
        assert_map(img, 3 * GRAIN_BYTES + 7, 10, IMAGE_MAP_DATA, 10, s.grain_sector[3] * 512 + 7);
        assert_map(img, 5 * GRAIN_BYTES, img->size - 5 * GRAIN_BYTES, IMAGE_MAP_ZERO, GRAIN_BYTES,
                   0);
        assert_map(img, 6 * GRAIN_BYTES, img->size - 6 * GRAIN_BYTES, IMAGE_MAP_DATA, GRAIN_BYTES,
                   s.grain_sector[6] * 512);
        /* The absent rest of GT 0 is one answer. */
        assert_map(img, 7 * GRAIN_BYTES, img->size - 7 * GRAIN_BYTES, IMAGE_MAP_UNALLOC,
                   GT_COVER - 7 * GRAIN_BYTES, 0);
        /* GT 1 is absent from the directory. */
        assert_map(img, GT_COVER, img->size - GT_COVER, IMAGE_MAP_UNALLOC, img->size - GT_COVER, 0);
        assert_map(img, GT_COVER + 512, 512, IMAGE_MAP_UNALLOC, 512, 0);

        assert_image_equals(img, s.content, s.size);
        image_free(img);
        sparse_free(&s);
}

static void test_open_sparse_grain_one_is_data_without_zeroed_grain_flag(void **state)
{
        const char *dir = *state;
        struct sparse s;
        struct err err = { { 0 } };
        struct image *img;
        static const int grains[] = { G_ZERO, 2 };

        sparse_build(&s, GRAIN_SECTORS, 2048, grains, ELEMENTSOF(grains), NULL);
        le32_store(s.b.p + F_FLAGS, VMDK_FLAG_NL_TEST);
        write_in(dir, "disk.vmdk", s.b.p, s.b.len);
        img = open_path(dir, "disk.vmdk", 0, &err);
        /* As qemu: GTE 1 without the flag is a grain at sector 1. */
        assert_map(img, 0, GRAIN_BYTES, IMAGE_MAP_DATA, GRAIN_BYTES, 512);
        image_free(img);
        sparse_free(&s);
}

static void test_open_sparse_with_embedded_descriptor_takes_its_properties(void **state)
{
        static const char desc[] =
                "# Disk DescriptorFile\nversion=1\nCID=c0ffee00\nparentCID=ffffffff\n"
                "createType=\"monolithicSparse\"\nRW 2048 SPARSE \"disk.vmdk\"\n"
                "ddb.adapterType = \"ide\"\nddb.virtualHWVersion = \"4\"\n";
        const char *dir = *state;
        struct sparse s;
        struct err err = { { 0 } };
        struct image *img;
        static const int grains[] = { 7 };
        bool cid = false, adapter = false;

        sparse_build(&s, GRAIN_SECTORS, 2048, grains, ELEMENTSOF(grains), desc);
        write_in(dir, "disk.vmdk", s.b.p, s.b.len);
        img = open_path(dir, "disk.vmdk", 0, &err);
        assert_string_equal(img->subformat, "monolithicSparse");
        for (unsigned i = 0; i < img->n_props; i++) {
                if (strcmp(img->props[i].key, "cid") == 0) {
                        assert_string_equal(img->props[i].value, "c0ffee00");
                        cid = true;
                }
                if (strcmp(img->props[i].key, "adapter_type") == 0) {
                        assert_string_equal(img->props[i].value, "ide");
                        adapter = true;
                }
        }
        assert_true(cid && adapter);
        assert_image_equals(img, s.content, s.size);
        image_free(img);
        sparse_free(&s);
}

static void test_open_flat_zero_flat_descriptor_maps_each_extent(void **state)
{
        static const char desc[] =
                "# Disk DescriptorFile\nversion=1\nCID=00000001\nparentCID=ffffffff\n"
                "createType=\"monolithicFlat\"\n"
                "RW 2048 FLAT \"a-flat.vmdk\" 0\n"
                "RW 1024 ZERO\n"
                "RW 512 FLAT \"b part.vmdk\" 8\n";
        const char *dir = *state;
        size_t a_len = 2048 * 512, b_len = 8 * 512 + 512 * 512, size = (2048 + 1024 + 512) * 512;
        uint8_t *a = malloc(a_len), *b = malloc(b_len), *want = calloc(1, size);
        struct err err = { { 0 } };
        struct image *img;

        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(want);
        fill_pattern(a, a_len, 11);
        fill_random(b, b_len, 12);
        memcpy(want, a, a_len);
        memcpy(want + (2048 + 1024) * 512, b + 8 * 512, 512 * 512);
        write_in(dir, "a-flat.vmdk", a, a_len);
        write_in(dir, "b part.vmdk", b, b_len);
        write_in(dir, "disk.vmdk", desc, strlen(desc));

        img = open_path(dir, "disk.vmdk", 0, &err);
        assert_string_equal(img->subformat, "monolithicFlat");
        assert_int_equal(img->size, size);
        assert_int_equal(img->n_extents, 3);
        assert_string_equal(img->extents[0].type, "FLAT");
        assert_string_equal(img->extents[1].type, "ZERO");
        assert_string_equal(img->extents[2].file, "b part.vmdk");
        assert_int_equal(img->extents[2].offset, 8 * 512);

        assert_map(img, 0, size, IMAGE_MAP_DATA, a_len, 0);
        /* An answer never crosses into the next extent. */
        assert_map(img, a_len - 512, 4096, IMAGE_MAP_DATA, 512, a_len - 512);
        assert_map(img, a_len, size - a_len, IMAGE_MAP_ZERO, 1024 * 512, 0);
        assert_map(img, a_len + 1024 * 512, size - a_len - 1024 * 512, IMAGE_MAP_DATA, 512 * 512,
                   8 * 512);
        assert_map(img, size - 1, 1, IMAGE_MAP_DATA, 1, b_len - 1);
        assert_image_equals(img, want, size);
        image_free(img);
        free(a);
        free(b);
        free(want);
}

static void test_open_flat_extent_shorter_than_its_line_fails(void **state)
{
        static const char desc[] = "version=1\nRW 2048 FLAT \"a-flat.vmdk\" 0\n";
        const char *dir = *state;
        uint8_t a[4096] = { 1 };
        struct err err = { { 0 } };

        write_in(dir, "a-flat.vmdk", a, sizeof(a));
        write_in(dir, "disk.vmdk", desc, strlen(desc));
        assert_null(open_path(dir, "disk.vmdk", -EBADMSG, &err));
        assert_non_null(strstr(err.msg, "a-flat.vmdk"));
}

static void test_open_sparse_extent_smaller_than_its_line_fails(void **state)
{
        static const char desc[] = "version=1\nRW 4096 SPARSE \"s.vmdk\"\n";
        const char *dir = *state;
        struct sparse s;
        struct err err = { { 0 } };
        static const int grains[] = { 1 };

        sparse_build(&s, GRAIN_SECTORS, 2048, grains, ELEMENTSOF(grains), NULL);
        write_in(dir, "s.vmdk", s.b.p, s.b.len);
        write_in(dir, "disk.vmdk", desc, strlen(desc));
        assert_null(open_path(dir, "disk.vmdk", -EBADMSG, &err));
        sparse_free(&s);
}

static void test_map_gd_entry_past_eof_is_ebadmsg(void **state)
{
        const char *dir = *state;
        struct sparse s;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;

        sparse_build(&s, GRAIN_SECTORS, 2048, sample_grains, ELEMENTSOF(sample_grains), NULL);
        le32_store(s.b.p + s.gd_sector * 512,
                   (uint32_t) (s.b.len / 512)); /* the GT starts at EOF */
        write_in(dir, "disk.vmdk", s.b.p, s.b.len);
        img = open_path(dir, "disk.vmdk", 0, &err);
        assert_int_equal(image_map_chain(img, 0, img->size, &m, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "grain table"));
        image_free(img);
        sparse_free(&s);
}

static void test_map_gd_entry_near_u32_max_is_ebadmsg(void **state)
{
        const char *dir = *state;
        struct sparse s;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;

        sparse_build(&s, GRAIN_SECTORS, 2048, sample_grains, ELEMENTSOF(sample_grains), NULL);
        le32_store(s.b.p + s.gd_sector * 512, UINT32_MAX);
        write_in(dir, "disk.vmdk", s.b.p, s.b.len);
        img = open_path(dir, "disk.vmdk", 0, &err);
        assert_int_equal(image_map_chain(img, 0, img->size, &m, &err), -EBADMSG);
        image_free(img);
        sparse_free(&s);
}

static void test_map_gte_past_eof_is_ebadmsg(void **state)
{
        const char *dir = *state;
        struct sparse s;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;

        sparse_build(&s, GRAIN_SECTORS, 2048, sample_grains, ELEMENTSOF(sample_grains), NULL);
        le32_store(s.b.p + s.gt_sector * 512 + 4 * 3, UINT32_MAX);
        write_in(dir, "disk.vmdk", s.b.p, s.b.len);
        img = open_path(dir, "disk.vmdk", 0, &err);
        assert_int_equal(image_map_chain(img, 0, GRAIN_BYTES, &m, &err), 0); /* grain 0 is fine */
        assert_int_equal(image_map_chain(img, 3 * GRAIN_BYTES, GRAIN_BYTES, &m, &err), -EBADMSG);
        assert_true(err.msg[0] != 0);
        image_free(img);
        sparse_free(&s);
}

static void test_map_grain_running_past_eof_is_ebadmsg(void **state)
{
        const char *dir = *state;
        struct sparse s;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;

        sparse_build(&s, GRAIN_SECTORS, 2048, sample_grains, ELEMENTSOF(sample_grains), NULL);
        /* The grain starts inside the file but its last sector is missing. */
        le32_store(s.b.p + s.gt_sector * 512 + 4 * 6,
                   (uint32_t) (s.b.len / 512 - GRAIN_SECTORS + 1));
        write_in(dir, "disk.vmdk", s.b.p, s.b.len);
        img = open_path(dir, "disk.vmdk", 0, &err);
        assert_int_equal(image_map_chain(img, 6 * GRAIN_BYTES, GRAIN_BYTES, &m, &err), -EBADMSG);
        image_free(img);
        sparse_free(&s);
}

static void test_open_missing_extent_file_names_it(void **state)
{
        static const char desc[] = "version=1\nRW 2048 FLAT \"present-flat.vmdk\" 0\n"
                                   "RW 2048 FLAT \"missing-flat.vmdk\" 0\n";
        const char *dir = *state;
        uint8_t *a = calloc(1, 2048 * 512);
        struct err err = { { 0 } };

        assert_non_null(a);
        write_in(dir, "present-flat.vmdk", a, 2048 * 512);
        write_in(dir, "disk.vmdk", desc, strlen(desc));
        assert_null(open_path(dir, "disk.vmdk", -ENOENT, &err));
        if (!strstr(err.msg, "missing-flat.vmdk"))
                fail_msg("message does not name the file: '%s'", err.msg);
        free(a);
}

static void write_flat_descriptor(const char *dir, const char *name, uint32_t cid,
                                  uint32_t parent_cid, const char *parent, const char *flat)
{
        _cleanup_free_ char *text = NULL;
        uint8_t *data = malloc(2048 * 512);

        assert_non_null(data);
        assert_true(
                asprintf(
                        &text,
                        "version=1\nCID=%08x\nparentCID=%08x\ncreateType=\"monolithicFlat\"\n%s%s%s"
                        "RW 2048 FLAT \"%s\" 0\n",
                        cid, parent_cid, parent ? "parentFileNameHint=\"" : "",
                        parent ? parent : "", parent ? "\"\n" : "", flat) >= 0);
        write_in(dir, name, text, strlen(text));
        fill_pattern(data, 2048 * 512, cid);
        write_in(dir, flat, data, 2048 * 512);
        free(data);
}

static void test_open_delta_with_wrong_parent_cid_fails(void **state)
{
        const char *dir = *state;
        struct err err = { { 0 } };

        write_flat_descriptor(dir, "base.vmdk", 0x11111111, VMDK_NO_PARENT, NULL, "base-flat.vmdk");
        write_flat_descriptor(dir, "delta.vmdk", 0x22222222, 0x33333333, "base.vmdk",
                              "delta-flat.vmdk");
        assert_null(open_path(dir, "delta.vmdk", -EBADMSG, &err));
        assert_non_null(strstr(err.msg, "CID"));
}

static void test_open_descriptors_naming_each_other_as_parent_loop(void **state)
{
        const char *dir = *state;
        struct err err = { { 0 } };

        write_flat_descriptor(dir, "a.vmdk", 0xaaaaaaaa, 0xbbbbbbbb, "b.vmdk", "a-flat.vmdk");
        write_flat_descriptor(dir, "b.vmdk", 0xbbbbbbbb, 0xaaaaaaaa, "a.vmdk", "b-flat.vmdk");
        assert_null(open_path(dir, "a.vmdk", -ELOOP, &err));
}

static void test_open_descriptor_naming_itself_as_parent_loops(void **state)
{
        const char *dir = *state;
        struct err err = { { 0 } };

        write_flat_descriptor(dir, "a.vmdk", 0xaaaaaaaa, 0xaaaaaaaa, "a.vmdk", "a-flat.vmdk");
        assert_null(open_path(dir, "a.vmdk", -ELOOP, &err));
}

static void test_open_delta_reads_unallocated_grains_from_parent(void **state)
{
        static const char desc[] =
                "# Disk DescriptorFile\nversion=1\nCID=22222222\nparentCID=11111111\n"
                "createType=\"monolithicSparse\"\n"
                "parentFileNameHint=\"/vmfs/volumes/ds1/vm/base.vmdk\"\n"
                "RW 2048 SPARSE \"delta.vmdk\"\n";
        static const int grains[] = { 5, G_ABSENT, G_ZERO, 8 };
        const char *dir = *state;
        struct sparse s;
        struct err err = { { 0 } };
        struct image *img;
        uint8_t *base, *want;
        size_t size = 2048 * 512;

        /* The parent is found next to the child although the hint is an absolute VMFS path. */
        write_flat_descriptor(dir, "base.vmdk", 0x11111111, VMDK_NO_PARENT, NULL, "base-flat.vmdk");
        sparse_build(&s, GRAIN_SECTORS, 2048, grains, ELEMENTSOF(grains), desc);
        write_in(dir, "delta.vmdk", s.b.p, s.b.len);

        img = open_path(dir, "delta.vmdk", 0, &err);
        assert_non_null(img->backing);
        assert_string_equal(img->backing_name, "/vmfs/volumes/ds1/vm/base.vmdk");
        assert_false(img->streamable);

        base = malloc(size);
        want = malloc(size);
        assert_non_null(base);
        assert_non_null(want);
        fill_pattern(base, size, 0x11111111);
        memcpy(want, base, size);
        memcpy(want, s.content, GRAIN_BYTES);           /* grain 0: the child's */
        memset(want + 2 * GRAIN_BYTES, 0, GRAIN_BYTES); /* grain 2: zeroed */
        memcpy(want + 3 * GRAIN_BYTES, s.content + 3 * GRAIN_BYTES, GRAIN_BYTES);
        assert_map(img, GRAIN_BYTES, GRAIN_BYTES, IMAGE_MAP_UNALLOC, GRAIN_BYTES, 0);
        assert_image_equals(img, want, size);
        image_free(img);
        sparse_free(&s);
        free(base);
        free(want);
}

static void test_open_cowd_is_eopnotsupp(void **state)
{
        const char *dir = *state;
        uint8_t cowd[2048] = { 'C', 'O', 'W', 'D', 1, 0, 0, 0, 3, 0, 0, 0 };
        struct err err = { { 0 } };

        write_in(dir, "disk-delta.vmdk", cowd, sizeof(cowd));
        assert_null(open_path(dir, "disk-delta.vmdk", -EOPNOTSUPP, &err));
        assert_non_null(strstr(err.msg, "COWD"));
}

static void test_open_descriptor_with_cowd_extent_is_eopnotsupp(void **state)
{
        static const char desc[] = "version=1\nRW 2048 SPARSE \"disk-delta.vmdk\"\n";
        const char *dir = *state;
        uint8_t cowd[2048] = { 'C', 'O', 'W', 'D', 1, 0, 0, 0, 3, 0, 0, 0 };
        struct err err = { { 0 } };

        write_in(dir, "disk-delta.vmdk", cowd, sizeof(cowd));
        write_in(dir, "disk.vmdk", desc, strlen(desc));
        assert_null(open_path(dir, "disk.vmdk", -EOPNOTSUPP, &err));
}

static void test_open_raw_device_descriptor_is_eopnotsupp(void **state)
{
        static const char desc[] =
                "version=1\ncreateType=\"fullDevice\"\nRW 2048 FLAT \"/dev/sda\" 0\n";
        const char *dir = *state;
        struct err err = { { 0 } };

        write_in(dir, "disk.vmdk", desc, strlen(desc));
        assert_null(open_path(dir, "disk.vmdk", -EOPNOTSUPP, &err));
}

/* ---- streamOptimized read at random ---- */

static uint8_t *stream_content(size_t size)
{
        uint8_t *c = calloc(1, size);

        assert_non_null(c);
        fill_pattern(c, 64 * 1024, 1);                    /* grain 0 */
        fill_random(c + 3 * 64 * 1024 + 4096, 1000, 2);   /* part of grain 3 */
        fill_pattern(c + size - 64 * 1024, 64 * 1024, 3); /* the last grain */
        return c;
}

static void check_stream_random_access(const char *dir, enum vstream_layout layout)
{
        size_t size = 40u << 20; /* two grain tables of 64 KiB grains */
        uint8_t *content = stream_content(size);
        struct vstream s;
        struct err err = { { 0 } };
        struct image *img;

        vstream_build(&s, content, size, 128, layout, false);
        write_in(dir, "stream.vmdk", s.b.p, s.b.len);
        img = open_path(dir, "stream.vmdk", 0, &err);
        assert_string_equal(img->subformat, "streamOptimized");
        assert_true(img->streamable);
        assert_int_equal(img->size, size);
        assert_int_equal(s.n_grains, 3);

        /* A grain is one compressed unit: the marker's 12 bytes are skipped. */
        for (unsigned i = 0; i < s.n_grains; i++) {
                struct image_map m;
                uint64_t off = s.grain_lba[i] * 512 + 4096;
                assert_int_equal(image_map_chain(img, off, size - off, &m, &err), 0);
                assert_int_equal(m.kind, IMAGE_MAP_DEFLATE);
                assert_int_equal(m.deflate, IMAGE_DEFLATE_ZLIB);
                assert_int_equal(m.host_off, s.grain_off[i] + 12);
                assert_int_equal(m.clen, s.grain_clen[i]);
                assert_int_equal(m.unit_len, 64 * 1024);
                assert_int_equal(m.unit_start, s.grain_lba[i] * 512);
                assert_int_equal(m.len, 64 * 1024 - 4096);
        }
        assert_image_equals(img, content, size);
        image_free(img);
        tbuf_free(&s.b);
        free(content);
}

static void test_open_vmware_stream_maps_grains_through_the_footer(void **state)
{
        check_stream_random_access(*state, VSTREAM_VMWARE);
}

static void test_open_qemu_stream_maps_grains_through_the_front_gd(void **state)
{
        check_stream_random_access(*state, VSTREAM_QEMU);
}

static void test_map_vmware_stream_without_footer_is_ebadmsg(void **state)
{
        const char *dir = *state;
        size_t size = 4u << 20;
        uint8_t *content = stream_content(size);
        struct vstream s;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;

        vstream_build(&s, content, size, 128, VSTREAM_VMWARE, false);
        write_in(dir, "stream.vmdk", s.b.p, s.footer_marker_off); /* cut before the footer */
        img = open_path(dir, "stream.vmdk", 0, &err);
        assert_int_equal(image_map_chain(img, 0, size, &m, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "footer"));
        image_free(img);
        tbuf_free(&s.b);
        free(content);
}

static void test_map_stream_grain_marked_for_another_lba_is_ebadmsg(void **state)
{
        const char *dir = *state;
        size_t size = 4u << 20;
        uint8_t *content = stream_content(size);
        struct vstream s;
        struct err err = { { 0 } };
        struct image_map m;
        struct image *img;

        vstream_build(&s, content, size, 128, VSTREAM_VMWARE, false);
        le64_store(s.b.p + s.grain_off[1], s.grain_lba[1] + 128);
        write_in(dir, "stream.vmdk", s.b.p, s.b.len);
        img = open_path(dir, "stream.vmdk", 0, &err);
        assert_int_equal(image_map_chain(img, s.grain_lba[1] * 512, 512, &m, &err), -EBADMSG);
        image_free(img);
        tbuf_free(&s.b);
        free(content);
}

/* Every extent counts as a file the image reads, however many there are: a destination that is
 * one of them must be refused (a 100 GiB twoGbMaxExtentFlat disk has 50). */
static void test_every_extent_is_a_file_the_image_reads(void **state)
{
        char *dir = tmpdir_new(), *desc = path_join(dir, "big.vmdk"), text[4096], line[128];
        struct image *img = NULL;
        struct err err = { { 0 } };
        struct stat st;
        uint8_t sector[512] = { 1 };

        (void) state;
        (void) snprintf(text, sizeof(text),
                        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
                        "parentCID=ffffffff\ncreateType=\"twoGbMaxExtentFlat\"\n");
        for (int i = 1; i <= 12; i++) {
                char name[32], *path;
                (void) snprintf(name, sizeof(name), "big-f%03d.vmdk", i);
                path = path_join(dir, name);
                file_write(path, sector, sizeof(sector));
                free(path);
                (void) snprintf(line, sizeof(line), "RW 1 FLAT \"%s\" 0\n", name);
                strcat(text, line);
        }
        file_write_str(desc, text);
        assert_int_equal(image_open_path(desc, IMAGE_FORMAT_PROBE, &img, &err), 0);
        for (int i = 1; i <= 12; i++) {
                char name[32], *path;
                (void) snprintf(name, sizeof(name), "big-f%03d.vmdk", i);
                path = path_join(dir, name);
                assert_int_equal(stat(path, &st), 0);
                assert_true(image_uses_file(img, (uint64_t) st.st_dev, (uint64_t) st.st_ino));
                free(path);
        }
        assert_int_equal(stat(desc, &st), 0);
        assert_true(image_uses_file(img, (uint64_t) st.st_dev, (uint64_t) st.st_ino));
        image_free(img);
        free(desc);
        tmpdir_remove(dir);
}

int main(void)
{
        static const struct CMUnitTest fixed[] = {
                cmocka_unit_test(test_header_rejection_leaves_output_untouched),
                cmocka_unit_test(test_descriptor_vmware_split_sparse),
                cmocka_unit_test(test_descriptor_crlf_line_ends),
                cmocka_unit_test(test_descriptor_keys_and_extent_types_ignore_case),
                cmocka_unit_test(test_descriptor_rdonly_extents),
                cmocka_unit_test(test_descriptor_zero_extent_needs_no_file),
                cmocka_unit_test(test_descriptor_file_names_with_spaces),
                cmocka_unit_test(test_descriptor_flat_offsets),
                cmocka_unit_test(test_descriptor_stops_at_first_nul),
                cmocka_unit_test(test_descriptor_defaults_without_cid_lines),
                cmocka_unit_test(test_descriptor_accepts_max_extents),
                cmocka_unit_test(test_descriptor_rejects_more_than_max_extents),
                cmocka_unit_test(test_descriptor_rejects_text_above_limit),
                cmocka_unit_test(test_descriptor_error_names_the_right_line),
                cmocka_unit_test(test_every_extent_is_a_file_the_image_reads),
                cmocka_unit_test(test_probe_recognises_headers_and_descriptors),
                cmocka_unit_test_setup_teardown(
                        test_open_monolithic_sparse_maps_data_unalloc_and_zero, setup_tmpdir,
                        teardown_tmpdir),
                cmocka_unit_test_setup_teardown(
                        test_open_sparse_grain_one_is_data_without_zeroed_grain_flag, setup_tmpdir,
                        teardown_tmpdir),
                cmocka_unit_test_setup_teardown(
                        test_open_sparse_with_embedded_descriptor_takes_its_properties,
                        setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(
                        test_open_flat_zero_flat_descriptor_maps_each_extent, setup_tmpdir,
                        teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_open_flat_extent_shorter_than_its_line_fails,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_open_sparse_extent_smaller_than_its_line_fails,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_map_gd_entry_past_eof_is_ebadmsg, setup_tmpdir,
                                                teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_map_gd_entry_near_u32_max_is_ebadmsg,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_map_gte_past_eof_is_ebadmsg, setup_tmpdir,
                                                teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_map_grain_running_past_eof_is_ebadmsg,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_open_missing_extent_file_names_it,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_open_delta_with_wrong_parent_cid_fails,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(
                        test_open_descriptors_naming_each_other_as_parent_loop, setup_tmpdir,
                        teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_open_descriptor_naming_itself_as_parent_loops,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(
                        test_open_delta_reads_unallocated_grains_from_parent, setup_tmpdir,
                        teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_open_cowd_is_eopnotsupp, setup_tmpdir,
                                                teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_open_descriptor_with_cowd_extent_is_eopnotsupp,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_open_raw_device_descriptor_is_eopnotsupp,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(
                        test_open_vmware_stream_maps_grains_through_the_footer, setup_tmpdir,
                        teardown_tmpdir),
                cmocka_unit_test_setup_teardown(
                        test_open_qemu_stream_maps_grains_through_the_front_gd, setup_tmpdir,
                        teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_map_vmware_stream_without_footer_is_ebadmsg,
                                                setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(
                        test_map_stream_grain_marked_for_another_lba_is_ebadmsg, setup_tmpdir,
                        teardown_tmpdir),
        };
        struct test_list l = { 0 };

        for (size_t i = 0; i < ELEMENTSOF(header_cases); i++)
                tests_add(&l, header_cases[i].name, test_header_case, NULL, NULL,
                          (void *) &header_cases[i]);
        for (size_t i = 0; i < ELEMENTSOF(desc_cases); i++)
                tests_add(&l, desc_cases[i].name, test_desc_case, NULL, NULL,
                          (void *) &desc_cases[i]);
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                tests_add(&l, fixed[i].name, fixed[i].test_func, fixed[i].setup_func,
                          fixed[i].teardown_func, NULL);
        return tests_run("vmdk", &l);
}
