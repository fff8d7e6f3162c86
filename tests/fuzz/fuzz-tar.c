/* tar archives (OVA containers) read front to back, every member read to its end; a member
 * named like a first chunk ("x.000000000") is read with the following chunks as one file. */
#include <stdint.h>
#include <string.h>

#include "input.h"
#include "tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct input *in = NULL;
        struct tar *t = NULL;
        struct tar_entry e;
        struct err err = { { 0 } };
        uint8_t buf[4096];

        if (input_new_memory(data, size, "fuzz.ova", &in) < 0)
                return 0;
        if (tar_new(in, &t) == 0) {
                for (unsigned i = 0; i < 10000 && tar_next(t, &e, &err) > 0; i++) {
                        size_t n = strlen(e.name);
                        struct input *c = NULL;
                        char href[TAR_MAX_NAME + 1];

                        if (n > 10 && strcmp(e.name + n - 10, ".000000000") == 0) {
                                memcpy(href, e.name, n - 10);
                                href[n - 10] = 0;
                                if (tar_chunks_new(t, href, NULL, &c, &err) == 0) {
                                        while (input_read(c, buf, sizeof(buf)) > 0)
                                                ;
                                        input_free(c);
                                        continue;
                                }
                        }
                        while (input_read(tar_member(t), buf, sizeof(buf)) > 0)
                                ;
                }
                tar_free(t);
        }
        input_free(in);
        return 0;
}
