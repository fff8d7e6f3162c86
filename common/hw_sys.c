/* Firmware, memory, DMI and network interfaces, from /sys and /proc. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "hw.h"
#include "strv.h"

#define EFI_GLOBAL_GUID "8be4df61-93ca-11d2-aa0d-00e098032b8c"

static void append_word(char *buf, size_t max, const char *word)
{
        size_t n = strlen(buf);
        if (n + strlen(word) + 2 <= max)
                (void) snprintf(buf + n, max - n, "%s%s", n ? " " : "", word);
}

void hw_firmware_detect(const struct hw_source *src, struct hw_firmware *fw)
{
        char path[512], buf[4096];
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *e;
        ssize_t n;

        *fw = (struct hw_firmware){ .secure_boot = HW_UNKNOWN };
        hw_path(src, "/sys/firmware/efi", path, sizeof(path));
        fw->uefi = access(path, F_OK) == 0;
        if (!fw->uefi)
                fw->secure_boot = HW_NO;
        /* efivarfs: 4 bytes of attributes, then the value. */
        n = hw_read_file(src, "/sys/firmware/efi/efivars/SecureBoot-" EFI_GLOBAL_GUID, buf,
                         sizeof(buf));
        if (n >= 5)
                fw->secure_boot = buf[4] == 1 ? HW_YES : HW_NO;

        if (hw_read_file(src, "/proc/cmdline", buf, sizeof(buf)) > 0) {
                char *save = NULL;
                for (char *t = strtok_r(buf, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save))
                        if (strncmp(t, "console=", 8) == 0)
                                append_word(fw->cmdline_consoles, sizeof(fw->cmdline_consoles),
                                            t + 8);
        }
        /* A ttyS whose "type" is not 0 (PORT_UNKNOWN) is a UART the kernel found. */
        hw_path(src, "/sys/class/tty", path, sizeof(path));
        d = opendir(path);
        while (d && (e = readdir(d))) {
                char attr[300], type[16];
                if (strncmp(e->d_name, "ttyS", 4) != 0)
                        continue;
                (void) snprintf(attr, sizeof(attr), "/sys/class/tty/%s/type", e->d_name);
                if (hw_read_attr(src, attr, type, sizeof(type)) == 0 && strcmp(type, "0") != 0)
                        append_word(fw->serial_ports, sizeof(fw->serial_ports), e->d_name);
        }
}

void hw_dmi_detect(const struct hw_source *src, struct hw_dmi *dmi)
{
        *dmi = (struct hw_dmi){ 0 };
        (void) hw_read_attr(src, "/sys/class/dmi/id/sys_vendor", dmi->vendor, sizeof(dmi->vendor));
        (void) hw_read_attr(src, "/sys/class/dmi/id/product_name", dmi->product,
                            sizeof(dmi->product));
        /* These two are root-only. */
        (void) hw_read_attr(src, "/sys/class/dmi/id/product_serial", dmi->serial,
                            sizeof(dmi->serial));
        (void) hw_read_attr(src, "/sys/class/dmi/id/product_uuid", dmi->uuid, sizeof(dmi->uuid));
}

uint64_t hw_memory_detect(const struct hw_source *src)
{
        char buf[8192];
        const char *p;
        unsigned long long kib;

        if (hw_read_file(src, "/proc/meminfo", buf, sizeof(buf)) <= 0 ||
            !(p = strstr(buf, "MemTotal:")) || sscanf(p + 9, "%llu", &kib) != 1 ||
            kib > (UINT64_MAX >> 10))
                return 0;
        return (uint64_t) kib << 10;
}

static int cmp_nic(const void *a, const void *b)
{
        return strcmp(((const struct hw_nic *) a)->name, ((const struct hw_nic *) b)->name);
}

int hw_nics_detect(const struct hw_source *src, struct hw_nic **ret, size_t *ret_n)
{
        char path[512];
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ struct hw_nic *nics = NULL;
        size_t n = 0;
        struct dirent *e;

        hw_path(src, "/sys/class/net", path, sizeof(path));
        d = opendir(path);
        while (d && (e = readdir(d))) {
                char attr[300], buf[256];
                struct hw_nic *nic;

                if (e->d_name[0] == '.' || strcmp(e->d_name, "lo") == 0 ||
                    strlen(e->d_name) >= sizeof(nic->name) || n >= 256)
                        continue;
                if (!(nic = array_grow(&nics, &n, sizeof(*nic))))
                        return -ENOMEM;
                (void) snprintf(nic->name, sizeof(nic->name), "%s", e->d_name);
                nic->speed_mbps = -1;
                nic->carrier = HW_UNKNOWN;
                (void) snprintf(attr, sizeof(attr), "/sys/class/net/%s/address", e->d_name);
                (void) hw_read_attr(src, attr, nic->mac, sizeof(nic->mac));
                /* carrier and speed read as EINVAL while the link is down. */
                (void) snprintf(attr, sizeof(attr), "/sys/class/net/%s/carrier", e->d_name);
                if (hw_read_attr(src, attr, buf, sizeof(buf)) == 0)
                        nic->carrier = buf[0] == '1' ? HW_YES : HW_NO;
                (void) snprintf(attr, sizeof(attr), "/sys/class/net/%s/speed", e->d_name);
                if (hw_read_attr(src, attr, buf, sizeof(buf)) == 0 && atol(buf) > 0)
                        nic->speed_mbps = atol(buf);
                (void) snprintf(attr, sizeof(attr), "/sys/class/net/%s/device/driver", e->d_name);
                (void) hw_link_name(src, attr, nic->driver, sizeof(nic->driver));
                (void) snprintf(attr, sizeof(attr), "/sys/class/net/%s/device", e->d_name);
                hw_path(src, attr, path, sizeof(path));
                nic->virtual_dev = access(path, F_OK) != 0;
        }
        if (n)
                qsort(nics, n, sizeof(*nics), cmp_nic);
        *ret = TAKE_PTR(nics);
        *ret_n = n;
        return 0;
}
