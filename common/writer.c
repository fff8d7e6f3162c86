#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "qcow2_writer.h"

const char *const writer_format_names[WRITER_FORMAT_COUNT] = {
        [WRITER_FORMAT_QCOW2] = "qcow2",
        [WRITER_FORMAT_RAW] = "raw",
};

int writer_format_from_string(const char *s)
{
        for (int i = 0; i < WRITER_FORMAT_COUNT; i++)
                if (strcasecmp(s, writer_format_names[i]) == 0)
                        return i;
        return -EINVAL;
}

uint32_t writer_cluster_size(const struct writer_options *o)
{
        if (o->format == WRITER_FORMAT_QCOW2 && o->cluster_bits)
                return UINT32_C(1) << o->cluster_bits;
        return 65536;
}

int writer_pwrite(struct writer *w, const void *buf, size_t len, uint64_t off, struct err *err)
{
        size_t done = 0;

        while (done < len) {
                ssize_t n = pwrite(w->fd, (const uint8_t *) buf + done, len - done,
                                   (off_t) (off + done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return err_set(err, -errno, "cannot write '%s': %s", w->path,
                                       strerror(errno));
                }
                done += (size_t) n;
        }
        return 0;
}

int writer_pread(struct writer *w, void *buf, size_t len, uint64_t off, struct err *err)
{
        size_t done = 0;

        while (done < len) {
                ssize_t n = pread(w->fd, (uint8_t *) buf + done, len - done, (off_t) (off + done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return err_set(err, -errno, "cannot read back '%s': %s", w->path,
                                       strerror(errno));
                }
                if (n == 0) { /* a hole at the end reads as zeros */
                        memset((uint8_t *) buf + done, 0, len - done);
                        break;
                }
                done += (size_t) n;
        }
        return 0;
}

int writer_init_file(struct writer *w, const char *path, uint64_t size, struct err *err)
{
        _cleanup_free_ char *dir_copy = strdup(path), *base_copy = strdup(path);
        struct stat st;
        int fd;

        w->fd = -1;
        w->size = size;
        if (!dir_copy || !base_copy)
                return -ENOMEM;
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
                return err_set(err, -EEXIST,
                               "'%s' exists and is not a regular file; choose a file name", path);
        w->path = strdup(path);
        if (!w->path || asprintf(&w->tmp_path, "%s/.%s.kvmforge-XXXXXX", dirname(dir_copy),
                                 basename(base_copy)) < 0) {
                w->tmp_path = NULL;
                return -ENOMEM;
        }
        fd = mkostemp(w->tmp_path, O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                free(w->tmp_path);
                w->tmp_path = NULL;
                return err_set(err, r, "cannot create a file next to '%s': %s", path, strerror(-r));
        }
        w->fd = fd;
        (void) fchmod(fd, 0644);
        return 0;
}

static int raw_write(struct writer *w, uint64_t off, const uint8_t *data, size_t len,
                     struct err *err)
{
        return writer_pwrite(w, data, len, off, err);
}

static const struct writer_ops raw_writer_ops = {
        .write = raw_write,
};

static int raw_writer_open(const char *path, uint64_t size, struct writer **ret, struct err *err)
{
        _cleanup_(writer_freep) struct writer *w = calloc(1, sizeof(*w));
        int r;

        if (!w)
                return -ENOMEM;
        w->ops = &raw_writer_ops;
        w->cluster_size = 65536;
        r = writer_init_file(w, path, size, err);
        if (r < 0)
                return r;
        /* Untouched ranges stay holes: the output is sparse, like qemu-img's. */
        if (ftruncate(w->fd, (off_t) size) < 0)
                return err_set(err, -errno, "cannot size '%s': %s", path, strerror(errno));
        *ret = TAKE_PTR(w);
        return 0;
}

int writer_open(const char *path, uint64_t size, const struct writer_options *o,
                struct writer **ret, struct err *err)
{
        switch (o->format) {
        case WRITER_FORMAT_RAW:
                if (o->compress || o->prealloc_metadata)
                        return err_set(err, -EINVAL,
                                       "compression and preallocation apply to qcow2 output only");
                return raw_writer_open(path, size, ret, err);
        case WRITER_FORMAT_QCOW2:
                return qcow2_writer_open(path, size, o, ret, err);
        default:
                return -EINVAL;
        }
}

static int fsync_dir_of(const char *path)
{
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int fd = -1;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

int writer_commit(struct writer *w, struct err *err)
{
        int r;

        if (w->ops->finish) {
                r = w->ops->finish(w, err);
                if (r < 0)
                        return r;
        }
        if (fdatasync(w->fd) < 0)
                return err_set(err, -errno, "cannot flush '%s': %s", w->path, strerror(errno));
        if (rename(w->tmp_path, w->path) < 0)
                return err_set(err, -errno, "cannot rename the finished image to '%s': %s", w->path,
                               strerror(errno));
        w->committed = true;
        (void) fsync_dir_of(w->path); /* the rename is durable once the directory is */
        return 0;
}

struct writer *writer_free(struct writer *w)
{
        if (!w)
                return NULL;
        if (w->ops && w->ops->free)
                w->ops->free(w);
        if (w->fd >= 0)
                close(w->fd);
        if (w->tmp_path && !w->committed)
                (void) unlink(w->tmp_path);
        free(w->tmp_path);
        free(w->path);
        free(w);
        return NULL;
}
