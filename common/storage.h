#pragma once
/* The storage plan: which disks are used and wiped, their partition tables, the LVM volume
 * group with its volumes, and the filesystems, as plain data computed from the disks, the RAM
 * and the answer alone. Nothing here touches a disk: the plan is shown first, then applied
 * (storage_apply, separately). Sizes are bytes; everything is aligned to MiB (partitions) or
 * to LVM's 4 MiB extents (volumes).
 *
 * The default layout starts from Proxmox VE's sizing rules (swap from the RAM, root a share of
 * the disk capped at 96 GiB, a reserve left free for snapshots, thin-pool metadata 1% clamped
 * to 1..16 GiB) and says in words where space stays unallocated. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

struct answer;
struct hw_disk;
struct json;

#define STORAGE_VG        "kvmforge"
#define STORAGE_MIN_DISK  (8ull << 30) /* smaller disks are refused */
#define STORAGE_MAX_PARTS 16
#define STORAGE_MAX_LVS   32

enum storage_ptype {
        STORAGE_PT_BIOSBOOT, /* GRUB's core image on BIOS machines with GPT */
        STORAGE_PT_ESP,
        STORAGE_PT_LVM,
        STORAGE_PT_RAID,
        STORAGE_PT_SWAP,
        STORAGE_PT_LINUX,
        STORAGE_PT_COUNT,
};
extern const char *const storage_ptype_names[STORAGE_PT_COUNT];

struct storage_part {
        unsigned number;
        uint64_t start, size;
        enum storage_ptype type;
        char fstype[16]; /* "" for none (BIOS boot, PV, RAID member) */
        char mount[64];
        char vg[64];   /* the VG this PV belongs to */
        char name[32]; /* the answer's name for it (pv.01, raid.01), or "" */
};

struct storage_disk {
        char name[32], path[48], id[96]; /* id: a /dev/disk/by-id name, "" when none */
        uint64_t size;
        unsigned sector;
        bool wipe;
        char holds[160]; /* what is on it now, in words; "" when blank */
        struct storage_part parts[STORAGE_MAX_PARTS];
        size_t n_parts;
};

struct storage_lv {
        char name[64];
        uint64_t size; /* a thin volume's is virtual: it takes no room in the VG */
        bool thinpool;
        char pool[64];     /* a thin volume's pool, "" for others */
        uint64_t metadata; /* a thin pool's metadata LV (LVM keeps a spare of the same size) */
        char fstype[16];
        char mount[64];
};

struct storage_vg {
        char name[64];
        uint64_t size, free;
        struct storage_lv lvs[STORAGE_MAX_LVS];
        size_t n_lvs;
};

struct storage_rename {
        char from[64], to[64];
};

/* An md RAID array over partitions of the plan (RAID1 for boot redundancy). */
struct storage_md {
        char device[32]; /* "md0" */
        unsigned level;
        struct {
                size_t disk;     /* index in storage_plan.disks */
                unsigned number; /* partition number there */
        } members[8];
        size_t n_members;
        uint64_t size;   /* what the array offers */
        char fstype[16]; /* a filesystem on it, or "" */
        char mount[64];
        char vg[64]; /* or the VG it is a PV of */
};

struct storage_plan {
        struct storage_disk *disks;
        size_t n_disks;
        struct storage_md mds[4];
        size_t n_mds;
        struct storage_vg vg;             /* vg.name[0] == 0: no LVM */
        struct storage_rename renames[4]; /* VGs of earlier installs on other disks */
        size_t n_renames;
        char **notes; /* what the reader must know: space left free, VGs renamed */
        size_t n_notes;
};

struct storage_input {
        const struct hw_disk *disks;
        size_t n_disks;
        uint64_t ram;                /* bytes */
        const struct answer *answer; /* NULL: the defaults */
};

/* Plans the layout: 0, or -errno with err saying why no plan is possible (no disk, too small,
 * ambiguous, a disk holding data without permission to wipe it, ...). */
int storage_plan(const struct storage_input *in, struct storage_plan *ret, struct err *err);
void storage_plan_release(struct storage_plan *p);

/* The plan for a person: disks to be erased by name, partitions, volumes, notes. */
void storage_plan_print(const struct storage_plan *p, FILE *f);
void storage_plan_json(const struct storage_plan *p, struct json *j);

/* What is on d now, in words: "a gpt partition table, ext4 'root', LVM2_member in VG 'pve'";
 * "" when blank. */
void storage_disk_words(const struct hw_disk *d, char *buf, size_t size);

/* Proxmox's swap size for a system of ram bytes with os bytes for LVM. */
uint64_t storage_swap_size(uint64_t ram, uint64_t os);

/* Writes d's partition table onto path, a block device (opened exclusively: refused while
 * anything uses it) or an image file: old signatures wiped first (the whole disk's, and 1 MiB
 * at both ends of every new partition, where LVM, md and filesystems keep theirs), then a fresh
 * GPT with the plan's partitions, type GUIDs and names, exactly where the plan puts them. */
int storage_write_table(const struct storage_disk *d, const char *path, struct err *err);

struct storage_apply_options {
        int log_fd;            /* every command and its output; -1: none */
        const char *mount_dir; /* mount the new root (and the ESP under it) here, or NULL */
        /* Called before each step ("creating the partition table on /dev/sda"), or NULL. */
        void (*step)(void *userdata, const char *what);
        void *userdata;
};

/* Applies the plan: what holds the chosen disks is released (their VGs deactivated), the
 * partition tables written, old VGs of the same name renamed, the PV, VG, LVs and thin pool
 * made with lvm2's tools (argument vectors, no shell), the filesystems and swap made, and the
 * result mounted when asked. Stops at the first failure with err naming the step, the device
 * and the tool's own last words; a re-run with the same plan starts over cleanly. */
int storage_apply(const struct storage_plan *p, const struct storage_apply_options *o,
                  struct err *err);
