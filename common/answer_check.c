/* The checks of an answer that need the whole file (references between storage commands,
 * sizes that cannot fit, addresses, passwords, names) and those that need the machine (disk
 * and NIC selectors, the CPU). They run before anything is touched, in check-answer and in the
 * installer alike. */
#include "answer.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "hw.h"
#include "strv.h"

int answer_structure_check(struct answer *a);

#define TRY(expr)                  \
        do {                       \
                int r_ = (expr);   \
                if (r_ < 0)        \
                        return r_; \
        } while (0)

/* ---- storage ---- */

static bool is_pv(const char *name)
{
        return strncmp(name, "pv.", 3) == 0;
}

static bool is_raid_member(const char *name)
{
        return strncmp(name, "raid.", 5) == 0;
}

static const struct answer_part *find_part(const struct answer_storage *s, const char *name)
{
        for (size_t i = 0; i < s->n_parts; i++)
                if (strcmp(s->parts[i].name, name) == 0)
                        return &s->parts[i];
        return NULL;
}

static const struct answer_raid *find_raid(const struct answer_storage *s, const char *name)
{
        for (size_t i = 0; i < s->n_raids; i++)
                if (strcmp(s->raids[i].mount, name) == 0 || strcmp(s->raids[i].device, name) == 0)
                        return &s->raids[i];
        return NULL;
}

static const struct answer_volgroup *find_vg(const struct answer_storage *s, const char *name)
{
        for (size_t i = 0; i < s->n_vgs; i++)
                if (strcmp(s->vgs[i].name, name) == 0)
                        return &s->vgs[i];
        return NULL;
}

/* "did you mean" over the names a list of elements defines. */
#define CLOSEST(word, arr, n, field)                           \
        ({                                                     \
                const char *names_[64];                        \
                size_t k_ = 0;                                 \
                for (size_t i_ = 0; i_ < (n) && k_ < 64; i_++) \
                        names_[k_++] = (arr)[i_].field;        \
                strv_closest((word), names_, k_);              \
        })

/* Where the custom layout starts, for messages about it as a whole. */
static struct answer_at layout_at(const struct answer_storage *s)
{
        return s->n_parts   ? s->parts[0].at
               : s->n_lvs   ? s->lvs[0].at
               : s->n_vgs   ? s->vgs[0].at
               : s->n_raids ? s->raids[0].at
                            : (struct answer_at){ 0 };
}

struct mount_use {
        const char *mount;
        struct answer_at at;
};

static int at_order(const void *x, const void *y)
{
        const struct answer_at *a = &((const struct mount_use *) x)->at,
                               *b = &((const struct mount_use *) y)->at;
        if (a->file != b->file)
                return a->file < b->file ? -1 : 1;
        return a->line < b->line ? -1 : a->line > b->line;
}

static int check_mounts(struct answer *a)
{
        const struct answer_storage *s = &a->storage;
        size_t total = s->n_parts + s->n_lvs + s->n_raids, n = 0;
        _cleanup_free_ struct mount_use *seen = calloc(total + 1, sizeof(*seen));
        bool root = false;
        char place[320];

        if (!seen)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_parts; i++)
                seen[n++] = (struct mount_use){ s->parts[i].name, s->parts[i].at };
        for (size_t i = 0; i < s->n_lvs; i++)
                seen[n++] = (struct mount_use){ s->lvs[i].mount, s->lvs[i].at };
        for (size_t i = 0; i < s->n_raids; i++)
                seen[n++] = (struct mount_use){ s->raids[i].mount, s->raids[i].at };
        /* In the order they are written, so that "first" is the first the reader meets. */
        qsort(seen, n, sizeof(*seen), at_order);
        for (size_t i = 0; i < n; i++) {
                if (seen[i].mount[0] != '/')
                        continue;
                root = root || strcmp(seen[i].mount, "/") == 0;
                for (size_t k = 0; k < i; k++)
                        if (strcmp(seen[k].mount, seen[i].mount) == 0) {
                                TRY(answer_diag(
                                        a, ANSWER_ERROR, seen[i].at,
                                        "mount point '%s' given twice (first at %s)", seen[i].mount,
                                        answer_format_at(a, seen[k].at, place, sizeof(place))));
                                break;
                        }
        }
        /* Only when every storage line was read: a dropped "logvol /" is reported already. */
        if (!root && n > 0 && !a->dropped)
                return answer_diag(a, ANSWER_ERROR, layout_at(s),
                                   "the layout has no '/': add 'part /' or 'logvol /'");
        return 0;
}

static int check_parts(struct answer *a)
{
        const struct answer_storage *s = &a->storage;

        for (size_t i = 0; i < s->n_parts; i++) {
                const struct answer_part *p = &s->parts[i];
                const char *fs = p->fstype;
                if (p->name[0] != '/' && strcmp(p->name, "swap") != 0 && !is_pv(p->name) &&
                    !is_raid_member(p->name) && strcmp(p->name, "biosboot") != 0 &&
                    strcasecmp(p->name, "none") != 0)
                        TRY(answer_diag(a, ANSWER_ERROR, p->at,
                                        "'part %s' is neither a mount point (/boot), swap, a PV "
                                        "(pv.01), a RAID member (raid.01) nor biosboot",
                                        p->name));
                if (fs && is_pv(p->name) && strcmp(fs, "lvmpv") != 0)
                        TRY(answer_diag(a, ANSWER_ERROR, p->at,
                                        "'part %s' is a PV: its fstype is lvmpv, not '%s'", p->name,
                                        fs));
                if (fs && is_raid_member(p->name) && strcmp(fs, "raid") != 0)
                        TRY(answer_diag(a, ANSWER_ERROR, p->at,
                                        "'part %s' is a RAID member: its fstype is raid, not '%s'",
                                        p->name, fs));
                if (fs && p->name[0] == '/' &&
                    (!strcmp(fs, "swap") || !strcmp(fs, "lvmpv") || !strcmp(fs, "raid") ||
                     !strcmp(fs, "biosboot")))
                        TRY(answer_diag(a, ANSWER_ERROR, p->at,
                                        "'part %s --fstype=%s': a mount point needs a filesystem "
                                        "(ext4, xfs, vfat)",
                                        p->name, fs));
                if (p->maxsize != ANSWER_UNSET && p->size != ANSWER_UNSET && p->maxsize < p->size)
                        TRY(answer_diag(a, ANSWER_ERROR, p->at,
                                        "'part %s': --maxsize=%" PRIu64 " is below --size=%" PRIu64,
                                        p->name, p->maxsize, p->size));
                if (is_pv(p->name)) {
                        bool used = false;
                        for (size_t k = 0; k < s->n_vgs && !used; k++)
                                for (size_t j = 0; j < s->vgs[k].n_pvs; j++)
                                        used = used || strcmp(s->vgs[k].pvs[j], p->name) == 0;
                        if (!used)
                                TRY(answer_diag(a, ANSWER_WARNING, p->at,
                                                "'%s' is in no volgroup: its space stays unused",
                                                p->name));
                }
        }
        return 0;
}

static int check_vgs(struct answer *a)
{
        const struct answer_storage *s = &a->storage;
        char place[320];

        for (size_t i = 0; i < s->n_vgs; i++) {
                const struct answer_volgroup *v = &s->vgs[i];
                for (size_t k = 0; k < i; k++)
                        if (strcmp(s->vgs[k].name, v->name) == 0)
                                TRY(answer_diag(
                                        a, ANSWER_ERROR, v->at,
                                        "volume group '%s' defined twice (first at %s)", v->name,
                                        answer_format_at(a, s->vgs[k].at, place, sizeof(place))));
                for (size_t j = 0; j < v->n_pvs; j++) {
                        const char *pv = v->pvs[j];
                        if (find_part(s, pv) || find_raid(s, pv)) {
                                for (size_t k = 0; k < i; k++)
                                        for (size_t m = 0; m < s->vgs[k].n_pvs; m++)
                                                if (strcmp(s->vgs[k].pvs[m], pv) == 0)
                                                        TRY(answer_diag(
                                                                a, ANSWER_ERROR, v->at,
                                                                "'%s' is in two volume groups, "
                                                                "'%s' and '%s'",
                                                                pv, s->vgs[k].name, v->name));
                                continue;
                        }
                        const char *near = CLOSEST(pv, s->parts, s->n_parts, name);
                        if (near)
                                TRY(answer_diag(a, ANSWER_ERROR, v->at,
                                                "volgroup '%s' names PV '%s', which no 'part' "
                                                "defines; did you mean '%s'?",
                                                v->name, pv, near));
                        else
                                TRY(answer_diag(a, ANSWER_ERROR, v->at,
                                                "volgroup '%s' names PV '%s', which no 'part' "
                                                "defines: add 'part %s --fstype=lvmpv --size=...'",
                                                v->name, pv, pv));
                }
        }
        return 0;
}

/* MiB a VG surely has: the sum of its PVs' fixed sizes; *grows when one of them grows. */
static uint64_t vg_capacity(const struct answer_storage *s, const struct answer_volgroup *v,
                            bool *grows)
{
        uint64_t total = 0;

        *grows = false;
        for (size_t j = 0; j < v->n_pvs; j++) {
                const struct answer_part *p = find_part(s, v->pvs[j]);
                if (!p) {
                        /* A RAID device is sized by its members; an undefined PV is an error
                         * of its own, and the VG's size is then unknown. */
                        *grows = true;
                        continue;
                }
                if (p->grow || p->size == ANSWER_UNSET)
                        *grows = true;
                else
                        total += p->size;
        }
        return total;
}

static int check_lvs(struct answer *a)
{
        const struct answer_storage *s = &a->storage;
        char place[320];

        for (size_t i = 0; i < s->n_lvs; i++) {
                const struct answer_logvol *l = &s->lvs[i];
                const struct answer_volgroup *v = find_vg(s, l->vgname);
                if (!v) {
                        const char *near = CLOSEST(l->vgname, s->vgs, s->n_vgs, name);
                        if (near)
                                TRY(answer_diag(a, ANSWER_ERROR, l->at,
                                                "'logvol %s' is in VG '%s', which no 'volgroup' "
                                                "defines; did you mean '%s'?",
                                                l->mount, l->vgname, near));
                        else
                                TRY(answer_diag(a, ANSWER_ERROR, l->at,
                                                "'logvol %s' is in VG '%s', which no 'volgroup' "
                                                "defines: add 'volgroup %s pv.01'",
                                                l->mount, l->vgname, l->vgname));
                }
                for (size_t k = 0; k < i; k++)
                        if (strcmp(s->lvs[k].vgname, l->vgname) == 0 &&
                            strcmp(s->lvs[k].name, l->name) == 0)
                                TRY(answer_diag(
                                        a, ANSWER_ERROR, l->at,
                                        "LV '%s/%s' defined twice (first at %s)", l->vgname,
                                        l->name,
                                        answer_format_at(a, s->lvs[k].at, place, sizeof(place))));
                if (l->thinpool && strcasecmp(l->mount, "none") != 0)
                        TRY(answer_diag(a, ANSWER_ERROR, l->at,
                                        "thin pool '%s' holds no filesystem: write 'logvol none "
                                        "--thinpool ...' and mount the thin volumes in it",
                                        l->name));
                if (l->thin) {
                        const struct answer_logvol *pool = NULL;
                        for (size_t k = 0; k < s->n_lvs; k++)
                                if (s->lvs[k].thinpool &&
                                    strcmp(s->lvs[k].name, l->poolname) == 0 &&
                                    strcmp(s->lvs[k].vgname, l->vgname) == 0)
                                        pool = &s->lvs[k];
                        if (!pool) {
                                const char *pools[64];
                                size_t np = 0;
                                for (size_t k = 0; k < s->n_lvs && np < 64; k++)
                                        if (s->lvs[k].thinpool &&
                                            strcmp(s->lvs[k].vgname, l->vgname) == 0)
                                                pools[np++] = s->lvs[k].name;
                                const char *near =
                                        np == 1 ? pools[0] : strv_closest(l->poolname, pools, np);
                                if (near)
                                        TRY(answer_diag(a, ANSWER_ERROR, l->at,
                                                        "'logvol %s --thin' is in pool '%s', "
                                                        "which is no '--thinpool' LV of VG "
                                                        "'%s'; did you mean '%s'?",
                                                        l->mount, l->poolname, l->vgname, near));
                                else
                                        TRY(answer_diag(a, ANSWER_ERROR, l->at,
                                                        "'logvol %s --thin' is in pool '%s', "
                                                        "which is no '--thinpool' LV of VG "
                                                        "'%s': add 'logvol none --vgname=%s "
                                                        "--name=%s --thinpool --grow --size=1'",
                                                        l->mount, l->poolname, l->vgname, l->vgname,
                                                        l->poolname));
                        }
                        if (strcmp(l->mount, "/") == 0)
                                TRY(answer_diag(a, ANSWER_WARNING, l->at,
                                                "'/' on a thin volume: a full pool stops the "
                                                "node itself; put / on a plain LV"));
                }
                if (l->maxsize != ANSWER_UNSET && l->size != ANSWER_UNSET && l->maxsize < l->size)
                        TRY(answer_diag(a, ANSWER_ERROR, l->at,
                                        "'logvol %s': --maxsize=%" PRIu64
                                        " is below --size=%" PRIu64,
                                        l->mount, l->maxsize, l->size));
        }
        /* What each VG must hold against what it surely has. */
        for (size_t i = 0; i < s->n_vgs; i++) {
                const struct answer_volgroup *v = &s->vgs[i];
                uint64_t need = 0, percent = 0, pool = 0, thin = 0;
                bool grows, pool_grows = false;
                uint64_t have = vg_capacity(s, v, &grows);
                for (size_t k = 0; k < s->n_lvs; k++) {
                        const struct answer_logvol *l = &s->lvs[k];
                        if (strcmp(l->vgname, v->name) != 0)
                                continue;
                        if (l->percent != ANSWER_UNSET && !l->thin)
                                percent += l->percent;
                        if (l->thin) {
                                if (l->size != ANSWER_UNSET)
                                        thin += l->size;
                                continue;
                        }
                        if (l->size != ANSWER_UNSET && l->percent == ANSWER_UNSET)
                                need += l->size;
                        if (l->thinpool) {
                                pool += l->size != ANSWER_UNSET ? l->size : 0;
                                pool_grows = pool_grows || l->grow || l->percent != ANSWER_UNSET;
                        }
                }
                if (percent > 100)
                        TRY(answer_diag(a, ANSWER_ERROR, v->at,
                                        "the LVs of VG '%s' ask for %" PRIu64 "%% of it", v->name,
                                        percent));
                if (!grows && need > have && !a->dropped)
                        TRY(answer_diag(a, ANSWER_ERROR, v->at,
                                        "the LVs of VG '%s' need %" PRIu64 " MiB but its PVs give "
                                        "%" PRIu64 " MiB: grow a PV (--grow) or shrink the LVs",
                                        v->name, need, have));
                if (pool && !pool_grows && thin > pool)
                        TRY(answer_diag(a, ANSWER_WARNING, v->at,
                                        "the thin volumes of VG '%s' (%" PRIu64 " MiB) exceed "
                                        "their pool (%" PRIu64 " MiB): writes fail once it is "
                                        "full",
                                        v->name, thin, pool));
        }
        return 0;
}

static int check_raids(struct answer *a)
{
        const struct answer_storage *s = &a->storage;

        for (size_t i = 0; i < s->n_raids; i++) {
                const struct answer_raid *d = &s->raids[i];
                size_t min = d->level == 5 ? 3 : d->level == 6 || d->level == 10 ? 4 : 2;
                if (d->n_members < min)
                        TRY(answer_diag(a, ANSWER_ERROR, d->at,
                                        "RAID%" PRIu64 " '%s' needs at least %zu members, it has "
                                        "%zu",
                                        d->level, d->device, min, d->n_members));
                for (size_t j = 0; j < d->n_members; j++) {
                        const struct answer_part *p = find_part(s, d->members[j]);
                        if (!p)
                                TRY(answer_diag(a, ANSWER_ERROR, d->at,
                                                "RAID member '%s' is no 'part' (write 'part %s "
                                                "--fstype=raid --ondisk=DISK --size=...')",
                                                d->members[j], d->members[j]));
                        else if (!is_raid_member(p->name) &&
                                 !(p->fstype && strcmp(p->fstype, "raid") == 0))
                                TRY(answer_diag(a, ANSWER_ERROR, p->at,
                                                "'part %s' is used in RAID '%s' but is no RAID "
                                                "member: name it raid.NN or add --fstype=raid",
                                                p->name, d->device));
                }
        }
        return 0;
}

static int check_storage(struct answer *a)
{
        const struct answer_storage *s = &a->storage;
        bool custom = s->n_parts || s->n_lvs || s->n_vgs || s->n_raids;

        if (custom && s->autopart)
                TRY(answer_diag(a, ANSWER_ERROR, s->autopart_at,
                                "'autopart' and part/volgroup/logvol/raid exclude each other: keep "
                                "one"));
        if (custom && s->install_at.line)
                TRY(answer_diag(a, ANSWER_ERROR, s->install_at,
                                "ESXi's 'install' makes the layout itself: drop part/volgroup/"
                                "logvol, or 'install' and use 'ignoredisk --only-use'"));
        if (s->disk && s->n_only_use)
                TRY(answer_diag(a, ANSWER_ERROR, s->install_at,
                                "'install --disk' and 'ignoredisk --only-use' both choose the "
                                "disk: keep one"));
        if (custom) {
                bool efi = false;
                for (size_t i = 0; i < s->n_parts; i++)
                        efi = efi || strcmp(s->parts[i].name, "/boot/efi") == 0;
                if (!efi && !s->reqpart && !a->dropped)
                        TRY(answer_diag(a, ANSWER_WARNING, layout_at(s),
                                        "the layout has no EFI system partition: add 'reqpart' "
                                        "(or 'part /boot/efi --fstype=efi --size=512'), or the "
                                        "node cannot boot on UEFI"));
        }
        if ((custom || s->autopart || s->install_at.line) && s->clear == ANSWER_CLEAR_UNSET &&
            !s->zerombr && !s->overwrite)
                TRY(answer_diag(a, ANSWER_NOTICE, s->install_at,
                                a->dialect == ANSWER_ESXI && s->install_at.line
                                        ? "no '--overwritevmfs': a disk that holds partitions "
                                          "or data is not wiped and the install stops there; "
                                          "add it to 'install' to allow it"
                                        : "no 'clearpart': a disk that holds partitions or data "
                                          "is not wiped and the install stops there; add "
                                          "'clearpart --all --initlabel' to allow it"));
        if (s->maxroot != ANSWER_UNSET && s->hdsize != ANSWER_UNSET && s->maxroot > s->hdsize)
                TRY(answer_diag(a, ANSWER_ERROR, s->autopart_at,
                                "'--maxroot' is larger than '--hdsize': root cannot exceed the "
                                "space given to the install"));
        if (s->noswap && s->swapsize != ANSWER_UNSET && s->swapsize > 0)
                TRY(answer_diag(a, ANSWER_ERROR, s->autopart_at,
                                "'--noswap' and '--swapsize' contradict each other: keep one"));
        if (s->autopart == ANSWER_AUTOPART_PLAIN &&
            (s->maxvz != ANSWER_UNSET || (s->rest && strcmp(s->rest, "pool") == 0)))
                TRY(answer_diag(a, ANSWER_ERROR, s->autopart_at,
                                "a plain layout has no thin pool: drop '--maxvz'/'--rest=pool' or "
                                "use '--type=thinp'"));
        TRY(check_mounts(a));
        TRY(check_parts(a));
        TRY(check_vgs(a));
        TRY(check_lvs(a));
        TRY(check_raids(a));
        return 0;
}

/* ---- network ---- */

int answer_netmask_prefix(const char *mask, unsigned *ret)
{
        struct in_addr m;
        char *end;
        unsigned long p;
        uint32_t v;

        if (isdigit((unsigned char) mask[0]) && !strchr(mask, '.')) {
                p = strtoul(mask, &end, 10);
                if (*end || p > 32)
                        return -EINVAL;
                *ret = (unsigned) p;
                return 0;
        }
        if (inet_pton(AF_INET, mask, &m) != 1)
                return -EINVAL;
        v = ntohl(m.s_addr);
        if ((~v & (~v + 1)) != 0) /* the ones must be contiguous from the top */
                return -EINVAL;
        *ret = (unsigned) __builtin_popcount(v);
        return 0;
}

static bool valid_ip(const char *s)
{
        unsigned char buf[16];
        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

bool answer_hostname_valid(const char *h)
{
        size_t len = strlen(h), label = 0;

        if (len == 0 || len > 253 || h[0] == '.' || h[len - 1] == '.')
                return false;
        for (size_t i = 0; i < len; i++) {
                if (h[i] == '.') {
                        if (label == 0 || h[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!isalnum((unsigned char) h[i]) && h[i] != '-')
                        return false;
                if (h[i] == '-' && label == 0)
                        return false;
                if (++label > 63)
                        return false;
        }
        return h[len - 1] != '-';
}

static int check_network(struct answer *a, const struct answer_network *n)
{
        struct in_addr ip, gw;
        unsigned prefix = 0;
        _cleanup_free_ char *addr = NULL;
        const char *mask = n->netmask;

        if (n->ip) {
                const char *slash = strchr(n->ip, '/');
                if (!(addr = strndup(n->ip, slash ? (size_t) (slash - n->ip) : strlen(n->ip))))
                        return -ENOMEM;
                if (slash)
                        mask = slash + 1;
                if (inet_pton(AF_INET, addr, &ip) != 1)
                        return answer_diag(a, ANSWER_ERROR, n->at,
                                           "'--ip=%s' is not an IPv4 address", n->ip);
        }
        if (mask && answer_netmask_prefix(mask, &prefix) < 0)
                return answer_diag(
                        a, ANSWER_ERROR, n->at,
                        "'%s' is neither a netmask (255.255.255.0) nor a prefix length (24)", mask);
        if (n->gateway) {
                if (inet_pton(AF_INET, n->gateway, &gw) != 1)
                        return answer_diag(a, ANSWER_ERROR, n->at,
                                           "'--gateway=%s' is not an IPv4 address", n->gateway);
                if (n->ip && mask) {
                        uint32_t m = prefix ? ~0u << (32 - prefix) : 0;
                        struct in_addr net = { htonl(ntohl(ip.s_addr) & m) };
                        char net_s[INET_ADDRSTRLEN];
                        if ((ntohl(ip.s_addr) & m) != (ntohl(gw.s_addr) & m))
                                return answer_diag(a, ANSWER_ERROR, n->at,
                                                   "gateway %s is outside %s/%u, the subnet of "
                                                   "%s: check --gateway and --netmask",
                                                   n->gateway,
                                                   inet_ntop(AF_INET, &net, net_s, sizeof(net_s)),
                                                   prefix, addr);
                        if (ip.s_addr == gw.s_addr)
                                return answer_diag(a, ANSWER_ERROR, n->at,
                                                   "the gateway %s is the node's own address",
                                                   n->gateway);
                }
        }
        for (size_t i = 0; i < n->n_nameservers; i++)
                if (!valid_ip(n->nameservers[i]))
                        TRY(answer_diag(a, ANSWER_ERROR, n->at,
                                        "'--nameserver=%s' is not an IP address",
                                        n->nameservers[i]));
        if (n->vlanid != ANSWER_UNSET && (n->vlanid < 1 || n->vlanid > 4094))
                TRY(answer_diag(a, ANSWER_ERROR, n->at,
                                "'--vlanid=%" PRIu64 "' is not between 1 and 4094", n->vlanid));
        if (n->mtu != ANSWER_UNSET && (n->mtu < 576 || n->mtu > 65535))
                TRY(answer_diag(a, ANSWER_ERROR, n->at,
                                "'--mtu=%" PRIu64 "' is not between 576 and 65535", n->mtu));
        if (n->ipv6 && strcmp(n->ipv6, "auto") != 0 && strcmp(n->ipv6, "dhcp") != 0) {
                _cleanup_free_ char *v6 = strndup(n->ipv6, strcspn(n->ipv6, "/"));
                unsigned char buf[16];
                if (!v6)
                        return -ENOMEM;
                if (inet_pton(AF_INET6, v6, buf) != 1)
                        TRY(answer_diag(a, ANSWER_ERROR, n->at,
                                        "'--ipv6=%s' is none of auto, dhcp, ADDRESS/PREFIX",
                                        n->ipv6));
        }
        if (n->n_bondslaves && !n->device)
                TRY(answer_diag(a, ANSWER_ERROR, n->at,
                                "'--bondslaves' needs '--device=bond0', the bond's name"));
        if (n->bootproto == ANSWER_STATIC && !n->gateway && !n->nodefroute)
                TRY(answer_diag(a, ANSWER_WARNING, n->at,
                                "a static address without '--gateway': the node reaches only its "
                                "own subnet"));
        return 0;
}

/* ---- accounts ---- */

static const char *const weak_passwords[] = {
        "password", "passw0rd", "changeme", "123456",   "12345678", "123456789", "qwerty",
        "letmein",  "admin",    "root",     "toor",     "vmware",   "VMware1!",  "Password1",
        "secret",   "welcome",  "proxmox",  "P@ssw0rd", "test",     "calvin",
};

bool answer_password_common(const char *pw)
{
        for (size_t i = 0; i < sizeof(weak_passwords) / sizeof(*weak_passwords); i++)
                if (strcasecmp(pw, weak_passwords[i]) == 0)
                        return true;
        return false;
}

static bool crypt_like(const char *s, bool *weak)
{
        static const char *const strong[] = { "$y$", "$gy$", "$7$", "$2b$", "$2y$", "$6$", "$5$" };

        *weak = false;
        for (size_t i = 0; i < sizeof(strong) / sizeof(*strong); i++)
                if (strncmp(s, strong[i], strlen(strong[i])) == 0)
                        return strchr(s + strlen(strong[i]), '$') != NULL;
        if (strncmp(s, "$1$", 3) == 0) {
                *weak = true;
                return strchr(s + 3, '$') != NULL;
        }
        if (strlen(s) == 13 && strspn(s, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "abcdefghijklmnopqrstuvwxyz") == 13) { /* old DES */
                *weak = true;
                return true;
        }
        return false;
}

static int check_password(struct answer *a, const struct answer_password *pw, const char *who)
{
        bool weak;

        if (!pw->set || !pw->value)
                return 0;
        if (pw->crypted) {
                if (!crypt_like(pw->value, &weak))
                        return answer_diag(a, ANSWER_ERROR, pw->at,
                                           "%s's password is marked --iscrypted but is no crypt "
                                           "hash: make one with 'mkpasswd -m yescrypt'",
                                           who);
                if (weak)
                        return answer_diag(a, ANSWER_WARNING, pw->at,
                                           "%s's password hash is MD5 or DES, which is cracked in "
                                           "minutes: use 'mkpasswd -m yescrypt'",
                                           who);
                return 0;
        }
        if (strlen(pw->value) < 8)
                TRY(answer_diag(a, ANSWER_WARNING, pw->at,
                                "%s's password is shorter than 8 characters", who));
        if (answer_password_common(pw->value))
                TRY(answer_diag(a, ANSWER_WARNING, pw->at,
                                "%s's password is one of the first that attackers try", who));
        if (a->cleartext)
                TRY(answer_diag(a, ANSWER_WARNING, pw->at,
                                "%s's password is in plain text in an answer fetched over plain "
                                "HTTP: anyone on the path can read it; use --iscrypted "
                                "('mkpasswd -m yescrypt') or https",
                                who));
        return 0;
}

static bool valid_user(const char *u)
{
        size_t n = strlen(u);

        if (n == 0 || n > 32 || !(islower((unsigned char) u[0]) || u[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!islower((unsigned char) u[i]) && !isdigit((unsigned char) u[i]) &&
                    !strchr("_-", u[i]) && !(i == n - 1 && u[i] == '$'))
                        return false;
        return true;
}

static int check_accounts(struct answer *a)
{
        char place[320];
        bool root_key = false, login = a->rootpw.set && !a->rootpw.lock;

        TRY(check_password(a, &a->rootpw, "root"));
        for (size_t i = 0; i < a->n_users; i++) {
                const struct answer_user *u = &a->users[i];
                if (!valid_user(u->name))
                        TRY(answer_diag(a, ANSWER_ERROR, u->at,
                                        "'%s' is not a user name (lower case letters, digits, _ -; "
                                        "at most 32)",
                                        u->name));
                else if (strcmp(u->name, "root") == 0)
                        TRY(answer_diag(a, ANSWER_ERROR, u->at,
                                        "'user --name=root': root exists; set its password with "
                                        "'rootpw'"));
                for (size_t k = 0; k < i; k++)
                        if (strcmp(a->users[k].name, u->name) == 0)
                                TRY(answer_diag(
                                        a, ANSWER_ERROR, u->at,
                                        "user '%s' defined twice (first at %s)", u->name,
                                        answer_format_at(a, a->users[k].at, place, sizeof(place))));
                TRY(check_password(a, &u->pw, u->name));
                login = login || (u->pw.set && !u->pw.lock);
        }
        for (size_t i = 0; i < a->n_sshkeys; i++) {
                const struct answer_sshkey *k = &a->sshkeys[i];
                bool known = strcmp(k->user, "root") == 0;
                static const char *const types[] = {
                        "ssh-ed25519 ",   "ssh-rsa ", "ecdsa-sha2-", "sk-ssh-ed25519@openssh.com ",
                        "sk-ecdsa-sha2-", "ssh-dss "
                };
                bool typed = false;
                for (size_t t = 0; t < sizeof(types) / sizeof(*types); t++)
                        typed = typed || strncmp(k->key, types[t], strlen(types[t])) == 0;
                if (!typed)
                        TRY(answer_diag(a, ANSWER_ERROR, k->at,
                                        "the key for '%s' is no OpenSSH public key (\"ssh-ed25519 "
                                        "AAAA... comment\", in quotes)",
                                        k->user));
                else if (strncmp(k->key, "ssh-dss ", 8) == 0)
                        TRY(answer_diag(a, ANSWER_WARNING, k->at,
                                        "DSA keys are refused by current OpenSSH: use ed25519"));
                for (size_t u = 0; u < a->n_users && !known; u++)
                        known = strcmp(a->users[u].name, k->user) == 0;
                if (!known)
                        TRY(answer_diag(a, ANSWER_ERROR, k->at,
                                        "sshkey for '%s', who is neither root nor a 'user': add "
                                        "'user --name=%s'",
                                        k->user, k->user));
                root_key = root_key || strcmp(k->user, "root") == 0;
                login = login || known;
        }
        if (!login && !root_key && !a->dropped)
                TRY(answer_diag(a, ANSWER_WARNING, a->rootpw.at,
                                "nobody can log in to the node: give 'rootpw', an 'sshkey "
                                "--username=root' or a 'user' with a password"));
        return 0;
}

/* ---- locale, time zone ---- */

int answer_timezone_known(const char *tz)
{
        _cleanup_free_ char *path = NULL;
        struct stat st;

        if (strstr(tz, "..") || tz[0] == '/' || tz[0] == '\0')
                return -EINVAL;
        if (stat("/usr/share/zoneinfo", &st) < 0)
                return 0; /* no tzdata here: the installer's environment has it */
        if (asprintf(&path, "/usr/share/zoneinfo/%s", tz) < 0)
                return -ENOMEM;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? 0 : -ENOENT;
}

static int check_timezone(struct answer *a)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        const char *tz = a->timezone, *slash;
        const char *names[512];
        size_t n = 0;
        struct dirent *de;
        int r;

        if (!tz)
                return 0;
        r = answer_timezone_known(tz);
        if (r == -EINVAL)
                return answer_diag(a, ANSWER_ERROR, a->timezone_at,
                                   "'%s' is not a time zone name (Europe/Berlin, UTC)", tz);
        if (r != -ENOENT)
                return r;
        slash = strrchr(tz, '/');
        if (asprintf(&dir, "/usr/share/zoneinfo/%.*s", slash ? (int) (slash - tz) : 0, tz) < 0)
                return -ENOMEM;
        if ((d = opendir(dir)))
                while ((de = readdir(d)) && n < 512)
                        if (de->d_name[0] != '.' && (names[n] = strdup(de->d_name)))
                                n++;
        {
                const char *near = strv_closest(slash ? slash + 1 : tz, names, n);
                r = near ? answer_diag(a, ANSWER_ERROR, a->timezone_at,
                                       "unknown time zone '%s'; did you mean '%.*s%s%s'?", tz,
                                       slash ? (int) (slash - tz) : 0, tz, slash ? "/" : "", near)
                         : answer_diag(a, ANSWER_ERROR, a->timezone_at,
                                       "unknown time zone '%s' (see 'timedatectl "
                                       "list-timezones')",
                                       tz);
                for (size_t i = 0; i < n; i++)
                        free((char *) names[i]);
                return r;
        }
}

static int check_locale(struct answer *a)
{
        const char *l = a->lang, *k = a->keyboard;
        size_t i = 0;

        if (l) {
                while (islower((unsigned char) l[i]))
                        i++;
                if (i < 2 || i > 3 || (l[i] && l[i] != '_' && l[i] != '.' && l[i] != '@'))
                        TRY(answer_diag(a, ANSWER_ERROR, a->lang_at,
                                        "'%s' is not a locale: write it as en_US.UTF-8", l));
                else if (!l[i])
                        TRY(answer_diag(a, ANSWER_WARNING, a->lang_at,
                                        "'lang %s' names a language, not a locale: write it as "
                                        "%s_XX.UTF-8 with your country",
                                        l, l));
        }
        if (k)
                for (i = 0; k[i]; i++)
                        if (!isalnum((unsigned char) k[i]) && !strchr("()_-", k[i]))
                                return answer_diag(a, ANSWER_ERROR, a->keyboard_at,
                                                   "'%s' is not a keyboard layout (us, de, "
                                                   "fr(latin9))",
                                                   k);
        return 0;
}

int answer_structure_check(struct answer *a)
{
        TRY(check_storage(a));
        for (size_t i = 0; i < a->n_networks; i++)
                TRY(check_network(a, &a->networks[i]));
        if (a->hostname && !answer_hostname_valid(a->hostname))
                TRY(answer_diag(a, ANSWER_ERROR, a->hostname_at,
                                "'%s' is not a host name (letters, digits and '-' between dots)",
                                a->hostname));
        else if (a->hostname && !strchr(a->hostname, '.'))
                TRY(answer_diag(a, ANSWER_NOTICE, a->hostname_at,
                                "'%s' has no domain: write it fully qualified (%s.example.com) "
                                "for /etc/hosts and TLS certificates",
                                a->hostname, a->hostname));
        if (a->hypervisor.bridge)
                for (size_t i = 0; i < a->n_networks; i++)
                        if (a->networks[i].device &&
                            strcmp(a->networks[i].device, a->hypervisor.bridge) == 0)
                                TRY(answer_diag(a, ANSWER_ERROR, a->hypervisor.at,
                                                "the VM bridge '%s' has the name of a NIC: name "
                                                "it otherwise (vmbr0)",
                                                a->hypervisor.bridge));
        TRY(check_accounts(a));
        TRY(check_timezone(a));
        TRY(check_locale(a));
        if (a->bootloader.password && a->bootloader.password_crypted &&
            strncmp(a->bootloader.password, "grub.pbkdf2.", 12) != 0)
                TRY(answer_diag(a, ANSWER_ERROR, a->bootloader.at,
                                "the bootloader password is marked --iscrypted but is no GRUB "
                                "hash: make one with 'grub-mkpasswd-pbkdf2'"));
        if (a->bootloader.location && strcmp(a->bootloader.location, "none") == 0)
                TRY(answer_diag(a, ANSWER_WARNING, a->bootloader.at,
                                "no bootloader: the node will not boot by itself"));
        for (size_t i = 0; i < a->n_excluded; i++)
                for (size_t k = 0; k < a->n_packages; k++)
                        if (strcmp(a->excluded[i], a->packages[k]) == 0)
                                TRY(answer_diag(a, ANSWER_WARNING, (struct answer_at){ 0 },
                                                "package '%s' is both wanted and excluded: it is "
                                                "excluded",
                                                a->packages[k]));
        return 0;
}

/* ---- against the machine ---- */

static void names_of(const struct hw_disk *disks, const size_t *idx, size_t n, char *buf,
                     size_t size)
{
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n && len < size; i++)
                len += (size_t) snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                                         disks[idx[i]].name);
}

/* A disk selector against the disks: at least one match, exactly one when one is meant, and
 * none that is the install medium or in use. */
static int check_disk(struct answer *a, const struct hw_report *hw, const char *sel,
                      struct answer_at at, const char *what, bool one)
{
        _cleanup_free_ size_t *idx = calloc(hw->n_disks + 1, sizeof(*idx));
        struct err err = { { 0 } };
        size_t n = 0;
        char list[256];

        if (!idx)
                return -ENOMEM;
        if (hw_disks_match(sel, hw->disks, hw->n_disks, idx, &n, &err) < 0)
                return answer_diag(a, ANSWER_ERROR, at, "%s: %s", what, err.msg);
        if (n == 0) {
                for (size_t i = 0; i < hw->n_disks; i++)
                        idx[i] = i;
                names_of(hw->disks, idx, hw->n_disks, list, sizeof(list));
                return answer_diag(a, ANSWER_ERROR, at, "%s '%s' matches no disk (disks: %s)", what,
                                   sel, hw->n_disks ? list : "none");
        }
        if (one && n > 1) {
                names_of(hw->disks, idx, n, list, sizeof(list));
                return answer_diag(a, ANSWER_ERROR, at,
                                   "%s '%s' matches %zu disks (%s) where one is meant: name one "
                                   "by /dev/disk/by-id or serial=",
                                   what, sel, n, list);
        }
        for (size_t i = 0; i < n; i++) {
                const struct hw_disk *d = &hw->disks[idx[i]];
                if (d->install_medium)
                        TRY(answer_diag(a, ANSWER_ERROR, at,
                                        "%s '%s' is %s, which holds the install medium", what, sel,
                                        d->name));
                else if (d->in_use)
                        TRY(answer_diag(a, ANSWER_ERROR, at,
                                        "%s '%s' is %s, which is in use (a mounted filesystem or "
                                        "active swap)",
                                        what, sel, d->name));
        }
        return 0;
}

static int check_nic(struct answer *a, const struct hw_report *hw, const char *bootif,
                     const char *sel, struct answer_at at, const char *what)
{
        _cleanup_free_ size_t *idx = calloc(hw->n_nics + 1, sizeof(*idx));
        struct err err = { { 0 } };
        size_t n = 0, len = 0;
        char list[256] = "";

        if (!idx)
                return -ENOMEM;
        if (hw_nics_match(sel, hw->nics, hw->n_nics, bootif, idx, &n, &err) < 0)
                return answer_diag(a, ANSWER_ERROR, at, "%s: %s", what, err.msg);
        if (n == 1)
                return 0;
        for (size_t i = 0; i < (n ? n : hw->n_nics) && len < sizeof(list); i++)
                len += (size_t) snprintf(list + len, sizeof(list) - len, "%s%s %s", i ? ", " : "",
                                         hw->nics[n ? idx[i] : i].name,
                                         hw->nics[n ? idx[i] : i].mac);
        if (n == 0)
                return answer_diag(a, ANSWER_ERROR, at, "%s '%s' matches no NIC (NICs: %s)", what,
                                   sel, hw->n_nics ? list : "none");
        return answer_diag(a, ANSWER_ERROR, at,
                           "%s '%s' matches %zu NICs (%s): name one by its MAC address", what, sel,
                           n, list);
}

static int check_hw(struct answer *a, const struct answer_check_env *env)
{
        const struct hw_report *hw = env->hw;
        const struct answer_storage *s = &a->storage;

        for (size_t i = 0; i < s->n_only_use; i++)
                TRY(check_disk(a, hw, s->only_use[i], (struct answer_at){ 0 },
                               "ignoredisk --only-use", false));
        for (size_t i = 0; i < s->n_clear_drives; i++)
                TRY(check_disk(a, hw, s->clear_drives[i], (struct answer_at){ 0 },
                               "clearpart --drives", false));
        for (size_t i = 0; i < s->n_parts; i++)
                if (s->parts[i].ondisk)
                        TRY(check_disk(a, hw, s->parts[i].ondisk, s->parts[i].at, "--ondisk",
                                       true));
        if (a->bootloader.boot_drive)
                TRY(check_disk(a, hw, a->bootloader.boot_drive, a->bootloader.at,
                               "bootloader --boot-drive", true));
        if (s->disk)
                TRY(check_disk(a, hw, s->disk, s->install_at, "install --disk", true));
        if (s->firstdisk && !s->disk) {
                struct err err = { { 0 } };
                size_t idx;
                if (hw_disks_firstdisk(s->firstdisk, hw->disks, hw->n_disks, &idx, &err) < 0)
                        TRY(answer_diag(a, ANSWER_ERROR, s->install_at, "install --firstdisk: %s",
                                        err.msg));
        }
        /* Fixed partition sizes against the disk they are on. */
        for (size_t d = 0; d < hw->n_disks; d++) {
                uint64_t need = 0;
                const struct answer_at *at = NULL;
                for (size_t i = 0; i < s->n_parts; i++) {
                        const struct answer_part *p = &s->parts[i];
                        struct err err = { { 0 } };
                        size_t n = 0;
                        _cleanup_free_ size_t *all = calloc(hw->n_disks + 1, sizeof(*all));
                        if (!all)
                                return -ENOMEM;
                        if (!p->ondisk || p->size == ANSWER_UNSET ||
                            hw_disks_match(p->ondisk, hw->disks, hw->n_disks, all, &n, &err) < 0 ||
                            n != 1 || all[0] != d)
                                continue;
                        need += p->size;
                        at = &p->at;
                }
                if (at && need > hw->disks[d].size / (1024 * 1024))
                        TRY(answer_diag(a, ANSWER_ERROR, *at,
                                        "the partitions on %s need %" PRIu64 " MiB; the disk has "
                                        "%" PRIu64 " MiB",
                                        hw->disks[d].name, need,
                                        hw->disks[d].size / (1024 * 1024)));
        }
        for (size_t i = 0; i < a->n_networks; i++) {
                const struct answer_network *n = &a->networks[i];
                if (n->n_bondslaves) {
                        for (size_t k = 0; k < n->n_bondslaves; k++)
                                TRY(check_nic(a, hw, env->bootif, n->bondslaves[k], n->at,
                                              "--bondslaves"));
                        continue;
                }
                TRY(check_nic(a, hw, env->bootif, n->device ? n->device : "link", n->at,
                              "network --device"));
        }
        if (hw->cpu.verdict != HW_VERDICT_OK)
                TRY(answer_diag(a, a->hypervisor.require_vt ? ANSWER_ERROR : ANSWER_WARNING,
                                a->hypervisor.at,
                                "this machine cannot run KVM guests at full speed (%s: %s)%s",
                                hw_verdict_names[hw->cpu.verdict], hw->cpu.reason,
                                a->hypervisor.require_vt ? "; 'hypervisor --require-vt' refuses it"
                                                         : ""));
        if (a->hypervisor.require_iommu && hw->cpu.iommu != HW_YES)
                TRY(answer_diag(a, ANSWER_ERROR, a->hypervisor.at,
                                "'--require-iommu': no active IOMMU (enable VT-d/AMD-Vi in the "
                                "firmware and add intel_iommu=on to 'bootloader --append')"));
        return 0;
}

int answer_check_hw(struct answer *a, const struct answer_check_env *env)
{
        return env && env->hw ? check_hw(a, env) : 0;
}
