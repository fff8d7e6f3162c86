# shellcheck shell=bash
# A libvirtd for integration tests: the one already running, or one started here and stopped
# when the script exits. Source it after lib.sh and call setup_tmpdir first (its EXIT trap
# would otherwise replace ours):
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/libvirt.sh"
#   setup_tmpdir
#   start_libvirtd                      # skips unless root; virsh_q then answers
#   at_exit "libvirt_remove_domain $NAME"
#   virsh_q define dom.xml && virsh_q start "$NAME"
#   libvirt_wait_shutoff "$NAME" 120 || echo "still $LIBVIRT_DOMSTATE"
#
# Learned on Debian 12 (libvirt 9.0) without systemd as PID 1:
# - `libvirtd -d` (the monolithic daemon) serves qemu:///system alone; the modular virtqemud
#   and friends are not needed, nor is virtlockd (qemu.conf has no lock_manager set).
# - virtlogd must run before a domain starts: QEMU's stdio and <serial><log file=.../> go
#   through it (stdio_handler = "logd"), and for qemu:///system nothing spawns it on demand.
# - QEMU runs as libvirt-qemu: libvirt chowns the disk file, not its directories, so a disk in
#   a 0700 directory (mktemp -d) fails with "Permission denied" (see libvirt_share_dir).
# - Without systemd, the daemons log to nowhere: we point them at $TEST_TMPDIR/NAME.log.
# Env: LIBVIRTD_TIMEOUT (seconds to wait for the daemon, default 60).

LIBVIRT_URI=qemu:///system
# PIDs of the daemons this script started, stopped in reverse order at exit.
_LIBVIRT_STARTED=()

# at_exit CMD: runs the shell command CMD when the script exits, before the exit actions
# registered earlier (the last registered runs first). CMD's failure is ignored: under
# `set -e` a failing command in the EXIT trap would end the trap and turn the exit status to 1.
at_exit() {
        local cmd=$1 prev=
        # `trap -p` prints "trap -- 'CMD' EXIT", quoted for eval.
        eval "set -- $(trap -p EXIT)"
        [[ $# -lt 3 ]] || prev=$3
        # shellcheck disable=SC2064 # expanded now on purpose
        trap "{ $cmd; } || true; ${prev:-:}" EXIT
}

# virsh_q ARGS...: virsh on the test's connection, without the blank line after each answer.
virsh_q() {
        virsh -q -c "$LIBVIRT_URI" "$@"
}

_libvirt_sbin() {
        command -v "$1" 2>/dev/null || { [[ -x /usr/sbin/$1 ]] && echo "/usr/sbin/$1"; }
}

# Prints the PID of the running daemon NAME from its pid file in /run, or fails.
_libvirt_daemon_pid() {
        local pid
        # The daemons write the number without a newline.
        pid=$(cat "/run/$1.pid" 2>/dev/null) || return 1
        [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == "$1" ]] || return 1
        echo "$pid"
}

# _libvirt_start NAME: starts the daemon NAME with -d, logging warnings and errors to
# $TEST_TMPDIR/NAME.log (without systemd they would go nowhere), and records its PID.
_libvirt_start() {
        local name=$1 bin pid log=$TEST_TMPDIR/$1.log deadline=$((SECONDS + 10))
        bin=$(_libvirt_sbin "$name") || skip "'$name' is not installed (libvirt-daemon-system)"
        note "starting $name"
        LIBVIRT_LOG_OUTPUTS="3:file:$log" "$bin" -d ||
                fail "'$bin -d' failed: $(tail -n 5 "$log" 2>/dev/null)"
        # -d returns once the daemon has started; its pid file should be there already.
        until pid=$(_libvirt_daemon_pid "$name"); do
                ((SECONDS < deadline)) || fail "$name started but wrote no /run/$name.pid"
                sleep 0.1
        done
        _LIBVIRT_STARTED+=("$pid")
}

_libvirt_stop_started() {
        local i pid deadline
        for ((i = ${#_LIBVIRT_STARTED[@]} - 1; i >= 0; i--)); do
                pid=${_LIBVIRT_STARTED[i]}
                kill -TERM "$pid" 2>/dev/null || continue
                deadline=$((SECONDS + 15))
                while [[ -d /proc/$pid ]] && ((SECONDS < deadline)); do
                        sleep 0.1
                done
                if [[ -d /proc/$pid ]]; then
                        note "daemon $pid ignored SIGTERM, killing it"
                        kill -KILL "$pid" 2>/dev/null || true
                fi
        done
        _LIBVIRT_STARTED=()
}

# start_libvirtd: makes qemu:///system answer, with a virtlogd beside it. Reuses the daemons
# that run; starts the others and stops those (only) when the script exits. Skips unless
# root or when libvirt is not installed; fails when a started daemon does not answer.
start_libvirtd() {
        local timeout=${LIBVIRTD_TIMEOUT:-60} deadline
        [[ $(id -u) == 0 ]] || skip "libvirtd for qemu:///system needs root"
        [[ -n $TEST_TMPDIR ]] || fail "start_libvirtd: call setup_tmpdir first"
        need_cmd virsh
        at_exit _libvirt_stop_started
        if virsh_q version >/dev/null 2>&1; then
                note "using the running libvirtd"
                # Without it no domain starts ("Failed to connect socket to virtlogd-sock").
                _libvirt_daemon_pid virtlogd >/dev/null || _libvirt_start virtlogd
                return 0
        fi
        _libvirt_sbin libvirtd >/dev/null || skip "'libvirtd' is not installed (libvirt-daemon-system)"
        _libvirt_daemon_pid virtlogd >/dev/null || _libvirt_start virtlogd
        # One that runs but does not answer yet is starting up (another test's): wait for it.
        _libvirt_daemon_pid libvirtd >/dev/null || _libvirt_start libvirtd
        deadline=$((SECONDS + timeout))
        until virsh_q version >/dev/null 2>"$TEST_TMPDIR/virsh.err"; do
                if ((SECONDS >= deadline)); then
                        note "$(cat "$TEST_TMPDIR/virsh.err")"
                        note "$(tail -n 20 "$TEST_TMPDIR/libvirtd.log" 2>/dev/null)"
                        fail "libvirtd did not answer on '$LIBVIRT_URI' within $timeout s"
                fi
                sleep 0.2
        done
        note "libvirtd answers on $LIBVIRT_URI"
}

# libvirt_share_dir DIR: lets QEMU (user libvirt-qemu) reach the files in DIR, which libvirt
# chowns itself, by making DIR searchable for others. Fails if a parent directory is not.
libvirt_share_dir() {
        local d
        d=$(cd "$1" && pwd)
        chmod o+x "$d"
        while d=${d%/*} && [[ -n $d ]]; do
                [[ $(stat -c %a "$d") == *[1357] ]] ||
                        fail "QEMU (libvirt-qemu) cannot enter '$d': put the test files elsewhere"
        done
}

# libvirt_remove_domain NAME: destroys NAME if it runs, undefines it with its NVRAM and removes
# its QEMU log. Quiet and successful when there is no such domain.
libvirt_remove_domain() {
        local name=$1
        virsh_q domstate "$name" >/dev/null 2>&1 || return 0
        if [[ $(virsh_q domstate "$name" 2>/dev/null) != "shut off" ]]; then
                virsh_q destroy "$name" >/dev/null 2>&1 || true
        fi
        virsh_q undefine --nvram "$name" >/dev/null 2>&1 ||
                virsh_q undefine "$name" >/dev/null 2>&1 || true
        # QEMU's own log (command line, errors), kept by virtlogd; it would pile up.
        rm -f "/var/log/libvirt/qemu/$name.log" "/var/log/libvirt/qemu/$name.log".[0-9]* \
                "/var/log/libvirt/qemu/$name-serial0.log" # kvmforge's import logs serial 0 there
}

# libvirt_wait_shutoff NAME SECONDS: waits until NAME is "shut off"; fails after SECONDS.
# Sets LIBVIRT_DOMSTATE to the last state and its reason ("shut off (shutdown)" for a guest
# that powered off). Polls in this shell, not in $(...), so a signal is handled at once.
LIBVIRT_DOMSTATE=
libvirt_wait_shutoff() {
        local name=$1 deadline=$((SECONDS + $2))
        while :; do
                LIBVIRT_DOMSTATE=$(virsh_q domstate --reason "$name" 2>/dev/null) ||
                        LIBVIRT_DOMSTATE=unknown
                [[ $LIBVIRT_DOMSTATE != "shut off"* ]] || return 0
                ((SECONDS < deadline)) || return 1
                sleep 0.2
        done
}
