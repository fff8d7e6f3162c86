#include "convert.h"

#include <errno.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "bytes.h"
#include "cleanup.h"
#include "vmdk_stream.h"

#define UNIT_BYTES (1u << 20) /* virtual bytes per unit in the random-access walk */

enum chunk_kind {
        CHUNK_PLAIN,   /* bytes already in the unit's data */
        CHUNK_ZERO,    /* zeros */
        CHUNK_DEFLATE, /* compressed bytes in the unit's in buffer */
};

struct chunk {
        enum chunk_kind kind;
        enum image_deflate deflate;
        uint64_t off; /* virtual */
        uint32_t len;
        uint32_t data_pos; /* where its plain bytes go in data */
        size_t in_pos;
        uint32_t clen;
        uint32_t unit_len; /* size of the whole compressed unit */
        uint32_t skip;     /* bytes of the inflated unit before this chunk */
        bool covered;      /* inflate only: a later chunk covers these clusters */
};

enum slot_state { SLOT_FREE, SLOT_FILLED, SLOT_DONE };

struct slot {
        enum slot_state state;
        uint64_t seq;
        uint8_t *data;
        size_t data_cap;
        uint8_t *in;
        size_t in_cap, in_used;
        struct chunk *chunks;
        unsigned n_chunks, chunks_cap;
        /* worker results, per cluster of data */
        uint8_t *zero;
        uint8_t *cdata; /* compressed clusters, cluster i at i * cluster size */
        uint32_t *clen; /* 0: store plain */
        int error;
        struct err err;
};

struct pipeline {
        struct image *src;      /* walked at random; NULL when reading a stream */
        struct vmdk_stream *vs; /* walked front to back; NULL when reading at random */
        const char *name;       /* of the source, for messages */
        uint64_t size;          /* virtual bytes */
        struct writer *w;
        const struct convert_options *o;
        uint32_t cs;
        size_t data_cap;
        struct slot *slots;
        unsigned n_slots;
        pthread_mutex_t lock;
        pthread_cond_t changed;
        uint64_t produced;  /* units handed out by the reader */
        uint64_t next_work; /* next unit a worker takes */
        uint64_t written;   /* units written */
        bool eof;
        bool failed;
        int error;
        struct err err;
        struct convert_stats stats;
        uint64_t progress_done;
};

static void pipeline_fail(struct pipeline *p, int error, const struct err *err)
{
        pthread_mutex_lock(&p->lock);
        if (!p->failed) {
                p->failed = true;
                p->error = error;
                if (err)
                        p->err = *err;
        }
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
}

/* ---- workers ---- */

struct worker {
        struct pipeline *p;
        struct libdeflate_decompressor *inflater;
        z_stream deflater;
        bool deflater_ready;
        uint8_t *scratch; /* one whole compressed unit */
        size_t scratch_cap;
};

static int inflate_chunk(struct worker *wk, struct slot *s, struct chunk *c, struct err *err)
{
        const uint8_t *in = s->in + c->in_pos;
        uint8_t *out = s->data + c->data_pos;
        size_t got = 0, used = 0;
        enum libdeflate_result res;
        bool whole = c->skip == 0 && c->len == c->unit_len;

        if (!whole) {
                if (wk->scratch_cap < c->unit_len) {
                        uint8_t *n = realloc(wk->scratch, c->unit_len);
                        if (!n)
                                return -ENOMEM;
                        wk->scratch = n;
                        wk->scratch_cap = c->unit_len;
                }
                out = wk->scratch;
        }
        if (c->deflate == IMAGE_DEFLATE_ZLIB)
                res = libdeflate_zlib_decompress_ex(wk->inflater, in, c->clen, out, c->unit_len,
                                                    &used, &got);
        else
                res = libdeflate_deflate_decompress_ex(wk->inflater, in, c->clen, out, c->unit_len,
                                                       &used, &got);
        if (res == LIBDEFLATE_INSUFFICIENT_SPACE)
                return err_set(
                        err, -EBADMSG,
                        "'%s': the compressed %s at offset %llu inflates to more than %u bytes",
                        wk->p->name, c->deflate == IMAGE_DEFLATE_ZLIB ? "grain" : "cluster",
                        (unsigned long long) (c->off - c->skip), c->unit_len);
        if (res != LIBDEFLATE_SUCCESS)
                return err_set(err, -EBADMSG, "'%s': the compressed %s at offset %llu is corrupt",
                               wk->p->name, c->deflate == IMAGE_DEFLATE_ZLIB ? "grain" : "cluster",
                               (unsigned long long) (c->off - c->skip));
        if (got < (size_t) c->skip + c->len)
                return err_set(
                        err, -EBADMSG,
                        "'%s': the compressed data at offset %llu inflates to only %zu bytes",
                        wk->p->name, (unsigned long long) (c->off - c->skip), got);
        if (!whole)
                memcpy(s->data + c->data_pos, wk->scratch + c->skip, c->len);
        return 0;
}

/* qemu inflates compressed clusters with a 4 KiB window (windowBits -12): stay within it. */
static int deflate_cluster(struct worker *wk, const uint8_t *src, uint8_t *dst, uint32_t cs,
                           uint32_t *ret_len)
{
        z_stream *z = &wk->deflater;

        if (!wk->deflater_ready) {
                if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
                                 Z_DEFAULT_STRATEGY) != Z_OK)
                        return -ENOMEM;
                wk->deflater_ready = true;
        } else if (deflateReset(z) != Z_OK) {
                return -EIO;
        }
        z->next_in = (Bytef *) src;
        z->avail_in = cs;
        z->next_out = dst;
        z->avail_out = cs - 1;
        /* Not fitting in less than a cluster means: store it plain. */
        *ret_len = deflate(z, Z_FINISH) == Z_STREAM_END ? cs - 1 - z->avail_out : 0;
        return 0;
}

static int process_slot(struct worker *wk, struct slot *s)
{
        struct pipeline *p = wk->p;
        uint32_t cs = p->cs;
        int r;

        for (unsigned i = 0; i < s->n_chunks; i++) {
                struct chunk *c = &s->chunks[i];
                uint32_t first = c->data_pos / cs, n = (uint32_t) div_round_up(c->len, cs);

                if (c->kind == CHUNK_ZERO) {
                        memset(s->zero + first, 1, n);
                        continue;
                }
                if (c->kind == CHUNK_DEFLATE) {
                        r = inflate_chunk(wk, s, c, &s->err);
                        if (r < 0)
                                return r;
                }
                if (c->covered)
                        continue;
                /* The tail of the disk's last cluster must read as zeros in qcow2. */
                if (c->len % cs)
                        memset(s->data + c->data_pos + c->len, 0, cs - c->len % cs);
                for (uint32_t k = 0; k < n; k++) {
                        const uint8_t *cl = s->data + (size_t) (first + k) * cs;
                        s->zero[first + k] = bytes_are_zero(cl, cs);
                        s->clen[first + k] = 0;
                        if (p->o->out.compress && !s->zero[first + k]) {
                                r = deflate_cluster(wk, cl, s->cdata + (size_t) (first + k) * cs,
                                                    cs, &s->clen[first + k]);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return 0;
}

static void *worker_main(void *arg)
{
        struct worker *wk = arg;
        struct pipeline *p = wk->p;

        for (;;) {
                struct slot *s;
                int r;

                pthread_mutex_lock(&p->lock);
                for (;;) {
                        s = &p->slots[p->next_work % p->n_slots];
                        if (p->failed || (p->eof && p->next_work == p->produced))
                                break;
                        if (p->next_work < p->produced && s->state == SLOT_FILLED &&
                            s->seq == p->next_work)
                                break;
                        pthread_cond_wait(&p->changed, &p->lock);
                }
                if (p->failed || (p->eof && p->next_work == p->produced)) {
                        pthread_mutex_unlock(&p->lock);
                        return NULL;
                }
                p->next_work++;
                pthread_mutex_unlock(&p->lock);

                r = process_slot(wk, s);

                pthread_mutex_lock(&p->lock);
                s->error = r;
                s->state = SLOT_DONE;
                pthread_cond_broadcast(&p->changed);
                pthread_mutex_unlock(&p->lock);
        }
}

/* ---- writer thread ---- */

/* Consecutive plain clusters (also across chunks: grains in order) go out as one write. */
struct run {
        uint64_t off;
        const uint8_t *data;
        uint64_t len;
};

static int run_flush(struct pipeline *p, struct run *run, struct err *err)
{
        int r = 0;

        if (run->len)
                r = p->w->ops->write(p->w, run->off, run->data, (size_t) run->len, err);
        p->stats.data_bytes += run->len;
        run->len = 0;
        return r;
}

static int write_slot(struct pipeline *p, struct slot *s, struct err *err)
{
        uint32_t cs = p->cs;
        struct run run = { 0 };
        int r;

        for (unsigned i = 0; i < s->n_chunks; i++) {
                struct chunk *c = &s->chunks[i];
                uint32_t first = c->data_pos / cs, n = (uint32_t) div_round_up(c->len, cs);

                if (c->covered)
                        continue;
                for (uint32_t k = 0; k < n; k++) {
                        uint64_t off = c->off + (uint64_t) k * cs;
                        uint64_t len = k + 1 == n ? c->len - (uint64_t) k * cs : cs;
                        const uint8_t *d = s->data + (size_t) (first + k) * cs;

                        if (s->zero[first + k] || s->clen[first + k]) {
                                r = run_flush(p, &run, err);
                                if (r < 0)
                                        return r;
                                if (s->zero[first + k]) {
                                        p->stats.zero_bytes += len;
                                        continue;
                                }
                                r = p->w->ops->write_compressed(
                                        p->w, off, s->cdata + (size_t) (first + k) * cs,
                                        s->clen[first + k], err);
                                if (r < 0)
                                        return r;
                                p->stats.data_bytes += len;
                                continue;
                        }
                        /* A short cluster (end of disk) is always last: nothing follows it. */
                        if (run.len && run.len % cs == 0 && run.off + run.len == off &&
                            run.data + run.len == d) {
                                run.len += len;
                                continue;
                        }
                        r = run_flush(p, &run, err);
                        if (r < 0)
                                return r;
                        run = (struct run){ .off = off, .data = d, .len = len };
                }
                if (c->off + c->len > p->progress_done)
                        p->progress_done = c->off + c->len;
        }
        return run_flush(p, &run, err);
}

static void *writer_main(void *arg)
{
        struct pipeline *p = arg;

        for (;;) {
                struct slot *s;
                struct err err = { { 0 } };
                int r;

                pthread_mutex_lock(&p->lock);
                for (;;) {
                        s = &p->slots[p->written % p->n_slots];
                        if (p->failed || (p->eof && p->written == p->produced))
                                break;
                        if (p->written < p->produced && s->state == SLOT_DONE &&
                            s->seq == p->written)
                                break;
                        pthread_cond_wait(&p->changed, &p->lock);
                }
                if (p->failed || (p->eof && p->written == p->produced)) {
                        pthread_mutex_unlock(&p->lock);
                        return NULL;
                }
                pthread_mutex_unlock(&p->lock);

                if (s->error < 0) {
                        pipeline_fail(p, s->error, &s->err);
                        return NULL;
                }
                r = write_slot(p, s, &err);
                if (r < 0) {
                        pipeline_fail(p, r, &err);
                        return NULL;
                }
                if (p->o->progress)
                        p->o->progress(p->o->userdata, p->progress_done, p->size);

                pthread_mutex_lock(&p->lock);
                s->state = SLOT_FREE;
                p->written++;
                pthread_cond_broadcast(&p->changed);
                pthread_mutex_unlock(&p->lock);
        }
}

/* ---- reader (the calling thread) ---- */

static int slot_acquire(struct pipeline *p, struct slot **ret)
{
        struct slot *s = &p->slots[p->produced % p->n_slots];

        pthread_mutex_lock(&p->lock);
        while (!p->failed && s->state != SLOT_FREE)
                pthread_cond_wait(&p->changed, &p->lock);
        pthread_mutex_unlock(&p->lock);
        if (p->failed)
                return -ECANCELED;
        s->n_chunks = 0;
        s->in_used = 0;
        s->error = 0;
        s->err.msg[0] = 0;
        *ret = s;
        return 0;
}

static void slot_publish(struct pipeline *p, struct slot *s)
{
        pthread_mutex_lock(&p->lock);
        s->seq = p->produced++;
        s->state = SLOT_FILLED;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
}

static int slot_add_chunk(struct slot *s, const struct chunk *c)
{
        if (s->n_chunks == s->chunks_cap) {
                unsigned cap = s->chunks_cap ? 2 * s->chunks_cap : 64;
                struct chunk *n = realloc(s->chunks, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                s->chunks = n;
                s->chunks_cap = cap;
        }
        s->chunks[s->n_chunks++] = *c;
        return 0;
}

static int slot_reserve_in(struct slot *s, size_t len)
{
        if (s->in_cap - s->in_used < len) {
                size_t cap = s->in_used + len + (s->in_cap / 2);
                uint8_t *n = realloc(s->in, cap);
                if (!n)
                        return -ENOMEM;
                s->in = n;
                s->in_cap = cap;
        }
        return 0;
}

static bool cancelled(const struct pipeline *p)
{
        return p->o->cancel && *p->o->cancel;
}

/* Random-access walk over the virtual disk, through the backing chain. */
static int produce_random(struct pipeline *p, struct err *err)
{
        uint64_t size = p->size;

        for (uint64_t off = 0; off < size;) {
                uint64_t end = off + p->data_cap < size ? off + p->data_cap : size;
                struct slot *s;
                struct image_map m;
                bool all_zero = true;
                int r;

                if (cancelled(p))
                        return err_set(err, -ECANCELED, "interrupted");
                /* Most of a sparse disk is holes: skip them without touching a slot. */
                r = image_map_chain(p->src, off, end - off, &m, err);
                if (r < 0)
                        return r;
                if (m.kind == IMAGE_MAP_ZERO && m.len == end - off) {
                        p->stats.zero_bytes += m.len;
                        off = end;
                        continue;
                }

                r = slot_acquire(p, &s);
                if (r < 0)
                        return r;
                for (uint64_t at = off; at < end; at += m.len) {
                        struct chunk c = { .off = at, .data_pos = (uint32_t) (at - off) };

                        if (at != off) {
                                r = image_map_chain(p->src, at, end - at, &m, err);
                                if (r < 0)
                                        return r;
                        }
                        c.len = (uint32_t) m.len;
                        switch (m.kind) {
                        case IMAGE_MAP_ZERO:
                                memset(s->data + c.data_pos, 0, c.len);
                                c.kind = CHUNK_PLAIN;
                                break;
                        case IMAGE_MAP_DATA:
                                r = input_pread_full(m.in, s->data + c.data_pos, c.len, m.host_off,
                                                     err);
                                if (r < 0)
                                        return r;
                                c.kind = CHUNK_PLAIN;
                                all_zero = false;
                                break;
                        case IMAGE_MAP_DEFLATE:
                                r = slot_reserve_in(s, m.clen);
                                if (r < 0)
                                        return r;
                                r = input_pread_full(m.in, s->in + s->in_used, m.clen, m.host_off,
                                                     err);
                                if (r < 0)
                                        return r;
                                c.kind = CHUNK_DEFLATE;
                                c.deflate = m.deflate;
                                c.in_pos = s->in_used;
                                c.clen = m.clen;
                                c.unit_len = m.unit_len;
                                c.skip = (uint32_t) (at - m.unit_start);
                                c.covered = true;
                                s->in_used += m.clen;
                                all_zero = false;
                                break;
                        default:
                                return err_set(err, -EINVAL, "unexpected mapping");
                        }
                        r = slot_add_chunk(s, &c);
                        if (r < 0)
                                return r;
                }
                /* Chunks of one unit are contiguous: give the writer one chunk for all. */
                if (all_zero) {
                        s->n_chunks = 1;
                        s->chunks[0] = (struct chunk){ .kind = CHUNK_ZERO,
                                                       .off = off,
                                                       .len = (uint32_t) (end - off) };
                } else {
                        /* Plain and inflated parts land in data; the writer walks clusters. */
                        struct chunk whole = { .kind = CHUNK_PLAIN,
                                               .off = off,
                                               .len = (uint32_t) (end - off) };
                        unsigned n = 0;
                        for (unsigned i = 0; i < s->n_chunks; i++)
                                if (s->chunks[i].kind == CHUNK_DEFLATE)
                                        s->chunks[n++] = s->chunks[i];
                        s->n_chunks = n;
                        r = slot_add_chunk(s, &whole); /* may grow the array */
                        if (r < 0)
                                return r;
                }
                slot_publish(p, s);
                off = end;
        }
        return 0;
}

/* Forward-only walk of a streamOptimized VMDK's grain markers. */
static int produce_stream(struct pipeline *p, struct err *err)
{
        struct vmdk_stream *vs = p->vs;
        struct slot *s = NULL;
        uint32_t grain = (uint32_t) (vmdk_stream_header(vs)->grain_size * 512);
        size_t data_used = 0;
        int r;

        for (;;) {
                struct vmdk_grain g;
                struct chunk c;

                if (cancelled(p))
                        return err_set(err, -ECANCELED, "interrupted");
                r = vmdk_stream_next(vs, &g, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (s && data_used + grain > p->data_cap) {
                        slot_publish(p, s);
                        s = NULL;
                }
                if (!s) {
                        r = slot_acquire(p, &s);
                        if (r < 0)
                                return r;
                        data_used = 0;
                }
                r = slot_reserve_in(s, g.clen);
                if (r < 0)
                        return r;
                memcpy(s->in + s->in_used, g.data, g.clen);
                c = (struct chunk){
                        .kind = CHUNK_DEFLATE,
                        .deflate = IMAGE_DEFLATE_ZLIB,
                        .off = g.lba * 512,
                        .len = (uint32_t) (p->size - g.lba * 512 < grain ? p->size - g.lba * 512
                                                                         : grain),
                        .data_pos = (uint32_t) data_used,
                        .in_pos = s->in_used,
                        .clen = g.clen,
                        .unit_len =
                                grain, /* a short last grain inflates to less: see inflate_chunk */
                };
                s->in_used += g.clen;
                data_used += grain;
                r = slot_add_chunk(s, &c);
                if (r < 0)
                        return r;
        }
        if (s)
                slot_publish(p, s);
        return 0;
}

static unsigned default_threads(void)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n < 1 ? 1 : n > CONVERT_MAX_THREADS ? CONVERT_MAX_THREADS : (unsigned) n;
}

/* Grains must map onto whole output clusters to be converted as they stream by. */
static bool grain_streamable(uint64_t grain, uint32_t cs)
{
        return grain >= cs && grain % cs == 0 && grain <= (UNIT_BYTES > cs ? UNIT_BYTES : cs);
}

/* Runs the pipeline set up in p (a source image, or a grain stream) into dst. */
static int convert_run(const struct pipeline *p0, const char *dst, struct convert_stats *ret_stats,
                       struct err *err)
{
        _cleanup_(writer_freep) struct writer *w = NULL;
        struct pipeline p = *p0;
        const struct convert_options *o = p.o;
        struct worker workers[CONVERT_MAX_THREADS] = { { 0 } };
        pthread_t tids[CONVERT_MAX_THREADS], wtid;
        unsigned n_threads = o->threads ? o->threads : default_threads(), started = 0;
        bool writer_started = false;
        int r;

        if (o->max_size && p.size > o->max_size)
                return err_set(err, -EFBIG,
                               "'%s' holds a disk of %llu bytes, more than the %llu bytes declared "
                               "for it",
                               p.name, (unsigned long long) p.size,
                               (unsigned long long) o->max_size);
        if (n_threads > CONVERT_MAX_THREADS)
                n_threads = CONVERT_MAX_THREADS;
        r = writer_open(dst, p.size, &o->out, &w, err);
        if (r < 0)
                return r;
        p.w = w;
        p.cs = w->cluster_size;
        p.data_cap = UNIT_BYTES > p.cs ? UNIT_BYTES : p.cs; /* whole output clusters */
        p.stats.virtual_size = p.size;
        p.stats.streamed = p.vs != NULL;

        pthread_mutex_init(&p.lock, NULL);
        pthread_cond_init(&p.changed, NULL);
        p.n_slots = 2 * n_threads + 2;
        p.slots = calloc(p.n_slots, sizeof(*p.slots));
        if (!p.slots) {
                r = -ENOMEM;
                goto out;
        }
        for (unsigned i = 0; i < p.n_slots; i++) {
                struct slot *s = &p.slots[i];
                size_t clusters = p.data_cap / p.cs;
                s->data_cap = p.data_cap;
                s->data = malloc(p.data_cap);
                s->zero = malloc(clusters);
                s->clen = malloc(clusters * sizeof(uint32_t));
                s->cdata = o->out.compress ? malloc(p.data_cap) : NULL;
                if (!s->data || !s->zero || !s->clen || (o->out.compress && !s->cdata)) {
                        r = -ENOMEM;
                        goto out;
                }
        }

        for (; started < n_threads; started++) {
                workers[started].p = &p;
                workers[started].inflater = libdeflate_alloc_decompressor();
                if (!workers[started].inflater) {
                        r = -ENOMEM;
                        goto out;
                }
                if (pthread_create(&tids[started], NULL, worker_main, &workers[started]) != 0) {
                        libdeflate_free_decompressor(workers[started].inflater);
                        r = -EAGAIN;
                        goto out;
                }
        }
        if (pthread_create(&wtid, NULL, writer_main, &p) != 0) {
                r = -EAGAIN;
                goto out;
        }
        writer_started = true;

        r = p.vs ? produce_stream(&p, err) : produce_random(&p, err);

out:
        pthread_mutex_lock(&p.lock);
        p.eof = true;
        if (r < 0 && !p.failed) {
                p.failed = true;
                p.error = r;
        }
        pthread_cond_broadcast(&p.changed);
        pthread_mutex_unlock(&p.lock);
        for (unsigned i = 0; i < started; i++) {
                pthread_join(tids[i], NULL);
                libdeflate_free_decompressor(workers[i].inflater);
                if (workers[i].deflater_ready)
                        deflateEnd(&workers[i].deflater);
                free(workers[i].scratch);
        }
        if (writer_started)
                pthread_join(wtid, NULL);
        if (p.failed && r >= 0) {
                r = p.error;
                if (err && !err->msg[0])
                        *err = p.err;
        }
        if (r == -ECANCELED && p.error && p.error != -ECANCELED) {
                r = p.error; /* the reader stopped because a worker or the writer failed */
                if (err)
                        *err = p.err;
        }
        for (unsigned i = 0; p.slots && i < p.n_slots; i++) {
                free(p.slots[i].data);
                free(p.slots[i].in);
                free(p.slots[i].chunks);
                free(p.slots[i].zero);
                free(p.slots[i].clen);
                free(p.slots[i].cdata);
        }
        free(p.slots);
        pthread_cond_destroy(&p.changed);
        pthread_mutex_destroy(&p.lock);
        if (r < 0)
                return r;
        if (o->progress)
                o->progress(o->userdata, p.size, p.size);
        r = writer_commit(w, err);
        if (r < 0)
                return r;
        if (ret_stats)
                *ret_stats = p.stats;
        return 0;
}

int convert_image(struct image *src, const char *dst, const struct convert_options *o,
                  struct convert_stats *ret_stats, struct err *err)
{
        _cleanup_(vmdk_stream_freep) struct vmdk_stream *vs = NULL;
        struct pipeline p = { .src = src, .o = o, .name = src->in->name, .size = src->size };
        uint64_t grain = 0;

        /* Walk the grain markers of a streamOptimized disk when its grains fit the output. */
        if (src->streamable && !src->backing) {
                for (unsigned i = 0; i < src->n_props; i++)
                        if (strcmp(src->props[i].key, "grain_size") == 0)
                                grain = strtoull(src->props[i].value, NULL, 10);
                if (grain_streamable(grain, writer_cluster_size(&o->out))) {
                        int r;
                        src->in->pos = 0;
                        r = vmdk_stream_new(src->in, &vs, err);
                        if (r < 0)
                                return r;
                        p.vs = vs;
                        p.src = NULL;
                }
        }
        return convert_run(&p, dst, ret_stats, err);
}

int convert_vmdk_stream(struct input *in, const char *dst, const struct convert_options *o,
                        struct convert_stats *ret_stats, struct err *err)
{
        _cleanup_(vmdk_stream_freep) struct vmdk_stream *vs = NULL;
        struct pipeline p = { .o = o, .name = in->name };
        const struct vmdk_header *h;
        uint32_t cs = writer_cluster_size(&o->out);
        int r;

        r = vmdk_stream_new(in, &vs, err);
        if (r < 0)
                return r;
        h = vmdk_stream_header(vs);
        if (!grain_streamable(h->grain_size * 512, cs))
                return err_set(
                        err, -EOPNOTSUPP,
                        "'%s': grains of %llu bytes cannot be converted as they stream by into %u-byte clusters",
                        in->name, (unsigned long long) (h->grain_size * 512), cs);
        p.vs = vs;
        p.size = h->capacity * 512;
        return convert_run(&p, dst, ret_stats, err);
}
