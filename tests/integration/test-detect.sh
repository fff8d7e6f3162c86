#!/bin/bash
# kvmforge-install detect over a captured tree (--sysroot) whose disks are real images made by
# the real tools: a SATA disk with a GPT holding ext4 and swap, an NVMe disk with a whole-disk
# ext4, an empty virtio disk, and a USB stick with the install medium mounted from it. The
# report must say what is on each disk, which one is the medium, and which are in use.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_cmd sfdisk mkfs.ext4 mkswap mkfs.vfat python3 dd truncate
setup_tmpdir
DETECT=${KVMFORGE_INSTALL:-$REPO_ROOT/build/kvmforge-install}
[[ -x $DETECT ]] || fail "'$DETECT' is not built"
R=$TEST_TMPDIR/root
W=$TEST_TMPDIR/work
mkdir -p "$R" "$W"

put() { # PATH TEXT
        mkdir -p "$(dirname "$R/$1")"
        printf '%s\n' "$2" >"$R/$1"
}

# sysfs_disk NAME DEVPATH SIZE_BYTES MODEL SERIAL REMOVABLE MAJ:MIN: the /sys/block entry as the
# kernel lays it out (a link into /sys/devices), and /sys/dev/block/MAJ:MIN.
sysfs_disk() {
        local name=$1 devpath=$2 size=$3 model=$4 serial=$5 removable=$6 devnum=$7
        local dir=$R/sys/devices/$devpath/block/$name
        mkdir -p "$dir/queue" "$dir/device" "$R/sys/block" "$R/sys/dev/block"
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
        mkdir -p "$R/dev/disk/by-id"
        truncate -s "$size" "$R/dev/$name"
}

# SATA: GPT, partition 1 ext4 "rootfs" (from 1 MiB, 40 MiB), partition 2 swap (16 MiB).
sysfs_disk sda pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0 $((64 << 20)) \
        "Samsung SSD 870" S5Y1NF0R123456 0 8:0
ln -s ../../sda "$R/dev/disk/by-id/ata-Samsung_SSD_870_S5Y1NF0R123456"
ln -s ../../sda "$R/dev/disk/by-id/wwn-0x5002538f00000001"
printf 'label: gpt\nstart=2048, size=81920, type=linux\nstart=83968, size=32768, type=swap\n' |
        sfdisk -q "$R/dev/sda" >/dev/null
truncate -s 40M "$W/p1" && mkfs.ext4 -q -F -L rootfs "$W/p1"
dd if="$W/p1" of="$R/dev/sda" bs=1M seek=1 conv=notrunc,sparse status=none
truncate -s 16M "$W/p2" && mkswap -q "$W/p2" >/dev/null
dd if="$W/p2" of="$R/dev/sda" bs=512 seek=83968 conv=notrunc,sparse status=none

# NVMe: ext4 on the whole disk.
sysfs_disk nvme0n1 pci0000:00/0000:00:03.0/nvme/nvme0 $((32 << 20)) "INTEL SSDPE2KX010T8" \
        PHLJ000000011P0 0 259:0
mkfs.ext4 -q -F -L data "$R/dev/nvme0n1"

# virtio: nothing on it.
sysfs_disk vda pci0000:00/0000:00:04.0/virtio2 $((16 << 20)) "" "" 0 254:0

# USB stick: FAT "KVMFORGE", mounted at /run/medium with the medium marker at its root.
sysfs_disk sdb pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0 \
        $((16 << 20)) "Cruzer Blade" 4C530001 1 8:16
mkfs.vfat -n KVMFORGE "$R/dev/sdb" >/dev/null
mkdir -p "$R/run/medium" "$R/proc/self"
touch "$R/run/medium/.kvmforge-medium"
cat >"$R/proc/self/mountinfo" <<'EOF'
22 1 0:21 / / rw,relatime - tmpfs rootfs rw
30 22 8:16 / /run/medium ro,relatime - vfat /dev/sdb ro
EOF
printf 'Filename\tType\tSize\tUsed\tPriority\n/dev/sda2\tpartition\t16380\t0\t-2\n' >"$R/proc/swaps"
put proc/cpuinfo $'processor\t: 0\nmodel name\t: Test\nflags\t\t: fpu svm\n'
put proc/meminfo "MemTotal:       8388608 kB"

rc=0
"$DETECT" detect --json --sysroot "$R" >"$TEST_TMPDIR/report.json" 2>"$TEST_TMPDIR/err" || rc=$?
[[ $rc -eq 0 ]] || fail "detect exited $rc: $(cat "$TEST_TMPDIR/err")"

python3 - "$TEST_TMPDIR/report.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
disks = {d["name"]: d for d in r["disks"]}
checks = []
def check(name, cond):
    checks.append((name, cond))

check("four disks, sorted by name", [d["name"] for d in r["disks"]] == ["nvme0n1", "sda", "sdb", "vda"])
sda = disks["sda"]
check("the SATA disk: transport, size, sectors, model, serial, by-id names",
      sda["transport"] == "sata" and sda["size"] == 64 << 20 and sda["logical_sector"] == 512
      and sda["physical_sector"] == 4096 and sda["model"] == "Samsung SSD 870"
      and sda["serial"] == "S5Y1NF0R123456"
      and sorted(sda["ids"]) == ["/dev/disk/by-id/ata-Samsung_SSD_870_S5Y1NF0R123456",
                                 "/dev/disk/by-id/wwn-0x5002538f00000001"])
parts = sda["partitions"]
check("its GPT: ext4 'rootfs' at 1 MiB and a swap partition",
      sda["partition_table"] == "gpt" and len(parts) == 2
      and parts[0]["start"] == 1 << 20 and parts[0]["size"] == 40 << 20
      and parts[0]["content"] == {"type": "ext4", "label": "rootfs", "vg": None}
      and parts[1]["content"]["type"] == "swap")
check("active swap on it marks it in use, not the medium", sda["in_use"] and not sda["install_medium"])
nv = disks["nvme0n1"]
check("the NVMe disk: transport and a whole-disk ext4 'data'",
      nv["transport"] == "nvme" and nv["partition_table"] is None
      and nv["content"]["type"] == "ext4" and nv["content"]["label"] == "data" and not nv["in_use"])
vda = disks["vda"]
check("the empty virtio disk: probed, nothing on it",
      vda["transport"] == "virtio" and vda["probed"] and vda["content"] is None
      and vda["partitions"] == [])
sdb = disks["sdb"]
check("the USB stick is the install medium, removable, in use",
      sdb["transport"] == "usb" and sdb["removable"] and sdb["install_medium"] and sdb["in_use"]
      and sdb["content"]["type"] == "vfat" and sdb["content"]["label"] == "KVMFORGE")
check("memory from /proc/meminfo", r["memory"] == 8388608 * 1024)
check("no CPUID in the tree: the verdict is unknown, and says why",
      r["cpu"]["verdict"] == "unknown" and "CPUID" in r["cpu"]["reason"])
for name, cond in checks:
    print(("ok - " if cond else "not ok - ") + name)
if not all(c for _, c in checks):
    print("# " + json.dumps(r, indent=1).replace("\n", "\n# "))
EOF

# The readable summary names the medium.
"$DETECT" detect --sysroot "$R" >"$TEST_TMPDIR/report.txt"
grep -q "sdb .*\[install medium\]" "$TEST_TMPDIR/report.txt" && echo "ok - the summary marks the install medium" ||
        echo "not ok - the summary marks the install medium"

# A sysroot that is not a directory: one line, exit 1.
rc=0
"$DETECT" detect --sysroot "$TEST_TMPDIR/nothing" >/dev/null 2>"$TEST_TMPDIR/err" || rc=$?
[[ $rc -eq 1 && $(wc -l <"$TEST_TMPDIR/err") -eq 1 ]] && grep -q "not a captured tree" "$TEST_TMPDIR/err" &&
        echo "ok - a missing --sysroot is one clear error" || echo "not ok - a missing --sysroot is one clear error"
