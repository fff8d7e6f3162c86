#pragma once
/* Human-readable sizes: "1.5 GiB". */

#include <stddef.h>
#include <stdint.h>

/* Writes a size with a binary prefix into buf and returns buf. */
const char *units_format_bytes(uint64_t bytes, char *buf, size_t size);

/* "500G", "2T", "8GiB", "512M" (binary units, "B" or "iB" after them allowed) into bytes; a
 * bare number counts in units of bare bytes (1, or 1 MiB for kickstart's sizes). 0, -EINVAL
 * when s is no such size, -ERANGE when it does not fit. */
int units_parse_bytes(const char *s, uint64_t bare, uint64_t *ret);
