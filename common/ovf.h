#pragma once
/* OVF descriptors (DSP0243 1.x and 2.x, as ESXi, vCenter, ovftool and VirtualBox write them)
 * reduced to plain data: the package's files, its disks with capacities in bytes, and every
 * virtual machine (nested VirtualSystemCollections flattened) with CPUs, memory, firmware, disks
 * on their buses, NICs, and warnings for what has no KVM counterpart. Units are resolved here,
 * once. The XML comes from strangers: no DOCTYPE (so no entity expansion, internal or external),
 * no network access, bounded size. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define OVF_MAX_BYTES (16u << 20)

struct ovf_file {
        char *id;
        char *href;
        uint64_t size; /* 0: not given */
        bool gzip;
        uint64_t chunk_size; /* 0: not chunked */
};

struct ovf_disk {
        char *id;
        char *file_ref;    /* NULL: a blank disk, created from its capacity */
        uint64_t capacity; /* bytes */
        char *format;
};

enum ovf_bus {
        OVF_BUS_IDE,
        OVF_BUS_SCSI,
        OVF_BUS_SATA,
        OVF_BUS_NVME,
        OVF_BUS_UNKNOWN,
};

struct ovf_vm_disk {
        char *disk_id; /* a DiskSection id */
        enum ovf_bus bus;
        char *controller_model; /* ResourceSubType of the controller, e.g. "lsilogic" */
        unsigned unit;          /* AddressOnParent */
};

struct ovf_nic {
        char *model;   /* ResourceSubType, e.g. "VmxNet3", "E1000" */
        char *network; /* Connection */
        char *mac;     /* Address, or NULL */
};

enum ovf_firmware {
        OVF_FIRMWARE_BIOS,
        OVF_FIRMWARE_EFI,
};

struct ovf_vm {
        char *id;
        char *name;
        char *os_type;   /* vmw:osType / vbox:OSType when given, else NULL */
        unsigned os_cim; /* OperatingSystemSection ovf:id (CIM OSType; 0 unknown, 1 other) */
        unsigned vcpus;
        unsigned cores_per_socket; /* 0: not given */
        uint64_t memory;           /* bytes */
        enum ovf_firmware firmware;
        bool secure_boot; /* vmw:Config uefi.secureBoot.enabled */
        struct ovf_vm_disk *disks;
        size_t n_disks;
        struct ovf_nic *nics;
        size_t n_nics;
        unsigned cdroms;
        char **warnings;
        size_t n_warnings;
};

struct ovf {
        unsigned version; /* 1 or 2 */
        struct ovf_file *files;
        size_t n_files;
        struct ovf_disk *disks;
        size_t n_disks;
        struct ovf_vm *vms;
        size_t n_vms;
        char *deployment; /* the DeploymentOptionSection configuration applied, or NULL */
};

/* Parses an OVF descriptor. deployment picks a DeploymentOptionSection configuration by id
 * (NULL: the one the OVF marks default, else the first). */
int ovf_parse(const char *xml, size_t len, const char *deployment, struct ovf *ret,
              struct err *err);
void ovf_release(struct ovf *o);

const struct ovf_disk *ovf_find_disk(const struct ovf *o, const char *id);
const struct ovf_file *ovf_find_file(const struct ovf *o, const char *id);

/* "byte * 2^30", "byte*2^20", "MegaBytes", "GB", "byte" ... -> bytes per unit. */
int ovf_parse_units(const char *s, uint64_t *ret);
