#!/bin/bash
# kvmforge-install fetch-answer against real web servers on 127.0.0.1 (tests/tools/httpd.py):
# plain HTTP and HTTPS with a CA made here by openssl, a self-signed server, public-key pins,
# redirects (followed; https to http refused), errors that must fail at once and faults that
# must be retried (a slow server, a dropped connection, 503), SHA-256 checks, the per-host
# POST of the detect report with the identity headers, credentials kept out of every message,
# -o (mode 0600, nothing left behind on failure) and the kernel command line (--cmdline).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirt.sh" # at_exit

need_cmd python3 openssl sha256sum stat
setup_tmpdir
KI=${KVMFORGE_INSTALL:-$REPO_ROOT/build/kvmforge-install}
[[ -x $KI ]] || fail "'$KI' is not built"
HTTPD=$REPO_ROOT/tests/tools/httpd.py
T=$TEST_TMPDIR
# Requests for 127.0.0.1 must not go to a proxy from the environment.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

mkdir -p "$T/www/sub" "$T/post" "$T/medium/kvmforge" "$T/out"
printf '# answer served over http\nrootpw --iscrypted $6$abc\nnetwork --bootproto=dhcp\n' >"$T/www/ks.cfg"
printf 'lang en_US.UTF-8\n' >"$T/www/sub/other.cfg"
head -c $((1048576 + 1)) /dev/zero | tr '\0' 'a' >"$T/www/big.cfg"
printf 'text\0with a NUL\n' >"$T/www/nul.cfg"
printf '# from the medium\n' >"$T/medium/kvmforge/ks.cfg"
SUM=$(sha256sum "$T/www/ks.cfg" | cut -d' ' -f1)

# ---- TLS material: a CA and a server certificate it signs; a self-signed server ----
(
        cd "$T"
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >srv.ext
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout ca.key -out ca.pem -days 2 -subj /CN=kvmforge-test-ca \
                -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout srv.key -out srv.csr -subj /CN=127.0.0.1
        openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
                -extfile srv.ext -out srv.pem
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout self.key -out self.pem -days 2 -subj /CN=127.0.0.1 \
                -addext subjectAltName=IP:127.0.0.1
) >"$T/openssl.log" 2>&1 || fail "openssl cannot make the test certificates: $(tail -3 "$T/openssl.log")"
# curl's pin: the SHA-256 of the server's DER public key, in base64.
PIN=sha256//$(openssl x509 -in "$T/srv.pem" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | openssl enc -base64)
WRONG_PIN=sha256//$(printf 'not the key' | openssl dgst -sha256 -binary | openssl enc -base64)

# start_httpd NAME ARGS...: a server of its own logging to $T/NAME.log; sets PORT.
start_httpd() {
        local name=$1 pid
        shift
        rm -f "$T/$name.port"
        python3 "$HTTPD" --dir "$T/www" --port-file "$T/$name.port" --log "$T/$name.log" "$@" \
                2>"$T/$name.httpd.err" &
        pid=$!
        at_exit "kill $pid"
        for _ in $(seq 300); do [[ -s $T/$name.port ]] && break; sleep 0.1; done
        [[ -s $T/$name.port ]] || fail "httpd $name did not start: $(cat "$T/$name.httpd.err")"
        PORT=$(cat "$T/$name.port")
}

start_httpd plain --auth alice:s3cret-pw --log-headers
P=$PORT
start_httpd tls --tls "$T/srv.pem" "$T/srv.key"
S=$PORT
start_httpd self --tls "$T/self.pem" "$T/self.key"
SELF=$PORT
# Redirects to another server: https to plain http (refused), http to https (followed).
start_httpd down --tls "$T/srv.pem" "$T/srv.key" --redirect-to "http://127.0.0.1:$P"
DOWN=$PORT
start_httpd up --redirect-to "https://127.0.0.1:$S"
UP=$PORT
start_httpd slow --delay 5
SLOW=$PORT
start_httpd drop --drop-after 10 --drop-count 1
DROP=$PORT
start_httpd post --post-dir "$T/post" --log-headers
POST=$PORT

# fetch NAME ARGS...: runs fetch-answer; $T/NAME.out and $T/NAME.err; RC its exit status.
fetch() {
        local name=$1
        shift
        RC=0
        "$KI" fetch-answer "$@" >"$T/$name.out" 2>"$T/$name.err" || RC=$?
}

# fetch_ok NAME DESC WANT ARGS...: must exit 0 with the bytes of the file WANT on stdout.
fetch_ok() {
        local name=$1 desc=$2 want=$3
        shift 3
        fetch "$name" "$@"
        if [[ $RC -ne 0 ]]; then
                note "$desc: exit $RC: $(cat "$T/$name.err")"
                not_ok "$desc"
        elif ! cmp -s "$T/$name.out" "$want"; then
                note "$desc: the output differs from $want"
                not_ok "$desc"
        else
                ok "$desc"
        fi
}

# fetch_fails NAME DESC PATTERN ARGS...: must exit 1, print nothing on stdout, and end stderr
# with one "cannot fetch the answer" line that matches PATTERN (grep -E).
fetch_fails() {
        local name=$1 desc=$2 pattern=$3 last
        shift 3
        fetch "$name" "$@"
        last=$(tail -n 1 "$T/$name.err")
        if [[ $RC -ne 1 ]]; then
                note "$desc: exit $RC, want 1: $(cat "$T/$name.err")"
                not_ok "$desc"
        elif [[ -s $T/$name.out ]]; then
                note "$desc: something on stdout"
                not_ok "$desc"
        elif [[ $last != "kvmforge-install: cannot fetch the answer: "* ]] ||
                ! grep -q -E -- "$pattern" <<<"$last"; then
                note "$desc: the last line is: $last; want: $pattern"
                not_ok "$desc"
        elif [[ $(grep -c 'cannot fetch' "$T/$name.err") -ne 1 ]]; then
                note "$desc: more than one error line: $(cat "$T/$name.err")"
                not_ok "$desc"
        else
                ok "$desc"
        fi
}

# requests LOG PATTERN: how many request lines of the server's log match.
requests() {
        grep -c -E -- "$2" "$T/$1.log" 2>/dev/null || true
}

# ---- GET, plain and TLS ----
fetch_ok get "plain http GET: the answer's bytes on stdout" "$T/www/ks.cfg" "http://127.0.0.1:$P/ks.cfg"
grep -q "came over plain http" "$T/get.err" && ok "an answer over plain http is flagged as cleartext" ||
        not_ok "an answer over plain http is flagged as cleartext"
grep -q '^> User-Agent: kvmforge-install$' "$T/plain.log" && ok "the User-Agent is kvmforge-install" ||
        not_ok "the User-Agent is kvmforge-install"

fetch json --json "http://127.0.0.1:$P/ks.cfg"
if [[ $RC -eq 0 ]] && python3 - "$T/json.out" "$SUM" "$(stat -c %s "$T/www/ks.cfg")" "$P" <<'EOF'; then
import json, sys
j = json.load(open(sys.argv[1]))
want = {"source": "http://127.0.0.1:%s/ks.cfg" % sys.argv[4], "key": None, "cleartext": True,
        "bytes": int(sys.argv[3]), "sha256": sys.argv[2], "overrides": 0}
if j != want:
    print("# got %s, want %s" % (j, want))
sys.exit(0 if j == want else 1)
EOF
        ok "--json: source, cleartext, bytes and sha256, and never the content"
else
        not_ok "--json: source, cleartext, bytes and sha256, and never the content"
fi
! grep -q rootpw "$T/json.out" "$T/json.err" && ok "--json prints no line of the answer" ||
        not_ok "--json prints no line of the answer"

fetch_ok tls "https with the test CA given by --cacert" "$T/www/ks.cfg" --cacert "$T/ca.pem" \
        "https://127.0.0.1:$S/ks.cfg"
! grep -q "plain http" "$T/tls.err" && ok "an answer over https is not flagged as cleartext" ||
        not_ok "an answer over https is not flagged as cleartext"
fetch_fails tls-noca "https signed by an unknown CA, no --cacert: refused" \
        "'https://127.0.0.1:$S/ks.cfg': the server's certificate is not trusted" "https://127.0.0.1:$S/ks.cfg"
fetch_fails self "https with a self-signed certificate, no --cacert: refused" \
        "certificate is not trusted" "https://127.0.0.1:$SELF/ks.cfg"
fetch_fails self-ca "a self-signed server is not trusted through another CA file" \
        "certificate is not trusted \(not by the CA file given\)" --cacert "$T/ca.pem" "https://127.0.0.1:$SELF/ks.cfg"
fetch_ok self-own "a self-signed server trusted through its own certificate as --cacert" "$T/www/ks.cfg" \
        --cacert "$T/self.pem" "https://127.0.0.1:$SELF/ks.cfg"
fetch_fails noca-file "a --cacert that does not exist: a clear error" \
        "cannot read the CA file '$T/nonexistent.pem'" --cacert "$T/nonexistent.pem" "https://127.0.0.1:$S/ks.cfg"

fetch_ok pin "the right public-key pin" "$T/www/ks.cfg" --cacert "$T/ca.pem" --pin "$PIN" \
        "https://127.0.0.1:$S/ks.cfg"
fetch_fails pin-wrong "a wrong public-key pin: refused" "does not match the pin" \
        --cacert "$T/ca.pem" --pin "$WRONG_PIN" "https://127.0.0.1:$S/ks.cfg"

# ---- redirects ----
fetch_ok redirect "a redirect is followed" "$T/www/sub/other.cfg" "http://127.0.0.1:$P/redirect/sub/other.cfg"
before=$(requests plain '^GET /sub/other.cfg ')
fetch_fails https-to-http "a redirect from https to plain http is refused" \
        "redirected to 'http://127.0.0.1:$P/sub/other.cfg', which is refused" \
        --cacert "$T/ca.pem" "https://127.0.0.1:$DOWN/away/sub/other.cfg"
[[ $(requests plain '^GET /sub/other.cfg ') == "$before" ]] &&
        ok "nothing was requested over plain http after the https redirect" ||
        not_ok "nothing was requested over plain http after the https redirect"
fetch_ok http-to-https "a redirect from http to https is followed" "$T/www/sub/other.cfg" \
        --cacert "$T/ca.pem" "http://127.0.0.1:$UP/away/sub/other.cfg"
fetch json2 --json --cacert "$T/ca.pem" "http://127.0.0.1:$UP/away/sub/other.cfg"
grep -q '"cleartext": false' "$T/json2.out" &&
        ok "an answer that came over https after an http redirect is not cleartext" ||
        not_ok "an answer that came over https after an http redirect is not cleartext"
fetch_fails loop "a redirect loop stops after 5 redirects" "more than 5 redirects" \
        "http://127.0.0.1:$P/loop"

# ---- errors that are final, and faults that are retried ----
fetch_fails 404 "404 fails with the status and what to check" \
        "^kvmforge-install: cannot fetch the answer: 'http://127.0.0.1:$P/missing.cfg': HTTP 404 Not Found: .*check the URL's path" \
        --retries 3 "http://127.0.0.1:$P/missing.cfg"
[[ $(requests plain '^GET /missing.cfg ') == 1 ]] && ok "a 404 is not retried (one request)" ||
        not_ok "a 404 is not retried (one request)" "$(requests plain '^GET /missing.cfg ') requests"
fetch_fails 403 "403 says the server refuses this host" "HTTP 403 Forbidden: the server refuses this host" \
        --retries 3 "http://127.0.0.1:$P/status/403"
[[ $(requests plain '^GET /status/403 ') == 1 ]] && ok "a 403 is not retried" || not_ok "a 403 is not retried"
fetch_fails 503 "503 is retried, then fails naming the attempts" "HTTP 503 .*\(2 attempts\)" \
        --retries 1 "http://127.0.0.1:$P/status/503"
[[ $(requests plain '^GET /status/503 ') == 2 ]] && ok "a 503 is retried (two requests with --retries 1)" ||
        not_ok "a 503 is retried (two requests with --retries 1)" "$(requests plain '^GET /status/503 ')"
grep -q "^kvmforge-install: trying http://127.0.0.1:$P/status/503: attempt 1 of 2 failed: HTTP 503" "$T/503.err" &&
        ok "each failed attempt is reported as it happens" || not_ok "each failed attempt is reported as it happens"

fetch_fails slow "a server slower than --timeout: retried, then a clear message" \
        "no complete answer within 1 s.*\(2 attempts\)" --timeout 1 --retries 1 "http://127.0.0.1:$SLOW/slow/ks.cfg"
fetch_ok drop "a connection dropped on the first request: the retry gets the answer" "$T/www/ks.cfg" \
        --retries 2 "http://127.0.0.1:$DROP/ks.cfg"
[[ $(requests drop '^GET /ks.cfg ') == 2 ]] && ok "the dropped request was made again" ||
        not_ok "the dropped request was made again" "$(requests drop '^GET /ks.cfg ')"
# A port nobody listens on: the one a server had before it was stopped.
python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' >"$T/free.port"
fetch_fails refused "connection refused: retried, then 'cannot connect'" \
        "cannot connect .*\(2 attempts\)" --retries 1 "http://127.0.0.1:$(cat "$T/free.port")/ks.cfg"
fetch_fails big "an answer over 1 MiB is refused" "larger than 1048576 bytes" "http://127.0.0.1:$P/big.cfg"
fetch_fails nul "an answer holding a NUL byte is refused" "NUL byte at offset 4" "http://127.0.0.1:$P/nul.cfg"

# ---- SHA-256 ----
fetch_ok sha "--sha256 that matches (upper case)" "$T/www/ks.cfg" --sha256 "${SUM^^}" "http://127.0.0.1:$P/ks.cfg"
BAD=$(printf 'other' | sha256sum | cut -d' ' -f1)
fetch_fails sha-bad "--sha256 that does not match: both digests shown" \
        "SHA-256 is $SUM, not the expected $BAD" --sha256 "$BAD" "http://127.0.0.1:$P/ks.cfg"

# ---- credentials in the URL ----
fetch cred --json "http://alice:s3cret-pw@127.0.0.1:$P/auth/ks.cfg"
if [[ $RC -eq 0 ]] && grep -q "\"source\": \"http://127.0.0.1:$P/auth/ks.cfg\"" "$T/cred.out"; then
        ok "user:password in the URL are used, and left out of the source's name"
else
        note "exit $RC: $(cat "$T/cred.out" "$T/cred.err")"
        not_ok "user:password in the URL are used, and left out of the source's name"
fi
fetch_fails cred-wrong "a wrong password: 401 with a hint" "HTTP 401 .*user:password" \
        "http://alice:wr0ng-pw@127.0.0.1:$P/auth/ks.cfg"
fetch_fails cred-refused "credentials of an unreachable server" "cannot connect" --retries 0 \
        "http://alice:s3cret-pw@127.0.0.1:$(cat "$T/free.port")/ks.cfg"
if ! grep -q -e s3cret -e wr0ng "$T"/cred*.err "$T"/cred*.out; then
        ok "no password is ever printed"
else
        not_ok "no password is ever printed" "$(grep -h -e s3cret -e wr0ng "$T"/cred*.err)"
fi

# ---- the per-host POST and the identity headers ----
"$KI" detect --json >"$T/detect.json" || fail "detect --json failed"
read -r SERIAL MACS < <(python3 - "$T/detect.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
serial = (r.get("system") or {}).get("serial") or "-"
print(serial, " ".join("%s=%s" % (n["name"], n["mac"]) for n in r["nics"] if not n["virtual"] and n["mac"]))
EOF
)
note "this host: serial '$SERIAL', physical NICs: ${MACS:-none}"
printf '# for some other host\n' >"$T/post/OTHER-SERIAL.cfg"
printf '# for this host\nrootpw --lock\n' >"$T/post/this-host.cfg"
if [[ $SERIAL != - ]]; then
        cp "$T/post/this-host.cfg" "$T/post/$SERIAL.cfg"
else
        # No DMI serial (a container): the server picks by the first NIC's MAC instead.
        first=${MACS%% *} first=${first#*=}
        [[ -n $first ]] || skip "this host has neither a DMI serial nor a physical NIC to be known by"
        cp "$T/post/this-host.cfg" "$T/post/${first//:/-}.cfg"
fi
fetch_ok post "--post-detect: the server answers with this host's file" "$T/post/this-host.cfg" \
        --post-detect "http://127.0.0.1:$POST/ks"
grep -q '^POST /ks 200 ' "$T/post.log" && grep -q '^> Content-Type: application/json$' "$T/post.log" &&
        ok "the report went as a POST of application/json" ||
        not_ok "the report went as a POST of application/json"
bad=
i=0
for m in $MACS; do
        grep -q "^> X-RHN-Provisioning-MAC-$i: ${m%%=*} ${m#*=}\$" "$T/post.log" || bad+=" MAC-$i"
        i=$((i + 1))
done
grep -q "^> X-RHN-Provisioning-MAC-$i:" "$T/post.log" && bad+=" an extra MAC-$i"
[[ -z $bad ]] && ok "one X-RHN-Provisioning-MAC-N header per physical NIC ($i)" ||
        not_ok "one X-RHN-Provisioning-MAC-N header per physical NIC ($i)" "$bad"
if [[ $SERIAL != - ]]; then
        grep -q "^> X-System-Serial-Number: $SERIAL\$" "$T/post.log" &&
                ok "X-System-Serial-Number carries the DMI serial" ||
                not_ok "X-System-Serial-Number carries the DMI serial"
else
        ! grep -q "^> X-System-Serial-Number:" "$T/post.log" &&
                ok "no X-System-Serial-Number when the firmware gives no serial" ||
                not_ok "no X-System-Serial-Number when the firmware gives no serial"
fi
printf 'kvmforge.answer=http://127.0.0.1:%s/ks kvmforge.answer.post=1\n' "$POST" >"$T/cmdline"
fetch_ok post-cmdline "kvmforge.answer.post=1 POSTs the report too" "$T/post/this-host.cfg" --cmdline "$T/cmdline"
rm -f "$T/post/this-host.cfg" "$T/post/$SERIAL.cfg" "$T/post/"*-*-*-*-*-*.cfg
fetch_fails post-none "a POST for a host the server does not know: 404" "HTTP 404" \
        --post-detect "http://127.0.0.1:$POST/ks"

# ---- -o FILE ----
fetch out -o "$T/out/answer.cfg" "http://127.0.0.1:$P/ks.cfg"
if [[ $RC -eq 0 && ! -s $T/out.out ]] && cmp -s "$T/out/answer.cfg" "$T/www/ks.cfg" &&
        [[ $(stat -c %a "$T/out/answer.cfg") == 600 ]]; then
        ok "-o writes the answer with mode 0600 (and nothing on stdout)"
else
        not_ok "-o writes the answer with mode 0600 (and nothing on stdout)" "exit $RC, mode $(stat -c %a "$T/out/answer.cfg" 2>&1)"
fi
cp "$T/www/sub/other.cfg" "$T/out/answer.cfg"
fetch_fails out-fail "-o with a source that fails" "HTTP 404" -o "$T/out/answer.cfg" \
        "http://127.0.0.1:$P/missing.cfg"
if cmp -s "$T/out/answer.cfg" "$T/www/sub/other.cfg" && [[ $(ls -A "$T/out") == answer.cfg ]]; then
        ok "a failed fetch leaves the old -o FILE as it was and no temporary file"
else
        not_ok "a failed fetch leaves the old -o FILE as it was and no temporary file" "$(ls -A "$T/out")"
fi
: >"$T/plain.log"
fetch out-nodir -o "$T/nodir/answer.cfg" "http://127.0.0.1:$P/ks.cfg"
if [[ $RC -eq 1 && $(cat "$T/out-nodir.err") == "kvmforge-install: cannot create a file in '$T/nodir'"* ]] &&
        [[ $(requests plain '^GET ') == 0 ]]; then
        ok "-o in a directory that does not exist fails before anything is fetched"
else
        not_ok "-o in a directory that does not exist fails before anything is fetched" "exit $RC: $(cat "$T/out-nodir.err")"
fi

# ---- the kernel command line ----
printf 'BOOT_IMAGE=/vmlinuz ro quiet kvmforge.answer=http://127.0.0.1:%s/ks.cfg\n' "$P" >"$T/cmdline"
: >"$T/plain.log"
fetch_ok cmdline "--cmdline FILE with kvmforge.answer=URL" "$T/www/ks.cfg" --cmdline "$T/cmdline"
grep -q "^> X-RHN-Provisioning-MAC-0: " "$T/plain.log" || [[ -z $MACS ]] &&
        ok "kvmforge.answer= sends the identity headers" || not_ok "kvmforge.answer= sends the identity headers"
grep -q "^kvmforge-install: trying http://127.0.0.1:$P/ks.cfg: found, " "$T/cmdline.err" &&
        ok "the source tried is reported on stderr" || not_ok "the source tried is reported on stderr"

printf 'ks=http://127.0.0.1:%s/missing.cfg inst.ks=http://127.0.0.1:%s/sub/other.cfg\n' "$P" "$P" >"$T/cmdline"
: >"$T/plain.log"
fetch_ok cmdline-ks "inst.ks= wins over ks=" "$T/www/sub/other.cfg" --cmdline "$T/cmdline"
! grep -q "^> X-RHN-Provisioning-MAC" "$T/plain.log" &&
        ok "inst.ks= without inst.ks.sendmac sends no MAC header" ||
        not_ok "inst.ks= without inst.ks.sendmac sends no MAC header"

printf 'inst.ks=http://127.0.0.1:%s/missing.cfg kvmforge.answer.retries=0\n' "$P" >"$T/cmdline"
fetch_fails cmdline-404 "a failing command-line source is final, naming the key" \
        "'http://127.0.0.1:$P/missing.cfg' \(from inst.ks=\): HTTP 404" --cmdline "$T/cmdline" --medium "$T/medium"

printf 'kvmforge.answer=http://127.0.0.1:%s/ks.cfg kvmforge.answer.sha256=%s\n' "$P" "$BAD" >"$T/cmdline"
fetch_fails cmdline-sha "kvmforge.answer.sha256= is checked" "not the expected $BAD" --cmdline "$T/cmdline"
fetch_ok cmdline-sha-cli "--sha256 wins over kvmforge.answer.sha256=" "$T/www/ks.cfg" --cmdline "$T/cmdline" --sha256 "$SUM"

printf 'kvmforge.answer=https://127.0.0.1:%s/ks.cfg kvmforge.answer.cacert=%s kvmforge.answer.pin=%s\n' \
        "$S" "$T/ca.pem" "$PIN" >"$T/cmdline"
fetch_ok cmdline-tls "kvmforge.answer.cacert= and .pin= from the command line" "$T/www/ks.cfg" --cmdline "$T/cmdline"
printf 'kvmforge.answer=https://127.0.0.1:%s/ks.cfg kvmforge.answer.cacert=%s kvmforge.answer.pin=%s\n' \
        "$S" "$T/ca.pem" "$WRONG_PIN" >"$T/cmdline"
fetch_fails cmdline-pin "a wrong kvmforge.answer.pin= is refused" "does not match the pin" --cmdline "$T/cmdline"

printf 'quiet kvmforge.answer.sha256=xyz\n' >"$T/cmdline"
fetch_fails cmdline-bad "a bad value on the command line names the key" "kvmforge.answer.sha256= wants" \
        --cmdline "$T/cmdline"

printf 'quiet\n' >"$T/cmdline"
fetch_ok medium "no source on the command line: kvmforge/ks.cfg on the install medium" \
        "$T/medium/kvmforge/ks.cfg" --cmdline "$T/cmdline" --medium "$T/medium"
grep -q "^kvmforge-install: trying cdrom:/kvmforge/ks.cfg: found" "$T/medium.err" &&
        ok "the medium is reported as the source found" || not_ok "the medium is reported as the source found"

# ---- usage ----
rc=0
"$KI" fetch-answer --retries many "http://127.0.0.1:$P/ks.cfg" >/dev/null 2>"$T/usage.err" || rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--help" "$T/usage.err" && ok "bad usage: exit 2 and a pointer to --help" ||
        not_ok "bad usage: exit 2 and a pointer to --help" "exit $rc"
"$KI" fetch-answer --help | grep -q "hd:LABEL=X:/path" && ok "--help lists the kinds of source" ||
        not_ok "--help lists the kinds of source"

tap_end
