#!/bin/bash
# `kvmforge-image convert` on broken or hostile inputs, and its command line: a broken input
# must give exit status 1, exactly one line on stderr naming the input, and nothing in the
# destination directory (neither DST nor a temporary file).
#
# Prints "ok - NAME" or "not ok - NAME: REASON" per case and a closing "N passed, N failed".
# Exit 0 all ok, 1 a case or the harness failed, 77 a needed tool is missing.
# Env: KVMFORGE_IMAGE, MKVMDK_VMWARE_STREAM, KVMFORGE_KEEP_TMP=1, CONVERT_TIMEOUT (default 60).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd qemu-img qemu-io timeout od dd
setup_tmpdir
KVMFORGE=$(kvmforge_image_path)
[[ -x $KVMFORGE ]] || fail "'$KVMFORGE' is not built (or set KVMFORGE_IMAGE)"
find_mkvmdk_vmware_stream
TIMEOUT=${CONVERT_TIMEOUT:-60}
IN=$TEST_TMPDIR/in
mkdir -p "$IN"
cd "$IN"

step() {
        "$@" >"$TEST_TMPDIR/step.log" 2>&1 ||
                fail "building inputs: '$*' failed: $(tail -n 3 "$TEST_TMPDIR/step.log")"
}

# Unsigned little-endian (or, with "be", big-endian) integer of WIDTH bytes at byte OFFSET.
read_le() {
        local file=$1 off=$2 width=$3 v
        v=$(od -An -v -t "u$width" -j "$off" -N "$width" --endian=little "$file")
        echo $((v))
}

# Writes VALUE as a WIDTH-byte integer at byte OFFSET of FILE, little-endian unless ORDER=be.
patch_int() {
        local file=$1 off=$2 width=$3 value=$4 order=${5:-le} i byte bytes=
        for ((i = 0; i < width; i++)); do
                if [[ $order == be ]]; then
                        byte=$(((value >> (8 * (width - 1 - i))) & 0xff))
                else
                        byte=$(((value >> (8 * i)) & 0xff))
                fi
                bytes+=$(printf '\\x%02x' "$byte")
        done
        # shellcheck disable=SC2059 # the format is the escaped bytes
        printf "$bytes" | dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}

# Prints the byte offset of the grain marker that the last used entry of the first grain
# table of sparse extent FILE points to; GD_SECTOR is where its grain directory starts.
last_grain_of_gt0() {
        local file=$1 gd=$2 gt
        gt=$(read_le "$file" $((gd * 512)) 4)
        ((gt > 0)) || fail "building inputs: $file has no first grain table"
        od -An -v -t u4 -j $((gt * 512)) -N 2048 --endian=little "$file" |
                tr -s ' ' '\n' | sort -n | tail -n 1 | awk '{ print $1 * 512 }'
}

# A 64 MiB disk: compressible text, binary code, a pattern, holes, a partial last grain.
step qemu-img create -f raw small.raw $((64 << 20))
step qemu-io -f raw -c "write -P 0x11 0 1M" -c "write -P 0x22 $((40 << 20)) 3M" small.raw
head -c $((2 << 20)) /bin/bash | dd of=small.raw bs=1M seek=8 conv=notrunc status=none
find /usr/share/common-licenses -type f -exec cat {} + 2>/dev/null | head -c $((1 << 20)) |
        dd of=small.raw bs=1M seek=20 conv=notrunc status=none
truncate -s $(((64 << 20) + 3 * 512)) small.raw
step qemu-io -f raw -c "write -P 0x33 $((64 << 20)) 1536" small.raw

# streamOptimized as qemu writes it (GD in front), cut in the middle of a grain.
step qemu-img convert -f raw -O vmdk -o subformat=streamOptimized small.raw qemu-stream-cut.vmdk
off=$(last_grain_of_gt0 qemu-stream-cut.vmdk "$(read_le qemu-stream-cut.vmdk 56 8)")
len=$(read_le qemu-stream-cut.vmdk $((off + 8)) 4)
((len > 64)) || fail "building inputs: grain at $off is too small to cut ($len bytes)"
truncate -s $((off + 12 + len / 2)) qemu-stream-cut.vmdk

# A VMware-style stream cut in the middle of a grain (so without GTs, GD and footer).
step "$MKVMDK" small.raw vmware-stream-cut.vmdk
size=$(stat -c %s vmware-stream-cut.vmdk)
gd=$(read_le vmware-stream-cut.vmdk $((size - 1024 + 56)) 8)
off=$(last_grain_of_gt0 vmware-stream-cut.vmdk "$gd")
len=$(read_le vmware-stream-cut.vmdk $((off + 8)) 4)
((len > 64)) || fail "building inputs: grain at $off is too small to cut ($len bytes)"
truncate -s $((off + 12 + len / 2)) vmware-stream-cut.vmdk

# A VMware-style stream that ends right after its last grain.
step "$MKVMDK" --no-footer small.raw vmware-stream-no-footer.vmdk

# monolithicSparse whose first GD (and redundant GD) entry lies past the end of the file.
step qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse small.raw gd-past-eof.vmdk
past=$(($(stat -c %s gd-past-eof.vmdk) / 512 + 4096))
patch_int gd-past-eof.vmdk $(($(read_le gd-past-eof.vmdk 56 8) * 512)) 4 "$past"
rgd=$(read_le gd-past-eof.vmdk 48 8)
((rgd == 0)) || patch_int gd-past-eof.vmdk $((rgd * 512)) 4 "$past"

# A descriptor whose flat extent does not exist.
cat >missing-extent.vmdk <<'EOF'
# Disk DescriptorFile
version=1
CID=0badf11e
parentCID=ffffffff
createType="monolithicFlat"

# Extent description
RW 131072 FLAT "missing-extent-flat.vmdk" 0

# The Disk Data Base
ddb.adapterType = "lsilogic"
EOF

# Delta links whose parents form a loop: A -> B -> A, and C -> C.
delta_descriptor() {
        local name=$1 cid=$2 parent=$3 parent_cid=$4
        step qemu-img create -f vmdk -o subformat=monolithicSparse "$name-s001.vmdk" 64M
        cat >"$name.vmdk" <<EOF
# Disk DescriptorFile
version=1
CID=$cid
parentCID=$parent_cid
createType="twoGbMaxExtentSparse"
parentFileNameHint="$parent"

# Extent description
RW 131072 SPARSE "$name-s001.vmdk"

# The Disk Data Base
ddb.adapterType = "lsilogic"
EOF
}
delta_descriptor loop-a aaaaaaaa loop-b.vmdk bbbbbbbb
delta_descriptor loop-b bbbbbbbb loop-a.vmdk aaaaaaaa
delta_descriptor self-parent cccccccc self-parent.vmdk cccccccc

# qcow2 whose first L1 entry points 1 TiB into a small file (cluster aligned, COPIED set).
step qemu-img convert -f raw -O qcow2 small.raw l1-past-eof.qcow2
l1=$(od -An -t u8 -j 40 -N 8 --endian=big l1-past-eof.qcow2)
patch_int l1-past-eof.qcow2 $((l1)) 8 $(((1 << 63) | (1 << 40))) be

# A sparse VMDK header claiming 2^62 sectors (2 EiB).
step qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse small.raw huge-capacity.vmdk
patch_int huge-capacity.vmdk 12 8 $((1 << 62))


# expect_failure NAME SRC OUTFMT: exit 1, one stderr line naming SRC, an empty output dir.
expect_failure() {
        local name=$1 src=$2 fmt=$3
        local dir=$TEST_TMPDIR/out-${name//[^A-Za-z0-9]/_}-$fmt err=$TEST_TMPDIR/err rc=0 left
        mkdir -p "$dir"
        timeout "$TIMEOUT" "$KVMFORGE" convert -O "$fmt" "$IN/$src" "$dir/out.$fmt" \
                >/dev/null 2>"$err" || rc=$?
        left=$(find "$dir" -mindepth 1 -printf '%P ')
        rm -rf "$dir"
        if ((rc != 1)); then
                not_ok "$name -> $fmt" "exit $rc, expected 1$(
                        [[ -s $err ]] && echo ": $(head -n 1 "$err")")"
        elif [[ $(wc -l <"$err") != 1 || -n $(tail -c 1 "$err") ]]; then
                not_ok "$name -> $fmt" "stderr has $(wc -l <"$err") lines, expected 1: $(
                        head -c 300 "$err" | tr '\n' '|')"
        elif ! grep -qF "$(basename "$src")" "$err"; then
                not_ok "$name -> $fmt" "error does not name '$src': $(cat "$err")"
        elif [[ -n $left ]]; then
                not_ok "$name -> $fmt" "left files in the output directory: ${left% }"
        else
                ok "$name -> $fmt"
        fi
}

# expect_status NAME STATUS ARGS...: exit status only (output is not checked).
expect_status() {
        local name=$1 want=$2 rc=0 err=$TEST_TMPDIR/err
        shift 2
        (cd "$TEST_TMPDIR" && timeout "$TIMEOUT" "$KVMFORGE" "$@") >/dev/null 2>"$err" || rc=$?
        if ((rc != want)); then
                not_ok "$name" "exit $rc, expected $want$([[ -s $err ]] &&
                        echo ": $(head -n 1 "$err")")"
        else
                ok "$name"
        fi
}

for c in \
        "streamOptimized-cut-mid-grain qemu-stream-cut.vmdk" \
        "vmware-stream-cut-mid-grain vmware-stream-cut.vmdk" \
        "vmware-stream-no-footer vmware-stream-no-footer.vmdk" \
        "monolithicSparse-gd-past-eof gd-past-eof.vmdk" \
        "descriptor-missing-extent missing-extent.vmdk" \
        "delta-parent-loop loop-a.vmdk" \
        "delta-own-parent self-parent.vmdk" \
        "qcow2-l1-past-eof l1-past-eof.qcow2" \
        "vmdk-capacity-2^62-sectors huge-capacity.vmdk" \
        "nonexistent-source does-not-exist.vmdk"; do
        for fmt in qcow2 raw; do
                expect_failure "${c% *}" "${c#* }" "$fmt"
        done
done

expect_status "convert --help" 0 convert --help
expect_status "info --help" 0 info --help
expect_status "convert unknown option" 2 convert --no-such-option in/small.raw out.qcow2
expect_status "info unknown option" 2 info --no-such-option in/small.raw
expect_status "convert -O vdi" 2 convert -O vdi in/small.raw out.vdi
expect_status "convert --preallocation=full" 2 convert --preallocation=full in/small.raw out.qcow2
expect_status "convert without DST" 2 convert in/small.raw
expect_status "unknown command" 2 no-such-command
if [[ -e $TEST_TMPDIR/out.qcow2 || -e $TEST_TMPDIR/out.vdi ]]; then
        not_ok "bad usage writes nothing" "an output file was created"
else
        ok "bad usage writes nothing"
fi

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
