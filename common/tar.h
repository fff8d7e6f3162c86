#pragma once
/* Reads a tar archive (ustar, GNU and pax extensions) front to back from an input that may be a
 * stream, and hands out each member as a forward-only input of its own: an OVA is read in one
 * pass, its disks converted while their bytes go by. Archives come from strangers: names are
 * checked (no absolute paths, no "..", no backslashes), only regular files and directories are
 * accepted (links, devices and FIFOs are refused), header checksums verified, sizes bounded. */

#include <stdint.h>

#include "err.h"
#include "input.h"

#define TAR_BLOCK      512
#define TAR_MAX_NAME   4096
#define TAR_MAX_PAX    (64u << 10) /* bytes of pax extended header we accept */
#define TAR_MAX_MEMBER (UINT64_C(1) << 50)

enum tar_type {
        TAR_FILE,
        TAR_DIRECTORY,
};

struct tar_entry {
        const char *name; /* normalized: no leading "./"; valid until the next tar_next() */
        uint64_t size;
        enum tar_type type;
};

struct tar;

/* in stays the caller's and must be at the start of the archive. */
int tar_new(struct input *in, struct tar **ret);
struct tar *tar_free(struct tar *t);

/* Moves to the next member, skipping what is left of the current one. Returns 1 with the entry,
 * 0 at the end of the archive, or -errno (-EBADMSG for a corrupt or hostile archive). */
int tar_next(struct tar *t, struct tar_entry *ret, struct err *err);

/* The current member as a forward-only input of entry.size bytes; owned by t and valid until
 * the next tar_next(). Reading it advances the archive. */
struct input *tar_member(struct tar *t);

/* Lets a caller see each chunk of a chunked file on its own: manifests list the chunks, not
 * the file. begin() may return an input that reads through the member (a digest), which is then
 * read in its place; end() is called once that chunk's bytes have all been read. */
struct tar_chunk_hooks {
        int (*begin)(void *userdata, const char *name, struct input *member,
                     struct input **ret_read);
        int (*end)(void *userdata, const char *name, struct input *read);
        void *userdata;
};

/* A file that the OVF splits with ovf:chunkSize into members href.000000000, href.000000001,
 * ... as one forward-only input. The current entry must be the first chunk. When the last chunk
 * ends, the member after it (if any) is kept for the caller's next tar_next(). A missing or
 * misordered chunk fails the read with -EBADMSG. hooks may be NULL. Free it with input_free()
 * before t. */
int tar_chunks_new(struct tar *t, const char *href, const struct tar_chunk_hooks *hooks,
                   struct input **ret, struct err *err);

/* Checks a member name from an archive: relative, no ".." component, no backslash, not empty. */
int tar_check_name(const char *name, struct err *err);

static inline void tar_freep(struct tar **t)
{
        tar_free(*t);
}
