/* The FAT image that becomes the ESP of the install medium. mtools writes FAT into an image
 * file without a kernel driver (no loop device, no mount, no root); each tool runs as a child
 * with an argument vector, never through a shell, and SOURCE_DATE_EPOCH in its environment
 * makes the directory entries' dates (and so the bytes) reproducible. */
#include "efiimg.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "cleanup.h"

#define MIB    (UINT64_C(1) << 20)
#define SECTOR 512u
/* FAT32 would need at least 65525 clusters; past this we would be guessing at mformat's
 * choices, and an ESP for a boot loader never needs that much. */
#define EFIIMG_MAX_BYTES (UINT64_C(1) << 30)

extern char **environ;

uint64_t efiimg_size_for(uint64_t payload_bytes, size_t n_files)
{
        /* Each file and directory may waste up to one 4 KiB cluster; the FATs, the root
         * directory and reserved sectors of a small FAT12/16 take well under 512 KiB; then
         * 1/8 more so that a file can be swapped for a slightly larger one by hand. */
        uint64_t need = payload_bytes + (uint64_t) n_files * 2 * 4096 + 512 * 1024;
        need += need / 8;
        return (need + MIB - 1) / MIB * MIB;
}

/* The environment of the children: ours, with the fixed date and without the checks that
 * make mtools refuse an image whose geometry it did not choose itself. */
static char **child_env(time_t timestamp)
{
        size_t n = 0, j = 0;
        char **env;

        while (environ[n])
                n++;
        env = calloc(n + 3, sizeof(char *));
        if (!env)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (strncmp(environ[i], "SOURCE_DATE_EPOCH=", 18) != 0 &&
                    strncmp(environ[i], "MTOOLS_SKIP_CHECK=", 18) != 0)
                        env[j++] = environ[i];
        if (asprintf(&env[j++], "SOURCE_DATE_EPOCH=%lld", (long long) timestamp) < 0) {
                free(env);
                return NULL;
        }
        env[j++] = (char *) "MTOOLS_SKIP_CHECK=1";
        env[j] = NULL;
        return env;
}

static void child_env_free(char **env, time_t timestamp)
{
        char prefix[64];

        if (!env)
                return;
        (void) snprintf(prefix, sizeof(prefix), "SOURCE_DATE_EPOCH=%lld", (long long) timestamp);
        for (size_t i = 0; env[i]; i++)
                if (strcmp(env[i], prefix) == 0)
                        free(env[i]); /* the only string we allocated */
        free(env);
}

/* Names inside the image: relative, plain characters, no empty or dot components, so that
 * nothing is read by mtools as an option, a drive letter or a way out of the image. */
static bool dst_valid(const char *p)
{
        size_t comp = 0;

        if (!*p || *p == '/' || strlen(p) > 200)
                return false;
        for (const char *c = p;; c++) {
                if (*c == '/' || *c == '\0') {
                        if (comp == 0)
                                return false;
                        if (comp <= 2 && c[-1] == '.' && (comp == 1 || c[-2] == '.'))
                                return false;
                        if (*c == '\0')
                                return true;
                        comp = 0;
                        continue;
                }
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
                        return false;
                comp++;
        }
}

/* Makes every parent directory of dst not made yet; made holds "::/A/B" strings. */
static int make_parents(const char *img, const char *dst, char **made, size_t *n_made,
                        size_t max_made, char **envp, struct err *err)
{
        for (const char *s = strchr(dst, '/'); s; s = strchr(s + 1, '/')) {
                _cleanup_free_ char *dir = NULL;
                bool have = false;
                int r;

                if (asprintf(&dir, "::/%.*s", (int) (s - dst), dst) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < *n_made && !have; i++)
                        have = strcasecmp(made[i], dir) == 0; /* FAT ignores case */
                if (have)
                        continue;
                if (*n_made == max_made)
                        return err_set(err, -E2BIG, "too many directories in the image");
                char *argv[] = { (char *) "mmd", (char *) "-i", (char *) img, dir, NULL };
                r = child_run("making the EFI system image", argv,
                              &(struct child_options){ .log_fd = -1, .in_fd = -1, .envp = envp },
                              err);
                if (r < 0)
                        return r;
                made[(*n_made)++] = TAKE_PTR(dir);
        }
        return 0;
}

static void strv_release(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
}

int efiimg_write(const char *out, const struct efiimg_file *files, size_t n_files,
                 const struct efiimg_options *o, struct err *err)
{
        static const struct efiimg_options defaults = { .timestamp = -1 };
        char *made[EFIIMG_MAX_FILES * 8];
        size_t n_made = 0;
        _cleanup_free_ char *tmp = NULL;
        uint64_t payload = 0, size;
        time_t ts;
        char **envp = NULL;
        char sectors[32], serial[16];
        const char *label;
        int r;

        if (!o)
                o = &defaults;
        label = o->label ? o->label : "EFIBOOT";
        if (strlen(label) > 11 || strpbrk(label, "\"*+,./:;<=>?[\\]|"))
                return err_set(err, -EINVAL, "'%s' is not a FAT volume label", label);
        if (n_files > EFIIMG_MAX_FILES)
                return err_set(err, -E2BIG, "%zu files, more than %d", n_files, EFIIMG_MAX_FILES);
        for (size_t i = 0; i < n_files; i++) {
                struct stat st;

                if (!dst_valid(files[i].dst))
                        return err_set(err, -EINVAL, "'%s' is not a usable path in a FAT image",
                                       files[i].dst);
                for (size_t j = 0; j < i; j++)
                        if (strcasecmp(files[i].dst, files[j].dst) == 0)
                                return err_set(err, -EEXIST, "'%s' is given twice", files[i].dst);
                if (stat(files[i].src, &st) < 0)
                        return err_set(err, -errno, "cannot stat '%s': %s", files[i].src,
                                       strerror(errno));
                if (!S_ISREG(st.st_mode))
                        return err_set(err, -EINVAL, "'%s' is not a regular file", files[i].src);
                if ((uint64_t) st.st_size > EFIIMG_MAX_BYTES - payload)
                        return err_set(err, -EFBIG, "the files exceed %" PRIu64 " bytes",
                                       EFIIMG_MAX_BYTES);
                payload += (uint64_t) st.st_size;
        }
        size = efiimg_size_for(payload, n_files);
        if (o->min_bytes > size)
                size = (o->min_bytes + MIB - 1) / MIB * MIB;
        if (size > EFIIMG_MAX_BYTES)
                return err_set(err, -EFBIG, "an image of %" PRIu64 " bytes is too large", size);

        ts = o->timestamp >= 0 ? o->timestamp : time(NULL);
        (void) snprintf(sectors, sizeof(sectors), "%" PRIu64, size / SECTOR);
        (void) snprintf(serial, sizeof(serial), "%08" PRIx32,
                        o->serial ? o->serial : (uint32_t) ts);
        if (asprintf(&tmp, "%s.tmp-XXXXXX", out) < 0)
                return -ENOMEM;
        {
                int fd = mkstemp(tmp);
                if (fd < 0)
                        return err_set(err, -errno, "cannot create a file beside '%s': %s", out,
                                       strerror(errno));
                close(fd);
        }
        envp = child_env(ts);
        if (!envp) {
                r = -ENOMEM;
                goto fail;
        }

        /* -C would refuse the file mkstemp() made: mformat formats it in place once it has
         * its size. 64 heads x 32 sectors is the usual geometry of a USB stick. */
        if (truncate(tmp, (off_t) size) < 0) {
                r = err_set(err, -errno, "cannot size '%s': %s", tmp, strerror(errno));
                goto fail;
        }
        {
                char *argv[] = { (char *) "mformat", (char *) "-i", tmp,
                                 (char *) "-T",      sectors,       (char *) "-h",
                                 (char *) "64",      (char *) "-s", (char *) "32",
                                 (char *) "-N",      serial,        (char *) "-v",
                                 (char *) label,     (char *) "::", NULL };
                r = child_run("making the EFI system image", argv,
                              &(struct child_options){ .log_fd = -1, .in_fd = -1, .envp = envp },
                              err);
                if (r < 0)
                        goto fail;
        }
        for (size_t i = 0; i < n_files; i++) {
                _cleanup_free_ char *dst = NULL;

                r = make_parents(tmp, files[i].dst, made, &n_made, ELEMENTSOF(made), envp, err);
                if (r < 0)
                        goto fail;
                if (asprintf(&dst, "::/%s", files[i].dst) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                char *argv[] = { (char *) "mcopy",      (char *) "-i", tmp, (char *) "--",
                                 (char *) files[i].src, dst,           NULL };
                r = child_run("making the EFI system image", argv,
                              &(struct child_options){ .log_fd = -1, .in_fd = -1, .envp = envp },
                              err);
                if (r < 0)
                        goto fail;
        }
        if (rename(tmp, out) < 0) {
                r = err_set(err, -errno, "cannot rename '%s' to '%s': %s", tmp, out,
                            strerror(errno));
                goto fail;
        }
        strv_release(made, n_made);
        child_env_free(envp, ts);
        return 0;
fail:
        (void) unlink(tmp);
        strv_release(made, n_made);
        child_env_free(envp, ts);
        return err_prefix(err, r, "cannot make the EFI image '%s'", out);
}
