/* Applying a storage plan, one disk at a time. This part writes the partition table: the old
 * signatures go first (libblkid), so that nothing of an earlier install is found again where
 * the new partitions start, then libparted writes a fresh GPT with the plan's partitions,
 * their type GUIDs and names. It works on block devices and on image files alike. */
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

#define TOOL_TAIL 200 /* bytes of a tool's output kept for the message */

static void logf_(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(int fd, const char *fmt, ...)
{
        va_list ap;

        if (fd < 0)
                return;
        va_start(ap, fmt);
        (void) vdprintf(fd, fmt, ap);
        va_end(ap);
}

/* Runs argv[0] (looked up in PATH, no shell) with its output into the log; 0, or -errno with
 * err naming what for, the program and the last line it printed. */
static int run_tool(const char *what, char *const argv[], int log_fd, struct err *err)
{
        char tail[TOOL_TAIL + 1] = "", buf[4096];
        size_t tlen = 0;
        int pfd[2], status;
        pid_t pid;

        logf_(log_fd, "+");
        for (size_t i = 0; argv[i]; i++)
                logf_(log_fd, " %s", argv[i]);
        logf_(log_fd, "\n");
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return err_set(err, -errno, "%s: cannot make a pipe: %s", what, strerror(errno));
        pid = fork();
        if (pid < 0) {
                int e = errno;
                close(pfd[0]);
                close(pfd[1]);
                return err_set(err, -e, "%s: cannot start %s: %s", what, argv[0], strerror(e));
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(pfd[1], STDOUT_FILENO) < 0 ||
                    dup2(pfd[1], STDERR_FILENO) < 0)
                        _exit(126);
                /* LVM warns about descriptors it inherits; there are none but these. */
                setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
                execvp(argv[0], argv);
                dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        close(pfd[1]);
        for (;;) {
                ssize_t n = read(pfd[0], buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (log_fd >= 0)
                        (void) !write(log_fd, buf, (size_t) n);
                /* Keep the end of the output: that is where tools say what went wrong. */
                for (ssize_t i = 0; i < n; i++) {
                        if (tlen == TOOL_TAIL) {
                                memmove(tail, tail + 1, TOOL_TAIL - 1);
                                tlen--;
                        }
                        tail[tlen++] = buf[i];
                }
        }
        close(pfd[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return err_set(err, -errno, "%s: cannot wait for %s", what, argv[0]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        tail[tlen] = '\0';
        while (tlen > 0 && (tail[tlen - 1] == '\n' || tail[tlen - 1] == ' '))
                tail[--tlen] = '\0';
        {
                /* The last line, unless it only points at --help: then the one before. */
                char *last = strrchr(tail, '\n');
                last = last ? last + 1 : tail;
                while (*last == ' ')
                        last++;
                if ((strncmp(last, "Run `", 5) == 0 || strncmp(last, "Try '", 5) == 0) &&
                    last > tail) {
                        char *end = last - 1;
                        while (end > tail && *end != '\n')
                                end--;
                        *(last - 1) = '\0';
                        last = end == tail ? tail : end + 1;
                        while (*last == ' ')
                                last++;
                }
                if (WIFEXITED(status))
                        return err_set(err, -EIO, "%s: %s failed (status %d)%s%s", what, argv[0],
                                       WEXITSTATUS(status), *last ? ": " : "", last);
                return err_set(err, -EIO, "%s: %s was killed by signal %d", what, argv[0],
                               WTERMSIG(status));
        }
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
        logf_(o->log_fd, "== %s\n", buf);
        if (o->step)
                o->step(o->userdata, buf);
}

/* Deactivates every VG with a PV on disk, so that its partitions can be rewritten (a re-run
 * after a failure, or an earlier install on the same disk). */
static int release_disk(const struct storage_disk *d, int log_fd, struct err *err)
{
        char *pvs[] = { "lvm", "pvs", "--noheadings", "-o", "pv_name,vg_name", NULL };
        char line[512];
        _cleanup_fclose_ FILE *f = NULL;
        int pfd[2], status;
        pid_t pid;

        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                close(pfd[0]);
                close(pfd[1]);
                return -errno;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(pfd[1], STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0 ||
                    dup2(null, STDIN_FILENO) < 0)
                        _exit(126);
                setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
                execvp(pvs[0], pvs);
                _exit(127);
        }
        close(pfd[1]);
        f = fdopen(pfd[0], "r");
        if (!f) {
                close(pfd[0]);
                (void) waitpid(pid, &status, 0);
                return -ENOMEM;
        }
        while (fgets(line, sizeof(line), f)) {
                char pv[256], vg[128];
                if (sscanf(line, " %255s %127s", pv, vg) != 2)
                        continue;
                if (strncmp(pv, d->path, strlen(d->path)) != 0)
                        continue;
                char *argv[] = { "lvm", "vgchange", "-an", vg, NULL };
                int r = run_tool("releasing the disk", argv, log_fd, err);
                if (r < 0)
                        return r;
        }
        (void) waitpid(pid, &status, 0);
        return 0;
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

static int mount_result(const struct storage_plan *p, const char *dir, int log_fd, struct err *err)
{
        char root[128] = "", esp[128] = "", where[4096];
        const char *root_fs = NULL;

        for (size_t i = 0; i < p->vg.n_lvs; i++)
                if (strcmp(p->vg.lvs[i].mount, "/") == 0) {
                        (void) snprintf(root, sizeof(root), "/dev/%s/%s", p->vg.name,
                                        p->vg.lvs[i].name);
                        root_fs = p->vg.lvs[i].fstype;
                }
        for (size_t i = 0; i < p->n_disks; i++)
                for (size_t k = 0; k < p->disks[i].n_parts; k++) {
                        const struct storage_part *q = &p->disks[i].parts[k];
                        if (strcmp(q->mount, "/") == 0) {
                                part_path(p->disks[i].path, q->number, root, sizeof(root));
                                root_fs = q->fstype;
                        } else if (q->type == STORAGE_PT_ESP && !esp[0]) {
                                part_path(p->disks[i].path, q->number, esp, sizeof(esp));
                        }
                }
        if (!root_fs)
                return err_set(err, -EINVAL, "the plan has no root filesystem to mount");
        logf_(log_fd, "+ mount %s %s\n", root, dir);
        if (mount(root, dir, root_fs, 0, NULL) < 0)
                return err_set(err, -errno, "mounting %s on %s: %s", root, dir, strerror(errno));
        if (esp[0]) {
                (void) snprintf(where, sizeof(where), "%s/boot", dir);
                (void) mkdir(where, 0755);
                (void) snprintf(where, sizeof(where), "%s/boot/efi", dir);
                if (mkdir(where, 0700) < 0 && errno != EEXIST)
                        return err_set(err, -errno, "cannot make %s: %s", where, strerror(errno));
                logf_(log_fd, "+ mount %s %s\n", esp, where);
                if (mount(esp, where, "vfat", 0, "umask=0077") < 0)
                        return err_set(err, -errno, "mounting %s on %s: %s", esp, where,
                                       strerror(errno));
        }
        return 0;
}

int storage_apply(const struct storage_plan *p, const struct storage_apply_options *o,
                  struct err *err)
{
        char pv[128] = "", dev[160], size[32], meta[32];
        int r;

        for (size_t i = 0; i < p->n_disks; i++) {
                const struct storage_disk *d = &p->disks[i];
                step(o, "releasing %s", d->path);
                if ((r = release_disk(d, o->log_fd, err)) < 0)
                        return err_prefix(err, r, "releasing %s: ", d->path);
                step(o, "writing the partition table of %s", d->path);
                if ((r = storage_write_table(d, d->path, err)) < 0)
                        return r;
                for (size_t k = 0; k < d->n_parts; k++) {
                        const struct storage_part *q = &d->parts[k];
                        part_path(d->path, q->number, dev, sizeof(dev));
                        if ((r = wait_node(dev, err)) < 0)
                                return r;
                        if (q->type == STORAGE_PT_LVM)
                                (void) snprintf(pv, sizeof(pv), "%s", dev);
                        if (q->fstype[0]) {
                                step(o, "making %s on %s", q->fstype, dev);
                                if ((r = make_fs(q->fstype, dev,
                                                 q->type == STORAGE_PT_ESP ? "EFI"
                                                 : q->mount[0] && !strcmp(q->mount, "/")
                                                         ? "root"
                                                         : q->fstype,
                                                 o->log_fd, err)) < 0)
                                        return r;
                        }
                }
        }
        if (p->vg.name[0]) {
                for (size_t i = 0; i < p->n_renames; i++) {
                        char *argv[] = { "lvm", "vgrename", (char *) p->renames[i].from,
                                         (char *) p->renames[i].to, NULL };
                        step(o, "renaming the old VG %s to %s", p->renames[i].from,
                             p->renames[i].to);
                        if ((r = run_tool("renaming an old VG", argv, o->log_fd, err)) < 0)
                                return r;
                }
                if (!pv[0])
                        return err_set(err, -EINVAL, "the plan has a VG but no PV");
                step(o, "making the PV %s and the VG %s", pv, p->vg.name);
                {
                        char *a1[] = { "lvm", "pvcreate", "-ff", "-y", pv, NULL };
                        char *a2[] = { "lvm", "vgcreate", "-y", (char *) p->vg.name, pv, NULL };
                        if ((r = run_tool("making the PV", a1, o->log_fd, err)) < 0 ||
                            (r = run_tool("making the VG", a2, o->log_fd, err)) < 0)
                                return r;
                }
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
                        if ((r = run_tool("making an LV", argv, o->log_fd, err)) < 0)
                                return r;
                        (void) snprintf(dev, sizeof(dev), "/dev/%s/%s", p->vg.name, l->name);
                        if ((r = wait_node(dev, err)) < 0)
                                return r;
                        if (l->fstype[0]) {
                                step(o, "making %s on %s", l->fstype, dev);
                                if ((r = make_fs(l->fstype, dev, l->name, o->log_fd, err)) < 0)
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
