/* qcow2_writer: layouts that only unusual inputs reach (out-of-order grains across more L2
 * tables than the cache holds, compressed clusters that spill into the next cluster), read
 * back through our reader and, where installed, checked by qemu-img. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "image.h"
#include "qcow2.h"
#include "writer.h"

#define CS       65536u
#define L2_COVER (UINT64_C(512) << 20) /* one L2 table maps 512 MiB */

static char dir[] = "/tmp/kvmforge-test-qcow2w-XXXXXX";

static int setup(void **state)
{
        (void) state;
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        char cmd[128];

        (void) state;
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static void fill(uint8_t *buf, uint64_t off)
{
        for (unsigned i = 0; i < CS; i += 8)
                memcpy(buf + i, &off, 8), off += 8;
}

/* Reads virtual [off, off + CS) through image_map_chain, inflating compressed clusters. */
static void read_cluster(struct image *img, uint64_t off, uint8_t *out)
{
        uint64_t done = 0;

        while (done < CS) {
                struct image_map m;
                struct err err = { { 0 } };

                assert_int_equal(image_map_chain(img, off + done, CS - done, &m, &err), 0);
                switch (m.kind) {
                case IMAGE_MAP_ZERO:
                        memset(out + done, 0, m.len);
                        break;
                case IMAGE_MAP_DATA:
                        assert_int_equal(
                                input_pread_full(m.in, out + done, m.len, m.host_off, &err), 0);
                        break;
                case IMAGE_MAP_DEFLATE: {
                        uint8_t *c = malloc(m.clen), *u = malloc(m.unit_len);
                        z_stream z = { 0 };
                        assert_non_null(c);
                        assert_non_null(u);
                        assert_int_equal(input_pread_full(m.in, c, m.clen, m.host_off, &err), 0);
                        assert_int_equal(inflateInit2(&z, -12), Z_OK);
                        z.next_in = c;
                        z.avail_in = m.clen;
                        z.next_out = u;
                        z.avail_out = m.unit_len;
                        int zr = inflate(&z, Z_FINISH);
                        assert_true(zr == Z_STREAM_END || (zr == Z_BUF_ERROR && z.avail_out == 0));
                        inflateEnd(&z);
                        memcpy(out + done, u + (off + done - m.unit_start), m.len);
                        free(c);
                        free(u);
                        break;
                }
                default:
                        fail();
                }
                done += m.len;
        }
}

static void qemu_check(const char *path)
{
        char cmd[512];

        if (system("command -v qemu-img >/dev/null 2>&1") != 0)
                return; /* the integration tests need it; here it is a bonus */
        (void) snprintf(cmd, sizeof(cmd), "qemu-img check -q '%s'", path);
        assert_int_equal(system(cmd), 0);
}

static void test_out_of_order_writes_across_many_l2_tables(void **state)
{
        /* 40 clusters in 40 different L2 regions of a 20 GiB disk, visited in an order that
         * evicts and reloads tables (the cache holds 16). */
        static const unsigned order[] = { 7,  33, 2,  19, 38, 0,  25, 12, 30, 5,  16, 39, 9, 22,
                                          1,  35, 27, 14, 3,  20, 36, 10, 29, 4,  17, 31, 8, 24,
                                          37, 13, 21, 6,  34, 11, 28, 15, 26, 18, 32, 23 };
        struct writer_options o = { .format = WRITER_FORMAT_QCOW2 };
        struct writer *w = NULL;
        struct image *img = NULL;
        struct err err = { { 0 } };
        uint8_t *buf = malloc(CS), *got = malloc(CS);
        char path[256];

        (void) state;
        assert_non_null(buf);
        assert_non_null(got);
        (void) snprintf(path, sizeof(path), "%s/ooo.qcow2", dir);
        assert_int_equal(writer_open(path, 40 * L2_COVER, &o, &w, &err), 0);
        for (unsigned i = 0; i < 40; i++) {
                uint64_t off = order[i] * L2_COVER + (order[i] % 3) * CS;
                fill(buf, off);
                assert_int_equal(w->ops->write(w, off, buf, CS, &err), 0);
        }
        /* A second pass writes the neighbours, so evicted tables are read back and extended. */
        for (unsigned i = 0; i < 40; i++) {
                uint64_t off = order[i] * L2_COVER + (order[i] % 3) * CS + CS;
                fill(buf, off);
                assert_int_equal(w->ops->write(w, off, buf, CS, &err), 0);
        }
        assert_int_equal(writer_commit(w, &err), 0);
        writer_free(w);
        qemu_check(path);

        assert_int_equal(image_open_path(path, IMAGE_FORMAT_QCOW2, &img, &err), 0);
        for (unsigned t = 0; t < 40; t++)
                for (unsigned k = 0; k < 2; k++) {
                        uint64_t off = t * L2_COVER + (t % 3) * CS + k * CS;
                        fill(buf, off);
                        read_cluster(img, off, got);
                        assert_memory_equal(buf, got, CS);
                }
        read_cluster(img, 5 * L2_COVER + 10 * CS, got); /* never written */
        memset(buf, 0, CS);
        assert_memory_equal(buf, got, CS);
        image_free(img);
        free(buf);
        free(got);
}

static void test_writing_a_cluster_twice_is_refused(void **state)
{
        struct writer_options o = { .format = WRITER_FORMAT_QCOW2 };
        struct writer *w = NULL;
        struct err err = { { 0 } };
        uint8_t *buf = calloc(1, CS);
        char path[256];

        (void) state;
        buf[0] = 1;
        (void) snprintf(path, sizeof(path), "%s/twice.qcow2", dir);
        assert_int_equal(writer_open(path, 4 * CS, &o, &w, &err), 0);
        assert_int_equal(w->ops->write(w, CS, buf, CS, &err), 0);
        assert_int_equal(w->ops->write(w, CS, buf, CS, &err), -EEXIST);
        writer_free(w); /* uncommitted: nothing may be left behind */
        assert_int_equal(access(path, F_OK), -1);
        free(buf);
}

static void test_compressed_clusters_spill_and_count(void **state)
{
        /* Clusters of mixed compressibility, so compressed pieces straddle cluster borders
         * and share clusters, interleaved with plain clusters. */
        struct writer_options o = { .format = WRITER_FORMAT_QCOW2, .compress = true };
        struct writer *w = NULL;
        struct image *img = NULL;
        struct err err = { { 0 } };
        uint8_t *buf = malloc(CS), *c = malloc(CS), *got = malloc(CS);
        const unsigned n = 64;
        char path[256];

        (void) state;
        (void) snprintf(path, sizeof(path), "%s/comp.qcow2", dir);
        assert_int_equal(writer_open(path, n * CS, &o, &w, &err), 0);
        srand(7);
        for (unsigned i = 0; i < n; i++) {
                z_stream z = { 0 };
                unsigned noisy = (i * 7919u) % 40000u; /* bytes of noise: varies the size */

                fill(buf, i * CS);
                for (unsigned k = 0; k < noisy; k++)
                        buf[k] = (uint8_t) rand();
                if (i % 9 == 4) { /* a plain cluster in between */
                        assert_int_equal(w->ops->write(w, i * CS, buf, CS, &err), 0);
                        continue;
                }
                assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY), Z_OK);
                z.next_in = buf;
                z.avail_in = CS;
                z.next_out = c;
                z.avail_out = CS - 1;
                assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
                assert_int_equal(w->ops->write_compressed(w, i * CS, c, CS - 1 - z.avail_out, &err),
                                 0);
                deflateEnd(&z);
        }
        assert_int_equal(writer_commit(w, &err), 0);
        writer_free(w);
        qemu_check(path);

        assert_int_equal(image_open_path(path, IMAGE_FORMAT_PROBE, &img, &err), 0);
        srand(7);
        for (unsigned i = 0; i < n; i++) {
                unsigned noisy = (i * 7919u) % 40000u;
                fill(buf, i * CS);
                for (unsigned k = 0; k < noisy; k++)
                        buf[k] = (uint8_t) rand();
                read_cluster(img, i * CS, got);
                assert_memory_equal(buf, got, CS);
        }
        image_free(img);
        free(buf);
        free(c);
        free(got);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_out_of_order_writes_across_many_l2_tables),
                cmocka_unit_test(test_writing_a_cluster_twice_is_refused),
                cmocka_unit_test(test_compressed_clusters_spill_and_count),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
