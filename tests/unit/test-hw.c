/* hw: verdicts from captured trees (CPUID and MSR answers as files), the firmware, memory,
 * DMI and NIC readers, and broken trees, which must give "unknown", never a crash. */

#include <sys/stat.h>

#include "helpers.h"
#include "hw.h"

/* CPUID answers as kvmforge/cpuid lines: vendor strings in EBX EDX ECX order, as CPUs give them. */
#define INTEL_0 "0 0 d 756e6547 6c65746e 49656e69\n"
#define AMD_0   "0 0 10 68747541 444d4163 69746e65\n"
#define KVM_40  "40000000 0 40000001 4b4d564b 564b4d56 4d\n"

struct tree {
        char *root;
        const void *param; /* the case, as tests_add() gave it */
};

static void put(struct tree *t, const char *rel, const char *text)
{
        char *p = path_join(t->root, rel);
        size_t base = strlen(t->root) + 1;

        /* Parents first, one component at a time. */
        for (size_t i = base; p[i]; i++)
                if (p[i] == '/') {
                        p[i] = '\0';
                        (void) mkdir(p, 0755);
                        p[i] = '/';
                }
        file_write_str(p, text);
        free(p);
}

static int tree_setup(void **state)
{
        struct tree *t = calloc(1, sizeof(*t));
        t->root = tmpdir_new();
        t->param = *state;
        *state = t;
        return 0;
}

static int tree_teardown(void **state)
{
        struct tree *t = *state;
        char cmd[512];
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
        assert_int_equal(system(cmd), 0);
        free(t->root);
        free(t);
        return 0;
}

static void cpu_of(struct tree *t, struct hw_cpu *cpu)
{
        struct hw_source src = { .sysroot = t->root };
        hw_cpu_detect(&src, cpu);
}

struct cpu_case {
        const char *name;
        const char *cpuid;
        const char *msr;     /* NULL: the register could not be read */
        const char *cpuinfo; /* the flags line */
        const char *kvm;     /* NULL: no /dev/kvm */
        enum hw_verdict want;
        const char *reason_has;
};

static const struct cpu_case cpu_cases[] = {
        { "intel_vtx_on", INTEL_0 "1 0 306a9 0 20 0\n", "3a 5\n", "fpu vmx sse", NULL,
          HW_VERDICT_OK, "enabled in the firmware" },
        { "intel_vtx_unlocked_firmware_leaves_it_to_linux", INTEL_0 "1 0 306a9 0 20 0\n", "3a 0\n",
          "fpu vmx", NULL, HW_VERDICT_OK, "enabled" },
        { "intel_vtx_locked_off", INTEL_0 "1 0 306a9 0 20 0\n", "3a 1\n", "fpu sse", NULL,
          HW_VERDICT_DISABLED_IN_FIRMWARE, "IA32_FEATURE_CONTROL = 0x1" },
        { "intel_vtx_only_in_smx", INTEL_0 "1 0 306a9 0 20 0\n", "3a 3\n", "fpu", NULL,
          HW_VERDICT_DISABLED_IN_FIRMWARE, "Intel Virtualization Technology" },
        { "intel_locked_off_seen_by_the_kernel_only", INTEL_0 "1 0 306a9 0 20 0\n", NULL, "fpu sse",
          NULL, HW_VERDICT_DISABLED_IN_FIRMWARE, "kernel reports it unusable" },
        { "intel_msr_unreadable_flag_present", INTEL_0 "1 0 306a9 0 20 0\n", NULL, "fpu vmx", NULL,
          HW_VERDICT_UNKNOWN, "not in the tree" },
        { "amd_svm_on", AMD_0 "80000001 0 0 0 4 0\n", "c0010114 0\n", "svm", NULL, HW_VERDICT_OK,
          "AMD-V is present" },
        { "amd_svm_disabled", AMD_0 "80000001 0 0 0 4 0\n", "c0010114 18\n", "svm", NULL,
          HW_VERDICT_DISABLED_IN_FIRMWARE, "SVM Mode" },
        { "no_vt", INTEL_0 "1 0 306a9 0 0 0\n", NULL, "fpu", NULL, HW_VERDICT_ABSENT,
          "neither VT-x nor AMD-V" },
        { "nested_guest_without_vt", INTEL_0 "1 0 306a9 0 80000000 0\n" KVM_40, NULL,
          "fpu hypervisor", NULL, HW_VERDICT_HIDDEN_BY_HYPERVISOR, "KVMKVMKVM" },
        { "nested_guest_with_vt_and_kvm", INTEL_0 "1 0 306a9 0 80000020 0\n" KVM_40, NULL,
          "vmx hypervisor", "12\n", HW_VERDICT_OK, "/dev/kvm works" },
        { "no_cpuid_in_the_tree", NULL, NULL, "fpu", NULL, HW_VERDICT_UNKNOWN, "CPUID" },
        { "garbage_cpuid", "zz\n\x01\x02 1 2\n0 0\n", NULL, "", NULL, HW_VERDICT_UNKNOWN, "CPUID" },
        { "garbage_msr", AMD_0 "80000001 0 0 0 4 0\n", "c0010114\nxx yy\n", "svm", NULL,
          HW_VERDICT_UNKNOWN, "whether the firmware enabled it is unknown" },
};

static void test_cpu_verdict(void **state)
{
        struct tree *t = *state;
        const struct cpu_case *c = t->param;
        struct hw_cpu cpu;
        char info[512];

        if (c->cpuid)
                put(t, "kvmforge/cpuid", c->cpuid);
        if (c->msr)
                put(t, "kvmforge/msr", c->msr);
        if (c->kvm)
                put(t, "kvmforge/kvm", c->kvm);
        (void) snprintf(info, sizeof(info),
                        "processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: %s\n\nprocessor\t: 1\n",
                        c->cpuinfo);
        put(t, "proc/cpuinfo", info);
        if (c->want == HW_VERDICT_OK)
                put(t, "sys/firmware/acpi/tables/DMAR", "DMAR");
        cpu_of(t, &cpu);
        assert_string_equal(cpu.iommu_table, c->want == HW_VERDICT_OK ? "DMAR" : "");
        assert_int_equal(cpu.iommu, HW_UNKNOWN); /* no /sys/class/iommu in these trees */
        if (cpu.verdict != c->want || !strstr(cpu.reason, c->reason_has))
                fail_msg("%s: got %s (%s)", c->name, hw_verdict_names[cpu.verdict], cpu.reason);
        assert_int_equal(cpu.threads, 2);
}

static void test_firmware_and_consoles(void **state)
{
        struct tree *t = *state;
        struct hw_source src = { .sysroot = t->root };
        struct hw_firmware fw;
        static const char sb_on[] = { 6, 0, 0, 0, 1 };
        char *p;

        put(t, "proc/cmdline",
            "BOOT_IMAGE=/vmlinuz ro console=tty0 console=ttyS1,115200n8 quiet\n");
        put(t, "sys/class/tty/ttyS0/type", "4\n");
        put(t, "sys/class/tty/ttyS1/type", "4\n");
        put(t, "sys/class/tty/ttyS2/type", "0\n");
        hw_firmware_detect(&src, &fw);
        assert_false(fw.uefi);
        assert_int_equal(fw.secure_boot, HW_NO);
        assert_string_equal(fw.cmdline_consoles, "tty0 ttyS1,115200n8");
        assert_non_null(strstr(fw.serial_ports, "ttyS0"));
        assert_non_null(strstr(fw.serial_ports, "ttyS1"));
        assert_null(strstr(fw.serial_ports, "ttyS2"));

        put(t, "sys/firmware/efi/efivars/.keep", "");
        hw_firmware_detect(&src, &fw);
        assert_true(fw.uefi);
        assert_int_equal(fw.secure_boot, HW_UNKNOWN);
        p = path_join(t->root,
                      "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c");
        file_write(p, sb_on, sizeof(sb_on));
        free(p);
        hw_firmware_detect(&src, &fw);
        assert_int_equal(fw.secure_boot, HW_YES);
}

static void test_memory_and_dmi(void **state)
{
        struct tree *t = *state;
        struct hw_source src = { .sysroot = t->root };
        struct hw_dmi dmi;

        assert_int_equal(hw_memory_detect(&src), 0); /* no /proc/meminfo */
        put(t, "proc/meminfo", "MemTotal:       32768000 kB\nMemFree: 1 kB\n");
        assert_int_equal(hw_memory_detect(&src), UINT64_C(32768000) * 1024);
        put(t, "proc/meminfo", "MemTotal: 99999999999999999999999 kB\n");
        assert_int_equal(hw_memory_detect(&src), 0);
        put(t, "sys/class/dmi/id/sys_vendor", "Dell Inc.\n");
        put(t, "sys/class/dmi/id/product_name", "PowerEdge R650\x01\n");
        hw_dmi_detect(&src, &dmi);
        assert_string_equal(dmi.vendor, "Dell Inc.");
        assert_string_equal(dmi.product, "PowerEdge R650?"); /* kept printable */
        assert_string_equal(dmi.serial, "");                 /* root-only: absent here */
}

static void test_nics(void **state)
{
        struct tree *t = *state;
        struct hw_source src = { .sysroot = t->root };
        struct hw_nic *nics = NULL;
        size_t n = 0;
        char *p;

        put(t, "sys/class/net/lo/address", "00:00:00:00:00:00\n");
        put(t, "sys/class/net/eno1/address", "3c:ec:ef:01:02:03\n");
        put(t, "sys/class/net/eno1/carrier", "1\n");
        put(t, "sys/class/net/eno1/speed", "10000\n");
        put(t, "sys/bus/pci/drivers/ixgbe/.keep", "");
        put(t, "sys/class/net/eno1/device/vendor", "0x8086\n");
        p = path_join(t->root, "sys/class/net/eno1/device/driver");
        assert_int_equal(symlink("../../../../bus/pci/drivers/ixgbe", p), 0);
        free(p);
        put(t, "sys/class/net/vmbr0/address", "3c:ec:ef:01:02:03\n");
        put(t, "sys/class/net/eno2/address", "3c:ec:ef:01:02:04\n");
        put(t, "sys/class/net/eno2/speed", "-1\n");
        put(t, "sys/class/net/eno2/device/vendor", "0x8086\n");
        assert_int_equal(hw_nics_detect(&src, &nics, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(nics[0].name, "eno1");
        assert_string_equal(nics[0].driver, "ixgbe");
        assert_int_equal(nics[0].carrier, HW_YES);
        assert_int_equal(nics[0].speed_mbps, 10000);
        assert_false(nics[0].virtual_dev);
        assert_string_equal(nics[1].name, "eno2");
        assert_int_equal(nics[1].carrier, HW_UNKNOWN); /* no carrier file: link down reads EINVAL */
        assert_int_equal(nics[1].speed_mbps, -1);
        assert_string_equal(nics[2].name, "vmbr0");
        assert_true(nics[2].virtual_dev);
        free(nics);
}

static void test_missing_tree_is_all_unknown(void **state)
{
        struct tree *t = *state;
        struct hw_source src = { .sysroot = t->root };
        struct hw_report r;

        /* An empty tree: nothing to read, nothing to crash on. */
        assert_int_equal(hw_report_detect(&src, &r), 0);
        assert_int_equal(r.cpu.verdict, HW_VERDICT_UNKNOWN);
        assert_int_equal(r.n_disks, 0);
        assert_int_equal(r.n_nics, 0);
        assert_int_equal(r.memory, 0);
        hw_report_release(&r);
}

static void test_fifo_in_place_of_a_file_does_not_hang(void **state)
{
        struct tree *t = *state;
        struct hw_source src = { .sysroot = t->root };
        char *p;

        put(t, "proc/.keep", "");
        p = path_join(t->root, "proc/meminfo");
        assert_int_equal(mkfifo(p, 0644), 0);
        free(p);
        assert_int_equal(hw_memory_detect(&src), 0);
}

static void make_edid(uint8_t e[128], unsigned w, unsigned h)
{
        static const uint8_t header[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
        memset(e, 0, 128);
        memcpy(e, header, 8);
        e[0x36] = 0x02; /* 148.5 MHz */
        e[0x37] = 0x3a;
        e[0x38] = w & 0xff;
        e[0x3a] = (uint8_t) ((w >> 8) << 4);
        e[0x3b] = h & 0xff;
        e[0x3d] = (uint8_t) ((h >> 8) << 4);
}

static void test_edid_preferred_mode(void **state)
{
        uint8_t e[128];
        char m[24];

        (void) state;
        make_edid(e, 1920, 1080);
        assert_int_equal(hw_edid_preferred(e, sizeof(e), m, sizeof(m)), 0);
        assert_string_equal(m, "1920x1080");
        make_edid(e, 3840, 2160);
        assert_int_equal(hw_edid_preferred(e, sizeof(e), m, sizeof(m)), 0);
        assert_string_equal(m, "3840x2160");
        assert_int_equal(hw_edid_preferred(e, 127, m, sizeof(m)), -EBADMSG); /* truncated */
        e[0x36] = e[0x37] = 0; /* a display descriptor, not a timing */
        assert_int_equal(hw_edid_preferred(e, sizeof(e), m, sizeof(m)), -EBADMSG);
        e[0] = 0x01; /* no EDID header */
        assert_int_equal(hw_edid_preferred(e, sizeof(e), m, sizeof(m)), -EBADMSG);
}

static void test_video_recommendation(void **state)
{
        struct tree *t = *state;
        struct hw_source src = { .sysroot = t->root };
        struct hw_firmware fw = { .serial_ports = "ttyS0" };
        struct hw_video v;
        uint8_t e[128];
        char *p;

        hw_video_detect(&src, &fw, &v); /* nothing: the serial line */
        assert_non_null(strstr(v.recommendation, "console=ttyS0,115200"));
        put(t, "sys/class/graphics/fb0/name", "EFI VGA\n");
        put(t, "sys/class/graphics/fb0/virtual_size", "1024,768\n");
        hw_video_detect(&src, &fw, &v);
        assert_string_equal(v.fb, "EFI VGA");
        assert_non_null(strstr(v.recommendation, "nomodeset")); /* BIOS: keep it, no KMS */
        fw.uefi = true;
        hw_video_detect(&src, &fw, &v);
        assert_non_null(strstr(v.recommendation, "gfxpayload=keep"));
        assert_non_null(strstr(v.recommendation, "1024x768"));
        put(t, "sys/class/drm/card0/dev", "226:0\n");
        put(t, "sys/class/drm/card0-HDMI-A-1/status", "connected\n");
        put(t, "sys/class/drm/card0-HDMI-A-1/modes", "2560x1440\n1920x1080\n");
        make_edid(e, 2560, 1440);
        p = path_join(t->root, "sys/class/drm/card0-HDMI-A-1/edid");
        file_write(p, e, sizeof(e));
        free(p);
        put(t, "sys/class/drm/card0-DP-1/status", "disconnected\n");
        hw_video_detect(&src, &fw, &v);
        assert_int_equal(v.n_connectors, 2);
        assert_string_equal(v.connectors[0].name, "card0-DP-1");
        assert_false(v.connectors[0].connected);
        assert_true(v.connectors[1].connected);
        assert_string_equal(v.connectors[1].mode, "2560x1440");
        assert_string_equal(v.connectors[1].edid_mode, "2560x1440");
        assert_non_null(strstr(v.recommendation, "kms"));
}

/* A first MiB of memory whose int 0x10 vector points at a video ROM holding code. */
static void put_mem(struct tree *t, const uint8_t *code, size_t len, const uint8_t *list,
                    size_t list_len)
{
        uint8_t *mem = calloc(1, 1 << 20), *rom = mem + 0xc0000;
        char *p;

        mem[0x40] = 0x03; /* IVT[0x10] = C000:0003 */
        mem[0x42] = 0x00;
        mem[0x43] = 0xc0;
        rom[0] = 0x55;
        rom[1] = 0xaa;
        rom[2] = 1; /* 512 bytes */
        memcpy(rom + 3, code, len);
        if (list)
                memcpy(rom + 0x80, list, list_len);
        put(t, "dev/.keep", "");
        p = path_join(t->root, "dev/mem");
        file_write(p, mem, 1 << 20);
        free(p);
        free(mem);
}

static void test_vbe_from_a_video_bios(void **state)
{
        /* 4F00: "VESA", version 2.0, modes at C000:0080, 4 MiB; 4F01: 1024x768x16, LFB. */
        static const uint8_t code[] = {
                0x3d, 0x00, 0x4f, 0x75, 39,                     /* cmp ax,4f00; jne 4f01 */
                0x26, 0xc7, 0x05, 0x56, 0x45,                   /* [es:di] = "VE" */
                0x26, 0xc7, 0x45, 0x02, 0x53, 0x41,             /* "SA" */
                0x26, 0xc7, 0x45, 0x04, 0x00, 0x02,             /* version 0x0200 */
                0x26, 0xc7, 0x45, 0x0e, 0x80, 0x00,             /* mode list offset */
                0x26, 0xc7, 0x45, 0x10, 0x00, 0xc0,             /* and segment */
                0x26, 0xc7, 0x45, 0x12, 0x40, 0x00,             /* 64 x 64 KiB */
                0xb8, 0x4f, 0x00, 0xcf,                         /* ax = 004f; iret */
                0x3d, 0x01, 0x4f, 0x75, 26,                     /* cmp ax,4f01; jne fail */
                0x26, 0xc7, 0x05, 0x9b, 0x00,                   /* attributes: LFB, graphics */
                0x26, 0xc7, 0x45, 0x12, 0x00, 0x04,             /* 1024 */
                0x26, 0xc7, 0x45, 0x14, 0x00, 0x03,             /* 768 */
                0x26, 0xc6, 0x45, 0x19, 0x10,                   /* 16 bpp */
                0xb8, 0x4f, 0x00, 0xcf, 0xb8, 0x00, 0x01, 0xcf, /* ok; fail: ax = 0100 */
        };
        static const uint8_t list[] = { 0x17, 0x01, 0xff, 0xff };
        struct tree *t = *state;
        struct hw_source src = { .sysroot = t->root };
        struct hw_vbe vbe;

        put_mem(t, code, sizeof(code), list, sizeof(list));
        assert_int_equal(hw_vbe_probe(&src, &vbe), 0);
        assert_true(vbe.probed);
        assert_int_equal(vbe.version, 0x0200);
        assert_int_equal(vbe.memory, 4 << 20);
        assert_int_equal(vbe.n_modes, 1);
        assert_int_equal(vbe.modes[0].mode, 0x117);
        assert_int_equal(vbe.modes[0].width, 1024);
        assert_int_equal(vbe.modes[0].height, 768);
        assert_int_equal(vbe.modes[0].bpp, 16);
        assert_true(vbe.modes[0].lfb);
        assert_int_equal(vbe.vga, 0x317);
        assert_string_equal(vbe.gfxpayload, "1024x768x16");
}

static void test_vbe_bios_that_loops_is_stopped(void **state)
{
        static const uint8_t code[] = { 0xeb, 0xfe }; /* jmp $ */
        struct tree *t = *state;
        struct hw_source src = { .sysroot = t->root };
        struct hw_vbe vbe;

        put_mem(t, code, sizeof(code), NULL, 0);
        assert_int_equal(hw_vbe_probe(&src, &vbe), -ETIMEDOUT);
        assert_false(vbe.probed);
        assert_non_null(strstr(vbe.why, "did not return"));
}

static void test_vbe_bios_that_spins_hits_the_instruction_limit(void **state)
{
        /* mov cx,ffff; loop $; jmp back to the mov: never tight, never done. */
        static const uint8_t code[] = { 0xb9, 0xff, 0xff, 0xe2, 0xfe, 0xeb, 0xf9 };
        struct tree *t = *state;
        struct hw_source src = { .sysroot = t->root };
        struct hw_vbe vbe;

        put_mem(t, code, sizeof(code), NULL, 0);
        assert_int_equal(hw_vbe_probe(&src, &vbe), -ETIMEDOUT);
        assert_non_null(strstr(vbe.why, "too long"));
}

static void test_vbe_bios_that_runs_away_is_stopped(void **state)
{
        static const uint8_t code[] = { 0xea, 0x00, 0x50, 0x00, 0x00 }; /* jmp 0000:5000 */
        struct tree *t = *state;
        struct hw_source src = { .sysroot = t->root };
        struct hw_vbe vbe;

        put_mem(t, code, sizeof(code), NULL, 0);
        assert_int_equal(hw_vbe_probe(&src, &vbe), -EFAULT);
        assert_non_null(strstr(vbe.why, "ran outside its code"));
}

static void test_vbe_without_mem_or_rom(void **state)
{
        static const uint8_t code[] = { 0xcf };
        struct tree *t = *state;
        struct hw_source src = { .sysroot = t->root };
        struct hw_vbe vbe;
        char *p;

        assert_int_equal(hw_vbe_probe(&src, &vbe), -ENOENT);
        assert_non_null(strstr(vbe.why, "cannot open /dev/mem"));
        put_mem(t, code, sizeof(code), NULL, 0);
        p = path_join(t->root, "dev/mem");
        assert_int_equal(truncate(p, 4096), 0); /* cut short */
        free(p);
        assert_int_equal(hw_vbe_probe(&src, &vbe), -EIO);
}

int main(void)
{
        struct test_list l = { 0 };

        for (size_t i = 0; i < ELEMENTSOF(cpu_cases); i++)
                tests_add(&l, cpu_cases[i].name, test_cpu_verdict, tree_setup, tree_teardown,
                          (void *) &cpu_cases[i]);
        tests_add(&l, "firmware_and_consoles", test_firmware_and_consoles, tree_setup,
                  tree_teardown, NULL);
        tests_add(&l, "memory_and_dmi", test_memory_and_dmi, tree_setup, tree_teardown, NULL);
        tests_add(&l, "nics", test_nics, tree_setup, tree_teardown, NULL);
        tests_add(&l, "edid_preferred_mode", test_edid_preferred_mode, NULL, NULL, NULL);
        tests_add(&l, "video_recommendation", test_video_recommendation, tree_setup, tree_teardown,
                  NULL);
        tests_add(&l, "vbe_from_a_video_bios", test_vbe_from_a_video_bios, tree_setup,
                  tree_teardown, NULL);
        tests_add(&l, "vbe_bios_that_loops_is_stopped", test_vbe_bios_that_loops_is_stopped,
                  tree_setup, tree_teardown, NULL);
        tests_add(&l, "vbe_bios_that_spins_hits_the_instruction_limit",
                  test_vbe_bios_that_spins_hits_the_instruction_limit, tree_setup, tree_teardown,
                  NULL);
        tests_add(&l, "vbe_bios_that_runs_away_is_stopped", test_vbe_bios_that_runs_away_is_stopped,
                  tree_setup, tree_teardown, NULL);
        tests_add(&l, "vbe_without_mem_or_rom", test_vbe_without_mem_or_rom, tree_setup,
                  tree_teardown, NULL);
        tests_add(&l, "missing_tree_is_all_unknown", test_missing_tree_is_all_unknown, tree_setup,
                  tree_teardown, NULL);
        tests_add(&l, "fifo_in_place_of_a_file_does_not_hang",
                  test_fifo_in_place_of_a_file_does_not_hang, tree_setup, tree_teardown, NULL);
        return tests_run("hw", &l);
}
