/* Building the installer ISO; see isobuild.h. */
#include "isobuild.h"
#include "answer.h"
#include "bootmenu.h"
#include "child.h"
#include "cleanup.h"
#include "file.h"
#include "initramfs.h"
#include "kickstart.h"
#include "payload.h"
#include "pipeline.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const isobuild_modules[] = {
        /* disks and their buses */
        "virtio_pci", "virtio_blk", "virtio_scsi", "ahci", "ata_piix", "nvme", "sd_mod", "sr_mod",
        "megaraid_sas", "mpt3sas", "hpsa", "smartpqi", "aacraid", "mmc_block", "sdhci_pci",
        "xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd", "usb_storage", "uas",
        /* filesystems, device-mapper, md */
        "isofs", "vfat", "nls_cp437", "nls_ascii", "nls_utf8", "ext4", "xfs", "dm_mod",
        "dm_thin_pool", "raid1", "md_mod", "efivarfs", "msr",
        /* NICs */
        "virtio_net", "e1000", "e1000e", "igb", "igc", "ixgbe", "i40e", "ice", "r8169", "tg3",
        "bnx2", "bnxt_en", "be2net", "vmxnet3",
        /* keyboards for the text UI */
        "usbhid", "hid_generic", "evdev", NULL
};

const char *const isobuild_programs[] = {
        "kvmforge-install", "lvm",    "mdadm",      "mkfs.ext4", "mkfs.xfs",
        "mkfs.vfat",        "mkswap", "thin_check", "blkid",     NULL
};

static const char *const payload_tools[][3] = {
        /* built program or data file, where it goes in the node, mode */
        { "kvmforge-postinst", "usr/sbin/kvmforge-postinst", "0755" },
        { "kvmforge-image", "usr/bin/kvmforge-image", "0755" },
};

static double since(const struct timespec *t)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double) (now.tv_sec - t->tv_sec) + (double) (now.tv_nsec - t->tv_nsec) / 1e9;
}

static void stage(const struct isobuild_options *o, const char *name, const struct timespec *t,
                  const char *what)
{
        if (o->stage)
                o->stage(o->userdata, name, t ? since(t) : 0, what);
}

int isobuild_check_answer(const char *path, struct err *err)
{
        _cleanup_(answer_release) struct answer a = { 0 };
        _cleanup_free_ char *text = NULL;
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        struct answer_load_options lo = { 0 };
        size_t len;
        int r;

        if (!f)
                return err_set(err, -errno, "cannot read the answer '%s': %s", path,
                               strerror(errno));
        text = malloc(KICKSTART_MAX_BYTES + 1);
        if (!text)
                return err_set(err, -ENOMEM, "out of memory");
        len = fread(text, 1, KICKSTART_MAX_BYTES + 1, f);
        if (ferror(f) || len > KICKSTART_MAX_BYTES)
                return err_set(err, ferror(f) ? -EIO : -EFBIG, "cannot read the answer '%s': %s",
                               path, ferror(f) ? "read error" : "too large");
        if ((r = answer_load(text, len, path, &lo, &a)) < 0)
                return err_set(err, r, "cannot read the answer '%s': %s", path, strerror(-r));
        answer_sort_diags(&a);
        for (size_t i = 0; i < a.n_diags; i++)
                if (a.diags[i].level == ANSWER_ERROR) {
                        char buf[1024];
                        answer_format_diag(&a, &a.diags[i], buf, sizeof(buf));
                        return err_set(err, -EINVAL,
                                       "%s (%zu error%s; 'kvmforge-install "
                                       "check-answer %s' lists them)",
                                       buf, a.n_errors, a.n_errors == 1 ? "" : "s", path);
                }
        return 0;
}

static int copy_to(const char *src, const char *dst, struct err *err)
{
        char *argv[] = { "cp", "--reflink=auto", "--", (char *) src, (char *) dst, NULL };

        return child_tool("copying", argv, -1, err);
}

static int mkdirs(const char *base, const char *sub, struct err *err)
{
        char path[PATH_MAX];
        int r;

        (void) snprintf(path, sizeof(path), "%s/%s", base, sub);
        if ((r = file_mkdir_parents(path, 0755, true)) < 0)
                return err_set(err, r, "cannot make '%s': %s", path, strerror(-r));
        return 0;
}

/* The names of the packages installed in the payload (its dpkg status), one a line. */
static int write_package_list(const char *status, const char *out, struct err *err)
{
        _cleanup_fclose_ FILE *in = fopen(status, "re"), *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t n = 0;

        if (!in)
                return err_set(err, -errno, "cannot read '%s': %s", status, strerror(errno));
        f = fopen(out, "we");
        if (!f)
                return err_set(err, -errno, "cannot write '%s': %s", out, strerror(errno));
        while (getline(&line, &n, in) > 0)
                if (strncmp(line, "Package: ", 9) == 0)
                        fputs(line + 9, f);
        if (fflush(f) != 0)
                return err_set(err, -EIO, "cannot write '%s'", out);
        return 0;
}

static int build_initramfs(const struct isobuild_options *o, const char *boot, const char *out,
                           const char *release, struct err *err)
{
        struct initramfs *ird = NULL;
        char path[PATH_MAX], mods[PATH_MAX];
        size_t n_mods = 0;
        int r;

        if ((r = initramfs_new(out, &ird, err)) < 0)
                return r;
        (void) snprintf(path, sizeof(path), "%s/iso/kvmforge-init", o->tools_dir);
        if ((r = initramfs_add_file(ird, path, "/init", 0755, err)) < 0)
                goto out;
        if ((r = initramfs_add_busybox(ird, "busybox", err)) < 0)
                goto out;
        for (size_t i = 0; isobuild_programs[i]; i++) {
                const char *p = isobuild_programs[i];
                if (strcmp(p, "kvmforge-install") == 0) {
                        (void) snprintf(path, sizeof(path), "%s/kvmforge-install", o->tools_dir);
                        if ((r = initramfs_add_program_at(ird, path, "/usr/sbin/kvmforge-install",
                                                          err)) < 0)
                                goto out;
                        continue;
                }
                if ((r = initramfs_add_program(ird, p, err)) < 0)
                        goto out;
        }
        (void) snprintf(path, sizeof(path), "%s/iso/lvm.conf", o->data_dir);
        if ((r = initramfs_add_file(ird, path, "/etc/lvm/lvm.conf", 0644, err)) < 0)
                goto out;
        (void) snprintf(path, sizeof(path), "%s/iso/udhcpc.script", o->data_dir);
        if ((r = initramfs_add_file(ird, path, "/etc/kvmforge/udhcpc.script", 0755, err)) < 0)
                goto out;
        /* https answers are verified against Debian's CA bundle, as on any Debian system. */
        if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0 &&
            (r = initramfs_add_file(ird, "/etc/ssl/certs/ca-certificates.crt",
                                    "/etc/ssl/certs/ca-certificates.crt", 0644, err)) < 0)
                goto out;
        for (size_t i = 0; isobuild_modules[i]; i++)
                n_mods++;
        (void) snprintf(mods, sizeof(mods), "%s/modules/%s", boot, release);
        if ((r = initramfs_add_modules(ird, mods, isobuild_modules, n_mods, err)) < 0)
                goto out;
        r = initramfs_finish(ird, err);
out:
        initramfs_free(ird);
        return r;
}

int isobuild_run(const struct isobuild_options *o, const char *out, struct err *err)
{
        _cleanup_free_ char *work = NULL;
        char staging[PATH_MAX], boot[PATH_MAX], path[PATH_MAX], what[256];
        struct payload_file files[ELEMENTSOF(payload_tools) + 1];
        char srcs[ELEMENTSOF(payload_tools) + 1][PATH_MAX];
        struct payload_info info = { 0 };
        struct timespec t;
        int r;

        if (o->answer) {
                clock_gettime(CLOCK_MONOTONIC, &t);
                stage(o, "answer", NULL, o->answer);
                if ((r = isobuild_check_answer(o->answer, err)) < 0)
                        return r;
                stage(o, "answer", &t, "valid");
        }
        if (asprintf(&work, "%s/iso-build.XXXXXX", o->work_dir ? o->work_dir : o->cache_dir) < 0)
                return err_set(err, -ENOMEM, "out of memory");
        if ((r = mkdirs(o->work_dir ? o->work_dir : o->cache_dir, "", err)) < 0)
                return r;
        if (!mkdtemp(work))
                return err_set(err, -errno, "cannot make a work directory '%s': %s", work,
                               strerror(errno));
        (void) snprintf(staging, sizeof(staging), "%s/iso", work);
        (void) snprintf(boot, sizeof(boot), "%s/boot", work);
        if ((r = mkdirs(staging, "kvmforge", err)) < 0 || (r = mkdirs(staging, "boot", err)) < 0)
                goto out;

        /* The payload: mmdebstrap's tree (cached) with kvmforge's own programs. */
        for (size_t i = 0; i < ELEMENTSOF(payload_tools); i++) {
                (void) snprintf(srcs[i], sizeof(srcs[i]), "%s/%s", o->tools_dir,
                                payload_tools[i][0]);
                files[i] = (struct payload_file){ .src = srcs[i],
                                                  .dst = payload_tools[i][1],
                                                  .mode = (unsigned) strtoul(payload_tools[i][2],
                                                                             NULL, 8) };
        }
        (void) snprintf(srcs[ELEMENTSOF(payload_tools)], PATH_MAX, "%s/postinst/" PIPELINE_UNIT,
                        o->data_dir);
        files[ELEMENTSOF(payload_tools)] =
                (struct payload_file){ .src = srcs[ELEMENTSOF(payload_tools)],
                                       .dst = "usr/lib/systemd/system/" PIPELINE_UNIT,
                                       .mode = 0644 };
        struct payload_options po = { .suite = o->suite,
                                      .mirror = o->mirror,
                                      .packages = o->packages,
                                      .n_packages = o->n_packages,
                                      .files = files,
                                      .n_files = ELEMENTSOF(files),
                                      .cache_dir = o->cache_dir,
                                      .log_fd = o->log_fd };
        clock_gettime(CLOCK_MONOTONIC, &t);
        stage(o, "payload", NULL, o->suite ? o->suite : PAYLOAD_DEFAULT_SUITE);
        (void) snprintf(path, sizeof(path), "%s/%s", staging, PIPELINE_PAYLOAD_PATH);
        if ((r = payload_build(&po, path, boot, &info, err)) < 0)
                goto out;
        (void) snprintf(what, sizeof(what), "%s, kernel %s, %llu files, %llu MiB unpacked",
                        info.reused ? "base tree reused from the cache" : "built with mmdebstrap",
                        info.kernel_release, (unsigned long long) info.entries,
                        (unsigned long long) (info.bytes >> 20));
        stage(o, "payload", &t, what);
        char status[PATH_MAX];
        (void) snprintf(status, sizeof(status), "%s/dpkg-status", boot);
        (void) snprintf(path, sizeof(path), "%s/kvmforge/packages.txt", staging);
        if ((r = write_package_list(status, path, err)) < 0)
                goto out;

        clock_gettime(CLOCK_MONOTONIC, &t);
        stage(o, "initramfs", NULL, "the live environment");
        (void) snprintf(path, sizeof(path), "%s/boot/initrd.img", staging);
        if ((r = build_initramfs(o, boot, path, info.kernel_release, err)) < 0)
                goto out;
        stage(o, "initramfs", &t, "written");

        (void) snprintf(path, sizeof(path), "%s/vmlinuz", boot);
        char dst[PATH_MAX];
        (void) snprintf(dst, sizeof(dst), "%s/boot/vmlinuz", staging);
        if ((r = copy_to(path, dst, err)) < 0)
                goto out;
        if (o->answer) {
                (void) snprintf(dst, sizeof(dst), "%s%s", staging, "/kvmforge/ks.cfg");
                if ((r = copy_to(o->answer, dst, err)) < 0)
                        goto out;
        }

        clock_gettime(CLOCK_MONOTONIC, &t);
        stage(o, "iso", NULL, out);
        char build_id[64], append[128];
        time_t ts = o->timestamp >= 0 ? (time_t) o->timestamp : time(NULL);
        (void) snprintf(build_id, sizeof(build_id), "kvmforge-%lld-%s", (long long) ts,
                        info.cache_key);
        (void) snprintf(append, sizeof(append), "kvmforge.medium=%s", build_id);
        struct bootmenu_iso_options io = {
                .staging = staging,
                .volume_id = o->label,
                .build_id = build_id,
                .timestamp = ts,
                .menu = { .label = "kvmforge",
                          .kernel = "/boot/vmlinuz",
                          .initrd = "/boot/initrd.img",
                          .answer_embedded = o->answer != NULL,
                          .console = o->console,
                          .timeout = BOOTMENU_TIMEOUT_DEFAULT,
                          .append = append },
                .work_dir = work,
        };
        if ((r = bootmenu_make_iso(&io, out, err)) < 0)
                goto out;
        stage(o, "iso", &t, "written");
out:;
        char *rm[] = { "rm", "-rf", "--one-file-system", "--", work, NULL };
        (void) child_tool("removing the work directory", rm, -1, NULL);
        return r;
}
