/* kickstart: words split as pykickstart splits them, sections of both dialects, positions for
 * messages, and one case per way a file can be broken. */

#include "helpers.h"
#include "kickstart.h"

static struct kickstart parse_ok(const char *text)
{
        struct kickstart ks;
        struct err err = { { 0 } };
        int r = kickstart_parse(text, strlen(text), "ks.cfg", &ks, &err);
        if (r != 0)
                fail_msg("parse failed: %s", err.msg);
        return ks;
}

static void test_quoting_like_pykickstart(void **state)
{
        struct kickstart ks = parse_ok(
                "network --bootproto=static --ip=10.0.0.5 --nameserver=\"1.1.1.1,8.8.8.8\"\n"
                "rootpw --iscrypted '$6$salt$hash with spaces'\n"
                "bootloader --append=\"console=ttyS0,115200 \\\"quoted\\\" \\x\"\n"
                "user --name=a\\ b --gecos=x#y  # a comment\n");
        const struct kickstart_command *c;

        (void) state;
        assert_int_equal(ks.n_commands, 4);
        c = &ks.commands[0];
        assert_int_equal(c->n_words, 4);
        assert_string_equal(c->words[3].text, "--nameserver=1.1.1.1,8.8.8.8");
        assert_int_equal(c->words[1].line, 1);
        assert_int_equal(c->words[1].col, 9);
        assert_string_equal(ks.commands[1].words[2].text, "$6$salt$hash with spaces");
        assert_string_equal(ks.commands[2].words[1].text,
                            "--append=console=ttyS0,115200 \"quoted\" \\x");
        c = &ks.commands[3];
        assert_int_equal(c->n_words, 3); /* the comment is not a word; '#' inside one is */
        assert_string_equal(c->words[1].text, "--name=a b");
        assert_string_equal(c->words[2].text, "--gecos=x#y");
        kickstart_release(&ks);
}

static void test_crlf_no_final_newline_version(void **state)
{
        struct kickstart ks = parse_ok("#version=RHEL9\r\n\r\n  # note\r\ntext\r\nreboot --eject");

        (void) state;
        assert_string_equal(ks.version, "RHEL9");
        assert_int_equal(ks.n_commands, 2);
        assert_string_equal(ks.commands[0].words[0].text, "text");
        assert_int_equal(ks.commands[0].words[0].line, 4);
        assert_string_equal(ks.commands[1].words[1].text, "--eject");
        assert_int_equal(ks.commands[1].words[1].line, 5);
        kickstart_release(&ks);
}

static void test_anaconda_sections(void **state)
{
        struct kickstart ks = parse_ok("lang en_US.UTF-8\n"
                                       "%packages --ignoremissing\n"
                                       "vim\n"
                                       "-nano\n"
                                       "@standard\n"
                                       "%end\n"
                                       "%post --nochroot --log=/root/post.log\n"
                                       "echo \"%end is not this\" # a shell comment\n"
                                       "  %include /tmp/x\n"
                                       "%end\n"
                                       "%include /tmp/part-include\n"
                                       "keyboard us\n");

        (void) state;
        assert_int_equal(ks.n_sections, 2);
        assert_string_equal(ks.sections[0].words[0].text, "%packages");
        assert_string_equal(ks.sections[0].words[1].text, "--ignoremissing");
        assert_string_equal(ks.sections[0].body, "vim\n-nano\n@standard\n");
        assert_int_equal(ks.sections[0].body_line, 3);
        assert_true(ks.sections[0].ended);
        assert_string_equal(ks.sections[1].words[2].text, "--log=/root/post.log");
        assert_string_equal(ks.sections[1].body,
                            "echo \"%end is not this\" # a shell comment\n  %include /tmp/x\n");
        assert_int_equal(ks.n_commands, 3);
        assert_string_equal(ks.commands[1].words[0].text, "%include");
        assert_string_equal(ks.commands[2].words[0].text, "keyboard");
        kickstart_release(&ks);
}

static void test_esxi_sections_end_at_the_next(void **state)
{
        struct kickstart ks = parse_ok("vmaccepteula\n"
                                       "install --firstdisk --overwritevmfs\n"
                                       "%pre --interpreter=busybox\n"
                                       "echo pre\n"
                                       "%firstboot --interpreter=busybox\n"
                                       "esxcli system hostname set --host=h1\n");

        (void) state;
        assert_int_equal(ks.n_commands, 2);
        assert_int_equal(ks.n_sections, 2);
        assert_string_equal(ks.sections[0].body, "echo pre\n");
        assert_false(ks.sections[0].ended);
        assert_string_equal(ks.sections[1].words[0].text, "%firstboot");
        assert_string_equal(ks.sections[1].body, "esxcli system hostname set --host=h1\n");
        assert_false(ks.sections[1].ended);
        kickstart_release(&ks);
}

struct bad {
        const char *name, *text, *msg;
};

static const struct bad bads[] = {
        { "unterminated_single_quote", "rootpw 'abc\n", "ks.cfg:1:8: unterminated single quote" },
        { "unterminated_double_quote", "text\nnetwork --hostname=\"h\n",
          "ks.cfg:2:20: unterminated double quote" },
        { "trailing_backslash", "part / --size=1 \\\n", "ks.cfg:1:17: a backslash ends the line" },
        { "end_without_section", "text\n%end\n", "ks.cfg:2:1: '%end' closes no section" },
        { "unknown_section", "%postt\n%end\n", "ks.cfg:1:1: unknown section '%postt'" },
        { "nul_byte", "text\0reboot\n", "holds a NUL byte" },
};

static void test_bad_file_is_refused(void **state)
{
        const struct bad *b = *state;
        struct kickstart ks;
        struct err err = { { 0 } };
        size_t len = strcmp(b->name, "nul_byte") == 0 ? 12 : strlen(b->text);

        assert_int_equal(kickstart_parse(b->text, len, "ks.cfg", &ks, &err), -EBADMSG);
        if (!strstr(err.msg, b->msg))
                fail_msg("%s: got '%s'", b->name, err.msg);
}

static void test_too_many_words(void **state)
{
        char *text = malloc(KICKSTART_MAX_WORDS * 2 + 16), *p = text;
        struct kickstart ks;
        struct err err = { { 0 } };

        (void) state;
        for (unsigned i = 0; i <= KICKSTART_MAX_WORDS; i++) {
                *p++ = 'x';
                *p++ = ' ';
        }
        *p = '\0';
        assert_int_equal(kickstart_parse(text, strlen(text), "ks.cfg", &ks, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "words on one line"));
        free(text);
}

int main(void)
{
        struct test_list l = { 0 };

        tests_add(&l, "quoting_like_pykickstart", test_quoting_like_pykickstart, NULL, NULL, NULL);
        tests_add(&l, "crlf_no_final_newline_version", test_crlf_no_final_newline_version, NULL,
                  NULL, NULL);
        tests_add(&l, "anaconda_sections", test_anaconda_sections, NULL, NULL, NULL);
        tests_add(&l, "esxi_sections_end_at_the_next", test_esxi_sections_end_at_the_next, NULL,
                  NULL, NULL);
        for (size_t i = 0; i < ELEMENTSOF(bads); i++)
                tests_add(&l, bads[i].name, test_bad_file_is_refused, NULL, NULL,
                          (void *) &bads[i]);
        tests_add(&l, "too_many_words", test_too_many_words, NULL, NULL, NULL);
        return tests_run("kickstart", &l);
}
