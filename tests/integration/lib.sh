# shellcheck shell=bash
# Shared helpers for tests/integration/*.sh and bench/*.sh. Source it, do not run it:
#
#   . "$(dirname "$0")/lib.sh"
#
# The including script should already have `set -euo pipefail`. Helpers that create files use
# $TEST_TMPDIR (made by setup_tmpdir, removed on exit unless KVMFORGE_KEEP_TMP=1).

# Bump when make_fs_image builds different content, so stale cached images are not reused.
FS_IMAGE_VERSION=1

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LIB_DIR/../.." && pwd)
TEST_CACHE=${KVMFORGE_TEST_CACHE:-/var/tmp/kvmforge-test-cache}
TEST_TMPDIR=

skip() {
        echo "SKIP: $*"
        exit 77
}

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

# Logs go to stderr so that stdout stays one line per case.
note() {
        echo "# $*" >&2
}

need_cmd() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed"
        done
}

_cleanup_tmpdir() {
        local rc=$?
        if [[ -n $TEST_TMPDIR && -d $TEST_TMPDIR ]]; then
                if [[ ${KVMFORGE_KEEP_TMP:-0} == 1 ]]; then
                        echo "# kept $TEST_TMPDIR" >&2
                else
                        rm -rf -- "$TEST_TMPDIR"
                fi
        fi
        return "$rc"
}

# Creates $TEST_TMPDIR and removes it when the script exits (also on error or signal).
setup_tmpdir() {
        TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/kvmforge-test.XXXXXX")
        trap _cleanup_tmpdir EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
}

# The program under test: $KVMFORGE_IMAGE, or build/kvmforge-image in this tree.
kvmforge_image_path() {
        local p=${KVMFORGE_IMAGE:-$REPO_ROOT/build/kvmforge-image}
        [[ $p == /* ]] || p=$PWD/$p
        echo "$p"
}

# shellcheck disable=SC2034 # MKVMDK is for the including script
# Sets MKVMDK to the VMware-style stream writer: $MKVMDK_VMWARE_STREAM, the one `make` built,
# or one compiled here from its source into $TEST_TMPDIR (needs cc and zlib headers).
find_mkvmdk_vmware_stream() {
        local built=$REPO_ROOT/build/tests/tools/mkvmdk-vmware-stream
        local src=$REPO_ROOT/tests/tools/mkvmdk-vmware-stream.c
        local cc=${CC:-cc}
        if [[ -n ${MKVMDK_VMWARE_STREAM:-} ]]; then
                MKVMDK=$MKVMDK_VMWARE_STREAM
        elif [[ -x $built && ! $built -ot $src ]]; then
                MKVMDK=$built
        else
                command -v "$cc" >/dev/null 2>&1 || skip "no $built and no C compiler to build it"
                "$cc" -std=c11 -O2 -o "$TEST_TMPDIR/mkvmdk-vmware-stream" "$src" -lz >&2 ||
                        skip "cannot build $src (zlib headers missing?)"
                MKVMDK=$TEST_TMPDIR/mkvmdk-vmware-stream
        fi
}

# Prints up to BUDGET bytes worth of regular files under DIR (relative to /, sorted, so the
# choice is the same on every run of the same machine), one "SIZE PATH" per line.
_pick_files() {
        local budget=$1 dir=$2
        # Hard links (mesa's drivers) would be stored once: take single-link files only.
        find "$dir" -xdev -type f -links 1 -size +0 -readable -printf '%s %P\n' 2>/dev/null |
                LC_ALL=C sort -k2 |
                awk -v budget="$budget" -v prefix="${dir#/}/" '
                        index($0, "\t") { next }
                        { size = $1; path = substr($0, index($0, " ") + 1) }
                        sum + size <= budget { sum += size; print size " " prefix path }'
}

# Fills DIR with about BUDGET bytes of real files from this machine: documentation (already
# compressed), translations, shared libraries; more copies of the same if one is not enough.
_stage_files() {
        local stage=$1 budget=$2 list=$1.list
        local dir share copy=1 total rest pick
        : >"$list"
        for share in "/usr/share/doc 25" "/usr/share/locale 15" "/usr/lib/x86_64-linux-gnu 60"; do
                dir=${share% *}
                [[ -d $dir ]] || continue
                _pick_files $((budget * ${share#* } / 100)) "$dir" >>"$list"
        done
        total=$(awk '{ s += $1 } END { print s + 0 }' "$list")
        ((total > 0)) || fail "no files found to fill the test file system"
        while :; do
                rest=$((budget - (copy - 1) * total))
                mkdir -p "$stage/copy-$copy"
                # shellcheck disable=SC2016 # awk code, not shell
                pick='sum + $1 <= budget { sum += $1; print substr($0, index($0, " ") + 1) }'
                awk -v budget="$rest" "$pick" "$list" >"$list.$copy"
                tar -C / -cf - --verbatim-files-from -T "$list.$copy" |
                        tar -C "$stage/copy-$copy" -xf -
                ((copy * total < budget && copy < 16)) || break
                copy=$((copy + 1))
        done
        rm -f "$list" "$list".*
}

# Prints BYTES bytes of LINE repeated (no `yes | head`: SIGPIPE fails under pipefail).
_text_block() {
        awk -v line="$1" -v n="$2" 'BEGIN {
                line = line "\n"
                for (left = n; left >= length(line); left -= length(line))
                        printf "%s", line
                printf "%s", substr(line, 1, left)
        }'
}

# Writes deterministic, varied content where a real disk has a partition table and boot code:
# the first 1 MiB (with partly filled grains and holes) and the last 8 KiB of the image,
# which straddle its partial last 64 KiB cluster.
_write_edges() {
        local img=$1 size=$2
        printf 'KVMFORGE TEST DISK v%s\n' "$FS_IMAGE_VERSION" |
                dd of="$img" conv=notrunc status=none
        printf '\x55\xaa' | dd of="$img" bs=1 seek=510 conv=notrunc status=none
        # Boot-code-like bytes: part of a binary that every Debian system has.
        head -c $((448 * 1024)) /bin/bash | dd of="$img" bs=64K seek=1 conv=notrunc status=none
        # A few sectors of text inside an otherwise zero 64 KiB cluster.
        _text_block 'partial cluster: only 4 KiB of this grain hold data' 4096 |
                dd of="$img" bs=512 seek=$(((600 * 1024 + 512) / 512)) conv=notrunc status=none
        _text_block 'end of disk (backup GPT lives here)' 8192 |
                dd of="$img" bs=512 seek=$(((size - 8192) / 512)) conv=notrunc status=none
}

_build_fs_image() {
        local out=$1 size=$2 data_mb=$3 layout=$4
        local stage=$out.stage used_kb nfiles fs_size fs_off tail=$((64 << 20))

        rm -rf "$stage"
        mkdir -p "$stage"
        note "staging ${data_mb} MiB of files for $out"
        _stage_files "$stage" $((data_mb << 20))
        used_kb=$(du -sk "$stage" | cut -f1)
        nfiles=$(find "$stage" | wc -l)
        # Room for the data, ext4 metadata and journal, rounded to 4 MiB.
        fs_size=$(((used_kb * 1024 * 5 / 4 + (96 << 20) + (4 << 20) - 1) / (4 << 20) * (4 << 20)))
        # The file system starts at 70 % of the disk (for a 2.5 GiB disk it straddles the 2 GiB
        # extent split of twoGbMaxExtent* VMDKs), or lower if it would not fit there.
        fs_off=$((size * 7 / 10 / (1 << 20) * (1 << 20)))
        if ((fs_off + fs_size + tail > size)); then
                fs_off=$(((size - fs_size - tail) / (1 << 20) * (1 << 20)))
        fi
        ((fs_off >= (2 << 20))) ||
                fail "image size $size is too small for a $fs_size byte file system"

        rm -f "$out"
        truncate -s "$size" "$out"
        note "mkfs.ext4 -d: $fs_size bytes at offset $fs_off, $((used_kb / 1024)) MiB used"
        E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -b 4096 -N $((nfiles + nfiles / 2 + 4096)) \
                -U 6b766d66-6f72-6765-7465-737464697363 \
                -E "offset=$fs_off,nodiscard,hash_seed=6b766d66-6f72-6765-6861-736873656564" \
                -L kvmforge-test -d "$stage" "$out" $((fs_size / 1024))k >&2
        rm -rf "$stage"
        _write_edges "$out" "$size"
        printf 'IMAGE_SIZE=%s\nFS_OFFSET=%s\nFS_SIZE=%s\nDATA_BYTES=%s\n' \
                "$size" "$fs_off" "$fs_size" $((used_kb * 1024)) >"$layout"
}

# make_fs_image OUT.raw SIZE [DATA_MIB]
#
# Writes a sparse raw disk image of SIZE bytes (a multiple of 512) holding a leading region of
# boot-like data, an ext4 file system with DATA_MIB (default 300) MiB of real files copied
# from /usr, a hole, and data in the last 8 KiB. Needs neither root nor mount. The image is
# built once per machine and version under $TEST_CACHE and copied (sparse) to OUT. Sets
# IMAGE_SIZE, FS_OFFSET, FS_SIZE (bytes) and DATA_BYTES (bytes used by the files).
make_fs_image() {
        local out=$1 size=$2 data_mb=${3:-300}
        local key cache layout lockfd k v

        ((size % 512 == 0)) || fail "make_fs_image: size $size is not a multiple of 512"
        need_cmd mkfs.ext4 tar awk truncate
        key=fsimg-v$FS_IMAGE_VERSION-$size-${data_mb}m
        cache=$TEST_CACHE
        if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w $cache ]]; then
                cache=$TEST_TMPDIR
                [[ -n $cache ]] || fail "make_fs_image: no writable cache and no setup_tmpdir"
        fi
        layout=$cache/$key.layout

        exec {lockfd}>"$cache/$key.lock"
        flock "$lockfd"
        if [[ ! -f $cache/$key.raw || ! -f $layout ||
                $(stat -c %s "$cache/$key.raw") != "$size" ]]; then
                rm -f "$layout"
                _build_fs_image "$cache/$key.raw.tmp" "$size" "$data_mb" "$layout.tmp"
                mv -f "$cache/$key.raw.tmp" "$cache/$key.raw"
                mv -f "$layout.tmp" "$layout"
        fi
        cp --sparse=always --reflink=auto "$cache/$key.raw" "$out"
        exec {lockfd}>&-

        while IFS='=' read -r k v; do
                case $k in
                IMAGE_SIZE) IMAGE_SIZE=$v ;;
                FS_OFFSET) FS_OFFSET=$v ;;
                FS_SIZE) FS_SIZE=$v ;;
                DATA_BYTES) DATA_BYTES=$v ;;
                esac
        done <"$layout"
        export IMAGE_SIZE FS_OFFSET FS_SIZE DATA_BYTES
}

# Prints the virtual size in bytes of an image of format FMT.
image_virtual_size() {
        qemu-img info -f "$2" --output=json "$1" |
                sed -n '/^ *"virtual-size": /{ s/^ *"virtual-size": *\([0-9]*\),*$/\1/p; q }'
}

# Case results, one line each as tests/run.sh counts them; tap_end prints the tally and
# returns non-zero when a case failed.
PASSED=0
FAILED=0

ok() {
        echo "ok - $1"
        PASSED=$((PASSED + 1))
}

# not_ok NAME [REASON]
not_ok() {
        echo "not ok - $1${2:+: $2}"
        FAILED=$((FAILED + 1))
}

tap_end() {
        echo "$PASSED passed, $FAILED failed"
        ((FAILED == 0))
}
