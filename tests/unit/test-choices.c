/* choices: the installer's screens as data. Defaults from a hand-built machine (disks, NICs)
 * and a DHCP lease; every field's check, one case per rejection, each message naming what is
 * wrong; the root password's hash and strength words; the kickstart answer the choices make
 * (compared with tests/unit/data/choices/, read back by the answer parser and planned); the
 * time zone list and the lease, read from files in tzdata's and the kernel's formats.
 *
 * REGEN=1 rewrites the expected answers in tests/unit/data/choices/ from the output: review the
 * diff like code. */

#include "choices.h"

#include <crypt.h>

#include "answer.h"
#include "helpers.h"
#include "hw.h"
#include "storage.h"
#include "strv.h"

#define GiB  (1ull << 30)
#define DATA "tests/unit/data/choices"

#define SET(dst, src) (void) snprintf((dst), sizeof(dst), "%s", (src))

/* "correct horse", hashed once with yescrypt. */
#define ROOT_HASH "$y$j9T$7q0q6tWOyRBN7wMvFqh8s1$byljCnjnGbOgsmePApIekt5LTNRKLvfFuCPBjXcmPA2"

/* Made with ssh-keygen once (the private halves are thrown away). */
#define ED25519_BLOB "AAAAC3NzaC1lZDI1NTE5AAAAIHN8q2MaDlsAfB0qUqMWs4TM8EwSReGKf4T6RrwmwU0J"
#define KEY_ED25519  "ssh-ed25519 " ED25519_BLOB " admin@kvm1"
#define RSA_BLOB                                                                       \
        "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDRJ562+pcw76nDQcH4FkFHyvP4wjk1CGdjaNjWBc8R26yr" \
        "rzmI57j6hVl9eGkznNixdl7u2cXLA0DlMM5WsojKFHdFILzj31QkpCemEfmBij2i8gTXMF8AmR3d" \
        "XWwJAiHsnJXJ+S03vdQapfzw18O6nn/zQJ1XQlY6gbQPnEk7BQ=="
#define KEY_RSA "ssh-rsa " RSA_BLOB " x"
#define KEY_ECDSA                                                                        \
        "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOEnUx" \
        "w6Idtxp80YNheLYHsCnoF9Js9m50TYFKFAbnb0EECpdVC5ivkHMU+HWT8mlwps7kXpjSLpa/PByp71xl8= ec"
/* The ed25519 blob without its last 4 characters (3 bytes of the key), and with one of its
 * characters replaced by one outside base64. */
#define ED25519_BLOB_CUT "AAAAC3NzaC1lZDI1NTE5AAAAIHN8q2MaDlsAfB0qUqMWs4TM8EwSReGKf4T6Rrwm"
#define ED25519_BLOB_BAD "AAAAC3Nz*C1lZDI1NTE5AAAAIHN8q2MaDlsAfB0qUqMWs4TM8EwSReGKf4T6RrwmwU0J"

/* ---- the machine ---- */

static struct hw_disk machine_disks[] = {
        { .name = "sda",
          .path = "/dev/sda",
          .size = 500 * GiB,
          .logical_sector = 512,
          .physical_sector = 512,
          .rotational = HW_NO,
          .transport = "sata",
          .model = "Samsung SSD 870",
          .serial = "S5Y1NX0R" },
        { .name = "sdb",
          .path = "/dev/sdb",
          .size = 1024 * GiB,
          .logical_sector = 512,
          .physical_sector = 4096,
          .rotational = HW_YES,
          .transport = "sata",
          .model = "ST1000DM010",
          .serial = "Z9A1B2C3" },
        { .name = "sdc",
          .path = "/dev/sdc",
          .size = 16 * GiB,
          .logical_sector = 512,
          .physical_sector = 512,
          .removable = true,
          .transport = "usb",
          .model = "SanDisk Ultra" },
        { .name = "sdd",
          .path = "/dev/sdd",
          .size = 2048 * GiB,
          .logical_sector = 512,
          .physical_sector = 512,
          .transport = "sata",
          .model = "WDC WD20EFRX",
          .in_use = true },
        { .name = "sde",
          .path = "/dev/sde",
          .size = 4 * GiB,
          .logical_sector = 512,
          .physical_sector = 512,
          .transport = "sata",
          .model = "tiny" },
        { .name = "sdf",
          .path = "/dev/sdf",
          .size = 256 * GiB,
          .logical_sector = 512,
          .physical_sector = 512,
          .transport = "sata",
          .model = "locked",
          .read_only = true },
        { .name = "sr0",
          .path = "/dev/sr0",
          .size = 2 * GiB,
          .logical_sector = 2048,
          .physical_sector = 2048,
          .transport = "sata",
          .model = "QEMU DVD-ROM",
          .removable = true,
          .install_medium = true },
};

static struct hw_nic machine_nics[] = {
        { "eth0", "52:54:00:12:34:01", "e1000e", HW_YES, 1000, false },
        { "eth1", "52:54:00:12:34:02", "e1000e", HW_NO, -1, false },
        { "virbr0", "52:54:00:12:34:03", "", HW_YES, -1, true },
};

static struct hw_report machine(void)
{
        return (struct hw_report){ .memory = 16 * GiB,
                                   .disks = machine_disks,
                                   .n_disks = ELEMENTSOF(machine_disks),
                                   .nics = machine_nics,
                                   .n_nics = ELEMENTSOF(machine_nics) };
}

/* Choices that pass every check on the machine: its defaults, a root password, and a static
 * address (so that the network's checks run). Each check case patches one field of it. */
static struct choices sample(void)
{
        struct hw_report hw = machine();
        struct choices c;

        choices_defaults(&c, &hw, NULL);
        SET(c.root_hash, ROOT_HASH);
        SET(c.hostname, "kvm1.example.com");
        c.dhcp = false;
        SET(c.address, "192.0.2.10/24");
        SET(c.gateway, "192.0.2.1");
        SET(c.dns, "192.0.2.53 192.0.2.54");
        return c;
}

static void set_field(struct choices *c, enum choices_field f, const char *v)
{
        switch (f) {
        case CHOICES_DISKS: {
                const char *comma = strchr(v, ',');
                if (comma) {
                        (void) snprintf(c->disks[0], sizeof(c->disks[0]), "%.*s", (int) (comma - v),
                                        v);
                        SET(c->disks[1], comma + 1);
                } else {
                        SET(c->disks[0], v);
                        c->disks[1][0] = '\0';
                }
                return;
        }
        case CHOICES_FSTYPE:
                SET(c->fstype, v);
                return;
        case CHOICES_HDSIZE:
                SET(c->hdsize, v);
                return;
        case CHOICES_SWAPSIZE:
                SET(c->swapsize, v);
                return;
        case CHOICES_MAXROOT:
                SET(c->maxroot, v);
                return;
        case CHOICES_MINFREE:
                SET(c->minfree, v);
                return;
        case CHOICES_MAXVZ:
                SET(c->maxvz, v);
                return;
        case CHOICES_TIMEZONE:
                SET(c->timezone, v);
                return;
        case CHOICES_KEYBOARD:
                SET(c->keyboard, v);
                return;
        case CHOICES_ROOTPW:
                SET(c->root_hash, v);
                return;
        case CHOICES_EMAIL:
                SET(c->email, v);
                return;
        case CHOICES_SSHKEY:
                SET(c->sshkey, v);
                return;
        case CHOICES_NIC:
                SET(c->nic, v);
                return;
        case CHOICES_HOSTNAME:
                SET(c->hostname, v);
                return;
        case CHOICES_ADDRESS:
                SET(c->address, v);
                return;
        case CHOICES_GATEWAY:
                SET(c->gateway, v);
                return;
        case CHOICES_DNS:
                SET(c->dns, v);
                return;
        case CHOICES_BRIDGE:
                SET(c->bridge, v);
                return;
        case CHOICES_FIELD_COUNT:
                break;
        }
        fail_msg("no field %d", (int) f);
}

static bool have_zoneinfo(void)
{
        return access("/usr/share/zoneinfo", F_OK) == 0;
}

static bool regen(void)
{
        const char *r = getenv("REGEN");

        return r && strcmp(r, "1") == 0;
}

/* got against the file rel (rewritten from got with REGEN=1). */
static void assert_text_file(const char *rel, const char *got)
{
        size_t len;
        char *want;

        if (regen()) {
                file_write_str(rel, got);
                print_message("rewrote %s\n", rel);
                return;
        }
        want = (char *) file_read(rel, &len);
        want[len] = '\0';
        assert_string_equal(got, want);
        free(want);
}

static char *kickstart_of(const struct choices *c, const struct hw_report *hw)
{
        struct err err = { { 0 } };
        char *text = NULL;
        int r = choices_kickstart_text(c, hw, &text, &err);

        if (r < 0)
                fail_msg("choices_kickstart_text: %d %s", r, err.msg);
        assert_non_null(text);
        return text;
}

/* The text read back by the installer's parser, with no error. */
static void load_clean(const char *text, struct answer *a)
{
        assert_int_equal(answer_load(text, strlen(text), "choices.ks", NULL, a), 0);
        for (size_t i = 0; i < a->n_diags; i++)
                print_message("%s: %s\n", answer_level_names[a->diags[i].level], a->diags[i].msg);
        assert_int_equal(a->n_errors, 0);
}

static const struct storage_lv *plan_lv(const struct storage_plan *p, const char *name)
{
        for (size_t i = 0; i < p->vg.n_lvs; i++)
                if (strcmp(p->vg.lvs[i].name, name) == 0)
                        return &p->vg.lvs[i];
        return NULL;
}

static const struct storage_disk *plan_disk(const struct storage_plan *p, const char *name)
{
        for (size_t i = 0; i < p->n_disks; i++)
                if (strcmp(p->disks[i].name, name) == 0)
                        return &p->disks[i];
        return NULL;
}

/* ---- defaults ---- */

enum { FIXED = 0, REMOVABLE = 1, MEDIUM = 2, IN_USE = 4, READ_ONLY = 8, NO_MEDIUM = 16 };

struct disk_spec {
        const char *name;
        uint64_t gib;
        unsigned flags;
};

static const struct default_disk_case {
        const char *name;
        struct disk_spec disks[5];
        const char *want;
} default_disk_cases[] = {
        { "defaults_disk_the_largest_fixed_one",
          { { "sda", 500, FIXED },
            { "sdb", 1024, FIXED },
            { "sdc", 16, REMOVABLE },
            { "sr0", 2, MEDIUM | REMOVABLE } },
          "sdb" },
        { "defaults_disk_never_the_install_medium_even_the_largest",
          { { "sda", 500, FIXED }, { "sdb", 4096, MEDIUM } },
          "sda" },
        { "defaults_disk_never_one_in_use",
          { { "sda", 500, FIXED }, { "sdb", 2048, IN_USE } },
          "sda" },
        { "defaults_disk_never_a_read_only_one",
          { { "sda", 500, FIXED }, { "sdb", 2048, READ_ONLY } },
          "sda" },
        { "defaults_disk_never_one_without_a_medium",
          { { "sda", 500, FIXED }, { "sdb", 0, NO_MEDIUM } },
          "sda" },
        { "defaults_disk_fixed_before_a_larger_removable_one_listed_first",
          { { "sda", 2048, REMOVABLE }, { "sdb", 120, FIXED } },
          "sdb" },
        { "defaults_disk_fixed_before_a_larger_removable_one_listed_after",
          { { "sda", 120, FIXED }, { "sdb", 2048, REMOVABLE } },
          "sda" },
        { "defaults_disk_removable_as_the_last_resort_the_largest",
          { { "sdc", 16, REMOVABLE }, { "sdd", 64, REMOVABLE }, { "sr0", 4096, MEDIUM } },
          "sdd" },
        { "defaults_disk_none_usable_leaves_it_empty",
          { { "sda", 500, IN_USE }, { "sr0", 2, MEDIUM } },
          "" },
};

static void test_default_disk(void **state)
{
        const struct default_disk_case *k = *state;
        struct hw_disk disks[5];
        struct hw_report hw = { .memory = 16 * GiB };
        struct choices c;

        for (size_t i = 0; i < ELEMENTSOF(k->disks) && k->disks[i].name; i++) {
                struct hw_disk *d = &disks[hw.n_disks++];
                *d = (struct hw_disk){ .size = k->disks[i].gib * GiB,
                                       .logical_sector = 512,
                                       .physical_sector = 512,
                                       .removable = k->disks[i].flags & REMOVABLE,
                                       .install_medium = k->disks[i].flags & MEDIUM,
                                       .in_use = k->disks[i].flags & IN_USE,
                                       .read_only = k->disks[i].flags & READ_ONLY };
                SET(d->name, k->disks[i].name);
                (void) snprintf(d->path, sizeof(d->path), "/dev/%s", k->disks[i].name);
                SET(d->transport, k->disks[i].flags & REMOVABLE ? "usb" : "sata");
        }
        hw.disks = disks;
        choices_defaults(&c, &hw, NULL);
        assert_string_equal(c.disks[0], k->want);
        assert_string_equal(c.disks[1], "");
}

struct nic_spec {
        const char *name;
        enum hw_tristate carrier;
        bool virt;
};

static const struct default_nic_case {
        const char *name;
        struct nic_spec nics[4];
        const char *want;
} default_nic_cases[] = {
        { "defaults_nic_the_first_physical_with_carrier",
          { { "eno1", HW_NO, false }, { "eno2", HW_YES, false }, { "eno3", HW_YES, false } },
          "eno2" },
        { "defaults_nic_a_bridge_with_carrier_is_passed_over",
          { { "br0", HW_YES, true }, { "eth0", HW_NO, false }, { "eth1", HW_YES, false } },
          "eth1" },
        { "defaults_nic_without_carrier_the_first_physical",
          { { "br0", HW_YES, true }, { "eth0", HW_UNKNOWN, false }, { "eth1", HW_NO, false } },
          "eth0" },
        { "defaults_nic_only_virtual_ones_the_first", { { "virbr0", HW_YES, true } }, "virbr0" },
        { "defaults_nic_none_leaves_it_empty", { { NULL, HW_NO, false } }, "" },
};

static void test_default_nic(void **state)
{
        const struct default_nic_case *k = *state;
        struct hw_nic nics[4];
        struct hw_report hw = { .memory = 16 * GiB };
        struct choices c;

        for (size_t i = 0; i < ELEMENTSOF(k->nics) && k->nics[i].name; i++) {
                struct hw_nic *n = &nics[hw.n_nics++];
                *n = (struct hw_nic){ .carrier = k->nics[i].carrier,
                                      .speed_mbps = -1,
                                      .virtual_dev = k->nics[i].virt };
                SET(n->name, k->nics[i].name);
                (void) snprintf(n->mac, sizeof(n->mac), "52:54:00:00:00:%02zx", i);
        }
        hw.nics = nics;
        choices_defaults(&c, &hw, NULL);
        assert_string_equal(c.nic, k->want);
}

static void test_defaults_of_the_machine(void **state)
{
        struct hw_report hw = machine();
        struct choices c;

        (void) state;
        choices_defaults(&c, &hw, NULL);
        assert_string_equal(c.disks[0], "sdb");
        assert_string_equal(c.disks[1], "");
        assert_string_equal(c.fstype, "ext4");
        assert_string_equal(c.hdsize, "");
        assert_string_equal(c.swapsize, "");
        assert_string_equal(c.maxroot, "");
        assert_string_equal(c.minfree, "");
        assert_string_equal(c.maxvz, "");
        assert_false(c.rest_root);
        assert_string_equal(c.timezone, "UTC");
        assert_string_equal(c.keyboard, "us");
        assert_string_equal(c.root_hash, "");
        assert_string_equal(c.email, "");
        assert_string_equal(c.sshkey, "");
        assert_string_equal(c.nic, "eth0");
        assert_true(c.dhcp);
        assert_string_equal(c.hostname, "kvm1.localdomain");
        assert_string_equal(c.address, "");
        assert_string_equal(c.gateway, "");
        assert_string_equal(c.dns, "");
        assert_string_equal(c.bridge, "vmbr0");
}

static void test_defaults_without_a_machine(void **state)
{
        struct choices c;

        (void) state;
        choices_defaults(&c, NULL, NULL);
        assert_string_equal(c.disks[0], "");
        assert_string_equal(c.nic, "");
        assert_string_equal(c.hostname, "kvm1.localdomain");
        assert_string_equal(c.fstype, "ext4");
        assert_string_equal(c.bridge, "vmbr0");
        assert_true(c.dhcp);
}

static const struct lease_case {
        const char *name;
        bool have_lease;
        struct choices_lease lease;
        const char *hostname, *address, *gateway, *dns;
} lease_cases[] = {
        { "defaults_lease_on_the_chosen_nic_fills_the_static_fields",
          true,
          { "eth0", "192.0.2.10/24", "192.0.2.1", "192.0.2.53 192.0.2.54", "example.com" },
          "kvm1.example.com",
          "192.0.2.10/24",
          "192.0.2.1",
          "192.0.2.53 192.0.2.54" },
        { "defaults_lease_on_another_nic_gives_only_its_domain",
          true,
          { "eth1", "198.51.100.7/24", "198.51.100.1", "198.51.100.53", "lab.example" },
          "kvm1.lab.example",
          "",
          "",
          "" },
        { "defaults_lease_without_a_domain_gives_localdomain",
          true,
          { "eth0", "192.0.2.10/24", "192.0.2.1", "192.0.2.53", "" },
          "kvm1.localdomain",
          "192.0.2.10/24",
          "192.0.2.1",
          "192.0.2.53" },
        { "defaults_no_lease_gives_localdomain_and_empty_static_fields",
          false,
          { "", "", "", "", "" },
          "kvm1.localdomain",
          "",
          "",
          "" },
};

static void test_default_lease(void **state)
{
        const struct lease_case *k = *state;
        struct hw_report hw = machine();
        struct choices c;

        choices_defaults(&c, &hw, k->have_lease ? &k->lease : NULL);
        assert_string_equal(c.nic, "eth0");
        assert_true(c.dhcp); /* the lease fills the static fields, it does not choose them */
        assert_string_equal(c.hostname, k->hostname);
        assert_string_equal(c.address, k->address);
        assert_string_equal(c.gateway, k->gateway);
        assert_string_equal(c.dns, k->dns);
}

/* ---- checks ---- */

struct setting {
        enum choices_field f;
        const char *v; /* NULL: none */
};

static const struct check_case {
        const char *name;
        enum choices_field field; /* set to value, then checked */
        const char *value;
        struct setting also; /* another field first */
        bool dhcp;
        bool no_hw;
        bool needs_zoneinfo;
        const char *want; /* NULL: accepted; else a part of the message */
} check_cases[] = {
        /* disks */
        { .name = "check_disks_one_fixed_disk_accepted", .field = CHOICES_DISKS, .value = "sda" },
        { .name = "check_disks_a_mirror_accepted", .field = CHOICES_DISKS, .value = "sda,sdb" },
        { .name = "check_disks_a_removable_disk_named_accepted",
          .field = CHOICES_DISKS,
          .value = "sdc" },
        { .name = "check_disks_none_refused",
          .field = CHOICES_DISKS,
          .value = "",
          .want = "choose the disk to install on" },
        { .name = "check_disks_the_same_disk_twice_refused",
          .field = CHOICES_DISKS,
          .value = "sda,sda",
          .want = "a mirror needs two different disks" },
        { .name = "check_disks_the_install_medium_refused",
          .field = CHOICES_DISKS,
          .value = "sr0",
          .want = "sr0 is the install medium" },
        { .name = "check_disks_the_install_medium_as_the_mirror_half_refused",
          .field = CHOICES_DISKS,
          .value = "sda,sr0",
          .want = "sr0 is the install medium" },
        { .name = "check_disks_in_use_refused",
          .field = CHOICES_DISKS,
          .value = "sdd",
          .want = "sdd is in use" },
        { .name = "check_disks_read_only_refused",
          .field = CHOICES_DISKS,
          .value = "sdf",
          .want = "sdf cannot be written" },
        { .name = "check_disks_under_8_gib_refused",
          .field = CHOICES_DISKS,
          .value = "sde",
          .want = "sde has 4.0 GiB: a node needs 8 GiB or more" },
        { .name = "check_disks_unknown_name_refused",
          .field = CHOICES_DISKS,
          .value = "sdz",
          .want = "there is no disk 'sdz'" },
        { .name = "check_disks_unknown_mirror_half_refused",
          .field = CHOICES_DISKS,
          .value = "sda,nvme9n1",
          .want = "there is no disk 'nvme9n1'" },
        { .name = "check_disks_any_name_without_a_machine",
          .field = CHOICES_DISKS,
          .value = "sdz",
          .no_hw = true },
        /* fstype */
        { .name = "check_fstype_xfs_accepted", .field = CHOICES_FSTYPE, .value = "xfs" },
        { .name = "check_fstype_btrfs_refused",
          .field = CHOICES_FSTYPE,
          .value = "btrfs",
          .want = "ext4 or xfs" },
        /* sizes */
        { .name = "check_hdsize_empty_accepted", .field = CHOICES_HDSIZE, .value = "" },
        { .name = "check_hdsize_decimal_accepted", .field = CHOICES_HDSIZE, .value = "120.5" },
        { .name = "check_hdsize_8_gib_accepted", .field = CHOICES_HDSIZE, .value = "8" },
        { .name = "check_hdsize_word_refused",
          .field = CHOICES_HDSIZE,
          .value = "big",
          .want = "'big' is no size for the disk space to use" },
        { .name = "check_hdsize_unit_refused",
          .field = CHOICES_HDSIZE,
          .value = "100G",
          .want = "'100G' is no size" },
        { .name = "check_hdsize_negative_refused",
          .field = CHOICES_HDSIZE,
          .value = "-10",
          .want = "is no size" },
        { .name = "check_hdsize_under_8_gib_refused",
          .field = CHOICES_HDSIZE,
          .value = "7.5",
          .want = "a node needs 8 GiB or more" },
        { .name = "check_hdsize_more_than_the_disk_refused",
          .field = CHOICES_HDSIZE,
          .value = "600",
          .also = { CHOICES_DISKS, "sda" },
          .want = "more than the disk has (500.0 GiB)" },
        { .name = "check_hdsize_more_than_the_smaller_mirror_half_refused",
          .field = CHOICES_HDSIZE,
          .value = "600",
          .also = { CHOICES_DISKS, "sdb,sda" },
          .want = "more than the disk has (500.0 GiB)" },
        { .name = "check_hdsize_without_a_machine_no_upper_bound",
          .field = CHOICES_HDSIZE,
          .value = "100000",
          .no_hw = true },
        { .name = "check_swapsize_zero_accepted", .field = CHOICES_SWAPSIZE, .value = "0" },
        { .name = "check_swapsize_word_refused",
          .field = CHOICES_SWAPSIZE,
          .value = "auto",
          .want = "'auto' is no size for swap" },
        { .name = "check_swapsize_more_than_the_disk_refused",
          .field = CHOICES_SWAPSIZE,
          .value = "2000",
          .want = "more than the disk has (1.0 TiB)" },
        { .name = "check_maxroot_2_gib_accepted", .field = CHOICES_MAXROOT, .value = "2" },
        { .name = "check_maxroot_under_2_gib_refused",
          .field = CHOICES_MAXROOT,
          .value = "1.5",
          .want = "root needs 2 GiB or more" },
        { .name = "check_maxroot_word_refused",
          .field = CHOICES_MAXROOT,
          .value = "x",
          .want = "is no size for root's cap" },
        { .name = "check_minfree_word_refused",
          .field = CHOICES_MINFREE,
          .value = "16 GiB",
          .want = "is no size for the reserve" },
        { .name = "check_maxvz_zero_accepted", .field = CHOICES_MAXVZ, .value = "0" },
        { .name = "check_maxvz_word_refused",
          .field = CHOICES_MAXVZ,
          .value = "all",
          .want = "is no size for the thin pool's cap" },
        /* timezone */
        { .name = "check_timezone_utc_accepted", .field = CHOICES_TIMEZONE, .value = "UTC" },
        { .name = "check_timezone_europe_berlin_accepted",
          .field = CHOICES_TIMEZONE,
          .value = "Europe/Berlin" },
        { .name = "check_timezone_with_a_semicolon_refused",
          .field = CHOICES_TIMEZONE,
          .value = "Europe/Berlin;reboot",
          .want = "is not a time zone name" },
        { .name = "check_timezone_with_a_space_refused",
          .field = CHOICES_TIMEZONE,
          .value = "Europe/Berlin Time",
          .want = "is not a time zone name" },
        { .name = "check_timezone_climbing_out_refused",
          .field = CHOICES_TIMEZONE,
          .value = "../../etc/passwd",
          .want = "is not a time zone name" },
        { .name = "check_timezone_climbing_out_midway_refused",
          .field = CHOICES_TIMEZONE,
          .value = "Europe/../../../etc/shadow",
          .want = "is not a time zone name" },
        { .name = "check_timezone_absolute_path_refused",
          .field = CHOICES_TIMEZONE,
          .value = "/etc/localtime",
          .want = "is not a time zone name" },
        { .name = "check_timezone_empty_refused",
          .field = CHOICES_TIMEZONE,
          .value = "",
          .want = "is not a time zone name" },
        { .name = "check_timezone_unknown_zone_refused",
          .field = CHOICES_TIMEZONE,
          .value = "Mars/Olympus_Mons",
          .needs_zoneinfo = true,
          .want = "unknown time zone 'Mars/Olympus_Mons'" },
        { .name = "check_timezone_a_region_directory_refused",
          .field = CHOICES_TIMEZONE,
          .value = "Europe",
          .needs_zoneinfo = true,
          .want = "unknown time zone 'Europe'" },
        /* keyboard */
        { .name = "check_keyboard_german_accepted",
          .field = CHOICES_KEYBOARD,
          .value = "de-latin1" },
        { .name = "check_keyboard_not_in_the_list_refused",
          .field = CHOICES_KEYBOARD,
          .value = "klingon",
          .want = "'klingon' is not a keyboard layout of the list" },
        { .name = "check_keyboard_empty_refused",
          .field = CHOICES_KEYBOARD,
          .value = "",
          .want = "is not a keyboard layout" },
        /* rootpw */
        { .name = "check_rootpw_a_hash_accepted", .field = CHOICES_ROOTPW, .value = ROOT_HASH },
        { .name = "check_rootpw_unset_refused",
          .field = CHOICES_ROOTPW,
          .value = "",
          .want = "set the root password" },
        /* email */
        { .name = "check_email_empty_accepted", .field = CHOICES_EMAIL, .value = "" },
        { .name = "check_email_address_accepted",
          .field = CHOICES_EMAIL,
          .value = "admin@example.com" },
        { .name = "check_email_without_at_refused",
          .field = CHOICES_EMAIL,
          .value = "admin",
          .want = "'admin' is not an e-mail address" },
        { .name = "check_email_without_a_dotted_domain_refused",
          .field = CHOICES_EMAIL,
          .value = "root@localhost",
          .want = "is not an e-mail address" },
        { .name = "check_email_with_a_space_refused",
          .field = CHOICES_EMAIL,
          .value = "ad min@example.com",
          .want = "is not an e-mail address" },
        /* sshkey */
        { .name = "check_sshkey_empty_accepted", .field = CHOICES_SSHKEY, .value = "" },
        { .name = "check_sshkey_ed25519_accepted", .field = CHOICES_SSHKEY, .value = KEY_ED25519 },
        { .name = "check_sshkey_ed25519_without_comment_accepted",
          .field = CHOICES_SSHKEY,
          .value = "ssh-ed25519 " ED25519_BLOB },
        { .name = "check_sshkey_rsa_accepted", .field = CHOICES_SSHKEY, .value = KEY_RSA },
        { .name = "check_sshkey_ecdsa_accepted", .field = CHOICES_SSHKEY, .value = KEY_ECDSA },
        { .name = "check_sshkey_wrong_type_word_refused",
          .field = CHOICES_SSHKEY,
          .value = "ssh-dss " ED25519_BLOB,
          .want = "'ssh-dss' is not a key type OpenSSH takes" },
        { .name = "check_sshkey_rsa_blob_labelled_ed25519_refused",
          .field = CHOICES_SSHKEY,
          .value = "ssh-ed25519 " RSA_BLOB " x",
          .want = "the key's data does not match its type 'ssh-ed25519'" },
        { .name = "check_sshkey_ed25519_blob_labelled_rsa_refused",
          .field = CHOICES_SSHKEY,
          .value = "ssh-rsa " ED25519_BLOB,
          .want = "does not match its type 'ssh-rsa'" },
        { .name = "check_sshkey_cut_in_its_type_field_refused",
          .field = CHOICES_SSHKEY,
          .value = "ssh-ed25519 AAAAC3",
          .want = "the key is cut short" },
        { .name = "check_sshkey_cut_in_its_key_field_refused",
          .field = CHOICES_SSHKEY,
          .value = "ssh-ed25519 " ED25519_BLOB_CUT " admin@kvm1",
          .want = "the key is cut short" },
        { .name = "check_sshkey_type_word_alone_refused",
          .field = CHOICES_SSHKEY,
          .value = "ssh-ed25519 ",
          .want = "the key is cut short" },
        { .name = "check_sshkey_blob_of_the_type_alone_refused",
          .field = CHOICES_SSHKEY,
          .value = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",
          .want = "the key holds no key" },
        { .name = "check_sshkey_not_base64_refused",
          .field = CHOICES_SSHKEY,
          .value = "ssh-ed25519 " ED25519_BLOB_BAD,
          .want = "the key's data is not base64" },
        { .name = "check_sshkey_blob_without_type_refused",
          .field = CHOICES_SSHKEY,
          .value = ED25519_BLOB,
          .want = "not an OpenSSH public key" },
        { .name = "check_sshkey_two_lines_refused",
          .field = CHOICES_SSHKEY,
          .value = KEY_ED25519 "\n" KEY_RSA,
          .want = "one key, on one line" },
        { .name = "check_sshkey_private_key_refused",
          .field = CHOICES_SSHKEY,
          .value = "-----BEGIN OPENSSH PRIVATE KEY-----",
          .want = "'-----BEGIN' is not a key type" },
        /* nic */
        { .name = "check_nic_without_carrier_accepted", .field = CHOICES_NIC, .value = "eth1" },
        { .name = "check_nic_empty_refused",
          .field = CHOICES_NIC,
          .value = "",
          .want = "choose the management NIC" },
        { .name = "check_nic_unknown_refused",
          .field = CHOICES_NIC,
          .value = "eth9",
          .want = "there is no NIC 'eth9'" },
        { .name = "check_nic_any_name_without_a_machine",
          .field = CHOICES_NIC,
          .value = "eth9",
          .no_hw = true },
        /* hostname */
        { .name = "check_hostname_fqdn_accepted",
          .field = CHOICES_HOSTNAME,
          .value = "kvm-07.rack3.example.com" },
        { .name = "check_hostname_without_a_dot_refused",
          .field = CHOICES_HOSTNAME,
          .value = "kvm1",
          .want = "write the full name: host.example.com" },
        { .name = "check_hostname_underscore_refused",
          .field = CHOICES_HOSTNAME,
          .value = "kvm_1.example.com",
          .want = "write the full name" },
        { .name = "check_hostname_leading_hyphen_refused",
          .field = CHOICES_HOSTNAME,
          .value = "-kvm1.example.com",
          .want = "write the full name" },
        { .name = "check_hostname_trailing_dot_refused",
          .field = CHOICES_HOSTNAME,
          .value = "kvm1.example.com.",
          .want = "write the full name" },
        { .name = "check_hostname_an_address_refused",
          .field = CHOICES_HOSTNAME,
          .value = "192.0.2.10",
          .want = "a host name, not an address" },
        /* address */
        { .name = "check_address_with_prefix_accepted",
          .field = CHOICES_ADDRESS,
          .value = "10.1.2.3/16" },
        { .name = "check_address_point_to_point_31_accepted",
          .field = CHOICES_ADDRESS,
          .value = "198.51.100.0/31",
          .also = { CHOICES_GATEWAY, "198.51.100.1" } },
        { .name = "check_address_without_prefix_refused",
          .field = CHOICES_ADDRESS,
          .value = "192.0.2.10",
          .want = "write the address with its prefix: 192.0.2.10/24" },
        { .name = "check_address_prefix_33_refused",
          .field = CHOICES_ADDRESS,
          .value = "192.0.2.10/33",
          .want = "with its prefix" },
        { .name = "check_address_prefix_0_refused",
          .field = CHOICES_ADDRESS,
          .value = "192.0.2.10/0",
          .want = "with its prefix" },
        { .name = "check_address_netmask_form_refused",
          .field = CHOICES_ADDRESS,
          .value = "192.0.2.10/255.255.255.0",
          .want = "with its prefix" },
        { .name = "check_address_not_ipv4_refused",
          .field = CHOICES_ADDRESS,
          .value = "192.0.2/24",
          .want = "with its prefix" },
        { .name = "check_address_the_network_address_refused",
          .field = CHOICES_ADDRESS,
          .value = "192.0.2.0/24",
          .want = "192.0.2.0/24 is the network's own or broadcast address" },
        { .name = "check_address_the_broadcast_address_refused",
          .field = CHOICES_ADDRESS,
          .value = "192.0.2.255/24",
          .want = "is the network's own or broadcast address" },
        { .name = "check_address_loopback_refused",
          .field = CHOICES_ADDRESS,
          .value = "127.0.0.2/8",
          .want = "127.0.0.2/8 cannot be a host's address" },
        { .name = "check_address_zero_network_refused",
          .field = CHOICES_ADDRESS,
          .value = "0.1.2.3/8",
          .want = "cannot be a host's address" },
        { .name = "check_address_multicast_refused",
          .field = CHOICES_ADDRESS,
          .value = "224.1.2.3/24",
          .want = "cannot be a host's address" },
        { .name = "check_address_not_checked_on_dhcp",
          .field = CHOICES_ADDRESS,
          .value = "garbage",
          .dhcp = true },
        /* gateway */
        { .name = "check_gateway_in_the_subnet_accepted",
          .field = CHOICES_GATEWAY,
          .value = "192.0.2.254" },
        { .name = "check_gateway_empty_accepted", .field = CHOICES_GATEWAY, .value = "" },
        { .name = "check_gateway_outside_the_subnet_refused",
          .field = CHOICES_GATEWAY,
          .value = "198.51.100.1",
          .want = "198.51.100.1 is outside the node's subnet (192.0.2.10/24)" },
        { .name = "check_gateway_outside_a_narrow_subnet_refused",
          .field = CHOICES_GATEWAY,
          .value = "192.0.2.129",
          .also = { CHOICES_ADDRESS, "192.0.2.10/25" },
          .want = "outside the node's subnet (192.0.2.10/25)" },
        { .name = "check_gateway_the_own_address_refused",
          .field = CHOICES_GATEWAY,
          .value = "192.0.2.10",
          .want = "the gateway cannot be the node's own address" },
        { .name = "check_gateway_a_name_refused",
          .field = CHOICES_GATEWAY,
          .value = "router.example.com",
          .want = "'router.example.com' is not an IPv4 address" },
        { .name = "check_gateway_ipv6_refused",
          .field = CHOICES_GATEWAY,
          .value = "2001:db8::1",
          .want = "is not an IPv4 address" },
        { .name = "check_gateway_left_to_the_address_when_that_is_wrong",
          .field = CHOICES_GATEWAY,
          .value = "198.51.100.1",
          .also = { CHOICES_ADDRESS, "192.0.2.10" } },
        { .name = "check_gateway_not_checked_on_dhcp",
          .field = CHOICES_GATEWAY,
          .value = "garbage",
          .dhcp = true },
        /* dns */
        { .name = "check_dns_three_mixed_accepted",
          .field = CHOICES_DNS,
          .value = "192.0.2.53,192.0.2.54 2001:db8::53" },
        { .name = "check_dns_empty_accepted", .field = CHOICES_DNS, .value = "" },
        { .name = "check_dns_a_name_refused",
          .field = CHOICES_DNS,
          .value = "192.0.2.53 dns.example.com",
          .want = "'dns.example.com' is not an IP address" },
        { .name = "check_dns_four_servers_refused",
          .field = CHOICES_DNS,
          .value = "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4",
          .want = "at most three DNS servers" },
        { .name = "check_dns_not_checked_on_dhcp",
          .field = CHOICES_DNS,
          .value = "dns.example.com",
          .dhcp = true },
        /* bridge */
        { .name = "check_bridge_vmbr0_accepted", .field = CHOICES_BRIDGE, .value = "vmbr0" },
        { .name = "check_bridge_an_existing_virtual_nic_accepted",
          .field = CHOICES_BRIDGE,
          .value = "virbr0" },
        { .name = "check_bridge_with_a_space_refused",
          .field = CHOICES_BRIDGE,
          .value = "vm bridge",
          .want = "'vm bridge' is not an interface name" },
        { .name = "check_bridge_with_a_slash_refused",
          .field = CHOICES_BRIDGE,
          .value = "br/0",
          .want = "is not an interface name" },
        { .name = "check_bridge_dot_dot_refused",
          .field = CHOICES_BRIDGE,
          .value = "..",
          .want = "'..' is not an interface name" },
        { .name = "check_bridge_empty_refused",
          .field = CHOICES_BRIDGE,
          .value = "",
          .want = "is not an interface name" },
        { .name = "check_bridge_a_physical_nic_refused",
          .field = CHOICES_BRIDGE,
          .value = "eth0",
          .want = "eth0 is a NIC: the bridge needs a name of its own" },
};

static void test_check_case(void **state)
{
        const struct check_case *k = *state;
        struct hw_report hw = machine();
        struct choices c = sample();
        char msg[512] = "";
        int r;

        if (k->needs_zoneinfo && !have_zoneinfo())
                skip();
        if (k->also.v)
                set_field(&c, k->also.f, k->also.v);
        set_field(&c, k->field, k->value);
        c.dhcp = k->dhcp;
        r = choices_check(&c, k->no_hw ? NULL : &hw, k->field, msg, sizeof(msg));
        if (!k->want) {
                if (r != 0)
                        fail_msg("refused (%d): %s", r, msg);
                return;
        }
        if (r != -EINVAL)
                fail_msg("returned %d, not -EINVAL", r);
        if (!strstr(msg, k->want))
                fail_msg("message '%s' does not say '%s'", msg, k->want);
}

static void test_check_all_the_sample_passes(void **state)
{
        struct hw_report hw = machine();
        struct choices c = sample();
        enum choices_field f = CHOICES_FIELD_COUNT;
        char msg[512] = "";

        (void) state;
        if (choices_check_all(&c, &hw, &f, msg, sizeof(msg)) != 0)
                fail_msg("%s: %s", choices_field_names[f], msg);
        c.dhcp = true;
        assert_int_equal(choices_check_all(&c, &hw, &f, msg, sizeof(msg)), 0);
}

static void test_check_all_the_defaults_want_only_a_root_password(void **state)
{
        struct hw_report hw = machine();
        struct choices c;
        enum choices_field f = CHOICES_FIELD_COUNT;
        char msg[512] = "";

        (void) state;
        choices_defaults(&c, &hw, NULL);
        assert_int_equal(choices_check_all(&c, &hw, &f, msg, sizeof(msg)), -EINVAL);
        assert_int_equal(f, CHOICES_ROOTPW);
        assert_string_equal(msg, "set the root password");
        SET(c.root_hash, ROOT_HASH);
        if (choices_check_all(&c, &hw, &f, msg, sizeof(msg)) != 0)
                fail_msg("%s: %s", choices_field_names[f], msg);
}

static void test_check_all_names_the_first_wrong_field_in_screen_order(void **state)
{
        struct hw_report hw = machine();
        struct choices c = sample();
        enum choices_field f = CHOICES_FIELD_COUNT;
        char msg[512] = "";

        (void) state;
        SET(c.dns, "dns.example.com");
        SET(c.timezone, "Nowhere/Land;");
        SET(c.bridge, "eth1");
        assert_int_equal(choices_check_all(&c, &hw, &f, msg, sizeof(msg)), -EINVAL);
        assert_int_equal(f, CHOICES_TIMEZONE);
        assert_non_null(strstr(msg, "is not a time zone name"));
        SET(c.timezone, "UTC");
        assert_int_equal(choices_check_all(&c, &hw, &f, msg, sizeof(msg)), -EINVAL);
        assert_int_equal(f, CHOICES_DNS);
        SET(c.dns, "");
        assert_int_equal(choices_check_all(&c, &hw, &f, msg, sizeof(msg)), -EINVAL);
        assert_int_equal(f, CHOICES_BRIDGE);
        assert_non_null(strstr(msg, "eth1 is a NIC"));
}

static void test_check_of_no_field(void **state)
{
        struct choices c = sample();
        char msg[128] = "";

        (void) state;
        assert_int_equal(choices_check(&c, NULL, CHOICES_FIELD_COUNT, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(msg, "no such field");
        /* no room for a message: still the verdict */
        assert_int_equal(choices_check(&c, NULL, CHOICES_FIELD_COUNT, NULL, 0), -EINVAL);
}

static void test_every_field_has_a_name(void **state)
{
        (void) state;
        for (size_t i = 0; i < CHOICES_FIELD_COUNT; i++) {
                assert_non_null(choices_field_names[i]);
                assert_true(choices_field_names[i][0] != '\0');
        }
        assert_string_equal(choices_field_names[CHOICES_SSHKEY], "sshkey");
}

static void test_every_offered_keyboard_passes_its_check(void **state)
{
        struct choices c = sample();
        char msg[256] = "";

        (void) state;
        assert_true(choices_n_keyboards > 0);
        assert_string_equal(choices_keyboards[0][0], "us");
        for (size_t i = 0; i < choices_n_keyboards; i++) {
                assert_true(choices_keyboards[i][1][0] != '\0');
                SET(c.keyboard, choices_keyboards[i][0]);
                if (choices_check(&c, NULL, CHOICES_KEYBOARD, msg, sizeof(msg)) != 0)
                        fail_msg("%s: %s", choices_keyboards[i][0], msg);
        }
}

/* ---- the root password ---- */

static void test_password_too_short_refused(void **state)
{
        struct choices c = { 0 };
        char msg[256] = "";

        (void) state;
        assert_int_equal(choices_set_password(&c, "abc1234", "abc1234", msg, sizeof(msg)), -EINVAL);
        assert_non_null(strstr(msg, "8 characters or more"));
        assert_string_equal(c.root_hash, "");
        /* nothing typed and nothing set before */
        assert_int_equal(choices_set_password(&c, "", "", msg, sizeof(msg)), -EINVAL);
        assert_non_null(strstr(msg, "8 characters or more"));
}

static void test_password_mismatch_refused(void **state)
{
        struct choices c = { 0 };
        char msg[256] = "";

        (void) state;
        assert_int_equal(
                choices_set_password(&c, "correct horse", "correct hrose", msg, sizeof(msg)),
                -EINVAL);
        assert_non_null(strstr(msg, "the two passwords differ"));
        assert_string_equal(c.root_hash, "");
}

static void test_password_hashed(void **state)
{
        struct choices c = { 0 };
        char msg[256] = "", first[sizeof(c.root_hash)];
        const char *again;

        (void) state;
        if (choices_set_password(&c, "correct horse", "correct horse", msg, sizeof(msg)) != 0)
                fail_msg("%s", msg);
        assert_true(strncmp(c.root_hash, "$y$", 3) == 0 || strncmp(c.root_hash, "$6$", 3) == 0);
        assert_null(strstr(c.root_hash, "correct"));
        again = crypt("correct horse", c.root_hash);
        assert_non_null(again);
        assert_string_equal(again, c.root_hash);
        SET(first, c.root_hash);
        /* a new salt each time */
        assert_int_equal(
                choices_set_password(&c, "correct horse", "correct horse", msg, sizeof(msg)), 0);
        assert_string_not_equal(c.root_hash, first);
        /* the fixture's hash is a hash of the same password */
        assert_string_equal(crypt("correct horse", ROOT_HASH), ROOT_HASH);
}

static void test_password_empty_keeps_the_hash_set_before(void **state)
{
        struct choices c = { 0 };
        char msg[256] = "";

        (void) state;
        SET(c.root_hash, ROOT_HASH);
        assert_int_equal(choices_set_password(&c, "", "", msg, sizeof(msg)), 0);
        assert_string_equal(c.root_hash, ROOT_HASH);
        /* but a second field typed alone is a new password, and a wrong one */
        assert_int_equal(choices_set_password(&c, "", "correct horse", msg, sizeof(msg)), -EINVAL);
        assert_string_equal(c.root_hash, ROOT_HASH);
        assert_int_equal(choices_set_password(&c, "short", "", msg, sizeof(msg)), -EINVAL);
        assert_string_equal(c.root_hash, ROOT_HASH);
}

static const struct {
        const char *pw, *want;
} strength_cases[] = {
        { "", "" },
        { "a", "too short: 8 characters or more" },
        { "Xy7!pq", "too short: 8 characters or more" },
        { "password", "weak: one of the first that attackers try" },
        { "PassWord", "weak: one of the first that attackers try" }, /* any case */
        { "P@ssw0rd", "weak: one of the first that attackers try" },
        { "aaaaaaaaaaaaaaaaaaaa", "weak: one of the first that attackers try" }, /* one char */
        { "abcdefghij", "weak: add digits, capitals or symbols, or make it longer" },
        { "1029384756", "weak: add digits, capitals or symbols, or make it longer" },
        /* A common word with digits appended is not in the list: only "fair". */
        { "password123", "fair: longer is better (12 or more)" },
        { "abcdefgh12", "fair: longer is better (12 or more)" },
        { "abcDEF12gh", "good" },
        { "abcdefgh1234", "good" },
        { "abcDEF12gh!x", "strong" },
        { "correct horse battery", "strong" },
        { "abcdefghijklmnop", "strong" }, /* 16 letters: a passphrase */
};

static void test_password_strength_tiers(void **state)
{
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(strength_cases); i++) {
                const char *got = choices_password_strength(strength_cases[i].pw);
                assert_non_null(got);
                if (strcmp(got, strength_cases[i].want) != 0)
                        fail_msg("'%s': '%s', expected '%s'", strength_cases[i].pw, got,
                                 strength_cases[i].want);
        }
}

/* ---- the answer ---- */

/* One disk with every size, xfs, a location, a key and a static address. */
static struct choices single_choices(void)
{
        struct choices c = sample();

        set_field(&c, CHOICES_DISKS, "sda");
        SET(c.fstype, "xfs");
        SET(c.hdsize, "100");
        SET(c.swapsize, "4");
        SET(c.maxroot, "30");
        SET(c.minfree, "8");
        SET(c.maxvz, "");
        SET(c.timezone, "Europe/Berlin");
        SET(c.keyboard, "de-latin1");
        SET(c.email, "admin@example.com");
        SET(c.sshkey, KEY_ED25519);
        return c;
}

static void test_kickstart_single_disk_static(void **state)
{
        struct hw_report hw = machine();
        struct choices c = single_choices();
        char msg[512] = "";
        enum choices_field f;
        char *text;
        struct answer a;
        struct answer_network *n;

        (void) state;
        if (choices_check_all(&c, &hw, &f, msg, sizeof(msg)) != 0)
                fail_msg("the test's choices: %s: %s", choices_field_names[f], msg);
        text = kickstart_of(&c, &hw);
        assert_text_file(DATA "/single.ks", text);

        load_clean(text, &a);
        assert_string_equal(a.hostname, "kvm1.example.com");
        assert_string_equal(a.timezone, "Europe/Berlin");
        assert_true(a.utc);
        assert_string_equal(a.keyboard, "de"); /* the parser's name for kbd's de-latin1 */
        assert_true(a.rootpw.set && a.rootpw.crypted);
        assert_string_equal(a.rootpw.value, ROOT_HASH);
        assert_int_equal(a.n_sshkeys, 1);
        assert_string_equal(a.sshkeys[0].user, "root");
        assert_string_equal(a.sshkeys[0].key, KEY_ED25519);
        assert_int_equal(a.n_networks, 1);
        n = &a.networks[0];
        assert_string_equal(n->device, "eth0");
        assert_int_equal(n->bootproto, ANSWER_STATIC);
        assert_string_equal(n->ip, "192.0.2.10");
        assert_string_equal(n->gateway, "192.0.2.1");
        assert_int_equal(n->n_nameservers, 2);
        assert_string_equal(n->nameservers[0], "192.0.2.53");
        assert_string_equal(n->nameservers[1], "192.0.2.54");
        assert_string_equal(a.hypervisor.bridge, "vmbr0");
        assert_string_equal(a.hypervisor.email, "admin@example.com");
        assert_int_equal(a.storage.n_only_use, 1);
        assert_string_equal(a.storage.only_use[0], "sda");
        assert_int_equal(a.storage.autopart, ANSWER_AUTOPART_THINP);
        assert_string_equal(a.storage.autopart_fstype, "xfs");
        assert_int_equal(a.storage.hdsize, 100 * 1024);
        assert_int_equal(a.storage.swapsize, 4 * 1024);
        assert_int_equal(a.storage.maxroot, 30 * 1024);
        assert_int_equal(a.storage.minfree, 8 * 1024);
        assert_int_equal(a.storage.maxvz, ANSWER_UNSET);
        assert_null(a.storage.rest);
        assert_int_equal(a.end, ANSWER_END_REBOOT);
        assert_true(a.eject);
        answer_release(&a);
        free(text);
}

static void test_kickstart_single_disk_plans_what_it_says(void **state)
{
        struct hw_report hw = machine();
        struct choices c = single_choices();
        struct storage_plan p;
        struct err err = { { 0 } };
        const struct storage_disk *d;
        const struct storage_part *last;

        (void) state;
        if (choices_plan(&c, &hw, &p, &err) != 0)
                fail_msg("%s", err.msg);
        assert_int_equal(p.n_mds, 0);
        d = plan_disk(&p, "sda");
        assert_non_null(d);
        assert_true(d->wipe);
        for (size_t i = 0; i < p.n_disks; i++)
                if (strcmp(p.disks[i].name, "sda") != 0)
                        assert_false(p.disks[i].wipe);
        last = &d->parts[d->n_parts - 1];
        assert_true(last->start + last->size <= 100 * GiB);
        assert_string_equal(p.vg.name, STORAGE_VG);
        assert_non_null(plan_lv(&p, "root"));
        assert_int_equal(plan_lv(&p, "root")->size, 30 * GiB);
        assert_string_equal(plan_lv(&p, "root")->fstype, "xfs");
        assert_int_equal(plan_lv(&p, "swap")->size, 4 * GiB);
        assert_true(plan_lv(&p, "data")->thinpool);
        storage_plan_release(&p);
}

static void test_kickstart_network_forms(void **state)
{
        struct hw_report hw = machine();
        struct choices c = sample();
        char *text;
        struct answer a;

        (void) state;
        /* DHCP: none of the static fields, even when they hold something */
        c.dhcp = true;
        text = kickstart_of(&c, &hw);
        assert_non_null(strstr(text, "network --device=eth0 --hostname=kvm1.example.com "
                                     "--bootproto=dhcp\n"));
        assert_null(strstr(text, "--ip="));
        assert_null(strstr(text, "--nameserver"));
        load_clean(text, &a);
        assert_int_equal(a.networks[0].bootproto, ANSWER_DHCP);
        answer_release(&a);
        free(text);

        /* static without gateway nor DNS: said so, not left to a default */
        c.dhcp = false;
        SET(c.gateway, "");
        SET(c.dns, "");
        text = kickstart_of(&c, &hw);
        assert_non_null(strstr(text, "--bootproto=static --ip=192.0.2.10 --netmask=24 --nodns\n"));
        load_clean(text, &a);
        assert_true(a.networks[0].nodns);
        assert_null(a.networks[0].gateway);
        answer_release(&a);
        free(text);

        /* DNS servers typed with commas and spaces read back as the servers typed */
        SET(c.dns, "192.0.2.53, 192.0.2.54");
        text = kickstart_of(&c, &hw);
        load_clean(text, &a);
        assert_int_equal(a.networks[0].n_nameservers, 2);
        assert_string_equal(a.networks[0].nameservers[0], "192.0.2.53");
        assert_string_equal(a.networks[0].nameservers[1], "192.0.2.54");
        answer_release(&a);
        free(text);

        /* an IPv6 server, which the check takes, reads back too */
        SET(c.dns, "192.0.2.53 2001:db8::53");
        text = kickstart_of(&c, &hw);
        assert_non_null(strstr(text, "--nameserver=192.0.2.53,2001:db8::53\n"));
        load_clean(text, &a);
        assert_int_equal(a.networks[0].n_nameservers, 2);
        assert_string_equal(a.networks[0].nameservers[1], "2001:db8::53");
        answer_release(&a);
        free(text);
}

static void test_kickstart_without_password_nor_key_or_email(void **state)
{
        struct hw_report hw = machine();
        struct choices c;
        char *text;

        (void) state;
        choices_defaults(&c, &hw, NULL);
        text = kickstart_of(&c, &hw);
        assert_null(strstr(text, "rootpw"));
        assert_null(strstr(text, "sshkey"));
        assert_non_null(strstr(text, "hypervisor --bridge=vmbr0\n"));
        assert_non_null(strstr(text, "timezone UTC --utc\n"));
        assert_non_null(strstr(text, "ignoredisk --only-use=sdb\n"));
        assert_non_null(strstr(text, "autopart --type=thinp --fstype=ext4\n"));
        free(text);
}

static void test_kickstart_rest_to_root(void **state)
{
        struct hw_report hw = machine();
        struct choices c = sample();
        struct storage_plan p;
        struct err err = { { 0 } };
        char *text;

        (void) state;
        c.rest_root = true;
        text = kickstart_of(&c, &hw);
        assert_non_null(strstr(text, "autopart --type=thinp --fstype=ext4 --rest=root\n"));
        free(text);
        if (choices_plan(&c, &hw, &p, &err) != 0)
                fail_msg("%s", err.msg);
        assert_null(plan_lv(&p, "data"));
        storage_plan_release(&p);
}

static void test_kickstart_mirror(void **state)
{
        struct hw_report hw = machine();
        struct choices c = sample();
        struct storage_plan p;
        struct err err = { { 0 } };
        const struct storage_lv *data;
        char *text;
        struct answer a;

        (void) state;
        set_field(&c, CHOICES_DISKS, "sda,sdb");
        text = kickstart_of(&c, &hw);
        assert_non_null(strstr(text, "ignoredisk --only-use=sda,sdb\n"));
        assert_non_null(strstr(text, "clearpart --all --initlabel --drives=sda,sdb\n"));
        assert_non_null(strstr(text, "reqpart\n"));
        assert_non_null(strstr(text, "part raid.01 --fstype=raid --size="));
        assert_non_null(strstr(text, " --ondisk=sda\n"));
        assert_non_null(strstr(text, "part raid.02 --fstype=raid --size="));
        assert_non_null(strstr(text, " --ondisk=sdb\n"));
        assert_non_null(strstr(text, "raid pv.01 --level=1 --device=md0 raid.01 raid.02\n"));
        assert_non_null(strstr(text, "volgroup kvmforge pv.01\n"));
        assert_non_null(strstr(text, "logvol swap --vgname=kvmforge --name=swap --size="));
        assert_non_null(strstr(text, "logvol / --vgname=kvmforge --name=root --fstype=ext4 "
                                     "--size="));
        assert_non_null(strstr(text, "logvol none --vgname=kvmforge --name=data --thinpool "
                                     "--size=1 --grow --maxsize="));
        assert_null(strstr(text, "autopart"));
        load_clean(text, &a);
        assert_int_equal(a.storage.n_raids, 1);
        assert_int_equal(a.storage.raids[0].level, 1);
        answer_release(&a);
        free(text);

        if (choices_plan(&c, &hw, &p, &err) != 0)
                fail_msg("%s", err.msg);
        assert_int_equal(p.n_mds, 1);
        assert_int_equal(p.mds[0].level, 1);
        assert_int_equal(p.mds[0].n_members, 2);
        assert_string_equal(p.mds[0].vg, STORAGE_VG);
        assert_true(plan_disk(&p, "sda")->wipe);
        assert_true(plan_disk(&p, "sdb")->wipe);
        data = plan_lv(&p, "data");
        assert_non_null(data);
        assert_true(data->thinpool);
        assert_non_null(plan_lv(&p, "root"));
        assert_non_null(plan_lv(&p, "swap"));
        /* the smaller disk sets the size: both members alike, on different disks */
        {
                const struct storage_disk *da = plan_disk(&p, "sda"), *db = plan_disk(&p, "sdb");
                const struct storage_part *ra = &da->parts[da->n_parts - 1],
                                          *rb = &db->parts[db->n_parts - 1];

                assert_int_equal(ra->type, STORAGE_PT_RAID);
                assert_int_equal(rb->type, STORAGE_PT_RAID);
                assert_int_equal(ra->size, rb->size);
                assert_true(ra->start + ra->size <= da->size);
                assert_true(p.mds[0].members[0].disk != p.mds[0].members[1].disk);
        }
        storage_plan_release(&p);
}

static void test_kickstart_mirror_without_pool_nor_swap(void **state)
{
        struct hw_report hw = machine();
        struct choices c = sample();
        struct storage_plan p;
        struct err err = { { 0 } };
        char *text;

        (void) state;
        set_field(&c, CHOICES_DISKS, "sda,sdb");
        c.rest_root = true;
        SET(c.swapsize, "0");
        text = kickstart_of(&c, &hw);
        assert_null(strstr(text, "--thinpool"));
        assert_null(strstr(text, "--name=swap"));
        assert_non_null(strstr(text, "logvol / --vgname=kvmforge --name=root --fstype=ext4 "
                                     "--size=1 --grow --maxsize="));
        free(text);
        if (choices_plan(&c, &hw, &p, &err) != 0)
                fail_msg("%s", err.msg);
        assert_int_equal(p.n_mds, 1);
        assert_null(plan_lv(&p, "data"));
        assert_null(plan_lv(&p, "swap"));
        storage_plan_release(&p);
}

static void test_kickstart_mirror_over_an_unknown_disk_fails(void **state)
{
        struct hw_report hw = machine();
        struct choices c = sample();
        struct err err = { { 0 } };
        char *text = NULL;

        (void) state;
        set_field(&c, CHOICES_DISKS, "sda,sdz");
        assert_int_equal(choices_kickstart_text(&c, &hw, &text, &err), -ENODEV);
        assert_null(text);
        assert_non_null(strstr(err.msg, "a mirror needs both disks"));
}

/* An apostrophe is allowed in an address's local part (o'brien@...), so the answer quotes the
 * address: it must read back as typed. */
static void test_email_with_an_apostrophe_reads_back(void **state)
{
        struct hw_report hw = machine();
        struct choices c = sample();
        char msg[256] = "", first[256] = "";
        char *text;
        struct answer a;
        size_t errors;
        bool same;

        (void) state;
        SET(c.email, "o'brien@example.com");
        assert_int_equal(choices_check(&c, &hw, CHOICES_EMAIL, msg, sizeof(msg)), 0);
        text = kickstart_of(&c, &hw);
        assert_int_equal(answer_load(text, strlen(text), "choices.ks", NULL, &a), 0);
        /* freed before asserting: a failure here leaks nothing under ASan */
        errors = a.n_errors;
        if (a.n_diags)
                SET(first, a.diags[0].msg);
        same = a.hypervisor.email && strcmp(a.hypervisor.email, c.email) == 0;
        answer_release(&a);
        free(text);
        if (errors)
                fail_msg("accepted choices make an answer with an error: %s", first);
        assert_true(same);
}

/* ---- the plan ---- */

static void test_plan_defaults_wipe_the_chosen_disk_only(void **state)
{
        struct hw_report hw = machine();
        struct choices c;
        struct storage_plan p;
        struct err err = { { 0 } };

        (void) state;
        choices_defaults(&c, &hw, NULL);
        SET(c.root_hash, ROOT_HASH);
        if (choices_plan(&c, &hw, &p, &err) != 0)
                fail_msg("%s", err.msg);
        assert_non_null(plan_disk(&p, "sdb"));
        assert_true(plan_disk(&p, "sdb")->wipe);
        for (size_t i = 0; i < p.n_disks; i++)
                if (strcmp(p.disks[i].name, "sdb") != 0)
                        assert_false(p.disks[i].wipe);
        assert_int_equal(p.n_mds, 0);
        assert_string_equal(p.vg.name, STORAGE_VG);
        assert_true(plan_lv(&p, "data")->thinpool);
        storage_plan_release(&p);
}

static void test_plan_wipes_a_disk_holding_data(void **state)
{
        struct hw_disk disks[ELEMENTSOF(machine_disks)];
        struct hw_report hw = machine();
        struct choices c = sample();
        struct storage_plan p;
        struct err err = { { 0 } };

        (void) state;
        memcpy(disks, machine_disks, sizeof(disks));
        hw.disks = disks;
        SET(disks[0].table, "gpt");
        disks[0].n_parts = 1;
        SET(disks[0].parts[0].content.type, "ntfs");
        set_field(&c, CHOICES_DISKS, "sda");
        /* the screens ask before this: the answer carries the permission */
        if (choices_plan(&c, &hw, &p, &err) != 0)
                fail_msg("%s", err.msg);
        assert_true(plan_disk(&p, "sda")->wipe);
        assert_string_equal(plan_disk(&p, "sda")->holds, "a gpt partition table, ntfs");
        storage_plan_release(&p);
}

static void test_plan_on_the_install_medium_fails(void **state)
{
        struct hw_report hw = machine();
        struct choices c = sample();
        struct storage_plan p;
        struct err err = { { 0 } };

        (void) state;
        set_field(&c, CHOICES_DISKS, "sr0");
        assert_int_equal(choices_plan(&c, &hw, &p, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "install medium"));
        assert_non_null(strstr(err.msg, "sr0"));
}

static void test_plan_on_a_disk_in_use_fails(void **state)
{
        struct hw_report hw = machine();
        struct choices c = sample();
        struct storage_plan p;
        struct err err = { { 0 } };

        (void) state;
        set_field(&c, CHOICES_DISKS, "sdd");
        assert_true(choices_plan(&c, &hw, &p, &err) < 0);
        assert_non_null(strstr(err.msg, "sdd"));
}

/* ---- time zones ---- */

static void assert_strv(char **v, size_t n, const char *const *want, size_t n_want)
{
        for (size_t i = 0; i < n && i < n_want; i++)
                if (strcmp(v[i], want[i]) != 0)
                        fail_msg("zone %zu: '%s', expected '%s'", i, v[i], want[i]);
        assert_int_equal(n, n_want);
}

static void test_timezones_of_zone1970_tab(void **state)
{
        char *dir = tmpdir_new(), *tab = path_join(dir, "zone1970.tab"),
             *old = path_join(dir, "zone.tab");
        static const char *const want[] = { "America/New_York", "Australia/Sydney", "Europe/Berlin",
                                            "UTC" };
        char **v = NULL;
        size_t n = 0;

        (void) state;
        file_write_str(tab, "# tzdb timezone descriptions\n"
                            "#\n"
                            "#codes\tcoordinates\tTZ\tcomments\n"
                            "DE,DK,NO,SE,SJ\t+5230+01322\tEurope/Berlin\tmost of Germany\n"
                            "US\t+404251-0740023\tAmerica/New_York\tEastern (most areas)\n"
                            "AU\t-3352+15113\tAustralia/Sydney\tNew South Wales (most areas)\n"
                            "DE\t+5230+01322\tEurope/Berlin\n"
                            "XX\t+0000+00000\t../../etc/passwd\tnot a zone\n"
                            "short line\n");
        /* zone.tab is read only when zone1970.tab has nothing */
        file_write_str(old, "CH\t+4723+00832\tEurope/Zurich\n");
        assert_int_equal(choices_timezones(dir, &v, &n), 0);
        assert_strv(v, n, want, ELEMENTSOF(want));
        strv_free(&v, &n);
        free(tab);
        free(old);
        tmpdir_remove(dir);
}

static void test_timezones_of_zone_tab_when_zone1970_tab_is_missing(void **state)
{
        char *dir = tmpdir_new(), *old = path_join(dir, "zone.tab");
        static const char *const want[] = { "Europe/Berlin", "Europe/Zurich", "UTC" };
        char **v = NULL;
        size_t n = 0;

        (void) state;
        file_write_str(old, "# comment\nDE\t+5230+01322\tEurope/Berlin\n"
                            "CH\t+4723+00832\tEurope/Zurich\n");
        assert_int_equal(choices_timezones(dir, &v, &n), 0);
        assert_strv(v, n, want, ELEMENTSOF(want));
        strv_free(&v, &n);
        free(old);
        tmpdir_remove(dir);
}

static void test_timezones_of_a_missing_dir_is_utc(void **state)
{
        static const char *const want[] = { "UTC" };
        char **v = NULL;
        size_t n = 0;

        (void) state;
        assert_int_equal(choices_timezones("/nonexistent/kvmforge-zoneinfo", &v, &n), 0);
        assert_strv(v, n, want, ELEMENTSOF(want));
        strv_free(&v, &n);
}

static void test_timezones_of_the_system_pass_their_check(void **state)
{
        struct choices c = sample();
        char msg[256] = "";
        char **v = NULL;
        size_t n = 0;
        bool berlin = false, utc = false;

        (void) state;
        if (access("/usr/share/zoneinfo/zone1970.tab", R_OK) != 0)
                skip();
        assert_int_equal(choices_timezones(NULL, &v, &n), 0);
        assert_true(n > 100);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        assert_true(strcmp(v[i - 1], v[i]) < 0); /* sorted, no duplicates */
                berlin = berlin || strcmp(v[i], "Europe/Berlin") == 0;
                utc = utc || strcmp(v[i], "UTC") == 0;
                SET(c.timezone, v[i]);
                if (choices_check(&c, NULL, CHOICES_TIMEZONE, msg, sizeof(msg)) != 0)
                        fail_msg("listed but refused: %s", msg);
        }
        assert_true(berlin);
        assert_true(utc);
        strv_free(&v, &n);
}

/* ---- the lease ---- */

#define ROUTE_HEAD \
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

static void test_lease_of_lo(void **state)
{
        char *dir = tmpdir_new(), *resolv = path_join(dir, "resolv.conf"),
             *route = path_join(dir, "route");
        struct choices_lease l;
        int r;

        (void) state;
        /* another NIC's default route first, then lo's own network, then lo's default route */
        file_write_str(route,
                       ROUTE_HEAD "eth0\t00000000\t0102000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
                                  "lo\t0000007F\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n"
                                  "lo\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        file_write_str(resolv, "# made by dhclient\n"
                               "search example.com lab.example.com\n"
                               "nameserver 192.0.2.53\n"
                               "nameserver 2001:db8::53\n"
                               "options edns0\n");
        r = choices_read_lease("lo", resolv, route, &l);
        if (r == -ENOENT) {
                print_message("lo has no IPv4 address here\n");
                skip();
        }
        assert_int_equal(r, 0);
        assert_string_equal(l.nic, "lo");
        assert_string_equal(l.address, "127.0.0.1/8");
        assert_string_equal(l.gateway, "192.168.1.1");
        assert_string_equal(l.dns, "192.0.2.53 2001:db8::53");
        assert_string_equal(l.domain, "example.com");

        /* "domain" names it too; the first of search and domain wins */
        file_write_str(resolv, "domain corp.example\nsearch other.example\nnameserver 10.0.0.1\n");
        assert_int_equal(choices_read_lease("lo", resolv, route, &l), 0);
        assert_string_equal(l.domain, "corp.example");
        assert_string_equal(l.dns, "10.0.0.1");

        /* no route through lo and no resolver: the address alone */
        file_write_str(route,
                       ROUTE_HEAD "eth0\t00000000\t0102000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n");
        assert_int_equal(unlink(resolv), 0);
        assert_int_equal(choices_read_lease("lo", resolv, route, &l), 0);
        assert_string_equal(l.address, "127.0.0.1/8");
        assert_string_equal(l.gateway, "");
        assert_string_equal(l.dns, "");
        assert_string_equal(l.domain, "");
        free(resolv);
        free(route);
        tmpdir_remove(dir);
}

static void test_lease_of_a_missing_nic(void **state)
{
        struct choices_lease l;

        (void) state;
        assert_int_equal(choices_read_lease("nosuchnic0", "/dev/null", "/dev/null", &l), -ENOENT);
}

/* ---- disks for a person ---- */

static void test_disk_lines(void **state)
{
        char buf[256];
        struct hw_disk d = machine_disks[0];

        (void) state;
        choices_disk_line(&machine_disks[0], buf, sizeof(buf));
        assert_true(strncmp(buf, "sda ", 4) == 0);
        assert_non_null(strstr(buf, "500.0 GiB"));
        assert_non_null(strstr(buf, "Samsung SSD 870"));
        assert_non_null(strstr(buf, " empty"));
        choices_disk_line(&machine_disks[6], buf, sizeof(buf));
        assert_non_null(strstr(buf, " the install medium"));
        choices_disk_line(&machine_disks[3], buf, sizeof(buf));
        assert_non_null(strstr(buf, " in use"));
        SET(d.table, "gpt");
        d.n_parts = 1;
        SET(d.parts[0].content.type, "ext4");
        SET(d.parts[0].content.label, "root");
        choices_disk_line(&d, buf, sizeof(buf));
        assert_non_null(strstr(buf, " a gpt partition table, ext4 'root'"));
}

int main(void)
{
        struct test_list l = { 0 };

        for (size_t i = 0; i < ELEMENTSOF(default_disk_cases); i++)
                tests_add(&l, default_disk_cases[i].name, test_default_disk, NULL, NULL,
                          (void *) &default_disk_cases[i]);
        for (size_t i = 0; i < ELEMENTSOF(default_nic_cases); i++)
                tests_add(&l, default_nic_cases[i].name, test_default_nic, NULL, NULL,
                          (void *) &default_nic_cases[i]);
        for (size_t i = 0; i < ELEMENTSOF(lease_cases); i++)
                tests_add(&l, lease_cases[i].name, test_default_lease, NULL, NULL,
                          (void *) &lease_cases[i]);
        tests_add(&l, "defaults_of_the_machine", test_defaults_of_the_machine, NULL, NULL, NULL);
        tests_add(&l, "defaults_without_a_machine", test_defaults_without_a_machine, NULL, NULL,
                  NULL);

        for (size_t i = 0; i < ELEMENTSOF(check_cases); i++)
                tests_add(&l, check_cases[i].name, test_check_case, NULL, NULL,
                          (void *) &check_cases[i]);
        tests_add(&l, "check_all_the_sample_passes", test_check_all_the_sample_passes, NULL, NULL,
                  NULL);
        tests_add(&l, "check_all_the_defaults_want_only_a_root_password",
                  test_check_all_the_defaults_want_only_a_root_password, NULL, NULL, NULL);
        tests_add(&l, "check_all_names_the_first_wrong_field_in_screen_order",
                  test_check_all_names_the_first_wrong_field_in_screen_order, NULL, NULL, NULL);
        tests_add(&l, "check_of_no_field", test_check_of_no_field, NULL, NULL, NULL);
        tests_add(&l, "every_field_has_a_name", test_every_field_has_a_name, NULL, NULL, NULL);
        tests_add(&l, "every_offered_keyboard_passes_its_check",
                  test_every_offered_keyboard_passes_its_check, NULL, NULL, NULL);

        tests_add(&l, "password_too_short_refused", test_password_too_short_refused, NULL, NULL,
                  NULL);
        tests_add(&l, "password_mismatch_refused", test_password_mismatch_refused, NULL, NULL,
                  NULL);
        tests_add(&l, "password_hashed", test_password_hashed, NULL, NULL, NULL);
        tests_add(&l, "password_empty_keeps_the_hash_set_before",
                  test_password_empty_keeps_the_hash_set_before, NULL, NULL, NULL);
        tests_add(&l, "password_strength_tiers", test_password_strength_tiers, NULL, NULL, NULL);

        tests_add(&l, "kickstart_single_disk_static", test_kickstart_single_disk_static, NULL, NULL,
                  NULL);
        tests_add(&l, "kickstart_single_disk_plans_what_it_says",
                  test_kickstart_single_disk_plans_what_it_says, NULL, NULL, NULL);
        tests_add(&l, "kickstart_network_forms", test_kickstart_network_forms, NULL, NULL, NULL);
        tests_add(&l, "kickstart_without_password_nor_key_or_email",
                  test_kickstart_without_password_nor_key_or_email, NULL, NULL, NULL);
        tests_add(&l, "kickstart_rest_to_root", test_kickstart_rest_to_root, NULL, NULL, NULL);
        tests_add(&l, "kickstart_mirror", test_kickstart_mirror, NULL, NULL, NULL);
        tests_add(&l, "kickstart_mirror_without_pool_nor_swap",
                  test_kickstart_mirror_without_pool_nor_swap, NULL, NULL, NULL);
        tests_add(&l, "kickstart_mirror_over_an_unknown_disk_fails",
                  test_kickstart_mirror_over_an_unknown_disk_fails, NULL, NULL, NULL);
        tests_add(&l, "email_with_an_apostrophe_reads_back",
                  test_email_with_an_apostrophe_reads_back, NULL, NULL, NULL);

        tests_add(&l, "plan_defaults_wipe_the_chosen_disk_only",
                  test_plan_defaults_wipe_the_chosen_disk_only, NULL, NULL, NULL);
        tests_add(&l, "plan_wipes_a_disk_holding_data", test_plan_wipes_a_disk_holding_data, NULL,
                  NULL, NULL);
        tests_add(&l, "plan_on_the_install_medium_fails", test_plan_on_the_install_medium_fails,
                  NULL, NULL, NULL);
        tests_add(&l, "plan_on_a_disk_in_use_fails", test_plan_on_a_disk_in_use_fails, NULL, NULL,
                  NULL);

        tests_add(&l, "timezones_of_zone1970_tab", test_timezones_of_zone1970_tab, NULL, NULL,
                  NULL);
        tests_add(&l, "timezones_of_zone_tab_when_zone1970_tab_is_missing",
                  test_timezones_of_zone_tab_when_zone1970_tab_is_missing, NULL, NULL, NULL);
        tests_add(&l, "timezones_of_a_missing_dir_is_utc", test_timezones_of_a_missing_dir_is_utc,
                  NULL, NULL, NULL);
        tests_add(&l, "timezones_of_the_system_pass_their_check",
                  test_timezones_of_the_system_pass_their_check, NULL, NULL, NULL);

        tests_add(&l, "lease_of_lo", test_lease_of_lo, NULL, NULL, NULL);
        tests_add(&l, "lease_of_a_missing_nic", test_lease_of_a_missing_nic, NULL, NULL, NULL);

        tests_add(&l, "disk_lines", test_disk_lines, NULL, NULL, NULL);
        return tests_run("choices", &l);
}
