#pragma once
/* Shared by the unit tests of the disk engine: builders for synthetic VMDK images (headers,
 * streamOptimized streams in VMware's and qemu's layouts), a scratch directory under /tmp, a
 * reader that fetches the virtual bytes of an opened image through image_map_chain(), and a
 * list of cmocka cases assembled at run time so that every row of a table of inputs runs (and
 * is reported) as a case of its own.
 *
 * Everything here is static inline: each test file uses a different subset. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <zlib.h>

#include "bytes.h"
#include "cleanup.h"
#include "image.h"
#include "vmdk.h"

/* ---- cases assembled at run time ---- */

struct test_list {
        struct CMUnitTest *tests;
        size_t n, cap;
};

static inline void tests_add(struct test_list *l, const char *name, CMUnitTestFunction f,
                             CMFixtureFunction setup, CMFixtureFunction teardown, void *state)
{
        if (l->n == l->cap) {
                size_t cap = l->cap ? 2 * l->cap : 64;
                struct CMUnitTest *n = realloc(l->tests, cap * sizeof(*n));
                if (!n)
                        abort();
                l->tests = n;
                l->cap = cap;
        }
        l->tests[l->n++] = (struct CMUnitTest){ name, f, setup, teardown, state };
}

static inline int tests_run(const char *group, struct test_list *l)
{
        int r = _cmocka_run_group_tests(group, l->tests, l->n, NULL, NULL);

        free(l->tests);
        *l = (struct test_list){ 0 };
        return r;
}

/* ---- a growable byte buffer ---- */

struct tbuf {
        uint8_t *p;
        size_t len, cap;
};

/* Appends n zero bytes and returns where they start. */
static inline uint8_t *tbuf_grow(struct tbuf *b, size_t n)
{
        if (b->cap - b->len < n) {
                size_t cap = b->cap ? b->cap : 4096;
                while (cap - b->len < n)
                        cap *= 2;
                uint8_t *p = realloc(b->p, cap);
                assert_non_null(p);
                b->p = p;
                b->cap = cap;
        }
        memset(b->p + b->len, 0, n);
        b->len += n;
        return b->p + b->len - n;
}

static inline void tbuf_put(struct tbuf *b, const void *data, size_t n)
{
        memcpy(tbuf_grow(b, n), data, n);
}

/* Zero-fills up to the next multiple of align. */
static inline void tbuf_pad(struct tbuf *b, size_t align)
{
        if (b->len % align)
                (void) tbuf_grow(b, align - b->len % align);
}

/* Makes the buffer exactly len bytes long (zero-filled when it grows). */
static inline void tbuf_resize(struct tbuf *b, size_t len)
{
        if (len > b->len)
                (void) tbuf_grow(b, len - b->len);
        b->len = len;
}

static inline void tbuf_free(struct tbuf *b)
{
        free(b->p);
        *b = (struct tbuf){ 0 };
}

static inline void le16_put(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

/* ---- test content ---- */

/* Deterministic bytes that differ per offset and compress well (text-like). */
static inline void fill_pattern(uint8_t *buf, size_t len, uint64_t seed)
{
        for (size_t i = 0; i < len; i++) {
                uint64_t x = (seed + i) / 16;
                buf[i] = (uint8_t) ('a' + (x * 7 + (x >> 5)) % 26);
        }
}

/* Deterministic bytes that do not compress (xorshift). */
static inline void fill_random(uint8_t *buf, size_t len, uint64_t seed)
{
        uint64_t x = seed * 0x9e3779b97f4a7c15u + 1;

        for (size_t i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf[i] = (uint8_t) (x >> 24);
        }
}

/* ---- files ---- */

static inline char *tmpdir_new(void)
{
        char *dir = strdup("/tmp/kvmforge-unit-XXXXXX");

        assert_non_null(dir);
        assert_non_null(mkdtemp(dir));
        return dir;
}

/* The test directories are flat: remove the files, then the directory. */
static inline void tmpdir_remove(char *dir)
{
        DIR *d;
        struct dirent *de;

        if (!dir)
                return;
        d = opendir(dir);
        if (d) {
                while ((de = readdir(d))) {
                        char *p;
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        if (asprintf(&p, "%s/%s", dir, de->d_name) >= 0) {
                                (void) unlink(p);
                                free(p);
                        }
                }
                closedir(d);
        }
        (void) rmdir(dir);
        free(dir);
}

static inline char *path_join(const char *dir, const char *name)
{
        char *p;

        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        return p;
}

static inline void file_write(const char *path, const void *data, size_t len)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        size_t done = 0;

        assert_true(fd >= 0);
        while (done < len) {
                ssize_t n = write(fd, (const uint8_t *) data + done, len - done);
                assert_true(n > 0);
                done += (size_t) n;
        }
        assert_int_equal(close(fd), 0);
}

static inline void file_write_str(const char *path, const char *s)
{
        file_write(path, s, strlen(s));
}

/* Whole file into memory; *ret_len gets its size. */
static inline uint8_t *file_read(const char *path, size_t *ret_len)
{
        struct stat st;
        uint8_t *buf;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t done = 0;

        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        buf = malloc((size_t) st.st_size + 1);
        assert_non_null(buf);
        while (done < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + done, (size_t) st.st_size - done);
                assert_true(n > 0);
                done += (size_t) n;
        }
        close(fd);
        *ret_len = done;
        return buf;
}

/* ---- reading an opened image ---- */

/* Inflates the compressed unit into out (unit_len bytes); returns the bytes produced. */
static inline size_t inflate_unit(const uint8_t *in, size_t clen, enum image_deflate kind,
                                  uint8_t *out, size_t unit_len)
{
        z_stream z = { 0 };
        int r;
        size_t got;

        assert_int_equal(inflateInit2(&z, kind == IMAGE_DEFLATE_ZLIB ? 15 : -15), Z_OK);
        z.next_in = (Bytef *) in;
        z.avail_in = (uInt) clen;
        z.next_out = out;
        z.avail_out = (uInt) unit_len;
        r = inflate(&z, Z_FINISH);
        got = unit_len - z.avail_out;
        inflateEnd(&z);
        assert_true(r == Z_STREAM_END || r == Z_BUF_ERROR);
        return got;
}

/* Reads virtual bytes [off, off + len) of img through image_map_chain(); returns its result. */
static inline int image_read(struct image *img, uint64_t off, size_t len, uint8_t *out,
                             struct err *err)
{
        while (len > 0) {
                struct image_map m;
                int r = image_map_chain(img, off, len, &m, err);

                if (r < 0)
                        return r;
                assert_true(m.len > 0 && m.len <= len);
                switch (m.kind) {
                case IMAGE_MAP_ZERO:
                        memset(out, 0, m.len);
                        break;
                case IMAGE_MAP_DATA:
                        r = input_pread_full(m.in, out, m.len, m.host_off, err);
                        if (r < 0)
                                return r;
                        break;
                case IMAGE_MAP_DEFLATE: {
                        uint8_t *c = malloc(m.clen), *u = malloc(m.unit_len);
                        size_t got;

                        assert_non_null(c);
                        assert_non_null(u);
                        r = input_pread_full(m.in, c, m.clen, m.host_off, err);
                        if (r < 0) {
                                free(c);
                                free(u);
                                return r;
                        }
                        got = inflate_unit(c, m.clen, m.deflate, u, m.unit_len);
                        assert_true(off >= m.unit_start);
                        assert_true(off - m.unit_start + m.len <= got);
                        memcpy(out, u + (off - m.unit_start), m.len);
                        free(c);
                        free(u);
                        break;
                }
                default:
                        fail_msg("image_map_chain returned kind %d", (int) m.kind);
                }
                off += m.len;
                out += m.len;
                len -= m.len;
        }
        return 0;
}

/* Asserts that the whole virtual disk of img equals want (img->size bytes). */
static inline void assert_image_equals(struct image *img, const uint8_t *want, size_t size)
{
        struct err err = { { 0 } };
        size_t chunk = 1u << 20;
        uint8_t *got = malloc(chunk);

        assert_non_null(got);
        assert_int_equal(img->size, size);
        for (size_t off = 0; off < size; off += chunk) {
                size_t n = size - off < chunk ? size - off : chunk;
                int r = image_read(img, off, n, got, &err);
                if (r < 0)
                        fail_msg("reading at %zu: %d %s", off, r, err.msg);
                if (memcmp(got, want + off, n) == 0)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (got[i] != want[off + i])
                                fail_msg("byte %zu differs: 0x%02x, expected 0x%02x", off + i,
                                         got[i], want[off + i]);
        }
        free(got);
}

/* ---- VMDK ---- */

#define SECTOR 512u

/* The 512-byte sparse extent header of h, with the newline test bytes in place. */
static inline void vmdk_put_header(uint8_t *p, const struct vmdk_header *h)
{
        memset(p, 0, VMDK_HEADER_SIZE);
        le32_store(p + 0, VMDK_MAGIC);
        le32_store(p + 4, h->version);
        le32_store(p + 8, h->flags);
        le64_store(p + 12, h->capacity);
        le64_store(p + 20, h->grain_size);
        le64_store(p + 28, h->desc_offset);
        le64_store(p + 36, h->desc_size);
        le32_store(p + 44, h->num_gtes_per_gt);
        le64_store(p + 48, h->rgd_offset);
        le64_store(p + 56, h->gd_offset);
        le64_store(p + 64, h->overhead);
        memcpy(p + 73, "\n \r\n", 4);
        le16_put(p + 77, h->compress_algorithm);
}

/* A metadata marker sector (GT, GD, footer, EOS). */
static inline void vmdk_put_marker(struct tbuf *b, uint64_t sectors, uint32_t type)
{
        uint8_t *m = tbuf_grow(b, SECTOR);

        le64_store(m, sectors);
        le32_store(m + 12, type);
}

/* A grain marker and its zlib data, padded to a sector; returns the marker's sector. */
static inline uint64_t vmdk_put_grain(struct tbuf *b, uint64_t lba, const uint8_t *data, size_t len)
{
        uLongf clen = compressBound(len);
        uint64_t at = b->len / SECTOR;
        uint8_t *m;

        assert_int_equal(b->len % SECTOR, 0);
        m = tbuf_grow(b, 12 + clen);
        assert_int_equal(compress2(m + 12, &clen, data, len, Z_BEST_SPEED), Z_OK);
        le64_store(m, lba);
        le32_store(m + 8, (uint32_t) clen);
        b->len = at * SECTOR + 12 + clen;
        tbuf_pad(b, SECTOR);
        return at;
}

enum vstream_layout {
        VSTREAM_VMWARE, /* gdOffset = GD_AT_END; GT/GD markers, footer, EOS after the grains */
        VSTREAM_QEMU,   /* GD and all GTs in front, gdOffset real, nothing after the grains */
};

#define VSTREAM_MAX_GRAINS 4096

/* Where the pieces of a built stream lie (byte offsets), for truncating and patching. */
struct vstream {
        struct tbuf b;
        struct vmdk_header h;
        unsigned n_grains;
        uint64_t grain_lba[VSTREAM_MAX_GRAINS];
        size_t grain_off[VSTREAM_MAX_GRAINS]; /* the grain marker */
        uint32_t grain_clen[VSTREAM_MAX_GRAINS];
        size_t first_gt_marker_off; /* VMware: the first GT marker */
        size_t footer_marker_off;   /* VMware */
        size_t eos_off;             /* VMware */
};

#define VSTREAM_DESC_OFFSET  1
#define VSTREAM_DESC_SECTORS 20

static inline void vstream_put_descriptor(struct tbuf *b, uint64_t capacity)
{
        char text[VSTREAM_DESC_SECTORS * SECTOR];
        int n = snprintf(text, sizeof(text),
                         "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=1234abcd\n"
                         "parentCID=ffffffff\ncreateType=\"streamOptimized\"\n\n"
                         "# Extent description\nRDONLY %llu SPARSE \"generated-stream.vmdk\"\n\n"
                         "# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\n"
                         "ddb.virtualHWVersion = \"14\"\n",
                         (unsigned long long) capacity);

        assert_true(n > 0 && (size_t) n < sizeof(text));
        memset(text + n, 0, sizeof(text) - (size_t) n);
        assert_int_equal(b->len, VSTREAM_DESC_OFFSET * SECTOR);
        tbuf_put(b, text, sizeof(text));
}

/* Builds a streamOptimized VMDK of the disk content[0, size) (size a multiple of 512) with
 * grain_sectors-sector grains; all-zero grains are left out, as writers do. With
 * grain_after_footer, a copy of the first grain follows the footer (a corrupt stream). */
static inline void vstream_build(struct vstream *s, const uint8_t *content, size_t size,
                                 uint32_t grain_sectors, enum vstream_layout layout,
                                 bool grain_after_footer)
{
        const uint32_t gtes = 512, gt_sectors = gtes * 4 / SECTOR;
        size_t grain_bytes = (size_t) grain_sectors * SECTOR;
        uint64_t capacity = size / SECTOR;
        uint64_t n_gts = div_round_up(capacity, (uint64_t) grain_sectors * gtes);
        uint64_t gd_sectors = div_round_up(n_gts * 4, SECTOR);
        uint32_t *gt = calloc(n_gts * gtes + 1, 4), *gd = calloc(n_gts + 1, 4);
        uint64_t front_end = VSTREAM_DESC_OFFSET + VSTREAM_DESC_SECTORS;

        assert_int_equal(size % SECTOR, 0);
        assert_non_null(gt);
        assert_non_null(gd);
        *s = (struct vstream){ 0 };
        s->h = (struct vmdk_header){
                .version = 3,
                .flags = VMDK_FLAG_NL_TEST | VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS,
                .capacity = capacity,
                .grain_size = grain_sectors,
                .desc_offset = VSTREAM_DESC_OFFSET,
                .desc_size = VSTREAM_DESC_SECTORS,
                .num_gtes_per_gt = gtes,
                .gd_offset = VMDK_GD_AT_END,
                .compress_algorithm = 1,
        };
        if (layout == VSTREAM_QEMU) {
                s->h.flags |= VMDK_FLAG_RGD;
                s->h.gd_offset = front_end;
                front_end += gd_sectors + n_gts * gt_sectors;
        }
        s->h.overhead = (front_end + 127) / 128 * 128;
        vmdk_put_header(tbuf_grow(&s->b, SECTOR), &s->h);
        vstream_put_descriptor(&s->b, capacity);
        tbuf_resize(&s->b, s->h.overhead * SECTOR);

        for (uint64_t t = 0; t < n_gts; t++) {
                bool any = false;

                for (uint32_t g = 0; g < gtes; g++) {
                        uint64_t lba = (t * gtes + g) * grain_sectors;
                        size_t off = lba * SECTOR, n;

                        if (lba >= capacity)
                                break;
                        n = size - off < grain_bytes ? size - off : grain_bytes;
                        if (bytes_are_zero(content + off, n))
                                continue;
                        assert_true(s->n_grains < VSTREAM_MAX_GRAINS);
                        s->grain_off[s->n_grains] = s->b.len;
                        s->grain_lba[s->n_grains] = lba;
                        gt[t * gtes + g] = (uint32_t) vmdk_put_grain(&s->b, lba, content + off, n);
                        s->grain_clen[s->n_grains] =
                                le32_load(s->b.p + s->grain_off[s->n_grains] + 8);
                        s->n_grains++;
                        any = true;
                }
                if (layout == VSTREAM_VMWARE && any) {
                        uint8_t *p;
                        if (!s->first_gt_marker_off)
                                s->first_gt_marker_off = s->b.len;
                        vmdk_put_marker(&s->b, gt_sectors, VMDK_MARKER_GT);
                        gd[t] = (uint32_t) (s->b.len / SECTOR);
                        p = tbuf_grow(&s->b, gt_sectors * SECTOR);
                        for (uint32_t g = 0; g < gtes; g++)
                                le32_store(p + 4 * g, gt[t * gtes + g]);
                }
        }

        if (layout == VSTREAM_QEMU) {
                uint64_t gt_at = s->h.gd_offset + gd_sectors;
                for (uint64_t t = 0; t < n_gts; t++) {
                        uint8_t *p = s->b.p + (gt_at + t * gt_sectors) * SECTOR;
                        le32_store(s->b.p + s->h.gd_offset * SECTOR + 4 * t,
                                   (uint32_t) (gt_at + t * gt_sectors));
                        for (uint32_t g = 0; g < gtes; g++)
                                le32_store(p + 4 * g, gt[t * gtes + g]);
                }
        } else {
                struct vmdk_header f = s->h;
                uint8_t *p;

                vmdk_put_marker(&s->b, gd_sectors, VMDK_MARKER_GD);
                f.gd_offset = s->b.len / SECTOR;
                p = tbuf_grow(&s->b, gd_sectors * SECTOR);
                for (uint64_t t = 0; t < n_gts; t++)
                        le32_store(p + 4 * t, gd[t]);
                s->footer_marker_off = s->b.len;
                vmdk_put_marker(&s->b, 1, VMDK_MARKER_FOOTER);
                vmdk_put_header(tbuf_grow(&s->b, SECTOR), &f);
                if (grain_after_footer)
                        (void) vmdk_put_grain(&s->b, 0, content,
                                              grain_bytes < size ? grain_bytes : size);
                s->eos_off = s->b.len;
                vmdk_put_marker(&s->b, 0, VMDK_MARKER_EOS);
        }
        free(gt);
        free(gd);
}

/* ---- hand-built sparse extents ---- */

/* What a grain table entry of a hand-built sparse extent holds. */
enum {
        G_ABSENT = -1, /* GTE 0 */
        G_ZERO = -2,   /* GTE 1, the zeroed-grain flag set */
};

struct sparse {
        struct tbuf b;
        uint8_t *content; /* the virtual disk it should read as (absent grains as zeros) */
        uint64_t size;
        uint64_t gd_sector, gt_sector; /* of the GD and of the first GT */
        uint64_t grain_sector[64];     /* of grain i for the first 64 grains, 0 if none */
};

/* Builds a monolithicSparse extent of 512-entry grain tables: header, optional embedded
 * descriptor, GD, GTs, then the data grains in the order of the disk (so consecutive grains
 * sit back to back). grains[i] says what grain i is; data grains hold
 * fill_pattern(seed = grains[i] << 20). */
static inline void sparse_build(struct sparse *s, uint32_t grain_sectors, uint64_t capacity,
                                const int *grains, size_t n_grains, const char *desc)
{
        const uint32_t gtes = 512;
        const size_t grain_bytes = (size_t) grain_sectors * 512;
        uint64_t n_gts = div_round_up(capacity, (uint64_t) grain_sectors * gtes);
        uint64_t gd_sectors = div_round_up(n_gts * 4, 512), gt_sectors = gtes * 4 / 512;
        struct vmdk_header h = {
                .version = 1,
                .flags = VMDK_FLAG_NL_TEST | VMDK_FLAG_RGD | VMDK_FLAG_ZERO_GRAIN,
                .capacity = capacity,
                .grain_size = grain_sectors,
                .desc_offset = desc ? 1 : 0,
                .desc_size = desc ? 20 : 0,
                .num_gtes_per_gt = gtes,
                .gd_offset = 21,
        };
        uint64_t next;

        *s = (struct sparse){ .size = capacity * 512 };
        s->content = calloc(1, s->size);
        assert_non_null(s->content);
        s->gd_sector = h.gd_offset;
        s->gt_sector = h.gd_offset + gd_sectors;
        h.overhead = (s->gt_sector + n_gts * gt_sectors + 127) / 128 * 128;
        next = h.overhead;
        vmdk_put_header(tbuf_grow(&s->b, 512), &h);
        if (desc) {
                assert_true(strlen(desc) <= 20 * 512);
                tbuf_put(&s->b, desc, strlen(desc));
        }
        tbuf_resize(&s->b, h.overhead * 512);
        for (uint64_t t = 0; t < n_gts; t++) {
                bool any = false;
                for (size_t i = t * gtes; i < n_grains && i < (t + 1) * gtes; i++)
                        any |= grains[i] != G_ABSENT;
                if (any)
                        le32_store(s->b.p + s->gd_sector * 512 + 4 * t,
                                   (uint32_t) (s->gt_sector + t * gt_sectors));
        }
        for (size_t i = 0; i < n_grains; i++) {
                uint8_t *gte = s->b.p + s->gt_sector * 512 + 4 * i; /* GTs are contiguous */
                if (grains[i] == G_ABSENT)
                        continue;
                if (grains[i] == G_ZERO) {
                        le32_store(gte, 1);
                        continue;
                }
                le32_store(gte, (uint32_t) next);
                if (i < ELEMENTSOF(s->grain_sector))
                        s->grain_sector[i] = next;
                fill_pattern(tbuf_grow(&s->b, grain_bytes), grain_bytes,
                             (uint64_t) grains[i] << 20);
                memcpy(s->content + i * grain_bytes, s->b.p + next * 512, grain_bytes);
                next += grain_sectors;
        }
}

static inline void sparse_free(struct sparse *s)
{
        tbuf_free(&s->b);
        free(s->content);
}
