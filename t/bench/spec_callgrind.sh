#!/bin/bash
#
# Instructions per speculative UpdateItem body (zae_proto_spec_request,
# inclusive) under callgrind, for one limit and for two:
#
#   t/bench/spec_callgrind.sh [build/bench/spec_body] [COUNT]

set -e

bin=${1:-build/bench/spec_body}
count=${2:-10000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() {
    local what=$1; shift

    valgrind --tool=callgrind --toggle-collect=zae_proto_spec_request \
        --callgrind-out-file="$out/cg" "$bin" -r "$count" \
        zae-limiter szXjZ6M1yVc key-1 gpt-4 "$@" >/dev/null 2>"$out/log"

    ir=$(sed -n 's/^summary: //p' "$out/cg")
    echo "$what: $((ir / count)) instructions per request ($ir / $count)"
}

run "one limit (rpm:1)" rpm:1
run "two limits (rpm:1 tpm:500)" rpm:1 tpm:500
