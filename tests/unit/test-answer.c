/* answer: kickstart commands of both dialects into the model, option spellings, %include,
 * overrides, strict mode, the checks against a machine, and the effective answer read back. */

#include "answer.h"
#include "helpers.h"
#include "hw.h"

#include <time.h>

static struct answer load_with(const char *text, const struct answer_load_options *o)
{
        struct answer a;

        if (answer_load(text, strlen(text), "ks.cfg", o, &a) != 0)
                fail_msg("answer_load failed");
        return a;
}

static struct answer load(const char *text)
{
        return load_with(text, NULL);
}

/* The diagnostic at line (0: any) of level whose message holds needle, or NULL. */
static const struct answer_diag *find_diag(const struct answer *a, enum answer_level level,
                                           unsigned line, const char *needle)
{
        for (size_t i = 0; i < a->n_diags; i++)
                if (a->diags[i].level == level && (!line || a->diags[i].at.line == line) &&
                    strstr(a->diags[i].msg, needle))
                        return &a->diags[i];
        return NULL;
}

static void dump(const struct answer *a)
{
        char buf[512];
        for (size_t i = 0; i < a->n_diags; i++) {
                answer_format_diag(a, &a->diags[i], buf, sizeof(buf));
                print_message("  %s\n", buf);
        }
}

#define assert_diag(a, level, line, needle)                                                     \
        do {                                                                                    \
                if (!find_diag(&(a), level, line, needle)) {                                    \
                        dump(&(a));                                                             \
                        fail_msg("no %s at line %u with '%s'", answer_level_names[level], line, \
                                 needle);                                                       \
                }                                                                               \
        } while (0)

#define assert_clean(a)                                                                     \
        do {                                                                                \
                if ((a).n_errors || (a).n_warnings) {                                       \
                        dump(&(a));                                                         \
                        fail_msg("%zu errors, %zu warnings", (a).n_errors, (a).n_warnings); \
                }                                                                           \
        } while (0)

static void test_anaconda_lvm_server_maps_onto_the_model(void **state)
{
        struct answer a = load(
                "#version=RHEL9\n"
                "text\n"
                "lang en_US.UTF-8\n"
                "keyboard --vckeymap=de-latin1-nodeadkeys --xlayouts='de (nodeadkeys)'\n"
                "timezone Europe/Berlin --utc --ntpservers=0.pool.ntp.org,1.pool.ntp.org\n"
                "rootpw --iscrypted '$6$rounds=4096$salt$hashhashhash'\n"
                "network --bootproto static --device=52:54:00:AA:BB:CC --ip=10.1.2.3 "
                "--netmask=255.255.255.0 --gateway=10.1.2.1 --nameserver 10.1.2.53 "
                "--nameserver=9.9.9.9\n"
                "network --hostname=kvm01.example.com\n"
                "ignoredisk --only-use=sda,sdb\n"
                "clearpart --all --initlabel --drives=sda,sdb\n"
                "zerombr\n"
                "reqpart\n"
                "part /boot --fstype=xfs --size=1G --ondisk=sda\n"
                "part pv.01 --fstype=lvmpv --size=1 --grow --ondisk=sda\n"
                "part pv.02 --fstype lvmpv --grow --size 1 --ondrive=sdb\n"
                "volgroup vg0 --pesize=4096 pv.01 pv.02\n"
                "logvol / --vgname=vg0 --name=root --fstype=xfs --size=20480 --maxsize=40960 --grow\n"
                "logvol swap --vgname=vg0 --name=swap --recommended\n"
                "logvol none --vgname=vg0 --name=pool --thinpool --percent=80 --metadatasize=1024\n"
                "logvol /var/lib/libvirt/images --vgname=vg0 --name=images --thin "
                "--poolname=pool --size=500000\n"
                "bootloader --location=mbr --append=\"console=ttyS0,115200 intel_iommu=on\"\n"
                "services --enabled=chronyd,libvirtd --disabled=kdump\n"
                "reboot --eject\n"
                "%packages --ignoremissing\n"
                "vim\n"
                "-nano\n"
                "%end\n"
                "%post --nochroot --log=/mnt/sysimage/root/post.log --erroronfail\n"
                "echo done\n"
                "%end\n");
        const struct answer_storage *s = &a.storage;

        (void) state;
        assert_clean(a);
        assert_int_equal(a.dialect, ANSWER_ANACONDA);
        assert_string_equal(a.version, "RHEL9");
        assert_string_equal(a.keyboard, "de(nodeadkeys)");
        assert_string_equal(a.timezone, "Europe/Berlin");
        assert_true(a.utc);
        assert_int_equal(a.n_ntpservers, 2);
        assert_true(a.rootpw.set && a.rootpw.crypted);
        assert_int_equal(a.n_networks, 1);
        assert_int_equal(a.networks[0].bootproto, ANSWER_STATIC);
        assert_string_equal(a.networks[0].device, "52:54:00:AA:BB:CC");
        assert_int_equal(a.networks[0].n_nameservers, 2); /* both spellings, both lines */
        assert_string_equal(a.hostname, "kvm01.example.com");
        assert_int_equal(s->n_only_use, 2);
        assert_int_equal(s->clear, ANSWER_CLEAR_ALL);
        assert_true(s->initlabel && s->zerombr && s->reqpart);
        assert_int_equal(s->n_parts, 3);
        assert_int_equal(s->parts[0].size, 1024);       /* 1G */
        assert_string_equal(s->parts[2].ondisk, "sdb"); /* --ondrive is --ondisk */
        assert_true(s->parts[2].grow);
        assert_int_equal(s->n_vgs, 1);
        assert_int_equal(s->vgs[0].n_pvs, 2);
        assert_int_equal(s->vgs[0].pesize_kib, 4096);
        assert_int_equal(s->n_lvs, 4);
        assert_int_equal(s->lvs[0].maxsize, 40960);
        assert_true(s->lvs[1].recommended);
        assert_true(s->lvs[2].thinpool);
        assert_int_equal(s->lvs[2].percent, 80);
        assert_true(s->lvs[3].thin);
        assert_string_equal(s->lvs[3].poolname, "pool");
        assert_string_equal(a.bootloader.append, "console=ttyS0,115200 intel_iommu=on");
        assert_int_equal(a.n_services_enabled, 2);
        assert_int_equal(a.end, ANSWER_END_REBOOT);
        assert_true(a.eject);
        assert_int_equal(a.n_packages, 1);
        assert_string_equal(a.excluded[0], "nano");
        assert_true(a.ignoremissing);
        assert_int_equal(a.n_scripts, 1);
        assert_int_equal(a.scripts[0].kind, ANSWER_POST);
        assert_true(a.scripts[0].nochroot && a.scripts[0].erroronfail);
        assert_string_equal(a.scripts[0].body, "echo done\n");
        answer_release(&a);
}

static void test_esxi_file_is_told_apart_and_its_sections_end_at_the_next(void **state)
{
        struct answer a = load("vmaccepteula\n"
                               "install --firstdisk=local,usb --overwritevmfs --novmfsondisk\n"
                               "rootpw --iscrypted $6$xyz$abcdefgh\n"
                               "keyboard 'US Default'\n"
                               "network --bootproto=dhcp --device=vmnic0 --addvmportgroup=0\n"
                               "reboot\n"
                               "%pre --interpreter=busybox\n"
                               "echo pre\n"
                               "%firstboot --interpreter=busybox\n"
                               "esxcli system hostname set --host=x\n"
                               "%firstboot --interpreter=python\n"
                               "print(1)\n");

        (void) state;
        assert_clean(a);
        assert_int_equal(a.dialect, ANSWER_ESXI);
        assert_true(a.eula);
        assert_string_equal(a.storage.firstdisk, "local,usb");
        assert_true(a.storage.overwrite && a.storage.novmfs);
        assert_string_equal(a.keyboard, "us");
        assert_int_equal(a.networks[0].addvmportgroup, 0);
        assert_true(a.eject); /* ESXi ejects unless --noeject */
        assert_int_equal(a.n_scripts, 3);
        assert_int_equal(a.scripts[0].kind, ANSWER_PRE);
        assert_string_equal(a.scripts[0].interpreter, "/bin/sh");
        assert_string_equal(a.scripts[0].body, "echo pre\n");
        assert_int_equal(a.scripts[2].kind, ANSWER_FIRSTBOOT);
        assert_string_equal(a.scripts[2].interpreter, "/usr/bin/python3");
        answer_release(&a);
}

static void test_options_are_read_as_argparse_reads_them(void **state)
{
        struct answer a = load("part /data --size 100 --fstyp=ext4 --grow\n" /* a prefix */
                               "part /srv --grow=yes --size=1\n"             /* flag + value */
                               "part /opt --size\n"                          /* no value */
                               "part /var --size=1.5T\n"                     /* not a size */
                               "part /home --sise=10\n"                      /* a typo */
                               "logvol / --vgname=vg --name=root --size=10 extra\n");

        (void) state;
        assert_diag(a, ANSWER_WARNING, 1, "'--fstyp' is short for '--fstype'");
        assert_string_equal(a.storage.parts[0].fstype, "ext4");
        assert_diag(a, ANSWER_ERROR, 2, "'--grow' takes no value");
        assert_diag(a, ANSWER_ERROR, 3, "'--size' needs a value");
        assert_diag(a, ANSWER_ERROR, 4, "is not a size");
        assert_diag(a, ANSWER_ERROR, 5, "did you mean '--size'?");
        assert_diag(a, ANSWER_ERROR, 6, "unexpected 'extra'");
        answer_release(&a);
}

static void test_commands_unknown_ignored_removed_and_repeated(void **state)
{
        struct answer a = load("timezon UTC\n"
                               "selinux --enforcing\n"
                               "auth --enableshadow --passalgo=sha512\n"
                               "timezone UTC\n"
                               "timezone Europe/Paris\n"
                               "btrfs none --data=1 sda\n");

        (void) state;
        assert_diag(a, ANSWER_ERROR, 1, "did you mean 'timezone'?");
        assert_diag(a, ANSWER_NOTICE, 2, "'selinux' has no effect");
        assert_diag(a, ANSWER_WARNING, 3, "'auth' was removed from Anaconda");
        assert_diag(a, ANSWER_WARNING, 5, "'timezone' given again (first at ks.cfg:4)");
        assert_string_equal(a.timezone, "Europe/Paris");
        assert_diag(a, ANSWER_ERROR, 6, "'btrfs' is not supported");
        answer_release(&a);
}

static void test_strict_mode_turns_warnings_into_errors(void **state)
{
        static const struct answer_load_options strict = { .strict = true };
        const char *text = "auth --useshadow\nrootpw --plaintext Aa1!Bb2@Cc3#\n";
        struct answer tolerant = load(text), a = load_with(text, &strict);

        (void) state;
        assert_int_equal(tolerant.n_errors, 0);
        assert_int_equal(tolerant.n_warnings, 1);
        assert_int_equal(a.n_errors, 1);
        assert_diag(a, ANSWER_ERROR, 1, "was removed");
        answer_release(&tolerant);
        answer_release(&a);
}

static void test_overrides_from_the_kernel_command_line_win(void **state)
{
        char *lines[] = { "timezone America/New_York", "network --hostname=node7.example.com" };
        struct answer_load_options o = { .overrides = lines, .n_overrides = 2 };
        struct answer a =
                load_with("timezone UTC\nnetwork --hostname=old.example.com\n"
                          "rootpw --lock\nsshkey --username=root \"ssh-ed25519 AAAA k\"\n",
                          &o);

        (void) state;
        assert_clean(a);
        assert_string_equal(a.timezone, "America/New_York");
        assert_string_equal(a.hostname, "node7.example.com");
        assert_int_equal(a.n_files, 2);
        assert_string_equal(a.files[1], "kernel command line");
        assert_diag(a, ANSWER_NOTICE, 1, "given again");
        assert_int_equal(a.diags[0].at.file, 1);
        answer_release(&a);
}

static void test_include_read_now_or_after_pre(void **state)
{
        _cleanup_free_ char *dir = tmpdir_new();
        _cleanup_free_ char *path = NULL;
        struct answer_load_options o = { .root = dir };
        FILE *f;

        (void) state;
        assert_true(asprintf(&path, "%s/part-include", dir) > 0);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("part / --fstype=ext4 --size=8192\npart /boot/efi --fstype=efi --size=512\n"
              "clearpart --all --initl\n",
              f);
        fclose(f);

        struct answer a = load_with("%include /part-include\nrootpw --lock\n", &o);
        assert_int_equal(a.storage.n_parts, 2);
        assert_int_equal(a.n_files, 2);
        assert_diag(a, ANSWER_WARNING, 3, "short for '--initlabel'");
        /* the message names the included file */
        assert_int_equal(find_diag(&a, ANSWER_WARNING, 3, "short for")->at.file, 1);
        answer_release(&a);

        /* Written by %pre: not there yet, read later. */
        a = load_with("%include /tmp/generated\n%pre\necho > /tmp/generated\n%end\n", &o);
        assert_diag(a, ANSWER_NOTICE, 1, "read after %pre has run");
        assert_int_equal(a.n_includes, 1);
        answer_release(&a);
        o.pre_done = true;
        a = load_with("%include /tmp/generated\n%pre\necho > /tmp/generated\n%end\n", &o);
        assert_diag(a, ANSWER_ERROR, 1, "cannot read '/tmp/generated'");
        answer_release(&a);
        o.pre_done = false;
        a = load_with("%include /nowhere\n", &o);
        assert_diag(a, ANSWER_ERROR, 1, "and no %pre writes it");
        answer_release(&a);
        /* A file that includes itself stops at the depth limit. */
        f = fopen(path, "w");
        fputs("%include /part-include\n", f);
        fclose(f);
        a = load_with("%include /part-include\n", &o);
        assert_diag(a, ANSWER_ERROR, 1, "nested deeper");
        answer_release(&a);
        unlink(path);
        rmdir(dir);
}

static void test_storage_references_and_sizes(void **state)
{
        struct answer a = load("part pv.01 --fstype=lvmpv --size=10000\n"
                               "part pv.03 --fstype=lvmpv --size=100\n"
                               "volgroup vg0 pv.01 pv.02\n"
                               "logvol / --vgname=vg0 --name=root --size=8000\n"
                               "logvol /var --vgname=vg0 --name=var --size=4000\n"
                               "logvol /srv --vgname=vg1 --name=srv --size=10\n"
                               "logvol /x --vgname=vg0 --name=x --thin --poolname=nopool --size=1\n"
                               "logvol /var --vgname=vg0 --name=var2 --size=1\n"
                               "part /boot --fstype=swap --size=512\n"
                               "raid /data --level=RAID1 --device=md0 raid.01\n"
                               "autopart\n"
                               "part pv.04 --fstype=lvmpv --size=1000\n"
                               "volgroup vgs pv.04\n"
                               "logvol /small --vgname=vgs --name=s --size=2000\n");

        (void) state;
        assert_diag(a, ANSWER_ERROR, 3, "names PV 'pv.02', which no 'part' defines; did you mean");
        assert_diag(a, ANSWER_WARNING, 2, "'pv.03' is in no volgroup");
        assert_diag(a, ANSWER_ERROR, 13, "need 2000 MiB but its PVs give 1000 MiB");
        /* vg0's size is unknown: one of its PVs is undefined (an error of its own) */
        assert_null(find_diag(&a, ANSWER_ERROR, 3, "MiB"));
        assert_diag(a, ANSWER_ERROR, 6, "did you mean 'vg0'?");
        assert_diag(a, ANSWER_ERROR, 7, "in pool 'nopool'");
        assert_diag(a, ANSWER_ERROR, 8, "mount point '/var' given twice (first at ks.cfg:5)");
        assert_diag(a, ANSWER_ERROR, 9, "a mount point needs a filesystem");
        assert_diag(a, ANSWER_ERROR, 10, "needs at least 2 members");
        assert_diag(a, ANSWER_ERROR, 11, "'autopart' and part/volgroup/logvol/raid exclude");
        answer_release(&a);
}

static void test_network_addresses(void **state)
{
        struct answer a = load("network --device=eno1 --bootproto=static --ip=192.168.1.10 "
                               "--netmask=255.255.255.0 --gateway=192.168.2.1\n"
                               "network --device=eno2 --ip=10.0.0.5/255.0.255.0\n"
                               "network --device=eno3 --ip=10.0.0.5/16 --gateway=10.0.9.1 "
                               "--nameserver=dns.example\n"
                               "network --device=eno3 --bootproto=dhcp\n"
                               "network --device=eno3 --vlanid=300 --bootproto=dhcp\n"
                               "network --device=bond0 --bondslaves=eno4,eno5 "
                               "--bondopts=mode=active-backup --bootproto=dhcp\n"
                               "network --hostname=-bad-.example\n");

        (void) state;
        assert_diag(a, ANSWER_ERROR, 1, "gateway 192.168.2.1 is outside 192.168.1.0/24");
        assert_diag(a, ANSWER_ERROR, 2, "neither a netmask");
        /* line 3 was replaced by line 4 (same device): its problems are gone */
        assert_diag(a, ANSWER_WARNING, 4, "'network' for 'eno3' given again");
        assert_null(find_diag(&a, ANSWER_ERROR, 3, "nameserver"));
        /* a VLAN on eno3 is a device of its own */
        assert_null(find_diag(&a, ANSWER_WARNING, 5, "given again"));
        assert_int_equal(a.n_networks, 5);
        assert_int_equal(a.networks[4].n_bondslaves, 2);
        assert_diag(a, ANSWER_ERROR, 7, "is not a host name");
        answer_release(&a);

        a = load("network --device=eno3 --ip=10.0.0.5/16 --gateway=10.0.9.1 --vlanid=5000 "
                 "--nameserver=dns.example\n");
        assert_diag(a, ANSWER_ERROR, 1, "'--vlanid=5000' is not between 1 and 4094");
        assert_diag(a, ANSWER_ERROR, 1, "'--nameserver=dns.example' is not an IP address");
        answer_release(&a);
}

static void test_passwords_are_checked_and_never_shown(void **state)
{
        static const struct answer_load_options http = { .cleartext = true };
        struct answer a = load_with("rootpw --plaintext s3cr\n"
                                    "user --name=ops --password=changeme --plaintext\n"
                                    "user --name=old --password=notahash --iscrypted\n"
                                    "user --name=md5 --password=$1$salt$abcdefgh --iscrypted\n",
                                    &http);

        (void) state;
        assert_diag(a, ANSWER_WARNING, 1, "shorter than 8 characters");
        assert_diag(a, ANSWER_WARNING, 1, "fetched over plain HTTP");
        assert_diag(a, ANSWER_WARNING, 2, "one of the first that attackers try");
        assert_diag(a, ANSWER_ERROR, 3, "no crypt hash");
        assert_diag(a, ANSWER_WARNING, 4, "MD5 or DES");
        for (size_t i = 0; i < a.n_diags; i++) {
                assert_null(strstr(a.diags[i].msg, "s3cr"));
                assert_null(strstr(a.diags[i].msg, "changeme"));
                assert_null(strstr(a.diags[i].msg, "notahash"));
        }
        {
                char *out = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&out, &len);
                assert_int_equal(answer_write_kickstart(&a, false, f), 0);
                fclose(f);
                assert_null(strstr(out, "s3cr"));
                assert_null(strstr(out, "changeme"));
                assert_null(strstr(out, "$1$salt"));
                free(out);
        }
        answer_release(&a);

        a = load("sshkey --username=bob \"ssh-ed25519 AAAAC3 bob@x\"\nsshkey --username=root "
                 "'not a key'\n");
        assert_diag(a, ANSWER_ERROR, 1, "neither root nor a 'user'");
        assert_diag(a, ANSWER_ERROR, 2, "no OpenSSH public key");
        answer_release(&a);
}

static char *effective(const struct answer *a)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        assert_non_null(f);
        assert_int_equal(answer_write_kickstart(a, true, f), 0);
        fclose(f);
        return out;
}

static void test_effective_answer_reads_back_the_same(void **state)
{
        struct answer a = load("network --device=eno1 --bootproto=static --ip=10.0.0.5 "
                               "--netmask=24 --gateway=10.0.0.1 --hostname=n1.example.com\n"
                               "rootpw --plaintext 'it''s a \"long\" $pass#word'\n"
                               "user --name=ops --groups=libvirt,sudo --password=x --iscrypted "
                               "--lock\n"
                               "bootloader --append='console=ttyS0 quiet'\n"
                               "autopart --type=thinp --hdsize=100G --maxroot=20G --rest=root\n"
                               "hypervisor --bridge=br0 --require-vt\n"
                               "%post\necho 'x' # kept\n%end\n");
        struct answer b;
        _cleanup_free_ char *one = effective(&a), *two = NULL;

        (void) state;
        assert_int_equal(a.storage.hdsize, 102400);
        assert_int_equal(answer_load(one, strlen(one), "effective.cfg", NULL, &b), 0);
        two = effective(&b);
        assert_string_equal(b.rootpw.value, "its a \"long\" $pass#word");
        assert_string_equal(b.hypervisor.bridge, "br0");
        assert_true(b.hypervisor.require_vt);
        assert_int_equal(b.storage.rest ? 1 : 0, 1);
        /* The first line names the file it came from; the rest is the same. */
        assert_string_equal(strchr(one, '\n'), strchr(two, '\n'));
        answer_release(&a);
        answer_release(&b);
}

static void test_checks_against_the_machine(void **state)
{
        struct hw_disk disks[3] = { 0 };
        struct hw_nic nics[2] = { 0 };
        struct hw_report hw = { .disks = disks, .n_disks = 3, .nics = nics, .n_nics = 2 };
        struct answer_check_env env = { .hw = &hw };
        struct answer a;

        (void) state;
        strcpy(disks[0].name, "sda");
        strcpy(disks[0].path, "/dev/sda");
        strcpy(disks[0].model, "SAMSUNG SSD");
        strcpy(disks[0].transport, "sata");
        disks[0].size = 500ull << 30;
        strcpy(disks[1].name, "sdb");
        strcpy(disks[1].path, "/dev/sdb");
        strcpy(disks[1].model, "SAMSUNG SSD");
        strcpy(disks[1].transport, "sata");
        disks[1].size = 500ull << 30;
        strcpy(disks[2].name, "sdc");
        strcpy(disks[2].path, "/dev/sdc");
        strcpy(disks[2].transport, "usb");
        disks[2].size = 16ull << 30;
        disks[2].install_medium = true;
        strcpy(nics[0].name, "eno1");
        strcpy(nics[0].mac, "52:54:00:00:00:01");
        nics[0].carrier = HW_YES;
        strcpy(nics[1].name, "eno2");
        strcpy(nics[1].mac, "52:54:00:00:00:02");
        nics[1].carrier = HW_YES;
        hw.cpu.verdict = HW_VERDICT_DISABLED_IN_FIRMWARE;
        strcpy(hw.cpu.reason, "VT-x is off in the firmware setup");

        a = load("ignoredisk --only-use=sdz\n"
                 "part / --size=600G --ondisk=model=SAMSUNG*\n"
                 "part /boot/efi --fstype=efi --size=512 --ondisk=sdc\n"
                 "part /srv --size=600000 --ondisk=sdb\n"
                 "network --device=link --bootproto=dhcp\n"
                 "network --device=52-54-00-00-00-02 --bootproto=dhcp\n"
                 "hypervisor --require-vt\n");
        assert_int_equal(answer_check_hw(&a, &env), 0);
        answer_sort_diags(&a);
        assert_diag(a, ANSWER_ERROR, 0, "'sdz' matches no disk (disks: sda, sdb, sdc)");
        assert_diag(a, ANSWER_ERROR, 2, "matches 2 disks (sda, sdb) where one is meant");
        assert_diag(a, ANSWER_ERROR, 3, "holds the install medium");
        assert_diag(a, ANSWER_ERROR, 4, "the partitions on sdb need 600000 MiB");
        assert_diag(a, ANSWER_ERROR, 5, "'link' matches 2 NICs");
        assert_null(find_diag(&a, ANSWER_ERROR, 6, "NIC"));
        assert_diag(a, ANSWER_ERROR, 7, "'hypervisor --require-vt' refuses it");
        answer_release(&a);
}

static char *read_fd_all(int fd)
{
        char *buf = calloc(1, 4096);
        assert_non_null(buf);
        assert_true(pread(fd, buf, 4095, 0) >= 0);
        return buf;
}

static void test_scripts_run_with_their_status_output_and_timeout(void **state)
{
        _cleanup_free_ char *dir = tmpdir_new(), *log = path_join(dir, "log");
        _cleanup_close_ int fd = open(log, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        struct answer a = load("%pre\necho hello from pre\nexit 3\n%end\n"
                               "%pre --interpreter=/usr/bin/python3\nprint('py', 6 * 7)\n%end\n"
                               "%pre --timeout=1\nsleep 30 &\nwait\n%end\n"
                               "%pre --interpreter=/nonexistent/sh\ntrue\n%end\n");
        struct err err = { { 0 } };
        struct timespec t0, t1;
        _cleanup_free_ char *out = NULL;

        (void) state;
        assert_true(fd >= 0);
        assert_int_equal(a.n_scripts, 4);
        assert_int_equal(answer_script_run(&a.scripts[0], NULL, fd, &err), -ECHILD);
        assert_string_equal(err.msg, "the %pre script of line 1 exited with status 3");
        assert_int_equal(answer_script_run(&a.scripts[1], NULL, fd, NULL), 0);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        err.msg[0] = '\0';
        assert_int_equal(answer_script_run(&a.scripts[2], NULL, fd, &err), -ETIMEDOUT);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_true(t1.tv_sec - t0.tv_sec < 10); /* the background sleep was killed too */
        assert_non_null(strstr(err.msg, "ran longer than 1 s"));
        err.msg[0] = '\0';
        assert_int_equal(answer_script_run(&a.scripts[3], NULL, fd, &err), -ECHILD);
        assert_non_null(strstr(err.msg, "its interpreter is missing"));
        out = read_fd_all(fd);
        assert_non_null(strstr(out, "hello from pre\n"));
        assert_non_null(strstr(out, "py 42\n"));
        answer_release(&a);
        unlink(log);
        rmdir(dir);
}

static void test_prepare_reads_what_pre_wrote(void **state)
{
        _cleanup_free_ char *dir = tmpdir_new(), *inc = path_join(dir, "part-include"),
                            *text = NULL;
        _cleanup_close_ int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        struct answer a;
        struct err err = { { 0 } };

        (void) state;
        assert_true(asprintf(&text,
                             "rootpw --iscrypted $6$s$h\n%%include %s\n"
                             "%%pre\necho 'part / --fstype=ext4 --size=4096' > %s\n"
                             "echo 'reqpart' >> %s\n%%end\n",
                             inc, inc, inc) > 0);
        /* check-answer: not run, remembered */
        assert_int_equal(
                answer_prepare(text, strlen(text), "ks.cfg", NULL, false, fd, NULL, &a, &err), 0);
        assert_int_equal(a.n_includes, 1);
        assert_int_equal(a.storage.n_parts, 0);
        answer_release(&a);
        /* the installer: run, then read */
        assert_int_equal(
                answer_prepare(text, strlen(text), "ks.cfg", NULL, true, fd, NULL, &a, &err), 0);
        assert_int_equal(a.n_includes, 0);
        assert_int_equal(a.storage.n_parts, 1);
        assert_true(a.storage.reqpart);
        assert_int_equal(a.n_errors, 0);
        answer_release(&a);
        unlink(inc);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_anaconda_lvm_server_maps_onto_the_model),
                cmocka_unit_test(test_esxi_file_is_told_apart_and_its_sections_end_at_the_next),
                cmocka_unit_test(test_options_are_read_as_argparse_reads_them),
                cmocka_unit_test(test_commands_unknown_ignored_removed_and_repeated),
                cmocka_unit_test(test_strict_mode_turns_warnings_into_errors),
                cmocka_unit_test(test_overrides_from_the_kernel_command_line_win),
                cmocka_unit_test(test_include_read_now_or_after_pre),
                cmocka_unit_test(test_storage_references_and_sizes),
                cmocka_unit_test(test_network_addresses),
                cmocka_unit_test(test_passwords_are_checked_and_never_shown),
                cmocka_unit_test(test_effective_answer_reads_back_the_same),
                cmocka_unit_test(test_checks_against_the_machine),
                cmocka_unit_test(test_scripts_run_with_their_status_output_and_timeout),
                cmocka_unit_test(test_prepare_reads_what_pre_wrote),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
