/* Kickstart lines and sections, split like pykickstart does (shlex, POSIX mode, comments). */
#include "kickstart.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "strv.h"

static const char *const sections[] = { "%pre",      "%pre-install", "%post",
                                        "%packages", "%onerror",     "%traceback",
                                        "%addon",    "%anaconda",    "%firstboot" };

bool kickstart_is_section(const char *word)
{
        for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
                if (strcmp(word, sections[i]) == 0)
                        return true;
        return false;
}

static void words_free(struct kickstart_word *w, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(w[i].text);
        free(w);
}

void kickstart_release(struct kickstart *ks)
{
        for (size_t i = 0; i < ks->n_commands; i++)
                words_free(ks->commands[i].words, ks->commands[i].n_words);
        free(ks->commands);
        for (size_t i = 0; i < ks->n_sections; i++) {
                words_free(ks->sections[i].words, ks->sections[i].n_words);
                free(ks->sections[i].body);
        }
        free(ks->sections);
        free(ks->version);
        *ks = (struct kickstart){ 0 };
}

static bool blank(char c)
{
        return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* Splits one line (without its newline) into words. 0 with *ret_n words, or -EBADMSG. */
static int split(const char *s, size_t len, unsigned line, const char *file,
                 struct kickstart_word **ret, size_t *ret_n, struct err *err)
{
        struct kickstart_word *w = NULL;
        size_t n = 0, i = 0;
        _cleanup_free_ char *buf = malloc(len + 1);
        int r = 0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                size_t b = 0, start;
                struct kickstart_word *slot;

                while (i < len && blank(s[i]))
                        i++;
                if (i >= len || s[i] == '#') /* a comment only where a word would start */
                        break;
                start = i;
                while (i < len && !blank(s[i])) {
                        char c = s[i];
                        if (c == '\'') {
                                const char *q = memchr(s + i + 1, '\'', len - i - 1);
                                if (!q) {
                                        r = err_set(err, -EBADMSG,
                                                    "%s:%u:%zu: unterminated single quote", file,
                                                    line, i + 1);
                                        goto fail;
                                }
                                memcpy(buf + b, s + i + 1, (size_t) (q - s - i - 1));
                                b += (size_t) (q - s - i - 1);
                                i = (size_t) (q - s) + 1;
                        } else if (c == '"') {
                                size_t open = i++;
                                while (i < len && s[i] != '"') {
                                        /* Inside double quotes a backslash escapes only these. */
                                        if (s[i] == '\\' && i + 1 < len &&
                                            strchr("\\\"$`", s[i + 1]))
                                                i++;
                                        buf[b++] = s[i++];
                                }
                                if (i >= len) {
                                        r = err_set(err, -EBADMSG,
                                                    "%s:%u:%zu: unterminated double quote", file,
                                                    line, open + 1);
                                        goto fail;
                                }
                                i++;
                        } else if (c == '\\') {
                                if (i + 1 >= len) {
                                        r = err_set(
                                                err, -EBADMSG,
                                                "%s:%u:%zu: a backslash ends the line (kickstart "
                                                "lines do not continue)",
                                                file, line, i + 1);
                                        goto fail;
                                }
                                buf[b++] = s[i + 1];
                                i += 2;
                        } else {
                                buf[b++] = c;
                                i++;
                        }
                }
                if (n >= KICKSTART_MAX_WORDS) {
                        r = err_set(err, -EBADMSG, "%s:%u: more than %u words on one line", file,
                                    line, KICKSTART_MAX_WORDS);
                        goto fail;
                }
                if (!(slot = array_grow(&w, &n, sizeof(*w))) || !(slot->text = strndup(buf, b))) {
                        r = -ENOMEM;
                        goto fail;
                }
                slot->line = line;
                slot->col = (unsigned) start + 1;
        }
        *ret = w;
        *ret_n = n;
        return 0;
fail:
        words_free(w, n);
        return r;
}

static int body_append(struct kickstart_section *sec, const char *s, size_t len)
{
        size_t old = sec->body ? strlen(sec->body) : 0;
        char *p = realloc(sec->body, old + len + 2);

        if (!p)
                return -ENOMEM;
        memcpy(p + old, s, len);
        p[old + len] = '\n';
        p[old + len + 1] = '\0';
        sec->body = p;
        return 0;
}

int kickstart_parse(const char *text, size_t len, const char *file, struct kickstart *ret,
                    struct err *err)
{
        _cleanup_(kickstart_release) struct kickstart ks = { 0 };
        struct kickstart_section *open_sec = NULL;
        unsigned line = 0;
        int r;

        if (len > KICKSTART_MAX_BYTES)
                return err_set(err, -EFBIG, "%s: larger than %u bytes", file, KICKSTART_MAX_BYTES);
        if (memchr(text, '\0', len))
                return err_set(err, -EBADMSG, "%s: holds a NUL byte: not a text file", file);
        for (size_t pos = 0; pos < len;) {
                const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
                size_t n = nl ? (size_t) (nl - s) : len - pos, lead = 0;
                struct kickstart_word *w = NULL;
                size_t nw = 0;

                pos += n + (nl ? 1 : 0);
                if (++line > KICKSTART_MAX_LINES)
                        return err_set(err, -EFBIG, "%s: more than %u lines", file,
                                       KICKSTART_MAX_LINES);
                if (n > 0 && s[n - 1] == '\r') /* CRLF from Windows editors */
                        n--;
                while (lead < n && blank(s[lead]))
                        lead++;

                if (open_sec && !(lead < n && s[lead] == '%')) {
                        if ((r = body_append(open_sec, s, n)) < 0)
                                return r;
                        continue;
                }
                if (lead == n)
                        continue;
                if (s[lead] == '#') {
                        if (!ks.version && n - lead > 9 && strncmp(s + lead, "#version=", 9) == 0 &&
                            !(ks.version = strndup(s + lead + 9, n - lead - 9)))
                                return -ENOMEM;
                        continue;
                }
                r = split(s, n, line, file, &w, &nw, err);
                if (r < 0)
                        return r;
                if (nw == 0)
                        continue;
                if (w[0].text[0] == '%' && strcmp(w[0].text, "%include") != 0 &&
                    strcmp(w[0].text, "%ksappend") != 0) {
                        struct kickstart_section *sec;
                        if (strcmp(w[0].text, "%end") == 0) {
                                bool had = open_sec != NULL;
                                words_free(w, nw);
                                if (!had)
                                        return err_set(err, -EBADMSG,
                                                       "%s:%u:%zu: '%%end' closes no section", file,
                                                       line, lead + 1);
                                open_sec->ended = true;
                                open_sec = NULL;
                                continue;
                        }
                        if (!kickstart_is_section(w[0].text)) {
                                r = err_set(
                                        err, -EBADMSG,
                                        "%s:%u:%zu: unknown section '%s' (known: %%pre, %%post, "
                                        "%%packages, %%onerror, %%firstboot, %%addon)",
                                        file, line, lead + 1, w[0].text);
                                words_free(w, nw);
                                return r;
                        }
                        /* ESXi's sections end where the next one starts. */
                        if (!(sec = array_grow(&ks.sections, &ks.n_sections, sizeof(*sec)))) {
                                words_free(w, nw);
                                return -ENOMEM;
                        }
                        sec->words = w;
                        sec->n_words = nw;
                        sec->body_line = line + 1;
                        if (!(sec->body = strdup(""))) /* an empty section has an empty body */
                                return -ENOMEM;
                        open_sec = sec;
                        continue;
                }
                if (open_sec) { /* a %include inside a section is part of its text */
                        words_free(w, nw);
                        if ((r = body_append(open_sec, s, n)) < 0)
                                return r;
                        continue;
                }
                {
                        struct kickstart_command *c =
                                array_grow(&ks.commands, &ks.n_commands, sizeof(*c));
                        if (!c) {
                                words_free(w, nw);
                                return -ENOMEM;
                        }
                        c->words = w;
                        c->n_words = nw;
                }
        }
        *ret = ks;
        ks = (struct kickstart){ 0 };
        return 0;
}
