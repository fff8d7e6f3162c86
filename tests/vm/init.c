/*
 * vm-init: /init of the initramfs that tests/vm/vm.sh builds for in-VM tests.
 *
 * 1. Mounts /proc, /sys, /dev (devtmpfs), /run and /tmp (tmpfs).
 * 2. Loads the kernel modules listed in /etc/vm-modules (one path a line, in load order, the
 *    dependencies first) with finit_module(); a failure is logged and the next one tried.
 *    Parameters come from the kernel command line ("usb_storage.delay_use=0"), as modprobe
 *    would pass them: the kernel itself applies such parameters only to built-in code.
 * 3. Mounts efivarfs on /sys/firmware/efi/efivars when the machine booted through UEFI.
 * 4. Waits, up to vm.wait_timeout= seconds (default 10), until each block device named in
 *    /etc/vm-wait ("vda sda nvme0n1"; a name or a path under /dev) exists, so that a test
 *    does not race the drivers' probing (USB disks show up a second or more after the rest).
 * 5. Runs the command of /etc/vm-cmd (its argv, one argument a line) with the environment of
 *    /etc/vm-env (KEY=VALUE lines, optional) added, stdin on /dev/null and stdout and stderr
 *    on one pipe, whose data goes to the second serial port /dev/ttyS1 (raw mode: bytes pass
 *    unchanged). The kernel's messages stay on ttyS0, the console. Around the output it writes
 *    "\nVM-START\n" and "\nVM-EXIT <status>\n" (the exit code, or 128 + the signal number), so
 *    that the host can cut exactly what the command wrote, firmware noise before it included.
 * 6. Kills what the command left running, syncs and powers the machine off.
 *
 * PID 1 must never exit (the kernel would panic), so every failure ends in the power-off and
 * then an endless pause. A failure that leaves no valid status (no /etc/vm-cmd, no ttyS1)
 * writes no VM-EXIT line: the host then reports the console's last lines, where the reason
 * is, as "vm-init: error: ...". Warnings are "vm-init: warning: ..."; other lines are notes.
 *
 * Built static by vm.sh (`cc -static -Os`), not by the Makefile: the guest has no libc.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CMD_FILE        "/etc/vm-cmd"
#define ENV_FILE        "/etc/vm-env"
#define WAIT_FILE       "/etc/vm-wait"
#define MODULES_FILE    "/etc/vm-modules"
#define OUT_TTY         "/dev/ttyS1"
#define EFIVARS_DIR     "/sys/firmware/efi/efivars"
#define FILE_MAX        (256 * 1024)
#define ARGS_MAX        1024
#define ENV_MAX         256
#define PARAMS_MAX      4096
#define WAIT_DEFAULT_S  10
#define WAIT_STEP_MS    20
#define REAP_TIMEOUT_MS 3000
#define POLL_MS         50

static char cmdline[PARAMS_MAX];

static void log_line(const char *prefix, const char *fmt, va_list ap)
{
        char buf[1024];
        int n = snprintf(buf, sizeof(buf), "vm-init: %s", prefix);

        if (n < 0 || (size_t) n >= sizeof(buf))
                return;
        (void) vsnprintf(buf + n, sizeof(buf) - (size_t) n - 1, fmt, ap);
        n = (int) strlen(buf);
        buf[n++] = '\n';
        /* fd 2 is the console (see open_console()); the tty adds the "\r". */
        (void) !write(STDERR_FILENO, buf, (size_t) n);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_line("", fmt, ap);
        va_end(ap);
}

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_line("warning: ", fmt, ap);
        va_end(ap);
}

static void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void error(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_line("error: ", fmt, ap);
        va_end(ap);
}

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

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Reads all of PATH (at most FILE_MAX - 1 bytes) into a NUL-terminated heap buffer. */
static int read_file(const char *path, char **ret_buf, size_t *ret_len)
{
        char *buf;
        size_t len = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        buf = malloc(FILE_MAX);
        if (!buf) {
                (void) close(fd);
                return -ENOMEM;
        }
        for (;;) {
                ssize_t n = read(fd, buf + len, FILE_MAX - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;

                        free(buf);
                        (void) close(fd);
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len == FILE_MAX - 1) {
                        free(buf);
                        (void) close(fd);
                        return -EFBIG;
                }
        }
        (void) close(fd);
        buf[len] = '\0';
        *ret_buf = buf;
        *ret_len = len;
        return 0;
}

static void mount_fs(const char *source, const char *dir, const char *type, const char *data)
{
        (void) mkdir(dir, 0755);
        if (mount(source, dir, type, MS_NOSUID, data) < 0 && errno != EBUSY)
                warn("cannot mount %s on '%s': %s", type, dir, strerror(errno));
}

static bool dir_empty(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *e;
        bool empty = true;

        if (!d)
                return true;
        while (empty && (e = readdir(d)))
                empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
        closedir(d);
        return empty;
}

/* Points fds 0-2 at the console unless the kernel already did (it needs /dev/console in the
 * initramfs for that, which only root can create when building it). */
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

/* Module name as the kernel knows it: the file name without ".ko" and with '_' for '-'. */
static void module_name(const char *path, char *ret_name, size_t size)
{
        const char *base = strrchr(path, '/');
        size_t i;

        base = base ? base + 1 : path;
        for (i = 0; i + 1 < size && base[i] && strncmp(base + i, ".ko", 3) != 0; i++)
                ret_name[i] = base[i] == '-' ? '_' : base[i];
        ret_name[i] = '\0';
}

/* Collects NAME's parameters from the kernel command line ("name.param=value") into
 * RET_PARAMS, as modprobe does; module names compare with '-' and '_' alike. */
static void module_params(const char *name, char *ret_params, size_t size)
{
        size_t used = 0, nlen = strlen(name);
        const char *p = cmdline;

        ret_params[0] = '\0';
        while (*p) {
                const char *tok, *end;
                size_t len, i;

                while (*p == ' ' || *p == '\n' || *p == '\t')
                        p++;
                tok = p;
                while (*p && *p != ' ' && *p != '\n' && *p != '\t')
                        p++;
                end = p;
                len = (size_t) (end - tok);
                if (len <= nlen + 1 || tok[nlen] != '.')
                        continue;
                for (i = 0; i < nlen; i++)
                        if ((tok[i] == '-' ? '_' : tok[i]) != name[i])
                                break;
                if (i < nlen)
                        continue;
                len -= nlen + 1;
                if (used + len + 2 > size) {
                        warn("parameters of module '%s' are too long, ignoring the rest", name);
                        break;
                }
                if (used > 0)
                        ret_params[used++] = ' ';
                memcpy(ret_params + used, tok + nlen + 1, len);
                used += len;
                ret_params[used] = '\0';
        }
}

/* Loads the modules of MODULES_FILE in order; returns the number of failures. */
static int load_modules(int *ret_loaded)
{
        char *buf = NULL, *line, *save = NULL;
        size_t len;
        int loaded = 0, failed = 0, r;

        *ret_loaded = 0;
        r = read_file(MODULES_FILE, &buf, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                warn("cannot read '" MODULES_FILE "': %s", strerror(-r));
                return 1;
        }
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char name[256], params[PARAMS_MAX];
                int fd;

                if (line[0] == '\0' || line[0] == '#')
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
                        loaded++;
                } else if (errno == ENODEV) {
                        /* Nothing for it to drive here: efivarfs without UEFI, for one. */
                        note("module '%s' found no device, not loaded", name);
                } else {
                        warn("cannot load module '%s': %s", name, strerror(errno));
                        failed++;
                }
                (void) close(fd);
        }
        free(buf);
        *ret_loaded = loaded;
        return failed;
}

static long cmdline_long(const char *key, long def, long min, long max)
{
        size_t klen = strlen(key);
        const char *p = cmdline;

        while ((p = strstr(p, key))) {
                if ((p == cmdline || isspace((unsigned char) p[-1])) && p[klen] == '=') {
                        char *end;
                        long v;

                        errno = 0;
                        v = strtol(p + klen + 1, &end, 10);
                        if (errno == 0 && end != p + klen + 1 && v >= min && v <= max &&
                            (*end == '\0' || isspace((unsigned char) *end)))
                                return v;
                        warn("ignoring bad '%s=' on the kernel command line", key);
                        return def;
                }
                p += klen;
        }
        return def;
}

/* Waits until each device named in WAIT_FILE exists under /dev; logs those that never do. */
static void wait_devices(void)
{
        char *buf = NULL, *names[64], *save = NULL, *w;
        size_t len, n = 0;
        long timeout_ms = cmdline_long("vm.wait_timeout", WAIT_DEFAULT_S, 0, 3600) * 1000;
        double start = uptime();
        int r;

        r = read_file(WAIT_FILE, &buf, &len);
        if (r == -ENOENT)
                return;
        if (r < 0) {
                warn("cannot read '" WAIT_FILE "': %s", strerror(-r));
                return;
        }
        for (w = strtok_r(buf, " \t\n", &save); w && n < 64; w = strtok_r(NULL, " \t\n", &save))
                names[n++] = w;

        for (long waited = 0;; waited += WAIT_STEP_MS) {
                size_t missing = 0;

                for (size_t i = 0; i < n; i++) {
                        char path[512];

                        if (!names[i])
                                continue;
                        snprintf(path, sizeof(path), "%s%s", names[i][0] == '/' ? "" : "/dev/",
                                 names[i]);
                        if (access(path, F_OK) == 0)
                                names[i] = NULL;
                        else
                                missing++;
                }
                if (missing == 0) {
                        note("devices ready after %.2f s", uptime() - start);
                        break;
                }
                if (waited >= timeout_ms) {
                        for (size_t i = 0; i < n; i++)
                                if (names[i])
                                        warn("no '%s' after %ld s, running the command anyway",
                                             names[i], timeout_ms / 1000);
                        break;
                }
                sleep_ms(WAIT_STEP_MS);
        }
        free(buf);
}

/* Splits BUF in place into lines: ARGS_MAX - 1 at most, the last newline optional. */
static int split_lines(char *buf, size_t len, char **argv, size_t max, size_t *ret_n)
{
        size_t n = 0;
        char *p = buf, *end = buf + len;

        if (len > 0 && end[-1] == '\n')
                *--end = '\0';
        if (len == 0) {
                *ret_n = 0;
                argv[0] = NULL;
                return 0;
        }
        for (;;) {
                char *nl = memchr(p, '\n', (size_t) (end - p));

                if (n + 1 >= max)
                        return -E2BIG;
                argv[n++] = p;
                if (!nl)
                        break;
                *nl = '\0';
                p = nl + 1;
        }
        argv[n] = NULL;
        *ret_n = n;
        return 0;
}

/* Opens the command's output port in raw mode, so that "\n" does not become "\r\n". */
static int open_out_tty(void)
{
        struct termios t;
        int fd = open(OUT_TTY, O_RDWR | O_NOCTTY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (tcgetattr(fd, &t) == 0) {
                cfmakeraw(&t);
                t.c_cflag |= CLOCAL;
                t.c_cflag &= ~(tcflag_t) CRTSCTS;
                (void) cfsetspeed(&t, B115200);
                (void) tcsetattr(fd, TCSANOW, &t);
        }
        return fd;
}

static void setup_env(void)
{
        char *buf = NULL, *line, *save = NULL;
        size_t len;
        int r;

        (void) clearenv();
        (void) setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
        (void) setenv("HOME", "/root", 1);
        (void) setenv("TERM", "dumb", 1);
        (void) setenv("LANG", "C", 1);
        r = read_file(ENV_FILE, &buf, &len);
        if (r < 0) {
                if (r != -ENOENT)
                        warn("cannot read '" ENV_FILE "': %s", strerror(-r));
                return;
        }
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');

                if (!eq || eq == line) {
                        warn("ignoring '%s' in '" ENV_FILE "': not KEY=VALUE", line);
                        continue;
                }
                *eq = '\0';
                (void) setenv(line, eq + 1, 1);
        }
        /* The strings were copied by setenv(). */
        free(buf);
}

/* Copies what is readable on IN to OUT; returns false at end of file (or on an error). */
static bool relay(int in, int out)
{
        char buf[16384];
        ssize_t n = read(in, buf, sizeof(buf));

        if (n < 0)
                return errno == EINTR || errno == EAGAIN;
        if (n == 0)
                return false;
        (void) write_all(out, buf, (size_t) n);
        return true;
}

/* Runs ARGV with its stdout and stderr on a pipe whose data goes to OUT (a pipe, not the tty:
 * the command behaves as under a test's $(...), not as on a terminal); returns its exit
 * status, 128 + the signal if killed. What the command leaves running is killed when it
 * ends, as it would hold the pipe open. */
static int run_command(char **argv, int out)
{
        int pipefd[2], status = 0;
        bool exited = false;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                error("cannot create a pipe: %s", strerror(errno));
                return 127;
        }
        pid = fork();
        if (pid < 0) {
                error("cannot fork: %s", strerror(errno));
                return 127;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

                (void) setsid();
                if (null >= 0)
                        (void) dup2(null, STDIN_FILENO);
                (void) dup2(pipefd[1], STDOUT_FILENO);
                (void) dup2(pipefd[1], STDERR_FILENO);
                (void) chdir("/");
                setup_env();
                (void) signal(SIGPIPE, SIG_DFL);
                execvp(argv[0], argv);
                dprintf(STDERR_FILENO, "vm-init: cannot execute '%s': %s\n", argv[0],
                        strerror(errno));
                _exit(errno == ENOENT ? 127 : 126);
        }
        (void) close(pipefd[1]);
        for (;;) {
                struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
                int r = poll(&pfd, 1, exited ? REAP_TIMEOUT_MS : POLL_MS);

                if (r > 0 && !relay(pipefd[0], out))
                        break; /* every writer is gone */
                if (r == 0 && exited) {
                        warn("the pipe stays open after SIGKILL, ignoring the rest");
                        break;
                }
                /* Orphans become our children: reap them too, until the command ends. */
                for (pid_t w; !exited && (w = waitpid(-1, &status, WNOHANG)) > 0;) {
                        if (w == pid) {
                                exited = true;
                                /* What it left running would hold the pipe open. */
                                (void) kill(-1, SIGKILL);
                        }
                }
        }
        (void) close(pipefd[0]);
        if (!exited && waitpid(pid, &status, 0) < 0)
                return 127;
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}

/* Ends what the command left behind and reaps it, before the power-off. */
static void kill_all(void)
{
        (void) kill(-1, SIGKILL);
        for (long waited = 0; waited < REAP_TIMEOUT_MS; waited += WAIT_STEP_MS) {
                pid_t w;

                while ((w = waitpid(-1, NULL, WNOHANG)) > 0)
                        ;
                if (w < 0 && errno == ECHILD)
                        return;
                sleep_ms(WAIT_STEP_MS);
        }
        warn("processes left after SIGKILL, powering off anyway");
}

static _Noreturn void power_off(void)
{
        sync();
        (void) reboot(RB_POWER_OFF);
        /* Still here: power-off failed (no ACPI?). Halting at least stops the CPU. */
        error("power-off failed: %s", strerror(errno));
        (void) reboot(RB_HALT_SYSTEM);
        for (;;)
                pause();
}

int main(void)
{
        char *cmd = NULL, *argv[ARGS_MAX], line[64];
        size_t len, argc = 0;
        int out, r, loaded, failed, status;

        mount_fs("devtmpfs", "/dev", "devtmpfs", "mode=0755");
        open_console();
        mount_fs("proc", "/proc", "proc", NULL);
        mount_fs("sysfs", "/sys", "sysfs", NULL);
        mount_fs("tmpfs", "/run", "tmpfs", "mode=0755");
        /* Programs built in a checkout under /tmp sit at their host paths in the initramfs:
         * a tmpfs on a /tmp that holds anything would hide them. */
        if (dir_empty("/tmp"))
                mount_fs("tmpfs", "/tmp", "tmpfs", "mode=1777");

        {
                int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
                ssize_t n = fd < 0 ? -1 : read(fd, cmdline, sizeof(cmdline) - 1);

                cmdline[n > 0 ? n : 0] = '\0';
                if (fd >= 0)
                        (void) close(fd);
        }

        failed = load_modules(&loaded);
        /* The directory exists only when the kernel booted through UEFI (and has runtime
         * services); efivarfs itself may be a module, loaded just now. */
        if (access(EFIVARS_DIR, F_OK) == 0 &&
            mount("efivarfs", EFIVARS_DIR, "efivarfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) <
                    0 &&
            errno != EBUSY)
                warn("cannot mount efivarfs on '" EFIVARS_DIR "': %s", strerror(errno));
        wait_devices();

        r = read_file(CMD_FILE, &cmd, &len);
        if (r < 0) {
                error("cannot read '" CMD_FILE "': %s", strerror(-r));
                power_off();
        }
        r = split_lines(cmd, len, argv, ARGS_MAX, &argc);
        if (r < 0 || argc == 0 || argv[0][0] == '\0') {
                error("'" CMD_FILE "' holds no command (or more than %d arguments)", ARGS_MAX - 1);
                power_off();
        }
        out = open_out_tty();
        if (out < 0) {
                error("cannot open '" OUT_TTY "' for the command's output: %s", strerror(-out));
                power_off();
        }

        note("running '%s' at %.2f s (%d modules loaded, %d failed)", argv[0], uptime(), loaded,
             failed);
        (void) write_all(out, "\nVM-START\n", 10);
        status = run_command(argv, out);
        kill_all();
        snprintf(line, sizeof(line), "\nVM-EXIT %d\n", status);
        r = write_all(out, line, strlen(line));
        if (r < 0)
                error("cannot write the exit status to '" OUT_TTY "': %s", strerror(-r));
        /* Wait until the UART has sent everything, the command's output included. */
        (void) tcdrain(out);
        note("'%s' exited with %d at %.2f s, powering off", argv[0], status, uptime());
        power_off();
}
