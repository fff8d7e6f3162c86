#pragma once
/* The answer model: one plain-data description of an install, whatever file it came from.
 * kickstart files of both dialects (Anaconda's and ESXi's) are read into it by answer_ks.c,
 * checked by answer_check.c, written back by answer_write.c; the installer, check-answer and
 * the text UI all go through the same calls, so what check-answer accepts is what the
 * installer does. Every element keeps where it was written, so that a check can point at it.
 *
 * Sizes are MiB, as kickstart writes them; ANSWER_UNSET marks a size or number not given. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define ANSWER_UNSET             UINT64_MAX
#define ANSWER_MAX_INCLUDE_DEPTH 8
#define ANSWER_DEFAULT_BRIDGE    "vmbr0"

enum answer_level { ANSWER_NOTICE, ANSWER_WARNING, ANSWER_ERROR };
extern const char *const answer_level_names[];

/* Where something was written: answer.files[file], line and column (1-based; 0 unknown). */
struct answer_at {
        unsigned file, line, col;
};

struct answer_diag {
        enum answer_level level;
        struct answer_at at;
        char *msg; /* says what to write instead, when there is something to say */
};

enum answer_dialect { ANSWER_ANACONDA, ANSWER_ESXI };

enum answer_clear { ANSWER_CLEAR_UNSET, ANSWER_CLEAR_NONE, ANSWER_CLEAR_ALL, ANSWER_CLEAR_LINUX };

struct answer_part {
        struct answer_at at;
        char *name;   /* a mount point, "swap", "pv.01", "raid.11", "biosboot" */
        char *fstype; /* ext4 xfs vfat efi swap lvmpv raid biosboot, or NULL: from the name */
        uint64_t size, maxsize;
        bool grow, recommended;
        char *ondisk;
        char *label, *fsoptions;
};

struct answer_volgroup {
        struct answer_at at;
        char *name;
        char **pvs; /* names of parts (pv.01) or raids */
        size_t n_pvs;
        uint64_t pesize_kib;
};

struct answer_logvol {
        struct answer_at at;
        char *mount; /* "/", "/var", "swap", "none" */
        char *vgname, *name;
        char *fstype;
        uint64_t size, maxsize, percent;
        bool grow, recommended;
        bool thinpool; /* this LV is a thin pool */
        bool thin;     /* this LV lives in the pool poolname */
        char *poolname;
        uint64_t metadatasize, chunksize_kib;
        char *label, *fsoptions;
};

struct answer_raid {
        struct answer_at at;
        char *mount; /* a mount point, "swap" or a PV name (pv.01) */
        char *device;
        uint64_t level; /* 0, 1, 5, 6, 10 */
        char **members;
        size_t n_members;
        char *fstype;
};

enum answer_autopart {
        ANSWER_AUTOPART_NONE,
        ANSWER_AUTOPART_LVM,
        ANSWER_AUTOPART_THINP,
        ANSWER_AUTOPART_PLAIN
};
extern const char *const answer_autopart_names[];

/* The disks and their layout. The default layout (autopart) is sized by the storage planner
 * from hdsize, swapsize, maxroot, minfree and maxvz (kvmforge's options of autopart, as
 * Proxmox names them); rest says where what is left goes. */
struct answer_storage {
        char **only_use, **ignore; /* ignoredisk --only-use / --drives */
        size_t n_only_use, n_ignore;
        enum answer_clear clear;
        char **clear_drives; /* clearpart --drives; empty: every disk the install uses */
        size_t n_clear_drives;
        bool initlabel, zerombr;
        char *disklabel; /* gpt (the default) or msdos */
        bool reqpart;
        struct answer_at autopart_at;
        enum answer_autopart autopart;
        char *autopart_fstype;
        bool noswap;
        uint64_t hdsize, swapsize, maxroot, minfree, maxvz;
        char *rest; /* "root", "pool" or NULL (the planner's default) */
        /* ESXi: install --firstdisk[=LIST] / --disk=X, and permission to overwrite. */
        struct answer_at install_at;
        char *firstdisk; /* the --firstdisk list ("" for the default), or NULL */
        char *disk;      /* --disk / --drive, or NULL */
        bool overwrite;  /* --overwritevmfs, clearpart --overwritevmfs */
        bool novmfs;     /* --novmfsondisk: no thin pool for guests */
        bool clear_firstdisk, clear_alldrives;
        struct answer_part *parts;
        size_t n_parts;
        struct answer_volgroup *vgs;
        size_t n_vgs;
        struct answer_logvol *lvs;
        size_t n_lvs;
        struct answer_raid *raids;
        size_t n_raids;
};

struct answer_bootloader {
        struct answer_at at;
        char *location; /* mbr, boot, partition, none; NULL: the default (every boot disk) */
        char *append;   /* kernel arguments */
        char *boot_drive;
        char **driveorder;
        size_t n_driveorder;
        uint64_t timeout;
        char *password; /* a GRUB password: a secret */
        bool password_crypted;
};

enum answer_bootproto { ANSWER_DHCP, ANSWER_STATIC, ANSWER_IBFT };
extern const char *const answer_bootproto_names[]; /* as kickstart writes them */

struct answer_network {
        struct answer_at at;
        char *device; /* name, MAC, link, bootif, vmnicN; NULL: the NIC with link */
        enum answer_bootproto bootproto;
        char *ip, *netmask, *gateway;
        char **nameservers;
        size_t n_nameservers;
        bool nodns, noipv4, noipv6, nodefroute;
        char *ipv6, *ipv6gateway; /* auto, dhcp, ADDR/PREFIX */
        uint64_t mtu, vlanid;
        char *interfacename;
        char **bondslaves;
        size_t n_bondslaves;
        char *bondopts;
        char **bridgeslaves;
        size_t n_bridgeslaves;
        char *bridgeopts;
        int onboot; /* -1 unset, 0 no, 1 yes */
        bool activate;
        int addvmportgroup; /* ESXi; -1 unset */
};

struct answer_password {
        struct answer_at at;
        bool set;
        char *value; /* a secret: never logged */
        bool crypted, lock, allow_ssh;
};

struct answer_user {
        struct answer_at at;
        char *name;
        struct answer_password pw;
        char **groups;
        size_t n_groups;
        char *shell, *homedir, *gecos;
        uint64_t uid, gid;
};

struct answer_sshkey {
        struct answer_at at;
        char *user, *key;
};

enum answer_script_kind {
        ANSWER_PRE,
        ANSWER_PRE_INSTALL,
        ANSWER_POST,
        ANSWER_ONERROR,
        ANSWER_TRACEBACK,
        ANSWER_FIRSTBOOT
};
extern const char *const answer_script_names[];

struct answer_script {
        struct answer_at at;
        enum answer_script_kind kind;
        char *interpreter; /* NULL: /bin/sh */
        char *log;
        bool nochroot, erroronfail;
        uint64_t timeout;
        char *body;
};

enum answer_end { ANSWER_END_UNSET, ANSWER_END_REBOOT, ANSWER_END_POWEROFF, ANSWER_END_HALT };
extern const char *const answer_end_names[];

/* kvmforge's own command: what kickstart cannot say about a hypervisor node. */
struct answer_hypervisor {
        struct answer_at at;
        char *bridge; /* the VM bridge over the management NIC; "" with --no-bridge */
        char *email;  /* the administrator's address (Proxmox's mailto), or NULL */
        bool require_vt, require_iommu, nested;
        bool force_reinstall; /* wipe a disk that carries the install this answer made */
};

struct answer {
        enum answer_dialect dialect;
        char *version;
        char **files; /* files[0] the answer, then %include'd ones, then the overrides */
        size_t n_files;
        bool cleartext; /* fetched over plain HTTP */

        struct answer_storage storage;
        struct answer_bootloader bootloader;
        struct answer_network *networks;
        size_t n_networks;
        char *hostname;
        struct answer_at hostname_at;
        char *timezone;
        struct answer_at timezone_at;
        bool utc, nontp;
        char **ntpservers;
        size_t n_ntpservers;
        char *keyboard, *lang;
        struct answer_at keyboard_at, lang_at;
        struct answer_password rootpw;
        struct answer_user *users;
        size_t n_users;
        struct answer_sshkey *sshkeys;
        size_t n_sshkeys;
        char **packages, **excluded;
        size_t n_packages, n_excluded;
        bool ignoremissing;
        char **services_enabled, **services_disabled;
        size_t n_services_enabled, n_services_disabled;
        int firewall; /* -1 unset, 0 disabled, 1 enabled */
        char **firewall_allow, **firewall_ports, **firewall_trust;
        size_t n_firewall_allow, n_firewall_ports, n_firewall_trust;
        struct answer_script *scripts;
        size_t n_scripts;
        struct answer_hypervisor hypervisor;
        enum answer_end end;
        bool eject;
        bool text_mode, cmdline_mode, skipx, eula;
        int firstboot;   /* -1 unset, 0 disabled, 1 enabled */
        bool dryrun;     /* ESXi's dryrun: check, then stop before touching a disk */
        char **includes; /* %include paths not read yet (written by %pre) */
        size_t n_includes;

        bool strict;     /* warnings are recorded as errors */
        bool unreadable; /* the file could not be split into words: nothing else is checked */
        bool dropped;    /* a line was dropped for an error: no conclusions from absence */
        struct answer_diag *diags;
        size_t n_diags;
        size_t n_errors, n_warnings;
};

struct answer_load_options {
        bool strict;      /* every warning is an error (also set by ESXi's paranoid) */
        bool pre_done;    /* %pre has run: a missing %include is an error, not a notice */
        bool cleartext;   /* the text came over plain HTTP */
        const char *root; /* prefix for %include paths (tests, a chroot); NULL: "/" */
        char **overrides; /* kickstart lines from the kernel command line, applied last */
        size_t n_overrides;
};

/* Reads a kickstart text into a; every problem becomes a diagnostic in a (a->n_errors says
 * whether the answer can be installed). -errno only when memory runs out. */
int answer_load(const char *text, size_t len, const char *name, const struct answer_load_options *o,
                struct answer *a);
void answer_release(struct answer *a);
/* Empties one network line (for a later line that replaces it). */
void answer_network_clear(struct answer_network *n);

/* Adds a diagnostic; in strict mode a warning is recorded as an error. */
int answer_diag(struct answer *a, enum answer_level level, struct answer_at at, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));
/* "ks.cfg:12" for a place, into buf (for "first at ..." in messages). */
const char *answer_format_at(const struct answer *a, struct answer_at at, char *buf, size_t size);
/* In file, line and column order (answer_load() leaves them so; checks added later call it). */
void answer_sort_diags(struct answer *a);
/* "ks.cfg:12:7: error: ..." for one diagnostic, into buf. */
void answer_format_diag(const struct answer *a, const struct answer_diag *d, char *buf,
                        size_t size);

/* The effective answer as a kickstart file (defaults filled in), secrets masked unless
 * with_secrets (the text UI's "save as answer file"). */
int answer_write_kickstart(const struct answer *a, bool with_secrets, FILE *f);

/* Checks against the machine the answer is for: disk and NIC selectors, the CPU when the
 * answer requires VT. Adds diagnostics to a. */
struct hw_report;
struct answer_check_env {
        const struct hw_report *hw;
        const char *bootif; /* BOOTIF= of the kernel command line, or NULL */
};
int answer_check_hw(struct answer *a, const struct answer_check_env *env);

/* Runs one script (its body in a private file under root's /tmp, by its interpreter, output to
 * log_fd, in root when not NULL, killed after its --timeout or an hour): 0, or -errno with err
 * naming the script by kind and line and saying how it ended. */
int answer_script_run(const struct answer_script *s, const char *root, int log_fd, struct err *err);
/* Runs every %pre in order; stops at the first that fails. */
int answer_run_pre(const struct answer *a, int log_fd, struct err *err);
/* The answer an install carries out: text read (with o's overrides); when run_pre and the
 * answer is sound and has a %pre, %pre is run and the text read again so that the %include
 * files %pre wrote are in it; then checked against env. -errno (err says why) when a script
 * fails or memory runs out; the answer's own problems are diagnostics in ret. */
int answer_prepare(const char *text, size_t len, const char *name,
                   const struct answer_load_options *o, bool run_pre, int log_fd,
                   const struct answer_check_env *env, struct answer *ret, struct err *err);

/* A netmask as the answer may write it ("255.255.255.0" or "24") as a prefix length: 0, or
 * -EINVAL when it is none (ones not contiguous from the top, past 32). */
int answer_netmask_prefix(const char *mask, unsigned *ret);
/* Whether tz is a zone of this machine's /usr/share/zoneinfo: 0 (also when there is no tzdata
 * here: the installer's environment has it), -ENOENT when it is not, -EINVAL when tz is no zone
 * name at all (empty, a leading '/', '..'), -ENOMEM. */
int answer_timezone_known(const char *tz);
/* An FQDN or host name: letters, digits and '-' between dots, labels of 1-63, 253 in all. */
bool answer_hostname_valid(const char *h);
/* name@domain, with a domain answer_hostname_valid() takes. */
bool answer_email_valid(const char *s);
/* One of the passwords attackers try first ("changeme", "P@ssw0rd", ...; any case). */
bool answer_password_common(const char *pw);
/* A name Linux takes for a network interface (1-15 of A-Z a-z 0-9 - _ ., not . or ..). */
bool answer_ifname_valid(const char *s);

struct json;
void answer_json(const struct answer *a, struct json *j);
