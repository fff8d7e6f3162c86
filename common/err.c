#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *err, int code, const char *fmt, ...)
{
        va_list ap;

        if (!err || err->msg[0])
                return code;
        va_start(ap, fmt);
        (void) vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        return code;
}

int err_prefix(struct err *err, int code, const char *fmt, ...)
{
        char prefix[sizeof(err->msg)], old[sizeof(err->msg)];
        va_list ap;

        if (!err)
                return code;
        va_start(ap, fmt);
        (void) vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof(old));
        if (old[0])
                (void) snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
        else
                (void) snprintf(err->msg, sizeof(err->msg), "%s", prefix);
        return code;
}
