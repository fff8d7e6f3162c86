/* mkiso: builds a hybrid BIOS/UEFI ISO from a staging directory with bootmenu_make_iso(), so
 * that shell tests can drive the library; or prints the boot menu (--print-menu). A test
 * tool, not installed: `kvmforge-image iso` is the real front-end. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootmenu.h"

static const char *arg_staging, *arg_output, *arg_volume_id, *arg_build_id, *arg_grub_cfg;
static const char *arg_font;
static long long arg_timestamp = -1;
static bool arg_print_menu, arg_progress;
static struct bootmenu_options arg_menu = {
        .kernel = "/boot/vmlinuz",
        .initrd = "/boot/initrd.img",
        .timeout = BOOTMENU_TIMEOUT_DEFAULT,
};

static void help(void)
{
        printf("Usage: mkiso [OPTIONS] --staging DIR --output FILE\n"
               "       mkiso [MENU OPTIONS] --print-menu\n\n"
               "  -s, --staging DIR      the ISO's root\n"
               "  -o, --output FILE      the ISO to write\n"
               "  -V, --volume-id ID     volume label (default KVMFORGE)\n"
               "      --build-id ID      the medium marker's id (default from label+time)\n"
               "  -t, --timestamp SECS   every date (default $SOURCE_DATE_EPOCH, else now)\n"
               "      --grub-cfg FILE    use this grub.cfg instead of the generated menu\n"
               "      --font FILE        GRUB font for a graphical menu ('' for none)\n"
               "      --progress         print progress on stderr\n"
               "Menu:\n"
               "      --label TEXT  --version TEXT  --kernel PATH  --initrd PATH\n"
               "      --answer-embedded  --console SPEC  --timeout SECS  --append ARGS\n"
               "      --print-menu       write the menu to stdout and exit\n");
}

static void progress(void *userdata, uint64_t done, uint64_t total)
{
        (void) userdata;
        fprintf(stderr, "mkiso: %" PRIu64 "/%" PRIu64 " bytes\n", done, total);
}

static int parse_int(const char *s, long long *ret)
{
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || end == s || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_argv(int argc, char **argv)
{
        enum {
                ARG_BUILD_ID = 0x100,
                ARG_GRUB_CFG,
                ARG_FONT,
                ARG_PROGRESS,
                ARG_LABEL,
                ARG_VERSION,
                ARG_KERNEL,
                ARG_INITRD,
                ARG_ANSWER,
                ARG_CONSOLE,
                ARG_TIMEOUT,
                ARG_APPEND,
                ARG_PRINT_MENU,
        };
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "staging", required_argument, NULL, 's' },
                { "output", required_argument, NULL, 'o' },
                { "volume-id", required_argument, NULL, 'V' },
                { "timestamp", required_argument, NULL, 't' },
                { "build-id", required_argument, NULL, ARG_BUILD_ID },
                { "grub-cfg", required_argument, NULL, ARG_GRUB_CFG },
                { "font", required_argument, NULL, ARG_FONT },
                { "progress", no_argument, NULL, ARG_PROGRESS },
                { "label", required_argument, NULL, ARG_LABEL },
                { "version", required_argument, NULL, ARG_VERSION },
                { "kernel", required_argument, NULL, ARG_KERNEL },
                { "initrd", required_argument, NULL, ARG_INITRD },
                { "answer-embedded", no_argument, NULL, ARG_ANSWER },
                { "console", required_argument, NULL, ARG_CONSOLE },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "append", required_argument, NULL, ARG_APPEND },
                { "print-menu", no_argument, NULL, ARG_PRINT_MENU },
                {},
        };
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        long long v;
        int c;

        if (sde && *sde && parse_int(sde, &arg_timestamp) < 0) {
                fprintf(stderr, "mkiso: SOURCE_DATE_EPOCH '%s' is not a number\n", sde);
                return -EINVAL;
        }
        while ((c = getopt_long(argc, argv, "hs:o:V:t:", opts, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 's':
                        arg_staging = optarg;
                        break;
                case 'o':
                        arg_output = optarg;
                        break;
                case 'V':
                        arg_volume_id = optarg;
                        break;
                case 't':
                        if (parse_int(optarg, &arg_timestamp) < 0 || arg_timestamp < 0) {
                                fprintf(stderr, "mkiso: bad --timestamp '%s'\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_BUILD_ID:
                        arg_build_id = optarg;
                        break;
                case ARG_GRUB_CFG:
                        arg_grub_cfg = optarg;
                        break;
                case ARG_FONT:
                        arg_font = optarg;
                        break;
                case ARG_PROGRESS:
                        arg_progress = true;
                        break;
                case ARG_LABEL:
                        arg_menu.label = optarg;
                        break;
                case ARG_VERSION:
                        arg_menu.version = optarg;
                        break;
                case ARG_KERNEL:
                        arg_menu.kernel = optarg;
                        break;
                case ARG_INITRD:
                        arg_menu.initrd = optarg;
                        break;
                case ARG_ANSWER:
                        arg_menu.answer_embedded = true;
                        break;
                case ARG_CONSOLE:
                        arg_menu.console = optarg;
                        break;
                case ARG_TIMEOUT:
                        if (parse_int(optarg, &v) < 0 || v < -2 || v > 3600) {
                                fprintf(stderr, "mkiso: bad --timeout '%s'\n", optarg);
                                return -EINVAL;
                        }
                        arg_menu.timeout = (int) v;
                        break;
                case ARG_APPEND:
                        arg_menu.append = optarg;
                        break;
                case ARG_PRINT_MENU:
                        arg_print_menu = true;
                        break;
                default:
                        fprintf(stderr, "Try 'mkiso --help'.\n");
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "mkiso: unexpected argument '%s'; try 'mkiso --help'\n",
                        argv[optind]);
                return -EINVAL;
        }
        if (!arg_print_menu && (!arg_staging || !arg_output)) {
                fprintf(stderr, "mkiso: --staging and --output are needed; try 'mkiso --help'\n");
                return -EINVAL;
        }
        return 1;
}

static int run(void)
{
        struct err err = { "" };
        int r;

        if (arg_print_menu) {
                r = bootmenu_write_cfg(stdout, &arg_menu, &err);
                if (r < 0)
                        fprintf(stderr, "mkiso: cannot write the menu: %s\n", err.msg);
                return r;
        }
        const struct bootmenu_iso_options o = {
                .staging = arg_staging,
                .volume_id = arg_volume_id,
                .build_id = arg_build_id,
                .timestamp = (time_t) arg_timestamp,
                .grub_cfg = arg_grub_cfg,
                .menu = arg_menu,
                .font_file = arg_font,
                .progress = arg_progress ? progress : NULL,
        };
        r = bootmenu_make_iso(&o, arg_output, &err);
        if (r < 0)
                fprintf(stderr, "mkiso: %s\n", err.msg[0] ? err.msg : strerror(-r));
        return r;
}

int main(int argc, char **argv)
{
        int r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        return run() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
