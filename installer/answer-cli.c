/* What the sub-commands that act on an answer share: fetch it, read it, print its errors. */

#include <errno.h>
#include <stdio.h>

#include "answer.h"
#include "answer_fetch.h"
#include "cleanup.h"
#include "cli.h"
#include "log.h"

int cli_load_answer(const char *src, struct answer *ret)
{
        struct answer_fetch_options fo = { .retries = 2 };
        _cleanup_(answer_source_release) struct answer_source as = { 0 };
        struct err err = { { 0 } };
        char buf[1024];
        int r;

        if ((r = answer_fetch(src, &fo, &as, &err)) < 0)
                return log_error_errno(r, "%s", err.msg);
        struct answer_load_options lo = { .cleartext = as.cleartext };
        if ((r = answer_load(as.text, as.len, as.name, &lo, ret)) < 0)
                return log_error_errno(r, "cannot read '%s': %m", as.name);
        for (size_t i = 0; i < ret->n_diags; i++)
                if (ret->diags[i].level == ANSWER_ERROR) {
                        answer_format_diag(ret, &ret->diags[i], buf, sizeof(buf));
                        fprintf(stderr, "%s\n", buf);
                }
        if (ret->n_errors) {
                answer_release(ret);
                return log_error_errno(EINVAL,
                                       "'%s' cannot be installed; see 'kvmforge-install "
                                       "check-answer %s'; nothing was written",
                                       as.name, src);
        }
        return 0;
}
