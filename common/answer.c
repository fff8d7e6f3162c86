/* The answer model's lifetime and its diagnostics. */
#include "answer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

const char *const answer_level_names[] = { "notice", "warning", "error" };
const char *const answer_autopart_names[] = { "none", "lvm", "thinp", "plain" };
const char *const answer_script_names[] = { "%pre",     "%pre-install", "%post",
                                            "%onerror", "%traceback",   "%firstboot" };
const char *const answer_end_names[] = { "unset", "reboot", "poweroff", "halt" };
const char *const answer_bootproto_names[] = { "dhcp", "static", "ibft" };

/* Overwrites a secret before its memory goes back to the allocator. */
static void free_secret(char *s)
{
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

static void storage_release(struct answer_storage *s)
{
        strv_free(&s->only_use, &s->n_only_use);
        strv_free(&s->ignore, &s->n_ignore);
        strv_free(&s->clear_drives, &s->n_clear_drives);
        free(s->disklabel);
        free(s->autopart_fstype);
        free(s->rest);
        free(s->firstdisk);
        free(s->disk);
        for (size_t i = 0; i < s->n_parts; i++) {
                struct answer_part *p = &s->parts[i];
                free(p->name);
                free(p->fstype);
                free(p->ondisk);
                free(p->label);
                free(p->fsoptions);
        }
        free(s->parts);
        for (size_t i = 0; i < s->n_vgs; i++) {
                free(s->vgs[i].name);
                strv_free(&s->vgs[i].pvs, &s->vgs[i].n_pvs);
        }
        free(s->vgs);
        for (size_t i = 0; i < s->n_lvs; i++) {
                struct answer_logvol *l = &s->lvs[i];
                free(l->mount);
                free(l->vgname);
                free(l->name);
                free(l->fstype);
                free(l->poolname);
                free(l->label);
                free(l->fsoptions);
        }
        free(s->lvs);
        for (size_t i = 0; i < s->n_raids; i++) {
                free(s->raids[i].mount);
                free(s->raids[i].device);
                free(s->raids[i].fstype);
                strv_free(&s->raids[i].members, &s->raids[i].n_members);
        }
        free(s->raids);
}

void answer_network_clear(struct answer_network *n)
{
        free(n->device);
        free(n->ip);
        free(n->netmask);
        free(n->gateway);
        strv_free(&n->nameservers, &n->n_nameservers);
        free(n->ipv6);
        free(n->ipv6gateway);
        free(n->interfacename);
        strv_free(&n->bondslaves, &n->n_bondslaves);
        free(n->bondopts);
        strv_free(&n->bridgeslaves, &n->n_bridgeslaves);
        free(n->bridgeopts);
        *n = (struct answer_network){ 0 };
}

void answer_release(struct answer *a)
{
        storage_release(&a->storage);
        free(a->bootloader.location);
        free(a->bootloader.append);
        free(a->bootloader.boot_drive);
        strv_free(&a->bootloader.driveorder, &a->bootloader.n_driveorder);
        free_secret(a->bootloader.password);
        for (size_t i = 0; i < a->n_networks; i++)
                answer_network_clear(&a->networks[i]);
        free(a->networks);
        free(a->version);
        strv_free(&a->files, &a->n_files);
        free(a->hostname);
        free(a->timezone);
        strv_free(&a->ntpservers, &a->n_ntpservers);
        free(a->keyboard);
        free(a->lang);
        free_secret(a->rootpw.value);
        for (size_t i = 0; i < a->n_users; i++) {
                struct answer_user *u = &a->users[i];
                free(u->name);
                free_secret(u->pw.value);
                strv_free(&u->groups, &u->n_groups);
                free(u->shell);
                free(u->homedir);
                free(u->gecos);
        }
        free(a->users);
        for (size_t i = 0; i < a->n_sshkeys; i++) {
                free(a->sshkeys[i].user);
                free(a->sshkeys[i].key);
        }
        free(a->sshkeys);
        strv_free(&a->packages, &a->n_packages);
        strv_free(&a->excluded, &a->n_excluded);
        strv_free(&a->services_enabled, &a->n_services_enabled);
        strv_free(&a->services_disabled, &a->n_services_disabled);
        strv_free(&a->firewall_allow, &a->n_firewall_allow);
        strv_free(&a->firewall_ports, &a->n_firewall_ports);
        strv_free(&a->firewall_trust, &a->n_firewall_trust);
        for (size_t i = 0; i < a->n_scripts; i++) {
                free(a->scripts[i].interpreter);
                free(a->scripts[i].log);
                free(a->scripts[i].body);
        }
        free(a->scripts);
        free(a->hypervisor.bridge);
        free(a->hypervisor.email);
        strv_free(&a->includes, &a->n_includes);
        for (size_t i = 0; i < a->n_diags; i++)
                free(a->diags[i].msg);
        free(a->diags);
        *a = (struct answer){ 0 };
}

int answer_diag(struct answer *a, enum answer_level level, struct answer_at at, const char *fmt,
                ...)
{
        struct answer_diag *d;
        va_list ap;
        int r;

        bool upgraded = level == ANSWER_WARNING && a->strict;

        if (upgraded)
                level = ANSWER_ERROR;
        d = array_grow(&a->diags, &a->n_diags, sizeof(*d));
        if (!d)
                return -ENOMEM;
        va_start(ap, fmt);
        r = vasprintf(&d->msg, fmt, ap);
        va_end(ap);
        if (r < 0) {
                a->n_diags--;
                return -ENOMEM;
        }
        if (upgraded) {
                /* Nothing is "ignored" any more: say why it stops the install. */
                size_t len = strlen(d->msg);
                char *m;
                if (len > 10 && strcmp(d->msg + len - 10, ", ignoring") == 0)
                        d->msg[len - 10] = '\0';
                if (asprintf(&m, "%s (an error with --strict)", d->msg) < 0) {
                        free(d->msg);
                        a->n_diags--;
                        return -ENOMEM;
                }
                free(d->msg);
                d->msg = m;
        }
        d->level = level;
        d->at = at;
        if (level == ANSWER_ERROR)
                a->n_errors++;
        else if (level == ANSWER_WARNING)
                a->n_warnings++;
        return 0;
}

const char *answer_format_at(const struct answer *a, struct answer_at at, char *buf, size_t size)
{
        (void) snprintf(buf, size, "%s:%u", at.file < a->n_files ? a->files[at.file] : "answer",
                        at.line);
        return buf;
}

void answer_format_diag(const struct answer *a, const struct answer_diag *d, char *buf, size_t size)
{
        const char *file = d->at.file < a->n_files ? a->files[d->at.file] : "answer";

        if (d->at.line && d->at.col)
                (void) snprintf(buf, size, "%s:%u:%u: %s: %s", file, d->at.line, d->at.col,
                                answer_level_names[d->level], d->msg);
        else if (d->at.line)
                (void) snprintf(buf, size, "%s:%u: %s: %s", file, d->at.line,
                                answer_level_names[d->level], d->msg);
        else
                (void) snprintf(buf, size, "%s: %s: %s", file, answer_level_names[d->level],
                                d->msg);
}

static int diag_order(const void *x, const void *y)
{
        const struct answer_diag *a = x, *b = y;

        if (a->at.file != b->at.file)
                return a->at.file < b->at.file ? -1 : 1;
        if (a->at.line != b->at.line)
                return a->at.line < b->at.line ? -1 : 1;
        if (a->at.col != b->at.col)
                return a->at.col < b->at.col ? -1 : 1;
        return 0;
}

void answer_sort_diags(struct answer *a)
{
        /* Insertion sort: stable, so two messages about one word keep their order. */
        for (size_t i = 1; i < a->n_diags; i++) {
                struct answer_diag d = a->diags[i];
                size_t k = i;
                for (; k > 0 && diag_order(&a->diags[k - 1], &d) > 0; k--)
                        a->diags[k] = a->diags[k - 1];
                a->diags[k] = d;
        }
}
