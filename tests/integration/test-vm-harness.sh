#!/bin/bash
# The in-VM test harness (tests/vm/vm.sh) itself: under TCG, a guest sees disks on virtio,
# SATA, NVMe and USB; the CPU model's flags and /dev/cpu/0/msr; /sys/firmware/efi under OVMF
# (and not under SeaBIOS); an LVM physical volume made by vm_prepare_lvm_pv; and vm_run hands
# back the command's exact output and exit status, or 125 when the VM does not finish.
#
# Prints "ok - NAME" or "not ok - NAME: REASON" per case and a closing "N passed, N failed".
# Exit 0 all ok, 1 a case or the harness failed, 77 not root or a needed tool is missing.
# Env: KVMFORGE_TEST_CACHE (kernel, initramfs and image cache), KVMFORGE_KEEP_TMP=1,
#      VM_TIMEOUT (seconds per boot, default 180).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../vm/vm.sh
. "$(dirname "$0")/../vm/vm.sh"

[[ $(id -u) == 0 ]] || skip "the VM's initramfs needs /dev/console, which only root can create"
vm_check_tools
need_cmd lvm readlink
setup_tmpdir
START=$SECONDS
T=$TEST_TMPDIR

# One line for a failure's reason.
oneline() {
        tr '\n' '|' <"$1" | cut -c1-300
}

# boot NAME VM_RUN_ARGS...: runs vm_run with its output in $T/out; sets RC. Returns 1 (after
# a "not ok") when the VM gave no exit status.
boot() {
        local name=$1
        shift
        RC=0
        vm_run "$@" >"$T/out" 2>"$T/err" || RC=$?
        sed 's/^/# /' "$T/err" >&2
        note "$name: $VM_RESULT after $VM_SECONDS s (the command started at" \
                "${VM_GUEST_SECONDS:-?} s of guest uptime)"
        if [[ $VM_RESULT != exited ]]; then
                not_ok "$name" "the VM gave no exit status: $(oneline "$T/err")"
                return 1
        fi
}

vm_initramfs "$T/initrd.gz" --bin cat --bin ls --bin grep --bin readlink --bin lvm
note "kernel $VM_KERNEL_RELEASE, initramfs of $(stat -c %s "$VM_INITRAMFS") bytes"

# (a) One disk on each bus, each of its own size to tell them apart in /proc/partitions.
name="virtio, SATA, NVMe and USB disks show up as vda, sda, nvme0n1 and sdb"
args=()
for d in "virtio 64M" "sata 128M" "nvme 192M" "usb 256M"; do
        vm_disk "$T/${d% *}.raw" "${d#* }"
        vm_drive args "${d% *}" "$T/${d% *}.raw"
done
# shellcheck disable=SC2016 # guest shell code
script='cat /proc/partitions
for d in /sys/block/*; do echo "dev ${d##*/} $(readlink -f "$d")"; done
if [ -d /sys/firmware/efi ]; then echo firmware uefi; else echo firmware bios; fi'
if boot "$name" --wait "vda sda nvme0n1 sdb" --sh "$script" -- -vga std "${args[@]}"; then
        why=
        for want in "vda 65536" "sda 131072" "nvme0n1 196608" "sdb 262144"; do
                awk -v n="${want% *}" -v k="${want#* }" '$4 == n && $3 == k { f = 1 }
                        END { exit !f }' "$T/out" || why+="no ${want% *} of ${want#* } KiB; "
        done
        grep -q '^dev sda .*/ata[0-9]*/' "$T/out" || why+="sda is not on ATA; "
        grep -q '^dev sdb .*/usb[0-9]*/' "$T/out" || why+="sdb is not on USB; "
        grep -q '^dev nvme0n1 .*/nvme/' "$T/out" || why+="nvme0n1 is not NVMe; "
        grep -qx 'firmware bios' "$T/out" || why+="/sys/firmware/efi under SeaBIOS; "
        if ((RC != 0)); then
                not_ok "$name" "exit status $RC: $(oneline "$T/out")"
        elif [[ -n $why ]]; then
                not_ok "$name" "$why$(oneline "$T/out")"
        else
                ok "$name"
        fi
fi

# (b) The CPU model's flags reach /proc/cpuinfo; the msr module gives /dev/cpu/0/msr.
script='grep -m 1 "^flags" /proc/cpuinfo
if [ -c /dev/cpu/0/msr ]; then echo msr yes; else echo msr no; fi'
for cpu in "qemu64,+svm yes" "qemu64,-svm no"; do
        name="-cpu ${cpu% *}: svm ${cpu#* } in /proc/cpuinfo, /dev/cpu/0/msr exists"
        boot "$name" --sh "$script" -- -cpu "${cpu% *}" || continue
        has=no
        grep -q '^flags.*\<svm\>' "$T/out" && has=yes
        if ((RC != 0)) || [[ $has != "${cpu#* }" ]] || ! grep -qx 'msr yes' "$T/out"; then
                not_ok "$name" "exit status $RC, svm $has: $(oneline "$T/out")"
        else
                ok "$name"
        fi
done

# (c) UEFI: OVMF boots the kernel given with -kernel through its EFI stub.
name="--ovmf: the guest has /sys/firmware/efi and efivarfs mounted"
if ! vm_have_ovmf; then
        not_ok "$name" "no OVMF at '$VM_OVMF_CODE' (install ovmf)"
else
        script='ls -1 /sys/firmware/efi
grep efivarfs /proc/mounts
ls /sys/firmware/efi/efivars | grep -c .'
        if boot "$name" --ovmf --sh "$script" --; then
                if ((RC != 0)) || ! grep -qx 'runtime' "$T/out" ||
                        ! grep -q '^efivarfs /sys/firmware/efi/efivars efivarfs' "$T/out"; then
                        not_ok "$name" "exit status $RC: $(oneline "$T/out")"
                else
                        ok "$name"
                        note "OVMF: $(tail -n 1 "$T/out") EFI variables"
                fi
        fi
fi

# (d) A disk that is an LVM physical volume, made by pvcreate/vgcreate inside a VM; in the
# guest, lvcreate maps a logical volume through device-mapper without udev (tests/vm/lvm.conf).
vm_prepare_lvm_pv "$T/pv.raw" 512M
args=()
vm_drive args virtio "$T/pv.raw"
script='lvm pvs --noheadings -o pv_name,vg_name,pv_size
lvm lvcreate -y -L 64M -n lv0 testvg >/dev/null && [ -b /dev/testvg/lv0 ] && echo lv0 mapped'
name="vm_prepare_lvm_pv: lvm pvs in the guest lists /dev/vda in VG testvg"
if boot "$name" --wait vda --sh "$script" -- "${args[@]}"; then
        if ! grep -Eq '^ *\/dev\/vda +testvg +' "$T/out"; then
                not_ok "$name" "exit status $RC: $(oneline "$T/out")"
        else
                ok "$name"
        fi
        name="lvm lvcreate in the guest makes /dev/testvg/lv0 (device-mapper, no udev)"
        if ((RC != 0)) || ! grep -qx 'lv0 mapped' "$T/out"; then
                not_ok "$name" "exit status $RC: $(oneline "$T/out")"
        else
                ok "$name"
        fi
fi

# (e) The command's exit status and its exact output (no "\r", no trailing newline added).
name="vm_run returns the command's exit status and exactly its output"
if boot "$name" --sh 'printf "line 1\nno newline at the end"; exit 7' --; then
        if ((RC != 7)) || ! cmp -s "$T/out" <(printf 'line 1\nno newline at the end'); then
                not_ok "$name" "exit status $RC, output: $(od -c "$T/out" | tr '\n' '|')"
        else
                ok "$name"
        fi
fi

name="a command that does not exist: exit status 127 and a message"
if boot "$name" --cmd /no/such/program arg --; then
        if ((RC != 127)) || ! grep -q "cannot execute '/no/such/program'" "$T/out"; then
                not_ok "$name" "exit status $RC: $(oneline "$T/out")"
        else
                ok "$name"
        fi
fi

# (f) A VM that does not finish in time: 125 and the console's last lines on stderr.
name="vm_run --timeout: a VM that does not finish gives 125 and its console"
RC=0
vm_run --timeout 2 --sh 'exit 0' -- >"$T/out" 2>"$T/err" || RC=$?
if ((RC != 125)) || [[ $VM_RESULT != timeout ]] || ! grep -q "console's last lines" "$T/err"; then
        not_ok "$name" "exit status $RC, result $VM_RESULT: $(oneline "$T/err")"
else
        ok "$name"
fi

echo "# $((SECONDS - START)) s"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
