#pragma once
/* The installed node's first-boot configuration and its health (kvmforge-postinst): KVM loaded
 * and judged, a thin volume for guest images, libvirt's storage pool and bridged network, the
 * answer's %firstboot scripts, a report to the answer server. Each step is idempotent and says
 * whether it changed anything; nothing here prints.
 *
 * Every path of the node (/etc, /var, /dev/console) is read below a root directory ("" for the
 * live system) so that tests can run the steps in a scratch tree.
 *
 * /etc/kvmforge/node.conf, written by the installer, is KEY=VALUE lines; '#' starts a comment
 * line, blank lines are ignored, whitespace around key and value is dropped, a value may be
 * quoted with "..." or '...' (no escapes inside). Keys (unknown ones are an error, so a typo is
 * not silently ignored):
 *   BRIDGE=vmbr0        the VM bridge over the management NIC (also the libvirt network's name)
 *   REPORT_URL=https:// where to POST the --check JSON after the first boot (optional)
 *   POOL=default        the name of libvirt's storage pool for guest images
 *   VG=kvmforge         the volume group holding the thin pool "data" */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libvirt/libvirt.h>

#include "err.h"
#include "hw.h"

#define NODE_CONF_PATH           "/etc/kvmforge/node.conf"
#define NODE_ANSWER_PATH         "/etc/kvmforge/answer.cfg"
#define NODE_MOTD_PATH           "/etc/motd"
#define NODE_FSTAB_PATH          "/etc/fstab"
#define NODE_CONSOLE_PATH        "/dev/console"
#define NODE_LOG_PATH            "/var/log/kvmforge/postinst.log"
#define NODE_DONE_PATH           "/var/lib/kvmforge/postinst.done"
#define NODE_FIRSTBOOT_DONE_PATH "/var/lib/kvmforge/firstboot.done"
#define NODE_IMAGES_PATH         "/var/lib/libvirt/images"
#define NODE_THIN_POOL           "data"
#define NODE_IMAGES_LV           "images"
#define NODE_MAX_CONF            (64u << 10) /* node.conf is a few lines; anything larger is wrong */
#define NODE_MAX_ADDRS           8

/* The lines that enclose kvmforge's block in /etc/motd (the rest of motd is the admin's). */
#define NODE_MOTD_BEGIN "---- kvmforge node status (kvmforge-postinst) ----"
#define NODE_MOTD_END   "---- end of kvmforge node status ----"

enum node_level { NODE_OK, NODE_WARNING, NODE_FAIL, NODE_LEVEL_COUNT };
extern const char *const node_level_names[NODE_LEVEL_COUNT]; /* "ok" "warning" "fail" */

struct node_conf {
        char bridge[16]; /* IFNAMSIZ */
        char report_url[2048];
        char pool[64];
        char vg[128];
        char email[256]; /* the administrator's address, "" when none */
};

/* The defaults (vmbr0, no report, pool "default", VG "kvmforge"). */
void node_conf_init(struct node_conf *c);
/* Parses node.conf text over the values already in c: 0, or -EINVAL with err naming the line. */
int node_conf_parse(const char *text, size_t len, struct node_conf *c, struct err *err);
/* Reads root's node.conf into c (after node_conf_init()); a missing file leaves the defaults. */
int node_conf_load(const char *root, struct node_conf *c, struct err *err);

/* root + path, as a new string (NULL on ENOMEM); root NULL or "" for the live system. */
char *node_path(const char *root, const char *path);

/* ---- motd ---- */

/* old with kvmforge's block (between NODE_MOTD_BEGIN and NODE_MOTD_END lines) replaced by
 * block, or block appended when there is none; every other line kept as it was. old may be
 * NULL (no motd yet). *ret to free(). */
int node_motd_replace(const char *old, const char *block, char **ret);
/* The same on root's /etc/motd, written under a temporary name and renamed; *ret_changed
 * says whether the file's bytes changed. */
int node_motd_update(const char *root, const char *block, bool *ret_changed, struct err *err);

/* ---- KVM ---- */

/* "kvm_intel", "kvm_amd", or NULL when the CPU has no extension KVM could use. */
const char *node_kvm_module(const struct hw_cpu *cpu);
/* The verdict in words into buf ("KVM: ok (Intel VT-x)", "KVM: not available: ..."), from
 * whether /dev/kvm works and hw_cpu's verdict for the reason. NODE_OK, or NODE_WARNING when
 * guests can only run emulated. */
enum node_level node_kvm_words(const struct hw_cpu *cpu, bool dev_kvm, char *buf, size_t size);
/* Loads the module the CPU needs (modprobe, as a child process) unless /dev/kvm is there. */
int node_kvm_load(const struct hw_cpu *cpu, struct err *err);
/* Writes line to root's /dev/console when it is there and is not where stdout already goes. */
void node_console_write(const char *root, const char *line);

/* ---- LVM ---- */

struct node_lvs {
        bool vg_found;
        bool pool_found; /* the thin pool NODE_THIN_POOL */
        uint64_t pool_size;
        char data_percent[16], metadata_percent[16]; /* as lvm prints them: "12.34" */
        bool images_found;                           /* the LV NODE_IMAGES_LV */
        bool images_thin;                            /* ... a thin volume of the thin pool */
};

/* Parses `lvm lvs --noheadings --separator | --units b --nosuffix -o
 * lv_name,segtype,pool_lv,lv_size,data_percent,metadata_percent VG`. -EBADMSG for a line
 * that is not six fields. */
int node_lvs_parse(const char *text, struct node_lvs *ret, struct err *err);
/* Runs lvm for vg; no VG (or no lvm at all) is 0 with vg_found false. */
int node_lvs_read(const char *vg, struct node_lvs *ret, struct err *err);

/* Step 2a: the thin volume for guest images: created in the thin pool when missing, ext4 made
 * on it when blank, in root's fstab by UUID and mounted on root's NODE_IMAGES_PATH. Without a
 * thin pool it only makes sure the directory exists. msg says what was done. */
int node_images_setup(const char *root, const char *vg, bool *ret_changed, char *msg,
                      size_t msg_size, struct err *err);
/* Adds "UUID=uuid mountpoint fstype defaults,discard 0 2" to fstab text (old may be NULL)
 * unless a line already mounts something at mountpoint: 1 with *ret (to free()) when a line
 * was added, 0 with *ret NULL when nothing is to change. */
int node_fstab_add(const char *old, const char *uuid, const char *mountpoint, const char *fstype,
                   char **ret);

/* ---- libvirt ---- */

/* Opens uri (NULL: qemu:///system) with libvirt's own error printing silenced. */
int node_connect(const char *uri, virConnectPtr *ret, struct err *err);

/* A step's outcome: its level, whether it changed anything, and words. */
struct node_step {
        enum node_level level;
        bool changed;
        char message[512];
};

/* Step 2b: a dir pool name at path: defined, built when the directory is missing, started and
 * autostarted; one of that name at another path is left alone with a warning. */
int node_pool_ensure(virConnectPtr conn, const char *name, const char *path,
                     struct node_step *step);
/* Step 3: the network named bridge with <forward mode='bridge'/><bridge name=bridge/>:
 * defined, started, autostarted; one of that name that is something else is left alone with a
 * warning. */
int node_network_ensure(virConnectPtr conn, const char *bridge, struct node_step *step);

/* XML text escaping of s (&<>'"), as a new string. */
char *node_xml_escape(const char *s);

/* ---- %firstboot ---- */

/* Step 4: runs the ANSWER_FIRSTBOOT scripts of root's answer.cfg in order (output to root's
 * NODE_LOG_PATH), once: when they have all run, NODE_FIRSTBOOT_DONE_PATH is written and later
 * calls run nothing. A failing script is a warning, or a failure with --erroronfail. */
int node_firstboot_run(const char *root, struct node_step *step);

/* ---- health (--check) ---- */

enum node_check_item {
        NODE_CHECK_KVM,
        NODE_CHECK_LIBVIRT,
        NODE_CHECK_POOL,
        NODE_CHECK_NETWORK,
        NODE_CHECK_THINPOOL,
        NODE_CHECK_SSH,
        NODE_CHECK_COUNT,
};
extern const char *const node_check_names[NODE_CHECK_COUNT];

struct node_health {
        struct node_step items[NODE_CHECK_COUNT];
        char hostname[256];
        /* kvm */
        bool dev_kvm;
        struct hw_cpu cpu;
        /* libvirt */
        char uri[256];
        bool libvirt_ok;
        char libvirt_error[256];
        /* pool */
        char pool[64], pool_path[1024];
        bool pool_found, pool_active, pool_autostart;
        uint64_t pool_capacity, pool_available;
        /* network */
        char bridge[16];
        bool network_found, network_active, network_autostart, bridge_exists;
        char addrs[NODE_MAX_ADDRS][64]; /* "192.0.2.10/24" */
        size_t n_addrs;
        /* thin pool */
        struct node_lvs lvs;
        char vg[128];
        /* ssh */
        char ssh_state[32]; /* systemctl is-active's answer, "" when unknown */
};

/* Gathers every check; conn may be NULL (libvirt unreachable: said in its item, the pool and
 * network items then fail too). Never fails: what cannot be read is said. */
void node_health_collect(const struct node_conf *conf, const struct hw_cpu *cpu, virConnectPtr conn,
                         const char *uri, const char *conn_error, struct node_health *h);
/* Decides each item's level and words from the facts in h (separate, so tests give any). */
void node_health_decide(struct node_health *h);
/* The worst level of the items. */
enum node_level node_health_level(const struct node_health *h);

struct json;
void node_health_json(const struct node_health *h, struct json *j);

/* ---- report, done marker ---- */

/* POSTs body (JSON) to url with libcurl (10 s to connect, 30 s in all): 0 on a 2xx answer, else
 * -errno with err naming the URL without its credentials. */
int node_report_post(const char *url, const char *body, struct err *err);

/* Writes text to root + path (parents created) under a temporary name and renames it. */
int node_write_file(const char *root, const char *path, const char *text, mode_t mode,
                    struct err *err);
