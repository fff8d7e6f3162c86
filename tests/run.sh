#!/bin/bash
# Runs every test of the project and prints one summary line that CI reads:
#   "N passed, N failed, N skipped"
# Unit tests count their cmocka cases; fuzz replays count one case per target; integration
# scripts count their "ok - ..." / "not ok - ..." lines, or one case by exit status
# (0 pass, 77 skip, anything else fail).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export KVMFORGE_IMAGE=${KVMFORGE_IMAGE:-$PWD/$BUILD/kvmforge-image}
export KVMFORGE_TOOLS=${KVMFORGE_TOOLS:-$PWD/$BUILD/tests/tools}
export ASAN_OPTIONS=${ASAN_OPTIONS:-intercept_strchr=0}
passed=0 failed=0 skipped=0
failures=()
log_dir=$BUILD/test-logs
mkdir -p "$log_dir"

count_cmocka() { # name log rc
        local p f
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]\+\) test.*/\1/p' "$2" | tail -1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]\+\) test.*/\1/p' "$2" | tail -1)
        p=${p:-0} f=${f:-0}
        if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed before its summary
        passed=$((passed + p)) failed=$((failed + f))
        if [ "$f" -ne 0 ]; then failures+=("$1"); fi
        printf '%-40s %s passed, %s failed\n' "$1" "$p" "$f"
}

for t in "$BUILD"/tests/unit/test-*; do
        [ -x "$t" ] || continue
        name=unit/$(basename "$t")
        "$t" >"$log_dir/$(basename "$t").log" 2>&1
        count_cmocka "$name" "$log_dir/$(basename "$t").log" $?
done

for t in "$BUILD"/tests/replay/fuzz-*; do
        [ -x "$t" ] || continue
        target=$(basename "$t"); target=${target#fuzz-}
        if "$t" "tests/fuzz/corpus/$target" "tests/fuzz/crashes/$target" >"$log_dir/replay-$target.log" 2>&1; then
                passed=$((passed + 1)); printf '%-40s ok (%s)\n' "fuzz-replay/$target" "$(tail -1 "$log_dir/replay-$target.log")"
        else
                failed=$((failed + 1)); failures+=("fuzz-replay/$target"); printf '%-40s FAILED\n' "fuzz-replay/$target"
        fi
done

for t in tests/integration/test-*.sh; do
        [ -x "$t" ] || continue
        name=integration/$(basename "$t" .sh)
        log=$log_dir/$(basename "$t" .sh).log
        start=$(date +%s)
        "$t" >"$log" 2>&1
        rc=$?
        secs=$(( $(date +%s) - start ))
        ok=$(grep -c '^ok - ' "$log") bad=$(grep -c '^not ok - ' "$log")
        if [ "$rc" -eq 77 ]; then
                skipped=$((skipped + 1))
                printf '%-40s skipped: %s\n' "$name" "$(grep -m1 '^SKIP' "$log" || echo 'no reason given')"
                continue
        fi
        if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
                if [ "$rc" -eq 0 ]; then ok=1; else bad=1; fi
        elif [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
                bad=1 # died after its last case
        fi
        passed=$((passed + ok)) failed=$((failed + bad))
        if [ "$bad" -ne 0 ]; then failures+=("$name"); grep '^not ok' "$log" | sed 's/^/    /'; fi
        printf '%-40s %s passed, %s failed (%ss)\n' "$name" "$ok" "$bad" "$secs"
done

if [ ${#failures[@]} -ne 0 ]; then
        echo "failed: ${failures[*]} (logs in $log_dir/)"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
