#include "qcow2_writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "cleanup.h"
#include "qcow2.h"

#define L2_CACHE_SLOTS 16 /* 16 × 64 KiB tables: 8 GiB of disk mapped without write-back */
#define HEADER_LENGTH  112

struct l2_slot {
        uint64_t l1_index; /* UINT64_MAX: empty */
        uint64_t *entries; /* host byte order */
        bool dirty;
        uint64_t used; /* for LRU */
};

struct qcow2_writer {
        struct writer w;
        unsigned cluster_bits;
        uint64_t cs;
        uint64_t l2_entries;
        uint64_t l1_entries;
        uint64_t *l1; /* host offsets of L2 tables */
        uint64_t l1_offset;
        uint64_t rt_offset, rt_entries, rt_clusters;
        uint64_t *rt; /* host offsets of refcount blocks */
        uint64_t rb_entries;
        bool prealloc;
        /* append mode */
        uint64_t next; /* first unallocated byte, cluster aligned */
        uint64_t rb_region;
        uint64_t rb_host;
        uint16_t *rb; /* counts of the current region */
        struct l2_slot l2[L2_CACHE_SLOTS];
        uint64_t clock;
        uint64_t cbase, cpos; /* open cluster for compressed data; cbase 0 = none */
        /* prealloc mode */
        uint64_t data_start, l2_start, rb_start, total_clusters;
        uint8_t *scratch; /* one cluster */
};

static int rb_flush(struct qcow2_writer *q, struct err *err)
{
        uint16_t *be = (uint16_t *) q->scratch;

        for (uint64_t i = 0; i < q->rb_entries; i++)
                be16_store(&be[i], q->rb[i]);
        q->rt[q->rb_region] = q->rb_host;
        return writer_pwrite(&q->w, q->scratch, q->cs, q->rb_host, err);
}

static int ref_inc(struct qcow2_writer *q, uint64_t host, struct err *err)
{
        uint64_t c = host / q->cs;

        if (c / q->rb_entries != q->rb_region || q->rb[c % q->rb_entries] == UINT16_MAX)
                return err_set(err, -EFAULT, "'%s': refcount bookkeeping error", q->w.path);
        q->rb[c % q->rb_entries]++;
        return 0;
}

/* Allocation only moves forward. Entering a new refcount region writes the finished block of
 * the old one and places the new region's block at the region's first cluster. */
static int alloc_cluster(struct qcow2_writer *q, uint64_t *ret, struct err *err)
{
        uint64_t h = q->next;
        int r;

        if ((h / q->cs) / q->rb_entries != q->rb_region) {
                r = rb_flush(q, err);
                if (r < 0)
                        return r;
                q->rb_region = (h / q->cs) / q->rb_entries;
                q->cbase = 0; /* its block is written: the old region takes no more references */
                if (q->rb_region >= q->rt_entries)
                        return err_set(err, -EFBIG, "'%s': the image outgrew its refcount table",
                                       q->w.path);
                memset(q->rb, 0, q->rb_entries * sizeof(*q->rb));
                q->rb_host = h;
                q->next += q->cs;
                r = ref_inc(q, h, err);
                if (r < 0)
                        return r;
                h = q->next;
        }
        q->next += q->cs;
        *ret = h;
        return ref_inc(q, h, err);
}

static int l2_writeback(struct qcow2_writer *q, struct l2_slot *s, struct err *err)
{
        uint64_t *be = (uint64_t *) q->scratch;

        if (!s->dirty)
                return 0;
        for (uint64_t i = 0; i < q->l2_entries; i++)
                be64_store(&be[i], s->entries[i]);
        s->dirty = false;
        return writer_pwrite(&q->w, q->scratch, q->cs, q->l1[s->l1_index], err);
}

static int l2_get(struct qcow2_writer *q, uint64_t l1_index, struct l2_slot **ret, struct err *err)
{
        struct l2_slot *victim = &q->l2[0];
        int r;

        for (unsigned i = 0; i < L2_CACHE_SLOTS; i++) {
                if (q->l2[i].l1_index == l1_index) {
                        q->l2[i].used = ++q->clock;
                        *ret = &q->l2[i];
                        return 0;
                }
                if (q->l2[i].used < victim->used)
                        victim = &q->l2[i];
        }
        if (victim->l1_index != UINT64_MAX) {
                r = l2_writeback(q, victim, err);
                if (r < 0)
                        return r;
        }
        victim->l1_index = UINT64_MAX;
        if (q->l1[l1_index] == 0) {
                uint64_t h;
                r = alloc_cluster(q, &h, err);
                if (r < 0)
                        return r;
                q->l1[l1_index] = h;
                memset(victim->entries, 0, q->cs);
                victim->dirty = true;
        } else {
                /* Out-of-order input came back to a table that was written back. */
                r = writer_pread(&q->w, victim->entries, q->cs, q->l1[l1_index], err);
                if (r < 0)
                        return r;
                for (uint64_t i = 0; i < q->l2_entries; i++)
                        victim->entries[i] = be64_load(&victim->entries[i]);
                victim->dirty = false;
        }
        victim->l1_index = l1_index;
        victim->used = ++q->clock;
        *ret = victim;
        return 0;
}

/* The L2 entry for virtual off, which the caller is about to fill. */
static int l2_entry(struct qcow2_writer *q, uint64_t off, uint64_t **ret, struct err *err)
{
        uint64_t vc = off / q->cs;
        struct l2_slot *slot;
        int r = l2_get(q, vc / q->l2_entries, &slot, err);

        if (r < 0)
                return r;
        if (slot->entries[vc % q->l2_entries])
                return err_set(err, -EEXIST, "'%s': virtual offset %llu written twice", q->w.path,
                               (unsigned long long) off);
        /* Also a table read back after eviction changes now, so it must be written again. */
        slot->dirty = true;
        *ret = &slot->entries[vc % q->l2_entries];
        return 0;
}

static int q_write(struct writer *w, uint64_t off, const uint8_t *data, size_t len, struct err *err)
{
        struct qcow2_writer *q = (struct qcow2_writer *) w;
        uint64_t run_host = 0, run_len = 0;
        const uint8_t *run_data = data;
        int r;

        if (q->prealloc)
                return writer_pwrite(w, data, len, q->data_start + off, err);

        for (size_t done = 0; done < len; done += q->cs) {
                uint64_t *e, h;

                r = l2_entry(q, off + done, &e, err);
                if (r < 0)
                        return r;
                r = alloc_cluster(q, &h, err);
                if (r < 0)
                        return r;
                *e = h | QCOW2_OFLAG_COPIED;
                if (run_len && h == run_host + run_len) {
                        run_len += q->cs;
                        continue;
                }
                if (run_len) {
                        r = writer_pwrite(w, run_data, run_len, run_host, err);
                        if (r < 0)
                                return r;
                }
                run_host = h;
                run_len = q->cs;
                run_data = data + done;
        }
        if (!run_len)
                return 0;
        /* The last cluster of the disk may be short in data; it is padded with zeros by the file.
         */
        if (run_data + run_len > data + len)
                run_len = (uint64_t) (data + len - run_data);
        return writer_pwrite(w, run_data, run_len, run_host, err);
}

static int q_write_compressed(struct writer *w, uint64_t off, const uint8_t *c, size_t clen,
                              struct err *err)
{
        struct qcow2_writer *q = (struct qcow2_writer *) w;
        unsigned x = 62 - (q->cluster_bits - 8);
        uint64_t *e, at, first, last;
        int r;

        if (q->prealloc || clen == 0 || clen >= q->cs)
                return err_set(err, -EINVAL, "'%s': bad compressed write", w->path);
        r = l2_entry(q, off, &e, err);
        if (r < 0)
                return r;

        if (q->cbase && q->cbase + q->cs - q->cpos >= clen) {
                at = q->cpos;
        } else if (q->cbase && q->next == q->cbase + q->cs &&
                   (q->next / q->cs) % q->rb_entries != 0) {
                /* Spill into the next cluster, which is still free and in this region. */
                uint64_t h;
                r = alloc_cluster(q, &h, err); /* counts h once for this entry */
                if (r < 0)
                        return r;
                at = q->cpos;
                q->cbase = h;
                r = ref_inc(q, at, err); /* and the cluster it starts in */
                if (r < 0)
                        return r;
                goto placed;
        } else {
                uint64_t h;
                r = alloc_cluster(q, &h, err);
                if (r < 0)
                        return r;
                q->cbase = at = h;
                goto placed;
        }
        r = ref_inc(q, at, err);
        if (r < 0)
                return r;
placed:
        first = at / 512;
        last = (at + clen - 1) / 512;
        *e = QCOW2_OFLAG_COMPRESSED | (last - first) << x | at;
        q->cpos = at + clen;
        if (q->cpos == q->cbase + q->cs)
                q->cbase = 0;
        return writer_pwrite(w, c, clen, at, err);
}

static void put_header(struct qcow2_writer *q, uint8_t *h)
{
        memset(h, 0, q->cs);
        be32_store(h + 0, QCOW2_MAGIC);
        be32_store(h + 4, 3);
        be32_store(h + 20, q->cluster_bits);
        be64_store(h + 24, q->w.size);
        be32_store(h + 36, (uint32_t) q->l1_entries);
        be64_store(h + 40, q->l1_offset);
        be64_store(h + 48, q->rt_offset);
        be32_store(h + 56, (uint32_t) q->rt_clusters);
        be32_store(h + 96, 4); /* 16-bit refcounts */
        be32_store(h + 100, HEADER_LENGTH);
        /* byte 104: compression type 0 (zlib); then the end-of-extensions marker (zeros). */
}

static int write_table_be(struct qcow2_writer *q, const uint64_t *t, uint64_t n, uint64_t off,
                          uint64_t clusters, struct err *err)
{
        uint64_t per = q->cs / 8;

        for (uint64_t c = 0; c < clusters; c++) {
                uint64_t *be = (uint64_t *) q->scratch;
                memset(q->scratch, 0, q->cs);
                for (uint64_t i = 0; i < per && c * per + i < n; i++)
                        be64_store(&be[i], t[c * per + i]);
                int r = writer_pwrite(&q->w, q->scratch, q->cs, off + c * q->cs, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int finish_prealloc(struct qcow2_writer *q, struct err *err)
{
        uint64_t vclusters = div_round_up(q->w.size, q->cs);
        uint16_t *rbe = (uint16_t *) q->scratch;
        int r;

        /* L2 tables: entry i of the disk points at data_start + i clusters. */
        for (uint64_t t = 0; t < q->l1_entries; t++) {
                uint64_t *be = (uint64_t *) q->scratch;
                memset(q->scratch, 0, q->cs);
                for (uint64_t i = 0; i < q->l2_entries; i++) {
                        uint64_t vc = t * q->l2_entries + i;
                        if (vc < vclusters)
                                be64_store(&be[i],
                                           (q->data_start + vc * q->cs) | QCOW2_OFLAG_COPIED);
                }
                q->l1[t] = q->l2_start + t * q->cs;
                r = writer_pwrite(&q->w, q->scratch, q->cs, q->l1[t], err);
                if (r < 0)
                        return r;
        }
        /* Every cluster up to the end is used exactly once. */
        for (uint64_t b = 0; b * q->rb_entries < q->total_clusters; b++) {
                for (uint64_t i = 0; i < q->rb_entries; i++)
                        be16_store(&rbe[i], b * q->rb_entries + i < q->total_clusters ? 1 : 0);
                q->rt[b] = q->rb_start + b * q->cs;
                r = writer_pwrite(&q->w, q->scratch, q->cs, q->rt[b], err);
                if (r < 0)
                        return r;
        }
        if (ftruncate(q->w.fd, (off_t) (q->total_clusters * q->cs)) < 0)
                return err_set(err, -errno, "cannot size '%s'", q->w.path);
        return 0;
}

static int q_finish(struct writer *w, struct err *err)
{
        struct qcow2_writer *q = (struct qcow2_writer *) w;
        int r;

        if (q->prealloc) {
                r = finish_prealloc(q, err);
        } else {
                for (unsigned i = 0; i < L2_CACHE_SLOTS; i++)
                        if (q->l2[i].l1_index != UINT64_MAX) {
                                r = l2_writeback(q, &q->l2[i], err);
                                if (r < 0)
                                        return r;
                        }
                r = rb_flush(q, err);
                /* The last compressed cluster may be partly written: make the file whole. */
                if (r >= 0 && ftruncate(w->fd, (off_t) q->next) < 0)
                        r = err_set(err, -errno, "cannot size '%s'", w->path);
        }
        if (r < 0)
                return r;
        for (uint64_t i = 0; i < q->l1_entries; i++)
                if (q->l1[i])
                        q->l1[i] |= QCOW2_OFLAG_COPIED;
        r = write_table_be(q, q->l1, q->l1_entries, q->l1_offset,
                           div_round_up(q->l1_entries * 8, q->cs), err);
        if (r < 0)
                return r;
        r = write_table_be(q, q->rt, q->rt_entries, q->rt_offset, q->rt_clusters, err);
        if (r < 0)
                return r;
        /* The header goes last: until now the file is not a valid image. */
        put_header(q, q->scratch);
        return writer_pwrite(w, q->scratch, q->cs, 0, err);
}

static void q_free(struct writer *w)
{
        struct qcow2_writer *q = (struct qcow2_writer *) w;

        free(q->l1);
        free(q->rt);
        free(q->rb);
        free(q->scratch);
        for (unsigned i = 0; i < L2_CACHE_SLOTS; i++)
                free(q->l2[i].entries);
}

static const struct writer_ops qcow2_writer_ops = {
        .write = q_write,
        .write_compressed = q_write_compressed,
        .finish = q_finish,
        .free = q_free,
};

static int plan_prealloc(struct qcow2_writer *q)
{
        uint64_t l1c = div_round_up(q->l1_entries * 8, q->cs);
        uint64_t vclusters = div_round_up(q->w.size, q->cs);
        uint64_t rbc = 1, rtc = 1;

        /* Fixed point: refcount blocks must also count themselves and the table. */
        for (;;) {
                uint64_t meta = 1 + l1c + rtc + rbc + q->l1_entries;
                uint64_t total = meta + vclusters;
                uint64_t nrbc = div_round_up(total, q->rb_entries);
                uint64_t nrtc = div_round_up(nrbc * 8, q->cs);
                if (nrbc == rbc && nrtc == rtc) {
                        q->total_clusters = total;
                        break;
                }
                rbc = nrbc;
                rtc = nrtc;
        }
        q->l1_offset = q->cs;
        q->rt_offset = q->l1_offset + l1c * q->cs;
        q->rt_clusters = rtc;
        q->rt_entries = rtc * q->cs / 8;
        q->rb_start = q->rt_offset + rtc * q->cs;
        q->l2_start = q->rb_start + rbc * q->cs;
        q->data_start = q->l2_start + q->l1_entries * q->cs;
        return 0;
}

int qcow2_writer_open(const char *path, uint64_t size, const struct writer_options *o,
                      struct writer **ret, struct err *err)
{
        _cleanup_(writer_freep) struct writer *w = NULL;
        struct qcow2_writer *q;
        uint64_t max_file, l1c;
        int r;

        if (size > IMAGE_MAX_SIZE)
                return err_set(err, -EFBIG, "'%s': virtual size too large", path);
        if (o->compress && o->prealloc_metadata)
                return err_set(err, -EINVAL,
                               "compression and metadata preallocation exclude each other");
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        w = &q->w;
        w->ops = &qcow2_writer_ops;
        w->fd = -1;
        w->size = size; /* the layout below depends on it */
        q->cluster_bits = o->cluster_bits ? o->cluster_bits : 16;
        if (q->cluster_bits < 12 || q->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
                return err_set(err, -EINVAL, "cluster size 2^%u is not supported for output",
                               q->cluster_bits);
        q->cs = UINT64_C(1) << q->cluster_bits;
        w->cluster_size = (uint32_t) q->cs;
        q->l2_entries = q->cs / 8;
        q->rb_entries = q->cs * 8 / 16;
        q->l1_entries = qcow2_l1_entries(size, q->cluster_bits);
        if (q->l1_entries == 0)
                q->l1_entries = 1;
        q->prealloc = o->prealloc_metadata;

        q->l1 = calloc(q->l1_entries, sizeof(uint64_t));
        q->rb = calloc(q->rb_entries, sizeof(uint16_t));
        q->scratch = malloc(q->cs);
        if (!q->l1 || !q->rb || !q->scratch)
                return -ENOMEM;
        for (unsigned i = 0; i < L2_CACHE_SLOTS; i++) {
                q->l2[i].l1_index = UINT64_MAX;
                if (!q->prealloc && !(q->l2[i].entries = malloc(q->cs)))
                        return -ENOMEM;
        }

        l1c = div_round_up(q->l1_entries * 8, q->cs);
        if (q->prealloc) {
                plan_prealloc(q);
        } else {
                /* The file can never exceed the data, every L2 table, the fixed clusters and
                 * the refcount blocks for all that: size the refcount table for it now. */
                max_file = div_round_up(size, q->cs) + q->l1_entries + l1c + 64;
                max_file += div_round_up(max_file, q->rb_entries) + 1;
                q->rt_entries = div_round_up(max_file, q->rb_entries) + 1;
                q->rt_clusters = div_round_up(q->rt_entries * 8, q->cs);
                q->rt_entries = q->rt_clusters * q->cs / 8;
                q->l1_offset = q->cs;
                q->rt_offset = q->l1_offset + l1c * q->cs;
                q->next = q->rt_offset + q->rt_clusters * q->cs;
                /* Header, L1 and refcount table are counted in the first refcount block. */
                if (q->next / q->cs >= q->rb_entries)
                        return err_set(err, -EFBIG,
                                       "'%s': %llu bytes need larger clusters than 2^%u bytes",
                                       path, (unsigned long long) size, q->cluster_bits);
                for (uint64_t c = 0; c < q->next / q->cs; c++)
                        q->rb[c]++; /* header, L1, refcount table: region 0 */
                q->rb_region = 0;
                q->rb_host = q->next;
                q->next += q->cs;
                q->rb[q->rb_host / q->cs]++;
        }
        q->rt = calloc(q->rt_entries, sizeof(uint64_t));
        if (!q->rt)
                return -ENOMEM;

        r = writer_init_file(w, path, size, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}
