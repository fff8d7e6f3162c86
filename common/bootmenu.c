/* GRUB on the install ISO, for BIOS and UEFI alike. grub-mkimage builds both boot images with
 * every module the menu uses, so the ISO needs no module directories; each image carries an
 * early config that finds this build's medium by a marker file (/.kvmforge-medium-<id>), not
 * by the volume "UUID" (which changes when an answer file is injected into the ISO later) or
 * by label (which another kvmforge stick would share), then loads /boot/grub/grub.cfg. */
#include "bootmenu.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "cleanup.h"
#include "efiimg.h"

#define BOOTMENU_TEXT_MAX      64
#define BOOTMENU_APPEND_MAX    512
#define BOOTMENU_DEFAULT_SPEED 115200

/* Every kernel argument the menu passes, in one place. console: the serial console an
 * entry always uses (NULL: the ISO's --console spec, if any); an entry with its own serial
 * console keeps it whatever the spec, since choosing that port is the entry's point. */
static const struct bootmenu_entry {
        const char *id;
        const char *title;
        const char *args;
        const char *gfxpayload; /* "$kvmforge_gfx": graphics (see put_terminal()); "text" */
        const char *console;
        bool unattended; /* listed only when an answer is embedded */
} entries[] = {
        { "unattended", "Unattended install", "kvmforge.mode=unattended", "$kvmforge_gfx",
          "ttyS0,115200", true },
        { "install", "Install (graphical console)", "kvmforge.mode=install", "$kvmforge_gfx", NULL,
          false },
        { "install-text", "Install (text mode, nomodeset)",
          "kvmforge.mode=install nomodeset vga=normal", "text", NULL, false },
        { "install-ttyS0", "Install (serial console ttyS0)", "kvmforge.mode=install", "text",
          "ttyS0,115200", false },
        { "install-ttyS1", "Install (serial console ttyS1)", "kvmforge.mode=install", "text",
          "ttyS1,115200", false },
        { "rescue", "Rescue shell", "kvmforge.mode=rescue", "$kvmforge_gfx", NULL, false },
        { "report", "Hardware report", "kvmforge.mode=report", "$kvmforge_gfx", NULL, false },
};

/* Modules embedded in both images; grub-mkimage adds their dependencies. */
#define COMMON_MODULES                                                                           \
        "iso9660", "fat", "part_msdos", "part_gpt", "normal", "configfile", "search",            \
                "search_fs_file", "test", "true", "echo", "linux", "serial", "terminal",         \
                "gfxterm", "font", "all_video", "video", "ls", "cat", "halt", "reboot", "sleep", \
                "minicmd", "loadenv", "regexp"

static const char *const modules_pc[] = { "biosdisk", COMMON_MODULES, NULL };
static const char *const modules_efi[] = { "efifwsetup", "efi_gop", "efi_uga", COMMON_MODULES,
                                           NULL };

/* ---- checks ---- */

static bool text_valid(const char *s)
{
        if (strlen(s) > BOOTMENU_TEXT_MAX)
                return false;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++)
                if (*c < 0x20 || *c == 0x7f)
                        return false;
        return true;
}

/* A path GRUB reads without quoting or expansion: no '$', spaces, quotes, "..". */
static bool path_valid(const char *p)
{
        if (!p || p[0] != '/' || strlen(p) > 256 || strstr(p, "/../") || strstr(p, "//"))
                return false;
        for (const char *c = p; *c; c++)
                if (!isalnum((unsigned char) *c) && !strchr("._/+-", *c))
                        return false;
        return !(strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0);
}

static bool append_valid(const char *s)
{
        if (strlen(s) > BOOTMENU_APPEND_MAX)
                return false;
        for (const char *c = s; *c; c++)
                if (!isalnum((unsigned char) *c) && !strchr(" ._,=:/+@%-", *c))
                        return false;
        return true;
}

bool bootmenu_build_id_valid(const char *id)
{
        size_t n = id ? strlen(id) : 0;

        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) id[i]) && !strchr("._-", id[i]))
                        return false;
        return true;
}

/* A serial console as the kernel takes it: ttyS1, ttyS0,115200, ttyS0,9600n8, ttyUSB0,
 * hvc0. For ttyS<N> GRUB gets the same port: unit N at that speed. */
struct console_spec {
        int unit; /* -1: not a port GRUB drives */
        unsigned speed;
        char parity; /* 0, 'n', 'o', 'e' */
        int bits;    /* 0 or 5..8 */
};

static int console_parse(const char *s, struct console_spec *ret)
{
        struct console_spec c = { .unit = -1, .speed = BOOTMENU_DEFAULT_SPEED };
        const char *p = s;
        size_t name = 0;

        if (strncmp(s, "tty", 3) != 0 && strncmp(s, "hvc", 3) != 0)
                return -EINVAL;
        p += 3;
        while (isalpha((unsigned char) p[name]))
                name++;
        if (!isdigit((unsigned char) p[name]))
                return -EINVAL;
        {
                char *end;
                unsigned long n = strtoul(p + name, &end, 10);
                if (n > 63 || (*end && *end != ','))
                        return -EINVAL;
                if (strncmp(s, "ttyS", 4) == 0 && name == 1)
                        c.unit = (int) n;
                p = end;
        }
        if (*p == ',') {
                char *end;
                unsigned long sp;
                if (!isdigit((unsigned char) p[1]))
                        return -EINVAL;
                sp = strtoul(p + 1, &end, 10);
                if (sp < 50 || sp > 4000000)
                        return -EINVAL;
                c.speed = (unsigned) sp;
                p = end;
                if (*p == 'n' || *p == 'o' || *p == 'e')
                        c.parity = *p++;
                if (*p >= '5' && *p <= '8' && c.parity)
                        c.bits = *p++ - '0';
                if (*p)
                        return -EINVAL;
        }
        *ret = c;
        return 0;
}

int bootmenu_check(const struct bootmenu_options *o, struct err *err)
{
        struct console_spec c;

        if (o->label && !text_valid(o->label))
                return err_set(err, -EINVAL,
                               "the label has control characters or more than %d bytes",
                               BOOTMENU_TEXT_MAX);
        if (o->version && !text_valid(o->version))
                return err_set(err, -EINVAL,
                               "the version has control characters or more than %d bytes",
                               BOOTMENU_TEXT_MAX);
        if (!path_valid(o->kernel))
                return err_set(err, -EINVAL, "kernel path '%s' is not a plain absolute path",
                               o->kernel ? o->kernel : "");
        if (!path_valid(o->initrd))
                return err_set(err, -EINVAL, "initrd path '%s' is not a plain absolute path",
                               o->initrd ? o->initrd : "");
        if (o->console && console_parse(o->console, &c) < 0)
                return err_set(err, -EINVAL,
                               "'%s' is not a serial console (like ttyS0 or ttyS0,115200n8)",
                               o->console);
        if (o->append && !append_valid(o->append))
                return err_set(err, -EINVAL,
                               "kernel arguments '%s' hold characters GRUB would interpret",
                               o->append);
        if (o->timeout < BOOTMENU_TIMEOUT_WAIT || o->timeout > 3600)
                return err_set(err, -EINVAL, "timeout %d is out of range", o->timeout);
        return 0;
}

/* ---- grub.cfg ---- */

/* GRUB single quotes take everything literally but the quote itself, which is closed,
 * escaped and reopened. */
static void put_quoted(FILE *f, const char *s)
{
        fputc('\'', f);
        for (; *s; s++) {
                if (*s == '\'')
                        fputs("'\\''", f);
                else
                        fputc(*s, f);
        }
        fputc('\'', f);
}

static void put_title(FILE *f, const struct bootmenu_options *o, const char *what)
{
        char title[3 * BOOTMENU_TEXT_MAX + 64];

        (void) snprintf(title, sizeof(title), "%s%s%s: %s", o->label ? o->label : "kvmforge",
                        o->version ? " " : "", o->version ? o->version : "", what);
        put_quoted(f, title);
}

static void put_terminal(FILE *f, const struct bootmenu_options *o)
{
        struct console_spec c = { .unit = -1 };

        /* Graphical entries: under UEFI the kernel keeps GOP's mode (or gfxterm's, from
         * gfxmode); under BIOS GRUB sets a VBE mode from the same safe list for it. */
        fputs("set gfxmode=1024x768,800x600,auto\n"
              "set kvmforge_gfx=\"$gfxmode\"\n"
              "if [ \"$grub_platform\" = efi ]; then\n"
              "\tset kvmforge_gfx=keep\n",
              f);
        if (o->font) {
                /* gfxterm needs a font. Only under UEFI: on a BIOS machine without a VGA
                 * adapter (SeaBIOS, serial-only boards) GRUB hangs in gfxterm, while the
                 * text console works everywhere. */
                fprintf(f, "\tif loadfont %s; then\n", BOOTMENU_FONT);
                fputs("\t\tterminal_output gfxterm\n\tfi\n", f);
        }
        fputs("fi\n", f);
        if (o->console)
                (void) console_parse(o->console, &c);
        if (c.unit >= 0) {
                fprintf(f, "serial --unit=%d --speed=%u", c.unit, c.speed);
                if (c.parity)
                        fprintf(f, " --parity=%s",
                                c.parity == 'n'   ? "no"
                                : c.parity == 'o' ? "odd"
                                                  : "even");
                if (c.bits)
                        fprintf(f, " --word=%d", c.bits);
                fputs("\nterminal_input --append serial\nterminal_output --append serial\n", f);
        } else {
                /* As the Proxmox ISO does: the menu also on the first serial port, when the
                 * machine has one (the command fails where no UART answers). */
                fprintf(f, "if serial --unit=0 --speed=%u; then\n", BOOTMENU_DEFAULT_SPEED);
                fputs("\tterminal_input --append serial\n\tterminal_output --append serial\nfi\n",
                      f);
        }
}

static void put_entry(FILE *f, const struct bootmenu_options *o, const struct bootmenu_entry *e)
{
        const char *console = e->console;

        /* The unattended entry talks to the ISO's console if one was named. */
        if (!console || (e->unattended && o->console))
                console = o->console ? o->console : e->console;
        fputs("menuentry ", f);
        put_title(f, o, e->title);
        fprintf(f, " --id %s {\n", e->id);
        fprintf(f, "\tset gfxpayload=%s\n", e->gfxpayload);
        fputs("\techo 'Loading the kernel...'\n", f);
        fprintf(f, "\tlinux %s %s", o->kernel, e->args);
        if (console)
                fprintf(f, " console=tty0 console=%s", console);
        if (o->append && o->append[0])
                fprintf(f, " %s", o->append);
        fputs("\n\techo 'Loading the initial ramdisk...'\n", f);
        fprintf(f, "\tinitrd %s\n}\n", o->initrd);
}

int bootmenu_write_cfg(FILE *f, const struct bootmenu_options *o, struct err *err)
{
        int timeout = o->timeout;
        int r;

        r = bootmenu_check(o, err);
        if (r < 0)
                return r;
        if (timeout == BOOTMENU_TIMEOUT_DEFAULT)
                timeout = o->answer_embedded ? BOOTMENU_UNATTENDED_TIMEOUT : BOOTMENU_TIMEOUT_WAIT;

        fputs("# The kvmforge install medium's boot menu (generated by kvmforge).\n", f);
        fprintf(f, "set default=%s\n", o->answer_embedded ? "unattended" : "install");
        if (timeout == BOOTMENU_TIMEOUT_WAIT)
                fputs("set timeout=-1\n", f); /* wait for a choice */
        else
                fprintf(f, "set timeout=%d\n", timeout);
        fputs("set timeout_style=menu\n", f);
        put_terminal(f, o);
        fputc('\n', f);
        for (size_t i = 0; i < ELEMENTSOF(entries); i++) {
                if (entries[i].unattended && !o->answer_embedded)
                        continue;
                put_entry(f, o, &entries[i]);
        }
        fputs("if [ \"$grub_platform\" = efi ]; then\n", f);
        fputs("\tmenuentry 'UEFI firmware settings' --id fwsetup {\n\t\tfwsetup\n\t}\nfi\n", f);
        fflush(f);
        if (ferror(f))
                return err_set(err, -EIO, "cannot write the boot menu");
        return 0;
}

/* ---- GRUB's images ---- */

static void write_early_cfg(FILE *f, const char *build_id)
{
        fprintf(f,
                "search --no-floppy --file --set=root /%s-%s\n"
                "if [ -f ($root)/%s-%s ]; then\n"
                "\tset prefix=($root)/boot/grub\n"
                "\tconfigfile ($root)%s\n"
                "fi\n"
                "echo 'kvmforge: the install medium (file /%s-%s) was not found'\n",
                BOOTMENU_MEDIUM_MARKER, build_id, BOOTMENU_MEDIUM_MARKER, build_id,
                BOOTMENU_GRUB_CFG, BOOTMENU_MEDIUM_MARKER, build_id);
}

static int write_file(const char *path, const char *build_id, void (*fn)(FILE *f, const char *arg),
                      struct err *err)
{
        _cleanup_fclose_ FILE *f = fopen(path, "we");

        if (!f)
                return err_set(err, -errno, "cannot create '%s': %s", path, strerror(errno));
        fn(f, build_id);
        if (fflush(f) != 0 || ferror(f))
                return err_set(err, -EIO, "cannot write '%s'", path);
        return 0;
}

static int mkimage(const char *format, const char *dir, const char *cfg, const char *out,
                   const char *const *modules, struct err *err)
{
        const char *argv[64] = { "grub-mkimage", "-O", format, "-d", dir, "-p",
                                 "/boot/grub",   "-c", cfg,    "-o", out };
        size_t n = 11;
        _cleanup_free_ char *tmp = NULL;
        int r;

        if (asprintf(&tmp, "%s.tmp-XXXXXX", out) < 0)
                return -ENOMEM;
        {
                int fd = mkstemp(tmp);
                if (fd < 0)
                        return err_set(err, -errno, "cannot create a file beside '%s': %s", out,
                                       strerror(errno));
                close(fd);
        }
        argv[10] = tmp;
        for (size_t i = 0; modules[i]; i++)
                argv[n++] = modules[i];
        argv[n] = NULL;
        r = child_tool("making GRUB's boot images", (char *const *) argv, -1, err);
        if (r >= 0 && rename(tmp, out) < 0)
                r = err_set(err, -errno, "cannot rename '%s': %s", tmp, strerror(errno));
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

int bootmenu_make_grub_images(const char *build_id, const char *grub_lib, const char *out_eltorito,
                              const char *out_efi, struct err *err)
{
        _cleanup_free_ char *cfg = NULL, *dir_pc = NULL, *dir_efi = NULL;
        const char *near = out_eltorito ? out_eltorito : out_efi;
        int r = 0;

        if (!bootmenu_build_id_valid(build_id))
                return err_set(err, -EINVAL, "'%s' is not a usable build id",
                               build_id ? build_id : "");
        if (!near)
                return 0;
        if (!grub_lib)
                grub_lib = "/usr/lib/grub";
        if (asprintf(&dir_pc, "%s/i386-pc", grub_lib) < 0 ||
            asprintf(&dir_efi, "%s/x86_64-efi", grub_lib) < 0 ||
            asprintf(&cfg, "%s.early-cfg", near) < 0)
                return -ENOMEM;
        r = write_file(cfg, build_id, write_early_cfg, err);
        if (r >= 0 && out_eltorito)
                r = mkimage("i386-pc-eltorito", dir_pc, cfg, out_eltorito, modules_pc, err);
        if (r >= 0 && out_efi)
                r = mkimage("x86_64-efi", dir_efi, cfg, out_efi, modules_efi, err);
        (void) unlink(cfg);
        if (r < 0)
                return err_prefix(err, r, "cannot make GRUB's boot images");
        return 0;
}

/* ---- the ISO ---- */

struct work {
        char *dir;
        char *paths[8];
        size_t n;
};

static const char *work_path(struct work *w, const char *name)
{
        char *p;

        if (w->n == ELEMENTSOF(w->paths) || asprintf(&p, "%s/%s", w->dir, name) < 0)
                return NULL;
        return w->paths[w->n++] = p;
}

static void work_release(struct work *w)
{
        for (size_t i = 0; i < w->n; i++) {
                (void) unlink(w->paths[i]);
                free(w->paths[i]);
        }
        if (w->dir)
                (void) rmdir(w->dir);
        free(w->dir);
        *w = (struct work){ 0 };
}

static void write_marker(FILE *f, const char *build_id)
{
        fprintf(f, "%s\n", build_id);
}

static int write_menu(const char *path, const struct bootmenu_options *menu, struct err *err)
{
        _cleanup_fclose_ FILE *f = fopen(path, "we");
        int r;

        if (!f)
                return err_set(err, -errno, "cannot create '%s': %s", path, strerror(errno));
        r = bootmenu_write_cfg(f, menu, err);
        if (r < 0)
                return r;
        if (fflush(f) != 0)
                return err_set(err, -errno, "cannot write '%s': %s", path, strerror(errno));
        return 0;
}

static int make_iso(const struct bootmenu_iso_options *o, const char *out, struct work *w,
                    struct err *err)
{
        const char *volid = o->volume_id ? o->volume_id : "KVMFORGE";
        const char *grub_lib = o->grub_lib ? o->grub_lib : "/usr/lib/grub";
        const char *font = o->font_file;
        const char *eltorito, *efi_loader, *efi_img, *early, *menu, *marker;
        struct bootmenu_options menu_opts = o->menu;
        _cleanup_free_ char *mbr = NULL, *marker_dst = NULL;
        char build_id[80];
        time_t ts = o->timestamp >= 0 ? o->timestamp : time(NULL);
        struct isofs_file extra[8];
        size_t n = 0;
        int r;

        r = isofs_volume_id_check(volid, err);
        if (r < 0)
                return r;
        if (o->build_id) {
                if (!bootmenu_build_id_valid(o->build_id))
                        return err_set(err, -EINVAL, "'%s' is not a usable build id", o->build_id);
                (void) snprintf(build_id, sizeof(build_id), "%s", o->build_id);
        } else {
                /* Another medium of the same product and time would be the same build. */
                struct tm tm;
                size_t len;
                if (!gmtime_r(&ts, &tm))
                        return err_set(err, -EINVAL, "timestamp out of range");
                len = strftime(build_id, sizeof(build_id), "%Y%m%d%H%M%S-", &tm);
                for (size_t i = 0; volid[i] && len < sizeof(build_id) - 1; i++)
                        build_id[len++] = (char) tolower((unsigned char) volid[i]);
                build_id[len] = '\0';
        }
        if (!font) {
                font = "/usr/share/grub/unicode.pf2";
                if (access(font, R_OK) < 0)
                        font = "";
        }
        if (!o->grub_cfg) {
                menu_opts.font = font[0] != '\0';
                r = bootmenu_check(&menu_opts, err);
                if (r < 0)
                        return err_prefix(err, r, "boot menu");
        }
        if (asprintf(&mbr, "%s/i386-pc/boot_hybrid.img", grub_lib) < 0 ||
            asprintf(&marker_dst, "/%s-%s", BOOTMENU_MEDIUM_MARKER, build_id) < 0)
                return -ENOMEM;

        eltorito = work_path(w, "eltorito.img");
        efi_loader = work_path(w, "BOOTX64.EFI");
        efi_img = work_path(w, "efi.img");
        early = work_path(w, "esp-grub.cfg");
        menu = work_path(w, "grub.cfg");
        marker = work_path(w, "marker");
        if (!eltorito || !efi_loader || !efi_img || !early || !menu || !marker)
                return -ENOMEM;

        r = bootmenu_make_grub_images(build_id, grub_lib, eltorito, efi_loader, err);
        if (r < 0)
                return r;
        r = write_file(early, build_id, write_early_cfg, err);
        if (r < 0)
                return r;
        r = write_file(marker, build_id, write_marker, err);
        if (r < 0)
                return r;
        {
                /* The loader, and its early config for whoever looks at the ESP. */
                const struct efiimg_file esp[] = {
                        { .src = efi_loader, .dst = "EFI/BOOT/BOOTX64.EFI" },
                        { .src = early, .dst = "EFI/BOOT/grub.cfg" },
                };
                const struct efiimg_options eo = { .label = "EFIBOOT", .timestamp = ts };
                r = efiimg_write(efi_img, esp, ELEMENTSOF(esp), &eo, err);
                if (r < 0)
                        return r;
        }
        if (!o->grub_cfg) {
                r = write_menu(menu, &menu_opts, err);
                if (r < 0)
                        return r;
        }

        extra[n++] = (struct isofs_file){ .src = eltorito, .dst = BOOTMENU_ELTORITO };
        extra[n++] = (struct isofs_file){ .src = efi_loader, .dst = BOOTMENU_EFI_LOADER };
        extra[n++] = (struct isofs_file){ .src = o->grub_cfg ? o->grub_cfg : menu,
                                          .dst = BOOTMENU_GRUB_CFG };
        extra[n++] = (struct isofs_file){ .src = marker, .dst = "/" BOOTMENU_MEDIUM_MARKER };
        extra[n++] = (struct isofs_file){ .src = marker, .dst = marker_dst };
        if (font[0])
                extra[n++] = (struct isofs_file){ .src = font, .dst = BOOTMENU_FONT };

        const struct isofs_options io = {
                .volume_id = volid,
                .staging = o->staging,
                .extra = extra,
                .n_extra = n,
                .bios_image = BOOTMENU_ELTORITO,
                .catalog = BOOTMENU_CATALOG,
                .mbr_image = mbr,
                .efi_image = efi_img,
                .timestamp = ts,
                .progress = o->progress,
                .userdata = o->userdata,
        };
        return isofs_write(&io, out, err);
}

int bootmenu_make_iso(const struct bootmenu_iso_options *o, const char *out, struct err *err)
{
        _cleanup_(work_release) struct work w = { 0 };
        const char *base = o->work_dir ? o->work_dir : getenv("TMPDIR");
        int r;

        if (!base || !*base)
                base = "/tmp";
        if (asprintf(&w.dir, "%s/kvmforge-iso-XXXXXX", base) < 0) {
                w.dir = NULL;
                return -ENOMEM;
        }
        if (!mkdtemp(w.dir)) {
                r = err_set(err, -errno, "cannot make a work directory in '%s': %s", base,
                            strerror(errno));
                free(w.dir);
                w.dir = NULL;
                return r;
        }
        /* The steps name themselves ("cannot make GRUB's boot images: ..."). */
        return make_iso(o, out, &w, err);
}
