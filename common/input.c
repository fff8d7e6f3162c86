#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

struct input_file {
        struct input in;
        int fd;
        char *dir; /* directory that relative sibling names are resolved in */
};

struct input_memory {
        struct input in;
        const uint8_t *data;
};

static ssize_t file_pread(struct input *in, void *buf, size_t len, uint64_t off)
{
        struct input_file *f = (struct input_file *) in;
        size_t done = 0;

        if (off > (uint64_t) INT64_MAX)
                return -EINVAL;
        while (done < len) {
                ssize_t n = pread(f->fd, (uint8_t *) buf + done, len - done, (off_t) (off + done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

static int file_next_data(struct input *in, uint64_t off, uint64_t *ret)
{
        struct input_file *f = (struct input_file *) in;
        off_t r;

        if (off >= in->size) {
                *ret = in->size;
                return 0;
        }
        r = lseek(f->fd, (off_t) off, SEEK_DATA);
        if (r < 0) {
                if (errno == ENXIO) { /* only a hole up to the end */
                        *ret = in->size;
                        return 0;
                }
                return -errno;
        }
        *ret = (uint64_t) r;
        return 0;
}

static void file_free(struct input *in)
{
        struct input_file *f = (struct input_file *) in;

        if (f->fd >= 0)
                close(f->fd);
        free(f->dir);
}

static int file_open_sibling(struct input *in, const char *name, struct input **ret,
                             struct err *err);

static const struct input_ops file_ops = {
        .pread = file_pread,
        .next_data = file_next_data,
        .open_sibling = file_open_sibling,
        .free = file_free,
};

int input_open_file(const char *path, struct input **ret, struct err *err)
{
        _cleanup_(input_freep) struct input *in = NULL;
        struct input_file *f;
        struct stat st;
        const char *slash;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->fd = -1;
        f->in.ops = &file_ops;
        in = &f->in;
        in->name = strdup(path);
        slash = strrchr(path, '/');
        f->dir = slash ? strndup(path, (size_t) (slash - path + 1)) : strdup("");
        if (!in->name || !f->dir)
                return -ENOMEM;

        f->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (f->fd < 0)
                return err_set(err, -errno, "cannot open '%s': %s", path, strerror(errno));
        if (fstat(f->fd, &st) < 0)
                return err_set(err, -errno, "cannot stat '%s': %s", path, strerror(errno));
        if (S_ISDIR(st.st_mode))
                return err_set(err, -EISDIR, "'%s' is a directory", path);
        in->dev = (uint64_t) st.st_dev;
        in->ino = (uint64_t) st.st_ino;
        in->alloc = (uint64_t) st.st_blocks * 512;
        if (S_ISBLK(st.st_mode)) {
                off_t end = lseek(f->fd, 0, SEEK_END);
                if (end < 0)
                        return err_set(err, -errno, "cannot size '%s': %s", path, strerror(errno));
                in->size = (uint64_t) end;
        } else if (S_ISREG(st.st_mode)) {
                in->size = (uint64_t) st.st_size;
                (void) posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        } else {
                return err_set(err, -EINVAL, "'%s' is not a regular file or block device", path);
        }
        *ret = TAKE_PTR(in);
        return 0;
}

/* Names inside images come from other tools and other hosts: VMFS and Windows paths in
 * parentFileNameHint are common. A relative name is resolved next to this file; an absolute
 * name that does not exist here falls back to its last component next to this file. */
static int file_open_sibling(struct input *in, const char *name, struct input **ret,
                             struct err *err)
{
        struct input_file *f = (struct input_file *) in;
        _cleanup_free_ char *path = NULL;
        const char *base;

        if (!name[0])
                return err_set(err, -EINVAL, "empty file name in '%s'", in->name);
        if (name[0] == '/' && access(name, F_OK) == 0)
                return input_open_file(name, ret, err);
        base = name;
        if (name[0] == '/' || strchr(name, '\\') || (name[0] && name[1] == ':')) {
                const char *s1 = strrchr(name, '/'), *s2 = strrchr(name, '\\');
                const char *s = s1 > s2 ? s1 : s2;
                base = s ? s + 1 : name + 2;
        }
        if (asprintf(&path, "%s%s", f->dir, base) < 0)
                return -ENOMEM;
        return input_open_file(path, ret, err);
}

static ssize_t memory_pread(struct input *in, void *buf, size_t len, uint64_t off)
{
        struct input_memory *m = (struct input_memory *) in;

        if (off >= in->size)
                return 0;
        if (len > in->size - off)
                len = (size_t) (in->size - off);
        memcpy(buf, m->data + off, len);
        return (ssize_t) len;
}

static int memory_open_sibling(struct input *in, const char *name, struct input **ret,
                               struct err *err)
{
        (void) ret;
        return err_set(err, -ENOENT, "'%s' names '%s', but it is not a file on disk", in->name,
                       name);
}

static const struct input_ops memory_ops = {
        .pread = memory_pread,
        .open_sibling = memory_open_sibling,
};

int input_new_memory(const void *data, size_t size, const char *name, struct input **ret)
{
        struct input_memory *m = calloc(1, sizeof(*m));

        if (!m)
                return -ENOMEM;
        m->in.ops = &memory_ops;
        m->in.size = size;
        m->in.name = strdup(name);
        m->data = data;
        if (!m->in.name) {
                free(m);
                return -ENOMEM;
        }
        *ret = &m->in;
        return 0;
}

struct input *input_free(struct input *in)
{
        if (!in)
                return NULL;
        if (in->ops->free)
                in->ops->free(in);
        free(in->rbuf);
        free(in->name);
        free(in);
        return NULL;
}

int input_pread_full(struct input *in, void *buf, size_t len, uint64_t off, struct err *err)
{
        ssize_t n;

        if (!in->ops->pread)
                return err_set(err, -ESPIPE, "'%s' can only be read front to back", in->name);
        n = in->ops->pread(in, buf, len, off);
        if (n < 0)
                return err_set(err, (int) n, "cannot read '%s' at offset %llu: %s", in->name,
                               (unsigned long long) off, strerror((int) -n));
        if ((size_t) n < len)
                return err_set(err, -EBADMSG,
                               "'%s' is truncated: %zu bytes at offset %llu lie past its end",
                               in->name, len, (unsigned long long) off);
        return 0;
}

#define INPUT_READAHEAD (512u << 10)

ssize_t input_read(struct input *in, void *buf, size_t len)
{
        size_t done = 0;

        if (!in->ops->pread) {
                /* Streams (tar members, gzip, chunks, later HTTP) may return less than asked
                 * at their own boundaries; callers are promised short reads only at the end. */
                while (done < len) {
                        ssize_t n = in->ops->read(in, (uint8_t *) buf + done, len - done);
                        if (n < 0)
                                return n;
                        if (n == 0)
                                break;
                        done += (size_t) n;
                }
                return (ssize_t) done;
        }
        if (!in->rbuf && !(in->rbuf = malloc(INPUT_READAHEAD)))
                return -ENOMEM;
        while (done < len) {
                ssize_t n;

                if (in->pos >= in->rbuf_pos && in->pos - in->rbuf_pos < in->rbuf_len) {
                        size_t at = (size_t) (in->pos - in->rbuf_pos), k = in->rbuf_len - at;
                        if (k > len - done)
                                k = len - done;
                        memcpy((uint8_t *) buf + done, in->rbuf + at, k);
                        in->pos += k;
                        done += k;
                        continue;
                }
                if (len - done >= INPUT_READAHEAD) { /* large reads bypass the buffer */
                        n = in->ops->pread(in, (uint8_t *) buf + done, len - done, in->pos);
                        if (n < 0)
                                return n;
                        in->pos += (uint64_t) n;
                        done += (size_t) n;
                        break;
                }
                n = in->ops->pread(in, in->rbuf, INPUT_READAHEAD, in->pos);
                if (n < 0)
                        return n;
                in->rbuf_pos = in->pos;
                in->rbuf_len = (size_t) n;
                if (n == 0)
                        break;
        }
        return (ssize_t) done;
}

int input_read_full(struct input *in, void *buf, size_t len, struct err *err)
{
        uint64_t at = in->pos;
        ssize_t n = input_read(in, buf, len);

        if (n == -EBADMSG) /* from a layer below: a tar, gzip or HTTP stream */
                return err_set(err, (int) n, "'%s' is truncated or corrupt at offset %llu",
                               in->name, (unsigned long long) at);
        if (n < 0)
                return err_set(err, (int) n, "cannot read '%s' at offset %llu: %s", in->name,
                               (unsigned long long) at, strerror((int) -n));
        if ((size_t) n < len)
                return err_set(err, -EBADMSG, "'%s' is truncated at offset %llu", in->name,
                               (unsigned long long) (at + (uint64_t) n));
        return 0;
}

int input_skip(struct input *in, uint64_t n, struct err *err)
{
        uint8_t buf[16384];

        if (in->ops->pread) {
                if (in->size != UINT64_MAX && n > in->size - in->pos)
                        return err_set(err, -EBADMSG, "'%s' is truncated at offset %llu", in->name,
                                       (unsigned long long) in->size);
                in->pos += n;
                return 0;
        }
        while (n > 0) {
                size_t chunk = n < sizeof(buf) ? (size_t) n : sizeof(buf);
                int r = input_read_full(in, buf, chunk, err);
                if (r < 0)
                        return r;
                n -= chunk;
        }
        return 0;
}

int input_next_data(struct input *in, uint64_t off, uint64_t *ret)
{
        if (!in->ops->next_data) {
                *ret = off;
                return 0;
        }
        return in->ops->next_data(in, off, ret);
}

int input_open_sibling(struct input *in, const char *name, struct input **ret, struct err *err)
{
        if (!in->ops->open_sibling)
                return err_set(err, -EOPNOTSUPP, "'%s' cannot refer to other files", in->name);
        return in->ops->open_sibling(in, name, ret, err);
}
