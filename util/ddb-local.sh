#!/usr/bin/env bash
# usage: util/ddb-local.sh start DIR [PORT]  -> prints http://127.0.0.1:PORT
#        util/ddb-local.sh stop DIR
#
# One in-memory DynamoDB Local (-sharedDb, -Xmx512m) on a free port.
# DIR keeps ddb.pid, ddb.port and ddb.log.  `start` returns once the
# server answers an HTTP request (or fails after 60 s); `stop` stops it
# by its pid and waits for it to exit.
#
# Note: DynamoDB Local has no bind option and listens on *:PORT.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${ZAE_CACHE:-$top/.cache}
emu="$cache/dynamodb-local/emulator"
cmd=${1:?usage: ddb-local.sh start|stop DIR [PORT]}
dir=${2:?usage: ddb-local.sh start|stop DIR [PORT]}

stop() {
    local pid i
    [ -f "$dir/ddb.pid" ] || return 0
    pid=$(cat "$dir/ddb.pid")
    rm -f "$dir/ddb.pid"
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

case $cmd in
stop)
    stop
    ;;
start)
    if [ ! -f "$emu/DynamoDBLocal.jar" ]; then
        echo "ddb-local: $emu/DynamoDBLocal.jar missing (make deps)" >&2
        exit 1
    fi
    mkdir -p "$dir"
    port=${3:-$("$top/util/free-port")}
    (
        cd "$emu"
        exec java -Xmx512m -Djava.library.path=./DynamoDBLocal_lib \
            -jar DynamoDBLocal.jar -inMemory -sharedDb -port "$port" \
            -disableTelemetry
    ) > "$dir/ddb.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$dir/ddb.pid"
    echo "$port" > "$dir/ddb.port"
    for i in $(seq 600); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "ddb-local: DynamoDB Local exited, see $dir/ddb.log" >&2
            cat "$dir/ddb.log" >&2
            rm -f "$dir/ddb.pid"
            exit 1
        fi
        if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
            echo "http://127.0.0.1:$port"
            exit 0
        fi
        sleep 0.1
    done
    echo "ddb-local: no answer on port $port after 60 s" >&2
    stop
    exit 1
    ;;
*)
    echo "usage: ddb-local.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
