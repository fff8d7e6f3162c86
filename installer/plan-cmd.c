/* kvmforge-install plan: the storage plan for this machine (or for a disk and RAM size given
 * on the command line), from an answer file or the defaults. Touches nothing. */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "answer.h"
#include "answer_fetch.h"
#include "cleanup.h"
#include "cli.h"
#include "hw.h"
#include "json.h"
#include "log.h"
#include "storage.h"
#include "strv.h"
#include "units.h"

static const char *arg_answer;
static const char *arg_sysroot;
static char **arg_disks;
static size_t n_arg_disks;
static uint64_t arg_disk_sizes[8];
static size_t n_arg_disk_sizes;
static uint64_t arg_ram;
static unsigned arg_sector = 512;
static bool arg_json;

static void help(void)
{
        printf("Usage: kvmforge-install plan [OPTIONS...]\n\n"
               "Print the storage plan the installer would apply: which disk is erased, its\n"
               "partitions, the LVM volumes and what stays unallocated. Nothing is written.\n\n"
               "Options:\n"
               "      --answer=SRC      take the layout and disk choice from this answer file\n"
               "                        (path or URL); default: the default layout\n"
               "      --disk=DEV        consider only this disk (repeatable)\n"
               "      --disk-size=SIZE  plan for a blank disk of SIZE (e.g. 500G, 2T) instead of\n"
               "                        this machine's disks (repeat for sda, sdb, ...)\n"
               "      --ram=SIZE        the RAM to size swap for (default: this machine's)\n"
               "      --sector=N        logical sector size of --disk-size (512 or 4096)\n"
               "      --sysroot=DIR     read the disks from a captured tree (see detect)\n"
               "      --json            print the plan as JSON\n"
               "  -h, --help            show this help\n\n"
               "Exit status: 0 planned, 1 no plan is possible (the message says why), 2 bad usage.\n");
}

static int parse(int argc, char **argv)
{
        enum {
                OPT_ANSWER = 0x100,
                OPT_DISK,
                OPT_DISK_SIZE,
                OPT_RAM,
                OPT_SECTOR,
                OPT_SYSROOT,
                OPT_JSON
        };
        static const struct option options[] = {
                { "answer", required_argument, NULL, OPT_ANSWER },
                { "disk", required_argument, NULL, OPT_DISK },
                { "disk-size", required_argument, NULL, OPT_DISK_SIZE },
                { "ram", required_argument, NULL, OPT_RAM },
                { "sector", required_argument, NULL, OPT_SECTOR },
                { "sysroot", required_argument, NULL, OPT_SYSROOT },
                { "json", no_argument, NULL, OPT_JSON },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case OPT_ANSWER:
                        arg_answer = optarg;
                        break;
                case OPT_DISK:
                        if (strv_addf(&arg_disks, &n_arg_disks, "%s", optarg) < 0)
                                return -ENOMEM;
                        break;
                case OPT_DISK_SIZE:
                        if (n_arg_disk_sizes == 8) {
                                fprintf(stderr, "kvmforge-install: at most 8 --disk-size\n");
                                return -EINVAL;
                        }
                        /* fall through */
                case OPT_RAM:
                        if (units_parse_bytes(optarg, 1,
                                              c == OPT_RAM
                                                      ? &arg_ram
                                                      : &arg_disk_sizes[n_arg_disk_sizes++]) < 0) {
                                fprintf(stderr,
                                        "kvmforge-install: '%s' is not a size (as 500G or 2T); "
                                        "see 'kvmforge-install plan --help'\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                case OPT_SECTOR:
                        if (strcmp(optarg, "512") != 0 && strcmp(optarg, "4096") != 0) {
                                fprintf(stderr, "kvmforge-install: --sector is 512 or 4096\n");
                                return -EINVAL;
                        }
                        arg_sector = (unsigned) atoi(optarg);
                        break;
                case OPT_SYSROOT:
                        arg_sysroot = optarg;
                        break;
                case OPT_JSON:
                        arg_json = true;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr, "kvmforge-install: bad option; see 'kvmforge-install plan "
                                        "--help'\n");
                        return -EINVAL;
                }
        if (optind != argc) {
                fprintf(stderr, "kvmforge-install: plan takes no arguments; see "
                                "'kvmforge-install plan --help'\n");
                return -EINVAL;
        }
        if (n_arg_disk_sizes && (n_arg_disks || arg_sysroot)) {
                fprintf(stderr, "kvmforge-install: --disk-size plans for a disk of its own: drop "
                                "--disk and --sysroot\n");
                return -EINVAL;
        }
        return 1;
}

static int run(void)
{
        _cleanup_(answer_release) struct answer a = { 0 };
        _cleanup_(storage_plan_release) struct storage_plan plan = { 0 };
        struct hw_source hs = { .sysroot = arg_sysroot };
        struct hw_report hw = { 0 };
        struct hw_disk synthetic[8] = { 0 };
        struct storage_input in = { 0 };
        struct err err = { { 0 } };
        _cleanup_free_ struct hw_disk *chosen = NULL;
        int r;

        if (arg_answer && (r = cli_load_answer(arg_answer, &a)) < 0)
                return r;
        in.answer = arg_answer ? &a : NULL;
        if (n_arg_disk_sizes) {
                /* Blank disks sda, sdb, ... of the sizes given, in that order. */
                for (size_t i = 0; i < n_arg_disk_sizes; i++) {
                        struct hw_disk *d = &synthetic[i];
                        snprintf(d->name, sizeof(d->name), "sd%c", (char) ('a' + i));
                        snprintf(d->path, sizeof(d->path), "/dev/%s", d->name);
                        strcpy(d->transport, "sata");
                        d->size = arg_disk_sizes[i];
                        d->logical_sector = d->physical_sector = arg_sector;
                }
                in.disks = synthetic;
                in.n_disks = n_arg_disk_sizes;
                in.ram = arg_ram ? arg_ram : hw_memory_detect(&hs);
        } else {
                if ((r = hw_report_detect(&hs, &hw)) < 0)
                        return log_error_errno(r, "cannot detect the hardware: %m");
                in.disks = hw.disks;
                in.n_disks = hw.n_disks;
                in.ram = arg_ram ? arg_ram : hw.memory;
                if (n_arg_disks) {
                        /* Only the disks named here are candidates. */
                        if (!(chosen = calloc(hw.n_disks + 1, sizeof(*chosen)))) {
                                hw_report_release(&hw);
                                return log_error_errno(ENOMEM, "cannot plan: %m");
                        }
                        size_t n = 0;
                        _cleanup_free_ size_t *idx = calloc(hw.n_disks + 1, sizeof(*idx));
                        for (size_t i = 0; idx && i < n_arg_disks; i++) {
                                size_t k = 0;
                                if (hw_disks_match(arg_disks[i], hw.disks, hw.n_disks, idx, &k,
                                                   &err) < 0 ||
                                    k == 0) {
                                        hw_report_release(&hw);
                                        return log_error_errno(
                                                ENODEV, "--disk=%s: %s", arg_disks[i],
                                                err.msg[0] ? err.msg : "no such disk");
                                }
                                for (size_t j = 0; j < k && n < hw.n_disks; j++)
                                        chosen[n++] = hw.disks[idx[j]];
                        }
                        in.disks = chosen;
                        in.n_disks = n;
                }
        }
        r = storage_plan(&in, &plan, &err);
        hw_report_release(&hw);
        if (r < 0)
                return log_error_errno(r, "no storage plan: %s", err.msg);
        if (arg_json) {
                struct json j;
                json_init(&j, stdout);
                storage_plan_json(&plan, &j);
        } else {
                storage_plan_print(&plan, stdout);
        }
        if (fflush(stdout) != 0)
                return log_error_errno(errno, "cannot write the plan: %m");
        return 0;
}

int plan_main(int argc, char **argv)
{
        int r = parse(argc, argv);

        if (r > 0)
                r = run() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        else
                r = r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
        strv_free(&arg_disks, &n_arg_disks);
        return r;
}
