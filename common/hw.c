/* Reading the live system or a captured tree, bounded and without blocking. */
#include "hw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "strv.h"

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

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(const char *in, char *out, size_t size)
{
        size_t n = 0;

        for (; *in && n + 1 < size; in++) {
                if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
                    in[3] >= '0' && in[3] <= '7') {
                        out[n++] = (char) ((in[1] - '0') << 6 | (in[2] - '0') << 3 | (in[3] - '0'));
                        in += 3;
                } else {
                        out[n++] = *in;
                }
        }
        out[n] = '\0';
}

int hw_mounts_read(const struct hw_source *src, struct hw_mount **ret, size_t *ret_n)
{
        _cleanup_free_ char *buf = malloc(HW_MAX_FILE);
        _cleanup_free_ struct hw_mount *v = NULL;
        char *save = NULL;
        size_t n = 0;
        ssize_t len;

        if (!buf)
                return -ENOMEM;
        if ((len = hw_read_file(src, "/proc/self/mountinfo", buf, HW_MAX_FILE)) < 0)
                return (int) len;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char root[1024], point[4096 + 64], fstype[64], *dash;
                unsigned maj, min;
                struct hw_mount *m;

                /* ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE ... */
                if (sscanf(l, "%*u %*u %u:%u %1023s %4159s", &maj, &min, root, point) != 4 ||
                    !(dash = strstr(l, " - ")) || sscanf(dash + 3, "%63s", fstype) != 1)
                        continue;
                if (strlen(point) >= sizeof(m->point) || strlen(root) >= sizeof(m->root))
                        continue;
                if (n >= HW_MAX_MOUNTS)
                        break;
                if (!(m = array_grow(&v, &n, sizeof(*m))))
                        return -ENOMEM;
                m->devnum = makedev(maj, min);
                unescape(root, m->root, sizeof(m->root));
                unescape(point, m->point, sizeof(m->point));
                (void) snprintf(m->fstype, sizeof(m->fstype), "%s", fstype);
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}
