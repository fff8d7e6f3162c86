/* What detect reads from a disk a stranger prepared: partition tables and signatures (through
 * libblkid) and the LVM label and metadata header that name a PV's volume group. The input is
 * the disk, seen through a captured tree. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DISK_MIN ((size_t) 256 << 20)

static char root[] = "/tmp/kvmforge-fuzz-disk-XXXXXX";

static void put(const char *rel, const void *buf, size_t len)
{
        char p[256];
        FILE *f;

        (void) snprintf(p, sizeof(p), "%s/%s", root, rel);
        f = fopen(p, "w");
        if (!f)
                abort();
        if (len && fwrite(buf, 1, len, f) != len)
                abort();
        fclose(f);
}

static void cleanup(void)
{
        static const char *const files[] = { "sys/block/sda/size", "dev/sda" };
        static const char *const dirs[] = { "sys/block/sda", "sys/block", "sys", "dev" };
        char p[256];

        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                (void) snprintf(p, sizeof(p), "%s/%s", root, files[i]);
                (void) unlink(p);
        }
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                (void) snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
                (void) rmdir(p);
        }
        (void) rmdir(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static int ready;
        struct hw_source src = { .sysroot = root };
        struct hw_disk *disks = NULL;
        size_t n = 0;
        char sectors[32];

        if (!ready) {
                char p[256];
                if (!mkdtemp(root))
                        abort();
                atexit(cleanup);
                for (const char *d = "sys\0sys/block\0sys/block/sda\0dev\0"; *d;
                     d += strlen(d) + 1) {
                        (void) snprintf(p, sizeof(p), "%s/%s", root, d);
                        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                                abort();
                }
                ready = 1;
        }
        put("dev/sda", data, size);
        /* The input is the front of a disk of at least 256 MiB, so that headers which record
         * the device's size (LVM's, GPT's) can describe a real one; the rest reads as zeros. */
        {
                char p[256];
                (void) snprintf(p, sizeof(p), "%s/dev/sda", root);
                if (size < DISK_MIN && truncate(p, DISK_MIN) < 0)
                        abort();
        }
        (void) snprintf(sectors, sizeof(sectors), "%zu\n",
                        (size < DISK_MIN ? DISK_MIN : size) / 512);
        put("sys/block/sda/size", sectors, strlen(sectors));
        if (hw_disks_detect(&src, &disks, &n) == 0)
                free(disks);
        return 0;
}
