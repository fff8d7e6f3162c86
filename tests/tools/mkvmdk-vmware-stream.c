/* mkvmdk-vmware-stream: write a raw image as a streamOptimized VMDK laid out the way VMware
 * writes one (gdOffset = GD_AT_END, GT/GD metadata markers, footer, EOS), independently of the
 * kvmforge sources, so that the converter's reader is tested against a second implementation.
 * qemu-img writes a different layout (GD and GTs at the front, no markers, no footer). */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also set by the Makefile; the tool builds alone too */
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZLIB_CONST
#include <zlib.h>

#define _cleanup_(f)    __attribute__((cleanup(f)))
#define _cleanup_free_  _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

#define SECTOR_SIZE        512u
#define VMDK_MAGIC         0x564d444bu /* "KDMV" on disk */
#define VMDK_VERSION       3u
#define VMDK_FLAG_NL_TEST  (1u << 0)
#define VMDK_FLAG_COMPRESS (1u << 16)
#define VMDK_FLAG_MARKERS  (1u << 17)
#define VMDK_GD_AT_END     UINT64_MAX
#define VMDK_DEFLATE       1u
#define GTES_PER_GT        512u
#define GT_SECTORS         (GTES_PER_GT * 4u / SECTOR_SIZE)
#define DESC_OFFSET        1u  /* sectors */
#define DESC_SECTORS       20u /* what VMware and qemu reserve */
#define OVERHEAD_SECTORS   128u
#define GRAIN_MARKER_SIZE  12u /* u64 lba + u32 size */
#define GRAIN_SECTORS_MAX  2048u
#define READ_CHUNK         (1u << 20) /* a multiple of every grain size */
/* GT and GD entries are u32 sector numbers: the output file must stay below 2 TiB. */
#define FILE_SECTORS_MAX UINT32_MAX

enum marker_type {
        MARKER_EOS = 0,
        MARKER_GT = 1,
        MARKER_GD = 2,
        MARKER_FOOTER = 3,
};

static bool arg_footer = true;
static bool arg_sparse_gd = false;
static unsigned arg_grain_sectors = 128;
static int arg_level = Z_DEFAULT_COMPRESSION;
static const char *arg_raw;
static const char *arg_out;

static inline void freep(void *p)
{
        free(*(void **) p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0)
                (void) close(*fd);
}

static inline int take_fd(int *fd)
{
        int r = *fd;

        *fd = -EBADF;
        return r;
}

struct writer {
        int fd;
        uint64_t sector; /* next sector to be written */
};

static void put_le16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
        for (unsigned i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
        for (unsigned i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static int write_full(int fd, const void *buf, size_t len)
{
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Returns the number of bytes read, short only at end of file. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
        uint8_t *p = buf;
        size_t done = 0;

        while (done < len) {
                ssize_t n = read(fd, p + done, len - done);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

static void deflate_endp(z_stream *zs)
{
        if (zs->state)
                (void) deflateEnd(zs);
}

struct reader {
        int fd;
        uint8_t *buf;
        size_t size; /* of buf */
        size_t len;  /* bytes read into buf */
        size_t pos;  /* bytes of buf handed out */
};

/* Hands out the next len (<= size) bytes of the input, reading it in large chunks. */
static int reader_next(struct reader *rd, size_t len, const uint8_t **ret)
{
        if (rd->len - rd->pos < len) {
                size_t keep = rd->len - rd->pos;
                ssize_t n;

                memmove(rd->buf, rd->buf + rd->pos, keep);
                n = read_full(rd->fd, rd->buf + keep, rd->size - keep);
                if (n < 0)
                        return (int) n;
                rd->len = keep + (size_t) n;
                rd->pos = 0;
                if (rd->len < len)
                        return -ENODATA; /* the input shrank under us */
        }
        *ret = rd->buf + rd->pos;
        rd->pos += len;
        return 0;
}

/* Writes len bytes (a multiple of SECTOR_SIZE) and advances the sector counter. */
static int writer_put(struct writer *w, const void *buf, size_t len)
{
        int r;

        if (len % SECTOR_SIZE != 0)
                return -EINVAL;
        if (len / SECTOR_SIZE > FILE_SECTORS_MAX - w->sector)
                return -EFBIG;
        r = write_full(w->fd, buf, len);
        if (r < 0)
                return r;
        w->sector += len / SECTOR_SIZE;
        return 0;
}

static int writer_put_marker(struct writer *w, uint64_t num_sectors, enum marker_type type)
{
        uint8_t sector[SECTOR_SIZE] = { 0 };

        put_le64(sector, num_sectors);
        put_le32(sector + 8, 0);
        put_le32(sector + 12, (uint32_t) type);
        return writer_put(w, sector, sizeof(sector));
}

static void make_header(uint8_t *sector, uint64_t capacity, uint64_t gd_offset)
{
        memset(sector, 0, SECTOR_SIZE);
        put_le32(sector + 0, VMDK_MAGIC);
        put_le32(sector + 4, VMDK_VERSION);
        put_le32(sector + 8, VMDK_FLAG_NL_TEST | VMDK_FLAG_COMPRESS | VMDK_FLAG_MARKERS);
        put_le64(sector + 12, capacity);
        put_le64(sector + 20, arg_grain_sectors);
        put_le64(sector + 28, DESC_OFFSET);
        put_le64(sector + 36, DESC_SECTORS);
        put_le32(sector + 44, GTES_PER_GT);
        put_le64(sector + 48, 0); /* no redundant GD */
        put_le64(sector + 56, gd_offset);
        put_le64(sector + 64, OVERHEAD_SECTORS);
        sector[72] = 0; /* uncleanShutdown */
        sector[73] = '\n';
        sector[74] = ' ';
        sector[75] = '\r';
        sector[76] = '\n';
        put_le16(sector + 77, VMDK_DEFLATE);
}

static int make_descriptor(uint8_t *buf, size_t len, uint64_t capacity)
{
        uint64_t cylinders = capacity / (255 * 63);
        /* Deterministic content id, so that equal inputs give byte-identical outputs. */
        uint32_t cid = (uint32_t) crc32(0L, (const Bytef *) &capacity, sizeof(capacity));
        int n;

        if (cylinders > 65535)
                cylinders = 65535;
        if (cid >= 0xfffffffeu)
                cid = 1;
        memset(buf, 0, len);
        n = snprintf((char *) buf, len,
                     "# Disk DescriptorFile\n"
                     "version=1\n"
                     "encoding=\"UTF-8\"\n"
                     "CID=%08" PRIx32 "\n"
                     "parentCID=ffffffff\n"
                     "createType=\"streamOptimized\"\n"
                     "\n"
                     "# Extent description\n"
                     "RDONLY %" PRIu64 " SPARSE \"generated-stream.vmdk\"\n"
                     "\n"
                     "# The Disk Data Base\n"
                     "#DDB\n"
                     "\n"
                     "ddb.adapterType = \"lsilogic\"\n"
                     "ddb.geometry.cylinders = \"%" PRIu64 "\"\n"
                     "ddb.geometry.heads = \"255\"\n"
                     "ddb.geometry.sectors = \"63\"\n"
                     "ddb.longContentID = \"%08" PRIx32 "%08" PRIx32 "%08" PRIx32 "%08" PRIx32
                     "\"\n"
                     "ddb.virtualHWVersion = \"14\"\n",
                     cid, capacity, cylinders, cid, ~cid, cid ^ 0x5a5a5a5au, cid);
        if (n < 0 || (size_t) n >= len)
                return -ENOBUFS;
        return 0;
}

static bool is_zero(const uint8_t *p, size_t len)
{
        /* Byte 0 is zero and every byte equals its successor. */
        return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* Compresses one grain behind its marker and writes it padded to a sector boundary; stores
 * the marker's sector in *ret_sector. The zlib stream (RFC 1950) is byte for byte what
 * compress2() makes; resetting one deflate state saves compress2()'s allocation per grain. */
static int put_grain(struct writer *w, z_stream *zs, uint8_t *cbuf, size_t cbuf_len,
                     const uint8_t *data, size_t len, uint64_t lba, uint32_t *ret_sector)
{
        uint64_t sector = w->sector;
        size_t total, clen;
        int r;

        if (deflateReset(zs) != Z_OK)
                return -EIO;
        zs->next_in = data;
        zs->avail_in = (uInt) len;
        zs->next_out = cbuf + GRAIN_MARKER_SIZE;
        zs->avail_out = (uInt) (cbuf_len - GRAIN_MARKER_SIZE - SECTOR_SIZE);
        /* The output buffer has compressBound() bytes, so one call always finishes. */
        r = deflate(zs, Z_FINISH);
        if (r != Z_STREAM_END)
                return -EIO;
        clen = (size_t) zs->total_out;
        put_le64(cbuf, lba);
        put_le32(cbuf + 8, (uint32_t) clen);
        total = GRAIN_MARKER_SIZE + clen;
        if (total % SECTOR_SIZE != 0) {
                size_t pad = SECTOR_SIZE - total % SECTOR_SIZE;

                memset(cbuf + total, 0, pad);
                total += pad;
        }
        r = writer_put(w, cbuf, total);
        if (r < 0)
                return r;
        *ret_sector = (uint32_t) sector;
        return 0;
}

static int write_stream(int in_fd, uint64_t raw_size, int out_fd)
{
        struct writer w = { .fd = out_fd, .sector = 0 };
        uint64_t capacity = raw_size / SECTOR_SIZE;
        size_t grain_bytes = (size_t) arg_grain_sectors * SECTOR_SIZE;
        uint64_t n_grains = (capacity + arg_grain_sectors - 1) / arg_grain_sectors;
        uint64_t n_gts = (n_grains + GTES_PER_GT - 1) / GTES_PER_GT;
        uint64_t gd_sectors = (n_gts * 4 + SECTOR_SIZE - 1) / SECTOR_SIZE;
        uint64_t end_of_grains, gd_offset;
        size_t cbuf_len = GRAIN_MARKER_SIZE + compressBound((uLong) grain_bytes) + SECTOR_SIZE;
        _cleanup_free_ uint8_t *rbuf = NULL, *cbuf = NULL, *gd = NULL, *gt = NULL, *desc = NULL;
        _cleanup_(deflate_endp) z_stream zs = { 0 };
        struct reader rd = { .fd = in_fd, .size = READ_CHUNK };
        uint8_t sector[SECTOR_SIZE];
        int r;

        /* Metadata alone must fit in the u32 sector numbers; grains are checked as written. */
        if (n_gts > (FILE_SECTORS_MAX - OVERHEAD_SECTORS) / (GT_SECTORS + 1))
                return -EFBIG;
        if (rd.size < grain_bytes)
                rd.size = grain_bytes;
        rbuf = malloc(rd.size);
        rd.buf = rbuf;
        cbuf = malloc(cbuf_len);
        gd = calloc(gd_sectors, SECTOR_SIZE);
        gt = malloc(GT_SECTORS * SECTOR_SIZE);
        desc = malloc((size_t) DESC_SECTORS * SECTOR_SIZE);
        if (!rbuf || !cbuf || !gd || !gt || !desc)
                return -ENOMEM;
        r = deflateInit(&zs, arg_level);
        if (r != Z_OK)
                return r == Z_MEM_ERROR ? -ENOMEM : -EINVAL;

        make_header(sector, capacity, VMDK_GD_AT_END);
        r = writer_put(&w, sector, sizeof(sector));
        if (r < 0)
                return r;
        r = make_descriptor(desc, (size_t) DESC_SECTORS * SECTOR_SIZE, capacity);
        if (r < 0)
                return r;
        r = writer_put(&w, desc, (size_t) DESC_SECTORS * SECTOR_SIZE);
        if (r < 0)
                return r;
        memset(sector, 0, sizeof(sector));
        while (w.sector < OVERHEAD_SECTORS) {
                r = writer_put(&w, sector, sizeof(sector));
                if (r < 0)
                        return r;
        }

        end_of_grains = w.sector;
        for (uint64_t g = 0; g < n_gts; g++) {
                bool gt_used = false;

                memset(gt, 0, GT_SECTORS * SECTOR_SIZE);
                for (uint64_t i = 0; i < GTES_PER_GT; i++) {
                        uint64_t grain_no = g * GTES_PER_GT + i;
                        uint64_t lba = grain_no * arg_grain_sectors;
                        size_t len = grain_bytes;
                        const uint8_t *grain = NULL;
                        uint32_t grain_sector;

                        if (grain_no >= n_grains)
                                break;
                        /* The last grain is shorter when capacity is not a multiple of it. */
                        if (capacity - lba < arg_grain_sectors)
                                len = (size_t) (capacity - lba) * SECTOR_SIZE;
                        r = reader_next(&rd, len, &grain);
                        if (r < 0)
                                return r;
                        if (is_zero(grain, len))
                                continue;
                        r = put_grain(&w, &zs, cbuf, cbuf_len, grain, len, lba, &grain_sector);
                        if (r < 0)
                                return r;
                        put_le32(gt + 4 * i, grain_sector);
                        gt_used = true;
                        end_of_grains = w.sector;
                }
                if (!gt_used && arg_sparse_gd)
                        continue;
                r = writer_put_marker(&w, GT_SECTORS, MARKER_GT);
                if (r < 0)
                        return r;
                put_le32(gd + 4 * g, (uint32_t) w.sector);
                r = writer_put(&w, gt, GT_SECTORS * SECTOR_SIZE);
                if (r < 0)
                        return r;
        }

        if (!arg_footer) {
                /* A stream cut right after its last grain: no GT, GD, footer or EOS. */
                if (ftruncate(out_fd, (off_t) (end_of_grains * SECTOR_SIZE)) < 0)
                        return -errno;
                return 0;
        }

        r = writer_put_marker(&w, gd_sectors, MARKER_GD);
        if (r < 0)
                return r;
        gd_offset = w.sector;
        r = writer_put(&w, gd, gd_sectors * SECTOR_SIZE);
        if (r < 0)
                return r;
        r = writer_put_marker(&w, 1, MARKER_FOOTER);
        if (r < 0)
                return r;
        make_header(sector, capacity, gd_offset);
        r = writer_put(&w, sector, sizeof(sector));
        if (r < 0)
                return r;
        memset(sector, 0, sizeof(sector)); /* EOS marker */
        return writer_put(&w, sector, sizeof(sector));
}

static void help(void)
{
        printf("Usage: mkvmdk-vmware-stream [OPTIONS] RAW OUT.vmdk\n"
               "Write RAW as a VMware-style streamOptimized VMDK (GD at end, footer).\n\n"
               "  -h --help             show this help\n"
               "     --no-footer        stop after the last grain (a truncated stream)\n"
               "     --grain-sectors N  grain size in sectors, a power of 2 (default 128)\n"
               "     --sparse-gd        leave GD entries 0 for grain tables without grains\n"
               "     --level N          zlib level 0..9 (default 6)\n");
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_argv(int argc, char *argv[])
{
        enum {
                ARG_NO_FOOTER = 0x100,
                ARG_GRAIN_SECTORS,
                ARG_SPARSE_GD,
                ARG_LEVEL,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "no-footer", no_argument, NULL, ARG_NO_FOOTER },
                { "grain-sectors", required_argument, NULL, ARG_GRAIN_SECTORS },
                { "sparse-gd", no_argument, NULL, ARG_SPARSE_GD },
                { "level", required_argument, NULL, ARG_LEVEL },
                {},
        };
        unsigned long v;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_NO_FOOTER:
                        arg_footer = false;
                        break;
                case ARG_GRAIN_SECTORS:
                        if (parse_uint(optarg, GRAIN_SECTORS_MAX, &v) < 0 || v == 0 ||
                            (v & (v - 1)) != 0) {
                                fprintf(stderr,
                                        "mkvmdk-vmware-stream: invalid grain size '%s' (a power "
                                        "of 2 up to %u)\n",
                                        optarg, GRAIN_SECTORS_MAX);
                                return -EINVAL;
                        }
                        arg_grain_sectors = (unsigned) v;
                        break;
                case ARG_SPARSE_GD:
                        arg_sparse_gd = true;
                        break;
                case ARG_LEVEL:
                        if (parse_uint(optarg, 9, &v) < 0) {
                                fprintf(stderr, "mkvmdk-vmware-stream: invalid level '%s'\n",
                                        optarg);
                                return -EINVAL;
                        }
                        arg_level = (int) v;
                        break;
                case '?':
                        fprintf(stderr, "Try 'mkvmdk-vmware-stream --help'.\n");
                        return -EINVAL;
                default:
                        return -EINVAL;
                }
        }
        if (argc - optind != 2) {
                fprintf(stderr, "mkvmdk-vmware-stream: expected RAW and OUT.vmdk; try --help\n");
                return -EINVAL;
        }
        arg_raw = argv[optind];
        arg_out = argv[optind + 1];
        return 1;
}

static int run(void)
{
        _cleanup_close_ int in_fd = -EBADF, out_fd = -EBADF;
        struct stat st, st_out;
        int r;

        in_fd = open(arg_raw, O_RDONLY | O_CLOEXEC);
        if (in_fd < 0) {
                r = -errno;
                fprintf(stderr, "mkvmdk-vmware-stream: cannot open '%s': %s\n", arg_raw,
                        strerror(-r));
                return r;
        }
        if (fstat(in_fd, &st) < 0) {
                r = -errno;
                fprintf(stderr, "mkvmdk-vmware-stream: cannot stat '%s': %s\n", arg_raw,
                        strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size % SECTOR_SIZE != 0) {
                fprintf(stderr,
                        "mkvmdk-vmware-stream: '%s' is not a regular file of whole sectors\n",
                        arg_raw);
                return -EINVAL;
        }
        (void) posix_fadvise(in_fd, 0, 0, POSIX_FADV_SEQUENTIAL);

        out_fd = open(arg_out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out_fd < 0) {
                r = -errno;
                fprintf(stderr, "mkvmdk-vmware-stream: cannot create '%s': %s\n", arg_out,
                        strerror(-r));
                return r;
        }
        if (fstat(out_fd, &st_out) < 0) {
                r = -errno;
                fprintf(stderr, "mkvmdk-vmware-stream: cannot stat '%s': %s\n", arg_out,
                        strerror(-r));
                return r;
        }
        r = write_stream(in_fd, (uint64_t) st.st_size, out_fd);
        if (r >= 0 && close(take_fd(&out_fd)) < 0)
                r = -errno; /* a delayed write error (NFS, quota) shows up here */
        if (r < 0) {
                fprintf(stderr, "mkvmdk-vmware-stream: cannot write '%s': %s\n", arg_out,
                        strerror(-r));
                /* No half-written image left behind; but never unlink /dev/full & co. */
                if (S_ISREG(st_out.st_mode))
                        (void) unlink(arg_out);
                return r;
        }
        return 0;
}

int main(int argc, char *argv[])
{
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : EXIT_SUCCESS;
        return run() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
