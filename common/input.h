#pragma once
/* A source of bytes for the format readers: a local file, a memory buffer, and later a tar
 * member or an HTTP body. Format modules never open files by name; they get an input, and
 * reach files named inside an image (VMDK extents, parents) through input_open_sibling(). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct input;

struct input_ops {
        /* Positional read; NULL for forward-only inputs. Returns bytes read (short only at
         * end of input) or -errno. */
        ssize_t (*pread)(struct input *in, void *buf, size_t len, uint64_t off);
        /* Sequential read from the current position, for inputs without pread (streams);
         * same return convention. */
        ssize_t (*read)(struct input *in, void *buf, size_t len);
        /* First offset >= off that may hold data (SEEK_DATA); NULL when unknown. Sets
         * *ret to the input size when only a hole follows. */
        int (*next_data)(struct input *in, uint64_t off, uint64_t *ret);
        int (*open_sibling)(struct input *in, const char *name, struct input **ret,
                            struct err *err);
        void (*free)(struct input *in);
};

struct input {
        const struct input_ops *ops;
        char *name;        /* for messages: the path or member name */
        uint64_t size;     /* UINT64_MAX when unknown (a stream) */
        uint64_t pos;      /* position of the sequential read */
        uint64_t alloc;    /* bytes allocated on disk, 0 when unknown */
        uint64_t dev, ino; /* identity of a file on disk, 0 otherwise */
        /* Read-ahead for sequential reads of seekable inputs: marker walks read small pieces. */
        uint8_t *rbuf;
        size_t rbuf_len;
        uint64_t rbuf_pos; /* input offset of rbuf[0] */
};

int input_open_file(const char *path, struct input **ret, struct err *err);
/* Wraps size bytes at data without copying; data must outlive the input. */
int input_new_memory(const void *data, size_t size, const char *name, struct input **ret);
struct input *input_free(struct input *in);

static inline bool input_seekable(const struct input *in)
{
        return in->ops->pread != NULL;
}

/* Reads exactly len bytes at off; a short read is -EBADMSG ("truncated") with a message. */
int input_pread_full(struct input *in, void *buf, size_t len, uint64_t off, struct err *err);
/* Reads up to len bytes sequentially; returns the count (short only at the end) or -errno. */
ssize_t input_read(struct input *in, void *buf, size_t len);
/* Reads exactly len bytes sequentially; truncation is -EBADMSG. */
int input_read_full(struct input *in, void *buf, size_t len, struct err *err);
/* Advances the sequential position by n bytes. */
int input_skip(struct input *in, uint64_t n, struct err *err);
int input_next_data(struct input *in, uint64_t off, uint64_t *ret);
int input_open_sibling(struct input *in, const char *name, struct input **ret, struct err *err);

static inline void input_freep(struct input **in)
{
        input_free(*in);
}
