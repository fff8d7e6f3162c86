/* convert_image() end to end in a scratch directory: sources in every format the reader takes
 * (raw with holes, VMDK stream in both layouts, monolithicSparse, a VMDK delta over its parent,
 * compressed qcow2) to every output (qcow2 plain, compressed, preallocated, other cluster
 * sizes, raw), read back through image_map_chain() and compared byte for byte; where qemu-img
 * is installed it checks and compares the outputs too. Failures must leave nothing behind. */
#include "convert.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "helpers.h"
#include "image.h"
#include "input.h"
#include "writer.h"

#define MiB (UINT64_C(1) << 20)
#define KiB (UINT64_C(1) << 10)

/* The source: a multiple of 512 but not of 4 or 64 KiB, so the last cluster is short. */
#define SRC_SIZE (3 * MiB + 5 * 64 * KiB + 3 * 4 * KiB + 512)

struct fixture {
        const void *param; /* the table row, for cases made from tables */
        char *dir;
        char *src; /* src.raw */
        uint8_t *content;
        size_t size;
};

/* Compressible text, written zeros, a hole, incompressible bytes, a lone byte in a zero
 * cluster, then text up to a short last cluster. */
static void make_content(uint8_t *c)
{
        memset(c, 0, SRC_SIZE);
        fill_pattern(c, MiB, 1); /* [0, 1 MiB) */
        /* [1, 1.5 MiB): zeros written as data; [1.5, 2 MiB): a hole */
        fill_random(c + 2 * MiB, 200 * KiB, 2);           /* [2, 2.2 MiB) */
        c[2 * MiB + 512 * KiB + 777] = 0x42;              /* alone in its cluster */
        fill_pattern(c + 3 * MiB, SRC_SIZE - 3 * MiB, 3); /* to the end */
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        int fd;

        assert_non_null(f);
        f->param = *state; /* the initial state of the case */
        f->dir = tmpdir_new();
        f->src = path_join(f->dir, "src.raw");
        f->size = SRC_SIZE;
        f->content = malloc(SRC_SIZE);
        assert_non_null(f->content);
        make_content(f->content);
        fd = open(f->src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, SRC_SIZE), 0);
        /* Everything but the hole is written, the zeros of [1, 1.5 MiB) included. */
        assert_int_equal(pwrite(fd, f->content, 3 * MiB / 2, 0), (ssize_t) (3 * MiB / 2));
        assert_int_equal(pwrite(fd, f->content + 2 * MiB, SRC_SIZE - 2 * MiB, 2 * MiB),
                         (ssize_t) (SRC_SIZE - 2 * MiB));
        assert_int_equal(close(fd), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        tmpdir_remove(f->dir);
        free(f->src);
        free(f->content);
        free(f);
        return 0;
}

static bool have_qemu_img(void)
{
        return system("command -v qemu-img >/dev/null 2>&1") == 0;
}

/* qemu-img check on a qcow2 output, qemu-img compare against the raw reference. */
static void qemu_img_verify(const char *path, const char *fmt, const char *reference)
{
        _cleanup_free_ char *cmd = NULL;

        if (!have_qemu_img())
                return;
        if (strcmp(fmt, "qcow2") == 0) {
                assert_true(asprintf(&cmd, "qemu-img check -q -f qcow2 '%s'", path) >= 0);
                if (system(cmd) != 0)
                        fail_msg("qemu-img check failed on '%s'", path);
                free(cmd);
                cmd = NULL;
        }
        if (reference) {
                assert_true(asprintf(&cmd, "qemu-img compare -q -f raw -F %s '%s' '%s'", fmt,
                                     reference, path) >= 0);
                if (system(cmd) != 0)
                        fail_msg("qemu-img compare: '%s' differs from '%s'", path, reference);
        }
}

/* Opens src (of format fmt) and converts it to dir/dst; returns convert_image()'s result. */
static int convert_path(const char *src, int fmt, const char *dst, const struct convert_options *o,
                        struct convert_stats *stats, struct err *err)
{
        struct image *img = NULL;
        int r = image_open_path(src, fmt, &img, err);

        if (r < 0)
                fail_msg("opening '%s': %d %s", src, r, err->msg);
        r = convert_image(img, dst, o, stats, err);
        image_free(img);
        return r;
}

static struct image *open_output(const char *path, int fmt)
{
        struct image *img = NULL;
        struct err err = { { 0 } };
        int r = image_open_path(path, fmt, &img, &err);

        if (r < 0)
                fail_msg("opening the output '%s': %d %s", path, r, err.msg);
        return img;
}

/* Nothing named like the writer's hidden temporary (".NAME.kvmforge-*") is left in dir. */
static void assert_no_temporary(const char *dir, const char *name)
{
        _cleanup_free_ char *prefix = NULL;
        DIR *d = opendir(dir);
        struct dirent *de;

        assert_non_null(d);
        assert_true(asprintf(&prefix, ".%s.kvmforge-", name) >= 0);
        while ((de = readdir(d)))
                if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
                        fail_msg("temporary '%s' left in '%s'", de->d_name, dir);
        closedir(d);
}

static bool exists(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0;
}

/* Adds up the bytes of each kind of answer over the whole image (through the chain). */
static void count_kinds(struct image *img, uint64_t counts[4])
{
        memset(counts, 0, 4 * sizeof(counts[0]));
        for (uint64_t off = 0; off < img->size;) {
                struct image_map m;
                struct err err = { { 0 } };
                assert_int_equal(image_map_chain(img, off, img->size - off, &m, &err), 0);
                counts[m.kind] += m.len;
                off += m.len;
        }
}

/* Runs the conversion in a child process, for cases that once corrupted memory: a crash or a
 * sanitizer report fails the calling case only. Returns false (with a note) when it failed. */
static bool convert_in_child(const char *src, int fmt, const char *dst,
                             const struct convert_options *o)
{
        int status;
        pid_t pid;

        fflush(NULL);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct image *img = NULL;
                struct err err = { { 0 } };
                int r = image_open_path(src, fmt, &img, &err);
                if (r >= 0)
                        r = convert_image(img, dst, o, NULL, &err);
                if (r < 0)
                        fprintf(stderr, "convert_image: %d %s\n", r, err.msg);
                image_free(img);
                _exit(r < 0 ? 1 : 0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status)) {
                print_error("the conversion died of signal %d\n", WTERMSIG(status));
                return false;
        }
        if (WEXITSTATUS(status) != 0) {
                print_error("the conversion failed (exit status %d)\n", WEXITSTATUS(status));
                return false;
        }
        return true;
}

/* ---- raw source to each output ---- */

struct out_case {
        const char *name;
        struct writer_options out;
        unsigned threads;
};

/* clang-format off */
static const struct out_case out_cases[] = {
        { "raw_to_qcow2_one_thread", { .format = WRITER_FORMAT_QCOW2 }, 1 },
        { "raw_to_qcow2_four_threads", { .format = WRITER_FORMAT_QCOW2 }, 4 },
        { "raw_to_qcow2_compressed", { .format = WRITER_FORMAT_QCOW2, .compress = true }, 3 },
        { "raw_to_qcow2_prealloc_metadata",
          { .format = WRITER_FORMAT_QCOW2, .prealloc_metadata = true }, 3 },
        { "raw_to_qcow2_128_KiB_clusters",
          { .format = WRITER_FORMAT_QCOW2, .cluster_bits = 17 }, 2 },
        { "raw_to_qcow2_1_MiB_clusters", { .format = WRITER_FORMAT_QCOW2, .cluster_bits = 20 }, 2 },
        { "raw_to_qcow2_compressed_1_MiB_clusters",
          { .format = WRITER_FORMAT_QCOW2, .compress = true, .cluster_bits = 20 }, 2 },
        { "raw_to_raw", { .format = WRITER_FORMAT_RAW }, 3 },
};
/* clang-format on */

static void test_out_case(void **state)
{
        struct fixture *f = *state;
        const struct out_case *c = f->param;
        _cleanup_free_ char *dst = path_join(f->dir, "out.img");
        struct convert_options o = { 0 };
        struct convert_stats st = { 0 };
        struct err err = { { 0 } };
        struct image *out;
        uint64_t kinds[4];
        int r;

        o.out = c->out;
        o.threads = c->threads;
        r = convert_path(f->src, IMAGE_FORMAT_RAW, dst, &o, &st, &err);
        if (r < 0)
                fail_msg("%s: convert_image: %d %s", c->name, r, err.msg);
        assert_no_temporary(f->dir, "out.img");
        assert_int_equal(st.virtual_size, SRC_SIZE);
        assert_false(st.streamed);
        assert_true(st.data_bytes > 0 && st.zero_bytes > 0);
        assert_int_equal(st.data_bytes + st.zero_bytes, SRC_SIZE);

        if (c->out.format == WRITER_FORMAT_RAW) {
                size_t len;
                uint8_t *got = file_read(dst, &len);
                struct stat sb;
                assert_int_equal(len, SRC_SIZE);
                assert_memory_equal(got, f->content, SRC_SIZE);
                free(got);
                /* Zero clusters are holes. */
                assert_int_equal(stat(dst, &sb), 0);
                assert_true((uint64_t) sb.st_blocks * 512 < SRC_SIZE);
                qemu_img_verify(dst, "raw", f->src);
                return;
        }
        out = open_output(dst, IMAGE_FORMAT_QCOW2);
        assert_image_equals(out, f->content, f->size);
        count_kinds(out, kinds);
        if (c->out.compress) {
                assert_true(kinds[IMAGE_MAP_DEFLATE] > 0);
                /* With 64 KiB clusters some hold only random bytes: stored plain. */
                if (!c->out.cluster_bits)
                        assert_true(kinds[IMAGE_MAP_DATA] > 0);
        } else {
                assert_int_equal(kinds[IMAGE_MAP_DEFLATE], 0);
        }
        if (!c->out.prealloc_metadata) /* zero clusters stay unallocated */
                assert_true(kinds[IMAGE_MAP_ZERO] >= 1 * MiB);
        image_free(out);
        qemu_img_verify(dst, "qcow2", f->src);
}

/* ---- other sources ---- */

static void convert_and_compare(struct fixture *f, const char *src, int fmt, const uint8_t *want,
                                size_t size, const struct writer_options *out, bool streamed)
{
        _cleanup_free_ char *dst = path_join(f->dir, "out.img");
        _cleanup_free_ char *ref = path_join(f->dir, "reference.raw");
        struct convert_options o = { .threads = 3 };
        struct convert_stats st = { 0 };
        struct err err = { { 0 } };
        struct image *img;
        int r;

        o.out = *out;
        r = convert_path(src, fmt, dst, &o, &st, &err);
        if (r < 0)
                fail_msg("convert_image: %d %s", r, err.msg);
        assert_int_equal(st.streamed, streamed);
        assert_int_equal(st.virtual_size, size);
        assert_no_temporary(f->dir, "out.img");
        img = open_output(dst,
                          out->format == WRITER_FORMAT_RAW ? IMAGE_FORMAT_RAW : IMAGE_FORMAT_QCOW2);
        assert_image_equals(img, want, size);
        image_free(img);
        file_write(ref, want, size);
        qemu_img_verify(dst, out->format == WRITER_FORMAT_RAW ? "raw" : "qcow2", ref);
        assert_int_equal(unlink(dst), 0);
}

static const struct writer_options to_qcow2 = { .format = WRITER_FORMAT_QCOW2 };
static const struct writer_options to_qcow2_compressed = { .format = WRITER_FORMAT_QCOW2,
                                                           .compress = true };
static const struct writer_options to_raw = { .format = WRITER_FORMAT_RAW };

static void check_stream_source(struct fixture *f, uint32_t grain_sectors,
                                enum vstream_layout layout, bool streamed)
{
        _cleanup_free_ char *src = path_join(f->dir, "src.vmdk");
        struct vstream s;

        vstream_build(&s, f->content, f->size, grain_sectors, layout, false);
        file_write(src, s.b.p, s.b.len);
        tbuf_free(&s.b);
        convert_and_compare(f, src, IMAGE_FORMAT_VMDK, f->content, f->size, &to_qcow2, streamed);
        convert_and_compare(f, src, IMAGE_FORMAT_VMDK, f->content, f->size, &to_qcow2_compressed,
                            streamed);
        convert_and_compare(f, src, IMAGE_FORMAT_VMDK, f->content, f->size, &to_raw, streamed);
}

static void test_vmware_stream_converts_by_walking_its_grains(void **state)
{
        check_stream_source(*state, 128, VSTREAM_VMWARE, true);
}

static void test_qemu_stream_converts_by_walking_its_grains(void **state)
{
        check_stream_source(*state, 128, VSTREAM_QEMU, true);
}

static void test_stream_of_two_cluster_grains_converts_by_walking_its_grains(void **state)
{
        check_stream_source(*state, 256, VSTREAM_VMWARE, true);
}

/* 32 KiB grains: a 1 MiB unit holds at most 32 of them (4 KiB grains: see the regression below). */
static void test_stream_of_grains_smaller_than_a_cluster_converts_at_random(void **state)
{
        check_stream_source(*state, 64, VSTREAM_VMWARE, false);
}

static void test_monolithic_sparse_converts(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *src = path_join(f->dir, "src.vmdk");
        static const int grains[] = { 1,        2, G_ABSENT, G_ZERO,    5,         G_ABSENT,
                                      G_ABSENT, 8, [40] = 9, [41] = 10, [127] = 11 };
        int g[ELEMENTSOF(grains)];
        struct sparse s;

        for (size_t i = 0; i < ELEMENTSOF(grains); i++)
                g[i] = grains[i] ? grains[i] : G_ABSENT;
        sparse_build(&s, 128, 128 * 128, g, ELEMENTSOF(g), NULL);
        file_write(src, s.b.p, s.b.len);
        convert_and_compare(f, src, IMAGE_FORMAT_VMDK, s.content, s.size, &to_qcow2, false);
        convert_and_compare(f, src, IMAGE_FORMAT_VMDK, s.content, s.size, &to_raw, false);
        sparse_free(&s);
}

static void test_vmdk_delta_converts_flattened_over_its_parent(void **state)
{
        static const char desc[] =
                "# Disk DescriptorFile\nversion=1\nCID=22222222\nparentCID=11111111\n"
                "createType=\"monolithicSparse\"\nparentFileNameHint=\"base.vmdk\"\n"
                "RW 8192 SPARSE \"delta.vmdk\"\n";
        static const char base_desc[] =
                "version=1\nCID=11111111\nparentCID=ffffffff\n"
                "createType=\"monolithicFlat\"\nRW 8192 FLAT \"base-flat.vmdk\" 0\n";
        struct fixture *f = *state;
        _cleanup_free_ char *delta = path_join(f->dir, "delta.vmdk");
        _cleanup_free_ char *base = path_join(f->dir, "base.vmdk");
        _cleanup_free_ char *flat = path_join(f->dir, "base-flat.vmdk");
        static const int grains[] = { 1, G_ABSENT, G_ZERO, G_ABSENT, 5, 6 };
        struct sparse s;
        uint8_t *want = malloc(8192 * 512);

        assert_non_null(want);
        fill_random(want, 8192 * 512, 7);
        file_write(flat, want, 8192 * 512);
        file_write_str(base, base_desc);
        sparse_build(&s, 128, 8192, grains, ELEMENTSOF(grains), desc);
        file_write(delta, s.b.p, s.b.len);
        for (size_t i = 0; i < ELEMENTSOF(grains); i++)
                if (grains[i] != G_ABSENT)
                        memcpy(want + i * 64 * KiB, s.content + i * 64 * KiB, 64 * KiB);
        convert_and_compare(f, delta, IMAGE_FORMAT_VMDK, want, 8192 * 512, &to_qcow2, false);
        convert_and_compare(f, delta, IMAGE_FORMAT_VMDK, want, 8192 * 512, &to_qcow2_compressed,
                            false);
        sparse_free(&s);
        free(want);
}

static void test_compressed_qcow2_converts_back(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *mid = path_join(f->dir, "mid.qcow2");
        struct convert_options o = { .out = to_qcow2_compressed, .threads = 2 };
        struct err err = { { 0 } };

        assert_int_equal(convert_path(f->src, IMAGE_FORMAT_RAW, mid, &o, NULL, &err), 0);
        convert_and_compare(f, mid, IMAGE_FORMAT_QCOW2, f->content, f->size, &to_raw, false);
        convert_and_compare(f, mid, IMAGE_FORMAT_QCOW2, f->content, f->size, &to_qcow2, false);
        convert_and_compare(f, mid, IMAGE_FORMAT_QCOW2, f->content, f->size, &to_qcow2_compressed,
                            false);
}

static void test_odd_sized_raw_converts(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *src = path_join(f->dir, "odd.raw");
        _cleanup_free_ char *dst = path_join(f->dir, "out.img");
        const size_t size = MiB + 64 * KiB + 1234; /* not even a multiple of 512 */
        struct convert_options o = { .out = to_qcow2, .threads = 2 };
        struct err err = { { 0 } };
        struct image *img;
        uint8_t *got;
        size_t len;

        file_write(src, f->content, size);
        assert_int_equal(convert_path(src, IMAGE_FORMAT_RAW, dst, &o, NULL, &err), 0);
        img = open_output(dst, IMAGE_FORMAT_QCOW2);
        assert_image_equals(img, f->content, size);
        image_free(img);
        o.out = to_raw;
        assert_int_equal(convert_path(src, IMAGE_FORMAT_RAW, dst, &o, NULL, &err), 0);
        got = file_read(dst, &len);
        assert_int_equal(len, size);
        assert_memory_equal(got, f->content, size);
        free(got);
}

/* ---- failures ---- */

/* A monolithicSparse source of 8 MiB whose grain 100 lies past the end of the file: the first
 * units convert, then the read fails. */
static void write_broken_sparse(const char *path)
{
        int grains[101];
        struct sparse s;

        for (size_t i = 0; i < ELEMENTSOF(grains); i++)
                grains[i] = i < 20 || i == 100 ? (int) i + 1 : G_ABSENT;
        sparse_build(&s, 128, 16384, grains, ELEMENTSOF(grains), NULL);
        le32_store(s.b.p + s.gt_sector * 512 + 4 * 100, (uint32_t) (s.b.len / 512 + 1000));
        file_write(path, s.b.p, s.b.len);
        sparse_free(&s);
}

struct fail_case {
        const char *name;
        struct writer_options out;
};

/* clang-format off */
static const struct fail_case fail_cases[] = {
        { "failing_conversion_to_qcow2_leaves_nothing", { .format = WRITER_FORMAT_QCOW2 } },
        { "failing_conversion_to_compressed_qcow2_leaves_nothing",
          { .format = WRITER_FORMAT_QCOW2, .compress = true } },
        { "failing_conversion_to_preallocated_qcow2_leaves_nothing",
          { .format = WRITER_FORMAT_QCOW2, .prealloc_metadata = true } },
        { "failing_conversion_to_raw_leaves_nothing", { .format = WRITER_FORMAT_RAW } },
};
/* clang-format on */

static void test_fail_case(void **state)
{
        struct fixture *f = *state;
        const struct fail_case *c = f->param;
        _cleanup_free_ char *src = path_join(f->dir, "broken.vmdk");
        _cleanup_free_ char *dst = path_join(f->dir, "out.img");
        struct convert_options o = { .out = c->out, .threads = 2 };
        struct err err = { { 0 } };

        write_broken_sparse(src);
        assert_int_equal(convert_path(src, IMAGE_FORMAT_VMDK, dst, &o, NULL, &err), -EBADMSG);
        if (!strstr(err.msg, "broken.vmdk"))
                fail_msg("the message does not name the source: '%s'", err.msg);
        assert_false(exists(dst));
        assert_no_temporary(f->dir, "out.img");
}

static void test_failing_conversion_keeps_the_existing_destination(void **state)
{
        static const char old[] = "the previous image, which must survive a failed conversion\n";
        struct fixture *f = *state;
        _cleanup_free_ char *src = path_join(f->dir, "broken.vmdk");
        _cleanup_free_ char *dst = path_join(f->dir, "out.img");
        struct convert_options o = { .out = to_qcow2, .threads = 2 };
        struct err err = { { 0 } };
        struct image *img;
        uint8_t *got;
        size_t len;

        write_broken_sparse(src);
        file_write_str(dst, old);
        assert_int_equal(convert_path(src, IMAGE_FORMAT_VMDK, dst, &o, NULL, &err), -EBADMSG);
        got = file_read(dst, &len);
        assert_int_equal(len, strlen(old));
        assert_memory_equal(got, old, len);
        free(got);
        assert_no_temporary(f->dir, "out.img");

        /* A conversion that succeeds replaces it. */
        err = (struct err){ { 0 } };
        assert_int_equal(convert_path(f->src, IMAGE_FORMAT_RAW, dst, &o, NULL, &err), 0);
        img = open_output(dst, IMAGE_FORMAT_QCOW2);
        assert_image_equals(img, f->content, f->size);
        image_free(img);
        assert_no_temporary(f->dir, "out.img");
}

static void test_failing_stream_conversion_leaves_nothing(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *src = path_join(f->dir, "cut.vmdk");
        _cleanup_free_ char *dst = path_join(f->dir, "out.img");
        struct convert_options o = { .out = to_qcow2, .threads = 2 };
        struct convert_stats st = { 0 };
        struct err err = { { 0 } };
        struct vstream s;

        vstream_build(&s, f->content, f->size, 128, VSTREAM_QEMU, false);
        /* Cut inside the 20th grain: the first ones convert, then the walk fails. */
        file_write(src, s.b.p, s.grain_off[20] + 100);
        tbuf_free(&s.b);
        assert_int_equal(convert_path(src, IMAGE_FORMAT_VMDK, dst, &o, &st, &err), -EBADMSG);
        assert_false(exists(dst));
        assert_no_temporary(f->dir, "out.img");
}

static void test_cancelled_conversion_leaves_nothing(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *dst = path_join(f->dir, "out.img");
        volatile sig_atomic_t cancel = 1;
        struct convert_options o = { .out = to_qcow2, .threads = 2, .cancel = &cancel };
        struct err err = { { 0 } };

        assert_int_equal(convert_path(f->src, IMAGE_FORMAT_RAW, dst, &o, NULL, &err), -ECANCELED);
        assert_false(exists(dst));
        assert_no_temporary(f->dir, "out.img");
}

struct progress_log {
        unsigned calls;
        uint64_t last_done, total;
        bool went_back, past_total;
};

static void record_progress(void *userdata, uint64_t done, uint64_t total)
{
        struct progress_log *p = userdata;

        p->went_back |= p->calls && done < p->last_done;
        p->past_total |= done > total;
        p->last_done = done;
        p->total = total;
        p->calls++;
}

static void test_progress_grows_to_the_total(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *dst = path_join(f->dir, "out.img");
        struct progress_log log = { 0 };
        struct convert_options o = {
                .out = to_qcow2, .threads = 2, .progress = record_progress, .userdata = &log
        };
        struct err err = { { 0 } };

        assert_int_equal(convert_path(f->src, IMAGE_FORMAT_RAW, dst, &o, NULL, &err), 0);
        assert_true(log.calls >= 2);
        assert_false(log.went_back);
        assert_false(log.past_total);
        assert_int_equal(log.last_done, SRC_SIZE);
        assert_int_equal(log.total, SRC_SIZE);
}

struct bad_options_case {
        const char *name;
        struct writer_options out;
        int expect;
};

/* clang-format off */
static const struct bad_options_case bad_options_cases[] = {
        { "raw_output_refuses_compression",
          { .format = WRITER_FORMAT_RAW, .compress = true }, -EINVAL },
        { "raw_output_refuses_preallocation",
          { .format = WRITER_FORMAT_RAW, .prealloc_metadata = true }, -EINVAL },
        { "qcow2_output_refuses_compression_with_preallocation",
          { .format = WRITER_FORMAT_QCOW2, .compress = true, .prealloc_metadata = true }, -EINVAL },
        { "qcow2_output_refuses_2_KiB_clusters",
          { .format = WRITER_FORMAT_QCOW2, .cluster_bits = 11 }, -EINVAL },
        { "qcow2_output_refuses_4_MiB_clusters",
          { .format = WRITER_FORMAT_QCOW2, .cluster_bits = 22 }, -EINVAL },
};
/* clang-format on */

static void test_bad_options_case(void **state)
{
        struct fixture *f = *state;
        const struct bad_options_case *c = f->param;
        _cleanup_free_ char *dst = path_join(f->dir, "out.img");
        struct convert_options o = { .out = c->out, .threads = 1 };
        struct err err = { { 0 } };

        assert_int_equal(convert_path(f->src, IMAGE_FORMAT_RAW, dst, &o, NULL, &err), c->expect);
        assert_true(err.msg[0] != 0);
        assert_false(exists(dst));
        assert_no_temporary(f->dir, "out.img");
}

static void test_destination_that_is_a_directory_is_refused(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *dst = path_join(f->dir, "out.img");
        struct convert_options o = { .out = to_qcow2, .threads = 1 };
        struct err err = { { 0 } };
        struct stat st;

        assert_int_equal(mkdir(dst, 0755), 0);
        assert_int_equal(convert_path(f->src, IMAGE_FORMAT_RAW, dst, &o, NULL, &err), -EEXIST);
        assert_int_equal(stat(dst, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_no_temporary(f->dir, "out.img");
        assert_int_equal(rmdir(dst), 0);
}

static void test_destination_in_a_missing_directory_fails(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *dst = path_join(f->dir, "no-such-dir/out.img");
        struct convert_options o = { .out = to_qcow2, .threads = 1 };
        struct err err = { { 0 } };

        assert_int_equal(convert_path(f->src, IMAGE_FORMAT_RAW, dst, &o, NULL, &err), -ENOENT);
        assert_true(err.msg[0] != 0);
}

/* Regression (common/convert.c, convert_image and process_slot, fixed): units are UNIT_BYTES (1
 * MiB) whatever the output cluster size, but qcow2_writer_open() accepts cluster_bits up to 21 (2
 * MiB). With 2 MiB clusters a slot has data_cap / cs = 0 clusters: zero[] and clen[] are malloc(0),
 * and process_slot() pads the unit's last "cluster" with memset(data + 1 MiB, 0, 1 MiB), a heap
 * overflow of 1 MiB (ASan: heap-buffer-overflow); write_slot() then hands the writer 1 MiB pieces
 * of a 2 MiB cluster. Make the unit at least one output cluster (data_cap = max(UNIT_BYTES, cs)) or
 * refuse cluster_bits > 20 for output. The conversion runs in a child so that the overflow fails
 * this case only. */
static void test_qcow2_output_with_2_MiB_clusters(void **state)
{
        struct fixture *f = *state;
        char *dst = path_join(f->dir, "out.img");
        struct convert_options o = { .out = { .format = WRITER_FORMAT_QCOW2, .cluster_bits = 21 },
                                     .threads = 2 };
        struct image *img;

        if (!convert_in_child(f->src, IMAGE_FORMAT_RAW, dst, &o)) {
                free(dst);
                fail();
        }
        img = open_output(dst, IMAGE_FORMAT_QCOW2);
        assert_image_equals(img, f->content, f->size);
        image_free(img);
        qemu_img_verify(dst, "qcow2", f->src);
        free(dst);
}

/* Regression (common/convert.c, produce_random, the "else" branch after the chunk loop, fixed): the
 * unit's closing CHUNK_PLAIN is stored with s->chunks[n++] = ..., without growing the array.
 * When every chunk of a unit is CHUNK_DEFLATE and their number equals chunks_cap (64, 128,
 * 256, ...), it is written one past the end of s->chunks (ASan: heap-buffer-overflow at
 * convert.c "s->chunks[n++] = (struct chunk){ .kind = CHUNK_PLAIN"; glibc: "corrupted size vs.
 * prev_size"). Reached by any source whose compressed units are small enough that a 1 MiB unit
 * holds 64 or more of them with nothing else: here a streamOptimized VMDK with 4 KiB grains
 * (not walked as a stream because grains are smaller than a cluster), read at random: 256
 * compressed grains fill the first unit. Equally a qcow2 compressed with 4 or 16 KiB clusters.
 * Fix: add the closing chunk with slot_add_chunk() (after setting n_chunks = n), which grows the
 * array. */
static void test_unit_of_only_compressed_grains_converts(void **state)
{
        struct fixture *f = *state;
        char *src = path_join(f->dir, "src.vmdk"), *dst = path_join(f->dir, "out.img");
        struct convert_options o = { .out = to_qcow2, .threads = 2 };
        struct image *img;
        struct vstream s;
        bool ok;

        vstream_build(&s, f->content, f->size, 8, VSTREAM_VMWARE, false);
        file_write(src, s.b.p, s.b.len);
        tbuf_free(&s.b);
        ok = convert_in_child(src, IMAGE_FORMAT_VMDK, dst, &o);
        free(src);
        if (!ok) {
                free(dst);
                fail();
        }
        img = open_output(dst, IMAGE_FORMAT_QCOW2);
        assert_image_equals(img, f->content, f->size);
        image_free(img);
        qemu_img_verify(dst, "qcow2", f->src);
        free(dst);
}

/* A synthetic source for sizes too large to write as a file: every answer is DATA from one
 * of two small memory inputs, compressible text in [0, 64 KiB) and from text_from on,
 * incompressible noise in between. */
struct synth {
        struct image img;
        struct input *text, *noise;
        uint64_t text_from;
};

static int synth_map(struct image *img, uint64_t off, uint64_t len, struct image_map *ret,
                     struct err *err)
{
        struct synth *s = (struct synth *) img;
        bool text = off < 64 * KiB || off >= s->text_from;
        uint64_t period = text ? 64 * KiB : MiB, n = period - off % period;

        (void) err;
        if (!text && n > s->text_from - off)
                n = s->text_from - off;
        *ret = (struct image_map){ .kind = IMAGE_MAP_DATA,
                                   .len = n < len ? n : len,
                                   .in = text ? s->text : s->noise,
                                   .host_off = off % period };
        return 0;
}

static void synth_free(struct image *img)
{
        struct synth *s = (struct synth *) img;

        input_free(s->text);
        input_free(s->noise);
}

static const struct image_ops synth_ops = { .map = synth_map, .free = synth_free };

/* Regression (common/qcow2_writer.c, q_write_compressed with alloc_cluster, fixed): the open
 * cluster for compressed data (cbase/cpos) survives the move of allocation into the next 2 GiB
 * refcount region. When plain (incompressible) clusters carry allocation past a region
 * boundary while a compressed cluster is partly filled, the next compressed cluster that fits
 * is placed in that old cluster and ref_inc() refuses it: convert_image() fails with -EFAULT
 * "refcount bookkeeping error" (the old region's refcount block was already written, so
 * counting there would be lost anyway). Any compressed conversion whose output passes 2 GiB
 * with compressible and incompressible clusters mixed hit it. alloc_cluster() now closes the
 * open compressed cluster when the region changes. */
static void test_compressed_output_crossing_refcount_regions(void **state)
{
        struct fixture *f = *state;
        char *dst = path_join(f->dir, "out.img");
        /* 4 KiB clusters: a refcount block covers 8 MiB instead of 2 GiB, so a small image
         * crosses several regions. */
        struct convert_options o = {
                .out = { .format = WRITER_FORMAT_QCOW2, .compress = true, .cluster_bits = 12 },
                .threads = 4
        };
        struct err err = { { 0 } };
        struct synth *s;
        struct image *img;
        uint8_t *noise, *got;
        int r;

        s = calloc(1, sizeof(*s));
        noise = malloc(MiB);
        got = malloc(64 * KiB);
        assert_true(s && noise && got);
        fill_random(noise, MiB, 9);
        assert_int_equal(input_new_memory(f->content, 64 * KiB, "text", &s->text), 0);
        assert_int_equal(input_new_memory(noise, MiB, "noise", &s->noise), 0);
        assert_int_equal(input_new_memory(f->content, 64 * KiB, "synthetic", &s->img.in), 0);
        s->img.ops = &synth_ops;
        s->img.size = 3 * 8 * MiB + 2 * MiB;
        s->text_from = s->img.size - MiB;
        r = convert_image(&s->img, dst, &o, NULL, &err);
        image_free(&s->img);
        if (r < 0) {
                unlink(dst);
                free(dst);
                free(noise);
                free(got);
                fail_msg("convert_image: %d %s", r, err.msg);
        }
        img = open_output(dst, IMAGE_FORMAT_QCOW2);
        assert_int_equal(image_read(img, 0, 64 * KiB, got, &err), 0);
        assert_memory_equal(got, f->content, 64 * KiB);
        assert_int_equal(image_read(img, img->size - 64 * KiB, 64 * KiB, got, &err), 0);
        assert_memory_equal(got, f->content, 64 * KiB);
        assert_int_equal(image_read(img, MiB, 64 * KiB, got, &err), 0);
        assert_memory_equal(got, noise, 64 * KiB);
        image_free(img);
        qemu_img_verify(dst, "qcow2", NULL);
        unlink(dst);
        free(dst);
        free(noise);
        free(got);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
        static const struct CMUnitTest fixed[] = {
                T(test_vmware_stream_converts_by_walking_its_grains),
                T(test_qemu_stream_converts_by_walking_its_grains),
                T(test_stream_of_two_cluster_grains_converts_by_walking_its_grains),
                T(test_stream_of_grains_smaller_than_a_cluster_converts_at_random),
                T(test_monolithic_sparse_converts),
                T(test_vmdk_delta_converts_flattened_over_its_parent),
                T(test_compressed_qcow2_converts_back),
                T(test_odd_sized_raw_converts),
                T(test_failing_conversion_keeps_the_existing_destination),
                T(test_failing_stream_conversion_leaves_nothing),
                T(test_cancelled_conversion_leaves_nothing),
                T(test_progress_grows_to_the_total),
                T(test_destination_that_is_a_directory_is_refused),
                T(test_destination_in_a_missing_directory_fails),
                T(test_qcow2_output_with_2_MiB_clusters),
                T(test_unit_of_only_compressed_grains_converts),
                T(test_compressed_output_crossing_refcount_regions),
        };
        struct test_list l = { 0 };

        for (size_t i = 0; i < ELEMENTSOF(out_cases); i++)
                tests_add(&l, out_cases[i].name, test_out_case, setup, teardown,
                          (void *) &out_cases[i]);
        for (size_t i = 0; i < ELEMENTSOF(fail_cases); i++)
                tests_add(&l, fail_cases[i].name, test_fail_case, setup, teardown,
                          (void *) &fail_cases[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad_options_cases); i++)
                tests_add(&l, bad_options_cases[i].name, test_bad_options_case, setup, teardown,
                          (void *) &bad_options_cases[i]);
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                tests_add(&l, fixed[i].name, fixed[i].test_func, fixed[i].setup_func,
                          fixed[i].teardown_func, NULL);
        return tests_run("convert", &l);
}
