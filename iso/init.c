/*
 * kvmforge-init: /init of the installer's live environment (the initramfs that
 * common/initramfs.c builds is the whole live system). PID 1, static, no library beyond libc.
 *
 *  1. Mounts /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /run and /tmp.
 *  2. Reads /proc/cmdline: kvmforge.mode=install|unattended|rescue|report (install),
 *     kvmforge.onerror=shell|poweroff|reboot (shell), kvmforge.medium=ID, kvmforge.wait=S
 *     (how long to look for the medium, 30), kvmforge.hostname=NAME, kvmforge.debug,
 *     kvmforge.term=NAME (the console's TERM), console=. TERM on the console is linux on a VGA
 *     console (ttyN) and xterm on a serial one: 8 colours and VT100 line drawing, which
 *     minicom, screen, tmux and ipmitool's SOL all show (vt100 has no colours), with the
 *     terminfo entries common/isobuild.c puts in /usr/share/terminfo. kvmforge.term=NAME
 *     overrides it (vt100 for a terminal without colours, xterm-256color, screen, tmux, ...;
 *     only the entries isobuild.c lists are there). A serial console also gets
 *     KVMFORGE_SERIAL=1. The VTs tty2 and tty3 always get linux.
 *  3. Loads the modules of /etc/kvmforge/modules in order (finit_module, parameters from the
 *     command line as modprobe would pass them); a failure is a warning. Then efivarfs.
 *  4. Looks for the install medium: every sr*, sd*, vd*, nvme*n* disk and partition, mounted
 *     read-only as iso9660 or vfat, until one has /.kvmforge-medium (whose first line must be
 *     ID with kvmforge.medium=ID), for up to kvmforge.wait seconds: USB disks and CD drives
 *     come late. It stays mounted on /run/kvmforge/medium.
 *  5. Hostname, lo up, DHCP in the background on each ethernet NIC (busybox udhcpc with
 *     iso/udhcpc.script as /etc/kvmforge/udhcpc.script or, failing that, busybox's default
 *     /usr/share/udhcpc/default.script; its output in /run/kvmforge/dhcp-IFACE.log).
 *  6. Runs, on the console as its controlling terminal: install -> kvmforge-install tui
 *     --medium DIR (the text UI), unattended -> kvmforge-install install --medium DIR
 *     --unattended, report -> kvmforge-install detect, then waits for Enter; rescue -> a
 *     shell. A terminal that reports no window size (a serial line says 0x0) is set to 80x24
 *     first, so that newt draws a whole screen. When there is a VGA console, a shell runs on
 *     tty2 (Alt-F2) and `tail -F` of the install log on tty3 (Alt-F3), each started again when
 *     it ends. The first lines on the console say which console has what.
 *  7. Success (the installer normally reboots or powers off itself) -> power off. Failure ->
 *     one line naming the log, then kvmforge.onerror: a shell (power off when it exits),
 *     power off or reboot. A missing medium is such a failure too (install modes only).
 *
 * PID 1 must not exit (the kernel panics): every path ends in reboot(2), then pause(). It
 * reaps every orphan that is reparented to it while it waits for its own children.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MODULES_FILE                 "/etc/kvmforge/modules"
#define MEDIUM_DIR                   "/run/kvmforge/medium"
#define MARKER                       ".kvmforge-medium"
#define INSTALLER                    "/usr/sbin/kvmforge-install"
#define INSTALL_LOG                  "/tmp/kvmforge-install.log"
#define SYSLOG_ACTION_CONSOLE_LEVEL_ 8 /* klogctl(2); glibc names no constant */
#define TERM_SERIAL                  "xterm"
#define TERM_VT                      "linux"
#define TERM_MAX                     32
#define WINSIZE_ROWS                 24 /* for a terminal that reports none */
#define WINSIZE_COLS                 80
#define UDHCPC_SCRIPT                "/etc/kvmforge/udhcpc.script"
#define UDHCPC_DEFAULT               "/usr/share/udhcpc/default.script" /* busybox's own default */
#define SHELL                        "/bin/sh"
#define EFIVARS_DIR                  "/sys/firmware/efi/efivars"
#define CMDLINE_MAX                  4096
#define FILE_MAX                     (256 * 1024)
#define WAIT_DEFAULT_S               30
#define SCAN_STEP_MS                 250
#define REJECTED_MAX                 256
#define ID_MAX                       256
#define PATH_ENV                     "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

enum mode { MODE_INSTALL, MODE_UNATTENDED, MODE_RESCUE, MODE_REPORT };
enum onerror { ONERROR_SHELL, ONERROR_POWEROFF, ONERROR_REBOOT };

static char cmdline[CMDLINE_MAX];
static enum mode arg_mode = MODE_INSTALL;
static enum onerror arg_onerror = ONERROR_SHELL;
static bool arg_debug;
static bool arg_have_id;
static char arg_id[ID_MAX];
static long arg_wait_s = WAIT_DEFAULT_S;
static char arg_hostname[64] = "kvmforge";
static bool serial_console;
static char arg_term[TERM_MAX];
static char console_dev[64] = "/dev/console";
static pid_t tty2_pid, tty3_pid;
static bool tty2_wanted; /* a VGA console: a shell on tty2, the log on tty3 */

/* ---- messages: one line each on the console (fd 2) ---- */

static void say(const char *prefix, const char *fmt, va_list ap)
{
        char buf[1024];
        int n = snprintf(buf, sizeof(buf), "kvmforge-init: %s", prefix);

        if (n < 0 || (size_t) n >= sizeof(buf))
                return;
        (void) vsnprintf(buf + n, sizeof(buf) - (size_t) n - 1, fmt, ap);
        n = (int) strlen(buf);
        buf[n++] = '\n';
        (void) !write(STDERR_FILENO, buf, (size_t) n);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        say("", fmt, ap);
        va_end(ap);
}

static void debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void debug(const char *fmt, ...)
{
        va_list ap;

        if (!arg_debug)
                return;
        va_start(ap, fmt);
        say("debug: ", fmt, ap);
        va_end(ap);
}

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        say("warning: ", fmt, ap);
        va_end(ap);
}

static void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void error(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        say("error: ", fmt, ap);
        va_end(ap);
}

/* ---- small helpers ---- */

static double uptime(void)
{
        struct timespec ts;

        if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
                return 0;
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Reads up to SIZE - 1 bytes of PATH into BUF (NUL-terminated); the byte count or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t len = 0;

        if (fd < 0)
                return -errno;
        while (len < size - 1) {
                ssize_t n = read(fd, buf + len, size - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        (void) close(fd);
        buf[len] = '\0';
        return (ssize_t) len;
}

static void chomp(char *s)
{
        size_t len = strlen(s);

        while (len > 0 && isspace((unsigned char) s[len - 1]))
                s[--len] = '\0';
}

static const char *find_exe(const char *name, char *buf, size_t size)
{
        static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin" };

        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                (void) snprintf(buf, size, "%s/%s", dirs[i], name);
                if (access(buf, X_OK) == 0)
                        return buf;
        }
        return NULL;
}

static void mount_fs(const char *source, const char *dir, const char *type, unsigned long flags,
                     const char *data)
{
        (void) mkdir(dir, 0755);
        if (mount(source, dir, type, flags, data) < 0 && errno != EBUSY)
                warn("cannot mount %s on '%s': %s", type, dir, strerror(errno));
}

/* Points fds 0-2 at the console unless the kernel already did (it does when the initramfs
 * has /dev/console, which common/initramfs.c puts there). */
static void open_console(void)
{
        int fd;

        if (fcntl(STDERR_FILENO, F_GETFD) >= 0)
                return;
        fd = open("/dev/console", O_RDWR | O_NOCTTY);
        if (fd < 0)
                return;
        for (int i = 0; i <= 2; i++)
                if (fd != i)
                        (void) dup2(fd, i);
        if (fd > 2)
                (void) close(fd);
}

/* ---- the kernel command line ---- */

/* The value of the last KEY=VALUE on the command line (as the kernel does with console=), or
 * "" for a bare KEY; false when absent. */
static bool cmdline_get(const char *key, char *ret, size_t size)
{
        size_t klen = strlen(key);
        bool found = false;

        for (const char *p = cmdline; *p;) {
                const char *tok, *end;

                while (*p && isspace((unsigned char) *p))
                        p++;
                tok = p;
                while (*p && !isspace((unsigned char) *p))
                        p++;
                end = p;
                if ((size_t) (end - tok) < klen || strncmp(tok, key, klen) != 0)
                        continue;
                if (tok + klen == end) {
                        ret[0] = '\0';
                        found = true;
                } else if (tok[klen] == '=') {
                        size_t vlen = (size_t) (end - tok - (ptrdiff_t) klen - 1);

                        if (vlen >= size)
                                vlen = size - 1;
                        memcpy(ret, tok + klen + 1, vlen);
                        ret[vlen] = '\0';
                        found = true;
                }
        }
        return found;
}

/* A terminfo name: what ncurses' and slang's file names allow, without '/' or a leading '.'. */
static bool term_valid(const char *v)
{
        size_t len = strlen(v);

        if (len == 0 || len >= TERM_MAX || v[0] == '.')
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char) v[i]) && !strchr("._+-", v[i]))
                        return false;
        return true;
}

static void parse_cmdline(void)
{
        char v[ID_MAX];

        if (read_small("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
                warn("cannot read /proc/cmdline: %s", strerror(errno));
        chomp(cmdline);
        arg_debug = cmdline_get("kvmforge.debug", v, sizeof(v)) && strcmp(v, "0") != 0;
        if (cmdline_get("kvmforge.mode", v, sizeof(v))) {
                if (strcmp(v, "install") == 0)
                        arg_mode = MODE_INSTALL;
                else if (strcmp(v, "unattended") == 0)
                        arg_mode = MODE_UNATTENDED;
                else if (strcmp(v, "rescue") == 0)
                        arg_mode = MODE_RESCUE;
                else if (strcmp(v, "report") == 0)
                        arg_mode = MODE_REPORT;
                else
                        warn("unknown kvmforge.mode='%s', using 'install'", v);
        }
        if (cmdline_get("kvmforge.onerror", v, sizeof(v))) {
                if (strcmp(v, "shell") == 0)
                        arg_onerror = ONERROR_SHELL;
                else if (strcmp(v, "poweroff") == 0)
                        arg_onerror = ONERROR_POWEROFF;
                else if (strcmp(v, "reboot") == 0)
                        arg_onerror = ONERROR_REBOOT;
                else
                        warn("unknown kvmforge.onerror='%s', using 'shell'", v);
        }
        if (cmdline_get("kvmforge.medium", arg_id, sizeof(arg_id)) && arg_id[0])
                arg_have_id = true;
        if (cmdline_get("kvmforge.wait", v, sizeof(v))) {
                char *end;
                long s = strtol(v, &end, 10);

                if (end != v && !*end && s >= 0 && s <= 3600)
                        arg_wait_s = s;
                else
                        warn("bad kvmforge.wait='%s', waiting %d s", v, WAIT_DEFAULT_S);
        }
        if (cmdline_get("kvmforge.hostname", v, sizeof(v)) && v[0])
                (void) snprintf(arg_hostname, sizeof(arg_hostname), "%.63s", v);
        if (cmdline_get("kvmforge.term", v, sizeof(v))) {
                if (term_valid(v))
                        (void) snprintf(arg_term, sizeof(arg_term), "%.*s", TERM_MAX - 1, v);
                else
                        warn("bad kvmforge.term='%s' (a terminfo name such as xterm or vt100), "
                             "ignoring it",
                             v);
        }
        if (cmdline_get("console", v, sizeof(v)))
                serial_console = strncmp(v, "ttyS", 4) == 0 || strncmp(v, "ttyAMA", 6) == 0 ||
                                 strncmp(v, "hvc", 3) == 0 || strncmp(v, "ttyUSB", 6) == 0;
}

/* The terminal behind /dev/console (the last of /sys/class/tty/console/active), so that a
 * shell there gets job control; and whether a VGA console (ttyN) is among them. */
static void find_consoles(void)
{
        char buf[256], *last = NULL, *save = NULL;

        if (read_small("/sys/class/tty/console/active", buf, sizeof(buf)) <= 0)
                return;
        for (char *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
                if (strncmp(w, "tty", 3) == 0 && isdigit((unsigned char) w[3]))
                        tty2_wanted = true;
                last = w;
        }
        if (last) {
                char path[64];

                (void) snprintf(path, sizeof(path), "/dev/%s", last);
                if (strcmp(last, "tty0") != 0 && access(path, F_OK) == 0)
                        (void) snprintf(console_dev, sizeof(console_dev), "%s", path);
                if (strncmp(last, "ttyS", 4) == 0)
                        serial_console = true;
        }
}

/* ---- modules ---- */

static void module_name(const char *path, char *ret, size_t size)
{
        const char *base = strrchr(path, '/');
        size_t i;

        base = base ? base + 1 : path;
        for (i = 0; i + 1 < size && base[i] && strncmp(base + i, ".ko", 3) != 0; i++)
                ret[i] = base[i] == '-' ? '_' : base[i];
        ret[i] = '\0';
}

/* NAME's parameters from the command line ("name.param=value"), as modprobe collects them:
 * the kernel itself applies such parameters only to built-in code. */
static void module_params(const char *name, char *ret, size_t size)
{
        size_t used = 0, nlen = strlen(name);

        ret[0] = '\0';
        for (const char *p = cmdline; *p;) {
                const char *tok;
                size_t len, i;

                while (*p && isspace((unsigned char) *p))
                        p++;
                tok = p;
                while (*p && !isspace((unsigned char) *p))
                        p++;
                len = (size_t) (p - tok);
                if (len <= nlen + 1 || tok[nlen] != '.')
                        continue;
                for (i = 0; i < nlen; i++)
                        if ((tok[i] == '-' ? '_' : tok[i]) != name[i])
                                break;
                if (i < nlen)
                        continue;
                len -= nlen + 1;
                if (used + len + 2 > size)
                        break;
                if (used > 0)
                        ret[used++] = ' ';
                memcpy(ret + used, tok + nlen + 1, len);
                used += len;
                ret[used] = '\0';
        }
}

static void load_modules(void)
{
        static char buf[FILE_MAX];
        char *save = NULL;
        int loaded = 0, failed = 0;
        double t0 = uptime();
        ssize_t n = read_small(MODULES_FILE, buf, sizeof(buf));

        if (n == -ENOENT)
                return;
        if (n < 0) {
                warn("cannot read '%s': %s", MODULES_FILE, strerror((int) -n));
                return;
        }
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char name[256], params[1024];
                int fd;

                if (line[0] != '/')
                        continue;
                module_name(line, name, sizeof(name));
                module_params(name, params, sizeof(params));
                fd = open(line, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        warn("cannot open module '%s': %s", line, strerror(errno));
                        failed++;
                        continue;
                }
                if (syscall(SYS_finit_module, fd, params, 0) == 0 || errno == EEXIST) {
                        debug("loaded module '%s'", name);
                        loaded++;
                } else if (errno == ENODEV) {
                        debug("module '%s' found no device", name);
                } else {
                        warn("cannot load module '%s': %s, skipping it", name, strerror(errno));
                        failed++;
                }
                (void) close(fd);
        }
        note("%d modules loaded in %.1f s%s", loaded, uptime() - t0,
             failed ? " (some failed, see above)" : "");
}

/* ---- the install medium ---- */

static char rejected[REJECTED_MAX][32];
static size_t n_rejected;

static bool is_rejected(const char *name)
{
        for (size_t i = 0; i < n_rejected; i++)
                if (strcmp(rejected[i], name) == 0)
                        return true;
        return false;
}

static void reject(const char *name)
{
        if (n_rejected < REJECTED_MAX)
                (void) snprintf(rejected[n_rejected++], sizeof(rejected[0]), "%.31s", name);
}

static bool candidate_disk(const char *name)
{
        const char *p;

        if (strncmp(name, "sr", 2) == 0 || strncmp(name, "sd", 2) == 0 ||
            strncmp(name, "vd", 2) == 0)
                return true;
        if (strncmp(name, "nvme", 4) != 0)
                return false;
        /* nvme<ctrl>n<ns> */
        p = name + 4;
        if (!isdigit((unsigned char) *p))
                return false;
        while (isdigit((unsigned char) *p))
                p++;
        return *p == 'n' && isdigit((unsigned char) p[1]);
}

/* 1 when DEV (a name under /dev) is the medium (left mounted on MEDIUM_DIR), 0 when it is
 * not (remembered: not tried again), -1 when it cannot be mounted now (tried again). */
static int try_medium(const char *dev, const char **ret_fs)
{
        static const char *const types[] = { "iso9660", "vfat" };
        char path[128], size[32];
        int last_errno = 0;

        (void) snprintf(path, sizeof(path), "/sys/class/block/%.31s/size", dev);
        /* An empty CD drive or card reader has no medium (yet). */
        if (read_small(path, size, sizeof(size)) > 0 && strtoull(size, NULL, 10) == 0)
                return -1;
        (void) snprintf(path, sizeof(path), "/dev/%.31s", dev);
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                char marker[ID_MAX + 2];
                ssize_t n;

                if (mount(path, MEDIUM_DIR, types[i], MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
                        last_errno = errno;
                        continue;
                }
                n = read_small(MEDIUM_DIR "/" MARKER, marker, sizeof(marker));
                if (n < 0) {
                        debug("%s (%s): no /%s", path, types[i], MARKER);
                        (void) umount(MEDIUM_DIR);
                        return 0;
                }
                marker[strcspn(marker, "\r\n")] = '\0';
                chomp(marker);
                if (arg_have_id && strcmp(marker, arg_id) != 0) {
                        note("%s is a kvmforge medium, but '%s', not '%s': not this one", path,
                             marker, arg_id);
                        (void) umount(MEDIUM_DIR);
                        return 0;
                }
                *ret_fs = types[i];
                return 1;
        }
        /* EINVAL: neither file system is there; anything else (ENOMEDIUM, EIO) may pass. */
        debug("%s: cannot mount: %s", path, strerror(last_errno));
        return last_errno == EINVAL ? 0 : -1;
}

static int cmp_name(const void *a, const void *b)
{
        return strcmp((const char *) a, (const char *) b);
}

/* One pass over the block devices; true when the medium is mounted. */
static bool scan_media(void)
{
        char names[512][32];
        size_t n = 0;
        DIR *d = opendir("/sys/class/block");
        struct dirent *e;

        if (!d)
                return false;
        while ((e = readdir(d)) && n < 512) {
                char base[32];
                size_t i;

                if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(names[0]))
                        continue;
                /* A partition's disk: the name up to its partition number ("sda1" -> "sda",
                 * "nvme0n1p2" -> "nvme0n1"); candidate_disk() decides on the disk's name. */
                (void) snprintf(base, sizeof(base), "%.31s", e->d_name);
                if (strncmp(base, "nvme", 4) == 0) {
                        char *p = strchr(base + 4, 'p');
                        if (p)
                                *p = '\0';
                } else {
                        for (i = strlen(base); i > 0 && isdigit((unsigned char) base[i - 1]); i--)
                                ;
                        if (strncmp(base, "sr", 2) != 0)
                                base[i] = '\0';
                }
                if (!candidate_disk(base))
                        continue;
                (void) snprintf(names[n++], sizeof(names[0]), "%.31s", e->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof(names[0]), cmp_name);
        for (size_t i = 0; i < n; i++) {
                const char *fs = NULL;
                int r;

                if (is_rejected(names[i]))
                        continue;
                r = try_medium(names[i], &fs);
                if (r > 0) {
                        note("install medium: /dev/%s (%s%s%s%s)", names[i], fs,
                             arg_have_id ? ", id '" : "", arg_have_id ? arg_id : "",
                             arg_have_id ? "'" : "");
                        return true;
                }
                if (r == 0)
                        reject(names[i]);
        }
        return false;
}

static bool find_medium(void)
{
        double start = uptime();
        bool told = false;

        (void) mkdir("/run/kvmforge", 0755);
        (void) mkdir(MEDIUM_DIR, 0755);
        for (;;) {
                if (scan_media())
                        return true;
                if (uptime() - start >= (double) arg_wait_s)
                        break;
                if (!told && uptime() - start >= 3) {
                        note("waiting up to %ld s for the install medium (a CD or USB disk "
                             "with /%s%s%s%s)...",
                             arg_wait_s, MARKER, arg_have_id ? " saying '" : "",
                             arg_have_id ? arg_id : "", arg_have_id ? "'" : "");
                        told = true;
                }
                sleep_ms(SCAN_STEP_MS);
        }
        error("no install medium found: no CD, USB disk or other disk with /%s%s%s%s appeared "
              "within %ld s",
              MARKER, arg_have_id ? " saying '" : "", arg_have_id ? arg_id : "",
              arg_have_id ? "'" : "", arg_wait_s);
        return false;
}

/* ---- processes ---- */

/* The console's TERM: kvmforge.term=, else xterm on a serial line and linux on a VT. */
static const char *console_term(void)
{
        return arg_term[0] ? arg_term : serial_console ? TERM_SERIAL : TERM_VT;
}

/* The environment of a program on TTY (the console, or a VT such as /dev/tty2). */
static void build_env(char **env, size_t size, const char *tty, bool medium)
{
        static char term[16 + TERM_MAX];
        bool console = strcmp(tty, console_dev) == 0 || strcmp(tty, "/dev/console") == 0;
        size_t n = 0;

        (void) snprintf(term, sizeof(term), "TERM=%s", console ? console_term() : TERM_VT);
        env[n++] = PATH_ENV;
        env[n++] = term;
        env[n++] = "HOME=/root";
        env[n++] = "LANG=C.UTF-8";
        if (console && serial_console)
                env[n++] = "KVMFORGE_SERIAL=1";
        if (medium)
                env[n++] = "KVMFORGE_MEDIUM=" MEDIUM_DIR;
        if (arg_debug)
                env[n++] = "KVMFORGE_DEBUG=1";
        (void) size;
        env[n] = NULL;
}

/* A serial line reports a 0x0 window (nothing tells the kernel the terminal's size): newt
 * would draw nothing, busybox's sh would not wrap. Such a terminal gets 80x24, which every
 * terminal emulator has at least. */
static void fix_winsize(int fd)
{
        struct winsize ws;

        if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || (ws.ws_row > 0 && ws.ws_col > 0))
                return;
        ws.ws_row = WINSIZE_ROWS;
        ws.ws_col = WINSIZE_COLS;
        (void) ioctl(fd, TIOCSWINSZ, &ws);
}

static bool have_medium;

/* Starts PATH ARGV with TTY (a path under /dev) as its controlling terminal and stdio, in a
 * session of its own; the pid, or -1. */
static pid_t spawn_on(const char *tty, const char *path, char *const argv[])
{
        char *env[16];
        pid_t pid;

        build_env(env, sizeof(env) / sizeof(env[0]), tty, have_medium);
        pid = fork();
        if (pid < 0) {
                warn("cannot start '%s': %s", path, strerror(errno));
                return -1;
        }
        if (pid == 0) {
                sigset_t none;
                int fd;

                (void) sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                (void) setsid();
                fd = open(tty, O_RDWR);
                if (fd < 0 && strcmp(tty, "/dev/console") != 0)
                        fd = open("/dev/console", O_RDWR);
                if (fd >= 0) {
                        (void) ioctl(fd, TIOCSCTTY, 1);
                        fix_winsize(fd); /* while fd is open: a tty's size lives as long */
                        for (int i = 0; i <= 2; i++)
                                (void) dup2(fd, i);
                        if (fd > 2)
                                (void) close(fd);
                }
                (void) chdir("/root");
                execve(path, argv, env);
                fprintf(stderr, "kvmforge-init: error: cannot run '%s': %s\n", path,
                        strerror(errno));
                _exit(127);
        }
        return pid;
}

static void start_tty2(void)
{
        static char *const argv[] = { "-sh", NULL };

        if (!tty2_wanted || access("/dev/tty2", F_OK) < 0 || access(SHELL, X_OK) < 0)
                return;
        tty2_pid = spawn_on("/dev/tty2", SHELL, argv);
}

/* The install log as it grows, on tty3. The file is made first (as the installer opens it:
 * 0600, appended to), so that tail does not start with "No such file". */
static void start_tty3(void)
{
        static char *const argv[] = { "tail", "-F", "-n", "+1", INSTALL_LOG, NULL };
        char buf[64];
        const char *tail = find_exe("tail", buf, sizeof(buf));
        int fd;

        if (!tty2_wanted || access("/dev/tty3", F_OK) < 0 || !tail)
                return;
        fd = open(INSTALL_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd >= 0)
                (void) close(fd);
        tty3_pid = spawn_on("/dev/tty3", tail, argv);
}

/* Waits for PID, reaping whatever else ends meanwhile (orphans are ours) and restarting the
 * tty2 shell and the tty3 log; its wait status. */
static int wait_for(pid_t pid)
{
        for (;;) {
                int status;
                pid_t p = waitpid(-1, &status, 0);

                if (p < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                if (p == pid)
                        return status;
                if (p == tty2_pid && tty2_pid > 0) {
                        sleep_ms(500); /* no busy loop if it cannot start */
                        start_tty2();
                } else if (p == tty3_pid && tty3_pid > 0) {
                        sleep_ms(500);
                        start_tty3();
                }
        }
}

static int run_console(const char *path, char *const argv[])
{
        pid_t pid = spawn_on(console_dev, path, argv);

        if (pid < 0)
                return -1;
        return wait_for(pid);
}

static void reap_all(long ms)
{
        for (long waited = 0; waited < ms; waited += 50) {
                pid_t p;

                while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
                        ;
                if (p < 0 && errno == ECHILD)
                        return;
                sleep_ms(50);
        }
}

static void __attribute__((noreturn)) finish(int how)
{
        note("%s", how == RB_AUTOBOOT ? "rebooting" : "powering off");
        (void) kill(-1, SIGTERM);
        reap_all(2000);
        (void) kill(-1, SIGKILL);
        reap_all(500);
        (void) umount2(MEDIUM_DIR, MNT_DETACH);
        sync();
        (void) reboot(how);
        for (;;)
                pause();
}

static void __attribute__((noreturn)) rescue_shell(const char *why)
{
        static char *const argv[] = { "-sh", NULL };

        if (access(SHELL, X_OK) < 0) {
                error("no %s for a shell", SHELL);
                finish(RB_POWER_OFF);
        }
        note("%s: starting a shell on the console; the machine powers off when it exits", why);
        (void) run_console(SHELL, argv);
        finish(RB_POWER_OFF);
}

static void __attribute__((noreturn)) failed(const char *why)
{
        switch (arg_onerror) {
        case ONERROR_POWEROFF:
                finish(RB_POWER_OFF);
        case ONERROR_REBOOT:
                finish(RB_AUTOBOOT);
        default:
                rescue_shell(why);
        }
}

/* ---- network ---- */

static int if_up(int sock, const char *name)
{
        struct ifreq ifr = { 0 };

        (void) snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;
        return 0;
}

static void start_dhcp(const char *iface, const char *udhcpc, const char *script)
{
        char log[128];
        char *env[16];
        pid_t pid;

        (void) snprintf(log, sizeof(log), "/run/kvmforge/dhcp-%s.log", iface);
        build_env(env, sizeof(env) / sizeof(env[0]), "/dev/null", false);
        pid = fork();
        if (pid < 0) {
                warn("cannot start DHCP on %s: %s", iface, strerror(errno));
                return;
        }
        if (pid == 0) {
                /* Quiet, in a session of its own: the installer owns the console. */
                char *argv[] = { "udhcpc", "-f", "-i", (char *) iface, "-s", (char *) script,
                                 "-x",     NULL, NULL };
                char hostopt[96];
                int in = open("/dev/null", O_RDONLY);
                int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);

                (void) snprintf(hostopt, sizeof(hostopt), "hostname:%s", arg_hostname);
                argv[7] = hostopt;
                (void) setsid();
                if (in >= 0)
                        (void) dup2(in, 0);
                if (out >= 0) {
                        (void) dup2(out, 1);
                        (void) dup2(out, 2);
                }
                execve(udhcpc, argv, env);
                _exit(127);
        }
        debug("DHCP on %s (pid %d, log %s)", iface, (int) pid, log);
}

static void network(void)
{
        char udhcpc_buf[64], *names[64];
        const char *udhcpc = find_exe("udhcpc", udhcpc_buf, sizeof(udhcpc_buf));
        const char *script = access(UDHCPC_SCRIPT, X_OK) == 0 ? UDHCPC_SCRIPT : UDHCPC_DEFAULT;
        size_t n = 0;
        int sock;
        DIR *d;
        struct dirent *e;

        if (sethostname(arg_hostname, strlen(arg_hostname)) < 0)
                warn("cannot set the hostname: %s", strerror(errno));
        sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock < 0) {
                warn("no network: %s", strerror(errno));
                return;
        }
        /* Bringing lo up gives it 127.0.0.1/8 (the kernel adds it for loopback devices). */
        if (if_up(sock, "lo") < 0)
                warn("cannot bring up lo: %s", strerror(errno));
        d = opendir("/sys/class/net");
        while (d && (e = readdir(d)) && n < 64) {
                char path[300], type[16];

                if (e->d_name[0] == '.' || strcmp(e->d_name, "lo") == 0)
                        continue;
                /* Ethernet (type 1) with a device behind it: no bridges, tunnels or Wi-Fi. */
                (void) snprintf(path, sizeof(path), "/sys/class/net/%s/type", e->d_name);
                if (read_small(path, type, sizeof(type)) <= 0 || atoi(type) != 1)
                        continue;
                (void) snprintf(path, sizeof(path), "/sys/class/net/%s/device", e->d_name);
                if (access(path, F_OK) < 0)
                        continue;
                (void) snprintf(path, sizeof(path), "/sys/class/net/%s/wireless", e->d_name);
                if (access(path, F_OK) == 0)
                        continue;
                names[n] = strdup(e->d_name);
                if (names[n])
                        n++;
        }
        if (d)
                closedir(d);
        for (size_t i = 0; i < n; i++) {
                if (if_up(sock, names[i]) < 0)
                        warn("cannot bring up %s: %s", names[i], strerror(errno));
                else if (udhcpc)
                        start_dhcp(names[i], udhcpc, script);
                free(names[i]);
        }
        (void) close(sock);
        if (n == 0)
                note("no ethernet interface found");
        else if (!udhcpc || access(script, X_OK) < 0)
                warn("no udhcpc or no '%s': %zu interface(s) up without an address", script, n);
        else
                note("DHCP started on %zu interface(s) in the background", n);
}

/* ---- main ---- */

static void mount_basics(void)
{
        mount_fs("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        mount_fs("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        mount_fs("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
        open_console();
        mount_fs("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                 "gid=5,mode=620,ptmxmode=666");
        mount_fs("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
        mount_fs("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
        mount_fs("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
        /* What devtmpfs lacks and programs expect: /dev/fd (bash, lvm) and /etc/mtab. */
        (void) symlink("/proc/self/fd", "/dev/fd");
        (void) symlink("/proc/self/fd/0", "/dev/stdin");
        (void) symlink("/proc/self/fd/1", "/dev/stdout");
        (void) symlink("/proc/self/fd/2", "/dev/stderr");
        (void) symlink("/proc/self/mounts", "/etc/mtab");
        (void) mkdir("/run/lvm", 0700);
        (void) mkdir("/run/kvmforge", 0755);
}

int main(void)
{
        static const char *const mode_names[] = { "install", "unattended", "rescue", "report" };
        static const char *const console_uses[] = { "the installer", "the unattended install",
                                                    "a shell", "the hardware report" };
        int status;

        if (getpid() != 1) {
                fprintf(stderr, "kvmforge-init: this is the live environment's /init, not a "
                                "program to run\n");
                return 1;
        }
        (void) umask(022);
        (void) reboot(RB_DISABLE_CAD);
        mount_basics();
        parse_cmdline();
        find_consoles();
        note("kvmforge live environment, mode %s, %.1f s after boot", mode_names[arg_mode],
             uptime());
        note("consoles: %s on %s (TERM=%s)%s", console_uses[arg_mode], console_dev, console_term(),
             tty2_wanted ? ", a shell on tty2 (Alt-F2), the install log on tty3 (Alt-F3)" : "");
        load_modules();
        if (access("/sys/firmware/efi", F_OK) == 0)
                mount_fs("efivarfs", EFIVARS_DIR, "efivarfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                         NULL);

        have_medium = find_medium();
        if (!have_medium && (arg_mode == MODE_INSTALL || arg_mode == MODE_UNATTENDED))
                failed("no install medium");
        network();
        start_tty2();
        start_tty3();

        if (arg_mode == MODE_RESCUE)
                rescue_shell("rescue mode");

        if (access(INSTALLER, X_OK) < 0) {
                error("no %s in the live environment: %s", INSTALLER, strerror(errno));
                failed("no installer");
        }
        if (arg_mode == MODE_REPORT) {
                char *const argv[] = { "kvmforge-install", "detect", NULL };
                char line[16];
                int fd;

                (void) run_console(INSTALLER, argv);
                fd = open(console_dev, O_RDWR | O_NOCTTY);
                if (fd >= 0) {
                        static const char prompt[] = "\nPress Enter to power off. ";

                        (void) !write(fd, prompt, sizeof(prompt) - 1);
                        (void) !read(fd, line, sizeof(line));
                        (void) close(fd);
                }
                finish(RB_POWER_OFF);
        }

        {
                /* A person at the console gets the text UI; an answer file the plain install. */
                char *const argv[] = { "kvmforge-install",
                                       arg_mode == MODE_UNATTENDED ? "install" : "tui",
                                       "--medium",
                                       MEDIUM_DIR,
                                       arg_mode == MODE_UNATTENDED ? "--unattended" : NULL,
                                       NULL };

                note("starting the installer%s at %.1f s",
                     arg_mode == MODE_UNATTENDED ? " (unattended)" : "", uptime());
                /* The kernel's messages would be drawn over the text UI's screens: only
                 * emergencies reach the console from now on (all stay in dmesg; kvmforge.debug
                 * keeps them). */
                if (arg_mode == MODE_INSTALL && !arg_debug)
                        (void) klogctl(SYSLOG_ACTION_CONSOLE_LEVEL_, NULL, 1);
                status = run_console(INSTALLER, argv);
        }
        if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                /* It reboots or powers off itself; when it returns, there is nothing left. */
                note("the installer finished");
                finish(RB_POWER_OFF);
        }
        if (status >= 0 && WIFSIGNALED(status))
                error("the installer was killed by signal %d; its log is %s", WTERMSIG(status),
                      INSTALL_LOG);
        else
                error("the installer failed (exit status %d); its log is %s",
                      status >= 0 ? WEXITSTATUS(status) : -1, INSTALL_LOG);
        failed("the installer failed");
}
