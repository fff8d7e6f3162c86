/* The forward-only walker over streamOptimized VMDKs, on synthetic streams in memory: VMware's
 * layout (tables, footer and end-of-stream marker after the grains) and qemu's (tables in
 * front, nothing after the grains). Hostile streams are valid ones cut or patched in one place. */
#include "vmdk_stream.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "helpers.h"
#include "input.h"

#define GRAIN_SECTORS 128u
#define GRAIN_BYTES   (GRAIN_SECTORS * 512u)

/* A 40 MiB disk (two grain tables) with five grains that are not all zeros. */
#define DISK_SIZE (40u << 20)

static const uint64_t sample_lbas[] = { 0, 1 * GRAIN_SECTORS, 5 * GRAIN_SECTORS,
                                        600 * GRAIN_SECTORS, 639 * GRAIN_SECTORS };

static uint8_t *sample_content(void)
{
        uint8_t *c = calloc(1, DISK_SIZE);

        assert_non_null(c);
        for (size_t i = 0; i < ELEMENTSOF(sample_lbas); i++) {
                uint8_t *g = c + sample_lbas[i] * 512;
                if (i % 2)
                        fill_random(g + 512, GRAIN_BYTES - 1024, i);
                else
                        fill_pattern(g, GRAIN_BYTES, i);
        }
        return c;
}

struct fixture {
        const uint8_t *content;
        struct vstream s; /* a copy each case may patch */
};

/* Built once for the group: the disk and its stream in each layout. */
static uint8_t *sample;
static struct vstream built[3];

static int group_setup(void **state)
{
        (void) state;
        sample = sample_content();
        vstream_build(&built[0], sample, DISK_SIZE, GRAIN_SECTORS, VSTREAM_VMWARE, false);
        vstream_build(&built[1], sample, DISK_SIZE, GRAIN_SECTORS, VSTREAM_QEMU, false);
        vstream_build(&built[2], sample, DISK_SIZE, GRAIN_SECTORS, VSTREAM_VMWARE, true);
        for (size_t i = 0; i < ELEMENTSOF(built); i++)
                assert_int_equal(built[i].n_grains, ELEMENTSOF(sample_lbas));
        return 0;
}

static int group_teardown(void **state)
{
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(built); i++)
                tbuf_free(&built[i].b);
        free(sample);
        return 0;
}

static int setup_layout(void **state, unsigned which)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        f->content = sample;
        f->s = built[which];
        f->s.b = (struct tbuf){ 0 };
        tbuf_put(&f->s.b, built[which].b.p, built[which].b.len);
        *state = f;
        return 0;
}

static int setup_vmware(void **state)
{
        return setup_layout(state, 0);
}

static int setup_qemu(void **state)
{
        return setup_layout(state, 1);
}

static int setup_vmware_grain_after_footer(void **state)
{
        return setup_layout(state, 2);
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        tbuf_free(&f->s.b);
        free(f);
        return 0;
}

/* Walks the first len bytes of the stream; returns the first failure, 0 at a clean end.
 * Every grain yielded must be the next expected one and inflate to the disk's content. */
static int walk(struct fixture *f, size_t len, unsigned *ret_grains, struct err *err)
{
        _cleanup_(input_freep) struct input *in = NULL;
        _cleanup_(vmdk_stream_freep) struct vmdk_stream *s = NULL;
        uint8_t *grain = malloc(GRAIN_BYTES);
        unsigned n = 0;
        int r;

        assert_non_null(grain);
        assert_int_equal(input_new_memory(f->s.b.p, len, "stream.vmdk", &in), 0);
        r = vmdk_stream_new(in, &s, err);
        while (r >= 0) {
                struct vmdk_grain g;

                r = vmdk_stream_next(s, &g, err);
                if (r <= 0)
                        break;
                assert_true(n < f->s.n_grains);
                assert_int_equal(g.lba, f->s.grain_lba[n]);
                assert_int_equal(g.clen, f->s.grain_clen[n]);
                assert_int_equal(
                        inflate_unit(g.data, g.clen, IMAGE_DEFLATE_ZLIB, grain, GRAIN_BYTES),
                        GRAIN_BYTES);
                assert_memory_equal(grain, f->content + g.lba * 512, GRAIN_BYTES);
                n++;
        }
        if (r == 0) {
                struct vmdk_grain g;
                /* The end is sticky. */
                assert_int_equal(vmdk_stream_next(s, &g, err), 0);
        }
        free(grain);
        if (ret_grains)
                *ret_grains = n;
        return r;
}

static void assert_walk(struct fixture *f, size_t len, int expect, unsigned grains)
{
        struct err err = { { 0 } };
        unsigned n = 0;
        int r = walk(f, len, &n, &err);

        if (r != expect)
                fail_msg("walk: got %d (%s), expected %d", r, err.msg, expect);
        if (r < 0)
                assert_true(err.msg[0] != 0);
        assert_int_equal(n, grains);
}

/* ---- whole streams ---- */

static void test_vmware_layout_yields_every_grain_in_order_then_end(void **state)
{
        struct fixture *f = *state;
        struct err err = { { 0 } };
        _cleanup_(input_freep) struct input *in = NULL;
        _cleanup_(vmdk_stream_freep) struct vmdk_stream *s = NULL;
        const struct vmdk_header *h;

        assert_int_equal(input_new_memory(f->s.b.p, f->s.b.len, "stream.vmdk", &in), 0);
        assert_int_equal(vmdk_stream_new(in, &s, &err), 0);
        h = vmdk_stream_header(s);
        assert_int_equal(h->gd_offset, VMDK_GD_AT_END);
        assert_int_equal(h->capacity, DISK_SIZE / 512);
        assert_int_equal(h->grain_size, GRAIN_SECTORS);
        assert_walk(f, f->s.b.len, 0, ELEMENTSOF(sample_lbas));
}

static void test_qemu_layout_yields_every_grain_in_order_then_end(void **state)
{
        struct fixture *f = *state;

        assert_int_not_equal(f->s.h.gd_offset, VMDK_GD_AT_END);
        assert_walk(f, f->s.b.len, 0, ELEMENTSOF(sample_lbas));
}

static void test_qemu_layout_last_grain_may_end_without_sector_padding(void **state)
{
        struct fixture *f = *state;
        unsigned last = f->s.n_grains - 1;

        assert_walk(f, f->s.grain_off[last] + 12 + f->s.grain_clen[last], 0,
                    ELEMENTSOF(sample_lbas));
}

static void test_qemu_layout_tolerates_a_final_eos_marker(void **state)
{
        struct fixture *f = *state;

        vmdk_put_marker(&f->s.b, 0, VMDK_MARKER_EOS);
        assert_walk(f, f->s.b.len, 0, ELEMENTSOF(sample_lbas));
}

static void test_stream_of_an_empty_disk_yields_nothing(void **state)
{
        struct fixture f = { 0 };
        uint8_t *zeros = calloc(1, 1u << 20);

        (void) state;
        assert_non_null(zeros);
        f.content = zeros;
        vstream_build(&f.s, zeros, 1u << 20, GRAIN_SECTORS, VSTREAM_VMWARE, false);
        assert_walk(&f, f.s.b.len, 0, 0);
        tbuf_free(&f.s.b);
        vstream_build(&f.s, zeros, 1u << 20, GRAIN_SECTORS, VSTREAM_QEMU, false);
        assert_walk(&f, f.s.b.len, 0, 0);
        tbuf_free(&f.s.b);
        free(zeros);
}

static void test_unknown_marker_types_are_skipped(void **state)
{
        struct fixture *f = *state;
        struct tbuf b = { 0 };
        size_t at = f->s.first_gt_marker_off;

        /* A progress marker (type 4) announcing one sector, before the first GT marker. */
        tbuf_put(&b, f->s.b.p, at);
        vmdk_put_marker(&b, 1, 4);
        memset(tbuf_grow(&b, 512), 0xee, 512);
        tbuf_put(&b, f->s.b.p + at, f->s.b.len - at);
        tbuf_free(&f->s.b);
        f->s.b = b;
        assert_walk(f, f->s.b.len, 0, ELEMENTSOF(sample_lbas));
}

/* ---- truncation ---- */

static void test_vmware_stream_cut_in_a_grain_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        assert_walk(f, f->s.grain_off[2] + 12 + f->s.grain_clen[2] / 2, -EBADMSG, 2);
}

static void test_vmware_stream_cut_in_a_grain_marker_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        assert_walk(f, f->s.grain_off[2] + 5, -EBADMSG, 2);
}

static void test_qemu_stream_cut_in_a_grain_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        assert_walk(f, f->s.grain_off[3] + 100, -EBADMSG, 3);
}

static void test_vmware_stream_without_footer_and_eos_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        assert_walk(f, f->s.footer_marker_off, -EBADMSG, ELEMENTSOF(sample_lbas));
}

static void test_vmware_stream_without_eos_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        assert_walk(f, f->s.eos_off, -EBADMSG, ELEMENTSOF(sample_lbas));
}

static void test_vmware_stream_cut_after_the_grains_is_ebadmsg(void **state)
{
        struct fixture *f = *state;
        unsigned last = f->s.n_grains - 1;

        assert_walk(f, f->s.grain_off[last] + ((12 + f->s.grain_clen[last] + 511) & ~511u),
                    -EBADMSG, ELEMENTSOF(sample_lbas));
}

/* Nothing marks the end of qemu's layout: only the count of the front tables tells. */
static void test_qemu_stream_cut_between_two_grains_is_ebadmsg(void **state)
{
        struct fixture *f = *state;
        struct err err = { { 0 } };
        unsigned n = 0;

        assert_int_equal(walk(f, f->s.grain_off[3], &n, &err), -EBADMSG);
        assert_int_equal(n, 3);
        assert_non_null(strstr(err.msg, "truncated"));
}

static void test_vmware_stream_missing_a_grain_listed_in_its_tables_is_ebadmsg(void **state)
{
        struct fixture *f = *state;
        size_t a = f->s.grain_off[1], b = f->s.grain_off[2];

        /* Grain 1 is removed; GTs, GD, footer and EOS follow as before. */
        memmove(f->s.b.p + a, f->s.b.p + b, f->s.b.len - b);
        f->s.b.len -= b - a;
        f->s.grain_lba[1] = f->s.grain_lba[2];
        f->s.grain_lba[2] = f->s.grain_lba[3];
        f->s.grain_lba[3] = f->s.grain_lba[4];
        f->s.grain_clen[1] = f->s.grain_clen[2];
        f->s.grain_clen[2] = f->s.grain_clen[3];
        f->s.grain_clen[3] = f->s.grain_clen[4];
        assert_walk(f, f->s.b.len, -EBADMSG, ELEMENTSOF(sample_lbas) - 1);
}

/* ---- patched fields ---- */

static void test_grain_lba_beyond_capacity_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        le64_store(f->s.b.p + f->s.grain_off[1], DISK_SIZE / 512);
        assert_walk(f, f->s.b.len, -EBADMSG, 1);
}

static void test_grain_lba_near_uint64_max_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        le64_store(f->s.b.p + f->s.grain_off[1], UINT64_MAX - GRAIN_SECTORS + 1);
        assert_walk(f, f->s.b.len, -EBADMSG, 1);
}

static void test_unaligned_grain_lba_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        le64_store(f->s.b.p + f->s.grain_off[1], f->s.grain_lba[1] + 1);
        assert_walk(f, f->s.b.len, -EBADMSG, 1);
}

static void test_grain_size_above_limit_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        le32_store(f->s.b.p + f->s.grain_off[1] + 8, 2 * GRAIN_BYTES + 1024 + 1);
        assert_walk(f, f->s.b.len, -EBADMSG, 1);
}

static void test_grain_size_uint32_max_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        le32_store(f->s.b.p + f->s.grain_off[1] + 8, UINT32_MAX);
        assert_walk(f, f->s.b.len, -EBADMSG, 1);
}

static void test_grain_after_the_footer_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        assert_walk(f, f->s.b.len, -EBADMSG, ELEMENTSOF(sample_lbas));
}

static void test_gt_marker_of_wrong_size_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        le64_store(f->s.b.p + f->s.first_gt_marker_off, 5);
        assert_walk(f, f->s.b.len, -EBADMSG, 3);
}

/* Regression (common/vmdk_stream.c, read_metadata, VMDK_MARKER_GT, fixed): the size check
 * multiplies first ("sectors * 512 != gtes * 4"), so a sector count of 2^55 + 4 wraps to 2048 bytes
 * and passes for a 512-entry table. Harmless today (2048 bytes are read), but it is the "compare by
 * subtraction" rule of STYLE.md section 3; check "sectors != div_round_up(...)" alone. */
static void test_gt_marker_size_that_wraps_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        le64_store(f->s.b.p + f->s.first_gt_marker_off, (UINT64_C(1) << 55) + 4);
        assert_walk(f, f->s.b.len, -EBADMSG, 3);
}

static void test_footer_disagreeing_with_header_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        le64_store(f->s.b.p + f->s.footer_marker_off + 512 + 12, DISK_SIZE / 512 + GRAIN_SECTORS);
        assert_walk(f, f->s.b.len, -EBADMSG, ELEMENTSOF(sample_lbas));
}

/* Regression (common/vmdk_stream.c, read_metadata, VMDK_MARKER_FOOTER; the same in
 * common/vmdk.c, sparse_load_gd, fixed): a footer without the KDMV magic passes on the -EMEDIUMTYPE
 * of vmdk_parse_header(), which tells callers "not a VMDK" although the header already proved
 * it is one: a corrupt footer is -EBADMSG (STYLE.md section 3). Map -EMEDIUMTYPE to -EBADMSG
 * where the footer is parsed. */
static void test_footer_without_magic_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        le32_store(f->s.b.p + f->s.footer_marker_off + 512, 0);
        assert_walk(f, f->s.b.len, -EBADMSG, ELEMENTSOF(sample_lbas));
}

/* Regression (common/vmdk_stream.c, vmdk_stream_next, fixed): grains are never checked against the
 * previous LBA (the struct keeps last_lba and any_grain but nothing reads them). A stream that
 * repeats a grain where another belongs keeps the count of the grain tables and is accepted;
 * the converter then writes the same range twice (qcow2 output fails with -EEXIST, raw output
 * silently loses the missing grain). Writers emit grains in increasing LBA order; reject
 * lba <= last_lba when any_grain. */
static void test_grain_repeating_an_earlier_lba_is_ebadmsg(void **state)
{
        struct fixture *f = *state;
        struct input *in = NULL;
        struct vmdk_stream *s = NULL;
        struct err err = { { 0 } };
        struct vmdk_grain g;
        int r;

        le64_store(f->s.b.p + f->s.grain_off[2], f->s.grain_lba[1]);
        assert_int_equal(input_new_memory(f->s.b.p, f->s.b.len, "stream.vmdk", &in), 0);
        r = vmdk_stream_new(in, &s, &err);
        for (unsigned i = 0; r >= 0 && i < 2 * ELEMENTSOF(sample_lbas); i++)
                if ((r = vmdk_stream_next(s, &g, &err)) <= 0)
                        break;
        vmdk_stream_free(s);
        input_free(in);
        if (r != -EBADMSG)
                fail_msg("a repeated grain LBA was accepted: the walk ended with %d (%s)", r,
                         err.msg);
}

static void test_header_without_markers_is_emediumtype(void **state)
{
        struct fixture *f = *state;
        struct err err = { { 0 } };

        le32_store(f->s.b.p + 8, VMDK_FLAG_NL_TEST);
        assert_int_equal(walk(f, f->s.b.len, NULL, &err), -EMEDIUMTYPE);
}

static void test_header_with_overhead_0_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        le64_store(f->s.b.p + 64, 0);
        assert_walk(f, f->s.b.len, -EBADMSG, 0);
}

static void test_qemu_gd_outside_the_metadata_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        le64_store(f->s.b.p + 56, f->s.h.overhead);
        assert_walk(f, f->s.b.len, -EBADMSG, 0);
}

static void test_qemu_gt_past_the_first_grain_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        le32_store(f->s.b.p + f->s.h.gd_offset * 512 + 4, (uint32_t) f->s.h.overhead);
        assert_walk(f, f->s.b.len, -EBADMSG, 0);
}

static void test_stream_not_at_its_start_is_einval(void **state)
{
        struct fixture *f = *state;
        _cleanup_(input_freep) struct input *in = NULL;
        struct vmdk_stream *s = NULL;

        assert_int_equal(input_new_memory(f->s.b.p, f->s.b.len, "stream.vmdk", &in), 0);
        in->pos = 512;
        assert_int_equal(vmdk_stream_new(in, &s, NULL), -EINVAL);
        assert_null(s);
}

static void test_stream_shorter_than_a_header_is_ebadmsg(void **state)
{
        struct fixture *f = *state;

        assert_walk(f, 100, -EBADMSG, 0);
}

#define T(f, s) cmocka_unit_test_setup_teardown(f, s, teardown)

int main(void)
{
        static const struct CMUnitTest tests[] = {
                T(test_vmware_layout_yields_every_grain_in_order_then_end, setup_vmware),
                T(test_qemu_layout_yields_every_grain_in_order_then_end, setup_qemu),
                T(test_qemu_layout_last_grain_may_end_without_sector_padding, setup_qemu),
                T(test_qemu_layout_tolerates_a_final_eos_marker, setup_qemu),
                cmocka_unit_test(test_stream_of_an_empty_disk_yields_nothing),
                T(test_unknown_marker_types_are_skipped, setup_vmware),
                T(test_vmware_stream_cut_in_a_grain_is_ebadmsg, setup_vmware),
                T(test_vmware_stream_cut_in_a_grain_marker_is_ebadmsg, setup_vmware),
                T(test_qemu_stream_cut_in_a_grain_is_ebadmsg, setup_qemu),
                T(test_vmware_stream_without_footer_and_eos_is_ebadmsg, setup_vmware),
                T(test_vmware_stream_without_eos_is_ebadmsg, setup_vmware),
                T(test_vmware_stream_cut_after_the_grains_is_ebadmsg, setup_vmware),
                T(test_qemu_stream_cut_between_two_grains_is_ebadmsg, setup_qemu),
                T(test_vmware_stream_missing_a_grain_listed_in_its_tables_is_ebadmsg, setup_vmware),
                T(test_grain_lba_beyond_capacity_is_ebadmsg, setup_vmware),
                T(test_grain_lba_near_uint64_max_is_ebadmsg, setup_vmware),
                T(test_unaligned_grain_lba_is_ebadmsg, setup_vmware),
                T(test_grain_size_above_limit_is_ebadmsg, setup_vmware),
                T(test_grain_size_uint32_max_is_ebadmsg, setup_qemu),
                T(test_grain_after_the_footer_is_ebadmsg, setup_vmware_grain_after_footer),
                T(test_gt_marker_of_wrong_size_is_ebadmsg, setup_vmware),
                T(test_gt_marker_size_that_wraps_is_ebadmsg, setup_vmware),
                T(test_footer_disagreeing_with_header_is_ebadmsg, setup_vmware),
                T(test_footer_without_magic_is_ebadmsg, setup_vmware),
                T(test_grain_repeating_an_earlier_lba_is_ebadmsg, setup_vmware),
                T(test_header_without_markers_is_emediumtype, setup_vmware),
                T(test_header_with_overhead_0_is_ebadmsg, setup_vmware),
                T(test_qemu_gd_outside_the_metadata_is_ebadmsg, setup_qemu),
                T(test_qemu_gt_past_the_first_grain_is_ebadmsg, setup_qemu),
                T(test_stream_not_at_its_start_is_einval, setup_vmware),
                T(test_stream_shorter_than_a_header_is_ebadmsg, setup_vmware),
        };

        return cmocka_run_group_tests_name("vmdk_stream", tests, group_setup, group_teardown);
}
