#pragma once
/* The live environment's initramfs: a cpio "newc" archive, compressed with zstd or gzip (both
 * of which Debian's kernel unpacks; libarchive's xz is not used: the kernel refuses its CRC64
 * check), built with libarchive from host files, programs with their shared libraries, busybox
 * and kernel modules.
 *
 * Entries are collected in memory and written by initramfs_finish(), sorted by path (parents
 * before children, as the kernel's unpacker needs), owned by 0:0, with a fixed mtime and
 * inode numbers given in that order, so that the same content gives the same bytes. The
 * output is written under a temporary name next to it and renamed when complete.
 *
 * Destinations are absolute paths inside the initramfs; missing parent directories are added
 * (0755). A destination below a symbolic link already added ("/lib/x" with "/lib -> usr/lib")
 * lands where the link points ("/usr/lib/x"). Adding a path again replaces the earlier entry
 * (identical re-adds are no-ops), except that a directory and a non-directory conflict
 * (-EEXIST). */

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Where /init finds the modules to load, one absolute path a line, dependencies first. */
#define INITRAMFS_MODULES_LIST "/etc/kvmforge/modules"
/* Every entry's mtime (the epoch), for byte-identical rebuilds. */
#define INITRAMFS_MTIME 0

struct initramfs;

enum initramfs_compression {
        INITRAMFS_ZSTD, /* the default */
        INITRAMFS_GZIP,
        INITRAMFS_NONE,
        INITRAMFS_COMPRESSION_COUNT,
};

/* A new, empty initramfs that initramfs_finish() will write to OUT. It already holds the
 * skeleton /init needs: /dev (with the /dev/console node, which the kernel opens for /init
 * before anything mounts devtmpfs), /proc, /sys, /run, /tmp (1777), /root (0700), /etc, and
 * the host's merged-/usr links (/bin -> usr/bin, /lib -> usr/lib, ...) where the host has them,
 * so that the paths of host programs and libraries hold inside. */
int initramfs_new(const char *out, struct initramfs **ret, struct err *err);
struct initramfs *initramfs_free(struct initramfs *ird);

/* LEVEL 0 picks the compressor's default. */
int initramfs_set_compression(struct initramfs *ird, enum initramfs_compression c, int level,
                              struct err *err);

int initramfs_add_dir(struct initramfs *ird, const char *dst, mode_t mode, struct err *err);
int initramfs_add_symlink(struct initramfs *ird, const char *dst, const char *target,
                          struct err *err);
/* A character or block device node (MODE with S_IFCHR or S_IFBLK); needs no privilege. */
int initramfs_add_node(struct initramfs *ird, const char *dst, mode_t mode, dev_t rdev,
                       struct err *err);
/* A regular file holding a copy of BUF. */
int initramfs_add_data(struct initramfs *ird, const char *dst, const void *buf, size_t len,
                       mode_t mode, struct err *err);
/* The host file SRC (symbolic links followed) as DST, read when the archive is written; MODE 0
 * keeps SRC's permission bits. */
int initramfs_add_file(struct initramfs *ird, const char *src, const char *dst, mode_t mode,
                       struct err *err);

/* A program (a path, or a name looked up in $PATH and the sbin and bin directories) at its
 * host path, with every shared library it needs (as ldd lists them, transitively) and the
 * ELF interpreter, symbolic links on the way kept as links. A script or a static program
 * comes alone. */
int initramfs_add_program(struct initramfs *ird, const char *path_or_name, struct err *err);

/* The same with the program itself as DST (mode 0755): a program from a build tree, such as
 * build/kvmforge-install as /usr/sbin/kvmforge-install, without a copy at its own path. */
int initramfs_add_program_at(struct initramfs *ird, const char *path_or_name, const char *dst,
                             struct err *err);

/* BUSYBOX (a path or a name) as a program, plus a link to it for each applet it lists
 * (`busybox --list-full`), where no entry is yet: a program added later replaces the link. */
int initramfs_add_busybox(struct initramfs *ird, const char *busybox, struct err *err);

/* The modules NAMES (as modprobe takes them: "xhci_pci" or "xhci-pci") of the unpacked tree
 * MODULES_DIR (".../lib/modules/RELEASE"), and what they depend on (modules.dep when the
 * tree has one, else each module's .modinfo "depends="; "softdep=" modules too, when there),
 * decompressed if .ko.xz, .ko.zst or .ko.gz, as /usr/lib/modules/RELEASE/.../NAME.ko, and
 * listed in load order in INITRAMFS_MODULES_LIST. A name not in the tree is skipped (it is
 * built in, or the kernel lacks it); a missing dependency of a module found is an error. */
int initramfs_add_modules(struct initramfs *ird, const char *modules_dir, const char *const *names,
                          size_t n, struct err *err);

/* Number of entries so far, and of modules in the load order (for the front-ends' notes). */
size_t initramfs_count(const struct initramfs *ird);
size_t initramfs_module_count(const struct initramfs *ird);

/* Writes the archive (temporary name, then renamed over OUT). May be called once. */
int initramfs_finish(struct initramfs *ird, struct err *err);
