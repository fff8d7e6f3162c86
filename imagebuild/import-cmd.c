/* kvmforge-image import: an OVA or OVF, local or at a URL, into qcow2 disks and libvirt guests. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "domain.h"
#include "http.h"
#include "import.h"
#include "json.h"
#include "log.h"
#include "units.h"
#include "virt.h"

#define DEFAULT_DEST "/var/lib/libvirt/images"

static bool arg_dry_run;
static bool arg_print_xml;
static bool arg_json;
static bool arg_progress;
static bool arg_start;
static bool arg_virtio;
static bool arg_new_macs;
static bool arg_no_verify;
static bool arg_insecure;
static const char *arg_dest;
static const char *arg_pool;
static const char *arg_connect;
static const char *arg_name;
static const char *arg_bridge;
static const char *arg_network;
static const char *arg_vm;
static const char *arg_deployment;
static unsigned arg_threads;

void import_help(void)
{
        printf("Usage: kvmforge-image import [OPTIONS...] SRC\n\n"
               "Import a VMware/VirtualBox export as a libvirt guest. SRC is an .ova, an .ovf with\n"
               "its files beside it, or an http:// or https:// URL of either. An OVA is read once,\n"
               "front to back: disks are converted to qcow2 and checked against the manifest while\n"
               "they stream by, with no temporary copy. The plan (VMs, disks, devices, warnings)\n"
               "is printed first; on any failure nothing is left behind.\n\n"
               "Options:\n"
               "  -n, --dry-run          read the descriptor only and print the plan\n"
               "      --print-xml        also print the libvirt domain XML\n"
               "      --json             print the plan as JSON\n"
               "      --dest=DIR         write the qcow2 disks here (default " DEFAULT_DEST ")\n"
               "      --pool=NAME        or upload them into this libvirt storage pool\n"
               "      --connect=URI      libvirt URI (default qemu:///system)\n"
               "      --name=NAME        name of the guest (one VM only)\n"
               "      --bridge=BR        attach the NICs to bridge BR ...\n"
               "      --network=NAME     ... or to libvirt network NAME (default: the host's\n"
               "                         bridge if it has one, else libvirt's 'default')\n"
               "      --virtio           the guest has virtio drivers: virtio disks and NICs\n"
               "      --new-macs         give the NICs new MAC addresses\n"
               "      --vm=ID            import only the VM with this ovf:id\n"
               "      --deployment=ID    use this DeploymentOptionSection configuration\n"
               "      --start            start the guests once defined\n"
               "      --no-verify        import even when the manifest does not match\n"
               "      --insecure         do not verify the TLS certificate of an https:// SRC\n"
               "  -t, --threads=N        inflate threads (default: one per CPU)\n"
               "  -p, --progress         show a progress bar when stderr is a terminal\n"
               "  -h, --help             show this help\n\n"
               "Exit status: 0 imported, 1 the import failed (nothing left behind), 2 bad usage.\n");
}

int import_parse(int argc, char **argv)
{
        enum {
                OPT_PRINT_XML = 0x100,
                OPT_JSON,
                OPT_DEST,
                OPT_POOL,
                OPT_CONNECT,
                OPT_NAME,
                OPT_BRIDGE,
                OPT_NETWORK,
                OPT_VIRTIO,
                OPT_NEW_MACS,
                OPT_VM,
                OPT_DEPLOYMENT,
                OPT_START,
                OPT_NO_VERIFY,
                OPT_INSECURE,
        };
        static const struct option options[] = {
                { "dry-run", no_argument, NULL, 'n' },
                { "print-xml", no_argument, NULL, OPT_PRINT_XML },
                { "json", no_argument, NULL, OPT_JSON },
                { "dest", required_argument, NULL, OPT_DEST },
                { "pool", required_argument, NULL, OPT_POOL },
                { "connect", required_argument, NULL, OPT_CONNECT },
                { "name", required_argument, NULL, OPT_NAME },
                { "bridge", required_argument, NULL, OPT_BRIDGE },
                { "network", required_argument, NULL, OPT_NETWORK },
                { "virtio", no_argument, NULL, OPT_VIRTIO },
                { "new-macs", no_argument, NULL, OPT_NEW_MACS },
                { "vm", required_argument, NULL, OPT_VM },
                { "deployment", required_argument, NULL, OPT_DEPLOYMENT },
                { "start", no_argument, NULL, OPT_START },
                { "no-verify", no_argument, NULL, OPT_NO_VERIFY },
                { "insecure", no_argument, NULL, OPT_INSECURE },
                { "threads", required_argument, NULL, 't' },
                { "progress", no_argument, NULL, 'p' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "nt:ph", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        arg_dry_run = true;
                        break;
                case OPT_PRINT_XML:
                        arg_print_xml = true;
                        break;
                case OPT_JSON:
                        arg_json = true;
                        break;
                case OPT_DEST:
                        arg_dest = optarg;
                        break;
                case OPT_POOL:
                        arg_pool = optarg;
                        break;
                case OPT_CONNECT:
                        arg_connect = optarg;
                        break;
                case OPT_NAME:
                        arg_name = optarg;
                        break;
                case OPT_BRIDGE:
                        arg_bridge = optarg;
                        break;
                case OPT_NETWORK:
                        arg_network = optarg;
                        break;
                case OPT_VIRTIO:
                        arg_virtio = true;
                        break;
                case OPT_NEW_MACS:
                        arg_new_macs = true;
                        break;
                case OPT_VM:
                        arg_vm = optarg;
                        break;
                case OPT_DEPLOYMENT:
                        arg_deployment = optarg;
                        break;
                case OPT_START:
                        arg_start = true;
                        break;
                case OPT_NO_VERIFY:
                        arg_no_verify = true;
                        break;
                case OPT_INSECURE:
                        arg_insecure = true;
                        break;
                case 't':
                        if (parse_threads(optarg, &arg_threads) < 0)
                                return usage_error("import", "bad thread count '%s'", optarg);
                        break;
                case 'p':
                        arg_progress = true;
                        break;
                case 'h':
                        import_help();
                        return 0;
                default:
                        return usage_error("import", "%s", "bad option");
                }
        if (optind + 1 != argc)
                return usage_error("import", "%s", "expected one SRC (a file or URL)");
        if (arg_dest && arg_pool)
                return usage_error("import", "%s", "--dest and --pool exclude each other");
        if (arg_bridge && arg_network)
                return usage_error("import", "%s", "--bridge and --network exclude each other");
        return 1;
}

static const char *bus_label(enum ovf_bus b)
{
        switch (b) {
        case OVF_BUS_IDE:
                return "IDE";
        case OVF_BUS_SCSI:
                return "SCSI";
        case OVF_BUS_SATA:
                return "SATA";
        case OVF_BUS_NVME:
                return "NVMe";
        default:
                return "unknown";
        }
}

static const char *disk_file(const struct import *im, const struct domain_disk *dd)
{
        const struct ovf_disk *od = ovf_find_disk(&im->ovf, dd->ovf_disk_id);
        const struct ovf_file *f =
                od && od->file_ref ? ovf_find_file(&im->ovf, od->file_ref) : NULL;
        return f ? f->href : NULL;
}

static void plan_text(const struct import *im)
{
        char a[32];

        printf("Source: %s (%s, OVF %u%s%s)\n", im->source, im->ova ? "OVA" : "OVF",
               im->ovf.version, im->ovf.deployment ? ", deployment " : "",
               im->ovf.deployment ? im->ovf.deployment : "");
        for (size_t i = 0; i < im->n_domains; i++) {
                const struct domain *d = &im->domains[i];
                printf("\nVM '%s' (ovf:id '%s')\n", d->name, d->ovf_id);
                printf("  runs as:   %s\n", d->kvm ? "KVM" : "QEMU software emulation (no KVM)");
                printf("  firmware:  %s%s\n", d->efi ? "UEFI (OVMF, fresh NVRAM)" : "BIOS",
                       d->secure_boot ? ", Secure Boot" : "");
                printf("  CPUs:      %u (%u socket%s x %u core%s)\n", d->vcpus, d->sockets,
                       d->sockets == 1 ? "" : "s", d->cores, d->cores == 1 ? "" : "s");
                printf("  memory:    %s\n", units_format_bytes(d->memory, a, sizeof(a)));
                printf("  guest OS:  %s%s%s\n", d->os_type ? d->os_type : "not stated",
                       d->osinfo ? " -> " : "", d->osinfo ? d->osinfo : "");
                for (size_t k = 0; k < d->n_disks; k++) {
                        const struct domain_disk *dd = &d->disks[k];
                        const char *f = disk_file(im, dd);
                        printf("  disk %zu:    %s %s%s%s, on %s%s%s -> %s (%s) %s\n", k + 1,
                               units_format_bytes(dd->capacity, a, sizeof(a)),
                               dd->blank ? "blank, created empty" : "from '", dd->blank ? "" : f,
                               dd->blank ? "" : "'", bus_label(dd->ovf_bus),
                               dd->ovf_controller ? " " : "",
                               dd->ovf_controller ? dd->ovf_controller : "", dd->target,
                               dd->bus == DOMAIN_BUS_VIRTIO ? "virtio" : "SATA",
                               dd->path ? dd->path : dd->volume);
                }
                if (d->cdroms)
                        printf("  CD-ROM:    %u, empty, on SATA\n", d->cdroms);
                for (size_t k = 0; k < d->n_nics; k++) {
                        const struct domain_nic *n = &d->nics[k];
                        printf("  NIC %zu:     %s on '%s' -> %s on %s '%s', MAC %s\n", k + 1,
                               n->ovf_model ? n->ovf_model : "?",
                               n->ovf_network ? n->ovf_network : "?", n->model,
                               d->net == DOMAIN_NET_BRIDGE ? "bridge" : "network", d->net_source,
                               n->mac ? n->mac : "new");
                }
                printf("  console:   serial (virsh console %s), VNC on 127.0.0.1\n", d->name);
                for (size_t k = 0; k < d->n_warnings; k++)
                        printf("  warning:   %s\n", d->warnings[k]);
        }
        for (size_t i = 0; i < im->n_notes; i++)
                printf("note: %s\n", im->notes[i]);
}

static void plan_json(const struct import *im, char **xmls)
{
        struct json j;

        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        json_string(&j, "source", im->source);
        json_string(&j, "kind", im->ova ? "ova" : "ovf");
        json_u64(&j, "ovf_version", im->ovf.version);
        json_string_or_null(&j, "deployment", im->ovf.deployment);
        json_begin_array(&j, "vms");
        for (size_t i = 0; i < im->n_domains; i++) {
                const struct domain *d = &im->domains[i];
                json_begin_object(&j, NULL);
                json_string(&j, "name", d->name);
                json_string(&j, "ovf_id", d->ovf_id);
                json_string(&j, "type", d->kvm ? "kvm" : "qemu");
                json_string(&j, "firmware", d->efi ? "efi" : "bios");
                json_bool(&j, "secure_boot", d->secure_boot);
                json_u64(&j, "vcpus", d->vcpus);
                json_u64(&j, "sockets", d->sockets);
                json_u64(&j, "cores", d->cores);
                json_u64(&j, "memory", d->memory);
                json_string_or_null(&j, "os_type", d->os_type);
                json_string_or_null(&j, "osinfo", d->osinfo);
                json_begin_array(&j, "disks");
                for (size_t k = 0; k < d->n_disks; k++) {
                        const struct domain_disk *dd = &d->disks[k];
                        const char *f = disk_file(im, dd);
                        json_begin_object(&j, NULL);
                        json_string(&j, "ovf_disk_id", dd->ovf_disk_id);
                        json_string_or_null(&j, "file", f);
                        json_u64(&j, "capacity", dd->capacity);
                        json_string(&j, "ovf_bus", bus_label(dd->ovf_bus));
                        json_string(&j, "bus", dd->bus == DOMAIN_BUS_VIRTIO ? "virtio" : "sata");
                        json_string(&j, "target", dd->target);
                        json_string(&j, "path", dd->path ? dd->path : dd->volume);
                        json_end_object(&j);
                }
                json_end_array(&j);
                json_u64(&j, "cdroms", d->cdroms);
                json_begin_array(&j, "nics");
                for (size_t k = 0; k < d->n_nics; k++) {
                        const struct domain_nic *n = &d->nics[k];
                        json_begin_object(&j, NULL);
                        json_string_or_null(&j, "ovf_model", n->ovf_model);
                        json_string_or_null(&j, "ovf_network", n->ovf_network);
                        json_string(&j, "model", n->model);
                        json_string_or_null(&j, "mac", n->mac);
                        json_string(&j, d->net == DOMAIN_NET_BRIDGE ? "bridge" : "network",
                                    d->net_source);
                        json_end_object(&j);
                }
                json_end_array(&j);
                json_begin_array(&j, "warnings");
                for (size_t k = 0; k < d->n_warnings; k++)
                        json_string(&j, NULL, d->warnings[k]);
                json_end_array(&j);
                if (xmls)
                        json_string(&j, "xml", xmls[i]);
                json_end_object(&j);
        }
        json_end_array(&j);
        json_begin_array(&j, "notes");
        for (size_t i = 0; i < im->n_notes; i++)
                json_string(&j, NULL, im->notes[i]);
        json_end_array(&j);
        json_end_object(&j);
        fputc('\n', stdout);
}

struct disk_progress {
        struct progress bar;
        const struct domain_disk *disk;
        char label[80];
};

static void on_disk_progress(void *userdata, const struct domain_disk *disk, uint64_t done,
                             uint64_t total)
{
        struct disk_progress *p = userdata;

        if (p->disk != disk) {
                if (p->bar.drawn)
                        fputc('\n', stderr);
                p->disk = disk;
                p->bar.drawn = false;
                clock_gettime(CLOCK_MONOTONIC, &p->bar.start);
                (void) snprintf(p->label, sizeof(p->label), "%s", disk->volume);
                p->bar.label = p->label;
        }
        draw_progress(&p->bar, done, total);
}

static int store_volume(void *userdata, const struct domain_disk *disk, const char *file,
                        struct err *err)
{
        int r = virt_upload(userdata, arg_pool, disk->volume, file, err);
        return r < 0 ? err_prefix(err, r, "pool '%s', volume '%s'", arg_pool, disk->volume) : 0;
}

static int open_source(const char *src, struct input **ret, struct err *err)
{
        if (http_is_url(src)) {
                struct http_options ho = { .insecure = arg_insecure };
                return http_input_open(src, &ho, ret, err);
        }
        return input_open_file(src, ret, err);
}

/* Where NICs go when the user did not say: the host's own bridge, else libvirt's network. */
static int default_network(struct domain_options *o, char **bridge, struct err *err)
{
        struct err why = { { 0 } };
        int r;

        if (arg_bridge || arg_network || arg_connect)
                return 0;
        r = domain_host_bridge("/sys/class/net", bridge, &why);
        if (r < 0)
                return err_set(err, r, "%s: choose one with --bridge or --network", why.msg);
        o->bridge = *bridge;
        return 0;
}

static int check_bridge(const char *br, struct err *err)
{
        char p[300];

        (void) snprintf(p, sizeof(p), "/sys/class/net/%s/bridge", br);
        if (access(p, F_OK) < 0)
                return err_set(err, -ENODEV, "this host has no bridge '%s'", br);
        return 0;
}

int import_main(const char *arg_src)
{
        char src[300]; /* SRC as messages show it: never a URL's password */
        _cleanup_(import_freep) struct import *im = NULL;
        _cleanup_(virt_freep) struct virt *v = NULL;
        _cleanup_free_ char *bridge = NULL;
        struct disk_progress dp = { 0 };
        struct import_options opt = {
                .vm = arg_vm,
                .deployment = arg_deployment,
                .no_verify = arg_no_verify,
                .domain = { .name = arg_name,
                            .dest = arg_pool   ? NULL
                                    : arg_dest ? arg_dest
                                               : DEFAULT_DEST,
                            .pool = arg_pool,
                            .bridge = arg_bridge,
                            .network = arg_network,
                            .virtio = arg_virtio,
                            .new_macs = arg_new_macs },
                .convert = { .threads = arg_threads, .cancel = &cancel_requested },
        };
        struct err err = { { 0 } };
        struct input *in = NULL;
        char **xmls = NULL;
        size_t n_xmls = 0, notes_shown = 0;
        int r;

        http_redact_url(arg_src, src, sizeof(src));
        r = default_network(&opt.domain, &bridge, &err);
        if (r < 0)
                return log_error_errno(r, "cannot import '%s': %s", src, err.msg);
        if (arg_dry_run) {
                opt.domain.kvm = access("/dev/kvm", R_OK | W_OK) == 0;
        } else {
                r = virt_open(arg_connect, &v, &err);
                if (r < 0)
                        return log_error_errno(r, "cannot import '%s': %s", src, err.msg);
                r = virt_has_kvm(v, &err);
                if (r < 0)
                        return log_error_errno(r, "cannot import '%s': %s", src, err.msg);
                opt.domain.kvm = r > 0;
                /* Found out now, not after the disks are converted. */
                if (!opt.domain.bridge)
                        r = virt_check_network(v, arg_network ? arg_network : "default", &err);
                else if (!arg_connect)
                        r = check_bridge(opt.domain.bridge, &err);
                if (r >= 0 && arg_pool)
                        r = virt_check_pool(v, arg_pool, &err);
                if (r < 0)
                        return log_error_errno(r, "cannot import '%s': %s", src, err.msg);
                opt.store = store_volume;
                opt.store_userdata = v;
        }
        if (arg_progress && isatty(STDERR_FILENO)) {
                opt.disk_progress = on_disk_progress;
                opt.convert.userdata = &dp;
        }

        r = open_source(arg_src, &in, &err);
        if (r < 0)
                return log_error_errno(r, "cannot import '%s': %s", src, err.msg);
        r = import_open(in, !import_is_ovf(arg_src), &opt, &im, &err);
        if (r < 0)
                return log_error_errno(r, "cannot import '%s': %s", src, err.msg);

        for (size_t i = 0; v && i < im->n_domains; i++) {
                r = virt_domain_exists(v, im->domains[i].name, &err);
                if (r < 0)
                        return log_error_errno(r, "cannot import '%s': %s", src, err.msg);
                if (r > 0)
                        return log_error_errno(EEXIST,
                                               "cannot import '%s': a guest named '%s' exists "
                                               "already; choose another with --name",
                                               src, im->domains[i].name);
                for (size_t k = 0; arg_pool && k < im->domains[i].n_disks; k++) {
                        const char *vol = im->domains[i].disks[k].volume;
                        r = virt_volume_exists(v, arg_pool, vol, &err);
                        if (r < 0)
                                return log_error_errno(r, "cannot import '%s': %s", src, err.msg);
                        if (r > 0)
                                return log_error_errno(EEXIST,
                                                       "cannot import '%s': pool '%s' has a "
                                                       "volume '%s' already; choose another "
                                                       "--name",
                                                       src, arg_pool, vol);
                }
        }
        xmls = calloc(im->n_domains, sizeof(char *));
        if (!xmls)
                return log_error_errno(ENOMEM, "out of memory");
        for (; n_xmls < im->n_domains; n_xmls++) {
                r = domain_xml(&im->domains[n_xmls], &xmls[n_xmls], &err);
                if (r < 0)
                        goto out;
        }

        if (arg_json && arg_dry_run)
                plan_json(im, arg_print_xml ? xmls : NULL);
        else if (!arg_json)
                plan_text(im);
        if (arg_print_xml && !arg_json)
                for (size_t i = 0; i < n_xmls; i++)
                        printf("\n%s", xmls[i]);
        fflush(stdout);
        notes_shown = im->n_notes;
        if (arg_dry_run)
                goto out;

        catch_signals();
        r = import_run(im, &err);
        if (dp.bar.drawn)
                fputc('\n', stderr);
        if (r == -ECANCELED && cancel_requested) {
                virt_rollback(v);
                log_error_errno(r, "importing '%s' was interrupted; nothing was kept", src);
                goto out;
        }
        if (r < 0) {
                /* A download that failed says why better than the reader that saw it end. */
                const char *why = http_input_error(im->in);
                virt_rollback(v);
                log_error_errno(r, "cannot import '%s': %s", src, why[0] ? why : err.msg);
                goto out;
        }
        for (size_t i = 0; i < im->n_domains && r >= 0; i++) {
                r = virt_define(v, xmls[i], &err);
                if (r >= 0 && arg_start)
                        r = virt_start(v, im->domains[i].name, &err);
                if (r < 0)
                        log_error_errno(r, "cannot import '%s': guest '%s': %s", src,
                                        im->domains[i].name, err.msg);
        }
        if (r < 0) {
                virt_rollback(v);
                import_rollback(im);
                goto out;
        }
        if (arg_json)
                plan_json(im, NULL);
        else /* what the walk found after the plan was shown */
                for (size_t i = notes_shown; i < im->n_notes; i++)
                        printf("note: %s\n", im->notes[i]);
        for (size_t i = 0; i < im->n_domains; i++)
                fprintf(arg_json ? stderr : stdout, "\nimported '%s'%s; manifest %s\n",
                        im->domains[i].name, arg_start ? " and started it" : "",
                        im->verified ? "verified" : "not verified");
out:
        for (size_t i = 0; i < n_xmls; i++)
                free(xmls[i]);
        free(xmls);
        if (r < 0 && !err.msg[0])
                log_error_errno(r, "cannot import '%s': %m", src);
        return r < 0 ? r : 0;
}
