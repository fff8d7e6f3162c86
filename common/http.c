#include "http.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "cleanup.h"
#include "log.h"

/* Body bytes held between two reads. The callback copies straight into the caller's buffer
 * while a read waits, so this only takes what arrives beyond it; when full, the transfer is
 * paused and TCP flow control holds the server back. */
#define HTTP_BUFFER           (2u << 20)
#define HTTP_CURL_BUFFER      (512L << 10) /* curl's receive buffer: fewer, larger recv() */
#define HTTP_MAX_REDIRECTS    10L
#define HTTP_CONNECT_TIMEOUT  30L /* seconds */
#define HTTP_STALL_SPEED      1L  /* bytes per second ... */
#define HTTP_STALL_TIME       60L /* ... for this many seconds: the connection is dead */
#define HTTP_POLL_MS          1000
#define HTTP_BACKOFF_FIRST_MS 200u
#define HTTP_BACKOFF_MAX_MS   5000u
#define HTTP_LABEL_MAX        120 /* characters of a URL in a message; signed URLs are long */
#define HTTP_VALIDATOR_MAX    256

DEFINE_CLEANUP_FUNC(CURLU *, curl_url_cleanup, NULL)

static inline void curl_freep(char **p)
{
        curl_free(*p);
}

/* What the headers of the response being received said. */
struct http_response {
        long status;
        char reason[64];
        bool location;
        bool chunked;
        uint64_t length;                   /* Content-Length; UINT64_MAX when absent */
        bool ranged;                       /* Content-Range: bytes START-END/TOTAL */
        uint64_t range_start, range_total; /* range_total UINT64_MAX for "*" */
        char etag[HTTP_VALIDATOR_MAX];
        char last_modified[HTTP_VALIDATOR_MAX];
};

struct http_input {
        struct input in;
        bool insecure;
        char *ca_file;
        unsigned retries;
        CURLU *url;        /* as given, credentials included: for siblings */
        char *request_url; /* the same as a string, for the first request */
        char *resume_url;  /* where the body came from, after redirects */
        char label[HTTP_LABEL_MAX + 4];
        CURLM *multi;
        CURL *easy;
        bool attached; /* easy is in multi */
        char errbuf[CURL_ERROR_SIZE];

        /* The current attempt: the first request, then each resumption. */
        struct http_response resp;
        unsigned attempt;
        bool accepted;  /* its final headers were checked: its body is the resource's */
        bool transient; /* refused with a status worth trying again (503, ...) */
        bool paused;    /* the write callback asked curl to hold the data */
        bool done;      /* curl finished it; result says how */
        CURLcode result;
        uint64_t attempt_start; /* got when it started */
        unsigned stalls;        /* attempts in a row that brought nothing, for the backoff */

        /* Validators of the first response: a resumption must show the same ones. */
        char etag[HTTP_VALIDATOR_MAX];
        char last_modified[HTTP_VALIDATOR_MAX];

        uint64_t got; /* bytes of the resource received: delivered or buffered */
        bool eof;
        int fail; /* the first fatal error; every later read returns it */
        struct err err;

        uint8_t *dst; /* the caller's buffer while a read waits */
        size_t dst_len, dst_done;
        uint8_t *buf; /* bytes received past it, buf[head..tail) */
        size_t head, tail;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

/* curl_global_init() is not thread-safe in every libcurl; never cleaned up, as the process
 * may hold inputs until it exits. */
static void curl_init(void)
{
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool http_is_url(const char *s)
{
        return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

/* Records the first fatal error (reads return it from then on) and returns it. */
static int fail(struct http_input *h, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int fail(struct http_input *h, int code, const char *fmt, ...)
{
        va_list ap;

        if (h->fail)
                return h->fail;
        h->fail = code;
        va_start(ap, fmt);
        (void) vsnprintf(h->err.msg, sizeof(h->err.msg), fmt, ap);
        va_end(ap);
        return code;
}

/* For messages about a URL curl could not parse: drops what lies between "://" and the last
 * '@' of the authority, so that a password never reaches a message. */
static void redact(const char *url, char *out, size_t size)
{
        const char *sep = strstr(url, "://"), *host = sep ? sep + 3 : url, *at = NULL, *p;
        size_t auth = strcspn(host, "/?#");

        for (p = host; p < host + auth; p++)
                if (*p == '@')
                        at = p;
        if (at)
                (void) snprintf(out, size, "%.*s%.*s", (int) (host - url), url, HTTP_LABEL_MAX,
                                at + 1);
        else
                (void) snprintf(out, size, "%.*s", HTTP_LABEL_MAX, url);
}

void http_redact_url(const char *url, char *out, size_t size)
{
        redact(url, out, size);
}

/* The URL without credentials, as the input's name; *ret is malloc()ed. */
static int display_url(CURLU *url, char **ret)
{
        _cleanup_(curl_url_cleanupp) CURLU *u = curl_url_dup(url);
        _cleanup_(curl_freep) char *s = NULL;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
            curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
            curl_url_set(u, CURLUPART_OPTIONS, NULL, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
                return -ENOMEM;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static bool url_part_equal(CURLU *a, CURLU *b, CURLUPart part)
{
        _cleanup_(curl_freep) char *x = NULL;
        _cleanup_(curl_freep) char *y = NULL;
        unsigned flags = part == CURLUPART_PORT ? CURLU_DEFAULT_PORT : 0;

        if (curl_url_get(a, part, &x, flags) != CURLUE_OK ||
            curl_url_get(b, part, &y, flags) != CURLUE_OK)
                return false;
        return strcasecmp(x, y) == 0;
}

/* Credentials belong to the server the user named: like curl on a redirect, we send them
 * elsewhere only to the same scheme, host and port. */
static bool same_origin(CURLU *a, CURLU *b)
{
        return url_part_equal(a, b, CURLUPART_SCHEME) && url_part_equal(a, b, CURLUPART_HOST) &&
               url_part_equal(a, b, CURLUPART_PORT);
}

/* Sets the credentials of to: those of from when both have the same origin, else none. */
static int url_copy_credentials(CURLU *to, CURLU *from)
{
        static const CURLUPart parts[] = { CURLUPART_USER, CURLUPART_PASSWORD };
        bool same = same_origin(to, from);

        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                _cleanup_(curl_freep) char *v = NULL;

                if (same)
                        (void) curl_url_get(from, parts[i], &v, 0);
                if (curl_url_set(to, parts[i], v, 0) != CURLUE_OK)
                        return -ENOMEM;
        }
        return 0;
}

static const char *reason_phrase(long status)
{
        static const struct {
                long status;
                const char *reason;
        } table[] = {
                { 400, "Bad Request" },
                { 401, "Unauthorized" },
                { 403, "Forbidden" },
                { 404, "Not Found" },
                { 405, "Method Not Allowed" },
                { 407, "Proxy Authentication Required" },
                { 408, "Request Timeout" },
                { 410, "Gone" },
                { 416, "Range Not Satisfiable" },
                { 429, "Too Many Requests" },
                { 500, "Internal Server Error" },
                { 502, "Bad Gateway" },
                { 503, "Service Unavailable" },
                { 504, "Gateway Timeout" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (table[i].status == status)
                        return table[i].reason;
        return "";
}

static int status_error(struct http_input *h)
{
        const struct http_response *r = &h->resp;
        const char *reason = r->reason[0] ? r->reason : reason_phrase(r->status);
        const char *hint = "";
        int code = -EIO;

        if (r->status == 404 || r->status == 410) {
                code = -ENOENT;
        } else if (r->status == 401 || r->status == 403 || r->status == 407) {
                code = -EACCES;
                if (r->status == 401)
                        hint = " (the URL needs a user:password@, or has a wrong one)";
        }
        return fail(h, code, "cannot download '%s': HTTP %ld%s%s%s", h->label, r->status,
                    reason[0] ? " " : "", reason, hint);
}

static int curl_errno(CURLcode res)
{
        switch (res) {
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                return -EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_TOO_MANY_REDIRECTS:
                return -ELOOP;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
                return -EPROTO;
        case CURLE_RANGE_ERROR:
                return -EOPNOTSUPP;
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
                return -ECONNRESET;
        default:
                return -EIO;
        }
}

/* The failures that a new connection may not have: worth a resumption. */
static bool curl_retryable(CURLcode res)
{
        switch (res) {
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

static bool status_transient(long status)
{
        return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
               status == 504;
}

static int fail_curl(struct http_input *h, CURLcode res)
{
        const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(res);
        long os = 0;

        switch (res) {
        case CURLE_OK:
                return fail(h, -EBADMSG, "cannot download '%s': the server sent no response",
                            h->label);
        case CURLE_COULDNT_CONNECT:
                (void) curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &os);
                if (os > 0)
                        return fail(h, -(int) os, "cannot connect to '%s': %s", h->label,
                                    strerror((int) os));
                return fail(h, -ECONNREFUSED, "cannot connect to '%s': %s", h->label, why);
        case CURLE_PEER_FAILED_VERIFICATION:
                return fail(
                        h, -EPROTO,
                        "cannot download '%s': TLS certificate not trusted (use --insecure to skip verification): %s",
                        h->label, why);
        case CURLE_SSL_CONNECT_ERROR:
                return fail(h, -EPROTO, "cannot download '%s': TLS handshake failed: %s", h->label,
                            why);
        case CURLE_SSL_CACERT_BADFILE:
                if (!h->ca_file)
                        return fail(h, -EPROTO,
                                    "cannot download '%s': this system has no CA certificates to "
                                    "verify it with (install the ca-certificates package)",
                                    h->label);
                return fail(h, -EINVAL, "cannot download '%s': cannot use CA file '%s': %s",
                            h->label, h->ca_file, why);
        case CURLE_TOO_MANY_REDIRECTS:
                return fail(h, -ELOOP, "cannot download '%s': more than %ld redirects", h->label,
                            HTTP_MAX_REDIRECTS);
        case CURLE_UNSUPPORTED_PROTOCOL:
                return fail(h, -EPROTONOSUPPORT,
                            "cannot download '%s': redirected to a URL that is not http or https",
                            h->label);
        case CURLE_RANGE_ERROR:
                return fail(h, -EOPNOTSUPP,
                            "cannot resume '%s' at byte %llu: the server does not support resuming",
                            h->label, (unsigned long long) h->got);
        default:
                return fail(h, curl_errno(res), "cannot download '%s': %s", h->label, why);
        }
}

/* ---- the callbacks, run inside curl_multi_perform() ---- */

static void header_value(const char *v, size_t len, char *out, size_t size)
{
        while (len && (*v == ' ' || *v == '\t')) {
                v++;
                len--;
        }
        while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                len--;
        if (len >= size)
                len = size - 1; /* a longer validator compares by its first bytes */
        memcpy(out, v, len);
        out[len] = 0;
}

static bool parse_u64(const char **p, uint64_t *ret)
{
        const char *s = *p;
        uint64_t v = 0;

        if (*s < '0' || *s > '9')
                return false;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return false;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *p = s;
        *ret = v;
        return true;
}

/* "bytes START-END/TOTAL" or "bytes START-END/ *" */
static bool parse_content_range(const char *s, struct http_response *r)
{
        uint64_t end;

        if (strncasecmp(s, "bytes", 5) != 0)
                return false;
        s += 5;
        while (*s == ' ')
                s++;
        if (!parse_u64(&s, &r->range_start) || *s++ != '-' || !parse_u64(&s, &end) || *s++ != '/' ||
            end < r->range_start)
                return false;
        if (strcmp(s, "*") == 0)
                r->range_total = UINT64_MAX;
        else if (!parse_u64(&s, &r->range_total) || *s || end >= r->range_total)
                return false;
        return true;
}

static void parse_status_line(const char *line, size_t len, struct http_response *r)
{
        char s[128];
        const char *p;
        char *end;

        header_value(line, len, s, sizeof(s));
        p = strchr(s, ' ');
        *r = (struct http_response){ .length = UINT64_MAX };
        if (!p)
                return;
        r->status = strtol(p + 1, &end, 10);
        while (*end == ' ')
                end++;
        /* The reason phrase goes into messages: printable ASCII only. */
        for (size_t i = 0; end[i] && i < sizeof(r->reason) - 1; i++)
                r->reason[i] = end[i] >= 0x20 && end[i] < 0x7f ? end[i] : '?';
}

/* The first response: its body is the resource, its headers give the size and validators. */
static bool accept_first(struct http_input *h)
{
        const struct http_response *r = &h->resp;

        if (r->status < 200 || r->status > 299) {
                (void) status_error(h);
                return false;
        }
        h->in.size = r->chunked ? UINT64_MAX : r->length;
        memcpy(h->etag, r->etag, sizeof(h->etag));
        memcpy(h->last_modified, r->last_modified, sizeof(h->last_modified));
        return true;
}

/* A resumption must continue the same resource exactly where the last attempt stopped. */
static bool accept_resumed(struct http_input *h)
{
        const struct http_response *r = &h->resp;
        unsigned long long at = h->got;
        uint64_t total;

        if (status_transient(r->status)) {
                h->transient = true;
                return false;
        }
        if (r->status == 416) {
                (void) fail(
                        h, -ESTALE,
                        "'%s' changed on the server while it was read: it no longer has %llu bytes",
                        h->label, at);
                return false;
        }
        if (r->status < 200 || r->status > 299) {
                (void) status_error(h);
                return false;
        }
        if (r->status != 206 && h->got > 0) {
                (void) fail(
                        h, -EOPNOTSUPP,
                        "cannot resume '%s' at byte %llu after the connection was lost: the server does not support resuming (it ignores Range requests)",
                        h->label, at);
                return false;
        }
        if (r->status == 206 && (!r->ranged || r->range_start != h->got)) {
                (void) fail(
                        h, -EBADMSG,
                        "cannot resume '%s' at byte %llu: the server answered with another range",
                        h->label, at);
                return false;
        }
        total = r->status == 206 ? r->range_total : r->chunked ? UINT64_MAX : r->length;
        if (h->in.size != UINT64_MAX && total != UINT64_MAX && total != h->in.size) {
                (void) fail(
                        h, -ESTALE,
                        "'%s' changed on the server while it was read: its size went from %llu to %llu bytes",
                        h->label, (unsigned long long) h->in.size, (unsigned long long) total);
                return false;
        }
        if ((h->etag[0] && strcmp(r->etag, h->etag) != 0) ||
            (h->last_modified[0] && strcmp(r->last_modified, h->last_modified) != 0)) {
                (void) fail(
                        h, -ESTALE,
                        "'%s' changed on the server while it was read (its %s differs), cannot resume",
                        h->label, strcmp(r->etag, h->etag) != 0 ? "ETag" : "Last-Modified");
                return false;
        }
        return true;
}

/* At the blank line that ends a response's headers. Returns false to abort the transfer. */
static bool headers_end(struct http_input *h)
{
        const struct http_response *r = &h->resp;

        if (r->status >= 100 && r->status < 200)
                return true; /* an interim response: the real one follows */
        if (r->status >= 300 && r->status < 400 && r->location)
                return true; /* curl follows it, or fails with too many redirects */
        h->accepted = h->attempt == 0 ? accept_first(h) : accept_resumed(h);
        return h->accepted;
}

static bool header_is(const char *line, const char *colon, const char *name)
{
        size_t len = strlen(name);

        return (size_t) (colon - line) == len && strncasecmp(line, name, len) == 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
        struct http_input *h = userdata;
        struct http_response *r = &h->resp;
        size_t len = size * n, l = len;
        char v[HTTP_VALIDATOR_MAX];
        const char *colon;

        while (l && (data[l - 1] == '\r' || data[l - 1] == '\n'))
                l--;
        if (l >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                parse_status_line(data, l, r);
                return len;
        }
        if (l == 0)
                return headers_end(h) ? len : 0;
        colon = memchr(data, ':', l);
        if (!colon)
                return len;
        header_value(colon + 1, l - (size_t) (colon + 1 - data), v, sizeof(v));
        if (header_is(data, colon, "Content-Length")) {
                const char *p = v;
                if (!parse_u64(&p, &r->length) || *p)
                        r->length = UINT64_MAX;
        } else if (header_is(data, colon, "Content-Range")) {
                r->ranged = parse_content_range(v, r);
        } else if (header_is(data, colon, "ETag")) {
                memcpy(r->etag, v, sizeof(r->etag));
        } else if (header_is(data, colon, "Last-Modified")) {
                memcpy(r->last_modified, v, sizeof(r->last_modified));
        } else if (header_is(data, colon, "Location")) {
                r->location = v[0] != 0;
        } else if (header_is(data, colon, "Transfer-Encoding")) {
                r->chunked = strcasestr(v, "chunked") != NULL;
        }
        return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
        struct http_input *h = userdata;
        size_t len = size * n, direct;

        if (!h->accepted)
                return len; /* the body of a redirect or an error page */
        if (len == 0)
                return 0;
        if (h->in.size != UINT64_MAX && len > h->in.size - h->got) {
                (void) fail(h, -EBADMSG,
                            "cannot download '%s': the server sent more than its %llu bytes",
                            h->label, (unsigned long long) h->in.size);
                return 0;
        }
        /* All or nothing: after a pause curl delivers the same bytes again. */
        if (len > (h->dst_len - h->dst_done) + (HTTP_BUFFER - h->tail)) {
                h->paused = true;
                return CURL_WRITEFUNC_PAUSE;
        }
        direct = h->dst_len - h->dst_done < len ? h->dst_len - h->dst_done : len;
        if (direct) {
                memcpy(h->dst + h->dst_done, data, direct);
                h->dst_done += direct;
        }
        if (len > direct) {
                memcpy(h->buf + h->tail, data + direct, len - direct);
                h->tail += len - direct;
        }
        h->got += len;
        return len;
}

/* ---- driving the transfer ---- */

static int pump(struct http_input *h)
{
        int running = 0, left = 0;
        CURLMcode mc = curl_multi_perform(h->multi, &running);
        CURLMsg *m;

        if (mc != CURLM_OK)
                return fail(h, -EIO, "cannot download '%s': %s", h->label, curl_multi_strerror(mc));
        while ((m = curl_multi_info_read(h->multi, &left)))
                if (m->msg == CURLMSG_DONE && m->easy_handle == h->easy) {
                        h->done = true;
                        h->result = m->data.result;
                }
        return 0;
}

static int wait_socket(struct http_input *h)
{
        CURLMcode mc = curl_multi_poll(h->multi, NULL, 0, HTTP_POLL_MS, NULL);

        if (mc != CURLM_OK)
                return fail(h, -EIO, "cannot download '%s': %s", h->label, curl_multi_strerror(mc));
        return 0;
}

static int start_attempt(struct http_input *h)
{
        const char *url = h->attempt == 0 ? h->request_url : h->resume_url;
        CURLMcode mc;

        if (h->attached) {
                (void) curl_multi_remove_handle(h->multi, h->easy);
                h->attached = false;
        }
        h->resp = (struct http_response){ .length = UINT64_MAX };
        h->accepted = h->transient = h->paused = h->done = false;
        h->errbuf[0] = 0;
        h->attempt_start = h->got;
        if (curl_easy_setopt(h->easy, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(h->easy, CURLOPT_RESUME_FROM_LARGE, (curl_off_t) h->got) != CURLE_OK)
                return fail(h, -ENOMEM, "cannot download '%s': out of memory", h->label);
        mc = curl_multi_add_handle(h->multi, h->easy);
        if (mc != CURLM_OK)
                return fail(h, -EIO, "cannot download '%s': %s", h->label, curl_multi_strerror(mc));
        h->attached = true;
        return 0;
}

/* The current attempt ended: the end of the resource, a fatal error, or a lost connection,
 * which is resumed after a pause that grows while attempts bring nothing. */
static int finish_attempt(struct http_input *h)
{
        CURLcode res = h->result;
        unsigned delay;
        struct timespec ts;

        h->done = false;
        if (h->fail)
                return h->fail;
        if (res == CURLE_OK && (h->in.size == UINT64_MAX || h->got == h->in.size)) {
                h->eof = true;
                return 0;
        }
        if (res != CURLE_OK && !h->transient && !curl_retryable(res))
                return fail_curl(h, res);
        if (h->attempt >= h->retries) {
                int code = res == CURLE_OK || h->transient ? -ECONNRESET : curl_errno(res);
                char why[sizeof(h->errbuf) + 64];

                if (h->transient)
                        (void) snprintf(why, sizeof(why), "HTTP %ld", h->resp.status);
                else if (res == CURLE_OK)
                        (void) snprintf(why, sizeof(why), "the server closed the connection");
                else
                        (void) snprintf(why, sizeof(why), "%s",
                                        h->errbuf[0] ? h->errbuf : curl_easy_strerror(res));
                if (h->retries == 0)
                        return fail(h, code,
                                    "cannot download '%s': connection lost at byte %llu: %s",
                                    h->label, (unsigned long long) h->got, why);
                return fail(
                        h, code,
                        "cannot download '%s': connection lost at byte %llu, %u retries failed: %s",
                        h->label, (unsigned long long) h->got, h->retries, why);
        }
        h->stalls = h->got == h->attempt_start ? h->stalls + 1 : 0;
        delay = h->stalls < 5 ? HTTP_BACKOFF_FIRST_MS << h->stalls : HTTP_BACKOFF_MAX_MS;
        if (delay > HTTP_BACKOFF_MAX_MS)
                delay = HTTP_BACKOFF_MAX_MS;
        log_debug("connection to '%s' lost at byte %llu (%s), resuming in %u ms", h->label,
                  (unsigned long long) h->got, h->errbuf[0] ? h->errbuf : curl_easy_strerror(res),
                  delay);
        ts = (struct timespec){ .tv_sec = delay / 1000,
                                .tv_nsec = (long) (delay % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        h->attempt++;
        return start_attempt(h);
}

/* Runs the transfer until the caller's buffer is full, or holds something and more would
 * mean waiting, or the resource ends, or it fails (h->fail). */
static void fill(struct http_input *h)
{
        if (h->paused) {
                CURLcode res;

                h->paused = false; /* before: curl may deliver, and we pause again, inside */
                res = curl_easy_pause(h->easy, CURLPAUSE_CONT);
                if (res != CURLE_OK) {
                        (void) fail_curl(h, res);
                        return;
                }
        }
        while (h->dst_done < h->dst_len && !h->fail && !h->eof) {
                size_t before = h->dst_done;

                if (h->done) {
                        (void) finish_attempt(h);
                        continue;
                }
                if (pump(h) < 0)
                        return;
                if (h->dst_done > before || h->done)
                        continue;
                if (h->dst_done > 0)
                        return;
                if (wait_socket(h) < 0)
                        return;
        }
}

static ssize_t http_read(struct input *in, void *buf, size_t len)
{
        struct http_input *h = (struct http_input *) in;
        size_t n = h->tail - h->head;

        if (n > len)
                n = len;
        if (n) {
                memcpy(buf, h->buf + h->head, n);
                h->head += n;
        }
        if (h->head == h->tail)
                h->head = h->tail = 0;
        if (n < len && !h->eof && !h->fail) {
                h->dst = (uint8_t *) buf + n;
                h->dst_len = len - n;
                h->dst_done = 0;
                fill(h);
                n += h->dst_done;
                h->dst = NULL;
                h->dst_len = h->dst_done = 0;
        }
        if (n == 0 && h->fail)
                return h->fail;
        in->pos += n;
        return (ssize_t) n;
}

/* Where to resume: the URL the body came from, so that a redirect is not followed again (it
 * may lead elsewhere by then), with the user's credentials if it is still their server. */
static int find_resume_url(struct http_input *h)
{
        _cleanup_(curl_url_cleanupp) CURLU *u = NULL;
        _cleanup_(curl_freep) char *s = NULL;
        long redirects = 0;
        char *effective = NULL;

        if (curl_easy_getinfo(h->easy, CURLINFO_REDIRECT_COUNT, &redirects) != CURLE_OK ||
            redirects == 0 ||
            curl_easy_getinfo(h->easy, CURLINFO_EFFECTIVE_URL, &effective) != CURLE_OK ||
            !effective) {
                h->resume_url = strdup(h->request_url);
                return h->resume_url ? 0 : -ENOMEM;
        }
        u = curl_url();
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, effective, 0) != CURLUE_OK)
                return fail(h, -EBADMSG, "cannot download '%s': redirected to an invalid URL",
                            h->label);
        if (url_copy_credentials(u, h->url) < 0 ||
            curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
                return -ENOMEM;
        h->resume_url = strdup(s);
        return h->resume_url ? 0 : -ENOMEM;
}

static int setup_easy(struct http_input *h)
{
        CURL *e = h->easy;
        CURLcode res = CURLE_OK;

#define SET(opt, val)                                          \
        do {                                                   \
                if (res == CURLE_OK)                           \
                        res = curl_easy_setopt(e, opt, (val)); \
        } while (0)
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_FOLLOWLOCATION, 1L);
        SET(CURLOPT_MAXREDIRS, HTTP_MAX_REDIRECTS);
        /* HTTP/2 would multiplex nothing here, and its flow-control window lets a paused
         * transfer buffer far more than HTTP_BUFFER. */
        SET(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT);
        SET(CURLOPT_LOW_SPEED_LIMIT, HTTP_STALL_SPEED);
        SET(CURLOPT_LOW_SPEED_TIME, HTTP_STALL_TIME);
        SET(CURLOPT_TCP_KEEPALIVE, 1L);
        SET(CURLOPT_BUFFERSIZE, HTTP_CURL_BUFFER);
        SET(CURLOPT_ERRORBUFFER, h->errbuf);
        SET(CURLOPT_USERAGENT, "kvmforge");
        SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L); /* a proxy's CONNECT answer is not ours */
        SET(CURLOPT_HEADERFUNCTION, on_header);
        SET(CURLOPT_HEADERDATA, h);
        SET(CURLOPT_WRITEFUNCTION, on_body);
        SET(CURLOPT_WRITEDATA, h);
        SET(CURLOPT_SSL_VERIFYPEER, h->insecure ? 0L : 1L);
        SET(CURLOPT_SSL_VERIFYHOST, h->insecure ? 0L : 2L);
        if (h->ca_file)
                SET(CURLOPT_CAINFO, h->ca_file);
#undef SET
        if (res != CURLE_OK)
                return fail(h, res == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EOPNOTSUPP,
                            "cannot download '%s': libcurl refuses an option: %s", h->label,
                            curl_easy_strerror(res));
        return 0;
}

static const struct input_ops http_ops;

/* Opens a parsed http or https URL; url stays the caller's. */
static int open_url(CURLU *url, const struct http_options *opt, struct input **ret, struct err *err)
{
        static const struct http_options defaults = { 0 };
        _cleanup_(input_freep) struct input *in = NULL;
        _cleanup_(curl_freep) char *s = NULL;
        struct http_input *h;
        int r;

        if (!opt)
                opt = &defaults;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->in.ops = &http_ops;
        h->in.size = UINT64_MAX;
        in = &h->in;
        h->insecure = opt->insecure;
        h->retries = opt->retries == 0                   ? HTTP_RETRIES_DEFAULT
                     : opt->retries == HTTP_RETRIES_NONE ? 0
                                                         : opt->retries;
        if (opt->ca_file && !(h->ca_file = strdup(opt->ca_file)))
                return -ENOMEM;
        h->url = curl_url_dup(url);
        if (!h->url || curl_url_get(h->url, CURLUPART_URL, &s, 0) != CURLUE_OK ||
            !(h->request_url = strdup(s)))
                return -ENOMEM;
        r = display_url(url, &in->name);
        if (r < 0)
                return r;
        if (strlen(in->name) > HTTP_LABEL_MAX)
                (void) snprintf(h->label, sizeof(h->label), "%.*s...", HTTP_LABEL_MAX, in->name);
        else
                (void) snprintf(h->label, sizeof(h->label), "%s", in->name);
        h->buf = malloc(HTTP_BUFFER);
        h->multi = curl_multi_init();
        h->easy = curl_easy_init();
        if (!h->buf || !h->multi || !h->easy)
                return -ENOMEM;

        if (setup_easy(h) < 0 || start_attempt(h) < 0)
                return err_set(err, h->fail, "%s", h->err.msg);
        while (!h->accepted && !h->done && !h->fail) {
                if (pump(h) < 0)
                        break;
                if (!h->accepted && !h->done)
                        (void) wait_socket(h);
        }
        if (!h->fail && !h->accepted)
                (void) fail_curl(h, h->result);
        if (!h->fail) {
                r = find_resume_url(h);
                if (r < 0 && !h->fail)
                        return r;
        }
        if (h->fail)
                return err_set(err, h->fail, "%s", h->err.msg);
        *ret = TAKE_PTR(in);
        return 0;
}

int http_input_open(const char *url, const struct http_options *opt, struct input **ret,
                    struct err *err)
{
        _cleanup_(curl_url_cleanupp) CURLU *u = NULL;
        char shown[HTTP_LABEL_MAX + 32];
        CURLUcode rc;

        if (pthread_once(&curl_once, curl_init) != 0 || curl_init_result != CURLE_OK)
                return err_set(err, -EIO, "cannot initialize libcurl");
        redact(url, shown, sizeof(shown));
        if (!http_is_url(url))
                return err_set(err, -EPROTONOSUPPORT, "'%s' is not an http:// or https:// URL",
                               shown);
        u = curl_url();
        if (!u)
                return -ENOMEM;
        rc = curl_url_set(u, CURLUPART_URL, url, 0);
        if (rc == CURLUE_OUT_OF_MEMORY)
                return -ENOMEM;
        if (rc != CURLUE_OK)
                return err_set(err, -EINVAL, "'%s' is not a valid URL: %s", shown,
                               curl_url_strerror(rc));
        return open_url(u, opt, ret, err);
}

/* Names come from an OVF that a stranger may have written: relative ones stay on the
 * server, absolute ones must still be http or https and get no credentials elsewhere. */
static int http_open_sibling(struct input *in, const char *name, struct input **ret,
                             struct err *err)
{
        struct http_input *h = (struct http_input *) in;
        _cleanup_(curl_url_cleanupp) CURLU *u = NULL;
        _cleanup_(curl_freep) char *scheme = NULL;
        struct http_options opt = {
                .insecure = h->insecure,
                .ca_file = h->ca_file,
                .retries = h->retries == 0 ? HTTP_RETRIES_NONE : h->retries,
        };
        char shown[HTTP_LABEL_MAX + 32];
        CURLUcode rc;

        if (!name[0])
                return err_set(err, -EINVAL, "empty file name in '%s'", in->name);
        redact(name, shown, sizeof(shown));
        u = curl_url_dup(h->url);
        if (!u)
                return -ENOMEM;
        rc = curl_url_set(u, CURLUPART_URL, name, CURLU_ALLOW_SPACE | CURLU_URLENCODE);
        if (rc == CURLUE_OUT_OF_MEMORY)
                return -ENOMEM;
        if (rc != CURLUE_OK)
                return err_set(err, -EINVAL, "'%s' names '%s', which is not a valid URL: %s",
                               in->name, shown, curl_url_strerror(rc));
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
                return err_set(err, -EPERM, "'%s' names '%s', which is not an http or https URL",
                               in->name, shown);
        if (url_copy_credentials(u, h->url) < 0)
                return -ENOMEM;
        return open_url(u, &opt, ret, err);
}

static void http_free(struct input *in)
{
        struct http_input *h = (struct http_input *) in;

        if (h->attached)
                (void) curl_multi_remove_handle(h->multi, h->easy);
        if (h->easy)
                curl_easy_cleanup(h->easy);
        if (h->multi)
                (void) curl_multi_cleanup(h->multi);
        curl_url_cleanup(h->url);
        free(h->ca_file);
        free(h->request_url);
        free(h->resume_url);
        free(h->buf);
}

static const struct input_ops http_ops = {
        .read = http_read,
        .open_sibling = http_open_sibling,
        .free = http_free,
};

const char *http_input_error(const struct input *in)
{
        if (!in || in->ops != &http_ops)
                return "";
        return ((const struct http_input *) in)->err.msg;
}
