/* storage: the default layout against Proxmox VE's sizing (the table in
 * ../shared/reference/installers.md, computed from its code), the traps of its options made
 * explicit, and every way a plan is refused. */

#include <inttypes.h>

#include "answer.h"
#include "helpers.h"
#include "hw.h"
#include "storage.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

static struct hw_disk disk(const char *name, uint64_t size)
{
        struct hw_disk d = { 0 };

        snprintf(d.name, sizeof(d.name), "%s", name);
        snprintf(d.path, sizeof(d.path), "/dev/%s", name);
        strcpy(d.transport, "sata");
        d.size = size;
        d.logical_sector = d.physical_sector = 512;
        return d;
}

static const struct storage_lv *lv(const struct storage_plan *p, const char *name)
{
        for (size_t i = 0; i < p->vg.n_lvs; i++)
                if (strcmp(p->vg.lvs[i].name, name) == 0)
                        return &p->vg.lvs[i];
        return NULL;
}

/* Sizes in hundredths of a GiB, as the reference table rounds them. */
static long centi(uint64_t bytes)
{
        return (long) ((bytes * 100 + GiB / 2) / GiB);
}

static struct answer answer_of(const char *text)
{
        struct answer a;

        assert_int_equal(answer_load(text, strlen(text), "ks.cfg", NULL, &a), 0);
        if (a.n_errors)
                fail_msg("the test's answer has errors");
        return a;
}

static const struct {
        uint64_t disk_gib, ram_gib;
        long esp, swap, root, free, data, meta; /* centi-GiB; data 0: no pool */
} proxmox[] = {
        { 16, 2, 50, 100, 725, 1, 524, 100 },
        { 32, 4, 50, 388, 1381, 1, 1180, 100 },
        { 64, 8, 50, 788, 2590, 788, 1984, 100 },
        { 128, 16, 100, 800, 4175, 1575, 5950, 100 },
        { 256, 64, 100, 800, 7375, 1600, 15411, 157 },
        { 2000, 256, 100, 800, 9600, 1600, 184699, 1600 },
};

static void test_default_layout_matches_proxmox_sizing(void **state)
{
        (void) state;
        for (size_t i = 0; i < sizeof(proxmox) / sizeof(proxmox[0]); i++) {
                struct hw_disk d = disk("sda", proxmox[i].disk_gib * GiB);
                struct storage_input in = { .disks = &d,
                                            .n_disks = 1,
                                            .ram = proxmox[i].ram_gib * GiB };
                struct storage_plan p;
                struct err err = { { 0 } };

                if (storage_plan(&in, &p, &err) != 0)
                        fail_msg("%" PRIu64 " GiB: %s", proxmox[i].disk_gib, err.msg);
                print_message("%" PRIu64 " GiB disk, %" PRIu64 " GiB RAM\n", proxmox[i].disk_gib,
                              proxmox[i].ram_gib);
                assert_int_equal(p.n_disks, 1);
                assert_true(p.disks[0].wipe);
                assert_int_equal(p.disks[0].n_parts, 3);
                assert_int_equal(p.disks[0].parts[0].type, STORAGE_PT_BIOSBOOT);
                assert_int_equal(p.disks[0].parts[1].type, STORAGE_PT_ESP);
                assert_int_equal(centi(p.disks[0].parts[1].size), proxmox[i].esp);
                assert_int_equal(centi(lv(&p, "swap")->size), proxmox[i].swap);
                assert_int_equal(centi(lv(&p, "root")->size), proxmox[i].root);
                assert_int_equal(centi(p.vg.free), proxmox[i].free);
                assert_int_equal(centi(lv(&p, "data")->size), proxmox[i].data);
                assert_int_equal(centi(lv(&p, "data")->metadata), proxmox[i].meta);
                /* Everything fits: partitions end before the backup GPT, LVs within the VG. */
                const struct storage_part *last = &p.disks[0].parts[2];
                assert_true(last->start + last->size <= d.size - MiB);
                assert_true(lv(&p, "swap")->size + lv(&p, "root")->size + lv(&p, "data")->size +
                                    2 * lv(&p, "data")->metadata + p.vg.free ==
                            p.vg.size);
                for (size_t k = 0; k < p.disks[0].n_parts; k++)
                        assert_int_equal(p.disks[0].parts[k].start % MiB, 0);
                storage_plan_release(&p);
        }
}

static void test_sizes_from_8_gib_to_16_tib_always_fit(void **state)
{
        static const uint64_t sizes[] = { 8, 9, 12, 20, 33, 100, 101, 500, 4096, 16384 };
        static const uint64_t rams[] = { 1, 4, 32, 1024 };

        (void) state;
        for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++)
                for (size_t k = 0; k < sizeof(rams) / sizeof(*rams); k++) {
                        struct hw_disk d = disk("nvme0n1", sizes[i] * GiB);
                        struct storage_input in = { .disks = &d,
                                                    .n_disks = 1,
                                                    .ram = rams[k] * GiB };
                        struct storage_plan p;
                        uint64_t used = 0;

                        assert_int_equal(storage_plan(&in, &p, NULL), 0);
                        for (size_t l = 0; l < p.vg.n_lvs; l++)
                                used += p.vg.lvs[l].size + 2 * p.vg.lvs[l].metadata;
                        assert_int_equal(used + p.vg.free, p.vg.size);
                        assert_true(lv(&p, "root")->size >= 3 * GiB);
                        assert_true(lv(&p, "root")->size <= 96 * GiB);
                        assert_true(lv(&p, "swap")->size <= 8 * GiB);
                        assert_true(p.n_notes >= 1); /* the free space is always said */
                        storage_plan_release(&p);
                }
}

static void test_maxvz_zero_leaves_space_free_and_says_so(void **state)
{
        struct hw_disk d = disk("sda", 100 * GiB);
        struct answer a = answer_of("autopart --maxroot=20G --maxvz=0\n");
        struct storage_input in = { .disks = &d, .n_disks = 1, .ram = 8 * GiB, .answer = &a };
        struct storage_plan p;

        (void) state;
        assert_int_equal(storage_plan(&in, &p, NULL), 0);
        assert_null(lv(&p, "data"));
        assert_int_equal(lv(&p, "root")->size, 20 * GiB);
        /* As Proxmox: about 71.5 GiB stays in the VG, and the plan says it in words. */
        assert_true(p.vg.free > 71 * GiB && p.vg.free < 72 * GiB);
        assert_non_null(strstr(p.notes[0], "no thin pool"));
        assert_non_null(strstr(p.notes[0], "--rest=root"));
        storage_plan_release(&p);
        answer_release(&a);
}

static void test_rest_to_root_and_other_types(void **state)
{
        struct hw_disk d = disk("sda", 200 * GiB);
        struct answer a = answer_of("autopart --rest=root --minfree=0\n");
        struct storage_input in = { .disks = &d, .n_disks = 1, .ram = 32 * GiB, .answer = &a };
        struct storage_plan p;

        (void) state;
        assert_int_equal(storage_plan(&in, &p, NULL), 0);
        assert_null(lv(&p, "data"));
        assert_true(p.vg.free < 8 * MiB);
        assert_true(lv(&p, "root")->size > 180 * GiB);
        storage_plan_release(&p);
        answer_release(&a);

        a = answer_of("autopart --type=plain --fstype=xfs --swapsize=2G\n");
        in.answer = &a;
        assert_int_equal(storage_plan(&in, &p, NULL), 0);
        assert_int_equal(p.vg.name[0], '\0');
        assert_int_equal(p.disks[0].n_parts, 4);
        assert_int_equal(p.disks[0].parts[2].type, STORAGE_PT_SWAP);
        assert_int_equal(p.disks[0].parts[2].size, 2 * GiB);
        assert_string_equal(p.disks[0].parts[3].fstype, "xfs");
        storage_plan_release(&p);
        answer_release(&a);

        /* hdsize: only that much of the disk is used */
        a = answer_of("autopart --hdsize=50G\n");
        in.answer = &a;
        assert_int_equal(storage_plan(&in, &p, NULL), 0);
        assert_true(p.disks[0].parts[2].start + p.disks[0].parts[2].size <= 50 * GiB);
        assert_int_equal(p.disks[0].parts[1].size, GiB); /* the ESP follows the whole disk */
        storage_plan_release(&p);
        answer_release(&a);
}

static void test_4kn_disks_get_no_bios_boot_partition(void **state)
{
        struct hw_disk d = disk("sda", 500 * GiB);
        struct storage_input in = { .disks = &d, .n_disks = 1, .ram = 8 * GiB };
        struct storage_plan p;

        (void) state;
        d.logical_sector = 4096;
        assert_int_equal(storage_plan(&in, &p, NULL), 0);
        assert_int_equal(p.disks[0].n_parts, 2);
        assert_int_equal(p.disks[0].parts[0].type, STORAGE_PT_ESP);
        assert_int_equal(p.disks[0].parts[0].start, MiB);
        storage_plan_release(&p);
}

static void test_refusals(void **state)
{
        struct hw_disk d[3] = { disk("sda", 500 * GiB), disk("sdb", 500 * GiB),
                                disk("sdc", 16 * GiB) };
        struct storage_input in = { .disks = d, .n_disks = 3, .ram = 8 * GiB };
        struct storage_plan p;
        struct err err = { { 0 } };
        struct answer a;

        (void) state;
        d[2].removable = true;
        d[2].install_medium = true;
        /* two candidates: never "the first" */
        assert_int_equal(storage_plan(&in, &p, &err), -ENOTUNIQ);
        assert_string_equal(err.msg, "2 disks could take the install (sda, sdb): choose one "
                                     "with 'ignoredisk --only-use=DISK'");
        /* the install medium, named */
        a = answer_of("ignoredisk --only-use=sdc\n");
        in.answer = &a;
        err.msg[0] = '\0';
        assert_int_equal(storage_plan(&in, &p, &err), -EBUSY);
        assert_non_null(strstr(err.msg, "holds the install medium"));
        answer_release(&a);
        /* too small */
        d[2] = disk("sdc", 7 * GiB);
        a = answer_of("ignoredisk --only-use=sdc\n");
        err.msg[0] = '\0';
        assert_int_equal(storage_plan(&in, &p, &err), -ENOSPC);
        assert_non_null(strstr(err.msg, "is too small"));
        answer_release(&a);
        /* a disk holding data, and no permission */
        strcpy(d[0].table, "gpt");
        d[0].n_parts = 1;
        strcpy(d[0].parts[0].content.type, "ntfs");
        a = answer_of("ignoredisk --only-use=sda\n");
        err.msg[0] = '\0';
        assert_int_equal(storage_plan(&in, &p, &err), -EPERM);
        assert_string_equal(err.msg,
                            "/dev/sda holds a gpt partition table, ntfs: it is wiped only when "
                            "the answer says so ('clearpart --all --initlabel --drives=sda', or "
                            "'zerombr')");
        answer_release(&a);
        a = answer_of("ignoredisk --only-use=sda\nclearpart --linux --drives=sda\n");
        err.msg[0] = '\0';
        assert_int_equal(storage_plan(&in, &p, &err), -EPERM);
        assert_non_null(strstr(err.msg, "'clearpart --linux' does not allow wiping 'ntfs'"));
        answer_release(&a);
        /* with permission: wiped, and the plan says what was there */
        a = answer_of("ignoredisk --only-use=sda\nclearpart --all --drives=sda\n");
        assert_int_equal(storage_plan(&in, &p, NULL), 0);
        assert_true(p.disks[0].wipe);
        assert_string_equal(p.disks[0].holds, "a gpt partition table, ntfs");
        storage_plan_release(&p);
        answer_release(&a);
        /* clearpart for another disk gives no permission for this one */
        a = answer_of("ignoredisk --only-use=sda\nclearpart --all --drives=sdb\n");
        assert_int_equal(storage_plan(&in, &p, NULL), -EPERM);
        answer_release(&a);
}

static void test_an_older_install_elsewhere_is_renamed(void **state)
{
        struct hw_disk d[2] = { disk("sda", 500 * GiB), disk("sdb", 500 * GiB) };
        struct answer a = answer_of("ignoredisk --only-use=sda\n");
        struct storage_input in = { .disks = d, .n_disks = 2, .ram = 8 * GiB, .answer = &a };
        struct storage_plan p;

        (void) state;
        strcpy(d[1].table, "gpt");
        d[1].n_parts = 3;
        strcpy(d[1].parts[2].content.type, "LVM2_member");
        strcpy(d[1].parts[2].content.vg, STORAGE_VG);
        assert_int_equal(storage_plan(&in, &p, NULL), 0);
        assert_string_equal(p.disks[0].name, "sda");
        assert_int_equal(p.n_notes, 2);
        assert_string_equal(p.notes[1], "VG kvmforge on /dev/sdb (an earlier install) is renamed "
                                        "to kvmforge-old-sdb before the new one is made");
        storage_plan_release(&p);
        answer_release(&a);
}

/* Runs a shell command and returns its stdout (the test fails if it does not exit 0). */
static char *run_out(const char *cmd)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len), *p = popen(cmd, "r");
        char buf[4096];
        size_t n;

        assert_non_null(f);
        assert_non_null(p);
        while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
                fwrite(buf, 1, n, f);
        if (pclose(p) != 0)
                fail_msg("'%s' failed", cmd);
        fclose(f);
        return out;
}

static void test_partition_table_written_on_an_image(void **state)
{
        _cleanup_free_ char *dir = tmpdir_new(), *img = path_join(dir, "disk.img"), *json = NULL;
        char *cmd = NULL, *probe = NULL;
        struct hw_disk d = disk("sda", 20 * GiB);
        struct storage_input in = { .disks = &d, .n_disks = 1, .ram = 4 * GiB };
        struct storage_plan p;
        struct err err = { { 0 } };
        const struct storage_part *pv;
        int fd;

        (void) state;
        assert_int_equal(storage_plan(&in, &p, NULL), 0);
        pv = &p.disks[0].parts[2];
        /* A used disk: an old ext4 on the whole of it, and another exactly where the new PV
         * will start (an earlier install with the same layout). */
        fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t) d.size), 0);
        close(fd);
        assert_true(asprintf(&cmd, "mkfs.ext4 -q -F -L OLDROOT '%s' 64M", img) > 0);
        free(run_out(cmd));
        free(cmd);
        assert_true(asprintf(&cmd, "mkfs.ext4 -q -F -L OLDPV -E offset=%" PRIu64 " '%s' 64M",
                             pv->start, img) > 0);
        free(run_out(cmd));
        free(cmd);
        /* The test sees the old signatures before the table is written. */
        assert_true(asprintf(&cmd, "blkid -p -o export -O %" PRIu64 " '%s'", pv->start, img) > 0);
        probe = run_out(cmd);
        free(cmd);
        assert_non_null(strstr(probe, "LABEL=OLDPV"));
        free(probe);

        if (storage_write_table(&p.disks[0], img, &err) != 0)
                fail_msg("%s", err.msg);

        assert_true(asprintf(&cmd, "sfdisk --json '%s'", img) > 0);
        json = run_out(cmd);
        free(cmd);
        /* Compared without the layout's whitespace. */
        {
                size_t k = 0;
                for (size_t i = 0; json[i]; i++)
                        if (json[i] != ' ' && json[i] != '\n')
                                json[k++] = json[i];
                json[k] = '\0';
        }
        assert_non_null(strstr(json, "\"label\":\"gpt\""));
        /* BIOS boot, EFI system and Linux LVM type GUIDs, where the plan put them */
        assert_non_null(strstr(json, "\"start\":2048,\"size\":2048,\"type\":"
                                     "\"21686148-6449-6E6F-744E-656564454649\""));
        assert_non_null(strstr(json, "\"start\":4096,\"size\":1048576,\"type\":"
                                     "\"C12A7328-F81F-11D2-BA4B-00A0C93EC93B\""));
        assert_non_null(strstr(json, "\"type\":\"E6D6D379-F507-44C2-A23C-238F2A3DF928\""));
        assert_non_null(strstr(json, "\"name\":\"kvmforgePV\""));
        {
                char want[128];
                snprintf(want, sizeof(want), "\"start\":%" PRIu64 ",\"size\":%" PRIu64,
                         pv->start / 512, pv->size / 512);
                assert_non_null(strstr(json, want));
        }
        /* Nothing old is found any more: not the ext4, not the LVM label at the PV's start. */
        assert_true(asprintf(&cmd, "blkid -p -o export '%s'", img) > 0);
        probe = run_out(cmd);
        free(cmd);
        assert_null(strstr(probe, "ext4"));
        assert_non_null(strstr(probe, "PTTYPE=gpt"));
        free(probe);
        assert_true(asprintf(&cmd, "blkid -p -o export -O %" PRIu64 " '%s' || true", pv->start,
                             img) > 0);
        probe = run_out(cmd);
        free(cmd);
        assert_null(strstr(probe, "OLDPV"));
        free(probe);
        storage_plan_release(&p);
        unlink(img);
        rmdir(dir);
}

static void test_custom_layout_on_two_disks(void **state)
{
        struct hw_disk d[2] = { disk("sda", 100 * GiB), disk("sdb", 200 * GiB) };
        struct answer a = answer_of(
                "ignoredisk --only-use=sda,sdb\n"
                "clearpart --all --initlabel\n"
                "reqpart\n"
                "part /boot --fstype=ext4 --size=1024 --ondisk=sda\n"
                "part pv.01 --fstype=lvmpv --size=1 --grow --ondisk=sda\n"
                "part pv.02 --fstype=lvmpv --size=1 --grow --ondisk=sdb\n"
                "volgroup vg0 pv.01 pv.02\n"
                "logvol / --vgname=vg0 --name=root --fstype=xfs --size=20480 --maxsize=40960 "
                "--grow\n"
                "logvol swap --vgname=vg0 --name=swap --recommended\n"
                "logvol none --vgname=vg0 --name=pool --thinpool --percent=50\n"
                "logvol /var/lib/libvirt/images --vgname=vg0 --name=images --thin "
                "--poolname=pool --size=100000\n"
                "rootpw --lock\n");
        struct storage_input in = { .disks = d, .n_disks = 2, .ram = 8 * GiB, .answer = &a };
        struct storage_plan p;
        struct err err = { { 0 } };
        uint64_t pv1, pv2;

        (void) state;
        if (storage_plan(&in, &p, &err) != 0)
                fail_msg("%s", err.msg);
        assert_int_equal(p.n_disks, 2);
        /* reqpart puts BIOS boot and the ESP on the first disk, before the answer's parts */
        assert_int_equal(p.disks[0].n_parts, 4);
        assert_int_equal(p.disks[0].parts[0].type, STORAGE_PT_BIOSBOOT);
        assert_int_equal(p.disks[0].parts[1].type, STORAGE_PT_ESP);
        assert_string_equal(p.disks[0].parts[2].mount, "/boot");
        assert_int_equal(p.disks[0].parts[2].size, GiB);
        assert_string_equal(p.disks[0].parts[3].vg, "vg0");
        assert_int_equal(p.disks[1].n_parts, 1);
        /* the growing PVs take their disks, up to the backup GPT's MiB */
        pv1 = p.disks[0].parts[3].size;
        pv2 = p.disks[1].parts[0].size;
        assert_int_equal(p.disks[0].parts[3].start + pv1, 100 * GiB - MiB);
        assert_int_equal(pv2, 200 * GiB - 2 * MiB);
        assert_string_equal(p.vg.name, "vg0");
        assert_true(p.vg.size <= pv1 + pv2 && p.vg.size > pv1 + pv2 - 16 * MiB);
        assert_int_equal(lv(&p, "root")->size, 40 * GiB); /* grown to its --maxsize */
        assert_string_equal(lv(&p, "root")->fstype, "xfs");
        assert_int_equal(lv(&p, "swap")->size, 8 * GiB);
        assert_true(lv(&p, "pool")->thinpool);
        assert_true(lv(&p, "pool")->size >= p.vg.size / 2 - 4 * MiB &&
                    lv(&p, "pool")->size <= p.vg.size / 2);
        assert_string_equal(lv(&p, "images")->pool, "pool");
        assert_string_equal(lv(&p, "images")->mount, "/var/lib/libvirt/images");
        /* what the capped root leaves stays free, and the plan says so */
        assert_true(p.vg.free > 90 * GiB);
        assert_non_null(strstr(p.notes[p.n_notes - 1], "stays free in VG vg0"));
        storage_plan_release(&p);
        answer_release(&a);
}

static void test_custom_layout_refusals(void **state)
{
        struct hw_disk d[2] = { disk("sda", 100 * GiB), disk("sdb", 200 * GiB) };
        struct storage_input in = { .disks = d, .n_disks = 2, .ram = 8 * GiB };
        struct storage_plan p;
        struct err err = { { 0 } };
        struct answer a;

        (void) state;
        /* no --ondisk and two candidates */
        a = answer_of("part / --size=10000\nreqpart\nrootpw --lock\n");
        in.answer = &a;
        assert_int_equal(storage_plan(&in, &p, &err), -ENOTUNIQ);
        assert_non_null(strstr(err.msg, "'part /' has no --ondisk: 2 disks could take"));
        answer_release(&a);
        /* more than the disk */
        a = answer_of("part / --size=200000 --ondisk=sda\nreqpart\nrootpw --lock\n");
        in.answer = &a;
        err.msg[0] = '\0';
        assert_int_equal(storage_plan(&in, &p, &err), -ENOSPC);
        assert_non_null(strstr(err.msg, "the partitions on /dev/sda need"));
        answer_release(&a);
        /* LVs that cannot fit their VG */
        a = answer_of("part pv.01 --fstype=lvmpv --size=1 --grow --ondisk=sda\n"
                      "volgroup vg pv.01\nlogvol / --vgname=vg --name=r --size=60G\n"
                      "logvol /srv --vgname=vg --name=s --size=60G\nreqpart\nrootpw --lock\n");
        in.answer = &a;
        err.msg[0] = '\0';
        assert_int_equal(storage_plan(&in, &p, &err), -ENOSPC);
        assert_non_null(strstr(err.msg, "the LVs of VG vg need"));
        answer_release(&a);
}

static void test_raid1_mirror_for_boot_redundancy(void **state)
{
        struct hw_disk d[2] = { disk("sda", 40 * GiB), disk("sdb", 40 * GiB) };
        struct answer a =
                answer_of("ignoredisk --only-use=sda,sdb\nclearpart --all --initlabel\nreqpart\n"
                          "part raid.01 --fstype=raid --size=1024 --ondisk=sda\n"
                          "part raid.02 --fstype=raid --size=1024 --ondisk=sdb\n"
                          "part raid.11 --fstype=raid --size=1 --grow --ondisk=sda\n"
                          "part raid.12 --fstype=raid --size=1 --grow --ondisk=sdb\n"
                          "raid /boot --level=RAID1 --device=md0 --fstype=ext4 raid.01 raid.02\n"
                          "raid pv.01 --level=1 --device=md1 raid.11 raid.12\nvolgroup vg0 pv.01\n"
                          "logvol / --vgname=vg0 --name=root --size=8192\n"
                          "logvol none --vgname=vg0 --name=pool --thinpool --size=1 --grow\n"
                          "rootpw --lock\n");
        struct storage_input in = { .disks = d, .n_disks = 2, .ram = 4 * GiB, .answer = &a };
        struct storage_plan p;
        struct err err = { { 0 } };

        (void) state;
        if (storage_plan(&in, &p, &err) != 0)
                fail_msg("%s", err.msg);
        /* either disk boots alone: BIOS boot and an ESP on both, /boot/efi on the first */
        for (size_t k = 0; k < 2; k++) {
                assert_int_equal(p.disks[k].n_parts, 4);
                assert_int_equal(p.disks[k].parts[0].type, STORAGE_PT_BIOSBOOT);
                assert_int_equal(p.disks[k].parts[1].type, STORAGE_PT_ESP);
                assert_int_equal(p.disks[k].parts[2].type, STORAGE_PT_RAID);
        }
        assert_string_equal(p.disks[0].parts[1].mount, "/boot/efi");
        assert_string_equal(p.disks[1].parts[1].mount, "");
        assert_int_equal(p.n_mds, 2);
        assert_string_equal(p.mds[0].device, "md0");
        assert_string_equal(p.mds[0].mount, "/boot");
        assert_int_equal(p.mds[0].n_members, 2);
        assert_int_equal(p.mds[0].members[1].disk, 1);
        assert_int_equal(p.mds[0].members[1].number, 3);
        /* the array offers less than a member: md's superblock and headroom */
        assert_true(p.mds[1].size < p.disks[0].parts[3].size - 16 * MiB);
        assert_string_equal(p.mds[1].vg, "vg0");
        assert_true(p.vg.size < p.mds[1].size);
        storage_plan_release(&p);
        answer_release(&a);

        a = answer_of("part raid.01 --fstype=raid --size=1024 --ondisk=sda\n"
                      "part raid.02 --fstype=raid --size=1024 --ondisk=sdb\n"
                      "part raid.03 --fstype=raid --size=1024 --ondisk=sdb\n"
                      "raid / --level=5 --device=md0 raid.01 raid.02 raid.03\nreqpart\n"
                      "rootpw --lock\n");
        in.answer = &a;
        err.msg[0] = '\0';
        assert_int_equal(storage_plan(&in, &p, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.msg, "RAID1 arrays only"));
        answer_release(&a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_layout_matches_proxmox_sizing),
                cmocka_unit_test(test_sizes_from_8_gib_to_16_tib_always_fit),
                cmocka_unit_test(test_maxvz_zero_leaves_space_free_and_says_so),
                cmocka_unit_test(test_rest_to_root_and_other_types),
                cmocka_unit_test(test_4kn_disks_get_no_bios_boot_partition),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_an_older_install_elsewhere_is_renamed),
                cmocka_unit_test(test_partition_table_written_on_an_image),
                cmocka_unit_test(test_custom_layout_on_two_disks),
                cmocka_unit_test(test_custom_layout_refusals),
                cmocka_unit_test(test_raid1_mirror_for_boot_redundancy),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
