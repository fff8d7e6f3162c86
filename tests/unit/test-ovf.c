/* ovf: descriptors shaped like ESXi/ovftool, VirtualBox (OVF 2.0) and vApp exports with their
 * expected plans, units, deployment options, and one case per hostile or broken input. */

#include "helpers.h"
#include "ovf.h"

#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)

static void load(const char *name, const char *deployment, struct ovf *o, int want)
{
        char path[256];
        struct err err = { { 0 } };
        uint8_t *xml;
        size_t len;

        (void) snprintf(path, sizeof(path), "tests/unit/data/ovf/%s", name);
        xml = file_read(path, &len);
        assert_int_equal(ovf_parse((const char *) xml, len, deployment, o, &err), want);
        free(xml);
}

static void test_esxi_export_is_read(void **state)
{
        struct ovf o;
        const struct ovf_vm *vm;

        (void) state;
        load("esxi-efi.ovf", NULL, &o, 0);
        assert_int_equal(o.version, 1);
        assert_int_equal(o.n_files, 2);
        assert_int_equal(o.files[0].size, 524288000);
        assert_int_equal(o.n_disks, 2);
        assert_int_equal(ovf_find_disk(&o, "vmdisk1")->capacity, 40 * GiB);
        assert_int_equal(ovf_find_disk(&o, "vmdisk2")->capacity, 512 * MiB);
        assert_int_equal(o.n_vms, 1);
        vm = &o.vms[0];
        assert_string_equal(vm->id, "web01");
        assert_string_equal(vm->name, "web01");
        assert_string_equal(vm->os_type, "debian11_64Guest");
        assert_int_equal(vm->vcpus, 4);
        assert_int_equal(vm->cores_per_socket, 2);
        assert_int_equal(vm->memory, 8 * GiB);
        assert_int_equal(vm->firmware, OVF_FIRMWARE_EFI);
        assert_int_equal(vm->n_disks, 2);
        assert_int_equal(vm->disks[0].bus, OVF_BUS_SCSI);
        assert_string_equal(vm->disks[0].controller_model, "VirtualSCSI");
        assert_string_equal(vm->disks[1].disk_id, "vmdisk2");
        assert_int_equal(vm->disks[1].unit, 1);
        assert_int_equal(vm->n_nics, 1);
        assert_string_equal(vm->nics[0].model, "VmxNet3");
        assert_string_equal(vm->nics[0].network, "VM Network");
        assert_string_equal(vm->nics[0].mac, "00:50:56:8a:12:34");
        assert_int_equal(vm->cdroms, 1);
        assert_int_equal(vm->n_warnings, 1); /* the video card */
        assert_non_null(strstr(vm->warnings[0], "Video card"));
        ovf_release(&o);
}

static void test_virtualbox_ovf2_export_is_read(void **state)
{
        struct ovf o;
        const struct ovf_vm *vm;

        (void) state;
        load("virtualbox-2.0.ovf", NULL, &o, 0);
        assert_int_equal(o.version, 2);
        assert_int_equal(o.files[0].size, 0);            /* not given */
        assert_int_equal(o.disks[0].capacity, 20 * GiB); /* no units: bytes */
        vm = &o.vms[0];
        assert_string_equal(vm->os_type, "Debian_64");
        assert_null(vm->name);
        assert_int_equal(vm->vcpus, 2);
        assert_int_equal(vm->memory, 2 * GiB);            /* "MegaBytes" */
        assert_int_equal(vm->firmware, OVF_FIRMWARE_EFI); /* only in vbox:Machine */
        assert_int_equal(vm->n_disks, 1);
        assert_int_equal(vm->disks[0].bus, OVF_BUS_SATA);
        assert_int_equal(vm->n_nics, 1);
        assert_string_equal(vm->nics[0].model, "E1000");
        assert_string_equal(vm->nics[0].network, "NAT");
        assert_null(vm->nics[0].mac);
        assert_int_equal(vm->n_warnings, 0);
        ovf_release(&o);
}

static void test_vapp_default_deployment_is_read(void **state)
{
        struct ovf o;

        (void) state;
        load("vapp-deployment.ovf", NULL, &o, 0);
        assert_string_equal(o.deployment, "large"); /* ovf:default, though listed second */
        assert_true(ovf_find_file(&o, "f-db")->gzip);
        assert_int_equal(ovf_find_file(&o, "f-web")->chunk_size, GiB);
        assert_null(ovf_find_disk(&o, "d-scratch")->file_ref); /* blank disk */
        assert_int_equal(ovf_find_disk(&o, "d-scratch")->capacity, GiB);
        assert_int_equal(o.n_vms, 2); /* the nested collection flattened */
        assert_string_equal(o.vms[0].id, "db");
        assert_int_equal(o.vms[0].vcpus, 8);
        assert_int_equal(o.vms[0].memory, 32 * GiB);
        assert_int_equal(o.vms[0].n_disks, 2);
        assert_string_equal(o.vms[0].disks[0].controller_model, "lsilogic");
        assert_string_equal(o.vms[1].id, "web");
        assert_int_equal(o.vms[1].memory, 4096 * MiB);
        assert_int_equal(o.vms[1].n_warnings, 1); /* memory without units */
        assert_int_equal(o.vms[1].disks[0].bus, OVF_BUS_IDE);
        ovf_release(&o);
}

static void test_vapp_chosen_deployment_gates_items(void **state)
{
        struct ovf o;

        (void) state;
        load("vapp-deployment.ovf", "small", &o, 0);
        assert_string_equal(o.deployment, "small");
        assert_int_equal(o.vms[0].vcpus, 1);
        assert_int_equal(o.vms[0].memory, GiB);
        assert_int_equal(o.vms[0].n_disks, 1); /* the scratch disk is "large" only */
        ovf_release(&o);
}

static void test_unknown_deployment_names_the_choices(void **state)
{
        struct ovf o;
        struct err err = { { 0 } };
        uint8_t *xml;
        size_t len;

        (void) state;
        xml = file_read("tests/unit/data/ovf/vapp-deployment.ovf", &len);
        assert_int_equal(ovf_parse((const char *) xml, len, "huge", &o, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "small, large"));
        free(xml);
}

static void test_units_are_resolved(void **state)
{
        static const struct {
                const char *s;
                uint64_t v;
        } ok[] = {
                { "byte", 1 },           { "bytes", 1 },           { "byte * 2^20", MiB },
                { "byte*2^30", GiB },    { "byte * 2^ 10", 1024 }, { "MegaBytes", MiB },
                { "GigaBytes", GiB },    { "KB", 1024 },           { "byte * 10^3", 1000 },
                { "byte * 1024", 1024 },
        };
        static const char *const bad[] = { "furlongs", "byte * 3^2", "byte * 2^64",
                                           "byte * 0", "",           "byte*2^" };
        uint64_t v;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                assert_int_equal(ovf_parse_units(ok[i].s, &v), 0);
                assert_int_equal(v, ok[i].v);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(ovf_parse_units(bad[i], &v), -EINVAL);
}

#define ENV1(body)                                                                                                                                                                                                                                        \
        "<?xml version=\"1.0\"?><Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\">" body \
        "</Envelope>"
#define MEM \
        "<Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>512</rasd:VirtualQuantity><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits></Item>"
#define VS(items)                                                     \
        "<VirtualSystem ovf:id=\"vm\"><VirtualHardwareSection>" items \
        "</VirtualHardwareSection></VirtualSystem>"

struct bad {
        const char *name;
        const char *xml;
        int code;
        const char *msg;
};

/* clang-format off */
static const struct bad bads[] = {
        { "billion_laughs", "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]><Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\">&lol3;</Envelope>", -EBADMSG, "DOCTYPE" },
        { "external_entity", "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\">&x;</Envelope>", -EBADMSG, "DOCTYPE" },
        { "external_dtd", "<?xml version=\"1.0\"?><!DOCTYPE Envelope SYSTEM \"http://127.0.0.1:1/ovf.dtd\"><Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\"/>", -EBADMSG, "DOCTYPE" },
        { "not_xml", "this is not XML", -EBADMSG, "well-formed" },
        { "unclosed", "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\">", -EBADMSG, "well-formed" },
        { "root_not_envelope", "<Foo xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\"/>", -EMEDIUMTYPE, "Envelope" },
        { "envelope_in_another_namespace", "<Envelope xmlns=\"urn:example\"/>", -EMEDIUMTYPE, "Envelope" },
        { "no_virtual_system", ENV1(""), -EBADMSG, "no VirtualSystem" },
        { "no_memory", ENV1(VS("")), -EBADMSG, "no memory" },
        { "capacity_overflows", ENV1("<DiskSection><Disk ovf:diskId=\"d\" ovf:capacity=\"99999999999\" ovf:capacityAllocationUnits=\"byte * 2^30\"/></DiskSection>" VS(MEM)), -EBADMSG, "bad capacity" },
        { "capacity_not_a_number", ENV1("<DiskSection><Disk ovf:diskId=\"d\" ovf:capacity=\"-5\"/></DiskSection>" VS(MEM)), -EBADMSG, "bad capacity" },
        { "capacity_unknown_units", ENV1("<DiskSection><Disk ovf:diskId=\"d\" ovf:capacity=\"5\" ovf:capacityAllocationUnits=\"furlongs\"/></DiskSection>" VS(MEM)), -EOPNOTSUPP, "units" },
        { "capacity_property_reference", ENV1("<DiskSection><Disk ovf:diskId=\"d\" ovf:capacity=\"${disk.size}\"/></DiskSection>" VS(MEM)), -EOPNOTSUPP, "property" },
        { "disk_file_not_referenced", ENV1("<DiskSection><Disk ovf:diskId=\"d\" ovf:fileRef=\"nope\" ovf:capacity=\"5\"/></DiskSection>" VS(MEM)), -EBADMSG, "References" },
        { "vm_disk_not_declared", ENV1(VS(MEM "<Item><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType><rasd:HostResource>ovf:/disk/ghost</rasd:HostResource></Item>")), -EBADMSG, "ghost" },
        { "unknown_compression", ENV1("<References><File ovf:id=\"f\" ovf:href=\"a.vmdk\" ovf:compression=\"bzip2\"/></References>" VS(MEM)), -EOPNOTSUPP, "bzip2" },
        { "file_without_href", ENV1("<References><File ovf:id=\"f\"/></References>" VS(MEM)), -EBADMSG, "href" },
        { "item_without_type", ENV1(VS(MEM "<Item><rasd:InstanceID>2</rasd:InstanceID></Item>")), -EBADMSG, "ResourceType" },
        { "absurd_cpu_count", ENV1(VS(MEM "<Item><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>999999</rasd:VirtualQuantity></Item>")), -EBADMSG, "CPU" },
        { "memory_overflows", ENV1(VS("<Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>99999999999999</rasd:VirtualQuantity><rasd:AllocationUnits>byte * 2^30</rasd:AllocationUnits></Item>")), -EBADMSG, "memory" },
        { "vm_without_id", ENV1("<VirtualSystem><VirtualHardwareSection>" MEM "</VirtualHardwareSection></VirtualSystem>"), -EBADMSG, "ovf:id" },
};
/* clang-format on */

static void test_bad_descriptor_is_refused(void **state)
{
        const struct bad *b = *state;
        struct ovf o;
        struct err err = { { 0 } };

        assert_int_equal(ovf_parse(b->xml, strlen(b->xml), NULL, &o, &err), b->code);
        if (!strstr(err.msg, b->msg))
                fail_msg("message '%s' lacks '%s'", err.msg, b->msg);
}

static void test_minimal_descriptor_is_read(void **state)
{
        static const char xml[] = ENV1(VS(MEM));
        struct ovf o;
        struct err err = { { 0 } };

        (void) state;
        assert_int_equal(ovf_parse(xml, strlen(xml), NULL, &o, &err), 0);
        assert_int_equal(o.vms[0].vcpus, 1);
        assert_int_equal(o.vms[0].memory, 512 * MiB);
        assert_int_equal(o.vms[0].firmware, OVF_FIRMWARE_BIOS);
        ovf_release(&o);
}

int main(void)
{
        struct test_list l = { 0 };

        tests_add(&l, "esxi_export_is_read", test_esxi_export_is_read, NULL, NULL, NULL);
        tests_add(&l, "virtualbox_ovf2_export_is_read", test_virtualbox_ovf2_export_is_read, NULL,
                  NULL, NULL);
        tests_add(&l, "vapp_default_deployment_is_read", test_vapp_default_deployment_is_read, NULL,
                  NULL, NULL);
        tests_add(&l, "vapp_chosen_deployment_gates_items", test_vapp_chosen_deployment_gates_items,
                  NULL, NULL, NULL);
        tests_add(&l, "unknown_deployment_names_the_choices",
                  test_unknown_deployment_names_the_choices, NULL, NULL, NULL);
        tests_add(&l, "units_are_resolved", test_units_are_resolved, NULL, NULL, NULL);
        tests_add(&l, "minimal_descriptor_is_read", test_minimal_descriptor_is_read, NULL, NULL,
                  NULL);
        for (size_t i = 0; i < ELEMENTSOF(bads); i++)
                tests_add(&l, bads[i].name, test_bad_descriptor_is_refused, NULL, NULL,
                          (void *) &bads[i]);
        return tests_run("ovf", &l);
}
