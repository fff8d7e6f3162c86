#pragma once
/* The libvirt side of an import: one connection, domains defined and started, and undone when
 * a later step fails. libvirt's own error printing is silenced; its messages come back in
 * struct err for the front-end to log once. */

#include <stdbool.h>

#include "err.h"

struct virt;

/* uri NULL: qemu:///system. */
int virt_open(const char *uri, struct virt **ret, struct err *err);
struct virt *virt_free(struct virt *v);

/* 1 when a domain of that name is defined, 0 when not. */
int virt_domain_exists(struct virt *v, const char *name, struct err *err);
/* 1 when /dev/kvm is usable by the connection's host (its capabilities offer type 'kvm'). */
int virt_has_kvm(struct virt *v, struct err *err);
/* 1 when the connection's host has a storage pool of that name that is active. */
int virt_pool_active(struct virt *v, const char *name, struct err *err);

/* 0 when guests can attach to libvirt network name now (it exists and is active). */
int virt_check_network(struct virt *v, const char *name, struct err *err);

/* 0 when pool exists, is active and keeps its volumes as files (dir, fs, netfs): the ones a
 * qcow2 image can be uploaded into as it is. */
int virt_check_pool(struct virt *v, const char *pool, struct err *err);
/* 1 when pool has a volume of that name, 0 when not. */
int virt_volume_exists(struct virt *v, const char *pool, const char *name, struct err *err);
/* Creates volume name in pool and uploads file (a qcow2 image) into it through a libvirt
 * stream, holes skipped; remembered for virt_rollback(). */
int virt_upload(struct virt *v, const char *pool, const char *name, const char *file,
                struct err *err);

/* Defines the domain; remembered for virt_rollback(). */
int virt_define(struct virt *v, const char *xml, struct err *err);
int virt_start(struct virt *v, const char *name, struct err *err);
/* Destroys and undefines (NVRAM included) every domain this connection defined, and deletes
 * every volume it uploaded. */
void virt_rollback(struct virt *v);

static inline void virt_freep(struct virt **v)
{
        virt_free(*v);
}
