#include "image.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "qcow2.h"
#include "raw.h"
#include "vmdk.h"

const char *const image_format_names[IMAGE_FORMAT_COUNT] = {
        [IMAGE_FORMAT_RAW] = "raw",
        [IMAGE_FORMAT_QCOW2] = "qcow2",
        [IMAGE_FORMAT_VMDK] = "vmdk",
};

static int (*const image_openers[IMAGE_FORMAT_COUNT])(struct input *, struct image **,
                                                      struct err *) = {
        [IMAGE_FORMAT_RAW] = raw_open,
        [IMAGE_FORMAT_QCOW2] = qcow2_open,
        [IMAGE_FORMAT_VMDK] = vmdk_open,
};

int image_format_from_string(const char *s)
{
        for (int i = 0; i < IMAGE_FORMAT_COUNT; i++)
                if (strcasecmp(s, image_format_names[i]) == 0)
                        return i;
        return -EINVAL;
}

enum image_format image_probe(const uint8_t *buf, size_t len)
{
        if (qcow2_probe(buf, len))
                return IMAGE_FORMAT_QCOW2;
        if (vmdk_probe(buf, len))
                return IMAGE_FORMAT_VMDK;
        return IMAGE_FORMAT_RAW;
}

static int image_open_layer(struct input *in, int fmt, unsigned depth, struct input **seen,
                            struct image **ret, struct err *err)
{
        _cleanup_(input_freep) struct input *owned = in;
        _cleanup_(image_freep) struct image *img = NULL;
        uint8_t head[4096];
        enum image_format probed;
        ssize_t n;
        int r;

        n = in->ops->pread ? in->ops->pread(in, head, sizeof(head), 0)
                           : -ESPIPE; /* streams are opened by their own readers */
        if (n < 0)
                return err_set(err, (int) n, "cannot read '%s': %s", in->name, strerror((int) -n));
        probed = image_probe(head, (size_t) n);
        if (fmt == IMAGE_FORMAT_PROBE)
                fmt = probed;
        else if (fmt != (int) probed && fmt != IMAGE_FORMAT_RAW)
                return err_set(err, -EMEDIUMTYPE, "'%s' is not a %s image (it looks like %s)",
                               in->name, image_format_names[fmt], image_format_names[probed]);

        for (unsigned i = 0; i < depth; i++)
                if (in->ino && seen[i]->dev == in->dev && seen[i]->ino == in->ino)
                        return err_set(err, -ELOOP,
                                       "'%s' is its own ancestor: the parent chain loops",
                                       in->name);
        seen[depth] = in;

        r = image_openers[fmt](TAKE_PTR(owned), &img, err);
        if (r < 0)
                return r;

        if (!img->allocated)
                img->allocated = img->in->alloc;
        r = image_add_file(img, img->in);
        if (r < 0)
                return r;
        if (img->backing_name) {
                struct input *bin = NULL;

                if (depth + 1 >= IMAGE_MAX_CHAIN)
                        return err_set(err, -ELOOP, "'%s': parent chain longer than %d images",
                                       img->in->name, IMAGE_MAX_CHAIN);
                r = input_open_sibling(img->in, img->backing_name, &bin, err);
                if (r < 0)
                        return err_prefix(err, r, "parent of '%s'", img->in->name);
                r = image_open_layer(bin, img->backing_format, depth + 1, seen, &img->backing, err);
                if (r < 0)
                        return r;
                if (img->ops->check_backing) {
                        r = img->ops->check_backing(img, img->backing, err);
                        if (r < 0)
                                return r;
                }
        }
        *ret = TAKE_PTR(img);
        return 0;
}

int image_open(struct input *in, int fmt, struct image **ret, struct err *err)
{
        struct input *seen[IMAGE_MAX_CHAIN];

        return image_open_layer(in, fmt, 0, seen, ret, err);
}

int image_open_path(const char *path, int fmt, struct image **ret, struct err *err)
{
        struct input *in = NULL;
        int r = input_open_file(path, &in, err);

        if (r < 0)
                return r;
        return image_open(in, fmt, ret, err);
}

struct image *image_free(struct image *img)
{
        if (!img)
                return NULL;
        image_free(img->backing);
        if (img->ops && img->ops->free)
                img->ops->free(img);
        for (unsigned i = 0; i < img->n_extents; i++)
                free(img->extents[i].file);
        free(img->extents);
        free(img->files);
        free(img->backing_name);
        input_free(img->in);
        free(img);
        return NULL;
}

int image_map_chain(struct image *img, uint64_t off, uint64_t len, struct image_map *ret,
                    struct err *err)
{
        struct image_map m;
        int r;

        if (off >= img->size || len == 0) {
                /* Past the end of a shorter backing file: zeros. */
                *ret = (struct image_map){ .kind = IMAGE_MAP_ZERO, .len = len };
                return 0;
        }
        if (len > img->size - off)
                len = img->size - off;
        r = img->ops->map(img, off, len, &m, err);
        if (r < 0)
                return r;
        if (m.len == 0 || m.len > len)
                return err_set(err, -EBADMSG, "'%s': internal mapping error at %llu", img->in->name,
                               (unsigned long long) off);
        if (m.kind == IMAGE_MAP_UNALLOC) {
                if (!img->backing) {
                        m.kind = IMAGE_MAP_ZERO;
                } else {
                        uint64_t l = m.len;
                        r = image_map_chain(img->backing, off, l, &m, err);
                        if (r < 0)
                                return r;
                        if (m.len > l)
                                m.len = l;
                }
        }
        *ret = m;
        return 0;
}

int image_add_prop(struct image *img, const char *key, const char *fmt, ...)
{
        struct image_prop *p;
        va_list ap;

        if (img->n_props >= ELEMENTSOF(img->props))
                return -E2BIG;
        p = &img->props[img->n_props++];
        (void) snprintf(p->key, sizeof(p->key), "%s", key);
        va_start(ap, fmt);
        (void) vsnprintf(p->value, sizeof(p->value), fmt, ap);
        va_end(ap);
        return 0;
}

int image_add_extent(struct image *img, const char *file, const char *type, uint64_t size,
                     uint64_t offset)
{
        struct image_extent *e;

        e = realloc(img->extents, (img->n_extents + 1) * sizeof(*e));
        if (!e)
                return -ENOMEM;
        img->extents = e;
        e = &img->extents[img->n_extents];
        *e = (struct image_extent){ .size = size, .offset = offset };
        (void) snprintf(e->type, sizeof(e->type), "%s", type);
        e->file = strdup(file);
        if (!e->file)
                return -ENOMEM;
        img->n_extents++;
        return 0;
}

int image_add_file(struct image *img, const struct input *in)
{
        struct image_file_id *f;

        if (!in->ino)
                return 0; /* not a file on disk */
        f = realloc(img->files, (img->n_files + 1) * sizeof(*f));
        if (!f)
                return -ENOMEM;
        img->files = f;
        f[img->n_files++] = (struct image_file_id){ .dev = in->dev, .ino = in->ino };
        return 0;
}

bool image_uses_file(const struct image *img, uint64_t dev, uint64_t ino)
{
        for (; img; img = img->backing)
                for (size_t i = 0; i < img->n_files; i++)
                        if (img->files[i].dev == dev && img->files[i].ino == ino)
                                return true;
        return false;
}
