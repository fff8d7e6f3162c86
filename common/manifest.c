#include "manifest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "cleanup.h"

const char *const manifest_alg_names[MANIFEST_ALG_COUNT] = {
        [MANIFEST_SHA1] = "SHA1",
        [MANIFEST_SHA256] = "SHA256",
        [MANIFEST_SHA512] = "SHA512",
};

static const size_t alg_len[MANIFEST_ALG_COUNT] = {
        [MANIFEST_SHA1] = 20,
        [MANIFEST_SHA256] = 32,
        [MANIFEST_SHA512] = 64,
};

static int parse_alg(const char *s, size_t n, enum manifest_alg *ret)
{
        char name[16];
        size_t k = 0;

        /* "SHA-256" (Oracle) and "sha256" mean SHA256. */
        for (size_t i = 0; i < n && k + 1 < sizeof(name); i++)
                if (s[i] != '-')
                        name[k++] = s[i];
        name[k] = 0;
        for (int a = 0; a < MANIFEST_ALG_COUNT; a++)
                if (strcasecmp(name, manifest_alg_names[a]) == 0) {
                        *ret = a;
                        return 0;
                }
        return -EOPNOTSUPP;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

void manifest_release(struct manifest *m)
{
        for (size_t i = 0; i < m->n_entries; i++)
                free(m->entries[i].name);
        free(m->entries);
        *m = (struct manifest){ 0 };
}

static void manifest_releasep(struct manifest *m)
{
        manifest_release(m);
}

static int parse_line(char *line, unsigned lineno, struct manifest_entry *ret, struct err *err)
{
        char *open = strchr(line, '('), *eq = strrchr(line, '='), *close, *name, *hex, *end;
        struct manifest_entry e = { 0 };
        size_t alen;
        int r;

        if (!open || !eq || eq < open)
                return err_set(err, -EBADMSG, "manifest line %u is not 'ALG(file)= digest'",
                               lineno);
        /* The name ends at the last ')' before the '=': names may hold parentheses. */
        close = eq;
        while (close > open && *close != ')')
                close--;
        if (close == open)
                return err_set(err, -EBADMSG, "manifest line %u is not 'ALG(file)= digest'",
                               lineno);
        alen = (size_t) (open - line);
        while (alen && (line[alen - 1] == ' ' || line[alen - 1] == '\t'))
                alen--;
        r = parse_alg(line, alen, &e.alg);
        if (r < 0)
                return err_set(
                        err, r,
                        "manifest line %u: digest '%.*s' is not supported (SHA1, SHA256, SHA512)",
                        lineno, (int) (alen < 16 ? alen : 16), line);
        for (char *p = close + 1; p < eq; p++)
                if (*p != ' ' && *p != '\t')
                        return err_set(err, -EBADMSG, "manifest line %u is not 'ALG(file)= digest'",
                                       lineno);

        *close = 0;
        name = open + 1;
        while (name[0] == '.' && name[1] == '/')
                name += 2;
        if (!*name)
                return err_set(err, -EBADMSG, "manifest line %u names no file", lineno);

        hex = eq + 1;
        while (*hex == ' ' || *hex == '\t')
                hex++;
        end = hex + strlen(hex);
        while (end > hex && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                end--;
        e.digest_len = alg_len[e.alg];
        if ((size_t) (end - hex) != 2 * e.digest_len)
                return err_set(err, -EBADMSG,
                               "manifest line %u: a %s digest has %zu hex digits, not %zu", lineno,
                               manifest_alg_names[e.alg], 2 * e.digest_len, (size_t) (end - hex));
        for (size_t i = 0; i < e.digest_len; i++) {
                int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return err_set(err, -EBADMSG, "manifest line %u: digest is not hexadecimal",
                                       lineno);
                e.digest[i] = (uint8_t) (hi << 4 | lo);
        }
        e.name = strdup(name);
        if (!e.name)
                return -ENOMEM;
        *ret = e;
        return 0;
}

int manifest_parse(const char *text, size_t len, struct manifest *ret, struct err *err)
{
        _cleanup_(manifest_releasep) struct manifest m = { 0 };
        _cleanup_free_ char *buf = NULL;
        char *rest, *line;
        unsigned lineno = 0;

        if (len > MANIFEST_MAX_BYTES)
                return err_set(err, -EBADMSG, "manifest larger than %u bytes", MANIFEST_MAX_BYTES);
        if (memchr(text, 0, len))
                return err_set(err, -EBADMSG, "manifest holds a NUL byte");
        buf = strndup(text, len);
        if (!buf)
                return -ENOMEM;
        rest = buf;
        while ((line = strsep(&rest, "\n"))) {
                struct manifest_entry e, *n;
                size_t l = strlen(line);
                int r;

                lineno++;
                while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
                        line[--l] = 0;
                if (!l)
                        continue;
                if (m.n_entries >= MANIFEST_MAX_ENTRIES)
                        return err_set(err, -EBADMSG, "manifest lists more than %u files",
                                       MANIFEST_MAX_ENTRIES);
                r = parse_line(line, lineno, &e, err);
                if (r < 0)
                        return r;
                if (manifest_find(&m, e.name)) {
                        r = err_set(err, -EBADMSG, "manifest lists '%s' twice", e.name);
                        free(e.name);
                        return r;
                }
                n = realloc(m.entries, (m.n_entries + 1) * sizeof(*n));
                if (!n) {
                        free(e.name);
                        return -ENOMEM;
                }
                m.entries = n;
                m.entries[m.n_entries++] = e;
        }
        *ret = m;
        m = (struct manifest){ 0 };
        return 0;
}

const struct manifest_entry *manifest_find(const struct manifest *m, const char *name)
{
        while (name[0] == '.' && name[1] == '/')
                name += 2;
        for (size_t i = 0; i < m->n_entries; i++)
                if (strcmp(m->entries[i].name, name) == 0)
                        return &m->entries[i];
        return NULL;
}

int manifest_verify(const struct manifest_entry *e, const uint8_t *digest, size_t len,
                    struct err *err)
{
        if (len != e->digest_len || memcmp(digest, e->digest, len) != 0)
                return err_set(err, -EBADMSG, "'%s' does not match its %s digest in the manifest",
                               e->name, manifest_alg_names[e->alg]);
        return 0;
}

/* ---- hashing on the way ---- */

struct digest_input {
        struct input in;
        struct input *inner;
        EVP_MD_CTX *ctx;
};

static ssize_t digest_read(struct input *in, void *buf, size_t len)
{
        struct digest_input *d = (struct digest_input *) in;
        ssize_t n = input_read(d->inner, buf, len);

        if (n > 0) {
                if (EVP_DigestUpdate(d->ctx, buf, (size_t) n) != 1)
                        return -EIO;
                in->pos += (uint64_t) n;
        }
        return n;
}

static void digest_free(struct input *in)
{
        EVP_MD_CTX_free(((struct digest_input *) in)->ctx);
}

static const struct input_ops digest_ops = {
        .read = digest_read,
        .free = digest_free,
};

int digest_input_new(struct input *inner, enum manifest_alg alg, struct input **ret)
{
        static const char *const md[MANIFEST_ALG_COUNT] = { "SHA1", "SHA256", "SHA512" };
        struct digest_input *d;
        const EVP_MD *type;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->in.ops = &digest_ops;
        d->in.size = inner->size;
        d->in.name = strdup(inner->name);
        d->inner = inner;
        d->ctx = EVP_MD_CTX_new();
        type = EVP_get_digestbyname(md[alg]);
        if (!d->in.name || !d->ctx || !type || EVP_DigestInit_ex(d->ctx, type, NULL) != 1) {
                input_free(&d->in);
                return -ENOMEM;
        }
        *ret = &d->in;
        return 0;
}

int digest_input_finish(struct input *in, uint8_t out[MANIFEST_MAX_DIGEST], size_t *ret_len,
                        struct err *err)
{
        struct digest_input *d = (struct digest_input *) in;
        uint8_t buf[65536];
        unsigned len = 0;
        ssize_t n;

        while ((n = digest_read(in, buf, sizeof(buf))) > 0)
                ;
        if (n < 0)
                return err_set(err, (int) n, "cannot read '%s' to check its digest", in->name);
        if (EVP_DigestFinal_ex(d->ctx, out, &len) != 1)
                return err_set(err, -EIO, "cannot compute the digest of '%s'", in->name);
        *ret_len = len;
        return 0;
}
