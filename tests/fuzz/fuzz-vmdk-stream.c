/* streamOptimized VMDK front to back: header, front tables, grain and metadata markers, and
 * the grains themselves inflated as the converter does. */
#include <libdeflate.h>
#include <stdint.h>
#include <stdlib.h>

#include "input.h"
#include "vmdk_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct input *in = NULL;
        struct vmdk_stream *s = NULL;
        struct libdeflate_decompressor *d = NULL;
        struct err err = { { 0 } };
        uint8_t *grain = NULL;
        size_t grain_bytes;

        if (input_new_memory(data, size, "fuzz.vmdk", &in) < 0)
                return 0;
        if (vmdk_stream_new(in, &s, &err) < 0)
                goto out;
        grain_bytes = vmdk_stream_header(s)->grain_size * 512;
        grain = malloc(grain_bytes);
        d = libdeflate_alloc_decompressor();
        if (!grain || !d)
                goto out;
        for (unsigned i = 0; i < 100000; i++) {
                struct vmdk_grain g;
                size_t used, got;
                if (vmdk_stream_next(s, &g, &err) <= 0)
                        break;
                (void) libdeflate_zlib_decompress_ex(d, g.data, g.clen, grain, grain_bytes, &used,
                                                     &got);
        }
out:
        libdeflate_free_decompressor(d);
        free(grain);
        vmdk_stream_free(s);
        input_free(in);
        return 0;
}
