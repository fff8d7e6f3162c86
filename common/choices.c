/* The installer's screens' choices as data; see choices.h. */
#include "choices.h"
#include "answer.h"
#include "cleanup.h"
#include "hw.h"
#include "storage.h"
#include "strv.h"
#include "target.h"
#include "units.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

const char *const choices_field_names[CHOICES_FIELD_COUNT] = {
        [CHOICES_DISKS] = "disks",       [CHOICES_FSTYPE] = "fstype",
        [CHOICES_HDSIZE] = "hdsize",     [CHOICES_SWAPSIZE] = "swapsize",
        [CHOICES_MAXROOT] = "maxroot",   [CHOICES_MINFREE] = "minfree",
        [CHOICES_MAXVZ] = "maxvz",       [CHOICES_TIMEZONE] = "timezone",
        [CHOICES_KEYBOARD] = "keyboard", [CHOICES_ROOTPW] = "rootpw",
        [CHOICES_EMAIL] = "email",       [CHOICES_SSHKEY] = "sshkey",
        [CHOICES_NIC] = "nic",           [CHOICES_HOSTNAME] = "hostname",
        [CHOICES_ADDRESS] = "address",   [CHOICES_GATEWAY] = "gateway",
        [CHOICES_DNS] = "dns",           [CHOICES_BRIDGE] = "bridge",
};

/* kbd's console names, which the node's keyboard(5) and the live environment's keymaps both
 * take (target_keyboard_map() turns them into XKB's). */
const char *const choices_keyboards[][2] = {
        { "us", "English (US)" },
        { "uk", "English (UK)" },
        { "de-latin1", "German" },
        { "de-latin1-nodeadkeys", "German (no dead)" },
        { "fr-latin9", "French" },
        { "fr_CH", "Swiss French" },
        { "sg", "Swiss German" },
        { "be-latin1", "Belgian" },
        { "it", "Italian" },
        { "es", "Spanish" },
        { "pt-latin1", "Portuguese" },
        { "br-abnt2", "Brazilian" },
        { "la-latin1", "Latin American" },
        { "nl", "Dutch" },
        { "dk-latin1", "Danish" },
        { "no-latin1", "Norwegian" },
        { "sv-latin1", "Swedish" },
        { "fi-latin1", "Finnish" },
        { "is-latin1", "Icelandic" },
        { "pl", "Polish" },
        { "cz", "Czech" },
        { "hu", "Hungarian" },
        { "slovene", "Slovenian" },
        { "croat", "Croatian" },
        { "tr_q-latin5", "Turkish" },
        { "jp106", "Japanese" },
        { "dvorak", "English (Dvorak)" },
};
const size_t choices_n_keyboards = sizeof(choices_keyboards) / sizeof(choices_keyboards[0]);

static int msgf(char *msg, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int msgf(char *msg, size_t size, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        if (msg && size)
                (void) vsnprintf(msg, size, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

#define COPY(dst, src) (void) snprintf((dst), sizeof(dst), "%s", (src))

/* ---- defaults ---- */

static const struct hw_disk *find_disk(const struct hw_report *hw, const char *name)
{
        for (size_t i = 0; hw && i < hw->n_disks; i++)
                if (strcmp(hw->disks[i].name, name) == 0)
                        return &hw->disks[i];
        return NULL;
}

static const struct hw_nic *find_nic(const struct hw_report *hw, const char *name)
{
        for (size_t i = 0; hw && i < hw->n_nics; i++)
                if (strcmp(hw->nics[i].name, name) == 0)
                        return &hw->nics[i];
        return NULL;
}

void choices_defaults(struct choices *c, const struct hw_report *hw,
                      const struct choices_lease *lease)
{
        static const struct answer no_answer; /* no network line: the installer's own rule */
        const struct hw_disk *best = NULL;
        const struct hw_nic *nic = NULL;
        size_t idx;

        *c = (struct choices){ .dhcp = true };
        COPY(c->fstype, "ext4");
        COPY(c->timezone, "UTC");
        COPY(c->keyboard, "us");
        COPY(c->bridge, ANSWER_DEFAULT_BRIDGE);
        /* A removable disk is the last choice: it is more often a stick than a server's disk. */
        for (size_t i = 0; hw && i < hw->n_disks; i++) {
                const struct hw_disk *d = &hw->disks[i];
                if (!hw_disk_usable(d))
                        continue;
                if (!best || (best->removable && !d->removable) ||
                    (best->removable == d->removable && d->size > best->size))
                        best = d;
        }
        if (best)
                COPY(c->disks[0], best->name);
        /* The NIC an answer without a network line would take; with virtual NICs only, the
         * first of them, for the person to change. */
        if (hw && target_management_nic(&no_answer, hw, NULL, &idx, NULL) == 0)
                nic = &hw->nics[idx];
        else if (hw && hw->n_nics)
                nic = &hw->nics[0];
        if (nic)
                COPY(c->nic, nic->name);
        (void) snprintf(c->hostname, sizeof(c->hostname), "%s.%s", CHOICES_DEFAULT_HOST,
                        lease && lease->domain[0] ? lease->domain : "localdomain");
        if (lease && (!nic || strcmp(lease->nic, nic->name) == 0)) {
                COPY(c->address, lease->address);
                COPY(c->gateway, lease->gateway);
                COPY(c->dns, lease->dns);
        }
}

int choices_read_lease(const char *nic, const char *resolv_conf, const char *route,
                       struct choices_lease *ret)
{
        struct choices_lease l = { 0 };
        struct ifaddrs *ifa = NULL;
        char line[512];
        int r = -ENOENT;

        COPY(l.nic, nic);
        if (getifaddrs(&ifa) < 0)
                return -errno;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                char addr[INET_ADDRSTRLEN];
                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask ||
                    strcmp(i->ifa_name, nic) != 0)
                        continue;
                uint32_t mask =
                        ntohl(((struct sockaddr_in *) (void *) i->ifa_netmask)->sin_addr.s_addr);
                inet_ntop(AF_INET, &((struct sockaddr_in *) (void *) i->ifa_addr)->sin_addr, addr,
                          sizeof(addr));
                (void) snprintf(l.address, sizeof(l.address), "%s/%d", addr,
                                __builtin_popcount(mask));
                r = 0;
                break;
        }
        freeifaddrs(ifa);
        if (r < 0)
                return r;
        _cleanup_fclose_ FILE *rf = fopen(route ? route : "/proc/net/route", "re");
        while (rf && fgets(line, sizeof(line), rf)) {
                char name[32];
                unsigned dest, gw;
                if (sscanf(line, "%31s %x %x", name, &dest, &gw) == 3 && dest == 0 &&
                    strcmp(name, nic) == 0) {
                        struct in_addr a = { .s_addr = gw }; /* the kernel's byte order */
                        if (gw) /* 0: a route on the link, no gateway */
                                inet_ntop(AF_INET, &a, l.gateway, sizeof(l.gateway));
                        break;
                }
        }
        _cleanup_fclose_ FILE *f = fopen(resolv_conf ? resolv_conf : "/etc/resolv.conf", "re");
        while (f && fgets(line, sizeof(line), f)) {
                char key[16], value[256];
                if (sscanf(line, "%15s %255s", key, value) != 2)
                        continue;
                if (strcmp(key, "nameserver") == 0) {
                        size_t n = strlen(l.dns);
                        (void) snprintf(l.dns + n, sizeof(l.dns) - n, "%s%s", n ? " " : "", value);
                } else if ((strcmp(key, "search") == 0 || strcmp(key, "domain") == 0) &&
                           !l.domain[0])
                        COPY(l.domain, value);
        }
        *ret = l;
        return 0;
}

/* ---- checks ---- */

/* A size in GiB as typed ("32", "12.5"): 0 and MiB in *ret, -EINVAL. */
static int parse_gib(const char *s, uint64_t *ret)
{
        char *end;
        double v;

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno || *end || !isfinite(v) || v < 0 || v > 1024.0 * 1024.0)
                return -EINVAL;
        *ret = (uint64_t) llround(v * 1024.0);
        return 0;
}

static uint64_t smallest_disk(const struct choices *c, const struct hw_report *hw)
{
        uint64_t min = 0;

        for (size_t i = 0; i < CHOICES_MAX_DISKS; i++) {
                const struct hw_disk *d = c->disks[i][0] ? find_disk(hw, c->disks[i]) : NULL;
                if (d && (!min || d->size < min))
                        min = d->size;
        }
        return min;
}

static int check_disks(const struct choices *c, const struct hw_report *hw, char *msg, size_t size)
{
        char a[32];

        if (!c->disks[0][0])
                return msgf(msg, size, "choose the disk to install on");
        if (c->disks[1][0] && strcmp(c->disks[0], c->disks[1]) == 0)
                return msgf(msg, size, "a mirror needs two different disks");
        for (size_t i = 0; hw && i < CHOICES_MAX_DISKS && c->disks[i][0]; i++) {
                const struct hw_disk *d = find_disk(hw, c->disks[i]);
                if (!d)
                        return msgf(msg, size, "there is no disk '%s'", c->disks[i]);
                if (d->install_medium)
                        return msgf(msg, size, "%s is the install medium: choose another disk",
                                    d->name);
                if (d->in_use)
                        return msgf(msg, size,
                                    "%s is in use (mounted or swap): choose another disk", d->name);
                if (d->read_only || !d->size)
                        return msgf(msg, size, "%s cannot be written (read-only or no medium)",
                                    d->name);
                if (d->size < STORAGE_MIN_DISK)
                        return msgf(msg, size, "%s has %s: a node needs 8 GiB or more", d->name,
                                    units_format_bytes(d->size, a, sizeof(a)));
        }
        return 0;
}

static int check_size(const struct choices *c, const struct hw_report *hw, enum choices_field f,
                      char *msg, size_t size)
{
        static const char *const what[] = {
                [CHOICES_HDSIZE] = "the disk space to use", [CHOICES_SWAPSIZE] = "swap",
                [CHOICES_MAXROOT] = "root's cap",           [CHOICES_MINFREE] = "the reserve",
                [CHOICES_MAXVZ] = "the thin pool's cap",
        };
        const char *s = f == CHOICES_HDSIZE     ? c->hdsize
                        : f == CHOICES_SWAPSIZE ? c->swapsize
                        : f == CHOICES_MAXROOT  ? c->maxroot
                        : f == CHOICES_MINFREE  ? c->minfree
                                                : c->maxvz;
        uint64_t mib, disk = smallest_disk(c, hw);
        char a[32];

        if (!s[0])
                return 0;
        if (parse_gib(s, &mib) < 0)
                return msgf(msg, size, "'%s' is no size for %s: write GiB as a number (32, 12.5)",
                            s, what[f]);
        if (f == CHOICES_HDSIZE && mib < STORAGE_MIN_DISK / MiB)
                return msgf(msg, size, "a node needs 8 GiB or more");
        if (disk && mib > disk / MiB)
                return msgf(msg, size, "more than the disk has (%s)",
                            units_format_bytes(disk, a, sizeof(a)));
        if (f == CHOICES_MAXROOT && mib && mib < 2048)
                return msgf(msg, size, "root needs 2 GiB or more");
        return 0;
}

static bool timezone_name_ok(const char *tz)
{
        if (!tz[0] || tz[0] == '/' || strstr(tz, ".."))
                return false;
        for (const char *p = tz; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("/_+-", *p))
                        return false;
        return true;
}

static int check_timezone(const char *tz, char *msg, size_t size)
{
        if (!timezone_name_ok(tz))
                return msgf(msg, size, "'%s' is not a time zone name (Europe/Berlin, UTC)", tz);
        /* Without tzdata here (a bare build machine) the name's form is all that is checked. */
        if (answer_timezone_known(tz) < 0)
                return msgf(msg, size, "unknown time zone '%s': choose one from the list", tz);
        return 0;
}

/* An OpenSSH public key line: "TYPE BASE64 [COMMENT]" whose blob is a run of length-prefixed
 * fields, exactly to its end, the first naming TYPE again. */
static int check_sshkey(const char *k, char *msg, size_t size)
{
        static const char b64[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        _cleanup_free_ uint8_t *blob = NULL;
        char type[64];
        size_t tlen, blen = 0, i, fields = 0;
        unsigned acc = 0, bits = 0;
        const char *p;

        if (!k[0])
                return 0;
        if (strchr(k, '\n'))
                return msgf(msg, size, "one key, on one line");
        p = strchr(k, ' ');
        tlen = p ? (size_t) (p - k) : 0;
        if (!p || tlen >= sizeof(type))
                return msgf(msg, size,
                            "not an OpenSSH public key: it starts with its type "
                            "(ssh-ed25519 AAAA...)");
        memcpy(type, k, tlen);
        type[tlen] = '\0';
        if (strcmp(type, "ssh-ed25519") && strcmp(type, "ssh-rsa") &&
            strncmp(type, "ecdsa-sha2-nistp", 16) && strncmp(type, "sk-", 3))
                return msgf(msg, size,
                            "'%s' is not a key type OpenSSH takes (ssh-ed25519, "
                            "ssh-rsa, ecdsa-sha2-nistp256)",
                            type);
        while (*p == ' ')
                p++;
        if (!(blob = malloc(strlen(p) + 1)))
                return -ENOMEM;
        for (i = 0; p[i] && p[i] != ' ' && p[i] != '='; i++) {
                const char *v = strchr(b64, p[i]);
                if (!v)
                        return msgf(msg, size, "the key's data is not base64");
                acc = (acc << 6) | (unsigned) (v - b64);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        blob[blen++] = (uint8_t) (acc >> bits);
                }
        }
        for (size_t at = 0; at < blen; fields++) {
                uint32_t n;
                if (blen - at < 4)
                        break;
                n = (uint32_t) blob[at] << 24 | (uint32_t) blob[at + 1] << 16 |
                    (uint32_t) blob[at + 2] << 8 | blob[at + 3];
                if (n > blen - at - 4)
                        return msgf(msg, size,
                                    "the key is cut short: copy the whole line of "
                                    "the .pub file");
                if (fields == 0 && (n != tlen || memcmp(blob + at + 4, type, tlen) != 0))
                        return msgf(msg, size,
                                    "the key's data does not match its type '%s': "
                                    "copy the whole line of the .pub file",
                                    type);
                at += 4 + n;
                if (at == blen)
                        return fields >= 1 ? 0 : msgf(msg, size, "the key holds no key");
        }
        return msgf(msg, size, "the key is cut short: copy the whole line of the .pub file");
}

static int parse_ipv4(const char *s, struct in_addr *ret)
{
        return inet_pton(AF_INET, s, ret) == 1 ? 0 : -EINVAL;
}

static int parse_cidr(const char *s, struct in_addr *ret, unsigned *ret_prefix)
{
        char buf[64];
        char *slash, *end;
        unsigned long prefix;

        (void) snprintf(buf, sizeof(buf), "%s", s);
        if (!(slash = strchr(buf, '/')))
                return -EINVAL;
        *slash = '\0';
        errno = 0;
        prefix = strtoul(slash + 1, &end, 10);
        if (errno || *end || end == slash + 1 || prefix < 1 || prefix > 32)
                return -EINVAL;
        *ret_prefix = (unsigned) prefix;
        return parse_ipv4(buf, ret);
}

static int check_address(const struct choices *c, char *msg, size_t size)
{
        struct in_addr a;
        unsigned prefix;

        if (parse_cidr(c->address, &a, &prefix) < 0)
                return msgf(msg, size, "write the address with its prefix: 192.0.2.10/24");
        uint32_t ip = ntohl(a.s_addr), mask = prefix == 32 ? ~0u : ~(~0u >> prefix);
        if (prefix < 31 && ((ip & ~mask) == 0 || (ip & ~mask) == ~mask))
                return msgf(msg, size, "%s is the network's own or broadcast address", c->address);
        if ((ip >> 24) == 0 || (ip >> 24) == 127 || (ip >> 28) >= 14)
                return msgf(msg, size, "%s cannot be a host's address", c->address);
        return 0;
}

static int check_gateway(const struct choices *c, char *msg, size_t size)
{
        struct in_addr a, gw;
        unsigned prefix;

        if (!c->gateway[0])
                return 0; /* a node on a network of its own */
        if (parse_ipv4(c->gateway, &gw) < 0)
                return msgf(msg, size, "'%s' is not an IPv4 address", c->gateway);
        if (parse_cidr(c->address, &a, &prefix) < 0)
                return 0; /* the address's own message comes first */
        uint32_t mask = prefix == 32 ? ~0u : ~(~0u >> prefix);
        if (gw.s_addr == a.s_addr)
                return msgf(msg, size, "the gateway cannot be the node's own address");
        if ((ntohl(gw.s_addr) & mask) != (ntohl(a.s_addr) & mask))
                return msgf(msg, size, "%s is outside the node's subnet (%s)", c->gateway,
                            c->address);
        return 0;
}

static int check_dns(const char *dns, char *msg, size_t size)
{
        char buf[sizeof(((struct choices *) 0)->dns)];
        char *save = NULL;
        unsigned n = 0;

        (void) snprintf(buf, sizeof(buf), "%s", dns);
        for (char *w = strtok_r(buf, " ,", &save); w; w = strtok_r(NULL, " ,", &save)) {
                struct in6_addr a6;
                if (inet_pton(AF_INET, w, &a6) != 1 && inet_pton(AF_INET6, w, &a6) != 1)
                        return msgf(msg, size, "'%s' is not an IP address", w);
                if (++n > 3)
                        return msgf(msg, size, "at most three DNS servers");
        }
        return 0;
}

int choices_check(const struct choices *c, const struct hw_report *hw, enum choices_field f,
                  char *msg, size_t size)
{
        switch (f) {
        case CHOICES_DISKS:
                return check_disks(c, hw, msg, size);
        case CHOICES_FSTYPE:
                if (strcmp(c->fstype, "ext4") && strcmp(c->fstype, "xfs"))
                        return msgf(msg, size, "the filesystem is ext4 or xfs");
                return 0;
        case CHOICES_HDSIZE:
        case CHOICES_SWAPSIZE:
        case CHOICES_MAXROOT:
        case CHOICES_MINFREE:
        case CHOICES_MAXVZ:
                return check_size(c, hw, f, msg, size);
        case CHOICES_TIMEZONE:
                return check_timezone(c->timezone, msg, size);
        case CHOICES_KEYBOARD:
                for (size_t i = 0; i < choices_n_keyboards; i++)
                        if (strcmp(c->keyboard, choices_keyboards[i][0]) == 0)
                                return 0;
                return msgf(msg, size, "'%s' is not a keyboard layout of the list", c->keyboard);
        case CHOICES_ROOTPW:
                if (!c->root_hash[0])
                        return msgf(msg, size, "set the root password");
                return 0;
        case CHOICES_EMAIL:
                if (c->email[0] && !answer_email_valid(c->email))
                        return msgf(msg, size, "'%s' is not an e-mail address (name@example.com)",
                                    c->email);
                return 0;
        case CHOICES_SSHKEY:
                return check_sshkey(c->sshkey, msg, size);
        case CHOICES_NIC:
                if (!c->nic[0])
                        return msgf(msg, size, "choose the management NIC");
                if (hw && !find_nic(hw, c->nic))
                        return msgf(msg, size, "there is no NIC '%s'", c->nic);
                return 0;
        case CHOICES_HOSTNAME: {
                const char *dot = strchr(c->hostname, '.');
                if (!answer_hostname_valid(c->hostname) || !dot)
                        return msgf(msg, size,
                                    "write the full name: host.example.com (letters, "
                                    "digits and '-' between dots)");
                if (isdigit((unsigned char) strrchr(c->hostname, '.')[1]))
                        return msgf(msg, size, "a host name, not an address");
                return 0;
        }
        case CHOICES_ADDRESS:
                return c->dhcp ? 0 : check_address(c, msg, size);
        case CHOICES_GATEWAY:
                return c->dhcp ? 0 : check_gateway(c, msg, size);
        case CHOICES_DNS:
                return c->dhcp ? 0 : check_dns(c->dns, msg, size);
        case CHOICES_BRIDGE:
                if (!answer_ifname_valid(c->bridge))
                        return msgf(msg, size,
                                    "'%s' is not an interface name (1-15 letters, "
                                    "digits, - _ .)",
                                    c->bridge);
                if (find_nic(hw, c->bridge) && !find_nic(hw, c->bridge)->virtual_dev)
                        return msgf(msg, size, "%s is a NIC: the bridge needs a name of its own",
                                    c->bridge);
                return 0;
        case CHOICES_FIELD_COUNT:
                break;
        }
        return msgf(msg, size, "no such field");
}

int choices_check_all(const struct choices *c, const struct hw_report *hw,
                      enum choices_field *ret_field, char *msg, size_t size)
{
        for (enum choices_field f = 0; f < CHOICES_FIELD_COUNT; f++)
                if (choices_check(c, hw, f, msg, size) < 0) {
                        *ret_field = f;
                        return -EINVAL;
                }
        return 0;
}

/* ---- the root password ---- */

const char *choices_password_strength(const char *pw)
{
        size_t n = strlen(pw);
        bool lower = false, upper = false, digit = false, other = false, same = true;
        unsigned classes;

        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char) pw[i];
                lower = lower || islower(ch);
                upper = upper || isupper(ch);
                digit = digit || isdigit(ch);
                other = other || !isalnum(ch);
                same = same && pw[i] == pw[0];
        }
        classes = (unsigned) lower + upper + digit + other;
        if (n == 0)
                return "";
        if (n < 8)
                return "too short: 8 characters or more";
        if (answer_password_common(pw) || same)
                return "weak: one of the first that attackers try";
        if (n >= 16 || (n >= 12 && classes >= 3))
                return "strong";
        if (classes == 1)
                return "weak: add digits, capitals or symbols, or make it longer";
        if (n < 12 && classes < 3)
                return "fair: longer is better (12 or more)";
        return "good";
}

int choices_set_password(struct choices *c, const char *pw, const char *again, char *msg,
                         size_t size)
{
        _cleanup_free_ char *hash = NULL;
        struct err err = { { 0 } };

        if (!pw[0] && c->root_hash[0] && !again[0])
                return 0; /* set before, not typed again (Back, then Next) */
        if (strlen(pw) < 8)
                return msgf(msg, size, "the password needs 8 characters or more");
        if (strcmp(pw, again) != 0)
                return msgf(msg, size, "the two passwords differ: type them again");
        if (target_hash_password(pw, &hash, &err) < 0)
                return msgf(msg, size, "%s", err.msg);
        if (strlen(hash) >= sizeof(c->root_hash))
                return msgf(msg, size, "the password's hash is too long");
        COPY(c->root_hash, hash);
        explicit_bzero(hash, strlen(hash));
        return 0;
}

/* ---- the answer ---- */

/* The single-disk plan of the default layout on a blank copy of d, for a mirror's sizes. */
static int mirror_sizes(const struct hw_disk *d, uint64_t ram, const char *autopart,
                        uint64_t *ret_part, uint64_t *ret_swap, uint64_t *ret_root,
                        uint64_t *ret_pool, struct err *err)
{
        _cleanup_(answer_release) struct answer a = { 0 };
        _cleanup_(storage_plan_release) struct storage_plan p = { 0 };
        struct hw_disk blank = *d;
        int r;

        blank.n_parts = 0;
        blank.table[0] = '\0';
        blank.content = (struct hw_content){ 0 };
        if ((r = answer_load(autopart, strlen(autopart), "the installer's screens", NULL, &a)) < 0)
                return r;
        if (a.n_errors)
                return err_set(err, -EINVAL, "%s", a.diags[0].msg);
        struct storage_input in = { .disks = &blank, .n_disks = 1, .ram = ram, .answer = &a };
        if ((r = storage_plan(&in, &p, err)) < 0)
                return r;
        *ret_part = *ret_swap = *ret_root = *ret_pool = 0;
        for (size_t i = 0; i < p.disks[0].n_parts; i++)
                if (p.disks[0].parts[i].type == STORAGE_PT_LVM)
                        *ret_part = p.disks[0].parts[i].size;
        for (size_t i = 0; i < p.vg.n_lvs; i++) {
                const struct storage_lv *lv = &p.vg.lvs[i];
                if (strcmp(lv->name, "swap") == 0)
                        *ret_swap = lv->size;
                else if (strcmp(lv->name, "root") == 0)
                        *ret_root = lv->size;
                else if (lv->thinpool)
                        *ret_pool = lv->size;
        }
        return *ret_part && *ret_root ? 0 : err_set(err, -EINVAL, "no layout for the mirror");
}

static void size_opt(FILE *f, const char *name, const char *gib)
{
        uint64_t mib;

        if (gib[0] && parse_gib(gib, &mib) == 0)
                fprintf(f, " --%s=%" PRIu64, name, mib);
}

static int write_storage(const struct choices *c, const struct hw_report *hw, FILE *f,
                         struct err *err)
{
        _cleanup_free_ char *autopart = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&autopart, &len);
        int r;

        if (!m)
                return -ENOMEM;
        fprintf(m, "autopart --type=thinp --fstype=%s", c->fstype);
        size_opt(m, "hdsize", c->hdsize);
        size_opt(m, "swapsize", c->swapsize);
        size_opt(m, "maxroot", c->maxroot);
        size_opt(m, "minfree", c->minfree);
        size_opt(m, "maxvz", c->maxvz);
        if (c->rest_root)
                fputs(" --rest=root", m);
        fputc('\n', m);
        if (fclose(m) != 0)
                return -ENOMEM;

        if (!c->disks[1][0]) {
                fprintf(f,
                        "ignoredisk --only-use=%s\n"
                        "zerombr\n"
                        "clearpart --all --initlabel --drives=%s\n"
                        "%s",
                        c->disks[0], c->disks[0], autopart);
                return 0;
        }

        /* A mirror: the default layout's sizes for the smaller disk, written out as the
         * answer's own layout over an md RAID1 (the last volume grows into what md's
         * superblock leaves). */
        const struct hw_disk *a = find_disk(hw, c->disks[0]), *b = find_disk(hw, c->disks[1]);
        uint64_t part, swap, root, pool;
        if (!a || !b)
                return err_set(err, -ENODEV, "a mirror needs both disks");
        if ((r = mirror_sizes(a->size <= b->size ? a : b, hw->memory, autopart, &part, &swap, &root,
                              &pool, err)) < 0)
                return r;
        fprintf(f,
                "ignoredisk --only-use=%s,%s\n"
                "zerombr\n"
                "clearpart --all --initlabel --drives=%s,%s\n"
                "reqpart\n"
                "part raid.01 --fstype=raid --size=%" PRIu64 " --ondisk=%s\n"
                "part raid.02 --fstype=raid --size=%" PRIu64 " --ondisk=%s\n"
                "raid pv.01 --level=1 --device=md0 raid.01 raid.02\n"
                "volgroup %s pv.01\n",
                c->disks[0], c->disks[1], c->disks[0], c->disks[1], part / MiB, c->disks[0],
                part / MiB, c->disks[1], STORAGE_VG);
        if (swap)
                fprintf(f, "logvol swap --vgname=%s --name=swap --size=%" PRIu64 "\n", STORAGE_VG,
                        swap / MiB);
        if (pool) {
                fprintf(f,
                        "logvol / --vgname=%s --name=root --fstype=%s --size=%" PRIu64 "\n"
                        "logvol none --vgname=%s --name=data --thinpool --size=1 --grow "
                        "--maxsize=%" PRIu64 "\n",
                        STORAGE_VG, c->fstype, root / MiB, STORAGE_VG, pool / MiB);
        } else {
                fprintf(f,
                        "logvol / --vgname=%s --name=root --fstype=%s --size=1 --grow "
                        "--maxsize=%" PRIu64 "\n",
                        STORAGE_VG, c->fstype, root / MiB);
        }
        return 0;
}

/* A word as kickstart reads it: quoted when it holds what would split it. */
static void ks_word(FILE *f, const char *s)
{
        if (s[0] && !strpbrk(s, " \t\"'\\#"))
                fputs(s, f);
        else {
                fputc('"', f);
                for (; *s; s++) {
                        if (*s == '"' || *s == '\\')
                                fputc('\\', f);
                        fputc(*s, f);
                }
                fputc('"', f);
        }
}

int choices_kickstart(const struct choices *c, const struct hw_report *hw, FILE *f, struct err *err)
{
        int r;

        fputs("# kvmforge answer file, made on the installer's screens. Check it with\n"
              "# 'kvmforge-install check-answer FILE'; it names disks and the NIC as this\n"
              "# machine calls them.\n",
              f);
        fprintf(f, "lang en_US.UTF-8\nkeyboard %s\ntimezone ", c->keyboard);
        ks_word(f, c->timezone);
        fputs(" --utc\n", f);
        if (c->root_hash[0]) {
                fputs("rootpw --iscrypted ", f);
                ks_word(f, c->root_hash);
                fputc('\n', f);
        }
        if (c->sshkey[0]) {
                fputs("sshkey --username=root ", f);
                ks_word(f, c->sshkey);
                fputc('\n', f);
        }
        fprintf(f, "network --device=%s --hostname=%s", c->nic, c->hostname);
        if (c->dhcp)
                fputs(" --bootproto=dhcp\n", f);
        else {
                char ip[64];
                COPY(ip, c->address);
                char *slash = strchr(ip, '/');
                if (slash)
                        *slash++ = '\0';
                fprintf(f, " --bootproto=static --ip=%s --netmask=%s", ip, slash ? slash : "32");
                if (c->gateway[0])
                        fprintf(f, " --gateway=%s", c->gateway);
                /* Spaces or commas between the servers, as typed: one comma each. */
                char dns[sizeof(c->dns)] = "", copy[sizeof(c->dns)], *save = NULL;
                COPY(copy, c->dns);
                for (char *w = strtok_r(copy, " ,", &save); w; w = strtok_r(NULL, " ,", &save))
                        (void) snprintf(dns + strlen(dns), sizeof(dns) - strlen(dns), "%s%s",
                                        dns[0] ? "," : "", w);
                if (dns[0])
                        fprintf(f, " --nameserver=%s", dns);
                else
                        fputs(" --nodns", f);
                fputc('\n', f);
        }
        fprintf(f, "hypervisor --bridge=%s", c->bridge);
        if (c->email[0]) {
                fputs(" --email=", f);
                ks_word(f, c->email);
        }
        fputc('\n', f);
        if ((r = write_storage(c, hw, f, err)) < 0)
                return r;
        fputs("reboot --eject\n", f);
        return ferror(f) ? err_set(err, -EIO, "cannot write the answer") : 0;
}

int choices_kickstart_text(const struct choices *c, const struct hw_report *hw, char **ret,
                           struct err *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        int r;

        if (!f)
                return -ENOMEM;
        r = choices_kickstart(c, hw, f, err);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(text);
        return 0;
}

int choices_plan(const struct choices *c, const struct hw_report *hw, struct storage_plan *ret,
                 struct err *err)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_(answer_release) struct answer a = { 0 };
        struct answer_check_env env = { .hw = hw };
        int r;

        if ((r = choices_kickstart_text(c, hw, &text, err)) < 0)
                return r;
        if ((r = answer_load(text, strlen(text), "the installer's screens", NULL, &a)) < 0 ||
            (r = answer_check_hw(&a, &env)) < 0)
                return err_set(err, r, "cannot read the choices as an answer");
        for (size_t i = 0; i < a.n_diags; i++)
                if (a.diags[i].level == ANSWER_ERROR)
                        return err_set(err, -EINVAL, "%s", a.diags[i].msg);
        struct storage_input in = {
                .disks = hw->disks, .n_disks = hw->n_disks, .ram = hw->memory, .answer = &a
        };
        return storage_plan(&in, ret, err);
}

/* ---- lists ---- */

int choices_timezones(const char *zoneinfo_dir, char ***ret, size_t *ret_n)
{
        static const char *const tabs[] = { "zone1970.tab", "zone.tab" };
        char **v = NULL;
        size_t n = 0;
        char path[512], line[1024];
        int r;

        for (size_t t = 0; t < 2 && !n; t++) {
                (void) snprintf(path, sizeof(path), "%s/%s",
                                zoneinfo_dir ? zoneinfo_dir : "/usr/share/zoneinfo", tabs[t]);
                _cleanup_fclose_ FILE *f = fopen(path, "re");
                while (f && fgets(line, sizeof(line), f)) {
                        char *save = NULL, *tz;
                        if (line[0] == '#')
                                continue;
                        /* codes, coordinates, the zone, comments: tab-separated */
                        if (!strtok_r(line, "\t\n", &save) || !strtok_r(NULL, "\t\n", &save) ||
                            !(tz = strtok_r(NULL, "\t\n", &save)) || !timezone_name_ok(tz))
                                continue;
                        if ((r = strv_addf(&v, &n, "%s", tz)) < 0)
                                goto fail;
                }
        }
        if ((r = strv_addf(&v, &n, "UTC")) < 0)
                goto fail;
        strv_sort_unique(v, &n);
        *ret = v;
        *ret_n = n;
        return 0;
fail:
        strv_free(&v, &n);
        return r;
}

void choices_disk_line(const struct hw_disk *d, char *buf, size_t size)
{
        char sz[32], what[160];

        storage_disk_words(d, what, sizeof(what));
        (void) snprintf(buf, size, "%-8s %9s %-5s %-22.22s %s", d->name,
                        units_format_bytes(d->size, sz, sizeof(sz)), d->transport,
                        d->model[0] ? d->model : "?",
                        d->install_medium ? "the install medium"
                        : d->in_use       ? "in use"
                        : what[0]         ? what
                                          : "empty");
}

void choices_disk_details(const struct hw_disk *d, char *buf, size_t size)
{
        char what[160];

        storage_disk_words(d, what, sizeof(what));
        (void) snprintf(buf, size, "%s: %s, serial %s; %s%s", d->name,
                        d->model[0] ? d->model : "no model", d->serial[0] ? d->serial : "none",
                        what[0] ? "holds " : "", what[0] ? what : "empty");
}
