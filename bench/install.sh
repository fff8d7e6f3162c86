#!/bin/bash
# Unpacking the node's system: `kvmforge-install unpack-payload` against a plain
# `tar -x --zstd` of the same payload onto the same disk, in one QEMU guest (TCG, 2 vCPUs,
# virtio disks, as the end-to-end install runs): the payload sits on one disk, a fresh ext4 on
# the other is the target; each tool runs RUNS times, alternating, with the target remade and
# the caches dropped in between. Prints the medians.
#
# Usage: bench/install.sh PAYLOAD.tar.zst   (from an ISO: kvmforge/payload.tar.zst on it, or
#        the work tree of `kvmforge-image iso`; `xorriso -osirrox on -indev X.iso -extract
#        /kvmforge/payload.tar.zst p.tar.zst` takes it out of an ISO)
# Env: RUNS (default 3), KVMFORGE_INSTALL (default build/kvmforge-install).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/vm/vm.sh
. "$(dirname "$0")/../tests/vm/vm.sh"

PAYLOAD=${1:?usage: bench/install.sh PAYLOAD.tar.zst}
RUNS=${RUNS:-3}
KI=${KVMFORGE_INSTALL:-$REPO_ROOT/build/kvmforge-install}
[[ $(id -u) == 0 ]] || skip "needs root (the VM harness)"
vm_check_tools
need_cmd mkfs.ext4 zstd tar
setup_tmpdir
T=$TEST_TMPDIR

mkdir "$T/src"
cp "$PAYLOAD" "$T/src/payload.tar.zst"
size=$(($(stat -c %s "$PAYLOAD") / 1048576 + 256))
mkfs.ext4 -q -F -d "$T/src" "$T/src.raw" "${size}M"
vm_disk "$T/target.raw" 8G
vm_initramfs "$T/initrd" --bin "$KI" --bin tar --bin zstd --bin mkfs.ext4 --bin mount \
        --bin umount --bin sync --bin date --bin awk --bin seq --bin mkdir --module ext4 --module crc32c_generic \
        --module libcrc32c >/dev/null

script='
set -e
mkdir -p /src /t
mount -t ext4 -o ro /dev/vdb /src
run() { # NAME CMD...: a fresh ext4, caches dropped, the seconds of CMD and a sync
        mkfs.ext4 -q -F /dev/vda
        mount -t ext4 /dev/vda /t
        sync; echo 3 >/proc/sys/vm/drop_caches
        s=$(date +%s.%N)
        shift; "$@"; sync
        e=$(date +%s.%N)
        umount /t
        echo "$NAME $(echo "$e - $s" | awk "{print \$1 - \$3}")"
}
for i in $(seq 1 '"$RUNS"'); do
        NAME=tar run x tar -x --zstd --numeric-owner --xattrs --xattrs-include=* -f /src/payload.tar.zst -C /t
        NAME=kvmforge run x "$KI" unpack-payload /src/payload.tar.zst /t
done
'
args=()
vm_drive args virtio "$T/target.raw"
vm_drive args virtio "$T/src.raw"
rc=0
vm_run --wait "vda vdb" --memory 2048 --timeout 3600 --env "KI=$KI" --sh "$script" -- -smp 2 "${args[@]}" >"$T/out" 2>"$T/err" || rc=$?
[[ $rc == 0 ]] || { cat "$T/out" "$T/err" >&2; fail "the VM gave status $rc"; }
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
tar_s=$(awk '$1 == "tar" {print $2}' "$T/out" | median)
kf_s=$(awk '$1 == "kvmforge" {print $2}' "$T/out" | median)
echo "payload: $(basename "$PAYLOAD"), $(($(stat -c %s "$PAYLOAD") >> 20)) MiB; $RUNS runs each, median seconds"
printf '%-34s %8s\n' "tar -x --zstd (GNU tar + zstd)" "$tar_s" "kvmforge-install unpack-payload" "$kf_s"
