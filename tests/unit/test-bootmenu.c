/* bootmenu: the ISO's grub.cfg — entries and their kernel arguments, default and timeout
 * with and without an embedded answer, the serial console carried into the entries and into
 * GRUB, titles quoted against injection, and each rejected option. */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bootmenu.h"
#include "cleanup.h"

#define MAX_ENTRIES 16

struct entry {
        char title[256];
        char id[64];
        char linux_line[1024]; /* "linux PATH ARGS..." without the tab */
        char gfxpayload[16];
};

struct menu {
        char *text;
        struct entry e[MAX_ENTRIES];
        size_t n;
};

static void menu_release(struct menu *m)
{
        free(m->text);
        m->text = NULL;
}

/* Reads one GRUB word made of '...' and \' pieces, as GRUB's lexer does; returns the rest. */
static const char *grub_unquote(const char *p, char *out, size_t size)
{
        size_t n = 0;

        while (*p && *p != ' ') {
                if (*p == '\'') {
                        const char *end = strchr(p + 1, '\'');
                        assert_non_null(end);
                        for (p++; p < end; p++) {
                                assert_true(n + 1 < size);
                                out[n++] = *p;
                        }
                        p++;
                } else if (*p == '\\' && p[1]) {
                        assert_true(n + 1 < size);
                        out[n++] = p[1];
                        p += 2;
                } else {
                        fail_msg("unquoted character '%c' in a title", *p);
                }
        }
        out[n] = '\0';
        return p;
}

static int render(const struct bootmenu_options *o, struct menu *m, struct err *err)
{
        size_t len = 0;
        FILE *f = open_memstream(&m->text, &len);
        int r;

        assert_non_null(f);
        r = bootmenu_write_cfg(f, o, err);
        assert_int_equal(fclose(f), 0);
        m->n = 0;
        if (r < 0)
                return r;
        /* Split the text into entries. */
        for (char *line = m->text; line && *line;) {
                char *nl = strchr(line, '\n');
                size_t ll = nl ? (size_t) (nl - line) : strlen(line);
                char buf[2048];

                assert_true(ll < sizeof(buf));
                memcpy(buf, line, ll);
                buf[ll] = '\0';
                const char *s = buf + strspn(buf, "\t");
                if (strncmp(s, "menuentry ", 10) == 0) {
                        struct entry *e = &m->e[m->n++];
                        assert_true(m->n <= MAX_ENTRIES);
                        *e = (struct entry){ 0 };
                        s = grub_unquote(s + 10, e->title, sizeof(e->title));
                        assert_int_equal(sscanf(s, " --id %63s {", e->id), 1);
                } else if (m->n && strncmp(s, "linux ", 6) == 0) {
                        (void) snprintf(m->e[m->n - 1].linux_line,
                                        sizeof(m->e[m->n - 1].linux_line), "%s", s);
                } else if (m->n && strncmp(s, "set gfxpayload=", 15) == 0) {
                        (void) snprintf(m->e[m->n - 1].gfxpayload,
                                        sizeof(m->e[m->n - 1].gfxpayload), "%s", s + 15);
                }
                line = nl ? nl + 1 : NULL;
        }
        return 0;
}

static const struct entry *find(const struct menu *m, const char *id)
{
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->e[i].id, id) == 0)
                        return &m->e[i];
        return NULL;
}

static bool has_line(const struct menu *m, const char *line)
{
        for (const char *p = m->text; (p = strstr(p, line)); p++)
                if ((p == m->text || p[-1] == '\n' || p[-1] == '\t') &&
                    (p[strlen(line)] == '\n' || p[strlen(line)] == '\0'))
                        return true;
        return false;
}

static struct bootmenu_options base(void)
{
        return (struct bootmenu_options){
                .label = "kvmforge",
                .version = "1.0",
                .kernel = "/boot/vmlinuz",
                .initrd = "/boot/initrd.img",
                .timeout = BOOTMENU_TIMEOUT_DEFAULT,
        };
}

/* The kernel line of each entry, in the order of the menu, without an answer. */
static const struct {
        const char *id, *linux_line, *gfxpayload;
} plain[] = {
        { "install", "linux /boot/vmlinuz kvmforge.mode=install", "$kvmforge_gfx" },
        { "install-text", "linux /boot/vmlinuz kvmforge.mode=install nomodeset vga=normal",
          "text" },
        { "install-ttyS0",
          "linux /boot/vmlinuz kvmforge.mode=install console=tty0 console=ttyS0,115200", "text" },
        { "install-ttyS1",
          "linux /boot/vmlinuz kvmforge.mode=install console=tty0 console=ttyS1,115200", "text" },
        { "rescue", "linux /boot/vmlinuz kvmforge.mode=rescue", "$kvmforge_gfx" },
        { "report", "linux /boot/vmlinuz kvmforge.mode=report", "$kvmforge_gfx" },
};

static void test_without_answer_every_install_entry_and_no_unattended(void **state)
{
        struct bootmenu_options o = base();
        _cleanup_(menu_release) struct menu m = { 0 };
        (void) state;

        assert_int_equal(render(&o, &m, NULL), 0);
        assert_int_equal(m.n, ELEMENTSOF(plain) + 1); /* + UEFI firmware settings */
        for (size_t i = 0; i < ELEMENTSOF(plain); i++) {
                assert_string_equal(m.e[i].id, plain[i].id);
                assert_string_equal(m.e[i].linux_line, plain[i].linux_line);
                assert_string_equal(m.e[i].gfxpayload, plain[i].gfxpayload);
                assert_non_null(strstr(m.e[i].title, "kvmforge 1.0: "));
        }
        assert_string_equal(m.e[ELEMENTSOF(plain)].id, "fwsetup");
        assert_null(find(&m, "unattended"));
        assert_null(strstr(m.text, "unattended"));
        assert_true(has_line(&m, "initrd /boot/initrd.img"));
}

static void test_without_answer_first_entry_default_and_no_automatic_start(void **state)
{
        struct bootmenu_options o = base();
        _cleanup_(menu_release) struct menu m = { 0 };
        (void) state;

        assert_int_equal(render(&o, &m, NULL), 0);
        assert_true(has_line(&m, "set default=install"));
        assert_true(has_line(&m, "set timeout=-1"));
        assert_string_equal(m.e[0].id, "install");
}

static void test_with_answer_unattended_is_first_default_after_5s(void **state)
{
        struct bootmenu_options o = base();
        _cleanup_(menu_release) struct menu m = { 0 };
        (void) state;

        o.answer_embedded = true;
        assert_int_equal(render(&o, &m, NULL), 0);
        assert_true(has_line(&m, "set default=unattended"));
        assert_true(has_line(&m, "set timeout=5"));
        assert_false(has_line(&m, "set timeout=-1"));
        assert_string_equal(m.e[0].id, "unattended");
        assert_string_equal(m.e[0].linux_line,
                            "linux /boot/vmlinuz kvmforge.mode=unattended console=tty0 "
                            "console=ttyS0,115200");
        for (size_t i = 0; i < ELEMENTSOF(plain); i++)
                assert_string_equal(find(&m, plain[i].id)->linux_line, plain[i].linux_line);
}

static void test_explicit_timeout_wins(void **state)
{
        _cleanup_(menu_release) struct menu m = { 0 }, w = { 0 };
        struct bootmenu_options o = base();
        (void) state;

        o.timeout = 12;
        assert_int_equal(render(&o, &m, NULL), 0);
        assert_true(has_line(&m, "set timeout=12"));
        o.answer_embedded = true;
        o.timeout = BOOTMENU_TIMEOUT_WAIT;
        assert_int_equal(render(&o, &w, NULL), 0);
        assert_true(has_line(&w, "set timeout=-1"));
        assert_true(has_line(&w, "set default=unattended"));
}

static void test_console_spec_in_grub_and_every_entry(void **state)
{
        struct bootmenu_options o = base();
        _cleanup_(menu_release) struct menu m = { 0 };
        (void) state;

        o.console = "ttyS1,57600";
        o.answer_embedded = true;
        assert_int_equal(render(&o, &m, NULL), 0);
        /* GRUB drives that port itself, unconditionally, next to the screen. */
        assert_true(has_line(&m, "serial --unit=1 --speed=57600"));
        assert_true(has_line(&m, "terminal_input --append serial"));
        assert_true(has_line(&m, "terminal_output --append serial"));
        assert_null(strstr(m.text, "if serial"));
        for (size_t i = 0; i < m.n; i++) {
                const struct entry *e = &m.e[i];
                if (strcmp(e->id, "fwsetup") == 0)
                        continue;
                /* An entry named after its own port keeps that port. */
                if (strcmp(e->id, "install-ttyS0") == 0 || strcmp(e->id, "install-ttyS1") == 0)
                        assert_non_null(strstr(e->linux_line, " console=tty0 console=ttyS"));
                else
                        assert_non_null(strstr(e->linux_line, " console=tty0 console=ttyS1,57600"));
        }
        assert_string_equal(find(&m, "unattended")->linux_line,
                            "linux /boot/vmlinuz kvmforge.mode=unattended console=tty0 "
                            "console=ttyS1,57600");
        assert_string_equal(find(&m, "install-text")->linux_line,
                            "linux /boot/vmlinuz kvmforge.mode=install nomodeset vga=normal "
                            "console=tty0 console=ttyS1,57600");
}

static void test_console_parity_and_bits_reach_grub(void **state)
{
        struct bootmenu_options o = base();
        _cleanup_(menu_release) struct menu m = { 0 };
        (void) state;

        o.console = "ttyS0,9600e7";
        assert_int_equal(render(&o, &m, NULL), 0);
        assert_true(has_line(&m, "serial --unit=0 --speed=9600 --parity=even --word=7"));
        assert_non_null(strstr(find(&m, "rescue")->linux_line, "console=ttyS0,9600e7"));
}

static void test_console_grub_cannot_drive_only_reaches_kernel(void **state)
{
        struct bootmenu_options o = base();
        _cleanup_(menu_release) struct menu m = { 0 };
        (void) state;

        o.console = "hvc0";
        assert_int_equal(render(&o, &m, NULL), 0);
        assert_null(strstr(m.text, "serial --unit=1"));
        assert_true(has_line(&m, "if serial --unit=0 --speed=115200; then"));
        assert_string_equal(find(&m, "install")->linux_line,
                            "linux /boot/vmlinuz kvmforge.mode=install console=tty0 console=hvc0");
}

static void test_without_console_serial_is_probed(void **state)
{
        struct bootmenu_options o = base();
        _cleanup_(menu_release) struct menu m = { 0 };
        (void) state;

        assert_int_equal(render(&o, &m, NULL), 0);
        assert_true(has_line(&m, "if serial --unit=0 --speed=115200; then"));
        assert_null(strstr(find(&m, "install")->linux_line, "console="));
        assert_null(strstr(find(&m, "rescue")->linux_line, "console="));
}

static void test_graphics_safe_modes_and_font(void **state)
{
        _cleanup_(menu_release) struct menu m = { 0 }, f = { 0 };
        struct bootmenu_options o = base();
        (void) state;

        assert_int_equal(render(&o, &m, NULL), 0);
        assert_true(has_line(&m, "set gfxmode=1024x768,800x600,auto"));
        /* The graphical entries: GOP's mode kept under UEFI, a mode of the list under BIOS. */
        assert_true(has_line(&m, "set kvmforge_gfx=\"$gfxmode\""));
        assert_true(has_line(&m, "if [ \"$grub_platform\" = efi ]; then\n\tset kvmforge_gfx=keep"));
        assert_null(strstr(m.text, "gfxterm")); /* no font: no graphical terminal */
        o.font = true;
        assert_int_equal(render(&o, &f, NULL), 0);
        /* gfxterm only under UEFI: GRUB hangs in it on a BIOS machine without VGA. */
        assert_non_null(strstr(f.text, "if [ \"$grub_platform\" = efi ]; then\n"
                                       "\tset kvmforge_gfx=keep\n"
                                       "\tif loadfont " BOOTMENU_FONT "; then\n"
                                       "\t\tterminal_output gfxterm\n"
                                       "\tfi\n"
                                       "fi\n"));
}

static void test_append_reaches_every_entry(void **state)
{
        struct bootmenu_options o = base();
        _cleanup_(menu_release) struct menu m = { 0 };
        (void) state;

        o.append = "quiet kvmforge.answer=http://10.0.0.1/ks.cfg";
        o.answer_embedded = true;
        assert_int_equal(render(&o, &m, NULL), 0);
        for (size_t i = 0; i < m.n; i++)
                if (strcmp(m.e[i].id, "fwsetup") != 0)
                        assert_non_null(strstr(m.e[i].linux_line,
                                               " quiet kvmforge.answer=http://10.0.0.1/ks.cfg"));
}

static void test_quotes_in_label_stay_in_the_title(void **state)
{
        struct bootmenu_options o = base();
        _cleanup_(menu_release) struct menu m = { 0 };
        (void) state;

        o.label = "it's' { linux /evil }; echo '$x";
        o.version = "2'";
        assert_int_equal(render(&o, &m, NULL), 0);
        assert_int_equal(m.n, ELEMENTSOF(plain) + 1);
        assert_string_equal(m.e[0].title,
                            "it's' { linux /evil }; echo '$x 2': Install (graphical console)");
        assert_string_equal(m.e[0].id, "install");
        assert_string_equal(m.e[0].linux_line, plain[0].linux_line);
        /* Only the entries' own kernels: the label's text never became a command. */
        assert_null(strstr(m.text, "\nlinux /evil"));
        assert_null(strstr(m.text, "\tlinux /evil"));
}

struct bad {
        const char *name;
        void (*patch)(struct bootmenu_options *o);
};

static void newline_in_label(struct bootmenu_options *o)
{
        o->label = "kvm\nmenuentry x {";
}
static void escape_in_version(struct bootmenu_options *o)
{
        o->version = "1\x1b[2J";
}
static void long_label(struct bootmenu_options *o)
{
        o->label = "0123456789012345678901234567890123456789012345678901234567890123456789";
}
static void relative_kernel(struct bootmenu_options *o)
{
        o->kernel = "boot/vmlinuz";
}
static void kernel_with_space(struct bootmenu_options *o)
{
        o->kernel = "/boot/vmlinuz rd.break";
}
static void kernel_with_dollar(struct bootmenu_options *o)
{
        o->kernel = "/boot/$x";
}
static void initrd_dotdot(struct bootmenu_options *o)
{
        o->initrd = "/boot/../../initrd";
}
static void no_initrd(struct bootmenu_options *o)
{
        o->initrd = NULL;
}
static void console_injection(struct bootmenu_options *o)
{
        o->console = "ttyS0;reboot";
}
static void console_not_a_tty(struct bootmenu_options *o)
{
        o->console = "sda1";
}
static void console_no_number(struct bootmenu_options *o)
{
        o->console = "ttyS,115200";
}
static void console_bad_speed(struct bootmenu_options *o)
{
        o->console = "ttyS0,fast";
}
static void console_trailing(struct bootmenu_options *o)
{
        o->console = "ttyS0,115200n8x";
}
static void append_semicolon(struct bootmenu_options *o)
{
        o->append = "quiet; reboot";
}
static void append_variable(struct bootmenu_options *o)
{
        o->append = "root=$root";
}
static void append_newline(struct bootmenu_options *o)
{
        o->append = "quiet\n}\nmenuentry x {";
}
static void timeout_below_wait(struct bootmenu_options *o)
{
        o->timeout = -3;
}
static void timeout_too_long(struct bootmenu_options *o)
{
        o->timeout = 100000;
}

static const struct bad bads[] = {
        { "newline_in_label", newline_in_label },
        { "escape_in_version", escape_in_version },
        { "long_label", long_label },
        { "relative_kernel", relative_kernel },
        { "kernel_with_space", kernel_with_space },
        { "kernel_with_dollar", kernel_with_dollar },
        { "initrd_dotdot", initrd_dotdot },
        { "no_initrd", no_initrd },
        { "console_injection", console_injection },
        { "console_not_a_tty", console_not_a_tty },
        { "console_no_number", console_no_number },
        { "console_bad_speed", console_bad_speed },
        { "console_trailing", console_trailing },
        { "append_semicolon", append_semicolon },
        { "append_variable", append_variable },
        { "append_newline", append_newline },
        { "timeout_below_wait", timeout_below_wait },
        { "timeout_too_long", timeout_too_long },
};

static void test_bad_option_is_refused_before_any_output(void **state)
{
        const struct bad *b = *state;
        struct bootmenu_options o = base();
        _cleanup_(menu_release) struct menu m = { 0 };
        struct err err = { { 0 } };

        b->patch(&o);
        assert_int_equal(render(&o, &m, &err), -EINVAL);
        assert_true(err.msg[0] != '\0');
        assert_string_equal(m.text, "");
        assert_int_equal(bootmenu_check(&o, NULL), -EINVAL);
}

static void test_good_consoles_are_accepted(void **state)
{
        static const char *const good[] = { "ttyS0",          "ttyS1,115200", "ttyS0,9600n8",
                                            "ttyUSB0,115200", "ttyAMA0",      "hvc0" };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                struct bootmenu_options o = base();
                o.console = good[i];
                assert_int_equal(bootmenu_check(&o, NULL), 0);
        }
}

static void test_build_ids(void **state)
{
        (void) state;
        assert_true(bootmenu_build_id_valid("20231114221320-kvmforge"));
        assert_true(bootmenu_build_id_valid("a.b_c-1"));
        assert_false(bootmenu_build_id_valid(""));
        assert_false(bootmenu_build_id_valid(NULL));
        assert_false(bootmenu_build_id_valid("a/b"));
        assert_false(bootmenu_build_id_valid("a b"));
        assert_false(bootmenu_build_id_valid("$root"));
        assert_false(bootmenu_build_id_valid(
                "0123456789012345678901234567890123456789012345678901234567890123456789"));
}

int main(void)
{
        struct CMUnitTest tests[ELEMENTSOF(bads) + 16];
        size_t n = 0;

#define ADD(f) tests[n++] = (struct CMUnitTest) cmocka_unit_test(f)
        ADD(test_without_answer_every_install_entry_and_no_unattended);
        ADD(test_without_answer_first_entry_default_and_no_automatic_start);
        ADD(test_with_answer_unattended_is_first_default_after_5s);
        ADD(test_explicit_timeout_wins);
        ADD(test_console_spec_in_grub_and_every_entry);
        ADD(test_console_parity_and_bits_reach_grub);
        ADD(test_console_grub_cannot_drive_only_reaches_kernel);
        ADD(test_without_console_serial_is_probed);
        ADD(test_graphics_safe_modes_and_font);
        ADD(test_append_reaches_every_entry);
        ADD(test_quotes_in_label_stay_in_the_title);
        ADD(test_good_consoles_are_accepted);
        ADD(test_build_ids);
#undef ADD
        for (size_t i = 0; i < ELEMENTSOF(bads); i++)
                tests[n++] = (struct CMUnitTest){ bads[i].name,
                                                  test_bad_option_is_refused_before_any_output,
                                                  NULL, NULL, (void *) &bads[i] };
        return _cmocka_run_group_tests("bootmenu", tests, n, NULL, NULL);
}
