/* VBE: asks the video BIOS itself which modes it has, by running its int 0x10 handler
 * (AX=4F00h, then 4F01h per mode) in an x86 emulator (libx86emu) over a copy of the first MiB
 * of memory: the interrupt table, the BIOS data area, the video ROM and the system BIOS. Only
 * BIOS machines have one. The ROM is code from the machine's vendor, so every run is bounded
 * (instructions and seconds) and every pointer it returns is checked before use. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <unistd.h>
#include <x86emu.h>

#include "bytes.h"
#include "cleanup.h"
#include "hw.h"

#define LOW_MEM     0x100000u /* real mode reaches the first MiB */
#define ROM_START   0xc0000u
#define CODE_AT     0x7c00u /* int 0x10; hlt */
#define STACK_TOP   0x7000u
#define INFO_AT     0x8000u /* VbeInfoBlock, 512 bytes */
#define MODE_AT     0x9000u /* ModeInfoBlock, 256 bytes */
#define MAX_INSTR   20000000u
#define MAX_SECONDS 5u

static void quiet(x86emu_t *emu, char *buf, unsigned size)
{
        (void) emu;
        (void) buf;
        (void) size;
}

/* The first MiB from /dev/mem (or the tree's dev/mem): only the parts a video BIOS call uses. */
static int read_low_memory(const struct hw_source *src, uint8_t *mem, char *why, size_t why_len)
{
        char path[512];
        _cleanup_close_ int fd = -1;

        hw_path(src, "/dev/mem", path, sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                int e = errno;
                (void) snprintf(why, why_len, "cannot open /dev/mem: %s%s", strerror(e),
                                e == EACCES || e == EPERM ? " (run as root)" : "");
                return -e;
        }
        /* All of it: a video BIOS keeps data in low memory too (SeaBIOS's its stack in the
         * EBDA). The kernel always lets root read the first MiB of /dev/mem. */
        if (pread(fd, mem, LOW_MEM, 0) != (ssize_t) LOW_MEM) {
                (void) snprintf(why, why_len, "cannot read the BIOS areas from /dev/mem");
                return -EIO;
        }
        return 0;
}

static int call_int10(x86emu_t *emu, uint16_t ax, uint16_t cx, uint16_t di, char *why,
                      size_t why_len)
{
        unsigned err;

        x86emu_set_seg_register(emu, emu->x86.R_CS_SEL, 0);
        x86emu_set_seg_register(emu, emu->x86.R_SS_SEL, 0);
        x86emu_set_seg_register(emu, emu->x86.R_DS_SEL, 0);
        x86emu_set_seg_register(emu, emu->x86.R_ES_SEL, 0);
        emu->x86.R_EIP = CODE_AT;
        emu->x86.R_ESP = STACK_TOP;
        emu->x86.R_EAX = ax;
        emu->x86.R_EBX = 0;
        emu->x86.R_ECX = cx;
        emu->x86.R_EDX = 0;
        emu->x86.R_EDI = di;
        emu->max_instr = emu->x86.R_TSC + MAX_INSTR;
        emu->timeout = MAX_SECONDS;
        err = x86emu_run(emu, X86EMU_RUN_MAX_INSTR | X86EMU_RUN_TIMEOUT | X86EMU_RUN_LOOP |
                                      X86EMU_RUN_NO_EXEC);
        if (err & (X86EMU_RUN_MAX_INSTR | X86EMU_RUN_TIMEOUT | X86EMU_RUN_LOOP)) {
                (void) snprintf(why, why_len,
                                "the video BIOS did not return from int 0x10 AX=%04x (%s)", ax,
                                err & X86EMU_RUN_LOOP ? "it loops" : "too long");
                return -ETIMEDOUT;
        }
        if (err & X86EMU_RUN_NO_EXEC) {
                (void) snprintf(why, why_len,
                                "the video BIOS ran outside its code for int 0x10 AX=%04x (at "
                                "%04x:%04x)",
                                ax, (unsigned) emu->x86.R_CS, (unsigned) emu->x86.R_IP);
                return -EFAULT;
        }
        if ((emu->x86.R_EAX & 0xffff) != 0x004f) {
                (void) snprintf(why, why_len,
                                "the video BIOS has no VBE (int 0x10 AX=%04x "
                                "answered %04x)",
                                ax, (unsigned) (emu->x86.R_EAX & 0xffff));
                return -EOPNOTSUPP;
        }
        return 0;
}

static uint32_t far_ptr(x86emu_t *emu, uint32_t at)
{
        uint32_t off = x86emu_read_word(emu, at), seg = x86emu_read_word(emu, at + 2);
        return seg * 16 + off;
}

/* The classic VESA modes, best first; Linux's vga= is the number + 0x200 (0x117 is vga=0x317,
 * 791), as in GRUB's and vesafb's tables. VBE 2.0 stopped requiring fixed numbers, so each is
 * checked against its resolution and depth, not trusted by number. */
static const struct {
        uint16_t mode;
        unsigned w, h, bpp;
} classic[] = {
        { 0x117, 1024, 768, 16 }, { 0x118, 1024, 768, 24 }, { 0x114, 800, 600, 16 },
        { 0x115, 800, 600, 24 },  { 0x111, 640, 480, 16 },  { 0x112, 640, 480, 24 },
};

int hw_vbe_probe(const struct hw_source *src, struct hw_vbe *vbe)
{
        _cleanup_free_ uint8_t *mem = calloc(1, LOW_MEM);
        x86emu_t *emu = NULL;
        uint32_t list;
        int r;

        *vbe = (struct hw_vbe){ 0 };
        if (!mem)
                return -ENOMEM;
        r = read_low_memory(src, mem, vbe->why, sizeof(vbe->why));
        if (r < 0)
                return r;
        if (le16_load(mem + ROM_START) != 0xaa55) {
                (void) snprintf(vbe->why, sizeof(vbe->why), "no video BIOS at 0xc0000");
                return -ENODEV;
        }
        /* Nothing is executable but the ROMs and the three bytes of our call. */
        emu = x86emu_new(X86EMU_PERM_RW, 0);
        if (!emu)
                return -ENOMEM;
        x86emu_set_log(emu, 0, quiet);
        /* Permissions first: writing the bytes then marks them valid (initialized). */
        x86emu_set_perm(emu, ROM_START, LOW_MEM - 1, X86EMU_PERM_RWX);
        x86emu_set_perm(emu, CODE_AT, CODE_AT + 2, X86EMU_PERM_RWX);
        for (uint32_t a = 0; a < LOW_MEM; a++)
                x86emu_write_byte_noperm(emu, a, mem[a]);
        x86emu_write_byte(emu, CODE_AT, 0xcd);
        x86emu_write_byte(emu, CODE_AT + 1, 0x10);
        x86emu_write_byte(emu, CODE_AT + 2, 0xf4);
        /* The video BIOS talks to the card through its ports: on the live system, as root. */
        if (!src->sysroot && iopl(3) == 0)
                x86emu_set_io_perm(emu, 0, X86EMU_IO_PORTS - 1, X86EMU_PERM_RW);

        x86emu_write_dword(emu, INFO_AT, 0x32454256); /* "VBE2": ask for the 2.0 fields */
        r = call_int10(emu, 0x4f00, 0, INFO_AT, vbe->why, sizeof(vbe->why));
        if (r < 0)
                goto out;
        if (x86emu_read_dword(emu, INFO_AT) != 0x41534556) { /* "VESA" */
                (void) snprintf(vbe->why, sizeof(vbe->why), "no VESA signature in the answer");
                r = -EBADMSG;
                goto out;
        }
        vbe->version = x86emu_read_word(emu, INFO_AT + 4);
        vbe->memory = (uint64_t) x86emu_read_word(emu, INFO_AT + 0x12) << 16;
        list = far_ptr(emu, INFO_AT + 0x0e);
        for (unsigned i = 0; i < 256 && list + 2 * i + 1 < LOW_MEM; i++) {
                uint16_t mode = x86emu_read_word(emu, list + 2 * i);
                struct hw_vbe_mode *m;
                unsigned attr;

                if (mode == 0xffff || vbe->n_modes == HW_MAX_VBE_MODES)
                        break;
                /* Each call may clobber the list if it sits in our buffer: read it first. */
                if (call_int10(emu, 0x4f01, mode, MODE_AT, vbe->why, sizeof(vbe->why)) < 0)
                        continue;
                attr = x86emu_read_word(emu, MODE_AT);
                if (!(attr & 0x01) || !(attr & 0x10)) /* not supported, or text */
                        continue;
                m = &vbe->modes[vbe->n_modes++];
                m->mode = mode;
                m->width = x86emu_read_word(emu, MODE_AT + 0x12);
                m->height = x86emu_read_word(emu, MODE_AT + 0x14);
                m->bpp = x86emu_read_byte(emu, MODE_AT + 0x19);
                m->lfb = attr & 0x80;
        }
        vbe->why[0] = '\0';
        vbe->probed = true;
        for (size_t k = 0; k < ELEMENTSOF(classic) && !vbe->vga; k++)
                for (size_t i = 0; i < vbe->n_modes; i++) {
                        const struct hw_vbe_mode *m = &vbe->modes[i];
                        if (m->mode == classic[k].mode && m->lfb && m->width == classic[k].w &&
                            m->height == classic[k].h && m->bpp == classic[k].bpp) {
                                vbe->vga = 0x200 + classic[k].mode; /* Linux adds 0x200 */
                                (void) snprintf(vbe->gfxpayload, sizeof(vbe->gfxpayload),
                                                "%ux%ux%u", m->width, m->height, m->bpp);
                                break;
                        }
                }
        r = 0;
out:
        x86emu_done(emu);
        return r;
}
