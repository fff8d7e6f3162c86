#!/bin/bash
# Times `kvmforge-image convert` against `qemu-img convert` on the same inputs, in one run:
#   streamOptimized VMDK -> qcow2, monolithicSparse VMDK -> qcow2, qcow2 -> raw,
# made from a raw disk holding an ext4 with more than 1 GiB of real files from /usr.
# The two programs alternate (which one goes first alternates too), RUNS times each, writing
# to the same directory; the output is deleted and `sync` run between runs. Prints the
# commands and a table of medians and kvmforge's peak RSS (/usr/bin/time -f %M).
#
# Env: RUNS (default 5), KVMFORGE_IMAGE, KVMFORGE_BENCH_DIR (default /var/tmp/kvmforge-bench:
#      inputs are kept there between runs), KVMFORGE_TEST_CACHE (raw image cache),
#      BENCH_DATA_MIB (default 1280), BENCH_SIZE (bytes, default 4 GiB).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"

RUNS=${RUNS:-5}
DATA_MIB=${BENCH_DATA_MIB:-1280}
SIZE=${BENCH_SIZE:-$((4 << 30))}
BENCH_DIR=${KVMFORGE_BENCH_DIR:-/var/tmp/kvmforge-bench}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || fail "RUNS must be a positive integer"

need_cmd qemu-img mkfs.ext4 awk sort sync
if [[ ! -x /usr/bin/time ]]; then
        ((EUID == 0)) || skip "/usr/bin/time is missing (apt-get install time)"
        echo "# installing the 'time' package" >&2
        apt-get install -y -q time >/dev/null 2>&1 ||
                { apt-get update -q >/dev/null && apt-get install -y -q time >/dev/null; } ||
                skip "cannot install the 'time' package"
fi
setup_tmpdir
KVMFORGE=$(kvmforge_image_path)
[[ -x $KVMFORGE ]] || fail "'$KVMFORGE' is not built (or set KVMFORGE_IMAGE)"

QEMU_VERSION=$(qemu-img --version | sed -n '1s/^qemu-img version \([^ ]*\).*/\1/p')
IN=$BENCH_DIR/inputs-v$FS_IMAGE_VERSION-$SIZE-${DATA_MIB}m-qemu$QEMU_VERSION
OUT=$BENCH_DIR/out
mkdir -p "$IN" "$OUT"

# Inputs are built once per recipe and qemu-img version, then reused.
if [[ ! -f $IN/done ]]; then
        rm -f "$IN"/*
        make_fs_image "$IN/disk.raw" "$SIZE" "$DATA_MIB"
        note "building streamOptimized VMDK (single-threaded deflate, takes a while)"
        qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$IN/disk.raw" \
                "$IN/stream.vmdk"
        note "building monolithicSparse VMDK and qcow2"
        qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse "$IN/disk.raw" \
                "$IN/sparse.vmdk"
        qemu-img convert -f raw -O qcow2 "$IN/disk.raw" "$IN/disk.qcow2"
        touch "$IN/done"
fi

# NAME SOURCE SOURCE_FORMAT OUTPUT_FORMAT
CASES=(
        "streamOptimized->qcow2 stream.vmdk vmdk qcow2"
        "monolithicSparse->qcow2 sparse.vmdk vmdk qcow2"
        "qcow2->raw disk.qcow2 qcow2 raw"
)

# Prints the median of the numbers on stdin.
median() {
        sort -g | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print "nan"; exit }
                if (NR % 2) printf "%.2f\n", v[(NR + 1) / 2]
                else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# run TOOL LOG OUTPUT CMD...: runs CMD once under /usr/bin/time, then sync, and appends
# "SECONDS SECONDS_WITH_SYNC RSS_KIB" to LOG; the old output is deleted and synced first.
run() {
        local tool=$1 log=$2 output=$3 t0 t1 t2 rc=0
        shift 3
        rm -f "$output"
        sync
        t0=$(date +%s%N)
        /usr/bin/time -f %M -o "$TEST_TMPDIR/rss" "$@" >/dev/null 2>"$TEST_TMPDIR/err" || rc=$?
        t1=$(date +%s%N)
        sync
        t2=$(date +%s%N)
        if ((rc != 0)); then
                echo "# $tool failed (exit $rc): $(head -n 1 "$TEST_TMPDIR/err")" >&2
                echo "fail fail fail" >>"$log"
        else
                echo "$(((t1 - t0) / 1000000)) $(((t2 - t0) / 1000000))" \
                        "$(tail -n 1 "$TEST_TMPDIR/rss")" |
                        awk '{ printf "%.3f %.3f %d\n", $1 / 1000, $2 / 1000, $3 }' >>"$log"
        fi
}

echo "# $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "qemu-img $QEMU_VERSION, kvmforge $(git -C "$REPO_ROOT" describe --always --dirty \
        2>/dev/null || echo unknown), $RUNS runs each, page cache warm"
echo "# inputs in $IN:"
for f in disk.raw disk.qcow2 sparse.vmdk stream.vmdk; do
        stat -c '%n %s %b %B' "$IN/$f" | awk '{ printf "#   %-12s %6d MiB, %6d MiB allocated\n",
                substr($1, match($1, /[^\/]*$/)), $2 / 1048576, $3 * $4 / 1048576 }'
done
echo "# times are medians; '+sync' adds the sync after the command (qemu-img does not flush" \
        "its output by default)"

TABLE=()
for c in "${CASES[@]}"; do
        read -r name src srcfmt fmt <<<"$c"
        dst=$OUT/out.$fmt
        kcmd=("$KVMFORGE" convert -O "$fmt" "$IN/$src" "$dst")
        qcmd=(qemu-img convert -f "$srcfmt" -O "$fmt" "$IN/$src" "$dst")
        klog=$TEST_TMPDIR/$name.kvmforge qlog=$TEST_TMPDIR/$name.qemu
        : >"$klog"
        : >"$qlog"
        echo "# $name:"
        echo "#   ${kcmd[*]}"
        echo "#   ${qcmd[*]}"
        verdict=
        cat "$IN/$src" >/dev/null # the first run should not be the only one reading the disk
        for ((i = 1; i <= RUNS; i++)); do
                if ((i % 2)); then
                        run kvmforge "$klog" "$dst" "${kcmd[@]}"
                        if ((i == 1)) && [[ -f $dst ]] && ! qemu-img compare -q -f "$srcfmt" \
                                -F "$fmt" "$IN/$src" "$dst" 2>/dev/null; then
                                verdict=" (OUTPUT DIFFERS)"
                        fi
                        run qemu-img "$qlog" "$dst" "${qcmd[@]}"
                else
                        run qemu-img "$qlog" "$dst" "${qcmd[@]}"
                        run kvmforge "$klog" "$dst" "${kcmd[@]}"
                fi
                rm -f "$dst"
                sync
                note "$name run $i/$RUNS: kvmforge $(tail -n 1 "$klog" | cut -d' ' -f1) s," \
                        "qemu-img $(tail -n 1 "$qlog" | cut -d' ' -f1) s"
        done
        kmed=$(grep -v fail "$klog" | cut -d' ' -f1 | median)
        qmed=$(grep -v fail "$qlog" | cut -d' ' -f1 | median)
        ksync=$(grep -v fail "$klog" | cut -d' ' -f2 | median)
        qsync=$(grep -v fail "$qlog" | cut -d' ' -f2 | median)
        krss=$(grep -v fail "$klog" | awk '$3 > m { m = $3 } END { printf "%.0f", m / 1024 }')
        qrss=$(grep -v fail "$qlog" | awk '$3 > m { m = $3 } END { printf "%.0f", m / 1024 }')
        ratio=$(awk -v k="$kmed" -v q="$qmed" 'BEGIN {
                if (k + 0 > 0 && q + 0 > 0) printf "%.2f", q / k; else print "n/a" }')
        sratio=$(awk -v k="$ksync" -v q="$qsync" 'BEGIN {
                if (k + 0 > 0 && q + 0 > 0) printf "%.2f", q / k; else print "n/a" }')
        grep -q fail "$klog" && verdict+=" (kvmforge FAILED $(grep -c fail "$klog")x)"
        TABLE+=("$name $kmed $qmed $ratio $ksync $qsync $sratio $krss $qrss$verdict")
done

echo
FMT='%-24s %11s %11s %16s %12s %12s %11s %13s %13s%s\n'
# shellcheck disable=SC2059 # one format for header and rows
printf "$FMT" case "kvmforge s" "qemu-img s" "ratio qemu/kvmf" "kvmf+sync s" "qemu+sync s" \
        "ratio+sync" "kvmf RSS MiB" "qemu RSS MiB" ""
for row in "${TABLE[@]}"; do
        read -r name kmed qmed ratio ksync qsync sratio krss qrss verdict <<<"$row"
        # shellcheck disable=SC2059
        printf "$FMT" "$name" "$kmed" "$qmed" "$ratio" "$ksync" "$qsync" "$sratio" "$krss" "$qrss" \
                "${verdict:+ $verdict}"
done
