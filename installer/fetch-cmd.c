/* kvmforge-install fetch-answer: fetches the answer file as the installer does, from SRC or
 * through the chain the kernel command line starts, and hands over its bytes (never into a
 * log: answers hold passwords). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "answer_fetch.h"
#include "cleanup.h"
#include "cli.h"
#include "http.h"
#include "hw.h"
#include "json.h"
#include "log.h"
#include "strv.h"

#define TIMEOUT_MAX_S 3600u

static const char *arg_cmdline;
static const char *arg_sha256;
static const char *arg_pin;
static const char *arg_cacert;
static const char *arg_medium;
static const char *arg_output;
static const char *arg_src;
static bool arg_post_detect;
static bool arg_json;
static unsigned arg_retries;
static bool arg_retries_set;
static unsigned arg_timeout;

static void help(void)
{
        printf("Usage: kvmforge-install fetch-answer [OPTIONS...] [SRC]\n\n"
               "Fetch the answer (kickstart) file as the installer does. With SRC, from that\n"
               "source; without, from what the kernel command line names (kvmforge.answer=,\n"
               "inst.ks=, ks=), else kvmforge/ks.cfg on the install medium, else ks.cfg on a\n"
               "filesystem labelled KVMFORGE, then OEMDRV. SRC is one of:\n"
               "  http://... https://...     a web server (TLS always verified; this host's MACs\n"
               "                             and serial number go along as request headers)\n"
               "  hd:LABEL=X:/path  hd:UUID=X:/path  hd:sdb1:/path  hd:/dev/sdb1:/path\n"
               "                             a file on a filesystem, mounted read-only for the read\n"
               "  cdrom:/path                a file on the install medium\n"
               "  file:/path, or a path      a local file\n\n"
               "The answer goes to stdout (or -o FILE); stderr gets a line per source tried.\n\n"
               "Options:\n"
               "      --cmdline=FILE     read the kernel command line from FILE, not /proc/cmdline\n"
               "      --sha256=HEX       the answer must have this SHA-256\n"
               "      --pin=sha256//B64  the https server's public key must have this hash\n"
               "      --cacert=FILE      trust the CAs in FILE (PEM), not the system's\n"
               "      --post-detect      POST this host's hardware report (detect --json) to an\n"
               "                         http(s) source instead of a GET\n"
               "      --retries=N        attempts after the first one fails (default %d)\n"
               "      --timeout=S        seconds per attempt (default %d)\n"
               "      --medium=DIR       the install medium is mounted at DIR\n"
               "  -o, --output=FILE      write the answer to FILE (mode 0600, replaced only when\n"
               "                         complete) instead of stdout\n"
               "      --json             print {source, cleartext, bytes, sha256}, not the answer\n"
               "  -h, --help             show this help\n\n"
               "Options given here win over the kernel command line's kvmforge.answer.sha256=,\n"
               ".pin=, .cacert=, .post= and .retries=.\n\n"
               "Exit status: 0 fetched, 1 no answer (the last line says why), 2 bad usage.\n",
               ANSWER_FETCH_RETRIES, ANSWER_FETCH_TIMEOUT_S);
}

static int usage(const char *fmt, const char *what)
{
        fprintf(stderr, "kvmforge-install: ");
        fprintf(stderr, fmt, what);
        fprintf(stderr, "; see 'kvmforge-install fetch-answer --help'\n");
        return -EINVAL;
}

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
        unsigned long v;
        char *end;

        if (s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

/* 1 to go on, 0 to exit successfully (--help), -EINVAL bad usage. */
static int parse(int argc, char **argv)
{
        enum {
                OPT_CMDLINE = 0x100,
                OPT_SHA256,
                OPT_PIN,
                OPT_CACERT,
                OPT_POST_DETECT,
                OPT_RETRIES,
                OPT_TIMEOUT,
                OPT_MEDIUM,
                OPT_JSON,
        };
        static const struct option options[] = {
                { "cmdline", required_argument, NULL, OPT_CMDLINE },
                { "sha256", required_argument, NULL, OPT_SHA256 },
                { "pin", required_argument, NULL, OPT_PIN },
                { "cacert", required_argument, NULL, OPT_CACERT },
                { "post-detect", no_argument, NULL, OPT_POST_DETECT },
                { "retries", required_argument, NULL, OPT_RETRIES },
                { "timeout", required_argument, NULL, OPT_TIMEOUT },
                { "medium", required_argument, NULL, OPT_MEDIUM },
                { "output", required_argument, NULL, 'o' },
                { "json", no_argument, NULL, OPT_JSON },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "o:h", options, NULL)) >= 0)
                switch (c) {
                case OPT_CMDLINE:
                        arg_cmdline = optarg;
                        break;
                case OPT_SHA256:
                        if (strlen(optarg) != 64 || strspn(optarg, "0123456789abcdefABCDEF") != 64)
                                return usage("--sha256 wants 64 hex digits, not '%s'", optarg);
                        arg_sha256 = optarg;
                        break;
                case OPT_PIN:
                        if (strncmp(optarg, "sha256//", 8) != 0)
                                return usage("--pin wants sha256//BASE64, not '%s'", optarg);
                        arg_pin = optarg;
                        break;
                case OPT_CACERT:
                        arg_cacert = optarg;
                        break;
                case OPT_POST_DETECT:
                        arg_post_detect = true;
                        break;
                case OPT_RETRIES:
                        if (parse_uint(optarg, ANSWER_FETCH_RETRIES_MAX, &arg_retries) < 0)
                                return usage("bad --retries '%s' (0 to 100)", optarg);
                        arg_retries_set = true;
                        break;
                case OPT_TIMEOUT:
                        if (parse_uint(optarg, TIMEOUT_MAX_S, &arg_timeout) < 0 || arg_timeout == 0)
                                return usage("bad --timeout '%s' (1 to 3600 seconds)", optarg);
                        break;
                case OPT_MEDIUM:
                        arg_medium = optarg;
                        break;
                case 'o':
                        arg_output = optarg;
                        break;
                case OPT_JSON:
                        arg_json = true;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return usage("%s", "bad option");
                }
        if (argc - optind > 1)
                return usage("%s", "expected at most one SRC");
        if (optind < argc)
                arg_src = argv[optind];
        if (arg_src && arg_cmdline)
                return usage("%s", "SRC and --cmdline exclude each other");
        if (arg_src && arg_post_detect && !http_is_url(arg_src))
                return usage("%s", "--post-detect needs an http:// or https:// SRC");
        return 1;
}

static void on_report(void *userdata, const char *source, const char *what)
{
        (void) userdata;
        log_info("trying %s: %s", source, what);
}

static int read_cmdline(const char *path, char **ret)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *buf = NULL;
        size_t n;

        if (!f)
                return log_error_errno(errno, "cannot read the kernel command line '%s': %m", path);
        /* Twice the most the parser takes, so that it can say the line is too long. */
        buf = malloc(2 * ANSWER_CMDLINE_MAX + 1);
        if (!buf)
                return log_error_errno(ENOMEM, "out of memory");
        n = fread(buf, 1, 2 * ANSWER_CMDLINE_MAX, f);
        if (ferror(f))
                return log_error_errno(EIO, "cannot read the kernel command line '%s'", path);
        if (memchr(buf, '\0', n))
                return log_error_errno(EINVAL, "'%s' holds a NUL byte: not a command line", path);
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* The hardware report as JSON, for --post-detect and kvmforge.answer.post=1. */
static int detect_json(char **ret)
{
        struct hw_source src = { 0 };
        struct hw_report r;
        _cleanup_free_ char *s = NULL;
        size_t len = 0;
        FILE *f;
        struct json j;
        int e;

        e = hw_report_detect(&src, &r);
        if (e < 0)
                return log_error_errno(e, "cannot detect the hardware for the answer server: %m");
        f = open_memstream(&s, &len);
        if (!f) {
                hw_report_release(&r);
                return log_error_errno(errno, "cannot build the hardware report: %m");
        }
        json_init(&j, f);
        hw_report_json(&r, &j);
        hw_report_release(&r);
        if (fclose(f) != 0 || !s)
                return log_error_errno(ENOMEM, "cannot build the hardware report: %m");
        *ret = TAKE_PTR(s);
        return 0;
}

/* Only what the identity headers need: a full detect probes disks and the video BIOS. */
static int identity(bool mac, bool sn, char ***headers, size_t *n)
{
        struct hw_source src = { 0 };
        struct hw_report r = { 0 };
        int e;

        hw_dmi_detect(&src, &r.dmi);
        e = hw_nics_detect(&src, &r.nics, &r.n_nics);
        if (e < 0)
                return log_error_errno(e, "cannot list the network interfaces: %m");
        e = answer_fetch_identity(&r, mac, sn, headers, n);
        free(r.nics);
        if (e < 0)
                return log_error_errno(e, "cannot build the identity headers: %m");
        return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* -o FILE: made under a hidden temporary name before the fetch (a FILE that cannot be written
 * is said before any wait for the network), renamed over FILE once the answer is in it. FILE
 * appears complete or not at all, readable by root only: answers hold passwords. */
struct output {
        char *path, *tmp, *dir;
        int fd;
};

static void output_release(struct output *out)
{
        if (out->fd >= 0)
                (void) close(out->fd);
        if (out->tmp)
                (void) unlink(out->tmp);
        free(out->tmp);
        free(out->dir);
        *out = (struct output){ .fd = -1 };
}

static int output_open(const char *path, struct output *out)
{
        _cleanup_free_ char *d = strdup(path), *b = strdup(path);

        if (!d || !b)
                return log_error_errno(ENOMEM, "out of memory");
        out->path = (char *) path;
        out->dir = strdup(dirname(d));
        if (!out->dir || asprintf(&out->tmp, "%s/.%s.kvmforge-XXXXXX", out->dir, basename(b)) < 0) {
                out->tmp = NULL;
                return log_error_errno(ENOMEM, "out of memory");
        }
        out->fd = mkostemp(out->tmp, O_CLOEXEC);
        if (out->fd < 0) {
                int e = errno;
                free(out->tmp);
                out->tmp = NULL;
                return log_error_errno(e, "cannot create a file in '%s' for '%s': %m", out->dir,
                                       path);
        }
        if (fchmod(out->fd, 0600) < 0)
                return log_error_errno(errno, "cannot make '%s' private: %m", out->tmp);
        return 0;
}

static int output_commit(struct output *out, const struct answer_source *s)
{
        _cleanup_close_ int dfd = -1;
        int r = write_all(out->fd, s->text, s->len);

        if (r < 0 || fsync(out->fd) < 0 || rename(out->tmp, out->path) < 0)
                return log_error_errno(r < 0 ? r : errno, "cannot write '%s': %m", out->path);
        free(out->tmp);
        out->tmp = NULL;
        /* The rename itself must reach the disk. */
        dfd = open(out->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 0;
}

static void print_json(const struct answer_source *s, const struct answer_cmdline *c)
{
        struct json j;

        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        json_string(&j, "source", s->name);
        json_string_or_null(&j, "key", c->key);
        json_bool(&j, "cleartext", s->cleartext);
        json_u64(&j, "bytes", s->len);
        json_string(&j, "sha256", s->sha256);
        json_u64(&j, "overrides", c->n_lines);
        json_end_object(&j); /* ends the line too */
}

static int run(void)
{
        _cleanup_(answer_cmdline_release) struct answer_cmdline c = { 0 };
        _cleanup_(answer_source_release) struct answer_source s = { 0 };
        _cleanup_(output_release) struct output out = { .fd = -1 };
        _cleanup_free_ char *post = NULL;
        char **headers = NULL;
        size_t n_headers = 0;
        struct answer_fetch_options o = {
                .ca_file = arg_cacert,
                .sha256 = arg_sha256,
                .pin = arg_pin,
                .timeout_s = arg_timeout,
                .medium_dir = arg_medium,
                .report = on_report,
        };
        struct err err = { { 0 } };
        int r;

        if (arg_src) {
                c.spec = strdup(arg_src);
                if (!c.spec)
                        return log_error_errno(ENOMEM, "out of memory");
                /* Like kvmforge.answer=SRC: the host says who it is. */
                c.send_mac = c.send_sn = true;
                c.post = arg_post_detect;
        } else {
                _cleanup_free_ char *line = NULL;
                const char *path = arg_cmdline ? arg_cmdline : "/proc/cmdline";

                r = read_cmdline(path, &line);
                if (r < 0)
                        return r;
                r = answer_cmdline_parse(line, &c, &err);
                if (r < 0)
                        return log_error_errno(
                                r, "cannot fetch the answer: bad kernel command line ('%s'): %s",
                                path, err.msg);
                if (arg_post_detect)
                        c.post = true;
        }
        if (arg_output && (r = output_open(arg_output, &out)) < 0)
                return r;
        if (arg_retries_set)
                o.retries = arg_retries ? arg_retries : ANSWER_FETCH_RETRIES_NONE;

        if (c.spec && http_is_url(c.spec)) {
                if (c.send_mac || c.send_sn) {
                        r = identity(c.send_mac, c.send_sn, &headers, &n_headers);
                        if (r < 0)
                                return r;
                }
                if (c.post) {
                        r = detect_json(&post);
                        if (r < 0) {
                                strv_free(&headers, &n_headers);
                                return r;
                        }
                }
        }
        o.headers = headers;
        o.n_headers = n_headers;
        o.post = post;

        if (arg_src)
                r = answer_fetch(arg_src, &o, &s, &err);
        else
                r = answer_fetch_chain(&c, &o, &s, &err);
        strv_free(&headers, &n_headers);
        if (r < 0)
                return log_error_errno(r, "cannot fetch the answer: %s", err.msg);

        if (s.cleartext)
                log_warning(
                        "warning: '%s' came over plain http: the passwords in it travelled in the clear",
                        s.name);
        if (c.n_lines > 0)
                log_info(
                        "%zu line%s from the kernel command line (kvmforge.ks= and shortcuts) override the answer's",
                        c.n_lines, c.n_lines == 1 ? "" : "s");
        if (arg_output && (r = output_commit(&out, &s)) < 0)
                return r;
        if (arg_json)
                print_json(&s, &c);
        else if (!arg_output && (r = write_all(STDOUT_FILENO, s.text, s.len)) < 0)
                return log_error_errno(r, "cannot write the answer: %m");
        if (fflush(stdout) != 0)
                return log_error_errno(errno, "cannot write to stdout: %m");
        return 0;
}

int fetch_answer_main(int argc, char **argv)
{
        int r = parse(argc, argv);

        if (r <= 0)
                return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
        return run() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
