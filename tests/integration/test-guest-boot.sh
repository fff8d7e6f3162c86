#!/bin/bash
# The test guest disk (guest.sh) boots, under software emulation (no /dev/kvm needed):
# directly in QEMU on IDE, through libvirt on SATA (q35 and pc) with the serial port logged to
# a file by virtlogd, and after a round trip through a VMware streamOptimized VMDK and
# `kvmforge-image convert -O qcow2`. A boot passes when the serial log holds the guest's
# marker line and the guest powered the machine off by itself.
#
# Prints "ok - NAME" or "not ok - NAME: REASON" per case and a closing "N passed, N failed".
# Exit 0 all ok, 1 a case or the harness failed, 77 not root or a needed tool is missing.
# Env: KVMFORGE_IMAGE (program under test), KVMFORGE_TEST_CACHE (guest disk cache),
#      MKVMDK_VMWARE_STREAM (tool), KVMFORGE_KEEP_TMP=1, BOOT_TIMEOUT (seconds per boot,
#      default 180), LIBVIRTD_TIMEOUT.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=guest.sh
. "$(dirname "$0")/guest.sh"
# shellcheck source-path=SCRIPTDIR source=libvirt.sh
. "$(dirname "$0")/libvirt.sh"

[[ $(id -u) == 0 ]] || skip "libvirtd for qemu:///system needs root"
need_cmd qemu-system-x86_64 timeout
setup_tmpdir
TIMEOUT=${BOOT_TIMEOUT:-180}
START=$SECONDS
make_guest_disk "$TEST_TMPDIR/guest.raw"
note "guest disk: $GUEST_DISK (kernel $GUEST_KERNEL_RELEASE)"

# Microseconds since the epoch.
now_us() {
        local t=$EPOCHREALTIME
        echo $((10#${t/./}))
}

# Prints the microseconds since START_US as seconds with one decimal.
since() {
        local us=$(($(now_us) - $1))
        printf '%d.%d' $((us / 1000000)) $((us / 100000 % 10))
}

# The last lines of a serial log, on one line, for a failure's reason.
log_tail() {
        if [[ -s $1 ]]; then
                tail -n 3 "$1" | tr -d '\r' | tr '\n' '|'
        else
                echo "(empty serial log)"
        fi
}

QEMU_PID=
# shellcheck disable=SC2016 # expanded at exit
at_exit '[[ -z $QEMU_PID ]] || kill -TERM "$QEMU_PID" 2>/dev/null'

# boot_qemu NAME DISK FMT: boots DISK (format FMT) on IDE of an i440fx machine.
boot_qemu() {
        local name=$1 disk=$2 fmt=$3 log=$TEST_TMPDIR/serial-qemu.log t rc=0
        rm -f "$log"
        t=$(now_us)
        # -no-reboot: a guest that panics (panic=-1 reboots) ends the run instead of looping.
        # In the background, so that a signal to this script is handled at once; timeout
        # passes our TERM on to QEMU (it runs in its own process group, out of reach of ^C).
        timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 -nodefaults -machine pc -m 256 \
                -display none -no-reboot -serial "file:$log" \
                -drive "file=$disk,format=$fmt,if=ide" >"$TEST_TMPDIR/qemu.err" 2>&1 &
        QEMU_PID=$!
        wait "$QEMU_PID" || rc=$?
        QEMU_PID=
        if ((rc == 124 || rc == 137)); then
                not_ok "$name" "no power-off within $TIMEOUT s: $(log_tail "$log")"
        elif ((rc != 0)); then
                not_ok "$name" "qemu exit $rc: $(head -n 1 "$TEST_TMPDIR/qemu.err")"
        elif ! guest_log_ok "$log"; then
                not_ok "$name" "guest stopped without its marker: $(log_tail "$log")"
        else
                ok "$name"
                note "$name: booted and powered off in $(since "$t") s"
        fi
}

# domain_xml NAME MACHINE DISK FMT LOG: a TCG domain with DISK on SATA and serial 0 logged
# to LOG, that ends when the guest powers off, reboots or crashes.
domain_xml() {
        cat <<EOF
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='$2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='$4'/>
      <source file='$3'/>
      <target dev='sda' bus='sata'/>
    </disk>
    <serial type='pty'>
      <log file='$5' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# boot_libvirt NAME MACHINE DISK FMT: defines, starts and removes a domain booting DISK.
boot_libvirt() {
        local name=$1 machine=$2 disk=$3 fmt=$4
        local dom=kvmforge-test-$$-$machine log=$TEST_TMPDIR/serial-$machine.log
        local err=$TEST_TMPDIR/virsh.err t

        at_exit "libvirt_remove_domain $dom"
        domain_xml "$dom" "$machine" "$disk" "$fmt" "$log" >"$TEST_TMPDIR/$dom.xml"
        if ! virsh_q define "$TEST_TMPDIR/$dom.xml" >/dev/null 2>"$err"; then
                not_ok "$name" "virsh define: $(head -n 1 "$err")"
                return
        fi
        t=$(now_us)
        if ! virsh_q start "$dom" >/dev/null 2>"$err"; then
                not_ok "$name" "virsh start: $(grep -m 1 . "$err")"
        elif ! libvirt_wait_shutoff "$dom" "$TIMEOUT"; then
                not_ok "$name" "still '$LIBVIRT_DOMSTATE' after $TIMEOUT s: $(log_tail "$log")"
        elif [[ $LIBVIRT_DOMSTATE != "shut off (shutdown)" ]]; then
                not_ok "$name" "'$LIBVIRT_DOMSTATE', not powered off by the guest: $(log_tail "$log")"
        elif ! guest_log_ok "$log"; then
                not_ok "$name" "no marker in the <serial><log file=...> file: $(log_tail "$log")"
        else
                ok "$name"
                note "$name: started, booted and shut off in $(since "$t") s"
                libvirt_remove_domain "$dom"
                return
        fi
        note "$(tail -n 5 "/var/log/libvirt/qemu/$dom.log" 2>/dev/null)"
        libvirt_remove_domain "$dom"
}

boot_qemu "qemu pc, IDE, raw: guest boots and powers off" "$GUEST_DISK" raw

start_libvirtd
# QEMU runs as libvirt-qemu; mktemp -d made the directory private to root.
libvirt_share_dir "$TEST_TMPDIR"
for machine in q35 pc; do
        boot_libvirt "libvirt $machine, SATA, raw: guest boots, serial log file holds the marker" \
                "$machine" "$GUEST_DISK" raw
done

KVMFORGE=$(kvmforge_image_path)
name="VMware stream VMDK -> kvmforge-image convert -O qcow2: still boots"
if [[ ! -x $KVMFORGE ]]; then
        not_ok "$name" "'$KVMFORGE' is not built (or set KVMFORGE_IMAGE)"
else
        find_mkvmdk_vmware_stream
        if ! "$MKVMDK" "$GUEST_DISK" "$TEST_TMPDIR/guest.vmdk" >"$TEST_TMPDIR/step.log" 2>&1; then
                fail "building inputs: '$MKVMDK' failed: $(tail -n 3 "$TEST_TMPDIR/step.log")"
        fi
        if ! "$KVMFORGE" convert -O qcow2 "$TEST_TMPDIR/guest.vmdk" "$TEST_TMPDIR/guest.qcow2" \
                >/dev/null 2>"$TEST_TMPDIR/convert.err"; then
                not_ok "$name" "convert failed: $(head -n 1 "$TEST_TMPDIR/convert.err")"
        else
                boot_qemu "$name" "$TEST_TMPDIR/guest.qcow2" qcow2
        fi
fi

echo "# $((SECONDS - START)) s"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
