/* The whole report and its JSON form (a stable interface: see README.md). */
#include <stdlib.h>
#include <string.h>

#include "hw.h"
#include "json.h"

int hw_report_detect(const struct hw_source *src, struct hw_report *ret)
{
        struct hw_report r = { 0 };
        int e;

        hw_cpu_detect(src, &r.cpu);
        hw_firmware_detect(src, &r.firmware);
        hw_video_detect(src, &r.firmware, &r.video);
        hw_dmi_detect(src, &r.dmi);
        r.memory = hw_memory_detect(src);
        if ((e = hw_disks_detect(src, &r.disks, &r.n_disks)) < 0 ||
            (e = hw_nics_detect(src, &r.nics, &r.n_nics)) < 0) {
                hw_report_release(&r);
                return e;
        }
        *ret = r;
        return 0;
}

void hw_report_release(struct hw_report *r)
{
        free(r->disks);
        free(r->nics);
        *r = (struct hw_report){ 0 };
}

static void str_or_null(struct json *j, const char *key, const char *v)
{
        json_string_or_null(j, key, v && v[0] ? v : NULL);
}

static void content_json(struct json *j, const char *key, const struct hw_content *c)
{
        if (!c->type[0]) {
                json_null(j, key);
                return;
        }
        json_begin_object(j, key);
        json_string(j, "type", c->type);
        str_or_null(j, "label", c->label);
        str_or_null(j, "vg", c->vg);
        json_end_object(j);
}

static void cpu_json(struct json *j, const struct hw_cpu *c)
{
        json_begin_object(j, "cpu");
        json_string(j, "verdict", hw_verdict_names[c->verdict]);
        json_string(j, "reason", c->reason);
        str_or_null(j, "vendor", c->vendor);
        str_or_null(j, "model", c->model);
        json_u64(j, "threads", c->threads);
        json_string(j, "extension", c->vmx ? "vmx" : c->svm ? "svm" : "none");
        json_bool(j, "hypervisor", c->hypervisor);
        str_or_null(j, "hypervisor_vendor", c->hv_vendor);
        json_bool(j, "kernel_flag", c->cpuinfo_flag);
        if (c->msr_known)
                json_u64(j, "firmware_lock_msr", c->msr);
        else
                json_null(j, "firmware_lock_msr");
        json_string(j, "kvm", hw_tristate_names[c->kvm]);
        json_string(j, "nested", hw_tristate_names[c->nested]);
        json_string(j, "iommu", hw_tristate_names[c->iommu]);
        str_or_null(j, "iommu_acpi_table", c->iommu_table);
        json_end_object(j);
}

void hw_report_json(const struct hw_report *r, struct json *j)
{
        json_begin_object(j, NULL);
        json_u64(j, "version", 1);
        cpu_json(j, &r->cpu);
        json_begin_object(j, "firmware");
        json_string(j, "mode", r->firmware.uefi ? "uefi" : "bios");
        json_string(j, "secure_boot", hw_tristate_names[r->firmware.secure_boot]);
        str_or_null(j, "consoles", r->firmware.cmdline_consoles);
        str_or_null(j, "serial_ports", r->firmware.serial_ports);
        json_end_object(j);
        json_begin_object(j, "video");
        str_or_null(j, "framebuffer", r->video.fb);
        str_or_null(j, "framebuffer_size", r->video.fb_size);
        json_begin_array(j, "connectors");
        for (size_t i = 0; i < r->video.n_connectors; i++) {
                const struct hw_connector *c = &r->video.connectors[i];
                json_begin_object(j, NULL);
                json_string(j, "name", c->name);
                json_bool(j, "connected", c->connected);
                str_or_null(j, "mode", c->mode);
                str_or_null(j, "edid_preferred", c->edid_mode);
                json_end_object(j);
        }
        json_end_array(j);
        json_begin_object(j, "vbe");
        json_bool(j, "probed", r->video.vbe.probed);
        str_or_null(j, "error", r->video.vbe.probed ? NULL : r->video.vbe.why);
        if (r->video.vbe.probed) {
                char ver[8];
                (void) snprintf(ver, sizeof(ver), "%u.%u", r->video.vbe.version >> 8,
                                r->video.vbe.version & 0xff);
                json_string(j, "version", ver);
                json_u64(j, "memory", r->video.vbe.memory);
        } else {
                json_null(j, "version");
                json_null(j, "memory");
        }
        json_begin_array(j, "modes");
        for (size_t i = 0; i < r->video.vbe.n_modes; i++) {
                const struct hw_vbe_mode *m = &r->video.vbe.modes[i];
                json_begin_object(j, NULL);
                json_u64(j, "mode", m->mode);
                json_u64(j, "width", m->width);
                json_u64(j, "height", m->height);
                json_u64(j, "bpp", m->bpp);
                json_bool(j, "lfb", m->lfb);
                json_end_object(j);
        }
        json_end_array(j);
        if (r->video.vbe.vga)
                json_u64(j, "vga", r->video.vbe.vga);
        else
                json_null(j, "vga");
        json_end_object(j);
        json_string(j, "recommendation", r->video.recommendation);
        json_end_object(j);
        json_u64(j, "memory", r->memory);
        json_begin_object(j, "system");
        str_or_null(j, "vendor", r->dmi.vendor);
        str_or_null(j, "product", r->dmi.product);
        str_or_null(j, "serial", r->dmi.serial);
        str_or_null(j, "uuid", r->dmi.uuid);
        json_end_object(j);
        json_begin_array(j, "disks");
        for (size_t i = 0; i < r->n_disks; i++) {
                const struct hw_disk *d = &r->disks[i];
                json_begin_object(j, NULL);
                json_string(j, "name", d->name);
                json_string(j, "path", d->path);
                json_begin_array(j, "ids");
                for (size_t k = 0; k < d->n_ids; k++)
                        json_string(j, NULL, d->ids[k]);
                json_end_array(j);
                json_u64(j, "size", d->size);
                json_u64(j, "logical_sector", d->logical_sector);
                json_u64(j, "physical_sector", d->physical_sector);
                json_string(j, "rotational", hw_tristate_names[d->rotational]);
                json_bool(j, "removable", d->removable);
                json_bool(j, "read_only", d->read_only);
                json_string(j, "transport", d->transport);
                str_or_null(j, "model", d->model);
                str_or_null(j, "serial", d->serial);
                str_or_null(j, "wwn", d->wwn);
                json_bool(j, "probed", d->probed);
                str_or_null(j, "probe_error", d->probed ? NULL : d->probe_why);
                str_or_null(j, "partition_table", d->table);
                content_json(j, "content", &d->content);
                json_begin_array(j, "partitions");
                for (size_t k = 0; k < d->n_parts; k++) {
                        json_begin_object(j, NULL);
                        json_u64(j, "number", d->parts[k].number);
                        json_u64(j, "start", d->parts[k].start);
                        json_u64(j, "size", d->parts[k].size);
                        content_json(j, "content", &d->parts[k].content);
                        json_end_object(j);
                }
                json_end_array(j);
                json_bool(j, "in_use", d->in_use);
                json_bool(j, "install_medium", d->install_medium);
                json_end_object(j);
        }
        json_end_array(j);
        json_begin_array(j, "nics");
        for (size_t i = 0; i < r->n_nics; i++) {
                const struct hw_nic *n = &r->nics[i];
                json_begin_object(j, NULL);
                json_string(j, "name", n->name);
                str_or_null(j, "mac", n->mac);
                str_or_null(j, "driver", n->driver);
                json_string(j, "carrier", hw_tristate_names[n->carrier]);
                if (n->speed_mbps > 0)
                        json_u64(j, "speed_mbps", (uint64_t) n->speed_mbps);
                else
                        json_null(j, "speed_mbps");
                json_bool(j, "virtual", n->virtual_dev);
                json_end_object(j);
        }
        json_end_array(j);
        json_end_object(j);
}
