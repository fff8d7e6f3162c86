/* Building the installer ISO; see isobuild.h. */
#include "isobuild.h"
#include "answer.h"
#include "bootmenu.h"
#include "child.h"
#include "choices.h"
#include "cleanup.h"
#include "file.h"
#include "initramfs.h"
#include "kickstart.h"
#include "payload.h"
#include "pipeline.h"
#include "strv.h"
#include "target.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ZONEINFO_DEPTH   4          /* Area/Region/City is as deep as tzdata goes */
#define ZONEINFO_MAX     4096       /* entries; tzdata has about 600 outside posix/ and right/ */
#define KEYMAP_TEXT_MAX  (4u << 20) /* ckbcomp's output: about 120 KiB for a full map */
#define KEYMAP_BIN_MAX   (1u << 20) /* loadkeys -b: 263 bytes and 256 per table, 256 at most */
#define BKEYMAP_MAGIC    "bkeymap"
#define BKEYMAP_MIN_SIZE (7 + 256 + 256) /* the magic, the table flags, one table */
#define ZONEINFO_HOST    "/usr/share/zoneinfo"

const char *const isobuild_modules[] = {
        /* disks and their buses */
        "virtio_pci", "virtio_blk", "virtio_scsi", "ahci", "ata_piix", "nvme", "sd_mod", "sr_mod",
        "megaraid_sas", "mpt3sas", "hpsa", "smartpqi", "aacraid", "mmc_block", "sdhci_pci",
        "xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd", "usb_storage", "uas",
        /* filesystems, device-mapper, md */
        "isofs", "vfat", "nls_cp437", "nls_ascii", "nls_utf8", "ext4", "xfs", "dm_mod",
        "dm_thin_pool", "raid1", "md_mod", "efivarfs", "msr",
        /* NICs */
        "virtio_net", "e1000", "e1000e", "igb", "igc", "ixgbe", "i40e", "ice", "r8169", "tg3",
        "bnx2", "bnxt_en", "be2net", "vmxnet3",
        /* keyboards for the text UI */
        "usbhid", "hid_generic", "evdev", NULL
};

const char *const isobuild_programs[] = {
        "kvmforge-install", "lvm",    "mdadm",      "mkfs.ext4", "mkfs.xfs",
        "mkfs.vfat",        "mkswap", "thin_check", "blkid",     NULL
};

/* The terminal types newt (through slang) may be started with: the console's (linux, xterm on
 * a serial line), a VT100 family for old serial terminals, and what people run minicom or
 * ipmitool in. Each from the first of these directories that has it. */
static const char *const terminfo_names[] = {
        "linux",  "vt100",           "vt102", "vt220",         "xterm", "xterm-256color",
        "screen", "screen-256color", "tmux",  "tmux-256color", NULL
};
static const char *const terminfo_dirs[] = { "/usr/share/terminfo", "/lib/terminfo",
                                             "/usr/lib/terminfo", "/etc/terminfo", NULL };
/* The zone tables the installer lists zones from; the rest of tzdata's text files (tzdata.zi,
 * leapseconds) are for zic and stay out. */
static const char *const zoneinfo_tables[] = { "zone1970.tab", "zone.tab", "iso3166.tab", NULL };

static const char *const payload_tools[][3] = {
        /* built program or data file, where it goes in the node, mode */
        { "kvmforge-postinst", "usr/sbin/kvmforge-postinst", "0755" },
        { "kvmforge-image", "usr/bin/kvmforge-image", "0755" },
};

static double since(const struct timespec *t)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double) (now.tv_sec - t->tv_sec) + (double) (now.tv_nsec - t->tv_nsec) / 1e9;
}

static void stage(const struct isobuild_options *o, const char *name, const struct timespec *t,
                  const char *what)
{
        if (o->stage)
                o->stage(o->userdata, name, t ? since(t) : 0, what);
}

int isobuild_check_answer(const char *path, struct err *err)
{
        _cleanup_(answer_release) struct answer a = { 0 };
        _cleanup_free_ char *text = NULL;
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        struct answer_load_options lo = { 0 };
        size_t len;
        int r;

        if (!f)
                return err_set(err, -errno, "cannot read the answer '%s': %s", path,
                               strerror(errno));
        text = malloc(KICKSTART_MAX_BYTES + 1);
        if (!text)
                return err_set(err, -ENOMEM, "out of memory");
        len = fread(text, 1, KICKSTART_MAX_BYTES + 1, f);
        if (ferror(f) || len > KICKSTART_MAX_BYTES)
                return err_set(err, ferror(f) ? -EIO : -EFBIG, "cannot read the answer '%s': %s",
                               path, ferror(f) ? "read error" : "too large");
        if ((r = answer_load(text, len, path, &lo, &a)) < 0)
                return err_set(err, r, "cannot read the answer '%s': %s", path, strerror(-r));
        answer_sort_diags(&a);
        for (size_t i = 0; i < a.n_diags; i++)
                if (a.diags[i].level == ANSWER_ERROR) {
                        char buf[1024];
                        answer_format_diag(&a, &a.diags[i], buf, sizeof(buf));
                        return err_set(err, -EINVAL,
                                       "%s (%zu error%s; 'kvmforge-install "
                                       "check-answer %s' lists them)",
                                       buf, a.n_errors, a.n_errors == 1 ? "" : "s", path);
                }
        return 0;
}

static int copy_to(const char *src, const char *dst, struct err *err)
{
        char *argv[] = { "cp", "--reflink=auto", "--", (char *) src, (char *) dst, NULL };

        return child_tool("copying", argv, -1, err);
}

static int mkdirs(const char *base, const char *sub, struct err *err)
{
        char path[PATH_MAX];
        int r;

        (void) snprintf(path, sizeof(path), "%s/%s", base, sub);
        if ((r = file_mkdir_parents(path, 0755, true)) < 0)
                return err_set(err, r, "cannot make '%s': %s", path, strerror(-r));
        return 0;
}

/* The names of the packages installed in the payload (its dpkg status), one a line. */
static int write_package_list(const char *status, const char *out, struct err *err)
{
        _cleanup_fclose_ FILE *in = fopen(status, "re"), *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t n = 0;

        if (!in)
                return err_set(err, -errno, "cannot read '%s': %s", status, strerror(errno));
        f = fopen(out, "we");
        if (!f)
                return err_set(err, -errno, "cannot write '%s': %s", out, strerror(errno));
        while (getline(&line, &n, in) > 0)
                if (strncmp(line, "Package: ", 9) == 0)
                        fputs(line + 9, f);
        if (fflush(f) != 0)
                return err_set(err, -EIO, "cannot write '%s'", out);
        return 0;
}

/* ---- what the text UI needs on the console: terminfo, time zones, keymaps ---- */

/* The entries of terminfo_names this machine has (ncurses-base), as
 * /usr/share/terminfo/L/NAME, where slang looks. A missing one is logged and left out. */
static int add_terminfo(struct initramfs *ird, int log_fd, size_t *ret_n, struct err *err)
{
        size_t n = 0;
        int r;

        for (size_t i = 0; terminfo_names[i]; i++) {
                const char *name = terminfo_names[i];
                char src[PATH_MAX], dst[PATH_MAX];
                bool found = false;

                for (size_t d = 0; terminfo_dirs[d] && !found; d++) {
                        (void) snprintf(src, sizeof(src), "%s/%c/%s", terminfo_dirs[d], name[0],
                                        name);
                        found = access(src, R_OK) == 0;
                }
                if (!found) {
                        file_logf(log_fd,
                                  "kvmforge-image: no terminfo entry '%s' on this machine, "
                                  "ignoring\n",
                                  name);
                        continue;
                }
                (void) snprintf(dst, sizeof(dst), "/usr/share/terminfo/%c/%s", name[0], name);
                if ((r = initramfs_add_file(ird, src, dst, 0644, err)) < 0)
                        return r;
                n++;
        }
        *ret_n = n;
        return 0;
}

struct zonewalk {
        struct initramfs *ird;
        char root[PATH_MAX]; /* the host's zoneinfo, symbolic links resolved */
        size_t n;
};

static bool zone_file(const char *path)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        char magic[4];

        return fd >= 0 && read(fd, magic, sizeof(magic)) == (ssize_t) sizeof(magic) &&
               memcmp(magic, "TZif", 4) == 0;
}

/* Whether a path (or a link's target) passes through posix/ or right/, which stay out. */
static bool zone_excluded(const char *path)
{
        for (const char *p = path; p; p = strchr(p, '/')) {
                if (*p == '/')
                        p++;
                if (strncmp(p, "posix/", 6) == 0 || strncmp(p, "right/", 6) == 0)
                        return true;
        }
        return false;
}

/* tzdata's links ("Cuba -> America/Havana", "UTC -> Etc/UTC") stay links when they are
 * relative and end at a zone file inside the tree, off posix/ and right/; "localtime ->
 * /etc/localtime" does not. */
static bool zone_link_kept(const struct zonewalk *w, const char *path, const char *target)
{
        char real[PATH_MAX];
        size_t len = strlen(w->root);

        if (target[0] == '/' || zone_excluded(target) || !realpath(path, real))
                return false;
        if (strncmp(real, w->root, len) != 0 || real[len] != '/' || zone_excluded(real + len + 1))
                return false;
        return zone_file(real);
}

static bool zone_table(const char *name)
{
        for (size_t i = 0; zoneinfo_tables[i]; i++)
                if (strcmp(name, zoneinfo_tables[i]) == 0)
                        return true;
        return false;
}

/* The zone files, links and tables under REL, in sorted order. */
static int zoneinfo_walk(struct zonewalk *w, const char *rel, int depth, struct err *err)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        int r = 0;

        if (depth > ZONEINFO_DEPTH)
                return 0;
        if (asprintf(&dir, "%s%s%s", w->root, rel[0] ? "/" : "", rel) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return err_set(err, -errno, "cannot read '%s': %m", dir);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' &&
                    (depth > 0 ||
                     (strcmp(de->d_name, "posix") != 0 && strcmp(de->d_name, "right") != 0)) &&
                    (r = strv_addf(&names, &n, "%s", de->d_name)) < 0)
                        goto out;
        strv_sort_unique(names, &n);
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *sub = NULL, *src = NULL, *dst = NULL;
                char target[PATH_MAX];
                struct stat st;
                ssize_t len;

                if (asprintf(&sub, "%s%s%s", rel, rel[0] ? "/" : "", names[i]) < 0 ||
                    asprintf(&src, "%s/%s", w->root, sub) < 0 ||
                    asprintf(&dst, "%s/%s", ISOBUILD_ZONEINFO_DIR, sub) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (lstat(src, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        r = zoneinfo_walk(w, sub, depth + 1, err);
                        continue;
                }
                if (w->n >= ZONEINFO_MAX) {
                        r = err_set(err, -E2BIG, "'%s' has more than %d files", w->root,
                                    ZONEINFO_MAX);
                        break;
                }
                if (S_ISLNK(st.st_mode)) {
                        len = readlink(src, target, sizeof(target) - 1);
                        if (len <= 0)
                                continue;
                        target[len] = '\0';
                        if (!zone_link_kept(w, src, target))
                                continue;
                        r = initramfs_add_symlink(w->ird, dst, target, err);
                } else if (S_ISREG(st.st_mode) &&
                           ((depth == 0 && zone_table(names[i])) || zone_file(src))) {
                        r = initramfs_add_file(w->ird, src, dst, 0644, err);
                } else {
                        continue;
                }
                if (r >= 0)
                        w->n++;
        }
out:
        strv_free(&names, &n);
        return r;
}

/* The host's time zones as ISOBUILD_ZONEINFO_DIR: the installer lists zones from its tables
 * and checks a zone by its file. Without tzdata on this machine: logged, none. */
static int add_zoneinfo(struct initramfs *ird, int log_fd, size_t *ret_n, struct err *err)
{
        struct zonewalk w = { .ird = ird };
        int r;

        if (!realpath(ZONEINFO_HOST, w.root)) {
                file_logf(log_fd,
                          "kvmforge-image: no '%s' (tzdata): no time zones but UTC, ignoring\n",
                          ZONEINFO_HOST);
                *ret_n = 0;
                return 0;
        }
        if ((r = zoneinfo_walk(&w, "", 0, err)) < 0)
                return r;
        *ret_n = w.n;
        return 0;
}

/* NAME (kbd's console name) as DIR/NAME.bmap, made as the node's console-setup makes its
 * keymap: ckbcomp turns the XKB layout target_keyboard_map() gives into kbd's text form, then
 * loadkeys --bkeymap compiles it for the Unicode console (as busybox's loadkmap takes it).
 * Neither needs a console or a terminal. The file's size, or -errno with err. */
static int make_keymap(const char *name, const char *dir, int log_fd, size_t *ret_size,
                       struct err *err)
{
        char layout[64], variant[64], kmap[PATH_MAX], bmap[PATH_MAX];
        _cleanup_free_ char *text = NULL, *bin = NULL;
        size_t text_len, bin_len;
        int r;

        if (target_keyboard_map(name, layout, sizeof(layout), variant, sizeof(variant)) < 0)
                return err_set(err, -EINVAL, "no XKB layout for it");
        char *ckbcomp[] = { "ckbcomp", "-model", "pc105", layout, variant, NULL };
        if ((r = child_output("making the keymap", ckbcomp, log_fd, KEYMAP_TEXT_MAX, &text,
                              &text_len, err)) < 0)
                return r;
        (void) snprintf(kmap, sizeof(kmap), "%s/%s.kmap", dir, name);
        if ((r = file_write_atomic(kmap, text, text_len, 0644, err)) < 0)
                return r;
        char *loadkeys[] = { "loadkeys", "--unicode", "--bkeymap", kmap, NULL };
        if ((r = child_output("compiling the keymap", loadkeys, log_fd, KEYMAP_BIN_MAX, &bin,
                              &bin_len, err)) < 0)
                return r;
        if (bin_len < BKEYMAP_MIN_SIZE || memcmp(bin, BKEYMAP_MAGIC, strlen(BKEYMAP_MAGIC)) != 0)
                return err_set(err, -EBADMSG, "loadkeys wrote no binary keymap (%zu bytes)",
                               bin_len);
        (void) snprintf(bmap, sizeof(bmap), "%s/%s.bmap", dir, name);
        if ((r = file_write_atomic(bmap, bin, bin_len, 0644, err)) < 0)
                return r;
        *ret_size = bin_len;
        return 0;
}

/* A keymap for each keyboard the installer offers (choices_keyboards) in DIR. One that cannot
 * be made is skipped with a line in the log (the installer then leaves the console's keymap
 * as it is), never failing the build; the names skipped go into skipped. */
static int make_keymaps(const char *dir, int log_fd, size_t *ret_made, size_t *ret_bytes,
                        char *skipped, size_t size, struct err *err)
{
        size_t made = 0, bytes = 0, used = 0;
        int r;

        if ((r = file_mkdir_parents(dir, 0755, true)) < 0)
                return err_set(err, r, "cannot make '%s': %s", dir, strerror(-r));
        skipped[0] = '\0';
        for (size_t i = 0; i < choices_n_keyboards; i++) {
                const char *name = choices_keyboards[i][0];
                struct err kerr = { { 0 } };
                size_t n = 0;

                if (make_keymap(name, dir, log_fd, &n, &kerr) < 0) {
                        file_logf(log_fd, "kvmforge-image: no keymap '%s': %s, ignoring\n", name,
                                  kerr.msg);
                        if (used < size) {
                                int w = snprintf(skipped + used, size - used, "%s%s",
                                                 used ? " " : "", name);
                                used += w > 0 ? (size_t) w : 0;
                        }
                        continue;
                }
                made++;
                bytes += n;
        }
        *ret_made = made;
        *ret_bytes = bytes;
        return 0;
}

static int build_initramfs(const struct isobuild_options *o, const char *boot, const char *out,
                           const char *release, const char *keymaps, char *what, size_t size,
                           struct err *err)
{
        struct initramfs *ird = NULL;
        char path[PATH_MAX], mods[PATH_MAX];
        size_t n_mods = 0, n_terminfo = 0, n_zones = 0, n_keymaps = 0;
        struct stat st;
        int r;

        if ((r = initramfs_new(out, &ird, err)) < 0)
                return r;
        (void) snprintf(path, sizeof(path), "%s/iso/kvmforge-init", o->tools_dir);
        if ((r = initramfs_add_file(ird, path, "/init", 0755, err)) < 0)
                goto out;
        if ((r = initramfs_add_busybox(ird, "busybox", err)) < 0)
                goto out;
        for (size_t i = 0; isobuild_programs[i]; i++) {
                const char *p = isobuild_programs[i];
                if (strcmp(p, "kvmforge-install") == 0) {
                        (void) snprintf(path, sizeof(path), "%s/kvmforge-install", o->tools_dir);
                        if ((r = initramfs_add_program_at(ird, path, "/usr/sbin/kvmforge-install",
                                                          err)) < 0)
                                goto out;
                        continue;
                }
                if ((r = initramfs_add_program(ird, p, err)) < 0)
                        goto out;
        }
        (void) snprintf(path, sizeof(path), "%s/iso/lvm.conf", o->data_dir);
        if ((r = initramfs_add_file(ird, path, "/etc/lvm/lvm.conf", 0644, err)) < 0)
                goto out;
        (void) snprintf(path, sizeof(path), "%s/iso/udhcpc.script", o->data_dir);
        if ((r = initramfs_add_file(ird, path, "/etc/kvmforge/udhcpc.script", 0755, err)) < 0)
                goto out;
        /* https answers are verified against Debian's CA bundle, as on any Debian system. */
        if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0 &&
            (r = initramfs_add_file(ird, "/etc/ssl/certs/ca-certificates.crt",
                                    "/etc/ssl/certs/ca-certificates.crt", 0644, err)) < 0)
                goto out;
        /* LANG=C.UTF-8 (kvmforge-init sets it) needs glibc's compiled C.utf8 locale: without
         * it slang falls back to the terminal's alternate character set for the screens' lines,
         * which a terminal in UTF-8 mode (the Linux console, tmux) shows as letters. */
        static const char *const c_utf8[] = { "LC_ADDRESS",        "LC_COLLATE",     "LC_CTYPE",
                                              "LC_IDENTIFICATION", "LC_MEASUREMENT", "LC_MONETARY",
                                              "LC_NAME",           "LC_NUMERIC",     "LC_PAPER",
                                              "LC_TELEPHONE",      "LC_TIME" };
        for (size_t i = 0; i < sizeof(c_utf8) / sizeof(*c_utf8); i++) {
                char src[128];
                (void) snprintf(src, sizeof(src), "/usr/lib/locale/C.utf8/%s", c_utf8[i]);
                if (access(src, R_OK) == 0 &&
                    (r = initramfs_add_file(ird, src, src, 0644, err)) < 0)
                        goto out;
        }
        /* The text UI: newt reads the terminal's terminfo entry, the time zone screen zoneinfo,
         * and a keyboard chosen there is loaded at once from its keymap. */
        if ((r = add_terminfo(ird, o->log_fd, &n_terminfo, err)) < 0 ||
            (r = add_zoneinfo(ird, o->log_fd, &n_zones, err)) < 0)
                goto out;
        for (size_t i = 0; i < choices_n_keyboards; i++) {
                char dst[PATH_MAX];

                (void) snprintf(path, sizeof(path), "%s/%s.bmap", keymaps, choices_keyboards[i][0]);
                if (access(path, R_OK) < 0)
                        continue;
                (void) snprintf(dst, sizeof(dst), "%s/%s.bmap", ISOBUILD_KEYMAP_DIR,
                                choices_keyboards[i][0]);
                if ((r = initramfs_add_file(ird, path, dst, 0644, err)) < 0)
                        goto out;
                n_keymaps++;
        }
        for (size_t i = 0; isobuild_modules[i]; i++)
                n_mods++;
        (void) snprintf(mods, sizeof(mods), "%s/modules/%s", boot, release);
        if ((r = initramfs_add_modules(ird, mods, isobuild_modules, n_mods, err)) < 0)
                goto out;
        if ((r = initramfs_finish(ird, err)) < 0)
                goto out;
        (void) snprintf(what, size,
                        "written, %.1f MiB, with %zu terminfo entries, %zu time zone files and "
                        "%zu keymaps",
                        stat(out, &st) == 0 ? (double) st.st_size / (1 << 20) : 0.0, n_terminfo,
                        n_zones, n_keymaps);
out:
        initramfs_free(ird);
        return r;
}

int isobuild_run(const struct isobuild_options *o, const char *out, struct err *err)
{
        _cleanup_free_ char *work = NULL;
        char staging[PATH_MAX], boot[PATH_MAX], path[PATH_MAX], what[256];
        struct payload_file files[ELEMENTSOF(payload_tools) + 1];
        char srcs[ELEMENTSOF(payload_tools) + 1][PATH_MAX];
        struct payload_info info = { 0 };
        struct timespec t;
        int r;

        if (o->answer) {
                clock_gettime(CLOCK_MONOTONIC, &t);
                stage(o, "answer", NULL, o->answer);
                if ((r = isobuild_check_answer(o->answer, err)) < 0)
                        return r;
                stage(o, "answer", &t, "valid");
        }
        if (asprintf(&work, "%s/iso-build.XXXXXX", o->work_dir ? o->work_dir : o->cache_dir) < 0)
                return err_set(err, -ENOMEM, "out of memory");
        if ((r = mkdirs(o->work_dir ? o->work_dir : o->cache_dir, "", err)) < 0)
                return r;
        if (!mkdtemp(work))
                return err_set(err, -errno, "cannot make a work directory '%s': %s", work,
                               strerror(errno));
        (void) snprintf(staging, sizeof(staging), "%s/iso", work);
        (void) snprintf(boot, sizeof(boot), "%s/boot", work);
        if ((r = mkdirs(staging, "kvmforge", err)) < 0 || (r = mkdirs(staging, "boot", err)) < 0)
                goto out;

        /* The payload: mmdebstrap's tree (cached) with kvmforge's own programs. */
        for (size_t i = 0; i < ELEMENTSOF(payload_tools); i++) {
                (void) snprintf(srcs[i], sizeof(srcs[i]), "%s/%s", o->tools_dir,
                                payload_tools[i][0]);
                files[i] = (struct payload_file){ .src = srcs[i],
                                                  .dst = payload_tools[i][1],
                                                  .mode = (unsigned) strtoul(payload_tools[i][2],
                                                                             NULL, 8) };
        }
        (void) snprintf(srcs[ELEMENTSOF(payload_tools)], PATH_MAX, "%s/postinst/" PIPELINE_UNIT,
                        o->data_dir);
        files[ELEMENTSOF(payload_tools)] =
                (struct payload_file){ .src = srcs[ELEMENTSOF(payload_tools)],
                                       .dst = "usr/lib/systemd/system/" PIPELINE_UNIT,
                                       .mode = 0644 };
        struct payload_options po = { .suite = o->suite,
                                      .mirror = o->mirror,
                                      .packages = o->packages,
                                      .n_packages = o->n_packages,
                                      .files = files,
                                      .n_files = ELEMENTSOF(files),
                                      .cache_dir = o->cache_dir,
                                      .log_fd = o->log_fd };
        clock_gettime(CLOCK_MONOTONIC, &t);
        stage(o, "payload", NULL, o->suite ? o->suite : PAYLOAD_DEFAULT_SUITE);
        (void) snprintf(path, sizeof(path), "%s/%s", staging, PIPELINE_PAYLOAD_PATH);
        if ((r = payload_build(&po, path, boot, &info, err)) < 0)
                goto out;
        (void) snprintf(what, sizeof(what), "%s, kernel %s, %llu files, %llu MiB unpacked",
                        info.reused ? "base tree reused from the cache" : "built with mmdebstrap",
                        info.kernel_release, (unsigned long long) info.entries,
                        (unsigned long long) (info.bytes >> 20));
        stage(o, "payload", &t, what);
        char status[PATH_MAX];
        (void) snprintf(status, sizeof(status), "%s/dpkg-status", boot);
        (void) snprintf(path, sizeof(path), "%s/kvmforge/packages.txt", staging);
        if ((r = write_package_list(status, path, err)) < 0)
                goto out;

        /* Console keymaps for the installer's keyboard screen (a few seconds: ckbcomp is
         * Perl), made here because the live environment has no ckbcomp. */
        char keymaps[PATH_MAX], skipped[512];
        size_t n_keymaps = 0, keymap_bytes = 0;
        clock_gettime(CLOCK_MONOTONIC, &t);
        stage(o, "keymaps", NULL, "console keymaps for the keyboards offered");
        (void) snprintf(keymaps, sizeof(keymaps), "%s/keymaps", work);
        if ((r = make_keymaps(keymaps, o->log_fd, &n_keymaps, &keymap_bytes, skipped,
                              sizeof(skipped), err)) < 0)
                goto out;
        (void) snprintf(what, sizeof(what), "%zu of %zu made, %zu KiB%s%s", n_keymaps,
                        choices_n_keyboards, keymap_bytes >> 10,
                        skipped[0] ? "; skipped (see the log): " : "", skipped);
        stage(o, "keymaps", &t, what);

        clock_gettime(CLOCK_MONOTONIC, &t);
        stage(o, "initramfs", NULL, "the live environment");
        (void) snprintf(path, sizeof(path), "%s/boot/initrd.img", staging);
        if ((r = build_initramfs(o, boot, path, info.kernel_release, keymaps, what, sizeof(what),
                                 err)) < 0)
                goto out;
        stage(o, "initramfs", &t, what);

        (void) snprintf(path, sizeof(path), "%s/vmlinuz", boot);
        char dst[PATH_MAX];
        (void) snprintf(dst, sizeof(dst), "%s/boot/vmlinuz", staging);
        if ((r = copy_to(path, dst, err)) < 0)
                goto out;
        if (o->answer) {
                (void) snprintf(dst, sizeof(dst), "%s%s", staging, "/kvmforge/ks.cfg");
                if ((r = copy_to(o->answer, dst, err)) < 0)
                        goto out;
        }

        clock_gettime(CLOCK_MONOTONIC, &t);
        stage(o, "iso", NULL, out);
        char build_id[64], append[128];
        time_t ts = o->timestamp >= 0 ? (time_t) o->timestamp : time(NULL);
        (void) snprintf(build_id, sizeof(build_id), "kvmforge-%lld-%s", (long long) ts,
                        info.cache_key);
        (void) snprintf(append, sizeof(append), "kvmforge.medium=%s", build_id);
        struct bootmenu_iso_options io = {
                .staging = staging,
                .volume_id = o->label,
                .build_id = build_id,
                .timestamp = ts,
                .menu = { .label = "kvmforge",
                          .kernel = "/boot/vmlinuz",
                          .initrd = "/boot/initrd.img",
                          .answer_embedded = o->answer != NULL,
                          .console = o->console,
                          .timeout = BOOTMENU_TIMEOUT_DEFAULT,
                          .append = append },
                .work_dir = work,
        };
        if ((r = bootmenu_make_iso(&io, out, err)) < 0)
                goto out;
        stage(o, "iso", &t, "written");
out:;
        char *rm[] = { "rm", "-rf", "--one-file-system", "--", work, NULL };
        (void) child_tool("removing the work directory", rm, -1, NULL);
        return r;
}
