/* A video BIOS is the vendor's code: the input is the video ROM (its int 0x10 handler at offset
 * 3), run by the VBE probe in the emulator, bounded; the answers it writes are then read back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/kvmforge-fuzz-vbe-XXXXXX";

static void cleanup(void)
{
        char p[256];
        (void) snprintf(p, sizeof(p), "%s/dev/mem", root);
        (void) unlink(p);
        (void) snprintf(p, sizeof(p), "%s/dev", root);
        (void) rmdir(p);
        (void) rmdir(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static uint8_t *mem;
        struct hw_source src = { .sysroot = root };
        struct hw_vbe vbe;
        char p[256];
        FILE *f;

        if (!mem) {
                if (!mkdtemp(root) || !(mem = calloc(1, 1 << 20)))
                        abort();
                atexit(cleanup);
                (void) snprintf(p, sizeof(p), "%s/dev", root);
                if (mkdir(p, 0755) < 0)
                        abort();
        }
        memset(mem, 0, 1 << 20);
        mem[0x40] = 0x03; /* IVT[0x10] = C000:0003 */
        mem[0x43] = 0xc0;
        mem[0xc0000] = 0x55;
        mem[0xc0001] = 0xaa;
        if (size > 0x40000 - 3)
                size = 0x40000 - 3;
        memcpy(mem + 0xc0003, data, size);
        (void) snprintf(p, sizeof(p), "%s/dev/mem", root);
        if (!(f = fopen(p, "w")) || fwrite(mem, 1, 1 << 20, f) != 1 << 20 || fclose(f) != 0)
                abort();
        if (hw_vbe_probe(&src, &vbe) == 0 && vbe.n_modes > HW_MAX_VBE_MODES)
                __builtin_trap();
        return 0;
}
