#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

static FILE *log_stream;
static int log_level = LOG_INFO;
static const char *log_program;

void log_set_stream(FILE *f)
{
        log_stream = f;
}

void log_set_level(int level)
{
        log_level = level;
}

int log_get_level(void)
{
        return log_level;
}

void log_set_program(const char *name)
{
        log_program = name;
}

int log_internal(int level, int error, const char *fmt, ...)
{
        FILE *f = log_stream ? log_stream : stderr;
        va_list ap;

        error = abs(error);
        if (level > log_level)
                return -error;
        if (log_program)
                fprintf(f, "%s: ", log_program);
        /* glibc's %m prints strerror(errno): make it print the code we were given. */
        errno = error;
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fputc('\n', f);
        fflush(f);
        return -error;
}
