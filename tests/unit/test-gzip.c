/* gzip: streams from zlib and from the gzip and tar programs, concatenated members, and each
 * way a stream can be broken. */

#include "convert.h"
#include "gzip.h"
#include "helpers.h"
#include "tar.h"

/* Compresses src into a gzip member (zlib's gzip framing). */
static size_t gz(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
        z_stream z = { 0 };
        size_t out;

        assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                         Z_OK);
        z.next_in = (Bytef *) src;
        z.avail_in = (uInt) len;
        z.next_out = dst;
        z.avail_out = (uInt) cap;
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        out = cap - z.avail_out;
        deflateEnd(&z);
        return out;
}

/* Reads all of in in odd-sized pieces; returns the count or the first error. */
static ssize_t drain(struct input *in, uint8_t *out, size_t cap)
{
        static const size_t piece[] = { 1, 7, 4096, 65536, 333 };
        size_t done = 0;

        for (unsigned i = 0;; i++) {
                size_t want = piece[i % ELEMENTSOF(piece)];
                ssize_t n = input_read(in, out + done, want < cap - done ? want : cap - done);
                if (n < 0)
                        return n;
                if (n == 0)
                        return (ssize_t) done;
                done += (size_t) n;
        }
}

static void test_members_inflate_to_their_concatenation(void **state)
{
        const size_t half = 700000;
        uint8_t *src = malloc(2 * half), *comp = malloc(4 * half), *out = malloc(2 * half + 1);
        struct input *mem = NULL, *g = NULL;
        size_t clen;

        (void) state;
        fill_pattern(src, half, 1);
        fill_random(src + half, half / 2, 2); /* part incompressible */
        memset(src + half + half / 2, 0, half / 2);
        clen = gz(src, half, comp, 2 * half);
        clen += gz(src + half, half, comp + clen, 4 * half - clen);
        assert_int_equal(input_new_memory(comp, clen, "disk.vmdk.gz", &mem), 0);
        assert_int_equal(gzip_input_new(mem, &g), 0);
        assert_int_equal(drain(g, out, 2 * half + 1), (ssize_t) (2 * half));
        assert_memory_equal(out, src, 2 * half);
        assert_int_equal(input_read(g, out, 1), 0); /* stays at the end */
        input_free(g);
        input_free(mem);
        free(src);
        free(comp);
        free(out);
}

enum breakage { CUT_IN_THE_MIDDLE, CUT_BEFORE_THE_TRAILER, CORRUPT_BYTE, TRAILING_GARBAGE, EMPTY };

static void test_broken_stream_fails(void **state)
{
        enum breakage b = (enum breakage)(uintptr_t) *state;
        uint8_t src[100000], comp[120000], out[100100];
        struct input *mem = NULL, *g = NULL;
        size_t clen;

        fill_pattern(src, sizeof(src), 3);
        clen = gz(src, sizeof(src), comp, sizeof(comp));
        switch (b) {
        case CUT_IN_THE_MIDDLE:
                clen /= 2;
                break;
        case CUT_BEFORE_THE_TRAILER:
                clen -= 4; /* the length field of the trailer */
                break;
        case CORRUPT_BYTE:
                comp[clen / 2] ^= 0x55;
                comp[clen / 2 + 1] ^= 0xaa;
                break;
        case TRAILING_GARBAGE:
                memcpy(comp + clen, "garbage!", 8);
                clen += 8;
                break;
        case EMPTY:
                clen = 0;
                break;
        }
        assert_int_equal(input_new_memory(comp, clen, "disk.vmdk.gz", &mem), 0);
        assert_int_equal(gzip_input_new(mem, &g), 0);
        assert_int_equal(drain(g, out, sizeof(out)), -EBADMSG);
        input_free(g);
        input_free(mem);
}

/* An OVA whose disk is gzip'd by the gzip program and packed by tar: converted in one pass. */
static void test_gzipped_disk_converts_out_of_an_archive(void **state)
{
        const size_t size = 24 * 65536;
        uint8_t *content = calloc(1, size);
        char *dir = tmpdir_new(), *vmdk = path_join(dir, "disk.vmdk"),
             *ova = path_join(dir, "vm.ova"), *dst = path_join(dir, "out.qcow2"), cmd[512];
        struct convert_options o = { .out = { .format = WRITER_FORMAT_QCOW2 } };
        struct vstream s = { 0 };
        struct input *in = NULL, *g = NULL;
        struct tar *t = NULL;
        struct image *img = NULL;
        struct tar_entry e;
        struct err err = { { 0 } };

        (void) state;
        if (system("command -v gzip >/dev/null && command -v tar >/dev/null") != 0)
                skip();
        fill_pattern(content + 3 * 65536, 10 * 65536, 6);
        vstream_build(&s, content, size, 128, VSTREAM_VMWARE, false);
        file_write(vmdk, s.b.p, s.b.len);
        (void) snprintf(
                cmd, sizeof(cmd),
                "cd '%s' && gzip -9 disk.vmdk && tar -cf vm.ova disk.vmdk.gz && rm disk.vmdk.gz",
                dir);
        assert_int_equal(system(cmd), 0);

        assert_int_equal(input_open_file(ova, &in, &err), 0);
        assert_int_equal(tar_new(in, &t), 0);
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_string_equal(e.name, "disk.vmdk.gz");
        assert_int_equal(gzip_input_new(tar_member(t), &g), 0);
        assert_int_equal(convert_vmdk_stream(g, dst, &o, NULL, &err), 0);
        assert_int_equal(image_open_path(dst, IMAGE_FORMAT_QCOW2, &img, &err), 0);
        assert_image_equals(img, content, size);

        image_free(img);
        input_free(g);
        tar_free(t);
        input_free(in);
        tbuf_free(&s.b);
        free(content);
        unlink(dst);
        unlink(ova);
        free(dst);
        free(ova);
        free(vmdk);
        tmpdir_remove(dir);
}

int main(void)
{
        static const struct {
                const char *name;
                enum breakage b;
        } broken[] = {
                { "cut_in_the_middle_fails", CUT_IN_THE_MIDDLE },
                { "cut_before_the_trailer_fails", CUT_BEFORE_THE_TRAILER },
                { "corrupt_data_fails", CORRUPT_BYTE },
                { "trailing_garbage_fails", TRAILING_GARBAGE },
                { "empty_input_fails", EMPTY },
        };
        struct test_list l = { 0 };

        tests_add(&l, "members_inflate_to_their_concatenation",
                  test_members_inflate_to_their_concatenation, NULL, NULL, NULL);
        for (size_t i = 0; i < ELEMENTSOF(broken); i++)
                tests_add(&l, broken[i].name, test_broken_stream_fails, NULL, NULL,
                          (void *) (uintptr_t) broken[i].b);
        tests_add(&l, "gzipped_disk_converts_out_of_an_archive",
                  test_gzipped_disk_converts_out_of_an_archive, NULL, NULL, NULL);
        return tests_run("gzip", &l);
}
