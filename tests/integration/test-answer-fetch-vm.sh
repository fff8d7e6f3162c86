#!/bin/bash
# kvmforge-install fetch-answer inside a real (emulated) machine booted by tests/vm/: answer
# files on disks found by label, UUID and device name (hd:), the install medium found by its
# marker (cdrom:), the chain's fallback to OEMDRV, a disk that is already mounted, two disks
# with one label, a link that tries to leave its filesystem, and no mount left behind. The
# images are made here without mounting anything (mkfs.ext4 -d, mkfs.vfat and mtools); one boot
# runs every case, writing a second OEMDRV filesystem onto a blank disk half-way through.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/vm.sh"

[[ $(id -u) == 0 ]] || skip "the VM's disks and mounts need root inside; run as root"
vm_check_tools
need_cmd mkfs.ext4 mkfs.vfat mmd mcopy truncate
setup_tmpdir
KI=${KVMFORGE_INSTALL:-$REPO_ROOT/build/kvmforge-install}
[[ -x $KI ]] || fail "'$KI' is not built"
KI=$(readlink -f "$KI")
T=$TEST_TMPDIR
OEM_UUID=6b766d66-6f72-6765-0000-0000000000e1

# vda: ext4 labelled OEMDRV with ks.cfg, and a link that points out of it.
mkdir -p "$T/oem" "$T/oem2" "$T/expect"
printf '# ks.cfg from the OEMDRV disk\nrootpw --lock\n' >"$T/oem/ks.cfg"
ln -s /etc/vm-cmd "$T/oem/link.cfg"
cp "$T/oem/ks.cfg" "$T/expect/oem.cfg"
mkfs.ext4 -q -F -L OEMDRV -U "$OEM_UUID" -d "$T/oem" "$T/oem.raw" 16M >&2
# vdb: FAT labelled KSDISK with /sub/my.cfg.
printf '# my.cfg from KSDISK\nlang en_US.UTF-8\n' >"$T/expect/my.cfg"
truncate -s 16M "$T/ksdisk.raw"
mkfs.vfat -n KSDISK -i 4b534b53 "$T/ksdisk.raw" >&2
mmd -i "$T/ksdisk.raw" ::/sub
mcopy -i "$T/ksdisk.raw" "$T/expect/my.cfg" ::/sub/my.cfg
# vdc: blank; becomes a second OEMDRV (from oem2.img) during the run.
vm_disk "$T/blank.raw" 16M
printf '# ks.cfg from the second OEMDRV disk\n' >"$T/oem2/ks.cfg"
cp "$T/oem2/ks.cfg" "$T/expect/oem2.cfg"
mkfs.ext4 -q -F -L OEMDRV -d "$T/oem2" "$T/oem2.img" 16M >&2
# vdd: the install medium, a FAT stick with the marker and no kvmforge/ks.cfg.
printf '# hello from the medium\n' >"$T/expect/hello.cfg"
truncate -s 16M "$T/medium.raw"
mkfs.vfat -n KVMFORGE_1 "$T/medium.raw" >&2
: >"$T/marker"
mcopy -i "$T/medium.raw" "$T/marker" ::/.kvmforge-medium
mcopy -i "$T/medium.raw" "$T/expect/hello.cfg" ::/hello.cfg

vm_initramfs "$T/initrd.gz" --bin "$KI" --bin cat --bin cmp --bin grep --bin mount \
        --bin umount --bin mkdir --module ext4 --module vfat --module nls_cp437 \
        --module nls_utf8 --module nls_ascii --module crc32c_generic
disks=()
vm_drive disks virtio "$T/oem.raw"
vm_drive disks virtio "$T/ksdisk.raw"
vm_drive disks virtio "$T/blank.raw"
vm_drive disks virtio "$T/medium.raw"

# Runs in the guest (K and OEM_UUID come through --env): each case prints "ok - ..." or
# "not ok - ..." and, when it fails, what the command printed.
script=$(
        cat <<'EOF'
cat /proc/mounts >/tmp/mounts.before
run() { rc=0; "$K" fetch-answer "$@" >/tmp/out 2>/tmp/err || rc=$?; }
check() {
        if eval "$2"; then echo "ok - $1"; else
                echo "not ok - $1"
                echo "# exit $rc; stdout:"; cat /tmp/out; echo "# stderr:"; cat /tmp/err
        fi
}
# The last line of stderr is "cannot fetch the answer: $1".
last_is() {
        last=
        while IFS= read -r l; do last=$l; done </tmp/err
        [ "$last" = "kvmforge-install: cannot fetch the answer: $1" ]
}

run
check "inst.ks=hd:LABEL=KSDISK:/sub/my.cfg from the kernel's own command line (FAT)" \
        '[ $rc = 0 ] && cmp -s /tmp/out /expect/my.cfg'

echo quiet >/tmp/cmdline
run --cmdline /tmp/cmdline
check "no answer on the command line: the medium has none, no KVMFORGE, OEMDRV's ks.cfg is read (ext4)" \
        '[ $rc = 0 ] && cmp -s /tmp/out /expect/oem.cfg'
check "each source tried is reported" \
        'grep -q "^kvmforge-install: trying cdrom:/kvmforge/ks.cfg: no file .* on the install medium (/dev/vdd)" /tmp/err &&
         grep -q "^kvmforge-install: trying hd:LABEL=KVMFORGE:/ks.cfg: no filesystem labelled .KVMFORGE." /tmp/err &&
         grep -q "^kvmforge-install: trying hd:LABEL=OEMDRV:/ks.cfg: found, " /tmp/err'

run hd:LABEL=MISSING:/ks.cfg
want="'hd:LABEL=MISSING:/ks.cfg': no filesystem labelled 'MISSING'"
check "hd:LABEL=MISSING: a clear error" '[ $rc = 1 ] && last_is "$want"'
run hd:LABEL=ksdisk:/sub/my.cfg
check "a label in the wrong case: the error names the one that exists" \
        '[ $rc = 1 ] && grep -q "/dev/vdb is labelled .KSDISK.: labels are case-sensitive" /tmp/err'
run hd:vdb:/sub/my.cfg
check "hd:vdb:/sub/my.cfg reads by device name" '[ $rc = 0 ] && cmp -s /tmp/out /expect/my.cfg'
run hd:/dev/vdb:/sub/my.cfg
check "hd:/dev/vdb:/sub/my.cfg reads by device path" '[ $rc = 0 ] && cmp -s /tmp/out /expect/my.cfg'
run "hd:UUID=$OEM_UUID:/ks.cfg"
check "hd:UUID=...:/ks.cfg reads by filesystem UUID (given in upper case)" '[ $rc = 0 ] && cmp -s /tmp/out /expect/oem.cfg'
run hd:vdb:/sub/absent.cfg
want="'hd:vdb:/sub/absent.cfg': no file '/sub/absent.cfg' on /dev/vdb (vfat 'KSDISK')"
check "a file missing on the disk: the error names the file and the filesystem" \
        '[ $rc = 1 ] && last_is "$want"'
run hd:LABEL=OEMDRV:/link.cfg
check "a link on the disk cannot reach the installer's own files" \
        '[ $rc = 1 ] && grep -q "no file ./link.cfg. on /dev/vda" /tmp/err'
run cdrom:/hello.cfg
check "cdrom:/hello.cfg: the medium is found by its marker on an unmounted FAT disk" \
        '[ $rc = 0 ] && cmp -s /tmp/out /expect/hello.cfg'

mkdir -p /mnt/oem && mount -t ext4 -o ro /dev/vda /mnt/oem
run hd:LABEL=OEMDRV:/ks.cfg
check "a filesystem already mounted is read through its mount, which stays" \
        '[ $rc = 0 ] && cmp -s /tmp/out /expect/oem.cfg && [ "$(grep -c "^/dev/vda " /proc/mounts)" = 1 ] && grep -q "^/dev/vda /mnt/oem " /proc/mounts'
umount /mnt/oem

cat /oemdrv2.img >/dev/vdc
run --cmdline /tmp/cmdline
want="'hd:LABEL=OEMDRV:/ks.cfg': /dev/vda and /dev/vdc both hold a filesystem with the label 'OEMDRV': change one (e2label, fatlabel) or name the device (hd:vda:/...)"
check "two filesystems labelled OEMDRV: an error naming both, never the first" \
        '[ $rc = 1 ] && last_is "$want"'
run hd:vdc:/ks.cfg
check "the second OEMDRV disk read by its device name" '[ $rc = 0 ] && cmp -s /tmp/out /expect/oem2.cfg'

cat /proc/mounts >/tmp/mounts.after
rc=-
check "nothing stays mounted" 'cmp -s /tmp/mounts.before /tmp/mounts.after'
left=
for d in /run/kvmforge/*; do [ -e "$d" ] && left="$left $d"; done
check "no mount directory is left in /run/kvmforge" '[ -z "$left" ]'
EOF
)

files=()
for f in my.cfg oem.cfg oem2.cfg hello.cfg; do files+=(--file "$T/expect/$f:/expect/$f"); done
rc=0
vm_run --wait "vda vdb vdc vdd" --env "K=$KI" --env "OEM_UUID=${OEM_UUID^^}" --append "inst.ks=hd:LABEL=KSDISK:/sub/my.cfg" "${files[@]}" \
        --file "$T/oem2.img:/oemdrv2.img" --sh "$script" -- -cpu qemu64 "${disks[@]}" \
        >"$T/vm.out" 2>"$T/vm.err" || rc=$?
note "booted and ran the cases in ${VM_SECONDS:-?} s (exit $rc)"
if [[ $VM_RESULT != exited ]]; then
        note "$(tail -n 20 "$T/vm.err")"
        not_ok "the VM ran the cases"
else
        while IFS= read -r line; do
                case $line in
                "ok - "*) ok "${line#ok - }" ;;
                "not ok - "*) not_ok "${line#not ok - }" ;;
                *) note "$line" ;;
                esac
        done <"$T/vm.out"
        ((PASSED + FAILED == 16)) || not_ok "every case ran" "$((PASSED + FAILED)) of 16"
fi
tap_end
