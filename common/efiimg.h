#pragma once
/* The EFI system partition image of the install medium: a FAT file system holding a few
 * files (EFI/BOOT/BOOTX64.EFI, EFI/BOOT/grub.cfg), made by mtools as child processes, so
 * nothing is mounted and no root is needed. */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

#define EFIIMG_MAX_FILES 64

struct efiimg_file {
        const char *src; /* a regular file on the host */
        const char *dst; /* its path in the image: "EFI/BOOT/BOOTX64.EFI" (8.3-safe names) */
};

struct efiimg_options {
        const char *label;  /* volume label, up to 11 characters; NULL: "EFIBOOT" */
        uint32_t serial;    /* volume serial; 0: derived from the timestamp */
        time_t timestamp;   /* every date in the image; < 0: now */
        uint64_t min_bytes; /* the image is at least this large (0: no minimum) */
};

/* Writes the FAT image holding files to out (through a temporary name beside it, renamed
 * when complete). Its size is the files' plus headroom for the FAT, directories and slack,
 * rounded up to 1 MiB (at least o->min_bytes). Same inputs and timestamp give the same
 * bytes. Needs mformat, mmd, mcopy in PATH. */
int efiimg_write(const char *out, const struct efiimg_file *files, size_t n_files,
                 const struct efiimg_options *o, struct err *err);

/* The size efiimg_write() chooses for a payload of payload_bytes in n_files files. */
uint64_t efiimg_size_for(uint64_t payload_bytes, size_t n_files);
