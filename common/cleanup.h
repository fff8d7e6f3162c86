#pragma once
/* Scope-bound cleanup (GCC/Clang attribute) so error paths cannot leak. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

#define DEFINE_CLEANUP_FUNC(type, func, empty) \
        static inline void func##p(type *p)    \
        {                                      \
                if (*p != (empty))             \
                        (void) func(*p);       \
        }

static inline void freep(void *p)
{
        free(*(void **) p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f)
{
        if (*f)
                (void) fclose(*f);
}

static inline void closedirp(DIR **d)
{
        if (*d)
                (void) closedir(*d);
}

#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand ownership on: returns the value and leaves the variable empty. */
#define TAKE_GENERIC(var, empty)                 \
        ({                                       \
                __typeof__(var) _taken_ = (var); \
                (var) = (empty);                 \
                _taken_;                         \
        })
#define TAKE_PTR(p) TAKE_GENERIC(p, NULL)
#define TAKE_FD(fd) TAKE_GENERIC(fd, -1)

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
