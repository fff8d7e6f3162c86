/* The 512-byte VMDK sparse extent header. */
#include <stdint.h>

#include "vmdk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct vmdk_header h;
        struct err err = { { 0 } };

        (void) vmdk_parse_header(data, size, size, &h, &err);
        return 0;
}
