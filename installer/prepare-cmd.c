/* kvmforge-install prepare-disks: the storage part of an install, on its own: the answer read
 * and checked against this machine, the plan shown, then applied (with --yes only). */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "answer_fetch.h"
#include "cleanup.h"
#include "cli.h"
#include "hw.h"
#include "log.h"
#include "storage.h"

#define DEFAULT_LOG "/tmp/kvmforge-install.log"

static const char *arg_answer;
static const char *arg_mount;
static const char *arg_log = DEFAULT_LOG;
static bool arg_yes;

static void help(void)
{
        printf("Usage: kvmforge-install prepare-disks --answer=SRC --yes [--mount=DIR]\n\n"
               "Apply the storage part of an answer file to this machine's disks: the plan is\n"
               "printed first (the disks ERASED by name), then the partition tables, LVM volumes\n"
               "and filesystems are made, exactly as the full install makes them.\n\n"
               "Options:\n"
               "      --answer=SRC  the answer file (path or URL); its layout and disk choice\n"
               "      --yes         really erase the disks the plan names (without it, only the\n"
               "                    plan is printed)\n"
               "      --mount=DIR   mount the new root filesystem (and the ESP under it) at DIR\n"
               "      --log=FILE    append every command and its output (default " DEFAULT_LOG ")\n"
               "  -h, --help        show this help\n\n"
               "Exit status: 0 done, 1 refused or failed (the message names the step), 2 bad\n"
               "usage.\n");
}

static int parse(int argc, char **argv)
{
        enum { OPT_ANSWER = 0x100, OPT_YES, OPT_MOUNT, OPT_LOG };
        static const struct option options[] = {
                { "answer", required_argument, NULL, OPT_ANSWER },
                { "yes", no_argument, NULL, OPT_YES },
                { "mount", required_argument, NULL, OPT_MOUNT },
                { "log", required_argument, NULL, OPT_LOG },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case OPT_ANSWER:
                        arg_answer = optarg;
                        break;
                case OPT_YES:
                        arg_yes = true;
                        break;
                case OPT_MOUNT:
                        arg_mount = optarg;
                        break;
                case OPT_LOG:
                        arg_log = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr, "kvmforge-install: bad option; see 'kvmforge-install "
                                        "prepare-disks --help'\n");
                        return -EINVAL;
                }
        if (optind != argc || !arg_answer) {
                fprintf(stderr, "kvmforge-install: prepare-disks needs --answer=SRC and no other "
                                "arguments; see 'kvmforge-install prepare-disks --help'\n");
                return -EINVAL;
        }
        return 1;
}

static void show_step(void *userdata, const char *what)
{
        (void) userdata;
        fprintf(stderr, "kvmforge-install: %s\n", what);
}

static int run(void)
{
        _cleanup_(answer_release) struct answer a = { 0 };
        _cleanup_(storage_plan_release) struct storage_plan plan = { 0 };
        _cleanup_close_ int log_fd = -1;
        struct hw_source hs = { 0 };
        struct hw_report hw = { 0 };
        struct err err = { { 0 } };
        char buf[1024];
        int r;

        if ((r = cli_load_answer(arg_answer, &a)) < 0)
                return r;
        if ((r = hw_report_detect(&hs, &hw)) < 0)
                return log_error_errno(r, "cannot detect the hardware: %m");
        struct answer_check_env env = { .hw = &hw };
        r = answer_check_hw(&a, &env);
        if (r >= 0) {
                answer_sort_diags(&a);
                for (size_t i = 0; i < a.n_diags; i++)
                        if (a.diags[i].level != ANSWER_NOTICE) {
                                answer_format_diag(&a, &a.diags[i], buf, sizeof(buf));
                                fprintf(stderr, "%s\n", buf);
                        }
        }
        if (r < 0 || a.n_errors) {
                hw_report_release(&hw);
                return log_error_errno(r < 0 ? r : EINVAL,
                                       "'%s' cannot be installed here; nothing was written",
                                       arg_answer);
        }
        struct storage_input in = {
                .disks = hw.disks, .n_disks = hw.n_disks, .ram = hw.memory, .answer = &a
        };
        r = storage_plan(&in, &plan, &err);
        hw_report_release(&hw);
        if (r < 0)
                return log_error_errno(r, "no storage plan: %s; nothing was written", err.msg);
        storage_plan_print(&plan, stdout);
        fflush(stdout);
        if (!arg_yes)
                return log_error_errno(EPERM, "nothing written: add --yes to erase the disks "
                                              "named above and apply this plan");
        log_fd = open(arg_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0)
                return log_error_errno(errno, "cannot open the log '%s': %m", arg_log);
        struct storage_apply_options ao = { .log_fd = log_fd,
                                            .mount_dir = arg_mount,
                                            .step = show_step };
        if ((r = storage_apply(&plan, &ao, &err)) < 0)
                return log_error_errno(r, "%s (the commands and their output are in %s)", err.msg,
                                       arg_log);
        fprintf(stderr, "kvmforge-install: the disks are ready%s%s\n",
                arg_mount ? ", mounted at " : "", arg_mount ? arg_mount : "");
        return 0;
}

int prepare_disks_main(int argc, char **argv)
{
        int r = parse(argc, argv);

        if (r <= 0)
                return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
        return run() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
