/* gzip streams (OVF files with ovf:compression="gzip"), read to their end in odd pieces. */
#include <stdint.h>

#include "gzip.h"
#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct input *in = NULL, *g = NULL;
        uint8_t buf[3000];
        ssize_t n;
        unsigned i = 0;

        if (input_new_memory(data, size, "fuzz.gz", &in) < 0)
                return 0;
        if (gzip_input_new(in, &g) == 0) {
                /* bounded: a small input may inflate to a lot */
                do
                        n = input_read(g, buf, 1 + (i * 977) % sizeof(buf));
                while (n > 0 && ++i < 20000);
                input_free(g);
        }
        input_free(in);
        return 0;
}
