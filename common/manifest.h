#pragma once
/* OVF manifests (.mf): one "ALG(name)= hex" line per file of the package. Exporters differ in
 * spacing ("SHA256 (name) = hex"), algorithm spelling ("SHA-256") and names ("./disk.vmdk");
 * all of those are read. Digests are computed on the same pass that reads the files, with
 * digest_input (a tee over any input). */

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "input.h"

#define MANIFEST_MAX_BYTES   (1u << 20)
#define MANIFEST_MAX_ENTRIES 10000u
#define MANIFEST_MAX_DIGEST  64

enum manifest_alg {
        MANIFEST_SHA1,
        MANIFEST_SHA256,
        MANIFEST_SHA512,
        MANIFEST_ALG_COUNT,
};

struct manifest_entry {
        enum manifest_alg alg;
        char *name;
        uint8_t digest[MANIFEST_MAX_DIGEST];
        size_t digest_len;
};

struct manifest {
        struct manifest_entry *entries;
        size_t n_entries;
};

extern const char *const manifest_alg_names[MANIFEST_ALG_COUNT];

int manifest_parse(const char *text, size_t len, struct manifest *ret, struct err *err);
void manifest_release(struct manifest *m);
const struct manifest_entry *manifest_find(const struct manifest *m, const char *name);
/* 0 when digest matches the entry, -EBADMSG with a message naming the file otherwise. */
int manifest_verify(const struct manifest_entry *e, const uint8_t *digest, size_t len,
                    struct err *err);

/* A forward-only input that reads through inner and hashes every byte on the way. */
int digest_input_new(struct input *inner, enum manifest_alg alg, struct input **ret);
/* Reads (and hashes) whatever the consumer left of inner, then gives the digest. */
int digest_input_finish(struct input *in, uint8_t out[MANIFEST_MAX_DIGEST], size_t *ret_len,
                        struct err *err);
