#pragma once
/* Inflates a gzip stream (RFC 1952; concatenated members, as pigz and split tools write them)
 * from a forward-only input, as another forward-only input: OVF files marked
 * ovf:compression="gzip" are converted while they stream by, never unpacked to disk. */

#include "err.h"
#include "input.h"

/* inner stays the caller's. The result's size is unknown (UINT64_MAX). A truncated or corrupt
 * stream makes reads fail with -EBADMSG. */
int gzip_input_new(struct input *inner, struct input **ret);
