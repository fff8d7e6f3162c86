#pragma once
/* The writer side of the disk engine. A writer receives whole output clusters (zero clusters
 * are never passed in) and lays them out in its format. The file is created under a hidden
 * temporary name next to the destination and renamed over it only by writer_commit(), after
 * the data and metadata are flushed: a failed or interrupted conversion leaves nothing that
 * looks finished (writer_free() removes the temporary file). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum writer_format {
        WRITER_FORMAT_QCOW2,
        WRITER_FORMAT_RAW,
        WRITER_FORMAT_COUNT,
};

struct writer_options {
        enum writer_format format;
        bool compress;          /* qcow2: deflate clusters (qemu-readable) */
        bool prealloc_metadata; /* qcow2: all L2 tables up front, data at fixed places */
        unsigned cluster_bits;  /* qcow2: 16 (64 KiB) unless set */
};

struct writer;

struct writer_ops {
        /* len bytes of plain data for virtual [off, off + len): off is cluster aligned, len a
         * multiple of the cluster size unless the range ends at the end of the disk. */
        int (*write)(struct writer *w, uint64_t off, const uint8_t *data, size_t len,
                     struct err *err);
        /* One cluster at off, raw-deflated (4 KiB window, as qemu reads it). */
        int (*write_compressed)(struct writer *w, uint64_t off, const uint8_t *cdata, size_t clen,
                                struct err *err);
        int (*finish)(struct writer *w, struct err *err);
        void (*free)(struct writer *w);
};

struct writer {
        const struct writer_ops *ops;
        int fd;
        char *path;     /* the destination */
        char *tmp_path; /* where it is written until committed */
        uint64_t size;  /* virtual bytes */
        uint32_t cluster_size;
        bool committed;
};

extern const char *const writer_format_names[WRITER_FORMAT_COUNT];

/* The cluster size a writer with these options takes data in. */
uint32_t writer_cluster_size(const struct writer_options *o);
int writer_format_from_string(const char *s);

int writer_open(const char *path, uint64_t size, const struct writer_options *o,
                struct writer **ret, struct err *err);
/* Finishes the format's metadata, flushes, renames to the destination, flushes the directory. */
int writer_commit(struct writer *w, struct err *err);
/* Removes the temporary file unless committed. */
struct writer *writer_free(struct writer *w);

/* For the format modules. */
int writer_pwrite(struct writer *w, const void *buf, size_t len, uint64_t off, struct err *err);
int writer_pread(struct writer *w, void *buf, size_t len, uint64_t off, struct err *err);
int writer_init_file(struct writer *w, const char *path, uint64_t size, struct err *err);

static inline void writer_freep(struct writer **w)
{
        writer_free(*w);
}
