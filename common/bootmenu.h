#pragma once
/* The boot side of the install ISO: GRUB's boot images (grub-mkimage, every module the menu
 * needs embedded, with an early config that finds this very medium), the menu (grub.cfg) and
 * the one call that turns a staging directory into a bootable hybrid BIOS/UEFI ISO. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "err.h"
#include "hw.h"
#include "isofs.h"

/* The file at the medium's root that the live initramfs looks for (HW_MEDIUM_MARKER). */
#define BOOTMENU_MEDIUM_MARKER HW_MEDIUM_MARKER
/* Paths on the ISO. */
#define BOOTMENU_GRUB_CFG   "/boot/grub/grub.cfg"
#define BOOTMENU_ELTORITO   "/boot/grub/i386-pc/eltorito.img"
#define BOOTMENU_CATALOG    "/boot/grub/boot.cat"
#define BOOTMENU_FONT       "/boot/grub/fonts/unicode.pf2"
#define BOOTMENU_EFI_LOADER "/EFI/BOOT/BOOTX64.EFI"

#define BOOTMENU_TIMEOUT_DEFAULT    (-1) /* 5 s with an embedded answer, else wait */
#define BOOTMENU_TIMEOUT_WAIT       (-2) /* never start an entry by itself */
#define BOOTMENU_UNATTENDED_TIMEOUT 5

struct bootmenu_options {
        const char *label;   /* product name in the titles: "kvmforge"; NULL: "kvmforge" */
        const char *version; /* "1.0", or NULL */
        const char *kernel;  /* path on the ISO: "/boot/vmlinuz" */
        const char *initrd;  /* path on the ISO: "/boot/initrd.img" */
        bool answer_embedded;
        const char *console; /* "ttyS0,115200", or NULL */
        int timeout;         /* seconds, or BOOTMENU_TIMEOUT_DEFAULT / _WAIT */
        const char *append;  /* more kernel arguments for every entry, or NULL */
        bool font;           /* BOOTMENU_FONT is on the ISO: GRUB draws a graphical menu */
};

/* Checks the options as bootmenu_write_cfg() would (0 or -EINVAL with err). */
int bootmenu_check(const struct bootmenu_options *o, struct err *err);

/* Writes grub.cfg for the ISO to f. Titles are quoted for GRUB; paths, the console spec and
 * the extra arguments are refused (-EINVAL) unless made of plain characters. */
int bootmenu_write_cfg(FILE *f, const struct bootmenu_options *o, struct err *err);

/* A build id suitable for the medium's marker file name: [A-Za-z0-9._-], 1-64 characters. */
bool bootmenu_build_id_valid(const char *id);

/* Runs grub-mkimage twice: the BIOS El Torito core (i386-pc-eltorito) to out_eltorito and the
 * UEFI loader (x86_64-efi) to out_efi (either may be NULL). Both embed the modules the menu
 * uses and an early config that sets root to the medium holding /.kvmforge-medium-<build_id>
 * and loads /boot/grub/grub.cfg from it. grub_lib: GRUB's module directory parent, NULL for
 * /usr/lib/grub. */
int bootmenu_make_grub_images(const char *build_id, const char *grub_lib, const char *out_eltorito,
                              const char *out_efi, struct err *err);

struct bootmenu_iso_options {
        const char *staging;   /* the ISO's root; must not hold the files added below */
        const char *volume_id; /* ISO volume label; NULL: "KVMFORGE" */
        const char *build_id;  /* NULL: derived from volume_id and timestamp */
        time_t timestamp;      /* every date on the ISO; < 0: now */
        /* The menu: either a ready grub.cfg (host path), or one written from menu. */
        const char *grub_cfg;
        struct bootmenu_options menu;
        const char *grub_lib;  /* NULL: /usr/lib/grub */
        const char *font_file; /* NULL: /usr/share/grub/unicode.pf2 if there; "" for none */
        const char *work_dir;  /* for the intermediate files; NULL: $TMPDIR or /tmp */
        isofs_progress_fn progress;
        void *userdata;
};

/* Builds the hybrid ISO at out: GRUB's images, the ESP image, the menu, the marker files
 * (/.kvmforge-medium and /.kvmforge-medium-<build id>) and the staging tree, written by
 * isofs_write(). On failure nothing is left at out nor in the work directory. */
int bootmenu_make_iso(const struct bootmenu_iso_options *o, const char *out, struct err *err);
