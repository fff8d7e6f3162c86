/* The import walk: descriptor, plan, then one pass over the package's files. */
#include "import.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cleanup.h"
#include "gzip.h"
#include "strv.h"
#include "tar.h"
#include "writer.h"

/* Digests of a file read before the manifest was known (or listed in it). */
struct import_seen {
        char *name;
        uint8_t digest[MANIFEST_ALG_COUNT][MANIFEST_MAX_DIGEST];
        size_t len[MANIFEST_ALG_COUNT]; /* 0: not computed */
};

static int note(struct import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int note(struct import *im, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_vaddf(&im->notes, &im->n_notes, fmt, ap);
        va_end(ap);
        return r;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
        size_t n = strlen(suffix);
        return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
}

bool import_is_ovf(const char *name)
{
        size_t len = strcspn(name, "?#"); /* a URL's query and fragment are not its name */
        return has_suffix(name, len, ".ovf");
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

/* Mac OS tar adds "._name" AppleDouble files with Finder metadata; they are never OVF files. */
static bool apple_double(const char *name)
{
        return strncmp(base_name(name), "._", 2) == 0;
}

static int read_small(struct input *in, uint64_t size, uint64_t max, const char *what, char **ret,
                      struct err *err)
{
        _cleanup_free_ char *buf = NULL;
        int r;

        if (size > max)
                return err_set(err, -EFBIG, "%s '%s' is larger than %llu bytes", what, in->name,
                               (unsigned long long) max);
        buf = malloc(size + 1);
        if (!buf)
                return -ENOMEM;
        r = input_read_full(in, buf, size, err);
        if (r < 0)
                return r;
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* A whole input of unknown size (an .ovf over HTTP), bounded. */
static int read_all(struct input *in, uint64_t max, char **ret, size_t *ret_len, struct err *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                ssize_t n;
                if (cap - len < 65536) {
                        char *p;
                        if (cap > max)
                                return err_set(err, -EFBIG, "'%s' is larger than %llu bytes",
                                               in->name, (unsigned long long) max);
                        cap = cap ? cap * 2 : 131072;
                        if (!(p = realloc(buf, cap + 1)))
                                return -ENOMEM;
                        buf = p;
                }
                n = input_read(in, buf + len, cap - len);
                if (n < 0)
                        return err_set(err, (int) n, "cannot read '%s': %s", in->name,
                                       strerror((int) -n));
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > max)
                return err_set(err, -EFBIG, "'%s' is larger than %llu bytes", in->name,
                               (unsigned long long) max);
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static struct import_seen *seen_add(struct import *im, const char *name)
{
        struct import_seen *a;

        if (im->n_seen >= IMPORT_MAX_FILES)
                return NULL;
        a = reallocarray(im->seen, im->n_seen + 1, sizeof(*a));
        if (!a)
                return NULL;
        im->seen = a;
        a = &a[im->n_seen];
        memset(a, 0, sizeof(*a));
        while (name[0] == '.' && name[1] == '/')
                name += 2;
        if (!(a->name = strdup(name)))
                return NULL;
        im->n_seen++;
        return a;
}

static int verify_seen(struct import *im, const struct import_seen *s, struct err *err)
{
        const struct manifest_entry *e = manifest_find(&im->manifest, s->name);

        if (!e || im->opt.no_verify)
                return 0;
        if (!s->len[e->alg])
                return err_set(err, -EBADMSG,
                               "'%s' was read before the manifest without its %s digest", s->name,
                               manifest_alg_names[e->alg]);
        return manifest_verify(e, s->digest[e->alg], s->len[e->alg], err);
}

static int parse_manifest(struct import *im, const char *text, size_t len, struct err *err)
{
        int r = manifest_parse(text, len, &im->manifest, err);
        if (r < 0)
                return r;
        im->manifest_seen = true;
        for (size_t i = 0; i < im->n_seen; i++)
                if ((r = verify_seen(im, &im->seen[i], err)) < 0)
                        return r;
        return 0;
}

/* The digests a file needs: the manifest's algorithm for it, or all of them while the manifest
 * has not been seen (it may still come, at the end of the OVA). */
struct hashes {
        struct input *top;
        struct input *d[MANIFEST_ALG_COUNT];
};

static void hashes_release(struct hashes *h)
{
        for (int a = MANIFEST_ALG_COUNT - 1; a >= 0; a--)
                input_free(h->d[a]);
}

static int hashes_wrap(struct import *im, struct input *in, const char *name, struct hashes *h)
{
        const struct manifest_entry *e =
                im->manifest_seen ? manifest_find(&im->manifest, name) : NULL;

        h->top = in;
        for (int a = 0; a < MANIFEST_ALG_COUNT; a++) {
                int r;
                if (im->opt.no_verify || (im->manifest_seen && (!e || (int) e->alg != a)))
                        continue;
                r = digest_input_new(h->top, (enum manifest_alg) a, &h->d[a]);
                if (r < 0)
                        return r;
                h->top = h->d[a];
        }
        return 0;
}

/* Reads what the consumer left, then records and checks the digests. */
static int hashes_finish(struct import *im, struct hashes *h, const char *name, struct err *err)
{
        struct import_seen *s;

        if (im->opt.no_verify)
                return 0;
        if (!(s = seen_add(im, name)))
                return -ENOMEM;
        for (int a = MANIFEST_ALG_COUNT - 1; a >= 0; a--) {
                int r;
                if (!h->d[a])
                        continue;
                r = digest_input_finish(h->d[a], s->digest[a], &s->len[a], err);
                if (r < 0)
                        return r;
        }
        return im->manifest_seen ? verify_seen(im, s, err) : 0;
}

static const struct ovf_file *file_for_member(const struct ovf *o, const char *name, bool *chunk)
{
        while (name[0] == '.' && name[1] == '/')
                name += 2;
        for (size_t i = 0; i < o->n_files; i++) {
                const char *href = o->files[i].href;
                size_t n = strlen(href);
                while (href[0] == '.' && href[1] == '/')
                        href += 2, n -= 2;
                if (strcmp(name, href) == 0) {
                        *chunk = false;
                        return &o->files[i];
                }
                if (o->files[i].chunk_size && strncmp(name, href, n) == 0 &&
                    strcmp(name + n, ".000000000") == 0) {
                        *chunk = true;
                        return &o->files[i];
                }
        }
        return NULL;
}

/* The disks of the chosen VMs that are made from file f. */
static size_t disks_of_file(struct import *im, const struct ovf_file *f, struct domain_disk **ret,
                            size_t max)
{
        size_t n = 0;
        for (size_t i = 0; i < im->n_domains; i++)
                for (size_t k = 0; k < im->domains[i].n_disks; k++) {
                        struct domain_disk *dd = &im->domains[i].disks[k];
                        const struct ovf_disk *od = ovf_find_disk(&im->ovf, dd->ovf_disk_id);
                        if (od && od->file_ref && strcmp(od->file_ref, f->id) == 0 && n < max)
                                ret[n++] = dd;
                }
        return n;
}

static void progress_cb(void *userdata, uint64_t done, uint64_t total)
{
        struct import *im = userdata;
        if (im->opt.disk_progress)
                im->opt.disk_progress(im->opt.convert.userdata, im->current, done, total);
}

static int add_created(struct import *im, const char *path)
{
        char **a = reallocarray(im->created, im->n_created + 1, sizeof(char *));
        if (!a)
                return -ENOMEM;
        im->created = a;
        if (!(a[im->n_created] = strdup(path)))
                return -ENOMEM;
        im->n_created++;
        return 0;
}

/* With a pool, a disk is written to a private spool directory and handed to the store
 * callback, which uploads it; the spool is emptied as soon as each upload ends. */
static int spool_path(struct import *im, const struct domain_disk *dd, char **ret, struct err *err)
{
        if (!im->opt.store)
                return err_set(err, -EOPNOTSUPP, "disk '%s': no destination", dd->ovf_disk_id);
        if (!im->spool) {
                char tmpl[] = "/var/tmp/kvmforge-import-XXXXXX";
                if (!mkdtemp(tmpl))
                        return err_set(err, -errno,
                                       "cannot create a spool directory in /var/tmp: %s",
                                       strerror(errno));
                if (!(im->spool = strdup(tmpl))) {
                        (void) rmdir(tmpl);
                        return -ENOMEM;
                }
        }
        return asprintf(ret, "%s/%s", im->spool, dd->volume) < 0 ? -ENOMEM : 0;
}

static int store(struct import *im, const struct domain_disk *dd, const char *file, struct err *err)
{
        int r = im->opt.store(im->opt.store_userdata, dd, file, err);
        (void) unlink(file);
        return r;
}

/* Converts in into dd's file. A seekable input (a local file) is read as an image of any
 * format and taken over; any other is walked front to back as a streamOptimized VMDK. */
static int convert_to(struct import *im, struct domain_disk *dd, struct input *in, struct err *err)
{
        struct convert_options co = im->opt.convert;
        struct convert_stats st;
        int r;

        _cleanup_free_ char *spooled = NULL;
        const char *path = dd->path;

        if (!path) {
                r = spool_path(im, dd, &spooled, err);
                if (r < 0) {
                        if (input_seekable(in))
                                input_free(in);
                        return r;
                }
                path = spooled;
        }
        co.out = (struct writer_options){ .format = WRITER_FORMAT_QCOW2 };
        co.max_size = dd->capacity;
        co.progress = progress_cb;
        co.userdata = im;
        im->current = dd;
        if (input_seekable(in)) {
                _cleanup_(image_freep) struct image *img = NULL;
                r = image_open(in, IMAGE_FORMAT_PROBE, &img, err);
                if (r < 0)
                        return r;
                r = convert_image(img, path, &co, &st, err);
        } else {
                r = convert_vmdk_stream(in, path, &co, &st, err);
                if (r == -EMEDIUMTYPE)
                        r = err_prefix(err, r,
                                       "'%s' is read as it streams by, so it must be a "
                                       "streamOptimized VMDK",
                                       in->name);
        }
        if (r < 0)
                return r;
        return spooled ? store(im, dd, spooled, err) : add_created(im, path);
}

/* One file of the package, positioned at its first byte: hash it, unpack it, convert it into
 * every disk made from it (normally one). */
/* Each chunk of a chunked file is hashed on its own, as the manifest lists them. */
static int chunk_begin(void *userdata, const char *name, struct input *member,
                       struct input **ret_read)
{
        struct import *im = userdata;
        int r;

        hashes_release(im->chunk_hashes);
        *im->chunk_hashes = (struct hashes){ 0 };
        r = hashes_wrap(im, member, name, im->chunk_hashes);
        if (r < 0)
                return r;
        *ret_read = im->chunk_hashes->top;
        return 0;
}

static int chunk_end(void *userdata, const char *name, struct input *read)
{
        struct import *im = userdata;
        int r;

        (void) read;
        r = hashes_finish(im, im->chunk_hashes, name, &im->chunk_err);
        hashes_release(im->chunk_hashes);
        *im->chunk_hashes = (struct hashes){ 0 };
        return r;
}

static int drain(struct input *in, struct err *err)
{
        uint8_t buf[65536];
        ssize_t n;

        while ((n = input_read(in, buf, sizeof(buf))) > 0)
                ;
        return n < 0 ? err_set(err, (int) n, "cannot read '%s': %s", in->name, strerror((int) -n))
                     : 0;
}

static int import_file(struct import *im, const struct ovf_file *f, struct input *raw,
                       const char *name, bool chunked, struct err *err)
{
        struct domain_disk *targets[8];
        size_t n = disks_of_file(im, f, targets, ELEMENTSOF(targets));
        _cleanup_(hashes_release) struct hashes h = { 0 };
        _cleanup_(input_freep) struct input *gz = NULL;
        struct input *in;
        int r;

        if (n > 1)
                return err_set(err, -EOPNOTSUPP, "file '%s' backs %zu disks; one is supported",
                               f->href, n);
        if (chunked)
                h.top = raw; /* the chunks hash themselves */
        else if ((r = hashes_wrap(im, raw, name, &h)) < 0)
                return r;
        in = h.top;
        if (f->gzip) {
                r = gzip_input_new(in, &gz);
                if (r < 0)
                        return r;
                in = gz;
        }
        if (n == 1) {
                /* A seekable input behind a digest or gzip is read front to back like a stream. */
                r = convert_to(im, targets[0], in, err);
                if (r < 0)
                        return r;
        }
        if (chunked)
                return drain(raw, err);
        return hashes_finish(im, &h, name, err);
}

static int make_blank_disks(struct import *im, struct err *err)
{
        for (size_t i = 0; i < im->n_domains; i++)
                for (size_t k = 0; k < im->domains[i].n_disks; k++) {
                        struct domain_disk *dd = &im->domains[i].disks[k];
                        struct writer_options wo = { .format = WRITER_FORMAT_QCOW2 };
                        _cleanup_(writer_freep) struct writer *w = NULL;
                        int r;

                        _cleanup_free_ char *spooled = NULL;
                        const char *path = dd->path;

                        if (!dd->blank)
                                continue;
                        if (!path) {
                                if ((r = spool_path(im, dd, &spooled, err)) < 0)
                                        return r;
                                path = spooled;
                        }
                        r = writer_open(path, dd->capacity, &wo, &w, err);
                        if (r < 0)
                                return r;
                        r = writer_commit(w, err);
                        if (r < 0)
                                return r;
                        r = spooled ? store(im, dd, spooled, err) : add_created(im, path);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static bool file_done(const struct import *im, const char *href)
{
        while (href[0] == '.' && href[1] == '/')
                href += 2;
        for (size_t i = 0; i < im->n_seen; i++)
                if (strcmp(im->seen[i].name, href) == 0)
                        return true;
        return false;
}

/* After the walk: every disk file and every manifest entry must have been met. */
static int check_complete(struct import *im, char **done, size_t n_done, struct err *err)
{
        for (size_t i = 0; i < im->n_domains; i++)
                for (size_t k = 0; k < im->domains[i].n_disks; k++) {
                        const struct domain_disk *dd = &im->domains[i].disks[k];
                        const struct ovf_disk *od = ovf_find_disk(&im->ovf, dd->ovf_disk_id);
                        const struct ovf_file *f =
                                od ? ovf_find_file(&im->ovf, od->file_ref) : NULL;
                        bool found = false;
                        if (dd->blank || !f)
                                continue;
                        for (size_t j = 0; j < n_done; j++)
                                found |= strcmp(done[j], f->id) == 0;
                        if (!found)
                                return err_set(err, -ENOENT,
                                               "'%s' (disk '%s') is missing from '%s'", f->href,
                                               dd->ovf_disk_id, im->source);
                }
        if (im->opt.no_verify)
                return 0;
        for (size_t i = 0; i < im->manifest.n_entries; i++)
                if (!file_done(im, im->manifest.entries[i].name))
                        return err_set(err, -ENOENT,
                                       "'%s' is listed in the manifest but missing from '%s' (use "
                                       "--no-verify to import anyway)",
                                       im->manifest.entries[i].name, im->source);
        return 0;
}

static int ovf_digests(struct import *im, const char *name, const char *xml, size_t len)
{
        _cleanup_(input_freep) struct input *mem = NULL;
        _cleanup_(hashes_release) struct hashes h = { 0 };
        int r;

        if (im->opt.no_verify)
                return 0;
        r = input_new_memory(xml, len, name, &mem);
        if (r < 0)
                return r;
        r = hashes_wrap(im, mem, name, &h);
        if (r < 0)
                return r;
        return hashes_finish(im, &h, name, NULL);
}

static int walk_ova_members(struct import *im, struct err *err)
{
        const char *done[IMPORT_MAX_FILES];
        size_t n_done = 0;
        struct tar_entry e = im->first;
        int r = im->pending;

        for (; r > 0; r = tar_next(im->tar, &e, err)) {
                const struct ovf_file *f;
                bool chunk;

                if (e.type == TAR_DIRECTORY)
                        continue;
                if (apple_double(e.name)) {
                        if ((r = note(im, "'%s' is Mac OS metadata: skipped", e.name)) < 0)
                                return r;
                        continue;
                }
                if (has_suffix(e.name, strlen(e.name), ".mf") && !im->manifest_seen) {
                        _cleanup_free_ char *text = NULL;
                        r = read_small(tar_member(im->tar), e.size, MANIFEST_MAX_BYTES, "manifest",
                                       &text, err);
                        if (r < 0 ||
                            (!im->opt.no_verify && (r = parse_manifest(im, text, e.size, err)) < 0))
                                return r;
                        continue;
                }
                if (has_suffix(e.name, strlen(e.name), ".cert")) {
                        if ((r = note(im, "'%s' is a signing certificate: reported, not checked",
                                      e.name)) < 0)
                                return r;
                        continue;
                }
                f = file_for_member(&im->ovf, e.name, &chunk);
                if (f && chunk) {
                        _cleanup_(input_freep) struct input *chunks = NULL;
                        _cleanup_(hashes_release) struct hashes ch = { 0 };
                        const struct tar_chunk_hooks hooks = { .begin = chunk_begin,
                                                               .end = chunk_end,
                                                               .userdata = im };
                        im->chunk_hashes = &ch;
                        r = tar_chunks_new(im->tar, f->href, &hooks, &chunks, err);
                        if (r < 0)
                                return r;
                        r = import_file(im, f, chunks, f->href, true, err);
                        /* A chunk's own failure (its digest) is the cause; whoever was reading
                         * when it surfaced saw only a failed read. */
                        if (r < 0 && im->chunk_err.msg[0] && err)
                                *err = im->chunk_err;
                } else if (f) {
                        r = import_file(im, f, tar_member(im->tar), e.name, false, err);
                } else {
                        /* Not referenced by the OVF; still checked when the manifest lists it. */
                        _cleanup_(hashes_release) struct hashes h = { 0 };
                        if ((r = hashes_wrap(im, tar_member(im->tar), e.name, &h)) < 0 ||
                            (r = hashes_finish(im, &h, e.name, err)) < 0)
                                return r;
                        continue;
                }
                if (r < 0)
                        return r;
                if (n_done < ELEMENTSOF(done))
                        done[n_done++] = f->id;
        }
        if (r < 0)
                return r;
        return check_complete(im, (char **) done, n_done, err);
}

/* An .ovf with its files beside it (a directory, or the same folder of a web server). */
static int walk_siblings(struct import *im, struct err *err)
{
        const char *done[IMPORT_MAX_FILES];
        size_t n_done = 0;
        int r;

        for (size_t i = 0; i < im->ovf.n_files && n_done < ELEMENTSOF(done); i++) {
                const struct ovf_file *f = &im->ovf.files[i];
                struct domain_disk *targets[1];
                _cleanup_(input_freep) struct input *in = NULL;

                /* Files no chosen disk uses (other VMs, ISO images) are not fetched. */
                if (disks_of_file(im, f, targets, 1) == 0)
                        continue;
                if (f->chunk_size)
                        return err_set(err, -EOPNOTSUPP,
                                       "'%s' is split into chunks, which are read from OVAs only",
                                       f->href);
                r = input_open_sibling(im->in, f->href, &in, err);
                if (r < 0)
                        return r;
                if (input_seekable(in) && !f->gzip) {
                        /* A local disk is checked before it is converted, at the cost of one
                         * more read, so a bad file is refused before anything is written. */
                        if (!im->opt.no_verify) {
                                _cleanup_(hashes_release) struct hashes h = { 0 };
                                if ((r = hashes_wrap(im, in, f->href, &h)) < 0 ||
                                    (r = hashes_finish(im, &h, f->href, err)) < 0)
                                        return r;
                                hashes_release(&h);
                                h = (struct hashes){ 0 };
                                in = input_free(in);
                                r = input_open_sibling(im->in, f->href, &in, err);
                                if (r < 0)
                                        return r;
                        }
                        r = convert_to(im, targets[0], TAKE_PTR(in), err);
                } else {
                        r = import_file(im, f, in, f->href, false, err);
                }
                if (r < 0)
                        return r;
                done[n_done++] = f->id;
        }
        /* Files the manifest lists but no disk needs are not fetched; only those read count. */
        for (size_t i = 0; i < im->manifest.n_entries; i++) {
                const char *name = im->manifest.entries[i].name;
                bool chunk;
                if (!file_done(im, name) && !file_for_member(&im->ovf, name, &chunk) &&
                    !import_is_ovf(name) &&
                    (r = note(im,
                              "'%s' is listed in the manifest but not "
                              "needed: not read",
                              name)) < 0)
                        return r;
        }
        for (size_t i = 0; i < im->n_domains; i++)
                for (size_t k = 0; k < im->domains[i].n_disks; k++) {
                        const struct domain_disk *dd = &im->domains[i].disks[k];
                        bool found = dd->blank;
                        const struct ovf_disk *od = ovf_find_disk(&im->ovf, dd->ovf_disk_id);
                        for (size_t j = 0; j < n_done && od && od->file_ref; j++)
                                found |= strcmp(done[j], od->file_ref) == 0;
                        if (!found)
                                return err_set(err, -ENOENT, "disk '%s' has no file",
                                               dd->ovf_disk_id);
                }
        return 0;
}

static int choose_vms(struct import *im, struct err *err)
{
        const struct import_options *opt = &im->opt;
        size_t n = 0;

        if (im->ovf.n_vms == 0)
                return err_set(err, -EBADMSG, "'%s' describes no virtual machine", im->source);
        im->domains = calloc(im->ovf.n_vms, sizeof(*im->domains));
        if (!im->domains)
                return -ENOMEM;
        for (size_t i = 0; i < im->ovf.n_vms; i++) {
                const struct ovf_vm *vm = &im->ovf.vms[i];
                int r;
                if (opt->vm && strcmp(vm->id, opt->vm) != 0)
                        continue;
                if (opt->domain.name && n > 0)
                        return err_set(err, -EINVAL,
                                       "'%s' holds several VMs: --name needs --vm to pick one",
                                       im->source);
                r = domain_from_ovf(&im->ovf, vm, &opt->domain, &im->domains[n], err);
                if (r < 0)
                        return r;
                im->n_domains = ++n;
        }
        if (n == 0) {
                char ids[200] = "";
                for (size_t i = 0; i < im->ovf.n_vms; i++)
                        if (strlen(ids) + strlen(im->ovf.vms[i].id) + 3 < sizeof(ids))
                                (void) snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids),
                                                "%s%s", i ? ", " : "", im->ovf.vms[i].id);
                return err_set(err, -ENOENT, "'%s' has no VM '%s' (it has: %s)", im->source,
                               opt->vm, ids);
        }
        for (size_t i = 0; i < n; i++)
                for (size_t k = i + 1; k < n; k++)
                        if (strcmp(im->domains[i].name, im->domains[k].name) == 0)
                                return err_set(err, -ENOTUNIQ,
                                               "two VMs are named '%s': import them one by one "
                                               "with --vm and --name",
                                               im->domains[i].name);
        /* Never overwrite: an existing file may be another guest's disk. */
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < im->domains[i].n_disks; k++) {
                        const char *p = im->domains[i].disks[k].path;
                        if (p && access(p, F_OK) == 0)
                                return err_set(err, -EEXIST,
                                               "'%s' already exists: remove it, or choose "
                                               "another --name or --dest",
                                               p);
                }
        return 0;
}

int import_open(struct input *in, bool ova, const struct import_options *opt, struct import **ret,
                struct err *err)
{
        _cleanup_(import_freep) struct import *im = calloc(1, sizeof(*im));
        _cleanup_free_ char *xml = NULL;
        const char *ovf_name;
        size_t len = 0;
        int r;

        if (!im) {
                input_free(in);
                return -ENOMEM;
        }
        im->in = in;
        im->opt = *opt;
        im->ova = ova;
        if (!(im->source = strdup(in->name)))
                return -ENOMEM;
        if (ova) {
                struct tar_entry e;
                r = tar_new(in, &im->tar);
                if (r < 0)
                        return r;
                /* The descriptor must come first (Mac OS metadata and folders aside): a one-pass
                 * reader has to know the disks before their bytes arrive. */
                while ((r = tar_next(im->tar, &e, err)) > 0 &&
                       (e.type == TAR_DIRECTORY || apple_double(e.name)))
                        ;
                if (r == 0)
                        return err_set(err, -EBADMSG, "'%s' is an empty archive", im->source);
                if (r < 0)
                        return err_prefix(err, r, "not a usable OVA");
                if (!has_suffix(e.name, strlen(e.name), ".ovf"))
                        return err_set(err, -EBADMSG,
                                       "'%s': the first file of an OVA must be its .ovf "
                                       "descriptor, not '%s'",
                                       im->source, e.name);
                len = e.size;
                r = read_small(tar_member(im->tar), e.size, OVF_MAX_BYTES, "descriptor", &xml, err);
                if (r < 0)
                        return r;
                ovf_name = e.name;
                r = ovf_parse(xml, len, opt->deployment, &im->ovf, err);
                if (r < 0)
                        return err_prefix(err, r, "'%s'", ovf_name);
                if ((r = ovf_digests(im, ovf_name, xml, len)) < 0)
                        return r;
                im->pending = tar_next(im->tar, &im->first, err);
                if (im->pending < 0)
                        return im->pending;
        } else {
                r = read_all(in, OVF_MAX_BYTES, &xml, &len, err);
                if (r < 0)
                        return r;
                ovf_name = base_name(in->name);
                r = ovf_parse(xml, len, opt->deployment, &im->ovf, err);
                if (r < 0) /* the caller names the descriptor */
                        return r;
                if ((r = ovf_digests(im, ovf_name, xml, len)) < 0)
                        return r;
                if (!opt->no_verify) {
                        /* The manifest sits beside the descriptor, named like it. */
                        _cleanup_(input_freep) struct input *mf = NULL;
                        _cleanup_free_ char *name = NULL, *text = NULL;
                        size_t n = strlen(ovf_name), mlen;
                        if (asprintf(&name, "%.*s.mf", (int) (n - 4), ovf_name) < 0)
                                return -ENOMEM;
                        if (input_open_sibling(in, name, &mf, NULL) == 0) {
                                r = read_all(mf, MANIFEST_MAX_BYTES, &text, &mlen, err);
                                if (r < 0 || (r = parse_manifest(im, text, mlen, err)) < 0)
                                        return r;
                        }
                }
        }
        r = choose_vms(im, err);
        if (r < 0)
                return r;
        if (!opt->no_verify && !ova && !im->manifest_seen &&
            (r = note(im, "no manifest: the files are not verified")) < 0)
                return r;
        *ret = TAKE_PTR(im);
        return 0;
}

int import_run(struct import *im, struct err *err)
{
        int r = im->ova ? walk_ova_members(im, err) : walk_siblings(im, err);

        if (r >= 0)
                r = make_blank_disks(im, err);
        if (r >= 0 && im->ova && !im->manifest_seen && !im->opt.no_verify)
                r = note(im, "no manifest: the files are not verified");
        if (r < 0) {
                import_rollback(im);
                return r;
        }
        im->verified = im->manifest_seen && !im->opt.no_verify;
        return 0;
}

void import_rollback(struct import *im)
{
        for (size_t i = 0; i < im->n_created; i++) {
                (void) unlink(im->created[i]);
                free(im->created[i]);
        }
        im->n_created = 0;
}

struct import *import_free(struct import *im)
{
        if (!im)
                return NULL;
        for (size_t i = 0; i < im->n_domains; i++)
                domain_release(&im->domains[i]);
        free(im->domains);
        strv_free(&im->notes, &im->n_notes);
        for (size_t i = 0; i < im->n_seen; i++)
                free(im->seen[i].name);
        free(im->seen);
        for (size_t i = 0; i < im->n_created; i++)
                free(im->created[i]);
        free(im->created);
        if (im->spool) {
                /* A failed conversion has already removed its temporary file. */
                (void) rmdir(im->spool);
                free(im->spool);
        }
        manifest_release(&im->manifest);
        ovf_release(&im->ovf);
        tar_free(im->tar);
        input_free(im->in);
        free(im->source);
        free(im);
        return NULL;
}
