#pragma once
/* Pumps an opened image (with its backing chain flattened) into a writer.
 *
 * One thread reads: it walks the virtual disk in units (or, for a streamOptimized VMDK, walks
 * the grain markers front to back) and fetches the bytes; worker threads inflate compressed
 * grains and clusters (libdeflate), find zero clusters and deflate for compressed output; one
 * thread hands the units to the writer in their original order, so the output layout does not
 * depend on thread timing. At most a fixed number of units is in flight: memory stays bounded
 * whatever the image size. */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "image.h"
#include "writer.h"

#define CONVERT_MAX_THREADS 16

struct convert_options {
        struct writer_options out;
        unsigned threads;  /* inflate/deflate workers; 0 = one per CPU */
        uint64_t max_size; /* refuse a source with more virtual bytes (0: no limit) */
        /* Called from one thread with the virtual bytes finished so far. */
        void (*progress)(void *userdata, uint64_t done, uint64_t total);
        void *userdata;
        /* Set (e.g. by a signal handler) to stop early; the output is then removed. */
        volatile sig_atomic_t *cancel;
};

struct convert_stats {
        uint64_t virtual_size;
        uint64_t data_bytes; /* non-zero bytes written */
        uint64_t zero_bytes; /* skipped as zero */
        bool streamed;       /* read front to back from grain markers */
};

int convert_image(struct image *src, const char *dst, const struct convert_options *o,
                  struct convert_stats *ret_stats, struct err *err);

/* Converts the streamOptimized VMDK that in delivers front to back (a tar member, an HTTP
 * body), without seeking and without a temporary copy. in must be at the disk's first byte. */
int convert_vmdk_stream(struct input *in, const char *dst, const struct convert_options *o,
                        struct convert_stats *ret_stats, struct err *err);
