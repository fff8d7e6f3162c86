/* CPU virtualization: CPUID, the firmware lock MSR, the kernel's view, /dev/kvm, and a verdict
 * with its reason. */
#include <cpuid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "hw.h"

#define MSR_FEATURE_CONTROL 0x3a
#define MSR_VM_CR           0xc0010114
#define FC_LOCKED           (1u << 0)
#define FC_VMX_OUTSIDE_SMX  (1u << 2)
#define VM_CR_SVMDIS        (1u << 4)
#define KVM_GET_API_VERSION 0xae00

const char *const hw_verdict_names[HW_VERDICT_COUNT] = {
        [HW_VERDICT_OK] = "ok",
        [HW_VERDICT_DISABLED_IN_FIRMWARE] = "disabled-in-firmware",
        [HW_VERDICT_ABSENT] = "absent",
        [HW_VERDICT_HIDDEN_BY_HYPERVISOR] = "hidden-by-hypervisor",
        [HW_VERDICT_UNKNOWN] = "unknown",
};

const char *const hw_tristate_names[3] = { "no", "yes", "unknown" };

/* ---- CPUID, live or from kvmforge/cpuid ---- */

struct cpuid_regs {
        uint32_t a, b, c, d;
};

static bool cpuid_fixture(const char *text, uint32_t leaf, uint32_t sub, struct cpuid_regs *ret)
{
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                unsigned l, s, a, b, c, d;
                if (sscanf(p, "%x %x %x %x %x %x", &l, &s, &a, &b, &c, &d) == 6 && l == leaf &&
                    s == sub) {
                        *ret = (struct cpuid_regs){ a, b, c, d };
                        return true;
                }
        }
        return false;
}

/* false when the leaf is not known (beyond the CPU's maximum, or missing from the tree). */
static bool cpuid(const struct hw_source *src, const char *fixture, uint32_t leaf,
                  struct cpuid_regs *ret)
{
        if (src->sysroot)
                return fixture && cpuid_fixture(fixture, leaf, 0, ret);
        /* Hypervisor leaves (0x40000000...) lie above the basic maximum and exist whenever
         * CPUID.1 says a hypervisor is there; the caller checks that first. */
        if ((leaf & 0xf0000000u) != 0x40000000u && __get_cpuid_max(leaf & 0x80000000u, NULL) < leaf)
                return false;
        __cpuid_count(leaf, 0, ret->a, ret->b, ret->c, ret->d);
        return true;
}

/* ---- MSR, live through /dev/cpu/0/msr or from kvmforge/msr ---- */

static int msr_fixture(const struct hw_source *src, uint32_t msr, uint64_t *ret)
{
        char text[4096];
        ssize_t n = hw_read_file(src, "/kvmforge/msr", text, sizeof(text));

        if (n < 0)
                return (int) n;
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                unsigned long long m, v;
                if (sscanf(p, "%llx %llx", &m, &v) == 2 && m == msr) {
                        *ret = v;
                        return 0;
                }
        }
        return -ENOENT;
}

static void load_msr_module(void)
{
        pid_t pid = fork();
        int status;

        if (pid == 0) {
                /* The argv of a program, never a shell; its output is of no use to us. */
                int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (fd >= 0) {
                        (void) dup2(fd, STDOUT_FILENO);
                        (void) dup2(fd, STDERR_FILENO);
                }
                execlp("modprobe", "modprobe", "-q", "msr", (char *) NULL);
                _exit(127);
        }
        if (pid > 0)
                (void) waitpid(pid, &status, 0);
}

static int msr_read(const struct hw_source *src, uint32_t msr, uint64_t *ret, char *why,
                    size_t why_len)
{
        _cleanup_close_ int fd = -1;
        ssize_t n;

        if (src->sysroot) {
                int r = msr_fixture(src, msr, ret);
                if (r < 0)
                        (void) snprintf(why, why_len, "MSR 0x%" PRIx32 " is not in the tree", msr);
                return r;
        }
        fd = open("/dev/cpu/0/msr", O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && geteuid() == 0) {
                load_msr_module();
                fd = open("/dev/cpu/0/msr", O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0) {
                int e = errno;
                (void) snprintf(why, why_len, "cannot open /dev/cpu/0/msr: %s%s", strerror(e),
                                e == EACCES || e == EPERM ? " (run as root)" : "");
                return -e;
        }
        n = pread(fd, ret, sizeof(*ret), msr);
        if (n != (ssize_t) sizeof(*ret)) {
                int e = n < 0 ? errno : EIO;
                (void) snprintf(why, why_len, "cannot read MSR 0x%" PRIx32 ": %s", msr,
                                strerror(e));
                return -e;
        }
        return 0;
}

/* ---- the kernel's side ---- */

static enum hw_tristate kvm_usable(const struct hw_source *src)
{
        char buf[32];
        _cleanup_close_ int fd = -1;

        if (src->sysroot)
                return hw_read_attr(src, "/kvmforge/kvm", buf, sizeof(buf)) == 0 &&
                                       strtol(buf, NULL, 10) == 12
                               ? HW_YES
                               : HW_NO;
        fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? HW_NO : HW_UNKNOWN;
        return ioctl(fd, KVM_GET_API_VERSION, 0) == 12 ? HW_YES : HW_NO;
}

static bool cpuinfo_has(const char *cpuinfo, const char *flag)
{
        const char *line = strstr(cpuinfo, "\nflags");
        size_t n = strlen(flag);

        if (!line)
                return false;
        line = strchr(line, ':');
        for (const char *p = line; p && *p && *p != '\n'; p++)
                if (p[-1] == ' ' && strncmp(p, flag, n) == 0 &&
                    (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
                        return true;
        return false;
}

static enum hw_tristate nested(const struct hw_source *src, const char *module)
{
        char path[96], buf[8];

        (void) snprintf(path, sizeof(path), "/sys/module/%s/parameters/nested", module);
        if (hw_read_attr(src, path, buf, sizeof(buf)) < 0)
                return HW_UNKNOWN;
        return buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1' ? HW_YES : HW_NO;
}

static enum hw_tristate iommu(const struct hw_source *src)
{
        char path[512];
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *e;

        hw_path(src, "/sys/class/iommu", path, sizeof(path));
        d = opendir(path);
        if (!d)
                return HW_UNKNOWN;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        return HW_YES;
        return HW_NO;
}

static unsigned online_threads(const char *cpuinfo)
{
        unsigned n = 0;
        for (const char *p = cpuinfo; (p = strstr(p, "processor")); p++)
                if (p == cpuinfo || p[-1] == '\n')
                        n++;
        return n;
}

void hw_cpu_detect(const struct hw_source *src, struct hw_cpu *cpu)
{
        _cleanup_free_ char *fixture = NULL, *cpuinfo = malloc(HW_MAX_FILE);
        struct cpuid_regs r;

        *cpu = (struct hw_cpu){ .kvm = HW_UNKNOWN, .nested = HW_UNKNOWN, .iommu = HW_UNKNOWN };
        if (src->sysroot && (fixture = malloc(65536)) &&
            hw_read_file(src, "/kvmforge/cpuid", fixture, 65536) < 0) {
                free(fixture);
                fixture = NULL;
        }
        if (cpuid(src, fixture, 0, &r)) {
                cpu->cpuid_known = true;
                memcpy(cpu->vendor, &r.b, 4);
                memcpy(cpu->vendor + 4, &r.d, 4);
                memcpy(cpu->vendor + 8, &r.c, 4);
                if (cpuid(src, fixture, 1, &r)) {
                        cpu->vmx = r.c & (1u << 5);
                        cpu->hypervisor = r.c & (1u << 31);
                }
                if (cpuid(src, fixture, 0x80000001u, &r))
                        cpu->svm = r.c & (1u << 2);
                if (cpu->hypervisor && cpuid(src, fixture, 0x40000000u, &r)) {
                        memcpy(cpu->hv_vendor, &r.b, 4);
                        memcpy(cpu->hv_vendor + 4, &r.c, 4);
                        memcpy(cpu->hv_vendor + 8, &r.d, 4);
                        for (size_t i = 0; i < 12; i++) /* printable only: it comes from outside */
                                if (cpu->hv_vendor[i] &&
                                    (cpu->hv_vendor[i] < 0x20 || cpu->hv_vendor[i] > 0x7e))
                                        cpu->hv_vendor[i] = '?';
                        for (size_t i = strlen(cpu->hv_vendor);
                             i > 0 && cpu->hv_vendor[i - 1] == ' '; i--)
                                cpu->hv_vendor[i - 1] = '\0';
                }
                for (size_t i = 0; i < 12; i++)
                        if (cpu->vendor[i] && (cpu->vendor[i] < 0x20 || cpu->vendor[i] > 0x7e))
                                cpu->vendor[i] = '?';
        }
        if (cpuinfo && hw_read_file(src, "/proc/cpuinfo", cpuinfo, HW_MAX_FILE) > 0) {
                const char *m = strstr(cpuinfo, "model name");
                cpu->threads = online_threads(cpuinfo);
                cpu->cpuinfo_flag = cpuinfo_has(cpuinfo, "vmx") || cpuinfo_has(cpuinfo, "svm");
                if (m && (m = strchr(m, ':')))
                        (void) snprintf(cpu->model, sizeof(cpu->model), "%.*s",
                                        (int) strcspn(m + 2, "\n"), m + 2);
        }
        if (cpu->vmx || cpu->svm) {
                uint32_t msr = cpu->vmx ? MSR_FEATURE_CONTROL : MSR_VM_CR;
                cpu->msr_known =
                        msr_read(src, msr, &cpu->msr, cpu->msr_why, sizeof(cpu->msr_why)) == 0;
        }
        cpu->kvm = kvm_usable(src);
        cpu->nested = nested(src, cpu->svm ? "kvm_amd" : "kvm_intel");
        cpu->iommu = iommu(src);
        /* The firmware's table says the hardware is there even when the kernel runs it off
         * (intel_iommu=on missing): what PCI passthrough will need. */
        for (const char *const *t = (const char *const[]){ "DMAR", "IVRS", NULL }; *t; t++) {
                char p[64], full[512];
                (void) snprintf(p, sizeof(p), "/sys/firmware/acpi/tables/%s", *t);
                hw_path(src, p, full, sizeof(full));
                if (access(full, F_OK) == 0) {
                        (void) snprintf(cpu->iommu_table, sizeof(cpu->iommu_table), "%s", *t);
                        break;
                }
        }
        hw_cpu_decide(cpu);
}

static void decide(struct hw_cpu *cpu, enum hw_verdict v, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void decide(struct hw_cpu *cpu, enum hw_verdict v, const char *fmt, ...)
{
        va_list ap;

        cpu->verdict = v;
        va_start(ap, fmt);
        (void) vsnprintf(cpu->reason, sizeof(cpu->reason), fmt, ap);
        va_end(ap);
}

void hw_cpu_decide(struct hw_cpu *cpu)
{
        const char *ext = cpu->vmx ? "VT-x" : "AMD-V";

        if (cpu->kvm == HW_YES) {
                decide(cpu, HW_VERDICT_OK, "/dev/kvm works: KVM guests can run here");
                return;
        }
        if (!cpu->cpuid_known) {
                decide(cpu, HW_VERDICT_UNKNOWN, "CPUID could not be read");
                return;
        }
        if (!cpu->vmx && !cpu->svm) {
                if (cpu->hypervisor)
                        decide(cpu, HW_VERDICT_HIDDEN_BY_HYPERVISOR,
                               "this is a virtual machine (%s) whose host does not pass VT-x or "
                               "AMD-V through: enable nested virtualization on the host",
                               cpu->hv_vendor[0] ? cpu->hv_vendor : "unknown hypervisor");
                else
                        decide(cpu, HW_VERDICT_ABSENT,
                               "the CPU (%s) has neither VT-x nor AMD-V: KVM cannot run here",
                               cpu->model[0] ? cpu->model : cpu->vendor);
                return;
        }
        if (cpu->msr_known) {
                bool off = cpu->vmx ? (cpu->msr & FC_LOCKED) && !(cpu->msr & FC_VMX_OUTSIDE_SMX)
                                    : (cpu->msr & VM_CR_SVMDIS);
                if (off) {
                        decide(cpu, HW_VERDICT_DISABLED_IN_FIRMWARE,
                               "%s is switched off in the firmware (%s = 0x%" PRIx64
                               "): enable %s in the BIOS/UEFI setup and power-cycle",
                               ext, cpu->vmx ? "IA32_FEATURE_CONTROL" : "VM_CR", cpu->msr,
                               cpu->vmx ? "\"Intel Virtualization Technology\"" : "\"SVM Mode\"");
                        return;
                }
                decide(cpu, HW_VERDICT_OK, "%s is present and enabled in the firmware%s", ext,
                       cpu->kvm == HW_NO ? " (the kvm module is not loaded yet)" : "");
                return;
        }
        /* Since Linux 5.6 the kernel drops the vmx flag when the firmware locked VT-x off. */
        if (cpu->vmx && !cpu->cpuinfo_flag) {
                decide(cpu, HW_VERDICT_DISABLED_IN_FIRMWARE,
                       "the CPU has VT-x but the kernel reports it unusable (switched off in the "
                       "firmware): enable \"Intel Virtualization Technology\" in the BIOS/UEFI "
                       "setup");
                return;
        }
        decide(cpu, HW_VERDICT_UNKNOWN,
               "%s is present, but whether the firmware enabled it is "
               "unknown: %s",
               ext, cpu->msr_why[0] ? cpu->msr_why : "the lock register was not read");
}
