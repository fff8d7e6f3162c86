#!/bin/bash
# The text installer (kvmforge-install tui), driven for real in tmux at 80x24: keys in with
# send-keys, the screen read back with capture-pane, on a captured machine (--sysroot, disks as
# sparse image files) with --dry-run. Every screen is checked: the defaults from detection,
# the install medium left out, validation messages next to the fields, Back keeping values,
# the live plan, the summary naming the disk to be ERASED by model and serial, the saved answer
# file against the expected one (and check-answer accepting it), and the dry run to its end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_cmd tmux sfdisk mkfs.ext4 mkfs.vfat ssh-keygen
setup_tmpdir
BIN=${KVMFORGE_INSTALL:-$REPO_ROOT/build/kvmforge-install}
[[ -x $BIN ]] || fail "'$BIN' is not built"
R=$TEST_TMPDIR/root
EXPECTED=$REPO_ROOT/tests/integration/data/tui/answer.cfg
# Each start gets a tmux server of its own: a new session on a socket whose server is still
# going away after kill-server fails ("server exited unexpectedly").
RUNS=0
T=(tmux -L "kvmforge-tui-$$-0")
trap '"${T[@]}" kill-server 2>/dev/null || true' EXIT

# ---- the machine: three disks to choose from, the USB stick the medium is on, two NICs ----

disk() { # NAME DEVPATH SIZE MODEL SERIAL REMOVABLE MAJ:MIN
        local name=$1 devpath=$2 size=$3 model=$4 serial=$5 removable=$6 devnum=$7
        local dir=$R/sys/devices/$devpath/block/$name
        mkdir -p "$dir/queue" "$dir/device" "$R/sys/block" "$R/sys/dev/block" "$R/dev/disk/by-id"
        echo $((size / 512)) >"$dir/size"
        echo 512 >"$dir/queue/logical_block_size"
        echo 4096 >"$dir/queue/physical_block_size"
        echo 0 >"$dir/queue/rotational"
        echo "$removable" >"$dir/removable"
        echo 0 >"$dir/ro"
        echo "$model" >"$dir/device/model"
        echo "$serial" >"$dir/device/serial"
        ln -s "../devices/$devpath/block/$name" "$R/sys/block/$name"
        ln -s "../../devices/$devpath/block/$name" "$R/sys/dev/block/$devnum"
        truncate -s "$size" "$R/dev/$name"
}
nic() { # NAME MAC CARRIER DRIVER PCI-SLOT
        local pci=$R/sys/devices/pci0000:00/0000:00:$5
        local d=$pci/net/$1
        mkdir -p "$d" "$R/sys/class/net" "$R/sys/bus/pci/drivers/$4"
        echo "$2" >"$d/address"
        echo "$3" >"$d/carrier"
        if [[ $3 == 1 ]]; then echo 1000 >"$d/speed"; fi
        ln -s ../.. "$d/device"
        ln -s "../../../bus/pci/drivers/$4" "$pci/driver"
        ln -s "../../devices/pci0000:00/0000:00:$5/net/$1" "$R/sys/class/net/$1"
}
mkdir -p "$R/run/medium" "$R/proc/self" "$R/kvmforge" "$TEST_TMPDIR/work"
disk sda pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0 $((240 << 30)) \
        "Samsung SSD 870" S5Y1NF0R123456 0 8:0
printf 'label: gpt\nstart=2048, size=81920, type=linux\n' | sfdisk -q "$R/dev/sda" >/dev/null
truncate -s 40M "$TEST_TMPDIR/work/p1" && mkfs.ext4 -q -F -L oldroot "$TEST_TMPDIR/work/p1"
dd if="$TEST_TMPDIR/work/p1" of="$R/dev/sda" bs=1M seek=1 conv=notrunc,sparse status=none
disk nvme0n1 pci0000:00/0000:00:03.0/nvme/nvme0 $((1024 << 30)) "INTEL SSDPE2KX010T8" \
        PHLJ000000011P0 0 259:0
disk sdc pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0 $((500 << 30)) \
        "WDC WD5000AAKX" WCAYUJ123456 0 8:32
disk sdb pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0 $((16 << 20)) \
        "Cruzer Blade" 4C530001 1 8:16
mkfs.vfat -n KVMFORGE "$R/dev/sdb" >/dev/null
touch "$R/run/medium/.kvmforge-medium"
printf '22 1 0:21 / / rw - tmpfs rootfs rw\n30 22 8:16 / /run/medium ro - vfat /dev/sdb ro\n' \
        >"$R/proc/self/mountinfo"
printf 'Filename\tType\tSize\tUsed\tPriority\n' >"$R/proc/swaps"
printf 'processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu vmx\n' >"$R/proc/cpuinfo"
echo "MemTotal:       16777216 kB" >"$R/proc/meminfo"
nic eth0 52:54:00:12:34:56 1 e1000e 19.0
nic eth1 52:54:00:ab:cd:ef 0 igb 1c.0
# An Intel CPU whose VT-x the firmware locked off: a problem the welcome screen must explain.
printf '0 0 0000000d 756e6547 6c65746e 49656e69\n1 0 000906ea 00100800 7ffafbbf bfebfbff\n' \
        >"$R/kvmforge/cpuid"
printf '3a 1\n' >"$R/kvmforge/msr"
ssh-keygen -q -t ed25519 -N '' -C admin@tui-test -f "$TEST_TMPDIR/id" </dev/null
KEY=$(cat "$TEST_TMPDIR/id.pub")

# ---- driving ----

SCREEN=$TEST_TMPDIR/screen
start() { # ARGS...: the installer in a fresh 80x24 tmux
        "${T[@]}" kill-server 2>/dev/null || true
        RUNS=$((RUNS + 1))
        T=(tmux -L "kvmforge-tui-$$-$RUNS")
        "${T[@]}" new-session -d -s tui -x 80 -y 24 \
                "env TERM=xterm LANG=C.UTF-8 $BIN tui --sysroot $R --log $TEST_TMPDIR/log $*; echo \$? >$TEST_TMPDIR/rc; sleep 600"
        rm -f "$TEST_TMPDIR/rc"
}
cap() { "${T[@]}" capture-pane -p -t tui >"$SCREEN"; }
keys() { # KEYS...: tmux key names; waits for the screen to settle
        "${T[@]}" send-keys -t tui "$@"
        sleep 0.4
}
type_text() { "${T[@]}" send-keys -t tui -l "$1"; sleep 0.3; }
# Waits up to 10 s for TEXT on the screen (fixed string).
wait_for() {
        local i
        for ((i = 0; i < 50; i++)); do
                cap
                grep -qF -- "$1" "$SCREEN" && return 0
                sleep 0.2
        done
        return 1
}
check() { # NAME TEXT...: every TEXT on the screen
        local name=$1 t
        shift
        for t in "$@"; do
                if ! wait_for "$t"; then
                        echo "not ok - $name"
                        note "missing '$t' on the screen:"
                        sed 's/^/#   /' "$SCREEN" >&2
                        return 0
                fi
        done
        echo "ok - $name"
}
check_not() { # NAME TEXT: TEXT not on the screen
        cap
        if grep -qF -- "$2" "$SCREEN"; then
                echo "not ok - $1"
                sed 's/^/#   /' "$SCREEN" >&2
        else
                echo "ok - $1"
        fi
}
exit_status() { # waits for the program's end; what it printed last is then in $TEST_TMPDIR/out
        local i
        for ((i = 0; i < 50; i++)); do
                if [[ -s $TEST_TMPDIR/rc ]]; then
                        "${T[@]}" capture-pane -p -t tui >"$TEST_TMPDIR/out"
                        cat "$TEST_TMPDIR/rc"
                        return
                fi
                sleep 0.2
        done
        echo none
}

# ---- 1. welcome ----
start --dry-run
check "welcome: the CPU verdict and what to change in the firmware" \
        "Virtualization  NOT USABLE" "Intel Virtualization Technology" "Problem: guests will run without KVM"
check "welcome: memory, the usable disks (not the medium), NICs with a link, firmware" \
        "Memory          16.0 GiB" "Disks           3 usable, largest nvme0n1 (1.0 TiB)" \
        "NICs            2, 1 with a link" "Firmware        BIOS"
cap
cp "$SCREEN" "$TEST_TMPDIR/shot-1-welcome.txt"
keys F12

# ---- 2. disks and layout ----
check "disks: the largest disk is marked, the others listed with what they hold" \
        "[*] nvme0n1    1.0 TiB nvme  INTEL SSDPE2KX010T8" "[ ] sda      240.0 GiB sata  Samsung SSD 870" \
        "a gpt partition" "[ ] sdc      500.0 GiB sata  WDC WD5000AAKX"
check_not "disks: the install medium (sdb) is not offered" "Cruzer"
check "disks: the plan for the default is shown" "Disk /dev/nvme0n1 (1.0 TiB)" "VG kvmforge"
keys Down
check "disks: the disk under the cursor with its serial and contents" \
        "sda: Samsung SSD 870, serial S5Y1NF0R123456; holds a gpt partition"
keys Down Space
check "disks: a second disk makes a RAID1 mirror in the plan" "RAID member" "Disk /dev/sdc"
keys Space
keys Tab Tab Tab
type_text 4
keys F12
check "disks: a size below 8 GiB is refused next to the fields" "Use (GiB): a node needs 8 GiB or more"
keys BSpace
type_text 100
keys Tab
check "disks: the plan follows the size typed" "99.0 GiB at 1.0 GiB    LVM PV"
cap
cp "$SCREEN" "$TEST_TMPDIR/shot-2-disks.txt"
keys F12

# ---- 3. location and keyboard ----
check "location: UTC by default, zones listed" "UTC____" "Pacific/Tongatapu" "German (no dead)"
keys F12
check "location: Next leads to the accounts" "Root password and administrator"
keys BTab BTab Enter
check "Back returns to location" "Location and keyboard"
keys BTab BTab Enter
check "Back again: the disks screen kept the size typed" "Use (GiB)  100____"
keys F12
wait_for "Location and keyboard" || true
keys BSpace BSpace BSpace
type_text "Europe/Ber"
keys Tab Tab Down Down
check "location: the serial console's note about the keyboard" "your terminal's layout applies"
cap
cp "$SCREEN" "$TEST_TMPDIR/shot-3-location.txt"
keys F12

# ---- 4. password and contacts ----
check "accounts: the password screen" "The root password, twice"
type_text "horsebattery"
keys Tab
check "accounts: the strength of the password is shown" "weak: add digits, capitals or symbols"
type_text "horsebatterz"
keys F12
check "accounts: two different passwords are refused" "the two passwords differ"
type_text "short"
keys Tab
type_text "short"
keys F12
check "accounts: a short password is refused" "the password needs 8 characters or more"
type_text "Correct-Horse-Battery-42"
keys Tab
type_text "Correct-Horse-Battery-42"
keys Tab
type_text "not-an-address"
keys F12
check "accounts: a bad e-mail address is refused" "'not-an-address' is not an e-mail address"
keys C-u
type_text "admin@example.com"
keys Tab
type_text "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBad"
keys F12
check "accounts: a key cut short is refused" "the key is cut short"
keys C-u
type_text "$TEST_TMPDIR/id.pub"
cap
sed "s#$TEST_TMPDIR#/media/usb#" "$SCREEN" >"$TEST_TMPDIR/shot-4-accounts.txt"
keys F12

# ---- 5. network ----
check "network: the NIC with a link is first choice, with its MAC and driver" \
        "eth0       52:54:00:12:34:56  link up      e1000e, 1000 Mb/s" \
        "eth1       52:54:00:ab:cd:ef  link down    igb"
check "network: DHCP and the default host name" "(*) DHCP" "kvm1.localdomain"
keys Tab C-u
type_text "node7"
keys F12
check "network: a host name without its domain is refused" "write the full name: host.example.com"
keys C-u
type_text "node7.lab.example.com"
keys Tab Tab Space Tab
type_text "192.0.2.0/24"
keys F12
check "network: the network's own address is refused" "192.0.2.0/24 is the network's own or broadcast address"
keys C-u
type_text "192.0.2.10/24"
keys Tab
type_text "198.51.100.1"
keys F12
check "network: a gateway outside the subnet is refused" "198.51.100.1 is outside the node's subnet"
keys C-u
type_text "192.0.2.1"
keys Tab
type_text "192.0.2.53 9.9.9.9"
cap
cp "$SCREEN" "$TEST_TMPDIR/shot-5-network.txt"
keys F12

# ---- 6. summary ----
check "summary: the disk to be ERASED by name, model and serial" \
        "ERASED: /dev/nvme0n1, 1.0 TiB, INTEL SSDPE2KX010T8" "serial PHLJ000000011P0, blank"
check "summary: every choice" "Time zone Europe/Berlin, keyboard de-latin1" \
        "Root password set, SSH key for root, mail to admin@example.com" \
        "Host node7.lab.example.com on eth0, 192.0.2.10/24, gateway 192.0.2.1"
cap
cp "$SCREEN" "$TEST_TMPDIR/shot-6-summary.txt"
keys Tab Tab Enter
check "summary: Save answer file asks where" "A path here, or on a USB stick"
keys C-u
type_text "$TEST_TMPDIR/saved.cfg"
keys Tab Enter
check "summary: the answer file is saved" "Saved as" "saved.cfg."
keys Enter

# The saved answer: the expected one but for the password's hash (salted) and the key.
if [[ -f $TEST_TMPDIR/saved.cfg ]] && grep -q '^rootpw --iscrypted \$y\$' "$TEST_TMPDIR/saved.cfg" &&
        sed -e 's/^rootpw --iscrypted .*/rootpw --iscrypted @HASH@/' \
                -e "s#^sshkey --username=root .*#sshkey --username=root \"@KEY@\"#" \
                "$TEST_TMPDIR/saved.cfg" | diff -u "$EXPECTED" - >&2 &&
        grep -qF "sshkey --username=root \"$KEY\"" "$TEST_TMPDIR/saved.cfg"; then
        echo "ok - the saved answer file is the expected one (yescrypt hash, the key read from the file)"
else
        echo "not ok - the saved answer file is the expected one (yescrypt hash, the key read from the file)"
fi
if "$BIN" check-answer "$TEST_TMPDIR/saved.cfg" >"$TEST_TMPDIR/check.out" 2>&1; then
        echo "ok - check-answer accepts the saved answer file"
else
        echo "not ok - check-answer accepts the saved answer file"
        sed 's/^/#   /' "$TEST_TMPDIR/check.out" >&2
fi
if [[ $(stat -c %a "$TEST_TMPDIR/saved.cfg" 2>/dev/null) == 600 ]]; then
        echo "ok - the saved answer file (it holds the password's hash) is private (0600)"
else
        echo "not ok - the saved answer file (it holds the password's hash) is private (0600)"
fi
if grep -q "Correct-Horse" "$TEST_TMPDIR/saved.cfg" "$TEST_TMPDIR/log"; then
        echo "not ok - the password itself is in no file"
else
        echo "ok - the password itself is in no file"
fi

# ---- 7, 8. the install (a dry run) and its end ----
keys Tab Tab Tab Enter
check "confirm: the disks to be erased, once more" "Everything on /dev/nvme0n1 will" "Erase and install"
keys Enter
check "done: the node and how to reach it" "Planned (a dry run: nothing was written)" \
        "ssh root@192.0.2.10" "qemu+ssh://root@192.0.2.10/system"
cap
cp "$SCREEN" "$TEST_TMPDIR/shot-8-done.txt"
keys Enter
rc=$(exit_status)
if [[ $rc == 0 ]] && grep -q "planned node7.lab.example.com on nvme0n1" "$TEST_TMPDIR/out"; then
        echo "ok - the dry run ends with status 0 and what it planned"
else
        echo "not ok - the dry run ends with status 0 and what it planned (status $rc)"
        sed 's/^/#   /' "$TEST_TMPDIR/out" >&2
fi
if grep -q "ERASED" "$TEST_TMPDIR/log" && grep -q "the installer's screens" "$TEST_TMPDIR/log"; then
        echo "ok - the pipeline ran with the screens' answer and logged the plan"
else
        echo "not ok - the pipeline ran with the screens' answer and logged the plan"
fi

# ---- quitting ----
start --dry-run
wait_for "<Next>" || true
sleep 0.5
keys BTab Enter
check "quit asks first" "Leave the installer? Nothing" "was written."
keys Enter
rc=$(exit_status)
if [[ $rc == 1 ]] && grep -q "left the installer; nothing was written" "$TEST_TMPDIR/out"; then
        echo "ok - quitting exits 1 and says nothing was written"
else
        echo "not ok - quitting exits 1 and says nothing was written (status $rc)"
fi

# ---- without a terminal, and without --dry-run on a captured tree ----
if ! "$BIN" tui --sysroot "$R" --dry-run </dev/null >"$TEST_TMPDIR/out" 2>&1 &&
        grep -q "needs a terminal" "$TEST_TMPDIR/out"; then
        echo "ok - without a terminal: one line pointing at --answer"
else
        echo "not ok - without a terminal: one line pointing at --answer"
fi
rc=0
"$BIN" tui --sysroot "$R" >"$TEST_TMPDIR/out" 2>&1 || rc=$?
if [[ $rc == 2 ]] && grep -q "add --dry-run" "$TEST_TMPDIR/out"; then
        echo "ok - a captured tree without --dry-run is bad usage"
else
        echo "not ok - a captured tree without --dry-run is bad usage (status $rc)"
fi

# The screens as text, for the README (tests/integration/data/tui/screens.txt is made from
# these with SCREENS_OUT=FILE).
if [[ -n ${SCREENS_OUT:-} ]]; then
        for f in "$TEST_TMPDIR"/shot-*.txt; do
                echo "### $(basename "$f" .txt)"
                cat "$f"
        done >"$SCREENS_OUT"
fi
