/* Replays saved fuzzer inputs without libFuzzer: make check runs every file under the
 * directories (or files) named on the command line through LLVMFuzzerTestOneInput. */

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path, unsigned *count)
{
        FILE *f = fopen(path, "rb");
        uint8_t *buf;
        long len;

        if (!f)
                return -errno;
        if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
                fclose(f);
                return -EIO;
        }
        buf = malloc(len ? (size_t) len : 1);
        if (!buf || fread(buf, 1, (size_t) len, f) != (size_t) len) {
                free(buf);
                fclose(f);
                return -EIO;
        }
        fclose(f);
        (void) LLVMFuzzerTestOneInput(buf, (size_t) len);
        free(buf);
        (*count)++;
        return 0;
}

static int replay(const char *path, unsigned *count)
{
        struct stat st;
        DIR *d;
        struct dirent *de;

        if (stat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno; /* no crashes saved yet */
        if (!S_ISDIR(st.st_mode))
                return replay_file(path, count);
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char sub[4096];
                if (de->d_name[0] == '.')
                        continue;
                (void) snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
                int r = replay(sub, count);
                if (r < 0) {
                        closedir(d);
                        return r;
                }
        }
        closedir(d);
        return 0;
}

int main(int argc, char **argv)
{
        unsigned count = 0;

        for (int i = 1; i < argc; i++) {
                int r = replay(argv[i], &count);
                if (r < 0) {
                        fprintf(stderr, "replay: cannot read '%s': %s\n", argv[i], strerror(-r));
                        return 1;
                }
        }
        printf("replayed %u inputs\n", count);
        return 0;
}
