#!/bin/bash
# kvmforge-postinst against a real libvirtd, with --root in a scratch tree: the first boot
# defines, starts and autostarts the storage pool and the bridged network (checked with virsh),
# writes the KVM verdict to motd and the console, runs the answer's %firstboot script once,
# POSTs its health to REPORT_URL and marks itself done; a second run changes nothing; --check
# reports the pool and the bridge. No VG on the host (no device-mapper): the pool is a
# directory there. The thin volume for guest images is checked in a QEMU guest (tests/vm/) with
# a VG "kvmforge" and a thin pool "data", libvirt's in-process test:///default driver standing
# in for libvirtd; skipped when the VM tools are missing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirt.sh"
. "$(dirname "$0")/../vm/vm.sh"

need_cmd ip python3 sha256sum
setup_tmpdir
start_libvirtd
BUILD=${BUILD:-build}
POSTINST=${KVMFORGE_POSTINST:-$REPO_ROOT/$BUILD/kvmforge-postinst}
[[ -x $POSTINST ]] || fail "'$POSTINST' is not built"

ROOT=$TEST_TMPDIR/root
# Names of our own: other tests may share this libvirtd, and the node's "default" pool and
# "vmbr0" network are the host's business.
BRIDGE=kvmfpi$$
BRIDGE=${BRIDGE:0:15}
POOL=kvmforge-postinst-$$
OTHER_POOL=kvmforge-postinst-other-$$

ip link add "$BRIDGE" type bridge || skip "cannot create a bridge (no CAP_NET_ADMIN?)"
at_exit "ip link del $BRIDGE"
ip addr add 192.0.2.7/24 dev "$BRIDGE"
ip link set "$BRIDGE" up
remove_pool() {
        virsh_q pool-destroy "$1" >/dev/null 2>&1 || true
        virsh_q pool-undefine "$1" >/dev/null 2>&1 || true
}
at_exit "remove_pool $POOL; remove_pool $OTHER_POOL"
at_exit "virsh_q net-destroy $BRIDGE >/dev/null 2>&1; virsh_q net-undefine $BRIDGE >/dev/null 2>&1"

# A report server: writes each POST body to $TEST_TMPDIR/report.N.json.
cat >"$TEST_TMPDIR/server.py" <<'EOF'
import http.server, sys, os
out = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    n = 0
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        H.n += 1
        with open(f"{out}/report.{H.n}.json", "wb") as f:
            f.write(body)
        with open(f"{out}/report.{H.n}.type", "w") as f:
            f.write(self.headers.get("Content-Type", ""))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(f"{out}/port.tmp", "w") as f:
    f.write(str(s.server_port))
os.rename(f"{out}/port.tmp", f"{out}/port")
s.serve_forever()
EOF
python3 "$TEST_TMPDIR/server.py" "$TEST_TMPDIR" &
SERVER=$!
at_exit "kill $SERVER"
for _ in $(seq 50); do [[ -s $TEST_TMPDIR/port ]] && break; sleep 0.1; done
[[ -s $TEST_TMPDIR/port ]] || fail "the report server did not start"
PORT=$(cat "$TEST_TMPDIR/port")

mkdir -p "$ROOT/etc/kvmforge" "$ROOT/dev"
chmod o+x "$TEST_TMPDIR" # libvirt checks the pool's directory as itself
cat >"$ROOT/etc/kvmforge/node.conf" <<EOF
# written by the installer
BRIDGE=$BRIDGE
POOL="$POOL"
REPORT_URL=http://user:s3cret@127.0.0.1:$PORT/report
EOF
cat >"$ROOT/etc/kvmforge/answer.cfg" <<EOF
vmaccepteula
rootpw --iscrypted \$6\$salt\$hash
install --firstdisk --overwritevmfs
network --bootproto=dhcp
%firstboot --interpreter=busybox
echo "ran as \$(id -u)" >>$TEST_TMPDIR/firstboot.out
EOF
printf 'Welcome to the lab.\nAsk Bob before rebooting.\n' >"$ROOT/etc/motd"
: >"$ROOT/dev/console" # a file stands in for the console

run_postinst() { # out err args...
        local out=$1 err=$2
        shift 2
        "$POSTINST" --root "$ROOT" --connect "$LIBVIRT_URI" "$@" >"$out" 2>"$err"
}

# ---- the first boot ----
rc=0
run_postinst "$TEST_TMPDIR/out1" "$TEST_TMPDIR/err1" || rc=$?
if [[ $rc == 0 ]]; then ok "first run succeeds"; else
        note "$(cat "$TEST_TMPDIR/out1" "$TEST_TMPDIR/err1")"; not_ok "first run succeeds" "exit $rc"; fi
note "$(cat "$TEST_TMPDIR/out1" "$TEST_TMPDIR/err1")"

IMAGES=$ROOT/var/lib/libvirt/images
info=$(virsh_q pool-info "$POOL" 2>&1 || true)
if [[ $info == *"State:"*running* && $info == *"Autostart:"*yes* ]]; then
        ok "pool is active and autostarted"; else note "$info"; not_ok "pool is active and autostarted"; fi
xml=$(virsh_q pool-dumpxml "$POOL" 2>&1 || true)
if [[ $xml == *"<pool type='dir'>"* && $xml == *"<path>$IMAGES</path>"* && -d $IMAGES ]]; then
        ok "pool is a dir pool at the root's /var/lib/libvirt/images"; else
        note "$xml"; not_ok "pool is a dir pool at the root's /var/lib/libvirt/images"; fi
info=$(virsh_q net-info "$BRIDGE" 2>&1 || true)
xml=$(virsh_q net-dumpxml "$BRIDGE" 2>&1 || true)
if [[ $info == *"Active:"*yes* && $info == *"Autostart:"*yes* && $xml == *"<forward mode='bridge'/>"* &&
        $xml == *"<bridge name='$BRIDGE'/>"* ]]; then
        ok "network is bridged onto the bridge, active and autostarted"; else
        note "$info $xml"; not_ok "network is bridged onto the bridge, active and autostarted"; fi

motd=$(cat "$ROOT/etc/motd")
if [[ $motd == "Welcome to the lab."$'\n'"Ask Bob before rebooting."$'\n'"---- kvmforge node status"* &&
        $motd == *$'\n'"KVM: "* && $(grep -c '^---- kvmforge node status' "$ROOT/etc/motd") == 1 ]]; then
        ok "motd keeps the admin's lines and gains the KVM verdict"; else
        note "$motd"; not_ok "motd keeps the admin's lines and gains the KVM verdict"; fi
kvm_line=$(grep '^KVM: ' "$ROOT/etc/motd" || true)
if [[ -n $kvm_line && $(cat "$ROOT/dev/console") == "$kvm_line" ]] && ! grep -q KVM "$TEST_TMPDIR/err1" &&
        grep -qxF "$kvm_line" "$TEST_TMPDIR/out1"; then
        ok "the verdict is on the console and stdout"; else
        note "console: $(cat "$ROOT/dev/console")"; not_ok "the verdict is on the console and stdout"; fi
if [[ -c /dev/kvm ]]; then want='KVM: ok'; else want='KVM: not available: '; fi
if [[ $kvm_line == "$want"* ]]; then ok "the verdict matches /dev/kvm"; else
        not_ok "the verdict matches /dev/kvm" "$kvm_line"; fi

if [[ $(cat "$TEST_TMPDIR/firstboot.out" 2>/dev/null) == "ran as 0" ]] &&
        grep -q '%firstboot of line 5' "$ROOT/var/log/kvmforge/postinst.log"; then
        ok "%firstboot script ran, logged"; else not_ok "%firstboot script ran, logged"; fi
if [[ -s $ROOT/var/lib/kvmforge/postinst.done ]]; then ok "done marker written"; else
        not_ok "done marker written"; fi

if [[ -s $TEST_TMPDIR/report.1.json && $(cat "$TEST_TMPDIR/report.1.type") == application/json ]] &&
        python3 - "$TEST_TMPDIR/report.1.json" "$POOL" "$BRIDGE" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
c = r["checks"]
assert c["pool"]["name"] == sys.argv[2] and c["pool"]["status"] == "ok", c["pool"]
assert c["network"]["bridge"] == sys.argv[3] and c["network"]["status"] == "ok", c["network"]
EOF
        ok "health POSTed to REPORT_URL"; else not_ok "health POSTed to REPORT_URL"; fi
if grep -q s3cret "$TEST_TMPDIR/out1" "$TEST_TMPDIR/err1" "$ROOT/var/log/kvmforge/postinst.log"; then
        not_ok "the URL's password is never printed"; else ok "the URL's password is never printed"; fi

# ---- a second run changes nothing ----
snapshot() {
        (cd "$ROOT" && find . -type f ! -name postinst.log ! -path ./dev/console -print0 | sort -z | xargs -0 sha256sum)
        # Not the pool's sizes: the scratch tree's filesystem is the host's, which others use.
        virsh_q pool-dumpxml "$POOL" | grep -v -e '<allocation' -e '<available'
        virsh_q net-dumpxml "$BRIDGE"
        virsh_q pool-info "$POOL" | grep -v -e '^Allocation' -e '^Available'
        virsh_q net-info "$BRIDGE"
}
snapshot >"$TEST_TMPDIR/snap1"
rc=0
run_postinst "$TEST_TMPDIR/out2" "$TEST_TMPDIR/err2" --json || rc=$?
snapshot >"$TEST_TMPDIR/snap2"
if [[ $rc == 0 ]] && python3 - "$TEST_TMPDIR/out2" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
changed = [k for k, v in r["steps"].items() if v["changed"] and k != "report"]
assert not changed, changed
assert r["steps"]["pool"]["message"].endswith("already set up"), r["steps"]["pool"]
EOF
        ok "second run succeeds and reports no change"; else
        note "$(cat "$TEST_TMPDIR/out2" "$TEST_TMPDIR/err2")"; not_ok "second run succeeds and reports no change"; fi
if diff "$TEST_TMPDIR/snap1" "$TEST_TMPDIR/snap2" >&2; then ok "second run changes no file, pool or network"; else
        not_ok "second run changes no file, pool or network"; fi
if [[ $(wc -l <"$TEST_TMPDIR/firstboot.out") == 1 ]]; then ok "%firstboot ran once"; else
        not_ok "%firstboot ran once"; fi

# ---- --check ----
rc=0
"$POSTINST" --check --json --root "$ROOT" --connect "$LIBVIRT_URI" >"$TEST_TMPDIR/check.json" 2>"$TEST_TMPDIR/check.err" || rc=$?
if python3 -m json.tool "$TEST_TMPDIR/check.json" >/dev/null &&
        python3 - "$TEST_TMPDIR/check.json" "$POOL" "$BRIDGE" "$IMAGES" "$rc" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
c = r["checks"]
assert set(c) == {"kvm", "libvirt", "pool", "network", "thinpool", "ssh"}, c.keys()
assert c["pool"]["name"] == sys.argv[2] and c["pool"]["path"] == sys.argv[4], c["pool"]
assert c["pool"]["active"] and c["pool"]["autostart"] and c["pool"]["capacity"] > 0, c["pool"]
assert c["network"]["bridge"] == sys.argv[3] and c["network"]["ipv4"] == ["192.0.2.7/24"], c["network"]
assert c["libvirt"]["status"] == "ok"
for k, v in c.items():
    assert v["status"] in ("ok", "warning", "fail") and v["message"], (k, v)
# exit status follows the worst check
assert (r["status"] == "fail") == (sys.argv[5] != "0"), (r["status"], sys.argv[5])
EOF
        ok "--check --json names the pool and the bridge"; else
        note "$(cat "$TEST_TMPDIR/check.json" "$TEST_TMPDIR/check.err")"; not_ok "--check --json names the pool and the bridge"; fi

# ---- a bridge that vanished fails --check ----
ip link set "$BRIDGE" down
rc=0
"$POSTINST" --check --root "$ROOT" --connect "$LIBVIRT_URI" >"$TEST_TMPDIR/check.txt" 2>&1 || rc=$?
ip link del "$BRIDGE"
rc2=0
"$POSTINST" --check --root "$ROOT" --connect "$LIBVIRT_URI" >"$TEST_TMPDIR/check2.txt" 2>&1 || rc2=$?
ip link add "$BRIDGE" type bridge
if [[ $rc2 == 1 ]] && grep -q "^fail *network *bridge '$BRIDGE' does not exist" "$TEST_TMPDIR/check2.txt"; then
        ok "--check fails when the bridge is gone"; else
        note "$(cat "$TEST_TMPDIR/check2.txt")"; not_ok "--check fails when the bridge is gone"; fi

# ---- an unreachable report server is a warning; a pool elsewhere is left alone ----
mkdir -p "$TEST_TMPDIR/elsewhere"
virsh_q pool-define-as "$OTHER_POOL" dir --target "$TEST_TMPDIR/elsewhere" >/dev/null
cat >"$ROOT/etc/kvmforge/node.conf" <<EOF
BRIDGE=$BRIDGE
POOL=$OTHER_POOL
REPORT_URL=http://127.0.0.1:1/report
EOF
rc=0
run_postinst "$TEST_TMPDIR/out3" "$TEST_TMPDIR/err3" || rc=$?
xml=$(virsh_q pool-dumpxml "$OTHER_POOL")
if [[ $rc == 0 ]] && grep -q "warning: report: cannot send the report to 'http://127.0.0.1:1/report'" "$TEST_TMPDIR/err3" &&
        grep -q "warning: pool: storage pool '$OTHER_POOL' already exists with path '$TEST_TMPDIR/elsewhere'" "$TEST_TMPDIR/err3" &&
        [[ $xml == *"<path>$TEST_TMPDIR/elsewhere</path>"* ]]; then
        ok "unreachable report server and a pool at another path are warnings"; else
        note "$(cat "$TEST_TMPDIR/out3" "$TEST_TMPDIR/err3")"; not_ok "unreachable report server and a pool at another path are warnings"; fi

# ---- a bad node.conf is one error line ----
echo 'BRIGDE=vmbr0' >"$ROOT/etc/kvmforge/node.conf"
rc=0
"$POSTINST" --root "$ROOT" --connect "$LIBVIRT_URI" >"$TEST_TMPDIR/out4" 2>"$TEST_TMPDIR/err4" || rc=$?
if [[ $rc == 1 && $(wc -l <"$TEST_TMPDIR/err4") == 1 ]] && grep -q "node.conf:1: unknown key 'BRIGDE'" "$TEST_TMPDIR/err4"; then
        ok "a typo in node.conf is one error"; else note "$(cat "$TEST_TMPDIR/err4")"; not_ok "a typo in node.conf is one error"; fi

# ---- the thin volume for guest images, in a VM ----
VM_SCRIPT=$(
        cat <<'EOF'
check() {
        if eval "$2"; then echo "ok - $1"; else
                echo "not ok - $1"
                echo "# exit $rc"; cat /tmp/out /tmp/err; lvm lvs kvmforge; cat /proc/mounts
        fi
}
run() { rc=0; "$K" --root /r --connect test:///default "$@" >/tmp/out 2>/tmp/err || rc=$?; }
lvm lvcreate -q --type thin-pool -L 512M -n data kvmforge >/dev/null
mkdir -p /r/etc/kvmforge
printf 'UUID=1111 / ext4 defaults 0 1\n' >/r/etc/fstab
run --json
check "vm: first run with a thin pool succeeds" '[ $rc = 0 ] && grep -q "thin volume" /tmp/out'
check "vm: thin volume images in pool data, as large as the pool" \
        'lvm lvs --noheadings --units b -o lv_name,segtype,pool_lv,lv_size kvmforge |
         grep -Eq "^ *images +thin +data +536870912B"'
uuid=$(blkid -o value -s UUID /dev/kvmforge/images)
check "vm: ext4 on it, in fstab by UUID with discard, the other lines kept" \
        'blkid /dev/kvmforge/images | grep -q "TYPE=\"ext4\"" && [ -n "$uuid" ] &&
         grep -qx "UUID=$uuid /var/lib/libvirt/images ext4 defaults,discard 0 2" /r/etc/fstab &&
         grep -qx "UUID=1111 / ext4 defaults 0 1" /r/etc/fstab'
check "vm: mounted on the images directory with discard" \
        'grep -Eq "^/dev/(mapper/kvmforge-images|kvmforge/images) /r/var/lib/libvirt/images ext4 [^ ]*discard" /proc/mounts'
run --json
check "vm: a second run changes no storage" \
        '[ $rc = 0 ] && grep -A2 "\"storage\"" /tmp/out | grep -q "\"changed\": false" &&
         [ "$(grep -c /var/lib/libvirt/images /r/etc/fstab)" = 1 ] &&
         [ "$(grep -c /r/var/lib/libvirt/images /proc/mounts)" = 1 ]'
rc=0; "$K" --check --json --connect test:///default >/tmp/out 2>/tmp/err || rc=$?
check "vm: --check reports the thin pool's usage" \
        'grep -A4 "\"thinpool\"" /tmp/out | grep -q "\"status\": \"ok\"" &&
         grep -q "\"data_percent\": \"[0-9]" /tmp/out'
EOF
)

thin_in_vm() {
        local T=$TEST_TMPDIR/vm K rc=0 passed failed disks=()
        mkdir -p "$T"
        K=$(readlink -f "$POSTINST")
        vm_prepare_lvm_pv "$T/pv.raw" 1G kvmforge
        vm_initramfs "$T/initrd.gz" --bin "$K" --bin lvm --bin thin_check --bin mkfs.ext4 \
                --bin blkid --bin cat --bin grep --bin mkdir \
                --module ext4 --module crc32c_generic --module dm_thin_pool >&2
        vm_drive disks virtio "$T/pv.raw"
        vm_run --wait vda --memory 768 --timeout 300 --sh "$VM_SCRIPT" --env "K=$K" -- \
                "${disks[@]}" >"$T/out" 2>"$T/err" || rc=$?
        cat "$T/out"
        ((rc == 0)) || note "the VM gave status $rc (${VM_RESULT:-?}): $(tail -5 "$T/err")"
        passed=$(grep -c '^ok - ' "$T/out" || true)
        failed=$(grep -c '^not ok - ' "$T/out" || true)
        PASSED=$((PASSED + passed))
        FAILED=$((FAILED + failed))
        ((passed + failed >= 6)) || not_ok "vm: the guest ran $((passed + failed)) of 6 cases"
}
if (vm_check_tools >/dev/null 2>&1) && command -v thin_check >/dev/null; then
        thin_in_vm
else
        note "VM tools missing: the thin volume cases are not run"
fi
tap_end
