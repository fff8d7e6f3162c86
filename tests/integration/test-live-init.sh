#!/bin/bash
# The live environment's /init (iso/init.c) in a real (emulated) machine: Debian's kernel
# boots an initramfs built by tests/tools/mkinitramfs (common/initramfs.c) holding the static
# /init, busybox, the storage, CD, USB and network modules and a fake kvmforge-install that
# prints what it was given. Checked: the medium found on a CD (iso9660) and on a USB disk
# (FAT), kvmforge.medium=ID choosing between two media, no medium -> a clear message and the
# kvmforge.onerror action, the mode passed on (unattended gets --unattended), DHCP through
# iso/udhcpc.script, and a failing installer with kvmforge.onerror=poweroff powering off with
# the message shown. QEMU runs directly (vm_run has its own /init protocol).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/vm.sh"

[[ $(id -u) == 0 ]] || skip "needs root (the kernel's modules unpacked with their owners)"
need_cmd qemu-system-x86_64 dpkg-deb xorriso mcopy mkfs.vfat busybox timeout
setup_tmpdir
T=$TEST_TMPDIR
BUILD=${BUILD:-build}
INIT=$REPO_ROOT/$BUILD/iso/kvmforge-init
MKINITRAMFS=${KVMFORGE_TOOLS:-$REPO_ROOT/$BUILD/tests/tools}/mkinitramfs
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

# boot NAME APPEND [QEMU_ARGS]...: boots, waits for the power-off (or kills QEMU after 120
# s), leaves the console in $T/NAME.log (no \r) and sets BOOT_RC (0: it powered off itself).
boot() {
        local name=$1 append=$2 t0
        shift 2
        t0=$EPOCHREALTIME
        BOOT_RC=0
        timeout --kill-after=5 120 qemu-system-x86_64 -nodefaults -no-user-config -machine q35 \
                -m 512 -display none -no-reboot -kernel "$KERNEL" -initrd "$T/initrd.img" \
                -append "console=ttyS0,115200 panic=-1 loglevel=4 $append" \
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
check cd "the installer runs on the console with its environment" \
        '^FAKE-ENV: TERM=vt100 PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root$' \
        '^FAKE-TTY: /dev/ttyS0$'
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
check usb "install mode runs 'install --medium DIR'" \
        '^FAKE-ARGS: install --medium /run/kvmforge/medium$'

# shellcheck disable=SC2046
boot choose "kvmforge.medium=USB-TWO kvmforge.onerror=poweroff usb_storage.delay_use=0" \
        $(cdrom "$T/one.iso" 0) \
        -device qemu-xhci,id=xhci -drive "if=none,id=u0,file=$T/two.img,format=raw" \
        -device usb-storage,bus=xhci.0,drive=u0,removable=on
check choose "kvmforge.medium=ID picks the medium with that ID of two" \
        "^kvmforge-init: /dev/sr0 is a kvmforge medium, but 'CD-ONE', not 'USB-TWO'" \
        "^kvmforge-init: install medium: /dev/sda \\(vfat, id 'USB-TWO'\\)" '^FAKE-MARKER: USB-TWO'

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

tap_end
