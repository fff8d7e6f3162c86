/* OVF descriptors: XML from strangers, with and without a chosen deployment option. */
#include <stdint.h>

#include <libxml/parser.h>

#include "ovf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ovf o;
        struct err err = { { 0 } };

        if (ovf_parse((const char *) data, size, NULL, &o, &err) == 0)
                ovf_release(&o);
        if (ovf_parse((const char *) data, size, "small", &o, &err) == 0)
                ovf_release(&o);
        xmlResetLastError();
        return 0;
}
