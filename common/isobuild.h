#pragma once
/* Building the installer ISO, end to end: the answer checked (a bad one fails the build with
 * its line), the payload (payload.c), console keymaps for the keyboards the installer offers
 * (ckbcomp and loadkeys; one that cannot be made is logged and skipped), the live
 * environment's initramfs (initramfs.c) with kvmforge-install and the tools the install runs,
 * the terminfo entries newt needs, the host's time zones and those keymaps, then the hybrid
 * BIOS/UEFI ISO with its boot menu (bootmenu.c, isofs.c). Each stage is reported with its
 * duration. */
#include "err.h"
#include <stdbool.h>
#include <stddef.h>

/* In the live environment: a keymap per keyboard of choices_keyboards that could be made, as
 * NAME.bmap (busybox's `loadkmap < FILE` loads it on a VT), and tzdata's zone files, links and
 * zone1970.tab, zone.tab and iso3166.tab (not posix/ and right/). */
#define ISOBUILD_KEYMAP_DIR   "/usr/share/kvmforge/keymaps"
#define ISOBUILD_ZONEINFO_DIR "/usr/share/zoneinfo"

struct isobuild_options {
        const char *suite, *mirror; /* the payload's Debian; NULL: payload.h's defaults */
        const char *answer;         /* a kickstart file to embed, or NULL */
        char **packages;            /* more packages for the node */
        size_t n_packages;
        const char *label;     /* the ISO's volume label; NULL: "KVMFORGE" */
        const char *console;   /* "ttyS0,115200": every entry also on that port */
        const char *tools_dir; /* kvmforge-install, kvmforge-postinst, kvmforge-image and
                                * iso/kvmforge-init (a build directory) */
        const char *data_dir;  /* the source tree: iso/, postinst/ */
        const char *cache_dir; /* the payload's base tree is kept here */
        const char *work_dir;  /* scratch space (removed at the end); NULL: cache_dir */
        long timestamp;        /* every date on the ISO; < 0: now */
        int log_fd;            /* mmdebstrap's and grub-mkimage's output */
        /* Told when a stage begins (seconds == 0) and ends (seconds > 0, what it did). */
        void (*stage)(void *userdata, const char *name, double seconds, const char *what);
        void *userdata;
};

/* Kernel modules the live environment loads: disks, filesystems, USB, NICs, keyboards. */
extern const char *const isobuild_modules[];
/* Programs the install runs (with their libraries); busybox gives the shell and the rest. */
extern const char *const isobuild_programs[];

/* Checks an answer file as the installer would, without the machine: 0, or -EINVAL with err
 * holding its first error ("ks.cfg:12:3: error: ..."). */
int isobuild_check_answer(const char *path, struct err *err);

/* Writes the ISO to out (temporary name, renamed when complete). */
int isobuild_run(const struct isobuild_options *o, const char *out, struct err *err);
