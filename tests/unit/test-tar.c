/* tar: archives written by GNU tar in its three formats, hostile headers built by hand, and a
 * streamOptimized VMDK walked straight out of a member, as an OVA import will. */

#include "convert.h"
#include "helpers.h"
#include "manifest.h"
#include "tar.h"
#include "vmdk_stream.h"

#define BLOCK 512

/* ---- archives built by hand ---- */

static void put_octal(uint8_t *f, size_t len, uint64_t v)
{
        (void) snprintf((char *) f, len, "%0*llo", (int) len - 1, (unsigned long long) v);
}

static void header(struct tbuf *b, const char *name, uint64_t size, char type, const char *magic)
{
        uint8_t h[BLOCK] = { 0 };
        unsigned sum = 0;

        memcpy(h, name, strnlen(name, 100));
        put_octal(h + 100, 8, 0644);
        put_octal(h + 108, 8, 0);
        put_octal(h + 116, 8, 0);
        put_octal(h + 124, 12, size);
        put_octal(h + 136, 12, 0);
        h[156] = (uint8_t) type;
        memcpy(h + 257, magic, 6);
        memcpy(h + 263, "00", 2);
        memset(h + 148, ' ', 8);
        for (int i = 0; i < BLOCK; i++)
                sum += h[i];
        (void) snprintf((char *) h + 148, 8, "%06o", sum);
        tbuf_put(b, h, BLOCK);
}

static void member(struct tbuf *b, const char *name, const void *data, size_t size, char type)
{
        header(b, name, size, type, "ustar");
        tbuf_put(b, data, size);
        tbuf_pad(b, BLOCK);
}

static void end(struct tbuf *b)
{
        static const uint8_t zero[2 * BLOCK];
        tbuf_put(b, zero, sizeof(zero));
}

/* Walks the archive; returns the result of the first failing tar_next, or the count. */
static int walk(const struct tbuf *b, struct err *err)
{
        struct input *in = NULL;
        struct tar *t = NULL;
        struct tar_entry e;
        int r, n = 0;

        assert_int_equal(input_new_memory(b->p, b->len, "test.ova", &in), 0);
        assert_int_equal(tar_new(in, &t), 0);
        while ((r = tar_next(t, &e, err)) > 0)
                n++;
        tar_free(t);
        input_free(in);
        return r < 0 ? r : n;
}

static void test_members_come_with_name_size_and_content(void **state)
{
        struct tbuf b = { 0 };
        struct input *in = NULL;
        struct tar *t = NULL;
        struct tar_entry e;
        struct err err = { { 0 } };
        uint8_t got[1000];

        (void) state;
        member(&b, "vm.ovf", "<Envelope/>", 11, '0');
        member(&b, "./vm.mf", "SHA256(vm.ovf)= 00\n", 19, '0');
        member(&b, "disk1.vmdk", "0123456789", 10, '\0');
        end(&b);
        assert_int_equal(input_new_memory(b.p, b.len, "test.ova", &in), 0);
        assert_int_equal(tar_new(in, &t), 0);

        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_string_equal(e.name, "vm.ovf");
        assert_int_equal(e.size, 11);
        assert_int_equal(input_read_full(tar_member(t), got, 11, &err), 0);
        assert_memory_equal(got, "<Envelope/>", 11);
        assert_int_equal(input_read(tar_member(t), got, 1), 0); /* the member ends */

        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_string_equal(e.name, "vm.mf"); /* "./" dropped */
        /* not read: tar_next skips it */
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_string_equal(e.name, "disk1.vmdk");
        assert_int_equal(input_read_full(tar_member(t), got, 4, &err), 0);
        assert_memory_equal(got, "0123", 4); /* partly read, then skipped */
        assert_int_equal(tar_next(t, &e, &err), 0);
        assert_int_equal(tar_next(t, &e, &err), 0);
        tar_free(t);
        input_free(in);
        tbuf_free(&b);
}

static void test_missing_end_blocks_are_tolerated_at_a_member_boundary(void **state)
{
        struct tbuf b = { 0 };
        struct err err = { { 0 } };

        (void) state;
        member(&b, "a", "x", 1, '0');
        assert_int_equal(walk(&b, &err), 1);
        tbuf_free(&b);
}

struct hostile {
        const char *name;
        const char *member;
        char type;
        const char *magic;
        const char *msg; /* expected in the message */
};

static const struct hostile hostile[] = {
        { "dotdot_component", "../etc/passwd", '0', "ustar", ".." },
        { "dotdot_inside", "a/../../b", '0', "ustar", ".." },
        { "absolute_path", "/etc/passwd", '0', "ustar", "absolute" },
        { "backslash", "..\\evil", '0', "ustar", "backslash" },
        { "symlink", "disk.vmdk", '2', "ustar", "link" },
        { "hardlink", "disk.vmdk", '1', "ustar", "link" },
        { "char_device", "null", '3', "ustar", "device" },
        { "block_device", "sda", '4', "ustar", "device" },
        { "fifo", "pipe", '6', "ustar", "FIFO" },
        { "unknown_type", "x", 'Z', "ustar", "unknown type" },
        { "not_ustar", "x", '0', "nottar", "not a tar" },
};

static void test_hostile_member_is_refused(void **state)
{
        const struct hostile *h = *state;
        struct tbuf b = { 0 };
        struct err err = { { 0 } };

        header(&b, h->member, 0, h->type, h->magic);
        end(&b);
        assert_int_equal(walk(&b, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, h->msg));
        tbuf_free(&b);
}

static void test_bad_checksum_is_refused(void **state)
{
        struct tbuf b = { 0 };
        struct err err = { { 0 } };

        (void) state;
        member(&b, "a", "x", 1, '0');
        b.p[0] = 'b'; /* name changed after the checksum */
        end(&b);
        assert_int_equal(walk(&b, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "checksum"));
        tbuf_free(&b);
}

static void test_truncated_member_is_refused(void **state)
{
        struct tbuf b = { 0 };
        struct input *in = NULL;
        struct tar *t = NULL;
        struct tar_entry e;
        struct err err = { { 0 } };
        uint8_t data[3000] = { 1 }, got[3000];

        (void) state;
        member(&b, "disk.vmdk", data, sizeof(data), '0');
        b.len = BLOCK + 1000; /* cut inside the member */
        assert_int_equal(input_new_memory(b.p, b.len, "cut.ova", &in), 0);
        assert_int_equal(tar_new(in, &t), 0);
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_true(input_read_full(tar_member(t), got, sizeof(got), &err) < 0);
        tar_free(t);
        input_free(in);

        err.msg[0] = 0;
        assert_int_equal(walk(&b, &err), -EBADMSG); /* skipping it fails as well */
        tbuf_free(&b);
}

static void test_truncated_header_is_refused(void **state)
{
        struct tbuf b = { 0 };
        struct err err = { { 0 } };

        (void) state;
        member(&b, "a", "x", 1, '0');
        header(&b, "b", 1, '0', "ustar");
        b.len -= 100; /* cut inside the second header */
        assert_int_equal(walk(&b, &err), -EBADMSG);
        tbuf_free(&b);
}

static void test_malformed_pax_header_is_refused(void **state)
{
        static const char *const bad[] = {
                "30 path=x\n",                     /* length past the end */
                "5 path=x\n",                      /* length too short */
                "abc path=x\n",                    /* no length */
                "12 pathx\n",                      /* no '=' */
                "15 size=12a45\n",                 /* not a number */
                "30 size=999999999999999999999\n", /* overflows */
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct tbuf b = { 0 };
                struct err err = { { 0 } };

                member(&b, "PaxHeaders/x", bad[i], strlen(bad[i]), 'x');
                member(&b, "x", "y", 1, '0');
                end(&b);
                assert_int_equal(walk(&b, &err), -EBADMSG);
                tbuf_free(&b);
        }
}

static void test_pax_path_over_a_dotdot_is_refused(void **state)
{
        struct tbuf b = { 0 };
        struct err err = { { 0 } };

        (void) state;
        member(&b, "PaxHeaders/x", "21 path=../../escape\n", 21, 'x');
        member(&b, "harmless", "y", 1, '0');
        end(&b);
        assert_int_equal(walk(&b, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, ".."));
        tbuf_free(&b);
}

/* ---- archives written by GNU tar ---- */

static void test_gnu_tar_formats_are_read(void **state)
{
        static const char *const formats[] = { "ustar", "gnu", "pax" };
        char *dir;
        char cmd[1024];
        /* 120 characters: past the 100 of a plain header, so each format stores it its own way */
        const char *longname = "a-rather-long-directory-name-for-an-appliance-export/"
                               "and-a-disk-file-whose-name-does-not-fit-into-100-bytes.vmdk";
        (void) state;
        if (system("command -v tar >/dev/null 2>&1") != 0)
                skip();
        dir = tmpdir_new();
        for (size_t f = 0; f < ELEMENTSOF(formats); f++) {
                struct input *in = NULL;
                struct tar *t = NULL;
                struct tar_entry e;
                struct err err = { { 0 } };
                uint8_t got[5000];
                unsigned seen = 0;

                (void) snprintf(
                        cmd, sizeof(cmd),
                        "cd '%s' && rm -rf a-rather* x.tar && mkdir -p a-rather-long-directory-name-for-an-appliance-export && "
                        "head -c 4321 /dev/urandom > '%s' && printf ovf > vm.ovf && "
                        "tar --format=%s -cf x.tar vm.ovf '%s' && cp '%s' expected",
                        dir, longname, formats[f], longname, longname);
                assert_int_equal(system(cmd), 0);
                char *tarpath = path_join(dir, "x.tar"), *exp = path_join(dir, "expected");
                size_t elen;
                uint8_t *want = file_read(exp, &elen);

                assert_int_equal(input_open_file(tarpath, &in, &err), 0);
                assert_int_equal(tar_new(in, &t), 0);
                while (tar_next(t, &e, &err) > 0) {
                        if (strcmp(e.name, longname) == 0) {
                                assert_int_equal(e.size, elen);
                                assert_int_equal(input_read_full(tar_member(t), got, elen, &err),
                                                 0);
                                assert_memory_equal(got, want, elen);
                                seen++;
                        } else if (strcmp(e.name, "vm.ovf") == 0) {
                                seen++;
                        }
                }
                assert_string_equal(err.msg, "");
                assert_int_equal(seen, 2);
                tar_free(t);
                input_free(in);
                free(want);
                free(tarpath);
                free(exp);
        }
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        free(dir);
}

/* ---- a disk read out of the archive in one pass ---- */

static void test_stream_vmdk_is_walked_out_of_a_member(void **state)
{
        const size_t size = 8 * 65536;
        uint8_t *content = calloc(1, size);
        struct vstream s = { 0 };
        struct tbuf b = { 0 };
        struct input *in = NULL;
        struct tar *t = NULL;
        struct vmdk_stream *vs = NULL;
        struct tar_entry e;
        struct err err = { { 0 } };
        struct vmdk_grain g;
        unsigned grains = 0;
        int r;

        (void) state;
        fill_pattern(content + 65536, 3 * 65536, 5);
        fill_pattern(content + 6 * 65536, 65536, 9);
        vstream_build(&s, content, size, 128, VSTREAM_VMWARE, false);
        member(&b, "vm.ovf", "<Envelope/>", 11, '0');
        member(&b, "vm-disk1.vmdk", s.b.p, s.b.len, '0');
        end(&b);

        assert_int_equal(input_new_memory(b.p, b.len, "vm.ova", &in), 0);
        assert_int_equal(tar_new(in, &t), 0);
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_string_equal(e.name, "vm-disk1.vmdk");
        assert_int_equal(vmdk_stream_new(tar_member(t), &vs, &err), 0);
        while ((r = vmdk_stream_next(vs, &g, &err)) > 0) {
                uint8_t grain[65536];
                uLongf out = sizeof(grain);
                assert_int_equal(uncompress(grain, &out, g.data, g.clen), Z_OK);
                assert_memory_equal(grain, content + g.lba * 512, out);
                grains++;
        }
        assert_int_equal(r, 0);
        assert_int_equal(grains, s.n_grains);
        assert_int_equal(tar_next(t, &e, &err), 0);
        vmdk_stream_free(vs);
        tar_free(t);
        input_free(in);
        tbuf_free(&b);
        tbuf_free(&s.b);
        free(content);
}

/* The import's one pass: the disk member is hashed and converted while its bytes go by. */
static void test_stream_vmdk_converts_out_of_a_member_while_hashed(void **state)
{
        const size_t size = 40 * 65536 + 3 * 512; /* a short last grain */
        uint8_t *content = calloc(1, size), want[MANIFEST_MAX_DIGEST], got[MANIFEST_MAX_DIGEST];
        char *dir = tmpdir_new(), *dst = path_join(dir, "disk.qcow2");
        struct convert_options o = { .out = { .format = WRITER_FORMAT_QCOW2 } };
        struct vstream s = { 0 };
        struct tbuf b = { 0 };
        struct input *in = NULL, *d = NULL, *mem = NULL, *md = NULL;
        struct tar *t = NULL;
        struct image *img = NULL;
        struct tar_entry e;
        struct err err = { { 0 } };
        struct convert_stats st;
        size_t wlen, glen;

        (void) state;
        fill_pattern(content + 65536, 20 * 65536, 3);
        fill_pattern(content + size - 1000, 1000, 4);
        vstream_build(&s, content, size, 128, VSTREAM_VMWARE, false);
        member(&b, "vm.ovf", "<Envelope/>", 11, '0');
        member(&b, "vm-disk1.vmdk", s.b.p, s.b.len, '0');
        member(&b, "vm.mf", "x", 1, '0');
        end(&b);

        /* The digest the manifest would hold, computed apart from the conversion. */
        assert_int_equal(input_new_memory(s.b.p, s.b.len, "expected", &mem), 0);
        assert_int_equal(digest_input_new(mem, MANIFEST_SHA256, &md), 0);
        assert_int_equal(digest_input_finish(md, want, &wlen, &err), 0);

        assert_int_equal(input_new_memory(b.p, b.len, "vm.ova", &in), 0);
        assert_int_equal(tar_new(in, &t), 0);
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_int_equal(digest_input_new(tar_member(t), MANIFEST_SHA256, &d), 0);
        assert_int_equal(convert_vmdk_stream(d, dst, &o, &st, &err), 0);
        assert_true(st.streamed);
        assert_int_equal(digest_input_finish(d, got, &glen, &err), 0);
        assert_int_equal(glen, wlen);
        assert_memory_equal(got, want, wlen);
        assert_int_equal(tar_next(t, &e, &err), 1); /* the archive goes on after the disk */
        assert_string_equal(e.name, "vm.mf");

        assert_int_equal(image_open_path(dst, IMAGE_FORMAT_QCOW2, &img, &err), 0);
        assert_int_equal(img->size, size);
        assert_image_equals(img, content, size);
        image_free(img);
        input_free(d);
        input_free(md);
        input_free(mem);
        tar_free(t);
        input_free(in);
        tbuf_free(&b);
        tbuf_free(&s.b);
        free(content);
        unlink(dst);
        free(dst);
        tmpdir_remove(dir);
}

static void test_truncated_member_fails_the_conversion_and_leaves_nothing(void **state)
{
        const size_t size = 16 * 65536;
        uint8_t *content = calloc(1, size);
        char *dir = tmpdir_new(), *dst = path_join(dir, "disk.qcow2");
        struct convert_options o = { .out = { .format = WRITER_FORMAT_QCOW2 } };
        struct vstream s = { 0 };
        struct tbuf b = { 0 };
        struct input *in = NULL;
        struct tar *t = NULL;
        struct tar_entry e;
        struct err err = { { 0 } };
        DIR *dd;
        struct dirent *de;
        unsigned files = 0;

        (void) state;
        fill_random(content, size, 8);
        vstream_build(&s, content, size, 128, VSTREAM_VMWARE, false);
        member(&b, "vm-disk1.vmdk", s.b.p, s.b.len, '0');
        b.len = BLOCK + s.b.len / 2; /* the download broke off in the middle of the disk */

        assert_int_equal(input_new_memory(b.p, b.len, "vm.ova", &in), 0);
        assert_int_equal(tar_new(in, &t), 0);
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_true(convert_vmdk_stream(tar_member(t), dst, &o, NULL, &err) < 0);
        assert_string_not_equal(err.msg, "");
        dd = opendir(dir);
        assert_non_null(dd);
        while ((de = readdir(dd)))
                files += de->d_name[0] != '.' || strstr(de->d_name, "kvmforge") != NULL;
        closedir(dd);
        assert_int_equal(files, 0);
        tar_free(t);
        input_free(in);
        tbuf_free(&b);
        tbuf_free(&s.b);
        free(content);
        free(dst);
        tmpdir_remove(dir);
}

/* Builds dir/vm.ova from a disk split by the split program into chunks of chunk bytes; skip
 * names a chunk to leave out, or is -1. */
static char *chunked_ova(const char *dir, const struct tbuf *disk, size_t chunk, int skip)
{
        char *vmdk = path_join(dir, "disk.vmdk"), drop[64] = "", cmd[768];

        file_write(vmdk, disk->p, disk->len);
        if (skip >= 0)
                (void) snprintf(drop, sizeof(drop), "rm disk.vmdk.%09d && ", skip);
        (void) snprintf(
                cmd, sizeof(cmd),
                "cd '%s' && rm -f disk.vmdk.0* vm.ova && split -d -a 9 -b %zu disk.vmdk disk.vmdk. && "
                "printf ovf > vm.ovf && printf mf > vm.mf && %s"
                "tar -cf vm.ova vm.ovf $(ls disk.vmdk.0* | sort) vm.mf",
                dir, chunk, drop);
        assert_int_equal(system(cmd), 0);
        unlink(vmdk);
        free(vmdk);
        return path_join(dir, "vm.ova");
}

static void test_chunked_disk_converts_as_one_file(void **state)
{
        const size_t size = 40 * 65536;
        uint8_t *content = calloc(1, size);
        char *dir, *ova, *dst;
        struct convert_options o = { .out = { .format = WRITER_FORMAT_QCOW2 } };
        struct vstream s = { 0 };
        struct input *in = NULL, *c = NULL;
        struct tar *t = NULL;
        struct image *img = NULL;
        struct tar_entry e;
        struct err err = { { 0 } };

        (void) state;
        if (system("command -v split >/dev/null && command -v tar >/dev/null") != 0)
                skip();
        dir = tmpdir_new();
        dst = path_join(dir, "out.qcow2");
        fill_random(content + 2 * 65536, 30 * 65536, 11); /* incompressible: several chunks */
        vstream_build(&s, content, size, 128, VSTREAM_VMWARE, false);
        ova = chunked_ova(dir, &s.b, 400000, -1);

        assert_int_equal(input_open_file(ova, &in, &err), 0);
        assert_int_equal(tar_new(in, &t), 0);
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_string_equal(e.name, "vm.ovf");
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_string_equal(e.name, "disk.vmdk.000000000");
        assert_int_equal(tar_chunks_new(t, "disk.vmdk", NULL, &c, &err), 0);
        assert_int_equal(convert_vmdk_stream(c, dst, &o, NULL, &err), 0);
        assert_int_equal(input_read(c, content, 1), 0); /* all chunks consumed */
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_string_equal(e.name, "vm.mf"); /* the member after the chunks is still there */
        assert_int_equal(e.size, 2);
        assert_int_equal(tar_next(t, &e, &err), 0);

        memset(content, 0, size);
        fill_random(content + 2 * 65536, 30 * 65536, 11);
        assert_int_equal(image_open_path(dst, IMAGE_FORMAT_QCOW2, &img, &err), 0);
        assert_image_equals(img, content, size);
        image_free(img);
        input_free(c);
        tar_free(t);
        input_free(in);
        tbuf_free(&s.b);
        free(content);
        free(dst);
        free(ova);
        tmpdir_remove(dir);
}

static void test_missing_chunk_fails_the_read(void **state)
{
        struct tbuf disk = { 0 };
        char *dir, *ova;
        struct input *in = NULL, *c = NULL;
        struct tar *t = NULL;
        struct tar_entry e;
        struct err err = { { 0 } };
        uint8_t buf[4096];
        ssize_t n;

        (void) state;
        if (system("command -v split >/dev/null && command -v tar >/dev/null") != 0)
                skip();
        dir = tmpdir_new();
        tbuf_resize(&disk, 50000);
        fill_pattern(disk.p, disk.len, 4);
        ova = chunked_ova(dir, &disk, 10000, 2); /* chunks 0, 1, 3, 4: 2 is gone */
        assert_int_equal(input_open_file(ova, &in, &err), 0);
        assert_int_equal(tar_new(in, &t), 0);
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_int_equal(tar_chunks_new(t, "disk.vmdk", NULL, &c, &err), 0);
        while ((n = input_read(c, buf, sizeof(buf))) > 0)
                ;
        assert_int_equal(n, -EBADMSG);
        input_free(c);
        tar_free(t);
        input_free(in);
        tbuf_free(&disk);
        free(ova);
        tmpdir_remove(dir);
}

static void test_chunks_must_start_at_the_first(void **state)
{
        struct tbuf b = { 0 };
        struct input *in = NULL, *c = NULL;
        struct tar *t = NULL;
        struct tar_entry e;
        struct err err = { { 0 } };

        (void) state;
        member(&b, "disk.vmdk.000000001", "x", 1, '0');
        end(&b);
        assert_int_equal(input_new_memory(b.p, b.len, "vm.ova", &in), 0);
        assert_int_equal(tar_new(in, &t), 0);
        assert_int_equal(tar_next(t, &e, &err), 1);
        assert_int_equal(tar_chunks_new(t, "disk.vmdk", NULL, &c, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "disk.vmdk.000000000"));
        tar_free(t);
        input_free(in);
        tbuf_free(&b);
}

int main(void)
{
        struct test_list l = { 0 };

        tests_add(&l, "members_come_with_name_size_and_content",
                  test_members_come_with_name_size_and_content, NULL, NULL, NULL);
        tests_add(&l, "missing_end_blocks_are_tolerated_at_a_member_boundary",
                  test_missing_end_blocks_are_tolerated_at_a_member_boundary, NULL, NULL, NULL);
        for (size_t i = 0; i < ELEMENTSOF(hostile); i++)
                tests_add(&l, hostile[i].name, test_hostile_member_is_refused, NULL, NULL,
                          (void *) &hostile[i]);
        tests_add(&l, "bad_checksum_is_refused", test_bad_checksum_is_refused, NULL, NULL, NULL);
        tests_add(&l, "truncated_member_is_refused", test_truncated_member_is_refused, NULL, NULL,
                  NULL);
        tests_add(&l, "truncated_header_is_refused", test_truncated_header_is_refused, NULL, NULL,
                  NULL);
        tests_add(&l, "malformed_pax_header_is_refused", test_malformed_pax_header_is_refused, NULL,
                  NULL, NULL);
        tests_add(&l, "pax_path_over_a_dotdot_is_refused", test_pax_path_over_a_dotdot_is_refused,
                  NULL, NULL, NULL);
        tests_add(&l, "gnu_tar_formats_are_read", test_gnu_tar_formats_are_read, NULL, NULL, NULL);
        tests_add(&l, "stream_vmdk_is_walked_out_of_a_member",
                  test_stream_vmdk_is_walked_out_of_a_member, NULL, NULL, NULL);
        tests_add(&l, "stream_vmdk_converts_out_of_a_member_while_hashed",
                  test_stream_vmdk_converts_out_of_a_member_while_hashed, NULL, NULL, NULL);
        tests_add(&l, "truncated_member_fails_the_conversion_and_leaves_nothing",
                  test_truncated_member_fails_the_conversion_and_leaves_nothing, NULL, NULL, NULL);
        tests_add(&l, "chunked_disk_converts_as_one_file", test_chunked_disk_converts_as_one_file,
                  NULL, NULL, NULL);
        tests_add(&l, "missing_chunk_fails_the_read", test_missing_chunk_fails_the_read, NULL, NULL,
                  NULL);
        tests_add(&l, "chunks_must_start_at_the_first", test_chunks_must_start_at_the_first, NULL,
                  NULL, NULL);
        return tests_run("tar", &l);
}
