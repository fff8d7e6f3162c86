/* Hybrid ISO writing through libisofs (GPLv2+, as this project is GPLv3). The layout follows
 * the xorriso recipe that Debian, Ubuntu and Fedora ship: GRUB's El Torito core for BIOS with
 * boot_hybrid.img in the MBR (patched with the core's address, so the same bytes boot from a
 * USB disk), and the ESP appended after the ISO as GPT partition 2, named by the EFI El Torito
 * entry too, so UEFI finds it on optical media and on disks alike. libisofs streams the image
 * from a writer thread through a ring buffer; we copy it to the output file. */
#include "isofs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* No libburn here: libisofs then declares struct burn_source itself. */
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>

#include "cleanup.h"

#define ISOFS_PROGRESS_STEP (4u << 20)
/* libisofs hands out whole 2 KiB blocks: a larger read loses the partial last one. */
#define ISOFS_CHUNK    2048
#define ISOFS_MBR_CODE 446 /* boot code bytes before the partition table */

DEFINE_CLEANUP_FUNC(IsoImage *, iso_image_unref, NULL)
DEFINE_CLEANUP_FUNC(IsoWriteOpts *, iso_write_opts_free, NULL)

/* GPT type of the ISO's own partition: "Microsoft basic data", as xorriso's
 * -iso_mbr_part_type EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 (UEFI byte order). */
static uint8_t basic_data_guid[16] = { 0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44,
                                       0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7 };

/* libisofs keeps global state; it is set up once and its messages are queued, never printed
 * (common/ does not write to the terminal). */
static pthread_once_t iso_once = PTHREAD_ONCE_INIT;
static int iso_init_result;
/* iso_nowtime() is global too: one image at a time. */
static pthread_mutex_t iso_lock = PTHREAD_MUTEX_INITIALIZER;

static void iso_setup(void)
{
        iso_init_result = iso_init();
        if (iso_init_result >= 0)
                (void) iso_set_msgs_severities((char *) "SORRY", (char *) "NEVER",
                                               (char *) "libisofs");
}

/* libisofs's own error codes, as the errno a caller can branch on. */
static int iso_errno(int code)
{
        switch ((unsigned) code) { /* the codes are defined as unsigned constants */
        case ISO_OUT_OF_MEM:
                return -ENOMEM;
        case ISO_FILE_DOESNT_EXIST:
                return -ENOENT;
        case ISO_FILE_ACCESS_DENIED:
                return -EACCES;
        case ISO_NODE_NAME_NOT_UNIQUE:
                return -EEXIST;
        case ISO_FILE_IS_DIR:
                return -EISDIR;
        case ISO_FILE_IS_NOT_DIR:
                return -ENOTDIR;
        default:
                return -EIO;
        }
}

/* The first message libisofs queued, if any, or the text of its code, into err; the queue
 * is emptied. Returns the code as an errno. */
static int iso_fail(struct err *err, int code, const char *what)
{
        char text[ISO_MSGS_MESSAGE_LEN], sev[80], best[sizeof(err->msg)] = "";
        int ecode, imgid;

        while (iso_obtain_msgs((char *) "SORRY", &ecode, &imgid, text, sev) > 0)
                if (!best[0])
                        (void) snprintf(best, sizeof(best), "%s", text);
        if (best[0])
                return err_set(err, iso_errno(code), "%s: %s", what, best);
        return err_set(err, iso_errno(code), "%s: %s", what,
                       (unsigned) code == ISO_ERROR ? "libisofs failed" : iso_error_to_msg(code));
}

static void iso_drain(void)
{
        char text[ISO_MSGS_MESSAGE_LEN], sev[80];
        int ecode, imgid;

        while (iso_obtain_msgs((char *) "ALL", &ecode, &imgid, text, sev) > 0)
                ;
}

int isofs_volume_id_check(const char *s, struct err *err)
{
        size_t n = strlen(s);

        if (n == 0 || n > 32)
                return err_set(err, -EINVAL, "volume id '%s' is not 1 to 32 characters long", s);
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return err_set(err, -EINVAL,
                                       "volume id '%s' has characters other than A-Z, 0-9, _", s);
        return 0;
}

/* An absolute path of plain components: no "", ".", ".." and no trailing slash. */
static bool iso_path_valid(const char *p)
{
        if (p[0] != '/' || strlen(p) > 1024)
                return false;
        for (const char *c = p + 1;;) {
                size_t len = strcspn(c, "/");
                if (len == 0 || (len == 1 && c[0] == '.') ||
                    (len == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (c[len] == '\0')
                        return true;
                c += len + 1;
        }
}

/* Adds the host file src at the absolute ISO path dst, making missing directories. */
static int add_extra(IsoImage *img, const struct isofs_file *f, struct err *err)
{
        _cleanup_free_ char *path = NULL, *abs = NULL;
        IsoDir *dir = iso_image_get_root(img);
        char *name, *slash;
        IsoNode *node;
        struct stat st;
        int r;

        if (!iso_path_valid(f->dst))
                return err_set(err, -EINVAL, "'%s' is not a usable path on the ISO", f->dst);
        if (stat(f->src, &st) < 0)
                return err_set(err, -errno, "cannot stat '%s': %s", f->src, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return err_set(err, -EINVAL, "'%s' is not a regular file", f->src);
        path = strdup(f->dst + 1);
        if (!path)
                return -ENOMEM;
        for (name = path; (slash = strchr(name, '/')); name = slash + 1) {
                *slash = '\0';
                r = iso_dir_get_node(dir, name, &node);
                if (r < 0)
                        return iso_fail(err, r, f->dst);
                if (r == 0) {
                        IsoDir *sub;
                        r = iso_tree_add_new_dir(dir, name, &sub);
                        if (r < 0)
                                return iso_fail(err, r, f->dst);
                        dir = sub;
                } else if (iso_node_get_type(node) == LIBISO_DIR) {
                        dir = (IsoDir *) node;
                } else {
                        return err_set(err, -ENOTDIR, "'%s' on the ISO: '%s' is not a directory",
                                       f->dst, name);
                }
        }
        r = iso_dir_get_node(dir, name, &node);
        if (r < 0)
                return iso_fail(err, r, f->dst);
        if (r > 0)
                return err_set(err, -EEXIST, "'%s' is on the ISO already (in the staging tree?)",
                               f->dst);
        /* libisofs resolves host paths from /, not from the working directory. */
        abs = realpath(f->src, NULL);
        if (!abs)
                return err_set(err, -errno, "cannot resolve '%s': %s", f->src, strerror(errno));
        r = iso_tree_add_new_node(img, dir, name, abs, NULL);
        if (r < 0)
                return iso_fail(err, r, f->dst);
        return 0;
}

static int read_mbr(const char *path, char sa[32768], struct err *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        ssize_t n;

        if (fd < 0)
                return err_set(err, -errno, "cannot open '%s': %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return err_set(err, -errno, "cannot stat '%s': %s", path, strerror(errno));
        /* boot_hybrid.img is one 512-byte sector; only its code part is used, the partition
         * table is ours. */
        if (st.st_size < ISOFS_MBR_CODE || st.st_size > 512)
                return err_set(err, -EINVAL, "'%s' is not an MBR boot code image (%lld bytes)",
                               path, (long long) st.st_size);
        n = read(fd, sa, (size_t) st.st_size);
        if (n != st.st_size)
                return err_set(err, n < 0 ? -errno : -EIO, "cannot read '%s'", path);
        return 0;
}

/* libisofs lays out file data in the order of the files' host inode numbers unless sort
 * weights say otherwise: two copies of one tree would give two images. Weights that fall
 * with the path order (depth first, names sorted as libisofs keeps them) fix the layout. */
static int set_weights(IsoDir *dir, int *next, unsigned depth)
{
        IsoDirIter *it = NULL;
        IsoNode *node;
        int r;

        if (depth > 256)
                return -ELOOP;
        r = iso_dir_get_children(dir, &it);
        if (r < 0)
                return r;
        while ((r = iso_dir_iter_next(it, &node)) == 1) {
                if (iso_node_get_type(node) == LIBISO_FILE) {
                        iso_node_set_sort_weight(node, *next);
                        if (*next > INT_MIN + 1)
                                (*next)--;
                } else if (iso_node_get_type(node) == LIBISO_DIR) {
                        r = set_weights((IsoDir *) node, next, depth + 1);
                        if (r < 0)
                                break;
                }
        }
        iso_dir_iter_free(it);
        return r < 0 ? r : 0;
}

static int setup_image(const struct isofs_options *o, IsoImage **ret, struct err *err)
{
        _cleanup_(iso_image_unrefp) IsoImage *img = NULL;
        const char *volid = o->volume_id ? o->volume_id : "KVMFORGE";
        ElToritoBootImage *boot = NULL;
        IsoNode *node;
        int r;

        r = iso_image_new(volid, &img);
        if (r < 0)
                return iso_fail(err, r, "cannot create the image");
        iso_image_set_application_id(img, "KVMFORGE");
        iso_image_set_data_preparer_id(img, "KVMFORGE");
        iso_tree_set_follow_symlinks(img, 0);
        iso_tree_set_ignore_hidden(img, 0);
        iso_tree_set_ignore_special(img, 1 | 2 | 4 | 8); /* a FIFO or device is no ISO file */

        if (o->staging) {
                struct stat st;
                if (stat(o->staging, &st) < 0)
                        return err_set(err, -errno, "cannot stat '%s': %s", o->staging,
                                       strerror(errno));
                if (!S_ISDIR(st.st_mode))
                        return err_set(err, -ENOTDIR, "'%s' is not a directory", o->staging);
                _cleanup_free_ char *abs = realpath(o->staging, NULL);
                if (!abs)
                        return err_set(err, -errno, "cannot resolve '%s': %s", o->staging,
                                       strerror(errno));
                r = iso_tree_add_dir_rec(img, iso_image_get_root(img), abs);
                if (r < 0)
                        return iso_fail(err, r, o->staging);
        }
        for (size_t i = 0; i < o->n_extra; i++) {
                r = add_extra(img, &o->extra[i], err);
                if (r < 0)
                        return r;
        }

        {
                int next = INT_MAX;
                r = set_weights(iso_image_get_root(img), &next, 0);
                if (r == -ELOOP)
                        return err_set(err, r, "the tree is more than 256 directories deep");
                if (r < 0)
                        return iso_fail(err, r, "cannot order the files");
        }
        if (o->bios_image) {
                const char *cat = o->catalog ? o->catalog : "/boot.catalog";

                if (!iso_path_valid(o->bios_image) ||
                    iso_tree_path_to_node(img, o->bios_image, &node) != 1 ||
                    iso_node_get_type(node) != LIBISO_FILE)
                        return err_set(err, -ENOENT, "the BIOS boot image '%s' is not on the ISO",
                                       o->bios_image);
                if (!iso_path_valid(cat))
                        return err_set(err, -EINVAL, "'%s' is not a usable path on the ISO", cat);
                r = iso_image_set_boot_image(img, o->bios_image, ELTORITO_NO_EMUL, cat, &boot);
                if (r < 0)
                        return iso_fail(err, r, "cannot add the BIOS boot image");
                /* The first 2 KiB sector (cdboot) loads the rest of GRUB's core itself;
                 * the boot info table and GRUB2 boot info tell it where it lies. */
                el_torito_set_load_size(boot, 4);
                r = el_torito_set_isolinux_options(boot, (1 << 0) | (1 << 9), 0);
                if (r < 0)
                        return iso_fail(err, r, "cannot set the BIOS boot image's options");
                (void) iso_image_set_boot_catalog_hidden(img,
                                                         LIBISO_HIDE_ON_RR | LIBISO_HIDE_ON_JOLIET);
        }
        if (o->efi_image) {
                static const char interval[] = "--interval:appended_partition_2:all::";
                ElToritoBootImage *efi;

                if (boot)
                        r = iso_image_add_boot_image(img, interval, ELTORITO_NO_EMUL, 0, &efi);
                else
                        r = iso_image_set_boot_image(img, interval, ELTORITO_NO_EMUL,
                                                     o->catalog ? o->catalog : "/boot.catalog",
                                                     &efi);
                if (r < 0)
                        return iso_fail(err, r, "cannot add the EFI boot image");
                if (!boot)
                        (void) iso_image_set_boot_catalog_hidden(
                                img, LIBISO_HIDE_ON_RR | LIBISO_HIDE_ON_JOLIET);
                el_torito_set_boot_platform_id(efi, 0xef);
                el_torito_set_full_load(efi, 1);
        }
        *ret = TAKE_PTR(img);
        return 0;
}

static int setup_opts(const struct isofs_options *o, time_t ts, IsoWriteOpts **ret, struct err *err)
{
        _cleanup_(iso_write_opts_freep) IsoWriteOpts *w = NULL;
        char uuid[32];
        struct tm tm;
        int r;

        r = iso_write_opts_new(&w, 2);
        if (r < 0)
                return iso_fail(err, r, "cannot create write options");
        (void) iso_write_opts_set_iso_level(w, 3); /* files past 4 GiB (a big squashfs) */
        (void) iso_write_opts_set_rockridge(w, 1);
        (void) iso_write_opts_set_joliet(w, 1);
        (void) iso_write_opts_set_joliet_longer_paths(w, 1);
        (void) iso_write_opts_set_joliet_long_names(w, 1);
        (void) iso_write_opts_set_always_gmt(w, 1);
        /* No file serial numbers: libisofs numbers files in the order of their host inodes,
         * so a copy of the tree would give other bytes. RRIP 1.10 (what genisoimage writes)
         * has no serial numbers; Linux then numbers files by their position. No ACLs or
         * xattrs of the build machine either. */
        (void) iso_write_opts_set_rrip_version_1_10(w, 1);
        (void) iso_write_opts_set_rrip_1_10_px_ino(w, 0);
        (void) iso_write_opts_set_hardlinks(w, 0);
        (void) iso_write_opts_set_aaip(w, 0);
        (void) iso_write_opts_set_sort_files(w, 1);
        /* Root-owned files with useful modes, whoever built the tree. */
        (void) iso_write_opts_set_replace_mode(w, 1, 1, 1, 1);
        (void) iso_write_opts_set_replace_timestamps(w, 2);
        (void) iso_write_opts_set_default_timestamp(w, ts);
        /* The volume dates as a fixed GMT string: GRUB's and udev's "UUID" of the ISO. */
        if (!gmtime_r(&ts, &tm) || strftime(uuid, sizeof(uuid), "%Y%m%d%H%M%S00", &tm) != 16)
                return err_set(err, -EINVAL, "timestamp %lld is out of range", (long long) ts);
        r = iso_write_opts_set_pvd_times(w, ts, ts, 0, ts, uuid);
        if (r < 0)
                return iso_fail(err, r, "cannot set the volume dates");

        if (o->mbr_image) {
                char sa[32768] = { 0 };

                r = read_mbr(o->mbr_image, sa, err);
                if (r < 0)
                        return r;
                /* bit 14: GRUB2 MBR patching (the core's LBA at 0x1b0). */
                r = iso_write_opts_set_system_area(w, sa, 1 << 14, 0);
                if (r < 0)
                        return iso_fail(err, r, "cannot set the MBR");
                /* A second superblock at 32 KiB makes partition 1 mountable by itself. */
                r = iso_write_opts_set_part_offset(w, 16, 0, 0);
                if (r < 0)
                        return iso_fail(err, r, "cannot set the partition offset");
        }
        if (o->efi_image) {
                r = iso_write_opts_set_partition_img(w, 2, 0xef, (char *) o->efi_image, 0);
                if (r < 0)
                        return iso_fail(err, r, "cannot append the EFI image");
                (void) iso_write_opts_set_appended_as_gpt(w, 1);
                (void) iso_write_opts_set_iso_type_guid(w, basic_data_guid, 1);
                /* The disk and partition GUIDs follow from the volume dates. */
                r = iso_write_opts_set_gpt_guid(w, NULL, 2);
                if (r < 0)
                        return iso_fail(err, r, "cannot set the GPT GUID");
        }
        *ret = TAKE_PTR(w);
        return 0;
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

static int stream(IsoImage *img, IsoWriteOpts *w, int fd, const struct isofs_options *o,
                  struct err *err)
{
        struct burn_source *src = NULL;
        uint64_t done = 0, total, next = ISOFS_PROGRESS_STEP;
        _cleanup_free_ unsigned char *buf = malloc(ISOFS_CHUNK);
        int r;

        if (!buf)
                return -ENOMEM;
        r = iso_image_create_burn_source(img, w, &src);
        if (r < 0)
                return iso_fail(err, r, "cannot start writing the image");
        total = (uint64_t) src->get_size(src);
        r = 0;
        for (;;) {
                int n = src->read_xt(src, buf, ISOFS_CHUNK);
                if (n < 0) {
                        r = iso_fail(err, ISO_ERROR, "cannot produce the image");
                        break;
                }
                if (n == 0)
                        break;
                r = write_all(fd, buf, (size_t) n);
                if (r < 0) {
                        r = err_set(err, r, "cannot write the image: %s", strerror(-r));
                        break;
                }
                done += (uint64_t) n;
                if (o->progress && done >= next) {
                        o->progress(o->userdata, done, total);
                        next = done + ISOFS_PROGRESS_STEP;
                }
        }
        if (r < 0)
                src->cancel(src); /* stops the writer thread */
        else if (done != total)
                r = err_set(err, -EIO, "the image ended after %llu of %llu bytes",
                            (unsigned long long) done, (unsigned long long) total);
        src->free_data(src);
        free(src);
        if (r == 0 && o->progress)
                o->progress(o->userdata, done, total);
        return r;
}

int isofs_write(const struct isofs_options *o, const char *out, struct err *err)
{
        _cleanup_(iso_image_unrefp) IsoImage *img = NULL;
        _cleanup_(iso_write_opts_freep) IsoWriteOpts *w = NULL;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        time_t ts = o->timestamp >= 0 ? o->timestamp : time(NULL);
        int r;

        if (o->volume_id) {
                r = isofs_volume_id_check(o->volume_id, err);
                if (r < 0)
                        return r;
        }
        if (o->n_extra > ISOFS_MAX_EXTRA)
                return err_set(err, -E2BIG, "%zu extra files, more than %d", o->n_extra,
                               ISOFS_MAX_EXTRA);
        if (o->mbr_image && !o->bios_image)
                return err_set(err, -EINVAL, "MBR boot code needs a BIOS boot image to load");
        (void) pthread_once(&iso_once, iso_setup);
        if (iso_init_result < 0)
                return iso_fail(err, ISO_ERROR, "cannot initialise libisofs");

        if (asprintf(&tmp, "%s.tmp-XXXXXX", out) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return err_set(err, -errno, "cannot create a file beside '%s': %s", out,
                               strerror(errno));
        (void) fchmod(fd, 0644);

        pthread_mutex_lock(&iso_lock);
        iso_drain();
        /* Nodes get their dates when they are made: "now" is the build's timestamp. */
        (void) iso_nowtime(&ts, 1);
        r = setup_image(o, &img, err);
        if (r >= 0)
                r = setup_opts(o, ts, &w, err);
        if (r >= 0)
                r = stream(img, w, fd, o, err);
        (void) iso_nowtime(&ts, 2);
        iso_drain();
        pthread_mutex_unlock(&iso_lock);
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = err_set(err, -errno, "cannot write '%s': %s", tmp, strerror(errno));
        if (r >= 0 && rename(tmp, out) < 0)
                r = err_set(err, -errno, "cannot rename '%s' to '%s': %s", tmp, out,
                            strerror(errno));
        if (r < 0) {
                (void) unlink(tmp);
                return err_prefix(err, r, "cannot write the ISO '%s'", out);
        }
        return 0;
}
