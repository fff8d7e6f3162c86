/* kvmforge-install: the node installer: `detect` (the hardware report), `check-answer` and
 * `fetch-answer` (answer files); the sub-commands live in their own files (cli.h). */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "hw.h"
#include "json.h"
#include "log.h"
#include "units.h"

static bool arg_json;
static const char *arg_sysroot;

static void help(void)
{
        printf("Usage: kvmforge-install COMMAND [OPTIONS...]\n\n"
               "Commands:\n"
               "  detect [--json] [--sysroot DIR]  report what this machine can do as a KVM node:\n"
               "                                   CPU virtualization verdict, firmware, memory,\n"
               "                                   disks and what is on them, NICs\n"
               "  check-answer [--strict] [--json] SRC\n"
               "                                   validate a kickstart answer file (path or\n"
               "                                   URL) and print what it will do\n"
               "  fetch-answer [SRC]               fetch the answer as the installer does (kernel\n"
               "                                   command line, medium, labelled disk, HTTP)\n\n"
               "  plan [--answer SRC] [--disk DEV] [--disk-size SIZE --ram SIZE] [--json]\n"
               "                                   print the storage plan (nothing is written)\n"
               "  prepare-disks --answer SRC --yes [--mount DIR]\n"
               "                                   apply the storage part of an answer\n"
               "  install [--answer SRC] [--unattended] (or: --answer SRC)\n"
               "                                   install the node: disks, system, bootloader,\n"
               "                                   configuration, first-boot setup\n"
               "  tui [--dry-run]                  the interactive installer: text screens for the\n"
               "                                   choices, the plan, a confirmation, the install\n\n"
               "Each command has --help.\n\n"
               "Options of detect:\n"
               "      --json          print the full report as JSON (schema in README.md)\n"
               "      --sysroot=DIR   read proc/, sys/, dev/ and kvmforge/{cpuid,msr,kvm} from a\n"
               "                      captured tree instead of this machine\n"
               "  -h, --help          show this help\n\n"
               "Runs unprivileged with less detail (it says what it could not read); run it as\n"
               "root for the firmware lock registers, disk contents and serial numbers.\n");
}

static int parse_detect(int argc, char **argv)
{
        enum { OPT_JSON = 0x100, OPT_SYSROOT };
        static const struct option options[] = { { "json", no_argument, NULL, OPT_JSON },
                                                 { "sysroot", required_argument, NULL,
                                                   OPT_SYSROOT },
                                                 { "help", no_argument, NULL, 'h' },
                                                 {} };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case OPT_JSON:
                        arg_json = true;
                        break;
                case OPT_SYSROOT:
                        arg_sysroot = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr,
                                "kvmforge-install: bad option; see 'kvmforge-install detect --help'\n");
                        return -EINVAL;
                }
        if (optind != argc) {
                fprintf(stderr,
                        "kvmforge-install: detect takes no arguments; see 'kvmforge-install detect --help'\n");
                return -EINVAL;
        }
        return 1;
}

static const char *content_words(const struct hw_content *c, char *buf, size_t max)
{
        if (!c->type[0])
                return "";
        (void) snprintf(buf, max, " %s%s%s%s%s%s", c->type, c->label[0] ? " '" : "", c->label,
                        c->label[0] ? "'" : "", c->vg[0] ? " in VG " : "", c->vg);
        return buf;
}

static void text(const struct hw_report *r)
{
        char a[32], b[160];

        printf("Virtualization: %s\n  %s\n", hw_verdict_names[r->cpu.verdict], r->cpu.reason);
        printf("CPU:      %s, %u threads%s%s\n", r->cpu.model[0] ? r->cpu.model : r->cpu.vendor,
               r->cpu.threads, r->cpu.hypervisor ? ", virtual machine on " : "",
               r->cpu.hypervisor ? (r->cpu.hv_vendor[0] ? r->cpu.hv_vendor : "?") : "");
        printf("Firmware: %s%s, serial ports: %s, console=: %s\n",
               r->firmware.uefi ? "UEFI" : "BIOS",
               r->firmware.secure_boot == HW_YES ? " with Secure Boot" : "",
               r->firmware.serial_ports[0] ? r->firmware.serial_ports : "none",
               r->firmware.cmdline_consoles[0] ? r->firmware.cmdline_consoles : "none");
        printf("Video:    %s%s%s\n          %s\n", r->video.fb[0] ? r->video.fb : "no framebuffer",
               r->video.fb_size[0] ? " " : "", r->video.fb_size, r->video.recommendation);
        printf("Memory:   %s\n",
               r->memory ? units_format_bytes(r->memory, a, sizeof(a)) : "unknown");
        if (r->dmi.vendor[0] || r->dmi.product[0])
                printf("System:   %s %s%s%s\n", r->dmi.vendor, r->dmi.product,
                       r->dmi.serial[0] ? ", serial " : "", r->dmi.serial);
        printf("Disks:\n");
        for (size_t i = 0; i < r->n_disks; i++) {
                const struct hw_disk *d = &r->disks[i];
                printf("  %-10s %10s %-6s %s%s%s%s%s\n", d->name,
                       units_format_bytes(d->size, a, sizeof(a)), d->transport, d->model,
                       d->serial[0] ? " serial " : "", d->serial,
                       d->install_medium ? "  [install medium]"
                       : d->in_use       ? "  [in use]"
                                         : "",
                       d->removable ? "  [removable]" : "");
                if (!d->probed && d->probe_why[0])
                        printf("             content unknown: %s\n", d->probe_why);
                else if (d->table[0] || d->content.type[0])
                        printf("             %s%s%s\n", d->table[0] ? d->table : "",
                               d->table[0] ? " partition table" : "",
                               content_words(&d->content, b, sizeof(b)));
                for (size_t k = 0; k < d->n_parts; k++)
                        printf("             part %u: %s%s\n", d->parts[k].number,
                               units_format_bytes(d->parts[k].size, a, sizeof(a)),
                               content_words(&d->parts[k].content, b, sizeof(b)));
        }
        printf("NICs:\n");
        for (size_t i = 0; i < r->n_nics; i++) {
                const struct hw_nic *n = &r->nics[i];
                printf("  %-10s %s %s link %s", n->name, n->mac,
                       n->virtual_dev ? "(virtual)" : n->driver, hw_tristate_names[n->carrier]);
                if (n->speed_mbps > 0)
                        printf(" %ld Mb/s", n->speed_mbps);
                putchar('\n');
        }
}

static int detect(void)
{
        struct hw_source src = { .sysroot = arg_sysroot };
        struct hw_report r;
        struct stat st;
        int e;

        if (arg_sysroot && (stat(arg_sysroot, &st) < 0 || !S_ISDIR(st.st_mode)))
                return log_error_errno(
                        ENOTDIR, "'%s' is not a captured tree (a directory with proc/ and sys/)",
                        arg_sysroot);
        e = hw_report_detect(&src, &r);
        if (e < 0)
                return log_error_errno(e, "cannot detect the hardware: %m");
        if (arg_json) {
                struct json j;
                json_init(&j, stdout);
                hw_report_json(&r, &j); /* ends the line itself */
        } else {
                text(&r);
        }
        hw_report_release(&r);
        if (fflush(stdout) != 0)
                return log_error_errno(errno, "cannot write the report: %m");
        return 0;
}

int main(int argc, char **argv)
{
        int r;

        log_set_program("kvmforge-install");
        if (argc < 2) {
                help();
                return EXIT_USAGE;
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
                help();
                return EXIT_SUCCESS;
        }
        if (!strcmp(argv[1], "detect")) {
                r = parse_detect(argc - 1, argv + 1);
                if (r <= 0)
                        return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
                return detect() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        if (!strcmp(argv[1], "check-answer"))
                return check_answer_main(argc - 1, argv + 1);
        if (!strcmp(argv[1], "prepare-disks"))
                return prepare_disks_main(argc - 1, argv + 1);
        if (!strcmp(argv[1], "plan"))
                return plan_main(argc - 1, argv + 1);
        if (!strcmp(argv[1], "fetch-answer"))
                return fetch_answer_main(argc - 1, argv + 1);
        if (!strcmp(argv[1], "unpack-payload"))
                return unpack_payload_main(argc - 1, argv + 1);
        if (!strcmp(argv[1], "install"))
                return install_main(argc - 1, argv + 1);
        if (!strcmp(argv[1], "tui"))
                return tui_main(argc - 1, argv + 1);
        /* `kvmforge-install --answer SRC`: the install itself, as the issue names it. */
        if (!strncmp(argv[1], "--answer", 8) || !strcmp(argv[1], "--unattended"))
                return install_main(argc, argv);
        fprintf(stderr, "kvmforge-install: unknown command '%s'; see 'kvmforge-install --help'\n",
                argv[1]);
        return EXIT_USAGE;
}
