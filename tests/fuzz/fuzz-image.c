/* A whole image opened from memory (qcow2 header and tables, VMDK sparse header, embedded
 * descriptor, grain directory and tables) and mapped from end to end. */
#include <stdint.h>

#include "image.h"
#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct input *in = NULL;
        struct image *img = NULL;
        struct err err = { { 0 } };
        uint64_t off = 0;

        if (input_new_memory(data, size, "fuzz.img", &in) < 0)
                return 0;
        if (image_open(in, IMAGE_FORMAT_PROBE, &img, &err) < 0)
                return 0;
        /* Bounded: a hostile size must not make the walk endless. */
        for (unsigned i = 0; i < 4096 && off < img->size; i++) {
                struct image_map m;
                struct err e = { { 0 } };
                if (image_map_chain(img, off, img->size - off, &m, &e) < 0)
                        break;
                off += m.len;
        }
        image_free(img);
        return 0;
}
