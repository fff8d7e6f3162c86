/* What the first boot reads from files and tools: /etc/kvmforge/node.conf (written by the
 * installer, edited by admins) and lvm's report of the VG. The first byte chooses the parser;
 * whatever they accept must be a terminated string within its field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct err err = { { 0 } };
        char *text;

        if (size < 1 || size > 65536)
                return 0;
        text = malloc(size);
        if (!text)
                return 0;
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        if (data[0] & 1) {
                struct node_conf c;
                node_conf_init(&c);
                if (node_conf_parse(text, size - 1, &c, &err) == 0 &&
                    (strnlen(c.bridge, sizeof(c.bridge)) == sizeof(c.bridge) ||
                     strnlen(c.report_url, sizeof(c.report_url)) == sizeof(c.report_url) ||
                     strnlen(c.pool, sizeof(c.pool)) == sizeof(c.pool)))
                        abort();
        } else {
                struct node_lvs l;
                (void) node_lvs_parse(text, &l, &err);
        }
        free(text);
        return 0;
}
