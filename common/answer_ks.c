/* Kickstart files into the answer model: the command and option tables of both dialects
 * (Anaconda's and ESXi's) and kvmforge's own `hypervisor`, option parsing as pykickstart's
 * argparse does it (--opt=value and --opt value, options and positionals in any order,
 * unambiguous prefixes), %include, the sections, and the overrides from the kernel command
 * line. Every problem becomes a diagnostic that points at the word and, when it can, says
 * what to write instead. */
#include "answer.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "kickstart.h"
#include "strv.h"

enum kind {
        K_FLAG,   /* --grow */
        K_STR,    /* --fstype=xfs, --fstype xfs */
        K_OPTSTR, /* ESXi's --firstdisk or --firstdisk=usb: a value only after '=' */
        K_SIZE,   /* MiB, or a number with a unit: 512, 20G, 1.5TiB is refused */
        K_NUM,
        K_LIST, /* comma-separated; repeating the option adds to the list */
        K_BOOL, /* yes no true false on off 1 0 */
};

enum {
        O_IGNORED = 1 << 0,     /* valid, no effect here: a notice */
        O_UNSUPPORTED = 1 << 1, /* valid, cannot be honoured: a warning */
        O_DEPRECATED = 1 << 2,  /* old spelling of a kept option: a warning */
};

struct opt {
        const char *name; /* without the dashes */
        enum kind kind;
        unsigned flags;
        const char *alias; /* the option this one spells differently */
        const char *why;   /* for O_IGNORED and O_UNSUPPORTED */
};

struct arg {
        const char *name; /* canonical */
        const char *value;
        uint64_t num;
        struct answer_at at;
};

struct loader;

struct call {
        struct loader *ld;
        struct answer *a;
        const char *name;
        struct answer_at at; /* the command's first word */
        struct arg *args;
        size_t n_args;
        const struct kickstart_word **pos;
        size_t n_pos;
        unsigned file;
        bool override; /* from the kernel command line */
};

enum {
        C_MULTI = 1 << 0,       /* may be given many times */
        C_IGNORED = 1 << 1,     /* parsed, no effect on a Debian KVM node: a notice */
        C_REMOVED = 1 << 2,     /* removed from Anaconda: a warning */
        C_UNSUPPORTED = 1 << 3, /* cannot be honoured: an error */
        C_ESXI = 1 << 4,        /* marks an ESXi file */
};

struct cmd {
        const char *name;
        int (*run)(struct call *c);
        const struct opt *opts;
        unsigned min_pos, max_pos;
        unsigned flags;
        const char *usage; /* what the positionals are, or why the command is ignored */
};

struct seen {
        const char *name;
        struct answer_at at;
};

struct loader {
        struct answer *a;
        const struct answer_load_options *o;
        struct seen seen[64];
        size_t n_seen;
        bool has_pre;
        unsigned depth;
};

static struct answer_at at_of(const struct call *c, const struct kickstart_word *w)
{
        return (struct answer_at){ c->file, w->line, w->col };
}

/* ---- reading the parsed options ---- */

static const struct arg *arg_get(const struct call *c, const char *name)
{
        for (size_t i = c->n_args; i-- > 0;)
                if (strcmp(c->args[i].name, name) == 0)
                        return &c->args[i];
        return NULL;
}

static bool has(const struct call *c, const char *name)
{
        return arg_get(c, name) != NULL;
}

static const char *str(const struct call *c, const char *name)
{
        const struct arg *a = arg_get(c, name);
        return a ? a->value : NULL;
}

static uint64_t num(const struct call *c, const char *name)
{
        const struct arg *a = arg_get(c, name);
        return a ? a->num : ANSWER_UNSET;
}

static struct answer_at where(const struct call *c, const char *name)
{
        const struct arg *a = arg_get(c, name);
        return a ? a->at : c->at;
}

/* Replaces *dst with a copy of s (NULL clears it). */
static int set_str(char **dst, const char *s)
{
        char *copy = NULL;

        if (s && !(copy = strdup(s)))
                return -ENOMEM;
        free(*dst);
        *dst = copy;
        return 0;
}

static int list_add(char ***v, size_t *n, const char *csv)
{
        _cleanup_free_ char *copy = strdup(csv);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
                if (strv_addf(v, n, "%s", t) < 0)
                        return -ENOMEM;
        return 0;
}

/* Every occurrence of the list option name, added to *v. */
static int lists(const struct call *c, const char *name, char ***v, size_t *n)
{
        for (size_t i = 0; i < c->n_args; i++)
                if (strcmp(c->args[i].name, name) == 0 && c->args[i].value &&
                    list_add(v, n, c->args[i].value) < 0)
                        return -ENOMEM;
        return 0;
}

static int diag(struct call *c, enum answer_level level, struct answer_at at, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int diag(struct call *c, enum answer_level level, struct answer_at at, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return answer_diag(c->a, level, at, "%s", msg);
}

/* ---- values ---- */

/* A size in MiB: a whole number, or one with a binary unit (M, G, T, with or without "iB"). */
static int parse_size(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;
        uint64_t mul = 1;

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno)
                return -ERANGE;
        if (*end) {
                char u = (char) toupper((unsigned char) *end);
                if (u == 'M')
                        mul = 1;
                else if (u == 'G')
                        mul = 1024;
                else if (u == 'T')
                        mul = 1024 * 1024;
                else
                        return -EINVAL;
                end++;
                if (*end && strcasecmp(end, "iB") != 0 && strcasecmp(end, "B") != 0)
                        return -EINVAL;
        }
        if (v > UINT64_MAX / mul / 2)
                return -ERANGE;
        *ret = v * mul;
        return 0;
}

static int parse_num(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_bool(const char *s, uint64_t *ret)
{
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < 4; i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return (int) (*ret = 1) - 1;
                if (strcasecmp(s, no[i]) == 0)
                        return (int) (*ret = 0);
        }
        return -EINVAL;
}

/* ---- option parsing, as pykickstart's argparse ---- */

static const struct opt *find_opt(const struct opt *opts, const char *name, size_t len,
                                  bool *ambiguous)
{
        const struct opt *prefix = NULL;

        *ambiguous = false;
        for (const struct opt *o = opts; o && o->name; o++)
                if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                        return o;
        for (const struct opt *o = opts; o && o->name; o++)
                if (strncmp(o->name, name, len) == 0) {
                        if (prefix) {
                                *ambiguous = true;
                                return NULL;
                        }
                        prefix = o;
                }
        return prefix;
}

static const char *closest_opt(const struct opt *opts, const char *name)
{
        const char *names[128];
        size_t n = 0;

        for (const struct opt *o = opts; o && o->name && n < 128; o++)
                names[n++] = o->name;
        return strv_closest(name, names, n);
}

/* Dashes that word processors put in place of "--". */
static const char *fancy_dash(const char *w)
{
        if (strncmp(w, "\xe2\x80\x94", 3) == 0)
                return "an em dash";
        if (strncmp(w, "\xe2\x80\x93", 3) == 0)
                return "an en dash";
        return NULL;
}

static int parse_args(struct call *c, const struct cmd *cmd, const struct kickstart_command *kc)
{
        for (size_t i = 1; i < kc->n_words; i++) {
                const struct kickstart_word *w = &kc->words[i];
                const char *t = w->text, *eq, *dash, *value = NULL;
                const struct opt *o;
                struct arg *a;
                bool amb;
                size_t len;
                int r;

                if ((dash = fancy_dash(t))) {
                        /* The name only: the value may be a password. */
                        int nlen = (int) strcspn(t + 3, "=");
                        r = diag(c, ANSWER_ERROR, at_of(c, w),
                                 "'%.*s' starts with %s (a word processor's dash): write '--%.*s'",
                                 nlen + 3, t, dash, nlen, t + 3);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (strncmp(t, "--", 2) != 0 || t[2] == '\0') {
                        c->pos[c->n_pos++] = w;
                        continue;
                }
                eq = strchr(t, '=');
                len = eq ? (size_t) (eq - t - 2) : strlen(t + 2);
                o = find_opt(cmd->opts, t + 2, len, &amb);
                if (!o) {
                        _cleanup_free_ char *name = strndup(t + 2, len);
                        const char *near = name ? closest_opt(cmd->opts, name) : NULL;
                        if (!name)
                                return -ENOMEM;
                        if (amb)
                                r = diag(c, ANSWER_ERROR, at_of(c, w),
                                         "'--%s' is ambiguous for '%s': write the option out", name,
                                         c->name);
                        else if (near)
                                r = diag(c, ANSWER_ERROR, at_of(c, w),
                                         "unknown option '--%s' for '%s'; did you mean '--%s'?",
                                         name, c->name, near);
                        else
                                r = diag(c, ANSWER_ERROR, at_of(c, w),
                                         "unknown option '--%s' for '%s' (see the README for "
                                         "its options)",
                                         name, c->name);
                        if (r < 0)
                                return r;
                        if (!eq && i + 1 < kc->n_words && kc->words[i + 1].text[0] != '-' &&
                            !cmd->max_pos)
                                i++; /* its value, most likely */
                        continue;
                }
                if (strlen(o->name) != len &&
                    (r = diag(c, ANSWER_WARNING, at_of(c, w),
                              "'--%.*s' is short for '--%s': write it out", (int) len, t + 2,
                              o->name)) < 0)
                        return r;
                if (o->kind == K_FLAG) {
                        if (eq) {
                                if ((r = diag(c, ANSWER_ERROR, at_of(c, w),
                                              "'--%s' takes no value: write '--%s' alone", o->name,
                                              o->name)) < 0)
                                        return r;
                                continue;
                        }
                } else if (eq) {
                        value = eq + 1;
                } else if (o->kind != K_OPTSTR) {
                        if (i + 1 >= kc->n_words || strncmp(kc->words[i + 1].text, "--", 2) == 0) {
                                if ((r = diag(c, ANSWER_ERROR, at_of(c, w),
                                              "'--%s' needs a value: write '--%s=VALUE'", o->name,
                                              o->name)) < 0)
                                        return r;
                                continue;
                        }
                        value = kc->words[++i].text;
                }
                a = &c->args[c->n_args];
                *a = (struct arg){ .name = o->alias ? o->alias : o->name,
                                   .value = value,
                                   .at = at_of(c, w) };
                if (o->kind == K_OPTSTR && !value)
                        a->value = "";
                if ((o->kind == K_SIZE || o->kind == K_NUM || o->kind == K_BOOL) && value) {
                        r = o->kind == K_SIZE  ? parse_size(value, &a->num)
                            : o->kind == K_NUM ? parse_num(value, &a->num)
                                               : parse_bool(value, &a->num);
                        if (r < 0) {
                                r = diag(c, ANSWER_ERROR, at_of(c, w),
                                         o->kind == K_SIZE
                                                 ? "'--%s=%s' is not a size: write MiB as a "
                                                   "whole number (20480) or with a unit (20G)"
                                         : o->kind == K_NUM ? "'--%s=%s' is not a whole number"
                                                            : "'--%s=%s' is not yes or no",
                                         o->name, value);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                }
                c->n_args++;
                if (o->flags & O_DEPRECATED)
                        r = diag(c, ANSWER_WARNING, at_of(c, w),
                                 "'--%s' is deprecated: write '--%s'", o->name, a->name);
                else if (o->flags & O_UNSUPPORTED)
                        r = diag(c, ANSWER_WARNING, at_of(c, w),
                                 "'--%s' of '%s' is not supported: %s, ignoring", o->name, c->name,
                                 o->why);
                else if (o->flags & O_IGNORED)
                        r = diag(c, ANSWER_NOTICE, at_of(c, w), "'--%s' of '%s' %s, ignoring",
                                 o->name, c->name, o->why ? o->why : "has no effect here");
                else
                        r = 0;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- the commands ---- */

#define NO_EFFECT(n)                                          \
        {                                                     \
                .name = n, .kind = K_FLAG, .flags = O_IGNORED \
        }
#define NO_EFFECT_STR(n)                                     \
        {                                                    \
                .name = n, .kind = K_STR, .flags = O_IGNORED \
        }

static int add_password(struct call *c, struct answer_password *pw, const char *value)
{
        int r = set_str(&pw->value, value);

        if (r < 0)
                return r;
        pw->set = value != NULL;
        pw->crypted = has(c, "iscrypted");
        pw->lock = has(c, "lock");
        pw->at = c->at;
        if (has(c, "iscrypted") && has(c, "plaintext"))
                return diag(c, ANSWER_ERROR, where(c, "plaintext"),
                            "'--iscrypted' and '--plaintext' contradict each other: keep one");
        return 0;
}

static const struct opt rootpw_opts[] = {
        { .name = "iscrypted", .kind = K_FLAG },
        { .name = "plaintext", .kind = K_FLAG },
        { .name = "lock", .kind = K_FLAG },
        { .name = "allow-ssh", .kind = K_FLAG },
        {},
};

static int cmd_rootpw(struct call *c)
{
        struct answer *a = c->a;
        int r;

        if (c->n_pos == 0 && !has(c, "lock"))
                return diag(c, ANSWER_ERROR, c->at,
                            "'rootpw' needs a password (or '--lock' to lock root)");
        r = add_password(c, &a->rootpw, c->n_pos ? c->pos[0]->text : NULL);
        a->rootpw.allow_ssh = has(c, "allow-ssh");
        return r;
}

static const struct opt user_opts[] = {
        { .name = "name", .kind = K_STR },       { .name = "password", .kind = K_STR },
        { .name = "iscrypted", .kind = K_FLAG }, { .name = "plaintext", .kind = K_FLAG },
        { .name = "lock", .kind = K_FLAG },      { .name = "groups", .kind = K_LIST },
        { .name = "shell", .kind = K_STR },      { .name = "homedir", .kind = K_STR },
        { .name = "gecos", .kind = K_STR },      { .name = "uid", .kind = K_NUM },
        { .name = "gid", .kind = K_NUM },        {},
};

static int cmd_user(struct call *c)
{
        struct answer_user *u;
        int r;

        if (!str(c, "name"))
                return diag(c, ANSWER_ERROR, c->at, "'user' needs '--name=NAME'");
        if (!(u = array_grow(&c->a->users, &c->a->n_users, sizeof(*u))))
                return -ENOMEM;
        u->at = c->at;
        u->uid = num(c, "uid");
        u->gid = num(c, "gid");
        if ((r = set_str(&u->name, str(c, "name"))) < 0 ||
            (r = add_password(c, &u->pw, str(c, "password"))) < 0 ||
            (r = lists(c, "groups", &u->groups, &u->n_groups)) < 0 ||
            (r = set_str(&u->shell, str(c, "shell"))) < 0 ||
            (r = set_str(&u->homedir, str(c, "homedir"))) < 0 ||
            (r = set_str(&u->gecos, str(c, "gecos"))) < 0)
                return r;
        u->pw.at = c->at;
        return 0;
}

static const struct opt sshkey_opts[] = { { .name = "username", .kind = K_STR }, {} };

static int cmd_sshkey(struct call *c)
{
        struct answer_sshkey *k;

        if (!str(c, "username"))
                return diag(c, ANSWER_ERROR, c->at,
                            "'sshkey' needs '--username=USER' (root for root's key)");
        if (!(k = array_grow(&c->a->sshkeys, &c->a->n_sshkeys, sizeof(*k))))
                return -ENOMEM;
        k->at = at_of(c, c->pos[0]);
        if (set_str(&k->user, str(c, "username")) < 0 || set_str(&k->key, c->pos[0]->text) < 0)
                return -ENOMEM;
        return 0;
}

static const struct opt timezone_opts[] = {
        { .name = "utc", .kind = K_FLAG },
        { .name = "isUtc", .kind = K_FLAG, .flags = O_DEPRECATED, .alias = "utc" },
        { .name = "nontp", .kind = K_FLAG },
        { .name = "ntpservers", .kind = K_LIST },
        {},
};

static int cmd_timezone(struct call *c)
{
        struct answer *a = c->a;
        int r;

        if (c->n_pos) {
                if ((r = set_str(&a->timezone, c->pos[0]->text)) < 0)
                        return r;
                a->timezone_at = at_of(c, c->pos[0]);
        }
        a->utc = a->utc || has(c, "utc");
        a->nontp = a->nontp || has(c, "nontp");
        return lists(c, "ntpservers", &a->ntpservers, &a->n_ntpservers);
}

static const struct opt timesource_opts[] = {
        { .name = "ntp-server", .kind = K_STR },
        { .name = "ntp-pool", .kind = K_STR },
        { .name = "ntp-disable", .kind = K_FLAG },
        { .name = "nts",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "chrony is configured without NTS" },
        {},
};

static int cmd_timesource(struct call *c)
{
        struct answer *a = c->a;
        const char *s = str(c, "ntp-server") ? str(c, "ntp-server") : str(c, "ntp-pool");

        if (has(c, "ntp-disable"))
                a->nontp = true;
        return s ? strv_addf(&a->ntpservers, &a->n_ntpservers, "%s", s) : 0;
}

/* ESXi's keyboard names, as its installer lists them, and Anaconda's console names that
 * differ from the X layout Debian's keyboard-configuration wants. */
static const struct {
        const char *from, *layout;
} keymaps[] = {
        { "US Default", "us" },
        { "United Kingdom", "gb" },
        { "uk", "gb" },
        { "German", "de" },
        { "French", "fr" },
        { "Swiss German", "ch" },
        { "Swiss French", "ch(fr)" },
        { "Spanish", "es" },
        { "Italian", "it" },
        { "Japanese", "jp" },
        { "Belgian", "be" },
        { "Dutch", "nl" },
        { "Norwegian", "no" },
        { "Swedish", "se" },
        { "Danish", "dk" },
        { "Finnish", "fi" },
        { "Portuguese", "pt" },
        { "Brazilian", "br" },
        { "Russian", "ru" },
        { "Polish", "pl" },
        { "Czech", "cz" },
        { "de-latin1", "de" },
        { "de-latin1-nodeadkeys", "de(nodeadkeys)" },
        { "fr-latin1", "fr" },
        { "fr-latin9", "fr(latin9)" },
};

static const struct opt keyboard_opts[] = {
        { .name = "vckeymap", .kind = K_STR },
        { .name = "xlayouts", .kind = K_LIST },
        NO_EFFECT_STR("switch"),
        {},
};

static int cmd_keyboard(struct call *c)
{
        struct answer *a = c->a;
        _cleanup_free_ char *first = NULL;
        const char *k = c->n_pos ? c->pos[0]->text : str(c, "vckeymap");
        struct answer_at at = c->n_pos ? at_of(c, c->pos[0]) : where(c, "vckeymap");

        if (!k && str(c, "xlayouts") && str(c, "xlayouts")[0]) {
                first = strndup(str(c, "xlayouts"), strcspn(str(c, "xlayouts"), ","));
                if (!first)
                        return -ENOMEM;
                k = first;
                at = where(c, "xlayouts");
        }
        if (!k)
                return diag(c, ANSWER_ERROR, c->at, "'keyboard' needs a layout, as 'keyboard us'");
        for (size_t i = 0; i < sizeof(keymaps) / sizeof(keymaps[0]); i++)
                if (strcasecmp(k, keymaps[i].from) == 0) {
                        int r = diag(c, ANSWER_NOTICE, at, "keyboard '%s' is layout '%s' on Debian",
                                     k, keymaps[i].layout);
                        if (r < 0)
                                return r;
                        k = keymaps[i].layout;
                        break;
                }
        a->keyboard_at = at;
        return set_str(&a->keyboard, k);
}

static const struct opt lang_opts[] = {
        { .name = "addsupport",
          .kind = K_LIST,
          .flags = O_IGNORED,
          .why = "only the system locale is generated" },
        {},
};

static int cmd_lang(struct call *c)
{
        c->a->lang_at = at_of(c, c->pos[0]);
        return set_str(&c->a->lang, c->pos[0]->text);
}

static const struct opt end_opts[] = {
        { .name = "eject", .kind = K_FLAG },
        { .name = "noeject", .kind = K_FLAG }, /* ESXi */
        NO_EFFECT("kexec"),
        {},
};

static int cmd_end(struct call *c)
{
        struct answer *a = c->a;

        a->end = strcmp(c->name, "reboot") == 0     ? ANSWER_END_REBOOT
                 : strcmp(c->name, "poweroff") == 0 ? ANSWER_END_POWEROFF
                 : strcmp(c->name, "shutdown") == 0 ? ANSWER_END_POWEROFF
                                                    : ANSWER_END_HALT;
        /* ESXi ejects unless told not to; Anaconda only when told to. */
        a->eject = has(c, "eject") || (a->dialect == ANSWER_ESXI && !has(c, "noeject"));
        return 0;
}

static const struct opt text_opts[] = { NO_EFFECT("non-interactive"), {} };

static int cmd_mode(struct call *c)
{
        struct answer *a = c->a;

        if (strcmp(c->name, "cmdline") == 0)
                a->cmdline_mode = true;
        else if (strcmp(c->name, "graphical") == 0)
                return diag(c, ANSWER_NOTICE, c->at,
                            "kvmforge's installer has no graphical mode: 'text' is used");
        else
                a->text_mode = true;
        return 0;
}

static int cmd_skipx(struct call *c)
{
        c->a->skipx = true;
        return 0;
}

static const struct opt eula_opts[] = { { .name = "agreed", .kind = K_FLAG }, {} };

static int cmd_eula(struct call *c)
{
        c->a->eula = true;
        return 0;
}

static const struct opt firstboot_opts[] = {
        { .name = "enable", .kind = K_FLAG },
        { .name = "enabled", .kind = K_FLAG, .alias = "enable" },
        { .name = "disable", .kind = K_FLAG },
        { .name = "disabled", .kind = K_FLAG, .alias = "disable" },
        NO_EFFECT("reconfig"),
        {},
};

static int cmd_firstboot(struct call *c)
{
        c->a->firstboot = has(c, "disable") ? 0 : 1;
        return 0;
}

static const struct opt services_opts[] = { { .name = "enabled", .kind = K_LIST },
                                            { .name = "disabled", .kind = K_LIST },
                                            {} };

static int cmd_services(struct call *c)
{
        struct answer *a = c->a;
        int r = lists(c, "enabled", &a->services_enabled, &a->n_services_enabled);

        return r < 0 ? r : lists(c, "disabled", &a->services_disabled, &a->n_services_disabled);
}

static const struct opt firewall_opts[] = {
        { .name = "enabled", .kind = K_FLAG },
        { .name = "enable", .kind = K_FLAG, .alias = "enabled" },
        { .name = "disabled", .kind = K_FLAG },
        { .name = "disable", .kind = K_FLAG, .alias = "disabled" },
        { .name = "ssh", .kind = K_FLAG },
        { .name = "service", .kind = K_LIST },
        { .name = "port", .kind = K_LIST },
        { .name = "trust", .kind = K_LIST },
        NO_EFFECT_STR("remove-service"),
        NO_EFFECT("use-system-defaults"),
        {},
};

static int cmd_firewall(struct call *c)
{
        struct answer *a = c->a;
        int r;

        a->firewall = has(c, "disabled") ? 0 : 1;
        if (has(c, "ssh") && (r = strv_addf(&a->firewall_allow, &a->n_firewall_allow, "ssh")) < 0)
                return r;
        if ((r = lists(c, "service", &a->firewall_allow, &a->n_firewall_allow)) < 0 ||
            (r = lists(c, "port", &a->firewall_ports, &a->n_firewall_ports)) < 0 ||
            (r = lists(c, "trust", &a->firewall_trust, &a->n_firewall_trust)) < 0)
                return r;
        return 0;
}

static const struct opt bootloader_opts[] = {
        { .name = "location", .kind = K_STR },
        { .name = "append", .kind = K_STR },
        { .name = "boot-drive", .kind = K_STR },
        { .name = "driveorder", .kind = K_LIST },
        { .name = "timeout", .kind = K_NUM },
        { .name = "password", .kind = K_STR },
        { .name = "iscrypted", .kind = K_FLAG },
        { .name = "md5pass", .kind = K_STR, .flags = O_DEPRECATED, .alias = "password" },
        { .name = "disabled", .kind = K_FLAG },
        NO_EFFECT("leavebootorder"),
        NO_EFFECT("nombr"),
        { .name = "extlinux",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "the bootloader is GRUB" },
        { .name = "sdboot",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "the bootloader is GRUB" },
        NO_EFFECT("upgrade"),
        NO_EFFECT_STR("zipl"),
        {},
};

static int cmd_bootloader(struct call *c)
{
        struct answer_bootloader *b = &c->a->bootloader;
        const char *loc = has(c, "disabled") ? "none" : str(c, "location");
        int r;

        b->at = c->at;
        if (loc && strcmp(loc, "mbr") != 0 && strcmp(loc, "none") != 0 &&
            strcmp(loc, "partition") != 0 && strcmp(loc, "boot") != 0)
                return diag(c, ANSWER_ERROR, where(c, "location"),
                            "'--location=%s' is none of mbr, partition, boot, none", loc);
        b->timeout = num(c, "timeout");
        b->password_crypted = has(c, "iscrypted") || has(c, "md5pass");
        if ((r = set_str(&b->location, loc)) < 0 ||
            (r = set_str(&b->append, str(c, "append"))) < 0 ||
            (r = set_str(&b->boot_drive, str(c, "boot-drive"))) < 0 ||
            (r = lists(c, "driveorder", &b->driveorder, &b->n_driveorder)) < 0 ||
            (r = set_str(&b->password, str(c, "password"))) < 0)
                return r;
        return 0;
}

/* ---- storage ---- */

static const struct opt clearpart_opts[] = {
        { .name = "all", .kind = K_FLAG },
        { .name = "linux", .kind = K_FLAG },
        { .name = "none", .kind = K_FLAG },
        { .name = "drives", .kind = K_LIST },
        { .name = "initlabel", .kind = K_FLAG },
        { .name = "disklabel", .kind = K_STR },
        { .name = "list",
          .kind = K_LIST,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge clears whole disks; name them with --drives" },
        NO_EFFECT("cdl"),
        /* ESXi */
        { .name = "firstdisk", .kind = K_OPTSTR },
        { .name = "alldrives", .kind = K_FLAG },
        { .name = "ignoredrives", .kind = K_LIST },
        { .name = "overwritevmfs", .kind = K_FLAG },
        {},
};

static int cmd_clearpart(struct call *c)
{
        struct answer_storage *s = &c->a->storage;
        const char *label = str(c, "disklabel");
        int r;

        s->clear = has(c, "none")    ? ANSWER_CLEAR_NONE
                   : has(c, "linux") ? ANSWER_CLEAR_LINUX
                                     : ANSWER_CLEAR_ALL;
        s->initlabel = s->initlabel || has(c, "initlabel");
        s->clear_alldrives = has(c, "alldrives");
        s->overwrite = s->overwrite || has(c, "overwritevmfs");
        if (str(c, "firstdisk")) {
                s->clear_firstdisk = true;
                if (!s->firstdisk && (r = set_str(&s->firstdisk, str(c, "firstdisk"))) < 0)
                        return r;
        }
        if (label && strcmp(label, "gpt") != 0 && strcmp(label, "msdos") != 0 &&
            strcmp(label, "mbr") != 0)
                return diag(c, ANSWER_ERROR, where(c, "disklabel"),
                            "'--disklabel=%s' is neither gpt nor msdos", label);
        if ((r = set_str(&s->disklabel, label)) < 0 ||
            (r = lists(c, "drives", &s->clear_drives, &s->n_clear_drives)) < 0 ||
            (r = lists(c, "ignoredrives", &s->ignore, &s->n_ignore)) < 0)
                return r;
        return 0;
}

static int cmd_zerombr(struct call *c)
{
        c->a->storage.zerombr = true;
        return 0;
}

static const struct opt ignoredisk_opts[] = {
        { .name = "only-use", .kind = K_LIST },
        { .name = "drives", .kind = K_LIST },
        NO_EFFECT("interactive"),
        {},
};

static int cmd_ignoredisk(struct call *c)
{
        struct answer_storage *s = &c->a->storage;
        int r;

        if (has(c, "only-use") && has(c, "drives"))
                return diag(c, ANSWER_ERROR, where(c, "drives"),
                            "'--only-use' and '--drives' exclude each other: keep one");
        if (has(c, "only-use")) /* the later line says which disks, not the sum of both */
                strv_free(&s->only_use, &s->n_only_use);
        if ((r = lists(c, "only-use", &s->only_use, &s->n_only_use)) < 0 ||
            (r = lists(c, "drives", &s->ignore, &s->n_ignore)) < 0)
                return r;
        return 0;
}

static const char *const fstypes[] = { "ext4", "ext3",  "ext2", "xfs",      "vfat", "efi",
                                       "swap", "lvmpv", "raid", "biosboot", NULL };

static int check_fstype(struct call *c, const char *fs)
{
        if (!fs)
                return 0;
        for (size_t i = 0; fstypes[i]; i++)
                if (strcmp(fs, fstypes[i]) == 0)
                        return 0;
        if (strcmp(fs, "btrfs") == 0 || strcmp(fs, "prepboot") == 0 || strcmp(fs, "hfs+") == 0 ||
            strcmp(fs, "macefi") == 0 || strcmp(fs, "appleboot") == 0)
                return diag(c, ANSWER_ERROR, where(c, "fstype"),
                            "filesystem '%s' is not supported: use ext4 or xfs", fs);
        {
                const char *near =
                        strv_closest(fs, fstypes, sizeof(fstypes) / sizeof(*fstypes) - 1);
                if (near)
                        return diag(c, ANSWER_ERROR, where(c, "fstype"),
                                    "unknown filesystem '%s'; did you mean '%s'?", fs, near);
        }
        return diag(c, ANSWER_ERROR, where(c, "fstype"),
                    "unknown filesystem '%s' (ext4, xfs, vfat, efi, swap, lvmpv, raid, biosboot)",
                    fs);
}

static const struct opt part_opts[] = {
        { .name = "size", .kind = K_SIZE },
        { .name = "maxsize", .kind = K_SIZE },
        { .name = "grow", .kind = K_FLAG },
        { .name = "recommended", .kind = K_FLAG },
        { .name = "ondisk", .kind = K_STR },
        { .name = "ondrive", .kind = K_STR, .alias = "ondisk" },
        { .name = "fstype", .kind = K_STR },
        { .name = "label", .kind = K_STR },
        { .name = "fsoptions", .kind = K_STR },
        { .name = "asprimary",
          .kind = K_FLAG,
          .flags = O_IGNORED,
          .why = "has no meaning on GPT disks" },
        { .name = "mkfsoptions",
          .kind = K_STR,
          .flags = O_IGNORED,
          .why = "is not passed to mkfs" },
        NO_EFFECT_STR("fsprofile"),
        NO_EFFECT("hibernation"),
        { .name = "noformat",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge formats what it creates" },
        { .name = "onpart",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge creates its own partitions" },
        { .name = "usepart",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge creates its own partitions" },
        { .name = "start",
          .kind = K_NUM,
          .flags = O_UNSUPPORTED,
          .why = "partitions are placed by the planner" },
        { .name = "end",
          .kind = K_NUM,
          .flags = O_UNSUPPORTED,
          .why = "partitions are placed by the planner" },
        { .name = "resize",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge never resizes existing partitions" },
        { .name = "encrypted",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "the partition is created unencrypted" },
        { .name = "passphrase",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "the partition is created unencrypted" },
        { .name = "luks-version",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "the partition is created unencrypted" },
        { .name = "cipher",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "the partition is created unencrypted" },
        {},
};

static int cmd_part(struct call *c)
{
        struct answer_storage *s = &c->a->storage;
        struct answer_part *p;
        int r;

        if ((r = check_fstype(c, str(c, "fstype"))) < 0)
                return r;
        if (!(p = array_grow(&s->parts, &s->n_parts, sizeof(*p))))
                return -ENOMEM;
        p->at = at_of(c, c->pos[0]);
        p->size = num(c, "size");
        p->maxsize = num(c, "maxsize");
        p->grow = has(c, "grow");
        p->recommended = has(c, "recommended");
        if ((r = set_str(&p->name, c->pos[0]->text)) < 0 ||
            (r = set_str(&p->fstype, str(c, "fstype"))) < 0 ||
            (r = set_str(&p->ondisk, str(c, "ondisk"))) < 0 ||
            (r = set_str(&p->label, str(c, "label"))) < 0 ||
            (r = set_str(&p->fsoptions, str(c, "fsoptions"))) < 0)
                return r;
        if (p->size == ANSWER_UNSET && !p->recommended && !p->grow)
                return diag(c, ANSWER_ERROR, c->at,
                            "'part %s' needs a size: '--size=MiB', '--grow' or '--recommended'",
                            p->name);
        return 0;
}

static const struct opt volgroup_opts[] = {
        { .name = "pesize", .kind = K_NUM },
        { .name = "useexisting",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge creates its volume groups" },
        { .name = "noformat",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge creates its volume groups" },
        NO_EFFECT_STR("reserved-space"),
        NO_EFFECT_STR("reserved-percent"),
        {},
};

static int cmd_volgroup(struct call *c)
{
        struct answer_storage *s = &c->a->storage;
        struct answer_volgroup *v;
        uint64_t pe = num(c, "pesize");

        if (pe != ANSWER_UNSET && (pe < 1024 || (pe & (pe - 1))))
                return diag(c, ANSWER_ERROR, where(c, "pesize"),
                            "'--pesize=%" PRIu64 "' must be a power of two of at least 1024 (KiB)",
                            pe);
        if (!(v = array_grow(&s->vgs, &s->n_vgs, sizeof(*v))))
                return -ENOMEM;
        v->at = at_of(c, c->pos[0]);
        v->pesize_kib = pe;
        if (set_str(&v->name, c->pos[0]->text) < 0)
                return -ENOMEM;
        for (size_t i = 1; i < c->n_pos; i++)
                if (strv_addf(&v->pvs, &v->n_pvs, "%s", c->pos[i]->text) < 0)
                        return -ENOMEM;
        if (v->n_pvs == 0)
                return diag(c, ANSWER_ERROR, c->at,
                            "'volgroup %s' names no physical volume: write 'volgroup %s pv.01' "
                            "with a 'part pv.01 ...'",
                            v->name, v->name);
        return 0;
}

static const struct opt logvol_opts[] = {
        { .name = "vgname", .kind = K_STR },
        { .name = "name", .kind = K_STR },
        { .name = "size", .kind = K_SIZE },
        { .name = "maxsize", .kind = K_SIZE },
        { .name = "grow", .kind = K_FLAG },
        { .name = "percent", .kind = K_NUM },
        { .name = "recommended", .kind = K_FLAG },
        { .name = "fstype", .kind = K_STR },
        { .name = "label", .kind = K_STR },
        { .name = "fsoptions", .kind = K_STR },
        { .name = "thin", .kind = K_FLAG },
        { .name = "thinpool", .kind = K_FLAG },
        { .name = "poolname", .kind = K_STR },
        { .name = "metadatasize", .kind = K_SIZE },
        { .name = "chunksize", .kind = K_NUM },
        { .name = "mkfsoptions",
          .kind = K_STR,
          .flags = O_IGNORED,
          .why = "is not passed to mkfs" },
        NO_EFFECT_STR("fsprofile"),
        NO_EFFECT("hibernation"),
        NO_EFFECT_STR("cachesize"),
        NO_EFFECT_STR("cachemode"),
        NO_EFFECT_STR("cachepvs"),
        { .name = "useexisting",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge creates its logical volumes" },
        { .name = "noformat",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge formats what it creates" },
        { .name = "resize",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge never resizes existing volumes" },
        { .name = "encrypted",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "the volume is created unencrypted" },
        { .name = "passphrase",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "the volume is created unencrypted" },
        { .name = "luks-version",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "the volume is created unencrypted" },
        {},
};

static int cmd_logvol(struct call *c)
{
        struct answer_storage *s = &c->a->storage;
        struct answer_logvol *l;
        int r;

        if (!str(c, "vgname") || !str(c, "name"))
                return diag(c, ANSWER_ERROR, c->at,
                            "'logvol %s' needs '--vgname=VG' and '--name=LV'", c->pos[0]->text);
        if ((r = check_fstype(c, str(c, "fstype"))) < 0)
                return r;
        if (!(l = array_grow(&s->lvs, &s->n_lvs, sizeof(*l))))
                return -ENOMEM;
        l->at = at_of(c, c->pos[0]);
        l->size = num(c, "size");
        l->maxsize = num(c, "maxsize");
        l->percent = num(c, "percent");
        l->grow = has(c, "grow");
        l->recommended = has(c, "recommended");
        l->thin = has(c, "thin");
        l->thinpool = has(c, "thinpool");
        l->metadatasize = num(c, "metadatasize");
        l->chunksize_kib = num(c, "chunksize");
        if ((r = set_str(&l->mount, c->pos[0]->text)) < 0 ||
            (r = set_str(&l->vgname, str(c, "vgname"))) < 0 ||
            (r = set_str(&l->name, str(c, "name"))) < 0 ||
            (r = set_str(&l->fstype, str(c, "fstype"))) < 0 ||
            (r = set_str(&l->poolname, str(c, "poolname"))) < 0 ||
            (r = set_str(&l->label, str(c, "label"))) < 0 ||
            (r = set_str(&l->fsoptions, str(c, "fsoptions"))) < 0)
                return r;
        if (l->percent != ANSWER_UNSET && (l->percent == 0 || l->percent > 100))
                return diag(c, ANSWER_ERROR, where(c, "percent"),
                            "'--percent=%" PRIu64 "' is not between 1 and 100", l->percent);
        if (l->thin && l->thinpool)
                return diag(c, ANSWER_ERROR, where(c, "thin"),
                            "'--thin' and '--thinpool' contradict each other: a pool is "
                            "'--thinpool', a volume in it is '--thin --poolname=POOL'");
        if (l->thin && !l->poolname)
                return diag(c, ANSWER_ERROR, where(c, "thin"),
                            "'--thin' needs '--poolname=POOL', the LV made with '--thinpool'");
        if (l->size == ANSWER_UNSET && l->percent == ANSWER_UNSET && !l->grow && !l->recommended)
                return diag(c, ANSWER_ERROR, c->at,
                            "'logvol %s' needs a size: '--size=MiB', '--percent=N', '--grow' or "
                            "'--recommended'",
                            l->mount);
        return 0;
}

static const struct opt raid_opts[] = {
        { .name = "device", .kind = K_STR },
        { .name = "level", .kind = K_STR },
        { .name = "fstype", .kind = K_STR },
        { .name = "label", .kind = K_STR },
        { .name = "fsoptions", .kind = K_STR },
        { .name = "spares",
          .kind = K_NUM,
          .flags = O_UNSUPPORTED,
          .why = "arrays are built without spares" },
        NO_EFFECT_STR("chunksize"),
        { .name = "useexisting",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge creates its arrays" },
        { .name = "noformat",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge formats what it creates" },
        { .name = "encrypted",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "the array is created unencrypted" },
        {},
};

static int cmd_raid(struct call *c)
{
        struct answer_storage *s = &c->a->storage;
        struct answer_raid *d;
        const char *lvl = str(c, "level");
        uint64_t level;
        int r;

        if (!str(c, "device") || !lvl)
                return diag(c, ANSWER_ERROR, c->at,
                            "'raid %s' needs '--device=NAME' and '--level=RAID1'", c->pos[0]->text);
        if (strncasecmp(lvl, "raid", 4) == 0)
                lvl += 4;
        if (parse_num(lvl, &level) < 0 ||
            (level != 0 && level != 1 && level != 5 && level != 6 && level != 10))
                return diag(c, ANSWER_ERROR, where(c, "level"),
                            "'--level=%s' is none of RAID0, RAID1, RAID5, RAID6, RAID10",
                            str(c, "level"));
        if ((r = check_fstype(c, str(c, "fstype"))) < 0)
                return r;
        if (!(d = array_grow(&s->raids, &s->n_raids, sizeof(*d))))
                return -ENOMEM;
        d->at = at_of(c, c->pos[0]);
        d->level = level;
        if (set_str(&d->mount, c->pos[0]->text) < 0 || set_str(&d->device, str(c, "device")) < 0 ||
            set_str(&d->fstype, str(c, "fstype")) < 0)
                return -ENOMEM;
        for (size_t i = 1; i < c->n_pos; i++)
                if (strv_addf(&d->members, &d->n_members, "%s", c->pos[i]->text) < 0)
                        return -ENOMEM;
        return 0;
}

static const struct opt reqpart_opts[] = { NO_EFFECT("add-boot"), {} };

static int cmd_reqpart(struct call *c)
{
        c->a->storage.reqpart = true;
        return 0;
}

static const struct opt autopart_opts[] = {
        { .name = "type", .kind = K_STR },
        { .name = "fstype", .kind = K_STR },
        { .name = "noswap", .kind = K_FLAG },
        { .name = "nolvm", .kind = K_FLAG },
        { .name = "nohome",
          .kind = K_FLAG,
          .flags = O_IGNORED,
          .why = "(kvmforge makes no /home volume)" },
        { .name = "noboot",
          .kind = K_FLAG,
          .flags = O_IGNORED,
          .why = "(kvmforge makes no /boot partition)" },
        { .name = "encrypted",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "the volumes are created unencrypted" },
        { .name = "passphrase",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "the volumes are created unencrypted" },
        { .name = "luks-version",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "the volumes are created unencrypted" },
        /* kvmforge's sizing, as Proxmox names it */
        { .name = "hdsize", .kind = K_SIZE },
        { .name = "swapsize", .kind = K_SIZE },
        { .name = "maxroot", .kind = K_SIZE },
        { .name = "minfree", .kind = K_SIZE },
        { .name = "maxvz", .kind = K_SIZE },
        { .name = "rest", .kind = K_STR },
        {},
};

static int cmd_autopart(struct call *c)
{
        struct answer_storage *s = &c->a->storage;
        const char *type = str(c, "type"), *rest = str(c, "rest");
        int r;

        s->autopart_at = c->at;
        if (has(c, "nolvm") || (type && strcmp(type, "plain") == 0))
                s->autopart = ANSWER_AUTOPART_PLAIN;
        else if (!type || strcmp(type, "thinp") == 0)
                s->autopart = ANSWER_AUTOPART_THINP; /* guests want a thin pool */
        else if (strcmp(type, "lvm") == 0)
                s->autopart = ANSWER_AUTOPART_LVM;
        else
                return diag(c, ANSWER_ERROR, where(c, "type"),
                            "'--type=%s' is not supported: use thinp (the default), lvm or plain",
                            type);
        if (rest && strcmp(rest, "root") != 0 && strcmp(rest, "pool") != 0)
                return diag(c, ANSWER_ERROR, where(c, "rest"),
                            "'--rest=%s' is neither root nor pool", rest);
        if ((r = check_fstype(c, str(c, "fstype"))) < 0)
                return r;
        s->noswap = has(c, "noswap");
        s->hdsize = num(c, "hdsize");
        s->swapsize = num(c, "swapsize");
        s->maxroot = num(c, "maxroot");
        s->minfree = num(c, "minfree");
        s->maxvz = num(c, "maxvz");
        if ((r = set_str(&s->autopart_fstype, str(c, "fstype"))) < 0 ||
            (r = set_str(&s->rest, rest)) < 0)
                return r;
        if (s->maxvz == 0 && !rest)
                return diag(c, ANSWER_NOTICE, where(c, "maxvz"),
                            "'--maxvz=0' makes no thin pool and leaves its space free in the "
                            "volume group; add '--rest=root' to give it to the root volume");
        return 0;
}

/* ESXi: install --firstdisk[=LIST] | --disk=X, where the node goes. */
static const struct opt install_opts[] = {
        { .name = "firstdisk", .kind = K_OPTSTR },
        { .name = "disk", .kind = K_STR },
        { .name = "drive", .kind = K_STR, .alias = "disk" },
        { .name = "overwritevmfs", .kind = K_FLAG },
        { .name = "novmfsondisk", .kind = K_FLAG },
        { .name = "preservevmfs",
          .kind = K_FLAG,
          .flags = O_UNSUPPORTED,
          .why = "kvmforge cannot keep a VMFS datastore; the disk is wiped only with --overwritevmfs" },
        { .name = "ignoressd",
          .kind = K_FLAG,
          .flags = O_IGNORED,
          .why = "(SSDs are candidates like any disk)" },
        NO_EFFECT("ignoreprereqwarnings"),
        NO_EFFECT("ignoreprereqerrors"),
        NO_EFFECT("forceunsupportedinstall"),
        {},
};

static int cmd_install(struct call *c)
{
        struct answer_storage *s = &c->a->storage;
        int r;

        if (c->a->dialect != ANSWER_ESXI)
                return diag(c, ANSWER_WARNING, c->at,
                            "'install' was removed from Anaconda (it is the default), ignoring");
        if (str(c, "firstdisk") && str(c, "disk"))
                return diag(c, ANSWER_ERROR, where(c, "disk"),
                            "'--firstdisk' and '--disk' exclude each other: keep one");
        if (!str(c, "firstdisk") && !str(c, "disk"))
                return diag(c, ANSWER_ERROR, c->at,
                            "'install' needs '--firstdisk' or '--disk=DISK'");
        s->install_at = c->at;
        s->overwrite = s->overwrite || has(c, "overwritevmfs");
        s->novmfs = has(c, "novmfsondisk");
        if ((r = set_str(&s->firstdisk, str(c, "firstdisk"))) < 0 ||
            (r = set_str(&s->disk, str(c, "disk"))) < 0)
                return r;
        if (s->novmfs)
                return diag(c, ANSWER_NOTICE, where(c, "novmfsondisk"),
                            "'--novmfsondisk': no thin pool for guests; the rest of the disk "
                            "stays free in the volume group");
        return 0;
}

/* ---- network ---- */

static const struct opt network_opts[] = {
        { .name = "bootproto", .kind = K_STR },
        { .name = "device", .kind = K_STR },
        { .name = "ip", .kind = K_STR },
        { .name = "netmask", .kind = K_STR },
        { .name = "gateway", .kind = K_STR },
        { .name = "nameserver", .kind = K_LIST },
        { .name = "nodns", .kind = K_FLAG },
        { .name = "ipv6", .kind = K_STR },
        { .name = "ipv6gateway", .kind = K_STR },
        { .name = "noipv4", .kind = K_FLAG },
        { .name = "noipv6", .kind = K_FLAG },
        { .name = "nodefroute", .kind = K_FLAG },
        { .name = "hostname", .kind = K_STR },
        { .name = "mtu", .kind = K_NUM },
        { .name = "vlanid", .kind = K_NUM },
        { .name = "interfacename", .kind = K_STR },
        { .name = "bondslaves", .kind = K_LIST },
        { .name = "bondopts", .kind = K_STR },
        { .name = "bridgeslaves", .kind = K_LIST },
        { .name = "bridgeopts", .kind = K_STR },
        { .name = "onboot", .kind = K_BOOL },
        { .name = "activate", .kind = K_FLAG },
        { .name = "no-activate", .kind = K_FLAG },
        { .name = "addvmportgroup", .kind = K_BOOL }, /* ESXi */
        NO_EFFECT_STR("ethtool"),
        NO_EFFECT_STR("dhcpclass"),
        NO_EFFECT_STR("bindto"),
        NO_EFFECT_STR("ipv4-dns-search"),
        NO_EFFECT_STR("ipv6-dns-search"),
        NO_EFFECT("ipv4-ignore-auto-dns"),
        NO_EFFECT("ipv6-ignore-auto-dns"),
        { .name = "teamslaves",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "teams are not supported: use --bondslaves" },
        { .name = "teamconfig",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "teams are not supported: use --bondopts" },
        { .name = "essid",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "a hypervisor node is not set up on Wi-Fi" },
        { .name = "wepkey",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "a hypervisor node is not set up on Wi-Fi" },
        { .name = "wpakey",
          .kind = K_STR,
          .flags = O_UNSUPPORTED,
          .why = "a hypervisor node is not set up on Wi-Fi" },
        {},
};

static int cmd_network(struct call *c)
{
        struct answer *a = c->a;
        struct answer_network *n = NULL;
        const char *proto = str(c, "bootproto"), *dev = str(c, "device");
        char place[320];
        int r;

        if (str(c, "hostname")) {
                if ((r = set_str(&a->hostname, str(c, "hostname"))) < 0)
                        return r;
                a->hostname_at = where(c, "hostname");
        }
        /* A line with only --hostname names the host and configures no NIC. */
        if (c->n_args == (size_t) has(c, "hostname"))
                return 0;
        if (proto && strcmp(proto, "dhcp") != 0 && strcmp(proto, "static") != 0 &&
            strcmp(proto, "bootp") != 0 && strcmp(proto, "ibft") != 0)
                return diag(c, ANSWER_ERROR, where(c, "bootproto"),
                            "'--bootproto=%s' is none of dhcp, static, ibft", proto);
        /* A VLAN on a NIC is a device of its own: "eno1" and "eno1 --vlanid=300" are two. */
        for (size_t i = 0; i < a->n_networks; i++)
                if (((dev && a->networks[i].device &&
                      strcasecmp(a->networks[i].device, dev) == 0) ||
                     (!dev && !a->networks[i].device)) &&
                    a->networks[i].vlanid == num(c, "vlanid")) {
                        n = &a->networks[i];
                        r = diag(c, c->override ? ANSWER_NOTICE : ANSWER_WARNING, c->at,
                                 "'network' for %s%s%s given again (first at %s): the later one "
                                 "wins",
                                 dev ? "'" : "the default device", dev ? dev : "", dev ? "'" : "",
                                 answer_format_at(a, n->at, place, sizeof(place)));
                        if (r < 0)
                                return r;
                        answer_network_clear(n);
                        break;
                }
        if (!n && !(n = array_grow(&a->networks, &a->n_networks, sizeof(*n))))
                return -ENOMEM;
        n->at = c->at;
        n->bootproto = proto && strcmp(proto, "static") == 0 ? ANSWER_STATIC
                       : proto && strcmp(proto, "ibft") == 0 ? ANSWER_IBFT
                                                             : ANSWER_DHCP;
        if (!proto && str(c, "ip"))
                n->bootproto = ANSWER_STATIC;
        n->mtu = num(c, "mtu");
        n->vlanid = num(c, "vlanid");
        n->nodns = has(c, "nodns");
        n->noipv4 = has(c, "noipv4");
        n->noipv6 = has(c, "noipv6");
        n->nodefroute = has(c, "nodefroute");
        n->onboot = has(c, "onboot") ? (int) num(c, "onboot") : -1;
        n->activate = has(c, "activate");
        n->addvmportgroup = has(c, "addvmportgroup") ? (int) num(c, "addvmportgroup") : -1;
        if ((r = set_str(&n->device, dev)) < 0 || (r = set_str(&n->ip, str(c, "ip"))) < 0 ||
            (r = set_str(&n->netmask, str(c, "netmask"))) < 0 ||
            (r = set_str(&n->gateway, str(c, "gateway"))) < 0 ||
            (r = lists(c, "nameserver", &n->nameservers, &n->n_nameservers)) < 0 ||
            (r = set_str(&n->ipv6, str(c, "ipv6"))) < 0 ||
            (r = set_str(&n->ipv6gateway, str(c, "ipv6gateway"))) < 0 ||
            (r = set_str(&n->interfacename, str(c, "interfacename"))) < 0 ||
            (r = lists(c, "bondslaves", &n->bondslaves, &n->n_bondslaves)) < 0 ||
            (r = set_str(&n->bondopts, str(c, "bondopts"))) < 0 ||
            (r = lists(c, "bridgeslaves", &n->bridgeslaves, &n->n_bridgeslaves)) < 0 ||
            (r = set_str(&n->bridgeopts, str(c, "bridgeopts"))) < 0)
                return r;
        if (n->bootproto == ANSWER_STATIC && (!n->ip || (!n->netmask && !strchr(n->ip, '/'))) &&
            !n->noipv4)
                return diag(c, ANSWER_ERROR, c->at,
                            "a static 'network' needs '--ip=ADDRESS' and '--netmask=MASK' (or "
                            "'--ip=ADDRESS/PREFIX')");
        return 0;
}

/* ---- kvmforge's own ---- */

static const struct opt hypervisor_opts[] = {
        { .name = "bridge", .kind = K_STR },
        { .name = "no-bridge", .kind = K_FLAG },
        { .name = "require-vt", .kind = K_FLAG },
        { .name = "require-iommu", .kind = K_FLAG },
        { .name = "nested", .kind = K_FLAG },
        { .name = "force-reinstall", .kind = K_FLAG },
        {},
};

static bool valid_ifname(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("-_.", s[i]))
                        return false;
        return true;
}

static int cmd_hypervisor(struct call *c)
{
        struct answer_hypervisor *h = &c->a->hypervisor;
        const char *br = str(c, "bridge");

        h->at = c->at;
        if (br && has(c, "no-bridge"))
                return diag(c, ANSWER_ERROR, where(c, "no-bridge"),
                            "'--bridge' and '--no-bridge' exclude each other: keep one");
        if (br && !valid_ifname(br))
                return diag(c, ANSWER_ERROR, where(c, "bridge"),
                            "'--bridge=%s' is not an interface name (1-15 letters, digits, - _ .)",
                            br);
        h->require_vt = h->require_vt || has(c, "require-vt");
        h->require_iommu = h->require_iommu || has(c, "require-iommu");
        h->nested = h->nested || has(c, "nested");
        h->force_reinstall = h->force_reinstall || has(c, "force-reinstall");
        return set_str(&h->bridge, has(c, "no-bridge") ? "" : br);
}

static int cmd_paranoid(struct call *c)
{
        c->a->strict = true;
        return diag(c, ANSWER_NOTICE, c->at, "'paranoid': every warning is an error");
}

static int cmd_dryrun(struct call *c)
{
        c->a->dryrun = true;
        return 0;
}

static int cmd_ignored(struct call *c)
{
        (void) c;
        return 0;
}

static const struct opt any_opts[] = {
        /* ignored commands accept whatever options they had: none are checked */
        {},
};

/* Sorted by name; the table is what the README documents. */
static const struct cmd commands[] = {
        { .name = "accepteula", .run = cmd_eula, .flags = C_ESXI },
        { .name = "auth",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_REMOVED,
          .usage = "accounts use shadow passwords" },
        { .name = "authconfig",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_REMOVED,
          .usage = "accounts use shadow passwords" },
        { .name = "authselect",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "accounts use shadow passwords" },
        { .name = "autopart", .run = cmd_autopart, .opts = autopart_opts },
        { .name = "bootc",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the payload is on the medium" },
        { .name = "bootloader", .run = cmd_bootloader, .opts = bootloader_opts },
        { .name = "btrfs",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_UNSUPPORTED,
          .usage = "btrfs: use ext4 or xfs" },
        { .name = "cdrom",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the payload is on the medium" },
        { .name = "clearpart", .run = cmd_clearpart, .opts = clearpart_opts },
        { .name = "cmdline", .run = cmd_mode, .opts = text_opts },
        { .name = "device",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "drivers load by themselves" },
        { .name = "driverdisk",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "drivers come with the kernel" },
        { .name = "dryrun", .run = cmd_dryrun, .flags = C_ESXI },
        { .name = "eula", .run = cmd_eula, .opts = eula_opts },
        { .name = "fcoe",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "FCoE disks are not set up" },
        { .name = "firewall", .run = cmd_firewall, .opts = firewall_opts },
        { .name = "firstboot", .run = cmd_firstboot, .opts = firstboot_opts },
        { .name = "graphical", .run = cmd_mode, .opts = text_opts },
        { .name = "group",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED | C_MULTI,
          .usage = "create groups in %post" },
        { .name = "halt", .run = cmd_end, .opts = end_opts },
        { .name = "harddrive",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the payload is on the medium" },
        { .name = "hypervisor", .run = cmd_hypervisor, .opts = hypervisor_opts },
        { .name = "ignoredisk", .run = cmd_ignoredisk, .opts = ignoredisk_opts },
        { .name = "install", .run = cmd_install, .opts = install_opts },
        { .name = "interactive",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_REMOVED,
          .usage = "answers come from this file" },
        { .name = "iscsi",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED | C_MULTI,
          .usage = "iSCSI disks are not set up" },
        { .name = "iscsiname",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "iSCSI disks are not set up" },
        { .name = "keyboard", .run = cmd_keyboard, .opts = keyboard_opts, .max_pos = 1 },
        { .name = "lang",
          .run = cmd_lang,
          .opts = lang_opts,
          .min_pos = 1,
          .max_pos = 1,
          .usage = "a locale, as 'lang en_US.UTF-8'" },
        { .name = "liveimg",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the payload is on the medium" },
        { .name = "logging",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the log is kept on the node" },
        { .name = "logvol",
          .run = cmd_logvol,
          .opts = logvol_opts,
          .min_pos = 1,
          .max_pos = 1,
          .flags = C_MULTI,
          .usage = "a mount point, as 'logvol / ...'" },
        { .name = "mediacheck",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the payload is verified" },
        { .name = "module",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED | C_MULTI,
          .usage = "a dnf idea" },
        { .name = "mount",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_UNSUPPORTED | C_MULTI,
          .usage = "existing filesystems are not reused: describe the layout with part/logvol" },
        { .name = "network", .run = cmd_network, .opts = network_opts, .flags = C_MULTI },
        { .name = "nfs",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the payload is on the medium" },
        { .name = "nvdimm",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED | C_MULTI,
          .usage = "NVDIMMs are not set up" },
        { .name = "ostreecontainer",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the payload is Debian" },
        { .name = "ostreesetup",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the payload is Debian" },
        { .name = "paranoid", .run = cmd_paranoid, .flags = C_ESXI },
        { .name = "part",
          .run = cmd_part,
          .opts = part_opts,
          .min_pos = 1,
          .max_pos = 1,
          .flags = C_MULTI,
          .usage = "a mount point or a name, as 'part /boot'" },
        { .name = "partition",
          .run = cmd_part,
          .opts = part_opts,
          .min_pos = 1,
          .max_pos = 1,
          .flags = C_MULTI,
          .usage = "a mount point, as 'partition /boot'" },
        { .name = "poweroff", .run = cmd_end, .opts = end_opts },
        { .name = "raid",
          .run = cmd_raid,
          .opts = raid_opts,
          .min_pos = 1,
          .max_pos = 64,
          .flags = C_MULTI,
          .usage = "a mount point and members" },
        { .name = "rdp",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the installer is text-mode" },
        { .name = "realm",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "join a domain in %post" },
        { .name = "reboot", .run = cmd_end, .opts = end_opts },
        { .name = "repo",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED | C_MULTI,
          .usage = "packages come from the medium" },
        { .name = "reqpart", .run = cmd_reqpart, .opts = reqpart_opts },
        { .name = "rescue",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_UNSUPPORTED,
          .usage = "rescue mode: boot the medium's 'Rescue shell' entry" },
        { .name = "rhsm",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "a RHEL subscription" },
        { .name = "rootpw", .run = cmd_rootpw, .opts = rootpw_opts, .max_pos = 1 },
        { .name = "selinux",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "Debian does not use SELinux" },
        { .name = "serialnum",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED | C_ESXI,
          .usage = "a VMware licence key" },
        { .name = "services", .run = cmd_services, .opts = services_opts, .flags = C_MULTI },
        { .name = "shutdown", .run = cmd_end, .opts = end_opts },
        { .name = "skipx", .run = cmd_skipx },
        { .name = "snapshot",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED | C_MULTI,
          .usage = "take it after install" },
        { .name = "sshkey",
          .run = cmd_sshkey,
          .opts = sshkey_opts,
          .min_pos = 1,
          .max_pos = 1,
          .flags = C_MULTI,
          .usage = "a public key in quotes" },
        { .name = "sshpw",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED | C_MULTI,
          .usage = "the installer has no SSH access" },
        { .name = "syspurpose",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "a RHEL subscription" },
        { .name = "text", .run = cmd_mode, .opts = text_opts },
        { .name = "timesource", .run = cmd_timesource, .opts = timesource_opts, .flags = C_MULTI },
        { .name = "timezone", .run = cmd_timezone, .opts = timezone_opts, .max_pos = 1 },
        { .name = "updates",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the installer is on the medium" },
        { .name = "upgrade",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_UNSUPPORTED | C_ESXI,
          .usage = "kvmforge installs afresh; it does not upgrade ESXi" },
        { .name = "url",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the payload is on the medium" },
        { .name = "user", .run = cmd_user, .opts = user_opts, .flags = C_MULTI },
        { .name = "vmaccepteula", .run = cmd_eula, .flags = C_ESXI },
        { .name = "volgroup",
          .run = cmd_volgroup,
          .opts = volgroup_opts,
          .min_pos = 1,
          .max_pos = 64,
          .flags = C_MULTI,
          .usage = "a name and its PVs, as 'volgroup vg0 pv.01'" },
        { .name = "vnc",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "the installer is text-mode" },
        { .name = "xconfig",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "a node has no desktop" },
        { .name = "zerombr", .run = cmd_zerombr },
        { .name = "zfcp",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED | C_MULTI,
          .usage = "zFCP disks are not set up" },
        { .name = "zipl",
          .run = cmd_ignored,
          .opts = any_opts,
          .max_pos = 64,
          .flags = C_IGNORED,
          .usage = "an s390 bootloader" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cmd *find_cmd(const char *name)
{
        for (size_t i = 0; i < N_COMMANDS; i++)
                if (strcmp(commands[i].name, name) == 0)
                        return &commands[i];
        return NULL;
}

static int unknown_cmd(struct call *c)
{
        const char *names[N_COMMANDS];
        const char *near;

        for (size_t i = 0; i < N_COMMANDS; i++)
                names[i] = commands[i].name;
        near = strv_closest(c->name, names, N_COMMANDS);
        if (near)
                return diag(c, ANSWER_ERROR, c->at, "unknown command '%s'; did you mean '%s'?",
                            c->name, near);
        return diag(c, ANSWER_ERROR, c->at,
                    "unknown command '%s' (the README lists every command kvmforge reads)",
                    c->name);
}

static bool cmd_is_esxi(const struct kickstart_command *kc)
{
        const char *n = kc->words[0].text;
        const struct cmd *cmd = find_cmd(n);

        if (cmd && (cmd->flags & C_ESXI))
                return true;
        for (size_t i = 1; i < kc->n_words; i++) {
                const char *w = kc->words[i].text;
                if ((strcmp(n, "install") == 0 || strcmp(n, "clearpart") == 0) &&
                    (strncmp(w, "--firstdisk", 11) == 0 || strncmp(w, "--overwritevmfs", 15) == 0 ||
                     strncmp(w, "--novmfsondisk", 14) == 0 || strncmp(w, "--alldrives", 11) == 0 ||
                     strncmp(w, "--disk=", 7) == 0))
                        return true;
                if (strcmp(n, "network") == 0 && strncmp(w, "--addvmportgroup", 16) == 0)
                        return true;
        }
        return false;
}

/* ---- running commands, %include, sections ---- */

static int load_text(struct loader *ld, const char *text, size_t len, unsigned file);

static int do_include(struct loader *ld, const struct kickstart_command *kc, unsigned file)
{
        struct answer *a = ld->a;
        struct answer_at at = { file, kc->words[0].line, kc->words[0].col };
        _cleanup_free_ char *path = NULL, *buf = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        ssize_t n;

        if (kc->n_words != 2)
                return answer_diag(a, ANSWER_ERROR, at, "'%s' takes one path", kc->words[0].text);
        if (ld->depth >= ANSWER_MAX_INCLUDE_DEPTH)
                return answer_diag(a, ANSWER_ERROR, at,
                                   "'%%include' nested deeper than %u files (does it include "
                                   "itself?)",
                                   ANSWER_MAX_INCLUDE_DEPTH);
        if (asprintf(&path, "%s%s", ld->o->root ? ld->o->root : "", kc->words[1].text) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT && ld->has_pre && !ld->o->pre_done) {
                        int r = answer_diag(a, ANSWER_NOTICE, at,
                                            "'%s' does not exist yet: it is read after %%pre has "
                                            "run",
                                            kc->words[1].text);
                        return r < 0 ? r
                                     : strv_addf(&a->includes, &a->n_includes, "%s",
                                                 kc->words[1].text);
                }
                return answer_diag(a, ANSWER_ERROR, at, "cannot read '%s': %s%s", kc->words[1].text,
                                   strerror(errno),
                                   errno == ENOENT && !ld->has_pre ? " (and no %pre writes it)"
                                                                   : "");
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return answer_diag(a, ANSWER_ERROR, at, "'%s' is not a regular file",
                                   kc->words[1].text);
        if (st.st_size > (off_t) KICKSTART_MAX_BYTES)
                return answer_diag(a, ANSWER_ERROR, at, "'%s' is larger than %u bytes",
                                   kc->words[1].text, KICKSTART_MAX_BYTES);
        if (!(buf = malloc((size_t) st.st_size + 1)))
                return -ENOMEM;
        n = read(fd, buf, (size_t) st.st_size);
        if (n < 0)
                return answer_diag(a, ANSWER_ERROR, at, "cannot read '%s': %s", kc->words[1].text,
                                   strerror(errno));
        if (strv_addf(&a->files, &a->n_files, "%s", kc->words[1].text) < 0)
                return -ENOMEM;
        ld->depth++;
        int r = load_text(ld, buf, (size_t) n, (unsigned) a->n_files - 1);
        ld->depth--;
        return r;
}

static int run_command(struct loader *ld, const struct kickstart_command *kc, unsigned file,
                       bool override)
{
        struct answer *a = ld->a;
        const char *name = kc->words[0].text;
        const struct cmd *cmd;
        _cleanup_free_ struct arg *args = calloc(kc->n_words, sizeof(*args));
        _cleanup_free_ const struct kickstart_word **pos = calloc(kc->n_words, sizeof(*pos));
        struct call c = { .ld = ld,
                          .a = a,
                          .name = name,
                          .file = file,
                          .override = override,
                          .args = args,
                          .pos = pos,
                          .at = { file, kc->words[0].line, kc->words[0].col } };
        int r;

        if (!args || !pos)
                return -ENOMEM;
        if (strcmp(name, "%include") == 0 || strcmp(name, "%ksappend") == 0)
                return do_include(ld, kc, file);
        if (name[0] == '%')
                return answer_diag(a, ANSWER_ERROR, c.at, "unknown section '%s'", name);
        if (!(cmd = find_cmd(name)))
                return unknown_cmd(&c);
        if (cmd->flags & (C_IGNORED | C_REMOVED | C_UNSUPPORTED))
                return answer_diag(a,
                                   cmd->flags & C_UNSUPPORTED ? ANSWER_ERROR
                                   : cmd->flags & C_REMOVED   ? ANSWER_WARNING
                                                              : ANSWER_NOTICE,
                                   c.at, "'%s' %s (%s)%s", name,
                                   cmd->flags & C_UNSUPPORTED ? "is not supported"
                                   : cmd->flags & C_REMOVED   ? "was removed from Anaconda"
                                                              : "has no effect on a kvmforge node",
                                   cmd->usage, cmd->flags & C_UNSUPPORTED ? "" : ", ignoring");
        if (!(cmd->flags & C_MULTI)) {
                struct seen *s = NULL;
                for (size_t i = 0; i < ld->n_seen; i++)
                        if (strcmp(ld->seen[i].name, cmd->name) == 0 ||
                            (cmd->run == cmd_end && strcmp(ld->seen[i].name, "reboot") == 0))
                                s = &ld->seen[i];
                if (s) {
                        r = answer_diag(a, override ? ANSWER_NOTICE : ANSWER_WARNING, c.at,
                                        "'%s' given again (first at %s:%u): the later one wins%s",
                                        name, a->files[s->at.file], s->at.line,
                                        override ? " (kernel command line)" : "");
                        if (r < 0)
                                return r;
                        s->at = c.at;
                } else if (ld->n_seen < sizeof(ld->seen) / sizeof(ld->seen[0])) {
                        ld->seen[ld->n_seen++] =
                                (struct seen){ cmd->run == cmd_end ? "reboot" : cmd->name, c.at };
                }
        }
        size_t errors = a->n_errors;
        if ((r = parse_args(&c, cmd, kc)) < 0)
                return r;
        if (a->n_errors > errors) { /* a wrong option: what the line means is unknown */
                a->dropped = true;
                return 0;
        }
        if (c.n_pos < cmd->min_pos) {
                a->dropped = true;
                return answer_diag(a, ANSWER_ERROR, c.at, "'%s' needs %s", name, cmd->usage);
        }
        if (c.n_pos > cmd->max_pos) {
                a->dropped = true;
                if (cmd->run == cmd_rootpw) /* never echo a word of a password */
                        return answer_diag(a, ANSWER_ERROR, at_of(&c, c.pos[cmd->max_pos]),
                                           "'rootpw' takes one password: put a password with "
                                           "spaces in quotes");
                return answer_diag(a, ANSWER_ERROR, at_of(&c, c.pos[cmd->max_pos]),
                                   "unexpected '%s' after '%s'%s", c.pos[cmd->max_pos]->text, name,
                                   cmd->max_pos ? "" : " (it takes options only)");
        }
        errors = a->n_errors;
        r = cmd->run(&c);
        if (a->n_errors > errors)
                a->dropped = true;
        return r;
}

/* %packages: Debian package names, "-name" to leave one out. */
static int packages(struct loader *ld, const struct kickstart_section *sec, unsigned file)
{
        struct answer *a = ld->a;
        const char *p = sec->body;
        unsigned line = sec->body_line;

        for (; *p; line++) {
                size_t n = strcspn(p, "\n"), lead = 0, end;
                struct answer_at at = { file, line, 0 };
                _cleanup_free_ char *w = NULL;
                int r = 0;

                while (lead < n && isspace((unsigned char) p[lead]))
                        lead++;
                end = lead;
                while (end < n && !isspace((unsigned char) p[end]))
                        end++;
                at.col = (unsigned) lead + 1;
                if (lead < n && p[lead] != '#' && !(w = strndup(p + lead, end - lead)))
                        return -ENOMEM;
                p += n + (p[n] == '\n');
                if (!w)
                        continue;
                if (w[0] == '@')
                        r = answer_diag(a, ANSWER_WARNING, at,
                                        "package group '%s' is Anaconda's (dnf) idea: name Debian "
                                        "packages, ignoring",
                                        w);
                else if (w[0] == '-')
                        r = strv_addf(&a->excluded, &a->n_excluded, "%s", w + 1);
                else {
                        bool ok = islower((unsigned char) w[0]) || isdigit((unsigned char) w[0]);
                        for (const char *q = w; *q && ok; q++)
                                ok = islower((unsigned char) *q) || isdigit((unsigned char) *q) ||
                                     strchr("+-.", *q) || *q == ':';
                        r = ok ? strv_addf(&a->packages, &a->n_packages, "%s", w)
                               : answer_diag(a, ANSWER_ERROR, at,
                                             "'%s' is not a Debian package name (lower case "
                                             "letters, digits, + - .)",
                                             w);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static const struct opt script_opts[] = {
        { .name = "interpreter", .kind = K_STR },
        { .name = "log", .kind = K_STR },
        { .name = "logfile", .kind = K_STR, .alias = "log" },
        { .name = "nochroot", .kind = K_FLAG },
        { .name = "erroronfail", .kind = K_FLAG },
        { .name = "timeout", .kind = K_NUM },
        { .name = "ignorefailure",
          .kind = K_BOOL,
          .flags = O_UNSUPPORTED,
          .why = "a failing script stops the install (but %post without --erroronfail)" },
        {},
};

static const struct opt packages_opts[] = {
        { .name = "ignoremissing", .kind = K_FLAG },
        { .name = "nobase", .kind = K_FLAG, .flags = O_DEPRECATED, .alias = "nocore" },
        NO_EFFECT("nocore"),
        NO_EFFECT("default"),
        NO_EFFECT("excludedocs"),
        NO_EFFECT_STR("instLangs"),
        NO_EFFECT_STR("inst-langs"),
        NO_EFFECT("multilib"),
        NO_EFFECT("exclude-weakdeps"),
        NO_EFFECT_STR("retries"),
        NO_EFFECT_STR("timeout"),
        {},
};

static int section(struct loader *ld, const struct kickstart_section *sec, unsigned file)
{
        struct answer *a = ld->a;
        const char *name = sec->words[0].text;
        struct kickstart_command kc = { (struct kickstart_word *) sec->words, sec->n_words };
        _cleanup_free_ struct arg *args = calloc(sec->n_words, sizeof(*args));
        _cleanup_free_ const struct kickstart_word **pos = calloc(sec->n_words, sizeof(*pos));
        struct call c = { .ld = ld,
                          .a = a,
                          .name = name,
                          .file = file,
                          .args = args,
                          .pos = pos,
                          .at = { file, sec->words[0].line, sec->words[0].col } };
        static const struct cmd packages_cmd = { .name = "%packages", .opts = packages_opts };
        static const struct cmd script_cmd = { .name = "%script", .opts = script_opts };
        enum answer_script_kind kind;
        struct answer_script *s;
        int r;

        if (!args || !pos)
                return -ENOMEM;
        /* An error, as in Anaconda since RHEL 7: without %end the commands after a section
         * are read as its text, and a "reboot" or "network" would silently become packages. */
        if (!sec->ended && a->dialect == ANSWER_ANACONDA &&
            (r = answer_diag(a, ANSWER_ERROR, c.at,
                             "'%s' has no '%%end': everything up to the next section is read as "
                             "its text; add '%%end' after its last line",
                             name)) < 0)
                return r;
        if (strcmp(name, "%addon") == 0 || strcmp(name, "%anaconda") == 0)
                return answer_diag(a, ANSWER_NOTICE, c.at,
                                   "'%s%s%s' is Anaconda's and has no effect on a kvmforge node, "
                                   "ignoring",
                                   name, sec->n_words > 1 ? " " : "",
                                   sec->n_words > 1 ? sec->words[1].text : "");
        if (strcmp(name, "%packages") == 0) {
                if ((r = parse_args(&c, &packages_cmd, &kc)) < 0)
                        return r;
                a->ignoremissing = a->ignoremissing || has(&c, "ignoremissing");
                return packages(ld, sec, file);
        }
        kind = strcmp(name, "%pre") == 0           ? ANSWER_PRE
               : strcmp(name, "%pre-install") == 0 ? ANSWER_PRE_INSTALL
               : strcmp(name, "%post") == 0        ? ANSWER_POST
               : strcmp(name, "%onerror") == 0     ? ANSWER_ONERROR
               : strcmp(name, "%traceback") == 0   ? ANSWER_TRACEBACK
                                                   : ANSWER_FIRSTBOOT;
        if ((r = parse_args(&c, &script_cmd, &kc)) < 0)
                return r;
        if (c.n_pos)
                return answer_diag(a, ANSWER_ERROR, at_of(&c, c.pos[0]),
                                   "unexpected '%s' after '%s'", c.pos[0]->text, name);
        if (has(&c, "nochroot") && kind != ANSWER_POST)
                return answer_diag(a, ANSWER_ERROR, where(&c, "nochroot"),
                                   "'--nochroot' is for %%post only");
        if (!(s = array_grow(&a->scripts, &a->n_scripts, sizeof(*s))))
                return -ENOMEM;
        s->at = c.at;
        s->kind = kind;
        s->nochroot = has(&c, "nochroot");
        s->erroronfail = has(&c, "erroronfail");
        s->timeout = num(&c, "timeout");
        if ((r = set_str(&s->log, str(&c, "log"))) < 0 || (r = set_str(&s->body, sec->body)) < 0)
                return r;
        {
                const char *in = str(&c, "interpreter");
                /* ESXi names its interpreters; the node has these instead. */
                if (in && strcmp(in, "busybox") == 0)
                        in = "/bin/sh";
                else if (in && strcmp(in, "python") == 0)
                        in = "/usr/bin/python3";
                if (in && in[0] != '/')
                        return answer_diag(a, ANSWER_ERROR, where(&c, "interpreter"),
                                           "'--interpreter=%s' is not an absolute path (as "
                                           "/bin/bash)",
                                           in);
                return set_str(&s->interpreter, in);
        }
}

static int load_text(struct loader *ld, const char *text, size_t len, unsigned file)
{
        _cleanup_(kickstart_release) struct kickstart ks = { 0 };
        struct answer *a = ld->a;
        struct err err = { { 0 } };
        bool override = ld->o->n_overrides && file == a->n_files - 1 && ld->depth == 0 && file != 0;
        int r;

        r = kickstart_parse(text, len, a->files[file], &ks, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* The lexer's message carries file:line:col; keep them apart. */
                unsigned line = 0, col = 0;
                const char *m = err.msg + strlen(a->files[file]);
                if (*m == ':' && sscanf(m, ":%u:%u:", &line, &col) >= 1) {
                        m = strchr(m + 1, ':');
                        if (col && m)
                                m = strchr(m + 1, ':');
                        m = m ? m + 1 : err.msg;
                        while (*m == ' ')
                                m++;
                } else {
                        m = *m == ':' ? m + 2 : err.msg;
                }
                a->unreadable = true;
                return answer_diag(a, ANSWER_ERROR, (struct answer_at){ file, line, col }, "%s", m);
        }
        if (file == 0) {
                if (ks.version && !(a->version = strdup(ks.version)))
                        return -ENOMEM;
                for (size_t i = 0; i < ks.n_sections; i++)
                        if (strcmp(ks.sections[i].words[0].text, "%firstboot") == 0)
                                a->dialect = ANSWER_ESXI;
                for (size_t i = 0; i < ks.n_commands; i++)
                        if (cmd_is_esxi(&ks.commands[i]))
                                a->dialect = ANSWER_ESXI;
                for (size_t i = 0; i < ks.n_sections; i++)
                        if (strcmp(ks.sections[i].words[0].text, "%pre") == 0)
                                ld->has_pre = true;
                /* ESXi's paranoid holds for the whole file, wherever it is written. */
                for (size_t i = 0; i < ks.n_commands; i++)
                        if (strcmp(ks.commands[i].words[0].text, "paranoid") == 0)
                                a->strict = true;
        }
        for (size_t i = 0; i < ks.n_commands; i++)
                if ((r = run_command(ld, &ks.commands[i], file, override)) < 0)
                        return r;
        for (size_t i = 0; i < ks.n_sections; i++)
                if ((r = section(ld, &ks.sections[i], file)) < 0)
                        return r;
        return 0;
}

int answer_structure_check(struct answer *a); /* answer_check.c */

int answer_load(const char *text, size_t len, const char *name, const struct answer_load_options *o,
                struct answer *a)
{
        static const struct answer_load_options defaults = { 0 };
        struct loader ld = { .a = a, .o = o ? o : &defaults };
        int r;

        *a = (struct answer){ .firewall = -1, .firstboot = -1 };
        a->strict = ld.o->strict;
        a->cleartext = ld.o->cleartext;
        a->storage.hdsize = a->storage.swapsize = a->storage.maxroot = ANSWER_UNSET;
        a->storage.minfree = a->storage.maxvz = ANSWER_UNSET;
        a->bootloader.timeout = ANSWER_UNSET;
        if (strv_addf(&a->files, &a->n_files, "%s", name) < 0)
                goto oom;
        if ((r = load_text(&ld, text, len, 0)) < 0)
                goto fail;
        if (ld.o->n_overrides) {
                _cleanup_free_ char *joined = NULL;
                size_t total = 0;
                for (size_t i = 0; i < ld.o->n_overrides; i++)
                        total += strlen(ld.o->overrides[i]) + 1;
                if (!(joined = malloc(total + 1)))
                        goto oom;
                joined[0] = '\0';
                for (size_t i = 0; i < ld.o->n_overrides; i++) {
                        strcat(joined, ld.o->overrides[i]);
                        strcat(joined, "\n");
                }
                if (strv_addf(&a->files, &a->n_files, "kernel command line") < 0)
                        goto oom;
                if ((r = load_text(&ld, joined, total, (unsigned) a->n_files - 1)) < 0)
                        goto fail;
        }
        if (!a->unreadable && (r = answer_structure_check(a)) < 0)
                goto fail;
        answer_sort_diags(a);
        return 0;
oom:
        r = -ENOMEM;
fail:
        answer_release(a);
        return r;
}
