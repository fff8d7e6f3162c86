/* The scripts of an answer, run as the installer runs them, and the answer made ready for an
 * install: read, %pre run, the %include files %pre wrote read, checked against the machine. A
 * script runs with its output in the install log, nothing on the terminal, stdin from
 * /dev/null, in its own process group so that a timeout kills whatever it started. */
#include "answer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define SCRIPT_TIMEOUT_S 3600 /* when the script names none: a hung %pre must not hang forever */

static int write_all(int fd, const char *s, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, s, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                s += n;
                len -= (size_t) n;
        }
        return 0;
}

static void child(const struct answer_script *s, const char *root, const char *path, int log_fd)
{
        const char *interp = s->interpreter ? s->interpreter : "/bin/sh";
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

        (void) setpgid(0, 0);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
            dup2(log_fd, STDERR_FILENO) < 0)
                _exit(126);
        if (root && (chroot(root) < 0 || chdir("/") < 0)) {
                dprintf(STDERR_FILENO, "cannot enter '%s': %s\n", root, strerror(errno));
                _exit(126);
        }
        execl(interp, interp, path, (char *) NULL);
        dprintf(STDERR_FILENO, "cannot run '%s': %s\n", interp, strerror(errno));
        _exit(127);
}

int answer_script_run(const struct answer_script *s, const char *root, int log_fd, struct err *err)
{
        const char *what = answer_script_names[s->kind];
        uint64_t timeout = s->timeout != ANSWER_UNSET && s->timeout ? s->timeout : SCRIPT_TIMEOUT_S;
        _cleanup_free_ char *host_path = NULL;
        _cleanup_close_ int fd = -1;
        struct timespec start, now;
        int status = 0, r;
        pid_t pid;

        /* The body goes to a private file under the root the script runs in. */
        if (asprintf(&host_path, "%s/tmp/kvmforge-script-XXXXXX", root ? root : "") < 0)
                return -ENOMEM;
        fd = mkostemp(host_path, O_CLOEXEC);
        if (fd < 0)
                return err_set(err, -errno, "cannot write the %s script of line %u: %s", what,
                               s->at.line, strerror(errno));
        r = write_all(fd, s->body ? s->body : "", s->body ? strlen(s->body) : 0);
        if (r < 0) {
                (void) unlink(host_path);
                return err_set(err, r, "cannot write the %s script of line %u: %s", what,
                               s->at.line, strerror(-r));
        }
        if (close(TAKE_FD(fd)) < 0) {
                r = -errno;
                (void) unlink(host_path);
                return err_set(err, r, "cannot write the %s script of line %u: %s", what,
                               s->at.line, strerror(-r));
        }
        (void) clock_gettime(CLOCK_MONOTONIC, &start);
        pid = fork();
        if (pid < 0) {
                r = -errno;
                (void) unlink(host_path);
                return err_set(err, r, "cannot start the %s script of line %u: %s", what,
                               s->at.line, strerror(-r));
        }
        if (pid == 0)
                child(s, root, root ? host_path + strlen(root) : host_path, log_fd);
        (void) setpgid(pid, pid); /* also here: no race with a kill below */
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);
                if (w == pid)
                        break;
                if (w < 0 && errno != EINTR) {
                        r = -errno;
                        (void) unlink(host_path);
                        return err_set(err, r, "cannot wait for the %s script: %s", what,
                                       strerror(-r));
                }
                (void) clock_gettime(CLOCK_MONOTONIC, &now);
                if ((uint64_t) (now.tv_sec - start.tv_sec) >= timeout) {
                        (void) kill(-pid, SIGKILL);
                        (void) waitpid(pid, &status, 0);
                        (void) unlink(host_path);
                        return err_set(err, -ETIMEDOUT,
                                       "the %s script of line %u ran longer than %" PRIu64
                                       " s and was killed",
                                       what, s->at.line, timeout);
                }
                (void) nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
        }
        (void) unlink(host_path);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status))
                return err_set(err, -ECHILD, "the %s script of line %u exited with status %d%s",
                               what, s->at.line, WEXITSTATUS(status),
                               WEXITSTATUS(status) == 127 ? " (its interpreter is missing)" : "");
        return err_set(err, -ECHILD, "the %s script of line %u was killed by signal %d", what,
                       s->at.line, WTERMSIG(status));
}

int answer_run_pre(const struct answer *a, int log_fd, struct err *err)
{
        for (size_t i = 0; i < a->n_scripts; i++) {
                int r;
                if (a->scripts[i].kind != ANSWER_PRE)
                        continue;
                r = answer_script_run(&a->scripts[i], NULL, log_fd, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int answer_prepare(const char *text, size_t len, const char *name,
                   const struct answer_load_options *o, bool run_pre, int log_fd,
                   const struct answer_check_env *env, struct answer *ret, struct err *err)
{
        struct answer_load_options again = o ? *o : (struct answer_load_options){ 0 };
        struct answer a;
        bool has_pre = false;
        int r;

        r = answer_load(text, len, name, o, &a);
        if (r < 0)
                return r;
        for (size_t i = 0; i < a.n_scripts; i++)
                has_pre = has_pre || a.scripts[i].kind == ANSWER_PRE;
        /* Scripts of an answer that is already wrong are not run: nothing it does can help. */
        if (run_pre && has_pre && a.n_errors == 0) {
                r = answer_run_pre(&a, log_fd, err);
                answer_release(&a);
                if (r < 0)
                        return r;
                again.pre_done = true;
                r = answer_load(text, len, name, &again, &a);
                if (r < 0)
                        return r;
        }
        r = answer_check_hw(&a, env);
        if (r < 0) {
                answer_release(&a);
                return r;
        }
        answer_sort_diags(&a);
        *ret = a;
        return 0;
}
