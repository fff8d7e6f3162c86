/* Applying a storage plan, one disk at a time. This part writes the partition table: the old
 * signatures go first (libblkid), so that nothing of an earlier install is found again where
 * the new partitions start, then libparted writes a fresh GPT with the plan's partitions,
 * their type GUIDs and names. It works on block devices and on image files alike. */
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <parted/parted.h>

#include "cleanup.h"

DEFINE_CLEANUP_FUNC(PedDisk *, ped_disk_destroy, NULL)
DEFINE_CLEANUP_FUNC(blkid_probe, blkid_free_probe, NULL)

#define WIPE_SPAN (1u << 20) /* zeroed at both ends of each new partition */

/* libparted reports through a global handler; without ours it writes to the terminal. The
 * message of the call in progress lands in its err. */
static _Thread_local struct err *ped_err;

static PedExceptionOption ped_handler(PedException *ex)
{
        if (ex->type >= PED_EXCEPTION_ERROR)
                (void) err_set(ped_err, -EIO, "%s", ex->message);
        return PED_EXCEPTION_UNHANDLED;
}

static int wipe_signatures(int fd, const char *path, struct err *err)
{
        _cleanup_(blkid_free_probep) blkid_probe pr = blkid_new_probe();

        if (!pr)
                return -ENOMEM;
        if (blkid_probe_set_device(pr, fd, 0, 0) < 0)
                return err_set(err, -EIO, "cannot probe '%s'", path);
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_MAGIC);
        blkid_probe_enable_partitions(pr, 1);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
        /* Each round finds one signature (a GPT, its protective MBR, a filesystem, an LVM or
         * md label on the whole disk) and erases its magic. */
        for (unsigned round = 0; round < 64; round++) {
                int r = blkid_do_probe(pr);
                if (r == 1)
                        return 0;
                if (r < 0)
                        return err_set(err, -EIO, "cannot probe '%s' for old signatures", path);
                if (blkid_do_wipe(pr, 0) < 0)
                        return err_set(err, -errno ? -errno : -EIO,
                                       "cannot wipe an old signature on '%s'", path);
        }
        return err_set(err, -EIO, "'%s' keeps showing signatures after 64 wipes", path);
}

static int zero_range(int fd, uint64_t off, uint64_t len, const char *path, struct err *err)
{
        static const char zeros[64 * 1024];

        while (len > 0) {
                size_t n = len < sizeof(zeros) ? (size_t) len : sizeof(zeros);
                ssize_t w = pwrite(fd, zeros, n, (off_t) off);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return err_set(err, -errno, "cannot write to '%s': %s", path,
                                       strerror(errno));
                }
                off += (uint64_t) w;
                len -= (uint64_t) w;
        }
        return 0;
}

static const char *part_name(const struct storage_part *p)
{
        switch (p->type) {
        case STORAGE_PT_BIOSBOOT:
                return "BIOS boot";
        case STORAGE_PT_ESP:
                return "EFI system";
        case STORAGE_PT_LVM:
                return "kvmforge PV";
        case STORAGE_PT_RAID:
                return "kvmforge RAID";
        case STORAGE_PT_SWAP:
                return "swap";
        default:
                return p->mount[0] ? p->mount : "Linux";
        }
}

static int write_gpt(const struct storage_disk *d, const char *path, struct err *err)
{
        PedDevice *dev = ped_device_get(path);
        _cleanup_(ped_disk_destroyp) PedDisk *disk = NULL;
        struct stat st;
        int r = 0;

        if (!dev)
                return err_set(err, -EIO, "libparted cannot open '%s'", path);
        if (dev->sector_size != (long long) d->sector) {
                r = err_set(err, -EINVAL, "'%s' has %lld-byte sectors, the plan %u", path,
                            dev->sector_size, d->sector);
                goto out;
        }
        disk = ped_disk_new_fresh(dev, ped_disk_type_get("gpt"));
        if (!disk) {
                r = err_set(err, -EIO, "cannot make a GPT for '%s'", path);
                goto out;
        }
        for (size_t i = 0; i < d->n_parts; i++) {
                const struct storage_part *p = &d->parts[i];
                PedSector s = (PedSector) (p->start / d->sector),
                          e = (PedSector) ((p->start + p->size) / d->sector) - 1;
                PedPartition *pp = ped_partition_new(disk, PED_PARTITION_NORMAL, NULL, s, e);
                PedConstraint *c;
                static const int flags[STORAGE_PT_COUNT] = {
                        [STORAGE_PT_BIOSBOOT] = PED_PARTITION_BIOS_GRUB,
                        [STORAGE_PT_ESP] = PED_PARTITION_ESP,
                        [STORAGE_PT_LVM] = PED_PARTITION_LVM,
                        [STORAGE_PT_RAID] = PED_PARTITION_RAID,
                        [STORAGE_PT_SWAP] = PED_PARTITION_SWAP,
                };
                if (!pp) {
                        r = err_set(err, -EIO, "cannot make partition %u on '%s'", p->number, path);
                        goto out;
                }
                if (flags[p->type] && !ped_partition_set_flag(pp, flags[p->type], 1)) {
                        ped_partition_destroy(pp);
                        r = err_set(err, -EIO, "cannot set the type of partition %u on '%s'",
                                    p->number, path);
                        goto out;
                }
                (void) ped_partition_set_name(pp, part_name(p));
                /* Exactly where the plan puts it: libparted must not "improve" it. */
                c = ped_constraint_exact(&pp->geom);
                if (!c || !ped_disk_add_partition(disk, pp, c)) {
                        if (c)
                                ped_constraint_destroy(c);
                        ped_partition_destroy(pp);
                        r = err_set(err, -EIO, "cannot add partition %u at %s to '%s'", p->number,
                                    "the planned place", path);
                        goto out;
                }
                ped_constraint_destroy(c);
        }
        if (!ped_disk_commit_to_dev(disk)) {
                r = err_set(err, -EIO, "cannot write the partition table to '%s'", path);
                goto out;
        }
        /* A block device: tell the kernel; an image file has nobody to tell. */
        if (stat(path, &st) == 0 && S_ISBLK(st.st_mode) && !ped_disk_commit_to_os(disk))
                r = err_set(err, -EIO,
                            "the kernel did not take the new partitions of '%s' "
                            "(is a partition in use?)",
                            path);
out:
        ped_device_destroy(dev);
        return r;
}

int storage_write_table(const struct storage_disk *d, const char *path, struct err *err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        /* O_EXCL on a block device fails while anything holds it: a mounted filesystem, an
         * active VG, an md array. Better a clear refusal than a table under a live system. */
        fd = open(path, O_RDWR | O_CLOEXEC | O_EXCL);
        if (fd < 0 && errno == EINVAL) /* O_EXCL without O_CREAT on a regular file */
                fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return err_set(err, -errno, "cannot open '%s' for writing: %s%s", path,
                               strerror(errno),
                               errno == EBUSY ? " (something uses it: unmount it, deactivate "
                                                "its VG)"
                                              : "");
        if (fstat(fd, &st) < 0)
                return err_set(err, -errno, "cannot stat '%s': %s", path, strerror(errno));
        if ((r = wipe_signatures(fd, path, err)) < 0)
                return r;
        for (size_t i = 0; i < d->n_parts; i++) {
                const struct storage_part *p = &d->parts[i];
                uint64_t span = p->size < 2 * WIPE_SPAN ? p->size : WIPE_SPAN;
                if ((r = zero_range(fd, p->start, span, path, err)) < 0 ||
                    (r = zero_range(fd, p->start + p->size - span, span, path, err)) < 0)
                        return r;
        }
        if (fsync(fd) < 0)
                return err_set(err, -errno, "cannot flush '%s': %s", path, strerror(errno));
        if (close(TAKE_FD(fd)) < 0)
                return err_set(err, -errno, "cannot close '%s': %s", path, strerror(errno));
        ped_exception_set_handler(ped_handler);
        ped_err = err;
        r = write_gpt(d, path, err);
        ped_err = NULL;
        return r;
}
