/* libvirt connection, define/start, rollback. */
#include "virt.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "cleanup.h"

#define VIRT_MAX_DEFINED 64

struct virt {
        virConnectPtr conn;
        char *defined[VIRT_MAX_DEFINED];
        size_t n_defined;
        virStorageVolPtr volumes[VIRT_MAX_DEFINED];
        size_t n_volumes;
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
        for (size_t i = 0; i < v->n_volumes; i++)
                virStorageVolFree(v->volumes[i]);
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

static virStoragePoolPtr find_pool(struct virt *v, const char *pool, struct err *err)
{
        virStoragePoolPtr p = virStoragePoolLookupByName(v->conn, pool);
        if (!p)
                (void) err_set(err, -ENOENT,
                               "libvirt has no storage pool '%s' (see 'virsh pool-list')", pool);
        return p;
}

int virt_check_pool(struct virt *v, const char *pool, struct err *err)
{
        static const char *const file_types[] = { "<pool type='dir'", "<pool type='fs'",
                                                  "<pool type='netfs'" };
        virStoragePoolPtr p = find_pool(v, pool, err);
        _cleanup_free_ char *xml = NULL;
        bool files = false;
        int r = 0;

        if (!p)
                return -ENOENT;
        if (virStoragePoolIsActive(p) != 1)
                r = err_set(err, -ENETDOWN,
                            "storage pool '%s' is not active: start it with 'virsh pool-start %s'",
                            pool, pool);
        else if (!(xml = virStoragePoolGetXMLDesc(p, 0)))
                r = lv_err(err, -EIO, "cannot read the storage pool");
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(file_types); i++)
                files |= strncmp(xml, file_types[i], strlen(file_types[i])) == 0;
        if (r == 0 && !files)
                r = err_set(err, -EOPNOTSUPP,
                            "storage pool '%s' does not keep its volumes as files; import into a "
                            "directory pool",
                            pool);
        virStoragePoolFree(p);
        return r;
}

int virt_volume_exists(struct virt *v, const char *pool, const char *name, struct err *err)
{
        virStoragePoolPtr p = find_pool(v, pool, err);
        virStorageVolPtr vol;

        if (!p)
                return -ENOENT;
        vol = virStorageVolLookupByName(p, name);
        virStoragePoolFree(p);
        if (vol)
                virStorageVolFree(vol);
        return vol != NULL;
}

/* The sparse stream's callbacks read the file and report its holes (SEEK_DATA/SEEK_HOLE). */
static int source_cb(virStreamPtr st, char *data, size_t n, void *opaque)
{
        (void) st;
        return (int) read(*(int *) opaque, data, n);
}

static int hole_cb(virStreamPtr st, int *in_data, long long *length, void *opaque)
{
        int fd = *(int *) opaque;
        off_t cur = lseek(fd, 0, SEEK_CUR), data, hole, end = lseek(fd, 0, SEEK_END);

        (void) st;
        if (cur < 0 || end < 0 || lseek(fd, cur, SEEK_SET) < 0)
                return -1;
        data = lseek(fd, cur, SEEK_DATA);
        if (data < 0 && errno != ENXIO)
                return -1;
        if (data < 0 || data > cur) { /* a hole, possibly to the end */
                *in_data = 0;
                *length = (data < 0 ? end : data) - cur;
        } else {
                hole = lseek(fd, cur, SEEK_HOLE);
                if (hole < 0)
                        return -1;
                *in_data = 1;
                *length = hole - cur;
        }
        return lseek(fd, cur, SEEK_SET) < 0 ? -1 : 0;
}

static int skip_cb(virStreamPtr st, long long length, void *opaque)
{
        (void) st;
        return lseek(*(int *) opaque, length, SEEK_CUR) < 0 ? -1 : 0;
}

int virt_upload(struct virt *v, const char *pool, const char *name, const char *file,
                struct err *err)
{
        _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *xml = NULL;
        virStoragePoolPtr p = NULL;
        virStorageVolPtr vol = NULL;
        virStreamPtr st = NULL;
        struct stat sb;
        int r = 0;

        if (v->n_volumes == VIRT_MAX_DEFINED)
                return err_set(err, -E2BIG, "too many volumes in one import");
        if (fd < 0 || fstat(fd, &sb) < 0)
                return err_set(err, -errno, "cannot open '%s': %s", file, strerror(errno));
        /* A raw volume of exactly the image's length, whose bytes become the image: libvirt's
         * qcow2 creation would run qemu-img with a size of its own. */
        if (asprintf(&xml,
                     "<volume><name>%s</name><capacity unit='bytes'>%lld</capacity>"
                     "<allocation unit='bytes'>0</allocation>"
                     "<target><format type='raw'/></target></volume>",
                     name, (long long) sb.st_size) < 0)
                return -ENOMEM;
        if (!(p = find_pool(v, pool, err)))
                return -ENOENT;
        vol = virStorageVolCreateXML(p, xml, 0);
        virStoragePoolFree(p);
        if (!vol)
                return lv_err(err, -EIO, "cannot create the volume");
        v->volumes[v->n_volumes++] = vol;
        st = virStreamNew(v->conn, 0);
        if (!st)
                return lv_err(err, -ENOMEM, "cannot open a stream");
        if (virStorageVolUpload(vol, st, 0, (unsigned long long) sb.st_size,
                                VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0 ||
            virStreamSparseSendAll(st, source_cb, hole_cb, skip_cb, &fd) < 0 ||
            virStreamFinish(st) < 0) {
                r = lv_err(err, -EIO, "cannot upload the volume");
                (void) virStreamAbort(st);
        }
        virStreamFree(st);
        return r;
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
        for (size_t i = v->n_volumes; i-- > 0;) {
                (void) virStorageVolDelete(v->volumes[i], 0);
                virStorageVolFree(v->volumes[i]);
        }
        v->n_volumes = 0;
}
