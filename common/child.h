#pragma once
/* Running other programs: an argument vector, never a shell. Their output goes to the install
 * log (and to a caller's stream when asked); when one fails, the error names what it was for,
 * the program and the last thing it said, because that is where tools say what went wrong. */
#include "err.h"
#include <stdio.h>
#include <sys/types.h>

struct child_options {
        int log_fd;         /* the command line and everything it prints; -1: none */
        FILE *out;          /* its output also here, or NULL */
        const char *chroot; /* run it inside this root (the target), or NULL */
        int in_fd;          /* its stdin; -1 (and 0): /dev/null */
        char **envp;        /* its environment, or NULL: ours */
};

/* Runs argv[0] (looked up in PATH) to its end: 0 when it exits with 0, or -errno with err
 * saying "WHAT: PROG failed (status N): its last line". */
int child_run(const char *what, char *const argv[], const struct child_options *o, struct err *err);

/* The same with only a log: the common case. */
int child_tool(const char *what, char *const argv[], int log_fd, struct err *err);

/* Starts argv[0] with its stdout on a pipe for the caller to read (stderr to log_fd, or
 * /dev/null): the pid and the pipe's read end. */
int child_reader(char *const argv[], int log_fd, pid_t *ret_pid, int *ret_fd, struct err *err);

/* The standard output of argv alone (its stderr goes to log_fd), at most max bytes,
 * NUL-terminated, into *ret (to free()) and *ret_len: 0, or -errno with err saying what failed
 * (-EFBIG past max). */
int child_output(const char *what, char *const argv[], int log_fd, size_t max, char **ret,
                 size_t *ret_len, struct err *err);

/* Waits for a child started by child_reader(): 0 for status 0, or -EIO with err naming what. */
int child_wait(const char *what, const char *prog, pid_t pid, struct err *err);
