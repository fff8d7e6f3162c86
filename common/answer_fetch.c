/* The answer file's sources: local files, the install medium, filesystems found by label or
 * UUID (libblkid) and mounted read-only for the time of one read, and HTTP(S) (libcurl, one
 * bounded request per attempt, retried while the network comes up). Each source's reasons
 * are made without its name; answer_fetch() and the chain put the name in front. */
#include "answer_fetch.h"

#include <blkid/blkid.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "http.h"
#include "hw.h"
#include "kickstart.h"
#include "log.h"
#include "strv.h"

#define ANSWER_MAX_DEVICES 1024
#define ANSWER_STALL_S     10L /* seconds below 1 byte/s: the connection is dead */

DEFINE_CLEANUP_FUNC(CURL *, curl_easy_cleanup, NULL)
DEFINE_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all, NULL)
DEFINE_CLEANUP_FUNC(CURLU *, curl_url_cleanup, NULL)
DEFINE_CLEANUP_FUNC(blkid_probe, blkid_free_probe, NULL)

static inline void curl_freep(char **p)
{
        curl_free(*p);
}

/* The mounts are this machine's, never a captured tree's. */
static const struct hw_source live_system = { .sysroot = NULL };

/* The bytes of an answer while they arrive. */
struct buf {
        char *p;
        size_t len;
        bool too_big;
};

static void buf_release(struct buf *b)
{
        free(b->p);
        *b = (struct buf){ 0 };
}

static int buf_append(struct buf *b, const void *data, size_t n)
{
        char *p;

        if (n > KICKSTART_MAX_BYTES - b->len) {
                b->too_big = true;
                return -EFBIG;
        }
        p = realloc(b->p, b->len + n + 1);
        if (!p)
                return -ENOMEM;
        memcpy(p + b->len, data, n);
        b->p = p;
        b->len += n;
        b->p[b->len] = '\0';
        return 0;
}

static int too_big(struct err *err)
{
        return err_set(err, -EFBIG, "larger than %u bytes, the most an answer file may have",
                       KICKSTART_MAX_BYTES);
}

/* What one fetch needs: the options, and the block devices, probed once per chain. */
struct blockdev {
        char name[64]; /* sdb1 */
        char path[80]; /* /dev/sdb1 */
        dev_t devnum;
        char type[32], label[128], uuid[64];
};

struct ctx {
        const struct answer_fetch_options *o;
        struct blockdev *devs;
        size_t n_devs;
        bool scanned;
};

static void ctx_release(struct ctx *ctx)
{
        free(ctx->devs);
        ctx->devs = NULL;
        ctx->n_devs = 0;
        ctx->scanned = false;
}

static void report(const struct ctx *ctx, const char *source, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void report(const struct ctx *ctx, const char *source, const char *fmt, ...)
{
        char what[512];
        va_list ap;

        if (!ctx->o->report)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        ctx->o->report(ctx->o->userdata, source, what);
}

void answer_source_release(struct answer_source *s)
{
        free(s->text);
        *s = (struct answer_source){ 0 };
}

int answer_sha256_hex(const void *data, size_t len, char out[65])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;

        if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32)
                return -EIO;
        for (unsigned i = 0; i < n; i++)
                (void) snprintf(out + 2 * i, 3, "%02x", md[i]);
        return 0;
}

/* The checks every source shares, then the answer handed over. */
static int finish(struct buf *b, const char *name, bool cleartext,
                  const struct answer_fetch_options *o, struct answer_source *ret, struct err *err)
{
        const char *nul = b->len ? memchr(b->p, '\0', b->len) : NULL;
        char hex[65];

        if (nul)
                return err_set(err, -EBADMSG,
                               "holds a NUL byte at offset %zu: an answer file is text",
                               (size_t) (nul - b->p));
        if (answer_sha256_hex(b->p ? b->p : "", b->len, hex) < 0)
                return err_set(err, -EIO, "cannot compute its SHA-256 (libcrypto failed)");
        if (o->sha256 && strcasecmp(o->sha256, hex) != 0)
                return err_set(err, -EBADMSG, "its SHA-256 is %s, not the expected %s", hex,
                               o->sha256);
        if (!b->p && !(b->p = strdup("")))
                return -ENOMEM;
        *ret = (struct answer_source){ .text = b->p, .len = b->len, .cleartext = cleartext };
        memcpy(ret->sha256, hex, sizeof(hex));
        (void) snprintf(ret->name, sizeof(ret->name), "%s", name);
        *b = (struct buf){ 0 };
        return 0;
}

/* ---- files ---- */

static int read_fd(int fd, struct buf *b, struct err *err)
{
        struct stat st;
        char chunk[65536];

        if (fstat(fd, &st) < 0)
                return err_set(err, -errno, "cannot stat: %s", strerror(errno));
        if (S_ISDIR(st.st_mode))
                return err_set(err, -EISDIR, "is a directory, not a file");
        if (!S_ISREG(st.st_mode))
                return err_set(err, -EINVAL, "is not a regular file");
        if ((uint64_t) st.st_size > KICKSTART_MAX_BYTES)
                return too_big(err);
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                int r;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_set(err, -errno, "cannot read: %s", strerror(errno));
                if (n == 0)
                        return 0;
                r = buf_append(b, chunk, (size_t) n);
                if (r == -EFBIG)
                        return too_big(err); /* it grew while we read it */
                if (r < 0)
                        return r;
        }
}

static int open_error(int e, const char *path, const char *where, struct err *err)
{
        if ((e == ENOENT || e == ENOTDIR) && !where[0]) /* the message's prefix names it */
                return err_set(err, -ENOENT, "no such file");
        if (e == ENOENT || e == ENOTDIR)
                return err_set(err, -ENOENT, "no file '%s'%s", path, where);
        if (e == EXDEV)
                return err_set(err, -EXDEV, "'%s'%s leads into another filesystem", path, where);
        return err_set(err, -e, "cannot open '%s'%s: %s", path, where, strerror(e));
}

/* O_NONBLOCK: a FIFO in the answer's place must not hang the installer (read_fd refuses it). */
#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

static int read_path(const char *path, struct buf *b, struct err *err)
{
        _cleanup_close_ int fd = open(path, OPEN_FLAGS);

        if (fd < 0)
                return open_error(errno, path, "", err);
        return read_fd(fd, b, err);
}

/* path inside the filesystem mounted at root: symbolic links resolve inside it (a link on a
 * stick cannot reach the installer's own files) and never into another mount. where says which
 * filesystem, for messages. */
static int read_under(const char *root, const char *path, const char *where, struct buf *b,
                      struct err *err)
{
        _cleanup_close_ int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int fd = -1;
        struct open_how how = {
                .flags = OPEN_FLAGS,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        const char *rel = path;

        if (dfd < 0)
                return err_set(err, -errno, "cannot open '%s': %s", root, strerror(errno));
        while (*rel == '/')
                rel++;
        if (!*rel)
                return err_set(err, -EISDIR, "'%s' is a directory, not a file", path);
        fd = (int) syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
        /* Kernels before 5.6, and seccomp filters that do not know the call. */
        if (fd < 0 && (errno == ENOSYS || errno == EPERM))
                fd = openat(dfd, rel, OPEN_FLAGS);
        if (fd < 0)
                return open_error(errno, path, where, err);
        return read_fd(fd, b, err);
}

/* ---- mounts ---- */

/* Where the whole filesystem of devnum is mounted (root "/": not a bind mount of a part). */
static bool find_mount(dev_t devnum, char *point, size_t size)
{
        _cleanup_free_ struct hw_mount *m = NULL;
        size_t n = 0;

        if (hw_mounts_read(&live_system, &m, &n) < 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (m[i].devnum == devnum && strcmp(m[i].root, "/") == 0) {
                        (void) snprintf(point, size, "%s", m[i].point);
                        return true;
                }
        return false;
}

/* Mounts dev read-only in a new directory under o->mount_dir, into dir. */
static int mount_ro(const struct answer_fetch_options *o, const struct blockdev *d, char *dir,
                    size_t size, struct err *err)
{
        const char *base = o->mount_dir ? o->mount_dir : ANSWER_MOUNT_DIR;
        int e;

        if (mkdir(base, 0700) < 0 && errno != EEXIST)
                return err_set(err, -errno, "cannot create '%s': %s", base, strerror(errno));
        if ((size_t) snprintf(dir, size, "%s/answer-XXXXXX", base) >= size)
                return err_set(err, -ENAMETOOLONG, "'%s' is too long a path", base);
        if (!mkdtemp(dir))
                return err_set(err, -errno, "cannot create a directory in '%s': %s", base,
                               strerror(errno));
        /* Read-only is not enough: ext3/4 and XFS replay a dirty journal even then, which
         * writes to a disk nobody chose. These options leave the journal alone. */
        const char *data = strcmp(d->type, "ext3") == 0 || strcmp(d->type, "ext4") == 0 ? "noload"
                           : strcmp(d->type, "xfs") == 0 ? "norecovery"
                                                         : NULL;
        if (mount(d->path, dir, d->type, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, data) == 0)
                return 0;
        e = errno;
        (void) rmdir(dir);
        if (e == ENODEV)
                return err_set(
                        err, -EOPNOTSUPP,
                        "cannot mount %s: the kernel has no '%s' filesystem driver (module not loaded?)",
                        d->path, d->type);
        if (e == EPERM || e == EACCES)
                return err_set(err, -EPERM, "cannot mount %s: permission denied (run as root)",
                               d->path);
        /* mount(2) says little ("No such file or directory" for a missing crc32c module):
         * the kernel log says more. */
        return err_set(err, e == ENOENT ? -EIO : -e,
                       "cannot mount %s (%s) read-only: %s (the kernel log says why)", d->path,
                       d->type, strerror(e));
}

static void unmount(const char *dir)
{
        /* Nothing of ours is open there any more; a lazy unmount covers a scanner that is. */
        if (umount2(dir, UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
                (void) umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW);
        (void) rmdir(dir);
}

/* ---- block devices ---- */

/* Fills d from what libblkid finds on d->path: 0, or -errno when nothing is there. */
static int probe_device(struct blockdev *d)
{
        _cleanup_close_ int fd = open(d->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        _cleanup_(blkid_free_probep) blkid_probe pr = NULL;
        const char *v = NULL;
        struct stat st;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISBLK(st.st_mode))
                return -ENOTBLK;
        d->devnum = st.st_rdev;
        pr = blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        if (blkid_probe_set_device(pr, fd, 0, 0) < 0 || blkid_probe_enable_superblocks(pr, 1) < 0 ||
            blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID |
                                                          BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE) <
                    0)
                return -EIO;
        /* 1: nothing; -2: two signatures disagree, which we never guess between. */
        if (blkid_do_safeprobe(pr) != 0)
                return -EMEDIUMTYPE;
        if (blkid_probe_lookup_value(pr, "USAGE", &v, NULL) < 0 || strcmp(v, "filesystem") != 0)
                return -EMEDIUMTYPE;
        if (blkid_probe_lookup_value(pr, "TYPE", &v, NULL) < 0)
                return -EMEDIUMTYPE;
        (void) snprintf(d->type, sizeof(d->type), "%s", v);
        if (blkid_probe_lookup_value(pr, "LABEL", &v, NULL) == 0)
                (void) snprintf(d->label, sizeof(d->label), "%s", v);
        if (blkid_probe_lookup_value(pr, "UUID", &v, NULL) == 0)
                (void) snprintf(d->uuid, sizeof(d->uuid), "%s", v);
        return 0;
}

/* Every block device of /proc/partitions that holds a filesystem, in its order. */
static int scan_devices(struct ctx *ctx, struct err *err)
{
        _cleanup_fclose_ FILE *f = NULL;
        char line[256];

        if (ctx->scanned)
                return 0;
        f = fopen("/proc/partitions", "re");
        if (!f)
                return err_set(err, -errno, "cannot read /proc/partitions: %s", strerror(errno));
        while (fgets(line, sizeof(line), f)) {
                struct blockdev d = { 0 }, *slot;
                char name[64];
                unsigned long long blocks;

                if (sscanf(line, " %*u %*u %llu %63s", &blocks, name) != 2 || blocks < 2)
                        continue; /* the header; an extended partition's stub */
                if (ctx->n_devs >= ANSWER_MAX_DEVICES)
                        break;
                (void) snprintf(d.name, sizeof(d.name), "%s", name);
                (void) snprintf(d.path, sizeof(d.path), "/dev/%s", name);
                if (probe_device(&d) < 0)
                        continue;
                if (!(slot = array_grow(&ctx->devs, &ctx->n_devs, sizeof(*slot))))
                        return -ENOMEM;
                *slot = d;
        }
        ctx->scanned = true;
        return 0;
}

/* An isohybrid image shows its ISO 9660 filesystem on the disk and again on a partition that
 * starts at sector 0: the same filesystem (same UUID), not two. */
static bool is_partition_of(const char *part, const char *disk)
{
        char path[256], real[PATH_MAX];
        const char *slash;

        (void) snprintf(path, sizeof(path), "/sys/class/block/%s/partition", part);
        if (access(path, F_OK) < 0)
                return false;
        (void) snprintf(path, sizeof(path), "/sys/class/block/%s/..", part);
        if (!realpath(path, real) || !(slash = strrchr(real, '/')))
                return false;
        return strcmp(slash + 1, disk) == 0;
}

static bool same_filesystem(const struct blockdev *a, const struct blockdev *b)
{
        return a->uuid[0] && strcmp(a->uuid, b->uuid) == 0 && strcmp(a->type, b->type) == 0 &&
               (is_partition_of(a->name, b->name) || is_partition_of(b->name, a->name));
}

/* The one filesystem whose LABEL (or UUID, by_uuid) is value. */
static int find_by_tag(struct ctx *ctx, bool by_uuid, const char *value, struct blockdev *ret,
                       struct err *err)
{
        const char *what = by_uuid ? "UUID" : "label";
        const struct blockdev *found = NULL, *near = NULL;
        int r = scan_devices(ctx, err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < ctx->n_devs; i++) {
                const struct blockdev *d = &ctx->devs[i];
                const char *tag = by_uuid ? d->uuid : d->label;

                if (!by_uuid && strcasecmp(tag, value) == 0 && strcmp(tag, value) != 0)
                        near = d;
                if (by_uuid ? strcasecmp(tag, value) != 0 : strcmp(tag, value) != 0)
                        continue;
                if (found && same_filesystem(found, d)) {
                        if (is_partition_of(found->name, d->name))
                                found = d; /* the whole disk: the other is inside it */
                        continue;
                }
                if (found)
                        return err_set(
                                err, -ENOTUNIQ,
                                "%s and %s both hold a filesystem with the %s '%s': change one (e2label, fatlabel) or name the device (hd:%s:/...)",
                                found->path, d->path, what, value, found->name);
                found = d;
        }
        if (!found && near)
                return err_set(
                        err, -ENODEV,
                        "no filesystem labelled '%s' (%s is labelled '%s': labels are case-sensitive)",
                        value, near->path, near->label);
        if (!found && by_uuid)
                return err_set(err, -ENODEV, "no filesystem with the UUID '%s'", value);
        if (!found)
                return err_set(err, -ENODEV, "no filesystem labelled '%s'", value);
        *ret = *found;
        return 0;
}

/* "sdb1" or "/dev/sdb1". */
static int find_by_name(const char *dev, struct blockdev *ret, struct err *err)
{
        struct blockdev d = { 0 };
        const char *slash;
        int r;

        if ((size_t) snprintf(d.path, sizeof(d.path), "%s%s", dev[0] == '/' ? "" : "/dev/", dev) >=
            sizeof(d.path))
                return err_set(err, -ENAMETOOLONG, "'%s' is too long a device name", dev);
        slash = strrchr(d.path, '/');
        (void) snprintf(d.name, sizeof(d.name), "%s", slash + 1);
        r = probe_device(&d);
        if (r == -ENOENT)
                return err_set(err, -ENODEV, "no device %s", d.path);
        if (r == -ENOTBLK)
                return err_set(err, -ENOTBLK, "%s is not a block device", d.path);
        if (r == -EMEDIUMTYPE)
                return err_set(err, -EMEDIUMTYPE, "%s holds no filesystem that blkid knows",
                               d.path);
        if (r < 0)
                return err_set(err, r, "cannot read %s: %s", d.path, strerror(-r));
        *ret = d;
        return 0;
}

/* Reads path from the filesystem on d: through its mount when it has one, else mounted here
 * for the time of the read. */
static int read_from_device(struct ctx *ctx, const struct blockdev *d, const char *path,
                            struct buf *b, struct err *err)
{
        char dir[PATH_MAX], where[256];
        int r;

        (void) snprintf(where, sizeof(where), " on %s (%s%s%s%s)", d->path, d->type,
                        d->label[0] ? " '" : "", d->label, d->label[0] ? "'" : "");
        if (find_mount(d->devnum, dir, sizeof(dir)))
                return read_under(dir, path, where, b, err);
        r = mount_ro(ctx->o, d, dir, sizeof(dir), err);
        if (r < 0)
                return r;
        r = read_under(dir, path, where, b, err);
        unmount(dir);
        return r;
}

static int fetch_hd(struct ctx *ctx, const char *rest, struct buf *b, struct err *err)
{
        _cleanup_free_ char *dev = NULL;
        const char *sep = strstr(rest, ":/"), *path;
        struct blockdev d;
        int r;

        /* hd:DEV:/path; Anaconda also takes hd:DEV:path and hd:DEV (then /ks.cfg). */
        if (!sep)
                sep = strrchr(rest, ':');
        if (sep) {
                dev = strndup(rest, (size_t) (sep - rest));
                path = sep + 1;
        } else {
                dev = strdup(rest);
                path = ANSWER_DISK_PATH;
        }
        if (!dev)
                return -ENOMEM;
        if (!dev[0] || !path[0])
                return err_set(
                        err, -EINVAL,
                        "expected hd:LABEL=X:/path, hd:UUID=X:/path, hd:sdb1:/path or hd:/dev/sdb1:/path");
        if (strncmp(dev, "LABEL=", 6) == 0)
                r = find_by_tag(ctx, false, dev + 6, &d, err);
        else if (strncmp(dev, "UUID=", 5) == 0)
                r = find_by_tag(ctx, true, dev + 5, &d, err);
        else if (strchr(dev, '='))
                return err_set(
                        err, -EINVAL,
                        "'%s' is not a device: expected LABEL=X, UUID=X, a name (sdb1) or a path (/dev/sdb1)",
                        dev);
        else
                r = find_by_name(dev, &d, err);
        if (r < 0)
                return r;
        return read_from_device(ctx, &d, path, b, err);
}

/* ---- the install medium ---- */

/* Filesystems that cannot be the medium, and where a stat() could wait on an automounter. */
static bool skip_fstype(const char *t)
{
        static const char *const types[] = {
                "proc",       "sysfs",    "devtmpfs",  "devpts", "cgroup",      "cgroup2",
                "securityfs", "debugfs",  "tracefs",   "pstore", "bpf",         "mqueue",
                "hugetlbfs",  "configfs", "fusectl",   "autofs", "binfmt_misc", "efivarfs",
                "rpc_pipefs", "nsfs",     "selinuxfs",
        };
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (strcmp(t, types[i]) == 0)
                        return true;
        return false;
}

static bool has_marker(const char *dir)
{
        char p[PATH_MAX + 32];

        (void) snprintf(p, sizeof(p), "%s/" HW_MEDIUM_MARKER, dir);
        return access(p, F_OK) == 0;
}

static int fetch_medium(struct ctx *ctx, const char *path, struct buf *b, struct err *err)
{
        _cleanup_free_ struct hw_mount *m = NULL;
        size_t n = 0;
        int r;

        if (ctx->o->medium_dir)
                return read_under(ctx->o->medium_dir, path, " on the install medium", b, err);
        if (hw_mounts_read(&live_system, &m, &n) < 0)
                n = 0;
        for (size_t i = 0; i < n; i++)
                if (!skip_fstype(m[i].fstype) && strcmp(m[i].root, "/") == 0 &&
                    has_marker(m[i].point)) {
                        char where[PATH_MAX + 32];
                        (void) snprintf(where, sizeof(where), " on the install medium (%s)",
                                        m[i].point);
                        return read_under(m[i].point, path, where, b, err);
                }

        /* Not mounted yet: a CD/DVD (ISO 9660, UDF) or a stick (FAT) that holds the marker. */
        r = scan_devices(ctx, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ctx->n_devs; i++) {
                const struct blockdev *d = &ctx->devs[i];
                char dir[PATH_MAX], where[256];
                struct err ignored = { { 0 } };
                bool mounted = false;

                if (strcmp(d->type, "iso9660") != 0 && strcmp(d->type, "udf") != 0 &&
                    strcmp(d->type, "vfat") != 0)
                        continue;
                for (size_t k = 0; k < n && !mounted; k++)
                        mounted = m[k].devnum == d->devnum;
                if (mounted) /* looked at above */
                        continue;
                if (mount_ro(ctx->o, d, dir, sizeof(dir), &ignored) < 0) {
                        log_debug("cannot look for the install medium on %s: %s", d->path,
                                  ignored.msg);
                        continue;
                }
                if (!has_marker(dir)) {
                        unmount(dir);
                        continue;
                }
                (void) snprintf(where, sizeof(where), " on the install medium (%s)", d->path);
                r = read_under(dir, path, where, b, err);
                unmount(dir);
                return r;
        }
        return err_set(err, -ENOMEDIUM,
                       "no install medium (no filesystem with /" HW_MEDIUM_MARKER ")");
}

/* ---- HTTP ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init(void)
{
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct http {
        CURL *curl;
        struct buf b;
        char reason[64]; /* of the last status line */
        char errbuf[CURL_ERROR_SIZE];
};

static void http_release(struct http *h)
{
        buf_release(&h->b);
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
        struct http *h = userdata;
        size_t len = size * n;
        const char *p;

        if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
                size_t k = 0;

                h->reason[0] = '\0';
                /* "HTTP/1.1 404 Not Found": the phrase after the code, printable only. */
                if ((p = memchr(data, ' ', len)) &&
                    (p = memchr(p + 1, ' ', len - (size_t) (p + 1 - data)))) {
                        for (p++; p < data + len && *p != '\r' && *p != '\n' &&
                                  k < sizeof(h->reason) - 1;
                             p++)
                                h->reason[k++] = *p >= 0x20 && *p < 0x7f ? *p : '?';
                        h->reason[k] = '\0';
                }
        }
        return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
        struct http *h = userdata;
        size_t len = size * n;
        long status = 0;

        /* An error page is not the answer: drop it, the status says what happened. */
        (void) curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status < 200 || status > 299)
                return len;
        return buf_append(&h->b, data, len) < 0 ? 0 : len;
}

static bool status_transient(long s)
{
        return s == 408 || s == 429 || (s >= 500 && s <= 599);
}

static bool curl_transient(CURLcode c)
{
        switch (c) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

/* Replaces each occurrence of secret in msg by "***": curl's messages should never hold a
 * password, and this makes sure. */
static void scrub(char *msg, size_t size, const char *secret)
{
        char out[CURL_ERROR_SIZE + 64];
        size_t k = 0, sl = secret ? strlen(secret) : 0;

        if (!sl)
                return;
        for (const char *p = msg; *p && k + 4 < sizeof(out);)
                if (strncmp(p, secret, sl) == 0) {
                        memcpy(out + k, "***", 3);
                        k += 3;
                        p += sl;
                } else {
                        out[k++] = *p++;
                }
        out[k] = '\0';
        (void) snprintf(msg, size, "%s", out);
}

/* Why the attempt failed, in words, with a hint of what to check. */
static int attempt_error(struct http *h, CURLcode res, long status, const char *ca_file,
                         unsigned timeout_s, const char *pin, char *why, size_t size)
{
        const char *detail = h->errbuf[0] ? h->errbuf : curl_easy_strerror(res);

        if (res == CURLE_OK) {
                const char *reason = h->reason;

                if (status == 404 || status == 410) {
                        (void) snprintf(
                                why, size,
                                "HTTP %ld %s: the server has no answer there (check the URL's path)",
                                status, reason);
                        return -ENOENT;
                }
                if (status == 401 || status == 403 || status == 407) {
                        (void) snprintf(
                                why, size,
                                "HTTP %ld %s: the server refuses this host (check its access rules, or the user:password in the URL)",
                                status, reason);
                        return -EACCES;
                }
                (void) snprintf(why, size, "HTTP %ld %s", status, reason);
                return -EIO;
        }
        switch (res) {
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                if (h->b.too_big || res == CURLE_FILESIZE_EXCEEDED) {
                        (void) snprintf(why, size,
                                        "larger than %u bytes, the most an answer file may have",
                                        KICKSTART_MAX_BYTES);
                        return -EFBIG;
                }
                (void) snprintf(why, size, "out of memory");
                return -ENOMEM;
        case CURLE_UNSUPPORTED_PROTOCOL: {
                char *to = NULL, shown[160];

                (void) curl_easy_getinfo(h->curl, CURLINFO_EFFECTIVE_URL, &to);
                http_redact_url(to ? to : "?", shown, sizeof(shown));
                if (to && strncasecmp(to, "http://", 7) == 0)
                        (void) snprintf(
                                why, size,
                                "redirected to '%s', which is refused: what was asked over https must not come over plain http",
                                shown);
                else
                        (void) snprintf(why, size,
                                        "redirected to '%s', which is neither http nor https",
                                        shown);
                return -EPERM;
        }
        case CURLE_TOO_MANY_REDIRECTS:
                (void) snprintf(why, size, "more than %ld redirects", ANSWER_FETCH_MAX_REDIRECTS);
                return -ELOOP;
        case CURLE_PEER_FAILED_VERIFICATION:
                (void) snprintf(why, size, "the server's certificate is not trusted (%s): %s",
                                ca_file ? "not by the CA file given"
                                        : "give its CA with --cacert or kvmforge.answer.cacert=",
                                detail);
                return -EACCES;
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
                (void) snprintf(why, size, "the server's public key does not match the pin %.60s",
                                pin ? pin : "");
                return -EACCES;
        case CURLE_SSL_CACERT_BADFILE:
                (void) snprintf(why, size, "cannot use the CA file '%s': %s",
                                ca_file ? ca_file : "", detail);
                return -EINVAL;
        case CURLE_COULDNT_RESOLVE_HOST:
                (void) snprintf(
                        why, size,
                        "cannot resolve the server's name (is the network up, and DNS?): %s",
                        detail);
                return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                (void) snprintf(why, size,
                                "cannot connect (is the server up, and the network?): %s", detail);
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                (void) snprintf(why, size, "no complete answer within %u s: %s", timeout_s, detail);
                return -ETIMEDOUT;
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
                (void) snprintf(why, size, "the connection was dropped: %s", detail);
                return -ECONNRESET;
        default:
                (void) snprintf(why, size, "%s", detail);
                return -EIO;
        }
}

static void sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int fetch_http(struct ctx *ctx, const char *url, const char *name, struct buf *ret,
                      bool *ret_cleartext, struct err *err)
{
        const struct answer_fetch_options *o = ctx->o;
        _cleanup_(curl_easy_cleanupp) CURL *curl = NULL;
        _cleanup_(curl_slist_free_allp) struct curl_slist *hdrs = NULL;
        _cleanup_(curl_url_cleanupp) CURLU *u = NULL;
        _cleanup_(curl_freep) char *password = NULL;
        _cleanup_(http_release) struct http h = { 0 };
        unsigned retries = o->retries == 0                           ? ANSWER_FETCH_RETRIES
                           : o->retries == ANSWER_FETCH_RETRIES_NONE ? 0
                                                                     : o->retries;
        unsigned timeout_s = o->timeout_s ? o->timeout_s : ANSWER_FETCH_TIMEOUT_S;
        unsigned backoff = o->backoff_ms ? o->backoff_ms : ANSWER_FETCH_BACKOFF_MS;
        bool https = strncasecmp(url, "https://", 8) == 0;
        CURLcode res = CURLE_OK;
        CURLUcode uc;
        char why[512];

        if (pthread_once(&curl_once, curl_init) != 0 || curl_init_result != CURLE_OK)
                return err_set(err, -EIO, "cannot initialize libcurl");
        u = curl_url();
        if (!u)
                return -ENOMEM;
        uc = curl_url_set(u, CURLUPART_URL, url, 0);
        if (uc == CURLUE_OUT_OF_MEMORY)
                return -ENOMEM;
        if (uc != CURLUE_OK)
                return err_set(err, -EINVAL, "not a valid URL: %s", curl_url_strerror(uc));
        (void) curl_url_get(u, CURLUPART_PASSWORD, &password, CURLU_URLDECODE);
        if (o->ca_file && access(o->ca_file, R_OK) < 0)
                return err_set(err, -errno, "cannot read the CA file '%s': %s", o->ca_file,
                               strerror(errno));
        for (size_t i = 0; i < o->n_headers; i++) {
                struct curl_slist *l;

                if (strpbrk(o->headers[i], "\r\n"))
                        return err_set(err, -EINVAL, "a request header holds a line break");
                if (!(l = curl_slist_append(hdrs, o->headers[i])))
                        return -ENOMEM;
                hdrs = l;
        }
        /* No "Expect: 100-continue" round trip before a POST body. */
        if (!(hdrs = curl_slist_append(hdrs, "Expect:")) ||
            (o->post && !(hdrs = curl_slist_append(hdrs, "Content-Type: application/json"))))
                return -ENOMEM;

        curl = h.curl = curl_easy_init();
        if (!curl)
                return -ENOMEM;
#define SET(opt, val)                                             \
        do {                                                      \
                if (res == CURLE_OK)                              \
                        res = curl_easy_setopt(curl, opt, (val)); \
        } while (0)
        SET(CURLOPT_URL, url);
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        /* An answer asked for over https holds secrets: it never continues in the clear. */
        SET(CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
        SET(CURLOPT_FOLLOWLOCATION, 1L);
        SET(CURLOPT_MAXREDIRS, ANSWER_FETCH_MAX_REDIRECTS);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_TIMEOUT, (long) timeout_s);
        SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
        SET(CURLOPT_LOW_SPEED_TIME, timeout_s < ANSWER_STALL_S ? (long) timeout_s : ANSWER_STALL_S);
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) KICKSTART_MAX_BYTES);
        SET(CURLOPT_USERAGENT, "kvmforge-install");
        SET(CURLOPT_HTTPHEADER, hdrs);
        SET(CURLOPT_ERRORBUFFER, h.errbuf);
        SET(CURLOPT_HEADERFUNCTION, on_header);
        SET(CURLOPT_HEADERDATA, &h);
        SET(CURLOPT_WRITEFUNCTION, on_body);
        SET(CURLOPT_WRITEDATA, &h);
        SET(CURLOPT_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_SSL_VERIFYHOST, 2L);
        if (o->ca_file) {
                /* In place of the system's trust, not in addition: no CA directory either. */
                SET(CURLOPT_CAINFO, o->ca_file);
                SET(CURLOPT_CAPATH, NULL);
        }
        if (o->pin)
                SET(CURLOPT_PINNEDPUBLICKEY, o->pin);
        if (o->post) {
                SET(CURLOPT_POSTFIELDS, o->post);
                SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(o->post));
        }
#undef SET
        if (res != CURLE_OK)
                return err_set(err, res == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EOPNOTSUPP,
                               "libcurl refuses an option: %s", curl_easy_strerror(res));

        for (unsigned attempt = 0;; attempt++) {
                unsigned delay;
                long status = 0;
                curl_off_t retry_after = 0;
                bool transient;
                int r;

                buf_release(&h.b);
                h.errbuf[0] = h.reason[0] = '\0';
                res = curl_easy_perform(curl);
                (void) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
                if (res == CURLE_OK && status >= 200 && status <= 299) {
                        char *scheme = NULL;

                        (void) curl_easy_getinfo(curl, CURLINFO_SCHEME, &scheme);
                        *ret_cleartext = !scheme || strcasecmp(scheme, "https") != 0;
                        *ret = h.b;
                        h.b = (struct buf){ 0 };
                        return 0;
                }
                scrub(h.errbuf, sizeof(h.errbuf), password);
                r = attempt_error(&h, res, status, o->ca_file, timeout_s, o->pin, why, sizeof(why));
                transient = res == CURLE_OK ? status_transient(status) : curl_transient(res);
                if (!transient || attempt >= retries) {
                        if (attempt == 0)
                                return err_set(err, r, "%s", why);
                        return err_set(err, r, "%s (%u attempts)", why, attempt + 1);
                }
                delay = attempt < 16 ? backoff << attempt : ANSWER_FETCH_BACKOFF_MAX_MS;
                if (delay > ANSWER_FETCH_BACKOFF_MAX_MS || delay < backoff)
                        delay = ANSWER_FETCH_BACKOFF_MAX_MS;
                /* A server that says when to come back (429, 503) is believed, within limits. */
                if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
                    retry_after > 0) {
                        unsigned asked = retry_after < ANSWER_FETCH_BACKOFF_MAX_MS / 1000
                                                 ? (unsigned) retry_after * 1000
                                                 : ANSWER_FETCH_BACKOFF_MAX_MS;
                        if (asked > delay)
                                delay = asked;
                }
                report(ctx, name, "attempt %u of %u failed: %s; trying again in %u.%u s",
                       attempt + 1, retries + 1, why, delay / 1000, delay % 1000 / 100);
                sleep_ms(delay);
        }
}

/* ---- one source ---- */

/* A URI scheme ("nfs:") as opposed to a path. */
static bool has_scheme(const char *s)
{
        size_t n = 0;

        if (!isalpha((unsigned char) s[0]))
                return false;
        while (isalnum((unsigned char) s[n]) || s[n] == '+' || s[n] == '-' || s[n] == '.')
                n++;
        return s[n] == ':';
}

#define ACCEPTED_FORMS                                                                             \
        "http://..., https://..., hd:LABEL=X:/path, hd:UUID=X:/path, hd:sdb1:/path, cdrom:/path, " \
        "file:/path or a path"

/* Fetches spec into b; name gets its name for messages. err holds the reason alone. */
static int fetch_one(struct ctx *ctx, const char *spec, struct answer_source *ret, char *name,
                     size_t name_size, struct err *err)
{
        _cleanup_(buf_release) struct buf b = { 0 };
        bool cleartext = false;
        int r;

        if (http_is_url(spec))
                http_redact_url(spec, name, name_size);
        else
                (void) snprintf(name, name_size, "%s", spec);
        if (!spec[0])
                return err_set(err, -EINVAL, "an empty source; expected " ACCEPTED_FORMS);
        if (http_is_url(spec)) {
                r = fetch_http(ctx, spec, name, &b, &cleartext, err);
        } else if (strncmp(spec, "hd:", 3) == 0) {
                r = fetch_hd(ctx, spec + 3, &b, err);
        } else if (strcmp(spec, "cdrom") == 0) {
                r = fetch_medium(ctx, ANSWER_DISK_PATH, &b, err);
        } else if (strncmp(spec, "cdrom:", 6) == 0) {
                r = fetch_medium(ctx, spec + 6, &b, err);
        } else if (strncmp(spec, "file://", 7) == 0) {
                if (spec[7] != '/')
                        return err_set(
                                err, -EINVAL,
                                "a file:// URL names a host; expected file:///path or file:/path");
                r = read_path(spec + 7, &b, err);
        } else if (strncmp(spec, "file:", 5) == 0) {
                r = read_path(spec + 5, &b, err);
        } else if (strncmp(spec, "nfs:", 4) == 0 || strncmp(spec, "ftp:", 4) == 0 ||
                   strncmp(spec, "bd:", 3) == 0) {
                return err_set(err, -EOPNOTSUPP,
                               "%.*s sources are not supported; use " ACCEPTED_FORMS,
                               (int) strcspn(spec, ":"), spec);
        } else if (has_scheme(spec)) {
                return err_set(err, -EINVAL, "unknown kind of source; expected " ACCEPTED_FORMS);
        } else {
                r = read_path(spec, &b, err);
        }
        if (r < 0)
                return r;
        return finish(&b, name, cleartext, ctx->o, ret, err);
}

static bool sha256_valid(const char *s)
{
        return strlen(s) == 64 && strspn(s, "0123456789abcdefABCDEF") == 64;
}

int answer_fetch(const char *spec, const struct answer_fetch_options *o, struct answer_source *ret,
                 struct err *err)
{
        static const struct answer_fetch_options defaults = { 0 };
        _cleanup_(ctx_release) struct ctx ctx = { .o = o ? o : &defaults };
        struct err why = { { 0 } };
        char name[512];
        int r;

        if (ctx.o->sha256 && !sha256_valid(ctx.o->sha256))
                return err_set(err, -EINVAL, "'%s' is not a SHA-256 digest (64 hex digits)",
                               ctx.o->sha256);
        r = fetch_one(&ctx, spec, ret, name, sizeof(name), &why);
        if (r < 0)
                return err_set(err, r, "'%s': %s", name, why.msg);
        return 0;
}

/* ---- the identity headers ---- */

/* Firmware fills the serial number field with these when the vendor did not: two hosts
 * sharing one must never get each other's answer. */
static bool placeholder_serial(const char *s)
{
        static const char *const junk[] = {
                "0",
                "none",
                "n/a",
                "na",
                "default string",
                "not specified",
                "not applicable",
                "not available",
                "to be filled by o.e.m.",
                "system serial number",
                "chassis serial number",
                "0123456789",
                "123456789",
                "serial",
        };
        for (size_t i = 0; i < ELEMENTSOF(junk); i++)
                if (strcasecmp(s, junk[i]) == 0)
                        return true;
        return false;
}

/* s without control characters and outer spaces: a header value cannot break its line. */
static void header_value(const char *s, char *out, size_t size)
{
        size_t n = 0;

        while (*s == ' ')
                s++;
        for (; *s && n + 1 < size; s++)
                if ((unsigned char) *s >= 0x20 && *s != 0x7f)
                        out[n++] = *s;
        while (n > 0 && out[n - 1] == ' ')
                n--;
        out[n] = '\0';
}

int answer_fetch_identity(const struct hw_report *r, bool mac, bool sn, char ***headers,
                          size_t *n_headers)
{
        char **v = NULL;
        size_t n = 0;
        unsigned k = 0;
        int e = 0;

        for (size_t i = 0; mac && i < r->n_nics && e == 0; i++) {
                const struct hw_nic *nic = &r->nics[i];
                char name[sizeof(nic->name)], addr[sizeof(nic->mac)];

                header_value(nic->name, name, sizeof(name));
                header_value(nic->mac, addr, sizeof(addr));
                if (nic->virtual_dev || !name[0] || !addr[0])
                        continue;
                e = strv_addf(&v, &n, "X-RHN-Provisioning-MAC-%u: %s %s", k++, name, addr);
        }
        if (sn && e == 0) {
                char serial[sizeof(r->dmi.serial)];

                header_value(r->dmi.serial, serial, sizeof(serial));
                if (serial[0] && !placeholder_serial(serial))
                        e = strv_addf(&v, &n, "X-System-Serial-Number: %s", serial);
        }
        if (e < 0) {
                strv_free(&v, &n);
                return e;
        }
        *headers = v;
        *n_headers = n;
        return 0;
}

/* ---- the chain ---- */

static bool not_there(int r)
{
        return r == -ENOENT || r == -ENODEV || r == -ENOMEDIUM;
}

int answer_fetch_chain(const struct answer_cmdline *c, const struct answer_fetch_options *o,
                       struct answer_source *ret, struct err *err)
{
        static const char *const fallbacks[] = {
                "cdrom:" ANSWER_MEDIUM_PATH,
                "hd:LABEL=KVMFORGE:" ANSWER_DISK_PATH,
                "hd:LABEL=OEMDRV:" ANSWER_DISK_PATH,
        };
        struct answer_fetch_options opt = o ? *o : (struct answer_fetch_options){ 0 };
        _cleanup_(ctx_release) struct ctx ctx = { .o = &opt };
        char tried[sizeof(err->msg)] = "", name[512];
        size_t used = 0;
        int r;

        if (c) {
                if (!opt.sha256)
                        opt.sha256 = c->sha256;
                if (!opt.pin)
                        opt.pin = c->pin;
                if (!opt.ca_file)
                        opt.ca_file = c->ca_file;
                if (!opt.retries && c->retries_set)
                        opt.retries = c->retries ? c->retries : ANSWER_FETCH_RETRIES_NONE;
        }
        if (opt.sha256 && !sha256_valid(opt.sha256))
                return err_set(err, -EINVAL, "'%s' is not a SHA-256 digest (64 hex digits)",
                               opt.sha256);

        if (c && c->spec) {
                struct err why = { { 0 } };

                r = fetch_one(&ctx, c->spec, ret, name, sizeof(name), &why);
                if (r < 0) {
                        report(&ctx, name, "%s", why.msg);
                        if (!c->key)
                                return err_set(err, r, "'%s': %s", name, why.msg);
                        return err_set(err, r, "'%s' (from %s=): %s", name, c->key, why.msg);
                }
                report(&ctx, name, "found, %zu bytes", ret->len);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(fallbacks); i++) {
                struct err why = { { 0 } };
                int n;

                r = fetch_one(&ctx, fallbacks[i], ret, name, sizeof(name), &why);
                if (r == 0) {
                        report(&ctx, name, "found, %zu bytes", ret->len);
                        return 0;
                }
                report(&ctx, name, "%s", why.msg);
                if (!not_there(r))
                        return err_set(err, r, "'%s': %s", name, why.msg);
                n = snprintf(tried + used, sizeof(tried) - used, "%s%s: %s", used ? "; " : "", name,
                             why.msg);
                if (n > 0)
                        used = used + (size_t) n < sizeof(tried) ? used + (size_t) n
                                                                 : sizeof(tried) - 1;
        }
        return err_set(err, -ENOENT, "no answer found: no kvmforge.answer=, inst.ks= or ks=; %s",
                       tried);
}
