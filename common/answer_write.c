/* The answer written back out: as a kickstart file with the defaults filled in (what the
 * installer saves on the node, like Anaconda's anaconda-ks.cfg, and what the text UI saves
 * for the next servers), and as JSON for scripts. Secrets are left out unless asked for. */
#include "answer.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "json.h"

#define DEFAULT_LANG     "en_US.UTF-8"
#define DEFAULT_KEYBOARD "us"
#define DEFAULT_TIMEZONE "UTC"

/* A word as the kickstart lexer reads it back: bare when it can be, else single-quoted. */
static void word(FILE *f, const char *s)
{
        bool bare = s[0] != '\0' && s[0] != '#';

        for (const char *p = s; *p && bare; p++)
                bare = !strchr(" \t\\'\"$`#", *p);
        if (bare) {
                fputs(s, f);
                return;
        }
        fputc('\'', f);
        for (const char *p = s; *p; p++)
                if (*p == '\'')
                        fputs("'\"'\"'", f);
                else
                        fputc(*p, f);
        fputc('\'', f);
}

static void opt(FILE *f, const char *name, const char *value)
{
        if (!value)
                return;
        fprintf(f, " --%s=", name);
        word(f, value);
}

static void opt_size(FILE *f, const char *name, uint64_t v)
{
        if (v != ANSWER_UNSET)
                fprintf(f, " --%s=%" PRIu64, name, v);
}

static void opt_flag(FILE *f, const char *name, bool on)
{
        if (on)
                fprintf(f, " --%s", name);
}

static void opt_list(FILE *f, const char *name, char **v, size_t n)
{
        if (n == 0)
                return;
        fprintf(f, " --%s=", name);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        fputc(',', f);
                word(f, v[i]);
        }
}

static void rootpw(FILE *f, const struct answer_password *pw, bool with_secrets)
{
        if (!pw->set) {
                if (pw->lock)
                        fputs("rootpw --lock\n", f);
                return;
        }
        if (!with_secrets) {
                fprintf(f, "# root's password is set; it is left out of this file\n%s",
                        pw->lock ? "rootpw --lock\n" : "");
                return;
        }
        fputs(pw->crypted ? "rootpw --iscrypted" : "rootpw --plaintext", f);
        opt_flag(f, "lock", pw->lock);
        opt_flag(f, "allow-ssh", pw->allow_ssh);
        fputc(' ', f);
        word(f, pw->value);
        fputc('\n', f);
}

static void storage(const struct answer *a, FILE *f)
{
        const struct answer_storage *s = &a->storage;

        if (s->n_only_use || s->n_ignore) {
                fputs("ignoredisk", f);
                opt_list(f, s->n_only_use ? "only-use" : "drives",
                         s->n_only_use ? s->only_use : s->ignore,
                         s->n_only_use ? s->n_only_use : s->n_ignore);
                fputc('\n', f);
        }
        if (s->zerombr)
                fputs("zerombr\n", f);
        if (s->clear != ANSWER_CLEAR_UNSET) {
                fputs(s->clear == ANSWER_CLEAR_NONE    ? "clearpart --none"
                      : s->clear == ANSWER_CLEAR_LINUX ? "clearpart --linux"
                                                       : "clearpart --all",
                      f);
                opt_list(f, "drives", s->clear_drives, s->n_clear_drives);
                opt_flag(f, "initlabel", s->initlabel);
                opt(f, "disklabel", s->disklabel);
                fputc('\n', f);
        }
        if (s->install_at.line) {
                fputs("install", f);
                if (s->firstdisk)
                        fprintf(f, s->firstdisk[0] ? " --firstdisk=" : " --firstdisk");
                if (s->firstdisk && s->firstdisk[0])
                        word(f, s->firstdisk);
                opt(f, "disk", s->disk);
                opt_flag(f, "overwritevmfs", s->overwrite);
                opt_flag(f, "novmfsondisk", s->novmfs);
                fputc('\n', f);
        }
        if (s->reqpart)
                fputs("reqpart\n", f);
        /* The default layout, unless a pending %include may still bring one. */
        if (s->autopart || (!s->n_parts && !s->n_lvs && !s->install_at.line && !a->n_includes)) {
                fprintf(f, "autopart --type=%s",
                        answer_autopart_names[s->autopart ? s->autopart : ANSWER_AUTOPART_THINP]);
                opt(f, "fstype", s->autopart_fstype);
                opt_flag(f, "noswap", s->noswap);
                opt_size(f, "hdsize", s->hdsize);
                opt_size(f, "swapsize", s->swapsize);
                opt_size(f, "maxroot", s->maxroot);
                opt_size(f, "minfree", s->minfree);
                opt_size(f, "maxvz", s->maxvz);
                opt(f, "rest", s->rest);
                fputc('\n', f);
        }
        for (size_t i = 0; i < s->n_parts; i++) {
                const struct answer_part *p = &s->parts[i];
                fputs("part ", f);
                word(f, p->name);
                opt(f, "fstype", p->fstype);
                opt_size(f, "size", p->size);
                opt_size(f, "maxsize", p->maxsize);
                opt_flag(f, "grow", p->grow);
                opt_flag(f, "recommended", p->recommended);
                opt(f, "ondisk", p->ondisk);
                opt(f, "label", p->label);
                opt(f, "fsoptions", p->fsoptions);
                fputc('\n', f);
        }
        for (size_t i = 0; i < s->n_raids; i++) {
                const struct answer_raid *r = &s->raids[i];
                fputs("raid ", f);
                word(f, r->mount);
                fprintf(f, " --level=RAID%" PRIu64, r->level);
                opt(f, "device", r->device);
                opt(f, "fstype", r->fstype);
                for (size_t k = 0; k < r->n_members; k++) {
                        fputc(' ', f);
                        word(f, r->members[k]);
                }
                fputc('\n', f);
        }
        for (size_t i = 0; i < s->n_vgs; i++) {
                fputs("volgroup ", f);
                word(f, s->vgs[i].name);
                opt_size(f, "pesize", s->vgs[i].pesize_kib);
                for (size_t k = 0; k < s->vgs[i].n_pvs; k++) {
                        fputc(' ', f);
                        word(f, s->vgs[i].pvs[k]);
                }
                fputc('\n', f);
        }
        for (size_t i = 0; i < s->n_lvs; i++) {
                const struct answer_logvol *l = &s->lvs[i];
                fputs("logvol ", f);
                word(f, l->mount);
                opt(f, "vgname", l->vgname);
                opt(f, "name", l->name);
                opt(f, "fstype", l->fstype);
                opt_size(f, "size", l->size);
                opt_size(f, "maxsize", l->maxsize);
                opt_size(f, "percent", l->percent);
                opt_flag(f, "grow", l->grow);
                opt_flag(f, "recommended", l->recommended);
                opt_flag(f, "thinpool", l->thinpool);
                opt_flag(f, "thin", l->thin);
                opt(f, "poolname", l->poolname);
                opt_size(f, "metadatasize", l->metadatasize);
                opt_size(f, "chunksize", l->chunksize_kib);
                opt(f, "label", l->label);
                opt(f, "fsoptions", l->fsoptions);
                fputc('\n', f);
        }
}

static void network(const struct answer_network *n, FILE *f)
{
        fputs("network", f);
        opt(f, "device", n->device);
        fprintf(f, " --bootproto=%s", answer_bootproto_names[n->bootproto]);
        opt(f, "ip", n->ip);
        opt(f, "netmask", n->netmask);
        opt(f, "gateway", n->gateway);
        opt_list(f, "nameserver", n->nameservers, n->n_nameservers);
        opt_flag(f, "nodns", n->nodns);
        opt(f, "ipv6", n->ipv6);
        opt(f, "ipv6gateway", n->ipv6gateway);
        opt_flag(f, "noipv4", n->noipv4);
        opt_flag(f, "noipv6", n->noipv6);
        opt_flag(f, "nodefroute", n->nodefroute);
        opt_size(f, "mtu", n->mtu);
        opt_size(f, "vlanid", n->vlanid);
        opt(f, "interfacename", n->interfacename);
        opt_list(f, "bondslaves", n->bondslaves, n->n_bondslaves);
        opt(f, "bondopts", n->bondopts);
        opt_list(f, "bridgeslaves", n->bridgeslaves, n->n_bridgeslaves);
        opt(f, "bridgeopts", n->bridgeopts);
        if (n->onboot >= 0)
                fprintf(f, " --onboot=%s", n->onboot ? "yes" : "no");
        opt_flag(f, "activate", n->activate);
        if (n->addvmportgroup >= 0)
                fprintf(f, " --addvmportgroup=%d", n->addvmportgroup);
        fputc('\n', f);
}

int answer_write_kickstart(const struct answer *a, bool with_secrets, FILE *f)
{
        const struct answer_hypervisor *h = &a->hypervisor;

        fprintf(f,
                "# The effective answer: what kvmforge-install does with '%s'%s,\n"
                "# defaults filled in.%s\n",
                a->files[0], a->n_files > 1 ? " and what it includes or overrides" : "",
                with_secrets ? "" : " Passwords are left out.");
        fprintf(f, "lang %s\n", a->lang ? a->lang : DEFAULT_LANG);
        fprintf(f, "keyboard ");
        word(f, a->keyboard ? a->keyboard : DEFAULT_KEYBOARD);
        fprintf(f, "\ntimezone ");
        word(f, a->timezone ? a->timezone : DEFAULT_TIMEZONE);
        opt_flag(f, "utc", a->utc || !a->timezone);
        opt_flag(f, "nontp", a->nontp);
        opt_list(f, "ntpservers", a->ntpservers, a->n_ntpservers);
        fputc('\n', f);
        if (a->hostname) {
                fputs("network --hostname=", f);
                word(f, a->hostname);
                fputc('\n', f);
        }
        for (size_t i = 0; i < a->n_networks; i++)
                network(&a->networks[i], f);
        if (!a->n_networks)
                fputs("network --device=link --bootproto=dhcp\n", f);
        fputs("hypervisor", f);
        if (h->bridge && !h->bridge[0])
                fputs(" --no-bridge", f);
        else
                opt(f, "bridge", h->bridge ? h->bridge : ANSWER_DEFAULT_BRIDGE);
        opt_flag(f, "require-vt", h->require_vt);
        opt_flag(f, "require-iommu", h->require_iommu);
        opt_flag(f, "nested", h->nested);
        opt_flag(f, "force-reinstall", h->force_reinstall);
        if (h->email)
                opt(f, "email", h->email);
        fputc('\n', f);
        rootpw(f, &a->rootpw, with_secrets);
        for (size_t i = 0; i < a->n_users; i++) {
                const struct answer_user *u = &a->users[i];
                if (u->pw.set && !with_secrets)
                        fprintf(f, "# the password of '%s' is set; it is left out of this file\n",
                                u->name);
                fputs("user --name=", f);
                word(f, u->name);
                opt_list(f, "groups", u->groups, u->n_groups);
                opt(f, "shell", u->shell);
                opt(f, "homedir", u->homedir);
                opt(f, "gecos", u->gecos);
                opt_size(f, "uid", u->uid);
                opt_size(f, "gid", u->gid);
                if (u->pw.set && with_secrets) {
                        opt(f, "password", u->pw.value);
                        fputs(u->pw.crypted ? " --iscrypted" : " --plaintext", f);
                }
                opt_flag(f, "lock", u->pw.lock);
                fputc('\n', f);
        }
        for (size_t i = 0; i < a->n_sshkeys; i++) {
                fputs("sshkey --username=", f);
                word(f, a->sshkeys[i].user);
                fputc(' ', f);
                word(f, a->sshkeys[i].key);
                fputc('\n', f);
        }
        storage(a, f);
        fputs("bootloader", f);
        opt(f, "location", a->bootloader.location ? a->bootloader.location : "mbr");
        opt(f, "append", a->bootloader.append);
        opt(f, "boot-drive", a->bootloader.boot_drive);
        opt_list(f, "driveorder", a->bootloader.driveorder, a->bootloader.n_driveorder);
        opt_size(f, "timeout", a->bootloader.timeout);
        if (a->bootloader.password && with_secrets) {
                opt(f, "password", a->bootloader.password);
                opt_flag(f, "iscrypted", a->bootloader.password_crypted);
        }
        fputc('\n', f);
        if (a->bootloader.password && !with_secrets)
                fputs("# the bootloader password is set; it is left out of this file\n", f);
        if (a->n_services_enabled || a->n_services_disabled) {
                fputs("services", f);
                opt_list(f, "enabled", a->services_enabled, a->n_services_enabled);
                opt_list(f, "disabled", a->services_disabled, a->n_services_disabled);
                fputc('\n', f);
        }
        if (a->firewall >= 0) {
                fputs(a->firewall ? "firewall --enabled" : "firewall --disabled", f);
                opt_list(f, "service", a->firewall_allow, a->n_firewall_allow);
                opt_list(f, "port", a->firewall_ports, a->n_firewall_ports);
                opt_list(f, "trust", a->firewall_trust, a->n_firewall_trust);
                fputc('\n', f);
        }
        if (a->eula)
                fputs(a->dialect == ANSWER_ESXI ? "vmaccepteula\n" : "eula --agreed\n", f);
        if (a->firstboot >= 0)
                fputs(a->firstboot ? "firstboot --enable\n" : "firstboot --disable\n", f);
        if (a->skipx)
                fputs("skipx\n", f);
        fputs(a->cmdline_mode ? "cmdline\n" : "text\n", f);
        if (a->dryrun)
                fputs("dryrun\n", f);
        /* ESXi ejects unless told not to; Anaconda only when told to. */
        fprintf(f, "%s%s\n", answer_end_names[a->end ? a->end : ANSWER_END_REBOOT],
                a->eject ? (a->dialect == ANSWER_ESXI ? "" : " --eject")
                         : (a->dialect == ANSWER_ESXI ? " --noeject" : ""));
        for (size_t i = 0; i < a->n_includes; i++) {
                fputs("%include ", f);
                word(f, a->includes[i]);
                fputc('\n', f);
        }
        if (a->n_packages || a->n_excluded) {
                fputs("\n%packages", f);
                opt_flag(f, "ignoremissing", a->ignoremissing);
                fputc('\n', f);
                for (size_t i = 0; i < a->n_packages; i++)
                        fprintf(f, "%s\n", a->packages[i]);
                for (size_t i = 0; i < a->n_excluded; i++)
                        fprintf(f, "-%s\n", a->excluded[i]);
                fputs("%end\n", f);
        }
        for (size_t i = 0; i < a->n_scripts; i++) {
                const struct answer_script *s = &a->scripts[i];
                fprintf(f, "\n%s", answer_script_names[s->kind]);
                opt(f, "interpreter", s->interpreter);
                opt(f, "log", s->log);
                opt_flag(f, "nochroot", s->nochroot);
                opt_flag(f, "erroronfail", s->erroronfail);
                opt_size(f, "timeout", s->timeout);
                fprintf(f, "\n%s%%end\n", s->body ? s->body : "");
        }
        return ferror(f) ? -EIO : 0;
}

/* ---- JSON ---- */

static void json_strv(struct json *j, const char *key, char **v, size_t n)
{
        json_begin_array(j, key);
        for (size_t i = 0; i < n; i++)
                json_string(j, NULL, v[i]);
        json_end_array(j);
}

static void json_size(struct json *j, const char *key, uint64_t v)
{
        if (v == ANSWER_UNSET)
                json_null(j, key);
        else
                json_u64(j, key, v);
}

static void json_storage(const struct answer_storage *s, struct json *j)
{
        static const char *const clear[] = { NULL, "none", "all", "linux" };

        json_begin_object(j, "storage");
        json_strv(j, "only_use", s->only_use, s->n_only_use);
        json_strv(j, "ignore", s->ignore, s->n_ignore);
        json_string_or_null(j, "clearpart", clear[s->clear]);
        json_strv(j, "clear_drives", s->clear_drives, s->n_clear_drives);
        json_bool(j, "initlabel", s->initlabel);
        json_bool(j, "zerombr", s->zerombr);
        json_string_or_null(j, "disklabel", s->disklabel);
        json_bool(j, "reqpart", s->reqpart);
        json_string(j, "autopart", answer_autopart_names[s->autopart]);
        json_size(j, "hdsize_mib", s->hdsize);
        json_size(j, "swapsize_mib", s->swapsize);
        json_size(j, "maxroot_mib", s->maxroot);
        json_size(j, "minfree_mib", s->minfree);
        json_size(j, "maxvz_mib", s->maxvz);
        json_string_or_null(j, "rest", s->rest);
        json_string_or_null(j, "firstdisk", s->firstdisk);
        json_string_or_null(j, "disk", s->disk);
        json_bool(j, "overwrite", s->overwrite);
        json_bool(j, "novmfs", s->novmfs);
        json_begin_array(j, "parts");
        for (size_t i = 0; i < s->n_parts; i++) {
                const struct answer_part *p = &s->parts[i];
                json_begin_object(j, NULL);
                json_string(j, "name", p->name);
                json_string_or_null(j, "fstype", p->fstype);
                json_size(j, "size_mib", p->size);
                json_size(j, "maxsize_mib", p->maxsize);
                json_bool(j, "grow", p->grow);
                json_bool(j, "recommended", p->recommended);
                json_string_or_null(j, "ondisk", p->ondisk);
                json_end_object(j);
        }
        json_end_array(j);
        json_begin_array(j, "volgroups");
        for (size_t i = 0; i < s->n_vgs; i++) {
                json_begin_object(j, NULL);
                json_string(j, "name", s->vgs[i].name);
                json_strv(j, "pvs", s->vgs[i].pvs, s->vgs[i].n_pvs);
                json_size(j, "pesize_kib", s->vgs[i].pesize_kib);
                json_end_object(j);
        }
        json_end_array(j);
        json_begin_array(j, "logvols");
        for (size_t i = 0; i < s->n_lvs; i++) {
                const struct answer_logvol *l = &s->lvs[i];
                json_begin_object(j, NULL);
                json_string(j, "mount", l->mount);
                json_string(j, "vgname", l->vgname);
                json_string(j, "name", l->name);
                json_string_or_null(j, "fstype", l->fstype);
                json_size(j, "size_mib", l->size);
                json_size(j, "maxsize_mib", l->maxsize);
                json_size(j, "percent", l->percent);
                json_bool(j, "grow", l->grow);
                json_bool(j, "recommended", l->recommended);
                json_bool(j, "thinpool", l->thinpool);
                json_bool(j, "thin", l->thin);
                json_string_or_null(j, "poolname", l->poolname);
                json_end_object(j);
        }
        json_end_array(j);
        json_begin_array(j, "raids");
        for (size_t i = 0; i < s->n_raids; i++) {
                json_begin_object(j, NULL);
                json_string(j, "mount", s->raids[i].mount);
                json_string(j, "device", s->raids[i].device);
                json_u64(j, "level", s->raids[i].level);
                json_strv(j, "members", s->raids[i].members, s->raids[i].n_members);
                json_end_object(j);
        }
        json_end_array(j);
        json_end_object(j);
}

void answer_json(const struct answer *a, struct json *j)
{
        json_begin_object(j, "answer");
        json_string(j, "dialect", a->dialect == ANSWER_ESXI ? "esxi" : "anaconda");
        json_strv(j, "files", a->files, a->n_files);
        json_storage(&a->storage, j);
        json_begin_object(j, "bootloader");
        json_string_or_null(j, "location", a->bootloader.location);
        json_string_or_null(j, "append", a->bootloader.append);
        json_string_or_null(j, "boot_drive", a->bootloader.boot_drive);
        json_bool(j, "password_set", a->bootloader.password != NULL);
        json_end_object(j);
        json_string_or_null(j, "hostname", a->hostname);
        json_begin_array(j, "networks");
        for (size_t i = 0; i < a->n_networks; i++) {
                const struct answer_network *n = &a->networks[i];
                json_begin_object(j, NULL);
                json_string_or_null(j, "device", n->device);
                json_string(j, "bootproto", answer_bootproto_names[n->bootproto]);
                json_string_or_null(j, "ip", n->ip);
                json_string_or_null(j, "netmask", n->netmask);
                json_string_or_null(j, "gateway", n->gateway);
                json_strv(j, "nameservers", n->nameservers, n->n_nameservers);
                json_string_or_null(j, "ipv6", n->ipv6);
                json_size(j, "vlanid", n->vlanid);
                json_size(j, "mtu", n->mtu);
                json_strv(j, "bondslaves", n->bondslaves, n->n_bondslaves);
                json_string_or_null(j, "bondopts", n->bondopts);
                json_end_object(j);
        }
        json_end_array(j);
        json_begin_object(j, "hypervisor");
        json_string(j, "bridge",
                    a->hypervisor.bridge ? a->hypervisor.bridge : ANSWER_DEFAULT_BRIDGE);
        json_bool(j, "require_vt", a->hypervisor.require_vt);
        json_bool(j, "require_iommu", a->hypervisor.require_iommu);
        json_bool(j, "nested", a->hypervisor.nested);
        json_bool(j, "force_reinstall", a->hypervisor.force_reinstall);
        json_string_or_null(j, "email", a->hypervisor.email);
        json_end_object(j);
        json_string(j, "timezone", a->timezone ? a->timezone : DEFAULT_TIMEZONE);
        json_strv(j, "ntpservers", a->ntpservers, a->n_ntpservers);
        json_string(j, "keyboard", a->keyboard ? a->keyboard : DEFAULT_KEYBOARD);
        json_string(j, "lang", a->lang ? a->lang : DEFAULT_LANG);
        json_begin_object(j, "rootpw");
        json_bool(j, "set", a->rootpw.set);
        json_bool(j, "crypted", a->rootpw.crypted);
        json_bool(j, "lock", a->rootpw.lock);
        json_end_object(j);
        json_begin_array(j, "users");
        for (size_t i = 0; i < a->n_users; i++) {
                json_begin_object(j, NULL);
                json_string(j, "name", a->users[i].name);
                json_bool(j, "password_set", a->users[i].pw.set);
                json_strv(j, "groups", a->users[i].groups, a->users[i].n_groups);
                json_end_object(j);
        }
        json_end_array(j);
        json_begin_array(j, "sshkeys");
        for (size_t i = 0; i < a->n_sshkeys; i++) {
                json_begin_object(j, NULL);
                json_string(j, "user", a->sshkeys[i].user);
                json_string(j, "key", a->sshkeys[i].key); /* public: not a secret */
                json_end_object(j);
        }
        json_end_array(j);
        json_strv(j, "packages", a->packages, a->n_packages);
        json_strv(j, "excluded", a->excluded, a->n_excluded);
        json_begin_array(j, "scripts");
        for (size_t i = 0; i < a->n_scripts; i++) {
                json_begin_object(j, NULL);
                json_string(j, "kind", answer_script_names[a->scripts[i].kind] + 1);
                json_string(j, "interpreter",
                            a->scripts[i].interpreter ? a->scripts[i].interpreter : "/bin/sh");
                json_bool(j, "nochroot", a->scripts[i].nochroot);
                json_bool(j, "erroronfail", a->scripts[i].erroronfail);
                json_u64(j, "line", a->scripts[i].at.line);
                json_end_object(j);
        }
        json_end_array(j);
        json_strv(j, "pending_includes", a->includes, a->n_includes);
        json_string(j, "end", answer_end_names[a->end ? a->end : ANSWER_END_REBOOT]);
        json_bool(j, "eject", a->eject);
        json_bool(j, "dryrun", a->dryrun);
        json_end_object(j);
}
