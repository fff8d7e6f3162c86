/* The install, start to end; see pipeline.h. */
#include "pipeline.h"
#include "answer_fetch.h"
#include "child.h"
#include "cleanup.h"
#include "file.h"
#include "hw.h"
#include "json.h"
#include "node.h"
#include "payload.h"
#include "storage.h"
#include "target.h"
#include <blkid/blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const pipeline_step_names[PIPELINE_STEP_COUNT] = {
        [PIPELINE_DETECT] = "detect",
        [PIPELINE_ANSWER] = "answer",
        [PIPELINE_PLAN] = "plan",
        [PIPELINE_DISKS] = "disks",
        [PIPELINE_UNPACK] = "unpack",
        [PIPELINE_CONFIGURE] = "configure",
        [PIPELINE_BOOTLOADER] = "bootloader",
        [PIPELINE_PACKAGES] = "packages",
        [PIPELINE_POST] = "post",
        [PIPELINE_FINISH] = "finish",
};

/* Where each step starts, in percent of the whole: unpacking the payload is most of it. */
static const unsigned step_start[PIPELINE_STEP_COUNT + 1] = {
        [PIPELINE_DETECT] = 0,      [PIPELINE_ANSWER] = 2,       [PIPELINE_PLAN] = 5,
        [PIPELINE_DISKS] = 6,       [PIPELINE_UNPACK] = 12,      [PIPELINE_CONFIGURE] = 70,
        [PIPELINE_BOOTLOADER] = 74, [PIPELINE_PACKAGES] = 90,    [PIPELINE_POST] = 93,
        [PIPELINE_FINISH] = 96,     [PIPELINE_STEP_COUNT] = 100,
};

struct run {
        const struct pipeline_options *o;
        struct pipeline_result *res;
        const char *target;
        enum pipeline_step step;
        struct timespec start, step_start;
        struct hw_report hw;
        struct answer a;
        struct answer_cmdline cmdline;
        struct storage_plan plan;
        char payload[PATH_MAX];
        char *cmdline_text;
        char report_url[2048]; /* kvmforge.report=, or "" */
        bool report_down;      /* a POST failed: the rest are not tried (each may wait 30 s) */
        unsigned disk_steps;   /* storage_apply's steps so far */
};

static double since(const struct timespec *t)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double) (now.tv_sec - t->tv_sec) + (double) (now.tv_nsec - t->tv_nsec) / 1e9;
}

static void logf_(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct run *r, const char *fmt, ...)
{
        va_list ap;

        if (r->o->log_fd < 0)
                return;
        va_start(ap, fmt);
        (void) vdprintf(r->o->log_fd, fmt, ap);
        va_end(ap);
}

/* POSTs a JSON object to the report server, when there is one. A server that does not answer
 * is said in the log once and not tried again: the install does not wait on it. The URL may
 * carry credentials and is never logged. */
static void report(struct run *r, const char *body)
{
        struct err e = { { 0 } };

        if (!r->report_url[0] || r->report_down)
                return;
        if (node_report_post(r->report_url, body, &e) < 0) {
                logf_(r,
                      "the report server did not take the report (%s), ignoring; no more "
                      "reports are sent\n",
                      e.msg);
                r->report_down = true;
        }
}

/* The JSON object of one event or result, built by fn into a string for report(). */
static void report_json(struct run *r, void (*fn)(struct run *r, struct json *j, const void *arg),
                        const void *arg)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f;
        struct json j;

        if (!r->report_url[0] || r->report_down)
                return;
        f = open_memstream(&text, &len);
        if (!f)
                return;
        json_init(&j, f);
        json_begin_object(&j, NULL);
        fn(r, &j, arg);
        json_end_object(&j);
        if (fclose(f) == 0)
                report(r, text);
}

static void event_json(struct run *r, struct json *j, const void *arg)
{
        const struct pipeline_event *e = arg;

        json_string(j, "type", "event");
        json_string(j, "step", pipeline_step_names[e->step]);
        json_u64(j, "percent", e->percent);
        json_string(j, "message", e->message);
        json_u64(j, "elapsed_ms", (uint64_t) (e->elapsed * 1000));
        (void) r;
}

/* An event at fraction (0..1) of the current step. */
static void event(struct run *r, double fraction, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void event(struct run *r, double fraction, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        unsigned lo = step_start[r->step], hi = step_start[r->step + 1];

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (fraction < 0)
                fraction = 0;
        if (fraction > 1)
                fraction = 1;
        struct pipeline_event e = { .step = r->step,
                                    .percent = lo + (unsigned) ((hi - lo) * fraction),
                                    .message = msg,
                                    .elapsed = since(&r->start) };
        logf_(r, "== [%3u%%] %7.1fs %s: %s\n", e.percent, e.elapsed, pipeline_step_names[e.step],
              msg);
        if (r->o->event)
                r->o->event(r->o->userdata, &e);
        /* The server hears each step begin, not every percent of the unpack. */
        if (fraction == 0)
                report_json(r, event_json, &e);
}

static void begin(struct run *r, enum pipeline_step step, const char *what)
{
        if (r->step != step || step == PIPELINE_DETECT)
                r->res->step_seconds[r->step] = since(&r->step_start);
        r->step = step;
        clock_gettime(CLOCK_MONOTONIC, &r->step_start);
        event(r, 0, "%s", what);
}

/* ---- detect, answer, plan ---- */

static int read_cmdline(struct run *r, struct err *err)
{
        if (r->o->cmdline)
                r->cmdline_text = strdup(r->o->cmdline);
        else {
                _cleanup_fclose_ FILE *f = fopen("/proc/cmdline", "re");
                size_t n = 0;
                if (f && getline(&r->cmdline_text, &n, f) < 0) {
                        free(r->cmdline_text);
                        r->cmdline_text = NULL;
                }
                if (!r->cmdline_text)
                        r->cmdline_text = strdup("");
        }
        if (!r->cmdline_text)
                return err_set(err, -ENOMEM, "out of memory");
        if (!r->report_url[0])
                (void) answer_cmdline_values(r->cmdline_text, "kvmforge.report", r->report_url,
                                             sizeof(r->report_url), 1);
        return answer_cmdline_parse(r->cmdline_text, &r->cmdline, err);
}

static void log_diags(struct run *r)
{
        char buf[1024];

        answer_sort_diags(&r->a);
        for (size_t i = 0; i < r->a.n_diags; i++) {
                answer_format_diag(&r->a, &r->a.diags[i], buf, sizeof(buf));
                logf_(r, "%s\n", buf);
                if (r->a.diags[i].level == ANSWER_ERROR)
                        event(r, 0.5, "%s", buf);
        }
}

static void fetch_report(void *userdata, const char *source, const char *what)
{
        struct run *r = userdata;

        event(r, 0.3, "%s: %s", source, what);
}

static int step_answer(struct run *r, struct err *err)
{
        _cleanup_(answer_source_release) struct answer_source src = { 0 };
        struct answer_fetch_options fo = { .medium_dir = r->o->medium,
                                           .report = fetch_report,
                                           .userdata = r };
        int q;

        begin(r, PIPELINE_ANSWER, "looking for the answer file");
        if (r->o->answer_text) {
                const char *name = r->o->answer_name ? r->o->answer_name : "the answer";
                if (!(src.text = strdup(r->o->answer_text)))
                        return err_set(err, -ENOMEM, "out of memory");
                src.len = strlen(src.text);
                (void) snprintf(src.name, sizeof(src.name), "%s", name);
                (void) snprintf(src.sha256, sizeof(src.sha256), "-");
                q = 0;
        } else if (r->o->answer)
                q = answer_fetch(r->o->answer, &fo, &src, err);
        else
                q = answer_fetch_chain(&r->cmdline, &fo, &src, err);
        if (q < 0)
                return q;
        event(r, 0.5, "reading the answer '%s' (sha256 %s)", src.name, src.sha256);
        struct answer_load_options lo = { .cleartext = src.cleartext,
                                          .overrides = r->cmdline.lines,
                                          .n_overrides = r->cmdline.n_lines };
        struct answer_check_env env = { .hw = &r->hw };
        q = answer_prepare(src.text, src.len, src.name, &lo, true, r->o->log_fd, &env, &r->a, err);
        if (q < 0)
                return q;
        log_diags(r);
        if (r->a.n_errors) {
                char first[512] = "";
                for (size_t i = 0; i < r->a.n_diags && !first[0]; i++)
                        if (r->a.diags[i].level == ANSWER_ERROR)
                                answer_format_diag(&r->a, &r->a.diags[i], first, sizeof(first));
                return err_set(err, -EINVAL,
                               "the answer cannot be installed here, nothing was written: %s%s",
                               first, r->a.n_errors > 1 ? " (more errors in the log)" : "");
        }
        return 0;
}

/* An unattended install that finds the install it made on a disk it would wipe stops: the
 * machine booted the medium again (a BMC's virtual media left in, a boot order not changed)
 * and would otherwise reinstall itself forever. */
static int check_reinstall(struct run *r, struct err *err)
{
        if (!r->o->unattended || r->a.hypervisor.force_reinstall)
                return 0;
        for (size_t i = 0; i < r->plan.n_disks; i++) {
                const struct storage_disk *d = &r->plan.disks[i];
                for (size_t k = 0; d->wipe && k < r->hw.n_disks; k++) {
                        const struct hw_disk *h = &r->hw.disks[k];
                        bool ours = strcmp(h->content.vg, HW_INSTALL_VG) == 0;
                        if (strcmp(h->name, d->name) != 0)
                                continue;
                        for (size_t p = 0; p < h->n_parts; p++)
                                ours = ours || strcmp(h->parts[p].content.vg, HW_INSTALL_VG) == 0;
                        if (ours)
                                return err_set(err, -EEXIST,
                                               "%s already holds a kvmforge install (VG '%s'): "
                                               "an unattended install does not wipe it, so that "
                                               "a machine booting the medium again does not "
                                               "reinstall itself; add 'hypervisor "
                                               "--force-reinstall' to the answer to wipe it",
                                               d->path, HW_INSTALL_VG);
                }
        }
        return 0;
}

static int step_plan(struct run *r, struct err *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f;
        int q;

        begin(r, PIPELINE_PLAN, "planning the disks");
        struct storage_input in = {
                .disks = r->hw.disks, .n_disks = r->hw.n_disks, .ram = r->hw.memory, .answer = &r->a
        };
        if ((q = storage_plan(&in, &r->plan, err)) < 0)
                return err_prefix(err, q, "no storage plan");
        f = open_memstream(&text, &len);
        if (!f)
                return err_set(err, -ENOMEM, "out of memory");
        storage_plan_print(&r->plan, f);
        fclose(f);
        logf_(r, "%s", text);
        for (size_t i = 0; i < r->plan.n_disks; i++) {
                size_t used = strlen(r->res->disks);
                (void) snprintf(r->res->disks + used, sizeof(r->res->disks) - used, "%s%s",
                                used ? " " : "", r->plan.disks[i].name);
                if (r->plan.disks[i].wipe)
                        event(r, 0.5, "%s (%s) will be ERASED", r->plan.disks[i].path,
                              r->plan.disks[i].id[0] ? r->plan.disks[i].id : "no id");
        }
        return check_reinstall(r, err);
}

/* ---- disks and payload ---- */

static void disk_step(void *userdata, const char *what)
{
        struct run *r = userdata;

        /* storage_apply does not say how many steps it has; a dozen is typical. */
        event(r, ++r->disk_steps / 14.0, "%s", what);
}

static void unpack_progress(void *userdata, uint64_t done, uint64_t total)
{
        struct run *r = userdata;

        event(r, total ? (double) done / (double) total : 0,
              "unpacking the node's system: %llu of %llu MiB", (unsigned long long) (done >> 20),
              (unsigned long long) (total >> 20));
}

/* ---- inside the target ---- */

/* What the programs run in the target need: the live environment's devices, proc and sys,
 * a fresh /run, and the firmware's variables under UEFI. unmount_target() undoes them with
 * the rest. */
static int bind_mounts(struct run *r, struct err *err)
{
        static const struct {
                const char *src, *dst, *fstype;
                unsigned long flags;
        } mounts[] = {
                { "/dev", "dev", NULL, MS_BIND },
                { "/dev/pts", "dev/pts", NULL, MS_BIND },
                { "/proc", "proc", NULL, MS_BIND },
                { "/sys", "sys", NULL, MS_BIND },
                { "tmpfs", "run", "tmpfs", MS_NOSUID | MS_NODEV },
                { "efivarfs", "sys/firmware/efi/efivars", "efivarfs",
                  MS_NOSUID | MS_NODEV | MS_NOEXEC },
        };
        char path[PATH_MAX];

        for (size_t i = 0; i < ELEMENTSOF(mounts); i++) {
                bool efivars = strcmp(mounts[i].src, "efivarfs") == 0;
                if (efivars && access("/sys/firmware/efi/efivars", F_OK) < 0)
                        continue; /* a BIOS boot */
                (void) snprintf(path, sizeof(path), "%s/%s", r->target, mounts[i].dst);
                (void) mkdir(path, 0755);
                if (mount(mounts[i].src, path, mounts[i].fstype, mounts[i].flags,
                          mounts[i].fstype && !efivars ? "mode=0755" : NULL) < 0 &&
                    !efivars)
                        return err_set(err, -errno, "cannot mount %s on '%s': %s", mounts[i].src,
                                       path, strerror(errno));
        }
        return 0;
}

static int in_target(struct run *r, const char *what, char *const argv[], struct err *err)
{
        struct child_options so = { .log_fd = r->o->log_fd, .chroot = r->target, .in_fd = -1 };

        return child_run(what, argv, &so, err);
}

static int step_bootloader(struct run *r, struct err *err)
{
        bool efi = access("/sys/firmware/efi", F_OK) == 0;
        char dev[64], esp[PATH_MAX], where[64];
        size_t n_esp = 0;
        int q;

        begin(r, PIPELINE_BOOTLOADER, "installing the bootloader");
        /* BIOS: GRUB's core into the BIOS boot partition of every disk that has one, so that
         * any disk of a mirror boots alone. */
        for (size_t i = 0; i < r->plan.n_disks; i++) {
                const struct storage_disk *d = &r->plan.disks[i];
                for (size_t p = 0; p < d->n_parts; p++) {
                        if (d->parts[p].type != STORAGE_PT_BIOSBOOT)
                                continue;
                        (void) snprintf(dev, sizeof(dev), "%s", d->path);
                        event(r, 0.1 + 0.1 * (double) i, "GRUB for BIOS on %s", dev);
                        char *argv[] = { "grub-install", "--target=i386-pc", dev, NULL };
                        if ((q = in_target(r, "installing GRUB for BIOS", argv, err)) < 0)
                                return q;
                }
        }
        /* UEFI: on every ESP, at the removable path (firmware that forgets or never had a boot
         * entry still finds it); a boot entry in NVRAM too when this is a UEFI boot. */
        for (size_t i = 0; i < r->plan.n_disks; i++) {
                const struct storage_disk *d = &r->plan.disks[i];
                for (size_t p = 0; p < d->n_parts; p++) {
                        if (d->parts[p].type != STORAGE_PT_ESP)
                                continue;
                        bool first = n_esp++ == 0;
                        (void) snprintf(where, sizeof(where), first ? "/boot/efi" : "/boot/efi%zu",
                                        n_esp);
                        if (!first) {
                                (void) snprintf(esp, sizeof(esp), "%s%s", r->target, where);
                                (void) mkdir(esp, 0700);
                                (void) snprintf(dev, sizeof(dev), "%s%s%u", d->path,
                                                d->path[strlen(d->path) - 1] >= '0' &&
                                                                d->path[strlen(d->path) - 1] <= '9'
                                                        ? "p"
                                                        : "",
                                                d->parts[p].number);
                                if (mount(dev, esp, "vfat", 0, NULL) < 0)
                                        return err_set(err, -errno, "cannot mount the ESP %s: %s",
                                                       dev, strerror(errno));
                        }
                        char efidir[80];
                        (void) snprintf(efidir, sizeof(efidir), "--efi-directory=%s", where);
                        event(r, 0.4 + 0.1 * (double) n_esp, "GRUB for UEFI on %s", d->path);
                        char *removable[] = { "grub-install", "--target=x86_64-efi", efidir,
                                              "--removable",  "--no-nvram",          NULL };
                        char *nvram[] = { "grub-install", "--target=x86_64-efi", efidir,
                                          "--bootloader-id=kvmforge", NULL };
                        q = in_target(r, "installing GRUB for UEFI", removable, err);
                        if (q >= 0 && efi && first)
                                q = in_target(r, "adding the UEFI boot entry", nvram, err);
                        if (!first) {
                                (void) umount(esp);
                                (void) rmdir(esp);
                        }
                        if (q < 0)
                                return q;
                }
        }
        event(r, 0.8, "writing GRUB's menu");
        char *update[] = { "update-grub", NULL };
        return in_target(r, "writing GRUB's menu", update, err);
}

/* Whether the package is in the node's system: the medium's list of the payload's packages
 * (known before any disk is touched), else dpkg's status in the target. */
static bool have_package(struct run *r, const char *pkg, bool from_medium)
{
        char path[PATH_MAX], *line = NULL;
        size_t n = 0, pl = strlen(pkg);
        bool in = false, ok = false;
        FILE *f;

        if (from_medium)
                (void) snprintf(path, sizeof(path), "%s/%s", r->o->medium, PIPELINE_PACKAGES_PATH);
        else
                (void) snprintf(path, sizeof(path), "%s/var/lib/dpkg/status", r->target);
        f = fopen(path, "re");
        if (!f)
                return false;
        while (!ok && getline(&line, &n, f) > 0) {
                if (from_medium)
                        ok = strcspn(line, "\n") == pl && strncmp(line, pkg, pl) == 0;
                else if (strncmp(line, "Package: ", 9) == 0)
                        in = strcspn(line + 9, "\n") == pl && strncmp(line + 9, pkg, pl) == 0;
                else if (in && strncmp(line, "Status: ", 8) == 0)
                        ok = strstr(line, " installed") != NULL;
        }
        free(line);
        fclose(f);
        return ok;
}

/* %packages: what the answer asks for must be in the node's system (the payload carries the
 * ISO's --packages). Checked before the disks when the medium lists its packages. */
static int check_packages(struct run *r, bool from_medium, struct err *err)
{
        for (size_t i = 0; i < r->a.n_packages; i++) {
                const char *p = r->a.packages[i];
                if (p[0] == '@' || have_package(r, p, from_medium))
                        continue;
                if (r->a.ignoremissing) {
                        event(r, 0.5,
                              "package '%s' is not on this medium, ignoring (--ignoremissing)", p);
                        continue;
                }
                return err_set(err, -ENOENT,
                               "%%packages names '%s', which is not on this medium; build the ISO "
                               "with 'kvmforge-image iso --packages %s' or add --ignoremissing",
                               p, p);
        }
        return 0;
}

static int step_packages(struct run *r, struct err *err)
{
        begin(r, PIPELINE_PACKAGES, "checking %packages");
        return check_packages(r, false, err);
}

static int step_post(struct run *r, struct err *err)
{
        int q;

        begin(r, PIPELINE_POST, "running %post");
        for (size_t i = 0; i < r->a.n_scripts; i++) {
                const struct answer_script *s = &r->a.scripts[i];
                if (s->kind != ANSWER_POST)
                        continue;
                event(r, 0.2, "%%post at line %u", s->at.line);
                q = answer_script_run(s, s->nochroot ? NULL : r->target, r->o->log_fd, err);
                if (q < 0 && s->erroronfail)
                        return q;
                if (q < 0)
                        event(r, 0.5, "%s, ignoring (no --erroronfail)", err->msg);
                err->msg[0] = '\0';
        }
        return 0;
}

/* The first-boot unit enabled, the answer (masked) and the install log kept on the node. */
static int step_finish(struct run *r, struct err *err)
{
        char path[PATH_MAX], link[PATH_MAX];
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f;
        int q;

        begin(r, PIPELINE_FINISH, "enabling the first-boot setup");
        (void) snprintf(link, sizeof(link), "%s/etc/systemd/system/multi-user.target.wants/%s",
                        r->target, PIPELINE_UNIT);
        (void) unlink(link);
        if (symlink("/usr/lib/systemd/system/" PIPELINE_UNIT, link) < 0)
                return err_set(err, -errno, "cannot enable %s: %s", PIPELINE_UNIT, strerror(errno));
        (void) snprintf(path, sizeof(path), "%s%s", r->target, PIPELINE_NODE_DIR);
        (void) mkdir(path, 0755);
        f = open_memstream(&text, &len);
        if (!f)
                return err_set(err, -ENOMEM, "out of memory");
        (void) answer_write_kickstart(&r->a, false, f);
        fclose(f);
        (void) snprintf(path, sizeof(path), "%s%s", r->target, PIPELINE_NODE_ANSWER);
        if ((q = file_write_atomic(path, text, strlen(text), 0600, err)) < 0)
                return q;
        return 0;
}

/* Copies the install log to the node (as it is now: the last lines are the unmounting). */
static void keep_log(struct run *r)
{
        char path[PATH_MAX], buf[65536];
        _cleanup_close_ int out = -1;
        ssize_t n;
        off_t off = 0;

        if (r->o->log_fd < 0)
                return;
        (void) snprintf(path, sizeof(path), "%s/var/log/kvmforge", r->target);
        (void) mkdir(path, 0750);
        (void) snprintf(path, sizeof(path), "%s%s", r->target, PIPELINE_NODE_LOG);
        out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out < 0)
                return;
        while ((n = pread(r->o->log_fd, buf, sizeof(buf), off)) > 0) {
                if (write(out, buf, (size_t) n) != n)
                        break;
                off += n;
        }
        (void) fsync(out);
}

/* Unmounts everything under the target, deepest first. */
static void unmount_target(struct run *r)
{
        struct hw_source live = { 0 };
        struct hw_mount *m = NULL;
        size_t n = 0, tl = strlen(r->target);

        if (hw_mounts_read(&live, &m, &n) < 0)
                return;
        /* mountinfo lists mounts in the order they were made: undo them backwards. */
        for (size_t i = n; i-- > 0;)
                if (strncmp(m[i].point, r->target, tl) == 0 &&
                    (m[i].point[tl] == '\0' || m[i].point[tl] == '/')) {
                        /* Something still open there (a process a script left behind) must
                         * not keep the disks from being released: detach it then. */
                        if (umount(m[i].point) < 0 && umount2(m[i].point, MNT_DETACH) < 0)
                                logf_(r, "cannot unmount %s: %s\n", m[i].point, strerror(errno));
                }
        free(m);
        sync();
}

/* The filesystem UUID of every device of the plan that carries a filesystem or swap. */
static int collect_uuids(struct run *r, struct target_uuid *u, char (*devs)[64], char (*uuids)[64],
                         size_t max, size_t *ret_n, struct err *err)
{
        size_t n = 0;

        for (size_t i = 0; i < r->plan.n_disks; i++) {
                const struct storage_disk *d = &r->plan.disks[i];
                for (size_t p = 0; p < d->n_parts && n < max; p++)
                        if (d->parts[p].fstype[0])
                                target_part_device(d->path, d->parts[p].number, devs[n++], 64);
        }
        for (size_t i = 0; i < r->plan.vg.n_lvs && n < max; i++)
                if (r->plan.vg.lvs[i].fstype[0])
                        (void) snprintf(devs[n++], 64, "/dev/%s/%s", r->plan.vg.name,
                                        r->plan.vg.lvs[i].name);
        for (size_t i = 0; i < r->plan.n_mds && n < max; i++)
                if (r->plan.mds[i].fstype[0])
                        (void) snprintf(devs[n++], 64, "/dev/%s", r->plan.mds[i].device);
        for (size_t i = 0; i < n; i++) {
                blkid_probe pr = blkid_new_probe_from_filename(devs[i]);
                const char *v = NULL;
                int ok = pr && blkid_probe_enable_superblocks(pr, 1) == 0 &&
                         blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_UUID) == 0 &&
                         blkid_do_safeprobe(pr) == 0 &&
                         blkid_probe_lookup_value(pr, "UUID", &v, NULL) == 0;
                if (ok)
                        (void) snprintf(uuids[i], 64, "%s", v);
                if (pr)
                        blkid_free_probe(pr);
                if (!ok)
                        return err_set(err, -ENODATA, "%s has no filesystem UUID after mkfs",
                                       devs[i]);
                u[i] = (struct target_uuid){ .device = devs[i], .uuid = uuids[i] };
                logf_(r, "%s: UUID=%s\n", devs[i], uuids[i]);
        }
        *ret_n = n;
        return 0;
}

static int step_configure(struct run *r, struct err *err)
{
        _cleanup_(target_runs_release) struct target_runs runs = { 0 };
        char devs[48][64], uuids[48][64], consoles[8][64], bootif[1][64];
        struct target_uuid u[48];
        const char *cons[8];
        size_t n_uuids = 0, n_cons;
        int q;

        begin(r, PIPELINE_CONFIGURE, "configuring the node");
        if ((q = bind_mounts(r, err)) < 0 ||
            (q = collect_uuids(r, u, devs, uuids, ELEMENTSOF(u), &n_uuids, err)) < 0)
                return q;
        n_cons = answer_cmdline_values(r->cmdline_text, "console", consoles[0], sizeof(consoles[0]),
                                       ELEMENTSOF(consoles));
        for (size_t i = 0; i < n_cons; i++)
                cons[i] = consoles[i];
        bool have_bootif = answer_cmdline_values(r->cmdline_text, "BOOTIF", bootif[0],
                                                 sizeof(bootif[0]), 1) == 1;
        struct target_options to = {
                .hw = &r->hw,
                .bootif = have_bootif ? bootif[0] : NULL,
                .plan = &r->plan,
                .uuids = u,
                .n_uuids = n_uuids,
                .boot = { .consoles = cons,
                          .n_consoles = n_cons,
                          .gfxmode = r->hw.video.fb_size[0] ? r->hw.video.fb_size : NULL,
                          .nomodeset = strstr(r->cmdline_text, "nomodeset") != NULL,
                          .kernel_nic_names = true },
        };
        if ((q = target_configure(r->target, &r->a, &to, &runs, err)) < 0)
                return q;
        if (r->report_url[0] &&
            (q = target_node_conf_set(r->target, "REPORT_URL", r->report_url, err)) < 0)
                return q;
        for (size_t i = 0; i < runs.n; i++) {
                event(r, 0.3 + 0.6 * (double) i / (double) runs.n, "running %s in the node",
                      runs.v[i].argv[0]);
                if ((q = in_target(r, "configuring the node", runs.v[i].argv, err)) < 0)
                        return q;
        }
        return 0;
}

static int install(struct run *r, struct err *err)
{
        int q;

        struct hw_source live = { .sysroot = r->o->sysroot };

        if (r->o->sysroot && !r->o->dry_run)
                return err_set(err, -EINVAL,
                               "a captured tree ('%s') can only be planned for, "
                               "not installed on: add --dry-run",
                               r->o->sysroot);
        begin(r, PIPELINE_DETECT, "detecting the hardware");
        if ((q = hw_report_detect(&live, &r->hw)) < 0)
                return err_set(err, q, "cannot detect the hardware: %s", strerror(-q));
        event(r, 0.5, "CPU: %s", r->hw.cpu.reason);
        if ((q = read_cmdline(r, err)) < 0)
                return q;
        if ((q = step_answer(r, err)) < 0 || (q = step_plan(r, err)) < 0)
                return q;
        if (r->o->dry_run)
                return 0;
        if (r->o->payload)
                (void) snprintf(r->payload, sizeof(r->payload), "%s", r->o->payload);
        else if (r->o->medium)
                (void) snprintf(r->payload, sizeof(r->payload), "%s/%s", r->o->medium,
                                PIPELINE_PAYLOAD_PATH);
        else
                return err_set(err, -EINVAL, "no payload: give the install medium or the payload");
        if (access(r->payload, R_OK) < 0)
                return err_set(err, -errno, "cannot read the payload '%s': %s; nothing was written",
                               r->payload, strerror(errno));
        char list[PATH_MAX];
        (void) snprintf(list, sizeof(list), "%s/%s", r->o->medium ? r->o->medium : "",
                        PIPELINE_PACKAGES_PATH);
        if (r->o->medium && access(list, R_OK) == 0 && (q = check_packages(r, true, err)) < 0)
                return err_prefix(err, q, "nothing was written");

        begin(r, PIPELINE_DISKS, "preparing the disks");
        (void) mkdir(r->target, 0755);
        struct storage_apply_options ao = {
                .log_fd = r->o->log_fd, .mount_dir = r->target, .step = disk_step, .userdata = r
        };
        if ((q = storage_apply(&r->plan, &ao, err)) < 0)
                return q;
        begin(r, PIPELINE_UNPACK, "unpacking the node's system");
        if ((q = payload_unpack(r->payload, r->target, unpack_progress, r, err)) < 0)
                return q;
        if ((q = step_configure(r, err)) < 0)
                return q;
        if ((q = step_bootloader(r, err)) < 0 || (q = step_packages(r, err)) < 0 ||
            (q = step_post(r, err)) < 0 || (q = step_finish(r, err)) < 0)
                return q;
        return 0;
}

struct result {
        int code;
        const char *message;
        const struct pipeline_result *res;
};

#define REPORT_LOG_MAX (256u << 10) /* the end of the log that goes with a failure */

static void result_json(struct run *r, struct json *j, const void *arg)
{
        const struct result *x = arg;

        json_string(j, "type", "result");
        json_string(j, "status", x->code < 0 ? "failed" : r->o->dry_run ? "planned" : "installed");
        json_string(j, "step", pipeline_step_names[r->step]);
        json_string_or_null(j, "message", x->code < 0 ? x->message : NULL);
        json_string_or_null(j, "hostname", r->a.hostname);
        json_string(j, "disks", x->res->disks);
        json_begin_object(j, "seconds");
        for (size_t i = 0; i < PIPELINE_STEP_COUNT; i++)
                json_u64(j, pipeline_step_names[i], (uint64_t) (x->res->step_seconds[i] * 1000));
        json_end_object(j);
        if (x->code < 0 && r->o->log_fd >= 0) {
                /* The log holds commands and their output, never a password. */
                off_t end = lseek(r->o->log_fd, 0, SEEK_END), start = 0;
                _cleanup_free_ char *buf = NULL;
                ssize_t n;
                if (end > (off_t) REPORT_LOG_MAX)
                        start = end - (off_t) REPORT_LOG_MAX;
                if (end > 0 && (buf = malloc((size_t) (end - start) + 1)) &&
                    (n = pread(r->o->log_fd, buf, (size_t) (end - start), start)) >= 0) {
                        buf[n] = '\0';
                        json_string(j, "log", buf);
                }
        }
}

int pipeline_run(const struct pipeline_options *o, struct pipeline_result *ret, struct err *err)
{
        struct pipeline_result res = { 0 };
        struct run r = { .o = o, .res = &res, .target = o->target ? o->target : PIPELINE_TARGET };

        if (o->report_url)
                (void) snprintf(r.report_url, sizeof(r.report_url), "%s", o->report_url);
        int q;

        clock_gettime(CLOCK_MONOTONIC, &r.start);
        r.step_start = r.start;
        q = install(&r, err);
        if (q >= 0)
                event(&r, 1, "the node is installed on %s", res.disks);
        else
                logf_(&r, "== failed in step %s: %s\n", pipeline_step_names[r.step], err->msg);
        res.step_seconds[r.step] = since(&r.step_start);
        report_json(&r, result_json,
                    &(struct result){ .code = q, .message = err->msg, .res = &res });
        if (!o->dry_run && r.step >= PIPELINE_DISKS) {
                keep_log(&r);
                unmount_target(&r);
        }
        res.end = r.a.end;
        res.eject = r.a.eject;
        if (r.a.hostname)
                (void) snprintf(res.hostname, sizeof(res.hostname), "%s", r.a.hostname);
        storage_plan_release(&r.plan);
        answer_release(&r.a);
        answer_cmdline_release(&r.cmdline);
        free(r.cmdline_text);
        hw_report_release(&r.hw);
        if (q < 0)
                return err_prefix(err, q, "%s", pipeline_step_names[r.step]);
        *ret = res;
        return 0;
}
