#!/bin/bash
# kvmforge-install detect inside real (emulated) machines, booted by tests/vm/: a CPU with
# AMD-V and one without any extension, SeaBIOS and OVMF, with and without a VGA card, and disks
# on virtio, SATA, NVMe and USB, the SATA one carrying an LVM PV made by lvm itself. The report
# is checked against what QEMU was told to emulate. (TCG offers SVM but not VMX: the Intel
# cases and the firmware lock registers are covered by the captured trees of test-hw and
# test-detect.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/vm.sh"

[[ $(id -u) == 0 ]] || skip "the VM's disks and msr need root inside; run as root"
vm_check_tools
need_cmd python3 lvm mdadm
setup_tmpdir
DETECT=${KVMFORGE_INSTALL:-$REPO_ROOT/build/kvmforge-install}
[[ -x $DETECT ]] || fail "'$DETECT' is not built"

vm_initramfs "$TEST_TMPDIR/initrd.gz" --bin "$DETECT"
vm_prepare_lvm_pv "$TEST_TMPDIR/pv.raw" 256M kvmtestvg
vm_disk "$TEST_TMPDIR/virtio.raw" 64M
vm_disk "$TEST_TMPDIR/nvme.raw" 96M
vm_disk "$TEST_TMPDIR/usb.raw" 32M
disks=()
vm_drive disks virtio "$TEST_TMPDIR/virtio.raw" serial=VIRT0001
vm_drive disks sata "$TEST_TMPDIR/pv.raw" serial=SATA0001
vm_drive disks nvme "$TEST_TMPDIR/nvme.raw" serial=NVME0001
vm_drive disks usb "$TEST_TMPDIR/usb.raw" serial=USB00001,removable=on
WAIT="vda sda nvme0n1 sdb"

# detect_in NAME [vm_run options] -- [QEMU args]: runs detect --json in a VM, into NAME.json.
detect_in() {
        local name=$1
        local -a opts=()
        shift
        while [[ $# -gt 0 && $1 != -- ]]; do opts+=("$1"); shift; done
        shift # the "--"; QEMU's arguments follow
        if ! vm_run --wait "$WAIT" "${opts[@]}" --cmd "$DETECT" detect --json -- "$@" \
                >"$TEST_TMPDIR/$name.json" 2>"$TEST_TMPDIR/$name.err"; then
                note "$name: $(tail -5 "$TEST_TMPDIR/$name.err")"
                echo "{}" >"$TEST_TMPDIR/$name.json"
        fi
        note "$name: booted and detected in ${VM_SECONDS:-?} s"
}

# check NAME PYTHON-EXPR DESC: the expression over r (the report) must hold.
check() {
        local name=$1 expr=$2 desc=$3
        if python3 - "$TEST_TMPDIR/$name.json" "$expr" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
disks = {d["name"]: d for d in r.get("disks", [])}
ok = eval(sys.argv[2])
if not ok:
    print("# report: " + json.dumps(r)[:3000])
sys.exit(0 if ok else 1)
EOF
                echo "ok - $desc"
        else
                echo "not ok - $desc"
        fi
}

detect_in svm -- -cpu qemu64,+svm -vga std "${disks[@]}"
note "svm: the video BIOS lists $(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["video"]["vbe"]["modes"]))' "$TEST_TMPDIR/svm.json" 2>/dev/null) graphics modes"
check svm 'r["cpu"]["extension"] == "svm" and r["cpu"]["hypervisor"] and r["cpu"]["hypervisor_vendor"] == "TCGTCGTCGTCG"' \
        "AMD-V offered by QEMU is seen in CPUID, under the TCG hypervisor"
check svm 'r["cpu"]["verdict"] == "ok" and r["cpu"]["firmware_lock_msr"] == 0 and r["cpu"]["kvm"] == "no"' \
        "AMD-V with VM_CR read through /dev/cpu/0/msr as 0 (SVMDIS clear): ok"
check svm 'r["video"]["vbe"]["probed"] and r["video"]["vbe"]["version"] == "3.0" and r["video"]["vbe"]["memory"] == 16 << 20' \
        "-vga std on SeaBIOS: its video BIOS answers VBE 3.0 with 16 MiB (run in the emulator)"
check svm '{(m["mode"], m["width"], m["height"], m["bpp"], m["lfb"]) for m in r["video"]["vbe"]["modes"]} >= {(0x111, 640, 480, 16, True), (0x114, 800, 600, 16, True), (0x117, 1024, 768, 16, True), (0x118, 1024, 768, 24, True)}' \
        "the VBE mode list holds the classic modes 0x111, 0x114, 0x117, 0x118 with a linear framebuffer"
check svm 'r["video"]["vbe"]["vga"] == 0x317 and r["video"]["recommendation"].startswith("vga=791")' \
        "no KMS driver: vga=791 (0x317, 1024x768x16) is recommended"
check svm 'r["firmware"]["mode"] == "bios" and "ttyS0" in (r["firmware"]["serial_ports"] or "")' \
        "SeaBIOS: BIOS mode, the serial port found"
check svm '[d["name"] for d in r["disks"]] == ["nvme0n1", "sda", "sdb", "vda"]' \
        "the four disks are found, and nothing else"
check svm 'disks["vda"]["transport"] == "virtio" and disks["sda"]["transport"] == "sata" and disks["nvme0n1"]["transport"] == "nvme" and disks["sdb"]["transport"] == "usb"' \
        "transports: virtio, SATA, NVMe, USB"
check svm 'disks["sda"]["content"] == {"type": "LVM2_member", "label": None, "vg": "kvmtestvg"}' \
        "the LVM PV made by lvm is seen, with its VG name"
check svm 'disks["nvme0n1"]["size"] == 96 << 20 and disks["nvme0n1"]["serial"] == "NVME0001" and disks["sdb"]["removable"]' \
        "sizes, serial numbers and the removable USB disk"
check svm 'not any(d["in_use"] or d["install_medium"] for d in r["disks"])' \
        "no disk is in use or the install medium"

detect_in novt -- -cpu qemu64,-svm -vga none "${disks[@]}"
check novt 'r["cpu"]["extension"] == "none" and r["cpu"]["verdict"] == "hidden-by-hypervisor" and "TCGTCGTCGTCG" in r["cpu"]["reason"]' \
        "no extension in a VM: hidden-by-hypervisor, naming the hypervisor"
check novt 'r["video"]["framebuffer"] is None and not r["video"]["vbe"]["probed"] and "no VBE" in r["video"]["vbe"]["error"] and r["video"]["recommendation"].startswith("serial")' \
        "no VGA card: no framebuffer, no VBE, the serial console recommended"

# Two disks that mdadm makes a RAID1 of, in the VM itself (the md driver is the guest's).
vm_initramfs "$TEST_TMPDIR/initrd-md.gz" --bin "$DETECT" --bin mdadm --module raid1
vm_disk "$TEST_TMPDIR/md0.raw" 64M
vm_disk "$TEST_TMPDIR/md1.raw" 64M
md=()
vm_drive md virtio "$TEST_TMPDIR/md0.raw"
vm_drive md virtio "$TEST_TMPDIR/md1.raw"
if vm_run --wait "vda vdb" --sh "mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 \
        --metadata=1.2 --name=kvmforge /dev/vda /dev/vdb >/dev/null 2>&1 && $DETECT detect --json" \
        -- -cpu qemu64 -vga none "${md[@]}" >"$TEST_TMPDIR/md.json" 2>"$TEST_TMPDIR/md.err"; then
        note "md: booted, made the array and detected in ${VM_SECONDS:-?} s"
else
        note "md: $(tail -5 "$TEST_TMPDIR/md.err")"
        echo "{}" >"$TEST_TMPDIR/md.json"
fi
check md 'sorted(disks) == ["vda", "vdb"] and all(d["content"]["type"] == "linux_raid_member" and d["content"]["label"].endswith(":kvmforge") for d in r["disks"])' \
        "the members of an md RAID1 are seen as such, with the array's name (md0 itself is not a disk)"

if vm_have_ovmf; then
        detect_in uefi --ovmf -- -cpu qemu64 -vga std "${disks[@]}"
        check uefi 'r["firmware"]["mode"] == "uefi" and r["firmware"]["secure_boot"] in ("no", "unknown")' \
                "OVMF: UEFI mode, Secure Boot off"
        check uefi 'r["video"]["framebuffer"] == "EFI VGA" and r["video"]["recommendation"].startswith("gfxpayload=keep") and not r["video"]["vbe"]["probed"]' \
                "OVMF with a VGA card: the GOP framebuffer (efifb) is found and kept"
else
        echo "not ok - OVMF is not installed (package ovmf)"
fi
