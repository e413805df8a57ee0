#!/usr/bin/env bash
# usage: util/run-fuzz.sh SECONDS FUZZER...
#
# Runs each libFuzzer binary for SECONDS with its corpus in
# build/fuzz/corpus/<name> (seeded from t/fuzz/corpus/<name> when that
# folder exists).  Crash inputs land in build/fuzz/artifacts/<name>/, the
# output in build/fuzz/<name>.log.  Exits non-zero if any fuzzer fails.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

secs=${1:?usage: run-fuzz.sh SECONDS FUZZER...}
shift

if [ $# -eq 0 ]; then
    echo "fuzz: no t/fuzz/fuzz_*.c targets yet"
    exit 0
fi

failed=0

for bin in "$@"; do
    name=$(basename "$bin")
    corpus=build/fuzz/corpus/$name
    art=build/fuzz/artifacts/$name
    seeds=t/fuzz/corpus/$name
    mkdir -p "$corpus" "$art"

    dirs=("$corpus")
    [ -d "$seeds" ] && dirs+=("$seeds")

    printf 'fuzz: %-28s %4ss ... ' "$name" "$secs"
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" "${dirs[@]}" \
        > "build/fuzz/$name.log" 2>&1
    rc=$?

    if [ $rc -eq 0 ]; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' \
               "build/fuzz/$name.log" | grep -o '[0-9]*$')
        echo "ok (${runs:-?} runs, corpus $(ls "$corpus" | wc -l))"
    else
        echo "FAILED (exit $rc), see build/fuzz/$name.log"
        grep -E 'ERROR:|runtime error:|SUMMARY:' "build/fuzz/$name.log" \
            | head -5 | sed 's/^/    /'
        failed=1
    fi
done

exit $failed
