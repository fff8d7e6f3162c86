#include "initramfs.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cleanup.h"

#define PATH_DEPTH_MAX  40                  /* symbolic links followed on one path */
#define TOOL_OUTPUT_MAX (1024 * 1024)       /* what we read of ldd's or busybox's output */
#define MODULE_SIZE_MAX (256 * 1024 * 1024) /* one decompressed module */
#define MODDIR_DEPTH    16
#define COPY_CHUNK      (64 * 1024)

enum entry_kind {
        ENTRY_DIR,
        ENTRY_FILE, /* a host file, read by initramfs_finish() */
        ENTRY_DATA,
        ENTRY_SYMLINK,
        ENTRY_NODE,
};

struct entry {
        char *path; /* without the leading '/' */
        enum entry_kind kind;
        mode_t mode; /* permission bits, plus S_IFCHR/S_IFBLK for nodes */
        char *src;   /* ENTRY_FILE */
        void *data;  /* ENTRY_DATA */
        size_t len;
        char *target; /* ENTRY_SYMLINK */
        dev_t rdev;
        bool implicit; /* a parent directory nobody asked for */
        bool weak;     /* a busybox applet link: anything replaces it */
};

struct module {
        char *name;    /* '-' written '_' */
        char *relpath; /* in the tree: "kernel/fs/isofs/isofs.ko.xz" */
        char **deps;   /* from modules.dep, when the tree has it */
        size_t n_deps;
        bool has_dep_line;
        int state; /* 0 new, 1 visiting, 2 done */
};

struct modtree {
        const char *dir;
        const char *release;
        struct module *mods;
        size_t n, cap;
        bool have_dep;
};

struct initramfs {
        char *out;
        struct entry *entries;
        size_t n, cap;
        char *modlist; /* the lines of INITRAMFS_MODULES_LIST */
        size_t modlist_len, n_modules;
        enum initramfs_compression compression;
        int level;
        bool finished;
};

static void entry_release(struct entry *e)
{
        free(e->path);
        free(e->src);
        free(e->data);
        free(e->target);
        *e = (struct entry){ 0 };
}

struct initramfs *initramfs_free(struct initramfs *ird)
{
        if (!ird)
                return NULL;
        for (size_t i = 0; i < ird->n; i++)
                entry_release(&ird->entries[i]);
        free(ird->entries);
        free(ird->modlist);
        free(ird->out);
        free(ird);
        return NULL;
}

DEFINE_CLEANUP_FUNC(struct initramfs *, initramfs_free, NULL)
DEFINE_CLEANUP_FUNC(struct archive *, archive_read_free, NULL)
DEFINE_CLEANUP_FUNC(struct archive *, archive_write_free, NULL)
DEFINE_CLEANUP_FUNC(struct archive_entry *, archive_entry_free, NULL)

size_t initramfs_count(const struct initramfs *ird)
{
        return ird->n;
}

size_t initramfs_module_count(const struct initramfs *ird)
{
        return ird->n_modules;
}

/* ---- paths ---- */

/* Normalizes an absolute path lexically ("//", "." and ".." resolved; ".." at the top stays
 * there) into RET without the leading '/'. Callers resolve symbolic links component by
 * component, so a lexical ".." is right where it is used. */
static int path_normalize(const char *path, char **ret, struct err *err)
{
        size_t len = strlen(path);
        _cleanup_free_ char *out = NULL;
        size_t o = 0;

        if (path[0] != '/')
                return err_set(err, -EINVAL, "'%s' is not an absolute path", path);
        if (len >= PATH_MAX)
                return err_set(err, -ENAMETOOLONG, "path too long: '%.64s...'", path);
        out = malloc(len + 1);
        if (!out)
                return -ENOMEM;
        for (const char *p = path; *p;) {
                const char *c;
                size_t clen;

                while (*p == '/')
                        p++;
                c = p;
                while (*p && *p != '/')
                        p++;
                clen = (size_t) (p - c);
                if (clen == 0 || (clen == 1 && c[0] == '.'))
                        continue;
                if (clen == 2 && c[0] == '.' && c[1] == '.') {
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--;
                        continue;
                }
                if (o > 0)
                        out[o++] = '/';
                memcpy(out + o, c, clen);
                o += clen;
        }
        out[o] = '\0';
        if (o == 0)
                return err_set(err, -EINVAL, "'%s' names the root itself", path);
        *ret = TAKE_PTR(out);
        return 0;
}

/* DIR (a directory path, absolute or not) joined with a link TARGET into an absolute path. */
static char *path_join_target(const char *dir, const char *target)
{
        char *s;

        if (target[0] == '/')
                return strdup(target);
        if (asprintf(&s, "/%s/%s", dir, target) < 0)
                return NULL;
        return s;
}

/* ---- entries ---- */

static struct entry *entry_find(struct initramfs *ird, const char *path)
{
        for (size_t i = 0; i < ird->n; i++)
                if (strcmp(ird->entries[i].path, path) == 0)
                        return &ird->entries[i];
        return NULL;
}

static int entry_append(struct initramfs *ird, struct entry *e)
{
        if (ird->n == ird->cap) {
                size_t cap = ird->cap ? ird->cap * 2 : 256;
                struct entry *n = realloc(ird->entries, cap * sizeof(*n));

                if (!n)
                        return -ENOMEM;
                ird->entries = n;
                ird->cap = cap;
        }
        ird->entries[ird->n++] = *e;
        *e = (struct entry){ 0 };
        return 0;
}

/* Rewrites *PATH (normalized, no leading '/') so that none of its parents is a symbolic link
 * of the archive, and adds the missing parents as directories. */
static int resolve_parents(struct initramfs *ird, char **path, struct err *err)
{
        for (int depth = 0;; depth++) {
                char *p = *path;
                bool rewritten = false;

                if (depth > PATH_DEPTH_MAX)
                        return err_set(err, -ELOOP, "too many symbolic links on '/%s'", p);
                for (char *slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
                        struct entry *e;

                        *slash = '\0';
                        e = entry_find(ird, p);
                        if (e && e->kind == ENTRY_SYMLINK) {
                                char *dir = strdup(p), *joined, *abs;
                                int r;

                                *slash = '/';
                                if (!dir)
                                        return -ENOMEM;
                                /* The link's directory, then its target, then the rest. */
                                {
                                        char *ds = strrchr(dir, '/');
                                        if (ds)
                                                *ds = '\0';
                                        else
                                                dir[0] = '\0';
                                }
                                joined = path_join_target(dir, e->target);
                                free(dir);
                                if (!joined)
                                        return -ENOMEM;
                                if (asprintf(&abs, "%s/%s", joined, slash + 1) < 0) {
                                        free(joined);
                                        return -ENOMEM;
                                }
                                free(joined);
                                free(*path);
                                *path = NULL;
                                r = path_normalize(abs, path, err);
                                free(abs);
                                if (r < 0)
                                        return r;
                                rewritten = true;
                                break;
                        }
                        if (e && e->kind != ENTRY_DIR) {
                                *slash = '/';
                                return err_set(err, -ENOTDIR,
                                               "cannot add '/%s': a parent is not a directory", p);
                        }
                        *slash = '/';
                }
                if (!rewritten)
                        break;
        }

        /* Every parent is a directory or missing: add the missing ones. */
        for (char *slash = strchr(*path, '/'); slash; slash = strchr(slash + 1, '/')) {
                struct entry d = { .kind = ENTRY_DIR, .mode = 0755, .implicit = true };
                int r;

                *slash = '\0';
                if (entry_find(ird, *path)) {
                        *slash = '/';
                        continue;
                }
                d.path = strdup(*path);
                *slash = '/';
                if (!d.path)
                        return -ENOMEM;
                r = entry_append(ird, &d);
                if (r < 0) {
                        entry_release(&d);
                        return r;
                }
        }
        return 0;
}

static bool entry_same(const struct entry *a, const struct entry *b)
{
        if (a->kind != b->kind || a->mode != b->mode)
                return false;
        switch (a->kind) {
        case ENTRY_FILE:
                return strcmp(a->src, b->src) == 0;
        case ENTRY_SYMLINK:
                return strcmp(a->target, b->target) == 0;
        case ENTRY_NODE:
                return a->rdev == b->rdev;
        case ENTRY_DATA:
                return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
        default:
                return true;
        }
}

/* Adds E (its path as given: absolute) or merges it with an entry of the same path. Takes
 * E's allocations in any case. */
static int entry_put(struct initramfs *ird, struct entry *e, struct err *err)
{
        _cleanup_free_ char *path = NULL;
        struct entry *old;
        int r;

        if (ird->finished) {
                entry_release(e);
                return err_set(err, -EINVAL, "the initramfs is already written");
        }
        r = path_normalize(e->path, &path, err);
        if (r >= 0)
                r = resolve_parents(ird, &path, err);
        if (r < 0) {
                entry_release(e);
                return r;
        }
        free(e->path);
        e->path = TAKE_PTR(path);

        old = entry_find(ird, e->path);
        if (!old)
                return entry_append(ird, e);
        if (old->kind == ENTRY_DIR && e->kind == ENTRY_DIR) {
                /* An explicit mode wins over an implicit parent's. */
                if (!e->implicit) {
                        old->mode = e->mode;
                        old->implicit = false;
                }
                entry_release(e);
                return 0;
        }
        if (old->weak && e->kind != ENTRY_DIR) {
                entry_release(old);
                *old = *e;
                *e = (struct entry){ 0 };
                return 0;
        }
        if (e->weak) {
                entry_release(e); /* an applet link never replaces a real entry */
                return 0;
        }
        if (old->kind == ENTRY_DIR || e->kind == ENTRY_DIR) {
                r = err_set(err, -EEXIST, "'/%s' is already in the initramfs as a %s", e->path,
                            old->kind == ENTRY_DIR ? "directory" : "non-directory");
                entry_release(e);
                return r;
        }
        if (!entry_same(old, e)) {
                entry_release(old);
                *old = *e;
                *e = (struct entry){ 0 };
                return 0;
        }
        entry_release(e);
        return 0;
}

int initramfs_add_dir(struct initramfs *ird, const char *dst, mode_t mode, struct err *err)
{
        struct entry e = { .kind = ENTRY_DIR, .mode = mode & 07777 };

        e.path = strdup(dst);
        if (!e.path)
                return -ENOMEM;
        return entry_put(ird, &e, err);
}

static int add_symlink_full(struct initramfs *ird, const char *dst, const char *target, bool weak,
                            struct err *err)
{
        struct entry e = { .kind = ENTRY_SYMLINK, .mode = 0777, .weak = weak };

        if (!target[0])
                return err_set(err, -EINVAL, "empty target for the link '%s'", dst);
        e.path = strdup(dst);
        e.target = strdup(target);
        if (!e.path || !e.target) {
                entry_release(&e);
                return -ENOMEM;
        }
        return entry_put(ird, &e, err);
}

int initramfs_add_symlink(struct initramfs *ird, const char *dst, const char *target,
                          struct err *err)
{
        return add_symlink_full(ird, dst, target, false, err);
}

int initramfs_add_node(struct initramfs *ird, const char *dst, mode_t mode, dev_t rdev,
                       struct err *err)
{
        struct entry e = { .kind = ENTRY_NODE, .mode = mode & (S_IFMT | 07777), .rdev = rdev };

        if (!S_ISCHR(mode) && !S_ISBLK(mode))
                return err_set(err, -EINVAL, "'%s': a node is a character or block device", dst);
        e.path = strdup(dst);
        if (!e.path)
                return -ENOMEM;
        return entry_put(ird, &e, err);
}

int initramfs_add_data(struct initramfs *ird, const char *dst, const void *buf, size_t len,
                       mode_t mode, struct err *err)
{
        struct entry e = { .kind = ENTRY_DATA, .mode = mode & 07777, .len = len };

        if (len > UINT32_MAX)
                return err_set(err, -EFBIG, "'%s' is too large for a cpio archive", dst);
        e.path = strdup(dst);
        e.data = malloc(len ? len : 1);
        if (!e.path || !e.data) {
                entry_release(&e);
                return -ENOMEM;
        }
        if (len)
                memcpy(e.data, buf, len);
        return entry_put(ird, &e, err);
}

int initramfs_add_file(struct initramfs *ird, const char *src, const char *dst, mode_t mode,
                       struct err *err)
{
        struct entry e = { .kind = ENTRY_FILE };
        struct stat st;

        if (stat(src, &st) < 0)
                return err_set(err, -errno, "cannot add '%s': %m", src);
        if (!S_ISREG(st.st_mode))
                return err_set(err, -EINVAL, "cannot add '%s': not a regular file", src);
        if ((uint64_t) st.st_size > UINT32_MAX)
                return err_set(err, -EFBIG, "'%s' is too large for a cpio archive", src);
        e.mode = mode ? mode & 07777 : st.st_mode & 07777;
        e.path = strdup(dst);
        e.src = strdup(src);
        if (!e.path || !e.src) {
                entry_release(&e);
                return -ENOMEM;
        }
        return entry_put(ird, &e, err);
}

int initramfs_set_compression(struct initramfs *ird, enum initramfs_compression c, int level,
                              struct err *err)
{
        if (c < 0 || c >= INITRAMFS_COMPRESSION_COUNT)
                return err_set(err, -EINVAL, "unknown compression %d", (int) c);
        if (level < 0 || level > (c == INITRAMFS_ZSTD ? 19 : 9))
                return err_set(err, -EINVAL, "compression level %d out of range", level);
        ird->compression = c;
        ird->level = level;
        return 0;
}

int initramfs_new(const char *out, struct initramfs **ret, struct err *err)
{
        static const struct {
                const char *path;
                mode_t mode;
        } dirs[] = {
                { "/dev", 0755 },  { "/proc", 0755 }, { "/sys", 0755 }, { "/run", 0755 },
                { "/tmp", 01777 }, { "/root", 0700 }, { "/etc", 0755 },
        };
        static const char *const merged[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
        _cleanup_(initramfs_freep) struct initramfs *ird = NULL;
        int r;

        ird = calloc(1, sizeof(*ird));
        if (!ird)
                return -ENOMEM;
        ird->out = strdup(out);
        if (!ird->out)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                r = initramfs_add_dir(ird, dirs[i].path, dirs[i].mode, err);
                if (r < 0)
                        return r;
        }
        r = initramfs_add_node(ird, "/dev/console", S_IFCHR | 0600, makedev(5, 1), err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(merged); i++) {
                char host[32], target[PATH_MAX];
                struct stat st;
                ssize_t n;

                (void) snprintf(host, sizeof(host), "/%s", merged[i]);
                if (lstat(host, &st) < 0 || !S_ISLNK(st.st_mode))
                        continue;
                n = readlink(host, target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = '\0';
                r = initramfs_add_symlink(ird, host, target, err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(ird);
        return 0;
}

/* ---- programs ---- */

/* Adds the host PATH at its own path: each symbolic link met on the way (a parent or the file
 * itself) as a link, then what it points to. Sets *RET_FINAL (if not NULL) to the regular
 * file's path. */
static int install_host_path(struct initramfs *ird, const char *path, int depth, char **ret_final,
                             struct err *err)
{
        _cleanup_free_ char *norm = NULL, *prefix = NULL;
        size_t len;
        int r;

        if (depth > PATH_DEPTH_MAX)
                return err_set(err, -ELOOP, "too many symbolic links on '%s'", path);
        r = path_normalize(path, &norm, err);
        if (r < 0)
                return r;
        len = strlen(norm);
        prefix = malloc(len + 2);
        if (!prefix)
                return -ENOMEM;
        for (size_t end = 0; end < len;) {
                struct stat st;

                end += strcspn(norm + end, "/");
                prefix[0] = '/';
                memcpy(prefix + 1, norm, end);
                prefix[end + 1] = '\0';
                if (lstat(prefix, &st) < 0)
                        return err_set(err, -errno, "cannot add '%s': '%s': %m", path, prefix);
                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        _cleanup_free_ char *next = NULL, *dir = NULL;
                        ssize_t n = readlink(prefix, target, sizeof(target) - 1);
                        char *slash;

                        if (n <= 0)
                                return err_set(err, n < 0 ? -errno : -EINVAL,
                                               "cannot read the link '%s': %m", prefix);
                        target[n] = '\0';
                        r = initramfs_add_symlink(ird, prefix, target, err);
                        if (r < 0)
                                return r;
                        dir = strdup(prefix);
                        if (!dir)
                                return -ENOMEM;
                        slash = strrchr(dir, '/');
                        *slash = '\0';
                        if (target[0] == '/')
                                r = asprintf(&next, "%s%s%s", target, end < len ? "/" : "",
                                             norm + end);
                        else
                                r = asprintf(&next, "%s/%s%s%s", dir, target, end < len ? "/" : "",
                                             norm + end);
                        if (r < 0)
                                return -ENOMEM;
                        return install_host_path(ird, next, depth + 1, ret_final, err);
                }
                if (end == len) {
                        if (!S_ISREG(st.st_mode))
                                return err_set(err, -EINVAL, "cannot add '%s': not a file", path);
                        r = initramfs_add_file(ird, prefix, prefix, 0, err);
                        if (r < 0)
                                return r;
                        if (ret_final)
                                *ret_final = TAKE_PTR(prefix);
                        return 0;
                }
                if (!S_ISDIR(st.st_mode))
                        return err_set(err, -ENOTDIR, "cannot add '%s': '%s' is not a directory",
                                       path, prefix);
                end++;
        }
        return err_set(err, -EINVAL, "cannot add '%s'", path);
}

static int find_program(const char *name, char **ret, struct err *err)
{
        const char *env = getenv("PATH");
        _cleanup_free_ char *dirs = NULL;
        char *save = NULL;

        if (strchr(name, '/')) {
                if (access(name, X_OK) < 0)
                        return err_set(err, -errno, "cannot add the program '%s': %m", name);
                if (name[0] == '/') {
                        *ret = strdup(name);
                } else {
                        char cwd[PATH_MAX];

                        if (!getcwd(cwd, sizeof(cwd)) || asprintf(ret, "%s/%s", cwd, name) < 0)
                                return -ENOMEM;
                }
                return *ret ? 0 : -ENOMEM;
        }
        if (asprintf(&dirs, "%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     env ? env : "") < 0)
                return -ENOMEM;
        for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (d[0] != '/')
                        continue;
                if (asprintf(&p, "%s/%s", d, name) < 0)
                        return -ENOMEM;
                if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
        }
        return err_set(err, -ENOENT, "no program '%s' in $PATH or the sbin directories", name);
}

/* Runs ARGV (looked up in $PATH) with LC_ALL=C and stdin and stderr on /dev/null; returns its
 * standard output (NUL-terminated) in *RET. A non-zero exit is -EPROTO. */
static int run_capture(char *const argv[], char **ret, struct err *err)
{
        int pipefd[2], status;
        pid_t pid;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        char *envp[] = { "LC_ALL=C", NULL, NULL };
        const char *path = getenv("PATH");
        _cleanup_free_ char *path_env = NULL;

        /* (Not posix_spawn: -Icommon makes <spawn.h> name common/spawn.h.) */
        if (asprintf(&path_env, "PATH=%s", path ? path : "/usr/sbin:/usr/bin:/sbin:/bin") < 0)
                return -ENOMEM;
        envp[1] = path_env;
        buf = malloc(TOOL_OUTPUT_MAX);
        if (!buf)
                return -ENOMEM;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return err_set(err, -errno, "pipe: %m");
        pid = fork();
        if (pid < 0) {
                int r = -errno;

                (void) close(pipefd[0]);
                (void) close(pipefd[1]);
                return err_set(err, r, "fork: %m");
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);

                if (null < 0 || dup2(null, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(null, 2) < 0)
                        _exit(126);
                execvpe(argv[0], argv, envp);
                _exit(127);
        }
        (void) close(pipefd[1]);
        for (;;) {
                ssize_t n = read(pipefd[0], buf + len, TOOL_OUTPUT_MAX - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
                if (len == TOOL_OUTPUT_MAX - 1)
                        break;
        }
        (void) close(pipefd[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return err_set(err, -errno, "waitpid: %m");
        if (len == TOOL_OUTPUT_MAX - 1)
                return err_set(err, -EFBIG, "'%s' wrote too much", argv[0]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return err_set(err, -ENOENT, "cannot run '%s'", argv[0]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return err_set(err, -EPROTO, "'%s %s' failed (status %d)", argv[0],
                               argv[1] ? argv[1] : "", status);
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Whether PATH is a dynamically linked ELF file (it has a PT_INTERP program header). */
static int elf_is_dynamic(const char *path, bool *ret, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        Elf64_Ehdr eh;
        ssize_t n;

        if (fd < 0)
                return err_set(err, -errno, "cannot open '%s': %m", path);
        n = pread(fd, &eh, sizeof(eh), 0);
        if (n < 0)
                return err_set(err, -errno, "cannot read '%s': %m", path);
        *ret = false;
        if ((size_t) n < sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
            eh.e_ident[EI_CLASS] != ELFCLASS64)
                return 0; /* a script, or not an ELF file we know: no libraries */
        if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 4096)
                return 0;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;

                if (pread(fd, &ph, sizeof(ph), (off_t) (eh.e_phoff + i * sizeof(ph))) !=
                    (ssize_t) sizeof(ph))
                        break;
                if (ph.p_type == PT_INTERP) {
                        *ret = true;
                        break;
                }
        }
        return 0;
}

/* The shared libraries and the interpreter of PATH (a dynamically linked ELF file), at their
 * host paths. */
static int add_libraries(struct initramfs *ird, const char *path, struct err *err)
{
        _cleanup_free_ char *out = NULL;
        char *save = NULL;
        bool dynamic = false;
        int r;

        r = elf_is_dynamic(path, &dynamic, err);
        if (r < 0 || !dynamic)
                return r;
        /* ldd lists every library, transitively, and the interpreter:
         *   libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)
         *   /lib64/ld-linux-x86-64.so.2 (0x...)
         *   linux-vdso.so.1 (0x...)        (in the kernel: nothing to copy) */
        {
                char *argv[] = { "ldd", (char *) path, NULL };

                r = run_capture(argv, &out, err);
                if (r < 0)
                        return err_prefix(err, r, "cannot list the libraries of '%s'", path);
        }
        for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *arrow = strstr(line, "=> "), *lib, *sp;

                lib = arrow ? arrow + 3 : line;
                lib += strspn(lib, " \t");
                if (strncmp(lib, "not found", 9) == 0)
                        return err_set(err, -ENOENT, "'%s' needs '%.*s', which is missing", path,
                                       (int) strcspn(line + 1, " "), line + 1);
                if (lib[0] != '/')
                        continue;
                sp = strchr(lib, ' ');
                if (sp)
                        *sp = '\0';
                r = install_host_path(ird, lib, 0, NULL, err);
                if (r < 0)
                        return err_prefix(err, r, "library of '%s'", path);
        }
        return 0;
}

static int add_program(struct initramfs *ird, const char *path_or_name, char **ret_final,
                       struct err *err)
{
        _cleanup_free_ char *path = NULL, *final = NULL;
        int r;

        r = find_program(path_or_name, &path, err);
        if (r < 0)
                return r;
        r = install_host_path(ird, path, 0, &final, err);
        if (r < 0)
                return r;
        r = add_libraries(ird, final, err);
        if (r < 0)
                return r;
        if (ret_final)
                *ret_final = TAKE_PTR(final);
        return 0;
}

int initramfs_add_program_at(struct initramfs *ird, const char *path_or_name, const char *dst,
                             struct err *err)
{
        _cleanup_free_ char *path = NULL;
        int r;

        r = find_program(path_or_name, &path, err);
        if (r < 0)
                return r;
        r = initramfs_add_file(ird, path, dst, 0755, err);
        if (r < 0)
                return r;
        return add_libraries(ird, path, err);
}

int initramfs_add_program(struct initramfs *ird, const char *path_or_name, struct err *err)
{
        return add_program(ird, path_or_name, NULL, err);
}

int initramfs_add_busybox(struct initramfs *ird, const char *busybox, struct err *err)
{
        _cleanup_free_ char *final = NULL, *out = NULL;
        char *save = NULL;
        int r;

        r = add_program(ird, busybox, &final, err);
        if (r < 0)
                return r;
        {
                char *argv[] = { final, "--list-full", NULL };

                r = run_capture(argv, &out, err);
                if (r < 0)
                        return err_prefix(err, r, "cannot list the applets of '%s'", final);
        }
        for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                _cleanup_free_ char *dst = NULL;

                /* "linuxrc" (top level) is for initrd images, not an initramfs. */
                if (!strchr(line, '/') || strstr(line, ".."))
                        continue;
                if (asprintf(&dst, "/%s", line) < 0)
                        return -ENOMEM;
                if (strcmp(dst, final) == 0)
                        continue;
                r = add_symlink_full(ird, dst, final, true, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- modules ---- */

static void module_release(struct module *m)
{
        free(m->name);
        free(m->relpath);
        for (size_t i = 0; i < m->n_deps; i++)
                free(m->deps[i]);
        free(m->deps);
}

static void modtree_release(struct modtree *t)
{
        for (size_t i = 0; i < t->n; i++)
                module_release(&t->mods[i]);
        free(t->mods);
}

/* Module name as the kernel knows it: the file name without ".ko..." and with '_' for '-'. */
static char *module_name(const char *path)
{
        const char *base = strrchr(path, '/');
        const char *ko;
        char *name;

        base = base ? base + 1 : path;
        ko = strstr(base, ".ko");
        name = strndup(base, ko ? (size_t) (ko - base) : strlen(base));
        if (name)
                for (char *p = name; *p; p++)
                        if (*p == '-')
                                *p = '_';
        return name;
}

static bool module_file(const char *name)
{
        static const char *const sfx[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
        size_t len = strlen(name);

        for (size_t i = 0; i < ELEMENTSOF(sfx); i++) {
                size_t sl = strlen(sfx[i]);
                if (len > sl && strcmp(name + len - sl, sfx[i]) == 0)
                        return true;
        }
        return false;
}

static struct module *modtree_find(struct modtree *t, const char *name)
{
        for (size_t i = 0; i < t->n; i++)
                if (strcmp(t->mods[i].name, name) == 0)
                        return &t->mods[i];
        return NULL;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Collects the modules under REL (relative to the tree), in sorted order so that a name found
 * twice resolves the same way on every run (the first one wins). */
static int modtree_scan(struct modtree *t, const char *rel, int depth, struct err *err)
{
        _cleanup_free_ char *dirpath = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        int r = 0;

        if (depth > MODDIR_DEPTH)
                return 0;
        if (asprintf(&dirpath, "%s/%s", t->dir, rel) < 0)
                return -ENOMEM;
        d = opendir(dirpath);
        if (!d)
                return depth == 0 ? err_set(err, -errno, "cannot read '%s': %m", dirpath) : 0;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (n == cap) {
                        char **nn = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*nn));
                        if (!nn) {
                                r = -ENOMEM;
                                goto out;
                        }
                        names = nn;
                }
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        r = -ENOMEM;
                        goto out;
                }
                n++;
        }
        if (n)
                qsort(names, n, sizeof(*names), cmp_str);
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *sub = NULL, *full = NULL;
                struct stat st;

                if (asprintf(&sub, "%s%s%s", rel, rel[0] ? "/" : "", names[i]) < 0 ||
                    asprintf(&full, "%s/%s", t->dir, sub) < 0) {
                        r = -ENOMEM;
                        break;
                }
                /* lstat: "build" and "source" link to header trees, which hold no modules. */
                if (lstat(full, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        r = modtree_scan(t, sub, depth + 1, err);
                } else if (S_ISREG(st.st_mode) && module_file(names[i])) {
                        struct module m = { 0 };

                        m.name = module_name(names[i]);
                        if (!m.name) {
                                r = -ENOMEM;
                                break;
                        }
                        if (modtree_find(t, m.name)) {
                                free(m.name);
                                continue;
                        }
                        if (t->n == t->cap) {
                                size_t c = t->cap ? t->cap * 2 : 1024;
                                struct module *nm = realloc(t->mods, c * sizeof(*nm));
                                if (!nm) {
                                        free(m.name);
                                        r = -ENOMEM;
                                        break;
                                }
                                t->mods = nm;
                                t->cap = c;
                        }
                        m.relpath = TAKE_PTR(sub);
                        t->mods[t->n++] = m;
                }
        }
out:
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

/* Reads modules.dep ("kernel/a.ko: kernel/b.ko kernel/c.ko") into the modules' deps. */
static int modtree_read_dep(struct modtree *t, struct err *err)
{
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t cap = 0;
        ssize_t len;

        if (asprintf(&path, "%s/modules.dep", t->dir) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : err_set(err, -errno, "cannot read '%s': %m", path);
        t->have_dep = true;
        while ((len = getline(&line, &cap, f)) > 0) {
                char *colon = strchr(line, ':'), *save = NULL;
                _cleanup_free_ char *name = NULL;
                struct module *m;

                if (!colon)
                        continue;
                *colon = '\0';
                name = module_name(line);
                if (!name)
                        return -ENOMEM;
                m = modtree_find(t, name);
                if (!m)
                        continue;
                m->has_dep_line = true;
                for (char *w = strtok_r(colon + 1, " \t\n", &save); w;
                     w = strtok_r(NULL, " \t\n", &save)) {
                        char **nd = realloc(m->deps, (m->n_deps + 1) * sizeof(*nd));

                        if (!nd)
                                return -ENOMEM;
                        m->deps = nd;
                        m->deps[m->n_deps] = module_name(w);
                        if (!m->deps[m->n_deps])
                                return -ENOMEM;
                        m->n_deps++;
                }
        }
        return 0;
}

/* Decompresses (if needed) the module file PATH into a heap buffer, through libarchive's
 * "raw" format, which takes plain, xz, zstd and gzip data alike. */
static int module_read(const char *path, void **ret, size_t *ret_len, struct err *err)
{
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();
        _cleanup_free_ char *buf = NULL;
        struct archive_entry *ae;
        size_t len = 0, cap = 0;

        if (!a)
                return -ENOMEM;
        if (archive_read_support_filter_all(a) != ARCHIVE_OK ||
            archive_read_support_format_raw(a) != ARCHIVE_OK ||
            archive_read_open_filename(a, path, COPY_CHUNK) != ARCHIVE_OK ||
            archive_read_next_header(a, &ae) != ARCHIVE_OK)
                return err_set(err, -EIO, "cannot read the module '%s': %s", path,
                               archive_error_string(a));
        for (;;) {
                la_ssize_t n;

                if (cap - len < COPY_CHUNK) {
                        char *nb;

                        if (cap >= MODULE_SIZE_MAX)
                                return err_set(err, -EFBIG, "module '%s' is too large", path);
                        cap = cap ? cap * 2 : 1024 * 1024;
                        nb = realloc(buf, cap);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                n = archive_read_data(a, buf + len, cap - len);
                if (n < 0)
                        return err_set(err, -EIO, "cannot decompress the module '%s': %s", path,
                                       archive_error_string(a));
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* The .modinfo section of an ELF64 module in memory ("key=value\0..."), bounds-checked. */
static int module_modinfo(const void *buf, size_t len, const char **ret, size_t *ret_len)
{
        const uint8_t *b = buf;
        Elf64_Ehdr eh;
        Elf64_Shdr strtab;

        if (len < sizeof(eh))
                return -EBADMSG;
        memcpy(&eh, b, sizeof(eh));
        if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
            eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum)
                return -EBADMSG;
        if (eh.e_shoff > len || (len - eh.e_shoff) / sizeof(Elf64_Shdr) < eh.e_shnum)
                return -EBADMSG;
        memcpy(&strtab, b + eh.e_shoff + eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof(strtab));
        if (strtab.sh_offset > len || strtab.sh_size > len - strtab.sh_offset)
                return -EBADMSG;
        for (unsigned i = 0; i < eh.e_shnum; i++) {
                Elf64_Shdr sh;

                memcpy(&sh, b + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof(sh));
                if (sh.sh_name >= strtab.sh_size ||
                    strtab.sh_size - sh.sh_name < sizeof(".modinfo") ||
                    memcmp(b + strtab.sh_offset + sh.sh_name, ".modinfo", sizeof(".modinfo")) != 0)
                        continue;
                if (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset)
                        return -EBADMSG;
                *ret = (const char *) b + sh.sh_offset;
                *ret_len = sh.sh_size;
                return 0;
        }
        *ret = NULL;
        *ret_len = 0;
        return 0;
}

/* The value of KEY in a .modinfo blob, copied (NULL if absent). */
static char *modinfo_get(const char *info, size_t len, const char *key)
{
        size_t klen = strlen(key);

        for (size_t off = 0; off < len;) {
                const char *s = info + off;
                size_t slen = strnlen(s, len - off);

                if (slen > klen && memcmp(s, key, klen) == 0 && s[klen] == '=')
                        return strndup(s + klen + 1, slen - klen - 1);
                off += slen + 1;
        }
        return NULL;
}

struct modctx {
        struct initramfs *ird;
        struct modtree *tree;
};

static int module_resolve(struct modctx *c, const char *name_in, int level, bool soft,
                          struct err *err);

/* Resolves each name of the list (separated by any of SEP); softdep's "pre:"/"post:" markers
 * choose which names of a softdep value are taken. */
static int resolve_list(struct modctx *c, const char *list, const char *sep, const char *section,
                        int level, bool soft, struct err *err)
{
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;
        bool take = section == NULL;

        if (!list)
                return 0;
        copy = strdup(list);
        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, sep, &save); w; w = strtok_r(NULL, sep, &save)) {
                int r;

                if (section && (strcmp(w, "pre:") == 0 || strcmp(w, "post:") == 0)) {
                        take = strcmp(w, section) == 0;
                        continue;
                }
                if (!take)
                        continue;
                r = module_resolve(c, w, level + 1, soft, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int module_resolve(struct modctx *c, const char *name_in, int level, bool soft,
                          struct err *err)
{
        _cleanup_free_ char *name = module_name(name_in), *depends = NULL, *softdep = NULL;
        _cleanup_free_ char *src = NULL, *dst = NULL, *rel = NULL;
        _cleanup_free_ void *data = NULL;
        const char *info = NULL;
        size_t len = 0, info_len = 0;
        struct module *m;
        char *ko;
        int r;

        if (!name)
                return -ENOMEM;
        if (level > 64)
                return err_set(err, -ELOOP, "module dependencies nest too deep at '%s'", name);
        m = modtree_find(c->tree, name);
        if (!m && soft) {
                /* A soft dependency often names a crypto algorithm ("softdep=pre: crc32c" of
                 * libcrc32c), which request_module() would load by alias: without modprobe in
                 * the initramfs, take its generic C implementation ("crc32c_generic"), which
                 * every such alias has, or the load fails with "Unknown symbol". (An
                 * unpacked kernel package has no modules.alias to look the alias up in.) */
                _cleanup_free_ char *generic = NULL;

                if (asprintf(&generic, "%s_generic", name) < 0)
                        return -ENOMEM;
                m = modtree_find(c->tree, generic);
        }
        if (!m) {
                /* A requested name that is built in, or that this kernel lacks, is skipped,
                 * and so is a soft dependency (it may name an alias); a hard dependency
                 * cannot be missing from a sound tree. */
                if (level == 0 || soft)
                        return 0;
                return err_set(err, -ENOENT, "module '%s' is needed but not in '%s'", name,
                               c->tree->dir);
        }
        if (m->state == 2)
                return 0;
        if (m->state == 1)
                return soft ? 0 : err_set(err, -ELOOP, "module '%s' depends on itself", name);
        m->state = 1;

        if (asprintf(&src, "%s/%s", c->tree->dir, m->relpath) < 0)
                return -ENOMEM;
        r = module_read(src, &data, &len, err);
        if (r < 0)
                return r;
        r = module_modinfo(data, len, &info, &info_len);
        if (r < 0)
                return err_set(err, r, "'%s' is not a kernel module", src);
        depends = modinfo_get(info, info_len, "depends");
        softdep = modinfo_get(info, info_len, "softdep");

        r = resolve_list(c, softdep, " \t", "pre:", level, true, err);
        if (r < 0)
                return r;
        if (c->tree->have_dep && m->has_dep_line) {
                for (size_t i = 0; i < m->n_deps; i++) {
                        r = module_resolve(c, m->deps[i], level + 1, false, err);
                        if (r < 0)
                                return r;
                }
        } else {
                r = resolve_list(c, depends, ",", NULL, level, false, err);
                if (r < 0)
                        return r;
        }

        rel = strdup(m->relpath);
        if (!rel)
                return -ENOMEM;
        ko = strstr(rel + (strrchr(rel, '/') ? strrchr(rel, '/') - rel : 0), ".ko");
        ko[3] = '\0';
        if (asprintf(&dst, "/usr/lib/modules/%s/%s", c->tree->release, rel) < 0)
                return -ENOMEM;
        r = initramfs_add_data(c->ird, dst, data, len, 0644, err);
        if (r < 0)
                return r;
        {
                size_t add = strlen(dst) + 1;
                char *nl = realloc(c->ird->modlist, c->ird->modlist_len + add + 1);

                if (!nl)
                        return -ENOMEM;
                c->ird->modlist = nl;
                memcpy(nl + c->ird->modlist_len, dst, add - 1);
                nl[c->ird->modlist_len + add - 1] = '\n';
                c->ird->modlist_len += add;
                nl[c->ird->modlist_len] = '\0';
                c->ird->n_modules++;
        }
        m->state = 2;

        return resolve_list(c, softdep, " \t", "post:", level, true, err);
}

int initramfs_add_modules(struct initramfs *ird, const char *modules_dir, const char *const *names,
                          size_t n, struct err *err)
{
        _cleanup_free_ char *dir = NULL;
        struct modtree tree = { 0 };
        struct modctx c = { .ird = ird, .tree = &tree };
        const char *release;
        int r;

        dir = strdup(modules_dir);
        if (!dir)
                return -ENOMEM;
        while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
                dir[strlen(dir) - 1] = '\0';
        release = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
        if (!release[0] || strcmp(release, ".") == 0 || strcmp(release, "..") == 0)
                return err_set(err, -EINVAL, "'%s' does not name a kernel release", modules_dir);
        tree.dir = dir;
        tree.release = release;

        r = modtree_scan(&tree, "", 0, err);
        if (r >= 0)
                r = modtree_read_dep(&tree, err);
        /* Modules added by an earlier call are not added (or listed) again. */
        for (size_t i = 0; r >= 0 && i < tree.n; i++) {
                _cleanup_free_ char *rel = strdup(tree.mods[i].relpath), *line = NULL;
                char *ko;

                if (!rel) {
                        r = -ENOMEM;
                        break;
                }
                ko = strstr(rel + (strrchr(rel, '/') ? strrchr(rel, '/') - rel : 0), ".ko");
                ko[3] = '\0';
                if (asprintf(&line, "/usr/lib/modules/%s/%s\n", release, rel) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (ird->modlist && strstr(ird->modlist, line))
                        tree.mods[i].state = 2;
        }
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = module_resolve(&c, names[i], 0, false, err);
        modtree_release(&tree);
        return r;
}

/* ---- writing ---- */

static int cmp_entry(const void *a, const void *b)
{
        return strcmp(((const struct entry *) a)->path, ((const struct entry *) b)->path);
}

static int write_entry(struct archive *a, struct archive_entry *ae, const struct entry *e,
                       int64_t ino, struct err *err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        mode_t type;

        archive_entry_clear(ae);
        archive_entry_set_pathname(ae, e->path);
        archive_entry_set_uid(ae, 0);
        archive_entry_set_gid(ae, 0);
        archive_entry_set_mtime(ae, INITRAMFS_MTIME, 0);
        archive_entry_set_ino64(ae, ino);
        archive_entry_set_dev(ae, 0);
        archive_entry_set_nlink(ae, e->kind == ENTRY_DIR ? 2 : 1);
        archive_entry_set_size(ae, 0); /* the writer stores a link's target itself */
        switch (e->kind) {
        case ENTRY_DIR:
                type = AE_IFDIR;
                break;
        case ENTRY_SYMLINK:
                type = AE_IFLNK;
                archive_entry_set_symlink(ae, e->target);
                break;
        case ENTRY_NODE:
                type = S_ISCHR(e->mode) ? AE_IFCHR : AE_IFBLK;
                archive_entry_set_rdevmajor(ae, major(e->rdev));
                archive_entry_set_rdevminor(ae, minor(e->rdev));
                break;
        case ENTRY_DATA:
                type = AE_IFREG;
                archive_entry_set_size(ae, (la_int64_t) e->len);
                break;
        case ENTRY_FILE:
                type = AE_IFREG;
                fd = open(e->src, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || fstat(fd, &st) < 0)
                        return err_set(err, -errno, "cannot read '%s': %m", e->src);
                if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size > UINT32_MAX)
                        return err_set(err, -EINVAL, "'%s' is no longer a regular file", e->src);
                archive_entry_set_size(ae, st.st_size);
                break;
        default:
                return -EINVAL;
        }
        archive_entry_set_filetype(ae, type);
        archive_entry_set_perm(ae, e->mode & 07777);
        if (archive_write_header(a, ae) != ARCHIVE_OK)
                return err_set(err, -EIO, "cannot write '/%s': %s", e->path,
                               archive_error_string(a));
        if (e->kind == ENTRY_DATA && e->len &&
            archive_write_data(a, e->data, e->len) != (la_ssize_t) e->len)
                return err_set(err, -EIO, "cannot write '/%s': %s", e->path,
                               archive_error_string(a));
        if (e->kind == ENTRY_FILE) {
                char buf[COPY_CHUNK];
                uint64_t left = (uint64_t) st.st_size;

                while (left > 0) {
                        ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return err_set(err, -errno, "cannot read '%s': %m", e->src);
                        if (n == 0)
                                return err_set(err, -EIO, "'%s' shrank while being read", e->src);
                        if (archive_write_data(a, buf, (size_t) n) != n)
                                return err_set(err, -EIO, "cannot write '/%s': %s", e->path,
                                               archive_error_string(a));
                        left -= (uint64_t) n;
                }
        }
        return 0;
}

static int open_writer(struct initramfs *ird, int fd, struct archive **ret, struct err *err)
{
        _cleanup_(archive_write_freep) struct archive *a = archive_write_new();
        char opt[64];
        int r = ARCHIVE_OK;

        if (!a)
                return -ENOMEM;
        if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK)
                return err_set(err, -EOPNOTSUPP, "libarchive: %s", archive_error_string(a));
        switch (ird->compression) {
        case INITRAMFS_ZSTD:
                r = archive_write_add_filter_zstd(a);
                if (r == ARCHIVE_OK && ird->level)
                        (void) snprintf(opt, sizeof(opt), "zstd:compression-level=%d", ird->level);
                else
                        opt[0] = '\0';
                break;
        case INITRAMFS_GZIP:
                r = archive_write_add_filter_gzip(a);
                /* No time stamp in the gzip header: the same content gives the same bytes. */
                if (ird->level)
                        (void) snprintf(opt, sizeof(opt),
                                        "gzip:!timestamp,gzip:compression-level=%d", ird->level);
                else
                        (void) snprintf(opt, sizeof(opt), "gzip:!timestamp");
                break;
        default:
                opt[0] = '\0';
                break;
        }
        /* ARCHIVE_WARN: libarchive would run an external program instead of its library. */
        if (r != ARCHIVE_OK)
                return err_set(err, -EOPNOTSUPP, "libarchive cannot compress: %s",
                               archive_error_string(a));
        if (opt[0] && archive_write_set_options(a, opt) != ARCHIVE_OK)
                return err_set(err, -EOPNOTSUPP, "libarchive: '%s': %s", opt,
                               archive_error_string(a));
        /* The kernel wants the archive as is, not padded to 10 KiB blocks. */
        if (archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
            archive_write_open_fd(a, fd) != ARCHIVE_OK)
                return err_set(err, -EIO, "libarchive: %s", archive_error_string(a));
        *ret = TAKE_PTR(a);
        return 0;
}

int initramfs_finish(struct initramfs *ird, struct err *err)
{
        /* Declared first, closed last: the writer, freed before it, may still flush. */
        _cleanup_close_ int fd = -1;
        _cleanup_(archive_write_freep) struct archive *a = NULL;
        _cleanup_(archive_entry_freep) struct archive_entry *ae = NULL;
        _cleanup_free_ char *tmp = NULL;
        int r;

        if (ird->finished)
                return err_set(err, -EINVAL, "the initramfs is already written");
        if (ird->modlist_len) {
                r = initramfs_add_data(ird, INITRAMFS_MODULES_LIST, ird->modlist, ird->modlist_len,
                                       0644, err);
                if (r < 0)
                        return r;
        }
        ird->finished = true;
        qsort(ird->entries, ird->n, sizeof(*ird->entries), cmp_entry);

        if (asprintf(&tmp, "%s.XXXXXX", ird->out) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return err_set(err, -errno, "cannot create a file next to '%s': %m", ird->out);
        ae = archive_entry_new();
        if (!ae) {
                r = -ENOMEM;
                goto fail;
        }
        r = open_writer(ird, fd, &a, err);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < ird->n; i++) {
                r = write_entry(a, ae, &ird->entries[i], (int64_t) i + 1, err);
                if (r < 0)
                        goto fail;
        }
        if (archive_write_close(a) != ARCHIVE_OK) {
                r = err_set(err, -EIO, "cannot write '%s': %s", tmp, archive_error_string(a));
                goto fail;
        }
        if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
                r = err_set(err, -errno, "cannot write '%s': %m", tmp);
                goto fail;
        }
        if (rename(tmp, ird->out) < 0) {
                r = err_set(err, -errno, "cannot rename '%s' to '%s': %m", tmp, ird->out);
                goto fail;
        }
        return 0;
fail:
        (void) unlink(tmp);
        return r;
}
