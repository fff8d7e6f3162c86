/* The install payload; see payload.h. */
#include "payload.h"
#include "child.h"
#include "cleanup.h"
#include "file.h"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The hypervisor stack and what an installed node needs to boot, be reached and be managed.
 * grub-pc-bin and grub-efi-amd64-bin (not grub-pc/grub-efi, which conflict) so that the
 * installer can set up both firmwares' boot on every node. The libraries are those that
 * kvmforge's own programs in the payload link against. */
const char *const payload_packages[] = { "linux-image-amd64",
                                         "systemd-sysv",
                                         "udev",
                                         "kmod",
                                         "dbus",
                                         "initramfs-tools",
                                         "qemu-system-x86",
                                         "qemu-utils",
                                         "libvirt-daemon-system",
                                         "libvirt-clients",
                                         "ovmf",
                                         "lvm2",
                                         "thin-provisioning-tools",
                                         "mdadm",
                                         "xfsprogs",
                                         "dosfstools",
                                         "e2fsprogs",
                                         "grub-pc-bin",
                                         "grub-efi-amd64-bin",
                                         "grub2-common",
                                         "efibootmgr",
                                         "openssh-server",
                                         "ifupdown",
                                         "bridge-utils",
                                         "vlan",
                                         "ifenslave",
                                         "isc-dhcp-client",
                                         "iproute2",
                                         "netbase",
                                         "chrony",
                                         "locales",
                                         "keyboard-configuration",
                                         "console-setup",
                                         "tzdata",
                                         "ca-certificates",
                                         "less",
                                         "nano",
                                         "curl",
                                         "libdeflate0",
                                         "libx86emu3",
                                         "libparted2",
                                         "libarchive13",
                                         "libisofs6",
                                         NULL };

/* Documentation is the bulk of a Debian root and no node reads it; copyright files stay. */
static const char *const dpkg_excludes[] = {
        "path-exclude=/usr/share/man/*",           "path-exclude=/usr/share/doc/*",
        "path-include=/usr/share/doc/*/copyright", "path-exclude=/usr/share/info/*",
        "path-exclude=/usr/share/lintian/*",       NULL
};

DEFINE_CLEANUP_FUNC(struct archive *, archive_read_free, NULL)
#define _cleanup_archive_read_ _cleanup_(archive_read_freep)
static inline void archive_write_freep(struct archive **a)
{
        if (*a)
                (void) archive_write_free(*a);
}
#define _cleanup_archive_write_ _cleanup_(archive_write_freep)

static int cache_key(const struct payload_options *o, const char *suite, const char *mirror,
                     char ret[17], struct err *err)
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;

        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(ctx);
                return err_set(err, -ENOMEM, "cannot hash the payload's inputs");
        }
        /* Everything that changes what mmdebstrap makes. The order of packages does not. */
        EVP_DigestUpdate(ctx, "kvmforge-payload-1\n", 19);
        EVP_DigestUpdate(ctx, suite, strlen(suite) + 1);
        EVP_DigestUpdate(ctx, mirror, strlen(mirror) + 1);
        for (size_t i = 0; payload_packages[i]; i++)
                EVP_DigestUpdate(ctx, payload_packages[i], strlen(payload_packages[i]) + 1);
        for (size_t i = 0; dpkg_excludes[i]; i++)
                EVP_DigestUpdate(ctx, dpkg_excludes[i], strlen(dpkg_excludes[i]) + 1);
        EVP_DigestUpdate(ctx, "--\n", 3);
        for (size_t i = 0; i < o->n_packages; i++)
                EVP_DigestUpdate(ctx, o->packages[i], strlen(o->packages[i]) + 1);
        EVP_DigestFinal_ex(ctx, md, &len);
        EVP_MD_CTX_free(ctx);
        for (unsigned i = 0; i < 8; i++)
                (void) snprintf(ret + 2 * i, 3, "%02x", md[i]);
        return 0;
}

static bool valid_package_name(const char *s)
{
        /* Debian policy: lowercase letters, digits, + - . ; at least two, starting alnum. */
        if (strlen(s) < 2 || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '+' ||
                      *s == '-' || *s == '.'))
                        return false;
        return true;
}

/* mmdebstrap SUITE BASE.partial.tar.zst MIRROR, renamed to BASE when it succeeded. */
static int run_mmdebstrap(const struct payload_options *o, const char *suite, const char *mirror,
                          const char *base, struct err *err)
{
        _cleanup_free_ char *include = NULL, *partial = NULL;
        char *argv[64];
        size_t n = 0, len = 0;
        char **dpkgopt = NULL;
        int r;

        for (size_t i = 0; payload_packages[i]; i++)
                len += strlen(payload_packages[i]) + 1;
        for (size_t i = 0; i < o->n_packages; i++) {
                if (!valid_package_name(o->packages[i]))
                        return err_set(err, -EINVAL, "'%s' is not a Debian package name",
                                       o->packages[i]);
                len += strlen(o->packages[i]) + 1;
        }
        include = malloc(len + sizeof("--include="));
        if (!include || asprintf(&partial, "%.*s.partial.tar.zst",
                                 (int) (strlen(base) - strlen(".tar.zst")), base) < 0)
                return err_set(err, -ENOMEM, "out of memory");
        strcpy(include, "--include=");
        for (size_t i = 0; payload_packages[i]; i++) {
                strcat(include, payload_packages[i]);
                strcat(include, ",");
        }
        for (size_t i = 0; i < o->n_packages; i++) {
                strcat(include, o->packages[i]);
                strcat(include, ",");
        }
        include[strlen(include) - 1] = '\0';

        argv[n++] = "mmdebstrap";
        argv[n++] = "--quiet";
        argv[n++] = "--variant=minbase";
        argv[n++] = include;
        dpkgopt = calloc(ELEMENTSOF(dpkg_excludes), sizeof(char *));
        if (!dpkgopt)
                return err_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; dpkg_excludes[i]; i++) {
                if (asprintf(&dpkgopt[i], "--dpkgopt=%s", dpkg_excludes[i]) < 0) {
                        r = err_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                argv[n++] = dpkgopt[i];
        }
        argv[n++] = (char *) suite;
        argv[n++] = partial;
        argv[n++] = (char *) mirror;
        argv[n] = NULL;
        (void) unlink(partial);
        r = child_tool("building the node's root with mmdebstrap", argv, o->log_fd, err);
        if (r >= 0 && rename(partial, base) < 0)
                r = err_set(err, -errno, "cannot rename '%s': %s", partial, strerror(errno));
        if (r < 0)
                (void) unlink(partial);
out:
        for (size_t i = 0; dpkgopt[i]; i++)
                free(dpkgopt[i]);
        free(dpkgopt);
        return r;
}

/* Where an archive member is also copied to under boot_dir, or "" when it is not: the kernel
 * and the modules tree (the live environment's initramfs takes its modules from there), and
 * dpkg's status (the medium lists the node's packages, for checking %packages). */
static void boot_copy_path(const char *name, const char *boot_dir, char *ret, size_t size,
                           char release[64])
{
        const char *mods = "usr/lib/modules/";

        ret[0] = '\0';
        if (strncmp(name, "./", 2) == 0)
                name += 2;
        if (strncmp(name, "boot/vmlinuz-", 13) == 0 && !strchr(name + 13, '/')) {
                (void) snprintf(release, 64, "%s", name + 13);
                (void) snprintf(ret, size, "%s/vmlinuz", boot_dir);
        } else if (strcmp(name, "var/lib/dpkg/status") == 0) {
                (void) snprintf(ret, size, "%s/dpkg-status", boot_dir);
        } else if (strncmp(name, mods, strlen(mods)) == 0 && name[strlen(mods)])
                (void) snprintf(ret, size, "%s/modules/%s", boot_dir, name + strlen(mods));
}

static int copy_member(struct archive *in, struct archive *out, int fd, const char *name,
                       uint64_t *bytes, struct err *err)
{
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r;

        while ((r = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK) {
                if (archive_write_data(out, buf, size) != (la_ssize_t) size)
                        return err_set(err, -EIO, "cannot write the payload: %s",
                                       archive_error_string(out));
                if (fd >= 0 && pwrite(fd, buf, size, offset) != (ssize_t) size)
                        return err_set(err, -errno, "cannot copy '%s' out of the payload: %s", name,
                                       strerror(errno));
                *bytes += size;
        }
        if (r != ARCHIVE_EOF)
                return err_set(err, -EIO, "cannot read '%s' from the base tree: %s", name,
                               archive_error_string(in));
        return 0;
}

static int add_file(struct archive *out, const struct payload_file *f, time_t mtime,
                    struct payload_info *info, struct err *err)
{
        _cleanup_close_ int fd = open(f->src, O_RDONLY | O_CLOEXEC);
        struct archive_entry *e;
        char name[PATH_MAX], buf[65536];
        struct stat st;
        ssize_t n;
        int r = 0;

        if (fd < 0 || fstat(fd, &st) < 0)
                return err_set(err, -errno, "cannot read '%s' for the payload: %s", f->src,
                               strerror(errno));
        (void) snprintf(name, sizeof(name), "./%s", f->dst);
        e = archive_entry_new();
        if (!e)
                return err_set(err, -ENOMEM, "out of memory");
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, f->mode);
        archive_entry_set_size(e, st.st_size);
        archive_entry_set_mtime(e, mtime, 0);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        if (archive_write_header(out, e) != ARCHIVE_OK)
                r = err_set(err, -EIO, "cannot add '%s' to the payload: %s", f->dst,
                            archive_error_string(out));
        archive_entry_free(e);
        while (r == 0 && (n = read(fd, buf, sizeof(buf))) > 0)
                if (archive_write_data(out, buf, (size_t) n) != n)
                        r = err_set(err, -EIO, "cannot add '%s' to the payload: %s", f->dst,
                                    archive_error_string(out));
        info->entries++;
        info->bytes += (uint64_t) st.st_size;
        return r;
}

/* One pass over mmdebstrap's tree: into the payload, with the kernel and modules copied out,
 * kvmforge's files added at the end. */
static int repack(const struct payload_options *o, const char *base, const char *tmp,
                  const char *boot_dir, struct payload_info *info, struct err *err)
{
        _cleanup_archive_read_ struct archive *in = archive_read_new();
        _cleanup_archive_write_ struct archive *out = archive_write_new();
        struct archive_entry *e;
        char copy[PATH_MAX];
        time_t newest = 0;
        int r;

        if (!in || !out)
                return err_set(err, -ENOMEM, "out of memory");
        archive_read_support_filter_zstd(in);
        archive_read_support_format_tar(in);
        /* Names are bytes: no conversion through the locale (the live environment's is C). */
        (void) archive_read_set_options(in, "tar:hdrcharset=BINARY");
        if (archive_read_open_filename(in, base, 1 << 20) != ARCHIVE_OK)
                return err_set(err, -EIO, "cannot read '%s': %s", base, archive_error_string(in));
        /* pax keeps what a root filesystem needs: long names, numeric owners, file
         * capabilities (xattrs). zstd level 3 unpacks at disk speed and packs fast. */
        if (archive_write_set_format_pax_restricted(out) != ARCHIVE_OK ||
            archive_write_add_filter_zstd(out) != ARCHIVE_OK ||
            archive_write_set_filter_option(out, "zstd", "compression-level", "3") != ARCHIVE_OK)
                return err_set(err, -EIO, "cannot set up the payload's format: %s",
                               archive_error_string(out));
        (void) archive_write_set_filter_option(out, "zstd", "threads", "0");
        if (archive_write_set_format_option(out, NULL, "hdrcharset", "BINARY") != ARCHIVE_OK)
                return err_set(err, -EIO, "cannot set up the payload's names: %s",
                               archive_error_string(out));
        if (archive_write_open_filename(out, tmp) != ARCHIVE_OK)
                return err_set(err, -EIO, "cannot write '%s': %s", tmp, archive_error_string(out));

        while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                const char *name = archive_entry_pathname(e);
                _cleanup_close_ int fd = -1;

                boot_copy_path(name, boot_dir, copy, sizeof(copy), info->kernel_release);
                if (copy[0] && archive_entry_filetype(e) == AE_IFDIR) {
                        if ((r = file_mkdir_parents(copy, 0755, true)) < 0)
                                return err_set(err, r, "cannot make '%s': %s", copy, strerror(-r));
                } else if (copy[0] && archive_entry_filetype(e) == AE_IFREG &&
                           !archive_entry_hardlink(e)) {
                        if ((r = file_mkdir_parents(copy, 0755, false)) < 0)
                                return err_set(err, r, "cannot make the directories of '%s': %s",
                                               copy, strerror(-r));
                        fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                        if (fd < 0)
                                return err_set(err, -errno, "cannot write '%s': %s", copy,
                                               strerror(errno));
                }
                if (archive_entry_mtime(e) > newest)
                        newest = archive_entry_mtime(e);
                if (archive_write_header(out, e) != ARCHIVE_OK)
                        return err_set(err, -EIO, "cannot write the payload: %s",
                                       archive_error_string(out));
                if ((r = copy_member(in, out, fd, name, &info->bytes, err)) < 0)
                        return r;
                info->entries++;
        }
        if (r != ARCHIVE_EOF)
                return err_set(err, -EIO, "cannot read '%s': %s", base, archive_error_string(in));
        if (!info->kernel_release[0])
                return err_set(err, -ENOENT, "the base tree '%s' has no /boot/vmlinuz-*", base);
        for (size_t i = 0; i < o->n_files; i++)
                if ((r = add_file(out, &o->files[i], newest, info, err)) < 0)
                        return r;
        if (archive_write_close(out) != ARCHIVE_OK)
                return err_set(err, -EIO, "cannot finish '%s': %s", tmp, archive_error_string(out));
        return 0;
}

int payload_build(const struct payload_options *o, const char *out, const char *boot_dir,
                  struct payload_info *ret, struct err *err)
{
        const char *suite = o->suite ? o->suite : PAYLOAD_DEFAULT_SUITE;
        const char *mirror = o->mirror ? o->mirror : PAYLOAD_DEFAULT_MIRROR;
        struct payload_info info = {};
        _cleanup_free_ char *base = NULL, *tmp = NULL;
        int r;

        if ((r = cache_key(o, suite, mirror, info.cache_key, err)) < 0)
                return r;
        if ((r = file_mkdir_parents(o->cache_dir, 0755, true)) < 0)
                return err_set(err, r, "cannot make the cache '%s': %s", o->cache_dir,
                               strerror(-r));
        if (asprintf(&base, "%s/base-%s-%s.tar.zst", o->cache_dir, suite, info.cache_key) < 0 ||
            asprintf(&tmp, "%s.tmp", out) < 0)
                return err_set(err, -ENOMEM, "out of memory");
        if (access(base, R_OK) == 0)
                info.reused = true;
        else if ((r = run_mmdebstrap(o, suite, mirror, base, err)) < 0)
                return r;
        if ((r = file_mkdir_parents(boot_dir, 0755, true)) < 0)
                return err_set(err, r, "cannot make '%s': %s", boot_dir, strerror(-r));
        r = repack(o, base, tmp, boot_dir, &info, err);
        if (r >= 0 && rename(tmp, out) < 0)
                r = err_set(err, -errno, "cannot rename '%s': %s", tmp, strerror(errno));
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        *ret = info;
        return 0;
}

static int unpack_member(struct archive *in, struct archive *disk, struct err *err)
{
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r;

        while ((r = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK)
                if (archive_write_data_block(disk, buf, size, offset) != ARCHIVE_OK)
                        return err_set(err, -EIO, "%s", archive_error_string(disk));
        if (r != ARCHIVE_EOF)
                return err_set(err, -EIO, "%s", archive_error_string(in));
        return 0;
}

int payload_unpack(const char *path, const char *root,
                   void (*progress)(void *userdata, uint64_t done, uint64_t total), void *userdata,
                   struct err *err)
{
        _cleanup_archive_read_ struct archive *in = archive_read_new();
        _cleanup_archive_write_ struct archive *disk = archive_write_disk_new();
        struct archive_entry *e;
        char name[PATH_MAX];
        struct stat st;
        uint64_t next = 0;
        int r;

        if (!in || !disk)
                return err_set(err, -ENOMEM, "out of memory");
        if (stat(path, &st) < 0)
                return err_set(err, -errno, "cannot read the payload '%s': %s", path,
                               strerror(errno));
        archive_read_support_filter_zstd(in);
        archive_read_support_format_tar(in);
        (void) archive_read_set_options(in, "tar:hdrcharset=BINARY");
        /* Names are put under root by us; the disk writer refuses anything that would lead
         * out of it (.., absolute names, a path through a symbolic link). */
        archive_write_disk_set_options(
                disk, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_TIME |
                              ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |
                              ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS);
        /* Numeric owners: the installer's own passwd knows nothing of the node's users. */
        if (archive_read_open_filename(in, path, 1 << 20) != ARCHIVE_OK)
                return err_set(err, -EIO, "cannot read the payload '%s': %s", path,
                               archive_error_string(in));
        while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                const char *n = archive_entry_pathname(e), *link = archive_entry_hardlink(e);

                if (strncmp(n, "./", 2) == 0)
                        n += 2;
                if (n[0] == '/' ||
                    (size_t) snprintf(name, sizeof(name), "%s/%s", root, n) >= sizeof(name))
                        return err_set(err, -EBADMSG, "the payload '%s' holds a bad name '%s'",
                                       path, archive_entry_pathname(e));
                archive_entry_set_pathname(e, name);
                if (link) {
                        char target[PATH_MAX];
                        if (strncmp(link, "./", 2) == 0)
                                link += 2;
                        (void) snprintf(target, sizeof(target), "%s/%s", root, link);
                        archive_entry_set_hardlink(e, target);
                }
                if (archive_write_header(disk, e) != ARCHIVE_OK)
                        return err_set(err, -EIO, "cannot unpack '%s': %s", n,
                                       archive_error_string(disk));
                if (archive_entry_size(e) > 0 && (r = unpack_member(in, disk, err)) < 0)
                        return err_prefix(err, r, "cannot unpack '%s'", n);
                if (archive_write_finish_entry(disk) != ARCHIVE_OK)
                        return err_set(err, -EIO, "cannot unpack '%s': %s", n,
                                       archive_error_string(disk));
                if (progress && (uint64_t) archive_filter_bytes(in, -1) >= next) {
                        progress(userdata, (uint64_t) archive_filter_bytes(in, -1),
                                 (uint64_t) st.st_size);
                        next = (uint64_t) archive_filter_bytes(in, -1) + (8u << 20);
                }
        }
        if (r != ARCHIVE_EOF)
                return err_set(err, -EBADMSG, "the payload '%s' is damaged: %s", path,
                               archive_error_string(in));
        if (archive_write_close(disk) != ARCHIVE_OK)
                return err_set(err, -EIO, "cannot finish unpacking into '%s': %s", root,
                               archive_error_string(disk));
        if (progress)
                progress(userdata, (uint64_t) st.st_size, (uint64_t) st.st_size);
        return 0;
}
