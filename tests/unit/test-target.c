/* target: the files that configure the unpacked system, written into a copy of a small fake
 * root (tests/unit/data/target/root) and compared byte for byte; the commands left for the
 * target's chroot; the rejections, each naming what is wrong. */

#include "target.h"

#include <crypt.h>
#include <grp.h>
#include <time.h>

#include "answer.h"
#include "helpers.h"
#include "hw.h"
#include "storage.h"

#define FIXTURE "tests/unit/data/target/root"

static const struct hw_nic nic_list[] = {
        { "eno1", "3c:ec:ef:01:02:03", "ixgbe", HW_YES, 10000, false },
        { "eno2", "3c:ec:ef:01:02:04", "ixgbe", HW_NO, -1, false },
        { "enp3s0f0", "a0:36:9f:aa:bb:cc", "i40e", HW_YES, 25000, false },
        { "enp3s0f1", "a0:36:9f:aa:bb:cd", "i40e", HW_NO, -1, false },
};

static struct hw_report machine(void)
{
        return (struct hw_report){ .nics = (struct hw_nic *) nic_list,
                                   .n_nics = ELEMENTSOF(nic_list) };
}

/* ---- a fresh copy of the fixture root per test ---- */

static int root_setup(void **state)
{
        char *dir = tmpdir_new(), cmd[512];

        (void) snprintf(cmd, sizeof(cmd), "cp -a " FIXTURE "/. %s/", dir);
        assert_int_equal(system(cmd), 0);
        *state = dir;
        return 0;
}

static int root_teardown(void **state)
{
        char cmd[512];

        (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", (char *) *state);
        assert_int_equal(system(cmd), 0);
        free(*state);
        return 0;
}

static char *slurp(const char *root, const char *rel)
{
        char *path = path_join(root, rel);
        size_t len;
        char *buf = (char *) file_read(path, &len);

        buf[len] = '\0';
        free(path);
        return buf;
}

#define assert_file(root, rel, want)             \
        do {                                     \
                char *got_ = slurp(root, rel);   \
                assert_string_equal(got_, want); \
                free(got_);                      \
        } while (0)

static void assert_missing(const char *root, const char *rel)
{
        char *path = path_join(root, rel);
        struct stat st;

        if (lstat(path, &st) == 0)
                fail_msg("'%s' exists", rel);
        free(path);
}

static mode_t mode_of(const char *root, const char *rel, struct stat *ret)
{
        char *path = path_join(root, rel);

        assert_int_equal(stat(path, ret), 0);
        free(path);
        return ret->st_mode & 07777;
}

/* No hidden temporary file is left in root/reldir. */
static void assert_no_temporaries(const char *root, const char *reldir)
{
        char *path = path_join(root, reldir);
        DIR *d = opendir(path);
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
                    strchr(de->d_name + 1, '.'))
                        fail_msg("temporary '%s' left in '%s'", de->d_name, reldir);
        closedir(d);
        free(path);
}

/* An answer with the checker's errors left in: what the functions do on their own. */
static struct answer load_unchecked(const char *text)
{
        struct answer a;

        if (answer_load(text, strlen(text), "ks.cfg", NULL, &a) != 0)
                fail_msg("answer_load failed");
        return a;
}

static struct answer load(const char *text)
{
        struct answer a;

        if (answer_load(text, strlen(text), "ks.cfg", NULL, &a) != 0)
                fail_msg("answer_load failed");
        for (size_t i = 0; i < a.n_diags; i++)
                if (a.diags[i].level == ANSWER_ERROR)
                        fail_msg("the answer has an error: %s", a.diags[i].msg);
        return a;
}

/* The commands joined: words by ' ', commands by '\n'. */
static char *runs_text(const struct target_runs *r)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        for (size_t i = 0; i < r->n; i++) {
                for (char **w = r->v[i].argv; *w; w++)
                        fprintf(f, "%s%s", w == r->v[i].argv ? "" : " ", *w);
                fputc('\n', f);
        }
        fclose(f);
        return buf;
}

/* ---- fstab ---- */

static const struct target_uuid uuids[] = {
        { "/dev/sda2", "4A1B-2C3D" },
        { "/dev/kvmforge/root", "11111111-2222-3333-4444-555555555555" },
        { "/dev/kvmforge/swap", "66666666-7777-8888-9999-000000000000" },
        { "/dev/nvme0n1p1", "ABCD-0001" },
        { "/dev/nvme0n1p2", "aaaaaaaa-0000-0000-0000-000000000002" },
        { "/dev/nvme0n1p3", "aaaaaaaa-0000-0000-0000-000000000003" },
        { "/dev/nvme0n1p4", "aaaaaaaa-0000-0000-0000-000000000004" },
        { "/dev/nvme0n1p5", "aaaaaaaa-0000-0000-0000-000000000005" },
        { "/dev/nvme0n1p6", "aaaaaaaa-0000-0000-0000-000000000006" },
};

#define FSTAB_HEAD                                                                           \
        "# /etc/fstab: static file system information, written by the kvmforge installer.\n" \
        "# <file system> <mount point> <type> <options> <dump> <pass>\n"

/* What storage_plan() makes of one disk by default: BIOS boot, ESP, a PV with swap, root and
 * the thin pool for guests. */
static void default_plan(struct storage_plan *p, struct storage_disk *d)
{
        *d = (struct storage_disk){ .name = "sda", .path = "/dev/sda", .n_parts = 3 };
        d->parts[0] = (struct storage_part){ .number = 1, .type = STORAGE_PT_BIOSBOOT };
        d->parts[1] = (struct storage_part){
                .number = 2, .type = STORAGE_PT_ESP, .fstype = "vfat", .mount = "/boot/efi"
        };
        d->parts[2] =
                (struct storage_part){ .number = 3, .type = STORAGE_PT_LVM, .vg = "kvmforge" };
        *p = (struct storage_plan){ .disks = d, .n_disks = 1 };
        (void) snprintf(p->vg.name, sizeof(p->vg.name), "kvmforge");
        p->vg.n_lvs = 3;
        p->vg.lvs[0] = (struct storage_lv){ .name = "swap", .fstype = "swap" };
        p->vg.lvs[1] = (struct storage_lv){ .name = "root", .fstype = "ext4", .mount = "/" };
        p->vg.lvs[2] = (struct storage_lv){ .name = "data", .thinpool = true };
}

static void test_fstab_default_layout(void **state)
{
        const char *root = *state;
        struct storage_plan p;
        struct storage_disk d;
        struct err err = { { 0 } };

        default_plan(&p, &d);
        assert_int_equal(target_write_fstab(root, &p, uuids, ELEMENTSOF(uuids), &err), 0);
        assert_file(root, "etc/fstab",
                    FSTAB_HEAD
                    "UUID=11111111-2222-3333-4444-555555555555 / ext4 errors=remount-ro 0 1\n"
                    "UUID=66666666-7777-8888-9999-000000000000 none swap sw 0 0\n"
                    "UUID=4A1B-2C3D /boot/efi vfat umask=0077 0 1\n");
        assert_no_temporaries(root, "etc");
}

static void test_fstab_custom_layout_parents_first(void **state)
{
        const char *root = *state;
        struct storage_disk d = { .name = "nvme0n1", .path = "/dev/nvme0n1", .n_parts = 6 };
        struct storage_plan p = { .disks = &d, .n_disks = 1 };
        struct err err = { { 0 } };

        /* In the answer's order, children before parents. */
        d.parts[0] = (struct storage_part){ .number = 1, .fstype = "vfat", .mount = "/boot/efi" };
        d.parts[1] = (struct storage_part){ .number = 2, .fstype = "ext4", .mount = "/var/lib" };
        d.parts[2] = (struct storage_part){ .number = 3, .fstype = "swap" };
        d.parts[3] = (struct storage_part){ .number = 4, .fstype = "xfs", .mount = "/srv" };
        d.parts[4] = (struct storage_part){ .number = 5, .fstype = "ext4", .mount = "/var" };
        d.parts[5] = (struct storage_part){ .number = 6, .fstype = "xfs", .mount = "/" };
        assert_int_equal(target_write_fstab(root, &p, uuids, ELEMENTSOF(uuids), &err), 0);
        assert_file(root, "etc/fstab",
                    FSTAB_HEAD "UUID=aaaaaaaa-0000-0000-0000-000000000006 / xfs defaults 0 0\n"
                               "UUID=aaaaaaaa-0000-0000-0000-000000000004 /srv xfs defaults 0 0\n"
                               "UUID=aaaaaaaa-0000-0000-0000-000000000005 /var ext4 defaults 0 2\n"
                               "UUID=aaaaaaaa-0000-0000-0000-000000000002 /var/lib ext4 defaults 0 "
                               "2\n"
                               "UUID=aaaaaaaa-0000-0000-0000-000000000003 none swap sw 0 0\n"
                               "UUID=ABCD-0001 /boot/efi vfat umask=0077 0 1\n");
}

static void test_fstab_device_without_uuid_is_named(void **state)
{
        const char *root = *state;
        struct storage_plan p;
        struct storage_disk d;
        struct err err = { { 0 } };

        default_plan(&p, &d);
        assert_int_equal(target_write_fstab(root, &p, uuids, 2, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "'/dev/kvmforge/swap'"));
        assert_missing(root, "etc/fstab");
        assert_no_temporaries(root, "etc");
}

/* ---- host name ---- */

static void test_hosts_static_fqdn(void **state)
{
        const char *root = *state;
        struct answer a = load("network --bootproto=static --device=eno1 --ip=10.1.2.3 "
                               "--netmask=255.255.255.0 --gateway=10.1.2.1 "
                               "--hostname=kvm01.example.com\n");
        struct hw_report hw = machine();
        struct err err = { { 0 } };

        assert_int_equal(target_set_hostname(root, &a, &hw, NULL, &err), 0);
        assert_file(root, "etc/hostname", "kvm01\n");
        assert_file(root, "etc/hosts",
                    "127.0.0.1\tlocalhost\n"
                    "10.1.2.3\tkvm01.example.com\tkvm01\n"
                    "\n# The following lines are desirable for IPv6 capable hosts\n"
                    "::1     localhost ip6-localhost ip6-loopback\n"
                    "ff02::1 ip6-allnodes\n"
                    "ff02::2 ip6-allrouters\n");
        answer_release(&a);
}

static void test_hosts_dhcp_default_name_from_mac(void **state)
{
        const char *root = *state;
        struct answer a = load("network --bootproto=dhcp --device=enp3s0f0\n");
        struct hw_report hw = machine();
        struct err err = { { 0 } };

        assert_int_equal(target_set_hostname(root, &a, &hw, NULL, &err), 0);
        assert_file(root, "etc/hostname", "kvmforge-aabbcc\n");
        assert_file(root, "etc/hosts",
                    "127.0.0.1\tlocalhost\n"
                    "127.0.1.1\tkvmforge-aabbcc\n"
                    "\n# The following lines are desirable for IPv6 capable hosts\n"
                    "::1     localhost ip6-localhost ip6-loopback\n"
                    "ff02::1 ip6-allnodes\n"
                    "ff02::2 ip6-allrouters\n");
        answer_release(&a);
}

/* ---- network ---- */

#define LO \
        "# written by the kvmforge installer; see interfaces(5)\n\nauto lo\niface lo inet loopback\n"

static void test_interfaces_dhcp_bridge_on_first_nic_with_link(void **state)
{
        const char *root = *state;
        struct answer a = load("lang en_US.UTF-8\n");
        struct hw_report hw = machine();
        struct err err = { { 0 } };

        assert_int_equal(target_write_network(root, &a, &hw, NULL, &err), 0);
        assert_file(root, "etc/network/interfaces",
                    LO "\nauto eno1\niface eno1 inet manual\n"
                       "\nauto vmbr0\niface vmbr0 inet dhcp\n"
                       "\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n");
        assert_file(root, TARGET_NODE_CONF,
                    "# kvmforge node settings, read at the first boot\nBRIDGE=vmbr0\n");
        assert_missing(root, "etc/resolv.conf");
        answer_release(&a);
}

static void test_interfaces_static_bridge_by_mac_with_mtu_and_dns(void **state)
{
        const char *root = *state;
        struct answer a = load("network --bootproto=static --device=A0:36:9F:AA:BB:CC "
                               "--ip=10.1.2.3 --netmask=255.255.255.0 --gateway=10.1.2.1 "
                               "--nameserver=10.1.2.53,9.9.9.9 --mtu=9000 "
                               "--hostname=kvm01.example.com\n"
                               "hypervisor --bridge=br-vm\n");
        struct hw_report hw = machine();
        struct err err = { { 0 } };

        assert_int_equal(target_write_network(root, &a, &hw, NULL, &err), 0);
        assert_file(root, "etc/network/interfaces",
                    LO "\nauto enp3s0f0\niface enp3s0f0 inet manual\n\tmtu 9000\n"
                       "\nauto br-vm\niface br-vm inet static\n"
                       "\taddress 10.1.2.3/24\n\tgateway 10.1.2.1\n\tmtu 9000\n"
                       "\tbridge-ports enp3s0f0\n\tbridge-stp off\n\tbridge-fd 0\n");
        assert_file(root, "etc/resolv.conf",
                    "# written by the kvmforge installer from the answer\n"
                    "search example.com\nnameserver 10.1.2.53\nnameserver 9.9.9.9\n");
        assert_file(root, TARGET_NODE_CONF,
                    "# kvmforge node settings, read at the first boot\nBRIDGE=br-vm\n");
        answer_release(&a);
}

static void test_interfaces_no_bridge_with_ipv6(void **state)
{
        const char *root = *state;
        struct answer a = load("network --bootproto=static --device=eno2 --ip=192.0.2.10/26 "
                               "--gateway=192.0.2.1 --ipv6=2001:db8::10/64 "
                               "--ipv6gateway=2001:db8::1\n"
                               "hypervisor --no-bridge\n");
        struct hw_report hw = machine();
        struct err err = { { 0 } };

        assert_int_equal(target_write_network(root, &a, &hw, NULL, &err), 0);
        assert_file(root, "etc/network/interfaces",
                    LO "\nauto eno2\niface eno2 inet static\n"
                       "\taddress 192.0.2.10/26\n\tgateway 192.0.2.1\n"
                       "\niface eno2 inet6 static\n\taddress 2001:db8::10/64\n"
                       "\tgateway 2001:db8::1\n");
        assert_missing(root, TARGET_NODE_CONF);
        answer_release(&a);
}

static void test_interfaces_vlan_under_the_bridge(void **state)
{
        const char *root = *state;
        struct answer a = load("network --bootproto=dhcp --device=eno1 --vlanid=300 --ipv6=auto\n");
        struct hw_report hw = machine();
        struct err err = { { 0 } };

        assert_int_equal(target_write_network(root, &a, &hw, NULL, &err), 0);
        assert_file(root, "etc/network/interfaces",
                    LO "\nauto eno1\niface eno1 inet manual\n"
                       "\nauto eno1.300\niface eno1.300 inet manual\n\tvlan-raw-device eno1\n"
                       "\nauto vmbr0\niface vmbr0 inet dhcp\n"
                       "\tbridge-ports eno1.300\n\tbridge-stp off\n\tbridge-fd 0\n"
                       "\niface vmbr0 inet6 auto\n");
        answer_release(&a);
}

static void test_interfaces_vlan_dhcp_without_bridge_mtu(void **state)
{
        const char *root = *state;
        struct answer a = load("network --bootproto=dhcp --device=eno1 --vlanid=42 --mtu=9000 "
                               "--ipv6=2001:db8::5\n"
                               "hypervisor --no-bridge\n");
        struct hw_report hw = machine();
        struct err err = { { 0 } };

        assert_int_equal(target_write_network(root, &a, &hw, NULL, &err), 0);
        assert_file(root, "etc/network/interfaces",
                    LO "\nauto eno1\niface eno1 inet manual\n\tmtu 9000\n"
                       "\nauto eno1.42\niface eno1.42 inet dhcp\n"
                       "\tup ip link set dev eno1.42 mtu 9000\n\tvlan-raw-device eno1\n"
                       "\niface eno1.42 inet6 static\n\taddress 2001:db8::5/64\n");
        answer_release(&a);
}

static void test_interfaces_bond_under_the_bridge_and_a_second_line(void **state)
{
        const char *root = *state;
        struct answer a = load("network --bootproto=static --device=bond0 "
                               "--bondslaves=eno1,enp3s0f0 --bondopts=mode=802.3ad,"
                               "xmit_hash_policy=layer3+4 --ip=10.0.0.5 --netmask=255.255.0.0 "
                               "--gateway=10.0.0.1\n"
                               "network --bootproto=static --device=eno2 --ip=172.16.0.5/24 "
                               "--nodefroute\n");
        struct hw_report hw = machine();
        struct err err = { { 0 } };

        assert_int_equal(target_write_network(root, &a, &hw, NULL, &err), 0);
        assert_file(root, "etc/network/interfaces",
                    LO "\nauto bond0\niface bond0 inet manual\n"
                       "\tbond-mode 802.3ad\n\tbond-xmit-hash-policy layer3+4\n"
                       "\tbond-miimon 100\n\tbond-slaves eno1 enp3s0f0\n"
                       "\nauto vmbr0\niface vmbr0 inet static\n"
                       "\taddress 10.0.0.5/16\n\tgateway 10.0.0.1\n"
                       "\tbridge-ports bond0\n\tbridge-stp off\n\tbridge-fd 0\n"
                       "\nauto eno2\niface eno2 inet static\n\taddress 172.16.0.5/24\n");
        answer_release(&a);
}

static void test_interfaces_unknown_nic_refused(void **state)
{
        const char *root = *state;
        struct answer a = load("network --bootproto=dhcp --device=52:54:00:00:00:99\n");
        struct hw_report hw = machine();
        struct err err = { { 0 } };

        assert_int_equal(target_write_network(root, &a, &hw, NULL, &err), -ENODEV);
        assert_non_null(strstr(err.msg, "'52:54:00:00:00:99'"));
        assert_missing(root, "etc/network/interfaces");
        answer_release(&a);
}

static void test_node_conf_keeps_other_keys(void **state)
{
        const char *root = *state;
        struct err err = { { 0 } };

        assert_int_equal(target_node_conf_set(root, "REPORT_URL", "https://h/r", &err), 0);
        assert_int_equal(target_node_conf_set(root, "BRIDGE", "vmbr0", &err), 0);
        assert_int_equal(target_node_conf_set(root, "BRIDGE", "vmbr1", &err), 0);
        assert_file(root, TARGET_NODE_CONF,
                    "# kvmforge node settings, read at the first boot\n"
                    "REPORT_URL=https://h/r\nBRIDGE=vmbr1\n");
        assert_int_equal(target_node_conf_set(root, "BRIDGE", "a\nREPORT_URL=x", &err), -EINVAL);
}

/* ---- accounts ---- */

#define PLAIN "s3cret-Pa55word"

static char *shadow_field(const char *root, const char *user, int field)
{
        char *text = slurp(root, "etc/shadow"), *line = text, *ret;
        size_t ulen = strlen(user);

        while (strncmp(line, user, ulen) != 0 || line[ulen] != ':') {
                line = strchr(line, '\n');
                assert_non_null(line);
                line++;
        }
        for (int i = 0; i < field; i++)
                line = strchr(line, ':') + 1;
        ret = strndup(line, strcspn(line, ":\n"));
        free(text);
        return ret;
}

static void test_root_password_hashed_and_verifiable(void **state)
{
        const char *root = *state;
        struct answer a = load("rootpw --plaintext " PLAIN "\n");
        struct err err = { { 0 } };
        struct stat st;
        char *hash, *text, *lastchg, today[24];
        char *shadow = path_join(root, "etc/shadow");
        bool as_root = geteuid() == 0;

        assert_int_equal(chmod(shadow, 0640), 0);
        if (as_root)
                assert_int_equal(chown(shadow, 0, 42), 0);
        assert_int_equal(target_set_root_password(root, &a, &err), 0);
        hash = shadow_field(root, "root", 1);
        assert_true(strncmp(hash, "$y$", 3) == 0 || strncmp(hash, "$6$", 3) == 0);
        assert_string_equal(crypt(PLAIN, hash), hash);
        text = slurp(root, "etc/shadow");
        assert_null(strstr(text, PLAIN));
        /* Every other line as it was. */
        assert_non_null(strstr(text, "\ndaemon:*:19700:0:99999:7:::\nsshd:!:19700::::::\n"
                                     "ops:!:19700:0:99999:7:::\n"));
        lastchg = shadow_field(root, "root", 2);
        (void) snprintf(today, sizeof(today), "%lld", (long long) (time(NULL) / 86400));
        assert_string_equal(lastchg, today);
        assert_int_equal(mode_of(root, "etc/shadow", &st), 0640);
        if (as_root)
                assert_int_equal(st.st_gid, 42);
        assert_no_temporaries(root, "etc");
        assert_missing(root, "etc/ssh/sshd_config.d/kvmforge.conf");
        free(hash);
        free(text);
        free(lastchg);
        free(shadow);
        answer_release(&a);
}

static void test_root_password_crypted_kept_verbatim_and_locked(void **state)
{
        const char *root = *state;
        struct answer a = load("rootpw --iscrypted --allow-ssh '$6$rounds=4096$salt$hashhash'\n");
        struct answer b = load("rootpw --lock\n");
        struct err err = { { 0 } };
        char *hash;

        assert_int_equal(target_set_root_password(root, &a, &err), 0);
        hash = shadow_field(root, "root", 1);
        assert_string_equal(hash, "$6$rounds=4096$salt$hashhash");
        free(hash);
        assert_file(root, "etc/ssh/sshd_config.d/kvmforge.conf",
                    "# rootpw --allow-ssh: root logs in with its password\nPermitRootLogin yes\n");
        /* --lock alone keeps the hash, locked. */
        assert_int_equal(target_set_root_password(root, &b, &err), 0);
        hash = shadow_field(root, "root", 1);
        assert_string_equal(hash, "!$6$rounds=4096$salt$hashhash");
        free(hash);
        answer_release(&a);
        answer_release(&b);
}

static void test_root_password_broken_hash_refused_without_echo(void **state)
{
        const char *root = *state;
        struct answer a = load_unchecked("rootpw --iscrypted 'abc:def'\n");
        struct err err = { { 0 } };

        assert_int_equal(target_set_root_password(root, &a, &err), -EINVAL);
        assert_null(strstr(err.msg, "abc"));
        assert_file(root, "etc/shadow",
                    "root:*:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\n"
                    "sshd:!:19700::::::\nops:!:19700:0:99999:7:::\n");
        answer_release(&a);
}

static void test_users_become_commands(void **state)
{
        struct answer a = load("user --name=alice --groups=sudo,kvm --shell=/bin/zsh "
                               "--gecos='Alice A' --uid=1500 --gid=1500 --password='$6$x$y' "
                               "--iscrypted\n"
                               "user --name=bob --lock\n");
        struct target_runs runs = { 0 };
        struct err err = { { 0 } };
        char *text;

        (void) state;
        assert_int_equal(target_add_users(&a, &runs, &err), 0);
        text = runs_text(&runs);
        assert_string_equal(text, "groupadd -f sudo\n"
                                  "groupadd -f kvm\n"
                                  "groupadd -f -g 1500 alice\n"
                                  "useradd -m -u 1500 -g alice -G sudo,kvm -s /bin/zsh -c Alice A "
                                  "-- alice\n"
                                  "usermod -p $6$x$y -- alice\n"
                                  "useradd -m -- bob\n"
                                  "usermod -L -- bob\n");
        /* The GECOS with its space is one word. */
        assert_string_equal(runs.v[3].argv[11], "Alice A");
        free(text);
        target_runs_release(&runs);
        answer_release(&a);
}

static void test_user_plain_password_hashed_in_command(void **state)
{
        struct answer a = load("user --name=carol --password=" PLAIN " --plaintext\n");
        struct target_runs runs = { 0 };
        struct err err = { { 0 } };

        (void) state;
        assert_int_equal(target_add_users(&a, &runs, &err), 0);
        assert_int_equal(runs.n, 2);
        assert_string_equal(runs.v[1].argv[0], "usermod");
        assert_string_equal(crypt(PLAIN, runs.v[1].argv[2]), runs.v[1].argv[2]);
        target_runs_release(&runs);
        answer_release(&a);
}

/* ---- SSH keys ---- */

#define KEY1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1 admin@example"
#define KEY2 "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ2 ops@example"

static void test_ssh_keys_modes_and_owners(void **state)
{
        const char *root = *state;
        /* ops is in the image's passwd, not in the answer (the checker's complaint). */
        struct answer a = load_unchecked("sshkey --username=root \"" KEY1 "\"\n"
                                         "sshkey --username=ops \"" KEY2 "\"\n"
                                         "sshkey --username=root \"" KEY2 "\"\n"
                                         "user --name=dave\n"
                                         "sshkey --username=dave \"" KEY1 "\"\n");
        struct target_runs runs = { 0 };
        struct err err = { { 0 } };
        struct stat st;
        char *text;

        assert_int_equal(target_write_ssh_keys(root, &a, &runs, &err), 0);
        assert_file(root, "root/.ssh/authorized_keys", KEY1 "\n" KEY2 "\n");
        assert_int_equal(mode_of(root, "root/.ssh", &st), 0700);
        assert_int_equal(mode_of(root, "root/.ssh/authorized_keys", &st), 0600);
        assert_file(root, "home/ops/.ssh/authorized_keys", KEY2 "\n");
        assert_int_equal(mode_of(root, "home/ops/.ssh", &st), 0700);
        if (geteuid() == 0)
                assert_int_equal(st.st_uid, 1000);
        assert_int_equal(mode_of(root, "home/ops/.ssh/authorized_keys", &st), 0600);
        if (geteuid() == 0) {
                assert_int_equal(st.st_uid, 1000);
                assert_int_equal(st.st_gid, 1000);
        }
        /* dave does not exist yet: his keys wait for useradd. */
        assert_file(root, "var/lib/kvmforge/keys/dave", KEY1 "\n");
        text = runs_text(&runs);
        assert_string_equal(text, "install -d -m 0700 /home/dave/.ssh\n"
                                  "install -m 0600 /var/lib/kvmforge/keys/dave "
                                  "/home/dave/.ssh/authorized_keys\n"
                                  "chown -R dave: /home/dave/.ssh\n"
                                  "rm -f /var/lib/kvmforge/keys/dave\n");
        /* Again: nothing doubles. */
        assert_int_equal(target_write_ssh_keys(root, &a, &runs, &err), 0);
        assert_file(root, "root/.ssh/authorized_keys", KEY1 "\n" KEY2 "\n");
        free(text);
        target_runs_release(&runs);
        answer_release(&a);
}

static void test_ssh_key_for_unknown_user_refused(void **state)
{
        const char *root = *state;
        struct answer a = load_unchecked("sshkey --username=nobody2 \"" KEY1 "\"\n");
        struct target_runs runs = { 0 };
        struct err err = { { 0 } };

        assert_int_equal(target_write_ssh_keys(root, &a, &runs, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "'nobody2'"));
        target_runs_release(&runs);
        answer_release(&a);
}

/* ---- time ---- */

static void test_timezone_link_and_name(void **state)
{
        const char *root = *state;
        struct answer a = load("timezone Europe/Berlin --utc\n");
        struct err err = { { 0 } };
        char *link = path_join(root, "etc/localtime"), target[256];
        ssize_t n;

        assert_int_equal(target_set_timezone(root, &a, &err), 0);
        n = readlink(link, target, sizeof(target) - 1);
        assert_true(n > 0);
        target[n] = '\0';
        assert_string_equal(target, "/usr/share/zoneinfo/Europe/Berlin");
        assert_file(root, "etc/timezone", "Europe/Berlin\n");
        assert_missing(root, "etc/adjtime");
        free(link);
        answer_release(&a);
}

static void test_timezone_local_clock_without_utc(void **state)
{
        const char *root = *state;
        struct answer a = load("timezone UTC\n");
        struct err err = { { 0 } };

        assert_int_equal(target_set_timezone(root, &a, &err), 0);
        assert_file(root, "etc/adjtime", "0.0 0 0.0\n0\nLOCAL\n");
        answer_release(&a);
}

static void test_timezone_unknown_refused_by_name(void **state)
{
        const char *root = *state;
        struct answer a = load("timezone Europe/Berlin\n");
        struct err err = { { 0 } };

        free(a.timezone);
        a.timezone = strdup("Europe/Atlantis");
        assert_int_equal(target_set_timezone(root, &a, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "'Europe/Atlantis'"));
        assert_missing(root, "etc/localtime");
        err = (struct err){ { 0 } };
        free(a.timezone);
        a.timezone = strdup("../../etc/passwd");
        assert_int_equal(target_set_timezone(root, &a, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "'../../etc/passwd'"));
        answer_release(&a);
}

static void test_ntp_sources_and_nontp(void **state)
{
        const char *root = *state;
        struct answer a = load("timezone UTC --utc --ntpservers=ntp1.example.com,10.0.0.1\n");
        struct answer b = load("timezone UTC --utc --nontp\n");
        struct target_runs runs = { 0 };
        struct err err = { { 0 } };
        char *text;

        assert_int_equal(target_write_ntp(root, &a, &runs, &err), 0);
        assert_file(root, "etc/chrony/sources.d/kvmforge.sources",
                    "# written by the kvmforge installer from the answer's NTP servers\n"
                    "server ntp1.example.com iburst\nserver 10.0.0.1 iburst\n");
        assert_int_equal(runs.n, 0);
        assert_int_equal(target_write_ntp(root, &b, &runs, &err), 0);
        text = runs_text(&runs);
        assert_string_equal(text, "systemctl disable chrony.service\n");
        free(text);
        target_runs_release(&runs);
        answer_release(&a);
        answer_release(&b);
}

/* ---- keyboard and locale ---- */

static void test_keyboard_map_table(void **state)
{
        static const struct {
                const char *in, *layout, *variant;
                int ret;
        } cases[] = {
                { "us", "us", "", 0 },
                { "de", "de", "", 0 },
                { "de-latin1", "de", "", 0 },
                { "de-latin1-nodeadkeys", "de", "nodeadkeys", 0 },
                { "de(nodeadkeys)", "de", "nodeadkeys", 0 },
                { "de (nodeadkeys)", "de", "nodeadkeys", 0 },
                { "fr", "fr", "", 0 },
                { "fr-latin9", "fr", "latin9", 0 },
                { "fr(latin9)", "fr", "latin9", 0 },
                { "uk", "gb", "", 0 },
                { "ch(fr)", "ch", "fr", 0 },
                { "sg-latin1", "ch", "", 0 },
                { "jp106", "jp", "", 0 },
                { "Swiss French", "ch", "fr", 0 },
                { "United Kingdom", "gb", "", 0 },
                { "sv-latin1", "se", "", 0 },
                { "", NULL, NULL, -EINVAL },
                { "de(", NULL, NULL, -EINVAL },
                { "de(x)y", NULL, NULL, -EINVAL },
                { "Klingon Layout", NULL, NULL, -EINVAL },
                { "us\"; rm", NULL, NULL, -EINVAL },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char layout[40] = "?", variant[40] = "?";
                int r = target_keyboard_map(cases[i].in, layout, sizeof(layout), variant,
                                            sizeof(variant));
                if (r != cases[i].ret)
                        fail_msg("'%s': %d, want %d", cases[i].in, r, cases[i].ret);
                if (r < 0)
                        continue;
                if (strcmp(layout, cases[i].layout) || strcmp(variant, cases[i].variant))
                        fail_msg("'%s': '%s' '%s', want '%s' '%s'", cases[i].in, layout, variant,
                                 cases[i].layout, cases[i].variant);
        }
}

static void test_keyboard_file(void **state)
{
        const char *root = *state;
        struct answer a = load("keyboard --vckeymap=de-latin1-nodeadkeys\n");
        struct err err = { { 0 } };

        assert_int_equal(target_set_keyboard(root, &a, &err), 0);
        assert_file(root, "etc/default/keyboard",
                    "# KEYBOARD CONFIGURATION FILE\n\n# Consult the keyboard(5) manual page.\n\n"
                    "XKBMODEL=\"pc105\"\nXKBLAYOUT=\"de\"\nXKBVARIANT=\"nodeadkeys\"\n"
                    "XKBOPTIONS=\"\"\n\nBACKSPACE=\"guess\"\n");
        answer_release(&a);
}

static void test_locale_uncommented_and_generated(void **state)
{
        const char *root = *state;
        struct answer a = load("lang de_DE.UTF-8\n");
        struct target_runs runs = { 0 };
        struct err err = { { 0 } };
        char *gen, *text;

        assert_int_equal(target_set_locale(root, &a, &runs, &err), 0);
        assert_file(root, "etc/default/locale", "LANG=de_DE.UTF-8\n");
        gen = slurp(root, "etc/locale.gen");
        /* Only that line changes: not de_DE, not de_DE@euro. */
        assert_non_null(strstr(gen, "\n# de_DE ISO-8859-1\nde_DE.UTF-8 UTF-8\n"
                                    "# de_DE@euro ISO-8859-15\n# en_GB.UTF-8 UTF-8\n"));
        assert_non_null(strstr(gen, "# This file lists locales"));
        text = runs_text(&runs);
        assert_string_equal(text, "locale-gen\n");
        free(gen);
        free(text);
        target_runs_release(&runs);
        answer_release(&a);
}

static void test_locale_unknown_refused_c_needs_nothing(void **state)
{
        const char *root = *state;
        struct answer a = load("lang xx_YY.UTF-8\n");
        struct answer c = load_unchecked("lang C.UTF-8\n");
        struct target_runs runs = { 0 };
        struct err err = { { 0 } };

        assert_int_equal(target_set_locale(root, &a, &runs, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "'xx_YY.UTF-8'"));
        assert_missing(root, "etc/default/locale");
        assert_int_equal(target_set_locale(root, &c, &runs, &err), 0);
        assert_file(root, "etc/default/locale", "LANG=C.UTF-8\n");
        assert_int_equal(runs.n, 0);
        target_runs_release(&runs);
        answer_release(&a);
        answer_release(&c);
}

/* ---- GRUB ---- */

#define GRUB_HEAD                                                             \
        "# If you change this file, run 'update-grub' afterwards to update\n" \
        "# /boot/grub/grub.cfg.\n"                                            \
        "# For full documentation of the options in this file, see:\n"        \
        "#   info -f grub -n 'Simple configuration'\n\n"                      \
        "GRUB_DEFAULT=0\n"

static void test_grub_without_serial(void **state)
{
        const char *root = *state;
        struct answer a = load("bootloader --append=\"intel_iommu=on iommu=pt\" --timeout=3\n");
        const char *consoles[] = { "tty0" };
        struct target_boot b = { consoles, 1, "1024x768", true, true };
        struct err err = { { 0 } };

        assert_int_equal(target_set_boot_options(root, &a, &b, &err), 0);
        assert_file(root, "etc/default/grub",
                    GRUB_HEAD "GRUB_TIMEOUT=3\n"
                              "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
                              "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                              "GRUB_CMDLINE_LINUX=\"intel_iommu=on iommu=pt console=tty0 "
                              "nomodeset net.ifnames=0\"\n\n"
                              "# Uncomment to disable graphical terminal (grub-pc only)\n"
                              "#GRUB_TERMINAL=console\n\n"
                              "# The resolution used on graphical terminal\n"
                              "# note that you can use only modes which your graphic card "
                              "supports via VBE\n"
                              "# you can see them in real GRUB with the command `vbeinfo'\n"
                              "GRUB_GFXMODE=\"1024x768\"\n"
                              "GRUB_GFXPAYLOAD_LINUX=keep\n");
        answer_release(&a);
}

static void test_grub_with_serial_console(void **state)
{
        const char *root = *state;
        struct answer a = load("lang en_US.UTF-8\n");
        const char *consoles[] = { "tty0", "ttyS1,115200n8" };
        struct target_boot b = { consoles, 2, NULL, false, false };
        struct err err = { { 0 } };

        assert_int_equal(target_set_boot_options(root, &a, &b, &err), 0);
        assert_file(root, "etc/default/grub",
                    GRUB_HEAD "GRUB_TIMEOUT=5\n"
                              "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
                              "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                              "GRUB_CMDLINE_LINUX=\"console=tty0 console=ttyS1,115200n8\"\n\n"
                              "# Uncomment to disable graphical terminal (grub-pc only)\n"
                              "GRUB_TERMINAL=\"console serial\"\n\n"
                              "# The resolution used on graphical terminal\n"
                              "# note that you can use only modes which your graphic card "
                              "supports via VBE\n"
                              "# you can see them in real GRUB with the command `vbeinfo'\n"
                              "#GRUB_GFXMODE=640x480\n"
                              "GRUB_SERIAL_COMMAND=\"serial --unit=1 --speed=115200\"\n");
        answer_release(&a);
}

static void test_grub_append_consoles_win_and_quoting(void **state)
{
        const char *root = *state;
        struct answer a = load("bootloader --append='console=ttyS0 x=\"$y\"'\n");
        const char *consoles[] = { "tty0" };
        struct target_boot b = { consoles, 1, NULL, false, false };
        struct err err = { { 0 } };
        char *text;

        assert_int_equal(target_set_boot_options(root, &a, &b, &err), 0);
        text = slurp(root, "etc/default/grub");
        assert_non_null(strstr(text, "\nGRUB_CMDLINE_LINUX=\"console=ttyS0 x=\\\"\\$y\\\"\"\n"));
        assert_non_null(strstr(text, "\nGRUB_SERIAL_COMMAND=\"serial --unit=0 --speed=9600\"\n"));
        free(text);
        answer_release(&a);
}

/* ---- all together, and what a failure leaves ---- */

static void test_configure_everything(void **state)
{
        const char *root = *state;
        struct answer a = load("network --bootproto=dhcp --hostname=node7.example.org\n"
                               "rootpw --plaintext " PLAIN "\n"
                               "timezone Europe/Berlin --utc\n"
                               "keyboard uk\n"
                               "lang en_GB.UTF-8\n"
                               "sshkey --username=root \"" KEY1 "\"\n");
        struct hw_report hw = machine();
        struct storage_plan p;
        struct storage_disk d;
        struct target_runs runs = { 0 };
        struct err err = { { 0 } };
        struct target_options o = {
                .hw = &hw, .plan = &p, .uuids = uuids, .n_uuids = ELEMENTSOF(uuids)
        };
        char *text;

        default_plan(&p, &d);
        if (target_configure(root, &a, &o, &runs, &err) != 0)
                fail_msg("target_configure: %s", err.msg);
        assert_file(root, "etc/hostname", "node7\n");
        text = slurp(root, "etc/default/keyboard");
        assert_non_null(strstr(text, "XKBLAYOUT=\"gb\"\n"));
        free(text);
        text = runs_text(&runs);
        assert_string_equal(text, "locale-gen\n");
        free(text);
        text = slurp(root, "etc/network/interfaces");
        assert_non_null(strstr(text, "bridge-ports eno1\n"));
        free(text);
        assert_no_temporaries(root, "etc");
        target_runs_release(&runs);
        answer_release(&a);
}

static void test_failed_rename_leaves_old_file_and_no_temporary(void **state)
{
        const char *root = *state;
        struct answer a = load("lang en_US.UTF-8\n");
        struct hw_report hw = machine();
        struct err err = { { 0 } };
        char *parent = path_join(root, "etc/network");
        char *dir = path_join(root, "etc/network/interfaces"), *inner;

        /* A non-empty directory where the file goes: rename() cannot replace it. */
        assert_int_equal(mkdir(parent, 0755), 0);
        assert_int_equal(mkdir(dir, 0755), 0);
        inner = path_join(dir, "keep");
        file_write_str(inner, "x");
        assert_true(target_write_network(root, &a, &hw, NULL, &err) < 0);
        assert_non_null(strstr(err.msg, "etc/network/interfaces'"));
        assert_no_temporaries(root, "etc/network");
        free(inner);
        free(dir);
        free(parent);
        answer_release(&a);
}

#define T(f) cmocka_unit_test_setup_teardown(f, root_setup, root_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_fstab_default_layout),
                T(test_fstab_custom_layout_parents_first),
                T(test_fstab_device_without_uuid_is_named),
                T(test_hosts_static_fqdn),
                T(test_hosts_dhcp_default_name_from_mac),
                T(test_interfaces_dhcp_bridge_on_first_nic_with_link),
                T(test_interfaces_static_bridge_by_mac_with_mtu_and_dns),
                T(test_interfaces_no_bridge_with_ipv6),
                T(test_interfaces_vlan_under_the_bridge),
                T(test_interfaces_vlan_dhcp_without_bridge_mtu),
                T(test_interfaces_bond_under_the_bridge_and_a_second_line),
                T(test_interfaces_unknown_nic_refused),
                T(test_node_conf_keeps_other_keys),
                T(test_root_password_hashed_and_verifiable),
                T(test_root_password_crypted_kept_verbatim_and_locked),
                T(test_root_password_broken_hash_refused_without_echo),
                T(test_users_become_commands),
                T(test_user_plain_password_hashed_in_command),
                T(test_ssh_keys_modes_and_owners),
                T(test_ssh_key_for_unknown_user_refused),
                T(test_timezone_link_and_name),
                T(test_timezone_local_clock_without_utc),
                T(test_timezone_unknown_refused_by_name),
                T(test_ntp_sources_and_nontp),
                T(test_keyboard_map_table),
                T(test_keyboard_file),
                T(test_locale_uncommented_and_generated),
                T(test_locale_unknown_refused_c_needs_nothing),
                T(test_grub_without_serial),
                T(test_grub_with_serial_console),
                T(test_grub_append_consoles_win_and_quoting),
                T(test_configure_everything),
                T(test_failed_rename_leaves_old_file_and_no_temporary),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
