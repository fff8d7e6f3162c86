/* Selectors: the disks and NICs an answer file names, in the forms Anaconda's and ESXi's
 * kickstart files and our own answers use. Every string here comes from an answer file or the
 * kernel command line: lengths are capped before anything is copied, nothing recurses on the
 * input, and every message quotes it cut short and with control characters masked. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "hw.h"
#include "strv.h"

#define SEL_MAX        512 /* the longest selector or firstdisk list, bytes */
#define SEL_MAX_ITEMS  16  /* KEY=GLOB clauses in a selector, entries in a firstdisk list */
#define GLOB_MAX_STARS 8   /* bounds fnmatch(3)'s backtracking, whatever the libc */
#define QUOTE_MAX      48  /* of user input quoted in a message, so that the message fits */
#define QUOTE_KEY      24
#define KEY_MAX        32 /* the longest key of a KEY=GLOB clause worth naming */

#define FIRSTDISK_DEFAULT "local,remote,usb"

/* ---- helpers for messages ---- */

/* s as a message may show it: at most max bytes, control characters as '?', "..." when cut. */
static const char *quote(const char *s, size_t max, char buf[static QUOTE_MAX + 4])
{
        size_t i;

        if (max > QUOTE_MAX)
                max = QUOTE_MAX;
        for (i = 0; s[i] && i < max; i++)
                buf[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
        if (s[i])
                memcpy(buf + i, "...", 4);
        else
                buf[i] = '\0';
        return buf;
}

/* Appends to buf (size bytes) at *at; a message cut short ends in "...". */
static void appendf(char *buf, size_t size, size_t *at, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t size, size_t *at, const char *fmt, ...)
{
        va_list ap;
        int r;

        if (*at >= size)
                return;
        va_start(ap, fmt);
        r = vsnprintf(buf + *at, size - *at, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        if ((size_t) r >= size - *at) {
                *at = size;
                memcpy(buf + size - 4, "...", 4);
        } else
                *at += (size_t) r;
}

/* ---- splitting a selector ---- */

static char *trim(char *s)
{
        char *e;

        s += strspn(s, " ");
        e = s + strlen(s);
        while (e > s && e[-1] == ' ')
                *--e = '\0';
        return s;
}

/* Copies sel into buf (SEL_MAX + 1 bytes) without the spaces around it, after the checks every
 * selector gets; *ret points into buf. */
static int selector_copy(const char *sel, const char *what, char *buf, char **ret, struct err *err)
{
        char q[QUOTE_MAX + 4];
        size_t len;

        if (!sel)
                return err_set(err, -EINVAL, "empty %s", what);
        len = strnlen(sel, SEL_MAX + 1);
        if (len > SEL_MAX)
                return err_set(err, -EINVAL, "%s '%s' is longer than %d bytes", what,
                               quote(sel, QUOTE_MAX, q), SEL_MAX);
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) sel[i] < 0x20 || sel[i] == 0x7f)
                        return err_set(err, -EINVAL, "%s '%s' holds a control character", what,
                                       quote(sel, QUOTE_MAX, q));
        memcpy(buf, sel, len + 1);
        *ret = trim(buf);
        if (!**ret)
                return err_set(err, -EINVAL, "empty %s", what);
        return 0;
}

/* Splits s in place at its commas into at most SEL_MAX_ITEMS trimmed items. With escapes, a
 * backslash keeps the next character (a comma) in the item, and stays there: fnmatch(3) reads
 * "\," as a comma. */
static int split(char *s, bool escapes, char **items, size_t *ret_n)
{
        size_t n = 0;
        char *start = s;

        for (char *p = s;; p++) {
                bool end = !*p;

                if (escapes && *p == '\\' && p[1]) {
                        p++;
                        continue;
                }
                if (*p != ',' && !end)
                        continue;
                if (n == SEL_MAX_ITEMS)
                        return -E2BIG;
                *p = '\0';
                items[n++] = trim(start);
                if (end)
                        break;
                start = p + 1;
        }
        *ret_n = n;
        return 0;
}

static bool has_glob(const char *s)
{
        return strpbrk(s, "*?[\\") != NULL;
}

enum size_op {
        SIZE_NONE,
        SIZE_LARGEST,
        SIZE_SMALLEST,
        SIZE_GE,
        SIZE_LE,
        SIZE_GT,
        SIZE_LT,
};

struct clause {
        unsigned key;
        char *value;                 /* points into the caller's copy of the selector */
        enum size_op op;             /* size */
        uint64_t bytes;              /* size, with >=, <=, > and < */
        enum hw_tristate rotational; /* type */
};

struct keyset {
        const char *what; /* "disk selector" */
        const char *const *keys;
        size_t n_keys;
        const char *list; /* the keys, for messages */
        int size_key;     /* the key that may be written "size>=100G", or -1 */
};

/* KEY=GLOB[,KEY=GLOB...] from s (the trimmed copy of sel) into c[SEL_MAX_ITEMS]: the syntax
 * and the keys; what a value means is the caller's to check. */
static int parse_clauses(char *s, const char *sel, const struct keyset *ks, struct clause *c,
                         size_t *ret_n, struct err *err)
{
        char *items[SEL_MAX_ITEMS], qs[QUOTE_MAX + 4], qi[QUOTE_MAX + 4];
        size_t n;

        if (split(s, true, items, &n) < 0)
                return err_set(err, -EINVAL, "%s '%s' has more than %d clauses", ks->what,
                               quote(sel, QUOTE_MAX, qs), SEL_MAX_ITEMS);
        for (size_t i = 0; i < n; i++) {
                char *item = items[i], *op, *value, key[KEY_MAX + 2];
                const char *dym;
                size_t k, klen, stars = 0;

                if (!*item)
                        return err_set(err, -EINVAL, "empty clause in %s '%s'", ks->what,
                                       quote(sel, QUOTE_MAX, qs));
                op = strpbrk(item, ks->size_key >= 0 ? "=<>" : "=");
                if (!op)
                        return err_set(err, -EINVAL, "'%s' in %s '%s' is not KEY=GLOB",
                                       quote(item, QUOTE_KEY, qi), ks->what,
                                       quote(sel, QUOTE_MAX, qs));
                /* The key is copied out: with "size>=100G" the operator is the value's. A
                 * key longer than any known one stays unknown when cut short. */
                for (klen = (size_t) (op - item); klen > 0 && item[klen - 1] == ' '; klen--)
                        ;
                if (!klen)
                        return err_set(err, -EINVAL, "no key before '%c' in %s '%s'", *op, ks->what,
                                       quote(sel, QUOTE_MAX, qs));
                (void) snprintf(key, sizeof(key), "%.*s", (int) klen, item);
                value = trim(*op == '=' ? op + 1 : op);
                for (k = 0; k < ks->n_keys; k++)
                        if (strcasecmp(key, ks->keys[k]) == 0)
                                break;
                if (k == ks->n_keys) {
                        dym = strv_closest(key, ks->keys, ks->n_keys);
                        return err_set(
                                err, -EINVAL, "unknown key '%s' in %s '%s'; keys are %s%s%s%s",
                                quote(key, QUOTE_KEY, qi), ks->what, quote(sel, QUOTE_MAX, qs),
                                ks->list, dym ? "; did you mean '" : "", dym ? dym : "",
                                dym ? "'?" : "");
                }
                if (*op != '=' && (int) k != ks->size_key)
                        return err_set(err, -EINVAL, "only %s compares with '<' or '>', in %s '%s'",
                                       ks->keys[ks->size_key], ks->what, quote(sel, QUOTE_MAX, qs));
                if (!*value)
                        return err_set(err, -EINVAL, "no value for %s in %s '%s'", ks->keys[k],
                                       ks->what, quote(sel, QUOTE_MAX, qs));
                for (const char *p = value; (p = strchr(p, '*')); p++)
                        stars++;
                if (stars > GLOB_MAX_STARS)
                        return err_set(err, -EINVAL, "%s in %s '%s' has more than %d '*'",
                                       ks->keys[k], ks->what, quote(sel, QUOTE_MAX, qs),
                                       GLOB_MAX_STARS);
                c[i] = (struct clause){ .key = (unsigned) k,
                                        .value = value,
                                        .rotational = HW_UNKNOWN };
        }
        *ret_n = n;
        return 0;
}

/* ---- disks ---- */

enum {
        DISK_KEY_MODEL,
        DISK_KEY_SERIAL,
        DISK_KEY_WWN,
        DISK_KEY_TRANSPORT,
        DISK_KEY_TYPE,
        DISK_KEY_SIZE,
        DISK_KEY_COUNT,
};

static const char *const disk_keys[DISK_KEY_COUNT] = {
        [DISK_KEY_MODEL] = "model",         [DISK_KEY_SERIAL] = "serial", [DISK_KEY_WWN] = "wwn",
        [DISK_KEY_TRANSPORT] = "transport", [DISK_KEY_TYPE] = "type",     [DISK_KEY_SIZE] = "size",
};

static const struct keyset disk_keyset = {
        .what = "disk selector",
        .keys = disk_keys,
        .n_keys = DISK_KEY_COUNT,
        .list = "model, serial, wwn, transport, type, size",
        .size_key = DISK_KEY_SIZE,
};

/* What hw_disk.transport holds, and the remote ones ESXi knows. */
static const char *const transports[] = { "nvme", "sata", "scsi",  "usb", "virtio",
                                          "mmc",  "ide",  "iscsi", "fc",  "unknown" };

/* K..P and KiB..PiB are powers of 1024; KB..PB powers of 1000, as disks are sold: "480GB" must
 * not leave out the 480 GB SSD (447 GiB). */
static const struct {
        const char *name;
        uint64_t bytes;
} units[] = {
        { "B", 1 },
        { "K", UINT64_C(1) << 10 },
        { "KiB", UINT64_C(1) << 10 },
        { "KB", UINT64_C(1000) },
        { "M", UINT64_C(1) << 20 },
        { "MiB", UINT64_C(1) << 20 },
        { "MB", UINT64_C(1000000) },
        { "G", UINT64_C(1) << 30 },
        { "GiB", UINT64_C(1) << 30 },
        { "GB", UINT64_C(1000000000) },
        { "T", UINT64_C(1) << 40 },
        { "TiB", UINT64_C(1) << 40 },
        { "TB", UINT64_C(1000000000000) },
        { "P", UINT64_C(1) << 50 },
        { "PiB", UINT64_C(1) << 50 },
        { "PB", UINT64_C(1000000000000000) },
};

/* "100G", "1.5 TiB", "480GB": digits, at most three decimals, a unit (required: a bare number
 * is more likely meant in GB than in bytes). -EINVAL, or -ERANGE past 2^64. The decimals times
 * the unit stay below 1000 * 2^50, so only the integer part can overflow. */
static int parse_bytes(const char *s, uint64_t *ret)
{
        uint64_t ip = 0, fp = 0, scale = 1, mult = 0, v, f;
        size_t digits = 0;

        for (; *s >= '0' && *s <= '9'; s++, digits++) {
                unsigned d = (unsigned) (*s - '0');
                if (ip > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                ip = ip * 10 + d;
        }
        if (!digits)
                return -EINVAL;
        if (*s == '.') {
                for (s++; *s >= '0' && *s <= '9'; s++) {
                        if (scale == 1000)
                                return -EINVAL;
                        fp = fp * 10 + (unsigned) (*s - '0');
                        scale *= 10;
                }
                if (scale == 1)
                        return -EINVAL;
        }
        s += strspn(s, " ");
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcasecmp(s, units[i].name) == 0)
                        mult = units[i].bytes;
        if (!mult)
                return -EINVAL;
        if (ip > UINT64_MAX / mult)
                return -ERANGE;
        v = ip * mult;
        f = fp * mult / scale;
        if (f > UINT64_MAX - v)
                return -ERANGE;
        *ret = v + f;
        return 0;
}

static int parse_size(struct clause *c, const char *sel, struct err *err)
{
        static const struct {
                const char *prefix;
                enum size_op op;
        } ops[] = { { ">=", SIZE_GE }, { "<=", SIZE_LE }, { ">", SIZE_GT }, { "<", SIZE_LT } };
        char qs[QUOTE_MAX + 4], qv[QUOTE_MAX + 4];
        const char *rest = NULL;
        int r;

        if (strcasecmp(c->value, "largest") == 0) {
                c->op = SIZE_LARGEST;
                return 0;
        }
        if (strcasecmp(c->value, "smallest") == 0) {
                c->op = SIZE_SMALLEST;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(ops) && !rest; i++)
                if (strncmp(c->value, ops[i].prefix, strlen(ops[i].prefix)) == 0) {
                        c->op = ops[i].op;
                        rest = c->value + strlen(ops[i].prefix);
                }
        r = rest ? parse_bytes(rest + strspn(rest, " "), &c->bytes) : -EINVAL;
        if (r == -ERANGE)
                return err_set(err, -EINVAL, "size '%s' in disk selector '%s' is too large",
                               quote(c->value, QUOTE_KEY, qv), quote(sel, QUOTE_MAX, qs));
        if (r < 0)
                return err_set(err, -EINVAL,
                               "size '%s' in disk selector '%s': want largest, smallest, or >=, "
                               "<=, >, < and a size with a unit (100G, 1.5T; KB..PB are powers "
                               "of 1000)",
                               quote(c->value, QUOTE_KEY, qv), quote(sel, QUOTE_MAX, qs));
        return 0;
}

/* Checks what each value means, once, before any disk is looked at. */
static int disk_values(struct clause *c, size_t n, const char *sel, enum size_op *ret_extreme,
                       struct err *err)
{
        char qs[QUOTE_MAX + 4], qv[QUOTE_MAX + 4];
        enum size_op extreme = SIZE_NONE;

        for (size_t i = 0; i < n; i++) {
                const char *dym;
                bool known = false;
                int r;

                switch (c[i].key) {
                case DISK_KEY_TRANSPORT:
                        /* A glob is taken as written; a plain word must be a transport, so a
                         * typo fails here instead of matching nothing. */
                        for (size_t t = 0; t < ELEMENTSOF(transports); t++)
                                known |= strcasecmp(c[i].value, transports[t]) == 0;
                        if (known || has_glob(c[i].value))
                                break;
                        dym = strv_closest(c[i].value, transports, ELEMENTSOF(transports));
                        return err_set(err, -EINVAL,
                                       "unknown transport '%s' in disk selector '%s'; transports "
                                       "are nvme, sata, scsi, usb, virtio, mmc, ide, iscsi, fc, "
                                       "unknown%s%s%s",
                                       quote(c[i].value, QUOTE_KEY, qv), quote(sel, QUOTE_MAX, qs),
                                       dym ? "; did you mean '" : "", dym ? dym : "",
                                       dym ? "'?" : "");
                case DISK_KEY_TYPE:
                        if (strcasecmp(c[i].value, "ssd") == 0)
                                c[i].rotational = HW_NO;
                        else if (strcasecmp(c[i].value, "hdd") == 0)
                                c[i].rotational = HW_YES;
                        else
                                return err_set(err, -EINVAL,
                                               "type '%s' in disk selector '%s' is neither ssd "
                                               "nor hdd",
                                               quote(c[i].value, QUOTE_KEY, qv),
                                               quote(sel, QUOTE_MAX, qs));
                        break;
                case DISK_KEY_SIZE:
                        r = parse_size(&c[i], sel, err);
                        if (r < 0)
                                return r;
                        if (c[i].op != SIZE_LARGEST && c[i].op != SIZE_SMALLEST)
                                break;
                        if (extreme != SIZE_NONE && extreme != c[i].op)
                                return err_set(err, -EINVAL,
                                               "disk selector '%s' asks for the largest and the "
                                               "smallest",
                                               quote(sel, QUOTE_MAX, qs));
                        extreme = c[i].op;
                        break;
                default:
                        break;
                }
        }
        *ret_extreme = extreme;
        return 0;
}

/* What a KEY=GLOB selector or firstdisk may choose: a disk the installer can take whole. */
bool hw_disk_usable(const struct hw_disk *d)
{
        return !d->install_medium && !d->in_use && !d->read_only && d->size > 0;
}

static bool disk_passes(const struct hw_disk *d, const struct clause *c, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const char *field = NULL;
                bool ok = true;

                switch (c[i].key) {
                case DISK_KEY_MODEL:
                        field = d->model;
                        break;
                case DISK_KEY_SERIAL:
                        field = d->serial;
                        break;
                case DISK_KEY_WWN:
                        field = d->wwn;
                        break;
                case DISK_KEY_TRANSPORT:
                        field = d->transport;
                        break;
                case DISK_KEY_TYPE:
                        /* Unknown rotation is neither: a guess could wipe the wrong disk. */
                        ok = d->rotational == c[i].rotational;
                        break;
                case DISK_KEY_SIZE:
                        ok = c[i].op == SIZE_GE   ? d->size >= c[i].bytes
                             : c[i].op == SIZE_LE ? d->size <= c[i].bytes
                             : c[i].op == SIZE_GT ? d->size > c[i].bytes
                             : c[i].op == SIZE_LT ? d->size < c[i].bytes
                                                  : true; /* largest, smallest: afterwards */
                        break;
                default:
                        ok = false;
                        break;
                }
                if (field)
                        ok = fnmatch(c[i].value, field, FNM_CASEFOLD) == 0;
                if (!ok)
                        return false;
        }
        return true;
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

/* hw_disk.ids holds "/dev/disk/by-id/NAME"; the answer may say that, disk/by-id/NAME, or NAME. */
static bool disk_named(const struct hw_disk *d, const char *s)
{
        const char *id;

        if (strncmp(s, "/dev/disk/by-id/", 16) == 0)
                id = s + 16;
        else if (strncmp(s, "disk/by-id/", 11) == 0)
                id = s + 11;
        else if (strncmp(s, "/dev/", 5) == 0)
                return s[5] && strcmp(d->name, s + 5) == 0;
        else if (strcmp(d->name, s) == 0)
                return true;
        else
                id = s;
        if (!*id)
                return false;
        for (size_t i = 0; i < d->n_ids && i < HW_MAX_IDS; i++)
                if (strcmp(base_name(d->ids[i]), id) == 0)
                        return true;
        return false;
}

int hw_disks_match(const char *sel, const struct hw_disk *disks, size_t n, size_t *ret_idx,
                   size_t *ret_n, struct err *err)
{
        char buf[SEL_MAX + 1], qs[QUOTE_MAX + 4];
        struct clause c[SEL_MAX_ITEMS];
        enum size_op extreme = SIZE_NONE;
        size_t n_c, k = 0;
        char *s;
        int r;

        r = selector_copy(sel, "disk selector", buf, &s, err);
        if (r < 0)
                return r;

        /* A name first: udev keeps '=' in by-id names, so KEY=GLOB is the second reading. */
        for (size_t i = 0; i < n; i++)
                if (disk_named(&disks[i], s))
                        ret_idx[k++] = i;
        if (k > 0) {
                *ret_n = k;
                return 0;
        }
        if (!strpbrk(s, "=<>")) { /* "size<1T" is KEY=GLOB too */
                /* Neither kernel nor by-id names hold these, so this was meant otherwise. */
                if (strpbrk(s, ", *?["))
                        return err_set(err, -EINVAL,
                                       "disk selector '%s' is no disk name; to choose by "
                                       "properties write KEY=GLOB[,KEY=GLOB...] with keys %s",
                                       quote(sel, QUOTE_MAX, qs), disk_keyset.list);
                *ret_n = 0;
                return 0;
        }

        r = parse_clauses(s, sel, &disk_keyset, c, &n_c, err);
        if (r < 0)
                return r;
        r = disk_values(c, n_c, sel, &extreme, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (hw_disk_usable(&disks[i]) && disk_passes(&disks[i], c, n_c))
                        ret_idx[k++] = i;
        if (extreme != SIZE_NONE && k > 0) {
                uint64_t best = disks[ret_idx[0]].size;
                size_t m = 0;

                for (size_t j = 1; j < k; j++) {
                        uint64_t sz = disks[ret_idx[j]].size;
                        if (extreme == SIZE_LARGEST ? sz > best : sz < best)
                                best = sz;
                }
                /* A tie keeps them all: which of two equal disks is meant is the admin's call. */
                for (size_t j = 0; j < k; j++)
                        if (disks[ret_idx[j]].size == best)
                                ret_idx[m++] = ret_idx[j];
                k = m;
        }
        *ret_n = k;
        return 0;
}

/* ---- ESXi's --firstdisk ---- */

enum firstdisk_kind {
        FIRSTDISK_LOCAL,
        FIRSTDISK_REMOTE,
        FIRSTDISK_USB,
        FIRSTDISK_ESX,
        FIRSTDISK_TRANSPORT,
        FIRSTDISK_MODEL,
};

/* ESXi's driver names (and Linux's, for answers written here), as the transport hw_disk.c
 * reports for the disks behind them. VMware's paravirtual controller stands for virtio: an
 * answer written for a VMware guest means the paravirtual disk of a KVM guest. */
static const struct {
        const char *pattern; /* fnmatch(3), case-insensitive */
        const char *transport;
} firstdisk_drivers[] = {
        { "ahci", "sata" },         { "vmw_ahci", "sata" },     { "sata_*", "sata" },
        { "ata_piix", "ide" },      { "pata_*", "ide" },        { "nvme_pcie", "nvme" },
        { "vmw_nvme", "nvme" },     { "virtio_blk", "virtio" }, { "pvscsi", "virtio" },
        { "vmw_pvscsi", "virtio" }, { "virtio_scsi", "scsi" },  { "usb-storage", "usb" },
        { "usb_storage", "usb" },   { "uas", "usb" },           { "vmkusb", "usb" },
        { "megaraid*", "scsi" },    { "mpt*", "scsi" },         { "lsi*", "scsi" },
        { "hpsa", "scsi" },         { "nhpsa", "scsi" },        { "smartpqi", "scsi" },
        { "aacraid", "scsi" },      { "qla*", "fc" },           { "qlnativefc", "fc" },
        { "lpfc", "fc" },           { "iscsi*", "iscsi" },      { "bnx2i", "iscsi" },
        { "sdhci*", "mmc" },
};

static const char *const firstdisk_words[] = { "local", "remote", "usb",    "esx", "nvme",
                                               "sata",  "scsi",   "virtio", "mmc", "ide",
                                               "iscsi", "fc",     "ahci" };

static enum firstdisk_kind firstdisk_classify(const char *e, const char **ret_transport)
{
        static const char *const categories[] = { "local", "remote", "usb", "esx" };

        for (size_t i = 0; i < ELEMENTSOF(categories); i++)
                if (strcasecmp(e, categories[i]) == 0)
                        return (enum firstdisk_kind) i;
        for (size_t i = 0; i < ELEMENTSOF(transports); i++)
                if (strcasecmp(e, transports[i]) == 0) {
                        *ret_transport = transports[i];
                        return FIRSTDISK_TRANSPORT;
                }
        for (size_t i = 0; i < ELEMENTSOF(firstdisk_drivers); i++)
                if (fnmatch(firstdisk_drivers[i].pattern, e, FNM_CASEFOLD) == 0) {
                        *ret_transport = firstdisk_drivers[i].transport;
                        return FIRSTDISK_TRANSPORT;
                }
        return FIRSTDISK_MODEL;
}

static bool disk_remote(const struct hw_disk *d)
{
        return strcmp(d->transport, "iscsi") == 0 || strcmp(d->transport, "fc") == 0;
}

/* An earlier install: a PV of our VG on the disk or on one of its partitions. */
static bool disk_has_install(const struct hw_disk *d)
{
        if (strcmp(d->content.vg, HW_INSTALL_VG) == 0)
                return true;
        for (size_t i = 0; i < d->n_parts && i < HW_MAX_PARTS; i++)
                if (strcmp(d->parts[i].content.vg, HW_INSTALL_VG) == 0)
                        return true;
        return false;
}

static bool firstdisk_holds(const char *e, enum firstdisk_kind kind, const char *transport,
                            const struct hw_disk *d)
{
        switch (kind) {
        case FIRSTDISK_LOCAL:
                return strcmp(d->transport, "usb") != 0 && !disk_remote(d);
        case FIRSTDISK_REMOTE:
                return disk_remote(d);
        case FIRSTDISK_USB:
                return strcmp(d->transport, "usb") == 0;
        case FIRSTDISK_ESX:
                return disk_has_install(d);
        case FIRSTDISK_TRANSPORT:
                return strcasecmp(d->transport, transport) == 0;
        case FIRSTDISK_MODEL:
                return strncasecmp(d->model, e, strlen(e)) == 0;
        }
        return false;
}

int hw_disks_firstdisk(const char *list, const struct hw_disk *disks, size_t n, size_t *ret_idx,
                       struct err *err)
{
        char buf[SEL_MAX + 1], msg[sizeof(err->msg)], ql[QUOTE_MAX + 4], qe[QUOTE_MAX + 4];
        char *s, *items[SEL_MAX_ITEMS];
        const char *hint = NULL, *hint_for = NULL;
        size_t n_items, at = 0;
        int r;

        /* "--firstdisk" alone and "--firstdisk=" both mean ESXi's default. */
        if (!list || !list[strspn(list, " ")])
                list = FIRSTDISK_DEFAULT;
        r = selector_copy(list, "firstdisk list", buf, &s, err);
        if (r < 0)
                return r;
        if (split(s, false, items, &n_items) < 0)
                return err_set(err, -EINVAL, "firstdisk list '%s' has more than %d entries",
                               quote(list, QUOTE_MAX, ql), SEL_MAX_ITEMS);
        for (size_t i = 0; i < n_items; i++)
                if (!*items[i])
                        return err_set(err, -EINVAL, "empty entry in firstdisk list '%s'",
                                       quote(list, QUOTE_MAX, ql));

        for (size_t i = 0; i < n_items; i++) {
                const char *transport = NULL;
                enum firstdisk_kind kind = firstdisk_classify(items[i], &transport);
                size_t best = n;

                /* Name order, whatever order the caller keeps the disks in. */
                for (size_t j = 0; j < n; j++)
                        if (hw_disk_usable(&disks[j]) &&
                            firstdisk_holds(items[i], kind, transport, &disks[j]) &&
                            (best == n || strcmp(disks[j].name, disks[best].name) < 0))
                                best = j;
                if (best < n) {
                        *ret_idx = best;
                        return 0;
                }
                if (kind == FIRSTDISK_MODEL && !hint) {
                        hint = strv_closest(items[i], firstdisk_words, ELEMENTSOF(firstdisk_words));
                        hint_for = items[i];
                }
        }

        appendf(msg, sizeof(msg), &at, "no disk matches firstdisk list '%s'",
                quote(list, QUOTE_MAX, ql));
        if (hint)
                appendf(msg, sizeof(msg), &at, " (did you mean '%s' for '%s'?)", hint,
                        quote(hint_for, QUOTE_KEY, qe));
        appendf(msg, sizeof(msg), &at, "; disks: %s", n ? "" : "none");
        for (size_t j = 0; j < n; j++) {
                const struct hw_disk *d = &disks[j];
                const char *why = d->install_medium ? ", install medium"
                                  : d->in_use       ? ", in use"
                                  : d->read_only    ? ", read-only"
                                  : !d->size        ? ", no medium"
                                                    : "";

                /* Transport and why not, for what the entries test; sizes would not fit. */
                appendf(msg, sizeof(msg), &at, "%s%s (%s%s)", j ? ", " : "",
                        quote(d->name, QUOTE_KEY, qe), d->transport, why);
        }
        return err_set(err, -ENODEV, "%s", msg);
}

/* ---- NICs ---- */

enum {
        NIC_KEY_NAME,
        NIC_KEY_MAC,
        NIC_KEY_DRIVER,
        NIC_KEY_COUNT,
};

static const char *const nic_keys[NIC_KEY_COUNT] = {
        [NIC_KEY_NAME] = "name",
        [NIC_KEY_MAC] = "mac",
        [NIC_KEY_DRIVER] = "driver",
};

static const struct keyset nic_keyset = {
        .what = "NIC selector",
        .keys = nic_keys,
        .n_keys = NIC_KEY_COUNT,
        .list = "name, mac, driver",
        .size_key = -1,
};

static int hex_digit(char c)
{
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
}

/* Six octets of two hex digits, each pair after the first behind ':' or '-'; or seven, the
 * first being 01, as pxelinux and iPXE write BOOTIF= (the ARP hardware type, 1 for Ethernet). */
static bool parse_mac(const char *s, uint8_t ret[6])
{
        uint8_t o[7];
        size_t k = 0;

        for (;;) {
                int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

                if (lo < 0 || k == ELEMENTSOF(o))
                        return false;
                o[k++] = (uint8_t) (hi << 4 | lo);
                s += 2;
                if (!*s)
                        break;
                if (*s != ':' && *s != '-')
                        return false;
                s++;
        }
        if (k == 7 && o[0] != 0x01)
                return false;
        if (k < 6)
                return false;
        memcpy(ret, o + (k - 6), 6);
        return true;
}

/* The NICs with this MAC: the physical ones, as a bridge or bond carries the MAC of a port;
 * the virtual ones only when no physical NIC has it. */
static size_t nics_with_mac(const struct hw_nic *nics, size_t n, const uint8_t mac[6],
                            size_t *ret_idx)
{
        size_t k = 0;

        for (int pass = 0; pass < 2 && k == 0; pass++)
                for (size_t i = 0; i < n; i++) {
                        uint8_t m[6];
                        if (nics[i].virtual_dev != (pass == 1) || !parse_mac(nics[i].mac, m) ||
                            memcmp(m, mac, 6) != 0)
                                continue;
                        ret_idx[k++] = i;
                }
        return k;
}

/* ESXi's vmnicN: true with N for "vmnic" and digits (a huge N names no NIC). */
static bool vmnic_number(const char *s, size_t *ret)
{
        size_t v = 0;

        if (strncasecmp(s, "vmnic", 5) != 0 || !s[5])
                return false;
        for (s += 5; *s; s++) {
                if (*s < '0' || *s > '9')
                        return false;
                v = v > SIZE_MAX / 10 - 1 ? SIZE_MAX / 10 : v * 10 + (size_t) (*s - '0');
        }
        *ret = v;
        return true;
}

/* mac=GLOB in the form sysfs gives: '-' outside a bracket expression becomes ':'. */
static void mac_glob_colons(char *p)
{
        bool bracket = false;

        for (; *p; p++) {
                if (*p == '\\' && p[1])
                        p++;
                else if (!bracket && *p == '[') {
                        bracket = true;
                        if (p[1] == '!' || p[1] == '^')
                                p++;
                        if (p[1] == ']')
                                p++; /* a leading ']' is a member, not the end */
                } else if (bracket && *p == ']')
                        bracket = false;
                else if (!bracket && *p == '-')
                        *p = ':';
        }
}

/* What Linux accepts as an interface name (dev_valid_name()), less the characters that say
 * the selector was meant as something else. */
static bool nic_name_plausible(const char *s)
{
        return strlen(s) < sizeof(((struct hw_nic *) NULL)->name) && strcmp(s, ".") != 0 &&
               strcmp(s, "..") != 0 && !strpbrk(s, "/: ,*?[");
}

/* The NICs s (the trimmed copy of sel) names, in the order of readings hw.h gives. */
static int nics_select(char *s, const char *sel, const struct hw_nic *nics, size_t n,
                       const char *bootif, size_t *ret_idx, size_t *ret_k, struct err *err)
{
        char qs[QUOTE_MAX + 4];
        struct clause c[SEL_MAX_ITEMS];
        size_t k = 0, n_c, nth;
        uint8_t mac[6];
        int r;

        /* A NIC's own name wins over every other reading: Linux lets it be almost anything. */
        for (size_t i = 0; i < n; i++)
                if (strcmp(nics[i].name, s) == 0)
                        ret_idx[k++] = i;
        if (k > 0) {
                *ret_k = k;
                return 0;
        }

        if (parse_mac(s, mac)) {
                *ret_k = nics_with_mac(nics, n, mac, ret_idx);
                return 0;
        }
        if (strcasecmp(s, "link") == 0) {
                for (size_t i = 0; i < n; i++)
                        if (!nics[i].virtual_dev && nics[i].carrier == HW_YES)
                                ret_idx[k++] = i;
                *ret_k = k;
                return 0;
        }
        if (strcasecmp(s, "bootif") == 0) {
                if (!bootif) { /* not booted by PXE: none */
                        *ret_k = 0;
                        return 0;
                }
                if (!parse_mac(bootif, mac))
                        return err_set(err, -EINVAL, "BOOTIF '%s' is not a MAC address",
                                       quote(bootif, QUOTE_MAX, qs));
                *ret_k = nics_with_mac(nics, n, mac, ret_idx);
                return 0;
        }
        if (vmnic_number(s, &nth)) {
                /* ESXi numbers the physical NICs from 0; the rank of each by name, so that
                 * the order the caller keeps them in does not matter. */
                for (size_t i = 0; i < n && k == 0; i++) {
                        size_t rank = 0;
                        if (nics[i].virtual_dev)
                                continue;
                        for (size_t j = 0; j < n; j++) {
                                int cmp = strcmp(nics[j].name, nics[i].name);
                                if (!nics[j].virtual_dev && (cmp < 0 || (cmp == 0 && j < i)))
                                        rank++;
                        }
                        if (rank == nth)
                                ret_idx[k++] = i;
                }
                *ret_k = k;
                return 0;
        }
        if (strchr(s, '=')) {
                r = parse_clauses(s, sel, &nic_keyset, c, &n_c, err);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < n_c; j++)
                        if (c[j].key == NIC_KEY_MAC)
                                mac_glob_colons(c[j].value);
                for (size_t i = 0; i < n; i++) {
                        bool ok = !nics[i].virtual_dev;
                        for (size_t j = 0; j < n_c && ok; j++) {
                                const char *field = c[j].key == NIC_KEY_NAME  ? nics[i].name
                                                    : c[j].key == NIC_KEY_MAC ? nics[i].mac
                                                                              : nics[i].driver;
                                /* Names are case-sensitive in Linux; MACs and drivers not. */
                                ok = fnmatch(c[j].value, field,
                                             c[j].key == NIC_KEY_NAME ? 0 : FNM_CASEFOLD) == 0;
                        }
                        if (ok)
                                ret_idx[k++] = i;
                }
                *ret_k = k;
                return 0;
        }
        if (!nic_name_plausible(s))
                return err_set(err, -EINVAL,
                               "NIC selector '%s' is neither a NIC name nor a MAC address; "
                               "write a name, a MAC, link, bootif, vmnicN or KEY=GLOB with keys "
                               "%s",
                               quote(sel, QUOTE_MAX, qs), nic_keyset.list);
        *ret_k = 0; /* a name no NIC has */
        return 0;
}

int hw_nics_match(const char *sel, const struct hw_nic *nics, size_t n, const char *bootif,
                  size_t *ret_idx, size_t *ret_n, struct err *err)
{
        char buf[SEL_MAX + 1];
        size_t k = 0;
        char *s;
        int r;

        r = selector_copy(sel, "NIC selector", buf, &s, err);
        if (r < 0)
                return r;
        r = nics_select(s, sel, nics, n, bootif, ret_idx, &k, err);
        if (r < 0)
                return r;
        *ret_n = k;
        return 0;
}
