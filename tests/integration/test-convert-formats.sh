#!/bin/bash
# Correctness matrix of `kvmforge-image convert`: every input format and subformat we read,
# made from one raw disk with a real ext4 file system, converted to qcow2 and to raw and
# compared with qemu-img (which reads each input independently of our code).
#
# Prints "ok - NAME" or "not ok - NAME: REASON" per case and a closing "N passed, N failed".
# Exit 0 all ok, 1 a case or the harness failed, 77 a needed tool is missing.
# Env: KVMFORGE_IMAGE (program under test), KVMFORGE_TEST_CACHE (raw image cache),
#      MKVMDK_VMWARE_STREAM (tool), KVMFORGE_KEEP_TMP=1 (keep inputs and outputs),
#      CONVERT_TIMEOUT (seconds per conversion, default 900).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd qemu-img qemu-io mkfs.ext4 timeout flock
setup_tmpdir
KVMFORGE=$(kvmforge_image_path)
[[ -x $KVMFORGE ]] || fail "'$KVMFORGE' is not built (or set KVMFORGE_IMAGE)"
find_mkvmdk_vmware_stream
TIMEOUT=${CONVERT_TIMEOUT:-900}
START=$SECONDS

# 2.5 GiB and 7 sectors: crosses the 2 GiB split of twoGbMaxExtent* VMDKs, and the last
# 64 KiB cluster or grain is partial (and holds data, see make_fs_image).
SIZE=$(((2560 << 20) + 7 * 512))
IN=$TEST_TMPDIR/in
OUT=$TEST_TMPDIR/out
mkdir -p "$IN" "$OUT"
make_fs_image "$IN/disk.raw" "$SIZE"
SECTORS=$((SIZE / 512))
MIB=$((1 << 20))

# Runs a step that builds an input; a failure here is the harness's, not the program's.
step() {
        local t=$SECONDS
        (cd "$IN" && "$@") >"$TEST_TMPDIR/step.log" 2>&1 ||
                fail "building inputs: '$*' failed: $(tail -n 3 "$TEST_TMPDIR/step.log")"
        note "$* ($((SECONDS - t)) s)"
}

# Writes patterns into an overlay or delta FILE of format FMT: over file data, over a hole,
# not cluster aligned (copy-on-write of the backing cluster), into the partial last cluster,
# and (when ZERO is "zero") zeroes over backing data, which must then read as zeroes.
scribble() {
        local fmt=$1 file=$2 zero=${3:-}
        local cmds=(
                -c "write -P 0xa5 $((FS_OFFSET + 8 * MIB)) $MIB"
                -c "write -P 0x5a $((1 << 30)) $((2 * MIB))"
                -c "write -P 0x3c $((FS_OFFSET + 20 * MIB + 3 * 512)) $((7 * 512))"
                -c "write -P 0x7e $((SIZE - 1024)) 1024"
        )
        [[ $zero != zero ]] || cmds+=(-c "write -z $((FS_OFFSET + 40 * MIB)) $((2 * MIB))")
        step qemu-io -f "$fmt" "${cmds[@]}" "$file"
}

note "building inputs in $IN"
step qemu-img convert -f raw -O qcow2 disk.raw plain.qcow2
step qemu-img convert -f raw -O qcow2 -c disk.raw compressed.qcow2
step qemu-img convert -f raw -O qcow2 -o compat=0.10 disk.raw v2.qcow2
step qemu-img create -f qcow2 -b plain.qcow2 -F qcow2 overlay.qcow2
scribble qcow2 overlay.qcow2 zero
for sub in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat \
        streamOptimized; do
        step qemu-img convert -f raw -O vmdk -o subformat=$sub disk.raw "$sub.vmdk"
done
step "$MKVMDK" disk.raw vmware-stream.vmdk
step "$MKVMDK" --grain-sectors 16 --sparse-gd --level 1 disk.raw vmware-stream-g16.vmdk
# A delta link whose parentFileNameHint is relative to its own directory; with zeroed_grain
# the zero write becomes GTEs of value 1, hiding the parent's data.
step qemu-img create -f vmdk -o zeroed_grain=on -b monolithicSparse.vmdk -F vmdk delta.vmdk
scribble vmdk delta.vmdk zero

# A harness that wrote nothing into the overlays would test their bases twice.
for pair in "overlay.qcow2 qcow2 plain.qcow2" "delta.vmdk vmdk monolithicSparse.vmdk"; do
        read -r file fmt base <<<"$pair"
        if (cd "$IN" && qemu-img compare -q -f "$fmt" -F "$fmt" "$file" "$base"); then
                fail "building inputs: $file reads the same as $base"
        fi
done

write_descriptor() {
        local file=$1 type=$2
        shift 2
        {
                printf '# Disk DescriptorFile\nversion=1\nencoding="UTF-8"\nCID=%s\n' 5ca1ab1e
                printf 'parentCID=ffffffff\ncreateType="%s"\n\n# Extent description\n' "$type"
                printf '%s\n' "$@"
                printf '\n# The Disk Data Base\n#DDB\n\nddb.adapterType = "lsilogic"\n'
                printf 'ddb.virtualHWVersion = "14"\n'
                [[ $type != vmfsThin ]] || printf 'ddb.thinProvisioned = "1"\n'
        } >"$IN/$file"
}
write_descriptor vmfs.vmdk vmfs "RW $SECTORS VMFS \"disk.raw\""
write_descriptor vmfsthin.vmdk vmfsThin "RW $SECTORS VMFS \"disk.raw\""
# FLAT, ZERO, FLAT: boundaries off the grain size, the ZERO extent over file system data,
# the second FLAT extent reading the same file at an offset.
ZA=$((FS_OFFSET / 512 + 40 * 2048 + 7))
ZN=$((16 * 2048 + 5))
write_descriptor flat-zero-flat.vmdk twoGbMaxExtentFlat "RW $ZA FLAT \"disk.raw\" 0" \
        "RW $ZN ZERO" "RW $((SECTORS - ZA - ZN)) FLAT \"disk.raw\" $((ZA + ZN))"
# qemu skips ZERO extents (and refuses vmfsThin), so the expected content is built apart.
step qemu-img create -f qcow2 -b disk.raw -F raw flat-zero-flat-expected.qcow2
step qemu-io -f qcow2 -c "write -z $((ZA * 512)) $((ZN * 512))" flat-zero-flat-expected.qcow2
if (cd "$IN" && qemu-img compare -q -f raw -F qcow2 disk.raw flat-zero-flat-expected.qcow2); then
        fail "building inputs: the ZERO extent covers no data; move it"
fi
note "inputs ready after $((SECONDS - START)) s"

# NAME SRC SRC_FORMAT [REFERENCE REFERENCE_FORMAT]: the reference is what the output must
# equal, the source itself where qemu-img reads it correctly.
CASES=(
        "raw disk.raw raw"
        "qcow2 plain.qcow2 qcow2"
        "qcow2-compressed compressed.qcow2 qcow2"
        "qcow2-v2 v2.qcow2 qcow2"
        "qcow2-backing overlay.qcow2 qcow2"
        "vmdk-monolithicSparse monolithicSparse.vmdk vmdk"
        "vmdk-monolithicFlat monolithicFlat.vmdk vmdk"
        "vmdk-twoGbMaxExtentSparse twoGbMaxExtentSparse.vmdk vmdk"
        "vmdk-twoGbMaxExtentFlat twoGbMaxExtentFlat.vmdk vmdk"
        "vmdk-streamOptimized streamOptimized.vmdk vmdk"
        "vmdk-vmware-stream vmware-stream.vmdk vmdk"
        "vmdk-vmware-stream-8k-grains-sparse-gd vmware-stream-g16.vmdk vmdk"
        "vmdk-delta delta.vmdk vmdk"
        "vmdk-desc-vmfs vmfs.vmdk vmdk"
        "vmdk-desc-vmfsThin vmfsthin.vmdk vmdk disk.raw raw"
        "vmdk-desc-flat-zero-flat flat-zero-flat.vmdk vmdk flat-zero-flat-expected.qcow2 qcow2"
)
# Options other than -O, each once: NAME SRC OUTPUT_FORMAT OPTIONS... (the reference is the
# source as above).
EXTRA=(
        "vmdk-vmware-stream qcow2 -c"
        "vmdk-vmware-stream qcow2 --preallocation=metadata"
        "qcow2 default --threads 1 --progress"
)

# The image is converted with sources named relative to the output directory, which is the
# working directory: relative extent and parent names must resolve against their descriptor.
check() {
        local name=$1 src=$2 ref=$3 reffmt=$4 outfmt=$5
        shift 5
        local fmt=${outfmt/default/qcow2}
        local dst=$name.$fmt rc=0 t=$SECONDS vsize leftover
        local log=$TEST_TMPDIR/check.log err=$TEST_TMPDIR/convert.err
        local args=(convert)

        [[ $outfmt == default ]] || args+=(-O "$outfmt")
        args+=("$@" "../in/$src" "$dst")
        rm -rf "${OUT:?}"/* "$OUT"/.[!.]*
        (cd "$OUT" && timeout "$TIMEOUT" "$KVMFORGE" "${args[@]}") >/dev/null 2>"$err" || rc=$?
        if ((rc != 0)); then
                not_ok "$name" "exit $rc: $(head -n 1 "$err")"
                return
        fi
        if [[ ! -f $OUT/$dst ]]; then
                not_ok "$name" "exit 0 but no $dst"
                return
        fi
        leftover=$(cd "$OUT" && find . -mindepth 1 ! -name "$dst" -printf '%P ')
        if [[ -n $leftover ]]; then
                not_ok "$name" "left files beside the output: ${leftover% }"
                return
        fi
        if ! qemu-img info -f "$fmt" "$OUT/$dst" >"$log" 2>&1; then
                not_ok "$name" "output is not $fmt: $(head -n 1 "$log")"
                return
        fi
        vsize=$(image_virtual_size "$OUT/$dst" "$fmt")
        if [[ $vsize != "$SIZE" ]]; then
                not_ok "$name" "virtual size $vsize, expected $SIZE"
                return
        fi
        if ! (cd "$IN" && qemu-img compare -f "$reffmt" -F "$fmt" "$ref" "$OUT/$dst") \
                >"$log" 2>&1 || ! grep -q '^Images are identical' "$log"; then
                not_ok "$name" "content differs from $ref: $(head -n 1 "$log")"
                return
        fi
        if [[ $fmt == qcow2 ]]; then
                rc=0
                qemu-img check -f qcow2 "$OUT/$dst" >"$log" 2>&1 || rc=$?
                if ((rc != 0)) || ! grep -q '^No errors were found on the image' "$log" ||
                        grep -qi 'leak' "$log"; then
                        not_ok "$name" "qemu-img check exit $rc: $(grep -v '^$' "$log" |
                                head -n 1)"
                        return
                fi
                case " $* " in
                *" -c "*)
                        if grep -q ' 0.00% compressed clusters' "$log"; then
                                not_ok "$name" "-c wrote no compressed cluster"
                                return
                        fi
                        ;;
                *" --preallocation=metadata "*)
                        if ! grep -q '100.00% allocated' "$log"; then
                                not_ok "$name" "not preallocated: $(grep allocated "$log")"
                                return
                        fi
                        ;;
                esac
        fi
        echo "ok - $name"
        note "$name: $((SECONDS - t)) s"
        PASSED=$((PASSED + 1))
}

source_of() {
        local c
        for c in "${CASES[@]}"; do
                [[ ${c%% *} != "$1" ]] || {
                        echo "$c"
                        return
                }
        done
        fail "no case named $1"
}

for c in "${CASES[@]}"; do
        read -r name src srcfmt ref reffmt <<<"$c"
        for outfmt in qcow2 raw; do
                check "$name -> $outfmt" "$src" "${ref:-$src}" "${reffmt:-$srcfmt}" "$outfmt"
        done
done
for e in "${EXTRA[@]}"; do
        read -r name outfmt opts <<<"$e"
        read -r _ src srcfmt ref reffmt <<<"$(source_of "$name")"
        # shellcheck disable=SC2086 # opts is a list of words
        check "$name -> $outfmt $opts" "$src" "${ref:-$src}" "${reffmt:-$srcfmt}" "$outfmt" $opts
done
rm -rf "${OUT:?}"

echo "# $((SECONDS - START)) s"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
