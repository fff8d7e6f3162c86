#pragma once
/* Fixed-endian loads and stores for on-disk structures (VMDK is little-endian, qcow2 big). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t le32_load(const void *p)
{
        const uint8_t *b = p;
        return (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 |
               (uint32_t) b[3] << 24;
}

static inline uint64_t le64_load(const void *p)
{
        return (uint64_t) le32_load(p) | (uint64_t) le32_load((const uint8_t *) p + 4) << 32;
}

static inline uint16_t le16_load(const void *p)
{
        const uint8_t *b = p;
        return (uint16_t) (b[0] | b[1] << 8);
}

static inline uint32_t be32_load(const void *p)
{
        const uint8_t *b = p;
        return (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 | (uint32_t) b[2] << 8 |
               (uint32_t) b[3];
}

static inline uint64_t be64_load(const void *p)
{
        return (uint64_t) be32_load(p) << 32 | be32_load((const uint8_t *) p + 4);
}

static inline void le32_store(void *p, uint32_t v)
{
        uint8_t *b = p;
        b[0] = (uint8_t) v;
        b[1] = (uint8_t) (v >> 8);
        b[2] = (uint8_t) (v >> 16);
        b[3] = (uint8_t) (v >> 24);
}

static inline void le64_store(void *p, uint64_t v)
{
        le32_store(p, (uint32_t) v);
        le32_store((uint8_t *) p + 4, (uint32_t) (v >> 32));
}

static inline void be32_store(void *p, uint32_t v)
{
        uint8_t *b = p;
        b[0] = (uint8_t) (v >> 24);
        b[1] = (uint8_t) (v >> 16);
        b[2] = (uint8_t) (v >> 8);
        b[3] = (uint8_t) v;
}

static inline void be64_store(void *p, uint64_t v)
{
        be32_store(p, (uint32_t) (v >> 32));
        be32_store((uint8_t *) p + 4, (uint32_t) v);
}

static inline void be16_store(void *p, uint16_t v)
{
        uint8_t *b = p;
        b[0] = (uint8_t) (v >> 8);
        b[1] = (uint8_t) v;
}

/* True when all len bytes are zero. Checks a short head first (most data fails there), then
 * compares the buffer with itself shifted, which libc runs at memory speed. */
static inline bool bytes_are_zero(const void *buf, size_t len)
{
        const uint8_t *b = buf;
        size_t head = len < 16 ? len : 16;

        for (size_t i = 0; i < head; i++)
                if (b[i])
                        return false;
        return len <= 16 || memcmp(b, b + 16, len - 16) == 0;
}

static inline uint64_t div_round_up(uint64_t a, uint64_t b)
{
        return a / b + (a % b != 0);
}
