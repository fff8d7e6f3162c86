#!/bin/bash
# The live environment's /init (iso/init.c) in a real (emulated) machine: Debian's kernel
# boots an initramfs built by tests/tools/mkinitramfs (common/initramfs.c) holding the static
# /init, busybox, the storage, CD, USB and network modules and a fake kvmforge-install that
# prints what it was given. Checked: the medium found on a CD (iso9660) and on a USB disk
# (FAT), kvmforge.medium=ID choosing between two media, no medium -> a clear message and the
# kvmforge.onerror action, the mode passed on (unattended gets --unattended), DHCP through
# iso/udhcpc.script, and a failing installer with kvmforge.onerror=poweroff powering off with
# the message shown; the console's TERM (xterm on a serial line, kvmforge.term= overriding it)
# and its window size (80x24 where the serial line reports none). Then the ISO's own live
# environment (`kvmforge-image iso`, its payload from the test cache): its initramfs holds the
# terminfo entries, the time zones and the console keymaps, and booted (its kernel and
# initramfs, with the fake installer laid over it as a second cpio archive) the installer sees
# them: its TERM has a terminfo entry, a zone loads, a keymap loads on a VT (loadkmap), and
# with a VGA console a shell runs on tty2 and the install log on tty3. QEMU runs directly
# (vm_run has its own /init protocol).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/vm.sh"

[[ $(id -u) == 0 ]] || skip "needs root (the kernel's modules unpacked with their owners)"
need_cmd qemu-system-x86_64 dpkg-deb xorriso mcopy mkfs.vfat busybox timeout cpio zstd
setup_tmpdir
T=$TEST_TMPDIR
BUILD=${BUILD:-build}
INIT=$REPO_ROOT/$BUILD/iso/kvmforge-init
MKINITRAMFS=${KVMFORGE_TOOLS:-$REPO_ROOT/$BUILD/tests/tools}/mkinitramfs
IMAGE=${KVMFORGE_IMAGE:-$REPO_ROOT/$BUILD/kvmforge-image}
[[ -x $INIT ]] || fail "'$INIT' is not built (make)"
[[ -x $MKINITRAMFS ]] || fail "'$MKINITRAMFS' is not built (make)"

vm_kernel
KERNEL=${VM_KERNEL_ELF:-$VM_KERNEL}
dpkg-deb -x "$VM_KERNEL_DEB" "$T/deb"
MODDIR=$T/deb/lib/modules/$VM_KERNEL_RELEASE
[[ -d $MODDIR ]] || fail "no modules in $VM_KERNEL_DEB"

# The fake installer: what it got, where the medium is and what it holds, whether DHCP gave
# the NIC an address and a resolver (QEMU's user network: 10.0.2.15, DNS 10.0.2.3); it exits
# with the number in the medium's file exit-code (0 without one).
cat >"$T/fake-install" <<'EOF'
#!/bin/sh
echo "FAKE-ARGS: $*"
echo "FAKE-MEDIUM: $KVMFORGE_MEDIUM"
echo "FAKE-MARKER: $(head -n 1 "$KVMFORGE_MEDIUM/.kvmforge-medium")"
echo "FAKE-MOUNT: $(grep " $KVMFORGE_MEDIUM " /proc/mounts)"
echo "FAKE-ENV: TERM=$TERM PATH=$PATH HOME=$HOME"
echo "FAKE-TTY: $(tty)"
echo "FAKE-SIZE: $(stty size 2>&1)"
echo "FAKE-SERIAL: ${KVMFORGE_SERIAL:-no}"
# What the text UI reads: its TERM's terminfo entry, the zone tables and a zone, a keymap.
for f in "/usr/share/terminfo/$(echo "$TERM" | cut -c1)/$TERM" /usr/share/terminfo/l/linux \
        /usr/share/zoneinfo/zone1970.tab /usr/share/zoneinfo/iso3166.tab; do
        [ -s "$f" ] && echo "FAKE-FILE: $f"
done
[ -e /usr/share/zoneinfo/Europe/Berlin ] && echo "FAKE-ZONE: $(TZ=Europe/Berlin date +%Z)"
km=/usr/share/kvmforge/keymaps/de-latin1.bmap
if [ -s $km ]; then
        # Key 21 (Y on a US keyboard) is Z on a German one: 0x0b7a, a letter z.
        if loadkmap <$km; then
                echo "FAKE-KEYMAP: loaded, key 21 is $(dumpkmap | od -An -tx2 -j 305 -N 2 | tr -d ' ')"
        else
                echo "FAKE-KEYMAP: loadkmap failed"
        fi
fi
# With a VGA console, init keeps a shell on tty2 and the log on tty3 (started just before us):
# "PID TTY TERM=... ARGS" for each.
vt_procs() {
        for d in /proc/[0-9]*; do
                args=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)
                case $args in
                "-sh "* | "tail -F "*)
                        echo "${d#/proc/} $(readlink "$d/fd/0") $(tr '\0' '\n' <"$d/environ" | grep '^TERM=') $args"
                        ;;
                esac
        done
}
wait_vt_procs() { # until both run and none of the pids in $1 is among them (5 s at most)
        i=0
        while [ $i -lt 50 ]; do
                n=0
                for p in $(vt_procs | cut -d' ' -f1); do
                        case " $1 " in *" $p "*) ;; *) n=$((n + 1)) ;; esac
                done
                [ $n -ge 2 ] && return 0
                sleep 0.1
                i=$((i + 1))
        done
        return 1
}
if grep -q 'tty[0-9]' /sys/class/tty/console/active; then
        wait_vt_procs ""
fi
vt_procs | sed 's/^[0-9]* /FAKE-VT: /'
# fake.restart on the command line: both are killed and must come back.
if grep -q 'fake\.restart' /proc/cmdline; then
        old=$(vt_procs | cut -d' ' -f1 | tr '\n' ' ')
        kill -9 $old
        wait_vt_procs "$old" && echo "FAKE-RESTARTED: both" || echo "FAKE-RESTARTED: no"
fi
if [ -d /sys/class/net/eth0 ]; then
        i=0
        while [ $i -lt 100 ] && ! grep -q nameserver /etc/resolv.conf 2>/dev/null; do
                sleep 0.1
                i=$((i + 1))
        done
        echo "FAKE-NET: $(ip -4 -o addr show dev eth0 | awk '{print $4}') $(grep nameserver /etc/resolv.conf 2>/dev/null) $(ip route show default)"
fi
code=0
[ -f "$KVMFORGE_MEDIUM/exit-code" ] && code=$(cat "$KVMFORGE_MEDIUM/exit-code")
echo "FAKE-EXIT: $code"
exit "$code"
EOF
chmod 755 "$T/fake-install"

mods=()
for m in virtio_pci virtio_blk virtio_net virtio_scsi ahci sr_mod cdrom isofs sd_mod usb_storage \
        uas xhci_pci ehci_pci vfat nls_cp437 nls_ascii nls_utf8 nls_iso8859-1 efivarfs; do
        mods+=(--module "$m")
done
"$MKINITRAMFS" --verbose --init "$INIT" --busybox busybox \
        --file "$T/fake-install:/usr/sbin/kvmforge-install" \
        --file "$REPO_ROOT/iso/udhcpc.script:/etc/kvmforge/udhcpc.script" \
        --file "$REPO_ROOT/iso/lvm.conf:/etc/lvm/lvm.conf" \
        --modules-dir "$MODDIR" "${mods[@]}" "$T/initrd.img"
note "initramfs: $(stat -c %s "$T/initrd.img") bytes"

# make_cd NAME ID [EXIT]: an ISO 9660 image (Rock Ridge, Joliet) whose marker says ID.
make_cd() {
        mkdir -p "$T/$1.d"
        echo "$2" >"$T/$1.d/.kvmforge-medium"
        [[ -z ${3:-} ]] || echo "$3" >"$T/$1.d/exit-code"
        xorriso -as mkisofs -quiet -R -J -V KVMFORGE -o "$T/$1.iso" "$T/$1.d" 2>/dev/null
}

# make_usb NAME ID: a FAT file system image (no partition table) whose marker says ID.
make_usb() {
        rm -f "$T/$1.img"
        truncate -s 16M "$T/$1.img"
        mkfs.vfat -n KVMFORGE "$T/$1.img" >/dev/null
        printf '%s\r\n' "$2" >"$T/$1.marker" # written on Windows: CRLF
        mcopy -i "$T/$1.img" "$T/$1.marker" ::/.kvmforge-medium
}

# boot NAME APPEND [QEMU_ARGS]...: boots, waits for the power-off (or kills QEMU after
# $BOOT_TIMEOUT s), leaves the console in $T/NAME.log (no \r) and sets BOOT_RC (0: it powered
# off itself). BOOT_KERNEL, BOOT_INITRD and BOOT_MEM change the machine; CONSOLE the console=.
boot() {
        local name=$1 append=$2 t0
        shift 2
        t0=$EPOCHREALTIME
        BOOT_RC=0
        timeout --kill-after=5 "${BOOT_TIMEOUT:-120}" qemu-system-x86_64 -nodefaults \
                -no-user-config -machine q35 -m "${BOOT_MEM:-512}" -display none -no-reboot \
                -kernel "${BOOT_KERNEL:-$KERNEL}" -initrd "${BOOT_INITRD:-$T/initrd.img}" \
                -append "${CONSOLE:-console=ttyS0,115200} panic=-1 loglevel=4 $append" \
                -serial "file:$T/$name.raw" "$@" </dev/null >"$T/$name.qemu" 2>&1 || BOOT_RC=$?
        tr -d '\r' <"$T/$name.raw" >"$T/$name.log"
        note "$name: QEMU ended with $BOOT_RC after $(awk -v a="$t0" -v b="$EPOCHREALTIME" \
                'BEGIN { printf "%.1f", b - a }') s; $(grep -m 1 -o 'starting the installer.*' \
                "$T/$name.log" || echo 'no installer started')"
}

# check NAME DESCRIPTION CONDITION...: ok when every grep -E pattern is in the log.
check() {
        local name=$1 desc=$2 pat
        shift 2
        for pat in "$@"; do
                if ! grep -Eq -- "$pat" "$T/$name.log"; then
                        not_ok "$desc" "no '$pat' on the console"
                        sed 's/^/# /' "$T/$name.log" | grep -v '^# \[' | tail -n 25 >&2
                        return 0
                fi
        done
        ok "$desc"
}

cdrom() {
        echo -drive "if=none,id=cd$2,file=$1,format=raw,media=cdrom,readonly=on" \
                -device "ide-cd,drive=cd$2"
}

make_cd one CD-ONE
make_cd fails CD-FAILS 3
make_usb two USB-TWO
truncate -s 64M "$T/blank.raw"
NIC=(-netdev user,id=n0 -device virtio-net-pci,netdev=n0)

# shellcheck disable=SC2046 # cdrom prints words
boot cd "kvmforge.mode=unattended" $(cdrom "$T/one.iso" 0) "${NIC[@]}"
check cd "the medium is found on a CD and mounted read-only" \
        '^kvmforge-init: install medium: /dev/sr0 \(iso9660\)' \
        '^FAKE-MARKER: CD-ONE$' '^FAKE-MEDIUM: /run/kvmforge/medium$' \
        '^FAKE-MOUNT: /dev/sr0 /run/kvmforge/medium iso9660 ro,nosuid,nodev'
check cd "unattended mode passes --unattended" \
        '^FAKE-ARGS: install --medium /run/kvmforge/medium --unattended$'
check cd "the installer runs on the serial console with TERM=xterm and KVMFORGE_SERIAL" \
        '^FAKE-ENV: TERM=xterm PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root$' \
        '^FAKE-TTY: /dev/ttyS0$' '^FAKE-SERIAL: 1$' \
        '^kvmforge-init: consoles: the unattended install on /dev/ttyS0 \(TERM=xterm\)$'
check cd "the serial console's 0x0 window becomes 80x24" '^FAKE-SIZE: 24 80$'
if ! grep -q '^FAKE-VT:' "$T/cd.log"; then
        ok "no VGA console: no shell on tty2, no log on tty3"
else
        not_ok "no VGA console: no shell on tty2, no log on tty3" "$(grep '^FAKE-VT:' "$T/cd.log")"
fi
check cd "DHCP configures the NIC through udhcpc.script" \
        '^FAKE-NET: 10\.0\.2\.15/24 nameserver 10\.0\.2\.3 default via 10\.0\.2\.2'
if ((BOOT_RC == 0)); then
        check cd "a successful installer ends in a power-off" \
                '^kvmforge-init: the installer finished' '^kvmforge-init: powering off'
else
        not_ok "a successful installer ends in a power-off" "QEMU ended with $BOOT_RC"
fi

boot usb "kvmforge.mode=install usb_storage.delay_use=0" \
        -device qemu-xhci,id=xhci -drive "if=none,id=u0,file=$T/two.img,format=raw" \
        -device usb-storage,bus=xhci.0,drive=u0,removable=on
check usb "the medium is found on a USB disk (FAT, a CRLF marker)" \
        '^kvmforge-init: install medium: /dev/sda \(vfat\)' '^FAKE-MARKER: USB-TWO' \
        '^FAKE-MOUNT: /dev/sda /run/kvmforge/medium vfat ro,nosuid,nodev'
check usb "install mode runs the text UI: 'tui --medium DIR'" \
        '^FAKE-ARGS: tui --medium /run/kvmforge/medium$'

# shellcheck disable=SC2046
boot choose "kvmforge.medium=USB-TWO kvmforge.onerror=poweroff usb_storage.delay_use=0" \
        $(cdrom "$T/one.iso" 0) \
        -device qemu-xhci,id=xhci -drive "if=none,id=u0,file=$T/two.img,format=raw" \
        -device usb-storage,bus=xhci.0,drive=u0,removable=on
check choose "kvmforge.medium=ID picks the medium with that ID of two" \
        "^kvmforge-init: /dev/sr0 is a kvmforge medium, but 'CD-ONE', not 'USB-TWO'" \
        "^kvmforge-init: install medium: /dev/sda \\(vfat, id 'USB-TWO'\\)" '^FAKE-MARKER: USB-TWO'

# shellcheck disable=SC2046
boot term "kvmforge.mode=unattended kvmforge.term=vt220" $(cdrom "$T/one.iso" 0)
check term "kvmforge.term=NAME sets the console's TERM" \
        '^FAKE-ENV: TERM=vt220 ' '^kvmforge-init: consoles: .* \(TERM=vt220\)$'
# shellcheck disable=SC2046
boot badterm "kvmforge.mode=unattended kvmforge.term=../x" $(cdrom "$T/one.iso" 0)
check badterm "a kvmforge.term= that is no terminfo name is ignored, with a warning" \
        "^kvmforge-init: warning: bad kvmforge.term='\.\./x'" '^FAKE-ENV: TERM=xterm '

boot none "kvmforge.wait=3 kvmforge.onerror=poweroff" \
        -drive "if=none,id=d0,file=$T/blank.raw,format=raw" -device virtio-blk-pci,drive=d0
check none "no medium: a clear message, then kvmforge.onerror=poweroff" \
        '^kvmforge-init: error: no install medium found: .*/\.kvmforge-medium.*within 3 s' \
        '^kvmforge-init: powering off'
if ((BOOT_RC == 0)) && ! grep -q '^FAKE-ARGS' "$T/none.log"; then
        ok "no medium: the installer is not started and the VM powers off"
else
        not_ok "no medium: the installer is not started and the VM powers off" "QEMU: $BOOT_RC"
fi

# shellcheck disable=SC2046
boot fails "kvmforge.onerror=poweroff" $(cdrom "$T/fails.iso" 0)
check fails "a failing installer: the message names the log" \
        '^FAKE-EXIT: 3$' \
        '^kvmforge-init: error: the installer failed \(exit status 3\); its log is /tmp/kvmforge-install\.log$'
if ((BOOT_RC == 0)) && grep -q '^kvmforge-init: powering off' "$T/fails.log"; then
        ok "a failing installer with kvmforge.onerror=poweroff powers the VM off"
else
        not_ok "a failing installer with kvmforge.onerror=poweroff powers the VM off" \
                "QEMU: $BOOT_RC"
fi

# ---- the ISO's own live environment ----

# The kernel and initramfs of the ISO, with the fake installer laid over the real one: the
# kernel unpacks a second cpio archive after the first, its files replacing those there.
iso_live() {
        local f missing=
        xorriso -osirrox on -indev "$T/kvmforge.iso" -extract /boot/vmlinuz "$T/iso-vmlinuz" \
                -extract /boot/initrd.img "$T/iso-initrd.img" >/dev/null 2>&1 ||
                fail "cannot extract the kernel and the initramfs from the ISO"
        zstd -dc "$T/iso-initrd.img" | cpio -t --quiet >"$T/iso-initrd.list"
        for f in l/linux v/vt100 v/vt102 v/vt220 x/xterm x/xterm-256color s/screen \
                s/screen-256color t/tmux t/tmux-256color; do
                grep -qxF "usr/share/terminfo/$f" "$T/iso-initrd.list" || missing+=" terminfo/$f"
        done
        for f in zone1970.tab zone.tab iso3166.tab UTC Europe/Berlin America/New_York; do
                grep -qxF "usr/share/zoneinfo/$f" "$T/iso-initrd.list" || missing+=" zoneinfo/$f"
        done
        for f in us uk de-latin1 fr-latin9 sg dvorak; do
                grep -qxF "usr/share/kvmforge/keymaps/$f.bmap" "$T/iso-initrd.list" ||
                        missing+=" keymaps/$f.bmap"
        done
        if [[ -z $missing ]]; then
                ok "the ISO's initramfs holds the terminfo entries, the time zones and the keymaps"
        else
                not_ok "the ISO's initramfs holds terminfo, time zones and keymaps" "missing:$missing"
        fi
        if grep -Eq '^usr/share/zoneinfo/(posix/|right/|localtime$)' "$T/iso-initrd.list"; then
                not_ok "zoneinfo without posix/, right/ and localtime" \
                        "$(grep -Em 3 '^usr/share/zoneinfo/(posix/|right/|localtime$)' "$T/iso-initrd.list")"
        else
                ok "zoneinfo without posix/, right/ and localtime"
        fi
        note "initramfs: $(stat -c %s "$T/iso-initrd.img") bytes, $(wc -l <"$T/iso-initrd.list") entries, $(grep -c '^usr/share/zoneinfo/.' "$T/iso-initrd.list") under zoneinfo, $(grep -c '^usr/share/kvmforge/keymaps/.*\.bmap$' "$T/iso-initrd.list") keymaps"

        mkdir -p "$T/overlay/usr/sbin"
        cp "$T/fake-install" "$T/overlay/usr/sbin/kvmforge-install"
        (cd "$T/overlay" && find . -mindepth 1 | LC_ALL=C sort |
                cpio -o -H newc -R 0:0 --quiet) >"$T/overlay.cpio"
        # The kernel takes an uncompressed archive after a compressed one only at a 4-byte
        # boundary (zeros before it are skipped): without the padding it would say "invalid
        # magic" and boot the real installer.
        cp "$T/iso-initrd.img" "$T/iso-live.img"
        truncate -s %4 "$T/iso-live.img"
        cat "$T/overlay.cpio" >>"$T/iso-live.img"

        # shellcheck disable=SC2046
        BOOT_KERNEL=$T/iso-vmlinuz BOOT_INITRD=$T/iso-live.img BOOT_MEM=1024 BOOT_TIMEOUT=180 \
                boot live "kvmforge.mode=install" $(cdrom "$T/kvmforge.iso" 0)
        check live "the ISO's live environment runs the text UI on the serial console" \
                '^FAKE-ARGS: tui --medium /run/kvmforge/medium$' '^FAKE-ENV: TERM=xterm ' \
                '^FAKE-SIZE: 24 80$'
        check live "the installer finds its TERM's terminfo entry and the zone tables" \
                '^FAKE-FILE: /usr/share/terminfo/x/xterm$' \
                '^FAKE-FILE: /usr/share/zoneinfo/zone1970.tab$' \
                '^FAKE-FILE: /usr/share/zoneinfo/iso3166.tab$'
        check live "a zone of the ISO's zoneinfo loads (TZ=Europe/Berlin)" '^FAKE-ZONE: CES?T$'

        # shellcheck disable=SC2046
        BOOT_KERNEL=$T/iso-vmlinuz BOOT_INITRD=$T/iso-live.img BOOT_MEM=1024 BOOT_TIMEOUT=180 \
                CONSOLE="console=tty0 console=ttyS0,115200" \
                boot live-vga "kvmforge.mode=install fake.restart" $(cdrom "$T/kvmforge.iso" 0) \
                -device VGA
        check live-vga "with a VGA console: what each console has is said at the start" \
                '^kvmforge-init: consoles: the installer on /dev/ttyS0 \(TERM=xterm\), a shell on tty2 \(Alt-F2\), the install log on tty3 \(Alt-F3\)$'
        check live-vga "a shell on tty2 and tail -F of the install log on tty3, both TERM=linux" \
                '^FAKE-VT: /dev/tty2 TERM=linux -sh $' \
                '^FAKE-VT: /dev/tty3 TERM=linux tail -F -n \+1 /tmp/kvmforge-install\.log $'
        check live-vga "the tty2 shell and the tty3 log are started again when they end" \
                '^FAKE-RESTARTED: both$'
        check live-vga "a keymap of the ISO loads on the VT with busybox's loadkmap (de-latin1)" \
                '^FAKE-KEYMAP: loaded, key 21 is 0b7a$'
}

if [[ $BUILD == *sanitize* ]]; then
        note "the ISO's live environment is checked in the plain pass only"
elif [[ ! -x $IMAGE ]]; then
        not_ok "kvmforge-image iso builds the ISO" "'$IMAGE' is not built (make)"
elif ! "$IMAGE" iso -o "$T/kvmforge.iso" --cache "$TEST_CACHE/payload" \
        --timestamp 1700000000 >"$T/iso.out" 2>&1; then
        sed 's/^/# /' "$T/iso.out" >&2
        tail -n 20 "$T/kvmforge.iso.log" 2>/dev/null | sed 's/^/# /' >&2
        not_ok "kvmforge-image iso builds the ISO"
else
        sed 's/^/# /' "$T/iso.out" >&2
        grep '^kvmforge-image: no ' "$T/kvmforge.iso.log" | sed 's/^/# /' >&2 || true
        ok "kvmforge-image iso builds the ISO"
        iso_live
fi

tap_end
