/* OVF VM -> libvirt domain: the mapping rules and the XML. */
#include "domain.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/xmlwriter.h>

#include "cleanup.h"
#include "strv.h"

#define DOMAIN_MAX_DISKS 26 /* one letter per target: sda..sdz, vda..vdz */
#define NS_LIBOSINFO     "http://libosinfo.org/xmlns/libvirt/domain/1.0"
#define NS_KVMFORGE      "https://kvmforge.org/xmlns/import/1"

static int warn(struct domain *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warn(struct domain *d, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_vaddf(&d->warnings, &d->n_warnings, fmt, ap);
        va_end(ap);
        return r;
}

static int dup_or_null(const char *s, char **ret)
{
        *ret = NULL;
        if (s && !(*ret = strdup(s)))
                return -ENOMEM;
        return 0;
}

int domain_sanitize_name(const char *in, char **ret)
{
        _cleanup_free_ char *out = malloc(DOMAIN_MAX_NAME + 1);
        size_t n = 0;

        if (!out)
                return -ENOMEM;
        for (const char *p = in; *p && n < DOMAIN_MAX_NAME; p++) {
                bool keep = isalnum((unsigned char) *p) || strchr("._+-", *p);
                /* A leading '.' or '-' makes a hidden file or an option of the disk names. */
                if (keep && (n > 0 || (*p != '.' && *p != '-')))
                        out[n++] = *p;
                else if (!keep && n > 0 && out[n - 1] != '-')
                        out[n++] = '-';
        }
        while (n > 0 && out[n - 1] == '-')
                n--;
        if (n == 0)
                return -EINVAL;
        out[n] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

/* Guest types as VMware (vmw:osType) and VirtualBox (vbox:OSType) name them. Versions a
 * family carries in its name are handled below; this table is for the irregular ones. */
static const struct {
        const char *type;
        const char *osinfo;
} osinfo_table[] = {
        { "windows11_64Guest", "http://microsoft.com/win/11" },
        { "windows9_64Guest", "http://microsoft.com/win/10" },
        { "windows9Guest", "http://microsoft.com/win/10" },
        { "windows8_64Guest", "http://microsoft.com/win/8.1" },
        { "windows7_64Guest", "http://microsoft.com/win/7" },
        { "windows7Guest", "http://microsoft.com/win/7" },
        { "windows2022srvNext_64Guest", "http://microsoft.com/win/2k22" },
        { "windows2019srvNext_64Guest", "http://microsoft.com/win/2k22" },
        { "windows2019srv_64Guest", "http://microsoft.com/win/2k19" },
        { "windows9Server64Guest", "http://microsoft.com/win/2k16" },
        { "windows8Server64Guest", "http://microsoft.com/win/2k12r2" },
        { "windows7Server64Guest", "http://microsoft.com/win/2k8r2" },
        { "Windows11_64", "http://microsoft.com/win/11" },
        { "Windows10_64", "http://microsoft.com/win/10" },
        { "Windows10", "http://microsoft.com/win/10" },
        { "Windows7_64", "http://microsoft.com/win/7" },
        { "Windows2022_64", "http://microsoft.com/win/2k22" },
        { "Windows2019_64", "http://microsoft.com/win/2k19" },
        { "Windows2016_64", "http://microsoft.com/win/2k16" },
};

static const char *const linux_words[] = { "linux",  "debian", "ubuntu", "rhel",  "redhat",
                                           "centos", "fedora", "suse",   "sles",  "oracle",
                                           "photon", "rocky",  "alma",   "coreos" };

static bool has_word(const char *s, const char *word)
{
        return strcasestr(s, word) != NULL;
}

const char *domain_osinfo(const char *t)
{
        static const char *const debian[] = {
                [6] = "http://debian.org/debian/6",   [7] = "http://debian.org/debian/7",
                [8] = "http://debian.org/debian/8",   [9] = "http://debian.org/debian/9",
                [10] = "http://debian.org/debian/10", [11] = "http://debian.org/debian/11",
                [12] = "http://debian.org/debian/12", [13] = "http://debian.org/debian/13"
        };
        static const char *const rhel[] = { [6] = "http://redhat.com/rhel/6.0",
                                            [7] = "http://redhat.com/rhel/7.0",
                                            [8] = "http://redhat.com/rhel/8.0",
                                            [9] = "http://redhat.com/rhel/9.0" };
        unsigned v;

        if (!t)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(osinfo_table); i++)
                if (strcmp(t, osinfo_table[i].type) == 0)
                        return osinfo_table[i].osinfo;
        if (sscanf(t, "debian%u", &v) == 1 && v < ELEMENTSOF(debian) && debian[v])
                return debian[v];
        if (sscanf(t, "Debian%u", &v) == 1 && v < ELEMENTSOF(debian) && debian[v])
                return debian[v];
        if (sscanf(t, "rhel%u", &v) == 1 && v < ELEMENTSOF(rhel) && rhel[v])
                return rhel[v];
        for (size_t i = 0; i < ELEMENTSOF(linux_words); i++)
                if (has_word(t, linux_words[i]))
                        return "http://libosinfo.org/linux/2022";
        return NULL;
}

static bool libvirt_bridge(const char *name)
{
        /* Bridges that libvirt's networks, Docker or LXC made for themselves. */
        static const char *const prefixes[] = { "virbr", "docker", "lxcbr", "br-" };
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
                        return true;
        return false;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int domain_host_bridge(const char *sysfs_net, char **ret, struct err *err)
{
        _cleanup_(closedirp) DIR *d = opendir(sysfs_net);
        char *found[16];
        size_t n = 0;
        struct dirent *e;
        int r = 0;

        *ret = NULL;
        if (!d)
                return 0; /* no sysfs: no bridge we know of */
        while ((e = readdir(d)) && n < ELEMENTSOF(found)) {
                char p[512];
                struct stat st;
                if (e->d_name[0] == '.' || libvirt_bridge(e->d_name))
                        continue;
                (void) snprintf(p, sizeof(p), "%s/%s/bridge", sysfs_net, e->d_name);
                if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                if (!(found[n] = strdup(e->d_name))) {
                        r = -ENOMEM;
                        goto out;
                }
                n++;
        }
        if (n > 1) {
                char names[200] = "";
                qsort(found, n, sizeof(found[0]), cmp_str);
                for (size_t i = 0; i < n; i++)
                        if (strlen(names) + strlen(found[i]) + 3 < sizeof(names))
                                (void) snprintf(names + strlen(names),
                                                sizeof(names) - strlen(names), "%s%s",
                                                i ? ", " : "", found[i]);
                r = err_set(err, -ENOTUNIQ, "this host has several bridges (%s)", names);
                goto out;
        }
        if (n == 1)
                *ret = TAKE_PTR(found[0]);
out:
        for (size_t i = 0; i < n; i++)
                free(found[i]);
        return r;
}

static const char *bus_name(enum ovf_bus b)
{
        static const char *const names[] = {
                [OVF_BUS_IDE] = "IDE",   [OVF_BUS_SCSI] = "SCSI",       [OVF_BUS_SATA] = "SATA",
                [OVF_BUS_NVME] = "NVMe", [OVF_BUS_UNKNOWN] = "unknown",
        };
        return b < ELEMENTSOF(names) ? names[b] : "unknown";
}

/* "00:50:56:aB:01:02" -> lower case, or -EINVAL when it is no unicast MAC. */
static int normalize_mac(const char *in, char **ret)
{
        unsigned b[6];
        char tail;

        if (sscanf(in, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
                   &tail) != 6 &&
            sscanf(in, "%2x-%2x-%2x-%2x-%2x-%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
                   &tail) != 6)
                return -EINVAL;
        if (b[0] & 1) /* multicast: no NIC may have it */
                return -EINVAL;
        if (asprintf(ret, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]) < 0)
                return -ENOMEM;
        return 0;
}

static int map_disks(struct domain *d, const struct ovf *o, const struct ovf_vm *vm,
                     const struct domain_options *opt, struct err *err)
{
        bool moved[OVF_BUS_UNKNOWN + 1] = { false };
        unsigned n_sata = 0, n_virtio = 0;

        if (vm->n_disks > DOMAIN_MAX_DISKS)
                return err_set(err, -EOPNOTSUPP, "VM '%s' has %zu disks; at most %d are supported",
                               vm->id, vm->n_disks, DOMAIN_MAX_DISKS);
        d->disks = calloc(vm->n_disks ? vm->n_disks : 1, sizeof(*d->disks));
        if (!d->disks)
                return -ENOMEM;
        for (size_t i = 0; i < vm->n_disks; i++) {
                const struct ovf_disk *od = ovf_find_disk(o, vm->disks[i].disk_id);
                struct domain_disk *dd = &d->disks[d->n_disks++];
                int r;

                if (!od) /* ovf_parse checked this */
                        return err_set(err, -EBADMSG, "VM '%s': no disk '%s'", vm->id,
                                       vm->disks[i].disk_id);
                if (!(dd->ovf_disk_id = strdup(od->id)) ||
                    dup_or_null(vm->disks[i].controller_model, &dd->ovf_controller) < 0 ||
                    asprintf(&dd->volume, "%s-disk%zu.qcow2", d->name, i + 1) < 0)
                        return -ENOMEM;
                if (opt->dest && asprintf(&dd->path, "%s/%s", opt->dest, dd->volume) < 0)
                        return -ENOMEM;
                dd->capacity = od->capacity;
                dd->blank = od->file_ref == NULL;
                dd->ovf_bus = vm->disks[i].bus;
                dd->bus = opt->virtio ? DOMAIN_BUS_VIRTIO : DOMAIN_BUS_SATA;
                if (dd->bus == DOMAIN_BUS_VIRTIO)
                        (void) snprintf(dd->target, sizeof(dd->target), "vd%c", 'a' + n_virtio++);
                else
                        (void) snprintf(dd->target, sizeof(dd->target), "sd%c", 'a' + n_sata++);
                /* IDE too: a guest that booted from PIIX IDE may have no AHCI driver. */
                if (dd->bus == DOMAIN_BUS_SATA && dd->ovf_bus != OVF_BUS_SATA &&
                    !moved[dd->ovf_bus]) {
                        moved[dd->ovf_bus] = true;
                        r = warn(d,
                                 "disks on the %s controller become SATA disks: a guest without "
                                 "an AHCI driver in its boot image will not find them",
                                 bus_name(dd->ovf_bus));
                        if (r < 0)
                                return r;
                }
        }
        if (opt->virtio && vm->n_disks > 0) {
                int r = warn(d, "disks are virtio (--virtio): the guest must have virtio drivers "
                                "in its boot image");
                if (r < 0)
                        return r;
        }
        /* CD-ROMs come after the disks on the SATA bus and stay empty: their media are ISO
         * files of the exporting host, never part of the package. */
        if (n_sata + vm->cdroms > DOMAIN_MAX_DISKS)
                return err_set(err, -EOPNOTSUPP, "VM '%s' has too many disks and CD-ROMs", vm->id);
        d->cdroms = vm->cdroms;
        return 0;
}

static int map_nics(struct domain *d, const struct ovf_vm *vm, const struct domain_options *opt)
{
        bool warned_model = false;

        d->nics = calloc(vm->n_nics ? vm->n_nics : 1, sizeof(*d->nics));
        if (!d->nics)
                return -ENOMEM;
        for (size_t i = 0; i < vm->n_nics; i++) {
                const struct ovf_nic *on = &vm->nics[i];
                struct domain_nic *dn = &d->nics[d->n_nics++];
                int r;

                if (dup_or_null(on->model, &dn->ovf_model) < 0 ||
                    dup_or_null(on->network, &dn->ovf_network) < 0)
                        return -ENOMEM;
                dn->model = opt->virtio ? "virtio" : "e1000e";
                if (!warned_model && (!on->model || strcasecmp(on->model, dn->model) != 0)) {
                        warned_model = true;
                        r = warn(
                                d,
                                "network cards become %s (the exported ones were %s): the guest sees new "
                                "hardware, and its interface names may change",
                                dn->model, on->model ? on->model : "of no stated model");
                        if (r < 0)
                                return r;
                }
                if (on->mac && !opt->new_macs) {
                        r = normalize_mac(on->mac, &dn->mac);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0 &&
                            (r = warn(d,
                                      "NIC %zu: '%s' is not a usable MAC address: a new one is "
                                      "made",
                                      i + 1, on->mac)) < 0)
                                return r;
                }
        }
        return 0;
}

int domain_from_ovf(const struct ovf *o, const struct ovf_vm *vm, const struct domain_options *opt,
                    struct domain *ret, struct err *err)
{
        _cleanup_(domain_release) struct domain d = { 0 };
        int r;

        if (opt->name) {
                if (domain_sanitize_name(opt->name, &d.name) < 0 || strcmp(d.name, opt->name) != 0)
                        return err_set(err, -EINVAL,
                                       "'%s' is not a usable name: use letters, digits and . _ + -",
                                       opt->name);
        } else {
                r = domain_sanitize_name(vm->name && vm->name[0] ? vm->name : vm->id, &d.name);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return err_set(err, -EINVAL,
                                       "VM '%s' has no usable name: give one with --name", vm->id);
        }
        if (!(d.ovf_id = strdup(vm->id)) || dup_or_null(vm->os_type, &d.os_type) < 0 ||
            dup_or_null(opt->pool, &d.pool) < 0)
                return -ENOMEM;

        /* Carried first: what the OVF itself could not express here. */
        for (size_t i = 0; i < vm->n_warnings; i++)
                if ((r = warn(&d, "%s", vm->warnings[i])) < 0)
                        return r;

        d.kvm = opt->kvm;
        if (!d.kvm && (r = warn(&d, "no usable /dev/kvm on this host: the guest runs under "
                                    "software emulation (TCG), many times slower")) < 0)
                return r;
        d.vcpus = vm->vcpus ? vm->vcpus : 1;
        d.cores = vm->cores_per_socket ? vm->cores_per_socket : 1;
        d.sockets = d.vcpus / d.cores;
        d.memory = (vm->memory + (UINT64_C(1) << 20) - 1) & ~((UINT64_C(1) << 20) - 1);
        d.efi = vm->firmware == OVF_FIRMWARE_EFI;
        d.secure_boot = d.efi && vm->secure_boot;
        if (d.efi && (r = warn(&d, "EFI boot entries are not part of an OVF: the guest gets a "
                                   "fresh NVRAM and must boot from \\EFI\\BOOT\\BOOTX64.EFI or "
                                   "have its entry recreated")) < 0)
                return r;
        d.osinfo = domain_osinfo(vm->os_type);
        d.windows = vm->os_type && strncasecmp(vm->os_type, "win", 3) == 0;

        if ((r = map_disks(&d, o, vm, opt, err)) < 0 || (r = map_nics(&d, vm, opt)) < 0)
                return r;

        if (opt->bridge) {
                d.net = DOMAIN_NET_BRIDGE;
                r = dup_or_null(opt->bridge, &d.net_source);
        } else {
                d.net = DOMAIN_NET_NETWORK;
                r = dup_or_null(opt->network ? opt->network : "default", &d.net_source);
        }
        if (r < 0)
                return r;

        *ret = d;
        d = (struct domain){ 0 };
        return 0;
}

void domain_release(struct domain *d)
{
        for (size_t i = 0; i < d->n_disks; i++) {
                free(d->disks[i].ovf_disk_id);
                free(d->disks[i].volume);
                free(d->disks[i].path);
                free(d->disks[i].ovf_controller);
        }
        free(d->disks);
        for (size_t i = 0; i < d->n_nics; i++) {
                free(d->nics[i].mac);
                free(d->nics[i].ovf_model);
                free(d->nics[i].ovf_network);
        }
        free(d->nics);
        strv_free(&d->warnings, &d->n_warnings);
        free(d->name);
        free(d->ovf_id);
        free(d->os_type);
        free(d->pool);
        free(d->net_source);
        *d = (struct domain){ 0 };
}

/* The writer's calls return -1 on failure; collect that once instead of after every call. */
struct xw {
        xmlTextWriterPtr w;
        bool failed;
};

static void start(struct xw *x, const char *name)
{
        x->failed |= xmlTextWriterStartElement(x->w, BAD_CAST name) < 0;
}

static void end(struct xw *x)
{
        x->failed |= xmlTextWriterEndElement(x->w) < 0;
}

static void attr(struct xw *x, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void attr(struct xw *x, const char *name, const char *fmt, ...)
{
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        x->failed |= xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST buf) < 0;
}

static void text_elem(struct xw *x, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void text_elem(struct xw *x, const char *name, const char *fmt, ...)
{
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        x->failed |= xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST buf) < 0;
}

static void empty(struct xw *x, const char *name, const char *a1, const char *v1)
{
        start(x, name);
        if (a1)
                attr(x, a1, "%s", v1);
        end(x);
}

static void write_metadata(struct xw *x, const struct domain *d)
{
        start(x, "metadata");
        if (d->osinfo) {
                x->failed |= xmlTextWriterStartElementNS(x->w, BAD_CAST "libosinfo",
                                                         BAD_CAST "libosinfo",
                                                         BAD_CAST NS_LIBOSINFO) < 0;
                x->failed |= xmlTextWriterStartElementNS(x->w, BAD_CAST "libosinfo", BAD_CAST "os",
                                                         NULL) < 0;
                attr(x, "id", "%s", d->osinfo);
                end(x);
                end(x);
        }
        /* Where the guest came from, so an admin can tell later what the mapping started with. */
        x->failed |= xmlTextWriterStartElementNS(x->w, BAD_CAST "kvmforge", BAD_CAST "import",
                                                 BAD_CAST NS_KVMFORGE) < 0;
        attr(x, "ovf-id", "%s", d->ovf_id);
        if (d->os_type)
                attr(x, "os-type", "%s", d->os_type);
        if (d->os_cim)
                attr(x, "os-cim", "%u", d->os_cim);
        end(x);
        end(x);
}

static void write_os(struct xw *x, const struct domain *d)
{
        start(x, "os");
        if (d->efi)
                attr(x, "firmware", "efi");
        start(x, "type");
        attr(x, "arch", "x86_64");
        attr(x, "machine", "q35");
        x->failed |= xmlTextWriterWriteString(x->w, BAD_CAST "hvm") < 0;
        end(x);
        if (d->efi) {
                /* libvirt picks the OVMF build from QEMU's firmware descriptors and copies a
                 * fresh NVRAM from its template on the first start. */
                start(x, "firmware");
                start(x, "feature");
                attr(x, "enabled", d->secure_boot ? "yes" : "no");
                attr(x, "name", "secure-boot");
                end(x);
                if (d->secure_boot) {
                        start(x, "feature");
                        attr(x, "enabled", "yes");
                        attr(x, "name", "enrolled-keys");
                        end(x);
                }
                end(x);
        }
        end(x);

        start(x, "features");
        empty(x, "acpi", NULL, NULL);
        empty(x, "apic", NULL, NULL);
        if (d->secure_boot)
                empty(x, "smm", "state", "on");
        end(x);

        start(x, "cpu");
        if (d->kvm)
                attr(x, "mode", "host-model");
        start(x, "topology");
        attr(x, "sockets", "%u", d->sockets);
        attr(x, "dies", "1");
        attr(x, "cores", "%u", d->cores);
        attr(x, "threads", "1");
        end(x);
        end(x);

        empty(x, "clock", "offset", d->windows ? "localtime" : "utc");
        text_elem(x, "on_poweroff", "destroy");
        text_elem(x, "on_reboot", "restart");
        text_elem(x, "on_crash", "destroy");
}

static void write_disk(struct xw *x, const struct domain *d, const struct domain_disk *dd,
                       unsigned boot)
{
        start(x, "disk");
        attr(x, "type", d->pool ? "volume" : "file");
        attr(x, "device", "disk");
        start(x, "driver");
        attr(x, "name", "qemu");
        attr(x, "type", "qcow2");
        attr(x, "discard", "unmap");
        end(x);
        start(x, "source");
        if (d->pool) {
                attr(x, "pool", "%s", d->pool);
                attr(x, "volume", "%s", dd->volume);
        } else {
                attr(x, "file", "%s", dd->path ? dd->path : dd->volume);
        }
        end(x);
        start(x, "target");
        attr(x, "dev", "%s", dd->target);
        attr(x, "bus", dd->bus == DOMAIN_BUS_VIRTIO ? "virtio" : "sata");
        end(x);
        /* Firmware tries the disks in the OVF's order, as the exporting hypervisor did. */
        start(x, "boot");
        attr(x, "order", "%u", boot);
        end(x);
        end(x);
}

static void write_devices(struct xw *x, const struct domain *d)
{
        unsigned sata = 0;

        start(x, "devices");
        for (size_t i = 0; i < d->n_disks; i++) {
                if (d->disks[i].bus == DOMAIN_BUS_SATA)
                        sata++;
                write_disk(x, d, &d->disks[i], (unsigned) i + 1);
        }
        for (unsigned i = 0; i < d->cdroms; i++) {
                char dev[8];
                (void) snprintf(dev, sizeof(dev), "sd%c", 'a' + sata++);
                start(x, "disk");
                attr(x, "type", "file");
                attr(x, "device", "cdrom");
                start(x, "target");
                attr(x, "dev", "%s", dev);
                attr(x, "bus", "sata");
                end(x);
                empty(x, "readonly", NULL, NULL);
                end(x);
        }
        for (size_t i = 0; i < d->n_nics; i++) {
                const struct domain_nic *n = &d->nics[i];
                start(x, "interface");
                attr(x, "type", d->net == DOMAIN_NET_BRIDGE ? "bridge" : "network");
                if (n->mac)
                        empty(x, "mac", "address", n->mac);
                empty(x, "source", d->net == DOMAIN_NET_BRIDGE ? "bridge" : "network",
                      d->net_source);
                empty(x, "model", "type", n->model);
                end(x);
        }
        /* A serial console, so a headless admin (virsh console) sees the boot, and a log of
         * it on the host: the first boot after an import is when a guest fails to find its
         * disks, and that should be readable afterwards. */
        start(x, "serial");
        attr(x, "type", "pty");
        start(x, "log");
        attr(x, "file", DOMAIN_LOG_DIR "/%s-serial0.log", d->name);
        attr(x, "append", "on");
        end(x);
        start(x, "target");
        attr(x, "type", "isa-serial");
        attr(x, "port", "0");
        end(x);
        end(x);
        start(x, "console");
        attr(x, "type", "pty");
        empty(x, "target", "type", "serial");
        end(x);
        start(x, "input");
        attr(x, "type", "tablet");
        attr(x, "bus", "usb");
        end(x);
        /* VNC on the loopback only: reach it through ssh or virt-manager over ssh. */
        start(x, "graphics");
        attr(x, "type", "vnc");
        attr(x, "autoport", "yes");
        attr(x, "listen", "127.0.0.1");
        end(x);
        start(x, "video");
        empty(x, "model", "type", "vga");
        end(x);
        end(x);
}

int domain_xml(const struct domain *d, char **ret, struct err *err)
{
        xmlBufferPtr buf = xmlBufferCreate();
        struct xw x = { 0 };
        int r = 0;

        if (!buf)
                return -ENOMEM;
        x.w = xmlNewTextWriterMemory(buf, 0);
        if (!x.w) {
                xmlBufferFree(buf);
                return -ENOMEM;
        }
        x.failed |= xmlTextWriterSetIndent(x.w, 1) < 0;
        x.failed |= xmlTextWriterSetIndentString(x.w, BAD_CAST "  ") < 0;
        start(&x, "domain");
        attr(&x, "type", d->kvm ? "kvm" : "qemu");
        text_elem(&x, "name", "%s", d->name);
        write_metadata(&x, d);
        start(&x, "memory");
        attr(&x, "unit", "KiB");
        x.failed |= xmlTextWriterWriteFormatString(x.w, "%llu",
                                                   (unsigned long long) (d->memory >> 10)) < 0;
        end(&x);
        text_elem(&x, "vcpu", "%u", d->vcpus);
        write_os(&x, d);
        write_devices(&x, d);
        end(&x);
        x.failed |= xmlTextWriterEndDocument(x.w) < 0;
        xmlFreeTextWriter(x.w); /* flushes into buf */
        if (x.failed)
                r = err_set(err, -ENOMEM, "cannot write the domain XML");
        else if (!(*ret = strdup((const char *) xmlBufferContent(buf))))
                r = -ENOMEM;
        xmlBufferFree(buf);
        return r;
}
