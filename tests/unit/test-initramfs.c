/* initramfs: archives read back with libarchive (entries, modes, owners, links, device nodes),
 * a host program with its libraries, module dependency order from .modinfo and modules.dep
 * over a fake modules tree (tiny ELF files with a .modinfo section, one gzip-compressed),
 * byte-identical rebuilds, and failures that leave no file behind. */

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "cleanup.h"
#include "initramfs.h"

#define MAX_ENTRIES 4096

struct rentry {
        char path[512];
        mode_t mode; /* type and permissions */
        char target[512];
        unsigned rmajor, rminor;
        long long mtime;
        long long uid, gid;
        char *data;
        size_t len;
};

struct readback {
        struct rentry e[MAX_ENTRIES];
        size_t n;
};

static char tmpdir[] = "/tmp/test-initramfs.XXXXXX";

static int setup(void **state)
{
        (void) state;
        strcpy(tmpdir, "/tmp/test-initramfs.XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
        return 0;
}

static int teardown(void **state)
{
        char cmd[600];

        (void) state;
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static char *tpath(const char *name)
{
        static char buf[8][512];
        static int i;
        char *p = buf[i++ % 8];

        (void) snprintf(p, 512, "%s/%s", tmpdir, name);
        return p;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        assert_int_equal(close(fd), 0);
}

static struct readback *read_archive(const char *path)
{
        struct readback *rb = calloc(1, sizeof(*rb));
        struct archive *a = archive_read_new();
        struct archive_entry *ae;

        assert_non_null(rb);
        assert_int_equal(archive_read_support_filter_all(a), ARCHIVE_OK);
        assert_int_equal(archive_read_support_format_cpio(a), ARCHIVE_OK);
        assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
        while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
                struct rentry *e = &rb->e[rb->n++];
                la_int64_t size = archive_entry_size(ae);

                assert_true(rb->n < MAX_ENTRIES);
                assert_int_equal(archive_format(a), ARCHIVE_FORMAT_CPIO_SVR4_NOCRC); /* newc */
                (void) snprintf(e->path, sizeof(e->path), "%s", archive_entry_pathname(ae));
                e->mode = archive_entry_mode(ae);
                if (archive_entry_symlink(ae))
                        (void) snprintf(e->target, sizeof(e->target), "%s",
                                        archive_entry_symlink(ae));
                e->rmajor = archive_entry_rdevmajor(ae);
                e->rminor = archive_entry_rdevminor(ae);
                e->mtime = archive_entry_mtime(ae);
                e->uid = archive_entry_uid(ae);
                e->gid = archive_entry_gid(ae);
                if (S_ISREG(e->mode)) {
                        e->data = malloc((size_t) size + 1);
                        assert_non_null(e->data);
                        assert_int_equal(archive_read_data(a, e->data, (size_t) size), size);
                        e->data[size] = '\0';
                        e->len = (size_t) size;
                }
        }
        assert_int_equal(archive_read_free(a), ARCHIVE_OK);
        return rb;
}

static void readback_free(struct readback *rb)
{
        for (size_t i = 0; i < rb->n; i++)
                free(rb->e[i].data);
        free(rb);
}

static const struct rentry *find(const struct readback *rb, const char *path)
{
        for (size_t i = 0; i < rb->n; i++)
                if (strcmp(rb->e[i].path, path) == 0)
                        return &rb->e[i];
        return NULL;
}

static bool dir_has_only(const char *dir, const char *name)
{
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && (!name || strcmp(de->d_name, name) != 0))
                        return false;
        return true;
}

DEFINE_CLEANUP_FUNC(struct initramfs *, initramfs_free, NULL)

/* ---- entries ---- */

static void test_entries_modes_links_nodes(void **state)
{
        _cleanup_(initramfs_freep) struct initramfs *ird = NULL;
        struct err err = { { 0 } };
        struct readback *rb;
        const struct rentry *e;
        const char *out = tpath("out.img");

        (void) state;
        write_file(tpath("src"), "hello\n", 6, 0750);
        assert_int_equal(initramfs_new(out, &ird, &err), 0);
        assert_int_equal(initramfs_add_symlink(ird, "/opt", "usr/local/opt", &err), 0);
        /* Through the archive's own link: lands in /usr/local/opt. */
        assert_int_equal(initramfs_add_data(ird, "/opt/x/conf", "a=1\n", 4, 0600, &err), 0);
        assert_int_equal(initramfs_add_file(ird, tpath("src"), "/usr/bin/hello", 0, &err), 0);
        assert_int_equal(initramfs_add_file(ird, tpath("src"), "/usr/bin/hello2", 0755, &err), 0);
        assert_int_equal(initramfs_add_dir(ird, "/var/empty", 0711, &err), 0);
        assert_int_equal(initramfs_add_data(ird, "/empty", "", 0, 0644, &err), 0);
        assert_int_equal(initramfs_finish(ird, &err), 0);

        rb = read_archive(out);
        for (size_t i = 0; i < rb->n; i++) {
                assert_int_equal(rb->e[i].uid, 0);
                assert_int_equal(rb->e[i].gid, 0);
                assert_int_equal(rb->e[i].mtime, INITRAMFS_MTIME);
                if (i > 0) /* sorted: parents before children */
                        assert_true(strcmp(rb->e[i - 1].path, rb->e[i].path) < 0);
        }
        assert_non_null(e = find(rb, "opt"));
        assert_true(S_ISLNK(e->mode));
        assert_string_equal(e->target, "usr/local/opt");
        assert_null(find(rb, "opt/x/conf"));
        assert_non_null(e = find(rb, "usr/local/opt/x/conf"));
        assert_int_equal(e->mode, S_IFREG | 0600);
        assert_string_equal(e->data, "a=1\n");
        assert_non_null(e = find(rb, "usr/local/opt/x"));
        assert_int_equal(e->mode, S_IFDIR | 0755);
        assert_non_null(e = find(rb, "usr/bin/hello"));
        assert_int_equal(e->mode, S_IFREG | 0750);
        assert_string_equal(e->data, "hello\n");
        assert_non_null(e = find(rb, "usr/bin/hello2"));
        assert_int_equal(e->mode, S_IFREG | 0755);
        assert_non_null(e = find(rb, "var/empty"));
        assert_int_equal(e->mode, S_IFDIR | 0711);
        assert_non_null(e = find(rb, "empty"));
        assert_int_equal(e->len, 0);
        /* The skeleton. */
        assert_non_null(e = find(rb, "dev/console"));
        assert_true(S_ISCHR(e->mode));
        assert_int_equal(e->rmajor, 5);
        assert_int_equal(e->rminor, 1);
        assert_non_null(e = find(rb, "tmp"));
        assert_int_equal(e->mode, S_IFDIR | 01777);
        assert_non_null(e = find(rb, "root"));
        assert_int_equal(e->mode, S_IFDIR | 0700);
        for (const char *d = "proc\0sys\0run\0dev\0etc\0"; *d; d += strlen(d) + 1)
                assert_non_null(find(rb, d));
        readback_free(rb);
}

static void test_conflicts_and_replacements(void **state)
{
        _cleanup_(initramfs_freep) struct initramfs *ird = NULL;
        struct err err = { { 0 } };
        struct readback *rb;

        (void) state;
        assert_int_equal(initramfs_new(tpath("c.img"), &ird, &err), 0);
        assert_int_equal(initramfs_add_data(ird, "/etc/a", "1", 1, 0644, &err), 0);
        assert_int_equal(initramfs_add_dir(ird, "/etc/a", 0755, &err), -EEXIST);
        assert_non_null(strstr(err.msg, "/etc/a"));
        err.msg[0] = '\0';
        assert_int_equal(initramfs_add_data(ird, "/etc/a/b", "1", 1, 0644, &err), -ENOTDIR);
        err.msg[0] = '\0';
        assert_int_equal(initramfs_add_data(ird, "relative", "1", 1, 0644, &err), -EINVAL);
        assert_int_equal(initramfs_add_file(ird, tpath("missing"), "/x", 0, NULL), -ENOENT);
        /* A later add replaces; the same add again is a no-op. */
        assert_int_equal(initramfs_add_data(ird, "/etc/a", "2", 1, 0600, &err), 0);
        assert_int_equal(initramfs_add_data(ird, "/etc/a", "2", 1, 0600, &err), 0);
        assert_int_equal(initramfs_finish(ird, &err), 0);
        assert_int_equal(initramfs_finish(ird, &err), -EINVAL);
        rb = read_archive(tpath("c.img"));
        assert_string_equal(find(rb, "etc/a")->data, "2");
        assert_int_equal(find(rb, "etc/a")->mode, S_IFREG | 0600);
        readback_free(rb);
}

/* A source that vanished before the archive is written: an error, and no file (neither OUT
 * nor the temporary one) is left. */
static void test_failure_leaves_nothing(void **state)
{
        _cleanup_(initramfs_freep) struct initramfs *ird = NULL;
        struct err err = { { 0 } };
        char dir[600];

        (void) state;
        (void) snprintf(dir, sizeof(dir), "%s/fail", tmpdir);
        assert_int_equal(mkdir(dir, 0755), 0);
        write_file(tpath("gone"), "x", 1, 0644);
        assert_int_equal(initramfs_new(tpath("fail/out.img"), &ird, &err), 0);
        assert_int_equal(initramfs_add_file(ird, tpath("gone"), "/gone", 0, &err), 0);
        assert_int_equal(unlink(tpath("gone")), 0);
        assert_int_equal(initramfs_finish(ird, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "gone"));
        assert_true(dir_has_only(dir, NULL));
}

/* Builds the same content in a different order into OUT (with a pause, so that a time stamp
 * anywhere would differ) and returns its bytes. */
static char *build_same(const char *out, int order, enum initramfs_compression c, size_t *ret_len)
{
        _cleanup_(initramfs_freep) struct initramfs *ird = NULL;
        struct err err = { { 0 } };
        char *bytes;
        FILE *f;

        assert_int_equal(initramfs_new(out, &ird, &err), 0);
        assert_int_equal(initramfs_set_compression(ird, c, 0, &err), 0);
        if (order == 0) {
                assert_int_equal(initramfs_add_data(ird, "/b/x", "1", 1, 0644, &err), 0);
                assert_int_equal(initramfs_add_file(ird, tpath("dsrc"), "/a", 0, &err), 0);
                assert_int_equal(initramfs_add_program(ird, "sh", &err), 0);
        } else {
                assert_int_equal(initramfs_add_program(ird, "sh", &err), 0);
                assert_int_equal(initramfs_add_file(ird, tpath("dsrc"), "/a", 0, &err), 0);
                assert_int_equal(initramfs_add_data(ird, "/b/x", "1", 1, 0644, &err), 0);
        }
        sleep((unsigned) order);
        assert_int_equal(initramfs_finish(ird, &err), 0);
        f = fopen(out, "rb");
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        *ret_len = (size_t) ftell(f);
        rewind(f);
        bytes = malloc(*ret_len);
        assert_non_null(bytes);
        assert_int_equal(fread(bytes, 1, *ret_len, f), *ret_len);
        fclose(f);
        return bytes;
}

static void test_deterministic(void **state)
{
        static const enum initramfs_compression cs[] = { INITRAMFS_GZIP, INITRAMFS_ZSTD };

        (void) state;
        write_file(tpath("dsrc"), "data", 4, 0644);
        for (size_t i = 0; i < ELEMENTSOF(cs); i++) {
                size_t len[2];
                char *b0 = build_same(tpath("d1.img"), 0, cs[i], &len[0]);
                char *b1 = build_same(tpath("d2.img"), 1, cs[i], &len[1]);

                assert_int_equal(len[0], len[1]);
                assert_memory_equal(b0, b1, len[0]);
                free(b0);
                free(b1);
        }
}

static void test_compression_zstd_default(void **state)
{
        _cleanup_(initramfs_freep) struct initramfs *ird = NULL;
        struct err err = { { 0 } };
        unsigned char magic[4];
        FILE *f;

        (void) state;
        assert_int_equal(initramfs_new(tpath("z.img"), &ird, &err), 0);
        assert_int_equal(initramfs_set_compression(ird, INITRAMFS_ZSTD, 99, &err), -EINVAL);
        assert_int_equal(initramfs_finish(ird, &err), 0);
        f = fopen(tpath("z.img"), "rb");
        assert_non_null(f);
        assert_int_equal(fread(magic, 1, 4, f), 4);
        fclose(f);
        assert_memory_equal(magic, "\x28\xb5\x2f\xfd", 4);
}

/* ---- programs ---- */

static void test_program_with_libraries(void **state)
{
        _cleanup_(initramfs_freep) struct initramfs *ird = NULL;
        struct err err = { { 0 } };
        struct readback *rb;
        const struct rentry *e;
        bool libc = false, loader = false;
        char target[512];
        ssize_t n;

        (void) state;
        assert_int_equal(initramfs_new(tpath("p.img"), &ird, &err), 0);
        assert_int_equal(initramfs_add_program(ird, "/bin/sh", &err), 0);
        assert_int_equal(initramfs_add_program(ird, "no-such-program-here", &err), -ENOENT);
        err.msg[0] = '\0';
        assert_int_equal(initramfs_finish(ird, &err), 0);
        rb = read_archive(tpath("p.img"));
        for (size_t i = 0; i < rb->n; i++) {
                if (strstr(rb->e[i].path, "/libc.so.6") && S_ISREG(rb->e[i].mode))
                        libc = true;
                if (strstr(rb->e[i].path, "/ld-linux-x86-64.so.2") && S_ISREG(rb->e[i].mode))
                        loader = true;
                /* No path may lead through a link the archive has (the kernel's unpacker
                 * would write through it): "lib" is a link, so nothing starts "lib/". */
                assert_true(strncmp(rb->e[i].path, "lib/", 4) != 0);
        }
        assert_true(libc);
        assert_true(loader);
        /* /bin/sh is a link on Debian (to dash): kept as a link, its target a file. */
        n = readlink("/bin/sh", target, sizeof(target) - 1);
        if (n > 0) {
                target[n] = '\0';
                e = find(rb, "usr/bin/sh");
                assert_non_null(e);
                assert_true(S_ISLNK(e->mode));
                assert_string_equal(e->target, target);
        }
        /* The host's merged /usr: /lib -> usr/lib. */
        n = readlink("/lib", target, sizeof(target) - 1);
        if (n > 0) {
                target[n] = '\0';
                assert_non_null(e = find(rb, "lib"));
                assert_string_equal(e->target, target);
        }
        readback_free(rb);
}

static void test_program_at(void **state)
{
        _cleanup_(initramfs_freep) struct initramfs *ird = NULL;
        struct err err = { { 0 } };
        struct readback *rb;
        const struct rentry *e;
        bool libc = false;

        (void) state;
        assert_int_equal(initramfs_new(tpath("pa.img"), &ird, &err), 0);
        assert_int_equal(initramfs_add_program_at(ird, "/bin/sh", "/usr/sbin/the-shell", &err), 0);
        assert_int_equal(initramfs_finish(ird, &err), 0);
        rb = read_archive(tpath("pa.img"));
        assert_non_null(e = find(rb, "usr/sbin/the-shell"));
        assert_int_equal(e->mode, S_IFREG | 0755);
        assert_memory_equal(e->data, ELFMAG, SELFMAG);
        assert_null(find(rb, "usr/bin/sh")); /* no second copy at the host path */
        for (size_t i = 0; i < rb->n; i++)
                libc = libc || (strstr(rb->e[i].path, "/libc.so.6") && S_ISREG(rb->e[i].mode));
        assert_true(libc);
        readback_free(rb);
}

/* ---- modules ---- */

/* A tiny ELF64 relocatable file with a .modinfo section holding INFO (NUL-separated). */
static void make_ko(const char *path, const char *info, size_t info_len, bool gz)
{
        static const char shstr[] = "\0.modinfo\0.shstrtab\0";
        unsigned char buf[4096] = { 0 };
        Elf64_Ehdr *eh = (Elf64_Ehdr *) buf;
        Elf64_Shdr sh[3] = { { 0 } };
        size_t off = sizeof(*eh);

        memcpy(eh->e_ident, ELFMAG, SELFMAG);
        eh->e_ident[EI_CLASS] = ELFCLASS64;
        eh->e_ident[EI_DATA] = ELFDATA2LSB;
        eh->e_ident[EI_VERSION] = EV_CURRENT;
        eh->e_type = ET_REL;
        eh->e_machine = EM_X86_64;
        eh->e_version = EV_CURRENT;
        eh->e_ehsize = sizeof(*eh);
        eh->e_shentsize = sizeof(Elf64_Shdr);
        eh->e_shnum = 3;
        eh->e_shstrndx = 2;
        memcpy(buf + off, info, info_len);
        sh[1].sh_name = 1;
        sh[1].sh_type = SHT_PROGBITS;
        sh[1].sh_offset = off;
        sh[1].sh_size = info_len;
        off += info_len;
        memcpy(buf + off, shstr, sizeof(shstr));
        sh[2].sh_name = 10;
        sh[2].sh_type = SHT_STRTAB;
        sh[2].sh_offset = off;
        sh[2].sh_size = sizeof(shstr);
        off += sizeof(shstr);
        off = (off + 7) & ~(size_t) 7;
        eh->e_shoff = off;
        memcpy(buf + off, sh, sizeof(sh));
        off += sizeof(sh);
        if (gz) {
                gzFile g = gzopen(path, "wb");
                assert_non_null(g);
                assert_int_equal(gzwrite(g, buf, (unsigned) off), (int) off);
                assert_int_equal(gzclose(g), Z_OK);
        } else {
                write_file(path, buf, off, 0644);
        }
}

#define KO(path, info, gz) make_ko(path, info, sizeof(info), gz)

static const char *make_tree(const char *release, bool with_dep)
{
        char *root = tpath(release);
        char p[700];

        (void) snprintf(p, sizeof(p), "mkdir -p '%s/kernel/fs/x' '%s/kernel/lib' '%s/build'", root,
                        root, root);
        assert_int_equal(system(p), 0);
        /* a needs b and c-mod; c-mod needs b; d has a post softdep on e; "f" is an alias. */
        (void) snprintf(p, sizeof(p), "%s/kernel/fs/x/a.ko", root);
        KO(p, "license=GPL\0depends=b,c_mod\0name=a", false);
        (void) snprintf(p, sizeof(p), "%s/kernel/lib/b.ko", root);
        KO(p, "depends=\0name=b", false);
        (void) snprintf(p, sizeof(p), "%s/kernel/lib/c-mod.ko.gz", root);
        KO(p, "depends=b\0name=c_mod", true);
        (void) snprintf(p, sizeof(p), "%s/kernel/lib/d.ko", root);
        KO(p, "softdep=pre: f post: e\0depends=\0name=d", false);
        (void) snprintf(p, sizeof(p), "%s/kernel/lib/e.ko", root);
        KO(p, "depends=\0name=e", false);
        /* g's soft dependency names an alias, which its _generic module provides. */
        (void) snprintf(p, sizeof(p), "%s/kernel/lib/g.ko", root);
        KO(p, "softdep=pre: crcx\0depends=\0name=g", false);
        (void) snprintf(p, sizeof(p), "%s/kernel/lib/crcx_generic.ko", root);
        KO(p, "depends=\0name=crcx_generic", false);
        (void) snprintf(p, sizeof(p), "%s/kernel/lib/broken.ko", root);
        KO(p, "depends=missing\0name=broken", false);
        if (with_dep) {
                /* modules.dep says a needs only e: it wins over .modinfo. */
                static const char dep[] = "kernel/fs/x/a.ko: kernel/lib/e.ko\n"
                                          "kernel/lib/e.ko:\n";
                (void) snprintf(p, sizeof(p), "%s/modules.dep", root);
                write_file(p, dep, sizeof(dep) - 1, 0644);
        }
        return root;
}

static char *modlist(const struct readback *rb)
{
        const struct rentry *e = find(rb, "etc/kvmforge/modules");

        assert_non_null(e);
        return e->data;
}

static void test_modules_dependency_order(void **state)
{
        _cleanup_(initramfs_freep) struct initramfs *ird = NULL;
        struct err err = { { 0 } };
        const char *tree = make_tree("6.1.0-test", false);
        const char *const names[] = { "a", "built_in_or_unknown", "d", "c-mod" };
        const char *const more[] = { "e", "b", "g" };
        struct readback *rb;
        const struct rentry *e;

        (void) state;
        assert_int_equal(initramfs_new(tpath("m.img"), &ird, &err), 0);
        assert_int_equal(initramfs_add_modules(ird, tree, names, 4, &err), 0);
        /* Again, with modules already there: nothing listed twice. */
        assert_int_equal(initramfs_add_modules(ird, tree, more, 3, &err), 0);
        assert_int_equal(initramfs_module_count(ird), 7);
        assert_int_equal(initramfs_finish(ird, &err), 0);
        rb = read_archive(tpath("m.img"));
        assert_string_equal(modlist(rb), "/usr/lib/modules/6.1.0-test/kernel/lib/b.ko\n"
                                         "/usr/lib/modules/6.1.0-test/kernel/lib/c-mod.ko\n"
                                         "/usr/lib/modules/6.1.0-test/kernel/fs/x/a.ko\n"
                                         "/usr/lib/modules/6.1.0-test/kernel/lib/d.ko\n"
                                         "/usr/lib/modules/6.1.0-test/kernel/lib/e.ko\n"
                                         "/usr/lib/modules/6.1.0-test/kernel/lib/crcx_generic.ko\n"
                                         "/usr/lib/modules/6.1.0-test/kernel/lib/g.ko\n");
        /* Decompressed at build time: an ELF file under the name without .gz. */
        assert_non_null(e = find(rb, "usr/lib/modules/6.1.0-test/kernel/lib/c-mod.ko"));
        assert_int_equal(e->mode, S_IFREG | 0644);
        assert_memory_equal(e->data, ELFMAG, SELFMAG);
        assert_null(find(rb, "usr/lib/modules/6.1.0-test/kernel/lib/broken.ko"));
        readback_free(rb);
}

static void test_modules_dep_file_wins(void **state)
{
        _cleanup_(initramfs_freep) struct initramfs *ird = NULL;
        struct err err = { { 0 } };
        const char *tree = make_tree("6.1.0-dep", true);
        const char *const names[] = { "a" };
        struct readback *rb;

        (void) state;
        assert_int_equal(initramfs_new(tpath("md.img"), &ird, &err), 0);
        assert_int_equal(initramfs_add_modules(ird, tree, names, 1, &err), 0);
        assert_int_equal(initramfs_finish(ird, &err), 0);
        rb = read_archive(tpath("md.img"));
        assert_string_equal(modlist(rb), "/usr/lib/modules/6.1.0-dep/kernel/lib/e.ko\n"
                                         "/usr/lib/modules/6.1.0-dep/kernel/fs/x/a.ko\n");
        readback_free(rb);
}

static void test_modules_missing_dependency(void **state)
{
        _cleanup_(initramfs_freep) struct initramfs *ird = NULL;
        struct err err = { { 0 } };
        const char *tree = make_tree("6.1.0-bad", false);
        const char *const names[] = { "broken" };

        (void) state;
        assert_int_equal(initramfs_new(tpath("mb.img"), &ird, &err), 0);
        assert_int_equal(initramfs_add_modules(ird, tree, names, 1, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "'missing'"));
        err.msg[0] = '\0';
        assert_int_equal(initramfs_add_modules(ird, tpath("no-such-tree"), names, 1, &err),
                         -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_entries_modes_links_nodes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_conflicts_and_replacements, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failure_leaves_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deterministic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_compression_zstd_default, setup, teardown),
                cmocka_unit_test_setup_teardown(test_program_with_libraries, setup, teardown),
                cmocka_unit_test_setup_teardown(test_program_at, setup, teardown),
                cmocka_unit_test_setup_teardown(test_modules_dependency_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_modules_dep_file_wins, setup, teardown),
                cmocka_unit_test_setup_teardown(test_modules_missing_dependency, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
