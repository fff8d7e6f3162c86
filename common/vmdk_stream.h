#pragma once
/* Walks a streamOptimized VMDK front to back, grain marker by grain marker, without ever
 * seeking back or needing the footer, so it reads a disk out of an OVA or an HTTP body as well
 * as from a file. Accepts both layouts in the wild: VMware's (grain tables and directory after
 * the grains, footer, end-of-stream marker) and qemu's (tables first, no footer).
 *
 * Truncation is detected even where the format does not mark an end: every grain table seen on
 * the way (in front or inline) is counted, and the number of grains must match at the end. */

#include <stdint.h>

#include "err.h"
#include "input.h"
#include "vmdk.h"

struct vmdk_stream;

struct vmdk_grain {
        uint64_t lba;        /* first sector of the grain */
        uint32_t clen;       /* compressed bytes at data */
        const uint8_t *data; /* zlib stream; valid until the next call */
};

/* Reads the header and descriptor from in, which must be at offset 0. in stays the caller's. */
int vmdk_stream_new(struct input *in, struct vmdk_stream **ret, struct err *err);
struct vmdk_stream *vmdk_stream_free(struct vmdk_stream *s);
const struct vmdk_header *vmdk_stream_header(const struct vmdk_stream *s);

/* Returns 1 and the next grain, 0 at the end of the stream (after all checks passed), or
 * -errno with a message. */
int vmdk_stream_next(struct vmdk_stream *s, struct vmdk_grain *ret, struct err *err);

static inline void vmdk_stream_freep(struct vmdk_stream **s)
{
        vmdk_stream_free(*s);
}
