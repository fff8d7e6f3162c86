/* kvmforge-install check-answer: read an answer file (a path or a URL) with the installer's
 * own parser and checks, print every diagnostic and what the install would do. */

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
#include "strv.h"

static bool arg_strict;
static bool arg_json;
static bool arg_quiet;
static bool arg_here;
static const char *arg_sysroot;
static const char *arg_cacert;
static char **arg_overrides;
static size_t n_arg_overrides;

static void help(void)
{
        printf("Usage: kvmforge-install check-answer [OPTIONS...] SRC\n\n"
               "Read a kickstart answer file (Anaconda's or ESXi's dialect, with kvmforge's own\n"
               "commands) exactly as the installer reads it, print every problem with its file,\n"
               "line and column, then the effective answer: what the install will do, defaults\n"
               "filled in, passwords left out. SRC is a path, an http:// or https:// URL, or any\n"
               "source the installer takes (hd:LABEL=X:/ks.cfg, cdrom:/ks.cfg).\n\n"
               "Options:\n"
               "      --strict         every warning is an error (as ESXi's 'paranoid')\n"
               "      --json           print the diagnostics and the answer as JSON\n"
               "  -q, --quiet          print the diagnostics only\n"
               "      --here           also match disk and NIC selectors and the CPU against\n"
               "                       this machine, as the installer will\n"
               "      --sysroot=DIR    ... or against a captured tree (see 'detect --help')\n"
               "      --override=LINE  a kickstart line applied after the file, as the\n"
               "                       kernel command line's kvmforge.ks= (repeatable)\n"
               "      --cacert=FILE    CA bundle for an https:// SRC\n"
               "  -h, --help           show this help\n\n"
               "Exit status: 0 the answer can be installed, 1 it cannot (or SRC cannot be read),\n"
               "2 bad usage.\n");
}

static int parse(int argc, char **argv)
{
        enum { OPT_STRICT = 0x100, OPT_JSON, OPT_HERE, OPT_SYSROOT, OPT_OVERRIDE, OPT_CACERT };
        static const struct option options[] = {
                { "strict", no_argument, NULL, OPT_STRICT },
                { "json", no_argument, NULL, OPT_JSON },
                { "quiet", no_argument, NULL, 'q' },
                { "here", no_argument, NULL, OPT_HERE },
                { "sysroot", required_argument, NULL, OPT_SYSROOT },
                { "override", required_argument, NULL, OPT_OVERRIDE },
                { "cacert", required_argument, NULL, OPT_CACERT },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "qh", options, NULL)) >= 0)
                switch (c) {
                case OPT_STRICT:
                        arg_strict = true;
                        break;
                case OPT_JSON:
                        arg_json = true;
                        break;
                case 'q':
                        arg_quiet = true;
                        break;
                case OPT_HERE:
                        arg_here = true;
                        break;
                case OPT_SYSROOT:
                        arg_sysroot = optarg;
                        break;
                case OPT_OVERRIDE:
                        if (strv_addf(&arg_overrides, &n_arg_overrides, "%s", optarg) < 0)
                                return -ENOMEM;
                        break;
                case OPT_CACERT:
                        arg_cacert = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr, "kvmforge-install: bad option; see 'kvmforge-install "
                                        "check-answer --help'\n");
                        return -EINVAL;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "kvmforge-install: check-answer takes one SRC (a path or URL); see "
                                "'kvmforge-install check-answer --help'\n");
                return -EINVAL;
        }
        return 1;
}

static void print_json(const char *source, const struct answer *a)
{
        struct json j;
        char buf[1024];

        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        json_string(&j, "source", source);
        json_bool(&j, "valid", a->n_errors == 0);
        json_bool(&j, "strict", a->strict);
        json_u64(&j, "errors", a->n_errors);
        json_u64(&j, "warnings", a->n_warnings);
        json_begin_array(&j, "diagnostics");
        for (size_t i = 0; i < a->n_diags; i++) {
                const struct answer_diag *d = &a->diags[i];
                answer_format_diag(a, d, buf, sizeof(buf));
                json_begin_object(&j, NULL);
                json_string(&j, "level", answer_level_names[d->level]);
                json_string(&j, "file", a->files[d->at.file]);
                json_u64(&j, "line", d->at.line);
                json_u64(&j, "column", d->at.col);
                json_string(&j, "message", d->msg);
                json_string(&j, "text", buf);
                json_end_object(&j);
        }
        json_end_array(&j);
        answer_json(a, &j);
        json_end_object(&j); /* ends the line itself */
}

static int run(const char *src)
{
        struct answer_fetch_options fo = { .ca_file = arg_cacert, .retries = 2 };
        _cleanup_(answer_source_release) struct answer_source as = { 0 };
        _cleanup_(answer_release) struct answer a = { 0 };
        struct hw_source hs = { .sysroot = arg_sysroot };
        struct hw_report hw = { 0 };
        bool have_hw = false;
        struct err err = { { 0 } };
        struct stat st;
        char buf[1024];
        int r;

        if (arg_sysroot && (stat(arg_sysroot, &st) < 0 || !S_ISDIR(st.st_mode)))
                return log_error_errno(ENOTDIR,
                                       "'%s' is not a captured tree (a directory with "
                                       "proc/ and sys/)",
                                       arg_sysroot);
        r = answer_fetch(src, &fo, &as, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err.msg);
        struct answer_load_options lo = { .strict = arg_strict,
                                          .cleartext = as.cleartext,
                                          .overrides = arg_overrides,
                                          .n_overrides = n_arg_overrides };
        r = answer_load(as.text, as.len, as.name, &lo, &a);
        if (r < 0)
                return log_error_errno(r, "cannot check '%s': %m", as.name);
        if (arg_here || arg_sysroot) {
                if ((r = hw_report_detect(&hs, &hw)) < 0)
                        return log_error_errno(r, "cannot detect the hardware: %m");
                have_hw = true;
                struct answer_check_env env = { .hw = &hw };
                r = answer_check_hw(&a, &env);
                hw_report_release(&hw);
                answer_sort_diags(&a);
                if (r < 0)
                        return log_error_errno(r, "cannot check '%s': %m", as.name);
        }
        if (arg_json) {
                print_json(as.name, &a);
        } else {
                for (size_t i = 0; i < a.n_diags; i++) {
                        answer_format_diag(&a, &a.diags[i], buf, sizeof(buf));
                        fprintf(stderr, "%s\n", buf);
                }
                if (!arg_quiet && (r = answer_write_kickstart(&a, false, stdout)) < 0)
                        return log_error_errno(r, "cannot print the answer: %m");
                fprintf(stderr, "%s: %s: %zu error%s, %zu warning%s%s\n", as.name,
                        a.n_errors ? "cannot be installed" : "valid", a.n_errors,
                        a.n_errors == 1 ? "" : "s", a.n_warnings, a.n_warnings == 1 ? "" : "s",
                        have_hw ? "" : " (disks, NICs and CPU not checked: see --here)");
        }
        if (fflush(stdout) != 0)
                return log_error_errno(errno, "cannot write the answer: %m");
        return a.n_errors ? -EINVAL : 0;
}

int check_answer_main(int argc, char **argv)
{
        int r = parse(argc, argv);

        if (r <= 0) {
                strv_free(&arg_overrides, &n_arg_overrides);
                return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
        }
        r = run(argv[optind]);
        strv_free(&arg_overrides, &n_arg_overrides);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
