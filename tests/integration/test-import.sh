#!/bin/bash
# kvmforge-image import from local OVAs and OVF folders into a real libvirtd: every package
# layout exporters write, and every broken or hostile package, which must leave nothing behind
# (no file in --dest, no domain).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirt.sh"
. "$(dirname "$0")/ova.sh"

need_cmd qemu-img openssl tar gzip split ip python3
setup_tmpdir
start_libvirtd
KVMFORGE=$(kvmforge_image_path)
DEST=$TEST_TMPDIR/images
mkdir -p "$DEST"
chmod o+x "$TEST_TMPDIR"
libvirt_share_dir "$DEST"

# A bridge of our own, so the guests' NICs have somewhere to go without libvirt's default
# network (which needs dnsmasq and a firewall).
BRIDGE=kvmft$$
BRIDGE=${BRIDGE:0:15}
ip link add "$BRIDGE" type bridge || skip "cannot create a bridge (no CAP_NET_ADMIN?)"
at_exit "ip link del $BRIDGE"

PREFIX=kvmforge-imp-$$
n=0

# A 64 MiB disk with 3 MiB of random data at its start and a marker near its end.
RAW=$TEST_TMPDIR/disk.raw
head -c 3M /dev/urandom >"$RAW"
truncate -s 64M "$RAW"
printf 'kvmforge-end-marker' | dd of="$RAW" bs=1 seek=$((60 << 20)) conv=notrunc status=none
RAW2=$TEST_TMPDIR/disk2.raw
head -c 1M /dev/urandom >"$RAW2"
truncate -s 16M "$RAW2"

nothing_left() { # name
        local left
        left=$(find "$DEST" -mindepth 1 | head -5)
        [[ -z $left ]] || { note "left behind: $left"; return 1; }
        ! virsh_q domstate "$1" >/dev/null 2>&1 || { note "domain $1 left defined"; return 1; }
}

clean() { # name
        libvirt_remove_domain "$1"
        rm -f "$DEST"/* "$DEST"/.??* 2>/dev/null || true
}

# import_ok DESC SRC NAME RAW... [-- extra args]: imports, then checks the domain exists and
# each disk equals its source image.
import_ok() {
        local desc=$1 src=$2 name=$3 i=0 raw bad=
        shift 3
        local raws=() extra=()
        while [[ $# -gt 0 && $1 != -- ]]; do raws+=("$1"); shift; done
        [[ $# -gt 0 ]] && shift && extra=("$@")
        if ! "$KVMFORGE" import --dest "$DEST" --bridge "$BRIDGE" --name "$name" "${extra[@]}" \
                "$src" >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err"; then
                note "$(cat "$TEST_TMPDIR/err")"
                not_ok "$desc"
                clean "$name"
                return
        fi
        virsh_q domstate "$name" >/dev/null 2>&1 || bad="no domain"
        for raw in "${raws[@]}"; do
                i=$((i + 1))
                qemu-img compare -q "$DEST/$name-disk$i.qcow2" "$raw" || bad="disk $i differs"
        done
        if [[ -z $bad ]]; then ok "$desc"; else note "$bad"; not_ok "$desc"; fi
        clean "$name"
}

# import_fails DESC SRC NAME PATTERN [args]: must exit 1 with PATTERN in the one-line error and
# leave nothing behind.
import_fails() {
        local desc=$1 src=$2 name=$3 pattern=$4 rc=0
        shift 4
        "$KVMFORGE" import --dest "$DEST" --bridge "$BRIDGE" --name "$name" "$@" "$src" \
                >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || rc=$?
        if [[ $rc -ne 1 ]]; then
                note "exit $rc, want 1: $(cat "$TEST_TMPDIR/err")"
                not_ok "$desc"
        elif ! grep -q -- "$pattern" "$TEST_TMPDIR/err"; then
                note "error was: $(cat "$TEST_TMPDIR/err"), want: $pattern"
                not_ok "$desc"
        elif [[ $(wc -l <"$TEST_TMPDIR/err") -ne 1 ]]; then
                note "error takes more than one line: $(cat "$TEST_TMPDIR/err")"
                not_ok "$desc"
        elif ! nothing_left "$name"; then
                not_ok "$desc"
        else
                ok "$desc"
        fi
        clean "$name"
}

P=$TEST_TMPDIR/pkg
mkdir -p "$P"

# ---- layouts that must import ----
make_ova "$P/plain.ova" web01 "$RAW"
import_ok "OVA, SHA256 manifest after the descriptor" "$P/plain.ova" "$PREFIX-a" "$RAW"

OVA_MANIFEST=last OVA_ALG=SHA1 make_ova "$P/last.ova" web01 "$RAW"
import_ok "OVA, SHA1 manifest at the end" "$P/last.ova" "$PREFIX-b" "$RAW"

OVA_ALG=SHA512 OVA_GZIP=1 make_ova "$P/gz.ova" web01 "$RAW"
import_ok "OVA, gzip-compressed disk, SHA512 manifest" "$P/gz.ova" "$PREFIX-c" "$RAW"

OVA_CHUNK=1000000 make_ova "$P/chunk.ova" web01 "$RAW"
import_ok "OVA, disk in ovf:chunkSize chunks, each in the manifest" "$P/chunk.ova" "$PREFIX-d" "$RAW"

OVA_GZIP=1 OVA_CHUNK=700000 OVA_MANIFEST=last make_ova "$P/gzchunk.ova" web01 "$RAW"
import_ok "OVA, gzip then chunked, manifest at the end" "$P/gzchunk.ova" "$PREFIX-e" "$RAW"

OVA_MANIFEST=none make_ova "$P/nomf.ova" web01 "$RAW" "$RAW2"
import_ok "OVA without manifest, two disks" "$P/nomf.ova" "$PREFIX-f" "$RAW" "$RAW2"
grep -q "not verified" "$TEST_TMPDIR/out" && ok "a missing manifest is reported" ||
        not_ok "a missing manifest is reported"

OVA_DIR=1 make_ova "$P/folder" web01 "$RAW"
import_ok "an .ovf with its files beside it" "$P/folder/web01.ovf" "$PREFIX-g" "$RAW"

# AppleDouble files that Mac OS tar adds before each member.
mkdir -p "$P/mac"
tar -C "$P/mac" -xf "$P/plain.ova"
printf 'Mac OS X        ATTR' >"$P/mac/._web01.ovf"
cp "$P/mac/._web01.ovf" "$P/mac/._web01-disk1.vmdk"
tar -C "$P/mac" --format=ustar -cf "$P/mac.ova" ._web01.ovf web01.ovf web01.mf ._web01-disk1.vmdk web01-disk1.vmdk
import_ok "Mac OS AppleDouble members are skipped" "$P/mac.ova" "$PREFIX-h" "$RAW"

# A signing certificate is reported, never trusted.
printf 'SHA256(web01.mf)= %s\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' "$(printf '0%.0s' {1..64})" >"$P/mac/web01.cert"
tar -C "$P/mac" --format=ustar -cf "$P/cert.ova" web01.ovf web01.mf web01.cert web01-disk1.vmdk
import_ok "an OVA with a .cert" "$P/cert.ova" "$PREFIX-c2" "$RAW"
grep -q "'web01.cert' is a signing certificate: reported, not checked" "$TEST_TMPDIR/out" &&
        ok "the certificate is reported as not checked" ||
        not_ok "the certificate is reported as not checked"

# ---- broken and hostile packages ----
# A manifest whose digest for the disk is wrong.
mkdir -p "$P/badmf"
tar -C "$P/badmf" -xf "$P/plain.ova"
ZEROS=$(printf '0%.0s' {1..64})
sed -i "s/\(web01-disk1.vmdk)= \).*/\1$ZEROS/" "$P/badmf/web01.mf"
tar -C "$P/badmf" --format=ustar -cf "$P/badmf.ova" web01.ovf web01.mf web01-disk1.vmdk
import_fails "a manifest mismatch stops the import" "$P/badmf.ova" "$PREFIX-i" \
        "does not match its SHA256 digest"
import_ok "--no-verify imports despite the mismatch" "$P/badmf.ova" "$PREFIX-i" "$RAW" -- --no-verify

# The manifest names a file that the OVA lacks.
mkdir -p "$P/extra"
tar -C "$P/extra" -xf "$P/plain.ova"
echo "SHA256(web01-nvram)= $ZEROS" >>"$P/extra/web01.mf"
tar -C "$P/extra" --format=ustar -cf "$P/extra.ova" web01.ovf web01.mf web01-disk1.vmdk
import_fails "a file listed in the manifest but missing stops the import" "$P/extra.ova" \
        "$PREFIX-j" "'web01-nvram' is listed in the manifest but missing"

# One chunk of a chunked disk does not match its manifest line: the chunk is named.
mkdir -p "$P/badchunk"
tar -C "$P/badchunk" -xf "$P/chunk.ova"
sed -i "s/\(web01-disk1.vmdk.000000001)= \).*/\1$ZEROS/" "$P/badchunk/web01.mf"
tar -C "$P/badchunk" --format=ustar -cf "$P/badchunk.ova" web01.ovf web01.mf \
        $(cd "$P/badchunk" && ls web01-disk1.vmdk.*)
import_fails "a chunk that does not match the manifest is named" "$P/badchunk.ova" \
        "$PREFIX-k2" "'web01-disk1.vmdk.000000001' does not match its SHA256 digest"

# Truncated in the middle of the disk.
head -c 2000000 "$P/plain.ova" >"$P/trunc.ova"
import_fails "a truncated OVA" "$P/trunc.ova" "$PREFIX-k" "truncated or corrupt"

# A disk with more sectors than its OVF declares.
OVA_CAPACITY=$((32 << 20)) make_ova "$P/big.ova" web01 "$RAW"
import_fails "a disk larger than its declared capacity" "$P/big.ova" "$PREFIX-l" \
        "more than the 33554432 bytes declared"

# Members that try to leave the archive, or are not plain files.
mkdir -p "$P/evil/sub"
tar -C "$P/evil" -xf "$P/plain.ova"
python3 - "$P" <<'EOF'
import io, sys, tarfile
p = sys.argv[1]
src = tarfile.open(p + "/plain.ova")
def build(name, extra):
    out = tarfile.open(p + "/" + name, "w", format=tarfile.USTAR_FORMAT)
    for m in src.getmembers():
        out.addfile(m, src.extractfile(m))
        if m.name.endswith(".mf"):
            out.addfile(*extra())
    out.close()
def dotdot():
    data = b"x"
    ti = tarfile.TarInfo("../../etc/kvmforge-escape"); ti.size = len(data)
    return ti, io.BytesIO(data)
def absolute():
    data = b"x"
    ti = tarfile.TarInfo("/etc/kvmforge-escape"); ti.size = len(data)
    return ti, io.BytesIO(data)
def symlink():
    ti = tarfile.TarInfo("web01-link"); ti.type = tarfile.SYMTYPE; ti.linkname = "/etc/passwd"
    return ti, None
def device():
    ti = tarfile.TarInfo("web01-dev"); ti.type = tarfile.BLKTYPE; ti.devmajor = 8; ti.devminor = 0
    return ti, None
build("dotdot.ova", dotdot)
build("abs.ova", absolute)
build("symlink.ova", symlink)
build("device.ova", device)
EOF
import_fails "a member named ../../etc/..." "$P/dotdot.ova" "$PREFIX-m" "\.\."
import_fails "a member with an absolute path" "$P/abs.ova" "$PREFIX-n" "absolute"
import_fails "a symlink member" "$P/symlink.ova" "$PREFIX-o" "link"
import_fails "a device member" "$P/device.ova" "$PREFIX-p" "device\|not a regular"
[[ ! -e /etc/kvmforge-escape ]] && ok "nothing was written outside --dest" ||
        not_ok "nothing was written outside --dest"

# Descriptors with entity tricks: internal expansion ("billion laughs"), external files, the net.
mkdir -p "$P/xml"
for kind in laughs external network; do
        tar -C "$P/xml" -xf "$P/plain.ova"
        case $kind in
        laughs) decl='<!DOCTYPE Envelope [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>' ;;
        external) decl='<!DOCTYPE Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>' ;;
        network) decl='<!DOCTYPE Envelope SYSTEM "http://127.0.0.1:9/ovf.dtd">' ;;
        esac
        sed -i "1a $decl" "$P/xml/web01.ovf"
        sed -i 's|<Name>web01</Name>|<Name>\&c;\&x;</Name>|' "$P/xml/web01.ovf"
        rm -f "$P/xml/web01.mf"
        tar -C "$P/xml" --format=ustar -cf "$P/xml-$kind.ova" web01.ovf web01-disk1.vmdk
        import_fails "an OVF with a DOCTYPE ($kind)" "$P/xml-$kind.ova" "$PREFIX-q" "DOCTYPE"
done

# A descriptor in a broken encoding: libxml2's encoder complaints must not reach the terminal.
printf '<?xml version="1.0" encoding="UTF-32"?>\0\0\0\024<a/>' >"$P/xml/web01.ovf"
tar -C "$P/xml" --format=ustar -cf "$P/xml-encoding.ova" web01.ovf web01-disk1.vmdk
import_fails "an OVF in a broken encoding (one line, no libxml2 noise)" "$P/xml-encoding.ova" \
        "$PREFIX-q2" "not well-formed XML"

# The descriptor must come first: a one-pass reader cannot convert disks it does not know yet.
tar -C "$P/mac" --format=ustar -cf "$P/late.ova" web01.mf web01-disk1.vmdk web01.ovf
import_fails "an OVA whose descriptor is not first" "$P/late.ova" "$PREFIX-r" "must be its .ovf"

# Never overwrite: an existing disk file of that name, or a domain of that name.
echo "someone else's disk" >"$DEST/$PREFIX-s-disk1.qcow2"
"$KVMFORGE" import --dest "$DEST" --bridge "$BRIDGE" --name "$PREFIX-s" "$P/plain.ova" \
        >/dev/null 2>"$TEST_TMPDIR/err" && rc=0 || rc=$?
if [[ $rc -eq 1 && $(cat "$DEST/$PREFIX-s-disk1.qcow2") == "someone else's disk" ]] &&
        grep -q "already exists" "$TEST_TMPDIR/err"; then
        ok "an existing disk file is never overwritten"
else
        not_ok "an existing disk file is never overwritten"
fi
clean "$PREFIX-s"

"$KVMFORGE" import --dest "$DEST" --bridge "$BRIDGE" --name "$PREFIX-t" "$P/plain.ova" >/dev/null
mv "$DEST/$PREFIX-t-disk1.qcow2" "$TEST_TMPDIR/keep.qcow2" # so only the domain's name clashes
rc=0
"$KVMFORGE" import --dest "$DEST" --bridge "$BRIDGE" --name "$PREFIX-t" "$P/plain.ova" \
        >/dev/null 2>"$TEST_TMPDIR/err" || rc=$?
if [[ $rc -eq 1 ]] && grep -q "exists already" "$TEST_TMPDIR/err" && [[ -z $(ls -A "$DEST") ]] &&
        virsh_q domstate "$PREFIX-t" >/dev/null; then
        ok "a guest of the same name is refused and kept"
else
        not_ok "a guest of the same name is refused and kept"
fi
clean "$PREFIX-t"

# ---- dry run and start ----
rc=0
"$KVMFORGE" import --dry-run --json --dest "$DEST" --bridge "$BRIDGE" "$P/folder/web01.ovf" \
        >"$TEST_TMPDIR/plan.json" 2>"$TEST_TMPDIR/err" || rc=$?
if [[ $rc -eq 0 ]] && python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
vm = p["vms"][0]
assert vm["name"] == "web01" and vm["memory"] == 256 << 20, vm
assert vm["disks"][0]["bus"] == "sata" and vm["disks"][0]["ovf_bus"] == "SCSI", vm
assert vm["nics"][0]["mac"] == "00:50:56:12:34:56" and vm["nics"][0]["bridge"]
' "$TEST_TMPDIR/plan.json" && [[ -z $(ls -A "$DEST") ]]; then
        ok "--dry-run --json prints the plan and writes nothing"
else
        not_ok "--dry-run --json prints the plan and writes nothing"
fi

# The dry run reads only the descriptor: the disks may be absent.
rm "$P/folder/web01-disk1.vmdk"
"$KVMFORGE" import --dry-run --print-xml --bridge "$BRIDGE" "$P/folder/web01.ovf" \
        >"$TEST_TMPDIR/dry.txt" 2>&1 && grep -q "<domain type=" "$TEST_TMPDIR/dry.txt" &&
        ok "--dry-run --print-xml needs no disk files" || not_ok "--dry-run --print-xml needs no disk files"

if "$KVMFORGE" import --dest "$DEST" --bridge "$BRIDGE" --name "$PREFIX-u" --start \
        "$P/plain.ova" >/dev/null 2>"$TEST_TMPDIR/err" &&
        [[ $(virsh_q domstate "$PREFIX-u") == running ]] &&
        [[ $(virsh_q dumpxml "$PREFIX-u") == *"<type arch='x86_64' machine='pc-q35"* ]]; then
        ok "--start starts the defined guest (TCG, q35)"
else
        note "$(cat "$TEST_TMPDIR/err"); state: $(virsh_q domstate --reason "$PREFIX-u" 2>&1)"
        note "$(virsh_q dumpxml "$PREFIX-u" 2>&1 | grep -m1 "<type")"
        note "$(tail -5 "/var/log/libvirt/qemu/$PREFIX-u.log" 2>&1)"
        not_ok "--start starts the defined guest (TCG, q35)"
fi
clean "$PREFIX-u"

# An EFI guest: OVMF picked by libvirt, a fresh NVRAM from its template, and it starts.
OVA_FIRMWARE=efi make_ova "$P/efi.ova" web01 "$RAW"
name=$PREFIX-x
if "$KVMFORGE" import --dest "$DEST" --bridge "$BRIDGE" --name "$name" --start "$P/efi.ova" \
        >/dev/null 2>"$TEST_TMPDIR/err" && virsh_q dumpxml "$name" >"$TEST_TMPDIR/efi.xml" &&
        grep -q "<loader readonly='yes' type='pflash'>.*OVMF" "$TEST_TMPDIR/efi.xml" &&
        grep -q "<nvram template=.*/var/lib/libvirt/qemu/nvram/${name}_VARS.fd" "$TEST_TMPDIR/efi.xml" &&
        [[ $(virsh_q domstate "$name") == running ]]; then
        ok "an EFI guest gets OVMF with a fresh NVRAM and starts"
else
        note "$(cat "$TEST_TMPDIR/err")"
        not_ok "an EFI guest gets OVMF with a fresh NVRAM and starts"
fi
clean "$name"

# ---- into a libvirt storage pool, through the volume API and a stream ----
POOL=kvmforge-pool-$$
POOLDIR=$TEST_TMPDIR/pool
mkdir -p "$POOLDIR"
libvirt_share_dir "$POOLDIR"
virsh_q pool-define-as "$POOL" dir --target "$POOLDIR" >/dev/null
virsh_q pool-start "$POOL" >/dev/null
at_exit "virsh -q -c $LIBVIRT_URI pool-destroy $POOL >/dev/null; virsh -q -c $LIBVIRT_URI pool-undefine $POOL >/dev/null"
pool_clean() { # name
        libvirt_remove_domain "$1"
        virsh_q vol-delete --pool "$POOL" "$1-disk1.qcow2" >/dev/null 2>&1 || true
        virsh_q vol-delete --pool "$POOL" "$1-disk2.qcow2" >/dev/null 2>&1 || true
}

name=$PREFIX-v
if "$KVMFORGE" import --pool "$POOL" --bridge "$BRIDGE" --name "$name" "$P/nomf.ova" \
        >/dev/null 2>"$TEST_TMPDIR/err" &&
        [[ $(virsh_q dumpxml "$name") == *"<source pool='$POOL' volume='$name-disk1.qcow2'"* ]] &&
        qemu-img compare -q "$POOLDIR/$name-disk1.qcow2" "$RAW" &&
        qemu-img compare -q "$POOLDIR/$name-disk2.qcow2" "$RAW2" &&
        [[ -z $(find /var/tmp -maxdepth 1 -name 'kvmforge-import-*' -newer "$P/nomf.ova") ]]; then
        ok "--pool uploads the disks as volumes and the guest uses them"
else
        note "$(cat "$TEST_TMPDIR/err")"
        not_ok "--pool uploads the disks as volumes and the guest uses them"
fi

# The same name again: the pool's volume exists (the domain too; remove it to test the volume).
libvirt_remove_domain "$name"
rc=0
"$KVMFORGE" import --pool "$POOL" --bridge "$BRIDGE" --name "$name" "$P/nomf.ova" \
        >/dev/null 2>"$TEST_TMPDIR/err" || rc=$?
if [[ $rc -eq 1 ]] && grep -q "has a volume '$name-disk1.qcow2' already" "$TEST_TMPDIR/err" &&
        qemu-img compare -q "$POOLDIR/$name-disk1.qcow2" "$RAW"; then
        ok "--pool never replaces an existing volume"
else
        note "$(cat "$TEST_TMPDIR/err")"
        not_ok "--pool never replaces an existing volume"
fi
pool_clean "$name"

# A failure after the first disk was uploaded removes that volume again.
mkdir -p "$P/badmf2"
OVA_MANIFEST=first make_ova "$P/two.ova" web01 "$RAW" "$RAW2"
tar -C "$P/badmf2" -xf "$P/two.ova"
sed -i "s/\(web01-disk2.vmdk)= \).*/\1$ZEROS/" "$P/badmf2/web01.mf"
tar -C "$P/badmf2" --format=ustar -cf "$P/badmf2.ova" web01.ovf web01.mf web01-disk1.vmdk web01-disk2.vmdk
name=$PREFIX-w
rc=0
"$KVMFORGE" import --pool "$POOL" --bridge "$BRIDGE" --name "$name" "$P/badmf2.ova" \
        >/dev/null 2>"$TEST_TMPDIR/err" || rc=$?
if [[ $rc -eq 1 ]] && grep -q "web01-disk2.vmdk' does not match" "$TEST_TMPDIR/err" &&
        [[ -z $(virsh_q vol-list "$POOL" | grep "$name") && -z $(ls -A "$POOLDIR") ]] &&
        ! virsh_q domstate "$name" >/dev/null 2>&1; then
        ok "--pool: a failure on the second disk deletes the first volume"
else
        note "$(cat "$TEST_TMPDIR/err"); left: $(ls -A "$POOLDIR")"
        not_ok "--pool: a failure on the second disk deletes the first volume"
fi
pool_clean "$name"
