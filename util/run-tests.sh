#!/usr/bin/env bash
# usage: util/run-tests.sh [--asan] --module SO --unit DIR [--admin BIN]
#                          [--vectors DIR] [prove options or test files...]
#
# Runs the whole suite in ONE prove invocation: the C unit test binaries
# in DIR (through thin generated .t wrappers), the SigV4 vector runner,
# the integration tests t/*.t and the admin tests t/admin/*.t, against
# one DynamoDB Local started here and stopped by pid on any exit.
# Test files given on the command line replace the default list.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

asan=
module=
unit=
admin=build/zae-admin
vectors=t/data/sigv4
prove_args=()
files=()

while [ $# -gt 0 ]; do
    case $1 in
    --asan)    asan=1 ;;
    --module)  module=$2; shift ;;
    --unit)    unit=$2; shift ;;
    --admin)   admin=$2; shift ;;
    --vectors) vectors=$2; shift ;;
    -*)        prove_args+=("$1") ;;
    *)         files+=("$1") ;;
    esac
    shift
done

# one folder per run: several runs may share this work tree at once
base=build/test-run${asan:+-asan}
for d in "$base"/[0-9]*; do
    [ -d "$d" ] || continue
    if ! kill -0 "${d##*/}" 2>/dev/null; then
        "$top/util/ddb-local.sh" stop "$d/ddb" 2>/dev/null || true
        rm -rf "$d"
    fi
done
run=$base/$$
mkdir -p "$run/wrap"
ln -sfn "$$" "$base/last"

rc=1
cleanup() {
    "$top/util/ddb-local.sh" stop "$run/ddb" || true
    if [ "$rc" = 0 ] && [ -z "${TEST_ZAE_KEEP:-}" ]; then
        rm -rf "$run"
    else
        echo "run-tests: logs kept in $run"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s)
endpoint=$("$top/util/ddb-local.sh" start "$run/ddb")
echo "run-tests: DynamoDB Local at $endpoint ($(($(date +%s) - t0)) s)"

export TEST_NGINX_DDB_ENDPOINT=$endpoint
module=${module:-build/modules/ngx_http_zae_limit_module.so}
export TEST_NGINX_MODULE=$top/$module
export TEST_NGINX_ZAE_ADMIN=$top/$admin
export TEST_ZAE_SERVROOT_BASE=$top/$run/servroot
if [ -n "$asan" ]; then
    export TEST_ZAE_ASAN=1
fi

# thin wrappers so prove runs the C binaries like any .t file
wrappers=()
unit_env='$ENV{UBSAN_OPTIONS} //= "halt_on_error=1:print_stacktrace=1";'
if [ -n "$unit" ] && [ -d "$unit" ]; then
    for bin in "$unit"/test_*; do
        [ -x "$bin" ] && [ -f "$bin" ] || continue
        case $bin in *.d|*.o) continue ;; esac
        name=$(basename "$bin")
        w=$run/wrap/unit-$name.t
        printf '#!/usr/bin/perl\n%s\nexec "%s" or die "exec %s: $!";\n' \
            "$unit_env" "$top/$bin" "$bin" > "$w"
        wrappers+=("$w")
    done
fi

# the SigV4 vectors (t/data/sigv4) are part of the project: a missing
# runner or folder is a failing test, never a skip
w=$run/wrap/sigv4-vectors.t
if [ ! -x "$unit/sigv4_vectors" ] || [ ! -d "$vectors" ]; then
    printf 'print "1..1\\nnot ok 1 - %s\\n"; exit 1;\n' \
        "sigv4 vectors: runner $unit/sigv4_vectors or folder $vectors missing" \
        > "$w"
else
    printf '#!/usr/bin/perl\n%s\nexec "%s", "%s" or die "exec: $!";\n' \
        "$unit_env" "$top/$unit/sigv4_vectors" "$(cd "$vectors" && pwd)" \
        > "$w"
fi
wrappers+=("$w")

if [ ${#files[@]} -eq 0 ]; then
    files=("${wrappers[@]}")
    for f in t/*.t t/admin/*.t; do
        [ -f "$f" ] && files+=("$f")
    done
fi

set +e
prove -I t/lib "${prove_args[@]}" "${files[@]}"
rc=$?
set -e

echo "run-tests: $(($(date +%s) - t0)) s, prove exit code $rc" \
     "${asan:+(ASan/UBSan build)}"
exit $rc
