/* The storage planner: disks + RAM + answer -> plan, with no side effect. */
#include "storage.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "cleanup.h"
#include "hw.h"
#include "json.h"
#include "strv.h"
#include "units.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PE  (4 * MiB) /* LVM's default extent */

const char *const storage_ptype_names[STORAGE_PT_COUNT] = {
        "BIOS boot", "EFI system", "LVM PV", "RAID member", "swap", "Linux filesystem",
};

static uint64_t align_down(uint64_t v, uint64_t a)
{
        return v / a * a;
}

static uint64_t mib_or(uint64_t mib, uint64_t dflt)
{
        return mib == ANSWER_UNSET ? dflt : mib * MiB;
}

void storage_plan_release(struct storage_plan *p)
{
        free(p->disks);
        strv_free(&p->notes, &p->n_notes);
        *p = (struct storage_plan){ 0 };
}

uint64_t storage_swap_size(uint64_t ram, uint64_t os)
{
        uint64_t ss = ram / MiB, hdgb = os / GiB;

        /* Proxmox's compute_swapsize(), in MiB: the RAM, raised on roomy disks, lowered on
         * small ones, at most an eighth of the disk and 8 GiB. */
        if (ss < 4096 && hdgb >= 64)
                ss = 4096;
        if (ss < 2048 && hdgb >= 32)
                ss = 2048;
        if (ss >= 2048 && hdgb <= 16)
                ss = 1024;
        if (ss < 512)
                ss = 512;
        if (ss > hdgb * 128)
                ss = hdgb * 128;
        if (ss > 8192)
                ss = 8192;
        return align_down(ss * MiB, PE);
}

/* ---- which disk ---- */

void storage_disk_words(const struct hw_disk *d, char *buf, size_t size)
{
        size_t len = 0;

        buf[0] = '\0';
#define ADD(...)                                                                      \
        do {                                                                          \
                if (len < size)                                                       \
                        len += (size_t) snprintf(buf + len, size - len, __VA_ARGS__); \
        } while (0)
        if (d->table[0])
                ADD("a %s partition table", d->table);
        if (d->content.type[0])
                ADD("%s%s", len ? ", " : "", d->content.type);
        for (size_t i = 0; i < d->n_parts; i++) {
                const struct hw_content *c = &d->parts[i].content;
                if (!c->type[0])
                        continue;
                ADD("%s%s%s%s%s%s", len ? ", " : "", c->type, c->label[0] ? " '" : "", c->label,
                    c->label[0] ? "'" : "", c->vg[0] ? " in VG " : "");
                if (c->vg[0])
                        ADD("'%s'", c->vg);
        }
        if (!len && d->n_parts)
                ADD("%zu partition%s", d->n_parts, d->n_parts == 1 ? "" : "s");
#undef ADD
}

static bool blank(const struct hw_disk *d)
{
        return !d->table[0] && !d->content.type[0] && d->n_parts == 0;
}

/* The one disk the default layout goes on. */
static int choose_disk(const struct storage_input *in, size_t *ret, struct err *err)
{
        const struct answer_storage *s = in->answer ? &in->answer->storage : NULL;
        _cleanup_free_ size_t *idx = calloc(in->n_disks + 1, sizeof(*idx));
        char list[256] = "";
        size_t n = 0, len = 0;
        int r;

        if (!idx)
                return -ENOMEM;
        if (s && s->disk) {
                if ((r = hw_disks_match(s->disk, in->disks, in->n_disks, idx, &n, err)) < 0)
                        return r;
        } else if (s && s->firstdisk) {
                if ((r = hw_disks_firstdisk(s->firstdisk, in->disks, in->n_disks, idx, err)) < 0)
                        return r;
                n = 1;
        } else if (s && s->n_only_use) {
                for (size_t i = 0; i < s->n_only_use; i++) {
                        size_t k = 0;
                        if ((r = hw_disks_match(s->only_use[i], in->disks, in->n_disks, idx + n, &k,
                                                err)) < 0)
                                return r;
                        if (k == 0)
                                return err_set(err, -ENODEV, "'%s' matches no disk",
                                               s->only_use[i]);
                        n += k;
                        if (n >= in->n_disks)
                                break;
                }
        } else {
                /* No choice made: a candidate must be unmistakable. USB sticks and card
                 * readers (removable) are not candidates unless named. */
                for (size_t i = 0; i < in->n_disks; i++)
                        if (hw_disk_usable(&in->disks[i]) && !in->disks[i].removable)
                                idx[n++] = i;
        }
        for (size_t i = 0; i < n; i++) {
                const struct hw_disk *d = &in->disks[idx[i]];
                if (d->install_medium)
                        return err_set(err, -EBUSY,
                                       "%s holds the install medium: it is never "
                                       "installed on",
                                       d->path);
                if (d->in_use)
                        return err_set(err, -EBUSY,
                                       "%s is in use (a mounted filesystem or active swap)",
                                       d->path);
                if (len < sizeof(list))
                        len += (size_t) snprintf(list + len, sizeof(list) - len, "%s%s",
                                                 i ? ", " : "", d->name);
        }
        if (n == 0)
                return err_set(err, -ENODEV,
                               "no disk to install on (the install medium, disks "
                               "in use and removable ones are left out)");
        if (n > 1)
                return err_set(err, -ENOTUNIQ,
                               "%zu disks could take the install (%s): choose one with "
                               "'ignoredisk --only-use=DISK'",
                               n, list);
        *ret = idx[0];
        return 0;
}

/* Whether the answer lets the install wipe d, which holds something. */
static int check_wipe(const struct answer *a, const struct hw_disk *d, const char *holds,
                      struct err *err)
{
        const struct answer_storage *s = a ? &a->storage : NULL;
        bool listed = s && s->n_clear_drives == 0;

        for (size_t i = 0; s && i < s->n_clear_drives && !listed; i++) {
                size_t idx[1], n = 0;
                listed = hw_disks_match(s->clear_drives[i], d, 1, idx, &n, NULL) == 0 && n == 1;
        }
        if (s && (s->overwrite || s->zerombr || (s->clear == ANSWER_CLEAR_ALL && listed)))
                return 0;
        if (s && s->clear == ANSWER_CLEAR_LINUX && listed) {
                static const char *const linux_types[] = {
                        "ext2", "ext3", "ext4", "xfs", "swap", "LVM2_member", "linux_raid_member",
                        "vfat"
                };
                for (size_t i = 0; i < d->n_parts; i++) {
                        const char *t = d->parts[i].content.type;
                        bool ok = !t[0];
                        for (size_t k = 0; k < sizeof(linux_types) / sizeof(*linux_types); k++)
                                ok = ok || strcmp(t, linux_types[k]) == 0;
                        if (!ok)
                                return err_set(err, -EPERM,
                                               "%s holds %s; 'clearpart --linux' does not allow "
                                               "wiping '%s': use 'clearpart --all'",
                                               d->path, holds, t);
                }
                return 0;
        }
        return err_set(err, -EPERM,
                       "%s holds %s: it is wiped only when the answer says so ('clearpart --all "
                       "--initlabel --drives=%s', or 'zerombr')",
                       d->path, holds, d->name);
}

/* ---- the default layout ---- */

static int add_note(struct storage_plan *p, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static int add_note(struct storage_plan *p, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_vaddf(&p->notes, &p->n_notes, fmt, ap);
        va_end(ap);
        return r;
}

static struct storage_part *add_part(struct storage_disk *d, uint64_t start, uint64_t size,
                                     enum storage_ptype type, const char *fs, const char *mount)
{
        struct storage_part *p = &d->parts[d->n_parts];

        *p = (struct storage_part){
                .number = (unsigned) d->n_parts + 1, .start = start, .size = size, .type = type
        };
        (void) snprintf(p->fstype, sizeof(p->fstype), "%s", fs ? fs : "");
        (void) snprintf(p->mount, sizeof(p->mount), "%s", mount ? mount : "");
        d->n_parts++;
        return p;
}

static void add_lv(struct storage_vg *vg, const char *name, uint64_t size, const char *fs,
                   const char *mount)
{
        struct storage_lv *l = &vg->lvs[vg->n_lvs++];

        *l = (struct storage_lv){ .size = size };
        (void) snprintf(l->name, sizeof(l->name), "%s", name);
        (void) snprintf(l->fstype, sizeof(l->fstype), "%s", fs ? fs : "");
        (void) snprintf(l->mount, sizeof(l->mount), "%s", mount ? mount : "");
}

static int default_layout(const struct storage_input *in, const struct hw_disk *hd,
                          struct storage_plan *p, struct err *err)
{
        const struct answer_storage *s = in->answer ? &in->answer->storage : NULL;
        enum answer_autopart type = s && s->autopart ? s->autopart : ANSWER_AUTOPART_THINP;
        const char *fs = s && s->autopart_fstype ? s->autopart_fstype : "ext4";
        struct storage_disk *d = &p->disks[0];
        uint64_t disk = hd->size, use, start, esp, os, vg, swap, root, rest, reserve, minfree;
        uint64_t hdgb, maxroot, data = 0, meta = 0;
        char a[32], b[32];
        bool biosboot = hd->logical_sector != 4096,
             rest_to_root = s && s->rest && strcmp(s->rest, "root") == 0;

        if (s && s->noswap && s->swapsize != ANSWER_UNSET && s->swapsize)
                return err_set(err, -EINVAL, "--noswap and --swapsize contradict each other");
        use = s ? mib_or(s->hdsize, disk) : disk;
        if (use > disk)
                return err_set(err, -ENOSPC, "--hdsize=%s is larger than %s (%s)",
                               units_format_bytes(use, a, sizeof(a)), hd->path,
                               units_format_bytes(disk, b, sizeof(b)));
        if (use < STORAGE_MIN_DISK)
                return err_set(err, -ENOSPC, "%s (%s) is too small: kvmforge needs %s", hd->path,
                               units_format_bytes(use, a, sizeof(a)),
                               units_format_bytes(STORAGE_MIN_DISK, b, sizeof(b)));
        /* GPT keeps a backup copy in the last 33 sectors: the last MiB stays out. */
        use = align_down(use < disk - MiB ? use : disk - MiB, MiB);
        esp = disk > 100 * GiB ? GiB : 512 * MiB; /* decided on the whole disk, as Proxmox */
        start = MiB;
        if (biosboot) {
                add_part(d, start, MiB, STORAGE_PT_BIOSBOOT, NULL, NULL);
                start += MiB;
        }
        add_part(d, start, esp, STORAGE_PT_ESP, "vfat", "/boot/efi");
        start += esp;
        os = use - start;
        hdgb = os / GiB;

        if (type == ANSWER_AUTOPART_PLAIN) {
                swap = s && s->noswap ? 0
                                      : mib_or(s ? s->swapsize : ANSWER_UNSET,
                                               storage_swap_size(in->ram, os));
                if (swap) {
                        add_part(d, start, swap, STORAGE_PT_SWAP, "swap", NULL);
                        start += swap;
                }
                add_part(d, start, use - start, STORAGE_PT_LINUX, fs, "/");
                return 0;
        }
        add_part(d, start, os, STORAGE_PT_LVM, NULL, NULL);
        (void) snprintf(d->parts[d->n_parts - 1].vg, sizeof(d->parts[0].vg), "%s", STORAGE_VG);
        (void) snprintf(p->vg.name, sizeof(p->vg.name), "%s", STORAGE_VG);
        vg = align_down(os - MiB, PE); /* the PV's metadata area comes first */
        p->vg.size = vg;

        swap = s && s->noswap ? 0
                              : align_down(mib_or(s ? s->swapsize : ANSWER_UNSET,
                                                  storage_swap_size(in->ram, os)),
                                           PE);
        if (swap > use / 2)
                return err_set(err, -EINVAL, "--swapsize=%s is more than half of the %s used",
                               units_format_bytes(swap, a, sizeof(a)),
                               units_format_bytes(use, b, sizeof(b)));
        reserve = hdgb <= 32 ? 4 * MiB : hdgb > 128 ? 16 * GiB : align_down(hdgb * GiB / 8, PE);
        maxroot = s ? mib_or(s->maxroot, 96 * GiB) : 96 * GiB;
        rest = vg - swap;
        root = rest < 12 * GiB ? rest - 4 * MiB : rest < 48 * GiB ? rest / 2 : rest / 4 + 12 * GiB;
        if (root > maxroot)
                root = maxroot;
        root = align_down(root, PE);
        minfree = s ? mib_or(s->minfree, reserve) : reserve;
        if (root + minfree > rest)
                return err_set(err, -ENOSPC,
                               "the reserve (--minfree=%s) does not fit beside root and swap",
                               units_format_bytes(minfree, a, sizeof(a)));
        rest = align_down(rest - root - minfree, PE);
        if (rest_to_root || type == ANSWER_AUTOPART_LVM) {
                root += rest;
                rest = 0;
        } else {
                data = s ? (s->maxvz != ANSWER_UNSET && s->maxvz * MiB < rest ? s->maxvz * MiB
                                                                              : rest)
                         : rest;
                if (data > 4 * GiB) {
                        meta = align_down(data / 100, PE);
                        meta = meta < GiB ? GiB : meta > 16 * GiB ? 16 * GiB : meta;
                        /* The pool's metadata and LVM's spare of it, and one extent. */
                        data = align_down(data - 2 * meta - PE, PE);
                } else {
                        data = 0;
                }
        }
        if (swap)
                add_lv(&p->vg, "swap", swap, "swap", NULL);
        add_lv(&p->vg, "root", root, fs, "/");
        if (data) {
                add_lv(&p->vg, "data", data, NULL, NULL);
                p->vg.lvs[p->vg.n_lvs - 1].thinpool = true;
                p->vg.lvs[p->vg.n_lvs - 1].metadata = meta;
        }
        p->vg.free = vg - swap - root - (data ? data + 2 * meta : 0);
        if (!data && !rest_to_root && type == ANSWER_AUTOPART_THINP)
                return add_note(p,
                                "no thin pool for guests (%s); %s stays free in VG %s; "
                                "'autopart --rest=root' gives it to root",
                                s && s->maxvz != ANSWER_UNSET ? "--maxvz" : "too little space",
                                units_format_bytes(p->vg.free, a, sizeof(a)), STORAGE_VG);
        return add_note(p, "%s stays free in VG %s: the reserve for LVM snapshots%s",
                        units_format_bytes(p->vg.free, a, sizeof(a)), STORAGE_VG,
                        s && s->minfree != ANSWER_UNSET ? " (--minfree)" : "");
}

static int init_disk(struct storage_disk *d, const struct hw_disk *hd, const struct answer *a,
                     struct err *err)
{
        int r;

        (void) snprintf(d->name, sizeof(d->name), "%s", hd->name);
        (void) snprintf(d->path, sizeof(d->path), "%s", hd->path);
        if (hd->n_ids)
                (void) snprintf(d->id, sizeof(d->id), "%s", hd->ids[0]);
        d->size = hd->size;
        d->sector = hd->logical_sector ? hd->logical_sector : 512;
        if (!blank(hd)) {
                storage_disk_words(hd, d->holds, sizeof(d->holds));
                if ((r = check_wipe(a, hd, d->holds, err)) < 0)
                        return r;
        }
        d->wipe = true;
        return 0;
}

/* ---- a layout of the answer's own: part, volgroup, logvol ---- */

static enum storage_ptype part_type(const struct answer_part *q)
{
        const char *fs = q->fstype ? q->fstype : "";

        if (!strcmp(q->name, "biosboot") || !strcmp(fs, "biosboot"))
                return STORAGE_PT_BIOSBOOT;
        if (!strcmp(q->name, "/boot/efi") || !strcmp(fs, "efi"))
                return STORAGE_PT_ESP;
        if (!strncmp(q->name, "pv.", 3) || !strcmp(fs, "lvmpv"))
                return STORAGE_PT_LVM;
        if (!strncmp(q->name, "raid.", 5) || !strcmp(fs, "raid"))
                return STORAGE_PT_RAID;
        if (!strcmp(q->name, "swap") || !strcmp(fs, "swap"))
                return STORAGE_PT_SWAP;
        return STORAGE_PT_LINUX;
}

/* Sizes for items that have a base size and may grow into what is left, as Anaconda grows
 * them: in proportion to their base, each capped by its maximum (0: none). Returns what stays
 * unused. */
static uint64_t grow(uint64_t room, const uint64_t *base, const bool *grows, const uint64_t *max,
                     uint64_t *size, size_t n, uint64_t align)
{
        uint64_t weight = 0, used = 0;

        for (size_t i = 0; i < n; i++) {
                size[i] = base[i];
                used += base[i];
                if (grows[i])
                        weight += base[i] ? base[i] : align;
        }
        room = room > used ? room - used : 0;
        for (size_t i = 0; i < n && weight; i++) {
                if (!grows[i])
                        continue;
                /* 128-bit: room * weight of 16 TiB each would overflow 64 bits. */
                uint64_t more = (uint64_t) ((unsigned __int128) room * (base[i] ? base[i] : align) /
                                            weight);
                size[i] = align_down(base[i] + more, align);
                if (max[i] && size[i] > max[i])
                        size[i] = max[i];
        }
        used = 0;
        for (size_t i = 0; i < n; i++)
                used += size[i];
        return used;
}

static int custom_disks(const struct storage_input *in, struct storage_plan *p, size_t *disk_of,
                        struct err *err)
{
        const struct answer_storage *s = &in->answer->storage;
        _cleanup_free_ size_t *idx = calloc(in->n_disks + 1, sizeof(*idx));
        size_t used[64], n_used = 0, fallback = SIZE_MAX;
        int r;

        if (!idx)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_parts; i++) {
                size_t n = 0, d;
                if (s->parts[i].ondisk) {
                        if ((r = hw_disks_match(s->parts[i].ondisk, in->disks, in->n_disks, idx, &n,
                                                err)) < 0)
                                return r;
                        if (n != 1)
                                return err_set(err, -ENOTUNIQ,
                                               "'part %s --ondisk=%s' matches %zu disks where one "
                                               "is meant",
                                               s->parts[i].name, s->parts[i].ondisk, n);
                        d = idx[0];
                        if (!hw_disk_usable(&in->disks[d]))
                                return err_set(err, -EBUSY,
                                               "'part %s' is on %s, which is the install medium "
                                               "or in use",
                                               s->parts[i].name, in->disks[d].path);
                } else {
                        if (fallback == SIZE_MAX && (r = choose_disk(in, &fallback, err)) < 0)
                                return err_prefix(err, r, "'part %s' has no --ondisk",
                                                  s->parts[i].name);
                        d = fallback;
                }
                size_t k = 0;
                while (k < n_used && used[k] != d)
                        k++;
                if (k == n_used) {
                        if (n_used == sizeof(used) / sizeof(used[0]))
                                return err_set(err, -E2BIG, "too many disks");
                        used[n_used++] = d;
                }
                disk_of[i] = k;
        }
        if (!(p->disks = calloc(n_used ? n_used : 1, sizeof(*p->disks))))
                return -ENOMEM;
        p->n_disks = n_used;
        for (size_t k = 0; k < n_used; k++)
                if ((r = init_disk(&p->disks[k], &in->disks[used[k]], in->answer, err)) < 0)
                        return r;
        return 0;
}

static int custom_parts(const struct storage_input *in, struct storage_plan *p,
                        const size_t *disk_of, struct err *err)
{
        const struct answer_storage *s = &in->answer->storage;
        bool has_esp = false;
        char a[32], b[32];

        for (size_t i = 0; i < s->n_parts; i++)
                has_esp = has_esp || part_type(&s->parts[i]) == STORAGE_PT_ESP;
        for (size_t k = 0; k < p->n_disks; k++) {
                struct storage_disk *d = &p->disks[k];
                uint64_t start = MiB, end = align_down(d->size - MiB, MiB), base[32], max[32],
                         size[32], total;
                bool grows[32];
                size_t mine[32], n = 0;

                /* reqpart: the platform's partitions, on the first disk and on every disk
                 * with a RAID member, so that either disk of a mirror boots alone. The first
                 * ESP is /boot/efi; the bootloader keeps the others in step. */
                bool raid_member = false;
                for (size_t i = 0; i < s->n_parts; i++)
                        raid_member = raid_member || (disk_of[i] == k &&
                                                      part_type(&s->parts[i]) == STORAGE_PT_RAID);
                if ((k == 0 || raid_member) && s->reqpart) {
                        if (d->sector != 4096) {
                                add_part(d, start, MiB, STORAGE_PT_BIOSBOOT, NULL, NULL);
                                start += MiB;
                        }
                        if (!has_esp) {
                                uint64_t esp = d->size > 100 * GiB ? GiB : 512 * MiB;
                                add_part(d, start, esp, STORAGE_PT_ESP, "vfat",
                                         k == 0 ? "/boot/efi" : NULL);
                                start += esp;
                        }
                }
                for (size_t i = 0; i < s->n_parts; i++) {
                        const struct answer_part *q = &s->parts[i];
                        if (disk_of[i] != k)
                                continue;
                        if (n == 32 || d->n_parts + n >= STORAGE_MAX_PARTS)
                                return err_set(err, -E2BIG, "too many partitions on %s", d->path);
                        mine[n] = i;
                        base[n] = q->recommended ? storage_swap_size(in->ram, end - start)
                                  : q->size != ANSWER_UNSET ? q->size * MiB
                                                            : 0;
                        base[n] = base[n] < MiB && !q->grow ? MiB : align_down(base[n], MiB);
                        grows[n] = q->grow;
                        max[n] = q->maxsize != ANSWER_UNSET ? q->maxsize * MiB : 0;
                        n++;
                }
                total = 0;
                for (size_t i = 0; i < n; i++)
                        total += base[i];
                if (start + total > end)
                        return err_set(err, -ENOSPC, "the partitions on %s need %s; it has %s",
                                       d->path, units_format_bytes(start + total, a, sizeof(a)),
                                       units_format_bytes(d->size, b, sizeof(b)));
                (void) grow(end - start, base, grows, max, size, n, MiB);
                for (size_t i = 0; i < n; i++) {
                        const struct answer_part *q = &s->parts[mine[i]];
                        enum storage_ptype t = part_type(q);
                        const char *fs = q->fstype && strcmp(q->fstype, "lvmpv") &&
                                                         strcmp(q->fstype, "raid") &&
                                                         strcmp(q->fstype, "biosboot")
                                                 ? (strcmp(q->fstype, "efi") ? q->fstype : "vfat")
                                         : t == STORAGE_PT_LINUX ? "ext4"
                                         : t == STORAGE_PT_ESP   ? "vfat"
                                         : t == STORAGE_PT_SWAP  ? "swap"
                                                                 : NULL;
                        struct storage_part *sp = add_part(d, start, size[i], t, fs,
                                                           q->name[0] == '/' ? q->name : NULL);
                        start += size[i];
                        (void) snprintf(sp->name, sizeof(sp->name), "%s", q->name);
                        for (size_t v = 0; v < s->n_vgs; v++)
                                for (size_t j = 0; j < s->vgs[v].n_pvs; j++)
                                        if (!strcmp(s->vgs[v].pvs[j], q->name))
                                                (void) snprintf(sp->vg, sizeof(sp->vg), "%s",
                                                                s->vgs[v].name);
                }
                if (end > start + 64 * MiB)
                        (void) add_note(p, "%s stays unpartitioned at the end of %s",
                                        units_format_bytes(end - start, a, sizeof(a)), d->path);
        }
        return 0;
}

/* md arrays over the RAID member partitions, found by the answer's names for them. */
static int custom_mds(const struct storage_input *in, struct storage_plan *p, struct err *err)
{
        const struct answer_storage *s = &in->answer->storage;

        for (size_t i = 0; i < s->n_raids; i++) {
                const struct answer_raid *ar = &s->raids[i];
                struct storage_md *md = &p->mds[p->n_mds++];
                uint64_t smallest = UINT64_MAX;

                *md = (struct storage_md){ .level = (unsigned) ar->level };
                if (ar->level != 1)
                        return err_set(err, -EOPNOTSUPP,
                                       "RAID%" PRIu64 " '%s': kvmforge makes RAID1 arrays only "
                                       "(boot redundancy over two disks)",
                                       ar->level, ar->device);
                (void) snprintf(md->device, sizeof(md->device), "%s",
                                strncmp(ar->device, "/dev/", 5) ? ar->device : ar->device + 5);
                for (size_t m = 0; m < ar->n_members; m++) {
                        bool found = false;
                        if (md->n_members == sizeof(md->members) / sizeof(md->members[0]))
                                return err_set(err, -E2BIG, "too many members in %s", md->device);
                        for (size_t k = 0; k < p->n_disks && !found; k++)
                                for (size_t j = 0; j < p->disks[k].n_parts && !found; j++) {
                                        struct storage_part *q = &p->disks[k].parts[j];
                                        if (q->type != STORAGE_PT_RAID ||
                                            strcmp(q->name, ar->members[m]) != 0)
                                                continue;
                                        md->members[md->n_members].disk = k;
                                        md->members[md->n_members++].number = q->number;
                                        if (q->size < smallest)
                                                smallest = q->size;
                                        found = true;
                                }
                        if (!found)
                                return err_set(err, -EINVAL, "RAID member '%s' is no partition",
                                               ar->members[m]);
                }
                /* md keeps its superblock, bitmap and a headroom of up to 1/1024 of the
                 * member before the data (mdadm's 1.2 layout): counted generously. */
                uint64_t reserve = 16 * MiB + smallest / 1024;
                md->size = smallest > reserve ? align_down(smallest - reserve, MiB) : 0;
                if (!strncmp(ar->mount, "pv.", 3)) {
                        for (size_t v = 0; v < s->n_vgs; v++)
                                for (size_t j = 0; j < s->vgs[v].n_pvs; j++)
                                        if (!strcmp(s->vgs[v].pvs[j], ar->mount) ||
                                            !strcmp(s->vgs[v].pvs[j], ar->device))
                                                (void) snprintf(md->vg, sizeof(md->vg), "%s",
                                                                s->vgs[v].name);
                } else {
                        (void) snprintf(md->fstype, sizeof(md->fstype), "%s",
                                        ar->fstype                   ? ar->fstype
                                        : !strcmp(ar->mount, "swap") ? "swap"
                                                                     : "ext4");
                        if (ar->mount[0] == '/')
                                (void) snprintf(md->mount, sizeof(md->mount), "%s", ar->mount);
                }
        }
        return 0;
}

static int custom_lvs(const struct storage_input *in, struct storage_plan *p, struct err *err)
{
        const struct answer_storage *s = &in->answer->storage;
        const struct answer_volgroup *v = &s->vgs[0];
        uint64_t vg = 0, base[STORAGE_MAX_LVS], max[STORAGE_MAX_LVS], size[STORAGE_MAX_LVS];
        uint64_t meta[STORAGE_MAX_LVS], fixed = 0, used;
        bool grows[STORAGE_MAX_LVS];
        const struct answer_logvol *lv[STORAGE_MAX_LVS];
        size_t n = 0;
        char a[32], b[32];

        (void) snprintf(p->vg.name, sizeof(p->vg.name), "%s", v->name);
        for (size_t k = 0; k < p->n_disks; k++)
                for (size_t i = 0; i < p->disks[k].n_parts; i++)
                        if (!strcmp(p->disks[k].parts[i].vg, v->name))
                                vg += align_down(p->disks[k].parts[i].size - MiB, PE);
        for (size_t i = 0; i < p->n_mds; i++)
                if (!strcmp(p->mds[i].vg, v->name) && p->mds[i].size > MiB)
                        vg += align_down(p->mds[i].size - MiB, PE);
        p->vg.size = vg;
        for (size_t i = 0; i < s->n_lvs; i++) {
                const struct answer_logvol *l = &s->lvs[i];
                if (strcmp(l->vgname, v->name) != 0 || l->thin)
                        continue;
                if (n == STORAGE_MAX_LVS)
                        return err_set(err, -E2BIG, "more than %d LVs", STORAGE_MAX_LVS);
                lv[n] = l;
                base[n] = l->recommended               ? storage_swap_size(in->ram, vg)
                          : l->percent != ANSWER_UNSET ? align_down(vg / 100 * l->percent, PE)
                          : l->size != ANSWER_UNSET    ? align_down(l->size * MiB, PE)
                                                       : 0;
                if (!base[n] && !l->grow)
                        base[n] = PE;
                grows[n] = l->grow;
                max[n] = l->maxsize != ANSWER_UNSET ? align_down(l->maxsize * MiB, PE) : 0;
                meta[n] = 0;
                if (l->thinpool) {
                        meta[n] = l->metadatasize != ANSWER_UNSET ? l->metadatasize * MiB
                                                                  : 0; /* decided below */
                }
                n++;
        }
        /* A pool's metadata (and LVM's spare) comes out of the VG first: 1% of the VG,
         * clamped to 4 MiB..16 GiB, unless the answer says. */
        for (size_t i = 0; i < n; i++)
                if (lv[i]->thinpool && !meta[i]) {
                        uint64_t m = align_down(vg / 100, PE);
                        meta[i] = m < PE ? PE : m > 16 * GiB ? 16 * GiB : m;
                }
        for (size_t i = 0; i < n; i++)
                fixed += 2 * align_down(meta[i], PE) + (meta[i] ? PE : 0);
        if (fixed > vg)
                return err_set(err, -ENOSPC, "VG %s (%s) cannot hold its thin pool's metadata",
                               v->name, units_format_bytes(vg, a, sizeof(a)));
        used = grow(vg - fixed, base, grows, max, size, n, PE);
        if (used > vg - fixed)
                return err_set(err, -ENOSPC, "the LVs of VG %s need %s; it has %s", v->name,
                               units_format_bytes(used + fixed, a, sizeof(a)),
                               units_format_bytes(vg, b, sizeof(b)));
        for (size_t i = 0; i < n; i++) {
                const struct answer_logvol *l = lv[i];
                const char *fs = l->thinpool                 ? NULL
                                 : l->fstype                 ? l->fstype
                                 : !strcmp(l->mount, "swap") ? "swap"
                                                             : "ext4";
                add_lv(&p->vg, l->name, size[i], fs, l->mount[0] == '/' ? l->mount : NULL);
                if (l->thinpool) {
                        p->vg.lvs[p->vg.n_lvs - 1].thinpool = true;
                        p->vg.lvs[p->vg.n_lvs - 1].metadata = align_down(meta[i], PE);
                }
        }
        p->vg.free = vg - used - fixed;
        /* Thin volumes: virtual sizes in their pool. */
        for (size_t i = 0; i < s->n_lvs; i++) {
                const struct answer_logvol *l = &s->lvs[i];
                if (!l->thin || strcmp(l->vgname, v->name) != 0)
                        continue;
                if (p->vg.n_lvs == STORAGE_MAX_LVS)
                        return err_set(err, -E2BIG, "more than %d LVs", STORAGE_MAX_LVS);
                add_lv(&p->vg, l->name,
                       align_down(l->size != ANSWER_UNSET ? l->size * MiB : GiB, PE),
                       l->fstype ? l->fstype : "ext4", l->mount[0] == '/' ? l->mount : NULL);
                (void) snprintf(p->vg.lvs[p->vg.n_lvs - 1].pool, sizeof(p->vg.lvs[0].pool), "%s",
                                l->poolname);
        }
        if (p->vg.free >= PE)
                (void) add_note(p, "%s stays free in VG %s",
                                units_format_bytes(p->vg.free, a, sizeof(a)), v->name);
        return 0;
}

static int custom_layout(const struct storage_input *in, struct storage_plan *p, struct err *err)
{
        const struct answer_storage *s = &in->answer->storage;
        _cleanup_free_ size_t *disk_of = calloc(s->n_parts + 1, sizeof(*disk_of));
        int r;

        if (!disk_of)
                return -ENOMEM;
        if (s->n_raids > sizeof(p->mds) / sizeof(p->mds[0]))
                return err_set(err, -E2BIG, "more than %zu RAID arrays",
                               sizeof(p->mds) / sizeof(p->mds[0]));
        if (s->n_vgs > 1)
                return err_set(err, -EOPNOTSUPP,
                               "%zu volume groups: kvmforge plans one (put every PV in it)",
                               s->n_vgs);
        if ((r = custom_disks(in, p, disk_of, err)) < 0 ||
            (r = custom_parts(in, p, disk_of, err)) < 0 || (r = custom_mds(in, p, err)) < 0)
                return r;
        if (s->n_vgs && (r = custom_lvs(in, p, err)) < 0)
                return r;
        return 0;
}

int storage_plan(const struct storage_input *in, struct storage_plan *ret, struct err *err)
{
        _cleanup_(storage_plan_release) struct storage_plan p = { 0 };
        const struct answer *a = in->answer;
        size_t idx = 0;
        int r;

        if (a && (a->storage.n_parts || a->storage.n_lvs || a->storage.n_raids)) {
                if (a->n_errors)
                        return err_set(err, -EINVAL, "the answer has errors: see check-answer");
                if ((r = custom_layout(in, &p, err)) < 0)
                        return r;
        } else {
                if ((r = choose_disk(in, &idx, err)) < 0)
                        return r;
                if (!(p.disks = calloc(1, sizeof(*p.disks))))
                        return -ENOMEM;
                p.n_disks = 1;
                if ((r = init_disk(&p.disks[0], &in->disks[idx], a, err)) < 0 ||
                    (r = default_layout(in, &in->disks[idx], &p, err)) < 0)
                        return r;
        }
        /* An older install's VG elsewhere would clash with ours: renamed, never merged. */
        for (size_t i = 0; p.vg.name[0] && i < in->n_disks; i++) {
                const struct hw_disk *o = &in->disks[i];
                bool mine = false, has = strcmp(o->content.vg, p.vg.name) == 0;
                for (size_t k = 0; k < p.n_disks; k++)
                        mine = mine || strcmp(p.disks[k].name, o->name) == 0;
                for (size_t k = 0; k < o->n_parts; k++)
                        has = has || strcmp(o->parts[k].content.vg, p.vg.name) == 0;
                if (mine || !has || p.n_renames >= sizeof(p.renames) / sizeof(p.renames[0]))
                        continue;
                struct storage_rename *rn = &p.renames[p.n_renames++];
                (void) snprintf(rn->from, sizeof(rn->from), "%s", p.vg.name);
                (void) snprintf(rn->to, sizeof(rn->to), "%.40s-old-%.16s", p.vg.name, o->name);
                if ((r = add_note(&p,
                                  "VG %s on %s (an earlier install) is renamed to %s before the "
                                  "new one is made",
                                  rn->from, o->path, rn->to)) < 0)
                        return r;
        }
        *ret = p;
        p = (struct storage_plan){ 0 };
        return 0;
}

/* ---- showing it ---- */

void storage_plan_print(const struct storage_plan *p, FILE *f)
{
        char a[32], b[32];

        for (size_t i = 0; i < p->n_disks; i++) {
                const struct storage_disk *d = &p->disks[i];
                fprintf(f, "Disk %s (%s)%s%s\n", d->path, units_format_bytes(d->size, a, sizeof(a)),
                        d->id[0] ? " " : "", d->id);
                if (d->wipe)
                        fprintf(f, "  ERASED%s%s; a new GPT partition table:\n",
                                d->holds[0] ? ", with everything on it: " : " (it is blank)",
                                d->holds);
                for (size_t k = 0; k < d->n_parts; k++) {
                        const struct storage_part *q = &d->parts[k];
                        fprintf(f, "  %2u  %10s at %-10s %-17s %-5s %s%s%s\n", q->number,
                                units_format_bytes(q->size, a, sizeof(a)),
                                units_format_bytes(q->start, b, sizeof(b)),
                                storage_ptype_names[q->type], q->fstype, q->mount,
                                q->vg[0] ? "VG " : "", q->vg);
                }
        }
        for (size_t i = 0; i < p->n_mds; i++) {
                const struct storage_md *md = &p->mds[i];
                fprintf(f, "RAID%u /dev/%s (%s) over", md->level, md->device,
                        units_format_bytes(md->size, a, sizeof(a)));
                for (size_t m = 0; m < md->n_members; m++)
                        fprintf(f, " %s partition %u", p->disks[md->members[m].disk].path,
                                md->members[m].number);
                if (md->vg[0])
                        fprintf(f, ": a PV of VG %s\n", md->vg);
                else
                        fprintf(f, ": %s %s\n", md->fstype, md->mount);
        }
        if (p->vg.name[0]) {
                fprintf(f, "Volume group %s (%s)\n", p->vg.name,
                        units_format_bytes(p->vg.size, a, sizeof(a)));
                for (size_t i = 0; i < p->vg.n_lvs; i++) {
                        const struct storage_lv *l = &p->vg.lvs[i];
                        fprintf(f, "  %-6s %10s  ", l->name,
                                units_format_bytes(l->size, a, sizeof(a)));
                        if (l->thinpool)
                                fprintf(f, "thin pool for guests (metadata %s, and its spare)\n",
                                        units_format_bytes(l->metadata, b, sizeof(b)));
                        else if (l->pool[0])
                                fprintf(f, "%-5s %s (a thin volume in pool %s)\n", l->fstype,
                                        l->mount, l->pool);
                        else
                                fprintf(f, "%-5s %s\n", l->fstype, l->mount);
                }
                fprintf(f, "  %-6s %10s  unallocated\n", "free",
                        units_format_bytes(p->vg.free, a, sizeof(a)));
        }
        for (size_t i = 0; i < p->n_notes; i++)
                fprintf(f, "Note: %s\n", p->notes[i]);
}

void storage_plan_json(const struct storage_plan *p, struct json *j)
{
        json_begin_object(j, NULL);
        json_begin_array(j, "disks");
        for (size_t i = 0; i < p->n_disks; i++) {
                const struct storage_disk *d = &p->disks[i];
                json_begin_object(j, NULL);
                json_string(j, "name", d->name);
                json_string(j, "path", d->path);
                json_string_or_null(j, "id", d->id[0] ? d->id : NULL);
                json_u64(j, "size", d->size);
                json_bool(j, "wipe", d->wipe);
                json_string_or_null(j, "holds", d->holds[0] ? d->holds : NULL);
                json_string(j, "label", "gpt");
                json_begin_array(j, "partitions");
                for (size_t k = 0; k < d->n_parts; k++) {
                        const struct storage_part *q = &d->parts[k];
                        json_begin_object(j, NULL);
                        json_u64(j, "number", q->number);
                        json_u64(j, "start", q->start);
                        json_u64(j, "size", q->size);
                        json_string(j, "type", storage_ptype_names[q->type]);
                        json_string_or_null(j, "fstype", q->fstype[0] ? q->fstype : NULL);
                        json_string_or_null(j, "mount", q->mount[0] ? q->mount : NULL);
                        json_string_or_null(j, "vg", q->vg[0] ? q->vg : NULL);
                        json_end_object(j);
                }
                json_end_array(j);
                json_end_object(j);
        }
        json_end_array(j);
        json_begin_array(j, "raids");
        for (size_t i = 0; i < p->n_mds; i++) {
                const struct storage_md *md = &p->mds[i];
                json_begin_object(j, NULL);
                json_string(j, "device", md->device);
                json_u64(j, "level", md->level);
                json_u64(j, "size", md->size);
                json_begin_array(j, "members");
                for (size_t m = 0; m < md->n_members; m++) {
                        char path[96];
                        (void) snprintf(path, sizeof(path), "%s#%u",
                                        p->disks[md->members[m].disk].path, md->members[m].number);
                        json_string(j, NULL, path);
                }
                json_end_array(j);
                json_string_or_null(j, "fstype", md->fstype[0] ? md->fstype : NULL);
                json_string_or_null(j, "mount", md->mount[0] ? md->mount : NULL);
                json_string_or_null(j, "vg", md->vg[0] ? md->vg : NULL);
                json_end_object(j);
        }
        json_end_array(j);
        if (p->vg.name[0]) {
                json_begin_object(j, "vg");
                json_string(j, "name", p->vg.name);
                json_u64(j, "size", p->vg.size);
                json_u64(j, "free", p->vg.free);
                json_begin_array(j, "lvs");
                for (size_t i = 0; i < p->vg.n_lvs; i++) {
                        const struct storage_lv *l = &p->vg.lvs[i];
                        json_begin_object(j, NULL);
                        json_string(j, "name", l->name);
                        json_u64(j, "size", l->size);
                        json_bool(j, "thinpool", l->thinpool);
                        json_string_or_null(j, "pool", l->pool[0] ? l->pool : NULL);
                        if (l->thinpool)
                                json_u64(j, "metadata", l->metadata);
                        json_string_or_null(j, "fstype", l->fstype[0] ? l->fstype : NULL);
                        json_string_or_null(j, "mount", l->mount[0] ? l->mount : NULL);
                        json_end_object(j);
                }
                json_end_array(j);
                json_end_object(j);
        } else {
                json_null(j, "vg");
        }
        json_begin_array(j, "notes");
        for (size_t i = 0; i < p->n_notes; i++)
                json_string(j, NULL, p->notes[i]);
        json_end_array(j);
        json_end_object(j);
}
