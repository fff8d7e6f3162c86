/* kvmforge-postinst: the node's first-boot configuration (run once by
 * kvmforge-postinst.service; running it again re-does each step idempotently) and, with
 * --check, the node's health. See postinst/README.md. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "http.h"
#include "hw.h"
#include "json.h"
#include "log.h"
#include "node.h"

static const char *arg_root = "";
static const char *arg_uri = NULL;
static bool arg_json = false;
static bool arg_quiet = false;
static bool arg_check = false;

DEFINE_CLEANUP_FUNC(virConnectPtr, virConnectClose, NULL)

static void help(void)
{
        printf("Usage: kvmforge-postinst [--root DIR] [--connect URI] [--json] [-q]\n"
               "       kvmforge-postinst --check [--connect URI] [--json]\n"
               "\n"
               "First-boot configuration of a kvmforge node: loads KVM and says whether guests\n"
               "get hardware virtualization (console and /etc/motd), makes the thin volume for\n"
               "guest images, defines libvirt's storage pool and bridged network, runs the\n"
               "answer's %%firstboot scripts, reports to REPORT_URL, and marks itself done.\n"
               "Running it again re-does each step without changing what is already right.\n"
               "\n"
               "  --check        report the node's health (exit 0 unless a check fails)\n"
               "  --root DIR     read and write /etc, /var and /dev/console below DIR (tests;\n"
               "                 also $KVMFORGE_ROOT)\n"
               "  --connect URI  libvirt URI (default qemu:///system)\n"
               "  --json         print the outcome as JSON (schema in postinst/README.md)\n"
               "  -q, --quiet    print warnings and errors only\n"
               "  -h, --help     show this help\n");
}

static int parse_argv(int argc, char **argv)
{
        enum { OPT_ROOT = 0x100, OPT_CONNECT, OPT_JSON, OPT_CHECK };
        static const struct option opts[] = {
                { "root", required_argument, NULL, OPT_ROOT },
                { "connect", required_argument, NULL, OPT_CONNECT },
                { "json", no_argument, NULL, OPT_JSON },
                { "check", no_argument, NULL, OPT_CHECK },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *env = getenv("KVMFORGE_ROOT");
        int c;

        if (env)
                arg_root = env;
        while ((c = getopt_long(argc, argv, "qh", opts, NULL)) >= 0)
                switch (c) {
                case OPT_ROOT:
                        arg_root = optarg;
                        break;
                case OPT_CONNECT:
                        arg_uri = optarg;
                        break;
                case OPT_JSON:
                        arg_json = true;
                        break;
                case OPT_CHECK:
                        arg_check = true;
                        break;
                case 'q':
                        arg_quiet = true;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr, "Try 'kvmforge-postinst --help'.\n");
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("unexpected argument '%s'; try 'kvmforge-postinst --help'", argv[optind]);
                return -EINVAL;
        }
        /* "/" and "" both mean the live system; a trailing slash would double in paths. */
        if (strcmp(arg_root, "/") == 0)
                arg_root = "";
        if (arg_root[0] && arg_root[0] != '/') {
                log_error("--root needs an absolute path, not '%s'", arg_root);
                return -EINVAL;
        }
        return 1;
}

/* The health as JSON text, for --check --json and for the report. */
static char *health_json(const struct node_health *h)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct json j;

        if (!f)
                return NULL;
        json_init(&j, f);
        node_health_json(h, &j);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static void collect(const struct node_conf *conf, struct node_health *h)
{
        _cleanup_(virConnectClosep) virConnectPtr conn = NULL;
        struct err e = { { 0 } };
        struct hw_cpu cpu;

        hw_cpu_detect(&(struct hw_source){ 0 }, &cpu);
        (void) node_connect(arg_uri, &conn, &e);
        node_health_collect(conf, &cpu, conn, arg_uri, conn ? NULL : e.msg, h);
}

static int run_check(const struct node_conf *conf)
{
        _cleanup_free_ struct node_health *h = calloc(1, sizeof(*h));
        _cleanup_free_ char *text = NULL;
        enum node_level worst;

        if (!h)
                return log_error_errno(-ENOMEM, "out of memory");
        collect(conf, h);
        worst = node_health_level(h);
        if (arg_json) {
                text = health_json(h);
                if (!text)
                        return log_error_errno(-ENOMEM, "out of memory");
                fputs(text, stdout);
        } else {
                for (size_t i = 0; i < NODE_CHECK_COUNT; i++)
                        printf("%-8s %-9s %s\n", node_level_names[h->items[i].level],
                               node_check_names[i], h->items[i].message);
                printf("node: %s\n", node_level_names[worst]);
        }
        if (fflush(stdout) != 0)
                return log_error_errno(-EIO, "cannot write the report");
        return worst == NODE_FAIL ? -EIO : 0;
}

/* ---- first boot ---- */

enum step_id {
        STEP_KVM,
        STEP_MOTD,
        STEP_STORAGE,
        STEP_POOL,
        STEP_NETWORK,
        STEP_FIRSTBOOT,
        STEP_REPORT,
        STEP_DONE,
        STEP_COUNT
};
static const char *const step_names[STEP_COUNT] = {
        "kvm", "motd", "storage", "pool", "network", "firstboot", "report", "done",
};

static void say(struct node_step *steps, enum step_id id)
{
        const struct node_step *s = &steps[id];

        if (arg_json)
                return;
        /* The verdict goes to stdout whatever it is (with -q too): it is what the console of
         * a freshly installed node must show. */
        if (id == STEP_KVM)
                printf("%s\n", s->message);
        else if (s->level == NODE_FAIL)
                log_error("error: %s: %s", step_names[id], s->message);
        else if (s->level == NODE_WARNING)
                log_warning("warning: %s: %s", step_names[id], s->message);
        else if (!arg_quiet)
                printf("%s: %s\n", step_names[id], s->message);
        fflush(stdout);
}

static void step_err(struct node_step *s, enum node_level level, int r, const struct err *e)
{
        s->level = level;
        (void) snprintf(s->message, sizeof(s->message), "%s", e->msg[0] ? e->msg : strerror(-r));
}

static void kvm_step(struct node_step *s)
{
        struct hw_source live = { 0 };
        struct err e = { { 0 } };
        struct hw_cpu cpu;
        int r;

        hw_cpu_detect(&live, &cpu);
        if (cpu.kvm != HW_YES && node_kvm_module(&cpu)) {
                r = node_kvm_load(&cpu, &e);
                if (r < 0)
                        log_debug("%s", e.msg);
                /* devtmpfs makes /dev/kvm as the module registers it; allow udev a moment. */
                for (int i = 0; r >= 0 && i < 20 && access("/dev/kvm", F_OK) < 0; i++)
                        (void) nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
                hw_cpu_detect(&live, &cpu);
        }
        s->level = node_kvm_words(&cpu, cpu.kvm == HW_YES, s->message, sizeof(s->message));
        node_console_write(arg_root, s->message);
}

static void motd_step(struct node_step *steps, const struct node_conf *conf)
{
        struct node_step *s = &steps[STEP_MOTD];
        _cleanup_free_ char *block = NULL;
        struct err e = { { 0 } };
        int r;

        if (asprintf(&block,
                     "%s\n"
                     "Guests: storage pool '%s', network '%s' (bridge %s).\n"
                     "Health: kvmforge-postinst --check\n",
                     steps[STEP_KVM].message, conf->pool, conf->bridge, conf->bridge) < 0) {
                step_err(s, NODE_FAIL, -ENOMEM, &e);
                return;
        }
        r = node_motd_update(arg_root, block, &s->changed, &e);
        if (r < 0) {
                step_err(s, NODE_FAIL, r, &e);
                return;
        }
        (void) snprintf(s->message, sizeof(s->message), "%s", s->changed ? "updated" : "unchanged");
}

static void report_step(struct node_step *s, const struct node_conf *conf)
{
        _cleanup_free_ struct node_health *h = calloc(1, sizeof(*h));
        _cleanup_free_ char *text = NULL;
        struct err e = { { 0 } };
        char safe[512];
        int r;

        if (!conf->report_url[0]) {
                (void) snprintf(s->message, sizeof(s->message), "no REPORT_URL in node.conf");
                return;
        }
        if (!h) {
                step_err(s, NODE_WARNING, -ENOMEM, &e);
                return;
        }
        collect(conf, h);
        text = health_json(h);
        if (!text) {
                step_err(s, NODE_WARNING, -ENOMEM, &e);
                return;
        }
        /* A server that is down must not hold up or fail the node's first boot. */
        r = node_report_post(conf->report_url, text, &e);
        if (r < 0) {
                step_err(s, NODE_WARNING, r, &e);
                return;
        }
        http_redact_url(conf->report_url, safe, sizeof(safe));
        s->changed = true;
        (void) snprintf(s->message, sizeof(s->message), "health sent to '%s'", safe);
}

static void print_json(const struct node_step *steps, enum node_level worst)
{
        struct json j;

        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        json_string(&j, "status", node_level_names[worst]);
        json_begin_object(&j, "steps");
        for (size_t i = 0; i < STEP_COUNT; i++) {
                json_begin_object(&j, step_names[i]);
                json_string(&j, "status", node_level_names[steps[i].level]);
                json_bool(&j, "changed", steps[i].changed);
                json_string(&j, "message", steps[i].message);
                json_end_object(&j);
        }
        json_end_object(&j);
        json_end_object(&j);
}

static int run_firstboot(const struct node_conf *conf)
{
        _cleanup_(virConnectClosep) virConnectPtr conn = NULL;
        _cleanup_free_ char *images = node_path(arg_root, NODE_IMAGES_PATH);
        struct node_step steps[STEP_COUNT] = { 0 };
        enum node_level worst = NODE_OK;
        struct err e = { { 0 } };
        char when[64];
        time_t now = time(NULL);
        int r;

        if (!images)
                return log_error_errno(-ENOMEM, "out of memory");

        kvm_step(&steps[STEP_KVM]);
        say(steps, STEP_KVM);
        motd_step(steps, conf);
        say(steps, STEP_MOTD);

        r = node_images_setup(arg_root, conf->vg, &steps[STEP_STORAGE].changed,
                              steps[STEP_STORAGE].message, sizeof(steps[STEP_STORAGE].message), &e);
        if (r < 0)
                step_err(&steps[STEP_STORAGE], NODE_FAIL, r, &e);
        say(steps, STEP_STORAGE);

        e = (struct err){ { 0 } };
        r = node_connect(arg_uri, &conn, &e);
        if (r < 0) {
                step_err(&steps[STEP_POOL], NODE_FAIL, r, &e);
                step_err(&steps[STEP_NETWORK], NODE_FAIL, r, &e);
        } else {
                /* A pool over a missing thin volume would put guests on the root filesystem. */
                if (steps[STEP_STORAGE].level == NODE_FAIL) {
                        steps[STEP_POOL].level = NODE_FAIL;
                        (void) snprintf(steps[STEP_POOL].message, sizeof(steps[STEP_POOL].message),
                                        "not set up: the guest images storage failed");
                } else
                        (void) node_pool_ensure(conn, conf->pool, images, &steps[STEP_POOL]);
                (void) node_network_ensure(conn, conf->bridge, &steps[STEP_NETWORK]);
        }
        say(steps, STEP_POOL);
        say(steps, STEP_NETWORK);

        (void) node_firstboot_run(arg_root, &steps[STEP_FIRSTBOOT]);
        say(steps, STEP_FIRSTBOOT);

        report_step(&steps[STEP_REPORT], conf);
        say(steps, STEP_REPORT);

        for (size_t i = 0; i < STEP_DONE; i++)
                if (steps[i].level > worst)
                        worst = steps[i].level;
        if (worst == NODE_FAIL) {
                /* No marker: the unit runs again at the next boot. */
                (void) snprintf(steps[STEP_DONE].message, sizeof(steps[STEP_DONE].message),
                                "not marked done: a step failed, it runs again at the next boot");
        } else {
                _cleanup_free_ char *done = node_path(arg_root, NODE_DONE_PATH);
                _cleanup_free_ char *text = NULL;
                e = (struct err){ { 0 } };
                if (!done)
                        return log_error_errno(-ENOMEM, "out of memory");
                if (access(done, F_OK) == 0) {
                        (void) snprintf(steps[STEP_DONE].message, sizeof(steps[STEP_DONE].message),
                                        "'%s' was there already", done);
                } else {
                        (void) strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
                        if (asprintf(&text, "completed %s\n", when) < 0)
                                return log_error_errno(-ENOMEM, "out of memory");
                        r = node_write_file(arg_root, NODE_DONE_PATH, text, 0644, &e);
                        if (r < 0) {
                                step_err(&steps[STEP_DONE], NODE_FAIL, r, &e);
                                worst = NODE_FAIL;
                        } else {
                                steps[STEP_DONE].changed = true;
                                (void) snprintf(steps[STEP_DONE].message,
                                                sizeof(steps[STEP_DONE].message), "marked in '%s'",
                                                done);
                        }
                }
        }
        say(steps, STEP_DONE);
        if (arg_json)
                print_json(steps, worst);
        if (fflush(stdout) != 0)
                return log_error_errno(-EIO, "cannot write to stdout");
        return worst == NODE_FAIL ? -EIO : 0;
}

int main(int argc, char **argv)
{
        struct node_conf conf;
        struct err e = { { 0 } };
        int r;

        log_set_program("kvmforge-postinst");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        node_conf_init(&conf);
        r = node_conf_load(arg_root, &conf, &e);
        if (r < 0) {
                log_error_errno(r, "cannot read the node's configuration: %s", e.msg);
                return EXIT_FAILURE;
        }
        r = arg_check ? run_check(&conf) : run_firstboot(&conf);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
