#!/usr/bin/env bash
#
# sign-callgrind.sh BINARY [N]: runs t/bench/sign_bench.c (built as
# BINARY) under callgrind and prints the instructions of one DynamoDB
# signature and one x-amz-crc32 check (inclusive costs divided by N;
# the first signature, which derives the key, is in the average) and
# the calls of CRYPTO_malloc seen by callgrind.  The profile is kept in
# $SIGN_BENCH_OUT (default: a temporary folder, removed).

set -euo pipefail

bin=$1
n=${2:-10000}

if [ -n "${SIGN_BENCH_OUT:-}" ]; then
    out=$SIGN_BENCH_OUT
    mkdir -p "$out"
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi

if ! valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
        "$bin" "$n" > "$out/stdout" 2> "$out/stderr"
then
    cat "$out/stdout" "$out/stderr" >&2
    exit 1
fi

cat "$out/stdout"

callgrind_annotate --inclusive=yes "$out/callgrind.out" \
    > "$out/inclusive.txt" 2>/dev/null
callgrind_annotate --inclusive=yes --tree=caller "$out/callgrind.out" \
    > "$out/tree.txt" 2>/dev/null

awk -v n="$n" '
    function cost(s) { gsub(",", "", s); return s + 0 }
    / PROGRAM TOTALS/          { total = cost($1) }
    /:zae_sigv4_sign_dynamodb \[/   { sign = cost($1) }
    /:zae_http_resp_check_crc32 \[/ { crc = cost($1) }
    END {
        printf "instructions: %d in all\n", total
        printf "  per signature (zae_sigv4_sign_dynamodb): %.0f\n", sign / n
        printf "  per crc check (zae_http_resp_check_crc32, 700 bytes): " \
               "%.0f\n", crc / n
    }' "$out/inclusive.txt"

# the callers of CRYPTO_malloc: "< caller (Nx)" lines above its "*" line
awk -v n="$n" '
    /^ *[0-9,]+ \([ 0-9.]+%\)  < / {
        if (match($0, /\(([0-9,]+)x\)/)) {
            s = substr($0, RSTART + 1, RLENGTH - 3); gsub(",", "", s)
            pending += s
        }
        next
    }
    /\*  .*:CRYPTO_malloc / { calls = pending; found = 1 }
    { pending = 0 }
    END { printf "CRYPTO_malloc calls: %d in all (%.2f per signature)\n",
                 calls, calls / n }' "$out/tree.txt"
