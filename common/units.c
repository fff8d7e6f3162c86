#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

int units_parse_bytes(const char *s, uint64_t bare, uint64_t *ret)
{
        static const char units[] = "KMGTP";
        char *end;
        unsigned long long v;
        uint64_t mul = bare;

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno)
                return -ERANGE;
        if (*end) {
                const char *u = strchr(units, toupper((unsigned char) *end));
                if (!u || !*u)
                        return -EINVAL;
                mul = 1ull << (10 * (u - units + 1));
                end++;
                if (*end && strcasecmp(end, "iB") != 0 && strcasecmp(end, "B") != 0)
                        return -EINVAL;
        }
        if (mul && v > UINT64_MAX / mul)
                return -ERANGE;
        *ret = v * mul;
        return 0;
}
