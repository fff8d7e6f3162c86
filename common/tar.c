#include "tar.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

struct tar_member {
        struct input in;
        struct tar *t;
};

struct tar {
        struct input *in;
        uint64_t remaining; /* unread bytes of the current member */
        uint64_t padding;   /* bytes after it up to the next block */
        char *name;
        char *pax_path; /* from a pax 'x' header or GNU 'L', for the next member */
        uint64_t pax_size;
        bool have_pax_size;
        struct tar_member member;
        bool done;
        bool held; /* tar_next() gives the current entry again, unread */
        enum tar_type type;
};

static ssize_t member_read(struct input *in, void *buf, size_t len)
{
        struct tar *t = ((struct tar_member *) in)->t;
        ssize_t n;

        if (len > t->remaining)
                len = (size_t) t->remaining;
        if (len == 0)
                return 0;
        n = input_read(t->in, buf, len);
        if (n < 0)
                return n;
        if ((size_t) n < len)
                return -EBADMSG; /* the archive ends inside the member: truncated */
        t->remaining -= (uint64_t) n;
        in->pos += (uint64_t) n;
        return n;
}

static const struct input_ops member_ops = {
        .read = member_read,
};

int tar_new(struct input *in, struct tar **ret)
{
        struct tar *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        t->in = in;
        t->member.in.ops = &member_ops;
        t->member.t = t;
        *ret = t;
        return 0;
}

struct tar *tar_free(struct tar *t)
{
        if (!t)
                return NULL;
        free(t->name);
        free(t->pax_path);
        free(t->member.in.name);
        free(t);
        return NULL;
}

struct input *tar_member(struct tar *t)
{
        return &t->member.in;
}

int tar_check_name(const char *name, struct err *err)
{
        const char *p = name;

        if (!*name)
                return err_set(err, -EBADMSG, "archive member with an empty name");
        if (name[0] == '/')
                return err_set(err, -EBADMSG, "archive member '%s' has an absolute path", name);
        if (strchr(name, '\\'))
                return err_set(err, -EBADMSG, "archive member '%s' has a backslash in its name",
                               name);
        while (*p) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return err_set(err, -EBADMSG,
                                       "archive member '%s' points outside the archive ('..')",
                                       name);
                p += n;
                while (*p == '/')
                        p++;
        }
        return 0;
}

/* Numeric header fields: octal digits (NUL or space terminated), or GNU base-256. */
static int parse_number(const uint8_t *f, size_t len, uint64_t *ret)
{
        uint64_t v = 0;
        size_t i = 0;

        if (f[0] & 0x80) {
                if (f[0] != 0x80)
                        return -EBADMSG; /* negative or too large */
                for (i = 1; i < len; i++) {
                        if (v >> 56)
                                return -EBADMSG;
                        v = v << 8 | f[i];
                }
                *ret = v;
                return 0;
        }
        while (i < len && f[i] == ' ')
                i++;
        for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
                if (v >> 61)
                        return -EBADMSG;
                v = v << 3 | (uint64_t) (f[i] - '0');
        }
        if (i < len && f[i] != 0 && f[i] != ' ')
                return -EBADMSG;
        *ret = v;
        return 0;
}

static bool checksum_ok(const uint8_t *h)
{
        uint64_t stored, u = 0;
        int64_t s = 0;

        if (parse_number(h + 148, 8, &stored) < 0)
                return false;
        for (int i = 0; i < TAR_BLOCK; i++) {
                uint8_t c = (i >= 148 && i < 156) ? ' ' : h[i];
                u += c;
                s += (int8_t) c; /* some old tars summed signed bytes */
        }
        return stored == u || (int64_t) stored == s;
}

static int skip_rest(struct tar *t, struct err *err)
{
        int r = input_skip(t->in, t->remaining + t->padding, err);

        t->remaining = t->padding = 0;
        return r;
}

/* Reads a small special member (pax header, GNU long name) into a NUL-terminated buffer. */
static int read_special(struct tar *t, uint64_t size, uint64_t limit, char **ret, struct err *err)
{
        _cleanup_free_ char *buf = NULL;
        int r;

        if (size > limit)
                return err_set(err, -EBADMSG, "'%s': oversized extended header (%llu bytes)",
                               t->in->name, (unsigned long long) size);
        buf = malloc(size + 1);
        if (!buf)
                return -ENOMEM;
        r = input_read_full(t->in, buf, size, err);
        if (r < 0)
                return r;
        buf[size] = 0;
        r = input_skip(t->in, (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* pax records: "<len> <key>=<value>\n", len counting the whole record. */
static int parse_pax(struct tar *t, const char *buf, size_t size, struct err *err)
{
        size_t pos = 0;

        while (pos < size) {
                uint64_t len = 0;
                size_t i = pos;
                const char *key, *eq;

                while (i < size && buf[i] >= '0' && buf[i] <= '9' && len < size)
                        len = len * 10 + (uint64_t) (buf[i++] - '0');
                if (i >= size || buf[i] != ' ' || len <= i - pos + 1 || len > size - pos ||
                    buf[pos + len - 1] != '\n')
                        return err_set(err, -EBADMSG, "'%s': malformed pax header", t->in->name);
                key = buf + i + 1;
                eq = memchr(key, '=', (size_t) (buf + pos + len - 1 - key));
                if (!eq)
                        return err_set(err, -EBADMSG, "'%s': malformed pax record", t->in->name);
                size_t klen = (size_t) (eq - key), vlen = (size_t) (buf + pos + len - 1 - (eq + 1));
                if (klen == 4 && memcmp(key, "path", 4) == 0) {
                        if (vlen == 0 || vlen > TAR_MAX_NAME || memchr(eq + 1, 0, vlen))
                                return err_set(err, -EBADMSG, "'%s': bad pax path", t->in->name);
                        free(t->pax_path);
                        t->pax_path = strndup(eq + 1, vlen);
                        if (!t->pax_path)
                                return -ENOMEM;
                } else if (klen == 4 && memcmp(key, "size", 4) == 0) {
                        uint64_t v = 0;
                        if (vlen == 0 || vlen > 20)
                                return err_set(err, -EBADMSG, "'%s': bad pax size", t->in->name);
                        for (size_t k = 0; k < vlen; k++) {
                                char c = eq[1 + k];
                                if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10)
                                        return err_set(err, -EBADMSG, "'%s': bad pax size",
                                                       t->in->name);
                                v = v * 10 + (uint64_t) (c - '0');
                        }
                        t->pax_size = v;
                        t->have_pax_size = true;
                }
                pos += len;
        }
        return 0;
}

int tar_next(struct tar *t, struct tar_entry *ret, struct err *err)
{
        if (t->held) {
                t->held = false;
                *ret = (struct tar_entry){ .name = t->name, .size = t->remaining, .type = t->type };
                return 1;
        }
        for (;;) {
                uint8_t h[TAR_BLOCK];
                uint64_t size;
                ssize_t n;
                char type;
                int r;

                if (t->done)
                        return 0;
                r = skip_rest(t, err);
                if (r < 0)
                        return err_prefix(err, r, "'%s' is truncated", t->in->name);
                n = input_read(t->in, h, sizeof(h));
                if (n < 0)
                        return err_set(err, (int) n, "cannot read '%s'", t->in->name);
                if (n == 0 && !t->pax_path && !t->have_pax_size) {
                        /* No end-of-archive blocks: tolerated at a member boundary; what the
                         * archive should hold is checked by whoever reads its contents. */
                        t->done = true;
                        return 0;
                }
                if (n < TAR_BLOCK)
                        return err_set(err, -EBADMSG, "'%s' is truncated inside a header",
                                       t->in->name);
                if (h[0] == 0) {
                        bool zero = true;
                        for (int i = 0; i < TAR_BLOCK && zero; i++)
                                zero = h[i] == 0;
                        if (zero) {
                                t->done = true; /* end of archive; trailing blocks are not read */
                                return 0;
                        }
                }
                if (memcmp(h + 257, "ustar", 5) != 0)
                        return err_set(err, -EBADMSG,
                                       "'%s' is not a tar archive (no ustar header at offset %llu)",
                                       t->in->name, (unsigned long long) (t->in->pos - TAR_BLOCK));
                if (!checksum_ok(h))
                        return err_set(err, -EBADMSG,
                                       "'%s': header checksum mismatch at offset %llu", t->in->name,
                                       (unsigned long long) (t->in->pos - TAR_BLOCK));
                if (parse_number(h + 124, 12, &size) < 0 || size > TAR_MAX_MEMBER)
                        return err_set(err, -EBADMSG, "'%s': bad member size at offset %llu",
                                       t->in->name, (unsigned long long) (t->in->pos - TAR_BLOCK));
                type = (char) h[156];

                if (type == 'x' || type == 'L') {
                        _cleanup_free_ char *buf = NULL;
                        r = read_special(t, size, type == 'x' ? TAR_MAX_PAX : TAR_MAX_NAME, &buf,
                                         err);
                        if (r < 0)
                                return r;
                        if (type == 'x') {
                                r = parse_pax(t, buf, (size_t) size, err);
                                if (r < 0)
                                        return r;
                        } else {
                                free(t->pax_path);
                                t->pax_path = strndup(buf, (size_t) size); /* stops at the NUL */
                                if (!t->pax_path)
                                        return -ENOMEM;
                        }
                        continue;
                }
                if (type == 'g') { /* global pax header: nothing in it matters to us */
                        t->remaining = size;
                        t->padding = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
                        continue;
                }

                free(t->name);
                if (t->pax_path) {
                        t->name = TAKE_PTR(t->pax_path);
                } else {
                        char name[256 + 2];
                        size_t pl = strnlen((const char *) h + 345, 155),
                               nl = strnlen((const char *) h, 100);
                        /* POSIX ustar splits long names into prefix and name. */
                        if (memcmp(h + 257, "ustar\0", 6) == 0 && pl) {
                                memcpy(name, h + 345, pl);
                                name[pl] = '/';
                                memcpy(name + pl + 1, h, nl);
                                name[pl + 1 + nl] = 0;
                        } else {
                                memcpy(name, h, nl);
                                name[nl] = 0;
                        }
                        t->name = strdup(name);
                }
                if (!t->name)
                        return -ENOMEM;
                if (t->have_pax_size) {
                        size = t->pax_size;
                        t->have_pax_size = false;
                        if (size > TAR_MAX_MEMBER)
                                return err_set(err, -EBADMSG, "'%s': bad member size", t->in->name);
                }
                {
                        char *s = t->name;
                        while (s[0] == '.' && s[1] == '/')
                                s += 2;
                        memmove(t->name, s, strlen(s) + 1);
                }

                switch (type) {
                case '0':
                case '\0':
                case '7': /* contiguous file: a regular file for readers */
                        break;
                case '5':
                        break;
                case '1':
                case '2':
                        return err_set(err, -EBADMSG,
                                       "'%s': member '%s' is a link; an OVA holds plain files only",
                                       t->in->name, t->name);
                case '3':
                case '4':
                case '6':
                        return err_set(
                                err, -EBADMSG,
                                "'%s': member '%s' is a device or FIFO; an OVA holds plain files only",
                                t->in->name, t->name);
                default:
                        return err_set(err, -EBADMSG, "'%s': member '%s' has unknown type '%c'",
                                       t->in->name, t->name,
                                       type >= ' ' && type < 127 ? type : '?');
                }
                if (type != '5') {
                        r = tar_check_name(t->name, err);
                        if (r < 0)
                                return err_prefix(err, r, "'%s'", t->in->name);
                }

                t->remaining = type == '5' ? 0 : size;
                t->padding = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
                if (type == '5')
                        t->padding += size; /* directories carry no data we want */
                free(t->member.in.name);
                t->member.in.name = strdup(t->name);
                if (!t->member.in.name)
                        return -ENOMEM;
                t->member.in.size = t->remaining;
                t->member.in.pos = 0;
                t->type = type == '5' ? TAR_DIRECTORY : TAR_FILE;
                *ret = (struct tar_entry){ .name = t->name,
                                           .size = t->remaining,
                                           .type = type == '5' ? TAR_DIRECTORY : TAR_FILE };
                return 1;
        }
}

/* ---- chunked files ---- */

struct tar_chunks {
        struct input in;
        struct tar *t;
        char *href;
        unsigned next; /* number of the chunk that must come next */
        bool end;
        struct tar_chunk_hooks hooks;
        struct input *cur; /* what the current chunk is read through */
        char cur_name[TAR_MAX_NAME + 1];
};

static int chunk_begin(struct tar_chunks *c, const char *name)
{
        struct input *m = tar_member(c->t);

        (void) snprintf(c->cur_name, sizeof(c->cur_name), "%s", name);
        c->cur = m;
        if (c->hooks.begin) {
                struct input *wrapped = NULL;
                int r = c->hooks.begin(c->hooks.userdata, name, m, &wrapped);
                if (r < 0)
                        return r;
                if (wrapped)
                        c->cur = wrapped;
        }
        return 0;
}

/* "href.NNNNNNNNN": returns the chunk number, or -1 for any other name. */
static long chunk_number(const char *name, const char *href)
{
        size_t hl = strlen(href);
        long v = 0;

        if (strncmp(name, href, hl) != 0 || name[hl] != '.' || strlen(name + hl + 1) != 9)
                return -1;
        for (const char *p = name + hl + 1; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -1;
                v = v * 10 + (*p - '0');
        }
        return v;
}

static ssize_t chunks_read(struct input *in, void *buf, size_t len)
{
        struct tar_chunks *c = (struct tar_chunks *) in;

        while (!c->end) {
                struct tar_entry e;
                struct err err = { { 0 } };
                ssize_t n = input_read(c->cur, buf, len);
                long k;
                int r;

                if (n != 0) {
                        if (n > 0)
                                in->pos += (uint64_t) n;
                        return n;
                }
                if (c->hooks.end && (r = c->hooks.end(c->hooks.userdata, c->cur_name, c->cur)) < 0)
                        return r;
                c->cur = NULL;
                r = tar_next(c->t, &e, &err);
                if (r < 0)
                        return r;
                if (r == 0) {
                        c->end = true;
                        break;
                }
                k = chunk_number(e.name, c->href);
                if (k < 0) { /* the file ended; this member belongs to the caller */
                        c->t->held = true;
                        c->end = true;
                        break;
                }
                if (k != (long) c->next)
                        return -EBADMSG; /* a chunk is missing or out of order */
                c->next++;
                if ((r = chunk_begin(c, e.name)) < 0)
                        return r;
        }
        return 0;
}

static void chunks_free(struct input *in)
{
        free(((struct tar_chunks *) in)->href);
}

static const struct input_ops chunks_ops = {
        .read = chunks_read,
        .free = chunks_free,
};

int tar_chunks_new(struct tar *t, const char *href, const struct tar_chunk_hooks *hooks,
                   struct input **ret, struct err *err)
{
        struct tar_chunks *c;
        int r;

        if (!t->name || chunk_number(t->name, href) != 0)
                return err_set(err, -EBADMSG, "'%s': expected '%s.000000000', found '%s'",
                               t->in->name, href, t->name ? t->name : "nothing");
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->in.ops = &chunks_ops;
        c->in.size = UINT64_MAX;
        c->t = t;
        c->next = 1;
        c->href = strdup(href);
        c->in.name = strdup(href);
        if (hooks)
                c->hooks = *hooks;
        if (!c->href || !c->in.name) {
                input_free(&c->in);
                return -ENOMEM;
        }
        r = chunk_begin(c, t->name);
        if (r < 0) {
                input_free(&c->in);
                return err_set(err, r, "'%s': cannot read its first chunk", href);
        }
        *ret = &c->in;
        return 0;
}
