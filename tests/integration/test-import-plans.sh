#!/bin/bash
# The import plan (`import --dry-run --json`) for OVF descriptors written the way real exporters
# write them (ESXi/vCenter through ovftool, vApps, VirtualBox 7's OVF 2.0, deployment options,
# odd third-party exporters), each compared with its expected plan in data/plans/.
#
# A dry run reads the descriptor only: the disks the descriptors name are not there. Keep no .mf
# beside the descriptors (the plan would then say the files are verified).
#
# The comparison drops what depends on the host: "type" of each VM (kvm or qemu, from /dev/kvm),
# any warning that mentions /dev/kvm, and the directory of "source" (its basename is kept).
#
# REGEN=1 rewrites the expected plans from the program's output instead of comparing; review the
# diff like code: every field must follow from the descriptor and README's mapping rules.
# Case names as arguments run (or regenerate) only those cases.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_cmd python3
DATA=$LIB_DIR/data
KVMFORGE=$(kvmforge_image_path)
if [[ ! -x $KVMFORGE ]]; then
        if [[ -z ${KVMFORGE_IMAGE:-} ]]; then
                make -C "$REPO_ROOT" -j2 >&2 || fail "cannot build $KVMFORGE"
        fi
        [[ -x $KVMFORGE ]] || skip "no $KVMFORGE"
fi
setup_tmpdir

# Prints the plan (JSON on stdin) without its host-dependent parts, pretty-printed.
normalize() {
        python3 -c '
import json, os, sys
plan = json.load(sys.stdin)
plan["source"] = os.path.basename(plan["source"])
for vm in plan.get("vms", []):
    vm.pop("type", None)
    vm["warnings"] = [w for w in vm.get("warnings", []) if "/dev/kvm" not in w]
json.dump(plan, sys.stdout, indent=2, sort_keys=False)
sys.stdout.write("\n")
'
}

# compare NAME EXPECTED ACTUAL: exact equality of the parsed structures; on a difference, a
# unified diff of the two pretty-printed as "# " notes.
compare() {
        python3 - "$@" <<'EOF'
import difflib, json, sys
name, want_file, got_file = sys.argv[1:4]
with open(want_file) as f:
    want = json.load(f)
with open(got_file) as f:
    got = json.load(f)
if want == got:
    sys.exit(0)
a = json.dumps(want, indent=2, sort_keys=True).splitlines()
b = json.dumps(got, indent=2, sort_keys=True).splitlines()
for line in difflib.unified_diff(a, b, "expected/" + name + ".json", "actual/" + name, lineterm=""):
    print("# " + line, file=sys.stderr)
sys.exit(1)
EOF
}

ONLY=("$@")

# check NAME DESCRIPTOR [import options...]
check() {
        local name=$1 desc=$DATA/ovf/$2 want=$DATA/plans/$1.json got=$TEST_TMPDIR/$1.json
        shift 2
        if [[ ${#ONLY[@]} -gt 0 && " ${ONLY[*]} " != *" $name "* ]]; then
                return
        fi
        if [[ -e ${desc%.ovf}.mf ]]; then
                note "$name: remove ${desc%.ovf}.mf: the plans are made without a manifest"
                not_ok "$name"
                return
        fi
        local rc=0
        "$KVMFORGE" import --dry-run --json --dest /images --network default "$@" "$desc" \
                >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || rc=$?
        if [[ $rc -ne 0 ]]; then
                note "$name: exit status $rc: $(cat "$TEST_TMPDIR/err")"
                not_ok "$name"
                return
        fi
        if ! normalize <"$TEST_TMPDIR/out" >"$got"; then
                note "$name: the output is not JSON: $(head -c 300 "$TEST_TMPDIR/out")"
                not_ok "$name"
                return
        fi
        if [[ ${REGEN:-0} == 1 ]]; then
                cp "$got" "$want"
                note "$name: wrote $want"
                ok "$name (regenerated)"
        elif [[ ! -f $want ]]; then
                note "$name: no expected plan $want (make it with REGEN=1, then review it)"
                not_ok "$name"
        elif compare "$name" "$want" "$got"; then
                ok "$name"
        else
                not_ok "$name"
        fi
}

# ESXi 7 through ovftool 4.4: Windows, three disks on SCSI and SATA, units mixed, two NICs.
check esxi7-multidisk esxi7-multidisk.ovf
# vCenter 8: EFI with Secure Boot, NVMe, the NVRAM shipped as a file of its own.
check vcenter-efi-secureboot vcenter-efi-secureboot.ovf
# A vApp: a VM and a nested collection of two, one blank disk.
check vapp-collection-nested vapp-collection-nested.ovf
# Files gzip'd and cut in chunks (ovftool --compress --chunkSize); no MAC exported.
check ovftool-chunked-gzip ovftool-chunked-gzip.ovf
# VirtualBox 7, OVF 2.0: StorageItem/EthernetPortItem, MegaBytes, EFI only in vbox:Machine.
check virtualbox7-ovf2 virtualbox7-ovf2.ovf
# VirtualBox 7, OVF 1.0, of a VM set up with `VBoxManage modifyvm --firmware efi64`.
check virtualbox7-efi64 virtualbox7-efi64.ovf
# DeploymentOptionSection: the default configuration, then another one.
check deployment-options deployment-options.ovf
check deployment-options-large deployment-options.ovf --deployment large
# OS "Other" (CIM 1) with the real type in vmw:osType, memory without units, PCNet32, IDE.
check oracle-like oracle-like.ovf
# The unit tests' descriptors, as plans.
check esxi-efi esxi-efi.ovf
check vapp-deployment vapp-deployment.ovf
check virtualbox-2.0 virtualbox-2.0.ovf

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
