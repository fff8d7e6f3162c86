/* Configuring the unpacked target system from the answer. Each file is produced whole in
 * memory, then written next to its destination under a hidden temporary name, flushed and
 * renamed over it: an interrupted install never leaves a half-written fstab or shadow. Files
 * that carry other content (shadow, grub defaults, locale.gen) are edited line by line and
 * keep everything they do not concern. */
#include "target.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "cleanup.h"
#include "file.h"
#include "hw.h"
#include "storage.h"
#include "strv.h"

#define KEYS_STAGING "var/lib/kvmforge/keys" /* keys of users that do not exist yet */

/* ---- commands for the target ---- */

void target_runs_release(struct target_runs *r)
{
        for (size_t i = 0; i < r->n; i++) {
                for (char **a = r->v[i].argv; a && *a; a++)
                        free(*a);
                free(r->v[i].argv);
        }
        free(r->v);
        *r = (struct target_runs){ 0 };
}

/* Appends one command; the arguments end with NULL. */
static int runs_add(struct target_runs *r, const char *arg0, ...)
{
        struct target_run *run;
        va_list ap;
        size_t n = 1;
        char **argv;

        va_start(ap, arg0);
        while (va_arg(ap, const char *))
                n++;
        va_end(ap);
        if (!(argv = calloc(n + 1, sizeof(*argv))))
                return -ENOMEM;
        va_start(ap, arg0);
        for (size_t i = 0; i < n; i++) {
                const char *s = i ? va_arg(ap, const char *) : arg0;
                if (!(argv[i] = strdup(s))) {
                        va_end(ap);
                        for (size_t k = 0; k < i; k++)
                                free(argv[k]);
                        free(argv);
                        return -ENOMEM;
                }
        }
        va_end(ap);
        if (!(run = array_grow(&r->v, &r->n, sizeof(*run)))) {
                for (size_t k = 0; k < n; k++)
                        free(argv[k]);
                free(argv);
                return -ENOMEM;
        }
        run->argv = argv;
        return 0;
}

/* Appends a command given as a vector (n words). */
static int runs_addv(struct target_runs *r, char *const *words, size_t n)
{
        struct target_run *run;
        char **argv = calloc(n + 1, sizeof(*argv));

        if (!argv)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(argv[i] = strdup(words[i]))) {
                        for (size_t k = 0; k < i; k++)
                                free(argv[k]);
                        free(argv);
                        return -ENOMEM;
                }
        if (!(run = array_grow(&r->v, &r->n, sizeof(*run)))) {
                for (size_t k = 0; k < n; k++)
                        free(argv[k]);
                free(argv);
                return -ENOMEM;
        }
        run->argv = argv;
        return 0;
}

/* ---- files in the target ---- */

static int fail_errno(struct err *err, const char *what, const char *path)
{
        int r = -errno;

        return err_set(err, r, "cannot %s '%s': %s", what, path, strerror(-r));
}

/* Makes the missing directories leading to root/rel (not rel itself). */
static int make_parents(const char *root, const char *rel, struct err *err)
{
        _cleanup_free_ char *p = NULL;
        int r;

        if (asprintf(&p, "%s/%s", root, rel) < 0)
                return -ENOMEM;
        if ((r = file_mkdir_parents(p, 0755, false)) < 0)
                return err_set(err, r, "cannot make the directories of '%s': %s", p, strerror(-r));
        return 0;
}

#define OWNER_KEEP ((uid_t) -1)

/* Writes root/rel whole: a temporary file beside it, flushed, then renamed over it. uid and
 * gid OWNER_KEEP: the writer's. With keep, an existing file's mode and owner are kept. */
static int write_file_full(const char *root, const char *rel, const char *data, size_t len,
                           mode_t mode, uid_t uid, gid_t gid, bool keep, struct err *err)
{
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1, dfd = -1;
        const char *slash;
        struct stat st;
        size_t done = 0;
        int r;

        if (asprintf(&path, "%s/%s", root, rel) < 0)
                return -ENOMEM;
        if ((r = make_parents(root, rel, err)) < 0)
                return r;
        if (keep && stat(path, &st) == 0) {
                mode = st.st_mode & 07777;
                uid = st.st_uid;
                gid = st.st_gid;
        }
        slash = strrchr(path, '/');
        if (asprintf(&tmp, "%.*s/.%s.XXXXXX", (int) (slash - path), path, slash + 1) < 0)
                return -ENOMEM;
        if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
                return fail_errno(err, "create a file beside", path);
        while (done < len) {
                ssize_t n = write(fd, data + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = fail_errno(err, "write", tmp);
                        goto fail;
                }
                done += (size_t) n;
        }
        /* The mode is set before the content becomes visible under its name: shadow must
         * never be readable by all, not even for a moment. */
        if (fchmod(fd, mode) < 0) {
                r = fail_errno(err, "set the mode of", tmp);
                goto fail;
        }
        if ((uid != OWNER_KEEP || gid != (gid_t) OWNER_KEEP) && fchown(fd, uid, gid) < 0) {
                r = fail_errno(err, "set the owner of", tmp);
                goto fail;
        }
        if (fsync(fd) < 0) {
                r = fail_errno(err, "flush", tmp);
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = fail_errno(err, "rename a new file over", path);
                goto fail;
        }
        /* The rename itself reaches the disk with its directory. */
        *strrchr(tmp, '/') = '\0';
        if ((dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
                (void) fsync(dfd);
        return 0;
fail:
        (void) unlink(tmp);
        return r;
}

static int write_file(const char *root, const char *rel, const char *data, mode_t mode,
                      struct err *err)
{
        return write_file_full(root, rel, data, strlen(data), mode, OWNER_KEEP, (gid_t) OWNER_KEEP,
                               false, err);
}

/* Reads root/rel whole (NUL-terminated). A missing file is -ENOENT, with err set unless
 * missing_ok. */
static int read_file(const char *root, const char *rel, bool missing_ok, char **ret,
                     struct err *err)
{
        _cleanup_free_ char *path = NULL, *buf = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t done = 0;

        if (asprintf(&path, "%s/%s", root, rel) < 0)
                return -ENOMEM;
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
                if (errno == ENOENT && missing_ok)
                        return -ENOENT;
                return fail_errno(err, "open", path);
        }
        if (fstat(fd, &st) < 0)
                return fail_errno(err, "stat", path);
        if (!S_ISREG(st.st_mode))
                return err_set(err, -EINVAL, "'%s' is not a regular file", path);
        if ((uint64_t) st.st_size > TARGET_MAX_FILE)
                return err_set(err, -EFBIG, "'%s' is larger than %u bytes", path, TARGET_MAX_FILE);
        if (!(buf = malloc((size_t) st.st_size + 1)))
                return -ENOMEM;
        while (done < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + done, (size_t) st.st_size - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return fail_errno(err, "read", path);
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        buf[done] = '\0';
        if (strlen(buf) != done)
                return err_set(err, -EBADMSG, "'%s' holds a NUL byte", path);
        *ret = TAKE_PTR(buf);
        return 0;
}

/* A text being built; a failed write shows as -ENOMEM at the end. */
struct text {
        char *p;
        size_t len;
        FILE *f;
};

static int text_open(struct text *t)
{
        *t = (struct text){ 0 };
        t->f = open_memstream(&t->p, &t->len);
        return t->f ? 0 : -ENOMEM;
}

/* Closes the stream: 0 with t->p the text, or -ENOMEM. */
static int text_close(struct text *t)
{
        bool bad = ferror(t->f);

        if (fclose(t->f) != 0)
                bad = true;
        t->f = NULL;
        return bad ? -ENOMEM : 0;
}

static void text_release(struct text *t)
{
        if (t->f)
                (void) fclose(t->f);
        free(t->p);
        *t = (struct text){ 0 };
}

/* Whether line (up to its end) assigns key: KEY=..., or #KEY=... when commented. */
static bool assigns(const char *line, const char *key, bool *commented)
{
        size_t k = strlen(key);

        while (*line == ' ' || *line == '\t')
                line++;
        *commented = *line == '#';
        if (*commented) {
                line++;
                while (*line == ' ' || *line == '\t')
                        line++;
        }
        return strncmp(line, key, k) == 0 && line[k] == '=';
}

/* Sets key=value (value written as given) in a shell-style variable file: on the line that
 * assigns it (later assignments dropped: they would win), else in place of the first
 * commented-out one, else at the end. *text is replaced. */
static int kv_set(char **text, const char *key, const char *value)
{
        struct text t;
        const char *s = *text, *line;
        ssize_t active = -1, commented_at = -1, i = 0;
        bool commented, done = false;
        int r;

        for (line = s; *line; i++) {
                const char *nl = strchr(line, '\n');
                if (assigns(line, key, &commented)) {
                        if (!commented && active < 0)
                                active = i;
                        if (commented && commented_at < 0)
                                commented_at = i;
                }
                line = nl ? nl + 1 : line + strlen(line);
        }
        if (active < 0)
                active = commented_at;
        if ((r = text_open(&t)) < 0)
                return r;
        i = 0;
        for (line = s; *line; i++) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                if (i == active) {
                        fprintf(t.f, "%s=%s\n", key, value);
                        done = true;
                } else if (!(assigns(line, key, &commented) && !commented)) {
                        fprintf(t.f, "%.*s\n", (int) len, line);
                }
                line = nl ? nl + 1 : line + len;
        }
        if (!done)
                fprintf(t.f, "%s=%s\n", key, value);
        if ((r = text_close(&t)) < 0) {
                text_release(&t);
                return r;
        }
        free(*text);
        *text = t.p;
        return 0;
}

/* value in double quotes, as a shell reads it back. */
static int shell_quote(const char *value, char **ret)
{
        struct text t;
        int r;

        if ((r = text_open(&t)) < 0)
                return r;
        fputc('"', t.f);
        for (const char *c = value; *c; c++) {
                if (strchr("\"\\$`", *c))
                        fputc('\\', t.f);
                fputc(*c, t.f);
        }
        fputc('"', t.f);
        if ((r = text_close(&t)) < 0) {
                text_release(&t);
                return r;
        }
        *ret = t.p;
        return 0;
}

static bool has_space_or_nl(const char *s)
{
        for (; *s; s++)
                if (isspace((unsigned char) *s))
                        return true;
        return false;
}

/* ---- fstab ---- */

void target_part_device(const char *disk_path, unsigned number, char *buf, size_t size)
{
        size_t len = strlen(disk_path);
        bool digit = len && isdigit((unsigned char) disk_path[len - 1]);

        (void) snprintf(buf, size, "%s%s%u", disk_path, digit ? "p" : "", number);
}

struct fs_entry {
        char device[96];
        const char *mount, *fstype;
};

static int by_mount(const void *x, const void *y)
{
        const struct fs_entry *a = x, *b = y;

        /* A parent's path is a prefix of its children's, so it sorts first. */
        return strcmp(a->mount, b->mount);
}

static const char *uuid_of(const struct target_uuid *uuids, size_t n, const char *device)
{
        for (size_t i = 0; i < n; i++)
                if (uuids[i].device && strcmp(uuids[i].device, device) == 0)
                        return uuids[i].uuid;
        return NULL;
}

static int fstab_line(FILE *f, const struct fs_entry *e, const struct target_uuid *uuids,
                      size_t n_uuids, struct err *err)
{
        const char *uuid = uuid_of(uuids, n_uuids, e->device);
        const char *mount = e->mount, *opts = "defaults";
        int pass = 2;

        if (!uuid || !uuid[0] || has_space_or_nl(uuid))
                return err_set(err, -ENOENT, "no filesystem UUID for '%s' (%s) to write into fstab",
                               e->device, e->mount[0] ? e->mount : e->fstype);
        if (strcmp(e->fstype, "swap") == 0) {
                mount = "none";
                opts = "sw";
                pass = 0;
        } else if (strcmp(e->fstype, "vfat") == 0) {
                /* The ESP holds boot loaders: nobody but root reads it (Debian's choice). */
                opts = "umask=0077";
                pass = 1;
        } else if (strcmp(e->fstype, "xfs") == 0) {
                pass = 0; /* fsck.xfs does nothing: XFS repairs itself at mount */
        } else if (strcmp(mount, "/") == 0) {
                opts = "errors=remount-ro";
                pass = 1;
        }
        if (strcmp(e->fstype, "ext4") == 0 && strcmp(mount, "/") != 0)
                opts = "defaults";
        fprintf(f, "UUID=%s %s %s %s 0 %d\n", uuid, mount, e->fstype, opts, pass);
        return 0;
}

int target_write_fstab(const char *root, const struct storage_plan *plan,
                       const struct target_uuid *uuids, size_t n_uuids, struct err *err)
{
        struct fs_entry e[STORAGE_MAX_PARTS * 8 + STORAGE_MAX_LVS + 4];
        size_t n = 0;
        struct text t __attribute__((cleanup(text_release))) = { 0 };
        bool have_root = false;
        int r;

        for (size_t i = 0; i < plan->n_disks; i++)
                for (size_t k = 0; k < plan->disks[i].n_parts; k++) {
                        const struct storage_part *q = &plan->disks[i].parts[k];
                        if (!q->fstype[0] || n == ELEMENTSOF(e))
                                continue;
                        target_part_device(plan->disks[i].path, q->number, e[n].device,
                                           sizeof(e[n].device));
                        e[n].mount = q->mount;
                        e[n++].fstype = q->fstype;
                }
        for (size_t i = 0; i < plan->n_mds && n < ELEMENTSOF(e); i++) {
                if (!plan->mds[i].fstype[0])
                        continue;
                (void) snprintf(e[n].device, sizeof(e[n].device), "/dev/%s", plan->mds[i].device);
                e[n].mount = plan->mds[i].mount;
                e[n++].fstype = plan->mds[i].fstype;
        }
        for (size_t i = 0; i < plan->vg.n_lvs && n < ELEMENTSOF(e); i++) {
                const struct storage_lv *l = &plan->vg.lvs[i];
                if (!l->fstype[0] || l->thinpool)
                        continue;
                (void) snprintf(e[n].device, sizeof(e[n].device), "/dev/%s/%s", plan->vg.name,
                                l->name);
                e[n].mount = l->mount;
                e[n++].fstype = l->fstype;
        }
        qsort(e, n, sizeof(e[0]), by_mount);

        if ((r = text_open(&t)) < 0)
                return r;
        fputs("# /etc/fstab: static file system information, written by the kvmforge "
              "installer.\n# <file system> <mount point> <type> <options> <dump> <pass>\n",
              t.f);
        /* Four rounds: /, the other mounts (sorted: parents first), swap, the ESP. */
        for (int round = 0; round < 4; round++)
                for (size_t i = 0; i < n; i++) {
                        bool is_root = strcmp(e[i].mount, "/") == 0;
                        bool swap = strcmp(e[i].fstype, "swap") == 0;
                        bool esp = strcmp(e[i].mount, "/boot/efi") == 0;
                        int want = is_root ? 0 : swap ? 2 : esp ? 3 : e[i].mount[0] == '/' ? 1 : -1;
                        if (want != round)
                                continue;
                        have_root = have_root || is_root;
                        if ((r = fstab_line(t.f, &e[i], uuids, n_uuids, err)) < 0)
                                return r;
                }
        if (!have_root)
                return err_set(err, -EINVAL, "the storage plan has no root filesystem for fstab");
        if ((r = text_close(&t)) < 0)
                return r;
        return write_file(root, "etc/fstab", t.p, 0644, err);
}

/* ---- NICs and names ---- */

/* The NIC sel names: exactly one, or the first when first_ok ("link" may find several). */
static int resolve_nic(const struct hw_report *hw, const char *bootif, const char *sel,
                       bool first_ok, size_t *ret, struct err *err)
{
        _cleanup_free_ size_t *idx = calloc(hw->n_nics + 1, sizeof(*idx));
        size_t n = 0;
        int r;

        if (!idx)
                return -ENOMEM;
        if ((r = hw_nics_match(sel, hw->nics, hw->n_nics, bootif, idx, &n, err)) < 0)
                return r;
        if (n == 0)
                return err_set(err, -ENODEV, "network device '%s' matches no NIC", sel);
        if (n > 1 && !first_ok)
                return err_set(err, -ENOTUNIQ,
                               "network device '%s' matches %zu NICs: name one by its MAC address",
                               sel, n);
        *ret = idx[0];
        return 0;
}

int target_management_nic(const struct answer *a, const struct hw_report *hw, const char *bootif,
                          size_t *ret_idx, struct err *err)
{
        const struct answer_network *n = a->n_networks ? &a->networks[0] : NULL;

        if (n && n->n_bondslaves)
                return resolve_nic(hw, bootif, n->bondslaves[0], false, ret_idx, err);
        if (n && n->device)
                return resolve_nic(hw, bootif, n->device, false, ret_idx, err);
        for (size_t i = 0; i < hw->n_nics; i++)
                if (!hw->nics[i].virtual_dev && hw->nics[i].carrier == HW_YES) {
                        *ret_idx = i;
                        return 0;
                }
        for (size_t i = 0; i < hw->n_nics; i++)
                if (!hw->nics[i].virtual_dev) {
                        *ret_idx = i;
                        return 0;
                }
        return err_set(err, -ENODEV, "no NIC for the management network: the machine has none");
}

void target_hostname(const struct answer *a, const struct hw_report *hw, const char *bootif,
                     char *buf, size_t size)
{
        size_t nic;
        unsigned b[6];

        if (a->hostname && a->hostname[0]) {
                (void) snprintf(buf, size, "%s", a->hostname);
                return;
        }
        /* Stable across reinstalls of the same machine, distinct between machines. */
        if (hw && target_management_nic(a, hw, bootif, &nic, NULL) == 0 &&
            sscanf(hw->nics[nic].mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
                   &b[5]) == 6) {
                (void) snprintf(buf, size, "kvmforge-%02x%02x%02x", b[3] & 0xff, b[4] & 0xff,
                                b[5] & 0xff);
                return;
        }
        (void) snprintf(buf, size, "kvmforge");
}

/* The address of a static line without its prefix, or NULL. */
static int static_address(const struct answer_network *n, char *buf, size_t size)
{
        if (!n || n->bootproto != ANSWER_STATIC || n->noipv4 || !n->ip)
                return 0;
        (void) snprintf(buf, size, "%.*s", (int) strcspn(n->ip, "/"), n->ip);
        return 1;
}

int target_set_hostname(const char *root, const struct answer *a, const struct hw_report *hw,
                        const char *bootif, struct err *err)
{
        char name[256], shortname[64], addr[64], line[80];
        struct text t __attribute__((cleanup(text_release))) = { 0 };
        int r;

        target_hostname(a, hw, bootif, name, sizeof(name));
        if (has_space_or_nl(name) || strchr(name, '/'))
                return err_set(err, -EINVAL, "'%s' is not a host name", name);
        (void) snprintf(shortname, sizeof(shortname), "%.*s", (int) strcspn(name, "."), name);
        if (!shortname[0])
                return err_set(err, -EINVAL, "'%s' is not a host name", name);
        if (!static_address(a->n_networks ? &a->networks[0] : NULL, addr, sizeof(addr)))
                (void) snprintf(addr, sizeof(addr), "127.0.1.1");

        if ((r = text_open(&t)) < 0)
                return r;
        fprintf(t.f, "127.0.0.1\tlocalhost\n");
        if (strcmp(name, shortname) != 0)
                fprintf(t.f, "%s\t%s\t%s\n", addr, name, shortname);
        else
                fprintf(t.f, "%s\t%s\n", addr, shortname);
        fputs("\n# The following lines are desirable for IPv6 capable hosts\n"
              "::1     localhost ip6-localhost ip6-loopback\n"
              "ff02::1 ip6-allnodes\n"
              "ff02::2 ip6-allrouters\n",
              t.f);
        if ((r = text_close(&t)) < 0)
                return r;
        if ((r = write_file(root, "etc/hosts", t.p, 0644, err)) < 0)
                return r;
        (void) snprintf(line, sizeof(line), "%s\n", shortname);
        return write_file(root, "etc/hostname", line, 0644, err);
}

/* ---- network ---- */

/* "mode=802.3ad,miimon=100" (',' or ';' or spaces between) as ifenslave's bond-* lines; the
 * mode and link monitoring default to what works on any switch. */
static int bond_options(FILE *f, const char *opts, struct err *err)
{
        _cleanup_free_ char *copy = strdup(opts ? opts : "");
        bool mode = false, miimon = false;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *o = strtok_r(copy, ",; \t", &save); o; o = strtok_r(NULL, ",; \t", &save)) {
                char *eq = strchr(o, '=');
                if (!eq || eq == o || !eq[1])
                        return err_set(err, -EINVAL,
                                       "'--bondopts=%s': '%s' is not OPTION=VALUE (mode=802.3ad)",
                                       opts, o);
                *eq = '\0';
                for (char *c = o; *c; c++)
                        if (*c == '_')
                                *c = '-';
                mode = mode || strcmp(o, "mode") == 0;
                miimon = miimon || strcmp(o, "miimon") == 0;
                fprintf(f, "\tbond-%s %s\n", o, eq + 1);
        }
        if (!mode)
                fputs("\tbond-mode active-backup\n", f);
        if (!miimon)
                fputs("\tbond-miimon 100\n", f);
        return 0;
}

/* The lines of the address on its interface: the inet stanza's options. */
static int inet_lines(FILE *f, const char *iface, const struct answer_network *n,
                      const char **ret_method, struct err *err)
{
        unsigned prefix;
        const char *slash;

        if (n->noipv4 || n->bootproto != ANSWER_STATIC) {
                /* iBFT's address came from DHCP or the firmware: DHCP gets it again. */
                *ret_method = n->noipv4 ? "manual" : "dhcp";
                /* ifupdown's dhcp method has no mtu option (manual has): set once the
                 * interface exists, whatever hook makes it (bridge, bond, VLAN). */
                if (n->mtu != ANSWER_UNSET && !n->noipv4)
                        fprintf(f, "\tup ip link set dev %s mtu %" PRIu64 "\n", iface, n->mtu);
                else if (n->mtu != ANSWER_UNSET)
                        fprintf(f, "\tmtu %" PRIu64 "\n", n->mtu);
                return 0;
        }
        *ret_method = "static";
        if (!n->ip)
                return err_set(err, -EINVAL, "the static address of '%s' has no --ip", iface);
        slash = strchr(n->ip, '/');
        if (answer_netmask_prefix(slash ? slash + 1 : n->netmask ? n->netmask : "", &prefix) < 0)
                return err_set(err, -EINVAL, "'%s' has no valid netmask or prefix for '--ip=%s'",
                               iface, n->ip);
        fprintf(f, "\taddress %.*s/%u\n", (int) strcspn(n->ip, "/"), n->ip, prefix);
        if (n->gateway && !n->nodefroute)
                fprintf(f, "\tgateway %s\n", n->gateway);
        if (n->mtu != ANSWER_UNSET)
                fprintf(f, "\tmtu %" PRIu64 "\n", n->mtu);
        return 0;
}

static void inet6_stanza(FILE *f, const char *iface, const struct answer_network *n)
{
        if (n->noipv6 || !n->ipv6)
                return;
        if (strcmp(n->ipv6, "auto") == 0 || strcmp(n->ipv6, "dhcp") == 0) {
                fprintf(f, "\niface %s inet6 %s\n", iface, n->ipv6);
                return;
        }
        /* ifupdown wants the prefix: an address alone is a /64, as SLAAC's. */
        fprintf(f, "\niface %s inet6 static\n\taddress %s%s\n", iface, n->ipv6,
                strchr(n->ipv6, '/') ? "" : "/64");
        if (n->ipv6gateway)
                fprintf(f, "\tgateway %s\n", n->ipv6gateway);
}

/* One network line as stanzas: the NIC (or the bond of its slaves), its VLAN, the bridge over
 * them when bridge is not NULL; the address goes on the topmost. */
static int network_stanzas(FILE *f, const struct answer_network *n, const char *bridge,
                           const struct hw_report *hw, const char *bootif, struct err *err)
{
        char port[32], vlan[32], slaves[512] = "";
        const char *top, *method;
        char *opts = NULL;
        size_t opts_len = 0, idx;
        FILE *of;
        bool bond = n->n_bondslaves > 0;
        int r;

        if (bond) {
                size_t len = 0;
                if (!n->device || !answer_ifname_valid(n->device))
                        return err_set(err, -EINVAL, "a bond needs a name: '--device=bond0'");
                (void) snprintf(port, sizeof(port), "%s", n->device);
                for (size_t i = 0; i < n->n_bondslaves; i++) {
                        if ((r = resolve_nic(hw, bootif, n->bondslaves[i], false, &idx, err)) < 0)
                                return err_prefix(err, r, "bond '%s':", n->device);
                        len += (size_t) snprintf(slaves + len, sizeof(slaves) - len, "%s%s",
                                                 i ? " " : "", hw->nics[idx].name);
                        if (len >= sizeof(slaves))
                                return err_set(err, -E2BIG, "bond '%s' has too many slaves",
                                               n->device);
                }
        } else {
                if ((r = resolve_nic(hw, bootif, n->device ? n->device : "link", !n->device, &idx,
                                     err)) < 0)
                        return r;
                (void) snprintf(port, sizeof(port), "%s", hw->nics[idx].name);
        }
        top = port;
        if (n->vlanid != ANSWER_UNSET) {
                if (n->vlanid < 1 || n->vlanid > 4094)
                        return err_set(err, -EINVAL, "VLAN %" PRIu64 " of '%s' is not 1..4094",
                                       n->vlanid, port);
                (void) snprintf(vlan, sizeof(vlan), "%s.%" PRIu64, port, n->vlanid);
                if (!answer_ifname_valid(vlan))
                        return err_set(err, -EINVAL, "VLAN interface name '%s' is too long", vlan);
                top = vlan;
        }
        if (bridge)
                top = bridge;

        /* The address lines first, so that the layer carrying them knows its method. */
        if (!(of = open_memstream(&opts, &opts_len)))
                return -ENOMEM;
        r = inet_lines(of, top, n, &method, err);
        if (fclose(of) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(opts);
                return r;
        }

        /* The NIC or the bond. */
        fprintf(f, "\nauto %s\niface %s inet %s\n", port, port, top == port ? method : "manual");
        if (top == port)
                fputs(opts, f);
        if (bond && (r = bond_options(f, n->bondopts, err)) < 0) {
                free(opts);
                return r;
        }
        if (bond)
                fprintf(f, "\tbond-slaves %s\n", slaves);
        if (top != port && n->mtu != ANSWER_UNSET)
                fprintf(f, "\tmtu %" PRIu64 "\n", n->mtu);

        if (n->vlanid != ANSWER_UNSET) {
                fprintf(f, "\nauto %s\niface %s inet %s\n", vlan, vlan,
                        top == vlan ? method : "manual");
                if (top == vlan)
                        fputs(opts, f);
                fprintf(f, "\tvlan-raw-device %s\n", port);
                if (top != vlan && n->mtu != ANSWER_UNSET)
                        fprintf(f, "\tmtu %" PRIu64 "\n", n->mtu);
        }
        if (bridge) {
                fprintf(f, "\nauto %s\niface %s inet %s\n", bridge, bridge, method);
                fputs(opts, f);
                fprintf(f, "\tbridge-ports %s\n\tbridge-stp off\n\tbridge-fd 0\n",
                        n->vlanid != ANSWER_UNSET ? vlan : port);
        }
        free(opts);
        inet6_stanza(f, top, n);
        return 0;
}

static int write_resolv_conf(const char *root, const struct answer *a, struct err *err)
{
        struct text t __attribute__((cleanup(text_release))) = { 0 };
        const char *dot = a->hostname ? strchr(a->hostname, '.') : NULL;
        char **seen = NULL;
        size_t n_seen = 0;
        bool any;
        int r;

        if ((r = text_open(&t)) < 0)
                return r;
        fputs("# written by the kvmforge installer from the answer\n", t.f);
        if (dot && dot[1])
                fprintf(t.f, "search %s\n", dot + 1);
        for (size_t i = 0; i < a->n_networks; i++) {
                const struct answer_network *n = &a->networks[i];
                if (n->bootproto != ANSWER_STATIC || n->nodns)
                        continue;
                for (size_t k = 0; k < n->n_nameservers; k++) {
                        bool dup = false;
                        if (has_space_or_nl(n->nameservers[k])) {
                                strv_free(&seen, &n_seen);
                                return err_set(err, -EINVAL, "'%s' is not a DNS server address",
                                               n->nameservers[k]);
                        }
                        for (size_t s = 0; s < n_seen; s++)
                                dup = dup || strcmp(seen[s], n->nameservers[k]) == 0;
                        if (dup)
                                continue;
                        if (strv_addf(&seen, &n_seen, "%s", n->nameservers[k]) < 0) {
                                strv_free(&seen, &n_seen);
                                return -ENOMEM;
                        }
                        fprintf(t.f, "nameserver %s\n", n->nameservers[k]);
                }
        }
        any = n_seen > 0;
        strv_free(&seen, &n_seen);
        if ((r = text_close(&t)) < 0)
                return r;
        if (!any)
                return 0; /* DHCP's client writes it */
        return write_file(root, "etc/resolv.conf", t.p, 0644, err);
}

int target_node_conf_set(const char *root, const char *key, const char *value, struct err *err)
{
        _cleanup_free_ char *text = NULL;
        int r;

        if (!key[0] || strchr(key, '=') || has_space_or_nl(key))
                return err_set(err, -EINVAL, "'%s' is not a key for '%s'", key, TARGET_NODE_CONF);
        if (strchr(value, '\n'))
                return err_set(err, -EINVAL, "the value of %s for '%s' holds a line break", key,
                               TARGET_NODE_CONF);
        r = read_file(root, TARGET_NODE_CONF, true, &text, err);
        if (r == -ENOENT)
                text = strdup("# kvmforge node settings, read at the first boot\n");
        else if (r < 0)
                return r;
        if (!text)
                return -ENOMEM;
        if ((r = kv_set(&text, key, value)) < 0)
                return r;
        return write_file(root, TARGET_NODE_CONF, text, 0644, err);
}

int target_write_network(const char *root, const struct answer *a, const struct hw_report *hw,
                         const char *bootif, struct err *err)
{
        struct text t __attribute__((cleanup(text_release))) = { 0 };
        const char *bridge = a->hypervisor.bridge ? a->hypervisor.bridge : ANSWER_DEFAULT_BRIDGE;
        static const struct answer_network dhcp = { .bootproto = ANSWER_DHCP,
                                                    .mtu = ANSWER_UNSET,
                                                    .vlanid = ANSWER_UNSET };
        size_t nic;
        int r;

        if (bridge[0] && !answer_ifname_valid(bridge))
                return err_set(err, -EINVAL, "'%s' is not a bridge name", bridge);
        if ((r = text_open(&t)) < 0)
                return r;
        fputs("# written by the kvmforge installer; see interfaces(5)\n\n"
              "auto lo\niface lo inet loopback\n",
              t.f);
        if (a->n_networks == 0) {
                /* No network line: DHCP on the management NIC, under the bridge. */
                struct answer_network n = dhcp;
                if ((r = target_management_nic(a, hw, bootif, &nic, err)) < 0)
                        return r;
                n.device = hw->nics[nic].name;
                if ((r = network_stanzas(t.f, &n, bridge[0] ? bridge : NULL, hw, bootif, err)) < 0)
                        return r;
        }
        for (size_t i = 0; i < a->n_networks; i++)
                if ((r = network_stanzas(t.f, &a->networks[i], i == 0 && bridge[0] ? bridge : NULL,
                                         hw, bootif, err)) < 0)
                        return r;
        if ((r = text_close(&t)) < 0)
                return r;
        if ((r = write_file(root, "etc/network/interfaces", t.p, 0644, err)) < 0)
                return r;
        if ((r = write_resolv_conf(root, a, err)) < 0)
                return r;
        /* root's mail goes to the administrator once a mail transfer agent is installed. */
        if (a->hypervisor.email) {
                _cleanup_free_ char *fwd = NULL;
                if (asprintf(&fwd, "%s\n", a->hypervisor.email) < 0)
                        return -ENOMEM;
                if ((r = target_node_conf_set(root, "EMAIL", a->hypervisor.email, err)) < 0 ||
                    (r = write_file(root, "root/.forward", fwd, 0644, err)) < 0)
                        return r;
        }
        /* node.conf has no way to say "no bridge" (an empty BRIDGE is refused there): without
         * one the key stays out. */
        return bridge[0] ? target_node_conf_set(root, "BRIDGE", bridge, err) : 0;
}

/* ---- accounts ---- */

/* A new hash of plain: yescrypt, or SHA-512 where libcrypt has no yescrypt. */
int target_hash_password(const char *plain, char **ret, struct err *err)
{
        _cleanup_free_ char *salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
        void *data = NULL;
        int size = 0;
        char *h;

        if (!salt)
                salt = crypt_gensalt_ra("$6$", 0, NULL, 0);
        if (!salt)
                return err_set(err, errno ? -errno : -ENOSYS,
                               "libcrypt makes no salt for yescrypt nor SHA-512");
        h = crypt_ra(plain, salt, &data, &size);
        if (!h || h[0] == '*') {
                if (data)
                        explicit_bzero(data, (size_t) size);
                free(data);
                return err_set(err, -EINVAL, "libcrypt cannot hash a password with '%.3s'", salt);
        }
        *ret = strdup(h);
        /* crypt's working area held the password. */
        explicit_bzero(data, (size_t) size);
        free(data);
        return *ret ? 0 : -ENOMEM;
}

/* The shadow field for pw: a new hash, the given hash, locked ('!' in front). */
static int password_field(const struct answer_password *pw, const char *old, const char *who,
                          char **ret, struct err *err)
{
        _cleanup_free_ char *h = NULL;
        int r;

        if (pw->set && pw->value) {
                if (pw->crypted) {
                        /* A hash, not a secret: but it must not break the line apart. */
                        if (strpbrk(pw->value, ":\n") || !pw->value[0])
                                return err_set(err, -EINVAL,
                                               "the --iscrypted password of %s is empty or "
                                               "holds ':' or a line break",
                                               who);
                        h = strdup(pw->value);
                } else if ((r = target_hash_password(pw->value, &h, err)) < 0)
                        return err_prefix(err, r, "%s's password:", who);
        } else {
                h = strdup(old ? old : "*");
        }
        if (!h)
                return -ENOMEM;
        if (pw->lock && h[0] != '!') {
                if (asprintf(ret, "!%s", h) < 0)
                        return -ENOMEM;
                return 0;
        }
        *ret = TAKE_PTR(h);
        return 0;
}

int target_set_root_password(const char *root, const struct answer *a, struct err *err)
{
        _cleanup_free_ char *text = NULL, *field = NULL;
        struct text t __attribute__((cleanup(text_release))) = { 0 };
        const char *line;
        bool found = false;
        int r;

        if (!a->rootpw.set && !a->rootpw.lock)
                return 0;
        if ((r = read_file(root, "etc/shadow", false, &text, err)) < 0)
                return r;
        if ((r = text_open(&t)) < 0)
                return r;
        for (line = text; *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                if (!found && strncmp(line, "root:", 5) == 0) {
                        /* root:HASH:LASTCHG:rest */
                        const char *f2 = memchr(line + 5, ':', len - 5);
                        const char *f3 =
                                f2 ? memchr(f2 + 1, ':', len - (size_t) (f2 + 1 - line)) : NULL;
                        _cleanup_free_ char *old = NULL;
                        if (!f3)
                                return err_set(err, -EBADMSG,
                                               "root's line in '%s/etc/shadow' has too few fields",
                                               root);
                        if (!(old = strndup(line + 5, (size_t) (f2 - line - 5))))
                                return -ENOMEM;
                        if ((r = password_field(&a->rootpw, old, "root", &field, err)) < 0)
                                return r;
                        if (a->rootpw.set)
                                /* Changed today: 0 would force a change at the first login. */
                                fprintf(t.f, "root:%s:%lld%.*s\n", field,
                                        (long long) (time(NULL) / 86400),
                                        (int) (len - (size_t) (f3 - line)), f3);
                        else
                                fprintf(t.f, "root:%s%.*s\n", field,
                                        (int) (len - (size_t) (f2 - line)), f2);
                        found = true;
                } else {
                        fprintf(t.f, "%.*s\n", (int) len, line);
                }
                line = nl ? nl + 1 : line + len;
        }
        if (!found)
                return err_set(err, -ENOENT, "'%s/etc/shadow' has no line for root", root);
        if ((r = text_close(&t)) < 0)
                return r;
        r = write_file_full(root, "etc/shadow", t.p, t.len, 0640, OWNER_KEEP, (gid_t) OWNER_KEEP,
                            true, err);
        if (r < 0)
                return r;
        if (a->rootpw.allow_ssh)
                return write_file(root, "etc/ssh/sshd_config.d/kvmforge.conf",
                                  "# rootpw --allow-ssh: root logs in with its password\n"
                                  "PermitRootLogin yes\n",
                                  0644, err);
        return 0;
}

static bool valid_user_name(const char *s)
{
        if (!s || !s[0] || s[0] == '-' || strlen(s) > 32)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_-.$", *s))
                        return false;
        return true;
}

int target_add_users(const struct answer *a, struct target_runs *runs, struct err *err)
{
        for (size_t i = 0; i < a->n_users; i++) {
                const struct answer_user *u = &a->users[i];
                char uid[24], gid[24];
                char *argv[32];
                size_t n = 0;
                _cleanup_free_ char *groups = NULL, *field = NULL;
                int r;

                if (!valid_user_name(u->name))
                        return err_set(err, -EINVAL, "'%s' is not a user name",
                                       u->name ? u->name : "");
                for (size_t g = 0; g < u->n_groups; g++) {
                        if (!valid_user_name(u->groups[g]))
                                return err_set(err, -EINVAL, "'%s' of user '%s' is not a group",
                                               u->groups[g], u->name);
                        /* -f: a group that exists already is fine. */
                        if ((r = runs_add(runs, "groupadd", "-f", u->groups[g], NULL)) < 0)
                                return r;
                }
                argv[n++] = "useradd";
                argv[n++] = "-m";
                if (u->uid != ANSWER_UNSET) {
                        (void) snprintf(uid, sizeof(uid), "%" PRIu64, u->uid);
                        argv[n++] = "-u";
                        argv[n++] = uid;
                }
                if (u->gid != ANSWER_UNSET) {
                        (void) snprintf(gid, sizeof(gid), "%" PRIu64, u->gid);
                        if ((r = runs_add(runs, "groupadd", "-f", "-g", gid, u->name, NULL)) < 0)
                                return r;
                        argv[n++] = "-g";
                        argv[n++] = u->name;
                }
                if (u->n_groups) {
                        size_t len = 0;
                        for (size_t g = 0; g < u->n_groups; g++)
                                len += strlen(u->groups[g]) + 1;
                        if (!(groups = calloc(1, len + 1)))
                                return -ENOMEM;
                        for (size_t g = 0; g < u->n_groups; g++) {
                                if (g)
                                        strcat(groups, ",");
                                strcat(groups, u->groups[g]);
                        }
                        argv[n++] = "-G";
                        argv[n++] = groups;
                }
                if (u->shell) {
                        argv[n++] = "-s";
                        argv[n++] = u->shell;
                }
                if (u->homedir) {
                        argv[n++] = "-d";
                        argv[n++] = u->homedir;
                }
                if (u->gecos) {
                        argv[n++] = "-c";
                        argv[n++] = u->gecos;
                }
                argv[n++] = "--";
                argv[n++] = u->name;
                if ((r = runs_addv(runs, argv, n)) < 0)
                        return r;
                if (u->pw.set && u->pw.value) {
                        struct answer_password pw = u->pw;
                        pw.lock = false;
                        if ((r = password_field(&pw, NULL, u->name, &field, err)) < 0)
                                return r;
                        if ((r = runs_add(runs, "usermod", "-p", field, "--", u->name, NULL)) < 0)
                                return r;
                }
                if (u->pw.lock && (r = runs_add(runs, "usermod", "-L", "--", u->name, NULL)) < 0)
                        return r;
        }
        return 0;
}

/* ---- SSH keys ---- */

struct account {
        char home[512];
        uid_t uid;
        gid_t gid;
};

/* user's entry in the target's etc/passwd: 1, or 0 when it has none. */
static int passwd_lookup(const char *root, const char *user, struct account *ret, struct err *err)
{
        _cleanup_free_ char *text = NULL;
        size_t ulen = strlen(user);
        int r;

        if ((r = read_file(root, "etc/passwd", false, &text, err)) < 0)
                return r;
        for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
                char *f[7] = { 0 };
                size_t k = 0;
                unsigned long long uid, gid;
                char *end1, *end2;
                if ((nl = strchr(line, '\n')))
                        *nl = '\0';
                if (strncmp(line, user, ulen) != 0 || line[ulen] != ':')
                        continue;
                for (char *p = line; k < 7; k++) {
                        f[k] = p;
                        p = strchr(p, ':');
                        if (!p)
                                break;
                        *p++ = '\0';
                }
                if (k != 6 || !f[5][0] || f[5][0] != '/')
                        return err_set(err, -EBADMSG,
                                       "the line of '%s' in '%s/etc/passwd' is "
                                       "broken",
                                       user, root);
                uid = strtoull(f[2], &end1, 10);
                gid = strtoull(f[3], &end2, 10);
                if (*end1 || *end2 || !f[2][0] || !f[3][0])
                        return err_set(err, -EBADMSG,
                                       "the line of '%s' in '%s/etc/passwd' is "
                                       "broken",
                                       user, root);
                (void) snprintf(ret->home, sizeof(ret->home), "%s", f[5]);
                ret->uid = (uid_t) uid;
                ret->gid = (gid_t) gid;
                return 1;
        }
        return 0;
}

/* Makes root/rel a directory of mode and owner (an existing one is changed to them). */
static int make_dir_owned(const char *root, const char *rel, mode_t mode, uid_t uid, gid_t gid,
                          struct err *err)
{
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, "%s/%s", root, rel) < 0)
                return -ENOMEM;
        if ((r = make_parents(root, rel, err)) < 0)
                return r;
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return fail_errno(err, "make the directory", path);
        if (chmod(path, mode) < 0)
                return fail_errno(err, "set the mode of", path);
        if (lchown(path, uid, gid) < 0)
                return fail_errno(err, "set the owner of", path);
        return 0;
}

/* keys, as authorized_keys lines, after those of old the new ones do not repeat. */
static int merge_keys(const char *old, const char *keys, char **ret)
{
        struct text t;
        int r;

        if ((r = text_open(&t)) < 0)
                return r;
        if (old && old[0])
                fprintf(t.f, "%s%s", old, old[strlen(old) - 1] == '\n' ? "" : "\n");
        for (const char *k = keys; *k;) {
                const char *nl = strchr(k, '\n');
                size_t len = nl ? (size_t) (nl - k) : strlen(k);
                bool dup = false;
                for (const char *o = old; o && *o && !dup;) {
                        const char *onl = strchr(o, '\n');
                        size_t olen = onl ? (size_t) (onl - o) : strlen(o);
                        dup = olen == len && memcmp(o, k, len) == 0;
                        o = onl ? onl + 1 : o + olen;
                }
                if (!dup)
                        fprintf(t.f, "%.*s\n", (int) len, k);
                k = nl ? nl + 1 : k + len;
        }
        if ((r = text_close(&t)) < 0) {
                text_release(&t);
                return r;
        }
        *ret = t.p;
        return 0;
}

static const struct answer_user *answer_user(const struct answer *a, const char *name)
{
        for (size_t i = 0; i < a->n_users; i++)
                if (a->users[i].name && strcmp(a->users[i].name, name) == 0)
                        return &a->users[i];
        return NULL;
}

/* Writes keys (lines) for user. */
static int user_keys(const char *root, const struct answer *a, const char *user, const char *keys,
                     struct target_runs *runs, struct err *err)
{
        struct account acc = { .home = "/root", .uid = 0, .gid = 0 };
        _cleanup_free_ char *dir = NULL, *file = NULL, *old = NULL, *all = NULL;
        const struct answer_user *u = answer_user(a, user);
        int r = 1;

        if (!valid_user_name(user))
                return err_set(err, -EINVAL, "sshkey for '%s': not a user name", user);
        if (strcmp(user, "root") != 0 && (r = passwd_lookup(root, user, &acc, err)) < 0)
                return r;
        if (r == 0 && u) {
                /* The user is made later, by useradd in the target: the keys wait there. */
                _cleanup_free_ char *staged = NULL, *sshdir = NULL, *dest = NULL, *owner = NULL;
                if (asprintf(&staged, "%s/%s", KEYS_STAGING, user) < 0)
                        return -ENOMEM;
                if ((r = write_file(root, staged, keys, 0600, err)) < 0)
                        return r;
                r = u->homedir ? asprintf(&sshdir, "%s/.ssh", u->homedir)
                               : asprintf(&sshdir, "/home/%s/.ssh", user);
                if (r < 0 || asprintf(&dest, "%s/authorized_keys", sshdir) < 0 ||
                    asprintf(&owner, "%s:", user) < 0)
                        return -ENOMEM;
                free(staged);
                if (asprintf(&staged, "/%s/%s", KEYS_STAGING, user) < 0)
                        return -ENOMEM;
                if ((r = runs_add(runs, "install", "-d", "-m", "0700", sshdir, NULL)) < 0 ||
                    (r = runs_add(runs, "install", "-m", "0600", staged, dest, NULL)) < 0 ||
                    (r = runs_add(runs, "chown", "-R", owner, sshdir, NULL)) < 0 ||
                    (r = runs_add(runs, "rm", "-f", staged, NULL)) < 0)
                        return r;
                return 0;
        }
        if (r == 0)
                return err_set(err, -ENOENT,
                               "sshkey for '%s': no such user in '%s/etc/passwd' nor the answer",
                               user, root);
        if (asprintf(&dir, "%s/.ssh", acc.home + 1) < 0 ||
            asprintf(&file, "%s/authorized_keys", dir) < 0)
                return -ENOMEM;
        if ((r = make_dir_owned(root, dir, 0700, acc.uid, acc.gid, err)) < 0)
                return r;
        r = read_file(root, file, true, &old, err);
        if (r < 0 && r != -ENOENT)
                return r;
        if ((r = merge_keys(old, keys, &all)) < 0)
                return r;
        return write_file_full(root, file, all, strlen(all), 0600, acc.uid, acc.gid, false, err);
}

int target_write_ssh_keys(const char *root, const struct answer *a, struct target_runs *runs,
                          struct err *err)
{
        for (size_t i = 0; i < a->n_sshkeys; i++) {
                const char *user = a->sshkeys[i].user;
                struct text t __attribute__((cleanup(text_release))) = { 0 };
                bool before = false;
                int r;

                for (size_t k = 0; k < i; k++)
                        before = before || strcmp(a->sshkeys[k].user, user) == 0;
                if (before)
                        continue; /* done with the user's first key */
                if ((r = text_open(&t)) < 0)
                        return r;
                for (size_t k = i; k < a->n_sshkeys; k++) {
                        const char *key = a->sshkeys[k].key;
                        if (strcmp(a->sshkeys[k].user, user) != 0)
                                continue;
                        if (!key || !key[0] || strchr(key, '\n'))
                                return err_set(err, -EINVAL,
                                               "an sshkey of '%s' is empty or spans lines", user);
                        fprintf(t.f, "%s\n", key);
                }
                if ((r = text_close(&t)) < 0)
                        return r;
                if ((r = user_keys(root, a, user, t.p, runs, err)) < 0)
                        return r;
        }
        return 0;
}

/* ---- time ---- */

int target_set_timezone(const char *root, const struct answer *a, struct err *err)
{
        const char *tz = a->timezone ? a->timezone : "UTC";
        _cleanup_free_ char *zone = NULL, *link = NULL, *tmp = NULL, *target = NULL;
        char line[300];
        struct stat st;
        int r;

        if (!tz[0] || tz[0] == '/' || strstr(tz, "..") || has_space_or_nl(tz))
                return err_set(err, -EINVAL, "'%s' is not a time zone name (Europe/Berlin, UTC)",
                               tz);
        if (asprintf(&zone, "%s/usr/share/zoneinfo/%s", root, tz) < 0 ||
            asprintf(&target, "/usr/share/zoneinfo/%s", tz) < 0 ||
            asprintf(&link, "%s/etc/localtime", root) < 0 ||
            asprintf(&tmp, "%s/etc/.localtime.%ld", root, (long) getpid()) < 0)
                return -ENOMEM;
        /* tzdata links some names to others: a link is one of its zones too. */
        if (lstat(zone, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
                return err_set(err, -ENOENT,
                               "time zone '%s' is not a file in '%s/usr/share/zoneinfo'", tz, root);
        if ((r = make_parents(root, "etc/localtime", err)) < 0)
                return r;
        (void) unlink(tmp);
        if (symlink(target, tmp) < 0)
                return fail_errno(err, "make the link", tmp);
        if (rename(tmp, link) < 0) {
                r = fail_errno(err, "rename a new link over", link);
                (void) unlink(tmp);
                return r;
        }
        (void) snprintf(line, sizeof(line), "%s\n", tz);
        if ((r = write_file(root, "etc/timezone", line, 0644, err)) < 0)
                return r;
        /* Kickstart keeps the hardware clock in local time unless told --utc. */
        if (a->timezone && !a->utc)
                return write_file(root, "etc/adjtime", "0.0 0 0.0\n0\nLOCAL\n", 0644, err);
        return 0;
}

int target_write_ntp(const char *root, const struct answer *a, struct target_runs *runs,
                     struct err *err)
{
        struct text t __attribute__((cleanup(text_release))) = { 0 };
        int r;

        if (a->nontp)
                return runs_add(runs, "systemctl", "disable", "chrony.service", NULL);
        if (!a->n_ntpservers)
                return 0; /* Debian's pool stays */
        if ((r = text_open(&t)) < 0)
                return r;
        fputs("# written by the kvmforge installer from the answer's NTP servers\n", t.f);
        for (size_t i = 0; i < a->n_ntpservers; i++) {
                if (!a->ntpservers[i][0] || has_space_or_nl(a->ntpservers[i]))
                        return err_set(err, -EINVAL, "'%s' is not an NTP server name",
                                       a->ntpservers[i]);
                fprintf(t.f, "server %s iburst\n", a->ntpservers[i]);
        }
        if ((r = text_close(&t)) < 0)
                return r;
        return write_file(root, "etc/chrony/sources.d/kvmforge.sources", t.p, 0644, err);
}

/* ---- keyboard and locale ---- */

/* Console keymaps (kbd's names, as Anaconda's --vckeymap takes them) and ESXi's names whose
 * XKB layout is not the name itself. */
static const struct {
        const char *name, *layout, *variant;
} keymaps[] = {
        { "uk", "gb", "" },
        { "gb", "gb", "" },
        { "us", "us", "" },
        { "us-acentos", "us", "intl" },
        { "dvorak", "us", "dvorak" },
        { "de-latin1", "de", "" },
        { "de-latin1-nodeadkeys", "de", "nodeadkeys" },
        { "de-nodeadkeys", "de", "nodeadkeys" },
        { "fr-latin1", "fr", "" },
        { "fr-latin9", "fr", "latin9" },
        { "fr-pc", "fr", "" },
        { "fr_CH", "ch", "fr" },
        { "fr_CH-latin1", "ch", "fr" },
        { "sg", "ch", "" },
        { "sg-latin1", "ch", "" },
        { "sv-latin1", "se", "" },
        { "dk-latin1", "dk", "" },
        { "no-latin1", "no", "" },
        { "fi-latin1", "fi", "" },
        { "es-cp850", "es", "" },
        { "pt-latin1", "pt", "" },
        { "br-abnt2", "br", "" },
        { "la-latin1", "latam", "" },
        { "slovene", "si", "" },
        { "croat", "hr", "" },
        { "tr_q-latin5", "tr", "" },
        { "be-latin1", "be", "" },
        { "nl", "nl", "" },
        { "it2", "it", "" },
        { "jp106", "jp", "" },
        { "pl2", "pl", "" },
        { "cz-us-qwertz", "cz", "" },
        { "cz-lat2", "cz", "qwerty" },
        { "ru", "ru", "" },
        { "US Default", "us", "" },
        { "United Kingdom", "gb", "" },
        { "German", "de", "" },
        { "French", "fr", "" },
        { "Swiss German", "ch", "" },
        { "Swiss French", "ch", "fr" },
        { "Spanish", "es", "" },
        { "Italian", "it", "" },
        { "Japanese", "jp", "" },
        { "Belgian", "be", "" },
        { "Dutch", "nl", "" },
        { "Norwegian", "no", "" },
        { "Swedish", "se", "" },
        { "Danish", "dk", "" },
        { "Finnish", "fi", "" },
        { "Portuguese", "pt", "" },
        { "Brazilian", "br", "" },
        { "Russian", "ru", "" },
        { "Polish", "pl", "" },
        { "Czech", "cz", "" },
};

static bool xkb_word(const char *s, size_t len)
{
        if (len == 0 || len > 32)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

int target_keyboard_map(const char *name, char *layout, size_t layout_size, char *variant,
                        size_t variant_size)
{
        const char *open;
        size_t len;

        for (size_t i = 0; i < ELEMENTSOF(keymaps); i++)
                if (strcasecmp(name, keymaps[i].name) == 0) {
                        (void) snprintf(layout, layout_size, "%s", keymaps[i].layout);
                        (void) snprintf(variant, variant_size, "%s", keymaps[i].variant);
                        return 0;
                }
        /* XKB's own spelling: "de", "de(nodeadkeys)", Anaconda's "de (nodeadkeys)". */
        open = strchr(name, '(');
        len = open ? (size_t) (open - name) : strlen(name);
        while (len && name[len - 1] == ' ')
                len--;
        if (!xkb_word(name, len) || !islower((unsigned char) name[0]))
                return -EINVAL;
        if (open) {
                const char *close = strchr(open, ')');
                if (!close || close[1] || !xkb_word(open + 1, (size_t) (close - open - 1)))
                        return -EINVAL;
                (void) snprintf(variant, variant_size, "%.*s", (int) (close - open - 1), open + 1);
        } else {
                /* A console keymap with a suffix (de-latin1-xx) is its layout. */
                const char *dash = memchr(name, '-', len);
                if (dash)
                        len = (size_t) (dash - name);
                (void) snprintf(variant, variant_size, "%s", "");
        }
        (void) snprintf(layout, layout_size, "%.*s", (int) len, name);
        return 0;
}

int target_set_keyboard(const char *root, const struct answer *a, struct err *err)
{
        const char *k = a->keyboard ? a->keyboard : "us";
        char layout[40], variant[40], text[512];

        if (target_keyboard_map(k, layout, sizeof(layout), variant, sizeof(variant)) < 0)
                return err_set(err, -EINVAL, "'%s' is not a keyboard layout (us, de, fr(latin9))",
                               k);
        (void) snprintf(text, sizeof(text),
                        "# KEYBOARD CONFIGURATION FILE\n\n"
                        "# Consult the keyboard(5) manual page.\n\n"
                        "XKBMODEL=\"pc105\"\n"
                        "XKBLAYOUT=\"%s\"\n"
                        "XKBVARIANT=\"%s\"\n"
                        "XKBOPTIONS=\"\"\n\n"
                        "BACKSPACE=\"guess\"\n",
                        layout, variant);
        return write_file(root, "etc/default/keyboard", text, 0644, err);
}

int target_set_locale(const char *root, const struct answer *a, struct target_runs *runs,
                      struct err *err)
{
        const char *lang = a->lang ? a->lang : "en_US.UTF-8";
        _cleanup_free_ char *gen = NULL;
        struct text t __attribute__((cleanup(text_release))) = { 0 };
        char line[300];
        size_t llen = strlen(lang);
        bool found = false, builtin;
        int r;

        if (!lang[0] || has_space_or_nl(lang) || strpbrk(lang, "\"'\\$`/"))
                return err_set(err, -EINVAL, "'%s' is not a locale", lang);
        builtin =
                strcmp(lang, "C") == 0 || strcmp(lang, "POSIX") == 0 || strncmp(lang, "C.", 2) == 0;
        if (!builtin) {
                if ((r = read_file(root, "etc/locale.gen", false, &gen, err)) < 0)
                        return r;
                if ((r = text_open(&t)) < 0)
                        return r;
                for (const char *l = gen; *l;) {
                        const char *nl = strchr(l, '\n'), *w = l;
                        size_t len = nl ? (size_t) (nl - l) : strlen(l);
                        while (*w == '#' || *w == ' ')
                                w++;
                        /* "# de_DE.UTF-8 UTF-8": the first word is the locale. */
                        if (!found && (size_t) (w - l) < len && strncmp(w, lang, llen) == 0 &&
                            w[llen] == ' ') {
                                fprintf(t.f, "%.*s\n", (int) (len - (size_t) (w - l)), w);
                                found = true;
                        } else {
                                fprintf(t.f, "%.*s\n", (int) len, l);
                        }
                        l = nl ? nl + 1 : l + len;
                }
                if (!found)
                        return err_set(err, -ENOENT, "locale '%s' is not in '%s/etc/locale.gen'",
                                       lang, root);
                if ((r = text_close(&t)) < 0)
                        return r;
                if ((r = write_file(root, "etc/locale.gen", t.p, 0644, err)) < 0)
                        return r;
        }
        (void) snprintf(line, sizeof(line), "LANG=%s\n", lang);
        if ((r = write_file(root, "etc/default/locale", line, 0644, err)) < 0)
                return r;
        return builtin ? 0 : runs_add(runs, "locale-gen", NULL);
}

/* ---- GRUB ---- */

/* Whether the command line cmdline has a word starting with prefix. */
static const char *find_word(const char *cmdline, const char *prefix)
{
        size_t n = strlen(prefix);

        for (const char *w = cmdline; w && *w;) {
                w += strspn(w, " \t");
                if (strncmp(w, prefix, n) == 0)
                        return w;
                w += strcspn(w, " \t");
        }
        return NULL;
}

static int grub_set(char **text, const char *key, const char *value)
{
        _cleanup_free_ char *q = NULL;
        int r;

        if ((r = shell_quote(value, &q)) < 0)
                return r;
        return kv_set(text, key, q);
}

int target_set_boot_options(const char *root, const struct answer *a, const struct target_boot *b,
                            struct err *err)
{
        static const struct target_boot none = { 0 };
        _cleanup_free_ char *text = NULL;
        struct text cmd __attribute__((cleanup(text_release))) = { 0 };
        const char *append = a->bootloader.append ? a->bootloader.append : "";
        const char *serial = NULL;
        char serial_cmd[96];
        int r;

        if (!b)
                b = &none;
        /* grub-pc and grub-efi-amd64, which ship this file, conflict; the node has GRUB's
         * -bin packages for both firmwares instead, and then no defaults file: start one. */
        r = read_file(root, "etc/default/grub", true, &text, err);
        if (r == -ENOENT)
                text = strdup("# Written by kvmforge; run 'update-grub' after editing.\n"
                              "GRUB_DEFAULT=0\n"
                              "GRUB_TIMEOUT=5\n"
                              "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
                              "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                              "GRUB_CMDLINE_LINUX=\"\"\n");
        else if (r < 0)
                return r;
        if (!text)
                return -ENOMEM;
        if (strchr(append, '\n'))
                return err_set(err, -EINVAL, "'bootloader --append' holds a line break");
        if ((r = text_open(&cmd)) < 0)
                return r;
        fputs(append, cmd.f);
        /* Consoles the answer chooses itself win over those the installer was booted with. */
        if (!find_word(append, "console="))
                for (size_t i = 0; i < b->n_consoles; i++) {
                        if (!b->consoles[i][0] || has_space_or_nl(b->consoles[i]))
                                return err_set(err, -EINVAL, "'console=%s' is not a console",
                                               b->consoles[i]);
                        fprintf(cmd.f, "%sconsole=%s", ftell(cmd.f) ? " " : "", b->consoles[i]);
                }
        if (b->nomodeset && !find_word(append, "nomodeset"))
                fprintf(cmd.f, "%snomodeset", ftell(cmd.f) ? " " : "");
        /* The network configuration names NICs as the installer saw them: the kernel's names
         * (the live environment has no udev). The node keeps them instead of udev's
         * predictable names, unless the answer chooses otherwise. */
        if (b->kernel_nic_names && !find_word(append, "net.ifnames="))
                fprintf(cmd.f, "%snet.ifnames=0", ftell(cmd.f) ? " " : "");
        if ((r = text_close(&cmd)) < 0)
                return r;
        if ((r = grub_set(&text, "GRUB_CMDLINE_LINUX", cmd.p)) < 0)
                return r;

        /* The last serial console is the kernel's /dev/console: GRUB talks there too. */
        for (const char *w = cmd.p; (w = find_word(w, "console=ttyS")); w++)
                serial = w + strlen("console=ttyS");
        if (serial) {
                unsigned unit = 0, speed = 9600; /* the kernel's speed when none is given */
                char *end;
                unit = (unsigned) strtoul(serial, &end, 10);
                if (end == serial)
                        return err_set(err, -EINVAL, "'console=ttyS%.*s' names no serial port",
                                       (int) strcspn(serial, " \t"), serial);
                if (*end == ',')
                        speed = (unsigned) strtoul(end + 1, NULL, 10);
                if (!speed)
                        speed = 9600;
                (void) snprintf(serial_cmd, sizeof(serial_cmd), "serial --unit=%u --speed=%u", unit,
                                speed);
                if ((r = grub_set(&text, "GRUB_TERMINAL", "console serial")) < 0 ||
                    (r = grub_set(&text, "GRUB_SERIAL_COMMAND", serial_cmd)) < 0)
                        return r;
        }
        if (b->gfxmode) {
                if (!b->gfxmode[0] || has_space_or_nl(b->gfxmode) || strpbrk(b->gfxmode, "\"$`\\"))
                        return err_set(err, -EINVAL, "'%s' is not a video mode", b->gfxmode);
                if ((r = grub_set(&text, "GRUB_GFXMODE", b->gfxmode)) < 0 ||
                    (r = kv_set(&text, "GRUB_GFXPAYLOAD_LINUX", "keep")) < 0)
                        return r;
        }
        if (a->bootloader.timeout != ANSWER_UNSET) {
                char t[24];
                (void) snprintf(t, sizeof(t), "%" PRIu64, a->bootloader.timeout);
                if ((r = kv_set(&text, "GRUB_TIMEOUT", t)) < 0)
                        return r;
        }
        return write_file(root, "etc/default/grub", text, 0644, err);
}

/* ---- everything ---- */

int target_configure(const char *root, const struct answer *a, const struct target_options *o,
                     struct target_runs *runs, struct err *err)
{
        int r;

        if (o->plan && (r = target_write_fstab(root, o->plan, o->uuids, o->n_uuids, err)) < 0)
                return r;
        if ((r = target_set_hostname(root, a, o->hw, o->bootif, err)) < 0)
                return r;
        if (o->hw && (r = target_write_network(root, a, o->hw, o->bootif, err)) < 0)
                return r;
        if ((r = target_set_root_password(root, a, err)) < 0 ||
            (r = target_add_users(a, runs, err)) < 0 ||
            (r = target_write_ssh_keys(root, a, runs, err)) < 0 ||
            (r = target_set_timezone(root, a, err)) < 0 ||
            (r = target_write_ntp(root, a, runs, err)) < 0 ||
            (r = target_set_keyboard(root, a, err)) < 0 ||
            (r = target_set_locale(root, a, runs, err)) < 0 ||
            (r = target_set_boot_options(root, a, &o->boot, err)) < 0)
                return r;
        return 0;
}
