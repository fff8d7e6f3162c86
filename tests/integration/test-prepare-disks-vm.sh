#!/bin/bash
# kvmforge-install prepare-disks inside a real (emulated) machine booted by tests/vm/: the
# default layout made on a blank virtio disk (GPT types, LVM volumes and thin pool, filesystems,
# mounts), the VG of an earlier install on a SATA disk renamed, the USB install medium refused,
# a used disk refused without clearpart and left as it was, a failure half-way (a mkfs that
# fails) named by its step, a re-run over the half-made, active VG that starts over, the
# answer's own layout (XFS root, a thin pool and a thin volume), and a RAID1 mirror over two
# disks with the re-run over it. One boot runs every case; the checks run in the guest (no
# python there) and print TAP lines.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/vm.sh"

[[ $(id -u) == 0 ]] || skip "the VM's disks need root inside; run as root"
vm_check_tools
need_cmd lvm thin_check mdadm mkfs.ext4 mkfs.xfs mkfs.vfat mkswap sfdisk blkid mcopy truncate
setup_tmpdir
KI=${KVMFORGE_INSTALL:-$REPO_ROOT/build/kvmforge-install}
[[ -x $KI ]] || fail "'$KI' is not built"
KI=$(readlink -f "$KI")
T=$TEST_TMPDIR

vm_disk "$T/target.raw" 20G                        # vda: blank, 20 GiB (sparse)
vm_prepare_lvm_pv "$T/old.raw" 256M kvmforge       # sda (SATA): an earlier install's VG
# vdb: the second disk of a mirror. virtio, not NVMe: QEMU's NVMe under TCG times out I/O
# while md resyncs (the guest then drops the device), which would make this test flaky.
vm_disk "$T/mirror.raw" 20G
truncate -s 32M "$T/medium.raw"                    # sdb (USB): the install medium
mkfs.vfat -n KVMFORGE_1 "$T/medium.raw" >&2
: >"$T/marker"
mcopy -i "$T/medium.raw" "$T/marker" ::/.kvmforge-medium

vm_initramfs "$T/initrd.gz" --bin "$KI" --bin lvm --bin thin_check --bin mkfs.ext4 \
        --bin mkfs.vfat --bin mkfs.xfs --bin mkswap --bin blkid --bin sfdisk --bin cat --bin grep \
        --bin mount --bin umount --bin mkdir --bin chmod --bin mdadm \
        --module ext4 --module crc32c_generic --module vfat --module nls_cp437 \
        --module nls_utf8 --module nls_ascii --module dm_thin_pool --module xfs --module md_mod --module raid1
disks=()
vm_drive disks virtio "$T/target.raw"
vm_drive disks sata "$T/old.raw" serial=SATA0001
vm_drive disks virtio "$T/mirror.raw"
vm_drive disks usb "$T/medium.raw" serial=MEDIUM01,removable=on

script=$(
        cat <<'EOF'
run() { rc=0; "$K" prepare-disks "$@" >/tmp/out 2>/tmp/err || rc=$?; }
check() {
        if eval "$2"; then echo "ok - $1"; else
                echo "not ok - $1"
                echo "# exit $rc; stdout:"; cat /tmp/out; echo "# stderr:"; cat /tmp/err
                [ -f /tmp/log ] && { echo "# log:"; cat /tmp/log; }
                echo "# vgs:"; cat /tmp/vgs 2>/dev/null; echo "# mounts:"; cat /proc/mounts
        fi
}
mkdir -p /media /mnt
mount -o ro /dev/sdb /media

printf 'ignoredisk --only-use=sdb\nclearpart --all\nautopart\nrootpw --lock\n' >/tmp/medium.cfg
run --answer /tmp/medium.cfg --yes
check "the install medium is refused" \
        '[ $rc = 1 ] && grep -q "holds the install medium" /tmp/err'

printf 'ignoredisk --only-use=vda\nautopart\nrootpw --lock\n' >/tmp/plain.cfg
run --answer /tmp/plain.cfg
check "without --yes only the plan is printed" \
        '[ $rc = 1 ] && grep -q "ERASED (it is blank)" /tmp/out && grep -q "add --yes" /tmp/err &&
         ! grep -q PTTYPE <<X
$(blkid -p /dev/vda 2>/dev/null)
X'

run --answer /tmp/plain.cfg --yes --mount /mnt --log /tmp/log
check "a blank disk is prepared and mounted" '[ $rc = 0 ] && grep -q "the disks are ready" /tmp/err'
sfdisk --json /dev/vda >/tmp/table
check "GPT: BIOS boot, ESP and LVM partitions with their type GUIDs" \
        'grep -q "21686148-6449-6E6F-744E-656564454649" /tmp/table &&
         grep -q "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" /tmp/table &&
         grep -q "E6D6D379-F507-44C2-A23C-238F2A3DF928" /tmp/table'
lvm lvs --noheadings -o lv_name,segtype kvmforge >/tmp/lvs 2>&1
check "swap and root LVs and a data thin pool in VG kvmforge" \
        'grep -Eq "^ *swap +linear" /tmp/lvs && grep -Eq "^ *root +linear" /tmp/lvs &&
         grep -Eq "^ *data +thin-pool" /tmp/lvs'
lvm vgs --noheadings -o vg_name >/tmp/vgs 2>&1
check "the earlier install's VG is renamed, not merged" \
        'grep -q "kvmforge-old-sda" /tmp/vgs && [ "$(grep -Ec "^ *kvmforge *$" /tmp/vgs)" = 1 ]'
check "filesystems: ext4 root, FAT ESP, swap" \
        'blkid /dev/kvmforge/root | grep -q "TYPE=\"ext4\"" &&
         blkid /dev/vda2 | grep -q "TYPE=\"vfat\"" && blkid /dev/kvmforge/swap | grep -q "TYPE=\"swap\""'
check "root and the ESP are mounted where asked" \
        'grep -Eq "^/dev/(mapper/kvmforge-root|kvmforge/root) /mnt ext4" /proc/mounts &&
         grep -q " /mnt/boot/efi vfat" /proc/mounts'
umount /mnt/boot/efi /mnt

run --answer /tmp/plain.cfg --yes
check "a disk that now holds data is refused without clearpart, and left as it was" \
        '[ $rc = 1 ] && grep -q "wiped only when the answer says so" /tmp/err &&
         lvm lvs kvmforge/root >/dev/null 2>&1'

# A failure half-way: a mkfs that fails, after the table and the VG are made.
mkdir -p /tmp/fakebin
printf '#!/bin/sh\necho "mkfs.ext4: simulated failure" >&2\nexit 1\n' >/tmp/fakebin/mkfs.ext4
chmod 755 /tmp/fakebin/mkfs.ext4
printf 'ignoredisk --only-use=vda\nclearpart --all --initlabel\nautopart --fstype=ext4\nrootpw --lock\n' >/tmp/again.cfg
rc=0; PATH=/tmp/fakebin:$PATH "$K" prepare-disks --answer /tmp/again.cfg --yes --log /tmp/log2 \
        >/tmp/out 2>/tmp/err || rc=$?
check "a failing step stops the run and is named with the tool's words" \
        '[ $rc = 1 ] && grep -q "making ext4 on /dev/kvmforge/root: mkfs.ext4 failed (status 1): mkfs.ext4: simulated failure" /tmp/err'
run --answer /tmp/again.cfg --yes --log /tmp/log3
check "a re-run over the half-made, active VG starts over cleanly" \
        '[ $rc = 0 ] && blkid /dev/kvmforge/root | grep -q "TYPE=\"ext4\"" &&
         lvm lvs --noheadings -o lv_name kvmforge | grep -q data'

# The answer's own layout over the default one: /boot, a VG with root, a thin pool, thin /srv.
printf '%s\n' 'ignoredisk --only-use=vda' 'clearpart --all --initlabel' 'reqpart' \
        'part /boot --fstype=ext4 --size=512' 'part pv.01 --fstype=lvmpv --size=1 --grow' \
        'volgroup vgc pv.01' 'logvol / --vgname=vgc --name=root --fstype=xfs --size=4096' \
        'logvol none --vgname=vgc --name=pool --thinpool --size=4096' \
        'logvol /srv --vgname=vgc --name=srv --thin --poolname=pool --size=8192' \
        'rootpw --lock' >/tmp/custom.cfg
run --answer /tmp/custom.cfg --yes --mount /mnt --log /tmp/log4
check "a custom layout: /boot, an XFS root, a thin pool and a thin /srv in VG vgc, all mounted" \
        '[ $rc = 0 ] && lvm lvs --noheadings -o lv_name,segtype vgc | grep -Eq "srv +thin" &&
         grep -Eq "^/dev/(mapper/vgc-root|vgc/root) /mnt xfs" /proc/mounts &&
         grep -q " /mnt/boot ext4" /proc/mounts && grep -q " /mnt/srv ext4" /proc/mounts &&
         grep -q " /mnt/boot/efi vfat" /proc/mounts'
umount /mnt/srv /mnt/boot/efi /mnt/boot /mnt

# RAID1 for boot redundancy: /boot on md0, the VG on md1, BIOS boot and an ESP on each disk.
printf '%s\n' 'ignoredisk --only-use=vda,vdb' 'clearpart --all --initlabel' 'reqpart' \
        'part raid.01 --fstype=raid --size=512 --ondisk=vda' \
        'part raid.02 --fstype=raid --size=512 --ondisk=vdb' \
        'part raid.11 --fstype=raid --size=1 --grow --ondisk=vda' \
        'part raid.12 --fstype=raid --size=1 --grow --ondisk=vdb' \
        'raid /boot --level=RAID1 --device=md0 --fstype=ext4 raid.01 raid.02' \
        'raid pv.01 --level=1 --device=md1 raid.11 raid.12' 'volgroup vgr pv.01' \
        'logvol / --vgname=vgr --name=root --size=4096' \
        'logvol none --vgname=vgr --name=pool --thinpool --size=1 --grow' 'rootpw --lock' \
        >/tmp/raid.cfg
run --answer /tmp/raid.cfg --yes --mount /mnt --log /tmp/log5
check "RAID1 over two disks: /boot on md0, the VG on md1, an ESP on each disk" \
        '[ $rc = 0 ] && grep -q "^md0 : active raid1" /proc/mdstat &&
         grep -q "^md1 : active raid1" /proc/mdstat &&
         lvm pvs --noheadings -o pv_name,vg_name | grep -Eq "/dev/md1 +vgr" &&
         grep -q "^/dev/md0 /mnt/boot ext4" /proc/mounts &&
         blkid /dev/vda2 | grep -q "TYPE=\"vfat\"" && blkid /dev/vdb2 | grep -q "TYPE=\"vfat\""'
umount /mnt/boot/efi /mnt/boot /mnt
run --answer /tmp/raid.cfg --yes --log /tmp/log6
check "a re-run over the live mirror stops it and starts over" \
        '[ $rc = 0 ] && grep -q "^md1 : active raid1" /proc/mdstat && lvm lvs vgr/root >/dev/null'
EOF
)

if ! vm_run --wait "vda vdb sda sdb" --memory 1024 --timeout 400 --sh "$script" --env "K=$KI" -- \
        "${disks[@]}" >"$T/out" 2>"$T/err"; then
        note "the VM gave status ${VM_STATUS:-?} (${VM_RESULT:-?}): $(tail -5 "$T/err")"
fi
cat "$T/out"
note "one boot, every case: ${VM_SECONDS:-?} s"
passed=$(grep -c '^ok - ' "$T/out" || true)
failed=$(grep -c '^not ok - ' "$T/out" || true)
[[ $((passed + failed)) -ge 14 ]] ||
        { echo "not ok - the guest ran $((passed + failed)) of 14 cases"; failed=$((failed + 1)); }
echo "# $passed passed, $failed failed"
((failed == 0))
