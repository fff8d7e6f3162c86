#include "ovf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cleanup.h"
#include "image.h"
#include "strv.h"

#define NS_OVF1 "http://schemas.dmtf.org/ovf/envelope/1"
#define NS_OVF2 "http://schemas.dmtf.org/ovf/envelope/2"
#define NS_VMW  "http://www.vmware.com/schema/ovf"
#define NS_VBOX "http://www.virtualbox.org/ovf/machine"

/* Depth of nested VirtualSystemCollections followed. */
#define OVF_MAX_NESTING 16
#define OVF_MAX_ITEMS   100000

DEFINE_CLEANUP_FUNC(xmlDocPtr, xmlFreeDoc, NULL)

static bool is_ovf_ns(const xmlNode *n)
{
        return n->ns && (xmlStrcmp(n->ns->href, BAD_CAST NS_OVF1) == 0 ||
                         xmlStrcmp(n->ns->href, BAD_CAST NS_OVF2) == 0);
}

static bool is_elem(const xmlNode *n, const char *name)
{
        return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

/* An OVF-namespace element; exporters mix prefixed and default-namespace spellings. */
static bool is_ovf(const xmlNode *n, const char *name)
{
        return is_elem(n, name) && is_ovf_ns(n);
}

/* An attribute in the OVF namespace (1 or 2), or without a namespace. Caller frees. */
static char *ovf_attr(const xmlNode *n, const char *name)
{
        xmlChar *v = xmlGetNsProp(n, BAD_CAST name, BAD_CAST NS_OVF1);

        if (!v)
                v = xmlGetNsProp(n, BAD_CAST name, BAD_CAST NS_OVF2);
        if (!v)
                v = xmlGetNoNsProp(n, BAD_CAST name);
        return (char *) v;
}

static char *ns_attr(const xmlNode *n, const char *name, const char *ns)
{
        return (char *) xmlGetNsProp(n, BAD_CAST name, BAD_CAST ns);
}

/* Text of the first child element named name (any namespace), trimmed. Caller frees. */
static char *child_text(const xmlNode *n, const char *name)
{
        for (const xmlNode *c = n->children; c; c = c->next)
                if (is_elem(c, name)) {
                        xmlChar *t = xmlNodeGetContent(c);
                        char *s = (char *) t, *e;
                        if (!s)
                                return NULL;
                        while (isspace((unsigned char) *s))
                                s++;
                        e = s + strlen(s);
                        while (e > s && isspace((unsigned char) e[-1]))
                                *--e = 0;
                        memmove(t, s, strlen(s) + 1);
                        return (char *) t;
                }
        return NULL;
}

static int parse_u64(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        while (isspace((unsigned char) *end))
                end++;
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int ovf_parse_units(const char *s, uint64_t *ret)
{
        static const struct {
                const char *name;
                unsigned shift;
        } named[] = {
                { "byte", 0 },       { "bytes", 0 }, { "KiloBytes", 10 }, { "KB", 10 },
                { "MegaBytes", 20 }, { "MB", 20 },   { "GigaBytes", 30 }, { "GB", 30 },
                { "TeraBytes", 40 }, { "TB", 40 },
        };
        char buf[64], *p = buf, *q;
        uint64_t base, exp, v = 1;
        size_t k = 0;

        if (!s)
                return -EINVAL;
        for (; *s && k + 1 < sizeof(buf); s++) /* "byte * 2^20" and "byte*2^20" alike */
                if (!isspace((unsigned char) *s))
                        buf[k++] = *s;
        buf[k] = 0;
        for (size_t i = 0; i < ELEMENTSOF(named); i++)
                if (strcasecmp(buf, named[i].name) == 0) {
                        *ret = UINT64_C(1) << named[i].shift;
                        return 0;
                }
        if (strncasecmp(p, "byte*", 5) != 0)
                return -EINVAL;
        p += 5;
        q = strchr(p, '^');
        if (!q) { /* "byte * 1024" */
                if (parse_u64(p, &v) < 0 || v == 0 || v > IMAGE_MAX_SIZE)
                        return -EINVAL;
                *ret = v;
                return 0;
        }
        *q = 0;
        if (parse_u64(p, &base) < 0 || parse_u64(q + 1, &exp) < 0 || (base != 2 && base != 10) ||
            exp > 50)
                return -EINVAL;
        for (uint64_t i = 0; i < exp; i++) {
                if (v > IMAGE_MAX_SIZE / base)
                        return -EINVAL;
                v *= base;
        }
        *ret = v;
        return 0;
}

/* value × units, refusing overflow and absurd sizes. */
static int scaled(const char *value, const char *units, uint64_t dflt, uint64_t *ret)
{
        uint64_t v, mult = dflt;

        if (parse_u64(value, &v) < 0)
                return -EINVAL;
        if (units && ovf_parse_units(units, &mult) < 0)
                return -EOPNOTSUPP;
        if (mult && v > IMAGE_MAX_SIZE / mult)
                return -EFBIG;
        *ret = v * mult;
        return 0;
}

/* ---- the result ---- */

static void vm_release(struct ovf_vm *vm)
{
        free(vm->id);
        free(vm->name);
        free(vm->os_type);
        for (size_t i = 0; i < vm->n_disks; i++) {
                free(vm->disks[i].disk_id);
                free(vm->disks[i].controller_model);
        }
        free(vm->disks);
        for (size_t i = 0; i < vm->n_nics; i++) {
                free(vm->nics[i].model);
                free(vm->nics[i].network);
                free(vm->nics[i].mac);
        }
        free(vm->nics);
        strv_free(&vm->warnings, &vm->n_warnings);
}

void ovf_release(struct ovf *o)
{
        for (size_t i = 0; i < o->n_files; i++) {
                free(o->files[i].id);
                free(o->files[i].href);
        }
        free(o->files);
        for (size_t i = 0; i < o->n_disks; i++) {
                free(o->disks[i].id);
                free(o->disks[i].file_ref);
                free(o->disks[i].format);
        }
        free(o->disks);
        for (size_t i = 0; i < o->n_vms; i++)
                vm_release(&o->vms[i]);
        free(o->vms);
        free(o->deployment);
        *o = (struct ovf){ 0 };
}

static void ovf_releasep(struct ovf *o)
{
        ovf_release(o);
}

const struct ovf_disk *ovf_find_disk(const struct ovf *o, const char *id)
{
        for (size_t i = 0; i < o->n_disks; i++)
                if (strcmp(o->disks[i].id, id) == 0)
                        return &o->disks[i];
        return NULL;
}

const struct ovf_file *ovf_find_file(const struct ovf *o, const char *id)
{
        for (size_t i = 0; i < o->n_files; i++)
                if (strcmp(o->files[i].id, id) == 0)
                        return &o->files[i];
        return NULL;
}

static int warn(struct ovf_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warn(struct ovf_vm *vm, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_vaddf(&vm->warnings, &vm->n_warnings, fmt, ap);
        va_end(ap);
        return r;
}

/* ---- sections ---- */

static int parse_references(struct ovf *o, const xmlNode *sec, struct err *err)
{
        for (const xmlNode *f = sec->children; f; f = f->next) {
                _cleanup_free_ char *size = NULL, *comp = NULL, *chunk = NULL;
                struct ovf_file *file;

                if (!is_ovf(f, "File"))
                        continue;
                file = array_grow(&o->files, &o->n_files, sizeof(*file));
                if (!file)
                        return -ENOMEM;
                file->id = ovf_attr(f, "id");
                file->href = ovf_attr(f, "href");
                if (!file->id || !file->href)
                        return err_set(err, -EBADMSG,
                                       "a File in References lacks ovf:id or ovf:href");
                size = ovf_attr(f, "size");
                if (size && parse_u64(size, &file->size) < 0)
                        return err_set(err, -EBADMSG, "file '%s' has a bad size '%s'", file->id,
                                       size);
                comp = ovf_attr(f, "compression");
                if (comp && strcmp(comp, "gzip") == 0)
                        file->gzip = true;
                else if (comp && strcmp(comp, "identity") != 0)
                        return err_set(err, -EOPNOTSUPP,
                                       "file '%s' uses compression '%s' (gzip is supported)",
                                       file->id, comp);
                chunk = ovf_attr(f, "chunkSize");
                if (chunk && (parse_u64(chunk, &file->chunk_size) < 0 || file->chunk_size == 0))
                        return err_set(err, -EBADMSG, "file '%s' has a bad chunkSize '%s'",
                                       file->id, chunk);
        }
        return 0;
}

static int parse_disks(struct ovf *o, const xmlNode *sec, struct err *err)
{
        for (const xmlNode *d = sec->children; d; d = d->next) {
                _cleanup_free_ char *cap = NULL, *units = NULL;
                struct ovf_disk *disk;
                int r;

                if (!is_ovf(d, "Disk"))
                        continue;
                disk = array_grow(&o->disks, &o->n_disks, sizeof(*disk));
                if (!disk)
                        return -ENOMEM;
                disk->id = ovf_attr(d, "diskId");
                disk->file_ref = ovf_attr(d, "fileRef");
                disk->format = ovf_attr(d, "format");
                cap = ovf_attr(d, "capacity");
                units = ovf_attr(d, "capacityAllocationUnits");
                if (!disk->id || !cap)
                        return err_set(err, -EBADMSG, "a Disk lacks ovf:diskId or ovf:capacity");
                if (cap[0] == '$')
                        return err_set(err, -EOPNOTSUPP,
                                       "disk '%s': capacity '%s' is a property reference", disk->id,
                                       cap);
                r = scaled(cap, units, 1, &disk->capacity);
                if (r == -EOPNOTSUPP)
                        return err_set(err, r, "disk '%s': unknown capacity units '%s'", disk->id,
                                       units);
                if (r < 0)
                        return err_set(err, -EBADMSG, "disk '%s': bad capacity '%s'", disk->id,
                                       cap);
        }
        return 0;
}

/* Is this item part of the chosen deployment configuration? */
static bool item_selected(const xmlNode *item, const char *config)
{
        _cleanup_free_ char *list = ovf_attr(item, "configuration");
        char *save = NULL;

        if (!list)
                return true;
        if (!config)
                return false;
        for (char *t = strtok_r(list, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
                if (strcmp(t, config) == 0)
                        return true;
        return false;
}

struct controller {
        char *id;
        enum ovf_bus bus;
        char *model;
};

static enum ovf_bus storage_bus(unsigned type, const char *subtype)
{
        if (type == 5)
                return OVF_BUS_IDE;
        if (type == 6)
                return OVF_BUS_SCSI;
        if (subtype && (strcasestr(subtype, "nvme")))
                return OVF_BUS_NVME;
        if (subtype && (strcasestr(subtype, "sata") || strcasestr(subtype, "ahci")))
                return OVF_BUS_SATA;
        return OVF_BUS_UNKNOWN;
}

static int parse_hardware(struct ovf_vm *vm, const xmlNode *hw, const char *config, struct err *err)
{
        struct controller ctl[64];
        size_t n_ctl = 0, items = 0;
        int r = 0;

        /* Controllers first: disks name them by InstanceID, in any order. */
        for (int pass = 0; pass < 2 && r >= 0; pass++)
                for (const xmlNode *it = hw->children; it && r >= 0; it = it->next) {
                        _cleanup_free_ char *type_s = NULL, *sub = NULL, *iid = NULL, *name = NULL;
                        uint64_t type;

                        if (pass == 0 && is_elem(it, "Config") && it->ns &&
                            xmlStrcmp(it->ns->href, BAD_CAST NS_VMW) == 0) {
                                _cleanup_free_ char *key = ns_attr(it, "key", NS_VMW),
                                                    *val = ns_attr(it, "value", NS_VMW);
                                if (key && val && strcmp(key, "firmware") == 0)
                                        vm->firmware = strcasecmp(val, "efi") == 0
                                                               ? OVF_FIRMWARE_EFI
                                                               : OVF_FIRMWARE_BIOS;
                                else if (key && val && strcmp(key, "uefi.secureBoot.enabled") == 0)
                                        vm->secure_boot = strcasecmp(val, "true") == 0;
                                continue;
                        }
                        if (!is_ovf(it, "Item") && !is_ovf(it, "StorageItem") &&
                            !is_ovf(it, "EthernetPortItem"))
                                continue;
                        if (++items > OVF_MAX_ITEMS)
                                return err_set(err, -EBADMSG, "more than %u hardware items",
                                               OVF_MAX_ITEMS);
                        if (!item_selected(it, config))
                                continue;
                        type_s = child_text(it, "ResourceType");
                        if (parse_u64(type_s, &type) < 0) {
                                /* not a return: the controllers gathered so far are freed below */
                                r = err_set(err, -EBADMSG,
                                            "VM '%s': an item has no valid ResourceType", vm->id);
                                break;
                        }
                        sub = child_text(it, "ResourceSubType");
                        iid = child_text(it, "InstanceID");
                        name = child_text(it, "ElementName");

                        if (pass == 0) {
                                enum ovf_bus bus = storage_bus((unsigned) type, sub);
                                if ((type == 5 || type == 6 || type == 20) && iid) {
                                        if (n_ctl == ELEMENTSOF(ctl)) {
                                                r = err_set(err, -EBADMSG,
                                                            "VM '%s': too many controllers",
                                                            vm->id);
                                                break;
                                        }
                                        ctl[n_ctl++] =
                                                (struct controller){ .id = TAKE_PTR(iid),
                                                                     .bus = bus,
                                                                     .model = TAKE_PTR(sub) };
                                }
                                continue;
                        }

                        switch (type) {
                        case 3: {
                                _cleanup_free_ char *q = child_text(it, "VirtualQuantity"),
                                                    *cps = child_text(it, "CoresPerSocket");
                                uint64_t v, c;
                                if (parse_u64(q, &v) < 0 || v == 0 || v > 4096) {
                                        r = err_set(err, -EBADMSG, "VM '%s': bad CPU count",
                                                    vm->id);
                                        break;
                                }
                                vm->vcpus = (unsigned) v;
                                if (cps && parse_u64(cps, &c) == 0 && c > 0 && c <= v && v % c == 0)
                                        vm->cores_per_socket = (unsigned) c;
                                break;
                        }
                        case 4: {
                                _cleanup_free_ char *q = child_text(it, "VirtualQuantity"),
                                                    *u = child_text(it, "AllocationUnits");
                                r = scaled(q, u, UINT64_C(1) << 20, &vm->memory);
                                if (r < 0) {
                                        r = err_set(err, -EBADMSG,
                                                    "VM '%s': bad memory size '%s' '%s'", vm->id,
                                                    q ? q : "", u ? u : "");
                                        break;
                                }
                                if (!u)
                                        r = warn(vm, "memory has no AllocationUnits: taken as MiB");
                                break;
                        }
                        case 5:
                        case 6:
                        case 20:
                                break;
                        case 10: {
                                struct ovf_nic *nic =
                                        array_grow(&vm->nics, &vm->n_nics, sizeof(*nic));
                                if (!nic) {
                                        r = -ENOMEM;
                                        break;
                                }
                                nic->model = TAKE_PTR(sub);
                                nic->network = child_text(it, "Connection");
                                nic->mac = child_text(it, "Address");
                                break;
                        }
                        case 15:
                        case 16:
                                vm->cdroms++;
                                break;
                        case 17: {
                                _cleanup_free_ char *host = child_text(it, "HostResource"),
                                                    *parent = child_text(it, "Parent"),
                                                    *addr = child_text(it, "AddressOnParent");
                                struct ovf_vm_disk *d;
                                const char *id;
                                uint64_t unit = 0;

                                if (!host) {
                                        r = err_set(err, -EBADMSG,
                                                    "VM '%s': a disk item has no HostResource",
                                                    vm->id);
                                        break;
                                }
                                id = strncmp(host, "ovf:/disk/", 10) == 0 ? host + 10
                                     : strncmp(host, "/disk/", 6) == 0    ? host + 6
                                                                          : NULL;
                                if (!id) {
                                        r = warn(
                                                vm,
                                                "disk item '%s' refers to '%s', not a disk: ignored",
                                                name ? name : "?", host);
                                        break;
                                }
                                d = array_grow(&vm->disks, &vm->n_disks, sizeof(*d));
                                if (!d || !(d->disk_id = strdup(id))) {
                                        r = -ENOMEM;
                                        break;
                                }
                                d->bus = OVF_BUS_UNKNOWN;
                                for (size_t k = 0; parent && k < n_ctl; k++)
                                        if (strcmp(ctl[k].id, parent) ==
                                            0) { /* the first of duplicates */
                                                d->bus = ctl[k].bus;
                                                d->controller_model =
                                                        ctl[k].model ? strdup(ctl[k].model) : NULL;
                                                break;
                                        }
                                if (addr)
                                        (void) parse_u64(addr, &unit);
                                d->unit = (unsigned) (unit < 1024 ? unit : 0);
                                break;
                        }
                        case 1:
                        case 14:
                        case 21:
                        case 23:
                        case 24:
                        case 35:
                        default:
                                r = warn(
                                        vm,
                                        "'%s' (resource type %llu%s%s) has no counterpart here: left out",
                                        name ? name : "item", (unsigned long long) type,
                                        sub ? ", " : "", sub ? sub : "");
                                break;
                        }
                }
        for (size_t k = 0; k < n_ctl; k++) {
                free(ctl[k].id);
                free(ctl[k].model);
        }
        return r;
}

/* VirtualBox keeps EFI only in its own section: <vbox:Machine>...<Firmware type="EFI"/>. */
static bool vbox_efi(const xmlNode *n, unsigned depth)
{
        for (const xmlNode *c = n->children; c && depth < 8; c = c->next) {
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                /* Below vbox:Machine, VirtualBox writes its elements unprefixed: they land in
                 * whatever namespace is the default, so match by name. */
                if (is_elem(c, "Firmware")) {
                        _cleanup_free_ char *t = (char *) xmlGetNoNsProp(c, BAD_CAST "type");
                        /* VirtualBox writes EFI, EFI32, EFI64 or EFIDUAL. */
                        if (t && strncasecmp(t, "EFI", 3) == 0)
                                return true;
                }
                if (vbox_efi(c, depth + 1))
                        return true;
        }
        return false;
}

/* VirtualBox keeps NIC MAC addresses only in vbox:Machine: <Adapter enabled="true"
 * MACAddress="080027A1B2C3">, one per enabled adapter in the order of its NIC items. */
static void vbox_macs(const xmlNode *n, unsigned depth, char (*macs)[18], size_t max, size_t *count)
{
        for (const xmlNode *c = n->children; c && depth < 8; c = c->next) {
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                if (is_elem(c, "Adapter")) {
                        _cleanup_free_ char *en = (char *) xmlGetNoNsProp(c, BAD_CAST "enabled"),
                                            *mac = (char *) xmlGetNoNsProp(c,
                                                                           BAD_CAST "MACAddress");
                        if (en && strcmp(en, "true") == 0 && *count < max) {
                                char *m = macs[(*count)++];
                                if (mac && strlen(mac) == 12 &&
                                    strspn(mac, "0123456789abcdefABCDEF") == 12)
                                        (void) snprintf(m, 18, "%.2s:%.2s:%.2s:%.2s:%.2s:%.2s", mac,
                                                        mac + 2, mac + 4, mac + 6, mac + 8,
                                                        mac + 10);
                                else
                                        m[0] = '\0';
                        }
                        continue;
                }
                vbox_macs(c, depth + 1, macs, max, count);
        }
}

static int parse_system(struct ovf *o, const xmlNode *vs, struct err *err)
{
        struct ovf_vm *vm = array_grow(&o->vms, &o->n_vms, sizeof(*vm));
        char macs[36][18]; /* VirtualBox has at most 36 adapters */
        size_t n_macs = 0;
        int r;

        if (!vm)
                return -ENOMEM;
        vm->id = ovf_attr(vs, "id");
        if (!vm->id)
                return err_set(err, -EBADMSG, "a VirtualSystem has no ovf:id");
        vm->name = child_text(vs, "Name");
        for (const xmlNode *s = vs->children; s; s = s->next) {
                if (is_ovf(s, "OperatingSystemSection")) {
                        _cleanup_free_ char *cim = ovf_attr(s, "id");
                        uint64_t v;
                        if (cim && parse_u64(cim, &v) == 0 && v < 65536)
                                vm->os_cim = (unsigned) v;
                        vm->os_type = ns_attr(s, "osType", NS_VMW);
                        if (!vm->os_type)
                                vm->os_type = child_text(s, "OSType");
                } else if (is_ovf(s, "VirtualHardwareSection")) {
                        r = parse_hardware(vm, s, o->deployment, err);
                        if (r < 0)
                                return r;
                } else if (is_elem(s, "Machine") && s->ns &&
                           xmlStrcmp(s->ns->href, BAD_CAST NS_VBOX) == 0) {
                        if (vbox_efi(s, 0))
                                vm->firmware = OVF_FIRMWARE_EFI;
                        vbox_macs(s, 0, macs, ELEMENTSOF(macs), &n_macs);
                }
        }
        for (size_t i = 0; i < vm->n_nics && i < n_macs; i++)
                if (!vm->nics[i].mac && macs[i][0] && !(vm->nics[i].mac = strdup(macs[i])))
                        return -ENOMEM;
        if (!vm->vcpus)
                vm->vcpus = 1;
        if (!vm->memory)
                return err_set(err, -EBADMSG, "VM '%s' declares no memory", vm->id);
        for (size_t i = 0; i < vm->n_disks; i++)
                if (!ovf_find_disk(o, vm->disks[i].disk_id))
                        return err_set(err, -EBADMSG,
                                       "VM '%s' uses disk '%s', which DiskSection does not declare",
                                       vm->id, vm->disks[i].disk_id);
        return 0;
}

static int parse_systems(struct ovf *o, const xmlNode *parent, unsigned depth, struct err *err)
{
        for (const xmlNode *n = parent->children; n; n = n->next) {
                int r = 0;
                if (is_ovf(n, "VirtualSystem"))
                        r = parse_system(o, n, err);
                else if (is_ovf(n, "VirtualSystemCollection")) {
                        if (depth >= OVF_MAX_NESTING)
                                return err_set(err, -EBADMSG,
                                               "VirtualSystemCollections nested too deep");
                        r = parse_systems(o, n, depth + 1, err);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* DeploymentOptionSection sits in the Envelope (or a collection); pick the configuration. */
static int choose_deployment(struct ovf *o, const xmlNode *root, const char *want, struct err *err)
{
        char avail[200] = "";
        bool found_section = false;

        for (const xmlNode *s = root->children; s; s = s->next) {
                if (!is_ovf(s, "DeploymentOptionSection"))
                        continue;
                found_section = true;
                for (const xmlNode *c = s->children; c; c = c->next) {
                        _cleanup_free_ char *id = NULL, *def = NULL;
                        if (!is_ovf(c, "Configuration"))
                                continue;
                        id = ovf_attr(c, "id");
                        def = ovf_attr(c, "default");
                        if (!id)
                                continue;
                        if (strlen(avail) + strlen(id) + 3 < sizeof(avail))
                                (void) snprintf(avail + strlen(avail),
                                                sizeof(avail) - strlen(avail), "%s%s",
                                                avail[0] ? ", " : "", id);
                        if (want ? strcmp(id, want) == 0
                                 : (!o->deployment || (def && strcmp(def, "true") == 0))) {
                                free(o->deployment);
                                o->deployment = TAKE_PTR(id);
                                if (want)
                                        return 0;
                        }
                }
        }
        if (want && !found_section)
                return err_set(err, -ENOENT, "the OVF has no deployment options (asked for '%s')",
                               want);
        if (want)
                return err_set(err, -ENOENT, "no deployment option '%s' (the OVF has: %s)", want,
                               avail);
        return 0;
}

static bool has_doctype(const char *xml, size_t len)
{
        static const char needle[] = "<!DOCTYPE";
        for (size_t i = 0; i + sizeof(needle) - 1 <= len; i++)
                if (xml[i] == '<' && memcmp(xml + i, needle, sizeof(needle) - 1) == 0)
                        return true;
        return false;
}

static void quiet_xml(void *ctx, const char *msg, ...)
{
        (void) ctx;
        (void) msg;
}

int ovf_parse(const char *xml, size_t len, const char *deployment, struct ovf *ret, struct err *err)
{
        _cleanup_(ovf_releasep) struct ovf o = { 0 };
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
        const xmlNode *root;
        int r;

        if (len > OVF_MAX_BYTES)
                return err_set(err, -EFBIG, "OVF descriptor larger than %u bytes", OVF_MAX_BYTES);
        /* OVF never needs a DTD; refusing it rules out entity expansion ("billion laughs") and
         * external entities before the parser sees them. */
        if (has_doctype(xml, len))
                return err_set(err, -EBADMSG,
                               "the OVF has a DOCTYPE (entity declarations are refused)");
        /* NOERROR does not cover the encoding and I/O layers, which print through libxml2's
         * generic handler; the library must not print, so silence it (per thread in libxml2). */
        xmlSetGenericErrorFunc(NULL, quiet_xml);
        doc = xmlReadMemory(xml, (int) len, "descriptor.ovf", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc) {
                xmlErrorPtr e = xmlGetLastError();
                if (e && e->message) {
                        char msg[160];
                        size_t n;
                        (void) snprintf(msg, sizeof(msg), "%s", e->message);
                        n = strlen(msg);
                        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
                                msg[--n] = 0;
                        return err_set(err, -EBADMSG,
                                       "the OVF is not well-formed XML (line %d: %s)", e->line,
                                       msg);
                }
                return err_set(err, -EBADMSG, "the OVF is not well-formed XML");
        }
        root = xmlDocGetRootElement(doc);
        if (!root || !is_ovf(root, "Envelope"))
                return err_set(err, -EMEDIUMTYPE,
                               "not an OVF descriptor: the root is not an OVF Envelope");
        o.version = xmlStrcmp(root->ns->href, BAD_CAST NS_OVF2) == 0 ? 2 : 1;

        r = choose_deployment(&o, root, deployment, err);
        if (r < 0)
                return r;
        for (const xmlNode *s = root->children; s; s = s->next) {
                if (is_ovf(s, "References"))
                        r = parse_references(&o, s, err);
                else if (is_ovf(s, "DiskSection"))
                        r = parse_disks(&o, s, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < o.n_disks; i++)
                if (o.disks[i].file_ref && !ovf_find_file(&o, o.disks[i].file_ref))
                        return err_set(
                                err, -EBADMSG,
                                "disk '%s' refers to file '%s', which References does not list",
                                o.disks[i].id, o.disks[i].file_ref);
        r = parse_systems(&o, root, 0, err);
        if (r < 0)
                return r;
        if (o.n_vms == 0)
                return err_set(err, -EBADMSG, "the OVF describes no VirtualSystem");
        *ret = o;
        o = (struct ovf){ 0 };
        return 0;
}
