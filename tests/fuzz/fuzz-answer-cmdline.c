/* The kernel command line as a boot prompt, a PXE menu or a stranger's DHCP options may leave
 * it: the answer keys, quotes and overrides (answer_cmdline_parse). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "answer_fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct answer_cmdline c;
        struct err err = { { 0 } };
        char *s;

        /* The command line is a C string: the input up to its first NUL. */
        s = strndup((const char *) data, size);
        if (!s)
                return 0;
        if (answer_cmdline_parse(s, &c, &err) == 0) {
                if ((c.spec == NULL) != (c.key == NULL) || c.n_lines > ANSWER_CMDLINE_LINES)
                        __builtin_trap();
                for (size_t i = 0; i < c.n_lines; i++)
                        /* An override is one kickstart line: no line break may split it. */
                        if (!c.lines[i] || !c.lines[i][0] || strpbrk(c.lines[i], "\r\n"))
                                __builtin_trap();
                if (c.sha256 && strlen(c.sha256) != 64)
                        __builtin_trap();
                answer_cmdline_release(&c);
        } else if (!err.msg[0]) {
                __builtin_trap(); /* every refusal says why */
        }
        free(s);
        return 0;
}
