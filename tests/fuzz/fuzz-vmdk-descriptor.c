/* VMDK descriptor text: key = value lines and extent lines. */
#include <stdint.h>

#include "vmdk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct vmdk_desc d;
        struct err err = { { 0 } };

        if (vmdk_parse_descriptor((const char *) data, size, &d, &err) == 0)
                vmdk_desc_release(&d);
        return 0;
}
