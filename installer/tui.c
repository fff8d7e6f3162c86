/* kvmforge-install tui: the interactive installer, newt screens over the install pipeline.
 *
 * Welcome (the hardware's verdicts), disks and layout (the plan redrawn as fields change),
 * location and keyboard, root password and contacts, network, summary (every choice, the
 * plan, the disks to be ERASED by name, model and serial; a confirmation), progress (the
 * pipeline's events), done or failed. The choices are plain data (common/choices.c): the
 * screens fill them in, and the install runs with the kickstart text they make, so an answer
 * file says the same thing ("Save answer file" writes it). Works at 80x24, on a serial
 * console and on a VGA text console; every screen is driven by the keyboard alone. */
#include "answer.h"
#include "answer_fetch.h"
#include "child.h"
#include "choices.h"
#include "cleanup.h"
#include "cli.h"
#include "file.h"
#include "hw.h"
#include "log.h"
#include "pipeline.h"
#include "storage.h"
#include "strv.h"
#include "target.h"
#include "units.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <newt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_LOG "/tmp/kvmforge-install.log"
#define KEYMAP_DIR  "/usr/share/kvmforge/keymaps"
#define SAVE_MOUNT  "/run/kvmforge/save"
#define WIN_W       74 /* windows fit 80x24 with their border and shadow */
#define WIN_H       18
#define COLOR_ERROR NEWT_COLORSET_CUSTOM(0)
#define COLOR_OK    NEWT_COLORSET_CUSTOM(1)

static const char *arg_medium;
static const char *arg_payload;
static const char *arg_target;
static const char *arg_sysroot;
static const char *arg_log = DEFAULT_LOG;
static bool arg_dry_run;
static bool arg_no_reboot;

/* What a screen ends with: MOVE_OTHER is a button of its own (the caller has it). */
enum move { MOVE_NEXT, MOVE_BACK, MOVE_QUIT, MOVE_OTHER };

struct tui {
        struct hw_report hw;
        struct choices c;
        struct choices_lease lease;
        bool have_lease;
        char **zones;
        size_t n_zones;
        bool vt; /* a VGA text console: keymaps can be loaded */
        int log_fd;
        char keymap_note[80];
};

static void help(void)
{
        printf("Usage: kvmforge-install tui [OPTIONS...]\n\n"
               "The interactive installer: text screens (80x24, serial or VGA console, keyboard\n"
               "only) that detect the hardware, ask for the disks and layout, time zone,\n"
               "keyboard, root password, network, show the plan and the disks that will be\n"
               "ERASED, and install after a confirmation. \"Save answer file\" writes the\n"
               "choices as a kickstart file for unattended installs of the next machines.\n\n"
               "Options:\n"
               "      --medium=DIR     where the install medium is mounted ($KVMFORGE_MEDIUM)\n"
               "      --payload=FILE   the node's system (default MEDIUM/" PIPELINE_PAYLOAD_PATH
               ")\n"
               "      --target=DIR     where the new system is mounted (default " PIPELINE_TARGET
               ")\n"
               "      --dry-run        go through every screen and plan, write nothing\n"
               "      --sysroot=DIR    detect from a captured tree (see 'detect'); dry runs only\n"
               "      --no-reboot      in the live environment, do not reboot at the end\n"
               "      --log=FILE       every command and its output (default " DEFAULT_LOG ")\n"
               "  -h, --help           show this help\n\n"
               "Keys: Tab and Shift-Tab (or the arrows) move, Space marks, Enter presses a\n"
               "button, F12 is Next. Alt-F2 is a shell and Alt-F3 the log in the live\n"
               "environment.\n\n"
               "Exit status: 0 installed (or planned with --dry-run), 1 failed or quit, 2 bad\n"
               "usage.\n");
}

static int parse(int argc, char **argv)
{
        enum {
                OPT_MEDIUM = 0x100,
                OPT_PAYLOAD,
                OPT_TARGET,
                OPT_DRY_RUN,
                OPT_SYSROOT,
                OPT_NO_REBOOT,
                OPT_LOG
        };
        static const struct option options[] = {
                { "medium", required_argument, NULL, OPT_MEDIUM },
                { "payload", required_argument, NULL, OPT_PAYLOAD },
                { "target", required_argument, NULL, OPT_TARGET },
                { "dry-run", no_argument, NULL, OPT_DRY_RUN },
                { "sysroot", required_argument, NULL, OPT_SYSROOT },
                { "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
                { "log", required_argument, NULL, OPT_LOG },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case OPT_MEDIUM:
                        arg_medium = optarg;
                        break;
                case OPT_PAYLOAD:
                        arg_payload = optarg;
                        break;
                case OPT_TARGET:
                        arg_target = optarg;
                        break;
                case OPT_DRY_RUN:
                        arg_dry_run = true;
                        break;
                case OPT_SYSROOT:
                        arg_sysroot = optarg;
                        break;
                case OPT_NO_REBOOT:
                        arg_no_reboot = true;
                        break;
                case OPT_LOG:
                        arg_log = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr,
                                "kvmforge-install: bad option; see 'kvmforge-install tui --help'\n");
                        return -EINVAL;
                }
        if (optind != argc) {
                fprintf(stderr, "kvmforge-install: tui takes no arguments; see "
                                "'kvmforge-install tui --help'\n");
                return -EINVAL;
        }
        if (arg_sysroot && !arg_dry_run) {
                fprintf(stderr, "kvmforge-install: --sysroot describes another machine: add "
                                "--dry-run\n");
                return -EINVAL;
        }
        if (!arg_medium)
                arg_medium = getenv("KVMFORGE_MEDIUM");
        return 1;
}

/* ---- small pieces ---- */

/* A label's text, padded to width so a shorter text wipes a longer one, and cut there so it
 * never runs over the window's border. */
static void set_text(newtComponent label, int width, const char *msg)
{
        char line[WIN_W + 1];

        (void) snprintf(line, sizeof(line), "%-*.*s", width, width, msg);
        newtLabelSetText(label, line);
}

/* The same for the labels that start at the window's left edge. */
static void set_error(newtComponent label, const char *msg)
{
        set_text(label, WIN_W - 3, msg);
}

static newtComponent error_label(int top)
{
        newtComponent l = newtLabel(1, top, "");

        set_error(l, "");
        newtLabelSetColors(l, COLOR_ERROR);
        return l;
}

/* An entry holding value with the cursor after it, where typing goes on. */
static newtComponent entry(int left, int top, const char *value, int width, int flags)
{
        newtComponent e = newtEntry(left, top, "", width, NULL, NEWT_FLAG_SCROLL | flags);

        newtEntrySet(e, value, 1);
        return e;
}

static void entry_value(newtComponent e, char *buf, size_t size)
{
        const char *v = newtEntryGetValue(e);
        size_t b = 0, n;

        while (v[b] == ' ')
                b++;
        n = strlen(v + b);
        while (n && v[b + n - 1] == ' ')
                n--;
        (void) snprintf(buf, size, "%.*s", (int) n, v + b);
}

/* Runs form until Back, Next (or F12), or a component in stop; the move. */
static enum move run_form(newtComponent form, newtComponent back, newtComponent next,
                          newtComponent *ret_co)
{
        struct newtExitStruct es;

        newtFormAddHotKey(form, NEWT_KEY_F12);
        for (;;) {
                newtFormRun(form, &es);
                if (es.reason == NEWT_EXIT_HOTKEY && es.u.key == NEWT_KEY_F12)
                        return MOVE_NEXT;
                if (es.reason != NEWT_EXIT_COMPONENT)
                        continue;
                if (es.u.co == back)
                        return MOVE_BACK;
                if (es.u.co == next)
                        return MOVE_NEXT;
                if (ret_co) {
                        *ret_co = es.u.co;
                        return MOVE_OTHER;
                }
        }
}

/* ---- 1. welcome ---- */

static enum move screen_welcome(struct tui *t)
{
        const struct hw_report *hw = &t->hw;
        _cleanup_free_ char *text = NULL;
        size_t len = 0, usable = 0, phys = 0, links = 0;
        FILE *f = open_memstream(&text, &len);
        char a[32], b[32];
        const struct hw_disk *largest = NULL;

        if (!f)
                return MOVE_QUIT;
        for (size_t i = 0; i < hw->n_disks; i++)
                if (hw_disk_usable(&hw->disks[i])) {
                        usable++;
                        if (!largest || hw->disks[i].size > largest->size)
                                largest = &hw->disks[i];
                }
        for (size_t i = 0; i < hw->n_nics; i++)
                if (!hw->nics[i].virtual_dev) {
                        phys++;
                        links += hw->nics[i].carrier == HW_YES;
                }
        fprintf(f, "kvmforge installs a KVM hypervisor node on this machine.\n\n");
        fprintf(f, "Virtualization  %s\n", hw->cpu.verdict == HW_VERDICT_OK ? "ok" : "NOT USABLE");
        fprintf(f, "                %s\n", hw->cpu.reason);
        fprintf(f, "CPU             %.56s, %u threads\n",
                hw->cpu.model[0] ? hw->cpu.model : hw->cpu.vendor, hw->cpu.threads);
        fprintf(f, "Memory          %s%s\n",
                hw->memory ? units_format_bytes(hw->memory, a, sizeof(a)) : "unknown",
                hw->memory && hw->memory < (2ull << 30) ? "  (LOW: a node wants 2 GiB or more)"
                                                        : "");
        fprintf(f, "Disks           %zu usable", usable);
        if (largest)
                fprintf(f, ", largest %s (%s)", largest->name,
                        units_format_bytes(largest->size, b, sizeof(b)));
        fprintf(f, "\nNICs            %zu, %zu with a link\n", phys, links);
        fprintf(f, "Firmware        %s%s\n", hw->firmware.uefi ? "UEFI" : "BIOS",
                hw->firmware.secure_boot == HW_YES ? " with Secure Boot (not supported: turn it "
                                                     "off in the firmware setup)"
                                                   : "");
        fprintf(f, "Video           %s%s%s\n", hw->video.fb[0] ? hw->video.fb : "text console",
                hw->video.fb_size[0] ? " " : "", hw->video.fb_size);
        fprintf(f, "\n");
        if (hw->cpu.verdict != HW_VERDICT_OK)
                fprintf(f, "Problem: guests will run without KVM, slowly. %s\n",
                        hw->cpu.verdict == HW_VERDICT_DISABLED_IN_FIRMWARE
                                ? "Enable \"Intel Virtualization Technology\" (VT-x) or \"SVM "
                                  "Mode\" (AMD-V) in the firmware setup, then boot again."
                                : "");
        if (!usable)
                fprintf(f, "Problem: no disk to install on (the install medium and disks in use "
                           "are not offered). Connect a disk of 8 GiB or more.\n");
        if (!phys)
                fprintf(f, "Problem: no network card found; a node needs one for its guests.\n");
        fclose(f);

        newtCenteredWindow(WIN_W, WIN_H, "Welcome");
        newtComponent tb =
                newtTextbox(1, 0, WIN_W - 4, WIN_H - 2, NEWT_FLAG_WRAP | NEWT_FLAG_SCROLL);
        newtTextboxSetText(tb, text);
        newtComponent quit = newtCompactButton(WIN_W - 26, WIN_H - 1, "Quit");
        newtComponent next = newtCompactButton(WIN_W - 12, WIN_H - 1, "Next");
        newtComponent form = newtForm(NULL, NULL, 0);
        newtFormAddComponents(form, tb, quit, next, NULL);
        newtFormSetCurrent(form, next);
        enum move m = run_form(form, quit, next, NULL);
        newtFormDestroy(form);
        newtPopWindow();
        if (m == MOVE_BACK &&
            newtWinChoice("Quit", "Quit", "Stay", "Leave the installer? Nothing was written.") != 1)
                return screen_welcome(t);
        return m == MOVE_BACK ? MOVE_QUIT : m;
}

/* ---- 2. disks and layout ---- */

struct disks_screen {
        struct tui *t;
        newtComponent tree, details, ext4, xfs, sizes[5], rest, plan, error;
};

/* Reads the screen's fields into the choices. */
static void disks_read(struct disks_screen *s)
{
        struct choices *c = &s->t->c;
        int n = 0;
        _cleanup_free_ const void **sel = newtCheckboxTreeGetSelection(s->tree, &n);
        char *const sizes[] = { c->hdsize, c->swapsize, c->maxroot, c->minfree, c->maxvz };

        memset(c->disks, 0, sizeof(c->disks));
        for (int i = 0; i < n && i < CHOICES_MAX_DISKS; i++)
                (void) snprintf(c->disks[i], sizeof(c->disks[i]), "%s",
                                ((const struct hw_disk *) sel[i])->name);
        (void) snprintf(c->fstype, sizeof(c->fstype), "%s",
                        newtRadioGetCurrent(s->ext4) == s->xfs ? "xfs" : "ext4");
        for (size_t i = 0; i < 5; i++)
                entry_value(s->sizes[i], sizes[i], sizeof(c->hdsize));
        c->rest_root = newtCheckboxGetValue(s->rest) == '*';
}

static const enum choices_field size_fields[5] = { CHOICES_HDSIZE, CHOICES_SWAPSIZE,
                                                   CHOICES_MAXROOT, CHOICES_MINFREE,
                                                   CHOICES_MAXVZ };

/* The plan for what the fields say now, or why there is none. */
static void disks_update(newtComponent co, void *data)
{
        struct disks_screen *s = data;
        _cleanup_(storage_plan_release) struct storage_plan p = { 0 };
        _cleanup_free_ char *text = NULL;
        struct err err = { { 0 } };
        char msg[256] = "";
        size_t len = 0;
        int n = 0;

        (void) co;
        const struct hw_disk *cur = newtCheckboxTreeGetCurrent(s->tree);
        if (cur) {
                choices_disk_details(cur, msg, sizeof(msg));
                set_error(s->details, msg);
        }
        msg[0] = '\0';
        free(newtCheckboxTreeGetSelection(s->tree, &n));
        disks_read(s);
        if (n > CHOICES_MAX_DISKS) {
                newtTextboxSetText(s->plan, "Mark one disk, or two for a RAID1 mirror.");
                newtRefresh();
                return;
        }
        int q = choices_check(&s->t->c, &s->t->hw, CHOICES_DISKS, msg, sizeof(msg));
        for (size_t i = 0; q >= 0 && i < 5; i++)
                q = choices_check(&s->t->c, &s->t->hw, size_fields[i], msg, sizeof(msg));
        if (q < 0) {
                newtTextboxSetText(s->plan, msg);
        } else if (choices_plan(&s->t->c, &s->t->hw, &p, &err) < 0) {
                (void) snprintf(msg, sizeof(msg), "No plan: %s", err.msg);
                newtTextboxSetText(s->plan, msg);
        } else {
                FILE *f = open_memstream(&text, &len);
                if (f) {
                        storage_plan_print(&p, f);
                        fclose(f);
                        newtTextboxSetText(s->plan, text);
                }
        }
        newtRefresh();
}

static enum move screen_disks(struct tui *t)
{
        struct choices *c = &t->c;
        struct disks_screen s = { .t = t };
        static const char *const size_labels[5] = { "Use (GiB)", "Swap", "Root max", "Reserve",
                                                    "Pool max" };
        const char *const sizes[] = { c->hdsize, c->swapsize, c->maxroot, c->minfree, c->maxvz };
        static const int size_x[5] = { 1, 26, 46, 1, 26 }, size_y[5] = { 7, 7, 7, 8, 8 };
        char line[160];
        size_t offered = 0;

        newtCenteredWindow(WIN_W, WIN_H, "Disks and layout");
        newtComponent form = newtForm(NULL, NULL, 0);
        newtFormAddComponent(form, newtLabel(1, 0,
                                             "Space marks the disk to install on; mark "
                                             "two for a RAID1 mirror:"));
        s.tree = newtCheckboxTree(1, 1, 4, NEWT_FLAG_SCROLL);
        newtCheckboxTreeSetWidth(s.tree, WIN_W - 4);
        for (size_t i = 0; i < t->hw.n_disks; i++) {
                const struct hw_disk *d = &t->hw.disks[i];
                if (!hw_disk_usable(d))
                        continue; /* the install medium, disks in use: never targets */
                choices_disk_line(d, line, sizeof(line));
                newtCheckboxTreeAddItem(s.tree, line, (void *) d, 0, NEWT_ARG_APPEND,
                                        NEWT_ARG_LAST);
                offered++;
                for (size_t k = 0; k < CHOICES_MAX_DISKS; k++)
                        if (strcmp(c->disks[k], d->name) == 0)
                                newtCheckboxTreeSetEntryValue(s.tree, (void *) d, '*');
        }
        if (!offered)
                newtCheckboxTreeAddItem(s.tree, "(no disk can be installed on)", NULL, 0,
                                        NEWT_ARG_APPEND, NEWT_ARG_LAST);
        s.details = newtLabel(1, 5, "");
        set_error(s.details, "");
        newtFormAddComponents(form, s.tree, s.details, NULL);
        newtFormAddComponent(form, newtLabel(1, 6, "Filesystem:"));
        s.ext4 = newtRadiobutton(14, 6, "ext4", strcmp(c->fstype, "xfs") != 0, NULL);
        s.xfs = newtRadiobutton(24, 6, "xfs", strcmp(c->fstype, "xfs") == 0, s.ext4);
        newtFormAddComponents(form, s.ext4, s.xfs, NULL);
        newtComponentAddCallback(s.tree, disks_update, &s);
        newtComponentAddCallback(s.ext4, disks_update, &s);
        newtComponentAddCallback(s.xfs, disks_update, &s);
        for (size_t i = 0; i < 5; i++) {
                newtFormAddComponent(form, newtLabel(size_x[i], size_y[i], size_labels[i]));
                s.sizes[i] = entry(size_x[i] + 11, size_y[i], sizes[i], 7, 0);
                newtComponentAddCallback(s.sizes[i], disks_update, &s);
                newtFormAddComponent(form, s.sizes[i]);
        }
        s.rest = newtCheckbox(46, 8, "Rest to root", c->rest_root ? '*' : ' ', NULL, NULL);
        newtComponentAddCallback(s.rest, disks_update, &s);
        newtFormAddComponent(form, s.rest);
        newtFormAddComponent(form, newtLabel(1, 9, "(sizes empty: automatic, as the plan shows)"));
        s.error = error_label(10);
        s.plan = newtTextbox(1, 11, WIN_W - 4, WIN_H - 12, NEWT_FLAG_SCROLL);
        newtComponent back = newtCompactButton(WIN_W - 26, WIN_H - 1, "Back");
        newtComponent next = newtCompactButton(WIN_W - 12, WIN_H - 1, "Next");
        newtFormAddComponents(form, s.error, s.plan, back, next, NULL);
        disks_update(NULL, &s);

        enum move m;
        for (;;) {
                char msg[256];
                m = run_form(form, back, next, NULL);
                disks_read(&s);
                if (m != MOVE_NEXT)
                        break;
                int n = 0;
                free(newtCheckboxTreeGetSelection(s.tree, &n));
                if (n > CHOICES_MAX_DISKS) {
                        set_error(s.error, "mark one disk, or two for a RAID1 mirror");
                        newtFormSetCurrent(form, s.tree);
                        continue;
                }
                if (choices_check(c, &t->hw, CHOICES_DISKS, msg, sizeof(msg)) < 0) {
                        set_error(s.error, msg);
                        newtFormSetCurrent(form, s.tree);
                        continue;
                }
                bool bad = false;
                for (size_t i = 0; i < 5 && !bad; i++)
                        if (choices_check(c, &t->hw, size_fields[i], msg, sizeof(msg)) < 0) {
                                char full[300];
                                (void) snprintf(full, sizeof(full), "%s: %s", size_labels[i], msg);
                                set_error(s.error, full);
                                newtFormSetCurrent(form, s.sizes[i]);
                                bad = true;
                        }
                if (bad)
                        continue;
                _cleanup_(storage_plan_release) struct storage_plan p = { 0 };
                struct err err = { { 0 } };
                if (choices_plan(c, &t->hw, &p, &err) < 0) {
                        set_error(s.error, err.msg);
                        continue;
                }
                break;
        }
        newtFormDestroy(form);
        newtPopWindow();
        return m;
}

/* ---- 3. location and keyboard ---- */

/* The keyboard in the live environment, at once, so that the password is typed with it. */
static void apply_keymap(struct tui *t, const char *name)
{
        char path[256];
        struct err err = { { 0 } };

        if (!t->vt) {
                (void) snprintf(t->keymap_note, sizeof(t->keymap_note),
                                "(a serial console: your terminal's layout applies)");
                return;
        }
        (void) snprintf(path, sizeof(path), KEYMAP_DIR "/%s.bmap", name);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        char *const argv[] = { "loadkmap", NULL };
        struct child_options o = { .log_fd = t->log_fd, .in_fd = fd };
        if (fd < 0 || child_run("loading the keymap", argv, &o, &err) < 0) {
                (void) snprintf(t->keymap_note, sizeof(t->keymap_note), "(not loaded here: %s)",
                                fd < 0 ? "no keymap" : "loadkmap failed");
                file_logf(t->log_fd, "keymap %s: %s\n", name, fd < 0 ? strerror(errno) : err.msg);
                return;
        }
        (void) snprintf(t->keymap_note, sizeof(t->keymap_note), "(%s is in use now)", name);
}

struct location_screen {
        struct tui *t;
        newtComponent zone, zones, keys, note;
        bool syncing;
};

/* Typing in the zone field moves the list to the first zone that starts as the field will
 * read (a filter sees each key before the entry takes it). */
static int zone_typed(newtComponent co, void *data, int ch, int cursor)
{
        struct location_screen *s = data;
        const char *cur = newtEntryGetValue(co);
        char v[96];

        if (ch < 0x20 || ch >= 0x7f || s->syncing)
                return ch;
        (void) snprintf(v, sizeof(v), "%.*s%c%s", cursor, cur, ch, cur + cursor);
        for (size_t i = 0; i < s->t->n_zones; i++)
                if (strncasecmp(s->t->zones[i], v, strlen(v)) == 0) {
                        s->syncing = true;
                        newtListboxSetCurrent(s->zones, (int) i);
                        s->syncing = false;
                        newtRefresh();
                        break;
                }
        return ch;
}

static void zone_picked(newtComponent co, void *data)
{
        struct location_screen *s = data;
        const char *z = newtListboxGetCurrent(co);

        if (s->syncing || !z)
                return;
        s->syncing = true;
        newtEntrySet(s->zone, z, 1);
        s->syncing = false;
        newtRefresh();
}

static void key_picked(newtComponent co, void *data)
{
        struct location_screen *s = data;
        const char *k = newtListboxGetCurrent(co);

        if (!k)
                return;
        apply_keymap(s->t, k);
        (void) snprintf(s->t->c.keyboard, sizeof(s->t->c.keyboard), "%s", k);
        set_error(s->note, s->t->keymap_note);
        newtRefresh();
}

static enum move screen_location(struct tui *t)
{
        struct choices *c = &t->c;
        struct location_screen s = { .t = t };
        char line[64];

        newtCenteredWindow(WIN_W, WIN_H, "Location and keyboard");
        newtComponent form = newtForm(NULL, NULL, 0);
        newtFormAddComponent(form, newtLabel(1, 0, "Time zone (type to search):"));
        s.zone = entry(1, 1, c->timezone, 33, 0);
        s.zones = newtListbox(1, 2, WIN_H - 6, NEWT_FLAG_SCROLL);
        newtListboxSetWidth(s.zones, 33);
        for (size_t i = 0; i < t->n_zones; i++) {
                newtListboxAppendEntry(s.zones, t->zones[i], t->zones[i]);
                if (strcmp(t->zones[i], c->timezone) == 0)
                        newtListboxSetCurrent(s.zones, (int) i);
        }
        newtFormAddComponent(form, newtLabel(36, 0, "Keyboard layout:"));
        s.keys = newtListbox(36, 1, WIN_H - 5, NEWT_FLAG_SCROLL);
        newtListboxSetWidth(s.keys, 38);
        for (size_t i = 0; i < choices_n_keyboards; i++) {
                (void) snprintf(line, sizeof(line), "%-16s %s", choices_keyboards[i][1],
                                choices_keyboards[i][0]);
                newtListboxAppendEntry(s.keys, line, choices_keyboards[i][0]);
        }
        newtListboxSetCurrentByKey(s.keys, (void *) c->keyboard);
        for (size_t i = 0; i < choices_n_keyboards; i++)
                if (strcmp(choices_keyboards[i][0], c->keyboard) == 0)
                        newtListboxSetCurrent(s.keys, (int) i);
        s.note = newtLabel(1, WIN_H - 3, "");
        set_error(s.note, t->keymap_note);
        newtComponent error = error_label(WIN_H - 2);
        newtEntrySetFilter(s.zone, zone_typed, &s);
        newtComponentAddCallback(s.zones, zone_picked, &s);
        newtComponentAddCallback(s.keys, key_picked, &s);
        newtComponent back = newtCompactButton(WIN_W - 26, WIN_H - 1, "Back");
        newtComponent next = newtCompactButton(WIN_W - 12, WIN_H - 1, "Next");
        newtFormAddComponents(form, s.zone, s.zones, s.keys, s.note, error, back, next, NULL);

        enum move m;
        for (;;) {
                char msg[256];
                m = run_form(form, back, next, NULL);
                entry_value(s.zone, c->timezone, sizeof(c->timezone));
                /* What was typed to search, completed by the list's choice. */
                const char *z = newtListboxGetCurrent(s.zones);
                if (z && choices_check(c, &t->hw, CHOICES_TIMEZONE, NULL, 0) < 0 &&
                    strncasecmp(z, c->timezone, strlen(c->timezone)) == 0) {
                        (void) snprintf(c->timezone, sizeof(c->timezone), "%s", z);
                        newtEntrySet(s.zone, z, 1);
                }
                const char *k = newtListboxGetCurrent(s.keys);
                if (k)
                        (void) snprintf(c->keyboard, sizeof(c->keyboard), "%s", k);
                if (m != MOVE_NEXT)
                        break;
                if (choices_check(c, &t->hw, CHOICES_TIMEZONE, msg, sizeof(msg)) < 0) {
                        set_error(error, msg);
                        newtFormSetCurrent(form, s.zone);
                        continue;
                }
                if (choices_check(c, &t->hw, CHOICES_KEYBOARD, msg, sizeof(msg)) < 0) {
                        set_error(error, msg);
                        newtFormSetCurrent(form, s.keys);
                        continue;
                }
                break;
        }
        newtFormDestroy(form);
        newtPopWindow();
        return m;
}

/* ---- 4. password and contacts ---- */

static void strength_update(newtComponent co, void *data)
{
        newtComponent label = data;

        set_text(label, WIN_W - 19, choices_password_strength(newtEntryGetValue(co)));
        newtRefresh();
}

/* The key line from a URL, a file or a partition ("hd:sdb1:/id.pub"), as the answer's own
 * sources are read; the first line that is a key. */
static int fetch_key(struct tui *t, const char *src, char *buf, size_t size, char *msg,
                     size_t msize)
{
        _cleanup_(answer_source_release) struct answer_source s = { 0 };
        struct answer_fetch_options fo = { .medium_dir = arg_medium };
        struct err err = { { 0 } };
        char *save = NULL;

        if (answer_fetch(src, &fo, &s, &err) < 0) {
                (void) snprintf(msg, msize, "%s", err.msg);
                return -EIO;
        }
        file_logf(t->log_fd, "SSH key read from %s (sha256 %s)\n", s.name, s.sha256);
        for (char *l = strtok_r(s.text, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
                struct choices probe = { 0 };
                (void) snprintf(probe.sshkey, sizeof(probe.sshkey), "%s", l);
                if (l[0] != '#' && l[0] &&
                    choices_check(&probe, NULL, CHOICES_SSHKEY, NULL, 0) == 0) {
                        (void) snprintf(buf, size, "%s", l);
                        return 0;
                }
        }
        (void) snprintf(msg, msize, "%s holds no OpenSSH public key line", s.name);
        return -EINVAL;
}

static bool key_source(const char *s)
{
        return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || !strncmp(s, "hd:", 3) ||
               !strncmp(s, "file:", 5) || s[0] == '/';
}

static enum move screen_accounts(struct tui *t)
{
        struct choices *c = &t->c;
        char pw[256], again[256], msg[256];

        newtCenteredWindow(WIN_W, WIN_H, "Root password and administrator");
        newtComponent form = newtForm(NULL, NULL, 0);
        newtFormAddComponent(form, newtLabel(1, 0,
                                             "The root password, twice (8 characters or "
                                             "more):"));
        newtFormAddComponent(form, newtLabel(1, 2, "Password"));
        newtComponent p1 = entry(18, 2, "", 30, NEWT_FLAG_PASSWORD);
        newtFormAddComponent(form, newtLabel(1, 3, "Again"));
        newtComponent p2 = entry(18, 3, "", 30, NEWT_FLAG_PASSWORD);
        newtComponent strength = newtLabel(18, 4, "");
        set_text(strength, WIN_W - 19, c->root_hash[0] ? "(set; leave both empty to keep it)" : "");
        newtLabelSetColors(strength, COLOR_OK);
        newtComponentAddCallback(p1, strength_update, strength);
        newtFormAddComponent(form, newtLabel(1, 6, "Admin e-mail"));
        newtComponent mail = entry(18, 6, c->email, 40, 0);
        newtFormAddComponent(form, newtLabel(18, 7, "(optional: root's mail goes there)"));
        newtFormAddComponent(form, newtLabel(1, 9, "SSH key"));
        newtComponent key = entry(18, 9, c->sshkey, WIN_W - 20, 0);
        newtFormAddComponent(form, newtLabel(18, 10,
                                             "(optional: the key line itself, or where "
                                             "to read it:"));
        newtFormAddComponent(form, newtLabel(18, 11,
                                             " https://host/id.pub, hd:sdb1:/id.pub on "
                                             "a USB stick)"));
        newtComponent error = error_label(13);
        newtComponent back = newtCompactButton(WIN_W - 26, WIN_H - 1, "Back");
        newtComponent next = newtCompactButton(WIN_W - 12, WIN_H - 1, "Next");
        newtFormAddComponents(form, p1, p2, strength, mail, key, error, back, next, NULL);

        enum move m;
        for (;;) {
                m = run_form(form, back, next, NULL);
                entry_value(mail, c->email, sizeof(c->email));
                entry_value(key, c->sshkey, sizeof(c->sshkey));
                if (m != MOVE_NEXT)
                        break;
                (void) snprintf(pw, sizeof(pw), "%s", newtEntryGetValue(p1));
                (void) snprintf(again, sizeof(again), "%s", newtEntryGetValue(p2));
                int q = choices_set_password(c, pw, again, msg, sizeof(msg));
                explicit_bzero(pw, sizeof(pw));
                explicit_bzero(again, sizeof(again));
                if (q < 0) {
                        set_error(error, msg);
                        newtEntrySet(p1, "", 0);
                        newtEntrySet(p2, "", 0);
                        newtFormSetCurrent(form, p1);
                        continue;
                }
                if (choices_check(c, &t->hw, CHOICES_EMAIL, msg, sizeof(msg)) < 0) {
                        set_error(error, msg);
                        newtFormSetCurrent(form, mail);
                        continue;
                }
                if (key_source(c->sshkey)) {
                        char src[sizeof(c->sshkey)];
                        (void) snprintf(src, sizeof(src), "%s", c->sshkey);
                        set_error(error, "reading the key ...");
                        newtRefresh();
                        if (fetch_key(t, src, c->sshkey, sizeof(c->sshkey), msg, sizeof(msg)) < 0) {
                                set_error(error, msg);
                                newtFormSetCurrent(form, key);
                                continue;
                        }
                        newtEntrySet(key, c->sshkey, 0);
                }
                if (choices_check(c, &t->hw, CHOICES_SSHKEY, msg, sizeof(msg)) < 0) {
                        set_error(error, msg);
                        newtFormSetCurrent(form, key);
                        continue;
                }
                break;
        }
        /* newt keeps the typed text in its own buffers: blank them before they are freed. */
        newtEntrySet(p1, "", 0);
        newtEntrySet(p2, "", 0);
        newtFormDestroy(form);
        newtPopWindow();
        return m;
}

/* ---- 5. network ---- */

struct network_screen {
        newtComponent dhcp, stat, address, gateway, dns;
};

static void static_toggled(newtComponent co, void *data)
{
        struct network_screen *s = data;
        int how = newtRadioGetCurrent(s->dhcp) == s->dhcp ? NEWT_FLAGS_SET : NEWT_FLAGS_RESET;

        (void) co;
        newtEntrySetFlags(s->address, NEWT_FLAG_DISABLED, how);
        newtEntrySetFlags(s->gateway, NEWT_FLAG_DISABLED, how);
        newtEntrySetFlags(s->dns, NEWT_FLAG_DISABLED, how);
        newtRefresh();
}

static enum move screen_network(struct tui *t)
{
        struct choices *c = &t->c;
        struct network_screen s = { 0 };
        static const enum choices_field fields[] = { CHOICES_NIC,     CHOICES_HOSTNAME,
                                                     CHOICES_ADDRESS, CHOICES_GATEWAY,
                                                     CHOICES_DNS,     CHOICES_BRIDGE };
        char line[128], msg[256];

        newtCenteredWindow(WIN_W, WIN_H, "Network");
        newtComponent form = newtForm(NULL, NULL, 0);
        newtFormAddComponent(form, newtLabel(1, 0, "Management NIC (the VM bridge goes over it):"));
        newtComponent nics = newtListbox(1, 1, 4, NEWT_FLAG_SCROLL);
        newtListboxSetWidth(nics, WIN_W - 3);
        for (size_t i = 0; i < t->hw.n_nics; i++) {
                const struct hw_nic *n = &t->hw.nics[i];
                char speed[24] = "";
                if (n->speed_mbps > 0)
                        (void) snprintf(speed, sizeof(speed), ", %ld Mb/s", n->speed_mbps);
                (void) snprintf(line, sizeof(line), "%-10s %s  link %-7s %s%s", n->name, n->mac,
                                n->carrier == HW_YES  ? "up"
                                : n->carrier == HW_NO ? "down"
                                                      : "unknown",
                                n->virtual_dev ? "(virtual)" : n->driver, speed);
                newtListboxAppendEntry(nics, line, n->name);
                if (strcmp(n->name, c->nic) == 0)
                        newtListboxSetCurrent(nics, (int) i);
        }
        newtFormAddComponent(form, newtLabel(1, 6, "Host name (FQDN)"));
        newtComponent host = entry(20, 6, c->hostname, 40, 0);
        s.dhcp = newtRadiobutton(1, 7, "DHCP", c->dhcp, NULL);
        s.stat = newtRadiobutton(12, 7, "Static:", !c->dhcp, s.dhcp);
        newtFormAddComponent(form, newtLabel(1, 8, "Address/prefix"));
        s.address = entry(20, 8, c->address, 20, 0);
        newtFormAddComponent(form, newtLabel(1, 9, "Gateway"));
        s.gateway = entry(20, 9, c->gateway, 20, 0);
        newtFormAddComponent(form, newtLabel(1, 10, "DNS servers"));
        s.dns = entry(20, 10, c->dns, 40, 0);
        newtFormAddComponent(form, newtLabel(1, 12, "VM bridge"));
        newtComponent bridge = entry(20, 12, c->bridge, 15, 0);
        if (t->have_lease) {
                (void) snprintf(line, sizeof(line), "(DHCP gave %s %s now)", t->lease.nic,
                                t->lease.address);
                newtFormAddComponent(form, newtLabel(42, 8, line));
        }
        newtComponent error = error_label(14);
        newtComponentAddCallback(s.dhcp, static_toggled, &s);
        newtComponentAddCallback(s.stat, static_toggled, &s);
        newtComponent back = newtCompactButton(WIN_W - 26, WIN_H - 1, "Back");
        newtComponent next = newtCompactButton(WIN_W - 12, WIN_H - 1, "Next");
        newtFormAddComponents(form, nics, host, s.dhcp, s.stat, s.address, s.gateway, s.dns, bridge,
                              error, back, next, NULL);
        static_toggled(NULL, &s);
        newtComponent where[] = { nics, host, s.address, s.gateway, s.dns, bridge };

        enum move m;
        for (;;) {
                m = run_form(form, back, next, NULL);
                const char *nic = newtListboxGetCurrent(nics);
                (void) snprintf(c->nic, sizeof(c->nic), "%s", nic ? nic : "");
                entry_value(host, c->hostname, sizeof(c->hostname));
                c->dhcp = newtRadioGetCurrent(s.dhcp) == s.dhcp;
                entry_value(s.address, c->address, sizeof(c->address));
                entry_value(s.gateway, c->gateway, sizeof(c->gateway));
                entry_value(s.dns, c->dns, sizeof(c->dns));
                entry_value(bridge, c->bridge, sizeof(c->bridge));
                if (m != MOVE_NEXT)
                        break;
                bool bad = false;
                for (size_t i = 0; i < sizeof(fields) / sizeof(*fields) && !bad; i++)
                        if (choices_check(c, &t->hw, fields[i], msg, sizeof(msg)) < 0) {
                                set_error(error, msg);
                                newtFormSetCurrent(form, where[i]);
                                bad = true;
                        }
                if (!bad)
                        break;
        }
        newtFormDestroy(form);
        newtPopWindow();
        return m;
}

/* ---- saving files: a path, or a partition ("hd:sdb1:/ks.cfg") mounted for it ---- */

static int save_file(struct tui *t, const char *spec, const char *data, size_t len, char *msg,
                     size_t msize)
{
        struct err err = { { 0 } };
        char dev[64], path[512];
        const char *colon;
        int q;

        if (strncmp(spec, "hd:", 3) != 0) {
                if ((q = file_write_atomic(spec, data, len, 0600, &err)) < 0)
                        (void) snprintf(msg, msize, "%s", err.msg);
                return q;
        }
        colon = strchr(spec + 3, ':');
        if (!colon || colon == spec + 3 || colon[1] != '/' || (size_t) (colon - spec - 3) >= 48) {
                (void) snprintf(msg, msize, "write hd:PARTITION:/PATH, as hd:sdb1:/ks.cfg");
                return -EINVAL;
        }
        (void) snprintf(dev, sizeof(dev), "/dev/%.*s", (int) (colon - spec - 3), spec + 3);
        (void) snprintf(path, sizeof(path), SAVE_MOUNT "%s", colon + 1);
        (void) file_mkdir_parents(SAVE_MOUNT, 0755, true);
        static const char *const types[] = { "vfat", "ext4", "xfs", "exfat" };
        q = -ENODEV;
        for (size_t i = 0; i < sizeof(types) / sizeof(*types) && q < 0; i++)
                if (mount(dev, SAVE_MOUNT, types[i], MS_NOSUID | MS_NODEV, NULL) == 0)
                        q = 0;
        if (q < 0) {
                (void) snprintf(msg, msize, "cannot mount %s (vfat, ext4, xfs or exfat): %s", dev,
                                strerror(errno));
                return -errno;
        }
        if ((q = file_write_atomic(path, data, len, 0600, &err)) < 0)
                (void) snprintf(msg, msize, "%s", err.msg);
        sync();
        if (umount(SAVE_MOUNT) < 0)
                file_logf(t->log_fd, "cannot unmount %s: %s\n", dev, strerror(errno));
        return q;
}

/* Asks where, then saves. */
static void save_dialog(struct tui *t, const char *title, const char *def, const char *data,
                        size_t len)
{
        char where[256], msg[512] = "";
        char *value = NULL;
        struct newtWinEntry e[] = { { "File", &value, NEWT_FLAG_SCROLL }, { NULL, NULL, 0 } };

        (void) snprintf(where, sizeof(where), "%s", def);
        value = where;
        int b = newtWinEntries((char *) title,
                               "A path here, or on a USB stick as hd:sdb1:/FILE:", 60, 5, 5, 40, e,
                               "Save", "Cancel", NULL);
        if (b == 2 || !value)
                return;
        (void) snprintf(where, sizeof(where), "%s", value);
        free(value);
        if (save_file(t, where, data, len, msg, sizeof(msg)) < 0)
                newtWinMessage((char *) title, "OK", "Not saved: %s", msg);
        else
                newtWinMessage((char *) title, "OK", "Saved as %s.", where);
}

/* ---- 6. summary ---- */

static int summary_text(struct tui *t, char **ret, struct err *err)
{
        const struct choices *c = &t->c;
        _cleanup_(storage_plan_release) struct storage_plan p = { 0 };
        size_t len = 0;
        FILE *f;
        int q;

        if ((q = choices_plan(c, &t->hw, &p, err)) < 0)
                return q;
        if (!(f = open_memstream(ret, &len)))
                return -ENOMEM;
        for (size_t i = 0; i < p.n_disks; i++) {
                const struct storage_disk *d = &p.disks[i];
                const struct hw_disk *h = NULL;
                char sz[32];
                for (size_t k = 0; k < t->hw.n_disks; k++)
                        if (strcmp(t->hw.disks[k].name, d->name) == 0)
                                h = &t->hw.disks[k];
                if (d->wipe)
                        fprintf(f, "ERASED: %s, %s, %s\n        serial %s, %s%s\n", d->path,
                                units_format_bytes(d->size, sz, sizeof(sz)),
                                h && h->model[0] ? h->model : "(no model)",
                                h && h->serial[0] ? h->serial : "(none)",
                                d->holds[0] ? "with " : "blank", d->holds);
        }
        fprintf(f, "\nTime zone %s, keyboard %s\n", c->timezone, c->keyboard);
        fprintf(f, "Root password set%s%s%s\n", c->sshkey[0] ? ", SSH key for root" : "",
                c->email[0] ? ", mail to " : "", c->email);
        fprintf(f, "Host %s on %s, ", c->hostname, c->nic);
        if (c->dhcp)
                fprintf(f, "DHCP");
        else
                fprintf(f, "%s, gateway %s, DNS %s", c->address,
                        c->gateway[0] ? c->gateway : "none", c->dns[0] ? c->dns : "none");
        fprintf(f, ", VM bridge %s\n\n", c->bridge);
        storage_plan_print(&p, f);
        return fclose(f) == 0 ? 0 : -ENOMEM;
}

static enum move screen_summary(struct tui *t)
{
        _cleanup_free_ char *text = NULL, *ks = NULL;
        struct err err = { { 0 } };

        if (summary_text(t, &text, &err) < 0 ||
            choices_kickstart_text(&t->c, &t->hw, &ks, &err) < 0) {
                newtWinMessage("Summary", "Back", "No plan: %s", err.msg);
                return MOVE_BACK;
        }
        for (;;) {
                newtCenteredWindow(WIN_W, WIN_H, "Summary: check before anything is written");
                newtComponent form = newtForm(NULL, NULL, 0);
                newtComponent tb =
                        newtTextbox(1, 0, WIN_W - 4, WIN_H - 2, NEWT_FLAG_SCROLL | NEWT_FLAG_WRAP);
                newtTextboxSetText(tb, text);
                newtComponent back = newtCompactButton(1, WIN_H - 1, "Back");
                newtComponent save = newtCompactButton(20, WIN_H - 1, "Save answer file");
                newtComponent go = newtCompactButton(WIN_W - 14, WIN_H - 1, "Install");
                newtComponent other = NULL;
                newtFormAddComponents(form, tb, back, save, go, NULL);
                newtFormSetCurrent(form, tb);
                enum move m = run_form(form, back, go, &other);
                newtFormDestroy(form);
                newtPopWindow();
                if (m == MOVE_OTHER && other == save) {
                        save_dialog(t, "Save answer file", "/tmp/kvmforge-answer.cfg", ks,
                                    strlen(ks));
                        continue;
                }
                if (m == MOVE_BACK)
                        return MOVE_BACK;
                char disks[128] = "";
                for (size_t i = 0; i < CHOICES_MAX_DISKS && t->c.disks[i][0]; i++)
                        (void) snprintf(disks + strlen(disks), sizeof(disks) - strlen(disks),
                                        "%s/dev/%s", i ? " and " : "", t->c.disks[i]);
                int b = newtWinChoice("Confirm", "Erase and install", "Back",
                                      "Everything on %s will be ERASED%s.\n\nErase and install?",
                                      disks, arg_dry_run ? " (a dry run: nothing is written)" : "");
                if (b == 1)
                        return MOVE_NEXT;
        }
}

/* ---- 7. progress ---- */

struct progress {
        newtComponent step, scale, lines;
        char text[6][96]; /* the last messages */
        size_t n;
        struct tui *t;
};

static void progress_event(void *userdata, const struct pipeline_event *e)
{
        struct progress *p = userdata;
        char line[128], all[sizeof(p->text) + 8] = "";

        (void) snprintf(line, sizeof(line), "Step %u of %u: %-12s %3u%%", (unsigned) e->step + 1,
                        (unsigned) PIPELINE_STEP_COUNT, pipeline_step_names[e->step], e->percent);
        newtLabelSetText(p->step, line);
        newtScaleSet(p->scale, e->percent);
        if (p->n == 6) {
                memmove(p->text[0], p->text[1], sizeof(p->text[0]) * 5);
                p->n = 5;
        }
        (void) snprintf(p->text[p->n++], sizeof(p->text[0]), "%s", e->message);
        for (size_t i = 0; i < p->n; i++) {
                strcat(all, p->text[i]);
                strcat(all, "\n");
        }
        newtTextboxSetText(p->lines, all);
        newtRefresh();
}

static int run_install(struct tui *t, struct pipeline_result *res, struct err *err)
{
        _cleanup_free_ char *ks = NULL;
        struct progress p = { .t = t };
        int q;

        if ((q = choices_kickstart_text(&t->c, &t->hw, &ks, err)) < 0)
                return q;
        newtCenteredWindow(WIN_W, 12, arg_dry_run ? "Planning (dry run)" : "Installing");
        newtComponent form = newtForm(NULL, NULL, 0);
        p.step = newtLabel(1, 0, "");
        p.scale = newtScale(1, 1, WIN_W - 2, 100);
        p.lines = newtTextbox(1, 3, WIN_W - 4, 6, 0);
        newtFormAddComponents(form, p.step, p.scale, p.lines,
                              newtLabel(1, 10, "The log: Alt-F3 (its file: " DEFAULT_LOG ")"),
                              NULL);
        newtDrawForm(form);
        newtRefresh();
        struct pipeline_options o = { .answer_text = ks,
                                      .answer_name = "the installer's screens",
                                      .medium = arg_medium,
                                      .payload = arg_payload,
                                      .target = arg_target,
                                      .sysroot = arg_sysroot,
                                      .dry_run = arg_dry_run,
                                      .log_fd = t->log_fd,
                                      .event = progress_event,
                                      .userdata = &p };
        file_logf(t->log_fd, "== install from the installer's screens%s\n",
                  arg_dry_run ? " (dry run)" : "");
        q = pipeline_run(&o, res, err);
        explicit_bzero(ks, strlen(ks));
        newtFormDestroy(form);
        newtPopWindow();
        return q;
}

/* ---- 8. done, or failed ---- */

static void run_shell(void)
{
        newtSuspend();
        printf("\nA shell; 'exit' returns to the installer.\n");
        fflush(stdout);
        char *const argv[] = { "sh", NULL };
        struct child_options o = { .log_fd = -1, .in_fd = STDIN_FILENO };
        (void) child_run("the shell", argv, &o, NULL);
        newtResume();
}

/* 0 to end, 1 to try the install again. */
static int screen_failed(struct tui *t, const char *msg)
{
        for (;;) {
                newtCenteredWindow(WIN_W, WIN_H, "The install failed");
                newtComponent form = newtForm(NULL, NULL, 0);
                newtComponent tb =
                        newtTextbox(1, 0, WIN_W - 4, WIN_H - 3, NEWT_FLAG_WRAP | NEWT_FLAG_SCROLL);
                _cleanup_free_ char *text = NULL;
                if (asprintf(&text,
                             "%s\n\nThe full log is %s here (Alt-F3 shows it; Alt-F2 is a "
                             "shell). Disks may be half-written: run the install again to start "
                             "them over.",
                             msg, arg_log) < 0)
                        text = NULL;
                newtTextboxSetText(tb, text ? text : msg);
                newtComponent retry = newtCompactButton(1, WIN_H - 1, "Retry");
                newtComponent shell = newtCompactButton(14, WIN_H - 1, "Shell");
                newtComponent save = newtCompactButton(27, WIN_H - 1, "Save log");
                newtComponent end = newtCompactButton(WIN_W - 12, WIN_H - 1, "Exit");
                newtComponent other = NULL;
                newtFormAddComponents(form, tb, retry, shell, save, end, NULL);
                newtFormSetCurrent(form, retry);
                enum move m = run_form(form, retry, end, &other);
                newtFormDestroy(form);
                newtPopWindow();
                if (m == MOVE_BACK)
                        return 1;
                if (m == MOVE_NEXT)
                        return 0;
                if (other == shell)
                        run_shell();
                else if (other == save) {
                        _cleanup_free_ char *log = NULL;
                        off_t end_off = lseek(t->log_fd, 0, SEEK_END);
                        if (end_off > 0 && (log = malloc((size_t) end_off)) &&
                            pread(t->log_fd, log, (size_t) end_off, 0) == end_off)
                                save_dialog(t, "Save the log", "hd:sdb1:/kvmforge-install.log", log,
                                            (size_t) end_off);
                }
        }
}

static void screen_done(struct tui *t, const struct pipeline_result *res)
{
        const struct choices *c = &t->c;
        char addr[64];
        _cleanup_free_ char *text = NULL;

        if (c->dhcp)
                (void) snprintf(addr, sizeof(addr), "%s",
                                t->have_lease ? t->lease.address : c->hostname);
        else
                (void) snprintf(addr, sizeof(addr), "%s", c->address);
        char *slash = strchr(addr, '/');
        if (slash)
                *slash = '\0';
        if (asprintf(&text,
                     "%s %s on %s.\n\n"
                     "Reach it at %s%s:\n"
                     "  ssh root@%s\n"
                     "  virsh -c qemu+ssh://root@%s/system list --all\n"
                     "  virt-manager: File > Add Connection, QEMU/KVM over SSH to %s\n\n"
                     "Its install log: /var/log/kvmforge/install.log on the node (and %s here).%s",
                     arg_dry_run ? "Planned (a dry run: nothing was written):" : "Installed",
                     res->hostname[0] ? res->hostname : c->hostname, res->disks, addr,
                     !c->dhcp        ? ""
                     : t->have_lease ? " (DHCP: the address of the lease here; it may change)"
                                     : " (DHCP: its address is the DHCP server's choice)",
                     addr, addr, addr, arg_log,
                     arg_dry_run
                             ? ""
                             : "\nTake the install medium out; the node boots from its disk.") < 0)
                return;
        newtWinMessage("Done", arg_medium && !arg_no_reboot && !arg_dry_run ? "Reboot" : "Exit",
                       "%s", text);
}

/* ---- the program ---- */

static void colors(void)
{
        /* Readable on a VGA console's 8 colours and on a terminal's alike. */
        newtSetColor(COLOR_ERROR, "red", "lightgray");
        newtSetColor(COLOR_OK, "blue", "lightgray");
}

static void tui_release(struct tui *t)
{
        hw_report_release(&t->hw);
        strv_free(&t->zones, &t->n_zones);
        explicit_bzero(&t->c, sizeof(t->c));
}

static int run(void)
{
        struct tui t = { .log_fd = -1 };
        struct hw_source src = { .sysroot = arg_sysroot };
        struct pipeline_result res = { 0 };
        struct err err = { { 0 } };
        int q;

        t.log_fd = open(arg_log, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (t.log_fd < 0)
                return log_error_errno(errno, "cannot open the log '%s': %m", arg_log);
        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
                close(t.log_fd);
                return log_error_errno(ENOTTY, "the text installer needs a terminal; for an "
                                               "install without one use 'kvmforge-install "
                                               "--answer SRC'");
        }
        if ((q = hw_report_detect(&src, &t.hw)) < 0) {
                close(t.log_fd);
                return log_error_errno(q, "cannot detect the hardware: %m");
        }
        if ((q = choices_timezones(NULL, &t.zones, &t.n_zones)) < 0) {
                tui_release(&t);
                close(t.log_fd);
                return log_error_errno(q, "cannot list the time zones: %m");
        }
        /* The defaults, then again with what DHCP gave the default NIC (udhcpc.script keeps
         * each NIC's resolver lines apart). */
        choices_defaults(&t.c, &t.hw, NULL);
        char resolv[64];
        (void) snprintf(resolv, sizeof(resolv), "/run/kvmforge/resolv.conf.%s", t.c.nic);
        t.have_lease = !arg_sysroot && t.c.nic[0] &&
                       choices_read_lease(t.c.nic, access(resolv, R_OK) == 0 ? resolv : NULL, NULL,
                                          &t.lease) == 0;
        if (t.have_lease)
                choices_defaults(&t.c, &t.hw, &t.lease);
        /* A VT takes keymaps: ttyN, or the console when kvmforge-init says it is no serial
         * line. */
        const char *tty = ttyname(STDIN_FILENO);
        t.vt = tty && ((strncmp(tty, "/dev/tty", 8) == 0 && tty[8] >= '0' && tty[8] <= '9') ||
                       (strcmp(tty, "/dev/console") == 0 && !getenv("KVMFORGE_SERIAL")));
        if (!t.vt)
                (void) snprintf(t.keymap_note, sizeof(t.keymap_note),
                                "(a serial console: your terminal's layout applies)");
        file_logf(t.log_fd, "== kvmforge-install tui: %zu disks, %zu NICs%s\n", t.hw.n_disks,
                  t.hw.n_nics, arg_dry_run ? ", dry run" : "");

        /* Whatever a library or a tool writes to stderr goes to the log, not over the screen. */
        int saved_err = dup(STDERR_FILENO);
        (void) dup2(t.log_fd, STDERR_FILENO);
        /* slang draws the screens' lines as UTF-8 only in a UTF-8 locale; otherwise it switches
         * to the terminal's alternate character set, which a console in UTF-8 mode shows as
         * letters (kvmforge-init sets LANG=C.UTF-8 and the ISO carries that locale). */
        (void) setlocale(LC_CTYPE, "");
        newtInit();
        newtCls();
        colors();
        newtDrawRootText(1, 0, "kvmforge installer");
        newtPushHelpLine(" <Tab> next field | <Space> mark | <Enter> button | <F12> Next");

        enum move (*const screens[])(struct tui *) = { screen_welcome,  screen_disks,
                                                       screen_location, screen_accounts,
                                                       screen_network,  screen_summary };
        size_t i = 0, n = sizeof(screens) / sizeof(*screens);
        int ret = 0;
        while (i < n) {
                enum move m = screens[i](&t);
                if (m == MOVE_QUIT) {
                        ret = -ECANCELED;
                        break;
                }
                if (m == MOVE_BACK)
                        i = i ? i - 1 : 0;
                else if (++i == n) {
                        q = run_install(&t, &res, &err);
                        if (q >= 0)
                                break;
                        file_logf(t.log_fd, "== failed: %s\n", err.msg);
                        if (screen_failed(&t, err.msg) == 1) {
                                i = n - 1; /* the summary again, then the install */
                                err = (struct err){ { 0 } };
                                continue;
                        }
                        ret = q;
                }
        }
        if (ret == 0)
                screen_done(&t, &res);
        newtFinished();
        if (saved_err >= 0) {
                (void) dup2(saved_err, STDERR_FILENO);
                close(saved_err);
        }
        tui_release(&t);
        close(t.log_fd);
        if (ret == -ECANCELED)
                return log_error_errno(ECANCELED, "left the installer; nothing was written");
        if (ret < 0)
                return log_error_errno(ret, "%s (the log: %s)", err.msg, arg_log);
        printf("kvmforge-install: %s %s on %s\n", arg_dry_run ? "planned" : "installed",
               res.hostname, res.disks);
        fflush(stdout);
        if (arg_medium && !arg_no_reboot && !arg_dry_run && getppid() == 1)
                cli_finish_live(arg_medium, &res);
        return 0;
}

int tui_main(int argc, char **argv)
{
        int r = parse(argc, argv);

        if (r <= 0)
                return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
        return run() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
