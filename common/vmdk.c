#include "vmdk.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bytes.h"
#include "cleanup.h"

struct vmdk_extent {
        enum vmdk_extent_type type;
        uint64_t start;   /* first virtual byte */
        uint64_t len;     /* virtual bytes */
        struct input *in; /* NULL for ZERO */
        bool owns_in;
        uint64_t flat_offset; /* bytes into the file */
        /* SPARSE */
        struct vmdk_header h;
        uint64_t grain_bytes;
        uint64_t gt_cover; /* bytes per grain table */
        uint32_t *gd;
        uint64_t gd_entries;
        uint32_t *gt;
        uint64_t gt_cached; /* index of the table in gt, UINT64_MAX for none */
};

struct vmdk {
        struct image img;
        struct vmdk_desc desc;
        struct vmdk_extent *extents;
        unsigned n_extents;
        unsigned last; /* extent of the last lookup: conversions walk forward */
};

static const char *const extent_type_names[VMDK_EXTENT_TYPE_COUNT] = {
        [VMDK_EXTENT_FLAT] = "FLAT",
        [VMDK_EXTENT_SPARSE] = "SPARSE",
        [VMDK_EXTENT_ZERO] = "ZERO",
};

static bool is_descriptor_text(const uint8_t *buf, size_t len)
{
        size_t i = 0;

        /* Skip comment and blank lines; the first real line must be "version=". */
        while (i < len) {
                while (i < len &&
                       (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
                        i++;
                if (i < len && buf[i] == '#') {
                        while (i < len && buf[i] != '\n')
                                i++;
                        continue;
                }
                break;
        }
        if (len - i < 8 || strncasecmp((const char *) buf + i, "version", 7) != 0)
                return false;
        i += 7;
        while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
                i++;
        return i < len && buf[i] == '=';
}

bool vmdk_probe(const uint8_t *buf, size_t len)
{
        if (len >= 4 && (le32_load(buf) == VMDK_MAGIC || memcmp(buf, "COWD", 4) == 0))
                return true;
        return is_descriptor_text(buf, len);
}

int vmdk_parse_header(const uint8_t *buf, size_t len, uint64_t file_size, struct vmdk_header *ret,
                      struct err *err)
{
        struct vmdk_header h;
        uint64_t file_sectors = file_size / 512;

        if (len < VMDK_HEADER_SIZE)
                return err_set(err, -EBADMSG, "header truncated (%zu bytes)", len);
        if (le32_load(buf) != VMDK_MAGIC)
                return err_set(err, -EMEDIUMTYPE, "not a VMDK sparse extent");
        h.version = le32_load(buf + 4);
        h.flags = le32_load(buf + 8);
        h.capacity = le64_load(buf + 12);
        h.grain_size = le64_load(buf + 20);
        h.desc_offset = le64_load(buf + 28);
        h.desc_size = le64_load(buf + 36);
        h.num_gtes_per_gt = le32_load(buf + 44);
        h.rgd_offset = le64_load(buf + 48);
        h.gd_offset = le64_load(buf + 56);
        h.overhead = le64_load(buf + 64);
        h.compress_algorithm = le16_load(buf + 77);

        if (h.version < 1 || h.version > 3)
                return err_set(err, -EOPNOTSUPP, "VMDK version %u is not supported", h.version);
        if (h.grain_size < 1 || h.grain_size > VMDK_MAX_GRAIN ||
            (h.grain_size & (h.grain_size - 1)))
                return err_set(err, -EBADMSG, "bad grain size %llu sectors",
                               (unsigned long long) h.grain_size);
        if (h.num_gtes_per_gt < 1 || h.num_gtes_per_gt > VMDK_MAX_GTES)
                return err_set(err, -EBADMSG, "bad grain table size %u entries", h.num_gtes_per_gt);
        if (h.capacity > IMAGE_MAX_SIZE / 512)
                return err_set(err, -EFBIG, "capacity of %llu sectors is absurd",
                               (unsigned long long) h.capacity);
        if ((h.flags & VMDK_FLAG_NL_TEST) && memcmp(buf + 73, "\n \r\n", 4) != 0)
                return err_set(err, -EBADMSG,
                               "line endings were mangled (transferred in text mode?)");
        if (h.flags & VMDK_FLAG_COMPRESSED) {
                if (h.compress_algorithm != 1)
                        return err_set(err, -EOPNOTSUPP,
                                       "compression algorithm %u is not supported",
                                       h.compress_algorithm);
                if (!(h.flags & VMDK_FLAG_MARKERS))
                        return err_set(err, -EOPNOTSUPP,
                                       "compressed grains without markers are not supported");
        }
        /* Written so that no addition can wrap around. */
        if (h.desc_offset &&
            (h.desc_size > file_sectors || h.desc_offset > file_sectors - h.desc_size))
                return err_set(err, -EBADMSG, "descriptor lies outside the file");
        /* Limits that hold even when the file size is unknown (a stream): no later '* 512'
         * can wrap. */
        if (h.desc_offset > IMAGE_MAX_SIZE / 512 || h.overhead > IMAGE_MAX_SIZE / 512 ||
            (h.gd_offset != VMDK_GD_AT_END && h.gd_offset > IMAGE_MAX_SIZE / 512))
                return err_set(err, -EBADMSG, "metadata offsets beyond any possible file");
        if (h.desc_size > VMDK_MAX_DESC / 512)
                return err_set(err, -EBADMSG, "descriptor of %llu sectors is too large",
                               (unsigned long long) h.desc_size);
        if (h.gd_offset != VMDK_GD_AT_END && h.gd_offset >= file_sectors && file_size != UINT64_MAX)
                return err_set(err, -EBADMSG, "grain directory lies outside the file");
        if (file_size != UINT64_MAX && h.overhead > file_sectors)
                return err_set(err, -EBADMSG, "metadata size %llu sectors exceeds the file",
                               (unsigned long long) h.overhead);
        *ret = h;
        return 0;
}

/* ---- descriptor ---- */

static char *trim(char *s)
{
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                *--e = 0;
        return s;
}

static char *unquote(char *s)
{
        size_t n = strlen(s);

        if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
                s[n - 1] = 0;
                return s + 1;
        }
        return s;
}

static int parse_u64(const char *s, int base, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        if (!*s || *s == '-' || *s == '+' || isspace((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, base);
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_extent_line(char *line, unsigned lineno, struct vmdk_desc_extent *ret,
                             struct err *err)
{
        char *access, *sectors, *type, *file = NULL, *offset = NULL, *p;
        struct vmdk_desc_extent e = { 0 };
        char *save = NULL;

        access = strtok_r(line, " \t", &save);
        sectors = strtok_r(NULL, " \t", &save);
        type = strtok_r(NULL, " \t", &save);
        if (!access || !sectors || !type)
                return err_set(err, -EBADMSG, "descriptor line %u: incomplete extent", lineno);
        p = save ? trim(save) : NULL;
        if (p && *p == '"') {
                char *q = strchr(p + 1, '"');
                if (!q)
                        return err_set(err, -EBADMSG, "descriptor line %u: unterminated file name",
                                       lineno);
                *q = 0;
                file = p + 1;
                offset = trim(q + 1);
        } else if (p && *p) {
                return err_set(err, -EBADMSG, "descriptor line %u: file name must be quoted",
                               lineno);
        }
        if (strcasecmp(access, "NOACCESS") == 0)
                return err_set(err, -EOPNOTSUPP,
                               "descriptor line %u: NOACCESS extents cannot be read", lineno);
        if (parse_u64(sectors, 10, &e.sectors) < 0 || e.sectors == 0 ||
            e.sectors > IMAGE_MAX_SIZE / 512)
                return err_set(err, -EBADMSG, "descriptor line %u: bad extent size '%s'", lineno,
                               sectors);

        if (strcasecmp(type, "FLAT") == 0 || strcasecmp(type, "VMFS") == 0)
                e.type = VMDK_EXTENT_FLAT;
        else if (strcasecmp(type, "SPARSE") == 0)
                e.type = VMDK_EXTENT_SPARSE;
        else if (strcasecmp(type, "ZERO") == 0)
                e.type = VMDK_EXTENT_ZERO;
        else if (strcasecmp(type, "VMFSRDM") == 0 || strcasecmp(type, "VMFSRAW") == 0)
                return err_set(
                        err, -EOPNOTSUPP,
                        "descriptor line %u: raw device mappings cannot be converted; copy the device itself",
                        lineno);
        else
                return err_set(err, -EOPNOTSUPP,
                               "descriptor line %u: extent type '%s' is not supported", lineno,
                               type);

        if (e.type != VMDK_EXTENT_ZERO) {
                if (!file || !*file)
                        return err_set(err, -EBADMSG, "descriptor line %u: extent without a file",
                                       lineno);
                if (offset && *offset && parse_u64(offset, 10, &e.offset) < 0)
                        return err_set(err, -EBADMSG, "descriptor line %u: bad offset '%s'", lineno,
                                       offset);
                if (e.offset > IMAGE_MAX_SIZE / 512)
                        return err_set(err, -EBADMSG, "descriptor line %u: offset too large",
                                       lineno);
                e.file = strdup(file);
                if (!e.file)
                        return -ENOMEM;
        }
        *ret = e;
        return 0;
}

void vmdk_desc_release(struct vmdk_desc *d)
{
        for (unsigned i = 0; i < d->n_extents; i++)
                free(d->extents[i].file);
        free(d->extents);
        free(d->parent_hint);
        *d = (struct vmdk_desc){ 0 };
}

static void vmdk_desc_releasep(struct vmdk_desc *d)
{
        vmdk_desc_release(d);
}

static void copy_value(char *dst, size_t size, const char *v)
{
        (void) snprintf(dst, size, "%s", v);
}

int vmdk_parse_descriptor(const char *text, size_t len, struct vmdk_desc *ret, struct err *err)
{
        _cleanup_(vmdk_desc_releasep) struct vmdk_desc d = { .cid = 0,
                                                             .parent_cid = VMDK_NO_PARENT };
        _cleanup_free_ char *buf = NULL;
        char *line;
        unsigned lineno = 0;
        bool have_version = false;
        uint64_t total = 0;

        if (len > VMDK_MAX_DESC)
                return err_set(err, -EBADMSG, "descriptor larger than %u bytes", VMDK_MAX_DESC);
        buf = strndup(text, len); /* stops at the first NUL: embedded descriptors are padded */
        if (!buf)
                return -ENOMEM;

        for (char *rest = buf; (line = strsep(&rest, "\n"));) {
                char *eq, *key, *value;

                lineno++;
                line = trim(line);
                if (!*line || *line == '#')
                        continue;
                if (strncasecmp(line, "RW", 2) == 0 || strncasecmp(line, "RDONLY", 6) == 0 ||
                    strncasecmp(line, "NOACCESS", 8) == 0) {
                        char c = line[strncasecmp(line, "RW", 2) == 0       ? 2
                                      : strncasecmp(line, "RDONLY", 6) == 0 ? 6
                                                                            : 8];
                        if (c == ' ' || c == '\t') {
                                struct vmdk_desc_extent *n;
                                int r;

                                if (d.n_extents >= VMDK_MAX_EXTENTS)
                                        return err_set(err, -EBADMSG, "more than %u extents",
                                                       VMDK_MAX_EXTENTS);
                                n = realloc(d.extents, (d.n_extents + 1) * sizeof(*n));
                                if (!n)
                                        return -ENOMEM;
                                d.extents = n;
                                r = parse_extent_line(line, lineno, &d.extents[d.n_extents], err);
                                if (r < 0)
                                        return r;
                                if (d.extents[d.n_extents].sectors > IMAGE_MAX_SIZE / 512 - total)
                                        return err_set(err, -EFBIG,
                                                       "extents add up to an absurd size");
                                total += d.extents[d.n_extents].sectors;
                                d.n_extents++;
                                continue;
                        }
                }
                eq = strchr(line, '=');
                if (!eq)
                        return err_set(err, -EBADMSG, "descriptor line %u is not understood",
                                       lineno);
                *eq = 0;
                key = trim(line);
                value = unquote(trim(eq + 1));

                if (strcasecmp(key, "version") == 0) {
                        uint64_t v;
                        if (parse_u64(value, 10, &v) < 0 || v < 1 || v > 3)
                                return err_set(err, -EOPNOTSUPP,
                                               "descriptor version '%s' is not supported", value);
                        have_version = true;
                } else if (strcasecmp(key, "CID") == 0 || strcasecmp(key, "parentCID") == 0) {
                        uint64_t v;
                        if (parse_u64(value, 16, &v) < 0 || v > UINT32_MAX)
                                return err_set(err, -EBADMSG, "descriptor line %u: bad %s '%s'",
                                               lineno, key, value);
                        if (strcasecmp(key, "CID") == 0)
                                d.cid = (uint32_t) v;
                        else
                                d.parent_cid = (uint32_t) v;
                } else if (strcasecmp(key, "createType") == 0) {
                        copy_value(d.create_type, sizeof(d.create_type), value);
                } else if (strcasecmp(key, "parentFileNameHint") == 0) {
                        free(d.parent_hint);
                        d.parent_hint = strdup(value);
                        if (!d.parent_hint)
                                return -ENOMEM;
                } else if (strcasecmp(key, "ddb.adapterType") == 0) {
                        copy_value(d.adapter_type, sizeof(d.adapter_type), value);
                } else if (strcasecmp(key, "ddb.virtualHWVersion") == 0) {
                        copy_value(d.hw_version, sizeof(d.hw_version), value);
                }
                /* Other keys (encoding, geometry, uuid, tools...) do not affect the data. */
        }
        if (!have_version)
                return err_set(err, -EBADMSG, "descriptor has no version line");
        *ret = d;
        d = (struct vmdk_desc){ 0 };
        return 0;
}

/* ---- sparse extents ---- */

static int sparse_load_gd(struct vmdk_extent *e, struct err *err)
{
        struct vmdk_header h = e->h;
        uint64_t file_size = e->in->size, bytes;
        int r;

        if (h.gd_offset == VMDK_GD_AT_END) {
                /* VMware-style stream: the footer (a header copy with the real GD offset) sits
                 * between a footer marker and the end-of-stream marker at the very end. */
                uint8_t tail[1536];

                if (!input_seekable(e->in) || file_size < 1536 + 512)
                        return err_set(err, -EBADMSG, "'%s' has no footer (truncated stream?)",
                                       e->in->name);
                r = input_pread_full(e->in, tail, sizeof(tail), file_size - sizeof(tail), err);
                if (r < 0)
                        return r;
                if (le32_load(tail + 8) != 0 || le32_load(tail + 12) != VMDK_MARKER_FOOTER ||
                    !bytes_are_zero(tail + 1024, 512))
                        return err_set(err, -EBADMSG,
                                       "'%s' has no valid footer (truncated stream?)", e->in->name);
                r = vmdk_parse_header(tail + 512, 512, file_size, &h, err);
                if (r < 0)
                        return err_prefix(err, r == -EMEDIUMTYPE ? -EBADMSG : r, "'%s' footer",
                                          e->in->name);
                if (h.gd_offset == VMDK_GD_AT_END || h.grain_size != e->h.grain_size ||
                    h.num_gtes_per_gt != e->h.num_gtes_per_gt || h.capacity != e->h.capacity)
                        return err_set(err, -EBADMSG, "'%s': footer disagrees with the header",
                                       e->in->name);
        }
        e->gd_entries = div_round_up(e->h.capacity, e->h.grain_size * e->h.num_gtes_per_gt);
        bytes = e->gd_entries * 4;
        if (bytes > VMDK_MAX_GD_BYTES)
                return err_set(err, -EFBIG, "'%s': grain directory too large", e->in->name);
        if (h.gd_offset > file_size / 512 || bytes > file_size - h.gd_offset * 512)
                return err_set(err, -EBADMSG, "'%s': grain directory lies outside the file",
                               e->in->name);
        e->gd = malloc(bytes ? bytes : 1);
        e->gt = malloc((size_t) e->h.num_gtes_per_gt * 4);
        if (!e->gd || !e->gt)
                return -ENOMEM;
        r = input_pread_full(e->in, e->gd, bytes, h.gd_offset * 512, err);
        if (r < 0)
                return r;
        for (uint64_t i = 0; i < e->gd_entries; i++)
                e->gd[i] = le32_load(&e->gd[i]);
        e->gt_cached = UINT64_MAX;
        return 0;
}

static int sparse_map(struct vmdk_extent *e, uint64_t off, uint64_t len, struct image_map *ret,
                      struct err *err)
{
        uint64_t file_size = e->in->size, file_sectors = file_size / 512;
        uint64_t gt_index, grain, g, in_grain, done, gte;
        int r;

        if (!e->gd) {
                r = sparse_load_gd(e, err);
                if (r < 0)
                        return r;
        }
        if (off >= e->h.capacity * 512) /* descriptor says more than the extent holds */
                return err_set(err, -EBADMSG, "'%s': read past the extent's capacity", e->in->name);
        gt_index = off / e->gt_cover;
        grain = off / e->grain_bytes;
        g = grain % e->h.num_gtes_per_gt;
        in_grain = off % e->grain_bytes;

        if (e->gd[gt_index] == 0) {
                uint64_t rest = e->gt_cover - off % e->gt_cover;
                *ret = (struct image_map){ .kind = IMAGE_MAP_UNALLOC,
                                           .len = rest < len ? rest : len };
                return 0;
        }
        if (e->gt_cached != gt_index) {
                uint64_t gt_sector = e->gd[gt_index];
                size_t gt_bytes = (size_t) e->h.num_gtes_per_gt * 4;

                if (gt_sector > file_sectors || gt_bytes > file_size - gt_sector * 512)
                        return err_set(err, -EBADMSG,
                                       "'%s': grain table %llu lies outside the file", e->in->name,
                                       (unsigned long long) gt_index);
                e->gt_cached = UINT64_MAX;
                r = input_pread_full(e->in, e->gt, gt_bytes, gt_sector * 512, err);
                if (r < 0)
                        return r;
                for (uint32_t i = 0; i < e->h.num_gtes_per_gt; i++)
                        e->gt[i] = le32_load(&e->gt[i]);
                e->gt_cached = gt_index;
        }

        gte = e->gt[g];
        done = e->grain_bytes - in_grain;
        if (gte == 0 || (gte == 1 && (e->h.flags & VMDK_FLAG_ZERO_GRAIN))) {
                uint64_t same = gte;
                while (done < len && g + 1 < e->h.num_gtes_per_gt && e->gt[g + 1] == same) {
                        g++;
                        done += e->grain_bytes;
                }
                *ret = (struct image_map){ .kind = same ? IMAGE_MAP_ZERO : IMAGE_MAP_UNALLOC,
                                           .len = done < len ? done : len };
                return 0;
        }
        if (gte > file_sectors)
                return err_set(
                        err, -EBADMSG,
                        "'%s': grain table entry for sector %llu points past the end of the file",
                        e->in->name, (unsigned long long) (off / 512));

        if (e->h.flags & VMDK_FLAG_COMPRESSED) {
                uint8_t marker[12];
                uint64_t lba;
                uint32_t clen;

                r = input_pread_full(e->in, marker, sizeof(marker), gte * 512, err);
                if (r < 0)
                        return r;
                lba = le64_load(marker);
                clen = le32_load(marker + 8);
                if (lba != grain * e->h.grain_size)
                        return err_set(err, -EBADMSG,
                                       "'%s': grain at sector %llu is marked for sector %llu",
                                       e->in->name, (unsigned long long) (grain * e->h.grain_size),
                                       (unsigned long long) lba);
                if (clen == 0 || clen > 2 * e->grain_bytes + 1024 ||
                    clen > file_size - gte * 512 - 12)
                        return err_set(err, -EBADMSG,
                                       "'%s': bad compressed grain size %u at sector %llu",
                                       e->in->name, clen, (unsigned long long) gte);
                *ret = (struct image_map){
                        .kind = IMAGE_MAP_DEFLATE,
                        .len = done < len ? done : len,
                        .in = e->in,
                        .host_off = gte * 512 + 12,
                        .deflate = IMAGE_DEFLATE_ZLIB,
                        .clen = clen,
                        .unit_len = (uint32_t) e->grain_bytes,
                        .unit_start = off - in_grain,
                };
                return 0;
        }

        if (e->grain_bytes > file_size - gte * 512)
                return err_set(err, -EBADMSG,
                               "'%s': grain at sector %llu runs past the end of the file",
                               e->in->name, (unsigned long long) gte);
        /* Grains written in order sit back to back: answer for the whole run at once. */
        uint64_t next = gte + e->h.grain_size;
        while (done < len && g + 1 < e->h.num_gtes_per_gt && e->gt[g + 1] == next &&
               e->grain_bytes <= file_size - next * 512) {
                g++;
                done += e->grain_bytes;
                next += e->h.grain_size;
        }
        *ret = (struct image_map){
                .kind = IMAGE_MAP_DATA,
                .len = done < len ? done : len,
                .in = e->in,
                .host_off = gte * 512 + in_grain,
        };
        return 0;
}

/* ---- the image ---- */

static int vmdk_map(struct image *img, uint64_t off, uint64_t len, struct image_map *ret,
                    struct err *err)
{
        struct vmdk *v = (struct vmdk *) img;
        struct vmdk_extent *e;
        uint64_t rel;
        unsigned i = v->last < v->n_extents ? v->last : 0;

        if (off < v->extents[i].start)
                i = 0;
        while (i < v->n_extents && off >= v->extents[i].start + v->extents[i].len)
                i++;
        if (i == v->n_extents)
                return err_set(err, -EINVAL, "offset beyond the last extent");
        v->last = i;
        e = &v->extents[i];
        rel = off - e->start;
        if (len > e->len - rel)
                len = e->len - rel;

        switch (e->type) {
        case VMDK_EXTENT_ZERO:
                *ret = (struct image_map){ .kind = IMAGE_MAP_ZERO, .len = len };
                return 0;
        case VMDK_EXTENT_FLAT: {
                uint64_t host = e->flat_offset + rel, data;

                if (host > e->in->size || len > e->in->size - host)
                        return err_set(err, -EBADMSG, "'%s' is shorter than its extent line says",
                                       e->in->name);
                if (input_next_data(e->in, host, &data) == 0 && data > host) {
                        *ret = (struct image_map){ .kind = IMAGE_MAP_ZERO,
                                                   .len = data - host < len ? data - host : len };
                        return 0;
                }
                *ret = (struct image_map){
                        .kind = IMAGE_MAP_DATA, .len = len, .in = e->in, .host_off = host
                };
                return 0;
        }
        case VMDK_EXTENT_SPARSE: {
                int r = sparse_map(e, rel, len, ret, err);
                if (r >= 0 && ret->kind == IMAGE_MAP_DEFLATE)
                        ret->unit_start += e->start;
                return r;
        }
        default:
                return -EINVAL;
        }
}

static int vmdk_check_backing(struct image *img, struct image *backing, struct err *err)
{
        struct vmdk *v = (struct vmdk *) img, *p;

        if (backing->format != IMAGE_FORMAT_VMDK)
                return err_set(err, -EMEDIUMTYPE, "parent '%s' of '%s' is not a VMDK",
                               backing->in->name, img->in->name);
        p = (struct vmdk *) backing;
        if (v->desc.parent_cid != p->desc.cid)
                return err_set(
                        err, -EBADMSG,
                        "parent '%s' has CID %08x but '%s' was made on CID %08x: the parent changed after the snapshot",
                        backing->in->name, p->desc.cid, img->in->name, v->desc.parent_cid);
        return 0;
}

static void vmdk_free(struct image *img)
{
        struct vmdk *v = (struct vmdk *) img;

        for (unsigned i = 0; i < v->n_extents; i++) {
                if (v->extents[i].owns_in)
                        input_free(v->extents[i].in);
                free(v->extents[i].gd);
                free(v->extents[i].gt);
        }
        free(v->extents);
        vmdk_desc_release(&v->desc);
}

static const struct image_ops vmdk_ops = {
        .map = vmdk_map,
        .check_backing = vmdk_check_backing,
        .free = vmdk_free,
};

static int sparse_init(struct vmdk_extent *e, struct err *err)
{
        uint8_t buf[VMDK_HEADER_SIZE];
        int r;

        r = input_pread_full(e->in, buf, sizeof(buf), 0, err);
        if (r < 0)
                return r;
        if (memcmp(buf, "COWD", 4) == 0)
                return err_set(
                        err, -EOPNOTSUPP,
                        "'%s' is an ESXi vmfsSparse (COWD) extent, which is not supported; export the disk with ovftool or vmkfstools first",
                        e->in->name);
        r = vmdk_parse_header(buf, sizeof(buf), e->in->size, &e->h, err);
        if (r < 0)
                return err_prefix(err, r, "'%s'", e->in->name);
        e->grain_bytes = e->h.grain_size * 512;
        e->gt_cover = e->grain_bytes * e->h.num_gtes_per_gt;
        return 0;
}

static int vmdk_add_extent(struct vmdk *v, struct vmdk_extent *e)
{
        struct vmdk_extent *n = realloc(v->extents, (v->n_extents + 1) * sizeof(*n));

        if (!n)
                return -ENOMEM;
        v->extents = n;
        n[v->n_extents++] = *e;
        return 0;
}

static int vmdk_open_descriptor(struct vmdk *v, struct err *err)
{
        struct image *img = &v->img;
        uint64_t pos = 0;
        int r;

        for (unsigned i = 0; i < v->desc.n_extents; i++) {
                struct vmdk_desc_extent *d = &v->desc.extents[i];
                struct vmdk_extent e = { .type = d->type, .start = pos, .len = d->sectors * 512 };

                if (d->type != VMDK_EXTENT_ZERO) {
                        r = input_open_sibling(img->in, d->file, &e.in, err);
                        if (r < 0)
                                return err_prefix(err, r, "'%s': extent %u", img->in->name, i + 1);
                        e.owns_in = true;
                        e.flat_offset = d->offset * 512;
                        img->allocated += e.in->alloc;
                        r = image_add_file(img, e.in);
                        if (r < 0) {
                                input_free(e.in);
                                return r;
                        }
                }
                r = vmdk_add_extent(v, &e);
                if (r < 0) {
                        input_free(e.in);
                        return r;
                }
                if (d->type == VMDK_EXTENT_SPARSE) {
                        struct vmdk_extent *x = &v->extents[v->n_extents - 1];
                        r = sparse_init(x, err);
                        if (r < 0)
                                return r;
                        if (x->h.capacity < d->sectors)
                                return err_set(
                                        err, -EBADMSG,
                                        "'%s' holds %llu sectors but the descriptor says %llu",
                                        x->in->name, (unsigned long long) x->h.capacity,
                                        (unsigned long long) d->sectors);
                } else if (d->type == VMDK_EXTENT_FLAT) {
                        struct vmdk_extent *x = &v->extents[v->n_extents - 1];
                        if (x->flat_offset > x->in->size || x->len > x->in->size - x->flat_offset)
                                return err_set(
                                        err, -EBADMSG,
                                        "'%s' is %llu bytes, shorter than its extent of %llu bytes",
                                        x->in->name, (unsigned long long) x->in->size,
                                        (unsigned long long) x->len);
                }
                (void) image_add_extent(img, d->file ? d->file : "", extent_type_names[d->type],
                                        e.len, e.flat_offset);
                pos += e.len;
        }
        if (v->n_extents == 0)
                return err_set(err, -EBADMSG, "'%s' lists no extents", img->in->name);
        img->size = pos;
        return 0;
}

static const char *const device_types[] = { "fullDevice", "partitionedDevice",
                                            "vmfsRDM",    "vmfsRaw",
                                            "vmfsRDMP",   "vmfsPassthroughRawDeviceMap" };

int vmdk_open(struct input *in, struct image **ret, struct err *err)
{
        _cleanup_(input_freep) struct input *owned = in;
        _cleanup_(image_freep) struct image *img = NULL;
        uint8_t head[VMDK_HEADER_SIZE] = { 0 };
        struct vmdk *v;
        ssize_t n;
        int r;

        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        img = &v->img;
        img->ops = &vmdk_ops;
        img->format = IMAGE_FORMAT_VMDK;
        img->backing_format = IMAGE_FORMAT_VMDK;
        img->in = TAKE_PTR(owned);
        v->desc.parent_cid = VMDK_NO_PARENT;

        n = img->in->ops->pread(img->in, head, sizeof(head), 0);
        if (n < 0)
                return err_set(err, (int) n, "cannot read '%s'", img->in->name);
        if (n >= 4 && memcmp(head, "COWD", 4) == 0)
                return err_set(
                        err, -EOPNOTSUPP,
                        "'%s' is an ESXi vmfsSparse (COWD) extent, which is not supported; export the disk with ovftool or vmkfstools first",
                        img->in->name);

        if (n >= 4 && le32_load(head) == VMDK_MAGIC) {
                /* A sparse extent that describes itself: monolithicSparse or streamOptimized. */
                struct vmdk_extent e = { .type = VMDK_EXTENT_SPARSE, .in = img->in };

                r = sparse_init(&e, err);
                if (r < 0)
                        return r;
                if (e.h.desc_offset && e.h.desc_size) {
                        _cleanup_free_ char *text = malloc(e.h.desc_size * 512);
                        if (!text)
                                return -ENOMEM;
                        r = input_pread_full(img->in, text, e.h.desc_size * 512,
                                             e.h.desc_offset * 512, err);
                        if (r < 0)
                                return r;
                        r = vmdk_parse_descriptor(text, e.h.desc_size * 512, &v->desc, err);
                        if (r < 0)
                                return err_prefix(err, r, "'%s': embedded descriptor",
                                                  img->in->name);
                }
                e.len = e.h.capacity * 512;
                r = vmdk_add_extent(v, &e);
                if (r < 0)
                        return r;
                img->size = e.len;
                if (!v->desc.create_type[0])
                        copy_value(v->desc.create_type, sizeof(v->desc.create_type),
                                   (e.h.flags & VMDK_FLAG_COMPRESSED) ? "streamOptimized"
                                                                      : "monolithicSparse");
                (void) image_add_extent(img, img->in->name, "SPARSE", e.len, 0);
                (void) image_add_prop(img, "grain_size", "%llu",
                                      (unsigned long long) e.grain_bytes);
                (void) image_add_prop(img, "version", "%u", e.h.version);
                if (e.h.flags & VMDK_FLAG_COMPRESSED)
                        (void) image_add_prop(img, "compressed", "true");
                img->streamable =
                        (e.h.flags & VMDK_FLAG_MARKERS) && (e.h.flags & VMDK_FLAG_COMPRESSED);
        } else {
                _cleanup_free_ char *text = NULL;

                if (img->in->size > VMDK_MAX_DESC)
                        return err_set(err, -EBADMSG,
                                       "'%s' is too large for a VMDK descriptor file",
                                       img->in->name);
                text = malloc(img->in->size + 1);
                if (!text)
                        return -ENOMEM;
                r = input_pread_full(img->in, text, img->in->size, 0, err);
                if (r < 0)
                        return r;
                r = vmdk_parse_descriptor(text, img->in->size, &v->desc, err);
                if (r < 0)
                        return err_prefix(err, r, "'%s'", img->in->name);
                for (size_t i = 0; i < ELEMENTSOF(device_types); i++)
                        if (strcasecmp(v->desc.create_type, device_types[i]) == 0)
                                return err_set(
                                        err, -EOPNOTSUPP,
                                        "'%s' maps a raw device (%s); copy the device itself",
                                        img->in->name, v->desc.create_type);
                img->allocated = img->in->alloc;
                r = vmdk_open_descriptor(v, err);
                if (r < 0)
                        return r;
        }

        copy_value(img->subformat, sizeof(img->subformat), v->desc.create_type);
        if (v->desc.parent_hint && v->desc.parent_cid != VMDK_NO_PARENT) {
                img->backing_name = strdup(v->desc.parent_hint);
                if (!img->backing_name)
                        return -ENOMEM;
                img->streamable = false;
        }
        (void) image_add_prop(img, "cid", "%08x", v->desc.cid);
        if (v->desc.parent_cid != VMDK_NO_PARENT)
                (void) image_add_prop(img, "parent_cid", "%08x", v->desc.parent_cid);
        if (v->desc.adapter_type[0])
                (void) image_add_prop(img, "adapter_type", "%s", v->desc.adapter_type);
        if (v->desc.hw_version[0])
                (void) image_add_prop(img, "hw_version", "%s", v->desc.hw_version);
        *ret = TAKE_PTR(img);
        return 0;
}
