#!/bin/bash
#
# Instructions per byte of the LLM readers under callgrind (only
# zae_llm_request_feed and zae_llm_answer_feed, inclusive), on the
# bodies t/bench/llm_bench.c builds:
#
#   t/bench/llm_callgrind.sh [build/bench/llm_bench] [ROUNDS]
#
# Goals (issue 12): <= 5 per byte for a 1 MB chat body, <= 10 per byte
# for a 64 KB SSE stream.

set -e

bin=${1:-build/bench/llm_bench}
rounds=${2:-10}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() {
    local what=$1 fn=$2 piece=$3

    valgrind --tool=callgrind --toggle-collect="$fn" \
        --callgrind-out-file="$out/cg" "$bin" "$what" "$rounds" "$piece" \
        > "$out/stdout" 2> "$out/log"

    ir=$(sed -n 's/^summary: //p' "$out/cg")
    bytes=$(sed -n 's/^[a-z-]*: \([0-9]*\) bytes.*/\1/p' "$out/stdout")
    awk -v w="$what" -v p="$piece" -v ir="$ir" -v b="$bytes" -v r="$rounds" \
        'BEGIN { printf "%-16s pieces %6d: %6.2f instructions per byte " \
                 "(%d over %d x %d bytes)\n", w, p, ir / (b * r), ir, r, b }'
}

run request zae_llm_request_feed 8192
run request zae_llm_request_feed 1048576
run request-cjk zae_llm_request_feed 8192
run usage zae_llm_answer_feed 8192
run usage zae_llm_answer_feed 1460
run usage-anthropic zae_llm_answer_feed 8192
run usage-json zae_llm_answer_feed 8192
