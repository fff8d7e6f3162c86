/* manifest: the dialects exporters write, each rejection, and digests computed while reading. */

#include "helpers.h"
#include "manifest.h"
#include "tar.h"

#define SHA1_ABC   "a9993e364706816aba3e25717850c26c9cd0d89d"
#define SHA256_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA512_ABC                                                                                    \
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3f" \
        "eebbd454d4423643ce80e2a9ac94fa54ca49f"

struct dialect {
        const char *name;
        const char *text;
        const char *file;
        enum manifest_alg alg;
};

static const struct dialect dialects[] = {
        { "vmware", "SHA256(vm.ovf)= " SHA256_ABC "\n", "vm.ovf", MANIFEST_SHA256 },
        { "spaced", "SHA1 (vm-disk1.vmdk) = " SHA1_ABC "\n", "vm-disk1.vmdk", MANIFEST_SHA1 },
        { "oracle_dash_and_dot_slash", "SHA-256(./disk.vmdk)=" SHA256_ABC, "disk.vmdk",
          MANIFEST_SHA256 },
        { "sha512_crlf", "SHA512(a.ovf)= " SHA512_ABC "\r\n", "a.ovf", MANIFEST_SHA512 },
        { "lowercase_alg_uppercase_hex",
          "sha256(x)= BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", "x",
          MANIFEST_SHA256 },
        { "parentheses_in_the_name", "SHA256(disk (1).vmdk)= " SHA256_ABC "\n", "disk (1).vmdk",
          MANIFEST_SHA256 },
        { "blank_lines_and_trailing_space", "\n\nSHA1(a)= " SHA1_ABC "   \n\n", "a",
          MANIFEST_SHA1 },
};

static void test_dialect_is_read(void **state)
{
        const struct dialect *d = *state;
        struct manifest m;
        struct err err = { { 0 } };
        const struct manifest_entry *e;

        assert_int_equal(manifest_parse(d->text, strlen(d->text), &m, &err), 0);
        assert_int_equal(m.n_entries, 1);
        e = manifest_find(&m, d->file);
        assert_non_null(e);
        assert_int_equal(e->alg, d->alg);
        assert_int_equal(e->digest[0], d->alg == MANIFEST_SHA1     ? 0xa9
                                       : d->alg == MANIFEST_SHA256 ? 0xba
                                                                   : 0xdd);
        {
                char dotted[64];
                (void) snprintf(dotted, sizeof(dotted), "./%s", d->file);
                assert_non_null(manifest_find(&m, dotted)); /* "./" is ignored on lookup too */
        }
        manifest_release(&m);
}

struct bad {
        const char *name;
        const char *text;
        int code;
        const char *msg;
};

static const struct bad bads[] = {
        { "md5", "MD5(a)= 900150983cd24fb0d6963f7d28e17f72\n", -EOPNOTSUPP, "not supported" },
        { "short_digest", "SHA256(a)= abcd\n", -EBADMSG, "hex digits" },
        { "long_digest", "SHA1(a)= " SHA1_ABC "00\n", -EBADMSG, "hex digits" },
        { "not_hex", "SHA1(a)= a9993e364706816aba3e25717850c26c9cd0d8zz\n", -EBADMSG,
          "hexadecimal" },
        { "twice", "SHA1(a)= " SHA1_ABC "\nSHA1(./a)= " SHA1_ABC "\n", -EBADMSG, "twice" },
        { "no_parenthesis", "SHA1 a = " SHA1_ABC "\n", -EBADMSG, "line 1" },
        { "no_equals", "SHA1(a) " SHA1_ABC "\n", -EBADMSG, "line 1" },
        { "empty_name", "SHA1()= " SHA1_ABC "\n", -EBADMSG, "names no file" },
        { "text_after_name", "SHA1(a) junk = " SHA1_ABC "\n", -EBADMSG, "line 1" },
        { "bad_second_line", "SHA1(a)= " SHA1_ABC "\n\ngarbage\n", -EBADMSG, "line 3" },
};

static void test_bad_manifest_is_refused(void **state)
{
        const struct bad *b = *state;
        struct manifest m;
        struct err err = { { 0 } };

        assert_int_equal(manifest_parse(b->text, strlen(b->text), &m, &err), b->code);
        assert_non_null(strstr(err.msg, b->msg));
}

static void test_nul_byte_is_refused(void **state)
{
        static const char text[] = "SHA1(a\0b)= " SHA1_ABC "\n";
        struct manifest m;
        struct err err = { { 0 } };

        (void) state;
        assert_int_equal(manifest_parse(text, sizeof(text) - 1, &m, &err), -EBADMSG);
}

static void test_oversized_manifest_is_refused(void **state)
{
        size_t len = MANIFEST_MAX_BYTES + 1;
        char *text = malloc(len);
        struct manifest m;
        struct err err = { { 0 } };

        (void) state;
        memset(text, '\n', len);
        assert_int_equal(manifest_parse(text, len, &m, &err), -EBADMSG);
        free(text);
}

static void test_digest_is_computed_while_reading(void **state)
{
        static const struct {
                enum manifest_alg alg;
                const char *hex;
        } want[] = { { MANIFEST_SHA1, SHA1_ABC },
                     { MANIFEST_SHA256, SHA256_ABC },
                     { MANIFEST_SHA512, SHA512_ABC } };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                struct input *in = NULL, *d = NULL;
                struct err err = { { 0 } };
                uint8_t out[MANIFEST_MAX_DIGEST], got[1];
                char text[256], hex[2 * MANIFEST_MAX_DIGEST + 1];
                struct manifest m;
                size_t len;

                assert_int_equal(input_new_memory("abc", 3, "a", &in), 0);
                assert_int_equal(digest_input_new(in, want[i].alg, &d), 0);
                assert_int_equal(input_read_full(d, got, 1, &err),
                                 0); /* the consumer reads a part */
                assert_int_equal(got[0], 'a');
                assert_int_equal(digest_input_finish(d, out, &len, &err),
                                 0); /* the rest is hashed */
                for (size_t k = 0; k < len; k++)
                        (void) snprintf(hex + 2 * k, 3, "%02x", out[k]);
                assert_string_equal(hex, want[i].hex);

                (void) snprintf(text, sizeof(text), "%s(a)= %s\n", manifest_alg_names[want[i].alg],
                                want[i].hex);
                assert_int_equal(manifest_parse(text, strlen(text), &m, &err), 0);
                assert_int_equal(manifest_verify(manifest_find(&m, "a"), out, len, &err), 0);
                out[0] ^= 1;
                assert_int_equal(manifest_verify(manifest_find(&m, "a"), out, len, &err), -EBADMSG);
                assert_non_null(strstr(err.msg, "'a'"));
                manifest_release(&m);
                input_free(d);
                input_free(in);
        }
}

static void test_digest_of_a_member_read_out_of_an_archive(void **state)
{
        char *dir = tmpdir_new();
        char cmd[512], *tarpath = path_join(dir, "x.ova");
        struct input *in = NULL, *d = NULL;
        struct tar *t = NULL;
        struct tar_entry e;
        struct err err = { { 0 } };
        uint8_t out[MANIFEST_MAX_DIGEST];
        size_t len;
        struct manifest m;
        uint8_t *mf;
        size_t mflen;

        (void) state;
        if (system("command -v tar >/dev/null && command -v sha256sum >/dev/null") != 0) {
                free(tarpath);
                tmpdir_remove(dir);
                skip();
        }
        /* The manifest comes from sha256sum, an implementation that is not ours. */
        (void) snprintf(
                cmd, sizeof(cmd),
                "cd '%s' && head -c 300000 /dev/urandom > disk.vmdk && "
                "sha256sum disk.vmdk | awk '{ print \"SHA256(\" $2 \")= \" $1 }' > vm.mf && "
                "tar -cf x.ova vm.mf disk.vmdk && rm disk.vmdk",
                dir);
        assert_int_equal(system(cmd), 0);
        char *mfpath = path_join(dir, "vm.mf");
        mf = file_read(mfpath, &mflen);
        assert_int_equal(manifest_parse((const char *) mf, mflen, &m, &err), 0);

        assert_int_equal(input_open_file(tarpath, &in, &err), 0);
        assert_int_equal(tar_new(in, &t), 0);
        while (tar_next(t, &e, &err) > 0) {
                if (strcmp(e.name, "disk.vmdk") != 0)
                        continue;
                assert_int_equal(digest_input_new(tar_member(t), MANIFEST_SHA256, &d), 0);
                assert_int_equal(digest_input_finish(d, out, &len, &err), 0);
                assert_int_equal(manifest_verify(manifest_find(&m, e.name), out, len, &err), 0);
                input_free(d);
        }
        assert_string_equal(err.msg, "");
        manifest_release(&m);
        tar_free(t);
        input_free(in);
        free(mf);
        free(mfpath);
        free(tarpath);
        tmpdir_remove(dir);
}

int main(void)
{
        struct test_list l = { 0 };

        for (size_t i = 0; i < ELEMENTSOF(dialects); i++)
                tests_add(&l, dialects[i].name, test_dialect_is_read, NULL, NULL,
                          (void *) &dialects[i]);
        for (size_t i = 0; i < ELEMENTSOF(bads); i++)
                tests_add(&l, bads[i].name, test_bad_manifest_is_refused, NULL, NULL,
                          (void *) &bads[i]);
        tests_add(&l, "nul_byte_is_refused", test_nul_byte_is_refused, NULL, NULL, NULL);
        tests_add(&l, "oversized_manifest_is_refused", test_oversized_manifest_is_refused, NULL,
                  NULL, NULL);
        tests_add(&l, "digest_is_computed_while_reading", test_digest_is_computed_while_reading,
                  NULL, NULL, NULL);
        tests_add(&l, "digest_of_a_member_read_out_of_an_archive",
                  test_digest_of_a_member_read_out_of_an_archive, NULL, NULL, NULL);
        return tests_run("manifest", &l);
}
