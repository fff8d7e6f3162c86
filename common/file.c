/* Files and directories; see file.h. */
#include "file.h"
#include "cleanup.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_mkdir_parents(const char *path, mode_t mode, bool self)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (self && mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *err)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        const char *p = data;
        int r;

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return err_set(err, -ENOMEM, "out of memory");
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return err_set(err, -errno, "cannot create a file beside '%s': %s", path,
                               strerror(errno));
        while (len > 0) {
                ssize_t w = write(fd, p, len);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        goto fail;
                p += w;
                len -= (size_t) w;
        }
        if (fchmod(fd, mode) < 0 || fsync(fd) < 0 || close(TAKE_FD(fd)) < 0 ||
            rename(tmp, path) < 0)
                goto fail;
        return 0;
fail:
        r = -errno;
        (void) unlink(tmp);
        return err_set(err, r, "cannot write '%s': %s", path, strerror(-r));
}

void file_logf(int fd, const char *fmt, ...)
{
        va_list ap;

        if (fd < 0)
                return;
        va_start(ap, fmt);
        (void) vdprintf(fd, fmt, ap);
        va_end(ap);
}
