/* answer_fetch: the kernel command line as the kernel splits it (quotes, priorities, overrides
 * and their quoting, each bad value, the limits), local files and the install medium given as a
 * directory (size limit, NUL bytes, SHA-256, symbolic links that try to leave the medium), each
 * kind of bad source, the chain's order and what it says when nothing is found, and the
 * identity headers. HTTP and the hd: sources need servers and disks: see
 * tests/integration/test-answer-fetch.sh and test-answer-fetch-vm.sh. */

#include <sys/stat.h>

#include "answer_fetch.h"
#include "helpers.h"
#include "hw.h"
#include "kickstart.h"
#include "strv.h"

#define SUM_ABC         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SUM_HELLO_UPPER "5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E846F6BE03"
#define PIN_OK     \
        "sha256//" \
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

/* ---- the kernel command line ---- */

struct cmdline_case {
        const char *name;
        const char *cmdline;
        int r;
        const char *spec, *key;
        const char *lines[8];
        bool send_mac, send_sn, post;
        const char *sha256, *pin, *ca_file;
        int retries;        /* -1: not given */
        const char *in_err; /* for a refusal: part of the message */
};

static const struct cmdline_case cmdline_cases[] = {
        { .name = "no_answer_keys",
          .cmdline = "BOOT_IMAGE=/vmlinuz root=UUID=1234 ro quiet\n",
          .retries = -1 },
        { .name = "kvmforge_answer_sends_mac_and_serial",
          .cmdline = "quiet kvmforge.answer=https://srv/ks.cfg",
          .spec = "https://srv/ks.cfg",
          .key = "kvmforge.answer",
          .send_mac = true,
          .send_sn = true,
          .retries = -1 },
        { .name = "kvmforge_answer_wins_over_inst_ks_over_ks",
          .cmdline = "ks=a inst.ks=b kvmforge.answer=c",
          .spec = "c",
          .key = "kvmforge.answer",
          .send_mac = true,
          .send_sn = true,
          .retries = -1 },
        { .name = "priority_does_not_depend_on_order",
          .cmdline = "kvmforge.answer=c inst.ks=b ks=a",
          .spec = "c",
          .key = "kvmforge.answer",
          .send_mac = true,
          .send_sn = true,
          .retries = -1 },
        { .name = "inst_ks_wins_over_ks_and_sends_nothing",
          .cmdline = "inst.ks=hd:LABEL=X:/ks.cfg ks=cdrom:/ks.cfg",
          .spec = "hd:LABEL=X:/ks.cfg",
          .key = "inst.ks",
          .retries = -1 },
        { .name = "ks_alone",
          .cmdline = "ks=file:/ks.cfg",
          .spec = "file:/ks.cfg",
          .key = "ks",
          .retries = -1 },
        { .name = "the_later_of_one_key_wins",
          .cmdline = "inst.ks=first inst.ks=second",
          .spec = "second",
          .key = "inst.ks",
          .retries = -1 },
        { .name = "sendmac_sendsn_flags",
          .cmdline = "inst.ks=http://x/ks inst.ks.sendmac inst.ks.sendsn=1",
          .spec = "http://x/ks",
          .key = "inst.ks",
          .send_mac = true,
          .send_sn = true,
          .retries = -1 },
        { .name = "whole_word_in_quotes",
          .cmdline = "quiet \"kvmforge.ks=rootpw --lock\" ro",
          .lines = { "rootpw --lock" },
          .retries = -1 },
        { .name = "value_in_quotes",
          .cmdline = "kvmforge.ks=\"rootpw --lock\"",
          .lines = { "rootpw --lock" },
          .retries = -1 },
        { .name = "quotes_inside_a_value_stay_as_the_kernel_keeps_them",
          .cmdline = "kvmforge.ks=a\"b c\"d",
          .lines = { "a\"b c\"d" },
          .retries = -1 },
        { .name = "tabs_and_newlines_separate_words",
          .cmdline = "ks=x\tinst.ks=y\n",
          .spec = "y",
          .key = "inst.ks",
          .retries = -1 },
        { .name = "overrides_and_shortcuts_in_command_line_order",
          .cmdline =
                  "kvmforge.hostname=node1 \"kvmforge.ks=rootpw --lock\" "
                  "kvmforge.timezone=Europe/Paris kvmforge.keyboard=de kvmforge.lang=de_DE.UTF-8 "
                  "kvmforge.disk=sda kvmforge.ks=reboot",
          .lines = { "network --hostname='node1'", "rootpw --lock", "timezone 'Europe/Paris'",
                     "keyboard 'de'", "lang 'de_DE.UTF-8'", "ignoredisk --only-use='sda'",
                     "reboot" },
          .retries = -1 },
        { .name = "shortcut_value_with_quote_and_option_stays_one_word",
          .cmdline = "\"kvmforge.hostname=a b' --x\"",
          .lines = { "network --hostname='a b'\\'' --x'" },
          .retries = -1 },
        { .name = "answer_options",
          .cmdline = "kvmforge.answer=x kvmforge.answer.sha256=" SUM_HELLO_UPPER
                     " kvmforge.answer.pin=" PIN_OK " kvmforge.answer.cacert=/etc/ca.pem"
                     " kvmforge.answer.post=1 kvmforge.answer.retries=0",
          .spec = "x",
          .key = "kvmforge.answer",
          .send_mac = true,
          .send_sn = true,
          .post = true,
          .sha256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
          .pin = PIN_OK,
          .ca_file = "/etc/ca.pem",
          .retries = 0 },
        { .name = "two_pins",
          .cmdline = "kvmforge.answer.pin=" PIN_OK ";" PIN_OK,
          .pin = PIN_OK ";" PIN_OK,
          .retries = -1 },
        { .name = "post_bare_and_0",
          .cmdline = "kvmforge.answer.post kvmforge.answer.post=0",
          .retries = -1 },
        { .name = "retries_number", .cmdline = "kvmforge.answer.retries=100", .retries = 100 },
        { .name = "other_programs_words_are_left_alone",
          .cmdline = "inst.ksdevice=eth0 kvmforge.debug=1 ksx=1 =x \"\" kvmforge.answerx=1 a=\"",
          .retries = -1 },
        { .name = "a_bare_inst_ks_behind_kvmforge_answer_does_not_matter",
          .cmdline = "inst.ks kvmforge.answer=x",
          .spec = "x",
          .key = "kvmforge.answer",
          .send_mac = true,
          .send_sn = true,
          .retries = -1 },

        /* Refusals, each naming what is wrong. */
        { .name = "bare_inst_ks_nfs_is_not_supported",
          .cmdline = "inst.ks",
          .r = -EOPNOTSUPP,
          .in_err = "inst.ks without a value" },
        { .name = "bare_ks_nfs_is_not_supported",
          .cmdline = "ro ks",
          .r = -EOPNOTSUPP,
          .in_err = "ks without a value" },
        { .name = "empty_inst_ks",
          .cmdline = "inst.ks=",
          .r = -EOPNOTSUPP,
          .in_err = "not supported" },
        { .name = "bare_kvmforge_answer",
          .cmdline = "kvmforge.answer",
          .r = -EINVAL,
          .in_err = "kvmforge.answer= needs a source" },
        { .name = "sha256_not_hex",
          .cmdline = "kvmforge.answer.sha256="
                     "g891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
          .r = -EINVAL,
          .in_err = "kvmforge.answer.sha256=" },
        { .name = "sha256_short",
          .cmdline = "kvmforge.answer.sha256=abcd",
          .r = -EINVAL,
          .in_err = "kvmforge.answer.sha256=" },
        { .name = "retries_not_a_number",
          .cmdline = "kvmforge.answer.retries=many",
          .r = -EINVAL,
          .in_err = "kvmforge.answer.retries=many" },
        { .name = "retries_negative",
          .cmdline = "kvmforge.answer.retries=-1",
          .r = -EINVAL,
          .in_err = "kvmforge.answer.retries" },
        { .name = "retries_too_many",
          .cmdline = "kvmforge.answer.retries=101",
          .r = -EINVAL,
          .in_err = "kvmforge.answer.retries" },
        { .name = "pin_not_sha256",
          .cmdline = "kvmforge.answer.pin=md5//abc",
          .r = -EINVAL,
          .in_err = "kvmforge.answer.pin=" },
        { .name = "pin_short_base64",
          .cmdline = "kvmforge.answer.pin=sha256//AAAA=",
          .r = -EINVAL,
          .in_err = "kvmforge.answer.pin=" },
        { .name = "post_yes",
          .cmdline = "kvmforge.answer.post=yes",
          .r = -EINVAL,
          .in_err = "kvmforge.answer.post=yes" },
        { .name = "sendmac_2",
          .cmdline = "inst.ks.sendmac=2",
          .r = -EINVAL,
          .in_err = "inst.ks.sendmac=2" },
        { .name = "misspelt_answer_option",
          .cmdline = "kvmforge.answer.sha265=x",
          .r = -EINVAL,
          .in_err = "kvmforge.answer.sha265" },
        { .name = "empty_cacert",
          .cmdline = "kvmforge.answer.cacert=",
          .r = -EINVAL,
          .in_err = "kvmforge.answer.cacert=" },
        { .name = "empty_shortcut",
          .cmdline = "kvmforge.hostname=",
          .r = -EINVAL,
          .in_err = "kvmforge.hostname=" },
        { .name = "empty_override_line",
          .cmdline = "kvmforge.ks",
          .r = -EINVAL,
          .in_err = "kvmforge.ks=" },
        { .name = "newline_inside_quotes_cannot_add_a_line",
          .cmdline = "\"kvmforge.ks=rootpw --lock\nreboot\"",
          .r = -EINVAL,
          .in_err = "control character" },
};

static void test_cmdline_case(void **state)
{
        const struct cmdline_case *t = *state;
        struct answer_cmdline c;
        struct err err = { { 0 } };
        size_t n = 0;
        int r = answer_cmdline_parse(t->cmdline, &c, &err);

        if (t->r) {
                assert_int_equal(r, t->r);
                if (!strstr(err.msg, t->in_err))
                        fail_msg("message '%s' lacks '%s'", err.msg, t->in_err);
                return;
        }
        if (r != 0)
                fail_msg("refused: %d %s", r, err.msg);
        if (t->spec) {
                assert_non_null(c.spec);
                assert_string_equal(c.spec, t->spec);
                assert_string_equal(c.key, t->key);
        } else {
                assert_null(c.spec);
                assert_null(c.key);
        }
        assert_int_equal(c.send_mac, t->send_mac);
        assert_int_equal(c.send_sn, t->send_sn);
        assert_int_equal(c.post, t->post);
#define ASSERT_OPT(field)                                       \
        do {                                                    \
                if (t->field)                                   \
                        assert_string_equal(c.field, t->field); \
                else                                            \
                        assert_null(c.field);                   \
        } while (0)
        ASSERT_OPT(sha256);
        ASSERT_OPT(pin);
        ASSERT_OPT(ca_file);
#undef ASSERT_OPT
        assert_int_equal(c.retries_set, t->retries >= 0);
        if (t->retries >= 0)
                assert_int_equal(c.retries, t->retries);
        while (n < ELEMENTSOF(t->lines) && t->lines[n])
                n++;
        assert_int_equal(c.n_lines, n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(c.lines[i], t->lines[i]);
        answer_cmdline_release(&c);
}

/* The line a shortcut makes is read back by the kickstart parser as one option. */
static void test_shortcut_quoting_survives_the_kickstart_parser(void **state)
{
        struct answer_cmdline c;
        struct kickstart ks;

        (void) state;
        assert_int_equal(
                answer_cmdline_parse("\"kvmforge.hostname=x' --bootproto=dhcp 'y\"", &c, NULL), 0);
        assert_int_equal(c.n_lines, 1);
        assert_int_equal(kickstart_parse(c.lines[0], strlen(c.lines[0]), "cmdline", &ks, NULL), 0);
        assert_int_equal(ks.n_commands, 1);
        assert_int_equal(ks.commands[0].n_words, 2);
        assert_string_equal(ks.commands[0].words[1].text, "--hostname=x' --bootproto=dhcp 'y");
        kickstart_release(&ks);
        answer_cmdline_release(&c);
}

/* "kvmforge.ks=N" words, padded with spaces to len bytes (a final newline not counted). */
static char *long_cmdline(size_t len, unsigned overrides)
{
        char *s = malloc(len + 2);
        size_t n = 0;

        assert_non_null(s);
        for (unsigned i = 0; i < overrides; i++)
                n += (size_t) sprintf(s + n, "kvmforge.ks=%u ", i);
        assert_true(n <= len);
        memset(s + n, ' ', len - n);
        s[len - 1] = 'q';
        s[len] = '\n';
        s[len + 1] = '\0';
        return s;
}

static void test_cmdline_limits(void **state)
{
        struct answer_cmdline c;
        struct err err = { { 0 } };
        char *s;

        (void) state;
        s = long_cmdline(ANSWER_CMDLINE_MAX, ANSWER_CMDLINE_LINES);
        assert_int_equal(answer_cmdline_parse(s, &c, NULL), 0);
        assert_int_equal(c.n_lines, ANSWER_CMDLINE_LINES);
        assert_string_equal(c.lines[ANSWER_CMDLINE_LINES - 1], "63");
        answer_cmdline_release(&c);
        free(s);

        s = long_cmdline(ANSWER_CMDLINE_MAX + 1, 0);
        assert_int_equal(answer_cmdline_parse(s, &c, &err), -E2BIG);
        assert_non_null(strstr(err.msg, "4097 bytes"));
        free(s);

        s = long_cmdline(1000, ANSWER_CMDLINE_LINES + 1);
        err.msg[0] = '\0';
        assert_int_equal(answer_cmdline_parse(s, &c, &err), -E2BIG);
        assert_non_null(strstr(err.msg, "more than 64"));
        free(s);
}

/* ---- files and the medium ---- */

static struct {
        char *root;
} F;

static int files_setup(void **state)
{
        (void) state;
        F.root = tmpdir_new();
        return 0;
}

static int files_teardown(void **state)
{
        char *cmd;

        (void) state;
        assert_true(asprintf(&cmd, "rm -rf '%s'", F.root) > 0);
        (void) system(cmd);
        free(cmd);
        free(F.root);
        F.root = NULL;
        return 0;
}

/* F.root/name (subdirectories made as needed) holding len bytes of data. */
static char *put(const char *name, const void *data, size_t len)
{
        char *p = path_join(F.root, name), *cmd;

        assert_true(asprintf(&cmd, "mkdir -p \"$(dirname '%s')\"", p) > 0);
        assert_int_equal(system(cmd), 0);
        free(cmd);
        file_write(p, data, len);
        return p;
}

static int fetch(const char *spec, const struct answer_fetch_options *o, struct answer_source *s,
                 struct err *err)
{
        *err = (struct err){ { 0 } };
        return answer_fetch(spec, o, s, err);
}

static void test_file_forms(void **state)
{
        char *p = put("forms/ks.cfg", "abc", 3), *spec;
        const char *const prefixes[] = { "", "file:", "file://" };
        struct answer_source s;
        struct err err;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
                assert_true(asprintf(&spec, "%s%s", prefixes[i], p) > 0);
                if (fetch(spec, NULL, &s, &err) != 0)
                        fail_msg("%s: %s", spec, err.msg);
                assert_int_equal(s.len, 3);
                assert_string_equal(s.text, "abc");
                assert_string_equal(s.name, spec);
                assert_string_equal(s.sha256, SUM_ABC);
                assert_false(s.cleartext);
                answer_source_release(&s);
                free(spec);
        }
        free(p);
}

static void test_file_of_the_largest_size_is_read(void **state)
{
        char *data = malloc(KICKSTART_MAX_BYTES), *p;
        struct answer_source s;
        struct err err;

        (void) state;
        assert_non_null(data);
        memset(data, '#', KICKSTART_MAX_BYTES);
        p = put("max.cfg", data, KICKSTART_MAX_BYTES);
        assert_int_equal(fetch(p, NULL, &s, &err), 0);
        assert_int_equal(s.len, KICKSTART_MAX_BYTES);
        assert_int_equal(s.text[s.len], '\0');
        answer_source_release(&s);
        free(p);
        free(data);
}

static void test_file_one_byte_too_large_is_refused(void **state)
{
        char *data = malloc(KICKSTART_MAX_BYTES + 1), *p;
        struct answer_source s;
        struct err err;

        (void) state;
        assert_non_null(data);
        memset(data, '#', KICKSTART_MAX_BYTES + 1);
        p = put("over.cfg", data, KICKSTART_MAX_BYTES + 1);
        assert_int_equal(fetch(p, NULL, &s, &err), -EFBIG);
        assert_non_null(strstr(err.msg, "larger than 1048576 bytes"));
        assert_non_null(strstr(err.msg, "over.cfg"));
        free(p);
        free(data);
}

static void test_file_with_nul_is_refused(void **state)
{
        char *p = put("nul.cfg", "abc\0def", 7);
        struct answer_source s;
        struct err err;

        (void) state;
        assert_int_equal(fetch(p, NULL, &s, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "NUL byte at offset 3"));
        free(p);
}

static void test_missing_file(void **state)
{
        char *p = path_join(F.root, "absent.cfg");
        struct answer_source s;
        struct err err;
        char want[600];

        (void) state;
        assert_int_equal(fetch(p, NULL, &s, &err), -ENOENT);
        (void) snprintf(want, sizeof(want), "'%s': no such file", p);
        assert_string_equal(err.msg, want);
        free(p);
}

static void test_directory_and_fifo_are_refused(void **state)
{
        char *dir = path_join(F.root, "adir"), *fifo = path_join(F.root, "fifo");
        struct answer_source s;
        struct err err;

        (void) state;
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(mkfifo(fifo, 0644), 0);
        assert_int_equal(fetch(dir, NULL, &s, &err), -EISDIR);
        /* No writer: a blocking open or read would hang here. */
        assert_int_equal(fetch(fifo, NULL, &s, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not a regular file"));
        free(dir);
        free(fifo);
}

static void test_empty_file_is_an_empty_answer(void **state)
{
        char *p = put("empty.cfg", "", 0);
        struct answer_source s;
        struct err err;

        (void) state;
        assert_int_equal(fetch(p, NULL, &s, &err), 0);
        assert_int_equal(s.len, 0);
        assert_string_equal(s.text, "");
        assert_string_equal(s.sha256,
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        answer_source_release(&s);
        free(p);
}

static void test_sha256_checked_in_any_case(void **state)
{
        char *p = put("hello.cfg", "hello\n", 6);
        struct answer_fetch_options o = { .sha256 = SUM_HELLO_UPPER };
        struct answer_source s;
        struct err err;

        (void) state;
        assert_int_equal(fetch(p, &o, &s, &err), 0);
        answer_source_release(&s);
        o.sha256 = SUM_ABC;
        assert_int_equal(fetch(p, &o, &s, &err), -EBADMSG);
        assert_non_null(strstr(err.msg,
                               "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"));
        assert_non_null(strstr(err.msg, "not the expected " SUM_ABC));
        o.sha256 = "5891b5";
        assert_int_equal(fetch(p, &o, &s, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not a SHA-256 digest"));
        free(p);
}

struct bad_spec {
        const char *name, *spec;
        int r;
        const char *in_err;
};

static const struct bad_spec bad_specs[] = {
        { "empty", "", -EINVAL, "expected http://" },
        { "unknown_scheme", "foo:bar", -EINVAL, "hd:LABEL=X:/path, hd:UUID=X:/path" },
        { "nfs", "nfs:server:/ks.cfg", -EOPNOTSUPP, "nfs sources are not supported" },
        { "ftp", "ftp://server/ks.cfg", -EOPNOTSUPP, "ftp sources are not supported" },
        { "file_url_with_host", "file://server/ks.cfg", -EINVAL, "names a host" },
        { "hd_without_device", "hd::/ks.cfg", -EINVAL, "expected hd:LABEL=X:/path" },
        { "hd_partuuid", "hd:PARTUUID=1234:/ks.cfg", -EINVAL, "expected LABEL=X, UUID=X" },
        { "hd_no_such_device", "hd:kvmforge-no-such-disk:/ks.cfg", -ENODEV,
          "no device /dev/kvmforge-no-such-disk" },
        { "hd_not_a_block_device", "hd:/dev/null:/ks.cfg", -ENOTBLK,
          "/dev/null is not a block device" },
        { "hd_no_such_label", "hd:LABEL=KVMFORGE-NO-SUCH-LABEL:/ks.cfg", -ENODEV,
          "no filesystem labelled 'KVMFORGE-NO-SUCH-LABEL'" },
        { "hd_no_such_uuid", "hd:UUID=00000000-0000-0000-0000-00000000dead:/ks.cfg", -ENODEV,
          "no filesystem with the UUID" },
        { "invalid_url", "http://exa mple.com/ks.cfg", -EINVAL, "not a valid URL" },
};

static void test_bad_spec(void **state)
{
        const struct bad_spec *t = *state;
        struct answer_source s;
        struct err err;
        char prefix[600];

        assert_int_equal(fetch(t->spec, NULL, &s, &err), t->r);
        if (!strstr(err.msg, t->in_err))
                fail_msg("message '%s' lacks '%s'", err.msg, t->in_err);
        (void) snprintf(prefix, sizeof(prefix), "'%s': ", t->spec);
        assert_memory_equal(err.msg, prefix, strlen(prefix));
}

static void test_cdrom_reads_from_the_medium(void **state)
{
        char *p = put("medium1/kvmforge/ks.cfg", "# medium\n", 9),
             *m = path_join(F.root, "medium1");
        struct answer_fetch_options o = { .medium_dir = m };
        struct answer_source s;
        struct err err;

        (void) state;
        free(put("medium1/ks.cfg", "# root\n", 7));
        assert_int_equal(fetch("cdrom:/kvmforge/ks.cfg", &o, &s, &err), 0);
        assert_string_equal(s.text, "# medium\n");
        assert_string_equal(s.name, "cdrom:/kvmforge/ks.cfg");
        answer_source_release(&s);
        assert_int_equal(fetch("cdrom", &o, &s, &err), 0); /* Anaconda's: /ks.cfg */
        assert_string_equal(s.text, "# root\n");
        answer_source_release(&s);
        assert_int_equal(fetch("cdrom:/nothere.cfg", &o, &s, &err), -ENOENT);
        assert_string_equal(err.msg,
                            "'cdrom:/nothere.cfg': no file '/nothere.cfg' on the install medium");
        free(p);
        free(m);
}

/* A link on the medium resolves inside it, however it is written: it cannot hand the host's
 * own files over as the answer. */
static void test_links_on_the_medium_stay_inside(void **state)
{
        char *m = path_join(F.root, "medium2"), *l1, *l2, *outside = put("outside.cfg", "x\n", 2);
        struct answer_fetch_options o = { .medium_dir = m };
        struct answer_source s;
        struct err err;

        (void) state;
        free(put("medium2/in.cfg", "inside\n", 7));
        l1 = path_join(m, "abs.cfg");
        l2 = path_join(m, "up.cfg");
        assert_int_equal(symlink(outside, l1), 0);
        assert_int_equal(symlink("../../../../../../../outside.cfg", l2), 0);
        assert_int_equal(fetch("cdrom:/abs.cfg", &o, &s, &err), -ENOENT);
        assert_int_equal(fetch("cdrom:/up.cfg", &o, &s, &err), -ENOENT);
        assert_int_equal(fetch("cdrom:/../outside.cfg", &o, &s, &err), -ENOENT);
        /* And one that stays inside works. */
        assert_int_equal(unlink(l1), 0);
        assert_int_equal(symlink("/in.cfg", l1), 0);
        assert_int_equal(fetch("cdrom:/abs.cfg", &o, &s, &err), 0);
        assert_string_equal(s.text, "inside\n");
        answer_source_release(&s);
        free(m);
        free(l1);
        free(l2);
        free(outside);
}

/* ---- the chain ---- */

struct reports {
        char *lines[8];
        size_t n;
};

static void on_report(void *userdata, const char *source, const char *what)
{
        struct reports *r = userdata;

        if (r->n < ELEMENTSOF(r->lines))
                assert_true(asprintf(&r->lines[r->n++], "%s: %s", source, what) > 0);
}

static void reports_free(struct reports *r)
{
        for (size_t i = 0; i < r->n; i++)
                free(r->lines[i]);
        r->n = 0;
}

static void test_chain_takes_the_command_line_source_first(void **state)
{
        char *p = put("chain/ks.cfg", "# cmdline\n", 10), *m = path_join(F.root, "chain");
        struct answer_cmdline c = { .spec = p, .key = "inst.ks" };
        struct reports rep = { 0 };
        struct answer_fetch_options o = { .medium_dir = m, .report = on_report, .userdata = &rep };
        struct answer_source s;
        struct err err = { { 0 } };

        (void) state;
        free(put("chain/kvmforge/ks.cfg", "# medium\n", 9));
        assert_int_equal(answer_fetch_chain(&c, &o, &s, &err), 0);
        assert_string_equal(s.text, "# cmdline\n");
        assert_string_equal(s.name, p);
        assert_int_equal(rep.n, 1);
        assert_non_null(strstr(rep.lines[0], ": found, 10 bytes"));
        answer_source_release(&s);
        reports_free(&rep);
        free(p);
        free(m);
}

static void test_chain_command_line_failure_is_final(void **state)
{
        char *p = path_join(F.root, "chain-absent.cfg"), *m = path_join(F.root, "chain2"),
             want[700];
        struct answer_cmdline c = { .spec = p, .key = "inst.ks" };
        struct answer_fetch_options o = { .medium_dir = m };
        struct answer_source s;
        struct err err = { { 0 } };

        (void) state;
        free(put("chain2/kvmforge/ks.cfg", "# medium\n", 9)); /* there, but not asked for */
        assert_int_equal(answer_fetch_chain(&c, &o, &s, &err), -ENOENT);
        (void) snprintf(want, sizeof(want), "'%s' (from inst.ks=): no such file", p);
        assert_string_equal(err.msg, want);
        free(p);
        free(m);
}

static void test_chain_falls_back_to_the_medium(void **state)
{
        char *m = path_join(F.root, "chain3");
        struct answer_cmdline c = { 0 };
        struct reports rep = { 0 };
        struct answer_fetch_options o = { .medium_dir = m, .report = on_report, .userdata = &rep };
        struct answer_source s;
        struct err err = { { 0 } };

        (void) state;
        free(put("chain3/kvmforge/ks.cfg", "# medium\n", 9));
        assert_int_equal(answer_fetch_chain(&c, &o, &s, &err), 0);
        assert_string_equal(s.text, "# medium\n");
        assert_string_equal(s.name, "cdrom:/kvmforge/ks.cfg");
        assert_int_equal(rep.n, 1);
        assert_string_equal(rep.lines[0], "cdrom:/kvmforge/ks.cfg: found, 9 bytes");
        answer_source_release(&s);
        assert_int_equal(answer_fetch_chain(NULL, &o, &s, &err), 0); /* no command line at all */
        answer_source_release(&s);
        reports_free(&rep);
        free(m);
}

/* The digest on the command line holds for whatever the chain finds, and a mismatch stops it:
 * an answer that is there but wrong must never be replaced by the next one found. */
static void test_chain_checks_the_command_line_digest(void **state)
{
        char *m = path_join(F.root, "chain4");
        struct answer_cmdline c = { .sha256 = SUM_ABC };
        struct answer_fetch_options o = { .medium_dir = m };
        struct answer_source s;
        struct err err = { { 0 } };

        (void) state;
        free(put("chain4/kvmforge/ks.cfg", "hello\n", 6));
        assert_int_equal(answer_fetch_chain(&c, &o, &s, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "'cdrom:/kvmforge/ks.cfg': its SHA-256 is 5891b5b5"));
        o.sha256 = SUM_HELLO_UPPER; /* the caller's wins */
        assert_int_equal(answer_fetch_chain(&c, &o, &s, &err), 0);
        answer_source_release(&s);
        free(m);
}

static void test_chain_says_what_it_tried(void **state)
{
        char *m = path_join(F.root, "chain5");
        struct reports rep = { 0 };
        struct answer_fetch_options o = { .medium_dir = m, .report = on_report, .userdata = &rep };
        struct answer_source s;
        struct err err = { { 0 } };
        struct answer_cmdline c = { 0 };

        (void) state;
        assert_int_equal(mkdir(m, 0755), 0);
        /* Unless this machine has a filesystem labelled KVMFORGE or OEMDRV. */
        assert_int_equal(answer_fetch_chain(&c, &o, &s, &err), -ENOENT);
        assert_string_equal(
                err.msg,
                "no answer found: no kvmforge.answer=, inst.ks= or ks=; "
                "cdrom:/kvmforge/ks.cfg: no file '/kvmforge/ks.cfg' on the install medium; "
                "hd:LABEL=KVMFORGE:/ks.cfg: no filesystem labelled 'KVMFORGE'; "
                "hd:LABEL=OEMDRV:/ks.cfg: no filesystem labelled 'OEMDRV'");
        assert_int_equal(rep.n, 3);
        assert_string_equal(rep.lines[1],
                            "hd:LABEL=KVMFORGE:/ks.cfg: no filesystem labelled 'KVMFORGE'");
        reports_free(&rep);
        free(m);
}

/* ---- identity headers ---- */

static void test_identity_headers(void **state)
{
        struct hw_nic nics[] = {
                { .name = "br0", .mac = "52:54:00:00:00:99", .virtual_dev = true },
                { .name = "eno1", .mac = "3c:ec:ef:01:02:03" },
                { .name = "eno2", .mac = "" },
                { .name = "eth\r\n1", .mac = "52:54\r\n:00:12:34" },
        };
        struct hw_report r = { .nics = nics, .n_nics = ELEMENTSOF(nics) };
        char **h = NULL;
        size_t n = 0;

        (void) state;
        (void) snprintf(r.dmi.serial, sizeof(r.dmi.serial), " SN-1\r\nX-Evil: 2 ");
        assert_int_equal(answer_fetch_identity(&r, true, true, &h, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(h[0], "X-RHN-Provisioning-MAC-0: eno1 3c:ec:ef:01:02:03");
        assert_string_equal(h[1], "X-RHN-Provisioning-MAC-1: eth1 52:54:00:12:34");
        assert_string_equal(h[2], "X-System-Serial-Number: SN-1X-Evil: 2");
        for (size_t i = 0; i < n; i++)
                assert_null(strpbrk(h[i], "\r\n"));
        strv_free(&h, &n);

        assert_int_equal(answer_fetch_identity(&r, false, true, &h, &n), 0);
        assert_int_equal(n, 1);
        strv_free(&h, &n);
        assert_int_equal(answer_fetch_identity(&r, true, false, &h, &n), 0);
        assert_int_equal(n, 2);
        strv_free(&h, &n);
}

static void test_identity_leaves_placeholder_serials_out(void **state)
{
        static const char *const junk[] = {
                "",  "To Be Filled By O.E.M.", "Default string", "System Serial Number",
                "0", "Not Specified"
        };
        struct hw_report r = { 0 };
        char **h = NULL;
        size_t n = 0;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(junk); i++) {
                (void) snprintf(r.dmi.serial, sizeof(r.dmi.serial), "%s", junk[i]);
                assert_int_equal(answer_fetch_identity(&r, true, true, &h, &n), 0);
                if (n != 0)
                        fail_msg("'%s' was sent as a serial number", junk[i]);
        }
        (void) snprintf(r.dmi.serial, sizeof(r.dmi.serial), "CZ1234ABCD");
        assert_int_equal(answer_fetch_identity(&r, true, true, &h, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(h[0], "X-System-Serial-Number: CZ1234ABCD");
        strv_free(&h, &n);
}

static void test_sha256_hex(void **state)
{
        char hex[65];

        (void) state;
        assert_int_equal(answer_sha256_hex("abc", 3, hex), 0);
        assert_string_equal(hex, SUM_ABC);
}

/* What the install takes from the command line besides the answer: console=, BOOTIF=,
 * kvmforge.report=, split and unquoted as the kernel does. */
static void test_cmdline_values(void **state)
{
        char v[4][64];

        (void) state;
        assert_int_equal(answer_cmdline_values("quiet console=tty0 consoleblank=0 "
                                               "console=\"ttyS0,115200n8\" BOOTIF=01-aa\n",
                                               "console", v[0], sizeof(v[0]), 4),
                         2);
        assert_string_equal(v[0], "tty0");
        assert_string_equal(v[1], "ttyS0,115200n8");
        assert_int_equal(answer_cmdline_values("a \"kvmforge.report=http://h/r x\" b",
                                               "kvmforge.report", v[0], sizeof(v[0]), 1),
                         1);
        assert_string_equal(v[0], "http://h/r x");
        assert_int_equal(
                answer_cmdline_values("console=a console=b", "console", v[0], sizeof(v[0]), 1), 1);
        assert_int_equal(answer_cmdline_values("BOOTIF console", "BOOTIF", v[0], sizeof(v[0]), 1),
                         0);
}

int main(void)
{
        struct test_list l = { 0 };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(cmdline_cases); i++)
                tests_add(&l, cmdline_cases[i].name, test_cmdline_case, NULL, NULL,
                          (void *) &cmdline_cases[i]);
        tests_add(&l, "shortcut_quoting_survives_the_kickstart_parser",
                  test_shortcut_quoting_survives_the_kickstart_parser, NULL, NULL, NULL);
        tests_add(&l, "cmdline_limits", test_cmdline_limits, NULL, NULL, NULL);
        tests_add(&l, "cmdline_values", test_cmdline_values, NULL, NULL, NULL);
        tests_add(&l, "identity_headers", test_identity_headers, NULL, NULL, NULL);
        tests_add(&l, "identity_leaves_placeholder_serials_out",
                  test_identity_leaves_placeholder_serials_out, NULL, NULL, NULL);
        tests_add(&l, "sha256_hex", test_sha256_hex, NULL, NULL, NULL);

        tests_add(&l, "file_forms", test_file_forms, NULL, NULL, NULL);
        tests_add(&l, "file_of_the_largest_size_is_read", test_file_of_the_largest_size_is_read,
                  NULL, NULL, NULL);
        tests_add(&l, "file_one_byte_too_large_is_refused", test_file_one_byte_too_large_is_refused,
                  NULL, NULL, NULL);
        tests_add(&l, "file_with_nul_is_refused", test_file_with_nul_is_refused, NULL, NULL, NULL);
        tests_add(&l, "missing_file", test_missing_file, NULL, NULL, NULL);
        tests_add(&l, "directory_and_fifo_are_refused", test_directory_and_fifo_are_refused, NULL,
                  NULL, NULL);
        tests_add(&l, "empty_file_is_an_empty_answer", test_empty_file_is_an_empty_answer, NULL,
                  NULL, NULL);
        tests_add(&l, "sha256_checked_in_any_case", test_sha256_checked_in_any_case, NULL, NULL,
                  NULL);
        for (size_t i = 0; i < ELEMENTSOF(bad_specs); i++)
                tests_add(&l, bad_specs[i].name, test_bad_spec, NULL, NULL, (void *) &bad_specs[i]);
        tests_add(&l, "cdrom_reads_from_the_medium", test_cdrom_reads_from_the_medium, NULL, NULL,
                  NULL);
        tests_add(&l, "links_on_the_medium_stay_inside", test_links_on_the_medium_stay_inside, NULL,
                  NULL, NULL);
        tests_add(&l, "chain_takes_the_command_line_source_first",
                  test_chain_takes_the_command_line_source_first, NULL, NULL, NULL);
        tests_add(&l, "chain_command_line_failure_is_final",
                  test_chain_command_line_failure_is_final, NULL, NULL, NULL);
        tests_add(&l, "chain_falls_back_to_the_medium", test_chain_falls_back_to_the_medium, NULL,
                  NULL, NULL);
        tests_add(&l, "chain_checks_the_command_line_digest",
                  test_chain_checks_the_command_line_digest, NULL, NULL, NULL);
        tests_add(&l, "chain_says_what_it_tried", test_chain_says_what_it_tried, NULL, NULL, NULL);
        /* One group (tests/run.sh counts the last summary), one scratch directory for it. */
        r = _cmocka_run_group_tests("answer_fetch", l.tests, l.n, files_setup, files_teardown);
        free(l.tests);
        return r;
}
