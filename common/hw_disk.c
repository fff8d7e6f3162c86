/* Disks: sysfs for what the kernel knows, libblkid and the LVM label for what is on them,
 * mountinfo and swaps for what is in use, and which one holds the install medium. */
#include <blkid/blkid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bytes.h"
#include "cleanup.h"
#include "hw.h"
#include "strv.h"

static bool skip_device(const char *name)
{
        static const char *const prefixes[] = { "loop", "ram", "zram", "dm-", "md", "sr", "fd" };
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
                        return true;
        return false;
}

static void attr(const struct hw_source *src, const char *disk, const char *name, char *buf,
                 size_t max)
{
        char path[300];
        (void) snprintf(path, sizeof(path), "/sys/block/%s/%s", disk, name);
        if (hw_read_attr(src, path, buf, max) < 0)
                buf[0] = '\0';
}

static unsigned long long attr_u64(const struct hw_source *src, const char *disk, const char *name)
{
        char buf[32];
        attr(src, disk, name, buf, sizeof(buf));
        return strtoull(buf, NULL, 10);
}

/* From where the kernel put the device: /sys/devices/.../usb1/..., .../ata1/..., .../virtio2/... */
static void transport(const struct hw_source *src, struct hw_disk *d)
{
        char path[512], real[PATH_MAX];
        const char *t = "scsi";

        (void) snprintf(path, sizeof(path), "/sys/block/%s", d->name);
        hw_path(src, path, real, sizeof(real));
        if (!realpath(real, path))
                path[0] = '\0';
        if (strncmp(d->name, "nvme", 4) == 0)
                t = "nvme";
        else if (strncmp(d->name, "mmcblk", 6) == 0)
                t = "mmc";
        else if (strstr(path, "/usb"))
                t = "usb";
        else if (strncmp(d->name, "vd", 2) == 0)
                t = "virtio";
        else if (strstr(path, "/ata"))
                t = "sata";
        else if (strncmp(d->name, "hd", 2) == 0)
                t = "ide";
        else if (!path[0])
                t = "unknown";
        (void) snprintf(d->transport, sizeof(d->transport), "%s", t);
}

static void by_id(const struct hw_source *src, struct hw_disk *d)
{
        char dir[512];
        _cleanup_(closedirp) DIR *dd = NULL;
        struct dirent *e;

        hw_path(src, "/dev/disk/by-id", dir, sizeof(dir));
        dd = opendir(dir);
        while (dd && (e = readdir(dd)) && d->n_ids < HW_MAX_IDS) {
                char p[512], target[64];
                (void) snprintf(p, sizeof(p), "/dev/disk/by-id/%s", e->d_name);
                if (hw_link_name(src, p, target, sizeof(target)) == 0 &&
                    strcmp(target, d->name) == 0)
                        (void) snprintf(d->ids[d->n_ids++], sizeof(d->ids[0]), "/dev/disk/by-id/%s",
                                        e->d_name);
        }
}

/* ---- LVM: the VG a PV belongs to, from its label and the first metadata area ---- */

#define LVM_LABEL_SCAN 4 /* the label sits in one of the first four sectors */
#define LVM_MDA_MAGIC  " LVM2 x[5A%r0N*>"

static void lvm_vg_name(int fd, uint64_t base, uint64_t size, char *out, size_t max)
{
        uint8_t sec[512], mda[512];
        char text[256];

        for (unsigned s = 0; s < LVM_LABEL_SCAN; s++) {
                uint32_t off;
                uint64_t mda_off = 0, start, roff, rsize;
                size_t p;

                if (pread(fd, sec, sizeof(sec), (off_t) (base + s * 512)) != sizeof(sec) ||
                    memcmp(sec, "LABELONE", 8) != 0 || memcmp(sec + 24, "LVM2 001", 8) != 0)
                        continue;
                off = le32_load(sec + 20); /* pv_header within the sector */
                if (off < 32 || off > 512 - 48)
                        return;
                /* pv_header: uuid[32], device_size, then data areas, a zero entry, metadata
                 * areas, a zero entry; each entry is offset + size (u64 each). */
                p = off + 40;
                while (p + 16 <= 512 && le64_load(sec + p))
                        p += 16;
                p += 16;
                if (p + 16 > 512 || !(mda_off = le64_load(sec + p)) || mda_off >= size)
                        return;
                if (pread(fd, mda, sizeof(mda), (off_t) (base + mda_off)) != sizeof(mda) ||
                    memcmp(mda + 4, LVM_MDA_MAGIC, 16) != 0)
                        return;
                start = le64_load(mda + 24);
                roff = le64_load(mda + 40);
                rsize = le64_load(mda + 48);
                if (start != mda_off || !rsize || roff >= size || start > size - roff)
                        return;
                if (pread(fd, text, sizeof(text) - 1, (off_t) (base + start + roff)) <= 0)
                        return;
                text[sizeof(text) - 1] = '\0';
                /* The text starts with "vgname {". */
                p = strspn(text,
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-");
                if (p > 0 && p < max && strncmp(text + p, " {", 2) == 0)
                        (void) snprintf(out, max, "%.*s", (int) p, text);
                return;
        }
}

static void content(blkid_probe pr, int fd, uint64_t base, uint64_t size, struct hw_content *c)
{
        const char *v;

        if (blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0)
                (void) snprintf(c->type, sizeof(c->type), "%s", v);
        if (blkid_probe_lookup_value(pr, "LABEL", &v, NULL) == 0)
                (void) snprintf(c->label, sizeof(c->label), "%s", v);
        if (strcmp(c->type, "LVM2_member") == 0)
                lvm_vg_name(fd, base, size, c->vg, sizeof(c->vg));
}

static void probe_part(int fd, struct hw_partition *part)
{
        blkid_probe pr = blkid_new_probe();

        if (!pr)
                return;
        if (blkid_probe_set_device(pr, fd, (blkid_loff_t) part->start, (blkid_loff_t) part->size) ==
                    0 &&
            blkid_probe_enable_superblocks(pr, 1) == 0 &&
            blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL) == 0 &&
            blkid_do_safeprobe(pr) == 0)
                content(pr, fd, part->start, part->size, &part->content);
        blkid_free_probe(pr);
}

static void probe(const struct hw_source *src, struct hw_disk *d)
{
        char node[512];
        _cleanup_close_ int fd = -1;
        blkid_probe pr = NULL;
        blkid_partlist pl;
        const char *v;

        hw_path(src, d->path, node, sizeof(node));
        fd = open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
                (void) snprintf(d->probe_why, sizeof(d->probe_why), "cannot open %s: %s%s", d->path,
                                strerror(errno), errno == EACCES ? " (run as root)" : "");
                return;
        }
        pr = blkid_new_probe();
        if (!pr || blkid_probe_set_device(pr, fd, 0, (blkid_loff_t) d->size) < 0) {
                (void) snprintf(d->probe_why, sizeof(d->probe_why), "libblkid cannot probe %s",
                                d->path);
                goto out;
        }
        (void) blkid_probe_enable_superblocks(pr, 1);
        (void) blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL);
        (void) blkid_probe_enable_partitions(pr, 1);
        (void) blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
        d->probed = true;
        if (blkid_do_safeprobe(pr) != 0)
                goto out; /* nothing found (1), or ambiguous signatures (-2): say nothing */
        content(pr, fd, 0, d->size, &d->content);
        if (blkid_probe_lookup_value(pr, "PTTYPE", &v, NULL) == 0)
                (void) snprintf(d->table, sizeof(d->table), "%s", v);
        pl = blkid_probe_get_partitions(pr);
        for (int i = 0; pl && i < blkid_partlist_numof_partitions(pl) && d->n_parts < HW_MAX_PARTS;
             i++) {
                blkid_partition p = blkid_partlist_get_partition(pl, i);
                struct hw_partition *hp = &d->parts[d->n_parts];
                long long start = blkid_partition_get_start(p), size = blkid_partition_get_size(p);
                if (!p || start < 0 || size <= 0 || (uint64_t) start > d->size / 512 ||
                    (uint64_t) size > d->size / 512 - (uint64_t) start)
                        continue; /* outside the disk: a broken table */
                *hp = (struct hw_partition){ .number = (unsigned) blkid_partition_get_partno(p),
                                             .start = (uint64_t) start * 512,
                                             .size = (uint64_t) size * 512 };
                probe_part(fd, hp);
                d->n_parts++;
        }
out:
        if (pr)
                blkid_free_probe(pr);
}

/* "MAJ:MIN" -> the whole disk's name, through /sys/dev/block (a partition's parent). */
static void disk_of_devnum(const struct hw_source *src, const char *devnum, char *out, size_t max)
{
        char p[512], real[PATH_MAX], link[64];
        const char *b;

        out[0] = '\0';
        (void) snprintf(link, sizeof(link), "/sys/dev/block/%s", devnum);
        hw_path(src, link, p, sizeof(p));
        if (!realpath(p, real) || !(b = strstr(real, "/block/")))
                return;
        b += 7;
        (void) snprintf(out, max, "%.*s", (int) strcspn(b, "/"), b);
}

/* Marks the disks that hold a mounted filesystem or active swap, and the install medium. */
static void usage(const struct hw_source *src, struct hw_disk *disks, size_t n)
{
        _cleanup_free_ char *buf = malloc(HW_MAX_FILE);
        char *save = NULL;

        _cleanup_free_ struct hw_mount *m = NULL;
        size_t n_m = 0;

        if (hw_mounts_read(src, &m, &n_m) >= 0)
                for (size_t k = 0; k < n_m; k++) {
                        char devnum[32], disk[64], marker[1100];
                        (void) snprintf(devnum, sizeof(devnum), "%u:%u", major(m[k].devnum),
                                        minor(m[k].devnum));
                        disk_of_devnum(src, devnum, disk, sizeof(disk));
                        (void) snprintf(marker, sizeof(marker), "%s/%s", m[k].point,
                                        HW_MEDIUM_MARKER);
                        for (size_t i = 0; disk[0] && i < n; i++)
                                if (strcmp(disks[i].name, disk) == 0) {
                                        char p[1200];
                                        disks[i].in_use = true;
                                        hw_path(src, marker, p, sizeof(p));
                                        if (access(p, F_OK) == 0)
                                                disks[i].install_medium = true;
                                }
                }
        if (buf && hw_read_file(src, "/proc/swaps", buf, HW_MAX_FILE) > 0)
                for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                        for (size_t i = 0; i < n; i++) {
                                size_t k = strlen(disks[i].path);
                                if (strncmp(l, disks[i].path, k) == 0 &&
                                    (l[k] == ' ' || l[k] == '\t' || (l[k] >= '0' && l[k] <= '9') ||
                                     l[k] == 'p'))
                                        disks[i].in_use = true;
                        }
}

static int cmp_disk(const void *a, const void *b)
{
        return strcmp(((const struct hw_disk *) a)->name, ((const struct hw_disk *) b)->name);
}

int hw_disks_detect(const struct hw_source *src, struct hw_disk **ret, size_t *ret_n)
{
        char path[512];
        _cleanup_(closedirp) DIR *dir = NULL;
        _cleanup_free_ struct hw_disk *disks = NULL;
        size_t n = 0;
        struct dirent *e;

        hw_path(src, "/sys/block", path, sizeof(path));
        dir = opendir(path);
        while (dir && (e = readdir(dir))) {
                struct hw_disk *d;
                char buf[16];

                if (e->d_name[0] == '.' || skip_device(e->d_name) ||
                    strlen(e->d_name) >= sizeof(d->name) || n >= 256)
                        continue;
                if (!(d = array_grow(&disks, &n, sizeof(*d))))
                        return -ENOMEM;
                (void) snprintf(d->name, sizeof(d->name), "%s", e->d_name);
                (void) snprintf(d->path, sizeof(d->path), "/dev/%s", e->d_name);
                d->size = (uint64_t) attr_u64(src, d->name, "size") * 512;
                d->logical_sector = (unsigned) attr_u64(src, d->name, "queue/logical_block_size");
                d->physical_sector = (unsigned) attr_u64(src, d->name, "queue/physical_block_size");
                attr(src, d->name, "queue/rotational", buf, sizeof(buf));
                d->rotational = !buf[0] ? HW_UNKNOWN : buf[0] == '1' ? HW_YES : HW_NO;
                d->removable = attr_u64(src, d->name, "removable") == 1;
                d->read_only = attr_u64(src, d->name, "ro") == 1;
                attr(src, d->name, "device/model", d->model, sizeof(d->model));
                attr(src, d->name, "device/serial", d->serial, sizeof(d->serial));
                if (!d->serial[0])
                        attr(src, d->name, "serial", d->serial, sizeof(d->serial));
                attr(src, d->name, "device/wwid", d->wwn, sizeof(d->wwn));
                if (!d->wwn[0])
                        attr(src, d->name, "wwid", d->wwn, sizeof(d->wwn));
                transport(src, d);
                by_id(src, d);
                if (d->size)
                        probe(src, d);
                else
                        (void) snprintf(d->probe_why, sizeof(d->probe_why), "no medium");
        }
        if (n)
                qsort(disks, n, sizeof(*disks), cmp_disk);
        usage(src, disks, n);
        *ret = TAKE_PTR(disks);
        *ret_n = n;
        return 0;
}
