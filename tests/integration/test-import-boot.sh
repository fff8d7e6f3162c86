#!/bin/bash
# The import end to end: a bootable guest disk (guest.sh: SYSLINUX, Debian's kernel, an /init
# that prints a marker on the serial port and powers off) wrapped as a streamOptimized VMDK in
# a VMware-style OVA with a manifest, served by a web server on 127.0.0.1 that drops the
# connection mid-download, imported from its URL with --start into a real libvirtd (TCG), and
# booted: the guest's serial log must hold the marker, and the guest must power off by itself.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guest.sh"
. "$(dirname "$0")/libvirt.sh"
. "$(dirname "$0")/ova.sh"

[[ $(id -u) == 0 ]] || skip "libvirtd for qemu:///system needs root"
need_cmd python3 openssl tar ip qemu-system-x86_64
setup_tmpdir
chmod o+x "$TEST_TMPDIR"
start_libvirtd
KVMFORGE=$(kvmforge_image_path)
TIMEOUT=${BOOT_TIMEOUT:-180}
NAME=kvmforge-e2e-$$
DEST=$TEST_TMPDIR/images
SERIAL_LOG=/var/log/libvirt/qemu/$NAME-serial0.log
mkdir -p "$DEST" "$TEST_TMPDIR/www"
libvirt_share_dir "$DEST"
at_exit "libvirt_remove_domain $NAME; rm -f $SERIAL_LOG"

BRIDGE=kvmfe$$
BRIDGE=${BRIDGE:0:15}
ip link add "$BRIDGE" type bridge || skip "cannot create a bridge (no CAP_NET_ADMIN?)"
at_exit "ip link del $BRIDGE"

make_guest_disk "$TEST_TMPDIR/guest.raw"
make_ova "$TEST_TMPDIR/www/appliance.ova" appliance "$GUEST_DISK"
note "OVA: $(stat -c %s "$TEST_TMPDIR/www/appliance.ova") bytes"

# The first download of the OVA is cut after 1 MB: the import must resume it.
python3 "$LIB_DIR/../tools/httpd.py" --dir "$TEST_TMPDIR/www" --port-file "$TEST_TMPDIR/port" \
        --drop-after 1000000 --drop-count 1 --log "$TEST_TMPDIR/http.log" &
HTTPD=$!
at_exit "kill $HTTPD"
for _ in $(seq 100); do [[ -s $TEST_TMPDIR/port ]] && break; sleep 0.1; done
[[ -s $TEST_TMPDIR/port ]] || fail "the web server did not start"
URL=http://127.0.0.1:$(cat "$TEST_TMPDIR/port")/appliance.ova

rc=0
"$KVMFORGE" import --dest "$DEST" --bridge "$BRIDGE" --name "$NAME" --start "$URL" \
        >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || rc=$?
if [[ $rc -eq 0 ]] && grep -q "manifest verified" "$TEST_TMPDIR/out"; then
        echo "ok - import from $URL with --start (manifest verified)"
else
        note "exit $rc: $(cat "$TEST_TMPDIR/err")"
        echo "not ok - import from $URL with --start (manifest verified)"
        exit 1
fi

if [[ $(grep -c "GET /appliance.ova" "$TEST_TMPDIR/http.log") -ge 2 ]]; then
        echo "ok - the dropped download was resumed"
else
        note "$(cat "$TEST_TMPDIR/http.log")"
        echo "not ok - the dropped download was resumed"
fi

libvirt_wait_shutoff "$NAME" "$TIMEOUT" || true
state=$LIBVIRT_DOMSTATE
if [[ $state == "shut off"* ]] && grep -q "$GUEST_MARKER" "$SERIAL_LOG"; then
        echo "ok - the imported guest booted (serial: $(grep -a -m1 "$GUEST_MARKER" "$SERIAL_LOG" | tr -d '\r'); $state)"
else
        note "state: $state; QEMU log: $(tail -c 300 "/var/log/libvirt/qemu/$NAME.log"); serial log: $(tail -c 500 "$SERIAL_LOG" 2>/dev/null | tr -d '\r')"
        echo "not ok - the imported guest booted"
fi

if [[ $(virsh_q dumpxml "$NAME") == *"<target dev='sda' bus='sata'/>"* ]] &&
        qemu-img compare -q "$DEST/$NAME-disk1.qcow2" "$GUEST_DISK"; then
        echo "ok - its disk is on SATA and equals the exported one"
else
        echo "not ok - its disk is on SATA and equals the exported one"
fi
