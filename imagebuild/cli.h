#pragma once
/* What the sub-commands of kvmforge-image share: usage errors, the progress bar, Ctrl-C. */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define EXIT_USAGE 2

extern volatile sig_atomic_t cancel_requested;

struct progress {
        struct timespec start, last;
        bool drawn;
        const char *label; /* printed before the bar, or NULL */
};

int usage_error(const char *cmd, const char *fmt, const char *what);
int parse_threads(const char *s, unsigned *ret);
void draw_progress(void *userdata, uint64_t done, uint64_t total);
/* SIGINT, SIGTERM and SIGHUP set cancel_requested; a second one ends the program. */
void catch_signals(void);

/* kvmforge-image import: 1 to go on, 0 to exit successfully (--help), -EINVAL bad usage. */
int import_parse(int argc, char **argv);
int import_main(const char *src);
void import_help(void);

/* kvmforge-image iso (iso-cmd.c): the same conventions. */
int iso_parse(int argc, char **argv);
int iso_main(void);
void iso_help(void);
