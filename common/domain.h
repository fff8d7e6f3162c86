#pragma once
/* One imported virtual machine as a libvirt domain: the mapping from an OVF VM to KVM devices
 * (a plan of plain data that --dry-run prints) and the domain XML made from it. Every mapping
 * rule lives here, and what cannot be mapped becomes a warning. The rules favour a first boot
 * without new guest drivers: SATA disks and e1000e NICs unless the user says the guest has
 * virtio drivers. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ovf.h"

#define DOMAIN_MAX_NAME 64
#define DOMAIN_LOG_DIR  "/var/log/libvirt/qemu" /* where the serial console is logged */

enum domain_bus {
        DOMAIN_BUS_SATA,
        DOMAIN_BUS_VIRTIO,
};

struct domain_disk {
        char *ovf_disk_id;
        char *volume;      /* file name in the destination directory, or volume name in the pool */
        char *path;        /* full path of the file; NULL when the disk goes to a pool */
        uint64_t capacity; /* bytes, as the OVF declares */
        bool blank;        /* no file in the package: created empty */
        enum domain_bus bus;
        char target[8]; /* "sda", "vdb" */
        enum ovf_bus ovf_bus;
        char *ovf_controller; /* the controller's ResourceSubType, for the plan */
};

struct domain_nic {
        const char *model; /* e1000e or virtio */
        char *mac;         /* NULL: libvirt makes one */
        char *ovf_model;
        char *ovf_network;
};

enum domain_net {
        DOMAIN_NET_BRIDGE,
        DOMAIN_NET_NETWORK,
};

struct domain_options {
        const char *name;    /* replaces the OVF name (one VM only) */
        const char *dest;    /* directory for qcow2 files; NULL when pool is set */
        const char *pool;    /* libvirt storage pool for the volumes */
        const char *bridge;  /* NICs attach here ... */
        const char *network; /* ... or to this libvirt network (default "default") */
        bool virtio;         /* the guest has virtio drivers: virtio disks and NICs */
        bool new_macs;       /* drop the OVF's MAC addresses */
        bool kvm;            /* /dev/kvm usable on the host: type='kvm', else TCG */
};

struct domain {
        char *name;
        char *ovf_id;
        bool kvm;
        unsigned vcpus, sockets, cores;
        uint64_t memory; /* bytes, a whole number of MiB */
        bool efi;
        bool secure_boot;
        bool windows;       /* clock in local time, as Windows keeps it */
        const char *osinfo; /* libosinfo id, or NULL */
        char *os_type;      /* as the OVF says it, for the record */
        unsigned os_cim;
        char *pool;
        struct domain_disk *disks;
        size_t n_disks;
        unsigned cdroms;
        struct domain_nic *nics;
        size_t n_nics;
        enum domain_net net;
        char *net_source;
        char **warnings;
        size_t n_warnings;
};

/* Maps vm (one of o's VMs) to a domain. The OVF's own warnings are carried over. */
int domain_from_ovf(const struct ovf *o, const struct ovf_vm *vm, const struct domain_options *opt,
                    struct domain *ret, struct err *err);
void domain_release(struct domain *d);

/* The libvirt domain XML, NUL-terminated, for the caller to free(). */
int domain_xml(const struct domain *d, char **ret, struct err *err);

/* A libvirt-safe name made from an OVF name: letters, digits, '.', '_', '+' and '-' kept,
 * runs of anything else turned into one '-', at most DOMAIN_MAX_NAME bytes. */
int domain_sanitize_name(const char *in, char **ret);

/* The libosinfo id for a VMware or VirtualBox guest type, or NULL when none fits. */
const char *domain_osinfo(const char *os_type);

/* The host's bridge for guests: the only bridge that libvirt does not manage, in sysfs_net
 * (normally "/sys/class/net"). 0 with *ret NULL when there is none; -ENOTUNIQ with the names
 * in err when there are several. */
int domain_host_bridge(const char *sysfs_net, char **ret, struct err *err);
