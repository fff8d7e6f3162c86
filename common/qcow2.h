#pragma once
/* qcow2 (v2 and v3): on-disk layout constants, header parsing and the reader.
 * The writer lives in qcow2_writer.c. All integers on disk are big-endian. */

#include <stdbool.h>
#include <stdint.h>

#include "image.h"

#define QCOW2_MAGIC            0x514649fbu /* "QFI\xfb" */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES     (32u << 20) /* as qemu: larger L1 tables are refused */
#define QCOW2_MAX_BACKING_NAME 1023

#define QCOW2_OFLAG_COPIED     (UINT64_C(1) << 63)
#define QCOW2_OFLAG_COMPRESSED (UINT64_C(1) << 62)
#define QCOW2_OFLAG_ZERO       UINT64_C(1)
#define QCOW2_OFFSET_MASK      UINT64_C(0x00fffffffffffe00)

#define QCOW2_INCOMPAT_DIRTY       (UINT64_C(1) << 0)
#define QCOW2_INCOMPAT_CORRUPT     (UINT64_C(1) << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (UINT64_C(1) << 2)
#define QCOW2_INCOMPAT_COMPRESSION (UINT64_C(1) << 3)
#define QCOW2_INCOMPAT_EXTL2       (UINT64_C(1) << 4)

#define QCOW2_EXT_END            0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau

struct qcow2_header {
        uint32_t version;
        uint64_t backing_file_offset;
        uint32_t backing_file_size;
        uint32_t cluster_bits;
        uint64_t size;
        uint32_t crypt_method;
        uint32_t l1_size;
        uint64_t l1_table_offset;
        uint64_t refcount_table_offset;
        uint32_t refcount_table_clusters;
        uint32_t nb_snapshots;
        uint64_t snapshots_offset;
        uint64_t incompatible_features;
        uint64_t compatible_features;
        uint64_t autoclear_features;
        uint32_t refcount_order;
        uint32_t header_length;
        uint8_t compression_type;
        char backing_format[16]; /* from the header extension, "" when absent */
};

bool qcow2_probe(const uint8_t *buf, size_t len);

/* Parses and checks the header in buf (the first cluster or at least the first 4 KiB) of a
 * file of file_size bytes. Rejects what this reader cannot read with -EOPNOTSUPP. */
int qcow2_parse_header(const uint8_t *buf, size_t len, uint64_t file_size, struct qcow2_header *ret,
                       struct err *err);

/* Entries in the L1 table needed for size bytes with 2^cluster_bits clusters. */
uint64_t qcow2_l1_entries(uint64_t size, unsigned cluster_bits);

int qcow2_open(struct input *in, struct image **ret, struct err *err);
