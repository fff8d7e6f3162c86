#!/bin/bash
# The text installer end to end, over a serial console: the ISO (no answer in it, GRUB and the
# live environment on ttyS0) boots in QEMU (TCG, SeaBIOS) whose serial port is the terminal of
# an 80x24 tmux pane; the test reads the screens with capture-pane and types with send-keys as
# a person on IPMI SOL would: the install menu entry, then every screen of the installer (a
# keyboard layout, a time zone typed to search, the root password twice, an SSH key pasted, a
# host name), the summary and its confirmation, the progress to "Installed", and Reboot.
# The installed disk then boots alone, and the test logs in over SSH with the key typed on the
# screen and checks what was chosen: host name, time zone, keyboard, the LVM layout, the
# bridge, libvirtd, the administrator's address. Plain pass only, like test-install-e2e.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ $(id -u) == 0 ]] || skip "needs root (mmdebstrap)"
[[ ${BUILD:-build} != *sanitize* ]] || skip "the end-to-end install runs in the plain pass only"
need_cmd qemu-system-x86_64 mmdebstrap grub-mkimage mformat ssh ssh-keygen tmux
IMAGE=$(kvmforge_image_path)
setup_tmpdir
T=$TEST_TMPDIR
INSTALL_TIMEOUT=${E2E_INSTALL_TIMEOUT:-1500}
BOOT_TIMEOUT=${E2E_BOOT_TIMEOUT:-900}
SOCK=kvmforge-tui-e2e-$$
TM=(tmux -L "$SOCK")
PORT=$((40000 + RANDOM % 10000))
QPID=
cleanup_e2e() {
        "${TM[@]}" kill-server 2>/dev/null || true
        [[ -z $QPID ]] || kill "$QPID" 2>/dev/null || true
}
trap cleanup_e2e EXIT

ssh-keygen -q -t ed25519 -N '' -C kvmforge-tui-e2e -f "$T/id"
start=$(date +%s)
if ! "$IMAGE" iso -o "$T/kvmforge.iso" --console ttyS0,115200 --cache "$TEST_CACHE/payload" \
        --timestamp 1700000000 >"$T/iso.out" 2>&1; then
        sed 's/^/# /' "$T/iso.out" >&2
        not_ok "kvmforge-image iso builds the ISO"
        tap_end
        exit 1
fi
ok "kvmforge-image iso builds the ISO without an answer"
note "ISO built in $(($(date +%s) - start)) s"
truncate -s 20G "$T/target.raw"

SCREEN=$T/screen
cap() { "${TM[@]}" capture-pane -p -t e2e >"$SCREEN" 2>/dev/null || :; }
keys() {
        "${TM[@]}" send-keys -t e2e "$@"
        sleep 1
}
type_text() {
        "${TM[@]}" send-keys -t e2e -l "$1"
        sleep 1
}
# wait_for SECONDS TEXT: TEXT on the screen within SECONDS
wait_for() {
        local i
        for ((i = 0; i < $1 * 2; i++)); do
                cap
                grep -qF -- "$2" "$SCREEN" && return 0
                sleep 0.5
        done
        return 1
}
step() { # NAME SECONDS TEXT: a case that waits for TEXT
        if wait_for "$2" "$3"; then
                ok "$1"
                return 0
        fi
        not_ok "$1" "no '$3' on the screen after $2 s:"
        sed 's/^/#   /' "$SCREEN" >&2
        return 1
}
give_up() {
        tail -n 30 "$T/install.log" 2>/dev/null | tr -d '\r' | sed 's/^/#   /' >&2 || true
        tap_end
        exit 1
}

# ---- the install, driven over the serial console ----
"${TM[@]}" new-session -d -s e2e -x 80 -y 24 \
        "qemu-system-x86_64 -machine q35 -m 2048 -smp 2 -cpu qemu64,-svm -nodefaults \
         -display none -no-reboot -chardev stdio,id=s0,signal=off,logfile=$T/install.log \
         -serial chardev:s0 \
         -drive file=$T/kvmforge.iso,if=none,id=cd,media=cdrom,readonly=on \
         -device ide-cd,drive=cd,bus=ide.0,bootindex=0 \
         -drive file=$T/target.raw,if=none,id=d0,format=raw -device virtio-blk-pci,drive=d0,bootindex=1 \
         -netdev user,id=n0 -device virtio-net-pci,netdev=n0; echo QEMU-ENDED \$?; sleep 3600"
t0=$(date +%s)
step "GRUB's menu on the serial console" 120 "Install (graphical console)" || give_up
keys Enter
step "the installer's welcome screen over serial, 80x24" 300 "kvmforge installs a KVM hypervisor node" || give_up
note "welcome after $(($(date +%s) - t0)) s"
cap
cp "$SCREEN" "$T/serial-welcome.txt"
keys F12
step "disks: the blank virtio disk is chosen" 30 "[*] vda" || give_up
keys F12
step "location screen" 30 "Time zone (type to search)" || give_up
keys BSpace BSpace BSpace
type_text "Europe/Vie"
keys Tab Tab Down Down
keys F12
step "accounts screen" 30 "The root password, twice" || give_up
type_text "Correct-Horse-Battery-42"
keys Tab
type_text "Correct-Horse-Battery-42"
keys Tab
type_text "ops@example.com"
keys Tab
type_text "$(cat "$T/id.pub")"
keys F12
step "network screen: the NIC with its link" 30 "link up" || give_up
keys Tab C-u
type_text "node9.tui.test"
keys F12
step "summary: the disk to be erased" 60 "ERASED: /dev/vda" || give_up
cap
cp "$SCREEN" "$T/serial-summary.txt"
keys Tab Tab Tab Enter
step "the confirmation names the disk" 30 "Everything on /dev/vda will" || give_up
keys Enter
step "progress: the pipeline's steps" 120 "Step " || give_up
t1=$(date +%s)
wait_for 300 "unpack " || true
sleep 5
cap
cp "$SCREEN" "$T/serial-progress.txt"
if step "the install completes: the node, how to reach it" "$INSTALL_TIMEOUT" "Installed node9.tui.test"; then
        note "install (from the confirmation) $(($(date +%s) - t1)) s"
        cap
        cp "$SCREEN" "$T/serial-done.txt"
        grep -q "ssh root@" "$SCREEN" && ok "done: says how to log in" ||
                not_ok "done: says how to log in" "$(cat "$SCREEN")"
else
        give_up
fi
keys Enter
step "Reboot ends the live environment (QEMU exits: -no-reboot)" 120 "QEMU-ENDED" || give_up
"${TM[@]}" kill-server 2>/dev/null || true

# ---- the node ----
t0=$(date +%s)
qemu-system-x86_64 -machine q35 -m 2048 -smp 2 -cpu qemu64,-svm -nodefaults -display none \
        -serial "file:$T/node.ttyS0" \
        -drive "file=$T/target.raw,if=none,id=d0,format=raw" -device virtio-blk-pci,drive=d0,bootindex=1 \
        -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:22" -device virtio-net-pci,netdev=n0 \
        >"$T/node.qemu" 2>&1 &
QPID=$!
SSH=(ssh -i "$T/id" -p "$PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
        -o ConnectTimeout=10 -o BatchMode=yes root@127.0.0.1)
up=false
for ((i = 0; i < BOOT_TIMEOUT / 5; i++)); do
        if "${SSH[@]}" 'systemctl is-active kvmforge-postinst' >"$T/postinst.state" 2>/dev/null &&
                grep -qx active "$T/postinst.state"; then
                up=true
                break
        fi
        kill -0 "$QPID" 2>/dev/null || break
        sleep 5
done
if ! $up; then
        not_ok "the node boots and takes the SSH key typed on the screen" "console:"
        tail -n 30 "$T/node.ttyS0" | tr -d '\r' | sed 's/^/#   /' >&2 || true
        give_up
fi
ok "the node boots, its first-boot setup ran, and it takes the SSH key typed on the screen"
note "node up after $(($(date +%s) - t0)) s"
"${SSH[@]}" 'echo "fqdn=$(hostname -f)"; echo "tz=$(readlink /etc/localtime)";
        . /etc/default/keyboard; echo "kbd=$XKBLAYOUT";
        echo "root=$(findmnt -n -o SOURCE /)"; lvs --noheadings -o lv_name kvmforge | tr -d " " | sed "s/^/lv=/";
        ip -4 -o addr show dev vmbr0 | sed "s/^/bridge=/"; echo "libvirtd=$(systemctl is-active libvirtd)";
        echo "forward=$(cat /root/.forward)"; echo "shadow=$(getent shadow root | cut -c1-8)"' \
        >"$T/node.facts" 2>&1 || true
fact() { sed -n "s/^$1=//p" "$T/node.facts"; }
[[ $(fact fqdn) == node9.tui.test ]] && ok "host name as typed" || not_ok "host name" "$(fact fqdn)"
[[ $(fact tz) == */Europe/Vienna ]] && ok "time zone as chosen by typing to search" ||
        not_ok "time zone" "$(fact tz)"
[[ $(fact kbd) == de ]] && ok "keyboard layout as chosen in the list" || not_ok "keyboard" "$(fact kbd)"
[[ $(fact root) == /dev/mapper/kvmforge-root && $(fact lv | tr '\n' ' ') == *data*root*swap* ]] &&
        ok "the default LVM layout: root, swap and the thin pool data" ||
        not_ok "LVM layout" "$(fact root) $(fact lv | tr '\n' ' ')"
[[ $(fact bridge) == *"vmbr0"*"inet 10.0.2.15/24"* ]] && ok "vmbr0 carries the DHCP address" ||
        not_ok "the bridge" "$(fact bridge)"
[[ $(fact libvirtd) == active ]] && ok "libvirtd runs" || not_ok "libvirtd" "$(fact libvirtd)"
[[ $(fact forward) == ops@example.com ]] && ok "root's mail goes to the address typed" ||
        not_ok "root's .forward" "$(fact forward)"
[[ $(fact shadow) == 'root:$y$' ]] && ok "the root password is set (yescrypt)" ||
        not_ok "the root password" "$(fact shadow)"
"${SSH[@]}" poweroff >/dev/null 2>&1 || true
wait "$QPID" 2>/dev/null || true
QPID=
if [[ -n ${SCREENS_OUT:-} ]]; then
        for f in serial-welcome serial-summary serial-progress serial-done; do
                echo "### $f"
                cat "$T/$f.txt"
        done >"$SCREENS_OUT"
fi
tap_end
