#!/bin/bash
# The install's reports to a remote answer server (`--report URL`, kvmforge.report= in the live
# environment), against a real web server on 127.0.0.1 (tests/tools/httpd.py --collect): each
# step's start and the result as JSON, the log's end with a failure, no password anywhere, and
# a server that does not answer changes nothing but a line in the log. The installs here fail
# at the answer, before any disk is touched: the full install is test-install-e2e.sh's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_cmd python3
KI=${KVMFORGE_INSTALL:-$REPO_ROOT/${BUILD:-build}/kvmforge-install}
[[ -x $KI ]] || fail "'$KI' is not built"
setup_tmpdir
T=$TEST_TMPDIR
mkdir "$T/www" "$T/reports"

python3 "$REPO_ROOT/tests/tools/httpd.py" --dir "$T/www" --port-file "$T/port" \
        --collect "$T/reports" 2>"$T/httpd.err" &
HTTPD_PID=$!
# The server goes at exit too; the script's status must survive the cleanup.
stop_httpd() {
        local rc=$?
        kill "$HTTPD_PID" 2>/dev/null || true
        (exit "$rc")
        _cleanup_tmpdir
}
trap stop_httpd EXIT
for _ in $(seq 300); do [[ -s $T/port ]] && break; sleep 0.1; done
[[ -s $T/port ]] || fail "httpd did not start: $(cat "$T/httpd.err")"
PORT=$(cat "$T/port")

# A sound answer but for one mistake on line 3; its password must reach no report.
cat >"$T/bad.cfg" <<'EOF'
rootpw --plaintext Secret-Report-Pass-17
network --bootproto=dhcp --hostname=node9.report.test
autopart --typo
EOF

rc=0
"$KI" install --answer "$T/bad.cfg" --yes --no-reboot --log "$T/install.log" \
        --report "http://user:pw-in-url@127.0.0.1:$PORT/report/node9" >"$T/out" 2>"$T/err" || rc=$?
[[ $rc == 1 ]] && ok "a bad answer fails the install (status 1)" ||
        not_ok "a bad answer fails the install" "status $rc: $(cat "$T/err")"

python3 - "$T/reports" >"$T/summary" 2>&1 <<'EOF' || true
import json, os, sys
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    r = json.load(open(os.path.join(d, name)))
    if r["type"] == "event":
        print("event", r["step"], r["percent"], r["message"])
    else:
        print("result", r["status"], r["step"], "log" in r, r["message"])
        print("logline", [l for l in r.get("log", "").splitlines() if "error:" in l][:1])
EOF
sed 's/^/# /' "$T/summary" >&2
grep -q '^event detect 0 detecting the hardware' "$T/summary" &&
        grep -q '^event answer ' "$T/summary" &&
        ok "each step's start is reported, in order" ||
        not_ok "each step's start is reported" "$(cat "$T/summary")"
grep -q '^result failed answer True .*cannot be installed.*bad.cfg:3:10' "$T/summary" &&
        ok "the result names the failed step and comes with the log" ||
        not_ok "the result" "$(grep '^result' "$T/summary")"
grep -q "^logline.*bad.cfg:3:10: error" "$T/summary" &&
        ok "the log in the report holds the answer's error with its line" ||
        not_ok "the log in the report holds the error" "$(grep '^logline' "$T/summary")"
if grep -rq 'Secret-Report-Pass-17' "$T/reports" "$T/install.log" "$T/out" "$T/err"; then
        not_ok "no password in reports, log or output"
else
        ok "no password in reports, log or output"
fi
if grep -rq 'pw-in-url' "$T/install.log" "$T/out" "$T/err"; then
        not_ok "the report URL's credentials are never printed"
else
        ok "the report URL's credentials are never printed"
fi

# Nobody listens: the install goes on as before and says so once in its log.
kill "$HTTPD_PID"
wait "$HTTPD_PID" 2>/dev/null || true
rc=0
"$KI" install --answer "$T/bad.cfg" --yes --no-reboot --log "$T/install2.log" \
        --report "http://127.0.0.1:$PORT/report/node9" >"$T/out2" 2>"$T/err2" || rc=$?
n=$(grep -c 'did not take the report' "$T/install2.log" || true)
[[ $rc == 1 && $n == 1 ]] && grep -q 'cannot be installed' "$T/err2" &&
        ok "an unreachable report server: one line in the log, the same failure" ||
        not_ok "an unreachable report server" "status $rc, $n log lines: $(cat "$T/err2")"
tap_end
