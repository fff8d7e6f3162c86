#pragma once
/* Hybrid BIOS/UEFI ISO 9660 images written by libisofs: streamed, without loop devices,
 * mounts or root. The layout is the one of `xorriso -as mkisofs --grub2-mbr ...
 * -append_partition 2 <ESP> -e --interval:appended_partition_2:all::`: bootable from optical
 * media (El Torito, BIOS and EFI entries) and when written raw to a disk (MBR + GPT, the ESP
 * as partition 2). */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

#define ISOFS_MAX_EXTRA 256

/* Called now and then while the image is written and once at its end (done == total). */
typedef void (*isofs_progress_fn)(void *userdata, uint64_t done, uint64_t total);

struct isofs_file {
        const char *src; /* a regular file on the host */
        const char *dst; /* absolute path on the ISO: "/boot/grub/grub.cfg" */
};

struct isofs_options {
        const char *volume_id; /* up to 32 characters of [A-Z0-9_]; NULL: "KVMFORGE" */
        const char *staging;   /* a directory whose contents become the ISO root, or NULL */
        /* Host files put on the ISO besides the staging tree (missing directories are made;
         * a path that is in the staging tree too is refused). */
        const struct isofs_file *extra;
        size_t n_extra;
        /* BIOS: ISO path of GRUB's El Torito core (no emulation, load size 4, boot info
         * table, GRUB2 boot info), or NULL for no BIOS boot. */
        const char *bios_image;
        const char *catalog; /* ISO path of the (hidden) boot catalog; NULL: "/boot.catalog" */
        /* Host path of GRUB's boot_hybrid.img: the MBR boot code that loads bios_image from a
         * disk (GRUB2 MBR patching). NULL: no boot code. */
        const char *mbr_image;
        /* Host path of the FAT ESP image: appended as GPT partition 2 and named by the EFI
         * El Torito entry. NULL: no UEFI boot. */
        const char *efi_image;
        time_t timestamp; /* all dates and the volume "UUID"; < 0: now */
        isofs_progress_fn progress;
        void *userdata;
};

/* Writes the ISO to a temporary file beside out and renames it to out when complete; on
 * failure the temporary file is removed. The same inputs and timestamp give the same bytes. */
int isofs_write(const struct isofs_options *o, const char *out, struct err *err);

/* Whether s is a usable volume id (1-32 characters of [A-Z0-9_]). */
int isofs_volume_id_check(const char *s, struct err *err);
