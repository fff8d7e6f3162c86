#pragma once
/* An http:// or https:// URL as a forward-only input, so that an OVA, OVF or disk image is
 * converted while it downloads, never stored first. The request is made up to the response
 * headers at open, so a wrong URL fails there; the body is pulled by the reads (no thread),
 * with bounded memory whatever its size. A connection lost in the middle of the body is
 * resumed with a Range request, and only if the server proves it still has the same resource:
 * the bytes read are exactly the resource's, never two versions spliced. */

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "input.h"

#define HTTP_RETRIES_DEFAULT 5
#define HTTP_RETRIES_NONE    (~0u) /* in http_options.retries: never resume */

struct http_options {
        bool insecure;       /* skip TLS verification: only when the user asked (--insecure) */
        const char *ca_file; /* PEM CA bundle used in place of the system's; NULL: the system's */
        /* How many times a lost connection is resumed over the whole transfer; 0 means
         * HTTP_RETRIES_DEFAULT, since a download of many GiB should survive a hiccup. */
        unsigned retries;
};

/* Opens url (http or https; user:password@ allowed, never shown) and waits for the response
 * headers. opt may be NULL for the defaults. The input's size is the Content-Length, or
 * UINT64_MAX when the server does not send one; its name is the URL without credentials.
 * A read that fails returns -errno; http_input_error() tells why. open_sibling() resolves a
 * relative name against url (not against a redirect's target) with the same options. */
int http_input_open(const char *url, const struct http_options *opt, struct input **ret,
                    struct err *err);

/* Why the last read of in failed, as a one-line message that names the URL; "" when none
 * failed or in is not an HTTP input. Valid until in is freed. */
const char *http_input_error(const struct input *in);

/* url with any user:password@ removed, for messages (cut to fit size). */
void http_redact_url(const char *url, char *out, size_t size);

/* True for http:// and https:// URLs (any case), the ones http_input_open() takes. */
bool http_is_url(const char *s);
