/* OVF manifest text. */
#include <stdint.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct manifest m;
        struct err err = { { 0 } };

        if (manifest_parse((const char *) data, size, &m, &err) == 0) {
                for (size_t i = 0; i < m.n_entries; i++)
                        (void) manifest_find(&m, m.entries[i].name);
                manifest_release(&m);
        }
        return 0;
}
