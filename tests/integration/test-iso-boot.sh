#!/bin/bash
# The hybrid BIOS/UEFI ISO (bootmenu_make_iso(): GRUB's images, the ESP, libisofs) boots on
# both firmwares from both kinds of media: SeaBIOS from a CD and from a raw virtio disk, OVMF
# from a USB disk and from a CD. A test grub.cfg prints a marker (with GRUB's platform and the
# device it found the medium on) to the serial port and halts. Then the generated menu itself:
# with an embedded answer its unattended entry starts on its own and boots a real kernel with
# the menu's arguments (the kernel prints its command line on ttyS0), on SeaBIOS and OVMF.
# The ISO's structure is checked with xorriso (El Torito entries, MBR, GPT with the ESP), the
# ESP with mtools, and two builds with the same timestamp must be byte-identical.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../vm/vm.sh"

[[ $(id -u) == 0 ]] || skip "run as root (like the other VM tests)"
need_cmd qemu-system-x86_64 xorriso grub-mkimage mformat mmd mcopy mdir timeout cmp
vm_have_ovmf || skip "no OVMF firmware (install ovmf)"
[[ -r /usr/lib/grub/i386-pc/boot_hybrid.img && -d /usr/lib/grub/x86_64-efi ]] ||
        skip "GRUB's images are missing (install grub-pc-bin grub-efi-amd64-bin)"
MKISO=${KVMFORGE_TOOLS:-$REPO_ROOT/build/tests/tools}/mkiso
[[ -x $MKISO ]] || fail "'$MKISO' is not built (make build/tests/tools/mkiso)"
setup_tmpdir
T=$TEST_TMPDIR
BOOT_TIMEOUT=${ISO_BOOT_TIMEOUT:-90}
SDE=1700000000
TOKEN=kvmforge-iso-$$-$RANDOM

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# boot NAME NEEDLE QEMU_ARGS...: boots a q35 machine with the serial port into a file and
# stops it as soon as NEEDLE shows up there (or after $BOOT_TIMEOUT s); sets BOOT_MS.
boot() {
        local name=$1 needle=$2
        local log=$T/$name.serial start pid found=1
        shift 2
        : >"$log"
        start=$(now_ms)
        qemu-system-x86_64 -M q35 -nodefaults -m 512 -display none -no-reboot \
                -serial "file:$log" "$@" >"$T/$name.qemu" 2>&1 &
        pid=$!
        for ((i = 0; i < BOOT_TIMEOUT * 10; i++)); do
                if grep -aqF -- "$needle" "$log"; then
                        found=0
                        break
                fi
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        grep -aqF -- "$needle" "$log" && found=0
        BOOT_MS=$(($(now_ms) - start))
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        if ((found != 0)); then
                note "$name: no '$needle' after $((BOOT_MS / 1000)) s; serial output ends with:"
                tr -d '\r' <"$log" | tail -c 600 | sed 's/^/#   /' >&2
                cat "$T/$name.qemu" >&2
        fi
        return "$found"
}

ovmf() { # OVMF's code and a fresh copy of its variables for boot NAME
        cp "$VM_OVMF_VARS" "$T/$1.vars"
        OVMF=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$VM_OVMF_CODE"
                -drive "if=pflash,format=raw,unit=1,file=$T/$1.vars")
}
as_cd() { CD=(-drive "if=none,id=cd,media=cdrom,readonly=on,format=raw,file=$1" -device ide-cd,drive=cd,bus=ide.0); }
as_usb() { USB=(-device qemu-xhci -drive "if=none,id=usb,format=raw,snapshot=on,file=$1" -device usb-storage,drive=usb); }

# ---- a test ISO: grub.cfg prints the marker and halts ----
mkdir -p "$T/stage/docs" "$T/out" "$T/tmp"
echo "hello from the staging tree" >"$T/stage/docs/hello.txt"
cat >"$T/test.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_output --append serial
echo "$TOKEN platform=\${grub_platform} root=\${root}"
sleep 1
halt
EOF
export TMPDIR=$T/tmp # mkiso's work directory: it must be gone afterwards
start=$(now_ms)
if "$MKISO" -s "$T/stage" -o "$T/out/test.iso" -t $SDE -V KVMFORGE_TEST --build-id "$TOKEN" \
        --grub-cfg "$T/test.cfg" 2>"$T/mkiso.err"; then
        build_ms=$(($(now_ms) - start))
        ok "mkiso builds the test ISO (${build_ms} ms, $(stat -c %s "$T/out/test.iso") bytes)"
else
        not_ok "mkiso builds the test ISO" "$(cat "$T/mkiso.err")"
        tap_end
        exit 1
fi
left=$(ls -A "$T/out" "$T/tmp" | grep -v -e '^test.iso$' -e '^$' -e ':$' || true)
[[ -z $left ]] && ok "no temporary files are left beside the ISO or in TMPDIR" ||
        not_ok "no temporary files are left" "$left"

# ---- structure ----
xorriso -indev "$T/out/test.iso" -report_el_torito plain -report_system_area plain \
        >"$T/report" 2>&1 || true
checks=(
        'El Torito boot img : +1 +BIOS +y +none +0x0000 +0x00 +4 '
        'El Torito boot img : +2 +UEFI +y +none '
        'El Torito img path : +1 +/boot/grub/i386-pc/eltorito.img'
        'El Torito img opts : +1 +boot-info-table grub2-boot-info'
        'System area summary: MBR protective-msdos-label grub2-mbr .*GPT'
        'MBR partition +: +1 +0x00 +0xee '
        'GPT type GUID +: +1 +a2a0d0ebe5b9334487c068b6b72699c7' # basic data: the ISO
        'GPT type GUID +: +2 +28732ac11ff8d211ba4b00a0c93ec93b' # C12A7328-...: the ESP
)
bad=
for re in "${checks[@]}"; do
        grep -Eq -- "$re" "$T/report" || bad+=" [$re]"
done
[[ $(grep -c '^El Torito boot img :' "$T/report") == 2 ]] || bad+=" [not two boot images]"
[[ -z $bad ]] && ok "El Torito BIOS + EFI (0xEF) entries, GRUB2 MBR, GPT with the ESP" ||
        not_ok "El Torito and system area" "missing:$bad (see the report below)"
[[ -z $bad ]] || sed 's/^/#   /' "$T/report" >&2

# The ESP, cut out of the image where the GPT says it is: GRUB's EFI loader and its config.
read -r esp_start esp_size < <(sed -nE 's/^GPT start and size : +2 +([0-9]+) +([0-9]+).*/\1 \2/p' "$T/report")
if [[ -n ${esp_start:-} ]] &&
        dd if="$T/out/test.iso" of="$T/esp.img" bs=512 skip="$esp_start" count="$esp_size" status=none &&
        MTOOLS_SKIP_CHECK=1 mdir -b -i "$T/esp.img" ::/EFI/BOOT >"$T/esp.list" 2>&1 &&
        grep -qi 'EFI/BOOT/BOOTX64.EFI$' "$T/esp.list" && grep -qi 'EFI/BOOT/grub.cfg$' "$T/esp.list" &&
        MTOOLS_SKIP_CHECK=1 mtype -i "$T/esp.img" ::/EFI/BOOT/grub.cfg | grep -qF ".kvmforge-medium-$TOKEN"; then
        ok "the ESP (GPT partition 2) holds BOOTX64.EFI and a grub.cfg naming this build's marker"
else
        not_ok "the ESP holds BOOTX64.EFI and grub.cfg" "$(cat "$T/esp.list" 2>/dev/null)"
fi

xorriso -indev "$T/out/test.iso" -find / -type f 2>/dev/null | tr -d "'" | sort >"$T/files"
want="/.kvmforge-medium /.kvmforge-medium-$TOKEN /EFI/BOOT/BOOTX64.EFI /boot/grub/grub.cfg
/boot/grub/i386-pc/eltorito.img /docs/hello.txt"
missing=
for f in $want; do grep -qxF "$f" "$T/files" || missing+=" $f"; done
[[ -z $missing ]] && ok "the ISO holds the staging tree, GRUB's files and both medium markers" ||
        not_ok "ISO contents" "missing:$missing"
if xorriso -osirrox on -indev "$T/out/test.iso" -extract /docs/hello.txt "$T/hello.txt" \
        >/dev/null 2>&1 && cmp -s "$T/hello.txt" "$T/stage/docs/hello.txt" &&
        xorriso -indev "$T/out/test.iso" -lsdl /docs/hello.txt 2>/dev/null |
        grep -q "0 \+0 .* Nov 14  2023 '/docs/hello.txt'"; then
        ok "files keep their content; owner root, date from the timestamp (Rock Ridge)"
else
        not_ok "file content, owner and date on the ISO"
fi

# ---- reproducible ----
"$MKISO" -s "$T/stage" -o "$T/out/again.iso" -t $SDE -V KVMFORGE_TEST --build-id "$TOKEN" \
        --grub-cfg "$T/test.cfg"
# A copy of the tree (other inodes, other dates) must not matter either.
cp -r "$T/stage" "$T/stage-copy"
touch "$T/stage-copy/docs/hello.txt"
"$MKISO" -s "$T/stage-copy" -o "$T/out/third.iso" -t $SDE -V KVMFORGE_TEST --build-id "$TOKEN" \
        --grub-cfg "$T/test.cfg"
if cmp "$T/out/test.iso" "$T/out/again.iso" && cmp "$T/out/test.iso" "$T/out/third.iso"; then
        ok "builds with the same timestamp are byte-identical, also from a copy of the tree"
else
        not_ok "builds with the same timestamp are byte-identical"
fi
"$MKISO" -s "$T/stage" -o "$T/out/later.iso" -t $((SDE + 86400)) -V KVMFORGE_TEST \
        --build-id "$TOKEN" --grub-cfg "$T/test.cfg"
cmp -s "$T/out/test.iso" "$T/out/later.iso" && not_ok "another timestamp gives another image" ||
        ok "another timestamp gives another image"
rm -f "$T/out/again.iso" "$T/out/third.iso" "$T/out/later.iso"

# ---- failure leaves nothing ----
mkdir -p "$T/stage-bad/boot/grub"
echo "# a menu of the tree's own" >"$T/stage-bad/boot/grub/grub.cfg"
if "$MKISO" -s "$T/stage-bad" -o "$T/out/bad.iso" -t $SDE 2>"$T/bad.err"; then
        not_ok "a staging tree holding /boot/grub/grub.cfg is refused" "mkiso succeeded"
else
        left=$(ls -A "$T/out" "$T/tmp" | grep -v -e '^test.iso$' -e '^$' -e ':$' || true)
        if grep -q "boot/grub/grub.cfg" "$T/bad.err" && [[ -z $left ]]; then
                ok "a clash with the staging tree fails, naming the file, and leaves nothing"
        else
                not_ok "a clash fails cleanly" "$(cat "$T/bad.err") left: $left"
        fi
fi

# ---- boots ----
ISO=$T/out/test.iso
as_cd "$ISO"
if boot bios-cd "$TOKEN platform=pc root=cd" "${CD[@]}"; then
        ok "SeaBIOS boots it as a CD (El Torito, BIOS entry) in ${BOOT_MS} ms"
else not_ok "SeaBIOS boots it as a CD"; fi

if boot bios-disk "$TOKEN platform=pc root=hd" \
        -drive "if=virtio,format=raw,snapshot=on,file=$ISO"; then
        ok "SeaBIOS boots it as a raw virtio disk (GRUB2 MBR) in ${BOOT_MS} ms"
else not_ok "SeaBIOS boots it as a raw virtio disk"; fi

ovmf uefi-usb
as_usb "$ISO"
if boot uefi-usb "$TOKEN platform=efi root=hd" "${OVMF[@]}" "${USB[@]}"; then
        ok "OVMF boots it as a USB disk (GPT ESP) in ${BOOT_MS} ms"
else not_ok "OVMF boots it as a USB disk"; fi

ovmf uefi-cd
if boot uefi-cd "$TOKEN platform=efi root=cd" "${OVMF[@]}" "${CD[@]}"; then
        ok "OVMF boots it as a CD (El Torito, EFI entry) in ${BOOT_MS} ms"
else not_ok "OVMF boots it as a CD"; fi

# ---- the generated menu boots a kernel with its arguments ----
kernel=$(
        vm_kernel >/dev/null 2>&1 || exit 1
        echo "$VM_KERNEL"
) || kernel=
if [[ -z $kernel || ! -s $kernel ]]; then
        note "no test kernel (tests/vm cannot fetch one): the menu's kernel boot is not tested"
else
        mkdir -p "$T/stage-menu/boot"
        cp "$kernel" "$T/stage-menu/boot/vmlinuz"
        printf 'not an initramfs: the kernel only has to print its command line\n' \
                >"$T/stage-menu/boot/initrd.img"
        # --timeout 0: the default entry (unattended, with an answer) starts at once.
        "$MKISO" -s "$T/stage-menu" -o "$T/out/menu.iso" -t $SDE --answer-embedded --timeout 0 \
                --label "kvmforge test" --version "0'1" --append "kvmforge.token=$TOKEN"
        want="kvmforge.mode=unattended console=tty0 console=ttyS0,115200 kvmforge.token=$TOKEN"
        as_cd "$T/out/menu.iso"
        if boot menu-bios-cd "$want" "${CD[@]}"; then
                ok "SeaBIOS, CD: the menu starts the unattended entry's kernel in ${BOOT_MS} ms"
        else not_ok "SeaBIOS, CD: the menu starts the unattended entry"; fi
        ovmf menu-uefi-usb
        as_usb "$T/out/menu.iso"
        if boot menu-uefi-usb "$want" "${OVMF[@]}" "${USB[@]}"; then
                ok "OVMF, USB disk: the menu starts the unattended entry's kernel in ${BOOT_MS} ms"
        else not_ok "OVMF, USB disk: the menu starts the unattended entry"; fi
fi

tap_end
