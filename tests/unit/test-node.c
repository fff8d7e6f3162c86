/* node: node.conf parsing, the motd block, the KVM verdict in words for each CPU case, lvs
 * output, fstab lines, and the --check levels and JSON. */

#include "helpers.h"
#include "json.h"
#include "node.h"

/* ---- node.conf ---- */

static void test_conf_defaults_without_file(void **state)
{
        char *root = tmpdir_new();
        struct node_conf c;

        (void) state;
        node_conf_init(&c);
        assert_int_equal(node_conf_load(root, &c, NULL), 0);
        assert_string_equal(c.bridge, "vmbr0");
        assert_string_equal(c.pool, "default");
        assert_string_equal(c.vg, "kvmforge");
        assert_string_equal(c.report_url, "");
        assert_int_equal(rmdir(root), 0);
        free(root);
}

static void test_conf_every_key(void **state)
{
        static const char text[] = "# written by kvmforge-install\n"
                                   "\n"
                                   "  BRIDGE = br-mgmt  \n"
                                   "REPORT_URL=\"https://deploy.example/report?id=7\"\n"
                                   "POOL='guests'\n"
                                   "VG=vg0\n"
                                   "BRIDGE=vmbr1\n"; /* a later line wins */
        struct node_conf c;
        struct err e = { { 0 } };

        (void) state;
        node_conf_init(&c);
        assert_int_equal(node_conf_parse(text, strlen(text), &c, &e), 0);
        assert_string_equal(c.bridge, "vmbr1");
        assert_string_equal(c.report_url, "https://deploy.example/report?id=7");
        assert_string_equal(c.pool, "guests");
        assert_string_equal(c.vg, "vg0");
}

static void test_conf_file_is_read_below_root(void **state)
{
        char *root = tmpdir_new(), cmd[512];
        char *dir = path_join(root, "etc/kvmforge"), *file;
        struct node_conf c;

        (void) state;
        (void) snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
        assert_int_equal(system(cmd), 0);
        file = path_join(dir, "node.conf");
        file_write_str(file, "BRIDGE=kvmftest0\n");
        node_conf_init(&c);
        assert_int_equal(node_conf_load(root, &c, NULL), 0);
        assert_string_equal(c.bridge, "kvmftest0");
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
        free(file);
        free(dir);
        free(root);
}

struct bad_conf {
        const char *name, *text, *msg;
};

static void test_conf_rejects(void **state)
{
        const struct bad_conf *b = *state;
        struct node_conf c;
        struct err e = { { 0 } };

        node_conf_init(&c);
        assert_int_equal(node_conf_parse(b->text, strlen(b->text), &c, &e), -EINVAL);
        if (!strstr(e.msg, b->msg))
                fail_msg("'%s' does not say '%s'", e.msg, b->msg);
        /* Nothing of a rejected line is taken. */
        assert_string_equal(c.pool, "default");
}

static void test_conf_rejects_nul(void **state)
{
        struct node_conf c;

        (void) state;
        node_conf_init(&c);
        assert_int_equal(node_conf_parse("BRIDGE=a\0b\n", 11, &c, NULL), -EINVAL);
}

/* ---- motd ---- */

#define BEGIN NODE_MOTD_BEGIN "\n"
#define END   NODE_MOTD_END "\n"

struct motd_case {
        const char *name, *old, *block, *want;
};

static const struct motd_case motd_cases[] = {
        { "motd_created_when_missing", NULL, "KVM: ok (Intel VT-x)\n",
          BEGIN "KVM: ok (Intel VT-x)\n" END },
        { "motd_block_appended_after_admin_lines", "Welcome.\nNo reboots on Friday.\n",
          "KVM: ok (AMD-V)\n", "Welcome.\nNo reboots on Friday.\n" BEGIN "KVM: ok (AMD-V)\n" END },
        { "motd_newline_added_before_block", "no newline at the end", "B",
          "no newline at the end\n" BEGIN "B\n" END },
        { "motd_block_replaced_rest_kept",
          "before\n" BEGIN "KVM: not available: old\nmore old\n" END "after\n",
          "KVM: ok (Intel VT-x)\n", "before\n" BEGIN "KVM: ok (Intel VT-x)\n" END "after\n" },
        { "motd_block_replaced_at_start", BEGIN "old\n" END "after\n", "new\n",
          BEGIN "new\n" END "after\n" },
        { "motd_cut_block_replaced_to_the_end", "before\n" BEGIN "old\nold too\n", "new\n",
          "before\n" BEGIN "new\n" END },
        { "motd_marker_inside_a_line_is_text", "say " NODE_MOTD_BEGIN "\n", "x\n",
          "say " NODE_MOTD_BEGIN "\n" BEGIN "x\n" END },
        { "motd_crlf_markers_found",
          "a\r\n" NODE_MOTD_BEGIN "\r\nold\r\n" NODE_MOTD_END "\r\nb\r\n", "new\n",
          "a\r\n" BEGIN "new\n" END "b\r\n" },
};

static void test_motd(void **state)
{
        const struct motd_case *m = *state;
        char *out = NULL, *again = NULL;

        assert_int_equal(node_motd_replace(m->old, m->block, &out), 0);
        assert_string_equal(out, m->want);
        /* Replacing the block by itself changes nothing. */
        assert_int_equal(node_motd_replace(out, m->block, &again), 0);
        assert_string_equal(again, out);
        free(again);
        free(out);
}

static void test_motd_update_reports_change(void **state)
{
        char *root = tmpdir_new(), cmd[512], *motd;
        bool changed = false;
        size_t len;
        uint8_t *text;

        (void) state;
        motd = path_join(root, "etc/motd");
        assert_int_equal(node_motd_update(root, "KVM: one\n", &changed, NULL), 0);
        assert_true(changed);
        assert_int_equal(node_motd_update(root, "KVM: one\n", &changed, NULL), 0);
        assert_false(changed);
        assert_int_equal(node_motd_update(root, "KVM: two\n", &changed, NULL), 0);
        assert_true(changed);
        text = file_read(motd, &len);
        assert_int_equal(len, strlen(BEGIN "KVM: two\n" END));
        assert_memory_equal(text, BEGIN "KVM: two\n" END, len);
        free(text);
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
        free(motd);
        free(root);
}

/* ---- the KVM verdict ---- */

struct kvm_case {
        const char *name;
        struct hw_cpu cpu; /* facts; the verdict comes from hw_cpu_decide() */
        bool dev_kvm;
        enum node_level level;
        const char *want;
};

#define INTEL .cpuid_known = true, .vendor = "GenuineIntel", .vmx = true, .cpuinfo_flag = true
#define AMD   .cpuid_known = true, .vendor = "AuthenticAMD", .svm = true, .cpuinfo_flag = true

static const struct kvm_case kvm_cases[] = {
        { "kvm_ok_intel", { INTEL, .kvm = HW_YES }, true, NODE_OK, "KVM: ok (Intel VT-x)" },
        { "kvm_ok_amd", { AMD, .kvm = HW_YES }, true, NODE_OK, "KVM: ok (AMD-V)" },
        { "kvm_intel_locked_off_in_firmware",
          { INTEL, .kvm = HW_NO, .msr_known = true, .msr = 0x1 },
          false,
          NODE_WARNING,
          "KVM: not available: VT-x is disabled in the firmware — enable 'Intel Virtualization "
          "Technology' in the BIOS setup" },
        { "kvm_intel_hidden_by_kernel_flag",
          { .cpuid_known = true, .vendor = "GenuineIntel", .vmx = true, .kvm = HW_NO },
          false,
          NODE_WARNING,
          "KVM: not available: VT-x is disabled in the firmware — enable 'Intel Virtualization "
          "Technology' in the BIOS setup" },
        { "kvm_amd_svm_disabled",
          { AMD, .kvm = HW_NO, .msr_known = true, .msr = 1u << 4 },
          false,
          NODE_WARNING,
          "KVM: not available: AMD-V is disabled in the firmware — enable 'SVM Mode' in the BIOS "
          "setup" },
        { "kvm_no_extension",
          { .cpuid_known = true, .vendor = "GenuineIntel", .model = "Atom", .kvm = HW_NO },
          false,
          NODE_WARNING,
          "KVM: not available: this CPU has no hardware virtualization (guests run emulated, "
          "slowly)" },
        { "kvm_virtual_machine_without_nesting",
          { .cpuid_known = true,
            .vendor = "AuthenticAMD",
            .hypervisor = true,
            .hv_vendor = "VMwareVMware",
            .kvm = HW_NO },
          false,
          NODE_WARNING,
          "KVM: not available: this node is itself a virtual machine (VMwareVMware) whose host "
          "does not pass VT-x/AMD-V through — enable nested virtualization on the host (guests "
          "run emulated, slowly)" },
        { "kvm_enabled_but_module_missing",
          { INTEL, .kvm = HW_NO, .msr_known = true, .msr = 0x5 },
          false,
          NODE_WARNING,
          "KVM: not available: Intel VT-x is enabled but /dev/kvm is missing — the kvm_intel "
          "module did not load (see 'dmesg')" },
        { "kvm_unknown_gives_the_reason",
          { .kvm = HW_NO },
          false,
          NODE_WARNING,
          "KVM: not available: CPUID could not be read" },
};

static void test_kvm_words(void **state)
{
        const struct kvm_case *k = *state;
        struct hw_cpu cpu = k->cpu;
        char buf[512];

        hw_cpu_decide(&cpu);
        assert_int_equal(node_kvm_words(&cpu, k->dev_kvm, buf, sizeof(buf)), k->level);
        assert_string_equal(buf, k->want);
}

static void test_kvm_module_by_vendor(void **state)
{
        (void) state;
        assert_string_equal(node_kvm_module(&(struct hw_cpu){ INTEL }), "kvm_intel");
        assert_string_equal(node_kvm_module(&(struct hw_cpu){ AMD }), "kvm_amd");
        assert_null(node_kvm_module(&(struct hw_cpu){ .cpuid_known = true }));
}

/* ---- lvs, fstab, XML ---- */

static void test_lvs_thin_layout(void **state)
{
        static const char out[] = "  data|thin-pool||107374182400|12.50|3.01\n"
                                  "  images|thin|data|107374182400|12.49|\n"
                                  "  root|linear||21474836480||\n"
                                  "  swap|linear||4294967296||\n";
        struct node_lvs l;

        (void) state;
        assert_int_equal(node_lvs_parse(out, &l, NULL), 0);
        assert_true(l.vg_found);
        assert_true(l.pool_found);
        assert_true(l.pool_size == 107374182400ull);
        assert_string_equal(l.data_percent, "12.50");
        assert_string_equal(l.metadata_percent, "3.01");
        assert_true(l.images_found);
        assert_true(l.images_thin);
}

static void test_lvs_rest_to_root(void **state)
{
        struct node_lvs l;

        (void) state;
        assert_int_equal(node_lvs_parse("  root|linear||21474836480||\n", &l, NULL), 0);
        assert_true(l.vg_found);
        assert_false(l.pool_found);
        assert_false(l.images_found);
}

static void test_lvs_images_not_ours(void **state)
{
        struct node_lvs l;

        (void) state;
        assert_int_equal(node_lvs_parse("  images|linear||1048576||\n", &l, NULL), 0);
        assert_true(l.images_found);
        assert_false(l.images_thin);
}

static void test_lvs_rejects(void **state)
{
        static const char *const bad[] = {
                "  data|thin-pool||1|2\n",         /* five fields */
                "  data|thin-pool||1|2|3|4\n",     /* seven */
                "  data|thin-pool||12x|1.0|1.0\n", /* size */
                "  data|thin-pool|||1.0|1.0\n",    /* no size */
        };
        struct node_lvs l;
        struct err e = { { 0 } };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(node_lvs_parse(bad[i], &l, &e), -EBADMSG);
}

static void test_fstab_added_once(void **state)
{
        static const char old[] = "# /etc/fstab\n"
                                  "/dev/mapper/kvmforge-root / ext4 errors=remount-ro 0 1\n"
                                  "# /dev/x /var/lib/libvirt/images ext4 defaults 0 2\n";
        char *out = NULL, *again = (char *) "unset";

        (void) state;
        assert_int_equal(node_fstab_add(old, "1234-abcd", "/var/lib/libvirt/images", "ext4", &out),
                         1);
        assert_string_equal(out, "# /etc/fstab\n"
                                 "/dev/mapper/kvmforge-root / ext4 errors=remount-ro 0 1\n"
                                 "# /dev/x /var/lib/libvirt/images ext4 defaults 0 2\n"
                                 "# guest images, added by kvmforge-postinst\n"
                                 "UUID=1234-abcd /var/lib/libvirt/images ext4 defaults,discard 0 "
                                 "2\n");
        assert_int_equal(
                node_fstab_add(out, "1234-abcd", "/var/lib/libvirt/images", "ext4", &again), 0);
        assert_null(again);
        free(out);
}

static void test_fstab_existing_mount_kept(void **state)
{
        char *out = (char *) "unset";

        (void) state;
        /* The admin mounts something else there (a trailing slash, tabs): theirs wins. */
        assert_int_equal(node_fstab_add("nfs:/vms\t/var/lib/libvirt/images/\tnfs\tdefaults 0 0",
                                        "u", "/var/lib/libvirt/images", "ext4", &out),
                         0);
        assert_null(out);
        assert_int_equal(node_fstab_add("UUID=x /var/lib/libvirt/images2 ext4 defaults 0 2\n", "u",
                                        "/var/lib/libvirt/images", "ext4", &out),
                         1);
        free(out);
}

static void test_xml_escape(void **state)
{
        char *s = node_xml_escape("/a&b/<c>/'d'/\"e\"");

        (void) state;
        assert_string_equal(s, "/a&amp;b/&lt;c&gt;/&apos;d&apos;/&quot;e&quot;");
        free(s);
}

/* ---- health ---- */

static void healthy(struct node_health *h)
{
        *h = (struct node_health){
                .hostname = "node1",
                .cpu = { INTEL, .kvm = HW_YES },
                .dev_kvm = true,
                .uri = "qemu:///system",
                .libvirt_ok = true,
                .pool = "default",
                .pool_path = "/var/lib/libvirt/images",
                .pool_found = true,
                .pool_active = true,
                .pool_autostart = true,
                .pool_capacity = 100ull << 30,
                .pool_available = 60ull << 30,
                .bridge = "vmbr0",
                .network_found = true,
                .network_active = true,
                .network_autostart = true,
                .bridge_exists = true,
                .addrs = { "192.0.2.10/24" },
                .n_addrs = 1,
                .lvs = { .vg_found = true,
                         .pool_found = true,
                         .pool_size = 100ull << 30,
                         .data_percent = "12.50",
                         .metadata_percent = "3.01" },
                .vg = "kvmforge",
                .ssh_state = "active",
        };
        hw_cpu_decide(&h->cpu);
        node_health_decide(h);
}

static void test_health_all_ok(void **state)
{
        struct node_health h;

        (void) state;
        healthy(&h);
        for (size_t i = 0; i < NODE_CHECK_COUNT; i++)
                if (h.items[i].level != NODE_OK)
                        fail_msg("%s: %s", node_check_names[i], h.items[i].message);
        assert_int_equal(node_health_level(&h), NODE_OK);
        assert_string_equal(h.items[NODE_CHECK_POOL].message,
                            "storage pool 'default' active at '/var/lib/libvirt/images', 60.0 GiB "
                            "free of 100.0 GiB");
}

struct health_case {
        const char *name;
        void (*breakit)(struct node_health *h);
        enum node_check_item item;
        enum node_level level;
        const char *msg;
};

static void no_libvirt(struct node_health *h)
{
        h->libvirt_ok = false;
        (void) snprintf(h->libvirt_error, sizeof(h->libvirt_error), "cannot connect");
}
static void pool_inactive(struct node_health *h)
{
        h->pool_active = false;
}
static void pool_missing(struct node_health *h)
{
        h->pool_found = false;
}
static void pool_nearly_full(struct node_health *h)
{
        h->pool_available = 1ull << 30;
}
static void bridge_gone(struct node_health *h)
{
        h->bridge_exists = false;
}
static void net_no_autostart(struct node_health *h)
{
        h->network_autostart = false;
}
static void bridge_no_ipv4(struct node_health *h)
{
        h->n_addrs = 0;
}
static void thin_data_96(struct node_health *h)
{
        (void) snprintf(h->lvs.data_percent, sizeof(h->lvs.data_percent), "96.00");
}
static void thin_data_85(struct node_health *h)
{
        (void) snprintf(h->lvs.data_percent, sizeof(h->lvs.data_percent), "85.00");
}
static void thin_meta_91(struct node_health *h)
{
        (void) snprintf(h->lvs.metadata_percent, sizeof(h->lvs.metadata_percent), "91.20");
}
static void no_thin_pool(struct node_health *h)
{
        h->lvs = (struct node_lvs){ .vg_found = true };
}
static void ssh_inactive(struct node_health *h)
{
        (void) snprintf(h->ssh_state, sizeof(h->ssh_state), "inactive");
}
static void no_kvm(struct node_health *h)
{
        h->dev_kvm = false;
        h->cpu = (struct hw_cpu){ .cpuid_known = true, .vendor = "GenuineIntel", .kvm = HW_NO };
        hw_cpu_decide(&h->cpu);
}

static const struct health_case health_cases[] = {
        { "health_libvirt_down_fails_pool_too", no_libvirt, NODE_CHECK_POOL, NODE_FAIL,
          "storage pool 'default' not checked: libvirtd does not answer" },
        { "health_libvirt_down", no_libvirt, NODE_CHECK_LIBVIRT, NODE_FAIL, "cannot connect" },
        { "health_pool_inactive", pool_inactive, NODE_CHECK_POOL, NODE_FAIL,
          "storage pool 'default' is not active" },
        { "health_pool_missing", pool_missing, NODE_CHECK_POOL, NODE_FAIL,
          "no storage pool 'default'" },
        { "health_pool_nearly_full", pool_nearly_full, NODE_CHECK_POOL, NODE_WARNING,
          "storage pool 'default' at '/var/lib/libvirt/images' is almost full: 1.0 GiB free of "
          "100.0 GiB" },
        { "health_bridge_gone", bridge_gone, NODE_CHECK_NETWORK, NODE_FAIL,
          "bridge 'vmbr0' does not exist" },
        { "health_network_not_autostarted", net_no_autostart, NODE_CHECK_NETWORK, NODE_WARNING,
          "network 'vmbr0' is active but not autostarted" },
        { "health_bridge_without_ipv4", bridge_no_ipv4, NODE_CHECK_NETWORK, NODE_WARNING,
          "network 'vmbr0' active, but bridge 'vmbr0' has no IPv4 address" },
        { "health_thin_data_full", thin_data_96, NODE_CHECK_THINPOOL, NODE_FAIL,
          "thin pool kvmforge/data: data 96.00%, metadata 3.01%: nearly full, guests will stop "
          "on writes" },
        { "health_thin_data_filling", thin_data_85, NODE_CHECK_THINPOOL, NODE_WARNING,
          "thin pool kvmforge/data: data 85.00%, metadata 3.01%: filling up" },
        { "health_thin_metadata_full", thin_meta_91, NODE_CHECK_THINPOOL, NODE_FAIL,
          "thin pool kvmforge/data: data 12.50%, metadata 91.20%: nearly full, guests will stop "
          "on writes" },
        { "health_no_thin_pool_is_fine", no_thin_pool, NODE_CHECK_THINPOOL, NODE_OK,
          "no thin pool 'data' in VG 'kvmforge': guest images on the root filesystem" },
        { "health_ssh_inactive", ssh_inactive, NODE_CHECK_SSH, NODE_WARNING,
          "ssh service is inactive" },
        { "health_no_kvm_is_a_warning", no_kvm, NODE_CHECK_KVM, NODE_WARNING,
          "KVM: not available: this CPU has no hardware virtualization (guests run emulated, "
          "slowly)" },
};

static void test_health(void **state)
{
        const struct health_case *c = *state;
        struct node_health h;

        healthy(&h);
        c->breakit(&h);
        node_health_decide(&h);
        assert_string_equal(h.items[c->item].message, c->msg);
        assert_int_equal(h.items[c->item].level, c->level);
        assert_int_equal(node_health_level(&h), c->level);
}

static void test_health_json(void **state)
{
        struct node_health h;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct json j;

        (void) state;
        healthy(&h);
        thin_data_85(&h);
        node_health_decide(&h);
        assert_non_null(f);
        json_init(&j, f);
        node_health_json(&h, &j);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(
                buf,
                "{\n"
                "  \"hostname\": \"node1\",\n"
                "  \"status\": \"warning\",\n"
                "  \"checks\": {\n"
                "    \"kvm\": {\n"
                "      \"status\": \"ok\",\n"
                "      \"message\": \"KVM: ok (Intel VT-x)\",\n"
                "      \"dev_kvm\": true,\n"
                "      \"verdict\": \"ok\",\n"
                "      \"reason\": \"/dev/kvm works: KVM guests can run here\"\n"
                "    },\n"
                "    \"libvirt\": {\n"
                "      \"status\": \"ok\",\n"
                "      \"message\": \"libvirtd answers on 'qemu:///system'\",\n"
                "      \"uri\": \"qemu:///system\",\n"
                "      \"reachable\": true\n"
                "    },\n"
                "    \"pool\": {\n"
                "      \"status\": \"ok\",\n"
                "      \"message\": \"storage pool 'default' active at '/var/lib/libvirt/images', "
                "60.0 GiB free of 100.0 GiB\",\n"
                "      \"name\": \"default\",\n"
                "      \"path\": \"/var/lib/libvirt/images\",\n"
                "      \"exists\": true,\n"
                "      \"active\": true,\n"
                "      \"autostart\": true,\n"
                "      \"capacity\": 107374182400,\n"
                "      \"available\": 64424509440\n"
                "    },\n"
                "    \"network\": {\n"
                "      \"status\": \"ok\",\n"
                "      \"message\": \"network 'vmbr0' active, bridge 'vmbr0' at 192.0.2.10/24\",\n"
                "      \"name\": \"vmbr0\",\n"
                "      \"bridge\": \"vmbr0\",\n"
                "      \"bridge_exists\": true,\n"
                "      \"exists\": true,\n"
                "      \"active\": true,\n"
                "      \"autostart\": true,\n"
                "      \"ipv4\": [\n"
                "        \"192.0.2.10/24\"\n"
                "      ]\n"
                "    },\n"
                "    \"thinpool\": {\n"
                "      \"status\": \"warning\",\n"
                "      \"message\": \"thin pool kvmforge/data: data 85.00%, metadata 3.01%: "
                "filling up\",\n"
                "      \"vg\": \"kvmforge\",\n"
                "      \"exists\": true,\n"
                "      \"data_percent\": \"85.00\",\n"
                "      \"metadata_percent\": \"3.01\"\n"
                "    },\n"
                "    \"ssh\": {\n"
                "      \"status\": \"ok\",\n"
                "      \"message\": \"ssh service active\",\n"
                "      \"state\": \"active\"\n"
                "    }\n"
                "  }\n"
                "}\n");
        free(buf);
}

int main(void)
{
        static const struct bad_conf bad[] = {
                { "conf_rejects_unknown_key", "BRIGDE=vmbr0\n",
                  "node.conf:1: unknown key 'BRIGDE'" },
                { "conf_rejects_line_without_equals", "# c\n\nvmbr0\n",
                  "node.conf:3: expected KEY=VALUE" },
                { "conf_rejects_long_bridge", "BRIDGE=vmbr0-is-far-too-long\n",
                  "is no interface name" },
                { "conf_rejects_bridge_with_space", "BRIDGE=vm br0\n", "is no interface name" },
                { "conf_rejects_bridge_with_slash", "BRIDGE=../x\n", "is no interface name" },
                { "conf_rejects_empty_bridge", "BRIDGE=\n", "is no interface name" },
                { "conf_rejects_ftp_report_url", "REPORT_URL=ftp://x/y\n",
                  "must be an http:// or https:// URL" },
                { "conf_rejects_unterminated_quote", "POOL=\"guests\n",
                  "node.conf:1: unterminated quote" },
                { "conf_rejects_pool_with_slash", "POOL=a/b\n", "is no storage pool name" },
                { "conf_rejects_vg_with_dash", "VG=-x\n", "is no volume group name" },
        };
        struct test_list l = { 0 };

        tests_add(&l, "conf_defaults_without_file", test_conf_defaults_without_file, NULL, NULL,
                  NULL);
        tests_add(&l, "conf_every_key", test_conf_every_key, NULL, NULL, NULL);
        tests_add(&l, "conf_file_is_read_below_root", test_conf_file_is_read_below_root, NULL, NULL,
                  NULL);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                tests_add(&l, bad[i].name, test_conf_rejects, NULL, NULL, (void *) &bad[i]);
        tests_add(&l, "conf_rejects_nul", test_conf_rejects_nul, NULL, NULL, NULL);
        for (size_t i = 0; i < ELEMENTSOF(motd_cases); i++)
                tests_add(&l, motd_cases[i].name, test_motd, NULL, NULL, (void *) &motd_cases[i]);
        tests_add(&l, "motd_update_reports_change", test_motd_update_reports_change, NULL, NULL,
                  NULL);
        for (size_t i = 0; i < ELEMENTSOF(kvm_cases); i++)
                tests_add(&l, kvm_cases[i].name, test_kvm_words, NULL, NULL,
                          (void *) &kvm_cases[i]);
        tests_add(&l, "kvm_module_by_vendor", test_kvm_module_by_vendor, NULL, NULL, NULL);
        tests_add(&l, "lvs_thin_layout", test_lvs_thin_layout, NULL, NULL, NULL);
        tests_add(&l, "lvs_rest_to_root", test_lvs_rest_to_root, NULL, NULL, NULL);
        tests_add(&l, "lvs_images_not_ours", test_lvs_images_not_ours, NULL, NULL, NULL);
        tests_add(&l, "lvs_rejects", test_lvs_rejects, NULL, NULL, NULL);
        tests_add(&l, "fstab_added_once", test_fstab_added_once, NULL, NULL, NULL);
        tests_add(&l, "fstab_existing_mount_kept", test_fstab_existing_mount_kept, NULL, NULL,
                  NULL);
        tests_add(&l, "xml_escape", test_xml_escape, NULL, NULL, NULL);
        tests_add(&l, "health_all_ok", test_health_all_ok, NULL, NULL, NULL);
        for (size_t i = 0; i < ELEMENTSOF(health_cases); i++)
                tests_add(&l, health_cases[i].name, test_health, NULL, NULL,
                          (void *) &health_cases[i]);
        tests_add(&l, "health_json", test_health_json, NULL, NULL, NULL);
        return tests_run("node", &l);
}
