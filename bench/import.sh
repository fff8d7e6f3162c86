#!/bin/bash
# Times `kvmforge-image import` of an OVA served over HTTP on 127.0.0.1 against the route
# people take without it, on the same input, in one run:
#   kvmforge:      kvmforge-image import --dest DIR --bridge BR --name NAME URL
#                  (streams the OVA: hashes and converts the disk as it arrives, defines the
#                  libvirt domain; writes only the qcow2)
#   curl+tar:      curl -o x.ova, tar -xf x.ova, qemu-img convert -O qcow2 the VMDK
#                  (the archive is written to disk, then the VMDK extracted from it)
#   curl|tar:      curl | tar -x, qemu-img convert -O qcow2 the VMDK
#                  (no archive file, but the VMDK is still extracted)
# The OVA is made the way ESXi's ovftool lays it out (descriptor, SHA256 manifest, then a
# VMware-style streamOptimized VMDK) from a 4 GiB raw disk holding an ext4 with 1.3 GiB of
# real files from /usr, and served by nginx (tests/tools/httpd.py if nginx is not there).
# Each route runs RUNS times, the order rotating from run to run; every output is deleted and
# `sync` run before each run. Times are wall seconds, and seconds including a `sync` after the
# command (kvmforge fdatasyncs its output, qemu-img does not). The first kvmforge output is
# checked with `qemu-img compare`, and after every kvmforge run the output directory must hold
# the one qcow2 and nothing else, and the bytes kvmforge sent to storage (getrusage's
# ru_oublock, via /usr/bin/time %O) must be too few to include the archive.
# Prints the commands and a table of medians and kvmforge's peak RSS (/usr/bin/time %M).
#
# Needs root (libvirtd on qemu:///system, a bridge of its own). Installs curl, nginx-light,
# qemu-utils, tar and time with apt-get when missing.
#
# Env: RUNS (default 5), KVMFORGE_IMAGE, KVMFORGE_BENCH_DIR (default /var/tmp/kvmforge-bench:
#      the OVA is kept there between runs, and the outputs are written there),
#      KVMFORGE_TEST_CACHE (raw image cache), BENCH_DATA_MIB (default 1280), BENCH_SIZE (bytes,
#      default 4 GiB), BENCH_HTTPD=nginx|python (default nginx; python: tests/tools/httpd.py).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/integration/libvirt.sh
. "$(dirname "$0")/../tests/integration/libvirt.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/integration/ova.sh
. "$(dirname "$0")/../tests/integration/ova.sh"

RUNS=${RUNS:-5}
DATA_MIB=${BENCH_DATA_MIB:-1280}
SIZE=${BENCH_SIZE:-$((4 << 30))}
BENCH_DIR=${KVMFORGE_BENCH_DIR:-/var/tmp/kvmforge-bench}
HTTPD=${BENCH_HTTPD:-nginx}
# Bump when the OVA recipe below changes (make_ova's and the VMDK writer's sources are part
# of the key already).
OVA_BENCH_VERSION=1
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || fail "RUNS must be a positive integer"
[[ $HTTPD == nginx || $HTTPD == python ]] || fail "BENCH_HTTPD must be nginx or python"
((EUID == 0)) || skip "needs root (libvirtd on qemu:///system, a bridge)"

# need_pkg CMD PACKAGE: installs PACKAGE when CMD is missing; returns 1 if that fails.
need_pkg() {
        [[ -x $1 ]] || command -v "$1" >/dev/null 2>&1 && return 0
        note "installing the '$2' package"
        apt-get install -y -q "$2" >/dev/null 2>&1 ||
                { apt-get update -q >/dev/null && apt-get install -y -q "$2" >/dev/null; } ||
                return 1
}
need_pkg /usr/bin/time time || skip "cannot install the 'time' package"
need_pkg curl curl || skip "cannot install the 'curl' package"
need_pkg qemu-img qemu-utils || skip "cannot install the 'qemu-utils' package"
need_pkg tar tar || skip "cannot install the 'tar' package"
HTTPD_NOTE=
if [[ $HTTPD == nginx ]] && ! need_pkg /usr/sbin/nginx nginx-light; then
        HTTPD=python
        HTTPD_NOTE="nginx is missing and could not be installed, "
fi
need_cmd qemu-img mkfs.ext4 openssl awk sort sync ip virsh
[[ $HTTPD == nginx ]] || need_cmd python3

setup_tmpdir
start_libvirtd
KVMFORGE=$(kvmforge_image_path)
[[ -x $KVMFORGE ]] || fail "'$KVMFORGE' is not built (or set KVMFORGE_IMAGE)"

# ---- the input: built once per recipe, then reused ----
KEY=$(cat "$LIB_DIR/ova.sh" "$REPO_ROOT/tests/tools/mkvmdk-vmware-stream.c" | sha256sum |
        cut -c1-8)
IN=$BENCH_DIR/ova-v$OVA_BENCH_VERSION-fs$FS_IMAGE_VERSION-$SIZE-${DATA_MIB}m-$KEY
OVA=$IN/bench.ova
BUILD_NOTE="cached"
mkdir -p "$BENCH_DIR"
if [[ ! -f $IN/done ]]; then
        t0=$SECONDS
        tmp=$IN.tmp.$$
        at_exit "rm -rf '$tmp'"
        rm -rf "$tmp"
        mkdir -p "$tmp"
        make_fs_image "$tmp/disk.raw" "$SIZE" "$DATA_MIB"
        note "building the OVA (VMware-style streamOptimized VMDK: single-threaded deflate," \
                "takes a few minutes)"
        make_ova "$tmp/bench.ova" bench "$tmp/disk.raw"
        touch "$tmp/done"
        # Another run may have finished first: then its input is as good as ours.
        mv -T "$tmp" "$IN" 2>/dev/null || [[ -f $IN/done ]] || fail "cannot rename $tmp to $IN"
        rm -rf "$tmp"
        BUILD_NOTE="built in $((SECONDS - t0)) s"
fi
# The web server's workers run as nobody.
chmod a+rx "$IN"
chmod a+r "$OVA"
OVA_SIZE=$(stat -c %s "$OVA")

# ---- the web server ----
start_nginx() {
        local conf=$TEST_TMPDIR/nginx/nginx.conf port
        mkdir -p "$TEST_TMPDIR/nginx"
        for _ in 1 2 3 4 5 6 7 8 9 10; do # a random port may be taken
                port=$((20000 + RANDOM % 40000))
                cat >"$conf" <<EOF
daemon on;
pid $TEST_TMPDIR/nginx/nginx.pid;
worker_processes 1;
error_log $TEST_TMPDIR/nginx/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path $TEST_TMPDIR/nginx/body;
    proxy_temp_path $TEST_TMPDIR/nginx/proxy;
    fastcgi_temp_path $TEST_TMPDIR/nginx/fastcgi;
    uwsgi_temp_path $TEST_TMPDIR/nginx/uwsgi;
    scgi_temp_path $TEST_TMPDIR/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        root $IN;
    }
}
EOF
                # -e: the log before the configuration is read (the default is /var/log/nginx).
                if /usr/sbin/nginx -p "$TEST_TMPDIR/nginx" -c "$conf" \
                        -e "$TEST_TMPDIR/nginx/error.log" 2>"$TEST_TMPDIR/nginx/start.err"; then
                        NGINX_PID=$(cat "$TEST_TMPDIR/nginx/nginx.pid")
                        at_exit "stop_pid $NGINX_PID"
                        PORT=$port
                        return 0
                fi
                grep -q "Address already in use" "$TEST_TMPDIR/nginx/start.err" \
                        "$TEST_TMPDIR/nginx/error.log" 2>/dev/null || break
        done
        note "nginx did not start: $(cat "$TEST_TMPDIR/nginx/start.err" \
                "$TEST_TMPDIR/nginx/error.log" 2>/dev/null | tail -n 3)"
        return 1
}

start_python_httpd() {
        local pf=$TEST_TMPDIR/httpd.port deadline=$((SECONDS + 20))
        python3 "$REPO_ROOT/tests/tools/httpd.py" --dir "$IN" --port-file "$pf" \
                </dev/null >/dev/null 2>"$TEST_TMPDIR/httpd.err" &
        HTTPD_PID=$!
        at_exit "stop_pid $HTTPD_PID"
        until [[ -s $pf ]]; do
                [[ -d /proc/$HTTPD_PID ]] || fail "httpd.py died: $(cat "$TEST_TMPDIR/httpd.err")"
                ((SECONDS < deadline)) || fail "httpd.py wrote no port within 20 s"
                sleep 0.1
        done
        PORT=$(cat "$pf")
}

# stop_pid PID: SIGTERM, then wait for it to go (nginx's master takes its workers along).
stop_pid() {
        local pid=$1 deadline=$((SECONDS + 10))
        kill -TERM "$pid" 2>/dev/null || return 0
        while [[ -d /proc/$pid ]] && ((SECONDS < deadline)); do sleep 0.1; done
        [[ ! -d /proc/$pid ]] || kill -KILL "$pid" 2>/dev/null || true
}

SERVER=
if [[ $HTTPD == nginx ]]; then
        if start_nginx; then
                SERVER="nginx $(/usr/sbin/nginx -v 2>&1 | sed 's/.*nginx\///') (sendfile)"
        else
                HTTPD_NOTE="nginx did not start, "
        fi
fi
if [[ -z $SERVER ]]; then
        start_python_httpd
        SERVER="tests/tools/httpd.py"
        [[ -z $HTTPD_NOTE ]] || SERVER="${HTTPD_NOTE}falling back to $SERVER"
        note "web server: $SERVER"
fi
URL=http://127.0.0.1:$PORT/bench.ova
curl -sfI "$URL" >/dev/null || fail "the web server does not answer $URL"

# ---- libvirt: a bridge and a domain name of our own; the outputs beside the input ----
BRIDGE=kvmfb$$
BRIDGE=${BRIDGE:0:15}
ip link add "$BRIDGE" type bridge || skip "cannot create a bridge (no CAP_NET_ADMIN?)"
at_exit "ip link del $BRIDGE"
NAME=kvmforge-bench-$$
at_exit "libvirt_remove_domain $NAME"
OUT=$BENCH_DIR/import-out.$$
mkdir -p "$OUT"
at_exit "rm -rf '$OUT'"
libvirt_share_dir "$OUT"
QCOW2=$OUT/$NAME-disk1.qcow2

# The three routes, each one shell command so /usr/bin/time sees the whole pipeline.
# shellcheck disable=SC2016 # expanded by the inner bash
TAR_SH='curl -sf "$1" -o "$2/x.ova" && mkdir "$2/x" && tar -xf "$2/x.ova" -C "$2/x" &&
        qemu-img convert -O qcow2 "$2"/x/*.vmdk "$2/out.qcow2"'
# shellcheck disable=SC2016
PIPE_SH='set -o pipefail; mkdir "$2/x" && curl -sf "$1" | tar -x -C "$2/x" &&
        qemu-img convert -O qcow2 "$2"/x/*.vmdk "$2/out.qcow2"'
kcmd=("$KVMFORGE" import --dest "$OUT" --bridge "$BRIDGE" --name "$NAME" "$URL")
tcmd=(bash -c "$TAR_SH" _ "$URL" "$OUT")
pcmd=(bash -c "$PIPE_SH" _ "$URL" "$OUT")

# Prints the median of the numbers on stdin.
median() {
        sort -g | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print "nan"; exit }
                if (NR % 2) printf "%.2f\n", v[(NR + 1) / 2]
                else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Empties the output directory (and undefines the domain), then syncs.
clean_out() {
        libvirt_remove_domain "$NAME"
        find "$OUT" -mindepth 1 -delete
        sync
}

# run TOOL LOG CMD...: runs CMD once under /usr/bin/time, then sync, and appends
# "SECONDS SECONDS_WITH_SYNC RSS_KIB WRITTEN_KIB" to LOG; the old outputs are deleted and
# synced first.
run() {
        local tool=$1 log=$2 t0 t1 t2 rc=0
        shift 2
        clean_out
        t0=$(date +%s%N)
        /usr/bin/time -f '%M %O' -o "$TEST_TMPDIR/rss" "$@" >/dev/null 2>"$TEST_TMPDIR/err" ||
                rc=$?
        t1=$(date +%s%N)
        sync
        t2=$(date +%s%N)
        if ((rc != 0)); then
                echo "# $tool failed (exit $rc): $(grep -v '^Command exited' "$TEST_TMPDIR/err" |
                        head -n 1)" >&2
                echo "fail fail fail fail" >>"$log"
        else
                echo "$(((t1 - t0) / 1000000)) $(((t2 - t0) / 1000000))" \
                        "$(tail -n 1 "$TEST_TMPDIR/rss")" |
                        awk '{ printf "%.3f %.3f %d %d\n", $1 / 1000, $2 / 1000, $3, $4 / 2 }' \
                                >>"$log"
        fi
        return "$rc"
}

# After a kvmforge run: the output directory holds the qcow2 alone, and kvmforge wrote fewer
# bytes than the qcow2 plus half the archive (a copy of the archive or of the VMDK would not
# fit). Sets VERDICT on a failure.
check_kvmforge_output() {
        local first=$1 files written alloc
        files=$(cd "$OUT" && find . -mindepth 1 -printf '%P\n' | sort | tr '\n' ' ')
        if [[ $files != "$NAME-disk1.qcow2 " ]]; then
                note "kvmforge left in $OUT: $files"
                VERDICT+=" (OUTPUT DIR HOLDS: $files)"
                return
        fi
        written=$(tail -n 1 "$KLOG" | cut -d' ' -f4)
        alloc=$(stat -c '%b %B' "$QCOW2" | awk '{ printf "%d", $1 * $2 / 1024 }')
        if ((written > alloc + OVA_SIZE / 2048)); then
                note "kvmforge wrote $((written / 1024)) MiB for a $((alloc / 1024)) MiB qcow2"
                VERDICT+=" (WROTE $((written / 1024)) MiB)"
        fi
        if ((first)) && ! qemu-img compare -q -f raw -F qcow2 "$IN/disk.raw" "$QCOW2" \
                2>/dev/null; then
                VERDICT+=" (OUTPUT DIFFERS)"
        fi
}

echo "# $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "qemu-img $(qemu-img --version | sed -n '1s/^qemu-img version \([^ ]*\).*/\1/p')," \
        "$(curl --version | head -n 1 | cut -d' ' -f1-2), kvmforge $(git -C "$REPO_ROOT" \
        describe --always --dirty 2>/dev/null || echo unknown), $RUNS runs each, page cache warm"
echo "# input ($BUILD_NOTE): $OVA"
tar -tvf "$OVA" | awk '{ printf "#   %-20s %11d bytes\n", $6, $3 }'
stat -c '%s %b %B' "$IN/disk.raw" | awk '{ printf "#   from disk.raw: %d MiB, %d MiB allocated\n",
        $1 / 1048576, $2 * $3 / 1048576 }'
echo "# served by $SERVER at $URL; outputs in $OUT"
echo "# kvmforge:  ${kcmd[*]}"
for sh in "curl+tar:$TAR_SH" "curl|tar:$PIPE_SH"; do
        # shellcheck disable=SC2016 # the literal $1
        sh=${sh//'$1'/$URL}
        # shellcheck disable=SC2016
        sh=${sh//'$2'/$OUT}
        printf '# %-10s %s\n' "${sh%%:*}:" "$(echo "${sh#*:}" | tr -s ' \n' ' ')"
done
echo "# times are medians of wall seconds; '+sync' adds the sync after the command" \
        "(qemu-img does not flush its output); ratios are route / kvmforge"

KLOG=$TEST_TMPDIR/kvmforge TLOG=$TEST_TMPDIR/curl-tar PLOG=$TEST_TMPDIR/curl-pipe
: >"$KLOG"
: >"$TLOG"
: >"$PLOG"
VERDICT=
cat "$OVA" >/dev/null # the first run should not be the only one reading the disk
ROUTES=(k t p)
for ((i = 1; i <= RUNS; i++)); do
        for ((j = 0; j < 3; j++)); do
                case ${ROUTES[(i - 1 + j) % 3]} in
                k)
                        if run kvmforge "$KLOG" "${kcmd[@]}"; then
                                check_kvmforge_output $((i == 1))
                        fi
                        ;;
                t) run curl+tar "$TLOG" "${tcmd[@]}" || true ;;
                p) run "curl|tar" "$PLOG" "${pcmd[@]}" || true ;;
                esac
        done
        clean_out
        note "run $i/$RUNS: kvmforge $(tail -n 1 "$KLOG" | cut -d' ' -f1) s," \
                "curl+tar $(tail -n 1 "$TLOG" | cut -d' ' -f1) s," \
                "curl|tar $(tail -n 1 "$PLOG" | cut -d' ' -f1) s"
done

col() { # LOG FIELD: the median of FIELD over the runs that succeeded
        grep -v fail "$1" | cut -d' ' -f"$2" | median
}
ratio() {
        awk -v k="$1" -v q="$2" 'BEGIN {
                if (k + 0 > 0 && q + 0 > 0) printf "%.2f", q / k; else print "n/a" }'
}
kmed=$(col "$KLOG" 1) tmed=$(col "$TLOG" 1) pmed=$(col "$PLOG" 1)
ksync=$(col "$KLOG" 2) tsync=$(col "$TLOG" 2) psync=$(col "$PLOG" 2)
krss=$(grep -v fail "$KLOG" | awk '$3 > m { m = $3 } END { printf "%.0f", m / 1024 }')
for log in "$KLOG" "$TLOG" "$PLOG"; do
        grep -q fail "$log" && VERDICT+=" (${log##*/} FAILED $(grep -c fail "$log")x)"
done
echo "# MiB written to storage per run (median of ru_oublock; the archive is $((OVA_SIZE >> 20))" \
        "MiB): kvmforge $(col "$KLOG" 4 | awk '{ printf "%.0f", $1 / 1024 }')," \
        "curl+tar $(col "$TLOG" 4 | awk '{ printf "%.0f", $1 / 1024 }')," \
        "curl|tar $(col "$PLOG" 4 | awk '{ printf "%.0f", $1 / 1024 }')"

echo
FMT='%-15s %10s %10s %6s %10s %6s %11s %11s %6s %11s %6s %13s%s\n'
# shellcheck disable=SC2059 # one format for header and rows
printf "$FMT" case "kvmforge s" "curl+tar s" ratio "curl|tar s" ratio "kvmf+sync s" \
        "c+tar+sync s" ratio "c|tar+sync s" ratio "kvmf RSS MiB" ""
# shellcheck disable=SC2059
printf "$FMT" "OVA/HTTP->qcow2" "$kmed" "$tmed" "$(ratio "$kmed" "$tmed")" "$pmed" \
        "$(ratio "$kmed" "$pmed")" "$ksync" "$tsync" "$(ratio "$ksync" "$tsync")" "$psync" \
        "$(ratio "$ksync" "$psync")" "$krss" "${VERDICT:+ $VERDICT}"
