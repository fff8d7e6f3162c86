/* The answer's keys on the kernel command line: where the answer is, how to check it, and
 * kickstart lines that override it. The words are split as the kernel itself splits them, so
 * that what the admin typed at the boot prompt means the same to us as to the kernel. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer_fetch.h"
#include "cleanup.h"
#include "strv.h"

/* The keys that name the source, lowest priority first. */
enum source_key {
        SOURCE_KS,
        SOURCE_INST_KS,
        SOURCE_ANSWER,
        SOURCE_COUNT,
};

static const char *const source_keys[SOURCE_COUNT] = {
        [SOURCE_KS] = "ks",
        [SOURCE_INST_KS] = "inst.ks",
        [SOURCE_ANSWER] = "kvmforge.answer",
};

/* kvmforge.X=VALUE -> the kickstart command PREFIX'VALUE'. */
static const struct {
        const char *key;
        const char *prefix;
} shortcuts[] = {
        { "kvmforge.hostname", "network --hostname=" }, { "kvmforge.timezone", "timezone " },
        { "kvmforge.keyboard", "keyboard " },           { "kvmforge.lang", "lang " },
        { "kvmforge.disk", "ignoredisk --only-use=" },
};

struct state {
        char *value[SOURCE_COUNT];
        bool given[SOURCE_COUNT], bare[SOURCE_COUNT];
        struct answer_cmdline c;
};

static void state_release(struct state *st)
{
        for (size_t i = 0; i < SOURCE_COUNT; i++)
                free(st->value[i]);
        answer_cmdline_release(&st->c);
}

/* The kernel's isspace() on the ASCII range (lib/ctype.c). */
static bool kernel_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* A port of the kernel's next_arg() (kernel/params.c): the word at args, split at the first
 * '=' into param and val (NULL without one), a leading quote of the word or of the value and
 * the matching final quote removed; quotes elsewhere stay. Writes NULs into args and returns
 * where the next word starts. */
static char *next_arg(char *args, char **param, char **val)
{
        size_t i, equals = 0;
        bool in_quote = false, quoted = false;

        if (*args == '"') {
                args++;
                in_quote = quoted = true;
        }
        for (i = 0; args[i]; i++) {
                if (kernel_space(args[i]) && !in_quote)
                        break;
                if (equals == 0 && args[i] == '=')
                        equals = i;
                if (args[i] == '"')
                        in_quote = !in_quote;
        }
        *param = args;
        if (!equals) {
                *val = NULL;
        } else {
                args[equals] = '\0';
                *val = args + equals + 1;
                if (**val == '"') {
                        (*val)++;
                        if (args[i - 1] == '"')
                                args[i - 1] = '\0';
                }
        }
        if (quoted && i > 0 && args[i - 1] == '"')
                args[i - 1] = '\0';
        if (args[i]) {
                args[i] = '\0';
                args += i + 1;
        } else {
                args += i;
        }
        while (kernel_space(*args))
                args++;
        return args;
}

static bool has_control(const char *s)
{
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* "1", "0", or no value at all (a flag): *ret. */
static int parse_flag(const char *key, const char *val, bool *ret, struct err *err)
{
        if (!val || strcmp(val, "1") == 0)
                *ret = true;
        else if (strcmp(val, "0") == 0)
                *ret = false;
        else
                return err_set(err, -EINVAL, "%s=%s: expected 1 or 0", key, val);
        return 0;
}

static int set_string(char **slot, const char *key, const char *val, struct err *err)
{
        char *s;

        if (!val || !val[0])
                return err_set(err, -EINVAL, "%s= needs a value", key);
        s = strdup(val);
        if (!s)
                return -ENOMEM;
        free(*slot);
        *slot = s;
        return 0;
}

static bool is_hex64(const char *s)
{
        size_t n = strspn(s, "0123456789abcdefABCDEF");
        return n == 64 && s[n] == '\0';
}

/* curl's "sha256//BASE64[;sha256//BASE64...]": each digest 32 bytes, so 43 characters and '='. */
static bool is_pin(const char *s)
{
        static const char b64[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

        for (;;) {
                if (strncmp(s, "sha256//", 8) != 0)
                        return false;
                s += 8;
                if (strspn(s, b64) != 43 || s[43] != '=')
                        return false;
                s += 44;
                if (*s == '\0')
                        return true;
                if (*s++ != ';')
                        return false;
        }
}

static int add_line(struct answer_cmdline *c, const char *key, const char *prefix, const char *val,
                    bool quote, struct err *err)
{
        _cleanup_free_ char *q = NULL;
        size_t n = 0;

        if (!val || !val[0])
                return err_set(err, -EINVAL, "%s= needs a value", key);
        if (c->n_lines >= ANSWER_CMDLINE_LINES)
                return err_set(err, -E2BIG, "more than %d kvmforge.ks= and shortcut lines",
                               ANSWER_CMDLINE_LINES);
        if (!quote)
                return strv_addf(&c->lines, &c->n_lines, "%s", val);
        /* Single quotes take everything literally but themselves: ' becomes '\'' . So an odd
         * value ("x --bootproto=dhcp") stays one word and cannot add options. */
        q = malloc(strlen(val) * 4 + 3);
        if (!q)
                return -ENOMEM;
        q[n++] = '\'';
        for (const char *p = val; *p; p++)
                if (*p == '\'') {
                        memcpy(q + n, "'\\''", 4);
                        n += 4;
                } else {
                        q[n++] = *p;
                }
        q[n++] = '\'';
        q[n] = '\0';
        return strv_addf(&c->lines, &c->n_lines, "%s%s", prefix, q);
}

static int parse_answer_option(struct state *st, const char *param, const char *val,
                               struct err *err)
{
        struct answer_cmdline *c = &st->c;
        const char *opt = param + strlen("kvmforge.answer.");
        int r;

        if (strcmp(opt, "sha256") == 0) {
                if (!val || !is_hex64(val))
                        return err_set(err, -EINVAL,
                                       "%s= wants the 64 hex digits of a SHA-256 digest", param);
                r = set_string(&c->sha256, param, val, err);
                if (r < 0)
                        return r;
                for (char *p = c->sha256; *p; p++)
                        *p = (char) tolower((unsigned char) *p);
                return 0;
        }
        if (strcmp(opt, "pin") == 0) {
                if (!val || !is_pin(val))
                        return err_set(
                                err, -EINVAL,
                                "%s= wants sha256//BASE64 (the server key's SHA-256 in base64, as curl takes it)",
                                param);
                return set_string(&c->pin, param, val, err);
        }
        if (strcmp(opt, "cacert") == 0)
                return set_string(&c->ca_file, param, val, err);
        if (strcmp(opt, "post") == 0)
                return parse_flag(param, val, &c->post, err);
        if (strcmp(opt, "retries") == 0) {
                unsigned long n;
                char *end;

                if (!val || !isdigit((unsigned char) val[0]) ||
                    (n = strtoul(val, &end, 10), *end) || n > ANSWER_FETCH_RETRIES_MAX)
                        return err_set(err, -EINVAL, "%s=%s: expected a number from 0 to %u", param,
                                       val ? val : "", ANSWER_FETCH_RETRIES_MAX);
                c->retries = (unsigned) n;
                c->retries_set = true;
                return 0;
        }
        /* A misspelt option would silently drop a check the admin asked for. */
        return err_set(
                err, -EINVAL,
                "unknown key '%s' (known: kvmforge.answer.sha256, .pin, .cacert, .post, .retries)",
                param);
}

static int parse_word(struct state *st, const char *param, const char *val, struct err *err)
{
        struct answer_cmdline *c = &st->c;

        for (size_t k = 0; k < SOURCE_COUNT; k++)
                if (strcmp(param, source_keys[k]) == 0) {
                        st->given[k] = true;
                        st->bare[k] = !val || !val[0];
                        free(st->value[k]);
                        st->value[k] = NULL;
                        if (!st->bare[k] && !(st->value[k] = strdup(val)))
                                return -ENOMEM;
                        return 0;
                }
        if (strncmp(param, "kvmforge.answer.", 16) == 0)
                return parse_answer_option(st, param, val, err);
        if (strcmp(param, "inst.ks.sendmac") == 0)
                return parse_flag(param, val, &c->send_mac, err);
        if (strcmp(param, "inst.ks.sendsn") == 0)
                return parse_flag(param, val, &c->send_sn, err);
        if (strcmp(param, "kvmforge.ks") == 0)
                return add_line(c, param, "", val, false, err);
        for (size_t i = 0; i < ELEMENTSOF(shortcuts); i++)
                if (strcmp(param, shortcuts[i].key) == 0)
                        return add_line(c, param, shortcuts[i].prefix, val, true, err);
        return 0;
}

static bool ours(const char *param)
{
        return strncmp(param, "kvmforge.", 9) == 0 || strcmp(param, "ks") == 0 ||
               strncmp(param, "inst.ks", 7) == 0;
}

int answer_cmdline_parse(const char *cmdline, struct answer_cmdline *ret, struct err *err)
{
        _cleanup_(state_release) struct state st = { 0 };
        _cleanup_free_ char *buf = NULL;
        size_t len = strlen(cmdline);
        char *p;
        int r;

        /* /proc/cmdline ends with a newline the kernel added. */
        if (len > 0 && cmdline[len - 1] == '\n')
                len--;
        if (len > ANSWER_CMDLINE_MAX)
                return err_set(
                        err, -E2BIG,
                        "the kernel command line has %zu bytes, more than the kernel takes (%d)",
                        len, ANSWER_CMDLINE_MAX);
        buf = strndup(cmdline, len);
        if (!buf)
                return -ENOMEM;
        p = buf;
        while (kernel_space(*p))
                p++;
        while (*p) {
                char *param, *val;

                p = next_arg(p, &param, &val);
                if (!ours(param))
                        continue;
                if (val && has_control(val))
                        return err_set(err, -EINVAL, "%s= holds a control character", param);
                r = parse_word(&st, param, val, err);
                if (r < 0)
                        return r;
        }

        for (size_t k = SOURCE_COUNT; k-- > 0;) {
                if (!st.given[k])
                        continue;
                if (st.bare[k] && k == SOURCE_ANSWER)
                        return err_set(
                                err, -EINVAL,
                                "kvmforge.answer= needs a source (an http(s):// URL, hd:, cdrom: or a path)");
                if (st.bare[k])
                        return err_set(
                                err, -EOPNOTSUPP,
                                "%s without a value (Anaconda's answer from the DHCP server's NFS next-server) is not supported: give %s=http://..., hd:LABEL=...:/ks.cfg or cdrom:/ks.cfg",
                                source_keys[k], source_keys[k]);
                st.c.spec = TAKE_PTR(st.value[k]);
                st.c.key = source_keys[k];
                if (k == SOURCE_ANSWER)
                        st.c.send_mac = st.c.send_sn = true;
                break;
        }
        *ret = st.c;
        st.c = (struct answer_cmdline){ 0 };
        return 0;
}

size_t answer_cmdline_values(const char *cmdline, const char *key, char *vals, size_t size,
                             size_t max)
{
        _cleanup_free_ char *buf = strdup(cmdline);
        size_t n = 0;
        char *p = buf;

        if (!buf)
                return 0;
        while (kernel_space(*p))
                p++;
        while (*p && n < max) {
                char *param, *val;

                p = next_arg(p, &param, &val);
                if (val && strcmp(param, key) == 0)
                        (void) snprintf(vals + size * n++, size, "%s", val);
        }
        return n;
}

void answer_cmdline_release(struct answer_cmdline *c)
{
        free(c->spec);
        free(c->sha256);
        free(c->pin);
        free(c->ca_file);
        strv_free(&c->lines, &c->n_lines);
        *c = (struct answer_cmdline){ 0 };
}
