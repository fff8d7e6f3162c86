/* http: URLs read through a real server, tests/tools/httpd.py on 127.0.0.1: whole and piecemeal
 * reads, each way open fails, redirects, connections dropped mid-body and resumed (or not),
 * a file replaced while it downloads, TLS with and without a trusted CA, and credentials kept
 * out of every name and message. */

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "helpers.h"
#include "http.h"

#define BIG_SIZE  (5u << 20)
#define DROP_AT   1000000u
#define USER      "alice"
#define PASSWORD  "s3cret-pw"
#define SMALL_TXT "hello over http\n"

struct server {
        pid_t pid;
        int port;
        char *log;
};

/* The group's state: the served tree, a plain and a TLS server. */
static struct {
        char *root, *www;
        uint8_t *big;
        bool python, openssl;
        struct server plain, tls;
        char *ca;
} F;

/* A server of its own for a test that needs faults: its flags, then the server. */
struct fault {
        const char *args[8];
        struct server s;
};

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        assert_true(r >= 0);
        return s;
}

static const char *httpd_path(void)
{
        static char path[PATH_MAX];
        const char *slash;

        /* tests/run.sh runs us from the top of the tree; otherwise go by this file's path. */
        if (access("tests/tools/httpd.py", R_OK) == 0)
                return "tests/tools/httpd.py";
        slash = strrchr(__FILE__, '/');
        (void) snprintf(path, sizeof(path), "%.*s/../tools/httpd.py",
                        slash ? (int) (slash - __FILE__) : 1, slash ? __FILE__ : ".");
        return path;
}

/* Starts httpd.py serving F.www with extra flags; waits until it has written its port. */
static bool server_start(struct server *s, const char *tag, const char *const *extra)
{
        char *port_file = str_printf("%s/%s.port", F.root, tag);
        char *err_file = str_printf("%s/%s.err", F.root, tag);
        const char *argv[32];
        size_t n = 0;
        bool ok = false;

        *s = (struct server){ .log = str_printf("%s/%s.log", F.root, tag) };
        (void) unlink(port_file);
        (void) unlink(s->log);
        argv[n++] = "python3";
        argv[n++] = httpd_path();
        argv[n++] = "--dir";
        argv[n++] = F.www;
        argv[n++] = "--port-file";
        argv[n++] = port_file;
        argv[n++] = "--log";
        argv[n++] = s->log;
        for (size_t i = 0; extra && extra[i] && n < ELEMENTSOF(argv) - 1; i++)
                argv[n++] = extra[i];
        argv[n] = NULL;

        s->pid = fork();
        assert_true(s->pid >= 0);
        if (s->pid == 0) {
                int fd = open(err_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        (void) dup2(fd, STDOUT_FILENO);
                        (void) dup2(fd, STDERR_FILENO);
                }
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        for (int i = 0; i < 3000 && !ok; i++) { /* 30 s: the first start compiles the script */
                FILE *f = fopen(port_file, "re");
                struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };

                if (f) {
                        ok = fscanf(f, "%d", &s->port) == 1 && s->port > 0;
                        fclose(f);
                        break;
                }
                if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
                        s->pid = 0;
                        break;
                }
                nanosleep(&ts, NULL);
        }
        if (!ok)
                print_error("httpd.py did not start; see %s\n", err_file);
        free(port_file);
        free(err_file);
        return ok;
}

static void server_stop(struct server *s)
{
        if (s->pid > 0) {
                (void) kill(s->pid, SIGTERM);
                (void) waitpid(s->pid, NULL, 0);
        }
        free(s->log);
        *s = (struct server){ 0 };
}

/* How many lines of the server's request log contain each of the two strings. */
static int log_count(const struct server *s, const char *a, const char *b)
{
        FILE *f = fopen(s->log, "re");
        char line[512];
        int n = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (strstr(line, a) && (!b || strstr(line, b)))
                        n++;
        fclose(f);
        return n;
}

static bool tls_material(void)
{
        char *cmd = str_printf(
                "(cd '%s' && printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' >srv.ext"
                " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                " -keyout ca.key -out ca.pem -days 2 -subj /CN=kvmforge-test-ca"
                " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"
                " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                " -keyout srv.key -out srv.csr -subj /CN=127.0.0.1"
                " && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
                " -days 2 -extfile srv.ext -out srv.pem)",
                F.root);
        char *redir = str_printf("%s >'%s/openssl.log' 2>&1", cmd, F.root);
        bool ok = system(redir) == 0;

        free(cmd);
        free(redir);
        return ok;
}

static int group_setup(void **state)
{
        char *p, *sub;

        (void) state;
        /* A proxy from the environment must not see requests meant for 127.0.0.1. */
        (void) unsetenv("http_proxy");
        (void) unsetenv("https_proxy");
        (void) unsetenv("HTTPS_PROXY");
        (void) unsetenv("ALL_PROXY");
        (void) unsetenv("all_proxy");
        F.root = tmpdir_new();
        F.www = path_join(F.root, "www");
        sub = path_join(F.www, "dir");
        assert_int_equal(mkdir(F.www, 0755), 0);
        assert_int_equal(mkdir(sub, 0755), 0);
        free(sub);
        F.big = malloc(BIG_SIZE);
        assert_non_null(F.big);
        fill_random(F.big, BIG_SIZE, 42);
        p = path_join(F.www, "big.bin");
        file_write(p, F.big, BIG_SIZE);
        free(p);
        p = path_join(F.www, "small.txt");
        file_write_str(p, SMALL_TXT);
        free(p);
        p = path_join(F.www, "empty.bin");
        file_write(p, "", 0);
        free(p);
        p = path_join(F.www, "dir/x.ovf");
        file_write_str(p, "<Envelope/>\n");
        free(p);
        p = path_join(F.www, "dir/disk.vmdk");
        file_write(p, F.big, 100000);
        free(p);
        p = path_join(F.www, "dir/my disk.vmdk");
        file_write(p, F.big + 1, 1000);
        free(p);

        F.python = system("command -v python3 >/dev/null 2>&1") == 0;
        F.openssl = system("command -v openssl >/dev/null 2>&1") == 0;
        if (F.python) {
                static const char *const auth[] = { "--auth", USER ":" PASSWORD, NULL };
                assert_true(server_start(&F.plain, "plain", auth));
        }
        if (F.python && F.openssl) {
                char *cert = path_join(F.root, "srv.pem"), *key = path_join(F.root, "srv.key");
                const char *const tls[] = { "--tls", cert, key, NULL };

                assert_true(tls_material());
                F.ca = path_join(F.root, "ca.pem");
                assert_true(server_start(&F.tls, "tls", tls));
                free(cert);
                free(key);
        }
        return 0;
}

static int group_teardown(void **state)
{
        char *cmd = str_printf("rm -rf '%s'", F.root);

        (void) state;
        server_stop(&F.plain);
        server_stop(&F.tls);
        (void) system(cmd);
        free(cmd);
        free(F.root);
        free(F.www);
        free(F.big);
        free(F.ca);
        F = (typeof(F)){ 0 };
        return 0;
}

static int fault_setup(void **state)
{
        struct fault *f = *state;

        if (F.python)
                assert_true(server_start(&f->s, "fault", f->args));
        return 0;
}

static int fault_teardown(void **state)
{
        server_stop(&((struct fault *) *state)->s);
        return 0;
}

static char *url_of(const struct server *s, const char *scheme, const char *userinfo,
                    const char *path)
{
        return str_printf("%s://%s%s127.0.0.1:%d/%s", scheme, userinfo ? userinfo : "",
                          userinfo ? "@" : "", s->port, path);
}

/* Reads all of in in odd-sized pieces, some larger than any buffer of the input; returns the
 * count or the first error. */
static ssize_t drain(struct input *in, uint8_t *out, size_t cap)
{
        static const size_t piece[] = { 1, 7, 4096, 65536, 333, (3u << 20) + 5, 16384, 100000 };
        size_t done = 0;

        for (unsigned i = 0;; i++) {
                size_t want = piece[i % ELEMENTSOF(piece)];
                ssize_t n = input_read(in, out + done, want < cap - done ? want : cap - done);
                if (n < 0)
                        return n;
                if (n == 0)
                        return (ssize_t) done;
                done += (size_t) n;
        }
}

/* Opens url, reads it whole, and checks it is want. */
static void assert_downloads(const char *url, const struct http_options *opt, const uint8_t *want,
                             size_t len, bool size_known)
{
        uint8_t *got = malloc(len + 1);
        struct input *in = NULL;
        struct err err = { { 0 } };
        int r;
        ssize_t n;

        assert_non_null(got);
        r = http_input_open(url, opt, &in, &err);
        if (r < 0)
                fail_msg("opening %s: %d %s", url, r, err.msg);
        assert_int_equal(in->size, size_known ? len : UINT64_MAX);
        n = drain(in, got, len + 1);
        if (n < 0)
                fail_msg("reading %s: %zd %s", url, n, http_input_error(in));
        assert_int_equal(n, len);
        assert_memory_equal(got, want, len);
        assert_int_equal(in->pos, len);
        assert_int_equal(input_read(in, got, 1), 0); /* stays at the end */
        input_free(in);
        free(got);
}

static void need_python(void)
{
        if (!F.python)
                skip();
}

static void test_whole_file_reads_as_served(void **state)
{
        char *url, *name;
        struct input *in = NULL;
        uint8_t *got = malloc(BIG_SIZE);

        (void) state;
        need_python();
        url = url_of(&F.plain, "http", NULL, "big.bin");
        assert_downloads(url, NULL, F.big, BIG_SIZE, true);
        /* One big read, as a converter does it. */
        assert_int_equal(http_input_open(url, NULL, &in, NULL), 0);
        assert_string_equal(in->name, url);
        assert_int_equal(input_read(in, got, BIG_SIZE), BIG_SIZE);
        assert_memory_equal(got, F.big, BIG_SIZE);
        input_free(in);
        name = url_of(&F.plain, "http", NULL, "small.txt");
        assert_downloads(name, NULL, (const uint8_t *) SMALL_TXT, strlen(SMALL_TXT), true);
        free(name);
        free(url);
        free(got);
}

static void test_empty_file_reads_as_nothing(void **state)
{
        char *url;

        (void) state;
        need_python();
        url = url_of(&F.plain, "http", NULL, "empty.bin");
        assert_downloads(url, NULL, (const uint8_t *) "", 0, true);
        free(url);
}

static void test_chunked_body_has_unknown_size(void **state)
{
        char *url;

        (void) state;
        need_python();
        url = url_of(&F.plain, "http", NULL, "chunked/big.bin");
        assert_downloads(url, NULL, F.big, BIG_SIZE, false);
        free(url);
}

static void test_redirect_is_followed(void **state)
{
        char *url, *url2;
        struct input *in = NULL;

        (void) state;
        need_python();
        url = url_of(&F.plain, "http", NULL, "redirect/big.bin");
        assert_downloads(url, NULL, F.big, BIG_SIZE, true);
        url2 = url_of(&F.plain, "http", NULL, "redirect/redirect/small.txt");
        assert_int_equal(http_input_open(url2, NULL, &in, NULL), 0);
        assert_string_equal(in->name, url2); /* the URL asked for, not where it led */
        input_free(in);
        free(url);
        free(url2);
}

/* A request that fails at open: the path, the code and what the message must say. */
struct open_failure {
        const char *path;
        int code;
        const char *says;
};

static void test_open_fails(void **state)
{
        const struct open_failure *t = *state;
        char *url;
        struct input *in = NULL;
        struct err err = { { 0 } };

        need_python();
        url = url_of(&F.plain, "http", NULL, t->path);
        assert_int_equal(http_input_open(url, NULL, &in, &err), t->code);
        assert_null(in);
        if (!strstr(err.msg, url) || !strstr(err.msg, t->says))
                fail_msg("message '%s' lacks '%s' or '%s'", err.msg, url, t->says);
        assert_null(strchr(err.msg, '\n'));
        free(url);
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &len), 0);
        close(fd);
        return ntohs(a.sin_port);
}

static void test_closed_port_fails_at_open(void **state)
{
        struct server none = { .port = closed_port() };
        char *url = url_of(&none, "http", NULL, "x.ova");
        struct input *in = NULL;
        struct err err = { { 0 } };

        (void) state;
        assert_int_equal(http_input_open(url, NULL, &in, &err), -ECONNREFUSED);
        assert_non_null(strstr(err.msg, url));
        assert_non_null(strstr(err.msg, "cannot connect"));
        assert_non_null(strstr(err.msg, "refused"));
        free(url);
}

static void test_not_a_url_fails(void **state)
{
        static const char *const urls[] = { "ftp://127.0.0.1/x", "/tmp/x.ova",
                                            "file:///etc/passwd" };
        struct input *in = NULL;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(urls); i++) {
                struct err err = { { 0 } };
                assert_int_equal(http_input_open(urls[i], NULL, &in, &err), -EPROTONOSUPPORT);
                assert_non_null(strstr(err.msg, urls[i]));
        }
        assert_int_equal(http_input_open("http://[::1", NULL, &in, NULL), -EINVAL);
}

static void test_dropped_connection_is_resumed(void **state)
{
        struct fault *f = *state;
        unsigned drop_after = (unsigned) atoi(f->args[1]), drops = (unsigned) atoi(f->args[3]);
        char *url;

        need_python();
        url = url_of(&f->s, "http", NULL, "big.bin");
        assert_downloads(url, NULL, F.big, BIG_SIZE, true);
        /* The first request, then one per drop, each from where the last one ended: a Range
         * request, or a plain one again while nothing came. */
        assert_int_equal(log_count(&f->s, "GET /big.bin", NULL), 1 + drops);
        for (unsigned k = 1; k <= drops; k++) {
                unsigned at = k * drop_after;
                char *want = at > 0 ? str_printf("GET /big.bin 206 bytes=%u-\n", at)
                                    : str_printf("GET /big.bin 200 -");
                assert_int_equal(log_count(&f->s, want, NULL), at > 0 ? 1 : 1 + drops);
                free(want);
        }
        free(url);
}

/* Resumption asks the URL the body came from, with the credentials, not the redirect. */
static void test_resumption_after_redirect_keeps_credentials(void **state)
{
        struct fault *f = *state;
        char *url;
        char *want = str_printf("GET /auth/big.bin 206 bytes=%u-", DROP_AT);

        need_python();
        url = url_of(&f->s, "http", USER ":" PASSWORD, "redirect/auth/big.bin");
        assert_downloads(url, NULL, F.big, BIG_SIZE, true);
        assert_int_equal(log_count(&f->s, "GET /redirect/auth/big.bin 302", NULL), 1);
        assert_int_equal(log_count(&f->s, want, NULL), 1);
        assert_int_equal(log_count(&f->s, " 401 ", NULL), 0);
        free(want);
        free(url);
}

/* Reads until the first error; returns it and stores how many bytes came before. Calls the
 * input's read directly: input_read() drops the bytes of a call that ends in an error. */
static int read_until_error(struct input *in, uint8_t *out, size_t cap, size_t *ret_done)
{
        size_t done = 0;

        for (;;) {
                ssize_t n = in->ops->read(in, out + done, cap - done < 65536 ? cap - done : 65536);
                if (n <= 0) {
                        *ret_done = done;
                        return (int) n;
                }
                done += (size_t) n;
        }
}

static void test_server_without_ranges_cannot_resume(void **state)
{
        struct fault *f = *state;
        char *url;
        struct input *in = NULL;
        uint8_t *got = malloc(BIG_SIZE);
        size_t done;

        need_python();
        url = url_of(&f->s, "http", NULL, "big.bin");
        assert_int_equal(http_input_open(url, NULL, &in, NULL), 0);
        assert_string_equal(http_input_error(in), "");
        assert_int_equal(read_until_error(in, got, BIG_SIZE, &done), -EOPNOTSUPP);
        assert_int_equal(done, DROP_AT);
        assert_memory_equal(got, F.big, done); /* what came before is the file's */
        assert_non_null(strstr(http_input_error(in), url));
        assert_non_null(strstr(http_input_error(in), "does not support resuming"));
        assert_int_equal(input_read(in, got, 1), -EOPNOTSUPP); /* and stays failed */
        input_free(in);
        free(url);
        free(got);
}

/* Nothing of the body came yet: starting over is no splice, ranges or not. */
static void test_server_without_ranges_restarts_from_zero(void **state)
{
        struct fault *f = *state;
        char *url;

        need_python();
        url = url_of(&f->s, "http", NULL, "big.bin");
        assert_downloads(url, NULL, F.big, BIG_SIZE, true);
        assert_int_equal(log_count(&f->s, "GET /big.bin 200", NULL), 2);
        free(url);
}

static void test_retries_run_out(void **state)
{
        struct fault *f = *state;
        struct http_options opt = { .retries = 2 };
        char *url;
        struct input *in = NULL;
        uint8_t *got = malloc(BIG_SIZE);
        size_t done;

        need_python();
        url = url_of(&f->s, "http", NULL, "big.bin");
        assert_int_equal(http_input_open(url, &opt, &in, NULL), 0);
        assert_int_equal(read_until_error(in, got, BIG_SIZE, &done), -ECONNRESET);
        assert_int_equal(done, 3 * 100000);
        assert_memory_equal(got, F.big, done);
        assert_non_null(strstr(http_input_error(in), url));
        assert_non_null(strstr(http_input_error(in), "2 retries failed"));
        assert_int_equal(log_count(&f->s, "GET /big.bin", NULL), 3);
        input_free(in);

        /* HTTP_RETRIES_NONE: the first drop is the end. */
        opt.retries = HTTP_RETRIES_NONE;
        assert_int_equal(http_input_open(url, &opt, &in, NULL), 0);
        assert_int_equal(read_until_error(in, got, BIG_SIZE, &done), -ECONNRESET);
        assert_int_equal(done, 100000);
        input_free(in);
        free(url);
        free(got);
}

/* The file is replaced (renamed over) after the first response began: resuming would splice
 * two versions, so the read fails, after exactly the old version's first bytes. */
static void test_changed_file_fails_instead_of_splicing(void **state)
{
        struct fault *f = *state;
        char *path = path_join(F.www, "changing.bin"), *tmp = path_join(F.www, "changing.tmp");
        char *url;
        uint8_t *got = malloc(BIG_SIZE), *other = malloc(BIG_SIZE);
        struct input *in = NULL;
        size_t done;

        need_python();
        file_write(path, F.big, BIG_SIZE);
        fill_random(other, BIG_SIZE, 7);
        url = url_of(&f->s, "http", NULL, "changing.bin");
        assert_int_equal(http_input_open(url, NULL, &in, NULL), 0);
        file_write(tmp, other, BIG_SIZE);
        assert_int_equal(rename(tmp, path), 0);
        assert_int_equal(read_until_error(in, got, BIG_SIZE, &done), -ESTALE);
        assert_int_equal(done, DROP_AT);
        assert_memory_equal(got, F.big, done);
        assert_non_null(strstr(http_input_error(in), "changed on the server"));
        assert_non_null(strstr(http_input_error(in), url));
        input_free(in);
        (void) unlink(path);
        free(path);
        free(tmp);
        free(url);
        free(got);
        free(other);
}

static void test_https_with_its_ca_works(void **state)
{
        char *url;
        struct http_options opt = { .ca_file = F.ca };
        struct input *in = NULL;
        struct err err = { { 0 } };

        (void) state;
        if (!F.ca)
                skip();
        url = url_of(&F.tls, "https", NULL, "big.bin");
        assert_downloads(url, &opt, F.big, BIG_SIZE, true);
        opt.ca_file = "/nonexistent/ca.pem";
        assert_int_equal(http_input_open(url, &opt, &in, &err), -EINVAL);
        assert_non_null(strstr(err.msg, opt.ca_file));
        free(url);
}

static void test_https_untrusted_fails_unless_insecure(void **state)
{
        char *url;
        struct http_options opt = { .insecure = true };
        struct input *in = NULL;
        struct err err = { { 0 } };

        (void) state;
        if (!F.ca)
                skip();
        url = url_of(&F.tls, "https", NULL, "small.txt");
        assert_int_equal(http_input_open(url, NULL, &in, &err), -EPROTO);
        assert_non_null(strstr(err.msg, url));
        assert_non_null(strstr(err.msg, "not trusted"));
        assert_non_null(strstr(err.msg, "--insecure"));
        assert_downloads(url, &opt, (const uint8_t *) SMALL_TXT, strlen(SMALL_TXT), true);
        free(url);
}

static void assert_no_secret(const char *s)
{
        if (strstr(s, PASSWORD) || strstr(s, USER))
                fail_msg("'%s' shows the credentials", s);
}

static void test_credentials_are_never_shown(void **state)
{
        struct server none = { .port = closed_port() };
        char *url, *bare, *wrong, *missing, *refused;
        struct input *in = NULL, *sib = NULL;
        struct err err = { { 0 } };
        static const char *const invalid[] = {
                "http://" USER ":" PASSWORD "@[::1/x",
                "http://" USER ":" PASSWORD "@127.0.0.1:99999/x",
                "gopher://" USER ":" PASSWORD "@127.0.0.1/x",
        };

        (void) state;
        need_python();
        url = url_of(&F.plain, "http", USER ":" PASSWORD, "auth/small.txt");
        bare = url_of(&F.plain, "http", NULL, "auth/small.txt");
        assert_downloads(url, NULL, (const uint8_t *) SMALL_TXT, strlen(SMALL_TXT), true);
        assert_int_equal(http_input_open(url, NULL, &in, NULL), 0);
        assert_string_equal(in->name, bare);
        /* Siblings on the same server keep the credentials, and do not show them either. */
        assert_int_equal(input_open_sibling(in, "../small.txt", &sib, NULL), 0);
        assert_no_secret(sib->name);
        input_free(sib);
        assert_int_equal(input_open_sibling(in, "small.txt", &sib, &err), 0);
        assert_no_secret(sib->name);
        input_free(sib);
        input_free(in);

        assert_int_equal(http_input_open(bare, NULL, &in, &err), -EACCES);
        assert_non_null(strstr(err.msg, "401"));
        wrong = url_of(&F.plain, "http", USER ":wrong-" PASSWORD, "auth/small.txt");
        err = (struct err){ { 0 } };
        assert_int_equal(http_input_open(wrong, NULL, &in, &err), -EACCES);
        assert_non_null(strstr(err.msg, bare));
        assert_no_secret(err.msg);
        missing = url_of(&F.plain, "http", USER ":" PASSWORD, "auth/missing.ova");
        err = (struct err){ { 0 } };
        assert_int_equal(http_input_open(missing, NULL, &in, &err), -ENOENT);
        assert_no_secret(err.msg);
        refused = url_of(&none, "http", USER ":" PASSWORD, "x.ova");
        err = (struct err){ { 0 } };
        assert_int_equal(http_input_open(refused, NULL, &in, &err), -ECONNREFUSED);
        assert_no_secret(err.msg);
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                err = (struct err){ { 0 } };
                assert_true(http_input_open(invalid[i], NULL, &in, &err) < 0);
                assert_true(err.msg[0]);
                assert_no_secret(err.msg);
        }
        free(url);
        free(bare);
        free(wrong);
        free(missing);
        free(refused);
}

static void test_sibling_resolves_next_to_the_url(void **state)
{
        static const char *const refused[] = { "file:///etc/passwd", "ftp://127.0.0.1/x.vmdk",
                                               "gopher://127.0.0.1/x" };
        char *url, *want;
        struct input *in = NULL, *sib = NULL;
        struct err err = { { 0 } };
        uint8_t got[100001];

        (void) state;
        need_python();
        url = url_of(&F.plain, "http", NULL, "dir/x.ovf");
        want = url_of(&F.plain, "http", NULL, "dir/disk.vmdk");
        assert_int_equal(http_input_open(url, NULL, &in, NULL), 0);
        assert_int_equal(input_open_sibling(in, "disk.vmdk", &sib, &err), 0);
        assert_string_equal(sib->name, want);
        assert_int_equal(sib->size, 100000);
        assert_int_equal(input_read(sib, got, sizeof(got)), 100000);
        assert_memory_equal(got, F.big, 100000);
        input_free(sib);
        /* A space, as OVF writers put in names, is encoded; "..": up one directory. */
        assert_int_equal(input_open_sibling(in, "my disk.vmdk", &sib, &err), 0);
        assert_int_equal(input_read(sib, got, sizeof(got)), 1000);
        assert_memory_equal(got, F.big + 1, 1000);
        input_free(sib);
        assert_int_equal(input_open_sibling(in, "../small.txt", &sib, &err), 0);
        assert_int_equal(sib->size, strlen(SMALL_TXT));
        input_free(sib);
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                err = (struct err){ { 0 } };
                assert_int_equal(input_open_sibling(in, refused[i], &sib, &err), -EPERM);
                assert_non_null(strstr(err.msg, "not an http or https URL"));
        }
        assert_int_equal(input_open_sibling(in, "", &sib, NULL), -EINVAL);
        err = (struct err){ { 0 } };
        assert_int_equal(input_open_sibling(in, "missing.vmdk", &sib, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "dir/missing.vmdk"));
        input_free(in);
        free(url);
        free(want);
}

static void test_is_url(void **state)
{
        static const struct {
                const char *s;
                bool is;
        } t[] = {
                { "http://example.com/x.ova", true },
                { "https://example.com/x.ova", true },
                { "HTTPS://EXAMPLE.COM/X.OVA", true },
                { "http://", true },
                { "ftp://example.com/x.ova", false },
                { "file:///tmp/x.ova", false },
                { "/tmp/http://x", false },
                { "http:/x", false },
                { "httpx://x", false },
                { "x.ova", false },
                { "", false },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                if (http_is_url(t[i].s) != t[i].is)
                        fail_msg("http_is_url(\"%s\") != %d", t[i].s, t[i].is);
}

int main(void)
{
        static const struct open_failure failures[] = {
                { "missing.ova", -ENOENT, "HTTP 404 Not Found" },
                { "status/404", -ENOENT, "HTTP 404 Not Found" },
                { "status/403", -EACCES, "HTTP 403 Forbidden" },
                { "status/500", -EIO, "HTTP 500 Internal Server Error" },
                { "status/503", -EIO, "HTTP 503 Service Unavailable" },
                { "redirect/missing.ova", -ENOENT, "HTTP 404" },
                { "loop", -ELOOP, "more than 10 redirects" },
        };
        static const char *const names[] = {
                "missing_file_fails_at_open",  "status_404_fails_at_open",
                "status_403_fails_at_open",    "status_500_fails_at_open",
                "status_503_fails_at_open",    "redirect_to_missing_file_fails_at_open",
                "redirect_loop_fails_at_open",
        };
        static struct fault drop_mid_body = { .args = { "--drop-after", "1000000", "--drop-count",
                                                        "2" } };
        static struct fault drop_after_headers = { .args = { "--drop-after", "0", "--drop-count",
                                                             "1" } };
        static struct fault drop_odd = { .args = { "--drop-after", "777777", "--drop-count",
                                                   "5" } };
        static struct fault drop_auth = { .args = { "--drop-after", "1000000", "--drop-count", "1",
                                                    "--auth", USER ":" PASSWORD } };
        static struct fault no_range = { .args = { "--drop-after", "1000000", "--drop-count", "1",
                                                   "--no-range" } };
        static struct fault no_range_at_zero = { .args = { "--drop-after", "0", "--drop-count", "1",
                                                           "--no-range" } };
        static struct fault always_drop = { .args = { "--drop-after", "100000", "--drop-count",
                                                      "100" } };
        static struct fault drop_once = { .args = { "--drop-after", "1000000", "--drop-count",
                                                    "1" } };
        struct test_list l = { 0 };
        int r;

        tests_add(&l, "whole_file_reads_as_served", test_whole_file_reads_as_served, NULL, NULL,
                  NULL);
        tests_add(&l, "empty_file_reads_as_nothing", test_empty_file_reads_as_nothing, NULL, NULL,
                  NULL);
        tests_add(&l, "chunked_body_has_unknown_size", test_chunked_body_has_unknown_size, NULL,
                  NULL, NULL);
        tests_add(&l, "redirect_is_followed", test_redirect_is_followed, NULL, NULL, NULL);
        for (size_t i = 0; i < ELEMENTSOF(failures); i++)
                tests_add(&l, names[i], test_open_fails, NULL, NULL, (void *) &failures[i]);
        tests_add(&l, "closed_port_fails_at_open", test_closed_port_fails_at_open, NULL, NULL,
                  NULL);
        tests_add(&l, "not_a_url_fails", test_not_a_url_fails, NULL, NULL, NULL);
        tests_add(&l, "drop_mid_body_is_resumed", test_dropped_connection_is_resumed, fault_setup,
                  fault_teardown, &drop_mid_body);
        tests_add(&l, "drop_after_headers_is_resumed", test_dropped_connection_is_resumed,
                  fault_setup, fault_teardown, &drop_after_headers);
        tests_add(&l, "five_drops_are_resumed", test_dropped_connection_is_resumed, fault_setup,
                  fault_teardown, &drop_odd);
        tests_add(&l, "resumption_after_redirect_keeps_credentials",
                  test_resumption_after_redirect_keeps_credentials, fault_setup, fault_teardown,
                  &drop_auth);
        tests_add(&l, "server_without_ranges_cannot_resume",
                  test_server_without_ranges_cannot_resume, fault_setup, fault_teardown, &no_range);
        tests_add(&l, "server_without_ranges_restarts_from_zero",
                  test_server_without_ranges_restarts_from_zero, fault_setup, fault_teardown,
                  &no_range_at_zero);
        tests_add(&l, "retries_run_out", test_retries_run_out, fault_setup, fault_teardown,
                  &always_drop);
        tests_add(&l, "changed_file_fails_instead_of_splicing",
                  test_changed_file_fails_instead_of_splicing, fault_setup, fault_teardown,
                  &drop_once);
        tests_add(&l, "https_with_its_ca_works", test_https_with_its_ca_works, NULL, NULL, NULL);
        tests_add(&l, "https_untrusted_fails_unless_insecure",
                  test_https_untrusted_fails_unless_insecure, NULL, NULL, NULL);
        tests_add(&l, "credentials_are_never_shown", test_credentials_are_never_shown, NULL, NULL,
                  NULL);
        tests_add(&l, "sibling_resolves_next_to_the_url", test_sibling_resolves_next_to_the_url,
                  NULL, NULL, NULL);
        tests_add(&l, "is_url", test_is_url, NULL, NULL, NULL);
        r = _cmocka_run_group_tests("http", l.tests, l.n, group_setup, group_teardown);
        free(l.tests);
        return r;
}
