#!/bin/bash
# The installer, end to end: build the ISO with an embedded answer (kvmforge-image iso), boot
# it in QEMU (TCG) and let it install unattended onto a blank virtio disk while a second disk
# holding data must stay untouched; then boot the installed disk alone and check, from a
# report the node prints on its second serial port and over SSH: the LVM layout, libvirtd, the
# storage pool and the network, the bridge's address, the KVM verdict, SSH, host name and time
# zone. Twice: SeaBIOS with the ISO as a CD, and OVMF with the ISO as a USB disk (the node then
# boots through the removable-media path: its firmware variables are fresh). After the BIOS
# round the ISO boots once more with the installed disk in: the unattended install must refuse
# it (the reinstall loop) and leave it as it was.
#
# The base system is downloaded once into $TEST_CACHE/payload (mmdebstrap); later runs reuse
# it. Stage times are printed as notes. Runs in the plain pass of `make check` only: under the
# sanitizers the installer inside the ISO would need ASan's runtime and options in the live
# environment and run several times slower in a TCG guest, for no check that the plain pass
# lacks (the same code is sanitized by the unit and VM tests).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ $(id -u) == 0 ]] || skip "needs root (mmdebstrap, and the live environment's /dev/console)"
[[ ${BUILD:-build} != *sanitize* ]] || skip "the end-to-end install runs in the plain pass only"
need_cmd qemu-system-x86_64 mmdebstrap grub-mkimage mformat ssh ssh-keygen sha256sum python3
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
[[ -r $OVMF_CODE && -r $OVMF_VARS ]] || skip "no OVMF (package ovmf)"
IMAGE=$(kvmforge_image_path)
setup_tmpdir
T=$TEST_TMPDIR
INSTALL_TIMEOUT=${E2E_INSTALL_TIMEOUT:-1500}
BOOT_TIMEOUT=${E2E_BOOT_TIMEOUT:-900}

# ---- the ISO ----
ssh-keygen -q -t ed25519 -N '' -C kvmforge-e2e -f "$T/id"
sed "s|@SSHKEY@|$(cat "$T/id.pub")|" "$REPO_ROOT/tests/data/install/e2e.cfg.in" >"$T/e2e.cfg"
start=$(date +%s)
if "$IMAGE" iso -o "$T/kvmforge.iso" --answer "$T/e2e.cfg" --console ttyS0,115200 \
        --cache "$TEST_CACHE/payload" --timestamp 1700000000 >"$T/iso.out" 2>&1; then
        ok "kvmforge-image iso builds the ISO with the answer embedded"
else
        sed 's/^/# /' "$T/iso.out" >&2
        tail -n 20 "$T/kvmforge.iso.log" 2>/dev/null | sed 's/^/# /' >&2
        not_ok "kvmforge-image iso builds the ISO with the answer embedded"
        tap_end
        exit 1
fi
sed 's/^/# /' "$T/iso.out" >&2
note "ISO: $(($(stat -c %s "$T/kvmforge.iso") >> 20)) MiB, built in $(($(date +%s) - start)) s"

# A bad answer fails the build with its line, and leaves no ISO behind.
printf 'rootpw --plaintext x\nautopart --typo\n' >"$T/bad.cfg"
if "$IMAGE" iso -o "$T/bad.iso" --answer "$T/bad.cfg" --cache "$TEST_CACHE/payload" \
        >"$T/bad.out" 2>&1; then
        not_ok "a bad answer fails the build" "it built"
elif grep -q 'bad.cfg:2:' "$T/bad.out" && [[ ! -e $T/bad.iso ]]; then
        ok "a bad answer fails the build with its line, no ISO left"
else
        not_ok "a bad answer fails the build with its line" "$(cat "$T/bad.out")"
fi

# ---- QEMU ----
QEMU_COMMON=(-machine q35 -m 2048 -smp 2 -cpu qemu64,-svm -nodefaults -display none -no-reboot)

# run_qemu NAME TIMEOUT ARGS...: boots, waits for the power-off; the consoles in $T/NAME.*.
run_qemu() {
        local name=$1 timeout=$2 rc=0
        shift 2
        timeout --foreground "$timeout" qemu-system-x86_64 "${QEMU_COMMON[@]}" \
                -serial "file:$T/$name.ttyS0" -serial "file:$T/$name.ttyS1" "$@" \
                >"$T/$name.qemu" 2>&1 || rc=$?
        return "$rc"
}

# The node's report (serial port 2) as KEY=VALUE lines; the SSH login is made when it is ready.
# boot_node NAME PORT ARGS...
boot_node() {
        local name=$1 port=$2 rc=0 i
        shift 2
        timeout --foreground "$BOOT_TIMEOUT" qemu-system-x86_64 "${QEMU_COMMON[@]}" \
                -serial "file:$T/$name.ttyS0" -serial "file:$T/$name.ttyS1" \
                -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" \
                -device virtio-net-pci,netdev=n0 "$@" >"$T/$name.qemu" 2>&1 &
        local qpid=$!
        for ((i = 0; i < BOOT_TIMEOUT; i++)); do
                grep -q E2E-READY "$T/$name.ttyS1" 2>/dev/null && break
                kill -0 "$qpid" 2>/dev/null || break
                sleep 1
        done
        if grep -q E2E-READY "$T/$name.ttyS1" 2>/dev/null; then
                ssh -i "$T/id" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
                        -o ConnectTimeout=30 -o BatchMode=yes root@127.0.0.1 \
                        'hostname > /run/e2e-ssh-done' >"$T/$name.ssh" 2>&1 || true
        fi
        wait "$qpid" || rc=$?
        return "$rc"
}

report() { # NAME KEY: the values of KEY in the node's report
        sed -n "s/^$2=//p" "$T/$1.ttyS1" | tr -d '\r'
}

check_node() { # NAME FIRMWARE
        local n=$1 fw=$2 v
        if ! grep -q E2E-END "$T/$n.ttyS1" 2>/dev/null; then
                not_ok "$fw: the installed node boots and reports" "no report; console:"
                tail -n 30 "$T/$n.ttyS0" 2>/dev/null | tr -d '\r' | sed 's/^/#   /' >&2 || true
                sed 's/^/#   /' "$T/$n.qemu" >&2 || true
                return
        fi
        ok "$fw: the installed node boots alone and reports"
        v=$(report "$n" lv | sort | tr '\n' ' ')
        if [[ $v == *"data:twi"* && $v == *"root:-wi-ao"* && $v == *"swap:-wi-ao"* &&
                $v == *"images:Vwi-aotz"*":data"* ]]; then
                ok "$fw: LVM as planned: root, swap, thin pool data with the guests' volume"
        else
                not_ok "$fw: LVM as planned" "$v"
        fi
        [[ $(report "$n" rootdev) == /dev/mapper/kvmforge-root ]] &&
                ok "$fw: / is kvmforge/root" || not_ok "$fw: / is kvmforge/root" "$(report "$n" rootdev)"
        [[ $(report "$n" hostname) == node1 && $(report "$n" fqdn) == node1.e2e.test ]] &&
                ok "$fw: host name as answered" ||
                not_ok "$fw: host name" "$(report "$n" hostname) $(report "$n" fqdn)"
        [[ $(report "$n" timezone) == */Europe/Berlin ]] && ok "$fw: time zone as answered" ||
                not_ok "$fw: time zone" "$(report "$n" timezone)"
        [[ $(report "$n" bridge) == *"vmbr0"*"inet 10.0.2.15/24"* ]] &&
                ok "$fw: the bridge vmbr0 carries the DHCP address" ||
                not_ok "$fw: the bridge's address" "$(report "$n" bridge)"
        [[ $(report "$n" libvirtd) == active ]] && ok "$fw: libvirtd runs" ||
                not_ok "$fw: libvirtd runs" "$(report "$n" libvirtd)"
        [[ $(report "$n" pool) == *default* && $(report "$n" pool-State) == running &&
                $(report "$n" pool-Autostart) == yes ]] &&
                ok "$fw: the storage pool is defined, running and autostarted" ||
                not_ok "$fw: the storage pool" "$(report "$n" pool) $(report "$n" pool-State)"
        [[ $(report "$n" net) == *vmbr0* ]] && ok "$fw: the libvirt network on the bridge" ||
                not_ok "$fw: the libvirt network" "$(report "$n" net)"
        [[ $(report "$n" postinst) == active ]] && ok "$fw: the first-boot setup ran" ||
                not_ok "$fw: the first-boot setup ran" "$(report "$n" postinst)"
        # TCG has no VT-x/AMD-V for its guest's guests: the verdict must say KVM is not there.
        v=$(report "$n" motd)
        [[ $v == *KVM*not* || $v == *KVM*unavailable* ]] &&
                ok "$fw: the KVM verdict (none under TCG) is in /etc/motd" ||
                not_ok "$fw: the KVM verdict in /etc/motd" "$v"
        sed -n '/^check-begin/,/^check-end/p' "$T/$n.ttyS1" | sed '1d;$d' >"$T/$n.check.json"
        if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d else 1)' \
                "$T/$n.check.json" 2>/dev/null; then
                ok "$fw: kvmforge-postinst --check --json reports"
        else
                not_ok "$fw: kvmforge-postinst --check --json" "$(head -c 300 "$T/$n.check.json")"
        fi
        [[ $(report "$n" ssh) == active && $(report "$n" ssh-login) == node1 ]] &&
                ok "$fw: SSH is up and takes the answer's key" ||
                not_ok "$fw: SSH" "$(report "$n" ssh) login=$(report "$n" ssh-login) $(cat "$T/$n.ssh")"
}

# reinstall_refused NAME MEDIUM-ARGS...: the medium boots again with the installed disk in (a
# BMC's virtual media left in): the unattended install must stop before touching it.
reinstall_refused() {
        local n=$1 i before qpid
        shift
        before=$(head -c 1G "$T/$n.target.raw" | sha256sum)
        timeout --foreground "$INSTALL_TIMEOUT" qemu-system-x86_64 "${QEMU_COMMON[@]}" \
                -serial "file:$T/$n-again.ttyS0" -serial "file:$T/$n-again.ttyS1" "$@" \
                -drive "file=$T/$n.target.raw,if=none,id=d0,format=raw" \
                -device virtio-blk-pci,drive=d0,bootindex=1 \
                -netdev user,id=n0 -device virtio-net-pci,netdev=n0 >"$T/$n-again.qemu" 2>&1 &
        qpid=$!
        for ((i = 0; i < INSTALL_TIMEOUT; i++)); do
                grep -q -e 'already holds a kvmforge install' -e 'kvmforge-install: installed' \
                        -e 'the installer failed' "$T/$n-again.ttyS0" 2>/dev/null && break
                kill -0 "$qpid" 2>/dev/null || break
                sleep 1
        done
        # It waits in a shell on the console now (kvmforge.onerror's default).
        kill "$qpid" 2>/dev/null || true
        wait "$qpid" 2>/dev/null || true
        if grep -q 'already holds a kvmforge install' "$T/$n-again.ttyS0" &&
                [[ $(head -c 1G "$T/$n.target.raw" | sha256sum) == "$before" ]]; then
                ok "booting the medium again: the unattended install refuses the installed disk"
        else
                not_ok "booting the medium again: the install is refused" "console:"
                tail -n 15 "$T/$n-again.ttyS0" | tr -d '\r' | sed 's/^/#   /' >&2 || true
        fi
}

# install_and_boot NAME FIRMWARE SSH-PORT MEDIUM-ARGS...: a blank 20G target, a 4G disk
# holding data.
install_and_boot() {
        local n=$1 fw=$2 port=$3 rc=0 t0 before
        shift 3
        truncate -s 20G "$T/$n.target.raw"
        truncate -s 4G "$T/$n.other.raw"
        mkfs.ext4 -q -F -L precious "$T/$n.other.raw"
        head -c 1M /dev/urandom | dd of="$T/$n.other.raw" bs=1M seek=100 conv=notrunc status=none
        before=$(sha256sum <"$T/$n.other.raw")
        local fwargs=()
        if [[ $fw == UEFI ]]; then
                cp "$OVMF_VARS" "$T/$n.vars.fd"
                fwargs=(-drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE"
                        -drive "if=pflash,format=raw,file=$T/$n.vars.fd")
        fi
        t0=$(date +%s)
        run_qemu "$n-install" "$INSTALL_TIMEOUT" "${fwargs[@]}" "$@" \
                -drive "file=$T/$n.target.raw,if=none,id=d0,format=raw" \
                -device virtio-blk-pci,drive=d0,bootindex=1 \
                -drive "file=$T/$n.other.raw,if=none,id=d1,format=raw" -device ide-hd,drive=d1,bus=ide.2 \
                -netdev user,id=n0 -device virtio-net-pci,netdev=n0 || rc=$?
        note "$fw install: QEMU ran $(($(date +%s) - t0)) s (status $rc)"
        if grep -q 'kvmforge-install: installed' "$T/$n-install.ttyS0"; then
                ok "$fw: the unattended install completes and powers off"
                grep 'kvmforge-install: installed' "$T/$n-install.ttyS0" | tr -d '\r' | sed 's/^/# /' >&2
        else
                not_ok "$fw: the unattended install completes" "status $rc; last console lines:"
                tail -n 40 "$T/$n-install.ttyS0" | tr -d '\r' | sed 's/^/#   /' >&2
                return
        fi
        [[ $(sha256sum <"$T/$n.other.raw") == "$before" ]] &&
                ok "$fw: the disk that was not chosen is untouched" ||
                not_ok "$fw: the disk that was not chosen is untouched" "it changed"
        if [[ $fw == UEFI ]]; then
                cp "$OVMF_VARS" "$T/$n.vars.fd" # fresh: the removable path must boot it
        fi
        t0=$(date +%s)
        rc=0
        boot_node "$n-node" "$port" "${fwargs[@]}" \
                -drive "file=$T/$n.target.raw,if=none,id=d0,format=raw" \
                -device virtio-blk-pci,drive=d0,bootindex=1 || rc=$?
        note "$fw node: first boot to power-off $(($(date +%s) - t0)) s (status $rc)"
        check_node "$n-node" "$fw"
        [[ $fw != BIOS ]] || reinstall_refused "$n" "$@"
}

install_and_boot bios BIOS $((20000 + RANDOM % 10000)) \
        -drive "file=$T/kvmforge.iso,if=none,id=cd,media=cdrom,readonly=on" \
        -device ide-cd,drive=cd,bus=ide.0,bootindex=0
install_and_boot uefi UEFI $((30000 + RANDOM % 10000)) \
        -device qemu-xhci -drive "file=$T/kvmforge.iso,if=none,id=usb,format=raw,readonly=on" \
        -device usb-storage,drive=usb,bootindex=0
tap_end
