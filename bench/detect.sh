#!/bin/bash
# Times `kvmforge-install detect --json` on this machine (the issue's bar: under 1 s) against
# what installers run for the same facts: `lscpu --json` and `lsblk --json -O` (util-linux).
# Prints hyperfine's table (median and spread). Env: RUNS (default 31), KVMFORGE_INSTALL.
set -euo pipefail
. "$(dirname "$0")/../tests/integration/lib.sh"

RUNS=${RUNS:-31}
DETECT=${KVMFORGE_INSTALL:-$REPO_ROOT/build/kvmforge-install}
[[ -x $DETECT ]] || fail "'$DETECT' is not built"
if ! command -v hyperfine >/dev/null; then
        ((EUID == 0)) || skip "hyperfine is missing (apt-get install hyperfine)"
        apt-get install -y -q hyperfine >/dev/null 2>&1 ||
                { apt-get update -q >/dev/null && apt-get install -y -q hyperfine >/dev/null; } ||
                skip "cannot install hyperfine"
fi
need_cmd lscpu lsblk python3
setup_tmpdir
echo "# $(nproc) CPUs, $(id -un), $("$DETECT" detect --json | grep -c '"name": "' ) named devices in the report"
hyperfine -N --warmup 3 --runs "$RUNS" --style basic \
        -n "kvmforge-install detect --json" "$DETECT detect --json" \
        -n "lscpu --json + lsblk --json -O" "bash -c 'lscpu --json >/dev/null; lsblk --json -O >/dev/null'" \
        --export-json "$TEST_TMPDIR/h.json" >&2
python3 - "$TEST_TMPDIR/h.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
print("| command | median | min | max |\n|---|---|---|---|")
for r in res:
    print("| %s | %.1f ms | %.1f ms | %.1f ms |" % (r["command"], r["median"] * 1e3, r["min"] * 1e3, r["max"] * 1e3))
PY
