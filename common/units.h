#pragma once
/* Human-readable sizes: "1.5 GiB". */

#include <stddef.h>
#include <stdint.h>

/* Writes a size with a binary prefix into buf and returns buf. */
const char *units_format_bytes(uint64_t bytes, char *buf, size_t size);
