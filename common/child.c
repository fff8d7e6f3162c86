/* Running other programs; see child.h. */
#include "child.h"
#include "cleanup.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TAIL 200 /* bytes of a tool's output kept for the message */

static void log_argv(int fd, const char *root, char *const argv[])
{
        if (fd < 0)
                return;
        (void) dprintf(fd, "+%s%s", root ? " chroot " : "", root ? root : "");
        for (size_t i = 0; argv[i]; i++)
                (void) dprintf(fd, " %s", argv[i]);
        (void) dprintf(fd, "\n");
}

/* In the child: stdin, stdout and stderr in place, the root changed, then argv[0]. */
static _Noreturn void exec_child(char *const argv[], int in_fd, int out_fd, int errfd,
                                 const char *root, char **envp)
{
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (in_fd < 0)
                in_fd = null;
        if (errfd < 0)
                errfd = null;
        if (null < 0 || dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(errfd, STDERR_FILENO) < 0)
                _exit(126);
        if (root && (chroot(root) < 0 || chdir("/") < 0)) {
                dprintf(STDERR_FILENO, "cannot enter %s: %s\n", root, strerror(errno));
                _exit(126);
        }
        /* LVM warns about descriptors it inherits; there are none but these. */
        setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
        if (root) {
                /* Debian's maintainer scripts in the target must not start services or ask. */
                setenv("DEBIAN_FRONTEND", "noninteractive", 1);
                setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
        }
        if (envp)
                execvpe(argv[0], argv, envp);
        else
                execvp(argv[0], argv);
        dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
}

/* "WHAT: PROG failed (status N): LAST LINE" from the tail of its output. */
static int failure(const char *what, const char *prog, int status, char *tail, size_t tlen,
                   struct err *err)
{
        tail[tlen] = '\0';
        while (tlen > 0 && (tail[tlen - 1] == '\n' || tail[tlen - 1] == ' '))
                tail[--tlen] = '\0';
        /* The last line, unless it only points at --help: then the one before. */
        char *last = strrchr(tail, '\n');
        last = last ? last + 1 : tail;
        while (*last == ' ')
                last++;
        if ((strncmp(last, "Run `", 5) == 0 || strncmp(last, "Try '", 5) == 0) && last > tail) {
                char *end = last - 1;
                while (end > tail && *end != '\n')
                        end--;
                *(last - 1) = '\0';
                last = end == tail ? tail : end + 1;
                while (*last == ' ')
                        last++;
        }
        if (WIFEXITED(status))
                return err_set(err, -EIO, "%s: %s failed (status %d)%s%s", what, prog,
                               WEXITSTATUS(status), *last ? ": " : "", last);
        return err_set(err, -EIO, "%s: %s was killed by signal %d", what, prog, WTERMSIG(status));
}

int child_run(const char *what, char *const argv[], const struct child_options *o, struct err *err)
{
        char tail[TAIL + 1] = "", buf[4096];
        size_t tlen = 0;
        int pfd[2], status;
        pid_t pid;

        log_argv(o->log_fd, o->chroot, argv);
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return err_set(err, -errno, "%s: cannot make a pipe: %s", what, strerror(errno));
        pid = fork();
        if (pid < 0) {
                int e = errno;
                close(pfd[0]);
                close(pfd[1]);
                return err_set(err, -e, "%s: cannot start %s: %s", what, argv[0], strerror(e));
        }
        if (pid == 0)
                exec_child(argv, o->in_fd > 0 ? o->in_fd : -1, pfd[1], pfd[1], o->chroot, o->envp);
        close(pfd[1]);
        for (;;) {
                ssize_t n = read(pfd[0], buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (o->log_fd >= 0)
                        (void) !write(o->log_fd, buf, (size_t) n);
                if (o->out)
                        (void) fwrite(buf, 1, (size_t) n, o->out);
                /* Keep the end of the output: that is where tools say what went wrong. */
                size_t keep = (size_t) n < TAIL ? (size_t) n : TAIL;
                if (tlen + keep > TAIL) {
                        memmove(tail, tail + tlen + keep - TAIL, TAIL - keep);
                        tlen = TAIL - keep;
                }
                memcpy(tail + tlen, buf + (size_t) n - keep, keep);
                tlen += keep;
        }
        close(pfd[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return err_set(err, -errno, "%s: cannot wait for %s", what, argv[0]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        return failure(what, argv[0], status, tail, tlen, err);
}

int child_tool(const char *what, char *const argv[], int log_fd, struct err *err)
{
        struct child_options o = { .log_fd = log_fd, .in_fd = -1 };

        return child_run(what, argv, &o, err);
}

int child_reader(char *const argv[], int log_fd, pid_t *ret_pid, int *ret_fd, struct err *err)
{
        int pfd[2];
        pid_t pid;

        log_argv(log_fd, NULL, argv);
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return err_set(err, -errno, "cannot make a pipe: %s", strerror(errno));
        pid = fork();
        if (pid < 0) {
                int e = errno;
                close(pfd[0]);
                close(pfd[1]);
                return err_set(err, -e, "cannot start %s: %s", argv[0], strerror(e));
        }
        if (pid == 0)
                exec_child(argv, -1, pfd[1], log_fd, NULL, NULL);
        close(pfd[1]);
        *ret_pid = pid;
        *ret_fd = pfd[0];
        return 0;
}

int child_wait(const char *what, const char *prog, pid_t pid, struct err *err)
{
        char tail[1] = "";
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return err_set(err, -errno, "%s: cannot wait for %s", what, prog);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        return failure(what, prog, status, tail, 0, err);
}

int child_output(const char *what, char *const argv[], int log_fd, size_t max, char **ret,
                 size_t *ret_len, struct err *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;
        bool too_big = false;
        int fd, r, read_errno = 0;
        pid_t pid;

        if ((r = child_reader(argv, log_fd, &pid, &fd, err)) < 0)
                return r;
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        char *nb;

                        if (cap > max) {
                                too_big = true;
                                break;
                        }
                        cap = cap ? cap * 2 : 64 * 1024;
                        nb = realloc(buf, cap + 1);
                        if (!nb) {
                                read_errno = ENOMEM;
                                break;
                        }
                        buf = nb;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        read_errno = errno;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        (void) close(fd); /* a child still writing gets SIGPIPE */
        r = child_wait(what, argv[0], pid, too_big || read_errno ? NULL : err);
        if (too_big || len > max)
                return err_set(err, -EFBIG, "%s: %s wrote more than %zu bytes", what, argv[0], max);
        if (read_errno)
                return err_set(err, -read_errno, "%s: cannot read what %s wrote: %s", what, argv[0],
                               strerror(read_errno));
        if (r < 0)
                return r;
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}
