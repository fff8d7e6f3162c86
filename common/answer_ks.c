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
#include "units.h"

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

/* One line per table entry. */
/* clang-format off */
#define OPT(n, k)            { .name = n, .kind = k }
#define ALIAS(n, k, a)       { .name = n, .kind = k, .alias = a }
#define DEPRECATED(n, k, a)  { .name = n, .kind = k, .flags = O_DEPRECATED, .alias = a }
#define UNSUPPORTED(n, k, w) { .name = n, .kind = k, .flags = O_UNSUPPORTED, .why = w }
#define IGNORED(n, k, w)     { .name = n, .kind = k, .flags = O_IGNORED, .why = w }
#define NO_EFFECT(n)         IGNORED(n, K_FLAG, NULL)
#define NO_EFFECT_STR(n)     IGNORED(n, K_STR, NULL)
/* clang-format on */

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

/* clang-format off */
#define CMD(n, run_, opts_, min, max, flags_, usage_) \
        { .name = n, .run = run_, .opts = opts_, .min_pos = min, .max_pos = max, \
          .flags = flags_, .usage = usage_ }
/* A command read and set aside; whatever options it had are not checked. */
#define SKIP(n, flags_, w) CMD(n, cmd_ignored, any_opts, 0, 64, flags_, w)
/* clang-format on */

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

/* A size in MiB: a whole number, or one with a binary unit (20G, 512M, 2TiB). */
static int parse_size(const char *s, uint64_t *ret)
{
        uint64_t bytes;
        int r = units_parse_bytes(s, 1u << 20, &bytes);

        if (r < 0)
                return r;
        if (bytes / 2 > UINT64_MAX / 4) /* leave room for sums of sizes */
                return -ERANGE;
        *ret = bytes >> 20;
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
        OPT("iscrypted", K_FLAG),
        OPT("plaintext", K_FLAG),
        OPT("lock", K_FLAG),
        OPT("allow-ssh", K_FLAG),
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
        OPT("name", K_STR),       OPT("password", K_STR), OPT("iscrypted", K_FLAG),
        OPT("plaintext", K_FLAG), OPT("lock", K_FLAG),    OPT("groups", K_LIST),
        OPT("shell", K_STR),      OPT("homedir", K_STR),  OPT("gecos", K_STR),
        OPT("uid", K_NUM),        OPT("gid", K_NUM),      {},
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

static const struct opt sshkey_opts[] = { OPT("username", K_STR), {} };

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
        OPT("utc", K_FLAG),
        DEPRECATED("isUtc", K_FLAG, "utc"),
        OPT("nontp", K_FLAG),
        OPT("ntpservers", K_LIST),
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
        OPT("ntp-server", K_STR),
        OPT("ntp-pool", K_STR),
        OPT("ntp-disable", K_FLAG),
        UNSUPPORTED("nts", K_FLAG, "chrony is configured without NTS"),
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
        OPT("vckeymap", K_STR),
        OPT("xlayouts", K_LIST),
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
        IGNORED("addsupport", K_LIST, "only the system locale is generated"),
        {},
};

static int cmd_lang(struct call *c)
{
        c->a->lang_at = at_of(c, c->pos[0]);
        return set_str(&c->a->lang, c->pos[0]->text);
}

static const struct opt end_opts[] = {
        OPT("eject", K_FLAG),
        OPT("noeject", K_FLAG), /* ESXi */
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

static const struct opt eula_opts[] = { OPT("agreed", K_FLAG), {} };

static int cmd_eula(struct call *c)
{
        c->a->eula = true;
        return 0;
}

static const struct opt firstboot_opts[] = {
        OPT("enable", K_FLAG),  ALIAS("enabled", K_FLAG, "enable"),
        OPT("disable", K_FLAG), ALIAS("disabled", K_FLAG, "disable"),
        NO_EFFECT("reconfig"),  {},
};

static int cmd_firstboot(struct call *c)
{
        c->a->firstboot = has(c, "disable") ? 0 : 1;
        return 0;
}

static const struct opt services_opts[] = { OPT("enabled", K_LIST), OPT("disabled", K_LIST), {} };

static int cmd_services(struct call *c)
{
        struct answer *a = c->a;
        int r = lists(c, "enabled", &a->services_enabled, &a->n_services_enabled);

        return r < 0 ? r : lists(c, "disabled", &a->services_disabled, &a->n_services_disabled);
}

static const struct opt firewall_opts[] = {
        OPT("enabled", K_FLAG),
        ALIAS("enable", K_FLAG, "enabled"),
        OPT("disabled", K_FLAG),
        ALIAS("disable", K_FLAG, "disabled"),
        OPT("ssh", K_FLAG),
        OPT("service", K_LIST),
        OPT("port", K_LIST),
        OPT("trust", K_LIST),
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
        OPT("location", K_STR),
        OPT("append", K_STR),
        OPT("boot-drive", K_STR),
        OPT("driveorder", K_LIST),
        OPT("timeout", K_NUM),
        OPT("password", K_STR),
        OPT("iscrypted", K_FLAG),
        DEPRECATED("md5pass", K_STR, "password"),
        OPT("disabled", K_FLAG),
        NO_EFFECT("leavebootorder"),
        NO_EFFECT("nombr"),
        UNSUPPORTED("extlinux", K_FLAG, "the bootloader is GRUB"),
        UNSUPPORTED("sdboot", K_FLAG, "the bootloader is GRUB"),
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
        OPT("all", K_FLAG),
        OPT("linux", K_FLAG),
        OPT("none", K_FLAG),
        OPT("drives", K_LIST),
        OPT("initlabel", K_FLAG),
        OPT("disklabel", K_STR),
        UNSUPPORTED("list", K_LIST, "kvmforge clears whole disks; name them with --drives"),
        NO_EFFECT("cdl"),
        /* ESXi */
        OPT("firstdisk", K_OPTSTR),
        OPT("alldrives", K_FLAG),
        OPT("ignoredrives", K_LIST),
        OPT("overwritevmfs", K_FLAG),
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
        OPT("only-use", K_LIST),
        OPT("drives", K_LIST),
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
        OPT("size", K_SIZE),
        OPT("maxsize", K_SIZE),
        OPT("grow", K_FLAG),
        OPT("recommended", K_FLAG),
        OPT("ondisk", K_STR),
        ALIAS("ondrive", K_STR, "ondisk"),
        OPT("fstype", K_STR),
        OPT("label", K_STR),
        OPT("fsoptions", K_STR),
        IGNORED("asprimary", K_FLAG, "has no meaning on GPT disks"),
        IGNORED("mkfsoptions", K_STR, "is not passed to mkfs"),
        NO_EFFECT_STR("fsprofile"),
        NO_EFFECT("hibernation"),
        UNSUPPORTED("noformat", K_FLAG, "kvmforge formats what it creates"),
        UNSUPPORTED("onpart", K_STR, "kvmforge creates its own partitions"),
        UNSUPPORTED("usepart", K_STR, "kvmforge creates its own partitions"),
        UNSUPPORTED("start", K_NUM, "partitions are placed by the planner"),
        UNSUPPORTED("end", K_NUM, "partitions are placed by the planner"),
        UNSUPPORTED("resize", K_FLAG, "kvmforge never resizes existing partitions"),
        UNSUPPORTED("encrypted", K_FLAG, "the partition is created unencrypted"),
        UNSUPPORTED("passphrase", K_STR, "the partition is created unencrypted"),
        UNSUPPORTED("luks-version", K_STR, "the partition is created unencrypted"),
        UNSUPPORTED("cipher", K_STR, "the partition is created unencrypted"),
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
        OPT("pesize", K_NUM),
        UNSUPPORTED("useexisting", K_FLAG, "kvmforge creates its volume groups"),
        UNSUPPORTED("noformat", K_FLAG, "kvmforge creates its volume groups"),
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
        OPT("vgname", K_STR),
        OPT("name", K_STR),
        OPT("size", K_SIZE),
        OPT("maxsize", K_SIZE),
        OPT("grow", K_FLAG),
        OPT("percent", K_NUM),
        OPT("recommended", K_FLAG),
        OPT("fstype", K_STR),
        OPT("label", K_STR),
        OPT("fsoptions", K_STR),
        OPT("thin", K_FLAG),
        OPT("thinpool", K_FLAG),
        OPT("poolname", K_STR),
        OPT("metadatasize", K_SIZE),
        OPT("chunksize", K_NUM),
        IGNORED("mkfsoptions", K_STR, "is not passed to mkfs"),
        NO_EFFECT_STR("fsprofile"),
        NO_EFFECT("hibernation"),
        NO_EFFECT_STR("cachesize"),
        NO_EFFECT_STR("cachemode"),
        NO_EFFECT_STR("cachepvs"),
        UNSUPPORTED("useexisting", K_FLAG, "kvmforge creates its logical volumes"),
        UNSUPPORTED("noformat", K_FLAG, "kvmforge formats what it creates"),
        UNSUPPORTED("resize", K_FLAG, "kvmforge never resizes existing volumes"),
        UNSUPPORTED("encrypted", K_FLAG, "the volume is created unencrypted"),
        UNSUPPORTED("passphrase", K_STR, "the volume is created unencrypted"),
        UNSUPPORTED("luks-version", K_STR, "the volume is created unencrypted"),
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
        OPT("device", K_STR),
        OPT("level", K_STR),
        OPT("fstype", K_STR),
        OPT("label", K_STR),
        OPT("fsoptions", K_STR),
        UNSUPPORTED("spares", K_NUM, "arrays are built without spares"),
        NO_EFFECT_STR("chunksize"),
        UNSUPPORTED("useexisting", K_FLAG, "kvmforge creates its arrays"),
        UNSUPPORTED("noformat", K_FLAG, "kvmforge formats what it creates"),
        UNSUPPORTED("encrypted", K_FLAG, "the array is created unencrypted"),
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
        OPT("type", K_STR),
        OPT("fstype", K_STR),
        OPT("noswap", K_FLAG),
        OPT("nolvm", K_FLAG),
        IGNORED("nohome", K_FLAG, "(kvmforge makes no /home volume)"),
        IGNORED("noboot", K_FLAG, "(kvmforge makes no /boot partition)"),
        UNSUPPORTED("encrypted", K_FLAG, "the volumes are created unencrypted"),
        UNSUPPORTED("passphrase", K_STR, "the volumes are created unencrypted"),
        UNSUPPORTED("luks-version", K_STR, "the volumes are created unencrypted"),
        /* kvmforge's sizing, as Proxmox names it */
        OPT("hdsize", K_SIZE),
        OPT("swapsize", K_SIZE),
        OPT("maxroot", K_SIZE),
        OPT("minfree", K_SIZE),
        OPT("maxvz", K_SIZE),
        OPT("rest", K_STR),
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
        OPT("firstdisk", K_OPTSTR),
        OPT("disk", K_STR),
        ALIAS("drive", K_STR, "disk"),
        OPT("overwritevmfs", K_FLAG),
        OPT("novmfsondisk", K_FLAG),
        UNSUPPORTED(
                "preservevmfs", K_FLAG,
                "kvmforge cannot keep a VMFS datastore; the disk is wiped only with --overwritevmfs"),
        IGNORED("ignoressd", K_FLAG, "(SSDs are candidates like any disk)"),
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
        OPT("bootproto", K_STR),
        OPT("device", K_STR),
        OPT("ip", K_STR),
        OPT("netmask", K_STR),
        OPT("gateway", K_STR),
        OPT("nameserver", K_LIST),
        OPT("nodns", K_FLAG),
        OPT("ipv6", K_STR),
        OPT("ipv6gateway", K_STR),
        OPT("noipv4", K_FLAG),
        OPT("noipv6", K_FLAG),
        OPT("nodefroute", K_FLAG),
        OPT("hostname", K_STR),
        OPT("mtu", K_NUM),
        OPT("vlanid", K_NUM),
        OPT("interfacename", K_STR),
        OPT("bondslaves", K_LIST),
        OPT("bondopts", K_STR),
        OPT("bridgeslaves", K_LIST),
        OPT("bridgeopts", K_STR),
        OPT("onboot", K_BOOL),
        OPT("activate", K_FLAG),
        OPT("no-activate", K_FLAG),
        OPT("addvmportgroup", K_BOOL), /* ESXi */
        NO_EFFECT_STR("ethtool"),
        NO_EFFECT_STR("dhcpclass"),
        NO_EFFECT_STR("bindto"),
        NO_EFFECT_STR("ipv4-dns-search"),
        NO_EFFECT_STR("ipv6-dns-search"),
        NO_EFFECT("ipv4-ignore-auto-dns"),
        NO_EFFECT("ipv6-ignore-auto-dns"),
        UNSUPPORTED("teamslaves", K_STR, "teams are not supported: use --bondslaves"),
        UNSUPPORTED("teamconfig", K_STR, "teams are not supported: use --bondopts"),
        UNSUPPORTED("essid", K_STR, "a hypervisor node is not set up on Wi-Fi"),
        UNSUPPORTED("wepkey", K_STR, "a hypervisor node is not set up on Wi-Fi"),
        UNSUPPORTED("wpakey", K_STR, "a hypervisor node is not set up on Wi-Fi"),
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
        OPT("bridge", K_STR),
        OPT("no-bridge", K_FLAG),
        OPT("email", K_STR),
        OPT("require-vt", K_FLAG),
        OPT("require-iommu", K_FLAG),
        OPT("nested", K_FLAG),
        OPT("force-reinstall", K_FLAG),
        {},
};

bool answer_ifname_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("-_.", s[i]))
                        return false;
        return true;
}

bool answer_email_valid(const char *s)
{
        const char *at = strchr(s, '@');

        if (!at || at == s || strchr(at + 1, '@') || strlen(s) > 254 || !strchr(at + 1, '.'))
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f || strchr("\"(),:;<>[\\]", *p))
                        return false;
        return answer_hostname_valid(at + 1);
}

static int cmd_hypervisor(struct call *c)
{
        struct answer_hypervisor *h = &c->a->hypervisor;
        const char *br = str(c, "bridge"), *mail = str(c, "email");
        int r;

        h->at = c->at;
        if (br && has(c, "no-bridge"))
                return diag(c, ANSWER_ERROR, where(c, "no-bridge"),
                            "'--bridge' and '--no-bridge' exclude each other: keep one");
        if (br && !answer_ifname_valid(br))
                return diag(c, ANSWER_ERROR, where(c, "bridge"),
                            "'--bridge=%s' is not an interface name (1-15 letters, digits, - _ .)",
                            br);
        h->require_vt = h->require_vt || has(c, "require-vt");
        h->require_iommu = h->require_iommu || has(c, "require-iommu");
        h->nested = h->nested || has(c, "nested");
        h->force_reinstall = h->force_reinstall || has(c, "force-reinstall");
        if (mail && !answer_email_valid(mail))
                return diag(c, ANSWER_ERROR, where(c, "email"),
                            "'--email=%s' is not an e-mail address (name@example.com)", mail);
        if (mail && (r = set_str(&h->email, mail)) < 0)
                return r;
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
        CMD("accepteula", cmd_eula, NULL, 0, 0, C_ESXI, NULL),
        SKIP("auth", C_REMOVED, "accounts use shadow passwords"),
        SKIP("authconfig", C_REMOVED, "accounts use shadow passwords"),
        SKIP("authselect", C_IGNORED, "accounts use shadow passwords"),
        CMD("autopart", cmd_autopart, autopart_opts, 0, 0, 0, NULL),
        SKIP("bootc", C_IGNORED, "the payload is on the medium"),
        CMD("bootloader", cmd_bootloader, bootloader_opts, 0, 0, 0, NULL),
        SKIP("btrfs", C_UNSUPPORTED, "btrfs: use ext4 or xfs"),
        SKIP("cdrom", C_IGNORED, "the payload is on the medium"),
        CMD("clearpart", cmd_clearpart, clearpart_opts, 0, 0, 0, NULL),
        CMD("cmdline", cmd_mode, text_opts, 0, 0, 0, NULL),
        SKIP("device", C_IGNORED, "drivers load by themselves"),
        SKIP("driverdisk", C_IGNORED, "drivers come with the kernel"),
        CMD("dryrun", cmd_dryrun, NULL, 0, 0, C_ESXI, NULL),
        CMD("eula", cmd_eula, eula_opts, 0, 0, 0, NULL),
        SKIP("fcoe", C_IGNORED, "FCoE disks are not set up"),
        CMD("firewall", cmd_firewall, firewall_opts, 0, 0, 0, NULL),
        CMD("firstboot", cmd_firstboot, firstboot_opts, 0, 0, 0, NULL),
        CMD("graphical", cmd_mode, text_opts, 0, 0, 0, NULL),
        SKIP("group", C_IGNORED | C_MULTI, "create groups in %post"),
        CMD("halt", cmd_end, end_opts, 0, 0, 0, NULL),
        SKIP("harddrive", C_IGNORED, "the payload is on the medium"),
        CMD("hypervisor", cmd_hypervisor, hypervisor_opts, 0, 0, 0, NULL),
        CMD("ignoredisk", cmd_ignoredisk, ignoredisk_opts, 0, 0, 0, NULL),
        CMD("install", cmd_install, install_opts, 0, 0, 0, NULL),
        SKIP("interactive", C_REMOVED, "answers come from this file"),
        SKIP("iscsi", C_IGNORED | C_MULTI, "iSCSI disks are not set up"),
        SKIP("iscsiname", C_IGNORED, "iSCSI disks are not set up"),
        CMD("keyboard", cmd_keyboard, keyboard_opts, 0, 1, 0, NULL),
        CMD("lang", cmd_lang, lang_opts, 1, 1, 0, "a locale, as 'lang en_US.UTF-8'"),
        SKIP("liveimg", C_IGNORED, "the payload is on the medium"),
        SKIP("logging", C_IGNORED, "the log is kept on the node"),
        CMD("logvol", cmd_logvol, logvol_opts, 1, 1, C_MULTI, "a mount point, as 'logvol / ...'"),
        SKIP("mediacheck", C_IGNORED, "the payload is verified"),
        SKIP("module", C_IGNORED | C_MULTI, "a dnf idea"),
        SKIP("mount", C_UNSUPPORTED | C_MULTI,
             "existing filesystems are not reused: describe the layout with part/logvol"),
        CMD("network", cmd_network, network_opts, 0, 0, C_MULTI, NULL),
        SKIP("nfs", C_IGNORED, "the payload is on the medium"),
        SKIP("nvdimm", C_IGNORED | C_MULTI, "NVDIMMs are not set up"),
        SKIP("ostreecontainer", C_IGNORED, "the payload is Debian"),
        SKIP("ostreesetup", C_IGNORED, "the payload is Debian"),
        CMD("paranoid", cmd_paranoid, NULL, 0, 0, C_ESXI, NULL),
        CMD("part", cmd_part, part_opts, 1, 1, C_MULTI, "a mount point or a name, as 'part /boot'"),
        CMD("partition", cmd_part, part_opts, 1, 1, C_MULTI, "a mount point, as 'partition /boot'"),
        CMD("poweroff", cmd_end, end_opts, 0, 0, 0, NULL),
        CMD("raid", cmd_raid, raid_opts, 1, 64, C_MULTI, "a mount point and members"),
        SKIP("rdp", C_IGNORED, "the installer is text-mode"),
        SKIP("realm", C_IGNORED, "join a domain in %post"),
        CMD("reboot", cmd_end, end_opts, 0, 0, 0, NULL),
        SKIP("repo", C_IGNORED | C_MULTI, "packages come from the medium"),
        CMD("reqpart", cmd_reqpart, reqpart_opts, 0, 0, 0, NULL),
        SKIP("rescue", C_UNSUPPORTED, "rescue mode: boot the medium's 'Rescue shell' entry"),
        SKIP("rhsm", C_IGNORED, "a RHEL subscription"),
        CMD("rootpw", cmd_rootpw, rootpw_opts, 0, 1, 0, NULL),
        SKIP("selinux", C_IGNORED, "Debian does not use SELinux"),
        SKIP("serialnum", C_IGNORED | C_ESXI, "a VMware licence key"),
        CMD("services", cmd_services, services_opts, 0, 0, C_MULTI, NULL),
        CMD("shutdown", cmd_end, end_opts, 0, 0, 0, NULL),
        CMD("skipx", cmd_skipx, NULL, 0, 0, 0, NULL),
        SKIP("snapshot", C_IGNORED | C_MULTI, "take it after install"),
        CMD("sshkey", cmd_sshkey, sshkey_opts, 1, 1, C_MULTI, "a public key in quotes"),
        SKIP("sshpw", C_IGNORED | C_MULTI, "the installer has no SSH access"),
        SKIP("syspurpose", C_IGNORED, "a RHEL subscription"),
        CMD("text", cmd_mode, text_opts, 0, 0, 0, NULL),
        CMD("timesource", cmd_timesource, timesource_opts, 0, 0, C_MULTI, NULL),
        CMD("timezone", cmd_timezone, timezone_opts, 0, 1, 0, NULL),
        SKIP("updates", C_IGNORED, "the installer is on the medium"),
        SKIP("upgrade", C_UNSUPPORTED | C_ESXI,
             "kvmforge installs afresh; it does not upgrade ESXi"),
        SKIP("url", C_IGNORED, "the payload is on the medium"),
        CMD("user", cmd_user, user_opts, 0, 0, C_MULTI, NULL),
        CMD("vmaccepteula", cmd_eula, NULL, 0, 0, C_ESXI, NULL),
        CMD("volgroup", cmd_volgroup, volgroup_opts, 1, 64, C_MULTI,
            "a name and its PVs, as 'volgroup vg0 pv.01'"),
        SKIP("vnc", C_IGNORED, "the installer is text-mode"),
        SKIP("xconfig", C_IGNORED, "a node has no desktop"),
        CMD("zerombr", cmd_zerombr, NULL, 0, 0, 0, NULL),
        SKIP("zfcp", C_IGNORED | C_MULTI, "zFCP disks are not set up"),
        SKIP("zipl", C_IGNORED, "an s390 bootloader"),
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
        OPT("interpreter", K_STR),
        OPT("log", K_STR),
        ALIAS("logfile", K_STR, "log"),
        OPT("nochroot", K_FLAG),
        OPT("erroronfail", K_FLAG),
        OPT("timeout", K_NUM),
        UNSUPPORTED("ignorefailure", K_BOOL,
                    "a failing script stops the install (but %post without --erroronfail)"),
        {},
};

static const struct opt packages_opts[] = {
        OPT("ignoremissing", K_FLAG),  DEPRECATED("nobase", K_FLAG, "nocore"),
        NO_EFFECT("nocore"),           NO_EFFECT("default"),
        NO_EFFECT("excludedocs"),      NO_EFFECT_STR("instLangs"),
        NO_EFFECT_STR("inst-langs"),   NO_EFFECT("multilib"),
        NO_EFFECT("exclude-weakdeps"), NO_EFFECT_STR("retries"),
        NO_EFFECT_STR("timeout"),      {},
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
