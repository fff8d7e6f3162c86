/* hw_match: the disks and NICs an answer's selectors name, against a fixed machine: every
 * form of each selector, and one case per way a selector is refused. */

#include "helpers.h"
#include "hw.h"

#define GB  UINT64_C(1000000000)
#define GIB (UINT64_C(1) << 30)

/* The machine, in name order as hw_disks_detect() gives it. */
enum { MMCBLK0, NVME0N1, SDA, SDB, SDC, SDD, SDE, SDF, VDA, N_DISKS };

static void make_disks(struct hw_disk d[N_DISKS])
{
        memset(d, 0, N_DISKS * sizeof(*d));
        /* A card reader without a card. */
        d[MMCBLK0] = (struct hw_disk){ .name = "mmcblk0",
                                       .path = "/dev/mmcblk0",
                                       .transport = "mmc",
                                       .removable = true,
                                       .rotational = HW_NO };
        d[NVME0N1] = (struct hw_disk){
                .name = "nvme0n1",
                .path = "/dev/nvme0n1",
                .ids = { "/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_1TB_S5GXNF0R123456",
                         "/dev/disk/by-id/nvme-eui.002538b111b2c3d4" },
                .n_ids = 2,
                .size = UINT64_C(1000204886016),
                .rotational = HW_NO,
                .transport = "nvme",
                .model = "Samsung SSD 980 PRO 1TB",
                .serial = "S5GXNF0R123456",
                .wwn = "eui.002538b111b2c3d4",
        };
        d[SDA] = (struct hw_disk){
                .name = "sda",
                .path = "/dev/sda",
                .ids = { "/dev/disk/by-id/ata-ST2000NM0055-1V4104_ZC20ABCD",
                         "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4" },
                .n_ids = 2,
                .size = UINT64_C(2000398934016),
                .rotational = HW_YES,
                .transport = "sata",
                .model = "ST2000NM0055-1V4104",
                .serial = "ZC20ABCD",
                .wwn = "naa.5000c500a1b2c3d4",
        };
        d[SDB] = (struct hw_disk){
                .name = "sdb",
                .path = "/dev/sdb",
                .ids = { "/dev/disk/by-id/ata-INTEL_SSDSC2KB480G8_PHYF812300AB480BGN" },
                .n_ids = 1,
                .size = UINT64_C(480103981056), /* what a "480 GB" SSD holds */
                .rotational = HW_NO,
                .transport = "sata",
                .model = "INTEL SSDSC2KB480G8",
                .serial = "PHYF812300AB480BGN",
                .wwn = "naa.55cd2e414f1a2b3c",
        };
        /* The stick the installer booted from: mounted, so in use as well. */
        d[SDC] = (struct hw_disk){
                .name = "sdc",
                .path = "/dev/sdc",
                .ids = { "/dev/disk/by-id/usb-SanDisk_Ultra_Fit_4C530001230925117143-0:0" },
                .n_ids = 1,
                .size = UINT64_C(16008609792),
                .rotational = HW_YES,
                .removable = true,
                .transport = "usb",
                .model = "Ultra Fit",
                .serial = "4C530001230925117143",
                .install_medium = true,
                .in_use = true,
        };
        /* The same size as sdb: ties. Holds an earlier install. */
        d[SDD] = (struct hw_disk){
                .name = "sdd",
                .path = "/dev/sdd",
                .size = UINT64_C(480103981056),
                .rotational = HW_NO,
                .transport = "sata",
                .model = "Micron_5300_MTFDDAK480TDS",
                .serial = "2049A1B2C3D4",
                .wwn = "naa.500a07512b3c4d5e",
                .table = "gpt",
                .parts = { { .number = 1, .start = 1 << 20, .size = 512 << 20 },
                           { .number = 2,
                             .start = 513 << 20,
                             .size = UINT64_C(400) * GB,
                             .content = { .type = "LVM2_member", .vg = HW_INSTALL_VG } } },
                .n_parts = 2,
        };
        d[SDE] = (struct hw_disk){
                .name = "sde",
                .path = "/dev/sde",
                .size = UINT64_C(1000170586112),
                .rotational = HW_YES,
                .transport = "usb",
                .model = "Elements 25A2",
                .serial = "575835314141",
        };
        /* A BMC's virtual media: read-only. */
        d[SDF] = (struct hw_disk){
                .name = "sdf",
                .path = "/dev/sdf",
                .size = UINT64_C(1474560),
                .rotational = HW_UNKNOWN,
                .read_only = true,
                .transport = "scsi",
                .model = "Virtual Floppy",
        };
        d[VDA] = (struct hw_disk){
                .name = "vda",
                .path = "/dev/vda",
                .size = 64 * GIB,
                .rotational = HW_UNKNOWN,
                .transport = "virtio",
                .in_use = true,
        };
}

/* "sda sdb" for indexes into d, "" for none. */
static void disk_names(const struct hw_disk *d, const size_t *idx, size_t n, char *out, size_t max)
{
        size_t at = 0;

        out[0] = '\0';
        for (size_t i = 0; i < n; i++)
                at += (size_t) snprintf(out + at, max - at, "%s%s", i ? " " : "", d[idx[i]].name);
}

struct sel_case {
        const char *name;
        const char *sel;
        int ret;
        const char *want;   /* the names chosen, in order */
        const char *err_is; /* the whole message, or NULL */
        const char *err_has;
};

static const struct sel_case disk_cases[] = {
        /* Names: that disk, whatever it is. */
        { "kernel_name", "sda", 0, "sda", NULL, NULL },
        { "dev_path", "/dev/nvme0n1", 0, "nvme0n1", NULL, NULL },
        { "by_id_path", "/dev/disk/by-id/ata-ST2000NM0055-1V4104_ZC20ABCD", 0, "sda", NULL, NULL },
        { "by_id_relative", "disk/by-id/wwn-0x5000c500a1b2c3d4", 0, "sda", NULL, NULL },
        { "by_id_alone", "nvme-eui.002538b111b2c3d4", 0, "nvme0n1", NULL, NULL },
        { "install_medium_by_name", "sdc", 0, "sdc", NULL, NULL },
        { "install_medium_by_id", "usb-SanDisk_Ultra_Fit_4C530001230925117143-0:0", 0, "sdc", NULL,
          NULL },
        { "in_use_by_path", "/dev/vda", 0, "vda", NULL, NULL },
        { "read_only_by_name", "sdf", 0, "sdf", NULL, NULL },
        { "spaces_around_a_name", "  sdb ", 0, "sdb", NULL, NULL },
        { "unknown_name_names_none", "sdz", 0, "", NULL, NULL },
        { "by_id_prefix_holds_no_kernel_name", "/dev/disk/by-id/sda", 0, "", NULL, NULL },
        { "dev_prefix_holds_no_by_id_name", "/dev/ata-ST2000NM0055-1V4104_ZC20ABCD", 0, "", NULL,
          NULL },
        { "dev_alone", "/dev/", 0, "", NULL, NULL },
        { "by_id_dir_alone", "/dev/disk/by-id/", 0, "", NULL, NULL },

        /* KEY=GLOB. */
        { "model_glob_any_case", "model=samsung*", 0, "nvme0n1", NULL, NULL },
        { "model_with_a_space", "model=INTEL SSDSC2KB480G8", 0, "sdb", NULL, NULL },
        { "serial", "serial=ZC20ABCD", 0, "sda", NULL, NULL },
        { "serial_bracket_glob", "serial=[PZ]*", 0, "sda sdb", NULL, NULL },
        { "wwn_glob", "wwn=naa.5*", 0, "sda sdb sdd", NULL, NULL },
        { "wwn_any_case", "wwn=EUI.*", 0, "nvme0n1", NULL, NULL },
        { "transport_any_case", "transport=SATA", 0, "sda sdb sdd", NULL, NULL },
        { "transport_glob", "transport=s*", 0, "sda sdb sdd", NULL, NULL },
        { "transport_usb_leaves_out_the_install_medium", "transport=usb", 0, "sde", NULL, NULL },
        { "transport_virtio_leaves_out_a_disk_in_use", "transport=virtio", 0, "", NULL, NULL },
        { "read_only_never_by_key", "transport=scsi", 0, "", NULL, NULL },
        { "empty_drive_never_by_key", "transport=mmc", 0, "", NULL, NULL },
        { "install_medium_never_by_model", "model=Ultra*", 0, "", NULL, NULL },
        { "type_ssd", "type=ssd", 0, "nvme0n1 sdb sdd", NULL, NULL },
        { "type_hdd_any_case", "type=HDD", 0, "sda sde", NULL, NULL },
        { "size_largest", "size=largest", 0, "sda", NULL, NULL },
        { "size_smallest_tie_keeps_both", "size=smallest", 0, "sdb sdd", NULL, NULL },
        { "size_largest_among_what_the_keys_leave", "transport=usb,size=largest", 0, "sde", NULL,
          NULL },
        { "size_largest_tie_keeps_both", "type=ssd,transport=sata,size=largest", 0, "sdb sdd", NULL,
          NULL },
        { "size_largest_first_then_keys_would_differ", "size=largest,type=ssd", 0, "nvme0n1", NULL,
          NULL },
        { "size_ge_binary_unit", "size>=1T", 0, "sda", NULL, NULL },
        { "size_ge_decimal_unit", "size>=1TB", 0, "nvme0n1 sda sde", NULL, NULL },
        { "size_ge_480GB_keeps_the_480GB_ssds", "size>=480GB", 0, "nvme0n1 sda sdb sdd sde", NULL,
          NULL },
        { "size_ge_480G_is_480GiB", "size>=480G", 0, "nvme0n1 sda sde", NULL, NULL },
        { "size_le_with_decimals", "size<=0.5T", 0, "sdb sdd", NULL, NULL },
        { "size_lt", "size<1TB", 0, "sdb sdd", NULL, NULL },
        { "size_gt_is_strict", "size>1000204886016B", 0, "sda", NULL, NULL },
        { "size_ge_is_not", "size>=1000204886016B", 0, "nvme0n1 sda", NULL, NULL },
        { "size_after_equals", "size=>=1.5TiB", 0, "sda", NULL, NULL },
        { "size_with_spaces", "size >= 1.5 T", 0, "sda", NULL, NULL },
        { "size_unit_any_case", "size<=500gb", 0, "sdb sdd", NULL, NULL },
        { "size_kib", "size<=2000000KiB", 0, "", NULL, NULL },
        { "several_keys_all_hold", "transport=sata, type=ssd, model=intel*", 0, "sdb", NULL, NULL },
        { "repeated_key_both_hold", "model=*SSD*,model=*980*", 0, "nvme0n1", NULL, NULL },
        { "key_any_case", "MODEL=st2000*", 0, "sda", NULL, NULL },
        { "value_may_hold_equals", "serial=A=B", 0, "", NULL, NULL },
        { "eight_stars_allowed", "model=*S*a*m*s*u*n*g*", 0, "nvme0n1", NULL, NULL },

        /* Refused. */
        { "empty", "", -EINVAL, NULL, "empty disk selector", NULL },
        { "only_spaces", "   ", -EINVAL, NULL, "empty disk selector", NULL },
        { "control_character", "sda\n", -EINVAL, NULL,
          "disk selector 'sda?' holds a control character", NULL },
        { "name_glob", "sd*", -EINVAL, NULL, NULL, "'sd*' is no disk name" },
        { "two_names", "sda,sdb", -EINVAL, NULL, NULL, "is no disk name" },
        { "words_without_a_key", "Samsung SSD", -EINVAL, NULL, NULL, "KEY=GLOB" },
        { "unknown_key_did_you_mean", "modle=X", -EINVAL, NULL,
          "unknown key 'modle' in disk selector 'modle=X'; keys are model, serial, wwn, "
          "transport, type, size; did you mean 'model'?",
          NULL },
        { "unknown_key_two_edits", "trnsprt=usb", -EINVAL, NULL, NULL,
          "did you mean 'transport'?" },
        { "unknown_key_too_far_for_a_suggestion", "colour=red", -EINVAL, NULL,
          "unknown key 'colour' in disk selector 'colour=red'; keys are model, serial, wwn, "
          "transport, type, size",
          NULL },
        { "empty_clause", "model=X,,type=ssd", -EINVAL, NULL, NULL, "empty clause" },
        { "trailing_comma", "type=ssd,", -EINVAL, NULL, NULL, "empty clause" },
        { "clause_without_equals", "type=ssd,largest", -EINVAL, NULL,
          "'largest' in disk selector 'type=ssd,largest' is not KEY=GLOB", NULL },
        { "no_key", "=ssd", -EINVAL, NULL, NULL, "no key before '='" },
        { "no_value", "model=", -EINVAL, NULL, NULL, "no value for model" },
        { "compare_on_another_key", "model>=5", -EINVAL, NULL, NULL, "only size compares" },
        { "type_neither", "type=nvme", -EINVAL, NULL, NULL, "neither ssd nor hdd" },
        { "transport_unknown", "transport=stat", -EINVAL, NULL, NULL, "unknown transport 'stat'" },
        { "transport_typo_did_you_mean", "transport=nvem", -EINVAL, NULL, NULL,
          "did you mean 'nvme'?" },
        { "size_without_unit", "size>=100", -EINVAL, NULL, NULL, "want largest, smallest" },
        { "size_exact", "size=100G", -EINVAL, NULL, NULL, "want largest" },
        { "size_unknown_unit", "size>=100X", -EINVAL, NULL, NULL, "want largest" },
        { "size_four_decimals", "size>=1.2345T", -EINVAL, NULL, NULL, "want largest" },
        { "size_dot_without_decimals", "size>=1.T", -EINVAL, NULL, NULL, "want largest" },
        { "size_without_digits", "size>=T", -EINVAL, NULL, NULL, "want largest" },
        { "size_unit_overflows", "size>=16384P", -EINVAL, NULL, NULL, "too large" },
        { "size_digits_overflow", "size>=99999999999999999999G", -EINVAL, NULL, NULL, "too large" },
        { "size_decimals_overflow", "size>=18446.745PB", -EINVAL, NULL, NULL, "too large" },
        { "size_decimals_just_fit", "size>=18446.744PB", 0, "", NULL, NULL },
        { "largest_and_smallest", "size=largest,size=smallest", -EINVAL, NULL, NULL,
          "the largest and the smallest" },
        { "nine_stars", "model=*S*a*m*s*u*n*g*9*", -EINVAL, NULL, NULL, "more than 8 '*'" },
        { "seventeen_clauses",
          "type=ssd,type=ssd,type=ssd,type=ssd,type=ssd,type=ssd,type=ssd,type=ssd,type=ssd,"
          "type=ssd,type=ssd,type=ssd,type=ssd,type=ssd,type=ssd,type=ssd,type=ssd",
          -EINVAL, NULL, NULL, "more than 16 clauses" },
};

static void check_result(const struct sel_case *c, int r, const struct err *err,
                         const struct hw_disk *d, const struct hw_nic *nics, const size_t *idx,
                         size_t k)
{
        char got[256];

        if (r != c->ret)
                fail_msg("%s: '%s' returned %d (%s), want %d", c->name, c->sel, r, err->msg,
                         c->ret);
        if (r < 0) {
                assert_int_equal(k, 999); /* untouched on failure */
                if (c->err_is)
                        assert_string_equal(err->msg, c->err_is);
                if (c->err_has && !strstr(err->msg, c->err_has))
                        fail_msg("%s: message '%s' lacks '%s'", c->name, err->msg, c->err_has);
                assert_true(err->msg[0]);
                return;
        }
        assert_string_equal(err->msg, "");
        if (d)
                disk_names(d, idx, k, got, sizeof(got));
        else {
                size_t at = 0;
                got[0] = '\0';
                for (size_t i = 0; i < k; i++)
                        at += (size_t) snprintf(got + at, sizeof(got) - at, "%s%s", i ? " " : "",
                                                nics[idx[i]].name);
        }
        if (strcmp(got, c->want) != 0)
                fail_msg("%s: '%s' chose '%s', want '%s'", c->name, c->sel, got, c->want);
}

static void test_disk_selector(void **state)
{
        const struct sel_case *c = *state;
        struct hw_disk d[N_DISKS];
        struct err err = { { 0 } };
        size_t idx[N_DISKS], k = 999;
        int r;

        make_disks(d);
        r = hw_disks_match(c->sel, d, N_DISKS, idx, &k, &err);
        check_result(c, r, &err, d, NULL, idx, k);
}

static void test_disk_selector_null_and_too_long(void **state)
{
        struct hw_disk d[N_DISKS];
        struct err err = { { 0 } };
        size_t idx[N_DISKS], k = 999;
        char sel[514];

        (void) state;
        make_disks(d);
        assert_int_equal(hw_disks_match(NULL, d, N_DISKS, idx, &k, &err), -EINVAL);
        assert_string_equal(err.msg, "empty disk selector");
        memset(sel, 'a', 513);
        sel[513] = '\0';
        err.msg[0] = '\0';
        assert_int_equal(hw_disks_match(sel, d, N_DISKS, idx, &k, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "is longer than 512 bytes"));
        assert_true(strlen(err.msg) < 120); /* the selector is quoted cut short */
        sel[512] = '\0';
        assert_int_equal(hw_disks_match(sel, d, N_DISKS, idx, &k, NULL), 0);
        assert_int_equal(k, 0);
}

static void test_disk_with_unknown_rotation_is_neither_ssd_nor_hdd(void **state)
{
        struct hw_disk d[N_DISKS];
        size_t idx[N_DISKS], k;

        (void) state;
        make_disks(d);
        d[VDA].in_use = false;
        assert_int_equal(hw_disks_match("transport=virtio", d, N_DISKS, idx, &k, NULL), 0);
        assert_int_equal(k, 1);
        assert_int_equal(idx[0], VDA);
        assert_int_equal(hw_disks_match("type=ssd,transport=virtio", d, N_DISKS, idx, &k, NULL), 0);
        assert_int_equal(k, 0);
        assert_int_equal(hw_disks_match("type=hdd,transport=virtio", d, N_DISKS, idx, &k, NULL), 0);
        assert_int_equal(k, 0);
}

static void test_disk_value_with_escaped_comma(void **state)
{
        struct hw_disk d[N_DISKS];
        struct err err = { { 0 } };
        size_t idx[N_DISKS], k;

        (void) state;
        make_disks(d);
        (void) snprintf(d[SDE].model, sizeof(d[SDE].model), "Elements, 25A2");
        assert_int_equal(hw_disks_match("model=Elements\\, 25A2", d, N_DISKS, idx, &k, &err), 0);
        assert_int_equal(k, 1);
        assert_int_equal(idx[0], SDE);
        assert_int_equal(hw_disks_match("model=*\\,*,type=hdd", d, N_DISKS, idx, &k, &err), 0);
        assert_int_equal(k, 1);
        /* Unescaped, the comma ends the clause. */
        assert_int_equal(hw_disks_match("model=Elements, 25A2", d, N_DISKS, idx, &k, &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "'25A2'"));
}

/* ---- firstdisk ---- */

struct firstdisk_case {
        const char *name;
        const char *list;
        int ret;
        const char *want;
        const char *err_has;
};

static const struct firstdisk_case firstdisk_cases[] = {
        { "default_is_local_first_by_name", NULL, 0, "nvme0n1", NULL },
        { "empty_is_the_default", "", 0, "nvme0n1", NULL },
        { "explicit_default", "local,remote,usb", 0, "nvme0n1", NULL },
        { "usb_never_the_install_medium", "usb", 0, "sde", NULL },
        { "remote_none_then_usb", "remote,usb", 0, "sde", NULL },
        { "esx_an_earlier_install", "esx,local", 0, "sdd", NULL },
        { "transport_name", "sata", 0, "sda", NULL },
        { "driver_ahci", "ahci", 0, "sda", NULL },
        { "driver_vmw_ahci", "vmw_ahci", 0, "sda", NULL },
        { "driver_any_case", "NVMe_PCIe", 0, "nvme0n1", NULL },
        { "driver_usb_storage", "usb-storage", 0, "sde", NULL },
        { "driver_pvscsi_is_virtio_in_use", "pvscsi,virtio_blk,sata", 0, "sda", NULL },
        { "model_prefix", "intel", 0, "sdb", NULL },
        { "model_prefix_any_case", "micron", 0, "sdd", NULL },
        { "model_prefix_before_local", "Elements,local", 0, "sde", NULL },
        { "spaces_around_entries", " st2000 , local ", 0, "sda", NULL },
        { "model_of_the_install_medium", "Ultra", -ENODEV, NULL,
          "no disk matches firstdisk list 'Ultra'; disks: mmcblk0 (mmc, no medium), nvme0n1 "
          "(nvme), sda (sata), sdb (sata), sdc (usb, install medium), sdd (sata), sde (usb), "
          "sdf (scsi, read-only), vda (virtio, in use)" },
        { "read_only_raid_driver", "megaraid_sas", -ENODEV, NULL, "sdf (scsi, read-only)" },
        { "typo_did_you_mean", "lcoal", -ENODEV, NULL, "(did you mean 'local' for 'lcoal'?)" },
        { "empty_entry", "local,,usb", -EINVAL, NULL, "empty entry in firstdisk list" },
        { "trailing_comma", "local,", -EINVAL, NULL, "empty entry" },
        { "seventeen_entries", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", -EINVAL, NULL,
          "more than 16 entries" },
        { "control_character", "local\tusb", -EINVAL, NULL, "holds a control character" },
};

static void test_firstdisk(void **state)
{
        const struct firstdisk_case *c = *state;
        struct hw_disk d[N_DISKS];
        struct err err = { { 0 } };
        size_t idx = 999;
        int r;

        make_disks(d);
        r = hw_disks_firstdisk(c->list, d, N_DISKS, &idx, &err);
        if (r != c->ret)
                fail_msg("%s: returned %d (%s), want %d", c->name, r, err.msg, c->ret);
        if (r < 0) {
                assert_int_equal(idx, 999);
                if (!strstr(err.msg, c->err_has))
                        fail_msg("%s: message '%s' lacks '%s'", c->name, err.msg, c->err_has);
                return;
        }
        assert_true(idx < N_DISKS);
        assert_string_equal(d[idx].name, c->want);
}

static void test_firstdisk_usb_with_only_the_install_medium(void **state)
{
        struct hw_disk d[N_DISKS];
        struct err err = { { 0 } };
        size_t idx;

        (void) state;
        make_disks(d);
        d[SDE].in_use = true;
        assert_int_equal(hw_disks_firstdisk("usb", d, N_DISKS, &idx, &err), -ENODEV);
        assert_non_null(strstr(err.msg, "sdc (usb, install medium)"));
        assert_non_null(strstr(err.msg, "sde (usb, in use)"));
}

static void test_firstdisk_without_disks(void **state)
{
        struct err err = { { 0 } };
        size_t idx;

        (void) state;
        assert_int_equal(hw_disks_firstdisk(NULL, NULL, 0, &idx, &err), -ENODEV);
        assert_string_equal(err.msg,
                            "no disk matches firstdisk list 'local,remote,usb'; disks: none");
}

static void test_firstdisk_in_name_order_whatever_the_array_order(void **state)
{
        struct hw_disk d[N_DISKS], r[N_DISKS];
        size_t idx;

        (void) state;
        make_disks(d);
        for (size_t i = 0; i < N_DISKS; i++)
                r[i] = d[N_DISKS - 1 - i];
        assert_int_equal(hw_disks_firstdisk(NULL, r, N_DISKS, &idx, NULL), 0);
        assert_string_equal(r[idx].name, "nvme0n1");
        assert_int_equal(hw_disks_firstdisk("sata", r, N_DISKS, &idx, NULL), 0);
        assert_string_equal(r[idx].name, "sda");
}

/* ---- NICs ---- */

enum { BR0, ENO1, ENO2, ENP3S0F0, ENP3S0F1, N_NICS };

static const struct hw_nic nics[N_NICS] = {
        /* A bridge carries the MAC of its first port. */
        [BR0] = { "br0", "3c:ec:ef:01:02:03", "", HW_YES, -1, true },
        [ENO1] = { "eno1", "3c:ec:ef:01:02:03", "ixgbe", HW_YES, 10000, false },
        [ENO2] = { "eno2", "3c:ec:ef:01:02:04", "ixgbe", HW_NO, -1, false },
        [ENP3S0F0] = { "enp3s0f0", "a0:36:9f:aa:bb:cc", "i40e", HW_YES, 25000, false },
        [ENP3S0F1] = { "enp3s0f1", "a0:36:9f:aa:bb:cd", "i40e", HW_UNKNOWN, -1, false },
};

struct nic_case {
        struct sel_case c;
        const char *bootif;
};

static const struct nic_case nic_cases[] = {
        { { "name", "eno2", 0, "eno2", NULL, NULL }, NULL },
        { { "virtual_by_name", "br0", 0, "br0", NULL, NULL }, NULL },
        { { "unknown_name_names_none", "eth0", 0, "", NULL, NULL }, NULL },
        { { "mac", "3c:ec:ef:01:02:04", 0, "eno2", NULL, NULL }, NULL },
        { { "mac_upper_case_with_dashes", "3C-EC-EF-01-02-04", 0, "eno2", NULL, NULL }, NULL },
        { { "mac_of_a_bridge_names_its_port", "3c:ec:ef:01:02:03", 0, "eno1", NULL, NULL }, NULL },
        { { "mac_with_the_arp_type", "01-a0-36-9f-aa-bb-cc", 0, "enp3s0f0", NULL, NULL }, NULL },
        { { "mac_unknown", "00:11:22:33:44:55", 0, "", NULL, NULL }, NULL },
        { { "link_physical_with_carrier", "link", 0, "eno1 enp3s0f0", NULL, NULL }, NULL },
        { { "link_any_case", "LINK", 0, "eno1 enp3s0f0", NULL, NULL }, NULL },
        { { "bootif_with_the_arp_type", "bootif", 0, "eno2", NULL, NULL }, "01-3c-ec-ef-01-02-04" },
        { { "bootif_without_it", "bootif", 0, "eno2", NULL, NULL }, "3C:EC:EF:01:02:04" },
        { { "bootif_of_a_bridged_port", "BOOTIF", 0, "eno1", NULL, NULL }, "01-3c-ec-ef-01-02-03" },
        { { "bootif_not_booted_by_pxe", "bootif", 0, "", NULL, NULL }, NULL },
        { { "bootif_unknown_mac", "bootif", 0, "", NULL, NULL }, "01-00-11-22-33-44-55" },
        { { "vmnic0_first_physical", "vmnic0", 0, "eno1", NULL, NULL }, NULL },
        { { "vmnic1", "vmnic1", 0, "eno2", NULL, NULL }, NULL },
        { { "vmnic3_last", "vmnic3", 0, "enp3s0f1", NULL, NULL }, NULL },
        { { "vmnic4_past_the_end", "vmnic4", 0, "", NULL, NULL }, NULL },
        { { "vmnic_huge", "vmnic99999999999999999999999", 0, "", NULL, NULL }, NULL },
        { { "key_name_glob", "name=en*", 0, "eno1 eno2 enp3s0f0 enp3s0f1", NULL, NULL }, NULL },
        { { "key_name_case_sensitive", "name=ENO*", 0, "", NULL, NULL }, NULL },
        { { "key_never_virtual", "mac=3c:ec:ef:*", 0, "eno1 eno2", NULL, NULL }, NULL },
        { { "key_mac_dashes_and_range", "mac=3C-EC-EF-01-02-0[3-4]", 0, "eno1 eno2", NULL, NULL },
          NULL },
        { { "key_driver", "driver=i40e", 0, "enp3s0f0 enp3s0f1", NULL, NULL }, NULL },
        { { "keys_all_hold", "driver=ixgbe, name=*2", 0, "eno2", NULL, NULL }, NULL },

        { { "empty", "", -EINVAL, NULL, "empty NIC selector", NULL }, NULL },
        { { "control_character", "eno1\r", -EINVAL, NULL, NULL, "control character" }, NULL },
        { { "unknown_key_did_you_mean", "drvier=ixgbe", -EINVAL, NULL,
            "unknown key 'drvier' in NIC selector 'drvier=ixgbe'; keys are name, mac, driver; "
            "did you mean 'driver'?",
            NULL },
          NULL },
        { { "unknown_key_not_close", "size=largest", -EINVAL, NULL,
            "unknown key 'size' in NIC selector 'size=largest'; keys are name, mac, driver", NULL },
          NULL },
        { { "key_without_value", "name=", -EINVAL, NULL, NULL, "no value for name" }, NULL },
        { { "five_octets", "3c:ec:ef:01:02", -EINVAL, NULL, NULL,
            "neither a NIC name nor a MAC address" },
          NULL },
        { { "bad_hex_digit", "3c:ec:ef:01:02:0g", -EINVAL, NULL, NULL, "neither" }, NULL },
        { { "name_too_long_for_linux", "enp3s0f0np0abcdef", -EINVAL, NULL, NULL, "neither" },
          NULL },
        { { "glob_without_a_key", "en*", -EINVAL, NULL, NULL, "KEY=GLOB with keys name" }, NULL },
        { { "bootif_not_ethernet", "bootif", -EINVAL, NULL,
            "BOOTIF '02-3c-ec-ef-01-02-04' is not a MAC address", NULL },
          "02-3c-ec-ef-01-02-04" },
        { { "bootif_garbage", "bootif", -EINVAL, NULL, "BOOTIF 'x?y' is not a MAC address", NULL },
          "x\ny" },
};

static void test_nic_selector(void **state)
{
        const struct nic_case *c = *state;
        struct err err = { { 0 } };
        size_t idx[N_NICS], k = 999;
        int r;

        r = hw_nics_match(c->c.sel, nics, N_NICS, c->bootif, idx, &k, &err);
        check_result(&c->c, r, &err, NULL, nics, idx, k);
}

static void test_vmnic_in_name_order_whatever_the_array_order(void **state)
{
        struct hw_nic r[N_NICS];
        size_t idx[N_NICS], k;

        (void) state;
        for (size_t i = 0; i < N_NICS; i++)
                r[i] = nics[N_NICS - 1 - i];
        assert_int_equal(hw_nics_match("vmnic0", r, N_NICS, NULL, idx, &k, NULL), 0);
        assert_int_equal(k, 1);
        assert_string_equal(r[idx[0]].name, "eno1");
        assert_int_equal(hw_nics_match("vmnic2", r, N_NICS, NULL, idx, &k, NULL), 0);
        assert_int_equal(k, 1);
        assert_string_equal(r[idx[0]].name, "enp3s0f0");
}

static void test_nic_own_name_wins_over_keywords(void **state)
{
        struct hw_nic r[N_NICS];
        size_t idx[N_NICS], k;

        (void) state;
        memcpy(r, nics, sizeof(r));
        (void) snprintf(r[ENP3S0F1].name, sizeof(r[0].name), "link");
        assert_int_equal(hw_nics_match("link", r, N_NICS, NULL, idx, &k, NULL), 0);
        assert_int_equal(k, 1);
        assert_int_equal(idx[0], ENP3S0F1);
        assert_int_equal(hw_nics_match("LINK", r, N_NICS, NULL, idx, &k, NULL), 0);
        assert_int_equal(k, 2); /* names are case-sensitive: the keyword */
}

int main(void)
{
        struct test_list l = { 0 };

        for (size_t i = 0; i < ELEMENTSOF(disk_cases); i++)
                tests_add(&l, disk_cases[i].name, test_disk_selector, NULL, NULL,
                          (void *) &disk_cases[i]);
        tests_add(&l, "disk_selector_null_and_too_long", test_disk_selector_null_and_too_long, NULL,
                  NULL, NULL);
        tests_add(&l, "disk_with_unknown_rotation_is_neither_ssd_nor_hdd",
                  test_disk_with_unknown_rotation_is_neither_ssd_nor_hdd, NULL, NULL, NULL);
        tests_add(&l, "disk_value_with_escaped_comma", test_disk_value_with_escaped_comma, NULL,
                  NULL, NULL);
        for (size_t i = 0; i < ELEMENTSOF(firstdisk_cases); i++)
                tests_add(&l, firstdisk_cases[i].name, test_firstdisk, NULL, NULL,
                          (void *) &firstdisk_cases[i]);
        tests_add(&l, "firstdisk_usb_with_only_the_install_medium",
                  test_firstdisk_usb_with_only_the_install_medium, NULL, NULL, NULL);
        tests_add(&l, "firstdisk_without_disks", test_firstdisk_without_disks, NULL, NULL, NULL);
        tests_add(&l, "firstdisk_in_name_order_whatever_the_array_order",
                  test_firstdisk_in_name_order_whatever_the_array_order, NULL, NULL, NULL);
        for (size_t i = 0; i < ELEMENTSOF(nic_cases); i++)
                tests_add(&l, nic_cases[i].c.name, test_nic_selector, NULL, NULL,
                          (void *) &nic_cases[i]);
        tests_add(&l, "vmnic_in_name_order_whatever_the_array_order",
                  test_vmnic_in_name_order_whatever_the_array_order, NULL, NULL, NULL);
        tests_add(&l, "nic_own_name_wins_over_keywords", test_nic_own_name_wins_over_keywords, NULL,
                  NULL, NULL);
        return tests_run("hw-match", &l);
}
