#pragma once
/* Configuring the installed system: the Debian tree unpacked onto the new disks (mounted at
 * root) gets its fstab, host name, network with the VM bridge, accounts, SSH keys, time zone,
 * keyboard, locale and GRUB defaults from the answer and the hardware report. Only files are
 * written here, each under a temporary name and renamed when complete; what must run inside
 * the target (locale-gen, useradd, systemctl) is handed back as argument vectors. Every
 * function returns 0 or -errno with err naming the file and what is wrong. */

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct answer;
struct hw_report;
struct storage_plan;

#define TARGET_NODE_CONF "etc/kvmforge/node.conf" /* KEY=VALUE lines for the first boot */
#define TARGET_MAX_FILE  (4u << 20)               /* the largest target file read */

/* Commands to run in the target chroot, in order: argv vectors (NULL-terminated). */
struct target_run {
        char **argv;
};

struct target_runs {
        struct target_run *v;
        size_t n;
};

void target_runs_release(struct target_runs *r);

/* The filesystem UUID of each device of the plan. Devices are named as storage_apply() makes
 * them: partitions /dev/sda2 or /dev/nvme0n1p2, logical volumes /dev/VG/LV, arrays /dev/md0. */
struct target_uuid {
        const char *device, *uuid;
};

/* The device of partition number of the disk at disk_path, as the kernel names it. */
void target_part_device(const char *disk_path, unsigned number, char *buf, size_t size);

/* etc/fstab: / first, then the other mounts parents first, swap, the ESP last; by UUID=. A
 * device of the plan missing from uuids is -ENOENT naming it. */
/* A new crypt(3) hash of plain: yescrypt, or SHA-512 where libcrypt has no yescrypt. *ret to
 * free(); libcrypt's working copy of plain is wiped. */
int target_hash_password(const char *plain, char **ret, struct err *err);

int target_write_fstab(const char *root, const struct storage_plan *plan,
                       const struct target_uuid *uuids, size_t n_uuids, struct err *err);

/* The management NIC: the answer's first network line's --device (or its first bond slave),
 * "link" when it names none; with no network line, the first NIC with link, else the first
 * physical one. -ENODEV (err names the selector) when nothing fits. */
int target_management_nic(const struct answer *a, const struct hw_report *hw, const char *bootif,
                          size_t *ret_idx, struct err *err);

/* The node's name: the answer's, else "kvmforge-" and the last three bytes of the management
 * NIC's MAC, else "kvmforge". */
void target_hostname(const struct answer *a, const struct hw_report *hw, const char *bootif,
                     char *buf, size_t size);

/* etc/hostname (the short name) and etc/hosts (the static address or 127.0.1.1). */
int target_set_hostname(const char *root, const struct answer *a, const struct hw_report *hw,
                        const char *bootif, struct err *err);

/* etc/network/interfaces (ifupdown, bridge-utils, ifenslave syntax): lo, then each network
 * line, the first one (the management NIC) under the VM bridge unless the answer has
 * --no-bridge; etc/resolv.conf when a static line names DNS servers; BRIDGE= in node.conf. */
int target_write_network(const char *root, const struct answer *a, const struct hw_report *hw,
                         const char *bootif, struct err *err);

/* Sets KEY=value in etc/kvmforge/node.conf (created when missing), keeping the other keys. */
int target_node_conf_set(const char *root, const char *key, const char *value, struct err *err);

/* root's hash in etc/shadow (yescrypt, or SHA-512 when libcrypt lacks it; --iscrypted kept,
 * --lock prefixes '!'); --allow-ssh lets root log in with it over SSH. */
int target_set_root_password(const char *root, const struct answer *a, struct err *err);

/* useradd/usermod/groupadd for the answer's users, appended to runs. */
int target_add_users(const struct answer *a, struct target_runs *runs, struct err *err);

/* authorized_keys: root's and those of users in etc/passwd written directly (0700 .ssh, 0600
 * file, owned by the user); keys of users the answer creates are staged under
 * var/lib/kvmforge/keys and installed by commands appended to runs (after the users' own). */
int target_write_ssh_keys(const char *root, const struct answer *a, struct target_runs *runs,
                          struct err *err);

/* etc/localtime -> /usr/share/zoneinfo/ZONE (refused when ZONE is no file there),
 * etc/timezone, etc/adjtime LOCAL when the answer keeps the clock in local time. */
int target_set_timezone(const char *root, const struct answer *a, struct err *err);

/* etc/chrony/sources.d/kvmforge.sources from --ntpservers; --nontp disables chrony. */
int target_write_ntp(const char *root, const struct answer *a, struct target_runs *runs,
                     struct err *err);

/* A kickstart/console keyboard name (us, de-latin1-nodeadkeys, uk, de(nodeadkeys)) as an XKB
 * layout and variant ("" for none): 0, or -EINVAL for a name that is none. */
int target_keyboard_map(const char *name, char *layout, size_t layout_size, char *variant,
                        size_t variant_size);
/* etc/default/keyboard. */
int target_set_keyboard(const char *root, const struct answer *a, struct err *err);

/* etc/default/locale LANG=, the locale uncommented in etc/locale.gen and locale-gen appended
 * to runs (not for C and POSIX locales); -ENOENT when locale.gen does not list it. */
int target_set_locale(const char *root, const struct answer *a, struct target_runs *runs,
                      struct err *err);

/* What the installer itself was booted with, carried into the installed system. */
struct target_boot {
        const char *const *consoles; /* console= values: "tty0", "ttyS0,115200n8" */
        size_t n_consoles;
        const char *gfxmode; /* "1024x768", "auto", or NULL to leave GRUB's */
        bool nomodeset;
        bool kernel_nic_names; /* net.ifnames=0: the NICs keep the names the installer saw */
};

/* etc/default/grub, keys edited in place: GRUB_CMDLINE_LINUX (the answer's --append, the
 * consoles unless --append has its own, nomodeset), GRUB_TERMINAL and GRUB_SERIAL_COMMAND for
 * a serial console, GRUB_GFXMODE and GRUB_GFXPAYLOAD_LINUX, GRUB_TIMEOUT. */
int target_set_boot_options(const char *root, const struct answer *a, const struct target_boot *b,
                            struct err *err);

struct target_options {
        const struct hw_report *hw;
        const char *bootif; /* BOOTIF= of the installer's command line, or NULL */
        const struct storage_plan *plan;
        const struct target_uuid *uuids;
        size_t n_uuids;
        struct target_boot boot;
};

/* All of the above in order; runs gets what must then run in the target. */
int target_configure(const char *root, const struct answer *a, const struct target_options *o,
                     struct target_runs *runs, struct err *err);
