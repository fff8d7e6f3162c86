#!/bin/bash
# The kickstart answer corpus: every tests/data/answers/NAME.cfg through
# `kvmforge-install check-answer -q`, run inside that directory so that the paths in the
# messages are relative, against NAME.expected: the diagnostics on stderr, then a last line
# `exit N`. Options for a case come from a first line `# check-answer: OPTIONS...` (shell
# quoting); a line `# needs: PATH` skips the case when PATH does not exist on this machine.
#
# For every case that exits 0 (installable): the effective answer on stdout, fed back to
# check-answer, is installable too and prints the same effective answer (comment lines aside:
# the header names the input, and passwords are left out by design), and a third pass prints
# the second one byte for byte (passes 2 and 3 run without the case's options: what an
# --override changed is part of the effective answer). For every case: `--json` parses, its
# "valid", "errors" and "warnings" agree with the exit status and the text run, and its
# diagnostics are the text run's. Then the command line: bad usage exits 2, a missing file 1
# with one line naming it.
# Last, no password of any corpus file (rootpw, user --password, bootloader --password, sshpw)
# appears in anything check-answer printed.
#
# REGEN=1 rewrites the .expected files from the program's output instead of comparing; review
# the diff like code: read every message (right line and column, right level, a correct fix).
# Case names as arguments run (or regenerate) only those cases.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_cmd python3 diff
DATA=$REPO_ROOT/tests/data/answers
KVMFORGE=${KVMFORGE_INSTALL:-$REPO_ROOT/build/kvmforge-install}
[[ $KVMFORGE == /* ]] || KVMFORGE=$PWD/$KVMFORGE
if [[ ! -x $KVMFORGE ]]; then
        if [[ -z ${KVMFORGE_INSTALL:-} ]]; then
                make -C "$REPO_ROOT" -j2 >&2 || fail "cannot build $KVMFORGE"
        fi
        [[ -x $KVMFORGE ]] || skip "no $KVMFORGE"
fi
setup_tmpdir
OUT=$TEST_TMPDIR/outputs # everything check-answer printed, searched for passwords at the end
mkdir -p "$OUT"
ONLY=("$@")

# The options of a case: the words after "# check-answer:" on its first line.
case_options() {
        local first
        first=$(head -n 1 "$1" | tr -d '\r')
        [[ $first == '# check-answer:'* ]] || return 0
        python3 -c 'import shlex, sys; print("\n".join(shlex.split(sys.argv[1])))' \
                "${first#'# check-answer:'}"
}

# The path a case needs ("# needs: PATH" in its leading comments), or nothing.
case_needs() {
        sed -n '/^[^#]/q; s/^# needs: *//p' "$1" | tr -d '\r' | head -n 1
}

# run_check NAME OUT ERR [OPTIONS...]: check-answer in $DATA; prints the exit status.
run_check() {
        local name=$1 out=$2 err=$3 rc=0
        shift 3
        (cd "$DATA" && "$KVMFORGE" check-answer "$@" "$name.cfg") >"$out" 2>"$err" || rc=$?
        echo "$rc"
}

# The effective answer without its comment lines (the header names the input file; the
# password placeholders cannot survive a round trip: the passwords are not printed).
uncommented() {
        grep -v '^#' "$1" || true
}

# The round trip of an installable case: pass 1 is $DATA/NAME.cfg's effective answer.
round_trip() {
        local name=$1 prev=$2 dir rc n
        for n in 2 3; do
                dir=$TEST_TMPDIR/rt$n
                mkdir -p "$dir"
                cp "$prev" "$dir/$name.cfg"
                prev=$dir/out
                rc=0
                (cd "$dir" && "$KVMFORGE" check-answer "$name.cfg") >"$dir/out" 2>"$dir/err" ||
                        rc=$?
                cp "$dir/out" "$OUT/$name.rt$n.out"
                cp "$dir/err" "$OUT/$name.rt$n.err"
                if [[ $rc -ne 0 ]]; then
                        note "$name: pass $n: the effective answer of pass $((n - 1))" \
                                "is not installable (exit $rc):"
                        sed 's/^/#   /' "$dir/err" >&2
                        not_ok "$name: round trip"
                        return
                fi
        done
        if ! diff -u --label "$name: pass 1" --label "$name: pass 2" <(uncommented "$2") \
                <(uncommented "$TEST_TMPDIR/rt2/out") >"$TEST_TMPDIR/rt.diff"; then
                note "$name: the effective answer changes when read back:"
                sed 's/^/#   /' "$TEST_TMPDIR/rt.diff" >&2
                not_ok "$name: round trip"
        elif ! diff -u --label "$name: pass 2" --label "$name: pass 3" "$TEST_TMPDIR/rt2/out" \
                "$TEST_TMPDIR/rt3/out" >"$TEST_TMPDIR/rt.diff"; then
                note "$name: the effective answer is not a fixed point:"
                sed 's/^/#   /' "$TEST_TMPDIR/rt.diff" >&2
                not_ok "$name: round trip"
        else
                ok "$name: round trip"
        fi
}

# --json against the text run: RC and the text run's stderr (diagnostics, then the summary).
json_check() {
        local name=$1 rc=$2 text_err=$3 json=$TEST_TMPDIR/json jrc=0
        shift 3
        jrc=$(run_check "$name" "$json" "$TEST_TMPDIR/json.err" --json "$@")
        cp "$json" "$OUT/$name.json"
        cp "$TEST_TMPDIR/json.err" "$OUT/$name.json.err"
        if python3 - "$name" "$rc" "$jrc" "$json" "$TEST_TMPDIR/json.err" "$text_err" <<'EOF'; then
import json, re, sys
name, rc, jrc, json_file, json_err, text_err = sys.argv[1:]
rc, jrc = int(rc), int(jrc)
bad = []
if jrc != rc:
    bad.append(f"--json exits {jrc}, the text run {rc}")
try:
    with open(json_file) as f:
        doc = json.load(f)
except ValueError as e:
    print(f"# {name}: --json prints no JSON: {e}", file=sys.stderr)
    sys.exit(1)
with open(json_err) as f:
    if f.read():
        bad.append("--json also writes to stderr")
with open(text_err) as f:
    lines = f.read().splitlines()
summary, diags = (lines[-1], lines[:-1]) if lines else ("", [])
levels = [d["level"] for d in doc.get("diagnostics", [])]
if doc.get("valid") is not (rc == 0):
    bad.append(f'"valid" is {doc.get("valid")} but the exit status is {rc}')
if (doc.get("errors", 0) > 0) != (rc != 0):
    bad.append(f'"errors" is {doc.get("errors")} but the exit status is {rc}')
if doc.get("errors") != levels.count("error"):
    bad.append(f'"errors" is {doc.get("errors")}, the diagnostics hold {levels.count("error")}')
if doc.get("warnings") != levels.count("warning"):
    bad.append(f'"warnings" is {doc.get("warnings")}, '
               f'the diagnostics hold {levels.count("warning")}')
m = re.search(r": (\d+) errors?, (\d+) warnings?", summary)
if not m or (int(m[1]), int(m[2])) != (doc.get("errors"), doc.get("warnings")):
    bad.append(f'the counts differ from the text summary "{summary}"')
texts = [d.get("text") for d in doc.get("diagnostics", [])]
if texts != diags:
    bad.append("the diagnostics differ from the text run's")
for d in doc.get("diagnostics", []):
    loc = d["file"] + (f':{d["line"]}' if d["line"] else "")
    loc += f':{d["column"]}' if d["line"] and d["column"] else ""
    if d.get("text") != f'{loc}: {d["level"]}: {d["message"]}':
        bad.append(f'"text" is not file:line:col: level: message in {d}')
if not isinstance(doc.get("answer"), dict):
    bad.append('no "answer" object')
for b in bad:
    print(f"# {name}: {b}", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
                ok "$name: --json"
        else
                not_ok "$name: --json"
        fi
}

for cfg in "$DATA"/*.cfg; do
        name=$(basename "$cfg" .cfg)
        if [[ ${#ONLY[@]} -gt 0 && " ${ONLY[*]} " != *" $name "* ]]; then
                continue
        fi
        need=$(case_needs "$cfg")
        if [[ -n $need && ! -e $need ]]; then
                ok "$name # SKIP no $need here"
                continue
        fi
        mapfile -t opts < <(case_options "$cfg")
        want=$DATA/$name.expected
        got=$TEST_TMPDIR/$name.got
        rc=$(run_check "$name" "$TEST_TMPDIR/out" "$TEST_TMPDIR/err" -q "${opts[@]}")
        cp "$TEST_TMPDIR/out" "$OUT/$name.q.out"
        cp "$TEST_TMPDIR/err" "$OUT/$name.q.err"
        { cat "$TEST_TMPDIR/err"; echo "exit $rc"; } >"$got"
        if [[ -s $TEST_TMPDIR/out ]]; then
                note "$name: -q printed on stdout: $(head -c 200 "$TEST_TMPDIR/out")"
                not_ok "$name: diagnostics"
        elif [[ ${REGEN:-0} == 1 ]]; then
                cp "$got" "$want"
                note "$name: wrote $want"
                ok "$name: diagnostics (regenerated)"
        elif [[ ! -f $want ]]; then
                note "$name: no $want (make it with REGEN=1, then review it)"
                sed 's/^/#   /' "$got" >&2
                not_ok "$name: diagnostics"
        elif diff -u --label "$name.expected" --label "$name: actual" "$want" "$got" \
                >"$TEST_TMPDIR/diff"; then
                ok "$name: diagnostics"
        else
                sed 's/^/#   /' "$TEST_TMPDIR/diff" >&2
                not_ok "$name: diagnostics"
        fi

        json_check "$name" "$rc" "$TEST_TMPDIR/err" "${opts[@]}"

        if [[ $rc -eq 0 ]]; then
                run_check "$name" "$TEST_TMPDIR/pass1" "$TEST_TMPDIR/pass1.err" "${opts[@]}" \
                        >/dev/null
                cp "$TEST_TMPDIR/pass1" "$OUT/$name.out"
                cp "$TEST_TMPDIR/pass1.err" "$OUT/$name.err"
                round_trip "$name" "$TEST_TMPDIR/pass1"
        fi
done

if [[ ${#ONLY[@]} -eq 0 ]]; then
        # Bad usage: exit status 2 and a hint on stderr, nothing on stdout.
        usage_case() { # NAME ARGS...
                local name=$1 rc=0
                shift
                (cd "$DATA" && "$KVMFORGE" check-answer "$@") >"$TEST_TMPDIR/out" \
                        2>"$TEST_TMPDIR/err" || rc=$?
                if [[ $rc -eq 2 && ! -s $TEST_TMPDIR/out ]] &&
                        grep -q -- '--help' "$TEST_TMPDIR/err"; then
                        ok "usage: $name"
                else
                        note "usage: $name: exit $rc, stdout $(wc -c <"$TEST_TMPDIR/out")" \
                                "bytes, stderr: $(cat "$TEST_TMPDIR/err")"
                        not_ok "usage: $name"
                fi
        }
        usage_case "no SRC"
        usage_case "no SRC after options" --strict -q
        usage_case "two SRCs" valid-autopart-minimal.cfg valid-thinpool.cfg
        usage_case "unknown option" --frobnicate valid-autopart-minimal.cfg
        usage_case "--override without its LINE" valid-autopart-minimal.cfg --override

        # A missing file: exit status 1, one line on stderr that names it, nothing on stdout.
        rc=0
        (cd "$DATA" && "$KVMFORGE" check-answer no-such-answer.cfg) >"$TEST_TMPDIR/out" \
                2>"$TEST_TMPDIR/err" || rc=$?
        if [[ $rc -eq 1 && ! -s $TEST_TMPDIR/out && $(wc -l <"$TEST_TMPDIR/err") -eq 1 ]] &&
                grep -q 'no-such-answer\.cfg' "$TEST_TMPDIR/err"; then
                ok "missing file"
        else
                note "missing file: exit $rc, stdout $(wc -c <"$TEST_TMPDIR/out") bytes, stderr:"
                sed 's/^/#   /' "$TEST_TMPDIR/err" >&2
                not_ok "missing file"
        fi

        rc=0
        "$KVMFORGE" check-answer --help >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || rc=$?
        if [[ $rc -eq 0 ]] &&
                grep -q '^Usage: kvmforge-install check-answer' "$TEST_TMPDIR/out"; then
                ok "--help"
        else
                note "--help: exit $rc"
                not_ok "--help"
        fi
fi

# No password of any corpus file in anything check-answer printed.
python3 - "$DATA" >"$TEST_TMPDIR/secrets" <<'EOF'
import glob, os, shlex, sys

def words(line):
    try:
        return shlex.split(line, comments=True)
    except ValueError:
        return line.split()  # an unterminated quote: take the words as they stand

secrets = {}
for path in sorted(glob.glob(sys.argv[1] + "/*.cfg")):
    section = False
    with open(path, newline="") as f:
        for line in f.read().replace("\r\n", "\n").split("\n"):
            w = words(line)
            if not w:
                continue
            if w[0].startswith("%") and w[0] not in ("%include", "%ksappend"):
                section = w[0] != "%end"
                continue
            if section:
                continue
            opts = {}
            pos = []
            i = 1
            while i < len(w):
                if w[i][:1] in ("\u2014", "\u2013"):  # a word processor's dash for "--"
                    w[i] = "--" + w[i][1:]
                if w[i].startswith("--"):
                    k, eq, v = w[i][2:].partition("=")
                    if not eq and k in ("password", "md5pass") and i + 1 < len(w):
                        i += 1
                        v = w[i]
                    opts[k] = v
                else:
                    pos.append(w[i])
                i += 1
            found = pos if w[0] in ("rootpw", "sshpw") else []
            if w[0] in ("user", "bootloader"):
                found = [v for k, v in opts.items() if k in ("password", "md5pass")]
            for s in found:
                if len(s) >= 4:  # shorter ones would match anything
                    secrets.setdefault(s, os.path.basename(path))
for s, path in sorted(secrets.items()):
    print(f"{path}\t{s}")
EOF
n_secrets=$(wc -l <"$TEST_TMPDIR/secrets")
leaks=0
while IFS=$'\t' read -r from secret; do
        if grep -rlF -- "$secret" "$OUT" >"$TEST_TMPDIR/leaks"; then
                note "a password of $from is printed in:" \
                        "$(xargs -n1 basename <"$TEST_TMPDIR/leaks" | tr '\n' ' ')"
                leaks=$((leaks + 1))
        fi
done <"$TEST_TMPDIR/secrets"
if ((n_secrets == 0)); then
        not_ok "no password printed" "no password found in the corpus: the search is broken"
elif ((leaks == 0)); then
        ok "no password printed ($n_secrets passwords, $(find "$OUT" -type f | wc -l) outputs)"
else
        not_ok "no password printed" "$leaks of $n_secrets passwords leak"
fi

tap_end
