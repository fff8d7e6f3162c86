#pragma once
/* Writes qcow2 v3 in one pass with bounded memory, whatever the image size:
 *   cluster 0 header · L1 table · refcount table (sized for the largest possible file) ·
 *   then, appended as data arrives: data clusters, L2 tables (reserved on first use, kept in a
 *   small cache and written back), one refcount block at the start of every 2 GiB region.
 * Every cluster is referenced exactly once except compressed clusters, which count the
 * compressed entries that touch them; because allocation only moves forward, a region's
 * refcount block is final once allocation leaves the region, so only one is kept in memory.
 * With prealloc_metadata every L2 table is laid out in front and data clusters sit at fixed
 * places (holes until written), as qemu's preallocation=metadata. */

#include "writer.h"

int qcow2_writer_open(const char *path, uint64_t size, const struct writer_options *o,
                      struct writer **ret, struct err *err);
