#pragma once
/* Files and directories as every writer here wants them: directories made on the way, and
 * files that appear whole or not at all (a temporary name beside them, flushed, renamed). */
#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* mkdir -p of the directories leading to path, and of path itself when self: 0 or -errno. */
int file_mkdir_parents(const char *path, mode_t mode, bool self);

/* Writes len bytes of data to path with mode: a temporary file beside it, flushed, then
 * renamed over it; on failure nothing is left. 0, or -errno with err naming path. */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *err);

/* A formatted line (or more) appended to a log's descriptor; nothing when fd < 0. Write errors
 * are ignored: a log never stops the work it records. */
void file_logf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
