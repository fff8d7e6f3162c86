/* mkinitramfs: a thin command line over common/initramfs.c, so that shell tests (and a person)
 * can build an initramfs the way kvmforge-image does. Options are applied in order: the
 * skeleton first, then programs and busybox, files, and the modules last. */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "initramfs.h"

#define LIST_MAX 4096

static const char *arg_out;
static const char *arg_init;
static const char *arg_busybox;
static const char *arg_modules_dir;
static const char *arg_programs[LIST_MAX];
static size_t arg_n_programs;
static const char *arg_programs_at[LIST_MAX];
static size_t arg_n_programs_at;
static const char *arg_files[LIST_MAX];
static size_t arg_n_files;
static const char *arg_modules[LIST_MAX];
static size_t arg_n_modules;
static enum initramfs_compression arg_compression = INITRAMFS_ZSTD;
static int arg_level;
static int arg_verbose;

static void help(void)
{
        printf("Usage: mkinitramfs [OPTIONS] OUT\n"
               "Builds a cpio newc initramfs (zstd by default) with common/initramfs.c.\n\n"
               "  -i, --init SRC          SRC as /init (mode 0755)\n"
               "  -p, --program PROG      PROG (a path or a name in PATH) and its libraries\n"
               "  -P, --program-at SRC:DST  the program SRC as DST, and its libraries\n"
               "  -b, --busybox PROG      busybox and a link for each of its applets\n"
               "  -f, --file SRC:DST      the host file SRC as DST (its mode kept)\n"
               "  -d, --modules-dir DIR   the kernel modules tree (.../lib/modules/RELEASE)\n"
               "  -m, --module NAME       a module and its dependencies (needs -d)\n"
               "  -c, --compress ALG      zstd, gzip or none\n"
               "  -l, --level N           compression level (0: the default)\n"
               "  -v, --verbose           print the entry count and the time taken\n"
               "  -h, --help              this text\n");
}

static int push(const char **list, size_t *n, const char *v)
{
        if (*n >= LIST_MAX) {
                fprintf(stderr, "mkinitramfs: too many options of one kind\n");
                return -E2BIG;
        }
        list[(*n)++] = v;
        return 0;
}

static int parse_argv(int argc, char *argv[])
{
        static const struct option opts[] = {
                { "init", required_argument, NULL, 'i' },
                { "program", required_argument, NULL, 'p' },
                { "program-at", required_argument, NULL, 'P' },
                { "busybox", required_argument, NULL, 'b' },
                { "file", required_argument, NULL, 'f' },
                { "modules-dir", required_argument, NULL, 'd' },
                { "module", required_argument, NULL, 'm' },
                { "compress", required_argument, NULL, 'c' },
                { "level", required_argument, NULL, 'l' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "i:p:P:b:f:d:m:c:l:vh", opts, NULL)) >= 0) {
                switch (c) {
                case 'i':
                        arg_init = optarg;
                        break;
                case 'p':
                        r = push(arg_programs, &arg_n_programs, optarg);
                        break;
                case 'b':
                        arg_busybox = optarg;
                        break;
                case 'f':
                case 'P':
                        if (!strchr(optarg, ':') || strchr(optarg, ':')[1] != '/') {
                                fprintf(stderr, "mkinitramfs: --%s wants SRC:/DST, not '%s'\n",
                                        c == 'f' ? "file" : "program-at", optarg);
                                return -EINVAL;
                        }
                        if (c == 'f')
                                r = push(arg_files, &arg_n_files, optarg);
                        else
                                r = push(arg_programs_at, &arg_n_programs_at, optarg);
                        break;
                case 'd':
                        arg_modules_dir = optarg;
                        break;
                case 'm':
                        r = push(arg_modules, &arg_n_modules, optarg);
                        break;
                case 'c':
                        if (strcmp(optarg, "zstd") == 0)
                                arg_compression = INITRAMFS_ZSTD;
                        else if (strcmp(optarg, "gzip") == 0)
                                arg_compression = INITRAMFS_GZIP;
                        else if (strcmp(optarg, "none") == 0)
                                arg_compression = INITRAMFS_NONE;
                        else {
                                fprintf(stderr, "mkinitramfs: unknown compression '%s'\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'l':
                        arg_level = atoi(optarg);
                        break;
                case 'v':
                        arg_verbose = 1;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr, "Try 'mkinitramfs --help'.\n");
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        if (optind + 1 != argc) {
                fprintf(stderr, "mkinitramfs: one OUT file expected; try 'mkinitramfs --help'\n");
                return -EINVAL;
        }
        if (arg_n_modules && !arg_modules_dir) {
                fprintf(stderr, "mkinitramfs: --module needs --modules-dir\n");
                return -EINVAL;
        }
        arg_out = argv[optind];
        return 1;
}

DEFINE_CLEANUP_FUNC(struct initramfs *, initramfs_free, NULL)

static int run(void)
{
        _cleanup_(initramfs_freep) struct initramfs *ird = NULL;
        struct err err = { { 0 } };
        struct timespec t0, t1;
        int r;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = initramfs_new(arg_out, &ird, &err);
        if (r >= 0)
                r = initramfs_set_compression(ird, arg_compression, arg_level, &err);
        if (r >= 0 && arg_init)
                r = initramfs_add_file(ird, arg_init, "/init", 0755, &err);
        if (r >= 0 && arg_busybox)
                r = initramfs_add_busybox(ird, arg_busybox, &err);
        for (size_t i = 0; r >= 0 && i < arg_n_programs; i++)
                r = initramfs_add_program(ird, arg_programs[i], &err);
        for (size_t i = 0; r >= 0 && i < arg_n_programs_at + arg_n_files; i++) {
                bool file = i >= arg_n_programs_at;
                _cleanup_free_ char *src =
                        strdup(file ? arg_files[i - arg_n_programs_at] : arg_programs_at[i]);
                char *colon;

                if (!src)
                        return -ENOMEM;
                colon = strchr(src, ':');
                *colon = '\0';
                r = file ? initramfs_add_file(ird, src, colon + 1, 0, &err)
                         : initramfs_add_program_at(ird, src, colon + 1, &err);
        }
        if (r >= 0 && arg_modules_dir)
                r = initramfs_add_modules(ird, arg_modules_dir, arg_modules, arg_n_modules, &err);
        if (r >= 0)
                r = initramfs_finish(ird, &err);
        if (r < 0) {
                fprintf(stderr, "mkinitramfs: cannot build '%s': %s\n", arg_out,
                        err.msg[0] ? err.msg : strerror(-r));
                return r;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (arg_verbose)
                fprintf(stderr, "mkinitramfs: '%s': %zu entries, %zu modules, %.2f s\n", arg_out,
                        initramfs_count(ird), initramfs_module_count(ird),
                        (double) (t1.tv_sec - t0.tv_sec) +
                                (double) (t1.tv_nsec - t0.tv_nsec) / 1e9);
        return 0;
}

int main(int argc, char *argv[])
{
        int r = parse_argv(argc, argv);

        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        return run() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
