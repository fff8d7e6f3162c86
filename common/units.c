#include "units.h"

#include <stdio.h>

const char *units_format_bytes(uint64_t bytes, char *buf, size_t size)
{
        static const char *const suffix[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double v = (double) bytes;
        unsigned i = 0;

        while (v >= 1024 && i + 1 < sizeof(suffix) / sizeof(suffix[0])) {
                v /= 1024;
                i++;
        }
        if (i == 0)
                (void) snprintf(buf, size, "%llu B", (unsigned long long) bytes);
        else
                (void) snprintf(buf, size, "%.1f %s", v, suffix[i]);
        return buf;
}
