#pragma once
/* Imports an OVF package: an OVA (tar) read in one forward pass, or an .ovf with its files
 * beside it, from a local path or any other input (an HTTP body). import_open() reads only as
 * far as the descriptor and returns the plan: the VMs as libvirt domains. import_run() then
 * reads the rest once: each disk is hashed for the manifest and converted to qcow2 while its
 * bytes go by, compressed and chunked files included. On failure nothing it wrote remains. */

#include <stdbool.h>
#include <stddef.h>

#include "convert.h"
#include "domain.h"
#include "err.h"
#include "input.h"
#include "manifest.h"
#include "ovf.h"
#include "tar.h"

#define IMPORT_MAX_FILES 256

struct import_options {
        const char *vm;         /* import only this VM (ovf:id); NULL: all */
        const char *deployment; /* DeploymentOptionSection configuration; NULL: the default */
        bool no_verify;         /* do not stop on manifest mismatches or missing files */
        struct domain_options domain;
        struct convert_options convert; /* threads, cancel; the output is always qcow2 */
        /* Called as each disk is converted (userdata is convert.userdata). */
        void (*disk_progress)(void *userdata, const struct domain_disk *disk, uint64_t done,
                              uint64_t total);
        /* With domain.pool: called with each finished disk, a qcow2 image in a private spool
         * directory, to store it in the pool; the image is deleted after the call. */
        int (*store)(void *userdata, const struct domain_disk *disk, const char *file,
                     struct err *err);
        void *store_userdata;
};

struct import {
        char *source; /* for messages */
        bool ova;
        struct ovf ovf;
        struct domain *domains;
        size_t n_domains;
        char **notes; /* what the user should know about the package itself */
        size_t n_notes;
        bool manifest_seen;
        bool verified; /* a manifest was found and every file it lists matched */

        /* Private: the walk. */
        struct import_options opt;
        struct input *in;
        struct tar *tar;
        struct tar_entry first; /* the member after the descriptor, for import_run() */
        int pending;            /* tar_next()'s result for it: 1, 0 or -errno */
        struct manifest manifest;
        struct import_seen *seen;
        size_t n_seen;
        char *spool;    /* with a pool: where disks wait for their upload */
        char **created; /* files written, removed by import_rollback() */
        size_t n_created;
        const struct domain_disk *current; /* for progress */
        struct hashes *chunk_hashes;       /* of the chunk being read */
        struct err chunk_err;
};

/* True when name (a path or a URL) names an .ovf descriptor rather than an OVA. */
bool import_is_ovf(const char *name);

/* Takes ownership of in (also on failure). */
int import_open(struct input *in, bool ova, const struct import_options *opt, struct import **ret,
                struct err *err);
int import_run(struct import *im, struct err *err);
/* Removes every file import_run() created; for the caller's failures after a successful run. */
void import_rollback(struct import *im);
struct import *import_free(struct import *im);

static inline void import_freep(struct import **im)
{
        import_free(*im);
}
