#pragma once
/* The install, start to end, as one ordered list of steps: detect, the answer (fetched, read,
 * checked against this machine), the storage plan, the disks, the payload, the target's
 * configuration, the bootloader, packages, %post, the first-boot unit, the log and answer kept
 * on the node. Each step reports events (step, percent, message) that the text UI, the
 * unattended console and a remote answer server all follow; nothing here prints. The text UI
 * (issue 8) and the unattended mode are two front-ends of this one function. */
#include "answer.h"
#include "err.h"
#include <stdbool.h>
#include <stdint.h>

/* Where the payload sits on the install medium, and what the live environment mounts. */
#define PIPELINE_PAYLOAD_PATH  "kvmforge/payload.tar.zst"
#define PIPELINE_PACKAGES_PATH "kvmforge/packages.txt" /* the payload's packages, a name a line */
#define PIPELINE_TARGET        "/target"
#define PIPELINE_NODE_DIR      "/etc/kvmforge"
#define PIPELINE_NODE_LOG      "/var/log/kvmforge/install.log"
#define PIPELINE_NODE_ANSWER   "/etc/kvmforge/answer.cfg"
#define PIPELINE_UNIT          "kvmforge-postinst.service"

enum pipeline_step {
        PIPELINE_DETECT,
        PIPELINE_ANSWER,
        PIPELINE_PLAN,
        PIPELINE_DISKS,
        PIPELINE_UNPACK,
        PIPELINE_CONFIGURE,
        PIPELINE_BOOTLOADER,
        PIPELINE_PACKAGES,
        PIPELINE_POST,
        PIPELINE_FINISH,
        PIPELINE_STEP_COUNT,
};
extern const char *const pipeline_step_names[PIPELINE_STEP_COUNT]; /* "detect", "unpack", ... */

struct pipeline_event {
        enum pipeline_step step;
        unsigned percent;    /* of the whole install, 0..100 */
        const char *message; /* what happens now, in words; never a secret */
        double elapsed;      /* seconds since the install started */
};

struct pipeline_options {
        const char *answer;  /* a source (path, URL, hd:...), or NULL: the fetch chain */
        /* Or the answer's text itself (the text UI's choices; never written to a file), named
         * answer_name in messages. */
        const char *answer_text;
        const char *answer_name;
        /* Detect from this captured tree (see hw.h) instead of the machine: dry runs only. */
        const char *sysroot;
        const char *medium;  /* where the install medium is mounted, or NULL */
        const char *payload; /* NULL: MEDIUM/PIPELINE_PAYLOAD_PATH */
        const char *target;  /* where the new system is mounted; NULL: PIPELINE_TARGET */
        const char *cmdline; /* the kernel command line (overrides, console=), or NULL */
        bool unattended;     /* a disk holding an earlier install is not wiped (the loop) */
        bool dry_run;        /* stop after the plan */
        /* POST each step's start and the result (with the log's end on failure) here as JSON;
         * NULL: kvmforge.report= of the command line, if any. */
        const char *report_url;
        int log_fd; /* every command and its output */
        void (*event)(void *userdata, const struct pipeline_event *e);
        void *userdata;
};

struct pipeline_result {
        enum answer_end end; /* what the answer wants at the end */
        bool eject;
        char hostname[256];
        char disks[256]; /* the disks installed on, "vda sdb" */
        double step_seconds[PIPELINE_STEP_COUNT];
};

/* Runs the install. -errno with err naming the step and the cause; the answer's own errors are
 * written to the log and events before. */
int pipeline_run(const struct pipeline_options *o, struct pipeline_result *ret, struct err *err);
