#pragma once
/* The hardware report: what the installer must know about a machine before it touches a disk,
 * as plain data (printed by `kvmforge-install detect`, sent to answer servers as JSON).
 *
 * Everything is read through a struct hw_source: the live system, or a captured tree
 * (--sysroot) holding proc/, sys/, dev/disk/ and, in place of the CPU's own answers,
 * kvmforge/cpuid ("LEAF SUBLEAF EAX EBX ECX EDX" in hex, a line each), kvmforge/msr
 * ("MSR VALUE" in hex) and kvmforge/kvm (the KVM API version, when /dev/kvm works). What cannot
 * be read is said in the report, never guessed. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define HW_MAX_FILE (1u << 20) /* the largest proc/sys file read */

/* The file the install medium carries at its root, so that it is found by content (the ISO
 * build writes it; detection and the answer fetch look for it). */
#define HW_MEDIUM_MARKER ".kvmforge-medium"

struct hw_source {
        const char *sysroot; /* NULL: the live system */
};

/* Reads sysroot + path (at most max - 1 bytes, NUL-terminated): bytes read, or -errno. */
ssize_t hw_read_file(const struct hw_source *src, const char *path, char *buf, size_t max);
/* The first line of a small sysfs attribute, trimmed; -errno when unreadable. */
int hw_read_attr(const struct hw_source *src, const char *path, char *buf, size_t max);
/* The last component of the target of the symbolic link path ("ixgbe" for .../drivers/ixgbe):
 * 0, or -errno when path is no link. */
int hw_link_name(const struct hw_source *src, const char *path, char *buf, size_t max);
/* Path of path inside the source, for opendir() and friends. */
void hw_path(const struct hw_source *src, const char *path, char *buf, size_t max);

/* One line of /proc/self/mountinfo, paths unescaped. */
struct hw_mount {
        dev_t devnum;
        char root[256];   /* the part of the filesystem mounted: "/" for all of it */
        char point[1024]; /* longer ones are skipped: never a truncated path */
        char fstype[32];
};

#define HW_MAX_MOUNTS 4096

/* The mounts (of the tree's proc/self/mountinfo with a sysroot); *ret to free(). */
int hw_mounts_read(const struct hw_source *src, struct hw_mount **ret, size_t *ret_n);

enum hw_verdict {
        HW_VERDICT_OK,
        HW_VERDICT_DISABLED_IN_FIRMWARE,
        HW_VERDICT_ABSENT,
        HW_VERDICT_HIDDEN_BY_HYPERVISOR,
        HW_VERDICT_UNKNOWN,
        HW_VERDICT_COUNT,
};

extern const char *const hw_verdict_names[HW_VERDICT_COUNT];

enum hw_tristate {
        HW_NO,
        HW_YES,
        HW_UNKNOWN,
};

extern const char *const hw_tristate_names[3];

struct hw_cpu {
        char vendor[13];      /* "GenuineIntel", "AuthenticAMD", "" when CPUID is unknown */
        char model[64];       /* brand string */
        unsigned threads;     /* logical CPUs online */
        bool cpuid_known;     /* CPUID was read (live, or from the tree) */
        bool vmx, svm;        /* the extension as CPUID reports it */
        bool hypervisor;      /* CPUID.1:ECX bit 31 */
        char hv_vendor[13];   /* "KVMKVMKVM", "TCGTCGTCGTCG", "VMwareVMware", ... */
        bool cpuinfo_flag;    /* vmx/svm in /proc/cpuinfo (the kernel hides a locked-off VT-x) */
        bool msr_known;       /* the firmware lock register was read */
        uint64_t msr;         /* IA32_FEATURE_CONTROL (0x3A) or VM_CR (0xC0010114) */
        char msr_why[96];     /* why it was not read */
        enum hw_tristate kvm; /* /dev/kvm answers KVM_GET_API_VERSION */
        enum hw_tristate nested;
        enum hw_tristate iommu; /* an IOMMU is active (/sys/class/iommu) */
        char iommu_table[8];    /* the firmware describes one: "DMAR" (Intel), "IVRS" (AMD) */
        enum hw_verdict verdict;
        char reason[256];
};

/* Fills cpu from src and decides the verdict. Never fails: what is unknown is said. */
void hw_cpu_detect(const struct hw_source *src, struct hw_cpu *cpu);

/* The verdict from the facts already in cpu (separate so tests can give any combination). */
void hw_cpu_decide(struct hw_cpu *cpu);

/* ---- firmware, memory, DMI, NICs (hw_sys.c) ---- */

struct hw_firmware {
        bool uefi;
        enum hw_tristate secure_boot;
        char cmdline_consoles[128]; /* console= arguments of the running kernel, space-separated */
        char serial_ports[64];      /* UARTs the kernel found: "ttyS0 ttyS1" */
};

struct hw_dmi {
        char vendor[64], product[64], serial[64], uuid[40]; /* "" when unreadable */
};

struct hw_nic {
        char name[16];
        char mac[18];
        char driver[32];
        enum hw_tristate carrier;
        long speed_mbps;  /* -1 unknown */
        bool virtual_dev; /* no device behind it: bridge, bond, veth, ... */
};

void hw_firmware_detect(const struct hw_source *src, struct hw_firmware *fw);
void hw_dmi_detect(const struct hw_source *src, struct hw_dmi *dmi);
/* Bytes of RAM (MemTotal), 0 when unknown. */
uint64_t hw_memory_detect(const struct hw_source *src);
/* All interfaces but lo, sorted by name; *ret to free(). */
int hw_nics_detect(const struct hw_source *src, struct hw_nic **ret, size_t *ret_n);

/* ---- disks (hw_disk.c) ---- */

#define HW_MAX_IDS   8
#define HW_MAX_PARTS 16

struct hw_content {
        char type[24]; /* blkid TYPE: ext4, xfs, LVM2_member, linux_raid_member, zfs_member, swap */
        char label[64]; /* filesystem label, md array name */
        char vg[64];    /* the VG of an LVM PV, when its metadata names one */
};

struct hw_partition {
        unsigned number;
        uint64_t start, size; /* bytes */
        struct hw_content content;
};

struct hw_disk {
        char name[32];            /* sda, nvme0n1, vda */
        char path[48];            /* /dev/sda */
        char ids[HW_MAX_IDS][96]; /* /dev/disk/by-id names */
        size_t n_ids;
        uint64_t size;
        unsigned logical_sector, physical_sector;
        enum hw_tristate rotational;
        bool removable, read_only;
        char transport[8]; /* nvme sata scsi usb virtio mmc ide unknown */
        char model[64], serial[64], wwn[64];
        char table[8];             /* "gpt", "dos", "" none */
        struct hw_content content; /* a signature on the whole disk */
        struct hw_partition parts[HW_MAX_PARTS];
        size_t n_parts;
        bool probed;         /* the content was read (needs read access) */
        char probe_why[96];  /* why not */
        bool install_medium; /* holds the running install medium */
        bool in_use;         /* a filesystem on it is mounted, or swap on it is active */
};

/* Whole disks (no partitions, loop, ram, zram, dm or md devices), sorted by name. */
int hw_disks_detect(const struct hw_source *src, struct hw_disk **ret, size_t *ret_n);

/* ---- selectors: the disks and NICs an answer names (hw_match.c) ---- */

/* Disks an answer names, into ret_idx (room for n indexes, in disks' order), *ret_n of them:
 *   sda, /dev/sda, /dev/disk/by-id/NAME, disk/by-id/NAME or a by-id NAME alone: that disk, even
 *     when it is the install medium or in use (the caller refuses it with a reason);
 *   KEY=GLOB[,KEY=GLOB...] with keys (any case) model, serial, wwn (fnmatch(3) globs, any case),
 *     transport (nvme sata scsi usb virtio mmc ide iscsi fc unknown, or a glob), type (ssd or
 *     hdd; unknown rotation is neither) and size (largest, smallest, or >=N, <=N, >N, <N, also
 *     written size>=N; N with a unit: K..P and KiB..PiB are powers of 1024, KB..PB of 1000, up
 *     to three decimals, as in 1.5T or 480GB): every key must hold; never the install medium, a
 *     disk in use, a read-only disk nor one without a medium (size 0), and largest/smallest
 *     choose among what the other keys leave (a tie keeps both: the caller reports it). Commas
 *     separate clauses; "\," puts one in a value (fnmatch(3) reads it as a comma). At most 512
 *     bytes, 16 clauses and 8 '*' in a glob.
 * 0 (with *ret_n possibly 0, as for a name no disk has), or -EINVAL with err saying what is
 * wrong with sel (with a did-you-mean for a mistyped key or transport). */
int hw_disks_match(const char *sel, const struct hw_disk *disks, size_t n, size_t *ret_idx,
                   size_t *ret_n, struct err *err);

/* A disk an install may take: not the install medium, not in use, writable, with a medium. */
bool hw_disk_usable(const struct hw_disk *d);

/* ESXi's install/clearpart --firstdisk[=LIST]: LIST (default "local,remote,usb", also for NULL
 * or "") is tried in order, each entry (any case) a category (local: any transport but usb and
 * the remote ones; remote: iscsi, fc; usb; esx: a disk holding an earlier kvmforge install, an
 * LVM PV of the VG HW_INSTALL_VG), a transport, a driver name standing for one (ahci, vmw_ahci:
 * sata; nvme_pcie: nvme; virtio_blk, pvscsi: virtio; usb-storage: usb; megaraid*, mpt*, lsi*:
 * scsi; ...), else a prefix of the model; the first disk of the first entry that matches any is
 * chosen, in name order (strcmp(), as hw_disks_detect() sorts). Never the install medium, a
 * disk in use, read-only or without a medium. 0 with *ret_idx, -ENODEV (err names the list and
 * each disk with why it was left out), or -EINVAL (an empty entry, more than 16). */
#define HW_INSTALL_VG "kvmforge"
int hw_disks_firstdisk(const char *list, const struct hw_disk *disks, size_t n, size_t *ret_idx,
                       struct err *err);

/* NICs an answer names, like hw_disks_match(); the first reading that applies: a NIC's own name
 * (eno1; it wins over the words below), a MAC (any case, ':' or '-', with or without the "01-"
 * of BOOTIF=: the physical NICs with it, the virtual ones only when none has it, as a bridge
 * carries its port's MAC), "link" (physical NICs with carrier), "bootif" (the NIC whose MAC is
 * bootif, from BOOTIF=; none when bootif is NULL, -EINVAL when it is no MAC), ESXi's vmnicN
 * (the N-th physical NIC in name order, from 0), or KEY=GLOB[,KEY=GLOB...] with keys name
 * (case-sensitive), mac (':' or '-') and driver (virtual NICs never match these). A word that
 * could be an interface name but names none gives none; anything else is -EINVAL. */
int hw_nics_match(const char *sel, const struct hw_nic *nics, size_t n, const char *bootif,
                  size_t *ret_idx, size_t *ret_n, struct err *err);

/* ---- VBE, through the video BIOS (hw_vbe.c) ---- */

#define HW_MAX_VBE_MODES 128

struct hw_vbe_mode {
        uint16_t mode;
        unsigned width, height, bpp;
        bool lfb; /* a linear framebuffer: what vesafb and GRUB need */
};

struct hw_vbe {
        bool probed;
        char why[128];    /* why not */
        unsigned version; /* 0x0200, 0x0300 */
        uint64_t memory;  /* video memory, bytes */
        struct hw_vbe_mode modes[HW_MAX_VBE_MODES];
        size_t n_modes;
        unsigned vga;        /* the Linux vga= number of the best classic mode, 0 none */
        char gfxpayload[24]; /* the same for GRUB: "1024x768x16" */
};

/* Runs the video BIOS's VBE calls (root, BIOS machines; /dev/mem from the tree with --sysroot):
 * 0, or -errno with vbe->why saying why. */
int hw_vbe_probe(const struct hw_source *src, struct hw_vbe *vbe);

/* ---- video (hw_video.c) ---- */

#define HW_MAX_CONNECTORS 8

struct hw_connector {
        char name[48]; /* card0-HDMI-A-1 */
        bool connected;
        char mode[24];      /* the driver's first (preferred) mode, "1920x1080" */
        char edid_mode[24]; /* the monitor's preferred timing from EDID, "" when none */
};

struct hw_video {
        char fb[40];      /* the framebuffer driver: "EFI VGA", "VESA VGA", "simpledrmdrmfb" ... */
        char fb_size[24]; /* its resolution, "1024x768" */
        struct hw_connector connectors[HW_MAX_CONNECTORS];
        size_t n_connectors;
        struct hw_vbe vbe; /* BIOS machines only */
        char recommendation[160];
};

void hw_video_detect(const struct hw_source *src, const struct hw_firmware *fw, struct hw_video *v);
/* The preferred mode of an EDID block (the first detailed timing): 0 and "WxH", or -EBADMSG. */
int hw_edid_preferred(const uint8_t *edid, size_t len, char *out, size_t max);

/* ---- the whole report (hw_report.c) ---- */

struct hw_report {
        struct hw_cpu cpu;
        struct hw_firmware firmware;
        struct hw_video video;
        struct hw_dmi dmi;
        uint64_t memory;
        struct hw_disk *disks;
        size_t n_disks;
        struct hw_nic *nics;
        size_t n_nics;
};

int hw_report_detect(const struct hw_source *src, struct hw_report *ret);
void hw_report_release(struct hw_report *r);

struct json;
void hw_report_json(const struct hw_report *r, struct json *j);
