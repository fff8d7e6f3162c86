# shellcheck shell=bash
# In-VM tests: boots Debian's kernel under QEMU (TCG: no /dev/kvm needed) with a small
# initramfs, runs one command inside and hands back its output and exit status. Source it
# after lib.sh (and after setup_tmpdir or not, either works):
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/../vm/vm.sh"          # also sources guest.sh
#   setup_tmpdir
#   vm_check_tools                           # skips (exit 77) when a tool is missing
#   vm_initramfs "$TEST_TMPDIR/initrd.gz" --bin cat --bin lvm     # sets VM_INITRAMFS
#   vm_disk "$TEST_TMPDIR/a.raw" 1G
#   args=()
#   vm_drive args nvme "$TEST_TMPDIR/a.raw"
#   vm_run --wait nvme0n1 --cmd cat /proc/partitions -- -cpu qemu64 "${args[@]}" >out
#
# See tests/vm/README.md for the options of each function and what the guest looks like.
#
# Learned on Debian 12 (kernel 6.1, QEMU 7.2, OVMF 2022.11):
# - The linux-image package ships its modules uncompressed (CONFIG_MODULE_COMPRESS_NONE), and
#   without modules.dep (depmod makes it in postinst): dependencies come from each module's
#   own .modinfo "depends=" and "softdep=" (what modpost recorded and depmod would use).
#   Compressed modules (.ko.xz/.zst/.gz, newer kernels) are decompressed at build time, so
#   /init needs no MODULE_INIT_COMPRESSED_FILE support in the kernel.
# - Nearly all of the storage stack is modular (virtio, virtio_pci, scsi_mod, libata, usbcore,
#   nvme, dm-mod, efivarfs, msr); only the 8250 serial driver and devtmpfs are built in.
# - QEMU's -kernel works with OVMF: the firmware starts the kernel's EFI stub from fw_cfg,
#   so the guest has /sys/firmware/efi (and efivarfs once its module is loaded).
# - lvm runs without udev: pvcreate, vgcreate and pvs scan /dev (devtmpfs) and need no
#   device-mapper; lvcreate and vgchange -ay need dm-mod and, to make /dev/VG/LV themselves
#   instead of waiting for udev, activation/udev_sync=0 and udev_rules=0 (lvm.conf here).
# - Under TCG the kernel takes about 4 s to decompress itself (xz); QEMU boots the
#   uncompressed vmlinux through its PVH entry point (CONFIG_PVH=y) without that step.
#
# Needs: qemu-system-x86_64 (qemu-system-x86), timeout, cpio, gzip, apt-get, dpkg-deb, tar,
# ldd (libc-bin), objcopy (binutils), cc with a static libc (libc6-dev), flock, sha256sum;
# ovmf for --ovmf; lvm2 for vm_prepare_lvm_pv; xz and readelf for the PVH kernel (without
# them vm_run boots the bzImage).

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! declare -F note >/dev/null; then
        echo "vm.sh: source tests/integration/lib.sh first" >&2
        return 1
fi
if ! declare -F _guest_fetch_kernel >/dev/null; then
        # shellcheck source-path=SCRIPTDIR source=../integration/guest.sh
        . "$VM_DIR/../integration/guest.sh"
fi

# Modules for the disks and devices that tests attach: virtio (blk, scsi), SATA (ahci), NVMe,
# USB disks (xhci, ehci, usb-storage, uas), SCSI disks, /dev/cpu/N/msr, device-mapper, efivarfs.
# A name that is built into the kernel, or not there at all, is skipped.
VM_DEFAULT_MODULES=(virtio_pci virtio_blk virtio_scsi ahci nvme xhci_pci ehci_pci usb_storage uas
        sd_mod msr dm_mod efivarfs)
VM_OVMF_CODE=${VM_OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
VM_OVMF_VARS=${VM_OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
# Set by vm_kernel.
VM_KERNEL=
VM_KERNEL_RELEASE=
VM_KERNEL_DEB=
VM_KERNEL_ELF=
# Set by vm_initramfs: its OUT.
VM_INITRAMFS=
# Set by vm_run, for the including script.
# shellcheck disable=SC2034
VM_RESULT=
VM_STATUS=
VM_SECONDS=
VM_GUEST_SECONDS=
VM_LOG_DIR=
_VM_RUNS=0
_VM_QEMU_PID=
_VM_TRAP_PID=

_vm_error() {
        echo "vm: $*" >&2
}

# vm_check_tools: skips the test (exit 77) unless everything the harness needs is installed.
vm_check_tools() {
        need_cmd qemu-system-x86_64 timeout cpio gzip apt-get apt-cache dpkg-deb tar ldd objcopy \
                flock sha256sum "${CC:-cc}"
        # /init must be static (the initramfs has no libc of its own): libc6-dev ships libc.a.
        [[ $("${CC:-cc}" -print-file-name=libc.a) == /* ]] ||
                skip "no static C library for the VM's /init (install libc6-dev)"
}

# vm_have_ovmf: whether `vm_run --ovmf` can work (Debian package ovmf).
vm_have_ovmf() {
        [[ -r $VM_OVMF_CODE && -r $VM_OVMF_VARS ]]
}

_vm_cache_dir() {
        local cache=$TEST_CACHE/vm
        if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w $cache ]]; then
                [[ -n $TEST_TMPDIR ]] || fail "vm: no writable cache and no setup_tmpdir"
                cache=$TEST_TMPDIR/vm-cache
                mkdir -p "$cache"
        fi
        echo "$cache"
}

# _vm_fetch_deb PKG DIR: keeps PKG's .deb as DIR/PKG.deb (for its modules; guest.sh's
# _guest_fetch_kernel takes only the kernel out of it).
_vm_fetch_deb() {
        local pkg=$1 dir=$2 work
        [[ -s $dir/$pkg.deb ]] && return 0
        work=$(mktemp -d "$dir/fetch.XXXXXX")
        note "fetching $pkg with apt-get download (for its modules)"
        # _apt cannot write to a private temporary directory: download as ourselves.
        if ! (cd "$work" && apt-get download -q -o APT::Sandbox::User="$(id -un)" "$pkg") \
                >"$work/log" 2>&1; then
                note "$(tail -n 3 "$work/log")"
                rm -rf "$work"
                return 1
        fi
        mv -f "$work/$pkg"_*.deb "$dir/$pkg.deb"
        rm -rf "$work"
}

# _vm_extract_vmlinux BZIMAGE OUT: writes the uncompressed ELF kernel inside BZIMAGE to OUT
# (atomically) if QEMU can boot it directly: it has a PVH entry point (CONFIG_PVH).
_vm_extract_vmlinux() {
        local bz=$1 out=$2 sects off len magic
        local -a dec
        # The boot protocol's header (2.08 or later): setup sectors, payload offset and length.
        [[ $(od -An -c -j $((0x202)) -N 4 "$bz" | tr -d ' ') == HdrS ]] || return 1
        (($(od -An -tu2 -j $((0x206)) -N 2 "$bz") >= 0x208)) || return 1
        sects=$(od -An -tu1 -j $((0x1f1)) -N 1 "$bz")
        ((sects != 0)) || sects=4
        read -r off len < <(od -An -tu4 -j $((0x248)) -N 8 "$bz")
        off=$(((sects + 1) * 512 + off))
        magic=$(od -An -tx1 -j "$off" -N 4 "$bz" | tr -d ' ')
        # Kbuild appends the uncompressed size (4 bytes) to xz and zstd payloads.
        case $magic in
        fd377a58) dec=(xz -dc --single-stream) ;;
        28b52ffd) dec=(zstd -qdc) len=$((len - 4)) ;;
        1f8b*) dec=(gzip -dc) ;;
        *) return 1 ;;
        esac
        command -v "${dec[0]}" >/dev/null || return 1
        dd if="$bz" iflag=skip_bytes,count_bytes skip="$off" count="$len" bs=1M status=none |
                "${dec[@]}" >"$out.tmp" || {
                rm -f "$out.tmp"
                return 1
        }
        # XEN_ELFNOTE_PHYS32_ENTRY (18), the PVH entry point that QEMU's -kernel looks for.
        if ! readelf -n "$out.tmp" 2>/dev/null |
                grep -E '\(0x00000012\)|PHYS32_ENTRY' >/dev/null; then
                rm -f "$out.tmp"
                return 1
        fi
        mv -f "$out.tmp" "$out"
}

# vm_kernel: sets VM_KERNEL (the vmlinuz), VM_KERNEL_RELEASE and VM_KERNEL_DEB (its package,
# for the modules), the kernel linux-image-amd64 depends on, kept under $TEST_CACHE/vm, and
# VM_KERNEL_ELF, the same kernel uncompressed, which QEMU boots through its PVH entry point
# without the 4 s that the kernel takes to decompress itself under TCG (empty if the kernel
# has none). Offline, the newest kernel already there is used. Skips the test if there is none.
vm_kernel() {
        local cache lockfd pkg deb release=''
        [[ -n $VM_KERNEL && -s $VM_KERNEL && -s $VM_KERNEL_DEB ]] && return 0
        cache=$(_vm_cache_dir)
        exec {lockfd}>"$cache/lock"
        flock "$lockfd"
        # What a killed build left behind (we hold the lock: no build runs).
        rm -rf "$cache"/fetch.* "$cache"/vmlinux-*.tmp "$cache"/initramfs-*.build \
                "$cache"/initramfs-*.tmp
        pkg=$(_guest_find_kernel_package)
        if [[ -n $pkg ]] && _guest_fetch_kernel "$pkg" "$cache" >/dev/null &&
                _vm_fetch_deb "$pkg" "$cache"; then
                release=${pkg#linux-image-}
                # Files of older kernels are not used any more.
                find "$cache" -maxdepth 1 \( -name 'vmlinu[xz]-*' -o -name 'linux-image-*.deb' -o \
                        -name 'initramfs-*' -o -name 'lvm-pv-*' \) ! -name "*-${release}[.-]*" \
                        ! -name "*-$release" -delete
        else
                # Offline, or apt's lists moved on: a kernel fetched before will do.
                deb=$(find "$cache" -maxdepth 1 -name 'linux-image-*.deb' | sort -V | tail -n 1)
                release=${deb##*/linux-image-} release=${release%.deb}
                [[ -n $deb && -s $cache/vmlinuz-$release ]] ||
                        skip "cannot download the kernel package '${pkg:-linux-image-amd64}'"
                note "cannot download '${pkg:-linux-image-amd64}': using the cached $release"
        fi
        VM_KERNEL=$cache/vmlinuz-$release
        VM_KERNEL_RELEASE=$release
        VM_KERNEL_DEB=$cache/linux-image-$release.deb
        VM_KERNEL_ELF=$cache/vmlinux-$release
        if [[ ! -s $VM_KERNEL_ELF ]] && ! _vm_extract_vmlinux "$VM_KERNEL" "$VM_KERNEL_ELF"; then
                note "cannot boot $release without its own decompression (no PVH entry?)"
                VM_KERNEL_ELF=''
        fi
        exec {lockfd}>&-
}

# Prints the absolute path of the program NAME (a path, or a name looked up in PATH and the
# sbin directories, which a non-root PATH may lack).
_vm_which() {
        local name=$1 d
        if [[ $name == */* ]]; then
                [[ -e $name ]] || return 1
                [[ $name == /* ]] || name=$PWD/$name
                echo "$name"
                return 0
        fi
        for d in ${PATH//:/ } /usr/local/sbin /usr/sbin /sbin; do
                if [[ -f $d/$name && -x $d/$name ]]; then
                        [[ $d == /* ]] || d=$PWD/$d
                        echo "$d/$name"
                        return 0
                fi
        done
        return 1
}

# Prints PROGRAM and every file it needs at run time, one absolute path a line: the shared
# libraries and the dynamic loader that ldd lists, or a script's interpreter and its needs.
_vm_needs() {
        local prog=$1 depth=${2:-0} out line interp
        ((depth < 4)) || return 1
        echo "$prog"
        if [[ $(head -c 2 "$prog") == '#!' ]]; then
                read -r interp _ < <(head -n 1 "$prog" | cut -c 3-)
                [[ -n $interp ]] || return 1
                _vm_needs "$interp" $((depth + 1))
                return
        fi
        if ! out=$(LC_ALL=C ldd "$prog" 2>&1); then
                # A static program needs nothing.
                [[ $out == *"not a dynamic executable"* || $out == *"statically linked"* ]] &&
                        return 0
                _vm_error "ldd '$prog': $out"
                return 1
        fi
        while read -r line; do
                case $line in
                *"=> not found"*)
                        _vm_error "'$prog' needs ${line%% *}, which ldd does not find"
                        return 1
                        ;;
                *"=> /"*) line=${line#*=> } ;;
                /*) ;;
                *) continue ;; # linux-vdso.so.1, statically linked
                esac
                echo "${line%% (0x*}"
        done <<<"$out"
}

# _vm_install ROOT PATH: copies the host's PATH into ROOT at the same path, recreating the
# symbolic links on the way (/lib -> usr/lib, /sbin/pvcreate -> lvm) and copying their targets.
_vm_install() {
        local root=$1 path=$2 depth=${3:-0} prefix='' comp target rest
        if ((depth >= 40)); then
                _vm_error "too many symbolic links at '$path'"
                return 1
        fi
        rest=${path#/}
        # PREFIX, the part done, has no symbolic link: a link restarts the walk at its target.
        while [[ -n $rest ]]; do
                comp=${rest%%/*}
                [[ $rest == */* ]] && rest=${rest#*/} || rest=
                case $comp in
                '' | .) continue ;;
                ..)
                        prefix=${prefix%/*}
                        continue
                        ;;
                esac
                prefix=$prefix/$comp
                if [[ -L $prefix ]]; then
                        target=$(readlink "$prefix")
                        [[ -L $root$prefix || -e $root$prefix ]] || ln -s "$target" "$root$prefix"
                        [[ $target == /* ]] || target=${prefix%/*}/$target
                        _vm_install "$root" "$target${rest:+/$rest}" $((depth + 1))
                        return
                elif [[ -d $prefix ]]; then
                        mkdir -p "$root$prefix"
                elif [[ -z $rest && -e $prefix ]]; then
                        [[ -e $root$prefix ]] || cp -p "$prefix" "$root$prefix"
                else
                        _vm_error "cannot install '$path': no '$prefix' or not a directory"
                        return 1
                fi
        done
}

# Module name as the kernel knows it: the file name without .ko* and with '_' for '-'.
_vm_mod_name() {
        local n=${1##*/}
        n=${n%%.ko*}
        printf -v "$2" '%s' "${n//-/_}"
}

# _vm_mod_resolve NAME required|optional|soft: appends NAME's dependencies, NAME and its
# post-softdeps to _VM_MOD_ORDER, each once; a missing NAME fails, is noted, or is ignored.
# Uses _VM_MOD_PATH (name -> path in the package), _VM_MOD_BUILTIN, _VM_MOD_STATE and
# _VM_MOD_TREE (the unpacked package).
_vm_mod_resolve() {
        local name required=$2 file info depends softdep d list=pre pre=() post=()
        _vm_mod_name "$1" name
        [[ -z ${_VM_MOD_STATE[$name]:-} ]] || return 0
        file=${_VM_MOD_PATH[$name]:-}
        if [[ -z $file ]]; then
                [[ -n ${_VM_MOD_BUILTIN[$name]:-} ]] && return 0
                case $required in
                required)
                        _vm_error "no module '$name' in $VM_KERNEL_RELEASE"
                        return 1
                        ;;
                optional) note "no module '$name' in $VM_KERNEL_RELEASE, skipped" ;;
                esac
                return 0
        fi
        _VM_MOD_STATE[$name]=visiting
        info=$(objcopy -O binary -j .modinfo "$_VM_MOD_TREE/$file" /dev/stdout | tr '\0' '\n') ||
                return 1
        depends=$(sed -n 's/^depends=//p' <<<"$info" | head -n 1)
        softdep=$(sed -n 's/^softdep=//p' <<<"$info" | head -n 1)
        for d in $softdep; do
                case $d in
                pre:) list=pre ;;
                post:) list=post ;;
                *) [[ $list == pre ]] && pre+=("$d") || post+=("$d") ;;
                esac
        done
        # Soft dependencies may name an alias ("crct10dif"): only module names are followed.
        for d in "${pre[@]}"; do
                _vm_mod_resolve "$d" soft || return 1
        done
        for d in ${depends//,/ }; do
                _vm_mod_resolve "$d" required || return 1
        done
        _VM_MOD_ORDER+=("$file")
        _VM_MOD_STATE[$name]=resolved
        for d in "${post[@]}"; do
                _vm_mod_resolve "$d" soft || return 1
        done
}

# _vm_add_modules ROOT WORK NAME...: unpacks the kernel package's modules in WORK, copies
# NAME... and their dependencies (decompressed) to ROOT and lists them in load order in
# ROOT/etc/vm-modules. A name prefixed with '?' may be missing.
_vm_add_modules() {
        local root=$1 work=$2 moddir=lib/modules/$VM_KERNEL_RELEASE f name req dst
        shift 2
        declare -gA _VM_MOD_PATH=() _VM_MOD_BUILTIN=() _VM_MOD_STATE=()
        _VM_MOD_ORDER=()
        _VM_MOD_TREE=$work/deb/$moddir
        mkdir -p "$work/deb"
        dpkg-deb --fsys-tarfile "$VM_KERNEL_DEB" |
                tar -x -C "$work/deb" --wildcards "./$moddir/*" || return 1
        [[ -d $_VM_MOD_TREE/kernel ]] || {
                _vm_error "no $moddir/kernel in $VM_KERNEL_DEB"
                return 1
        }
        while read -r f; do
                _vm_mod_name "$f" name
                _VM_MOD_PATH[$name]=$f
        done < <(cd "$_VM_MOD_TREE" && find kernel -name '*.ko' -o -name '*.ko.*')
        while read -r f; do
                _vm_mod_name "$f" name
                _VM_MOD_BUILTIN[$name]=1
        done <"$_VM_MOD_TREE/modules.builtin"
        for name in "$@"; do
                req=required
                [[ $name == '?'* ]] && name=${name#?} req=optional
                _vm_mod_resolve "$name" "$req" || return 1
        done
        mkdir -p "$root/$moddir"
        : >"$root/etc/vm-modules"
        for f in "${_VM_MOD_ORDER[@]}"; do
                dst=$root/$moddir/${f%.ko*}.ko
                mkdir -p "${dst%/*}"
                case $f in
                *.ko) cp "$_VM_MOD_TREE/$f" "$dst" ;;
                *.ko.xz) xz -dc "$_VM_MOD_TREE/$f" >"$dst" ;;
                *.ko.zst) zstd -qdc "$_VM_MOD_TREE/$f" >"$dst" ;;
                *.ko.gz) gzip -dc "$_VM_MOD_TREE/$f" >"$dst" ;;
                *)
                        _vm_error "unknown module compression: '$f'"
                        return 1
                        ;;
                esac
                echo "/$moddir/${f%.ko*}.ko" >>"$root/etc/vm-modules"
        done
        note "initramfs: ${#_VM_MOD_ORDER[@]} modules for $VM_KERNEL_RELEASE"
        rm -rf "$work/deb"
}

# _vm_build_initramfs OUT WORK MODULES_NAME FILES_NAME: the cpio.gz of /init, the host files
# listed in the array named FILES_NAME ("PATH" or "SRC:DST") and the modules.
_vm_build_initramfs() {
        local out=$1 work=$2 root=$2/root d entry
        local -n _vm_b_mods=$3 _vm_b_files=$4
        rm -rf "$work"
        mkdir -p "$root"/{dev,etc,proc,run,sys,tmp,root}
        # Mirror the host's merged /usr, so that the paths ldd prints hold in the guest.
        for d in bin sbin lib lib64; do
                if [[ -L /$d ]]; then
                        _vm_install "$root" "/$d" || return 1
                fi
        done
        "${CC:-cc}" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wformat=2 \
                -Wmissing-prototypes -static -Os -s -o "$root/init" "$VM_DIR/init.c" >&2 ||
                return 1
        # The kernel opens /dev/console for /init before anything mounts devtmpfs; without
        # the node (we are not root) /init opens it itself once devtmpfs is mounted.
        mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null ||
                note "cannot create /dev/console in the initramfs (not root?), continuing"
        for entry in "${_vm_b_files[@]}"; do
                if [[ $entry == *:* ]]; then
                        mkdir -p "$root/$(dirname "${entry#*:}")"
                        cp -pL "${entry%%:*}" "$root/${entry#*:}" || return 1
                else
                        _vm_install "$root" "$entry" || return 1
                fi
        done
        _vm_add_modules "$root" "$work" "${_vm_b_mods[@]}" || return 1
        (cd "$root" && find . | LC_ALL=C sort |
                cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -6n) >"$out" || return 1
        rm -rf "$work"
}

# vm_initramfs OUT [--bin PROG]... [--file SRC:DST]... [--module NAME]... [--no-default-modules]
#
# Writes to OUT (and sets VM_INITRAMFS to it) a gzip'ed newc cpio for the kernel of vm_kernel:
# tests/vm/init.c as a static /init; /bin/sh and each PROG (a path or a name in PATH or
# sbin) with the shared libraries and loader that ldd lists, at the same paths (symbolic
# links included); each SRC at DST; the modules of VM_DEFAULT_MODULES and each NAME, with
# their dependencies, and /etc/vm-modules, their load order. A NAME that the kernel does
# not have fails the build. Built once per content under $TEST_CACHE/vm (the key hashes every
# file that goes in, the module names, the kernel release, vm.sh and init.c).
vm_initramfs() {
        local out=$1 arg prog needs f cache key lockfd cached
        local -a bins=(/bin/sh) mods=() extra=() files=() list=()
        local defaults=1
        [[ -n $out && $out != -* ]] ||
                fail "usage: vm_initramfs OUT [--bin PROG]... [--file SRC:DST]... [--module M]..."
        shift
        while (($#)); do
                arg=$1
                (($# >= 2)) || [[ $arg == --no-default-modules ]] ||
                        fail "vm_initramfs: $arg needs a value"
                case $arg in
                --bin)
                        prog=$(_vm_which "$2") || fail "vm_initramfs: no program '$2'"
                        bins+=("$prog")
                        shift 2
                        ;;
                --file)
                        [[ $2 == *:/* && -f ${2%%:*} ]] ||
                                fail "vm_initramfs: --file wants SRC:/DST with SRC a file, not '$2'"
                        extra+=("$2")
                        shift 2
                        ;;
                --module)
                        mods+=("$2")
                        shift 2
                        ;;
                --no-default-modules)
                        defaults=0
                        shift
                        ;;
                *) fail "vm_initramfs: unknown option '$arg'" ;;
                esac
        done
        if ((defaults)); then
                mods=("${VM_DEFAULT_MODULES[@]/#/?}" "${mods[@]}")
        fi
        vm_kernel

        for prog in "${bins[@]}"; do
                needs=$(_vm_needs "$prog") || fail "vm_initramfs: cannot tell what '$prog' needs"
                mapfile -t -O "${#list[@]}" list <<<"$needs"
        done
        mapfile -t files < <(printf '%s\n' "${list[@]}" | awk '!seen[$0]++')
        # LVM without udev needs a configuration (see lvm.conf), unless the caller has one.
        # (grep without -q: an early exit would fail printf, and the pipe, with SIGPIPE)
        if printf '%s\n' "${files[@]}" | grep -E '/(lvm|libdevmapper\.so[.0-9]*)$' >/dev/null &&
                ! printf '%s\n' "${extra[@]}" | grep ':/etc/lvm/lvm\.conf$' >/dev/null; then
                files+=("$VM_DIR/lvm.conf:/etc/lvm/lvm.conf")
        fi
        files+=("${extra[@]}")

        key=$({
                echo "$VM_KERNEL_RELEASE"
                sha256sum "$VM_DIR/vm.sh" "$VM_DIR/init.c" | cut -c1-64
                printf 'module %s\n' "${mods[@]}"
                for f in "${files[@]}"; do
                        echo "file $f $(sha256sum <"$(readlink -f "${f%%:*}")" | cut -c1-64)"
                done
        } | sha256sum | cut -c1-16)
        cache=$(_vm_cache_dir)
        cached=$cache/initramfs-$VM_KERNEL_RELEASE-$key.cpio.gz
        exec {lockfd}>"$cache/lock"
        flock "$lockfd"
        if [[ ! -s $cached ]]; then
                note "building the initramfs $cached"
                _vm_build_initramfs "$cached.tmp" "$cache/initramfs-$key.build" mods files ||
                        fail "vm_initramfs: cannot build the initramfs (see the messages above)"
                mv -f "$cached.tmp" "$cached"
                # Every change of vm.sh or a program makes a new one: drop those unused for long.
                find "$cache" -maxdepth 1 -name 'initramfs-*.cpio.gz' -mtime +14 -delete
        fi
        touch "$cached"
        cp --reflink=auto "$cached" "$out"
        exec {lockfd}>&-
        VM_INITRAMFS=$out
}

# vm_disk FILE SIZE: a new sparse raw disk image (SIZE as truncate takes it: 512M, 4G).
vm_disk() {
        rm -f "$1"
        truncate -s "$2" "$1"
}

# vm_drive ARRAY BUS FILE [PROPS]: appends to the array named ARRAY the QEMU options that
# attach the image FILE (qcow2 if named *.qcow2, raw otherwise) as a disk on BUS:
#   virtio  virtio-blk-pci                        /dev/vdX
#   scsi    scsi-hd on one virtio-scsi-pci        /dev/sdX
#   sata    ide-hd on one AHCI controller         /dev/sdX (6 at most)
#   nvme    an NVMe controller of its own each    /dev/nvmeNn1
#   usb     usb-storage on one qemu-xhci          /dev/sdX (appears a second after the rest)
# PROPS are more properties of the disk's -device ("serial=S1,rotation_rate=1").
vm_drive() {
        local -n _vm_d_args=$1
        local bus=$2 file=${3//,/,,} props=${4:+,$4} fmt=raw id n=0 a dev ctrl=
        [[ $3 == *.qcow2 ]] && fmt=qcow2
        for a in "${_vm_d_args[@]}"; do
                [[ $a == if=none,id=vmdisk* ]] && n=$((n + 1))
        done
        id=vmdisk$n
        case $bus in
        virtio) dev=virtio-blk-pci,drive=$id ;;
        scsi)
                ctrl=virtio-scsi-pci,id=vmscsi
                dev=scsi-hd,bus=vmscsi.0,drive=$id
                ;;
        sata)
                ctrl=ahci,id=vmahci
                n=0
                for a in "${_vm_d_args[@]}"; do
                        [[ $a == ide-hd,bus=vmahci.* ]] && n=$((n + 1))
                done
                ((n < 6)) || fail "vm_drive: an AHCI controller has 6 ports"
                dev=ide-hd,bus=vmahci.$n,drive=$id
                ;;
        nvme)
                dev=nvme,drive=$id
                [[ $props == *,serial=* ]] || dev+=,serial=VMNVME$n
                ;;
        usb)
                ctrl='qemu-xhci,id=vmxhci'
                dev=usb-storage,bus=vmxhci.0,drive=$id
                ;;
        *) fail "vm_drive: unknown bus '$bus' (virtio, scsi, sata, nvme or usb)" ;;
        esac
        # One controller for all the disks of its bus.
        for a in "${_vm_d_args[@]}"; do
                [[ $a != "$ctrl" ]] || ctrl=
        done
        [[ -z $ctrl ]] || _vm_d_args+=(-device "$ctrl")
        _vm_d_args+=(-drive "if=none,id=$id,file=$file,format=$fmt" -device "$dev$props")
}

_vm_kill_qemu() {
        [[ -z $_VM_QEMU_PID ]] || kill -TERM "$_VM_QEMU_PID" 2>/dev/null || true
}

# Stops a running QEMU when the script exits, before the exit actions registered until now
# (setup_tmpdir's removal of $TEST_TMPDIR, where its logs are), as libvirt.sh's at_exit does.
# Nothing in the trap may fail: `set -e` holds there too and would end it early.
# shellcheck disable=SC2120 # "$@" is the trap's, set by eval
_vm_trap_exit() {
        local prev=''
        [[ $_VM_TRAP_PID != "$BASHPID" ]] || return 0
        _VM_TRAP_PID=$BASHPID
        # `trap -p` prints "trap -- 'CMD' EXIT", quoted for eval.
        eval "set -- $(trap -p EXIT)"
        [[ $# -lt 3 ]] || prev=$3
        # shellcheck disable=SC2064 # expanded now on purpose
        trap "{ _vm_kill_qemu; } || true; ${prev:-:}" EXIT
}

# _vm_cut_output OUT: prints what the command wrote (between init's "VM-START" line and its
# final "VM-EXIT N" line) and sets VM_STATUS; fails if the file lacks either.
_vm_cut_output() {
        local out=$1 start last trailer size len
        start=$(grep -a -b -x -m 1 'VM-START' "$out") || return 1
        start=$((${start%%:*} + 9))
        last=$(tail -n 1 "$out")
        [[ $last =~ ^VM-EXIT\ ([0-9]+)$ ]] || return 1
        trailer=$((${#last} + 2))
        cmp -s <(tail -c "$trailer" "$out") <(printf '\n%s\n' "$last") || return 1
        size=$(stat -c %s "$out")
        len=$((size - trailer - start))
        ((len >= 0)) || return 1
        VM_STATUS=${BASH_REMATCH[1]}
        dd if="$out" iflag=skip_bytes,count_bytes skip="$start" count="$len" bs=64K status=none
}

# vm_run [OPTIONS] -- [QEMU_ARGS]...
#
# Boots VM_KERNEL with the initramfs under qemu-system-x86_64 (TCG), runs the command inside,
# prints its output (stdout and stderr, through the second serial port) and returns its exit
# status; 125 when the VM gave none (timeout, panic, an init failure), after printing the
# console's last lines to stderr. Options:
#   --cmd PROG [ARG]...   the command, up to the "--" (PROG looked up in the guest's PATH)
#   --sh SCRIPT           the command is /bin/sh running SCRIPT (from the file /etc/vm-sh)
#   --wait DEVS           block devices to wait for before the command ("vda sda nvme0n1")
#   --wait-timeout S      how long the guest waits for them (default 10)
#   --env KEY=VALUE       adds to the command's environment (PATH, HOME=/root, TERM=dumb, LANG=C)
#   --file SRC:DST        adds the host file SRC as DST for this run only
#   --initramfs FILE      default $VM_INITRAMFS (from vm_initramfs)
#   --kernel FILE         default $VM_KERNEL_ELF (PVH boot), or $VM_KERNEL with --ovmf,
#                         --no-pvh or no PVH entry point (from vm_kernel)
#   --no-pvh              boots the bzImage as a boot loader would (the kernel decompresses
#                         itself: about 4 s more); also VM_PVH=0
#   --ovmf                boots UEFI firmware (OVMF, a fresh copy of its variables) instead
#                         of SeaBIOS
#   --machine TYPE        default q35
#   --memory MIB          default 512
#   --append ARGS         more of the kernel's command line ("usb_storage.delay_use=0")
#   --timeout S           QEMU is killed after S seconds (default $VM_TIMEOUT or 180)
#   --log-dir DIR         where console.log (ttyS0), out.log (ttyS1) and qemu.log go
#                         (default a new $TEST_TMPDIR/vm-N)
# QEMU_ARGS come last: disks (vm_drive), -cpu, -smp, -vga std, ...
# Sets VM_RESULT (exited, timeout or failed), VM_STATUS, VM_SECONDS (wall time of the whole
# run), VM_GUEST_SECONDS (the guest's uptime when the command started) and VM_LOG_DIR.
# shellcheck disable=SC2034 # the VM_* variables are for the caller
vm_run() {
        local initramfs=${VM_INITRAMFS:-} timeout=${VM_TIMEOUT:-180} mem=512 machine=q35 ovmf=0
        local pvh=${VM_PVH:-1}
        local kernel='' append='' wait='' wait_timeout='' logdir='' script='' a rc=0 t0 us line
        local -a cmd=() envs=() files=() qemu=() fw=()
        VM_RESULT=failed VM_STATUS='' VM_SECONDS='' VM_GUEST_SECONDS=''
        while (($#)); do
                case $1 in
                --)
                        shift
                        qemu=("$@")
                        break
                        ;;
                --cmd)
                        shift
                        while (($#)) && [[ $1 != -- ]]; do
                                cmd+=("$1")
                                shift
                        done
                        ;;
                --ovmf)
                        ovmf=1
                        shift
                        ;;
                --no-pvh)
                        pvh=0
                        shift
                        ;;
                --sh | --wait | --wait-timeout | --env | --file | --initramfs | --kernel | \
                        --machine | --memory | --append | --timeout | --log-dir)
                        if (($# < 2)); then
                                _vm_error "vm_run: $1 needs a value"
                                return 125
                        fi
                        case $1 in
                        --sh)
                                script=$2
                                cmd=(/bin/sh /etc/vm-sh)
                                ;;
                        --wait) wait+=" $2" ;;
                        --wait-timeout) wait_timeout=$2 ;;
                        --env) envs+=("$2") ;;
                        --file) files+=("$2") ;;
                        --initramfs) initramfs=$2 ;;
                        --kernel) kernel=$2 ;;
                        --machine) machine=$2 ;;
                        --memory) mem=$2 ;;
                        --append) append+=" $2" ;;
                        --timeout) timeout=$2 ;;
                        --log-dir) logdir=$2 ;;
                        esac
                        shift 2
                        ;;
                *)
                        _vm_error "vm_run: unknown option '$1' (QEMU's options go after '--')"
                        return 125
                        ;;
                esac
        done
        if ((${#cmd[@]} == 0)); then
                _vm_error "vm_run: no command (--cmd or --sh)"
                return 125
        fi
        for a in "${cmd[@]}" "${envs[@]}"; do
                if [[ $a == *$'\n'* ]]; then
                        _vm_error "vm_run: a newline in a --cmd argument or --env (use --sh)"
                        return 125
                fi
        done
        if [[ -z $kernel ]]; then
                vm_kernel
                kernel=$VM_KERNEL
                # OVMF starts the kernel's EFI stub, which only the bzImage has.
                if ((pvh && !ovmf)) && [[ -n $VM_KERNEL_ELF ]]; then
                        kernel=$VM_KERNEL_ELF
                fi
        fi
        if [[ ! -s $initramfs ]]; then
                _vm_error "vm_run: no initramfs '$initramfs' (call vm_initramfs first)"
                return 125
        fi
        if ((ovmf)) && ! vm_have_ovmf; then
                _vm_error "vm_run: no OVMF firmware at '$VM_OVMF_CODE' (install ovmf)"
                return 125
        fi
        if [[ -z $logdir ]]; then
                [[ -n $TEST_TMPDIR ]] || fail "vm_run: no --log-dir and no setup_tmpdir"
                _VM_RUNS=$((_VM_RUNS + 1))
                logdir=$TEST_TMPDIR/vm-$_VM_RUNS
        fi
        rm -rf "$logdir"
        mkdir -p "$logdir/run/etc"
        VM_LOG_DIR=$logdir

        # This run's part of the initramfs: the kernel unpacks one cpio after the other.
        printf '%s\n' "${cmd[@]}" >"$logdir/run/etc/vm-cmd"
        printf '%s\n' "$script" >"$logdir/run/etc/vm-sh"
        # shellcheck disable=SC2086 # one name a line
        printf '%s\n' $wait >"$logdir/run/etc/vm-wait"
        ((${#envs[@]} == 0)) || printf '%s\n' "${envs[@]}" >"$logdir/run/etc/vm-env"
        for a in "${files[@]}"; do
                if [[ $a != *:/* || ! -f ${a%%:*} ]]; then
                        _vm_error "vm_run: --file wants SRC:/DST with SRC a file, not '$a'"
                        return 125
                fi
                mkdir -p "$logdir/run/$(dirname "${a#*:}")"
                cp -pL "${a%%:*}" "$logdir/run/${a#*:}"
        done
        (cd "$logdir/run" && find . | LC_ALL=C sort |
                cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -1n) >"$logdir/run.cpio.gz"
        cat "$initramfs" "$logdir/run.cpio.gz" >"$logdir/initrd.img"
        rm -rf "$logdir/run" "$logdir/run.cpio.gz"

        [[ -z $wait_timeout ]] || append+=" vm.wait_timeout=$wait_timeout"
        if ((ovmf)); then
                cp "$VM_OVMF_VARS" "$logdir/OVMF_VARS.fd"
                fw=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=${VM_OVMF_CODE//,/,,}"
                        -drive "if=pflash,format=raw,unit=1,file=${logdir//,/,,}/OVMF_VARS.fd")
        fi
        _vm_trap_exit
        t0=$EPOCHREALTIME
        # -no-reboot: a kernel panic (panic=-1 reboots) ends QEMU instead of looping. In the
        # background, so that a signal to the script is handled at once (and QEMU killed by
        # the EXIT trap); timeout runs QEMU in its own process group.
        timeout --kill-after=10 "$timeout" qemu-system-x86_64 -nodefaults -no-user-config \
                -machine "$machine" -m "$mem" -display none -no-reboot "${fw[@]}" \
                -kernel "$kernel" -initrd "$logdir/initrd.img" \
                -append "console=ttyS0,115200 panic=-1$append" \
                -serial "file:$logdir/console.log" -serial "file:$logdir/out.log" \
                "${qemu[@]}" </dev/null >"$logdir/qemu.log" 2>&1 &
        _VM_QEMU_PID=$!
        wait "$_VM_QEMU_PID" || rc=$?
        _VM_QEMU_PID=
        us=$((10#${EPOCHREALTIME/./} - 10#${t0/./}))
        printf -v VM_SECONDS '%d.%02d' $((us / 1000000)) $((us / 10000 % 100))
        # (awk reads all: a grep -m 1 that exits early would fail tr, and the pipe, by SIGPIPE)
        line=$(tr -d '\r' <"$logdir/console.log" 2>/dev/null |
                awk '/^vm-init: running / && !seen++') || true
        [[ $line =~ \ at\ ([0-9.]+)\ s ]] && VM_GUEST_SECONDS=${BASH_REMATCH[1]}
        # The guest's own warnings ("cannot load module", "no 'sdb' after 10 s").
        tr -d '\r' <"$logdir/console.log" 2>/dev/null | grep -a -E '^vm-init: (warning|error):' |
                sed 's/^/# /' >&2 || true

        if ((rc == 0)) && [[ -s $logdir/out.log ]] && _vm_cut_output "$logdir/out.log"; then
                VM_RESULT=exited
                return "$VM_STATUS"
        fi
        if ((rc == 124 || rc == 137)); then
                VM_RESULT=timeout
                _vm_error "vm_run: no power-off within $timeout s (logs in $logdir)"
        elif ((rc != 0)); then
                _vm_error "vm_run: qemu exited with $rc: $(grep -m 3 . "$logdir/qemu.log")"
        else
                _vm_error "vm_run: the VM stopped without a VM-EXIT line (logs in $logdir)"
        fi
        _vm_error "the console's last lines:"
        tr -d '\r' <"$logdir/console.log" 2>/dev/null | tail -n 25 | sed 's/^/    /' >&2
        return 125
}

# vm_prepare_lvm_pv FILE [SIZE [VG]]: a raw disk image of SIZE (default 1G) that is one LVM
# physical volume of the volume group VG (default testvg), with no logical volume: pvcreate
# and vgcreate run inside a VM (no device-mapper needed on the host). Built once per lvm2
# binary, size and name under $TEST_CACHE/vm, then copied (sparse) to FILE.
vm_prepare_lvm_pv() {
        local file=$1 size=${2:-1G} vg=${3:-testvg} lvm cache key cached lockfd
        local saved=$VM_INITRAMFS work rc=0
        local -a args=()
        [[ $vg =~ ^[A-Za-z0-9_][A-Za-z0-9_.+-]*$ ]] || fail "vm_prepare_lvm_pv: bad VG name '$vg'"
        lvm=$(_vm_which lvm) || skip "no lvm (install lvm2)"
        vm_kernel
        cache=$(_vm_cache_dir)
        key=$({
                sha256sum "$VM_DIR/vm.sh" "$VM_DIR/init.c" "$(readlink -f "$lvm")" | cut -c1-64
                echo "$size $vg"
        } | sha256sum | cut -c1-16)
        cached=$cache/lvm-pv-$VM_KERNEL_RELEASE-$key.raw
        exec {lockfd}>"$cache/lvm.lock"
        flock "$lockfd"
        rm -f "$cache"/lvm-pv-*.tmp
        if [[ ! -f $cached ]]; then
                note "building the LVM PV image $cached"
                work=$(mktemp -d "${TEST_TMPDIR:-${TMPDIR:-/tmp}}/vm-lvm.XXXXXX")
                vm_initramfs "$work/initrd.gz" --bin "$lvm"
                vm_disk "$cached.tmp" "$size"
                vm_drive args virtio "$cached.tmp"
                vm_run --log-dir "$work/log" --wait vda --sh \
                        "lvm pvcreate -y /dev/vda && lvm vgcreate $vg /dev/vda && lvm pvs" \
                        -- "${args[@]}" >"$work/out" || rc=$?
                sed 's/^/# /' "$work/out" >&2
                VM_INITRAMFS=$saved
                ((rc == 0)) || fail "vm_prepare_lvm_pv: pvcreate/vgcreate in the VM failed ($rc)"
                mv -f "$cached.tmp" "$cached"
                rm -rf "$work"
                find "$cache" -maxdepth 1 -name 'lvm-pv-*.raw' -mtime +14 -delete
        fi
        touch "$cached"
        cp --sparse=always --reflink=auto "$cached" "$file"
        exec {lockfd}>&-
}
