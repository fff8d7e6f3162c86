#include "raw.h"

#include <errno.h>
#include <stdlib.h>

#include "cleanup.h"

static int raw_map(struct image *img, uint64_t off, uint64_t len, struct image_map *ret,
                   struct err *err)
{
        uint64_t data;
        int r;

        (void) err;
        r = input_next_data(img->in, off, &data);
        if (r < 0)
                data = off; /* no hole information: treat as data */
        if (data > off) {
                *ret = (struct image_map){ .kind = IMAGE_MAP_ZERO,
                                           .len = data - off < len ? data - off : len };
                return 0;
        }
        *ret = (struct image_map){
                .kind = IMAGE_MAP_DATA, .len = len, .in = img->in, .host_off = off
        };
        return 0;
}

static const struct image_ops raw_ops = {
        .map = raw_map,
};

int raw_open(struct input *in, struct image **ret, struct err *err)
{
        _cleanup_(input_freep) struct input *owned = in;
        struct image *img;

        if (in->size == UINT64_MAX)
                return err_set(err, -ESPIPE, "'%s': a raw image needs a known size", in->name);
        if (in->size > IMAGE_MAX_SIZE)
                return err_set(err, -EFBIG, "'%s' is larger than %llu bytes", in->name,
                               (unsigned long long) IMAGE_MAX_SIZE);
        img = calloc(1, sizeof(*img));
        if (!img)
                return -ENOMEM;
        img->ops = &raw_ops;
        img->format = IMAGE_FORMAT_RAW;
        img->size = in->size;
        img->backing_format = IMAGE_FORMAT_PROBE;
        img->in = TAKE_PTR(owned);
        *ret = img;
        return 0;
}
