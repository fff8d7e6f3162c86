/* The node's first-boot steps and health checks (see node.h). Programs (lvm, mkfs.ext4,
 * modprobe, systemctl) run as child processes with an argument vector, never through a shell,
 * with LC_ALL=C so that their messages can be matched. */
#include "node.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <curl/curl.h>
#include <libvirt/virterror.h>

#include "answer.h"
#include "cleanup.h"
#include "file.h"
#include "http.h"
#include "json.h"

#define NODE_MAX_OUTPUT (1u << 20) /* what a child process may print before we stop reading */

DEFINE_CLEANUP_FUNC(blkid_probe, blkid_free_probe, NULL)
DEFINE_CLEANUP_FUNC(virStoragePoolPtr, virStoragePoolFree, NULL)
DEFINE_CLEANUP_FUNC(virNetworkPtr, virNetworkFree, NULL)
DEFINE_CLEANUP_FUNC(CURL *, curl_easy_cleanup, NULL)
DEFINE_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all, NULL)

static inline void answer_releasep(struct answer **a)
{
        if (*a)
                answer_release(*a);
}

const char *const node_level_names[NODE_LEVEL_COUNT] = {
        [NODE_OK] = "ok",
        [NODE_WARNING] = "warning",
        [NODE_FAIL] = "fail",
};

const char *const node_check_names[NODE_CHECK_COUNT] = {
        [NODE_CHECK_KVM] = "kvm",           [NODE_CHECK_LIBVIRT] = "libvirt",
        [NODE_CHECK_POOL] = "pool",         [NODE_CHECK_NETWORK] = "network",
        [NODE_CHECK_THINPOOL] = "thinpool", [NODE_CHECK_SSH] = "ssh",
};

static void step_set(struct node_step *s, enum node_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void step_set(struct node_step *s, enum node_level level, const char *fmt, ...)
{
        va_list ap;

        s->level = level;
        va_start(ap, fmt);
        (void) vsnprintf(s->message, sizeof(s->message), fmt, ap);
        va_end(ap);
}

/* ---- files ---- */

char *node_path(const char *root, const char *path)
{
        char *p;

        if (asprintf(&p, "%s%s", root ? root : "", path) < 0)
                return NULL;
        return p;
}

/* The whole file (at most max bytes) as a string; -ENOENT when missing, -EFBIG when larger. */
static int read_text(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *buf = NULL;
        size_t n;

        if (!f)
                return -errno;
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        n = fread(buf, 1, max + 1, f);
        if (ferror(f))
                return -EIO;
        if (n > max)
                return -EFBIG;
        buf[n] = '\0';
        if (ret_len)
                *ret_len = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

int node_write_file(const char *root, const char *path, const char *text, mode_t mode,
                    struct err *err)
{
        _cleanup_free_ char *full = node_path(root, path);
        int r;

        if (!full)
                return -ENOMEM;
        r = file_mkdir_parents(full, 0755, false);
        if (r < 0)
                return err_set(err, r, "cannot create the directory of '%s': %s", full,
                               strerror(-r));
        return file_write_atomic(full, text, strlen(text), mode, err);
}

/* ---- child processes ---- */

/* Runs argv with stdin from /dev/null and stdout+stderr into *ret_out (when not NULL): 0 with
 * *ret_status (the exit code, 128 + signal), -ENOENT when the program is not there. */
static int run(char *const argv[], char **ret_out, int *ret_status)
{
        int out[2] = { -1, -1 }, ex[2] = { -1, -1 }, status, exec_errno = 0;
        _cleanup_free_ char *buf = malloc(NODE_MAX_OUTPUT + 1);
        size_t len = 0;
        pid_t pid;

        if (!buf)
                return -ENOMEM;
        if (pipe2(out, O_CLOEXEC) < 0)
                return -errno;
        /* exec's errno comes back through a pipe that closes when exec succeeds. */
        if (pipe2(ex, O_CLOEXEC) < 0) {
                int r = -errno;
                (void) close(out[0]);
                (void) close(out[1]);
                return r;
        }
        pid = fork();
        if (pid < 0) {
                int r = -errno;
                (void) close(out[0]), (void) close(out[1]), (void) close(ex[0]),
                        (void) close(ex[1]);
                return r;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0 ||
                    dup2(out[1], STDERR_FILENO) < 0)
                        _exit(126);
                (void) setenv("LC_ALL", "C", 1);
                (void) setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
                execvp(argv[0], argv);
                exec_errno = errno;
                (void) !write(ex[1], &exec_errno, sizeof(exec_errno));
                _exit(127);
        }
        (void) close(out[1]);
        (void) close(ex[1]);
        for (;;) {
                char drop[4096];
                ssize_t n = len < NODE_MAX_OUTPUT ? read(out[0], buf + len, NODE_MAX_OUTPUT - len)
                                                  : read(out[0], drop, sizeof(drop));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (len < NODE_MAX_OUTPUT)
                        len += (size_t) n;
        }
        buf[len] = '\0';
        (void) close(out[0]);
        if (read(ex[0], &exec_errno, sizeof(exec_errno)) != (ssize_t) sizeof(exec_errno))
                exec_errno = 0;
        (void) close(ex[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (exec_errno)
                return -exec_errno;
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (ret_out)
                *ret_out = TAKE_PTR(buf);
        return 0;
}

/* The last non-empty line of a program's output, for a one-line message. */
static void last_line(const char *out, char *buf, size_t size)
{
        const char *end = out + strlen(out), *start;

        while (end > out && isspace((unsigned char) end[-1]))
                end--;
        for (start = end; start > out && start[-1] != '\n';)
                start--;
        while (start < end && isspace((unsigned char) *start))
                start++;
        (void) snprintf(buf, size, "%.*s", (int) (end - start), start);
}

/* Runs argv and turns a failure into err: "what: <last line of its output>". */
static int run_checked(char *const argv[], const char *what, struct err *err)
{
        _cleanup_free_ char *out = NULL;
        char line[200];
        int status, r;

        r = run(argv, &out, &status);
        if (r < 0)
                return err_set(err, r, "%s: cannot run '%s': %s", what, argv[0], strerror(-r));
        if (status != 0) {
                last_line(out, line, sizeof(line));
                return err_set(err, -EIO, "%s: '%s' failed (status %d): %s", what, argv[0], status,
                               line[0] ? line : "no message");
        }
        return 0;
}

/* ---- node.conf ---- */

void node_conf_init(struct node_conf *c)
{
        *c = (struct node_conf){ 0 };
        (void) snprintf(c->bridge, sizeof(c->bridge), "%s", ANSWER_DEFAULT_BRIDGE);
        (void) snprintf(c->pool, sizeof(c->pool), "default");
        (void) snprintf(c->vg, sizeof(c->vg), "%s", HW_INSTALL_VG);
}

static bool name_ok(const char *s, size_t max)
{
        size_t n = strlen(s);

        if (n == 0 || n >= max || s[0] == '-' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_.+-", *p))
                        return false;
        return true;
}

static char *trim(char *s)
{
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = '\0';
        return s;
}

int node_conf_parse(const char *text, size_t len, struct node_conf *c, struct err *err)
{
        _cleanup_free_ char *copy = NULL;
        unsigned line = 0;

        if (len > NODE_MAX_CONF)
                return err_set(err, -EFBIG, "node.conf is larger than %u bytes", NODE_MAX_CONF);
        if (memchr(text, '\0', len))
                return err_set(err, -EINVAL, "node.conf holds a NUL byte");
        copy = strndup(text, len);
        if (!copy)
                return -ENOMEM;
        /* strsep, not strtok: empty lines must still count for the line numbers. */
        for (char *p = copy, *l; (l = strsep(&p, "\n"));) {
                char *key, *value, *eq;
                size_t vn;

                line++;
                key = trim(l);
                if (*key == '\0' || *key == '#')
                        continue;
                eq = strchr(key, '=');
                if (!eq)
                        return err_set(err, -EINVAL, "node.conf:%u: expected KEY=VALUE", line);
                *eq = '\0';
                key = trim(key);
                value = trim(eq + 1);
                vn = strlen(value);
                if (vn >= 2 && (value[0] == '"' || value[0] == '\'') && value[vn - 1] == value[0]) {
                        value[vn - 1] = '\0';
                        value++;
                } else if (vn > 0 && (value[0] == '"' || value[0] == '\'')) {
                        return err_set(err, -EINVAL, "node.conf:%u: unterminated quote", line);
                }
                if (strcmp(key, "BRIDGE") == 0) {
                        if (!name_ok(value, sizeof(c->bridge)))
                                return err_set(err, -EINVAL,
                                               "node.conf:%u: '%s' is no interface name (at most "
                                               "15 of A-Z a-z 0-9 _ . + -)",
                                               line, value);
                        (void) snprintf(c->bridge, sizeof(c->bridge), "%s", value);
                } else if (strcmp(key, "REPORT_URL") == 0) {
                        if (*value && !http_is_url(value))
                                return err_set(err, -EINVAL,
                                               "node.conf:%u: REPORT_URL must be an http:// or "
                                               "https:// URL",
                                               line);
                        if (strlen(value) >= sizeof(c->report_url))
                                return err_set(err, -EINVAL, "node.conf:%u: REPORT_URL too long",
                                               line);
                        (void) snprintf(c->report_url, sizeof(c->report_url), "%s", value);
                } else if (strcmp(key, "POOL") == 0) {
                        if (!name_ok(value, sizeof(c->pool)))
                                return err_set(err, -EINVAL,
                                               "node.conf:%u: '%s' is no storage pool name", line,
                                               value);
                        (void) snprintf(c->pool, sizeof(c->pool), "%s", value);
                } else if (strcmp(key, "VG") == 0) {
                        if (!name_ok(value, sizeof(c->vg)))
                                return err_set(err, -EINVAL,
                                               "node.conf:%u: '%s' is no volume group name", line,
                                               value);
                        (void) snprintf(c->vg, sizeof(c->vg), "%s", value);
                } else if (strcmp(key, "EMAIL") == 0) {
                        if (*value &&
                            (!answer_email_valid(value) || strlen(value) >= sizeof(c->email)))
                                return err_set(err, -EINVAL,
                                               "node.conf:%u: '%s' is no e-mail address", line,
                                               value);
                        (void) snprintf(c->email, sizeof(c->email), "%s", value);
                } else {
                        return err_set(err, -EINVAL,
                                       "node.conf:%u: unknown key '%.64s' (known: BRIDGE, "
                                       "REPORT_URL, POOL, VG, EMAIL)",
                                       line, key);
                }
        }
        return 0;
}

int node_conf_load(const char *root, struct node_conf *c, struct err *err)
{
        _cleanup_free_ char *path = node_path(root, NODE_CONF_PATH), *text = NULL;
        size_t len = 0;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_text(path, NODE_MAX_CONF, &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return err_set(err, r, "cannot read '%s': %s", path, strerror(-r));
        return node_conf_parse(text, len, c, err);
}

/* ---- motd ---- */

/* The line starting at p equals s (up to its newline, a trailing '\r' ignored). */
static bool line_is(const char *p, const char *s)
{
        size_t n = strlen(s);
        return strncmp(p, s, n) == 0 &&
               (p[n] == '\n' || p[n] == '\0' || (p[n] == '\r' && (p[n + 1] == '\n' || !p[n + 1])));
}

static const char *next_line(const char *p)
{
        const char *nl = strchr(p, '\n');
        return nl ? nl + 1 : p + strlen(p);
}

int node_motd_replace(const char *old, const char *block, char **ret)
{
        const char *begin = NULL, *after = NULL;
        size_t blen = strlen(block);
        char *out = NULL;
        int r;

        if (!old)
                old = "";
        for (const char *p = old; *p; p = next_line(p)) {
                if (!begin && line_is(p, NODE_MOTD_BEGIN))
                        begin = p;
                else if (begin && line_is(p, NODE_MOTD_END)) {
                        after = next_line(p);
                        break;
                }
        }
        /* A begin line without its end: the block was cut off; it runs to the end. */
        if (begin && !after)
                after = old + strlen(old);
        if (!begin) {
                size_t n = strlen(old);
                begin = after = old + n;
        }
        r = asprintf(&out, "%.*s%s%s\n%s%s%s\n%s", (int) (begin - old), old,
                     begin > old && begin[-1] != '\n' ? "\n" : "", NODE_MOTD_BEGIN, block,
                     blen && block[blen - 1] != '\n' ? "\n" : "", NODE_MOTD_END, after);
        if (r < 0)
                return -ENOMEM;
        *ret = out;
        return 0;
}

int node_motd_update(const char *root, const char *block, bool *ret_changed, struct err *err)
{
        _cleanup_free_ char *path = node_path(root, NODE_MOTD_PATH), *old = NULL, *text = NULL;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_text(path, 1u << 20, &old, NULL);
        if (r < 0 && r != -ENOENT)
                return err_set(err, r, "cannot read '%s': %s", path, strerror(-r));
        r = node_motd_replace(old, block, &text);
        if (r < 0)
                return r;
        *ret_changed = !old || strcmp(old, text) != 0;
        if (!*ret_changed)
                return 0;
        return node_write_file(root, NODE_MOTD_PATH, text, 0644, err);
}

/* ---- KVM ---- */

static bool cpu_is(const struct hw_cpu *cpu, const char *vendor)
{
        return strcmp(cpu->vendor, vendor) == 0;
}

const char *node_kvm_module(const struct hw_cpu *cpu)
{
        if (cpu->vmx)
                return "kvm_intel";
        if (cpu->svm)
                return "kvm_amd";
        return NULL;
}

enum node_level node_kvm_words(const struct hw_cpu *cpu, bool dev_kvm, char *buf, size_t size)
{
        bool amd = cpu->svm || cpu_is(cpu, "AuthenticAMD") || cpu_is(cpu, "HygonGenuine");
        const char *ext = amd ? "AMD-V" : "Intel VT-x";

        if (dev_kvm) {
                (void) snprintf(buf, size, "KVM: ok (%s)", cpu->vmx || cpu->svm ? ext : "KVM");
                return NODE_OK;
        }
        switch (cpu->verdict) {
        case HW_VERDICT_DISABLED_IN_FIRMWARE:
                (void) snprintf(buf, size,
                                "KVM: not available: %s is disabled in the firmware — enable '%s' "
                                "in the BIOS setup",
                                amd ? "AMD-V" : "VT-x",
                                amd ? "SVM Mode" : "Intel Virtualization Technology");
                break;
        case HW_VERDICT_ABSENT:
                (void) snprintf(buf, size,
                                "KVM: not available: this CPU has no hardware virtualization "
                                "(guests run emulated, slowly)");
                break;
        case HW_VERDICT_HIDDEN_BY_HYPERVISOR:
                (void) snprintf(buf, size,
                                "KVM: not available: this node is itself a virtual machine (%s) "
                                "whose host does not pass VT-x/AMD-V through — enable nested "
                                "virtualization on the host (guests run emulated, slowly)",
                                cpu->hv_vendor[0] ? cpu->hv_vendor : "unknown hypervisor");
                break;
        case HW_VERDICT_OK:
                /* The CPU and firmware allow it, yet there is no /dev/kvm. */
                (void) snprintf(buf, size,
                                "KVM: not available: %s is enabled but /dev/kvm is missing — the "
                                "%s module did not load (see 'dmesg')",
                                ext, amd ? "kvm_amd" : "kvm_intel");
                break;
        default:
                (void) snprintf(buf, size, "KVM: not available: %s", cpu->reason);
                break;
        }
        return NODE_WARNING;
}

int node_kvm_load(const struct hw_cpu *cpu, struct err *err)
{
        const char *module = node_kvm_module(cpu);
        char *argv[] = { "modprobe", "-q", (char *) module, NULL };

        if (access("/dev/kvm", F_OK) == 0)
                return 0;
        if (!module)
                return err_set(err, -EOPNOTSUPP, "the CPU has neither VT-x nor AMD-V");
        return run_checked(argv, "cannot load the KVM module", err);
}

void node_console_write(const char *root, const char *line)
{
        _cleanup_free_ char *path = node_path(root, NODE_CONSOLE_PATH);
        _cleanup_close_ int fd = -1;
        const char *js = getenv("JOURNAL_STREAM");
        struct stat con, out;

        if (!path)
                return;
        fd = open(path, O_WRONLY | O_NOCTTY | O_APPEND | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &con) < 0)
                return;
        if (fstat(STDOUT_FILENO, &out) == 0) {
                /* stdout is the console already, or systemd's journal stream (which the unit's
                 * StandardOutput=journal+console copies to the console): once is enough. */
                if ((S_ISCHR(con.st_mode) && S_ISCHR(out.st_mode) && con.st_rdev == out.st_rdev) ||
                    (con.st_dev == out.st_dev && con.st_ino == out.st_ino))
                        return;
                if (js) {
                        char mine[64];
                        (void) snprintf(mine, sizeof(mine), "%ju:%ju", (uintmax_t) out.st_dev,
                                        (uintmax_t) out.st_ino);
                        if (strcmp(js, mine) == 0)
                                return;
                }
        }
        (void) dprintf(fd, "%s\n", line);
}

/* ---- LVM ---- */

int node_lvs_parse(const char *text, struct node_lvs *ret, struct err *err)
{
        _cleanup_free_ char *copy = strdup(text);
        struct node_lvs l = { .vg_found = true };
        unsigned line = 0;

        if (!copy)
                return -ENOMEM;
        for (char *p = copy, *s; (s = strsep(&p, "\n"));) {
                char *f[6], *q = trim(s);
                size_t n = 0;

                line++;
                if (!*q)
                        continue;
                for (char *x; n < ELEMENTSOF(f) && (x = strsep(&q, "|"));)
                        f[n++] = trim(x);
                if (n != ELEMENTSOF(f) || q)
                        return err_set(err, -EBADMSG, "lvs line %u: expected 6 fields", line);
                if (strcmp(f[0], NODE_THIN_POOL) == 0 && strcmp(f[1], "thin-pool") == 0) {
                        char *end;
                        errno = 0;
                        l.pool_size = strtoull(f[3], &end, 10);
                        if (errno || end == f[3] || *end)
                                return err_set(err, -EBADMSG, "lvs line %u: bad size '%.32s'", line,
                                               f[3]);
                        l.pool_found = true;
                        (void) snprintf(l.data_percent, sizeof(l.data_percent), "%s", f[4]);
                        (void) snprintf(l.metadata_percent, sizeof(l.metadata_percent), "%s", f[5]);
                } else if (strcmp(f[0], NODE_IMAGES_LV) == 0) {
                        l.images_found = true;
                        l.images_thin =
                                strcmp(f[1], "thin") == 0 && strcmp(f[2], NODE_THIN_POOL) == 0;
                }
        }
        *ret = l;
        return 0;
}

int node_lvs_read(const char *vg, struct node_lvs *ret, struct err *err)
{
        char *argv[] = { "lvm",
                         "lvs",
                         "--noheadings",
                         "--separator",
                         "|",
                         "--units",
                         "b",
                         "--nosuffix",
                         "-o",
                         "lv_name,segtype,pool_lv,lv_size,data_percent,metadata_percent",
                         (char *) vg,
                         NULL };
        _cleanup_free_ char *out = NULL;
        char line[200];
        int status, r;

        r = run(argv, &out, &status);
        if (r == -ENOENT) {
                *ret = (struct node_lvs){ 0 };
                return 0;
        }
        if (r < 0)
                return err_set(err, r, "cannot run lvm: %s", strerror(-r));
        if (status != 0) {
                if (strstr(out, "not found")) {
                        *ret = (struct node_lvs){ 0 };
                        return 0;
                }
                last_line(out, line, sizeof(line));
                return err_set(err, -EIO, "'lvm lvs %s' failed: %s", vg, line);
        }
        return node_lvs_parse(out, ret, err);
}

int node_fstab_add(const char *old, const char *uuid, const char *mountpoint, const char *fstype,
                   char **ret)
{
        size_t mlen = strlen(mountpoint);
        char *out;

        if (!old)
                old = "";
        for (const char *p = old; *p; p = next_line(p)) {
                const char *q = p + strspn(p, " \t");
                if (*q == '#' || *q == '\n')
                        continue;
                q += strcspn(q, " \t\n"); /* the device */
                q += strspn(q, " \t");
                /* Also "/var/lib/libvirt/images/" written with a slash. */
                if (strncmp(q, mountpoint, mlen) == 0 &&
                    strchr(" \t\n", q[mlen + (q[mlen] == '/')])) {
                        *ret = NULL;
                        return 0;
                }
        }
        if (asprintf(&out,
                     "%s%s# guest images, added by kvmforge-postinst\nUUID=%s %s %s "
                     "defaults,discard 0 2\n",
                     old, *old && old[strlen(old) - 1] != '\n' ? "\n" : "", uuid, mountpoint,
                     fstype) < 0)
                return -ENOMEM;
        *ret = out;
        return 1;
}

/* The filesystem on dev: *type "" when blank. */
static int probe_fs(const char *dev, char *type, size_t tsize, char *uuid, size_t usize,
                    struct err *err)
{
        _cleanup_(blkid_free_probep) blkid_probe pr = blkid_new_probe_from_filename(dev);
        const char *v;
        int r;

        if (!pr)
                return err_set(err, -errno ? -errno : -EIO, "cannot probe '%s'", dev);
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID);
        r = blkid_do_safeprobe(pr);
        if (r < 0)
                return err_set(err, -EIO, "cannot probe '%s' (ambiguous signatures?)", dev);
        type[0] = uuid[0] = '\0';
        if (r == 0 && blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0)
                (void) snprintf(type, tsize, "%s", v);
        if (r == 0 && blkid_probe_lookup_value(pr, "UUID", &v, NULL) == 0)
                (void) snprintf(uuid, usize, "%s", v);
        return 0;
}

static int is_mounted(const char *point)
{
        _cleanup_free_ struct hw_mount *m = NULL;
        size_t n = 0;
        int r = hw_mounts_read(&(struct hw_source){ 0 }, &m, &n);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (strcmp(m[i].point, point) == 0)
                        return 1;
        return 0;
}

static void appendf(char *buf, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t size, const char *fmt, ...)
{
        size_t n = strnlen(buf, size);
        va_list ap;

        if (n + 1 >= size)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(buf + n, size - n, fmt, ap);
        va_end(ap);
}

int node_images_setup(const char *root, const char *vg, bool *ret_changed, char *msg,
                      size_t msg_size, struct err *err)
{
        _cleanup_free_ char *mp = node_path(root, NODE_IMAGES_PATH), *dev = NULL, *lv = NULL,
                            *fstab = NULL, *fstab_path = node_path(root, NODE_FSTAB_PATH),
                            *newtab = NULL;
        char type[32], uuid[64], size[32];
        struct node_lvs l;
        bool changed = false;
        int r;

        if (!mp || !fstab_path)
                return -ENOMEM;
        msg[0] = '\0';
        r = node_lvs_read(vg, &l, err);
        if (r < 0)
                return r;
        if (!l.pool_found) {
                changed = access(mp, F_OK) < 0;
                r = file_mkdir_parents(mp, 0755, true);
                if (r < 0)
                        return err_set(err, r, "cannot create '%s': %s", mp, strerror(-r));
                appendf(msg, msg_size,
                        "no thin pool '%s' in VG '%s': guest images stay in '%s' on the root "
                        "filesystem",
                        NODE_THIN_POOL, vg, mp);
                *ret_changed = changed;
                return 0;
        }
        if (asprintf(&dev, "/dev/%s/%s", vg, NODE_IMAGES_LV) < 0 ||
            asprintf(&lv, "%s/%s", vg, NODE_THIN_POOL) < 0)
                return -ENOMEM;
        if (!l.images_found) {
                /* Virtually as large as the pool: guests can fill the pool, no more. */
                (void) snprintf(size, sizeof(size), "%" PRIu64 "b", l.pool_size);
                char *argv[] = { "lvm",    "lvcreate", "--yes",        "-V", size,
                                 "--thin", "-n",       NODE_IMAGES_LV, lv,   NULL };
                r = run_checked(argv, "cannot create the thin volume for guest images", err);
                if (r < 0)
                        return r;
                changed = true;
                appendf(msg, msg_size, "thin volume '%s' created in '%s'; ", dev, lv);
        } else if (!l.images_thin) {
                /* An LV of that name that we did not make: use it only if it has a filesystem. */
                appendf(msg, msg_size, "LV '%s' exists and is no thin volume of '%s'; ", dev, lv);
        }
        if (access(dev, F_OK) < 0) {
                _cleanup_free_ char *name = NULL;
                if (asprintf(&name, "%s/%s", vg, NODE_IMAGES_LV) < 0)
                        return -ENOMEM;
                char *argv[] = { "lvm", "lvchange", "-ay", name, NULL };
                r = run_checked(argv, "cannot activate the guest images volume", err);
                if (r < 0)
                        return r;
        }
        r = probe_fs(dev, type, sizeof(type), uuid, sizeof(uuid), err);
        if (r < 0)
                return r;
        if (!type[0]) {
                if (l.images_found && !l.images_thin)
                        return err_set(err, -EMEDIUMTYPE,
                                       "'%s' is no thin volume of ours and holds no filesystem: "
                                       "not formatting it",
                                       dev);
                /* nodiscard: a new thin volume has nothing provisioned to discard, and a
                 * discard pass over terabytes of it only costs time. */
                char *argv[] = { "mkfs.ext4", "-q",        "-L", "kvmforge-images",
                                 "-E",        "nodiscard", dev,  NULL };
                r = run_checked(argv, "cannot make the guest images filesystem", err);
                if (r < 0)
                        return r;
                changed = true;
                appendf(msg, msg_size, "ext4 made; ");
                r = probe_fs(dev, type, sizeof(type), uuid, sizeof(uuid), err);
                if (r < 0)
                        return r;
        }
        if (!uuid[0])
                return err_set(err, -EBADMSG, "the filesystem on '%s' has no UUID", dev);
        r = read_text(fstab_path, 1u << 20, &fstab, NULL);
        if (r < 0 && r != -ENOENT)
                return err_set(err, r, "cannot read '%s': %s", fstab_path, strerror(-r));
        /* fstab names the path as the node sees it, without our test root. */
        r = node_fstab_add(fstab, uuid, NODE_IMAGES_PATH, type, &newtab);
        if (r < 0)
                return r;
        if (r > 0) {
                r = node_write_file(root, NODE_FSTAB_PATH, newtab, 0644, err);
                if (r < 0)
                        return r;
                changed = true;
                appendf(msg, msg_size, "added to /etc/fstab; ");
        }
        r = file_mkdir_parents(mp, 0755, true);
        if (r < 0)
                return err_set(err, r, "cannot create '%s': %s", mp, strerror(-r));
        r = is_mounted(mp);
        if (r < 0)
                return err_set(err, r, "cannot read the mount table: %s", strerror(-r));
        if (r == 0) {
                if (mount(dev, mp, type, 0, strcmp(type, "ext4") == 0 ? "discard" : NULL) < 0)
                        return err_set(err, -errno, "cannot mount '%s' on '%s': %m", dev, mp);
                changed = true;
                appendf(msg, msg_size, "mounted; ");
        }
        appendf(msg, msg_size, "guest images on '%s' (%s, UUID %s) at '%s'", dev, type, uuid, mp);
        *ret_changed = changed;
        return 0;
}

/* ---- libvirt ---- */

static void quiet(void *userdata, virErrorPtr error)
{
        (void) userdata;
        (void) error;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void lv_init(void)
{
        /* libvirt prints every error to stderr unless told otherwise. */
        virSetErrorFunc(NULL, quiet);
        (void) virInitialize();
}

static const char *lv_msg(void)
{
        const char *m = virGetLastErrorMessage();
        return m ? m : "unknown libvirt error";
}

int node_connect(const char *uri, virConnectPtr *ret, struct err *err)
{
        virConnectPtr c;

        pthread_once(&init_once, lv_init);
        if (!uri)
                uri = "qemu:///system";
        c = virConnectOpenAuth(uri, virConnectAuthPtrDefault, 0);
        if (!c)
                return err_set(err, -ECONNREFUSED, "cannot connect to libvirt at '%s': %s", uri,
                               lv_msg());
        *ret = c;
        return 0;
}

char *node_xml_escape(const char *s)
{
        size_t n = 1;
        char *out, *o;

        for (const char *p = s; *p; p++)
                n += strchr("&<>'\"", *p) ? 6 : 1;
        out = o = malloc(n);
        if (!out)
                return NULL;
        for (const char *p = s; *p; p++) {
                const char *e = *p == '&'    ? "&amp;"
                                : *p == '<'  ? "&lt;"
                                : *p == '>'  ? "&gt;"
                                : *p == '\'' ? "&apos;"
                                : *p == '"'  ? "&quot;"
                                             : NULL;
                if (e)
                        o = stpcpy(o, e);
                else
                        *o++ = *p;
        }
        *o = '\0';
        return out;
}

/* The text of the first <tag>...</tag> after the first <section>, as written in xml. */
static void xml_text(const char *xml, const char *section, const char *tag, char *buf, size_t size)
{
        char open[64], close[64];
        const char *s = section ? strstr(xml, section) : xml, *b, *e;

        buf[0] = '\0';
        (void) snprintf(open, sizeof(open), "<%s>", tag);
        (void) snprintf(close, sizeof(close), "</%s>", tag);
        if (!s || !(b = strstr(s, open)) || !(e = strstr(b, close)))
                return;
        b += strlen(open);
        (void) snprintf(buf, size, "%.*s", (int) (e - b), b);
}

int node_pool_ensure(virConnectPtr conn, const char *name, const char *path, struct node_step *step)
{
        _cleanup_(virStoragePoolFreep) virStoragePoolPtr p = NULL;
        _cleanup_free_ char *ename = node_xml_escape(name), *epath = node_xml_escape(path),
                            *xml = NULL, *have_xml = NULL;
        char done[128] = "", have[1024];
        int autostart = 0, r;

        *step = (struct node_step){ 0 };
        if (!ename || !epath)
                return -ENOMEM;
        p = virStoragePoolLookupByName(conn, name);
        if (p) {
                have_xml = virStoragePoolGetXMLDesc(p, 0);
                if (!have_xml) {
                        step_set(step, NODE_FAIL, "cannot read storage pool '%s': %s", name,
                                 lv_msg());
                        return -EIO;
                }
                xml_text(have_xml, "<target>", "path", have, sizeof(have));
                if (strcmp(have, epath) != 0) {
                        step_set(step, NODE_WARNING,
                                 "storage pool '%s' already exists with path '%s', not '%s': "
                                 "left as it is",
                                 name, have, path);
                        return 0;
                }
        } else {
                if (asprintf(&xml,
                             "<pool type='dir'><name>%s</name><target><path>%s</path></target>"
                             "</pool>",
                             ename, epath) < 0)
                        return -ENOMEM;
                p = virStoragePoolDefineXML(conn, xml, 0);
                if (!p) {
                        step_set(step, NODE_FAIL, "cannot define storage pool '%s': %s", name,
                                 lv_msg());
                        return -EIO;
                }
                appendf(done, sizeof(done), "%sdefined", done[0] ? ", " : "");
        }
        if (access(path, F_OK) < 0) {
                if (virStoragePoolBuild(p, 0) < 0) {
                        step_set(step, NODE_FAIL, "cannot build storage pool '%s': %s", name,
                                 lv_msg());
                        return -EIO;
                }
                appendf(done, sizeof(done), "%sbuilt", done[0] ? ", " : "");
        }
        r = virStoragePoolIsActive(p);
        if (r == 0) {
                if (virStoragePoolCreate(p, 0) < 0) {
                        step_set(step, NODE_FAIL, "cannot start storage pool '%s': %s", name,
                                 lv_msg());
                        return -EIO;
                }
                appendf(done, sizeof(done), "%sstarted", done[0] ? ", " : "");
        } else if (r < 0) {
                step_set(step, NODE_FAIL, "cannot query storage pool '%s': %s", name, lv_msg());
                return -EIO;
        }
        if (virStoragePoolGetAutostart(p, &autostart) < 0 ||
            (!autostart && virStoragePoolSetAutostart(p, 1) < 0)) {
                step_set(step, NODE_FAIL, "cannot autostart storage pool '%s': %s", name, lv_msg());
                return -EIO;
        }
        if (!autostart)
                appendf(done, sizeof(done), "%sautostart set", done[0] ? ", " : "");
        step->changed = done[0] != '\0';
        step_set(step, NODE_OK, "storage pool '%s' at '%s': %s", name, path,
                 done[0] ? done : "already set up");
        return 0;
}

int node_network_ensure(virConnectPtr conn, const char *bridge, struct node_step *step)
{
        _cleanup_(virNetworkFreep) virNetworkPtr n = NULL;
        _cleanup_free_ char *eb = node_xml_escape(bridge), *xml = NULL, *have = NULL,
                            *want_bridge = NULL;
        char done[128] = "", sysfs[64];
        int autostart = 0, r;
        bool bridge_exists;

        *step = (struct node_step){ 0 };
        if (!eb || asprintf(&want_bridge, "<bridge name='%s'", eb) < 0)
                return -ENOMEM;
        n = virNetworkLookupByName(conn, bridge);
        if (n) {
                have = virNetworkGetXMLDesc(n, 0);
                if (!have) {
                        step_set(step, NODE_FAIL, "cannot read network '%s': %s", bridge, lv_msg());
                        return -EIO;
                }
                if (!strstr(have, "<forward mode='bridge'") || !strstr(have, want_bridge)) {
                        step_set(step, NODE_WARNING,
                                 "network '%s' already exists and is not bridged onto '%s': "
                                 "left as it is",
                                 bridge, bridge);
                        return 0;
                }
        } else {
                if (asprintf(&xml,
                             "<network><name>%s</name><forward mode='bridge'/>"
                             "<bridge name='%s'/></network>",
                             eb, eb) < 0)
                        return -ENOMEM;
                n = virNetworkDefineXML(conn, xml);
                if (!n) {
                        step_set(step, NODE_FAIL, "cannot define network '%s': %s", bridge,
                                 lv_msg());
                        return -EIO;
                }
                appendf(done, sizeof(done), "%sdefined", done[0] ? ", " : "");
        }
        r = virNetworkIsActive(n);
        if (r == 0) {
                if (virNetworkCreate(n) < 0) {
                        step_set(step, NODE_FAIL, "cannot start network '%s': %s", bridge,
                                 lv_msg());
                        return -EIO;
                }
                appendf(done, sizeof(done), "%sstarted", done[0] ? ", " : "");
        } else if (r < 0) {
                step_set(step, NODE_FAIL, "cannot query network '%s': %s", bridge, lv_msg());
                return -EIO;
        }
        if (virNetworkGetAutostart(n, &autostart) < 0 ||
            (!autostart && virNetworkSetAutostart(n, 1) < 0)) {
                step_set(step, NODE_FAIL, "cannot autostart network '%s': %s", bridge, lv_msg());
                return -EIO;
        }
        if (!autostart)
                appendf(done, sizeof(done), "%sautostart set", done[0] ? ", " : "");
        (void) snprintf(sysfs, sizeof(sysfs), "/sys/class/net/%s/bridge", bridge);
        bridge_exists = access(sysfs, F_OK) == 0;
        step->changed = done[0] != '\0';
        step_set(step, bridge_exists ? NODE_OK : NODE_WARNING, "network '%s' (bridge %s): %s%s",
                 bridge, bridge, done[0] ? done : "already set up",
                 bridge_exists ? ""
                               : "; but the bridge does not exist: check /etc/network/interfaces");
        return 0;
}

/* ---- %firstboot ---- */

int node_firstboot_run(const char *root, struct node_step *step)
{
        _cleanup_free_ char *path = node_path(root, NODE_ANSWER_PATH),
                            *done = node_path(root, NODE_FIRSTBOOT_DONE_PATH),
                            *log = node_path(root, NODE_LOG_PATH), *text = NULL;
        _cleanup_close_ int fd = -1;
        struct answer a = { 0 };
        _cleanup_(answer_releasep) struct answer *ap = NULL;
        unsigned ran = 0, failed = 0;
        bool fatal = false;
        size_t len = 0;
        struct err e = { { 0 } };
        int r;

        *step = (struct node_step){ 0 };
        if (!path || !done || !log)
                return -ENOMEM;
        if (access(done, F_OK) == 0) {
                step_set(step, NODE_OK, "%%firstboot scripts ran already (%s)", done);
                return 0;
        }
        r = read_text(path, 16u << 20, &text, &len);
        if (r == -ENOENT) {
                step_set(step, NODE_OK, "no answer file '%s': no %%firstboot scripts", path);
                return 0;
        }
        if (r < 0) {
                step_set(step, NODE_FAIL, "cannot read '%s': %s", path, strerror(-r));
                return r;
        }
        r = answer_load(text, len, path, &(struct answer_load_options){ .root = root }, &a);
        if (r < 0)
                return r;
        ap = &a;
        r = file_mkdir_parents(log, 0755, false);
        if (r >= 0)
                fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) {
                step_set(step, NODE_FAIL, "cannot open the log '%s': %m", log);
                return -errno;
        }
        for (size_t i = 0; i < a.n_scripts; i++) {
                const struct answer_script *s = &a.scripts[i];
                if (s->kind != ANSWER_FIRSTBOOT)
                        continue;
                (void) dprintf(fd, "== %%firstboot of line %u ==\n", s->at.line);
                /* The scripts run in the live system: root only moves our own files. */
                r = answer_script_run(s, NULL, fd, &e);
                ran++;
                if (r < 0) {
                        (void) dprintf(fd, "== failed: %s ==\n", e.msg);
                        failed++;
                        fatal = fatal || s->erroronfail;
                        if (s->erroronfail)
                                break;
                }
        }
        step->changed = ran > 0;
        if (fatal) {
                step_set(step, NODE_FAIL, "%s (--erroronfail; log in '%s')", e.msg, log);
                return -EIO;
        }
        r = node_write_file(root, NODE_FIRSTBOOT_DONE_PATH, "done\n", 0644, &e);
        if (r < 0) {
                step_set(step, NODE_FAIL, "%s", e.msg);
                return r;
        }
        if (failed)
                step_set(step, NODE_WARNING,
                         "%u of %u %%firstboot scripts failed, first: %s (log in '%s')", failed,
                         ran, e.msg, log);
        else
                step_set(step, NODE_OK, "%u %%firstboot script%s run (log in '%s')", ran,
                         ran == 1 ? "" : "s", log);
        return 0;
}

/* ---- health ---- */

static void collect_pool(virConnectPtr conn, struct node_health *h)
{
        _cleanup_(virStoragePoolFreep) virStoragePoolPtr p =
                virStoragePoolLookupByName(conn, h->pool);
        _cleanup_free_ char *xml = NULL;
        virStoragePoolInfo info;
        int autostart = 0;

        if (!p)
                return;
        h->pool_found = true;
        h->pool_active = virStoragePoolIsActive(p) == 1;
        h->pool_autostart = virStoragePoolGetAutostart(p, &autostart) == 0 && autostart;
        if (h->pool_active && virStoragePoolRefresh(p, 0) == 0 &&
            virStoragePoolGetInfo(p, &info) == 0) {
                h->pool_capacity = info.capacity;
                h->pool_available = info.available;
        }
        xml = virStoragePoolGetXMLDesc(p, 0);
        if (xml)
                xml_text(xml, "<target>", "path", h->pool_path, sizeof(h->pool_path));
}

static void collect_network(virConnectPtr conn, struct node_health *h)
{
        _cleanup_(virNetworkFreep) virNetworkPtr n = virNetworkLookupByName(conn, h->bridge);
        int autostart = 0;

        if (!n)
                return;
        h->network_found = true;
        h->network_active = virNetworkIsActive(n) == 1;
        h->network_autostart = virNetworkGetAutostart(n, &autostart) == 0 && autostart;
}

static void collect_addrs(struct node_health *h)
{
        struct ifaddrs *ifa = NULL;

        if (getifaddrs(&ifa) < 0)
                return;
        for (struct ifaddrs *i = ifa; i && h->n_addrs < NODE_MAX_ADDRS; i = i->ifa_next) {
                char a[INET_ADDRSTRLEN];
                unsigned prefix = 0;
                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
                    strcmp(i->ifa_name, h->bridge) != 0)
                        continue;
                if (!inet_ntop(AF_INET, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, a,
                               sizeof(a)))
                        continue;
                if (i->ifa_netmask)
                        prefix = (unsigned) __builtin_popcount(
                                ((struct sockaddr_in *) i->ifa_netmask)->sin_addr.s_addr);
                (void) snprintf(h->addrs[h->n_addrs++], sizeof(h->addrs[0]), "%s/%u", a, prefix);
        }
        freeifaddrs(ifa);
}

void node_health_collect(const struct node_conf *conf, const struct hw_cpu *cpu, virConnectPtr conn,
                         const char *uri, const char *conn_error, struct node_health *h)
{
        char sysfs[64], *argv[] = { "systemctl", "is-active", "ssh", NULL };
        _cleanup_free_ char *out = NULL;
        struct err e = { { 0 } };
        int status;

        *h = (struct node_health){ .cpu = *cpu };
        if (gethostname(h->hostname, sizeof(h->hostname) - 1) < 0)
                h->hostname[0] = '\0';
        h->dev_kvm = cpu->kvm == HW_YES;
        (void) snprintf(h->uri, sizeof(h->uri), "%s", uri ? uri : "qemu:///system");
        h->libvirt_ok = conn != NULL;
        (void) snprintf(h->libvirt_error, sizeof(h->libvirt_error), "%s",
                        conn_error ? conn_error : "");
        (void) snprintf(h->pool, sizeof(h->pool), "%s", conf->pool);
        (void) snprintf(h->bridge, sizeof(h->bridge), "%s", conf->bridge);
        (void) snprintf(h->vg, sizeof(h->vg), "%s", conf->vg);
        if (conn) {
                collect_pool(conn, h);
                collect_network(conn, h);
        }
        (void) snprintf(sysfs, sizeof(sysfs), "/sys/class/net/%s/bridge", h->bridge);
        h->bridge_exists = access(sysfs, F_OK) == 0;
        collect_addrs(h);
        if (node_lvs_read(conf->vg, &h->lvs, &e) < 0)
                h->lvs = (struct node_lvs){ 0 };
        if (run(argv, &out, &status) == 0) {
                char line[32];
                last_line(out, line, sizeof(line));
                /* Only the words systemctl answers with; anything else ("System has not been
                 * booted with systemd ...") means we cannot tell. */
                if (strspn(line, "abcdefghijklmnopqrstuvwxyz-") == strlen(line))
                        (void) snprintf(h->ssh_state, sizeof(h->ssh_state), "%s", line);
        }
        node_health_decide(h);
}

static void human_size(uint64_t b, char *buf, size_t size)
{
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
        double v = (double) b;
        size_t u = 0;

        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        (void) snprintf(buf, size, "%.1f %s", v, units[u]);
}

/* A percentage as lvm prints it; -1 when there is none. */
static double percent(const char *s)
{
        char *end;
        double v;

        if (!s[0])
                return -1;
        v = strtod(s, &end);
        return end == s ? -1 : v;
}

void node_health_decide(struct node_health *h)
{
        struct node_step *it = h->items;
        char cap[32], avail[32];

        it[NODE_CHECK_KVM].level = node_kvm_words(&h->cpu, h->dev_kvm, it[NODE_CHECK_KVM].message,
                                                  sizeof(it[NODE_CHECK_KVM].message));

        if (h->libvirt_ok)
                step_set(&it[NODE_CHECK_LIBVIRT], NODE_OK, "libvirtd answers on '%s'", h->uri);
        else if (h->libvirt_error[0])
                step_set(&it[NODE_CHECK_LIBVIRT], NODE_FAIL, "%s", h->libvirt_error);
        else
                step_set(&it[NODE_CHECK_LIBVIRT], NODE_FAIL, "libvirtd does not answer on '%s'",
                         h->uri);

        human_size(h->pool_capacity, cap, sizeof(cap));
        human_size(h->pool_available, avail, sizeof(avail));
        if (!h->libvirt_ok)
                step_set(&it[NODE_CHECK_POOL], NODE_FAIL,
                         "storage pool '%s' not checked: libvirtd does not answer", h->pool);
        else if (!h->pool_found)
                step_set(&it[NODE_CHECK_POOL], NODE_FAIL, "no storage pool '%s'", h->pool);
        else if (!h->pool_active)
                step_set(&it[NODE_CHECK_POOL], NODE_FAIL, "storage pool '%s' is not active",
                         h->pool);
        else if (h->pool_capacity && h->pool_available < h->pool_capacity / 20)
                step_set(&it[NODE_CHECK_POOL], NODE_WARNING,
                         "storage pool '%s' at '%s' is almost full: %s free of %s", h->pool,
                         h->pool_path, avail, cap);
        else if (!h->pool_autostart)
                step_set(&it[NODE_CHECK_POOL], NODE_WARNING,
                         "storage pool '%s' is active but not autostarted", h->pool);
        else
                step_set(&it[NODE_CHECK_POOL], NODE_OK,
                         "storage pool '%s' active at '%s', %s free of %s", h->pool, h->pool_path,
                         avail, cap);

        if (!h->bridge_exists)
                step_set(&it[NODE_CHECK_NETWORK], NODE_FAIL, "bridge '%s' does not exist",
                         h->bridge);
        else if (!h->libvirt_ok)
                step_set(&it[NODE_CHECK_NETWORK], NODE_FAIL,
                         "network '%s' not checked: libvirtd does not answer", h->bridge);
        else if (!h->network_found)
                step_set(&it[NODE_CHECK_NETWORK], NODE_FAIL, "libvirt has no network '%s'",
                         h->bridge);
        else if (!h->network_active)
                step_set(&it[NODE_CHECK_NETWORK], NODE_FAIL, "network '%s' is not active",
                         h->bridge);
        else if (!h->network_autostart)
                step_set(&it[NODE_CHECK_NETWORK], NODE_WARNING,
                         "network '%s' is active but not autostarted", h->bridge);
        else if (h->n_addrs == 0)
                step_set(&it[NODE_CHECK_NETWORK], NODE_WARNING,
                         "network '%s' active, but bridge '%s' has no IPv4 address", h->bridge,
                         h->bridge);
        else
                step_set(&it[NODE_CHECK_NETWORK], NODE_OK,
                         "network '%s' active, bridge '%s' at %s%s", h->bridge, h->bridge,
                         h->addrs[0], h->n_addrs > 1 ? " and more" : "");

        if (!h->lvs.pool_found) {
                step_set(&it[NODE_CHECK_THINPOOL], NODE_OK,
                         "no thin pool '%s' in VG '%s': guest images on the root filesystem",
                         NODE_THIN_POOL, h->vg);
        } else {
                double d = percent(h->lvs.data_percent), m = percent(h->lvs.metadata_percent);
                enum node_level l = d >= 95 || m >= 90   ? NODE_FAIL
                                    : d >= 80 || m >= 75 ? NODE_WARNING
                                    : d < 0 || m < 0     ? NODE_WARNING
                                                         : NODE_OK;
                step_set(&it[NODE_CHECK_THINPOOL], l, "thin pool %s/%s: data %s%%, metadata %s%%%s",
                         h->vg, NODE_THIN_POOL, h->lvs.data_percent[0] ? h->lvs.data_percent : "?",
                         h->lvs.metadata_percent[0] ? h->lvs.metadata_percent : "?",
                         l == NODE_FAIL      ? ": nearly full, guests will stop on writes"
                         : l == NODE_WARNING ? ": filling up"
                                             : "");
        }

        if (strcmp(h->ssh_state, "active") == 0)
                step_set(&it[NODE_CHECK_SSH], NODE_OK, "ssh service active");
        else if (h->ssh_state[0])
                step_set(&it[NODE_CHECK_SSH], NODE_WARNING, "ssh service is %s", h->ssh_state);
        else
                step_set(&it[NODE_CHECK_SSH], NODE_WARNING,
                         "ssh service state unknown (no systemd?)");
}

enum node_level node_health_level(const struct node_health *h)
{
        enum node_level l = NODE_OK;

        for (size_t i = 0; i < NODE_CHECK_COUNT; i++)
                if (h->items[i].level > l)
                        l = h->items[i].level;
        return l;
}

static void item_begin(struct json *j, const struct node_health *h, enum node_check_item i)
{
        json_begin_object(j, node_check_names[i]);
        json_string(j, "status", node_level_names[h->items[i].level]);
        json_string(j, "message", h->items[i].message);
}

void node_health_json(const struct node_health *h, struct json *j)
{
        json_begin_object(j, NULL);
        json_string(j, "hostname", h->hostname);
        json_string(j, "status", node_level_names[node_health_level(h)]);
        json_begin_object(j, "checks");

        item_begin(j, h, NODE_CHECK_KVM);
        json_bool(j, "dev_kvm", h->dev_kvm);
        json_string(j, "verdict", hw_verdict_names[h->cpu.verdict]);
        json_string(j, "reason", h->cpu.reason);
        json_end_object(j);

        item_begin(j, h, NODE_CHECK_LIBVIRT);
        json_string(j, "uri", h->uri);
        json_bool(j, "reachable", h->libvirt_ok);
        json_end_object(j);

        item_begin(j, h, NODE_CHECK_POOL);
        json_string(j, "name", h->pool);
        json_string_or_null(j, "path", h->pool_found ? h->pool_path : NULL);
        json_bool(j, "exists", h->pool_found);
        json_bool(j, "active", h->pool_active);
        json_bool(j, "autostart", h->pool_autostart);
        json_u64(j, "capacity", h->pool_capacity);
        json_u64(j, "available", h->pool_available);
        json_end_object(j);

        item_begin(j, h, NODE_CHECK_NETWORK);
        json_string(j, "name", h->bridge);
        json_string(j, "bridge", h->bridge);
        json_bool(j, "bridge_exists", h->bridge_exists);
        json_bool(j, "exists", h->network_found);
        json_bool(j, "active", h->network_active);
        json_bool(j, "autostart", h->network_autostart);
        json_begin_array(j, "ipv4");
        for (size_t i = 0; i < h->n_addrs; i++)
                json_string(j, NULL, h->addrs[i]);
        json_end_array(j);
        json_end_object(j);

        item_begin(j, h, NODE_CHECK_THINPOOL);
        json_string(j, "vg", h->vg);
        json_bool(j, "exists", h->lvs.pool_found);
        json_string_or_null(j, "data_percent", h->lvs.pool_found ? h->lvs.data_percent : NULL);
        json_string_or_null(j, "metadata_percent",
                            h->lvs.pool_found ? h->lvs.metadata_percent : NULL);
        json_end_object(j);

        item_begin(j, h, NODE_CHECK_SSH);
        json_string_or_null(j, "state", h->ssh_state[0] ? h->ssh_state : NULL);
        json_end_object(j);

        json_end_object(j);
        json_end_object(j);
}

/* ---- report ---- */

static size_t discard(char *p, size_t size, size_t n, void *userdata)
{
        (void) p;
        (void) userdata;
        return size * n;
}

int node_report_post(const char *url, const char *body, struct err *err)
{
        _cleanup_(curl_easy_cleanupp) CURL *c = curl_easy_init();
        _cleanup_(curl_slist_free_allp) struct curl_slist *hdr = NULL;
        char safe[512], cerr[CURL_ERROR_SIZE] = "";
        long code = 0;
        CURLcode rc;

        http_redact_url(url, safe, sizeof(safe));
        if (!c)
                return -ENOMEM;
        hdr = curl_slist_append(NULL, "Content-Type: application/json");
        if (!hdr)
                return -ENOMEM;
        (void) curl_easy_setopt(c, CURLOPT_URL, url);
        (void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        (void) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        (void) curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(body));
        (void) curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
        (void) curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        (void) curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        (void) curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        rc = curl_easy_perform(c);
        if (rc != CURLE_OK)
                /* curl's buffer may quote the URL with its credentials: only its code's words. */
                return err_set(err, -EHOSTUNREACH, "cannot send the report to '%s': %s", safe,
                               curl_easy_strerror(rc));
        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code > 299)
                return err_set(err, -EPROTO, "the report server '%s' answered HTTP %ld", safe,
                               code);
        return 0;
}
