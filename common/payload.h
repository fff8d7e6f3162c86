#pragma once
/* The install payload: the node's whole root filesystem (Debian with the hypervisor stack),
 * made once by mmdebstrap from the Debian archive and packed as one tar.zst, so that an install
 * unpacks it instead of running debootstrap on the server and needs no network.
 *
 * Building keeps mmdebstrap's tree in a cache named by its inputs (suite, mirror, packages), so
 * a second build with the same inputs downloads nothing; kvmforge's own files are added on each
 * build. The kernel and its modules are copied out on the way: the live environment boots the
 * node's own kernel. Unpacking streams the archive onto the target with libarchive. */
#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAYLOAD_DEFAULT_SUITE  "bookworm"
#define PAYLOAD_DEFAULT_MIRROR "http://deb.debian.org/debian"

/* What every node gets; the options' packages come on top. */
extern const char *const payload_packages[];

struct payload_file {
        const char *src; /* a file on this machine */
        const char *dst; /* its path in the payload, "usr/sbin/kvmforge-postinst" */
        unsigned mode;
};

struct payload_options {
        const char *suite, *mirror; /* NULL: the defaults */
        char **packages;            /* more packages for the node */
        size_t n_packages;
        const struct payload_file *files; /* kvmforge's own */
        size_t n_files;
        const char *cache_dir; /* where mmdebstrap's tree is kept */
        int log_fd;            /* mmdebstrap's output; -1: none */
};

struct payload_info {
        char kernel_release[64]; /* "6.1.0-37-amd64" */
        uint64_t entries, bytes; /* in the archive: what an unpack's progress counts */
        bool reused;             /* mmdebstrap did not run: its tree was in the cache */
        char cache_key[17];
};

/* Writes the payload to out (temporary name, renamed when complete), the kernel to
 * boot_dir/vmlinuz with its modules under boot_dir/modules/RELEASE/, and dpkg's status file
 * to boot_dir/dpkg-status. */
int payload_build(const struct payload_options *o, const char *out, const char *boot_dir,
                  struct payload_info *ret, struct err *err);

/* Unpacks the payload at path into root (an empty filesystem tree): owners, modes, times,
 * hard links, symbolic links and extended attributes (file capabilities) as archived, nothing
 * outside root. progress is called now and then with the bytes of archive read so far. */
int payload_unpack(const char *path, const char *root,
                   void (*progress)(void *userdata, uint64_t done, uint64_t total), void *userdata,
                   struct err *err);
