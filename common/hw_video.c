/* Video: the framebuffer the firmware or kernel set up, the KMS connectors and their monitors'
 * preferred modes (EDID), and the console settings that are safe for the installed system. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "hw.h"

#define EDID_BLOCK 128

int hw_edid_preferred(const uint8_t *e, size_t len, char *out, size_t max)
{
        static const uint8_t header[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
        unsigned w, h;

        if (len < EDID_BLOCK || memcmp(e, header, sizeof(header)) != 0)
                return -EBADMSG;
        /* The first detailed timing descriptor (0x36) is the preferred mode; a pixel clock of 0
         * means it is a display descriptor instead. */
        if (e[0x36] == 0 && e[0x37] == 0)
                return -EBADMSG;
        w = e[0x38] | ((e[0x3a] & 0xf0u) << 4);
        h = e[0x3b] | ((e[0x3d] & 0xf0u) << 4);
        if (w == 0 || h == 0)
                return -EBADMSG;
        (void) snprintf(out, max, "%ux%u", w, h);
        return 0;
}

static int cmp_conn(const void *a, const void *b)
{
        return strcmp(((const struct hw_connector *) a)->name,
                      ((const struct hw_connector *) b)->name);
}

static void connectors(const struct hw_source *src, struct hw_video *v)
{
        char dir[512];
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *e;

        hw_path(src, "/sys/class/drm", dir, sizeof(dir));
        d = opendir(dir);
        while (d && (e = readdir(d)) && v->n_connectors < HW_MAX_CONNECTORS) {
                struct hw_connector *c;
                char path[300], buf[64];
                uint8_t edid[EDID_BLOCK * 2];
                ssize_t n;

                /* Connectors are cardN-TYPE-M; cardN alone is the device. */
                if (strncmp(e->d_name, "card", 4) != 0 || !strchr(e->d_name, '-') ||
                    strlen(e->d_name) >= sizeof(c->name))
                        continue;
                c = &v->connectors[v->n_connectors++];
                *c = (struct hw_connector){ 0 };
                (void) snprintf(c->name, sizeof(c->name), "%s", e->d_name);
                (void) snprintf(path, sizeof(path), "/sys/class/drm/%s/status", e->d_name);
                c->connected = hw_read_attr(src, path, buf, sizeof(buf)) == 0 &&
                               strcmp(buf, "connected") == 0;
                (void) snprintf(path, sizeof(path), "/sys/class/drm/%s/modes", e->d_name);
                if (hw_read_attr(src, path, buf, sizeof(buf)) == 0)
                        (void) snprintf(c->mode, sizeof(c->mode), "%s", buf);
                (void) snprintf(path, sizeof(path), "/sys/class/drm/%s/edid", e->d_name);
                n = hw_read_file(src, path, (char *) edid, sizeof(edid));
                if (n > 0)
                        (void) hw_edid_preferred(edid, (size_t) n, c->edid_mode,
                                                 sizeof(c->edid_mode));
        }
        if (v->n_connectors)
                qsort(v->connectors, v->n_connectors, sizeof(v->connectors[0]), cmp_conn);
}

void hw_video_detect(const struct hw_source *src, const struct hw_firmware *fw, struct hw_video *v)
{
        char buf[64];
        bool connected = false;

        *v = (struct hw_video){ 0 };
        (void) hw_read_attr(src, "/sys/class/graphics/fb0/name", v->fb, sizeof(v->fb));
        if (hw_read_attr(src, "/sys/class/graphics/fb0/virtual_size", buf, sizeof(buf)) == 0) {
                unsigned w, h;
                if (sscanf(buf, "%u,%u", &w, &h) == 2)
                        (void) snprintf(v->fb_size, sizeof(v->fb_size), "%ux%u", w, h);
        }
        connectors(src, v);
        if (!fw->uefi)
                (void) hw_vbe_probe(src, &v->vbe);
        else
                (void) snprintf(v->vbe.why, sizeof(v->vbe.why),
                                "UEFI: no video BIOS to ask (the GOP framebuffer is used)");
        for (size_t i = 0; i < v->n_connectors; i++)
                connected |= v->connectors[i].connected && v->connectors[i].mode[0];

        /* The ladder installers use: a KMS driver, else the firmware's framebuffer kept as it
         * is, else a text console, else the serial line. */
        if (connected)
                (void) snprintf(
                        v->recommendation, sizeof(v->recommendation),
                        "kms: a DRM driver drives the display; no vga= or nomodeset needed");
        else if (v->fb[0] && fw->uefi)
                (void) snprintf(v->recommendation, sizeof(v->recommendation),
                                "gfxpayload=keep: keep the UEFI GOP framebuffer (%s)",
                                v->fb_size[0] ? v->fb_size : "size unknown");
        else if (v->vbe.vga)
                (void) snprintf(v->recommendation, sizeof(v->recommendation),
                                "vga=%u: the video BIOS has VESA mode 0x%x (%s) with a linear "
                                "framebuffer; GRUB: gfxpayload=%s",
                                v->vbe.vga, v->vbe.vga - 0x200u, v->vbe.gfxpayload,
                                v->vbe.gfxpayload);
        else if (v->fb[0])
                (void) snprintf(v->recommendation, sizeof(v->recommendation),
                                "nomodeset: keep the firmware framebuffer (%s %s)", v->fb,
                                v->fb_size);
        else if (fw->serial_ports[0])
                (void) snprintf(v->recommendation, sizeof(v->recommendation),
                                "serial: no display found; use console=%.5s,115200",
                                fw->serial_ports);
        else
                (void) snprintf(v->recommendation, sizeof(v->recommendation),
                                "text: no framebuffer or KMS display found; VGA text mode");
}
