/* libvirt connection, define/start, rollback. */
#include "virt.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "cleanup.h"

#define VIRT_MAX_DEFINED 64

struct virt {
        virConnectPtr conn;
        char *defined[VIRT_MAX_DEFINED];
        size_t n_defined;
};

static void quiet(void *userdata, virErrorPtr error)
{
        (void) userdata;
        (void) error;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
        /* libvirt prints every error to stderr unless told otherwise. */
        virSetErrorFunc(NULL, quiet);
        (void) virInitialize();
}

static int lv_err(struct err *err, int code, const char *what)
{
        const char *m = virGetLastErrorMessage();
        return err_set(err, code, "%s: %s", what, m ? m : "unknown libvirt error");
}

int virt_open(const char *uri, struct virt **ret, struct err *err)
{
        struct virt *v;

        pthread_once(&init_once, init);
        if (!uri)
                uri = "qemu:///system";
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->conn = virConnectOpenAuth(uri, virConnectAuthPtrDefault, 0);
        if (!v->conn) {
                free(v);
                return err_set(err, -ECONNREFUSED,
                               "cannot connect to libvirt at '%s': %s (is libvirtd running?)", uri,
                               virGetLastErrorMessage());
        }
        *ret = v;
        return 0;
}

struct virt *virt_free(struct virt *v)
{
        if (!v)
                return NULL;
        for (size_t i = 0; i < v->n_defined; i++)
                free(v->defined[i]);
        if (v->conn)
                virConnectClose(v->conn);
        free(v);
        return NULL;
}

int virt_domain_exists(struct virt *v, const char *name, struct err *err)
{
        virDomainPtr d = virDomainLookupByName(v->conn, name);
        virErrorPtr e;

        if (d) {
                virDomainFree(d);
                return 1;
        }
        e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_DOMAIN)
                return 0;
        return lv_err(err, -EIO, "cannot look up domains");
}

int virt_has_kvm(struct virt *v, struct err *err)
{
        _cleanup_free_ char *caps = virConnectGetCapabilities(v->conn);

        if (!caps)
                return lv_err(err, -EIO, "cannot read the host's capabilities");
        return strstr(caps, "<domain type='kvm'") != NULL;
}

int virt_pool_active(struct virt *v, const char *name, struct err *err)
{
        virStoragePoolPtr p = virStoragePoolLookupByName(v->conn, name);
        int r;

        if (!p)
                return lv_err(err, -ENOENT, "no storage pool");
        r = virStoragePoolIsActive(p);
        virStoragePoolFree(p);
        return r < 0 ? lv_err(err, -EIO, "cannot query the storage pool") : r;
}

int virt_check_network(struct virt *v, const char *name, struct err *err)
{
        virNetworkPtr n = virNetworkLookupByName(v->conn, name);
        int r;

        if (!n)
                return err_set(err, -ENOENT,
                               "libvirt has no network '%s': create it, or choose --bridge", name);
        r = virNetworkIsActive(n);
        virNetworkFree(n);
        if (r < 0)
                return lv_err(err, -EIO, "cannot query the network");
        if (r == 0)
                return err_set(err, -ENETDOWN,
                               "libvirt network '%s' is not active: start it with 'virsh "
                               "net-start %s', or choose --bridge",
                               name, name);
        return 0;
}

int virt_define(struct virt *v, const char *xml, struct err *err)
{
        virDomainPtr d;
        const char *name;

        if (v->n_defined == VIRT_MAX_DEFINED)
                return err_set(err, -E2BIG, "too many domains in one import");
        d = virDomainDefineXMLFlags(v->conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
        if (!d)
                return lv_err(err, -EINVAL, "libvirt refused the domain");
        name = virDomainGetName(d);
        v->defined[v->n_defined] = name ? strdup(name) : NULL;
        virDomainFree(d);
        if (!v->defined[v->n_defined])
                return -ENOMEM;
        v->n_defined++;
        return 0;
}

int virt_start(struct virt *v, const char *name, struct err *err)
{
        virDomainPtr d = virDomainLookupByName(v->conn, name);
        int r = 0;

        if (!d)
                return lv_err(err, -ENOENT, "cannot find the domain");
        if (virDomainCreate(d) < 0)
                r = lv_err(err, -EIO, "cannot start the domain");
        virDomainFree(d);
        return r;
}

void virt_rollback(struct virt *v)
{
        for (size_t i = v->n_defined; i-- > 0;) {
                virDomainPtr d = virDomainLookupByName(v->conn, v->defined[i]);
                if (d) {
                        if (virDomainIsActive(d) == 1)
                                (void) virDomainDestroy(d);
                        (void) virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_NVRAM |
                                                                 VIR_DOMAIN_UNDEFINE_MANAGED_SAVE);
                        virDomainFree(d);
                }
                free(v->defined[i]);
        }
        v->n_defined = 0;
}
