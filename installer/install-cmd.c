/* kvmforge-install install (also `kvmforge-install --answer SRC`): the whole install, through
 * the pipeline, with its progress on the console (a bar on a terminal, lines otherwise, JSON
 * lines with --json) and, in the live environment, the medium ejected and the machine
 * rebooted or powered off at the end. */
#include "cleanup.h"
#include "cli.h"
#include "hw.h"
#include "json.h"
#include "log.h"
#include "payload.h"
#include "pipeline.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/cdrom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define DEFAULT_LOG "/tmp/kvmforge-install.log"

static const char *arg_answer;
static const char *arg_medium;
static const char *arg_payload;
static const char *arg_target;
static const char *arg_log = DEFAULT_LOG;
static bool arg_unattended;
static bool arg_dry_run;
static bool arg_json;
static bool arg_no_reboot;
static bool arg_yes;
static const char *arg_report;

static void help(void)
{
        printf("Usage: kvmforge-install install [--answer=SRC] [--unattended] [OPTIONS...]\n"
               "       kvmforge-install --answer=SRC [OPTIONS...]\n\n"
               "Install a KVM node on this machine: detect the hardware, fetch and check the\n"
               "answer, plan and prepare the disks, unpack the node's system from the install\n"
               "medium, configure it, install the bootloader, run %%post, and enable the\n"
               "first-boot setup. Without --answer the answer is looked for as the kernel\n"
               "command line, the medium and labelled disks say (see README.md).\n\n"
               "Options:\n"
               "      --answer=SRC     the answer file: a path, file:, cdrom:, hd:, http(s)\n"
               "      --unattended     nobody is at the console: never wipe a disk that holds an\n"
               "                       earlier kvmforge install (unless the answer says\n"
               "                       'hypervisor --force-reinstall')\n"
               "      --medium=DIR     where the install medium is mounted ($KVMFORGE_MEDIUM)\n"
               "      --payload=FILE   the node's system (default MEDIUM/" PIPELINE_PAYLOAD_PATH
               ")\n"
               "      --target=DIR     where the new system is mounted (default " PIPELINE_TARGET
               ")\n"
               "      --dry-run        stop after printing the plan: nothing is written\n"
               "      --json           progress as JSON lines on stdout\n"
               "      --no-reboot      in the live environment, do not reboot or power off\n"
               "      --yes            do not ask before erasing the disks (a person at the\n"
               "                       console is asked to type 'yes' otherwise)\n"
               "      --log=FILE       every command and its output (default " DEFAULT_LOG ")\n"
               "      --report=URL     POST each step, the result and, on failure, the log's end\n"
               "                       there as JSON (default: kvmforge.report= of the kernel\n"
               "                       command line); a server that does not answer is skipped\n"
               "  -h, --help           show this help\n\n"
               "Exit status: 0 installed, 1 refused or failed (the message names the step), 2\n"
               "bad usage. In the live environment (a medium given) the machine then reboots\n"
               "or powers off as the answer says (reboot when it says nothing).\n");
}

static int parse(int argc, char **argv)
{
        enum {
                OPT_ANSWER = 0x100,
                OPT_UNATTENDED,
                OPT_MEDIUM,
                OPT_PAYLOAD,
                OPT_TARGET,
                OPT_DRY_RUN,
                OPT_JSON,
                OPT_NO_REBOOT,
                OPT_LOG,
                OPT_YES,
                OPT_REPORT
        };
        static const struct option options[] = {
                { "answer", required_argument, NULL, OPT_ANSWER },
                { "unattended", no_argument, NULL, OPT_UNATTENDED },
                { "medium", required_argument, NULL, OPT_MEDIUM },
                { "payload", required_argument, NULL, OPT_PAYLOAD },
                { "target", required_argument, NULL, OPT_TARGET },
                { "dry-run", no_argument, NULL, OPT_DRY_RUN },
                { "json", no_argument, NULL, OPT_JSON },
                { "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
                { "log", required_argument, NULL, OPT_LOG },
                { "yes", no_argument, NULL, OPT_YES },
                { "report", required_argument, NULL, OPT_REPORT },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case OPT_ANSWER:
                        arg_answer = optarg;
                        break;
                case OPT_UNATTENDED:
                        arg_unattended = true;
                        break;
                case OPT_MEDIUM:
                        arg_medium = optarg;
                        break;
                case OPT_PAYLOAD:
                        arg_payload = optarg;
                        break;
                case OPT_TARGET:
                        arg_target = optarg;
                        break;
                case OPT_DRY_RUN:
                        arg_dry_run = true;
                        break;
                case OPT_JSON:
                        arg_json = true;
                        break;
                case OPT_NO_REBOOT:
                        arg_no_reboot = true;
                        break;
                case OPT_LOG:
                        arg_log = optarg;
                        break;
                case OPT_YES:
                        arg_yes = true;
                        break;
                case OPT_REPORT:
                        arg_report = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr, "kvmforge-install: bad option; see 'kvmforge-install "
                                        "install --help'\n");
                        return -EINVAL;
                }
        if (optind != argc) {
                fprintf(stderr, "kvmforge-install: install takes no arguments; see "
                                "'kvmforge-install install --help'\n");
                return -EINVAL;
        }
        if (!arg_medium)
                arg_medium = getenv("KVMFORGE_MEDIUM");
        return 1;
}

struct progress {
        bool tty;
        enum pipeline_step step;
        unsigned percent;
        bool started;
};

static void show_event(void *userdata, const struct pipeline_event *e)
{
        struct progress *p = userdata;

        if (arg_json) {
                /* One object per line (JSON lines), so a reader can follow as it happens. */
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&text, &len);
                struct json j;
                if (!f)
                        return;
                json_init(&j, f);
                json_begin_object(&j, NULL);
                json_string(&j, "step", pipeline_step_names[e->step]);
                json_u64(&j, "percent", e->percent);
                json_string(&j, "message", e->message);
                json_u64(&j, "elapsed_ms", (uint64_t) (e->elapsed * 1000));
                json_end_object(&j);
                fclose(f);
                for (char *c = text; *c; c++)
                        if (*c == '\n')
                                *c = ' ';
                printf("%s\n", text);
                fflush(stdout);
                return;
        }
        if (p->tty) {
                /* One line redrawn: a bar of 30, the percent and what happens now. */
                char bar[31];
                unsigned fill = e->percent * 30 / 100;
                memset(bar, '#', fill);
                memset(bar + fill, '.', 30 - fill);
                bar[30] = '\0';
                /* A step's last line stays on the screen when the next one begins. */
                if (e->step != p->step && p->started)
                        putchar('\n');
                printf("\r\033[K[%s] %3u%% %.60s", bar, e->percent, e->message);
                fflush(stdout);
        } else {
                printf("kvmforge-install: [%3u%%] %s: %s\n", e->percent,
                       pipeline_step_names[e->step], e->message);
                fflush(stdout);
        }
        p->step = e->step;
        p->percent = e->percent;
        p->started = true;
}

/* The block device the medium is mounted from, when it is a CD/DVD drive: "/dev/sr0". */
static int medium_drive(const char *dir, char *ret, size_t size)
{
        struct hw_source live = { 0 };
        _cleanup_free_ struct hw_mount *m = NULL;
        size_t n = 0;
        char sys[96], name[32];

        if (hw_mounts_read(&live, &m, &n) < 0)
                return -ENOENT;
        for (size_t i = n; i-- > 0;)
                if (strcmp(m[i].point, dir) == 0) {
                        (void) snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u",
                                        major(m[i].devnum), minor(m[i].devnum));
                        if (hw_link_name(&live, sys, name, sizeof(name)) < 0 ||
                            strncmp(name, "sr", 2) != 0)
                                return -ENOTBLK;
                        (void) snprintf(ret, size, "/dev/%s", name);
                        return 0;
                }
        return -ENOENT;
}

/* The end of an install in the live environment: the medium out, the machine rebooted or
 * powered off as the answer says. Returns only when that failed. */
void cli_finish_live(const char *medium, const struct pipeline_result *res)
{
        char drive[64];
        unsigned how = res->end == ANSWER_END_POWEROFF ? RB_POWER_OFF
                       : res->end == ANSWER_END_HALT   ? RB_HALT_SYSTEM
                                                       : RB_AUTOBOOT;
        bool have_drive = medium_drive(medium, drive, sizeof(drive)) == 0;

        sync();
        if (res->eject && have_drive) {
                (void) umount2(medium, MNT_DETACH);
                _cleanup_close_ int fd = open(drive, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                if (fd < 0 || ioctl(fd, CDROMEJECT, 0) < 0)
                        log_warning("cannot eject %s: %m, ignoring", drive);
        }
        printf("kvmforge-install: %s\n", how == RB_POWER_OFF     ? "powering off"
                                         : how == RB_HALT_SYSTEM ? "halting"
                                                                 : "rebooting");
        fflush(stdout);
        sync();
        if (reboot((int) how) < 0)
                log_error("cannot %s: %m", how == RB_AUTOBOOT ? "reboot" : "power off");
}

static int run(void)
{
        /* Unattended: one line per event, which a serial log, a BMC or a harness can follow. */
        struct progress prog = { .tty = isatty(STDOUT_FILENO) && !arg_json && !arg_unattended };
        struct pipeline_result res = { 0 };
        struct err err = { { 0 } };
        _cleanup_close_ int log_fd = -1;
        int r;

        log_fd = open(arg_log, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0)
                return log_error_errno(errno, "cannot open the log '%s': %m", arg_log);
        struct pipeline_options o = { .answer = arg_answer,
                                      .medium = arg_medium,
                                      .payload = arg_payload,
                                      .target = arg_target,
                                      .unattended = arg_unattended,
                                      .dry_run = arg_dry_run,
                                      .report_url = arg_report,
                                      .log_fd = log_fd,
                                      .event = show_event,
                                      .userdata = &prog };
        /* A person at the console sees the plan, the disks to be ERASED, and says yes. */
        if (!arg_unattended && !arg_dry_run && !arg_yes && !arg_json && isatty(STDIN_FILENO)) {
                char line[16] = "";
                o.dry_run = true;
                r = pipeline_run(&o, &res, &err);
                if (prog.tty)
                        putchar('\n');
                if (r < 0)
                        return log_error_errno(r, "%s (the commands and their output are in %s)",
                                               err.msg, arg_log);
                printf("Type 'yes' to erase the disks named above and install: ");
                fflush(stdout);
                if (!fgets(line, sizeof(line), stdin) || strcmp(line, "yes\n") != 0)
                        return log_error_errno(ECANCELED, "nothing was written");
                o.dry_run = false;
                prog.started = false;
        }
        r = pipeline_run(&o, &res, &err);
        if (prog.tty)
                putchar('\n');
        if (r < 0)
                return log_error_errno(r, "%s (the commands and their output are in %s)", err.msg,
                                       arg_log);
        if (arg_dry_run)
                return 0;
        printf("kvmforge-install: installed %s on %s in",
               res.hostname[0] ? res.hostname : "the node", res.disks);
        double total = 0;
        for (size_t i = 0; i < PIPELINE_STEP_COUNT; i++)
                total += res.step_seconds[i];
        printf(" %.0f s (", total);
        for (size_t i = 0; i < PIPELINE_STEP_COUNT; i++)
                printf("%s%s %.1f s", i ? ", " : "", pipeline_step_names[i], res.step_seconds[i]);
        printf(")\n");
        fflush(stdout);
        /* The live environment's /init started us: the machine is ours to reboot. */
        if (arg_medium && !arg_no_reboot && getppid() == 1)
                cli_finish_live(arg_medium, &res);
        return 0;
}

static void unpack_progress(void *userdata, uint64_t done, uint64_t total)
{
        bool *tty = userdata;

        if (*tty)
                fprintf(stderr, "\r\033[Kunpacking: %3u%%",
                        total ? (unsigned) (done * 100 / total) : 0);
}

/* kvmforge-install unpack-payload FILE DIR: the install's unpack step alone (for rescue work,
 * and for bench/install.sh, which compares it with tar). */
int unpack_payload_main(int argc, char **argv)
{
        struct err err = { { 0 } };
        bool tty = isatty(STDERR_FILENO);
        int r;

        if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
                printf("Usage: kvmforge-install unpack-payload FILE DIR\n\n"
                       "Unpack the node's system (the medium's " PIPELINE_PAYLOAD_PATH ") into\n"
                       "DIR as the install does: owners, modes, times, links and file\n"
                       "capabilities kept, nothing written outside DIR.\n");
                return EXIT_SUCCESS;
        }
        if (argc != 3) {
                fprintf(stderr, "kvmforge-install: unpack-payload takes FILE and DIR; see "
                                "'kvmforge-install unpack-payload --help'\n");
                return EXIT_USAGE;
        }
        r = payload_unpack(argv[1], argv[2], unpack_progress, &tty, &err);
        if (tty)
                fputc('\n', stderr);
        if (r < 0) {
                log_error_errno(r, "%s", err.msg);
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

int install_main(int argc, char **argv)
{
        int r = parse(argc, argv);

        if (r <= 0)
                return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
        return run() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
