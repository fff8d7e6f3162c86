/* Answer files into the model and back out: every command table, the checks, the writers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "answer.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* %include must not wander the fuzzing machine's files. */
        static const struct answer_load_options o = { .root = "/nonexistent-kvmforge-fuzz" };
        struct answer a, again;
        char *out = NULL;
        size_t len = 0;
        FILE *f;

        if (answer_load((const char *) data, size, "fuzz.cfg", &o, &a) < 0)
                return 0;
        if (a.n_errors > a.n_diags)
                __builtin_trap();
        f = open_memstream(&out, &len);
        if (f) {
                struct json j;
                (void) answer_write_kickstart(&a, true, f);
                json_init(&j, f);
                answer_json(&a, &j);
                fclose(f);
                /* What the writer prints must read back. */
                if (answer_load(out, len, "effective.cfg", &o, &again) == 0)
                        answer_release(&again);
                free(out);
        }
        answer_release(&a);
        return 0;
}
