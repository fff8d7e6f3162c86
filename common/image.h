#pragma once
/* The reader side of the disk engine: an opened image (raw, qcow2, VMDK) answers "what backs
 * virtual byte X" (image_map), and the converter fetches those bytes itself. Backing files and
 * VMDK parents hang off ->backing and are flattened by image_map_chain(). */

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "input.h"

/* Larger virtual disks are refused as hostile: 1 PiB. */
#define IMAGE_MAX_SIZE (UINT64_C(1) << 50)
/* Longest backing/parent chain followed. */
#define IMAGE_MAX_CHAIN 64

enum image_format {
        IMAGE_FORMAT_RAW,
        IMAGE_FORMAT_QCOW2,
        IMAGE_FORMAT_VMDK,
        IMAGE_FORMAT_COUNT,
        IMAGE_FORMAT_PROBE = -1, /* detect from the content */
};

enum image_map_kind {
        IMAGE_MAP_UNALLOC, /* not in this layer: the backing layer or zeros */
        IMAGE_MAP_ZERO,    /* reads as zeros, backing ignored */
        IMAGE_MAP_DATA,    /* plain bytes at in + host_off */
        IMAGE_MAP_DEFLATE, /* a compressed unit; see below */
};

enum image_deflate {
        IMAGE_DEFLATE_ZLIB, /* RFC 1950 (VMDK grains) */
        IMAGE_DEFLATE_RAW,  /* RFC 1951 (qcow2 clusters) */
};

/* What backs the virtual range [off, off + len) asked about. For IMAGE_MAP_DEFLATE the whole
 * compressed unit (a grain or cluster of unit_len bytes starting at virtual unit_start) is
 * clen bytes at in + host_off; clen may overstate (qcow2 counts whole sectors). */
struct image_map {
        enum image_map_kind kind;
        uint64_t len;
        struct input *in;
        uint64_t host_off;
        enum image_deflate deflate;
        uint32_t clen;
        uint32_t unit_len;
        uint64_t unit_start;
};

struct image;

struct image_ops {
        /* Describes the range starting at off, at most len bytes (len > 0, off < size). */
        int (*map)(struct image *img, uint64_t off, uint64_t len, struct image_map *ret,
                   struct err *err);
        /* Checks that backing is the parent this image was made on (VMDK CIDs); optional. */
        int (*check_backing)(struct image *img, struct image *backing, struct err *err);
        void (*free)(struct image *img);
};

struct image_extent {
        char *file;
        char type[16];   /* "FLAT", "SPARSE", "ZERO", "qcow2", "raw" */
        uint64_t size;   /* virtual bytes this extent supplies */
        uint64_t offset; /* FLAT: where in the file the data starts */
};

struct image_prop {
        char key[32];
        char value[96];
};

struct image {
        const struct image_ops *ops;
        enum image_format format;
        char subformat[32];
        uint64_t size;         /* virtual bytes */
        uint64_t allocated;    /* bytes this layer's files occupy on disk */
        struct input *in;      /* the file that was opened */
        struct image *backing; /* parent layer, or NULL */
        char *backing_name;    /* as written in the image */
        int backing_format;    /* enum image_format, or IMAGE_FORMAT_PROBE */
        struct image_extent *extents;
        unsigned n_extents;
        struct image_prop props[16];
        unsigned n_props;
        /* Identity of every file this layer reads (the image file, VMDK extents): a destination
         * among them is refused, so none may be left out. */
        struct image_file_id {
                uint64_t dev, ino;
        } * files;
        size_t n_files;
        /* A streamOptimized VMDK whose grains the converter may walk front to back. */
        bool streamable;
};

extern const char *const image_format_names[IMAGE_FORMAT_COUNT];
int image_format_from_string(const char *s);

/* Detects the format of in from its content (or checks it is fmt) and opens it with its
 * backing chain. Takes ownership of in, also on failure. */
int image_open(struct input *in, int fmt, struct image **ret, struct err *err);
int image_open_path(const char *path, int fmt, struct image **ret, struct err *err);
struct image *image_free(struct image *img);

/* Maps through the chain: UNALLOC never comes back, it becomes the backing data or ZERO. */
int image_map_chain(struct image *img, uint64_t off, uint64_t len, struct image_map *ret,
                    struct err *err);

/* Helpers for the format modules. */
int image_add_prop(struct image *img, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
int image_add_extent(struct image *img, const char *file, const char *type, uint64_t size,
                     uint64_t offset);
int image_add_file(struct image *img, const struct input *in);
/* True when the file dev/ino is read by img or any image in its backing chain. */
bool image_uses_file(const struct image *img, uint64_t dev, uint64_t ino);
/* Probes the first bytes; fills *ret with the format. Never fails on unknown data (raw). */
enum image_format image_probe(const uint8_t *buf, size_t len);

static inline void image_freep(struct image **img)
{
        image_free(*img);
}
