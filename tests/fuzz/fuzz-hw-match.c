/* Selectors as answer files and kernel command lines give them: the input's first line is a
 * disk selector, a firstdisk list and a NIC selector at once, the second line BOOTIF=. They are
 * matched against a fixed machine; every result must be in range, and a disk the installer must
 * not take only ever comes back named alone. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "hw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX 2048 /* past the selectors' own limit, so that it is tried */

static const struct hw_disk disks[] = {
        { .name = "nvme0n1",
          .path = "/dev/nvme0n1",
          .ids = { "/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_1TB_S5GXNF0R123456" },
          .n_ids = 1,
          .size = 1000204886016,
          .rotational = HW_NO,
          .transport = "nvme",
          .model = "Samsung SSD 980 PRO 1TB",
          .serial = "S5GXNF0R123456",
          .wwn = "eui.002538b111b2c3d4" },
        { .name = "sda",
          .path = "/dev/sda",
          .ids = { "/dev/disk/by-id/ata-ST2000NM0055-1V4104_ZC20ABCD",
                   "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4" },
          .n_ids = 2,
          .size = 2000398934016,
          .rotational = HW_YES,
          .transport = "sata",
          .model = "ST2000NM0055-1V4104",
          .serial = "ZC20ABCD",
          .wwn = "naa.5000c500a1b2c3d4" },
        { .name = "sdb",
          .path = "/dev/sdb",
          .size = 480103981056,
          .rotational = HW_NO,
          .transport = "sata",
          .model = "Elements, 480",
          .parts = { { .number = 2, .content = { .type = "LVM2_member", .vg = HW_INSTALL_VG } } },
          .n_parts = 1 },
        { .name = "sdc",
          .path = "/dev/sdc",
          .ids = { "/dev/disk/by-id/usb-SanDisk_Ultra_Fit_4C53-0:0" },
          .n_ids = 1,
          .size = 16008609792,
          .rotational = HW_YES,
          .removable = true,
          .transport = "usb",
          .model = "Ultra Fit",
          .install_medium = true,
          .in_use = true },
        { .name = "sdd",
          .path = "/dev/sdd",
          .size = 480103981056,
          .rotational = HW_YES,
          .transport = "usb",
          .model = "Elements 25A2" },
        { .name = "sde",
          .path = "/dev/sde",
          .size = 1474560,
          .read_only = true,
          .transport = "scsi" },
        { .name = "mmcblk0", .path = "/dev/mmcblk0", .transport = "mmc" },
        { .name = "vda",
          .path = "/dev/vda",
          .size = 68719476736,
          .rotational = HW_UNKNOWN,
          .transport = "virtio",
          .in_use = true },
};

static const struct hw_nic nics[] = {
        { "br0", "3c:ec:ef:01:02:03", "", HW_YES, -1, true },
        { "eno1", "3c:ec:ef:01:02:03", "ixgbe", HW_YES, 10000, false },
        { "eno2", "3C-EC-EF-01-02-04", "ixgbe", HW_NO, -1, false },
        { "enp3s0f0", "a0:36:9f:aa:bb:cc", "i40e", HW_YES, 25000, false },
        { "ib0", "80:00:02:08:fe:80", "mlx5_core", HW_UNKNOWN, -1, false },
        { "vnet0", "", "tun", HW_UNKNOWN, -1, true },
};

#define N_DISKS (sizeof(disks) / sizeof(disks[0]))
#define N_NICS  (sizeof(nics) / sizeof(nics[0]))

static bool usable(const struct hw_disk *d)
{
        return !d->install_medium && !d->in_use && !d->read_only && d->size > 0;
}

/* Strictly increasing indexes within n, and the message a failure must leave. */
static void check(int r, const size_t *idx, size_t k, size_t n, const struct err *err)
{
        if (r < 0) {
                if (!err->msg[0] || strnlen(err->msg, sizeof(err->msg)) >= sizeof(err->msg))
                        __builtin_trap();
                return;
        }
        if (k > n)
                __builtin_trap();
        for (size_t i = 0; i < k; i++)
                if (idx[i] >= n || (i > 0 && idx[i] <= idx[i - 1]))
                        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char buf[INPUT_MAX + 1], *bootif;
        size_t idx[N_DISKS > N_NICS ? N_DISKS : N_NICS], k = 0;
        struct err err = { { 0 } };
        int r;

        if (size > INPUT_MAX)
                size = INPUT_MAX;
        memcpy(buf, data, size);
        buf[size] = '\0';
        bootif = strchr(buf, '\n');
        if (bootif)
                *bootif++ = '\0';

        r = hw_disks_match(buf, disks, N_DISKS, idx, &k, &err);
        if (r != 0 && r != -EINVAL)
                __builtin_trap();
        check(r, idx, k, N_DISKS, &err);
        /* A disk the installer must not take comes back only when named: alone. */
        for (size_t i = 0; r == 0 && i < k; i++)
                if (!usable(&disks[idx[i]]) && k != 1)
                        __builtin_trap();

        err.msg[0] = '\0';
        r = hw_disks_firstdisk(buf, disks, N_DISKS, idx, &err);
        if (r != 0 && r != -EINVAL && r != -ENODEV)
                __builtin_trap();
        check(r, idx, r == 0, N_DISKS, &err);
        if (r == 0 && !usable(&disks[idx[0]]))
                __builtin_trap();

        err.msg[0] = '\0';
        r = hw_nics_match(buf, nics, N_NICS, bootif, idx, &k, &err);
        if (r != 0 && r != -EINVAL)
                __builtin_trap();
        check(r, idx, k, N_NICS, &err);
        return 0;
}
