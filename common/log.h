#pragma once
/* Front-end logging: one line per message on a stream (stderr unless told otherwise).
 * The core library only uses log_debug(); front-ends log an error once, as they return it. */

#include <stdio.h>
#include <syslog.h>

void log_set_stream(FILE *f);
void log_set_level(int level);
void log_set_program(const char *name);
int log_get_level(void);

/* Prints the message at level; returns -abs(error) so "return log_error_errno(r, ...)" reads well.
 * %m in fmt prints strerror(error). */
int log_internal(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(...)            (void) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)             (void) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_warning(...)          (void) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)            (void) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_error_errno(e, ...)   log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
