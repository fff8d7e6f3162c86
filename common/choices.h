#pragma once
/* The choices a person makes on the installer's screens, as plain data: defaults from the
 * hardware report and the DHCP lease the live environment got, a check for every field whose
 * message can stand next to it, and the kickstart answer the choices make. The text UI
 * (installer/tui.c) only draws and reads keys: the install it starts is run with exactly the
 * answer choices_kickstart() writes, so every choice on a screen is one an answer file can
 * express, and "save as answer file" writes that same text. */
#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct answer;
struct hw_report;
struct hw_disk;
struct storage_plan;

#define CHOICES_MAX_DISKS    2 /* one, or a RAID1 mirror over two */
#define CHOICES_DEFAULT_HOST "kvm1"

/* What the live environment's DHCP client got on a NIC, for the static fields' defaults. */
struct choices_lease {
        char nic[16];
        char address[64]; /* 192.0.2.10/24 */
        char gateway[64];
        char dns[128]; /* space-separated */
        char domain[128];
};

struct choices {
        /* storage */
        char disks[CHOICES_MAX_DISKS][32]; /* "sda"; a second disk makes a RAID1 mirror */
        char fstype[8];                    /* ext4, xfs */
        /* autopart's sizing in GiB as typed ("" for the planner's default) */
        char hdsize[16], swapsize[16], maxroot[16], minfree[16], maxvz[16];
        bool rest_root; /* what the thin pool would get goes to root: no pool */
        /* location */
        char timezone[64], keyboard[32];
        /* accounts: the password is kept only as its hash (choices_set_password) */
        char root_hash[256];
        char email[128];
        char sshkey[4096]; /* one OpenSSH public key line, or "" */
        /* network */
        char nic[16];
        bool dhcp;
        char hostname[254]; /* an FQDN */
        char address[64];   /* ADDRESS/PREFIX when static */
        char gateway[64];
        char dns[128]; /* space- or comma-separated */
        char bridge[16];
};

/* The fields a screen checks one by one. */
enum choices_field {
        CHOICES_DISKS,
        CHOICES_FSTYPE,
        CHOICES_HDSIZE,
        CHOICES_SWAPSIZE,
        CHOICES_MAXROOT,
        CHOICES_MINFREE,
        CHOICES_MAXVZ,
        CHOICES_TIMEZONE,
        CHOICES_KEYBOARD,
        CHOICES_ROOTPW,
        CHOICES_EMAIL,
        CHOICES_SSHKEY,
        CHOICES_NIC,
        CHOICES_HOSTNAME,
        CHOICES_ADDRESS,
        CHOICES_GATEWAY,
        CHOICES_DNS,
        CHOICES_BRIDGE,
        CHOICES_FIELD_COUNT,
};
extern const char *const choices_field_names[CHOICES_FIELD_COUNT];

/* Defaults: the largest disk an install may take that is not removable (else the largest
 * usable one), ext4, automatic sizes; UTC and a US keyboard; the first physical NIC with a
 * link (else the first physical one) on DHCP; host name kvm1 in the lease's domain (else
 * localdomain); the lease's address, gateway and DNS for a switch to static; bridge vmbr0.
 * lease may be NULL. */
void choices_defaults(struct choices *c, const struct hw_report *hw,
                      const struct choices_lease *lease);

/* What the running system got on nic (its IPv4 address, the default route through it, the
 * resolver's servers and search domain): 0, -ENOENT when nic has no address. resolv_conf and
 * route may be NULL for /etc/resolv.conf and /proc/net/route. */
int choices_read_lease(const char *nic, const char *resolv_conf, const char *route,
                       struct choices_lease *ret);

/* Checks one field against the others and the machine (hw may be NULL for the fields that do
 * not need it): 0, or -EINVAL with msg saying what is wrong and what to write instead. */
int choices_check(const struct choices *c, const struct hw_report *hw, enum choices_field f,
                  char *msg, size_t size);
/* Every field in screen order: 0, or -EINVAL with *ret_field the first wrong one. */
int choices_check_all(const struct choices *c, const struct hw_report *hw,
                      enum choices_field *ret_field, char *msg, size_t size);

/* The root password typed twice: checked (8 characters or more, both the same), hashed
 * (yescrypt) into c->root_hash. 0, or -EINVAL with msg. */
int choices_set_password(struct choices *c, const char *pw, const char *again, char *msg,
                         size_t size);
/* How hard pw is to guess, in a few words for the line under the field ("weak: only
 * letters"); never NULL. */
const char *choices_password_strength(const char *pw);

/* The kickstart answer the choices make (for this machine: disks and NIC by name), with the
 * root password as its hash. -errno only when writing fails or the choices cannot make an
 * answer (err says why: a RAID1 mirror over disks too small). */
int choices_kickstart(const struct choices *c, const struct hw_report *hw, FILE *f,
                      struct err *err);
/* The same text in memory; *ret to free(). */
int choices_kickstart_text(const struct choices *c, const struct hw_report *hw, char **ret,
                           struct err *err);
/* The storage plan the choices make, read through the installer's own parser and planner:
 * 0, or -errno with err saying why there is none (the answer's first error, the planner's). */
int choices_plan(const struct choices *c, const struct hw_report *hw, struct storage_plan *ret,
                 struct err *err);

/* The time zones of zoneinfo's zone1970.tab (zone.tab when it has none) and UTC, sorted; a
 * list of one ("UTC") when dir has neither. *ret (a strv) to strv_free(). */
int choices_timezones(const char *zoneinfo_dir, char ***ret, size_t *ret_n);
/* The keyboard layouts offered (kbd's console names), and their words ("German"). */
extern const char *const choices_keyboards[][2];
extern const size_t choices_n_keyboards;

/* A disk for a list: "sda  500.0 GiB sata  Samsung SSD 870  a gpt partition table, ext4 'root'"
 * (blank: "empty"), into buf. */
void choices_disk_line(const struct hw_disk *d, char *buf, size_t size);
/* The same with its serial, for the line under the list: "sda: Samsung SSD 870, serial S5Y1,
 * holds a gpt partition table, ext4 'root'". */
void choices_disk_details(const struct hw_disk *d, char *buf, size_t size);
