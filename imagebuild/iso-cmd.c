/* kvmforge-image iso: the installer ISO (see common/isobuild.h for the stages). */
#include "cleanup.h"
#include "cli.h"
#include "isobuild.h"
#include "log.h"
#include "payload.h"
#include "strv.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_OUT   "kvmforge.iso"
#define DEFAULT_CACHE "/var/cache/kvmforge"

static const char *arg_out = DEFAULT_OUT;
static const char *arg_suite;
static const char *arg_mirror;
static const char *arg_answer;
static const char *arg_label;
static const char *arg_console;
static const char *arg_cache = DEFAULT_CACHE;
static const char *arg_log;
static char **arg_packages;
static size_t arg_n_packages;
static long arg_timestamp = -1;

void iso_help(void)
{
        printf("Usage: kvmforge-image iso [-o FILE] [--suite SUITE] [--mirror URL] [--answer FILE]\n"
               "                          [--packages LIST] [--label LABEL] [--console TTY,BAUD]\n\n"
               "Build the installer ISO: a hybrid image that boots from optical media and from a\n"
               "USB stick written raw, on BIOS and UEFI, and installs a KVM node offline.\n\n"
               "Options:\n"
               "  -o, --output=FILE     the ISO (default " DEFAULT_OUT
               "); written under a temporary\n"
               "                        name and renamed when complete\n"
               "      --suite=SUITE     the node's Debian release (default " PAYLOAD_DEFAULT_SUITE
               ")\n"
               "      --mirror=URL      the Debian mirror (default " PAYLOAD_DEFAULT_MIRROR ")\n"
               "      --answer=FILE     embed this kickstart file: checked now (a bad one fails the\n"
               "                        build), installed unattended after 5 s at boot\n"
               "      --packages=LIST   more Debian packages for the node (commas or spaces)\n"
               "      --label=LABEL     the ISO's volume label (default KVMFORGE)\n"
               "      --console=SPEC    every boot entry also on this serial console, as in\n"
               "                        ttyS0,115200 (for headless machines)\n"
               "      --cache=DIR       keep the downloaded base system here and reuse it while\n"
               "                        suite, mirror and packages stay the same (default\n"
               "                        " DEFAULT_CACHE ")\n"
               "      --timestamp=EPOCH every date on the ISO (default $SOURCE_DATE_EPOCH, else now)\n"
               "      --log=FILE        mmdebstrap's and GRUB's output (default: FILE.log beside\n"
               "                        the ISO)\n"
               "  -h, --help            show this help\n\n"
               "Needs root (mmdebstrap builds the node's system as root) and the Debian archive.\n"
               "Exit status: 0 built, 1 failed (nothing is left at FILE), 2 bad usage.\n");
}

static int add_packages(const char *list)
{
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;

        if (!copy)
                return log_error_errno(ENOMEM, "out of memory");
        for (char *w = strtok_r(copy, ", \t\n", &save); w; w = strtok_r(NULL, ", \t\n", &save))
                if (strv_addf(&arg_packages, &arg_n_packages, "%s", w) < 0)
                        return log_error_errno(ENOMEM, "out of memory");
        return 0;
}

int iso_parse(int argc, char **argv)
{
        enum {
                OPT_SUITE = 0x100,
                OPT_MIRROR,
                OPT_ANSWER,
                OPT_PACKAGES,
                OPT_LABEL,
                OPT_CONSOLE,
                OPT_CACHE,
                OPT_TIMESTAMP,
                OPT_LOG
        };
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                { "suite", required_argument, NULL, OPT_SUITE },
                { "mirror", required_argument, NULL, OPT_MIRROR },
                { "answer", required_argument, NULL, OPT_ANSWER },
                { "packages", required_argument, NULL, OPT_PACKAGES },
                { "label", required_argument, NULL, OPT_LABEL },
                { "console", required_argument, NULL, OPT_CONSOLE },
                { "cache", required_argument, NULL, OPT_CACHE },
                { "timestamp", required_argument, NULL, OPT_TIMESTAMP },
                { "log", required_argument, NULL, OPT_LOG },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        char *end;
        int c;

        if (sde && *sde)
                arg_timestamp = strtol(sde, NULL, 10);
        while ((c = getopt_long(argc, argv, "ho:", options, NULL)) >= 0)
                switch (c) {
                case 'o':
                        arg_out = optarg;
                        break;
                case OPT_SUITE:
                        arg_suite = optarg;
                        break;
                case OPT_MIRROR:
                        arg_mirror = optarg;
                        break;
                case OPT_ANSWER:
                        arg_answer = optarg;
                        break;
                case OPT_PACKAGES:
                        if (add_packages(optarg) < 0)
                                return -ENOMEM;
                        break;
                case OPT_LABEL:
                        arg_label = optarg;
                        break;
                case OPT_CONSOLE:
                        arg_console = optarg;
                        break;
                case OPT_CACHE:
                        arg_cache = optarg;
                        break;
                case OPT_TIMESTAMP:
                        errno = 0;
                        arg_timestamp = strtol(optarg, &end, 10);
                        if (errno || *end || arg_timestamp < 0)
                                return usage_error(
                                        "iso", "'%s' is not a time in seconds since 1970", optarg);
                        break;
                case OPT_LOG:
                        arg_log = optarg;
                        break;
                case 'h':
                        iso_help();
                        return 0;
                default:
                        return usage_error("iso", "%s", "bad option");
                }
        if (optind != argc)
                return usage_error("iso", "unexpected argument '%s'", argv[optind]);
        return 1;
}

static void show_stage(void *userdata, const char *name, double seconds, const char *what)
{
        (void) userdata;
        if (seconds > 0)
                printf("kvmforge-image: %-9s %s (%.1f s)\n", name, what, seconds);
        else
                printf("kvmforge-image: %-9s %s ...\n", name, what);
        fflush(stdout);
}

/* The build directory this program runs from: kvmforge-install and the rest are beside it,
 * and the source tree (iso/, postinst/) is its parent or, installed, /usr/share/kvmforge. */
static int find_dirs(char *tools, size_t tsize, char *data, size_t dsize)
{
        char exe[PATH_MAX], probe[PATH_MAX + 32];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

        if (n < 0)
                return -errno;
        exe[n] = '\0';
        *strrchr(exe, '/') = '\0';
        (void) snprintf(tools, tsize, "%s", exe);
        /* Up from the program's directory: build/ and build/sanitize/ sit in the tree. */
        for (;;) {
                char *slash;
                (void) snprintf(probe, sizeof(probe), "%s/iso/lvm.conf", exe);
                if (access(probe, R_OK) == 0) {
                        (void) snprintf(data, dsize, "%s", exe);
                        return 0;
                }
                slash = strrchr(exe, '/');
                if (!slash || slash == exe)
                        break;
                *slash = '\0';
        }
        (void) snprintf(data, dsize, "/usr/share/kvmforge");
        return 0;
}

int iso_main(void)
{
        char tools[PATH_MAX], data[PATH_MAX], logpath[PATH_MAX];
        struct err err = { { 0 } };
        _cleanup_close_ int log_fd = -1;
        int r;

        if (geteuid() != 0)
                return log_error_errno(EPERM, "building the ISO needs root: mmdebstrap makes the "
                                              "node's system as root; run it with sudo");
        if ((r = find_dirs(tools, sizeof(tools), data, sizeof(data))) < 0)
                return log_error_errno(r, "cannot find where kvmforge's programs are: %m");
        (void) snprintf(logpath, sizeof(logpath), "%s.log", arg_out);
        if (arg_log)
                (void) snprintf(logpath, sizeof(logpath), "%s", arg_log);
        log_fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0)
                return log_error_errno(errno, "cannot write the log '%s': %m", logpath);
        struct isobuild_options o = { .suite = arg_suite,
                                      .mirror = arg_mirror,
                                      .answer = arg_answer,
                                      .packages = arg_packages,
                                      .n_packages = arg_n_packages,
                                      .label = arg_label,
                                      .console = arg_console,
                                      .tools_dir = tools,
                                      .data_dir = data,
                                      .cache_dir = arg_cache,
                                      .timestamp = arg_timestamp,
                                      .log_fd = log_fd,
                                      .stage = show_stage };
        r = isobuild_run(&o, arg_out, &err);
        strv_free(&arg_packages, &arg_n_packages);
        if (r < 0)
                return log_error_errno(r, "cannot build '%s': %s (details in %s)", arg_out, err.msg,
                                       logpath);
        printf("kvmforge-image: wrote %s\n", arg_out);
        return 0;
}
