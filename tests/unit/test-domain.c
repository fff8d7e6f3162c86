/* domain: the OVF -> libvirt mapping rules, the XML they make, and the helpers behind them. */

#include <sys/stat.h>

#include "domain.h"
#include "helpers.h"

#define GiB (UINT64_C(1) << 30)

static void load(const char *name, struct ovf *o)
{
        char path[256];
        struct err err = { { 0 } };
        uint8_t *xml;
        size_t len;

        (void) snprintf(path, sizeof(path), "tests/unit/data/ovf/%s", name);
        xml = file_read(path, &len);
        assert_int_equal(ovf_parse((const char *) xml, len, NULL, o, &err), 0);
        free(xml);
}

static bool has_warning(const struct domain *d, const char *part)
{
        for (size_t i = 0; i < d->n_warnings; i++)
                if (strstr(d->warnings[i], part))
                        return true;
        return false;
}

static void test_esxi_efi_vm_maps_to_sata_and_e1000e(void **state)
{
        struct domain_options opt = { .dest = "/images", .network = "default" };
        struct domain d;
        struct ovf o;
        char *xml = NULL;

        (void) state;
        load("esxi-efi.ovf", &o);
        assert_int_equal(domain_from_ovf(&o, &o.vms[0], &opt, &d, NULL), 0);
        assert_string_equal(d.name, "web01");
        assert_false(d.kvm);
        assert_int_equal(d.vcpus, 4);
        assert_int_equal(d.sockets, 2);
        assert_int_equal(d.cores, 2);
        assert_int_equal(d.memory, 8 * GiB);
        assert_true(d.efi);
        assert_string_equal(d.osinfo, "http://debian.org/debian/11");
        assert_false(d.windows);
        assert_int_equal(d.n_disks, 2);
        assert_string_equal(d.disks[0].target, "sda");
        assert_string_equal(d.disks[1].target, "sdb");
        assert_int_equal(d.disks[0].bus, DOMAIN_BUS_SATA);
        assert_string_equal(d.disks[0].path, "/images/web01-disk1.qcow2");
        assert_int_equal(d.disks[0].capacity, 40 * GiB);
        assert_int_equal(d.cdroms, 1);
        assert_int_equal(d.n_nics, 1);
        assert_string_equal(d.nics[0].model, "e1000e");
        assert_string_equal(d.nics[0].mac, "00:50:56:8a:12:34");
        assert_true(has_warning(&d, "SCSI controller become SATA"));
        assert_true(has_warning(&d, "become e1000e"));
        assert_true(has_warning(&d, "software emulation"));
        assert_true(has_warning(&d, "NVRAM"));
        assert_true(has_warning(&d, "Video card")); /* carried over from the OVF */

        assert_int_equal(domain_xml(&d, &xml, NULL), 0);
        assert_non_null(strstr(xml, "<domain type=\"qemu\">"));
        assert_non_null(strstr(xml, "<name>web01</name>"));
        assert_non_null(strstr(xml, "<memory unit=\"KiB\">8388608</memory>"));
        assert_non_null(strstr(xml, "<vcpu>4</vcpu>"));
        assert_non_null(strstr(xml, "<os firmware=\"efi\">"));
        assert_non_null(strstr(xml, "machine=\"q35\""));
        assert_non_null(strstr(xml, "name=\"secure-boot\""));
        assert_non_null(strstr(xml, "sockets=\"2\" dies=\"1\" cores=\"2\""));
        assert_non_null(strstr(xml, "<source file=\"/images/web01-disk1.qcow2\"/>"));
        assert_non_null(strstr(xml, "<target dev=\"sda\" bus=\"sata\"/>"));
        assert_non_null(strstr(xml, "device=\"cdrom\""));
        assert_non_null(strstr(xml, "<target dev=\"sdc\" bus=\"sata\"/>")); /* the CD-ROM */
        assert_non_null(strstr(xml, "<mac address=\"00:50:56:8a:12:34\"/>"));
        assert_non_null(strstr(xml, "<source network=\"default\"/>"));
        assert_non_null(strstr(xml, "<model type=\"e1000e\"/>"));
        assert_non_null(strstr(xml, "<serial type=\"pty\">"));
        assert_non_null(strstr(xml, "<log file=\"/var/log/libvirt/qemu/web01-serial0.log\""));
        assert_non_null(strstr(xml, "type=\"vnc\""));
        assert_non_null(strstr(xml, "libosinfo:os id=\"http://debian.org/debian/11\""));
        assert_null(strstr(xml, "host-model")); /* no KVM: QEMU's default CPU */
        free(xml);
        domain_release(&d);
        ovf_release(&o);
}

static void test_virtio_kvm_bridge_and_new_macs(void **state)
{
        struct domain_options opt = {
                .dest = "/x", .bridge = "br0", .virtio = true, .new_macs = true, .kvm = true
        };
        struct domain d;
        struct ovf o;
        char *xml = NULL;

        (void) state;
        load("esxi-efi.ovf", &o);
        assert_int_equal(domain_from_ovf(&o, &o.vms[0], &opt, &d, NULL), 0);
        assert_string_equal(d.disks[0].target, "vda");
        assert_string_equal(d.disks[1].target, "vdb");
        assert_string_equal(d.nics[0].model, "virtio");
        assert_null(d.nics[0].mac);
        assert_false(has_warning(&d, "software emulation"));
        assert_int_equal(domain_xml(&d, &xml, NULL), 0);
        assert_non_null(strstr(xml, "<domain type=\"kvm\">"));
        assert_non_null(strstr(xml, "mode=\"host-model\""));
        assert_non_null(strstr(xml, "<interface type=\"bridge\">"));
        assert_non_null(strstr(xml, "<source bridge=\"br0\"/>"));
        assert_null(strstr(xml, "<mac "));
        /* The CD-ROM stays on SATA, the only SATA device. */
        assert_non_null(strstr(xml, "<target dev=\"sda\" bus=\"sata\"/>"));
        free(xml);
        domain_release(&d);
        ovf_release(&o);
}

static void test_name_option_must_be_usable(void **state)
{
        struct domain_options opt = { .dest = "/x", .name = "bad/name" };
        struct err err = { { 0 } };
        struct domain d;
        struct ovf o;

        (void) state;
        load("esxi-efi.ovf", &o);
        assert_int_equal(domain_from_ovf(&o, &o.vms[0], &opt, &d, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "'bad/name'"));
        opt.name = "db-02";
        assert_int_equal(domain_from_ovf(&o, &o.vms[0], &opt, &d, NULL), 0);
        assert_string_equal(d.disks[0].volume, "db-02-disk1.qcow2");
        domain_release(&d);
        ovf_release(&o);
}

static void test_names_are_sanitized(void **state)
{
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "web01", "web01" },
                { "My VM (copy)", "My-VM-copy" },
                { "../../etc/passwd", "etc-passwd" },
                { "-rf", "rf" },
                { "a<b>&c", "a-b-c" },
                { "vm.example.com_2+x", "vm.example.com_2+x" },
        };
        char *s;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(domain_sanitize_name(cases[i].in, &s), 0);
                assert_string_equal(s, cases[i].out);
                free(s);
        }
        assert_int_equal(domain_sanitize_name("///", &s), -EINVAL);
        assert_int_equal(domain_sanitize_name("", &s), -EINVAL);
}

static void test_guest_types_map_to_libosinfo(void **state)
{
        (void) state;
        assert_string_equal(domain_osinfo("debian12_64Guest"), "http://debian.org/debian/12");
        assert_string_equal(domain_osinfo("rhel9_64Guest"), "http://redhat.com/rhel/9.0");
        assert_string_equal(domain_osinfo("windows2019srv_64Guest"),
                            "http://microsoft.com/win/2k19");
        assert_string_equal(domain_osinfo("windows9_64Guest"), "http://microsoft.com/win/10");
        assert_string_equal(domain_osinfo("Windows11_64"), "http://microsoft.com/win/11");
        assert_string_equal(domain_osinfo("ubuntu64Guest"), "http://libosinfo.org/linux/2022");
        assert_string_equal(domain_osinfo("other5xLinux64Guest"),
                            "http://libosinfo.org/linux/2022");
        assert_null(domain_osinfo("solaris11_64Guest"));
        assert_null(domain_osinfo(NULL));
}

static void test_host_bridge_is_the_only_unmanaged_one(void **state)
{
        char *dir = tmpdir_new(), *p, *br = NULL;
        struct err err = { { 0 } };
        static const char *const dirs[] = { "lo",      "eth0",          "virbr0", "virbr0/bridge",
                                            "docker0", "docker0/bridge" };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                p = path_join(dir, dirs[i]);
                assert_int_equal(mkdir(p, 0755), 0);
                free(p);
        }
        assert_int_equal(domain_host_bridge(dir, &br, &err), 0);
        assert_null(br); /* only libvirt's and Docker's bridges */

        p = path_join(dir, "vmbr0");
        assert_int_equal(mkdir(p, 0755), 0);
        free(p);
        p = path_join(dir, "vmbr0/bridge");
        assert_int_equal(mkdir(p, 0755), 0);
        free(p);
        assert_int_equal(domain_host_bridge(dir, &br, &err), 0);
        assert_string_equal(br, "vmbr0");
        free(br);

        p = path_join(dir, "br1");
        assert_int_equal(mkdir(p, 0755), 0);
        free(p);
        p = path_join(dir, "br1/bridge");
        assert_int_equal(mkdir(p, 0755), 0);
        free(p);
        assert_int_equal(domain_host_bridge(dir, &br, &err), -ENOTUNIQ);
        assert_non_null(strstr(err.msg, "br1, vmbr0"));
        for (size_t i = 0; i < 3; i++) { /* the bridges' "bridge" folders, then the rest */
                static const char *const sub[] = { "virbr0/bridge", "docker0/bridge",
                                                   "vmbr0/bridge" };
                p = path_join(dir, sub[i]);
                assert_int_equal(rmdir(p), 0);
                free(p);
        }
        p = path_join(dir, "br1/bridge");
        assert_int_equal(rmdir(p), 0);
        free(p);
        for (const char *const *n = (const char *const[]){ "lo", "eth0", "virbr0", "docker0",
                                                           "vmbr0", "br1", NULL };
             *n; n++) {
                p = path_join(dir, *n);
                assert_int_equal(rmdir(p), 0);
                free(p);
        }
        tmpdir_remove(dir);
}

static void test_bad_mac_gets_a_new_one(void **state)
{
        static const char xml[] =
                "<Envelope xmlns='http://schemas.dmtf.org/ovf/envelope/1' "
                "xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1' "
                "xmlns:rasd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
                "CIM_ResourceAllocationSettingData'>"
                "<References/><VirtualSystem ovf:id='v'><VirtualHardwareSection>"
                "<Item><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>512"
                "</rasd:VirtualQuantity><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>"
                "</Item>"
                "<Item><rasd:ResourceType>10</rasd:ResourceType><rasd:ResourceSubType>E1000"
                "</rasd:ResourceSubType><rasd:Address>01:00:5e:00:00:01</rasd:Address></Item>"
                "<Item><rasd:ResourceType>10</rasd:ResourceType><rasd:ResourceSubType>e1000e"
                "</rasd:ResourceSubType><rasd:Address>00-0C-29-AA-BB-CC</rasd:Address></Item>"
                "</VirtualHardwareSection></VirtualSystem></Envelope>";
        struct domain_options opt = { .dest = "/x" };
        struct domain d;
        struct ovf o;

        (void) state;
        assert_int_equal(ovf_parse(xml, sizeof(xml) - 1, NULL, &o, NULL), 0);
        assert_int_equal(domain_from_ovf(&o, &o.vms[0], &opt, &d, NULL), 0);
        assert_int_equal(d.n_nics, 2);
        assert_null(d.nics[0].mac); /* multicast */
        assert_true(has_warning(&d, "'01:00:5e:00:00:01' is not a usable MAC"));
        assert_string_equal(d.nics[1].mac, "00:0c:29:aa:bb:cc");
        assert_true(has_warning(&d, "become e1000e")); /* the first NIC was E1000 */
        assert_string_equal(d.name, "v");              /* no Name: the ovf:id */
        assert_int_equal(d.n_disks, 0);
        domain_release(&d);
        ovf_release(&o);
}

int main(void)
{
        struct test_list l = { 0 };

        tests_add(&l, "esxi_efi_vm_maps_to_sata_and_e1000e",
                  test_esxi_efi_vm_maps_to_sata_and_e1000e, NULL, NULL, NULL);
        tests_add(&l, "virtio_kvm_bridge_and_new_macs", test_virtio_kvm_bridge_and_new_macs, NULL,
                  NULL, NULL);
        tests_add(&l, "name_option_must_be_usable", test_name_option_must_be_usable, NULL, NULL,
                  NULL);
        tests_add(&l, "names_are_sanitized", test_names_are_sanitized, NULL, NULL, NULL);
        tests_add(&l, "guest_types_map_to_libosinfo", test_guest_types_map_to_libosinfo, NULL, NULL,
                  NULL);
        tests_add(&l, "host_bridge_is_the_only_unmanaged_one",
                  test_host_bridge_is_the_only_unmanaged_one, NULL, NULL, NULL);
        tests_add(&l, "bad_mac_gets_a_new_one", test_bad_mac_gets_a_new_one, NULL, NULL, NULL);
        return tests_run("domain", &l);
}
