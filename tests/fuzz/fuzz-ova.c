/* Whole OVA packages through the import walk: the descriptor first, then the manifest, the
 * certificate and the disks in any order, gzip'd and chunked, each disk converted into a scratch
 * directory and removed again. This is what a stranger's .ova or URL reaches. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "import.h"
#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dest[] = "/tmp/kvmforge-fuzz-ova-XXXXXX";

static void remove_dest(void)
{
        (void) rmdir(dest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static bool ready;
        struct import_options opt = {
                .domain = { .dest = dest, .network = "default" },
                .convert = { .threads = 1 },
        };
        struct import *im = NULL;
        struct input *in = NULL;
        struct err err = { { 0 } };

        if (!ready) {
                if (!mkdtemp(dest))
                        abort();
                atexit(remove_dest);
                ready = true;
        }
        if (input_new_memory(data, size, "fuzz.ova", &in) < 0)
                return 0;
        if (import_open(in, true, &opt, &im, &err) == 0) {
                if (import_run(im, &err) == 0)
                        import_rollback(im); /* leave the scratch directory empty */
                import_free(im);
        }
        return 0;
}
