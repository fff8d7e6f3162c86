/*
 * guest-init: /init of the test guest's initramfs (see tests/integration/guest.sh).
 *
 * Writes "KVMFORGE-GUEST-OK <kernel release>" to the first serial port and to the console,
 * then powers the machine off, so that a test can tell from the serial log and from the
 * hypervisor's exit that the disk booted. PID 1 must never exit (the kernel would panic and,
 * with panic=-1, reboot into a loop), so every failure falls through to the power-off and a
 * final endless pause.
 *
 * Built static by guest.sh (`cc -static -Os`), not by the Makefile: the guest has no libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

#define GUEST_MARKER "KVMFORGE-GUEST-OK"

static void write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                buf += n;
                len -= (size_t) n;
        }
}

/* Writes LINE to the device at PATH and waits until it is sent; 0 or -errno if unopenable. */
static int say(const char *path, const char *line)
{
        int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        write_all(fd, line, strlen(line));
        /* Wait until the UART has sent it: the power-off comes right after. */
        (void) tcdrain(fd);
        (void) close(fd);
        return 0;
}

int main(void)
{
        struct utsname uts;
        char line[256];
        int r;

        /* The kernel does not mount devtmpfs on an initramfs root: do it, unless /dev is set. */
        if (access("/dev/ttyS0", F_OK) < 0) {
                (void) mkdir("/dev", 0755);
                (void) mount("devtmpfs", "/dev", "devtmpfs", 0, "mode=0755");
        }
        (void) mkdir("/proc", 0555);
        (void) mount("proc", "/proc", "proc", 0, NULL);

        if (uname(&uts) < 0)
                snprintf(uts.release, sizeof(uts.release), "unknown");
        snprintf(line, sizeof(line), "\n" GUEST_MARKER " %s\n", uts.release);

        r = say("/dev/ttyS0", line);
        if (r < 0) {
                /* Tell whoever reads the console why the serial line stayed empty. */
                char why[128];

                snprintf(why, sizeof(why), "guest-init: cannot open '/dev/ttyS0': %s\n",
                         strerror(-r));
                (void) say("/dev/console", why);
        }
        /* With console=ttyS0 this is the same port (the line shows twice); it also covers a
         * console elsewhere. The tty turns "\n" into "\r\n". */
        (void) say("/dev/console", line);

        sync();
        (void) reboot(RB_POWER_OFF);
        /* Still here: power-off failed (no ACPI?). Halting at least stops the guest's CPU. */
        (void) reboot(RB_HALT_SYSTEM);
        for (;;)
                pause();
}
