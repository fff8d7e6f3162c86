#pragma once
/* Fetching the answer file: the sources the kernel command line names (kvmforge.answer=,
 * inst.ks=, ks=), then the answer embedded in the install medium, then a filesystem labelled
 * KVMFORGE or OEMDRV holding ks.cfg. HTTP(S) through libcurl with TLS verification, optional
 * pins, retries with backoff while the network comes up, and headers that identify the host.
 * The text fetched is bounded (KICKSTART_MAX_BYTES) and returned as bytes: parsing it is the
 * answer module's job. */

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct hw_report;

/* An answer as fetched, with where it came from. */
struct answer_source {
        char *text; /* NUL-terminated; len bytes before the NUL */
        size_t len;
        char name[512]; /* for messages: a path, "hd:LABEL=OEMDRV:/ks.cfg", a URL without
                         * credentials */
        bool cleartext; /* came over plain http://: secrets in it travelled in the clear */
};

void answer_source_release(struct answer_source *s);

struct answer_fetch_options {
        const char *ca_file; /* PEM bundle for https in place of the system's, or NULL */
        const char *sha256;  /* hex SHA-256 the answer's bytes must have, or NULL */
        const char *pin;     /* the server's public key, "sha256//BASE64" (curl's form), or NULL */
        unsigned retries;    /* attempts after the first; 0: ANSWER_FETCH_RETRIES */
        unsigned timeout_s;  /* per attempt; 0: ANSWER_FETCH_TIMEOUT_S */
        unsigned backoff_ms; /* first wait between attempts, doubled each time; 0: default */
        const char *post;    /* a JSON body (the detect report) to POST instead of a GET */
        char **headers;      /* extra request headers, "Name: value" */
        size_t n_headers;
        const char *medium_dir; /* where the install medium is mounted; NULL: find it */
        const char *mount_dir;  /* an empty directory for mounting hd: sources; NULL: default */
};

#define ANSWER_FETCH_RETRIES   5
#define ANSWER_FETCH_TIMEOUT_S 30

/* Fetches one source: "file:/path" or "/path", "cdrom:/path" (the install medium),
 * "hd:LABEL=X:/path", "hd:UUID=X:/path", "hd:sdb1:/path", "http://...", "https://...". */
int answer_fetch(const char *spec, const struct answer_fetch_options *o, struct answer_source *ret,
                 struct err *err);

/* What the kernel command line says about the answer. */
struct answer_cmdline {
        char *spec;      /* the source, or NULL when none is given */
        const char *key; /* "kvmforge.answer", "inst.ks" or "ks": where spec came from */
        char *sha256, *pin, *ca_file;
        bool post;             /* kvmforge.answer.post=1: POST the detect report */
        bool send_mac, send_sn; /* inst.ks.sendmac, inst.ks.sendsn (kvmforge.answer sends both) */
        unsigned retries;
        char **lines; /* kickstart lines that override the answer's, in order */
        size_t n_lines;
};

int answer_cmdline_parse(const char *cmdline, struct answer_cmdline *ret, struct err *err);
void answer_cmdline_release(struct answer_cmdline *c);

/* The headers that identify this host to an answer server, from its hardware report. */
int answer_fetch_identity(const struct hw_report *r, bool mac, bool sn, char ***headers,
                          size_t *n_headers);

/* Tries the sources in the documented order and returns the first answer found; err says
 * what was tried when none was. */
int answer_fetch_chain(const struct answer_cmdline *c, const struct answer_fetch_options *o,
                       struct answer_source *ret, struct err *err);
