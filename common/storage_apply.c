/* Applying a storage plan, one disk at a time. This part writes the partition table: the old
 * signatures go first (libblkid), so that nothing of an earlier install is found again where
 * the new partitions start, then libparted writes a fresh GPT with the plan's partitions,
 * their type GUIDs and names. It works on block devices and on image files alike. */
#include "file.h"
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <parted/parted.h>

#include "child.h"
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

/* ---- the rest of the plan: LVM, filesystems, mounts ---- */

static int run_tool(const char *what, char *const argv[], int log_fd, struct err *err)
{
        return child_tool(what, argv, log_fd, err);
}

/* /dev/sda + 3 -> /dev/sda3; /dev/nvme0n1 + 3 -> /dev/nvme0n1p3. */
static void part_path(const char *disk, unsigned n, char *buf, size_t size)
{
        size_t len = strlen(disk);
        bool digit = len && disk[len - 1] >= '0' && disk[len - 1] <= '9';

        (void) snprintf(buf, size, "%s%s%u", disk, digit ? "p" : "", n);
}

/* Waits for the kernel (devtmpfs, or udev when it runs) to show a new partition's node. */
static int wait_node(const char *path, struct err *err)
{
        struct stat st;

        for (unsigned i = 0; i < 200; i++) { /* 10 s */
                if (stat(path, &st) == 0 && S_ISBLK(st.st_mode))
                        return 0;
                (void) nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
        }
        return err_set(err, -ETIMEDOUT, "%s did not appear within 10 s of the new table", path);
}

static void step(const struct storage_apply_options *o, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void step(const struct storage_apply_options *o, const char *fmt, ...)
{
        char buf[256];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        file_logf(o->log_fd, "== %s\n", buf);
        if (o->step)
                o->step(o->userdata, buf);
}

/* Deactivates every VG with a PV on disk, so that its partitions can be rewritten (a re-run
 * after a failure, or an earlier install on the same disk). */
static int release_disk(const char *path, int log_fd, struct err *err)
{
        char *pvs[] = { "lvm", "pvs", "--noheadings", "-o", "pv_name,vg_name", NULL };
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        _cleanup_fclose_ FILE *out = open_memstream(&text, &len);
        char *save = NULL;

        if (!out)
                return -ENOMEM;
        /* No LVM on the machine, or nothing it can read: nothing to release. */
        if (child_run("listing the PVs", pvs,
                      &(struct child_options){ .log_fd = -1, .out = out, .in_fd = -1 }, NULL) < 0 ||
            fclose(TAKE_PTR(out)) != 0 || !text)
                return 0;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char pv[256], vg[128];
                if (sscanf(l, " %255s %127s", pv, vg) != 2 || strncmp(pv, path, strlen(path)) != 0)
                        continue;
                char *argv[] = { "lvm", "vgchange", "-an", vg, NULL };
                int r = run_tool("releasing the disk", argv, log_fd, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A label from a mount point: "root" for /, else its last component (12 bytes: XFS's limit). */
static const char *fs_label(const char *mount)
{
        static _Thread_local char buf[13];
        const char *last = strrchr(mount, '/');

        if (!mount[0] || !strcmp(mount, "/"))
                return "root";
        (void) snprintf(buf, sizeof(buf), "%s", last ? last + 1 : mount);
        return buf;
}

static int make_fs(const char *fstype, const char *dev, const char *label, int log_fd,
                   struct err *err)
{
        char what[128];

        (void) snprintf(what, sizeof(what), "making %s on %s", fstype, dev);
        if (strcmp(fstype, "swap") == 0) {
                char *argv[] = { "mkswap", "-L", (char *) label, (char *) dev, NULL };
                return run_tool(what, argv, log_fd, err);
        }
        if (strcmp(fstype, "vfat") == 0) {
                char *argv[] = {
                        "mkfs.vfat", "-F", "32", "-n", (char *) label, (char *) dev, NULL
                };
                return run_tool(what, argv, log_fd, err);
        }
        if (strcmp(fstype, "xfs") == 0) {
                char *argv[] = { "mkfs.xfs", "-f", "-q", "-L", (char *) label, (char *) dev, NULL };
                return run_tool(what, argv, log_fd, err);
        }
        char prog[32];
        (void) snprintf(prog, sizeof(prog), "mkfs.%s", fstype);
        char *argv[] = { prog, "-q", "-F", "-L", (char *) label, (char *) dev, NULL };
        return run_tool(what, argv, log_fd, err);
}

struct mount_item {
        char dev[160], mount[64], fstype[16];
};

static int by_depth(const void *x, const void *y)
{
        const struct mount_item *a = x, *b = y;
        size_t la = strlen(a->mount), lb = strlen(b->mount);

        return la < lb ? -1 : la > lb; /* a parent is shorter than its children */
}

/* Mounts every filesystem of the plan under dir, parents first: / at dir itself. */
static int mount_result(const struct storage_plan *p, const char *dir, int log_fd, struct err *err)
{
        struct mount_item items[STORAGE_MAX_PARTS * 4 + STORAGE_MAX_LVS];
        char where[4096];
        size_t n = 0;
        bool root = false;

        for (size_t i = 0; i < p->n_disks; i++)
                for (size_t k = 0; k < p->disks[i].n_parts; k++) {
                        const struct storage_part *q = &p->disks[i].parts[k];
                        if (q->mount[0] != '/' || n == sizeof(items) / sizeof(items[0]))
                                continue;
                        part_path(p->disks[i].path, q->number, items[n].dev, sizeof(items[n].dev));
                        (void) snprintf(items[n].mount, sizeof(items[n].mount), "%s", q->mount);
                        (void) snprintf(items[n].fstype, sizeof(items[n].fstype), "%s", q->fstype);
                        n++;
                }
        for (size_t i = 0; i < p->n_mds; i++) {
                if (p->mds[i].mount[0] != '/' || n == sizeof(items) / sizeof(items[0]))
                        continue;
                (void) snprintf(items[n].dev, sizeof(items[n].dev), "/dev/%s", p->mds[i].device);
                (void) snprintf(items[n].mount, sizeof(items[n].mount), "%s", p->mds[i].mount);
                (void) snprintf(items[n].fstype, sizeof(items[n].fstype), "%s", p->mds[i].fstype);
                n++;
        }
        for (size_t i = 0; i < p->vg.n_lvs; i++) {
                const struct storage_lv *l = &p->vg.lvs[i];
                if (l->mount[0] != '/' || n == sizeof(items) / sizeof(items[0]))
                        continue;
                (void) snprintf(items[n].dev, sizeof(items[n].dev), "/dev/%s/%s", p->vg.name,
                                l->name);
                (void) snprintf(items[n].mount, sizeof(items[n].mount), "%s", l->mount);
                (void) snprintf(items[n].fstype, sizeof(items[n].fstype), "%s", l->fstype);
                n++;
        }
        qsort(items, n, sizeof(items[0]), by_depth);
        for (size_t i = 0; i < n; i++) {
                bool is_root = strcmp(items[i].mount, "/") == 0;
                root = root || is_root;
                (void) snprintf(where, sizeof(where), "%s%s", dir, is_root ? "" : items[i].mount);
                /* Parents exist: they were mounted first; make each missing component. */
                for (char *c = where + strlen(dir) + 1; !is_root && *c; c++)
                        if (*c == '/') {
                                *c = '\0';
                                (void) mkdir(where, 0755);
                                *c = '/';
                        }
                if (!is_root && mkdir(where, strcmp(items[i].fstype, "vfat") ? 0755 : 0700) < 0 &&
                    errno != EEXIST)
                        return err_set(err, -errno, "cannot make %s: %s", where, strerror(errno));
                file_logf(log_fd, "+ mount %s %s\n", items[i].dev, where);
                if (mount(items[i].dev, where, items[i].fstype, 0,
                          strcmp(items[i].fstype, "vfat") ? NULL : "umask=0077") < 0)
                        return err_set(err, -errno, "mounting %s on %s: %s", items[i].dev, where,
                                       strerror(errno));
        }
        if (!root)
                return err_set(err, -EINVAL, "the plan has no root filesystem to mount");
        return 0;
}

/* Stops the md arrays that have a member on disk (an earlier install's mirror). */
static int stop_arrays(const struct storage_disk *d, int log_fd, struct err *err)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/mdstat", "re");
        char line[1024];

        if (!f)
                return 0; /* no md driver loaded: no arrays */
        while (fgets(line, sizeof(line), f)) {
                char md[32], path[64];
                const char *members = strstr(line, " : ");
                bool mine = false;
                if (!members || sscanf(line, "%31s", md) != 1 || strncmp(md, "md", 2) != 0)
                        continue;
                /* "md0 : active raid1 vdb1[1] vda3[0]": a member is "NAME[N]" */
                for (const char *w = members; (w = strstr(w, d->name)); w++)
                        mine = mine || ((w[-1] == ' ') &&
                                        (w[strlen(d->name)] == '[' ||
                                         (w[strlen(d->name)] >= '0' && w[strlen(d->name)] <= '9') ||
                                         w[strlen(d->name)] == 'p'));
                if (!mine)
                        continue;
                (void) snprintf(path, sizeof(path), "/dev/%s", md);
                /* A VG on the array holds it open: deactivated first. */
                char *argv[] = { "mdadm", "--stop", path, NULL };
                int r = release_disk(path, log_fd, err);
                if (r < 0 || (r = run_tool("stopping an old RAID array", argv, log_fd, err)) < 0)
                        return r;
        }
        return 0;
}

static int make_arrays(const struct storage_plan *p, const struct storage_apply_options *o,
                       char pvs[][128], size_t *n_pvs, struct err *err)
{
        char dev[64], members[8][160];
        int r;

        for (size_t i = 0; i < p->n_mds; i++) {
                const struct storage_md *md = &p->mds[i];
                char level[8], count[8];
                char *argv[24] = { "mdadm", "--create",       dev,
                                   "--run", "--metadata=1.2", "--level",
                                   level,   "--raid-devices", count };
                size_t n = 9;
                (void) snprintf(dev, sizeof(dev), "/dev/%s", md->device);
                (void) snprintf(level, sizeof(level), "%u", md->level);
                (void) snprintf(count, sizeof(count), "%zu", md->n_members);
                for (size_t m = 0; m < md->n_members && m < 8; m++) {
                        part_path(p->disks[md->members[m].disk].path, md->members[m].number,
                                  members[m], sizeof(members[m]));
                        argv[n++] = members[m];
                }
                argv[n] = NULL;
                step(o, "making RAID%u %s", md->level, dev);
                if ((r = run_tool("making a RAID array", argv, o->log_fd, err)) < 0 ||
                    (r = wait_node(dev, err)) < 0)
                        return r;
                if (md->vg[0] && *n_pvs < 8)
                        (void) snprintf(pvs[(*n_pvs)++], 128, "%s", dev);
                if (md->fstype[0]) {
                        step(o, "making %s on %s", md->fstype, dev);
                        if ((r = make_fs(md->fstype, dev, fs_label(md->mount), o->log_fd, err)) < 0)
                                return r;
                }
        }
        return 0;
}

int storage_apply(const struct storage_plan *p, const struct storage_apply_options *o,
                  struct err *err)
{
        char pvs[8][128], dev[160], size[32], meta[32];
        size_t n_pvs = 0;
        int r;

        for (size_t i = 0; i < p->n_disks; i++) {
                const struct storage_disk *d = &p->disks[i];
                step(o, "releasing %s", d->path);
                if ((r = release_disk(d->path, o->log_fd, err)) < 0 ||
                    (r = stop_arrays(d, o->log_fd, err)) < 0)
                        return err_prefix(err, r, "releasing %s", d->path);
                step(o, "writing the partition table of %s", d->path);
                if ((r = storage_write_table(d, d->path, err)) < 0)
                        return r;
                for (size_t k = 0; k < d->n_parts; k++) {
                        const struct storage_part *q = &d->parts[k];
                        part_path(d->path, q->number, dev, sizeof(dev));
                        if ((r = wait_node(dev, err)) < 0)
                                return r;
                        if (q->type == STORAGE_PT_LVM)
                                if (n_pvs < 8)
                                        (void) snprintf(pvs[n_pvs++], sizeof(pvs[0]), "%s", dev);
                        if (q->fstype[0]) {
                                step(o, "making %s on %s", q->fstype, dev);
                                if ((r = make_fs(q->fstype, dev,
                                                 q->type == STORAGE_PT_ESP ? "EFI"
                                                                           : fs_label(q->mount),
                                                 o->log_fd, err)) < 0)
                                        return r;
                        }
                }
        }
        if ((r = make_arrays(p, o, pvs, &n_pvs, err)) < 0)
                return r;
        if (p->vg.name[0]) {
                for (size_t i = 0; i < p->n_renames; i++) {
                        char *argv[] = { "lvm", "vgrename", (char *) p->renames[i].from,
                                         (char *) p->renames[i].to, NULL };
                        step(o, "renaming the old VG %s to %s", p->renames[i].from,
                             p->renames[i].to);
                        if ((r = run_tool("renaming an old VG", argv, o->log_fd, err)) < 0)
                                return r;
                }
                if (!n_pvs)
                        return err_set(err, -EINVAL, "the plan has a VG but no PV");
                char *vgcreate[16] = { "lvm", "vgcreate", "-y", (char *) p->vg.name };
                for (size_t i = 0; i < n_pvs; i++) {
                        char *argv[] = { "lvm", "pvcreate", "-ff", "-y", pvs[i], NULL };
                        step(o, "making the PV %s", pvs[i]);
                        if ((r = run_tool("making the PV", argv, o->log_fd, err)) < 0)
                                return r;
                        vgcreate[4 + i] = pvs[i];
                }
                step(o, "making the VG %s", p->vg.name);
                if ((r = run_tool("making the VG", vgcreate, o->log_fd, err)) < 0)
                        return r;
                for (size_t i = 0; i < p->vg.n_lvs; i++) {
                        const struct storage_lv *l = &p->vg.lvs[i];
                        (void) snprintf(size, sizeof(size), "%" PRIu64 "m", l->size >> 20);
                        (void) snprintf(meta, sizeof(meta), "%" PRIu64 "m", l->metadata >> 20);
                        step(o, "making the LV %s/%s", p->vg.name, l->name);
                        if (l->thinpool) {
                                /* -Wy is refused for a pool: a new pool starts zeroed. */
                                char *argv[] = {
                                        "lvm",    "lvcreate",           "-y",
                                        "--type", "thin-pool",          "-L",
                                        size,     "--poolmetadatasize", meta,
                                        "-n",     (char *) l->name,     (char *) p->vg.name,
                                        NULL
                                };
                                if ((r = run_tool("making the thin pool", argv, o->log_fd, err)) <
                                    0)
                                        return r;
                                continue;
                        }
                        char pool[160];
                        (void) snprintf(pool, sizeof(pool), "%s/%s", p->vg.name, l->pool);
                        char *argv[] = { "lvm",
                                         "lvcreate",
                                         "-y",
                                         "-Wy",
                                         "-L",
                                         size,
                                         "-n",
                                         (char *) l->name,
                                         (char *) p->vg.name,
                                         NULL };
                        /* A thin volume: a virtual size in its pool. */
                        char *thin[] = { "lvm", "lvcreate",       "-y", "-V", size, "--thin",
                                         "-n",  (char *) l->name, pool, NULL };
                        if ((r = run_tool("making an LV", l->pool[0] ? thin : argv, o->log_fd,
                                          err)) < 0)
                                return r;
                        (void) snprintf(dev, sizeof(dev), "/dev/%s/%s", p->vg.name, l->name);
                        if ((r = wait_node(dev, err)) < 0)
                                return r;
                        if (l->fstype[0]) {
                                step(o, "making %s on %s", l->fstype, dev);
                                if ((r = make_fs(l->fstype, dev,
                                                 fs_label(l->mount[0] ? l->mount : l->name),
                                                 o->log_fd, err)) < 0)
                                        return r;
                        }
                }
        }
        if (o->mount_dir) {
                step(o, "mounting the new system on %s", o->mount_dir);
                if ((r = mount_result(p, o->mount_dir, o->log_fd, err)) < 0)
                        return r;
        }
        return 0;
}
