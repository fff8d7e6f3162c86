#pragma once
/* Fetching the answer file: the sources the kernel command line names (kvmforge.answer=,
 * inst.ks=, ks=), then the answer embedded in the install medium, then a filesystem labelled
 * KVMFORGE or OEMDRV holding ks.cfg. HTTP(S) through libcurl with TLS verification, optional
 * pins, retries with backoff while the network comes up, and headers that identify the host.
 * The text fetched is bounded (KICKSTART_MAX_BYTES) and returned as bytes: parsing it is the
 * answer module's job. answer_cmdline.c reads the kernel command line. */

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "hw.h"

struct hw_report;

/* Where the answer sits on the install medium, and on a KVMFORGE or OEMDRV filesystem. */
#define ANSWER_MEDIUM_PATH "/kvmforge/ks.cfg"
#define ANSWER_DISK_PATH   "/ks.cfg"

/* An answer as fetched, with where it came from. */
struct answer_source {
        char *text; /* NUL-terminated; len bytes before the NUL, none of them NUL */
        size_t len;
        char name[512];  /* for messages: a path, "hd:LABEL=OEMDRV:/ks.cfg", a URL without
                          * credentials */
        char sha256[65]; /* of the len bytes, lowercase hex: what kvmforge.answer.sha256= takes */
        bool cleartext;  /* came over plain http://: secrets in it travelled in the clear */
};

void answer_source_release(struct answer_source *s);

struct answer_fetch_options {
        const char *ca_file; /* PEM bundle for https in place of the system's, or NULL */
        const char *sha256;  /* hex SHA-256 the answer's bytes must have (any case), or NULL */
        const char *pin;     /* the server's public key, "sha256//BASE64" (curl's form), or NULL */
        unsigned retries;    /* attempts after the first; 0: ANSWER_FETCH_RETRIES; none:
                              * ANSWER_FETCH_RETRIES_NONE */
        unsigned timeout_s;  /* per attempt; 0: ANSWER_FETCH_TIMEOUT_S */
        unsigned backoff_ms; /* first wait between attempts, doubled each time (at most
                              * ANSWER_FETCH_BACKOFF_MAX_MS); 0: ANSWER_FETCH_BACKOFF_MS */
        const char *post;    /* a JSON body (the detect report) to POST instead of a GET */
        char **headers;      /* extra request headers, "Name: value" */
        size_t n_headers;
        const char *medium_dir; /* where the install medium is mounted; NULL: find it */
        const char *mount_dir;  /* where hd: and cdrom: sources get mounted, each in a fresh
                                 * directory made there; NULL: ANSWER_MOUNT_DIR */
        /* Told about each source the chain tried ("no filesystem labelled 'OEMDRV'", "found,
         * 812 bytes") and each HTTP attempt that is retried, for the front-end to show as it
         * happens: a fetch may wait minutes for the network, and the admin at the console
         * should see why. NULL: nobody is told. */
        void (*report)(void *userdata, const char *source, const char *what);
        void *userdata;
};

#define ANSWER_FETCH_RETRIES        5
#define ANSWER_FETCH_RETRIES_NONE   (~0u)
#define ANSWER_FETCH_RETRIES_MAX    100u
#define ANSWER_FETCH_TIMEOUT_S      30
#define ANSWER_FETCH_BACKOFF_MS     1000u
#define ANSWER_FETCH_BACKOFF_MAX_MS 30000u
#define ANSWER_FETCH_MAX_REDIRECTS  5L
#define ANSWER_MOUNT_DIR            "/run/kvmforge"

/* Fetches one source: "file:/path", "file:///path" or a path; "cdrom:/path" (a file on the
 * install medium: o->medium_dir, else a mounted filesystem holding HW_MEDIUM_MARKER at its
 * root, else a CD/DVD, UDF or FAT filesystem mounted read-only to look for it); "hd:DEV:/path"
 * with DEV one of LABEL=X, UUID=X, sdb1, /dev/sdb1 (mounted read-only, nosuid, nodev, noexec,
 * unless already mounted, and unmounted again); "http://..." and "https://...". Fails with
 * -EINVAL (an unknown form; err lists the accepted ones), -EOPNOTSUPP (nfs:, ...), -ENOENT
 * (no such file), -ENODEV (no such filesystem), -ENOMEDIUM (no install medium), -ENOTUNIQ
 * (two filesystems with that label), -EFBIG, -EBADMSG (NUL bytes, a SHA-256 mismatch), ...
 * err begins with the source's name: "'hd:LABEL=X:/ks.cfg': no filesystem labelled 'X'". */
int answer_fetch(const char *spec, const struct answer_fetch_options *o, struct answer_source *ret,
                 struct err *err);

/* What the kernel command line says about the answer. */
struct answer_cmdline {
        char *spec;      /* the source, or NULL when none is given */
        const char *key; /* "kvmforge.answer", "inst.ks" or "ks": where spec came from */
        char *sha256, *pin, *ca_file;
        bool post;              /* kvmforge.answer.post=1: POST the detect report */
        bool send_mac, send_sn; /* inst.ks.sendmac, inst.ks.sendsn (kvmforge.answer sends both) */
        unsigned retries;       /* kvmforge.answer.retries=, when retries_set */
        bool retries_set;
        char **lines; /* kickstart lines that override the answer's, in order */
        size_t n_lines;
};

#define ANSWER_CMDLINE_MAX   4096 /* bytes, the kernel's COMMAND_LINE_SIZE on x86 */
#define ANSWER_CMDLINE_LINES 64   /* override lines */

/* Reads the words of cmdline (split as the kernel splits them: spaces separate, double quotes
 * group and are dropped). Keys: kvmforge.answer=, inst.ks=, ks= (in that priority; a bare
 * inst.ks or ks, Anaconda's NFS next-server, is refused with -EOPNOTSUPP), kvmforge.answer.
 * {sha256,pin,cacert,post,retries}=, inst.ks.sendmac, inst.ks.sendsn; overrides kvmforge.ks=LINE
 * (repeatable) and the shortcuts kvmforge.{hostname,timezone,keyboard,lang,disk}=, whose values
 * are single-quoted in the line they make. -EINVAL naming the key for a bad value, -E2BIG past
 * the limits above. Words it does not know are left alone: they are other programs'. */
int answer_cmdline_parse(const char *cmdline, struct answer_cmdline *ret, struct err *err);
void answer_cmdline_release(struct answer_cmdline *c);
/* The values of key= (without the '='; "console", "BOOTIF") on cmdline, split and unquoted as
 * the kernel does: up to max of them into vals, size bytes each (longer ones cut). */
size_t answer_cmdline_values(const char *cmdline, const char *key, char *vals, size_t size,
                             size_t max);

/* The headers that identify this host to an answer server, from its hardware report, as
 * Anaconda sends them: "X-RHN-Provisioning-MAC-0: eth0 52:54:00:12:34:56", one per physical
 * NIC (mac), and "X-System-Serial-Number: SERIAL" (sn; left out when the firmware has no real
 * serial, so that hosts never share a placeholder). Control characters are dropped. *headers
 * and *n_headers (a list that may be empty) are for strv_free(). 0 or -ENOMEM. */
int answer_fetch_identity(const struct hw_report *r, bool mac, bool sn, char ***headers,
                          size_t *n_headers);

/* Tries the sources in the documented order and returns the first answer found: c->spec when
 * given (its failure is final: the admin named that source), else ANSWER_MEDIUM_PATH on the
 * install medium, else ANSWER_DISK_PATH on a filesystem labelled KVMFORGE, then OEMDRV. Only
 * "not there" moves on to the next; anything else (two OEMDRV filesystems, a digest mismatch,
 * a mount that fails) stops the chain. c's sha256, pin, ca_file and retries apply where o
 * leaves them unset; o->post and o->headers are the caller's (see answer_fetch_identity()).
 * -ENOENT when nothing was found, with err saying what was tried. c may be NULL. */
int answer_fetch_chain(const struct answer_cmdline *c, const struct answer_fetch_options *o,
                       struct answer_source *ret, struct err *err);

/* Lowercase hex SHA-256 of len bytes into out: 0 or -EIO (libcrypto failed). */
int answer_sha256_hex(const void *data, size_t len, char out[65]);
