/* Reading the live system or a captured tree, bounded and without blocking. */
#include "hw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

void hw_path(const struct hw_source *src, const char *path, char *buf, size_t max)
{
        (void) snprintf(buf, max, "%s%s", src->sysroot ? src->sysroot : "", path);
}

ssize_t hw_read_file(const struct hw_source *src, const char *path, char *buf, size_t max)
{
        char p[1024];
        _cleanup_close_ int fd = -1;
        size_t len = 0;

        if (max == 0)
                return -EINVAL;
        hw_path(src, path, p, sizeof(p));
        /* O_NONBLOCK: a FIFO or a device where a file was expected must not hang us. */
        fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;
        while (len < max - 1) {
                ssize_t n = read(fd, buf + len, max - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        return (ssize_t) len;
}

int hw_read_attr(const struct hw_source *src, const char *path, char *buf, size_t max)
{
        ssize_t n = hw_read_file(src, path, buf, max);
        size_t len;

        if (n < 0)
                return (int) n;
        len = strcspn(buf, "\n");
        while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
                len--;
        buf[len] = '\0';
        /* Attributes come from firmware and devices: keep them printable. */
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) buf[i] < 0x20 || buf[i] == 0x7f)
                        buf[i] = '?';
        return 0;
}

int hw_link_name(const struct hw_source *src, const char *path, char *buf, size_t max)
{
        char p[1024], target[512];
        const char *base;
        ssize_t n;

        hw_path(src, path, p, sizeof(p));
        n = readlink(p, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        base = strrchr(target, '/');
        (void) snprintf(buf, max, "%s", base ? base + 1 : target);
        return 0;
}
