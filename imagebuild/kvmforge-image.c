/* kvmforge-image: convert and inspect virtual disk images, import VMware guests, build the
 * installer ISO. */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "convert.h"
#include "image.h"
#include "json.h"
#include "log.h"
#include "units.h"

static int arg_out_format = WRITER_FORMAT_QCOW2;
static int arg_in_format = IMAGE_FORMAT_PROBE;
static bool arg_compress;
static bool arg_prealloc;
static bool arg_progress;
static bool arg_json;
static unsigned arg_threads;

volatile sig_atomic_t cancel_requested;

static void help_main(void)
{
        printf("Usage: kvmforge-image COMMAND [OPTIONS...]\n\n"
               "Convert and inspect virtual disk images (raw, qcow2, VMDK).\n\n"
               "Commands:\n"
               "  convert [-O qcow2|raw] [-c] [--threads N] [-p] SRC DST\n"
               "                        convert SRC (format detected from its content) to DST\n"
               "  info [--json] IMAGE   show format, sizes, extents and the parent chain\n"
               "  import [OPTIONS] SRC  import an OVA or OVF (file or URL) as a libvirt guest\n"
               "  iso [OPTIONS]         build the installer ISO (hybrid BIOS/UEFI, offline)\n\n"
               "Run 'kvmforge-image COMMAND --help' for a command's options.\n");
}

static void help_convert(void)
{
        printf("Usage: kvmforge-image convert [OPTIONS...] SRC DST\n\n"
               "Convert a disk image. SRC may be raw, qcow2 (v2/v3, compressed, with a backing\n"
               "file) or VMDK (any hosted or exported subformat, delta disks included); backing\n"
               "files and VMDK parents are flattened into DST. DST is written under a temporary\n"
               "name and appears only when complete.\n\n"
               "Options:\n"
               "  -O, --output-format=FMT  qcow2 (default) or raw (sparse)\n"
               "  -f, --format=FMT         insist that SRC is FMT (raw, qcow2, vmdk)\n"
               "  -c, --compress           compress qcow2 clusters (qemu can read them)\n"
               "      --preallocation=MODE off (default) or metadata (qcow2)\n"
               "  -t, --threads=N          inflate/deflate threads (default: one per CPU)\n"
               "  -p, --progress           show a progress bar when stderr is a terminal\n"
               "  -h, --help               show this help\n\n"
               "Exit status: 0 done, 1 the conversion failed (DST left untouched), 2 bad usage.\n");
}

static void help_info(void)
{
        printf("Usage: kvmforge-image info [OPTIONS...] IMAGE\n\n"
               "Show an image's format, subformat, virtual and allocated size, extents, VMDK\n"
               "adapter type and hardware version, and the parent chain.\n\n"
               "Options:\n"
               "  -f, --format=FMT  insist that IMAGE is FMT (raw, qcow2, vmdk)\n"
               "      --json        print a JSON object (schema in README.md)\n"
               "  -h, --help        show this help\n");
}

int usage_error(const char *cmd, const char *fmt, const char *what)
{
        fprintf(stderr, "kvmforge-image: ");
        fprintf(stderr, fmt, what);
        fprintf(stderr, "; see 'kvmforge-image %s%s--help'\n", cmd ? cmd : "", cmd ? " " : "");
        return -EINVAL;
}

int parse_threads(const char *s, unsigned *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || v < 1 || v > CONVERT_MAX_THREADS)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

/* Returns 1 to go on, 0 to exit successfully (--help), -EINVAL on a usage error. */
static int parse_convert(int argc, char **argv)
{
        enum { OPT_PREALLOC = 0x100 };
        static const struct option opts[] = {
                { "output-format", required_argument, NULL, 'O' },
                { "format", required_argument, NULL, 'f' },
                { "compress", no_argument, NULL, 'c' },
                { "threads", required_argument, NULL, 't' },
                { "progress", no_argument, NULL, 'p' },
                { "preallocation", required_argument, NULL, OPT_PREALLOC },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "O:f:ct:ph", opts, NULL)) >= 0)
                switch (c) {
                case 'O':
                        arg_out_format = writer_format_from_string(optarg);
                        if (arg_out_format < 0)
                                return usage_error("convert",
                                                   "unknown output format '%s' (use qcow2 or raw)",
                                                   optarg);
                        break;
                case 'f':
                        arg_in_format = image_format_from_string(optarg);
                        if (arg_in_format < 0)
                                return usage_error("convert",
                                                   "unknown format '%s' (use raw, qcow2 or vmdk)",
                                                   optarg);
                        break;
                case 'c':
                        arg_compress = true;
                        break;
                case 't':
                        if (parse_threads(optarg, &arg_threads) < 0)
                                return usage_error("convert", "bad thread count '%s' (1..16)",
                                                   optarg);
                        break;
                case 'p':
                        arg_progress = true;
                        break;
                case OPT_PREALLOC:
                        if (strcmp(optarg, "metadata") == 0)
                                arg_prealloc = true;
                        else if (strcmp(optarg, "off") == 0)
                                arg_prealloc = false;
                        else
                                return usage_error(
                                        "convert",
                                        "unknown preallocation '%s' (use off or metadata)", optarg);
                        break;
                case 'h':
                        help_convert();
                        return 0;
                default:
                        return usage_error("convert", "%s", "bad option");
                }
        if (argc - optind != 2)
                return usage_error("convert", "%s", "convert needs SRC and DST");
        if (arg_out_format == WRITER_FORMAT_RAW && (arg_compress || arg_prealloc))
                return usage_error("convert", "%s",
                                   "-c and --preallocation apply to qcow2 output only");
        if (arg_compress && arg_prealloc)
                return usage_error("convert", "%s",
                                   "-c and --preallocation=metadata exclude each other");
        return 1;
}

static double elapsed(const struct timespec *a, const struct timespec *b)
{
        return (double) (b->tv_sec - a->tv_sec) + (double) (b->tv_nsec - a->tv_nsec) / 1e9;
}

void draw_progress(void *userdata, uint64_t done, uint64_t total)
{
        struct progress *pr = userdata;
        struct timespec now;
        char a[32], b[32], bar[41];
        double secs, frac = total ? (double) done / (double) total : 1;
        unsigned fill = (unsigned) (frac * 40);

        clock_gettime(CLOCK_MONOTONIC, &now);
        if (pr->drawn && done < total && elapsed(&pr->last, &now) < 0.1)
                return;
        pr->last = now;
        pr->drawn = true;
        memset(bar, '#', fill);
        memset(bar + fill, '.', 40 - fill);
        bar[40] = 0;
        secs = elapsed(&pr->start, &now);
        fprintf(stderr, "\r%s%s%3u%% [%s] %s / %s", pr->label ? pr->label : "",
                pr->label ? " " : "", (unsigned) (frac * 100), bar,
                units_format_bytes(done, a, sizeof(a)), units_format_bytes(total, b, sizeof(b)));
        if (secs > 0.5)
                fprintf(stderr, " %s/s",
                        units_format_bytes((uint64_t) ((double) done / secs), a, sizeof(a)));
        fprintf(stderr, "\033[K");
        fflush(stderr);
}

static void on_signal(int sig)
{
        cancel_requested = 1;
        signal(sig, SIG_DFL); /* a second signal ends the program at once */
}

void catch_signals(void)
{
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGHUP, on_signal);
}

static int run_convert(const char *src_path, const char *dst)
{
        _cleanup_(image_freep) struct image *img = NULL;
        struct err err = { { 0 } };
        struct progress pr = { 0 };
        struct convert_options o = {
                .out = { .format = arg_out_format,
                         .compress = arg_compress,
                         .prealloc_metadata = arg_prealloc },
                .threads = arg_threads,
                .cancel = &cancel_requested,
        };
        struct stat st;
        int r;

        r = image_open_path(src_path, arg_in_format, &img, &err);
        if (r < 0)
                return log_error_errno(r, "cannot convert '%s': %s", src_path, err.msg);
        if (stat(dst, &st) == 0 && image_uses_file(img, (uint64_t) st.st_dev, (uint64_t) st.st_ino))
                return log_error_errno(
                        EINVAL, "'%s' is read by the conversion itself; choose another destination",
                        dst);

        if (arg_progress && isatty(STDERR_FILENO)) {
                clock_gettime(CLOCK_MONOTONIC, &pr.start);
                o.progress = draw_progress;
                o.userdata = &pr;
        }
        catch_signals();

        r = convert_image(img, dst, &o, NULL, &err);
        if (pr.drawn)
                fputc('\n', stderr);
        if (r == -ECANCELED && cancel_requested)
                return log_error_errno(r, "converting '%s' was interrupted; '%s' was not written",
                                       src_path, dst);
        if (r < 0)
                return log_error_errno(r, "cannot convert '%s' to '%s': %s", src_path, dst,
                                       err.msg[0] ? err.msg : strerror(-r));
        return 0;
}

static int parse_info(int argc, char **argv)
{
        enum { OPT_JSON = 0x100 };
        static const struct option opts[] = {
                { "json", no_argument, NULL, OPT_JSON },
                { "format", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) >= 0)
                switch (c) {
                case OPT_JSON:
                        arg_json = true;
                        break;
                case 'f':
                        arg_in_format = image_format_from_string(optarg);
                        if (arg_in_format < 0)
                                return usage_error("info",
                                                   "unknown format '%s' (use raw, qcow2 or vmdk)",
                                                   optarg);
                        break;
                case 'h':
                        help_info();
                        return 0;
                default:
                        return usage_error("info", "%s", "bad option");
                }
        if (argc - optind != 1)
                return usage_error("info", "%s", "info needs one IMAGE");
        return 1;
}

static const char *prop(const struct image *img, const char *key)
{
        for (unsigned i = 0; i < img->n_props; i++)
                if (strcmp(img->props[i].key, key) == 0)
                        return img->props[i].value;
        return NULL;
}

static void info_json(struct json *j, const char *key, const struct image *img)
{
        json_begin_object(j, key);
        json_string(j, "filename", img->in->name);
        json_string(j, "format", image_format_names[img->format]);
        json_string(j, "subformat", img->subformat);
        json_u64(j, "virtual_size", img->size);
        json_u64(j, "allocated_size", img->allocated);
        json_begin_object(j, "format_specific");
        for (unsigned i = 0; i < img->n_props; i++)
                json_string(j, img->props[i].key, img->props[i].value);
        json_end_object(j);
        json_begin_array(j, "extents");
        for (unsigned i = 0; i < img->n_extents; i++) {
                json_begin_object(j, NULL);
                json_string(j, "file", img->extents[i].file);
                json_string(j, "type", img->extents[i].type);
                json_u64(j, "size", img->extents[i].size);
                json_u64(j, "offset", img->extents[i].offset);
                json_end_object(j);
        }
        json_end_array(j);
        if (img->backing_name)
                json_string(j, "backing_name", img->backing_name);
        if (img->backing)
                info_json(j, "backing", img->backing);
        else
                json_null(j, "backing");
        json_end_object(j);
}

static void info_text(const struct image *img, unsigned depth)
{
        char a[32], b[32];
        const char *v;

        printf("%*simage: %s\n", depth * 2, "", img->in->name);
        printf("%*sformat: %s%s%s%s\n", depth * 2, "", image_format_names[img->format],
               img->subformat[0] ? " (" : "", img->subformat, img->subformat[0] ? ")" : "");
        printf("%*svirtual size: %s (%llu bytes)\n", depth * 2, "",
               units_format_bytes(img->size, a, sizeof(a)), (unsigned long long) img->size);
        printf("%*sallocated size: %s\n", depth * 2, "",
               units_format_bytes(img->allocated, b, sizeof(b)));
        if ((v = prop(img, "adapter_type")))
                printf("%*sadapter type: %s\n", depth * 2, "", v);
        if ((v = prop(img, "hw_version")))
                printf("%*shardware version: %s\n", depth * 2, "", v);
        for (unsigned i = 0; i < img->n_props; i++) {
                if (!strcmp(img->props[i].key, "adapter_type") ||
                    !strcmp(img->props[i].key, "hw_version"))
                        continue;
                printf("%*s%s: %s\n", depth * 2, "", img->props[i].key, img->props[i].value);
        }
        if (img->n_extents > 1 ||
            (img->n_extents == 1 && strcmp(img->extents[0].type, "qcow2") != 0 &&
             strcmp(img->extents[0].file, img->in->name) != 0)) {
                printf("%*sextents:\n", depth * 2, "");
                for (unsigned i = 0; i < img->n_extents; i++)
                        printf("%*s  %u: %-6s %s (%s)\n", depth * 2, "", i + 1,
                               img->extents[i].type, img->extents[i].file,
                               units_format_bytes(img->extents[i].size, a, sizeof(a)));
        }
        if (img->backing) {
                printf("%*sbacking file: %s\n", depth * 2, "", img->backing_name);
                info_text(img->backing, depth + 1);
        }
}

static int run_info(const char *path)
{
        _cleanup_(image_freep) struct image *img = NULL;
        struct err err = { { 0 } };
        int r;

        r = image_open_path(path, arg_in_format, &img, &err);
        if (r < 0)
                return log_error_errno(r, "cannot read '%s': %s", path, err.msg);
        if (arg_json) {
                struct json j;
                json_init(&j, stdout);
                info_json(&j, NULL, img);
        } else {
                info_text(img, 0);
        }
        if (fflush(stdout) != 0)
                return log_error_errno(errno, "cannot write the report: %m");
        return 0;
}

int main(int argc, char **argv)
{
        const char *cmd;
        int r;

        log_set_program("kvmforge-image");
        if (argc < 2) {
                help_main();
                return EXIT_USAGE;
        }
        cmd = argv[1];
        if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
                help_main();
                return EXIT_SUCCESS;
        }
        /* Sub-command options start after the command name. */
        argc--;
        argv++;
        if (!strcmp(cmd, "convert")) {
                r = parse_convert(argc, argv);
                if (r <= 0)
                        return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
                return run_convert(argv[optind], argv[optind + 1]) < 0 ? EXIT_FAILURE
                                                                       : EXIT_SUCCESS;
        }
        if (!strcmp(cmd, "import")) {
                r = import_parse(argc, argv);
                if (r <= 0)
                        return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
                return import_main(argv[optind]) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        if (!strcmp(cmd, "iso")) {
                r = iso_parse(argc, argv);
                if (r <= 0)
                        return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
                return iso_main() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        if (!strcmp(cmd, "info")) {
                r = parse_info(argc, argv);
                if (r <= 0)
                        return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
                return run_info(argv[optind]) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        fprintf(stderr, "kvmforge-image: unknown command '%s'; see 'kvmforge-image --help'\n", cmd);
        return EXIT_USAGE;
}
