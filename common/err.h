#pragma once
/* A caller-owned slot for the first, innermost reason a call failed. */

struct err {
        char msg[256];
};

/* Records the message unless one is already set (the innermost cause wins) and returns
 * code, so it fits in a return statement. err may be NULL. */
int err_set(struct err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like err_set(), but puts prefix before a message already set by a callee. */
int err_prefix(struct err *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
