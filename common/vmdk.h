#pragma once
/* VMDK: the sparse extent header, the text descriptor, and the image reader over every
 * hosted and exported layout (monolithicSparse/Flat, twoGbMaxExtent*, streamOptimized, vmfs*
 * flat descriptors, ZERO extents, delta disks). The forward-only grain walker used for
 * streamOptimized disks lives in vmdk_stream.c. All integers on disk are little-endian. */

#include <stdbool.h>
#include <stdint.h>

#include "image.h"

#define VMDK_MAGIC        0x564d444bu /* "KDMV" on disk */
#define VMDK_HEADER_SIZE  512
#define VMDK_GD_AT_END    UINT64_MAX
#define VMDK_MAX_GRAIN    2048u      /* sectors: 1 MiB grains are the most we buffer */
#define VMDK_MAX_GTES     512u       /* entries per grain table, as qemu */
#define VMDK_MAX_DESC     (1u << 20) /* bytes of descriptor text we read */
#define VMDK_MAX_EXTENTS  1024u
#define VMDK_MAX_GD_BYTES (128u << 20) /* 32 Mi directory entries, as qemu */
#define VMDK_NO_PARENT    0xffffffffu

#define VMDK_FLAG_NL_TEST    (1u << 0)
#define VMDK_FLAG_RGD        (1u << 1)
#define VMDK_FLAG_ZERO_GRAIN (1u << 2)
#define VMDK_FLAG_COMPRESSED (1u << 16)
#define VMDK_FLAG_MARKERS    (1u << 17)

enum vmdk_marker_type {
        VMDK_MARKER_EOS = 0,
        VMDK_MARKER_GT = 1,
        VMDK_MARKER_GD = 2,
        VMDK_MARKER_FOOTER = 3,
};

struct vmdk_header {
        uint32_t version;
        uint32_t flags;
        uint64_t capacity;    /* sectors */
        uint64_t grain_size;  /* sectors */
        uint64_t desc_offset; /* sectors */
        uint64_t desc_size;   /* sectors */
        uint32_t num_gtes_per_gt;
        uint64_t rgd_offset;
        uint64_t gd_offset;
        uint64_t overhead;
        uint16_t compress_algorithm;
};

enum vmdk_extent_type {
        VMDK_EXTENT_FLAT,
        VMDK_EXTENT_SPARSE,
        VMDK_EXTENT_ZERO,
        VMDK_EXTENT_TYPE_COUNT,
};

struct vmdk_desc_extent {
        enum vmdk_extent_type type;
        uint64_t sectors;
        uint64_t offset; /* FLAT: sectors into the file */
        char *file;      /* NULL for ZERO */
};

struct vmdk_desc {
        uint32_t cid;
        uint32_t parent_cid;
        char create_type[32];
        char *parent_hint;
        char adapter_type[32];
        char hw_version[16];
        struct vmdk_desc_extent *extents;
        unsigned n_extents;
};

bool vmdk_probe(const uint8_t *buf, size_t len);

/* Parses the 512-byte sparse extent header of a file of file_size bytes. */
int vmdk_parse_header(const uint8_t *buf, size_t len, uint64_t file_size, struct vmdk_header *ret,
                      struct err *err);

/* Parses descriptor text (not NUL-terminated; stops at the first NUL). */
int vmdk_parse_descriptor(const char *text, size_t len, struct vmdk_desc *ret, struct err *err);
void vmdk_desc_release(struct vmdk_desc *d);

int vmdk_open(struct input *in, struct image **ret, struct err *err);
