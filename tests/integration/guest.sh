# shellcheck shell=bash
# A small guest disk that boots under QEMU's SeaBIOS and says so on its serial port. Source it
# after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/guest.sh"
#   setup_tmpdir
#   make_guest_disk "$TEST_TMPDIR/guest.raw"   # sets GUEST_DISK, GUEST_KERNEL_RELEASE
#   ... boot it with -serial file:LOG, then: grep -q "$GUEST_MARKER" LOG
#
# The disk is unpartitioned ("superfloppy"): a FAT file system from sector 0 with SYSLINUX in
# its boot sector, Debian's kernel and an initramfs whose /init (tests/tools/guest-init.c)
# prints "$GUEST_MARKER <kernel release>" to ttyS0 and /dev/console and powers the machine
# off. Nothing reads the disk after the boot loader, so the guest needs no disk driver, and
# building it needs neither root nor mounts nor loop devices. The kernel is the one
# linux-image-amd64 depends on, fetched with `apt-get download` (no install).
#
# Needs: apt-get, dpkg-deb, cc with a static libc (libc6-dev), cpio, gzip, mkfs.vfat
# (dosfstools), mcopy (mtools), syslinux; a missing one skips the test.

# Bump when the disk's layout, boot configuration or build steps change. The kernel's package
# and the hash of guest-init.c are part of the cache key too.
GUEST_DISK_VERSION=1
GUEST_MARKER=KVMFORGE-GUEST-OK
GUEST_DISK_SIZE_KIB=32768
# Kept short: SYSLINUX and the kernel have room enough, but a long line is hard to read in logs.
GUEST_CMDLINE='console=ttyS0,115200 quiet loglevel=3 panic=-1'
GUEST_DISK=
GUEST_KERNEL_RELEASE=

# Prints the name of the kernel package linux-image-amd64 depends on (linux-image-R-amd64).
_guest_kernel_package() {
        apt-cache depends linux-image-amd64 2>/dev/null |
                sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}

# Resolves the kernel package, updating apt's lists once if they lack it (root only).
_guest_find_kernel_package() {
        local pkg
        pkg=$(_guest_kernel_package)
        if [[ -z $pkg && $(id -u) == 0 ]]; then
                note "apt knows no linux-image-amd64: running apt-get update"
                apt-get update -qq >&2 || true
                pkg=$(_guest_kernel_package)
        fi
        echo "$pkg"
}

# _guest_fetch_kernel PKG DIR: writes DIR/vmlinuz-RELEASE (atomically) and prints its path.
_guest_fetch_kernel() {
        local pkg=$1 dir=$2 release=${1#linux-image-}
        local out=$dir/vmlinuz-$release work deb
        [[ -n $pkg ]] || return 1
        if [[ ! -s $out ]]; then
                work=$(mktemp -d "$dir/fetch.XXXXXX")
                note "fetching $pkg with apt-get download"
                # _apt cannot write to a private temporary directory: download as ourselves.
                (cd "$work" && apt-get download -q -o APT::Sandbox::User="$(id -un)" "$pkg") \
                        >"$work/log" 2>&1 || {
                        note "$(tail -n 3 "$work/log")"
                        rm -rf "$work"
                        return 1
                }
                deb=$(echo "$work"/"$pkg"_*.deb)
                # Only the kernel: the package's modules would take 400 MiB and are not used.
                if ! dpkg-deb --fsys-tarfile "$deb" |
                        tar -xO --wildcards "./boot/vmlinuz-$release" >"$work/vmlinuz" ||
                        [[ ! -s $work/vmlinuz ]]; then
                        note "no ./boot/vmlinuz-$release in $deb"
                        rm -rf "$work"
                        return 1
                fi
                mv -f "$work/vmlinuz" "$out"
                rm -rf "$work"
        fi
        echo "$out"
}

# _guest_build_disk OUT KERNEL WORKDIR: builds the disk image OUT from the kernel file KERNEL.
_guest_build_disk() {
        local out=$1 kernel=$2 work=$3
        local src=$LIB_DIR/../tools/guest-init.c root=$work/initramfs

        rm -rf "$work"
        mkdir -p "$root/dev" "$root/proc" "$root/sys"
        "${CC:-cc}" -std=c11 -D_GNU_SOURCE -Wall -Wextra -static -Os -s -o "$root/init" "$src" \
                >&2 || return 1
        # The kernel opens /dev/console for /init before anything mounts devtmpfs; without
        # the node (we are not root) /init still finds ttyS0 once it has mounted devtmpfs.
        mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null ||
                note "cannot create /dev/console in the initramfs (not root?), continuing"
        (cd "$root" && find . | LC_ALL=C sort |
                cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -9n) >"$work/initrd.gz" ||
                return 1

        cat >"$work/syslinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL vmlinuz
  INITRD initrd.gz
  APPEND $GUEST_CMDLINE
EOF
        cp "$kernel" "$work/vmlinuz"

        rm -f "$out"
        # --invariant: fixed volume id and times in the file system's own metadata.
        mkfs.vfat -C -n KVMFORGE --invariant "$out" "$GUEST_DISK_SIZE_KIB" >"$work/log" 2>&1 || {
                note "$(cat "$work/log")"
                return 1
        }
        # MTOOLS_SKIP_CHECK: mtools would refuse an image without a partition table's geometry.
        MTOOLS_SKIP_CHECK=1 mcopy -m -i "$out" "$work/vmlinuz" "$work/initrd.gz" \
                "$work/syslinux.cfg" :: >&2 || return 1
        # The mtools-based installer: writes ldlinux.sys/.c32 and the boot sector, no mount.
        MTOOLS_SKIP_CHECK=1 syslinux --install "$out" >&2 || return 1
        rm -rf "$work"
}

# make_guest_disk [OUT]
#
# Copies the guest disk (a raw image of GUEST_DISK_SIZE_KIB KiB) to OUT (default
# $TEST_TMPDIR/guest.raw) and sets GUEST_DISK=OUT and GUEST_KERNEL_RELEASE (what the guest's
# marker line carries after "$GUEST_MARKER "). The disk is built once per kernel, version and
# guest-init.c under $TEST_CACHE; a killed build leaves only temporary files behind.
# Skips the test when a tool is missing or the kernel cannot be downloaded; fails it when
# the build itself fails.
make_guest_disk() {
        local out=${1:-$TEST_TMPDIR/guest.raw}
        local src=$LIB_DIR/../tools/guest-init.c
        local cache pkg kernel key disk lockfd hash

        need_cmd apt-get apt-cache dpkg-deb tar "${CC:-cc}" cpio gzip mkfs.vfat mcopy syslinux \
                flock sha256sum
        [[ -f $src ]] || fail "make_guest_disk: '$src' is missing"
        # /init must be static (the initramfs has no libc): libc6-dev ships libc.a.
        [[ $("${CC:-cc}" -print-file-name=libc.a) == /* ]] ||
                skip "no static C library for the guest's /init (install libc6-dev)"
        cache=$TEST_CACHE/guest
        if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w $cache ]]; then
                [[ -n $TEST_TMPDIR ]] || fail "make_guest_disk: no writable cache and no setup_tmpdir"
                cache=$TEST_TMPDIR/guest-cache
                mkdir -p "$cache"
        fi

        exec {lockfd}>"$cache/lock"
        flock "$lockfd"
        # What a killed build left behind (we hold the lock: no build runs).
        rm -rf "$cache"/fetch.* "$cache"/*.build "$cache"/*.tmp
        hash=$(sha256sum "$src" | cut -c1-12)
        pkg=$(_guest_find_kernel_package)
        GUEST_KERNEL_RELEASE=${pkg#linux-image-}
        key=guest-v$GUEST_DISK_VERSION-$GUEST_KERNEL_RELEASE-$hash
        disk=$cache/$key.raw
        if [[ -z $pkg || ! -f $disk ]] && ! kernel=$(_guest_fetch_kernel "$pkg" "$cache"); then
                # Offline, or apt's lists moved on: a disk built for an older kernel will do.
                disk=$(find "$cache" -maxdepth 1 -name "guest-v$GUEST_DISK_VERSION-*-$hash.raw" |
                        sort -V | tail -n 1)
                [[ -n $disk ]] || skip "cannot download the kernel package '${pkg:-linux-image-amd64}'"
                key=${disk##*/} key=${key%.raw}
                GUEST_KERNEL_RELEASE=${key#guest-v"$GUEST_DISK_VERSION"-}
                GUEST_KERNEL_RELEASE=${GUEST_KERNEL_RELEASE%-"$hash"}
                note "cannot download '${pkg:-linux-image-amd64}': using $disk"
        fi
        if [[ ! -f $disk ]]; then
                note "building the guest disk $disk"
                _guest_build_disk "$disk.tmp" "$kernel" "$cache/$key.build" ||
                        fail "cannot build the guest disk (see the messages above)"
                mv -f "$disk.tmp" "$disk"
                # Older disks and kernels of this cache are not used any more.
                find "$cache" -maxdepth 1 \( -name 'guest-v*.raw' -o -name 'vmlinuz-*' \) \
                        ! -name "$key.raw" ! -name "${kernel##*/}" -delete
        fi
        cp --sparse=always --reflink=auto "$disk" "$out"
        exec {lockfd}>&-
        GUEST_DISK=$out
        export GUEST_DISK GUEST_KERNEL_RELEASE GUEST_MARKER
}

# guest_log_ok LOG: whether the serial log LOG holds the marker line of the expected kernel.
guest_log_ok() {
        [[ -f $1 ]] && grep -q "^$GUEST_MARKER $GUEST_KERNEL_RELEASE" <(tr -d '\r' <"$1")
}
