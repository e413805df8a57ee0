#!/usr/bin/env bash
# usage: util/deps.sh [deb|packages]
#
# Installs everything the build and the tests need; idempotent and quick
# when already done.  Debian packages through apt-get (Node.js comes
# with npm: the demo upstream util/fake-llm-upstream.js runs on it),
# DynamoDB Local (verified by sha256) and the providers' clients for the
# tests from the npm registry.
# `deb` adds what `make deb` needs, `packages` what `make test-packages`
# needs on top of it: lintian, man-db, systemd (systemd-analyze) and
# promtool, taken out of Debian's prometheus package into the cache (the
# whole package would install and start a Prometheus server; promtool
# alone is one static binary).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${ZAE_CACHE:-$top/.cache}
export DEBIAN_FRONTEND=noninteractive

# `util/deps.sh build` (make build): only what the module and zae-admin
# need to build, nothing for the tests
build_pkgs="gcc make dpkg-dev nginx nginx-dev libyajl-dev libcurl4-openssl-dev
      libssl-dev libyaml-dev zlib1g-dev pkg-config ca-certificates"

pkgs="$build_pkgs perl curl wrk clang libclang-rt-14-dev
      valgrind gnuplot-nox iproute2 openssl dnsmasq-base gdb strace"

if [ "${1:-}" = build ]; then
    pkgs=$build_pkgs
fi

case ${1:-} in
'')       ;;
deb)      pkgs="$pkgs debhelper fakeroot" ;;
packages) pkgs="$pkgs debhelper fakeroot lintian man-db systemd" ;;
*)        echo "usage: $0 [deb|packages]" >&2; exit 2 ;;
esac

missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
        || missing="$missing $p"
done
if [ "${1:-}" != build ]; then
    if ! command -v java >/dev/null 2>&1; then
        missing="$missing openjdk-17-jre-headless"
    fi
    if ! command -v npm >/dev/null 2>&1; then
        missing="$missing npm"
    fi
fi

if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "${1:-}" = build ]; then
    exit 0
fi

ddb_ver=2.9.30
ddb_sha=3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9
ddb="$cache/dynamodb-local"
if [ ! -f "$ddb/emulator/DynamoDBLocal.jar" ]; then
    echo "deps: fetching DynamoDB Local (amplify-dynamodb-simulator@$ddb_ver)"
    rm -rf "$ddb.tmp"
    mkdir -p "$ddb.tmp"
    ( cd "$ddb.tmp" && npm pack --silent "amplify-dynamodb-simulator@$ddb_ver" \
        >/dev/null 2>&1 )
    echo "$ddb_sha  $ddb.tmp/amplify-dynamodb-simulator-$ddb_ver.tgz" \
        | sha256sum -c --quiet
    tar xzf "$ddb.tmp/amplify-dynamodb-simulator-$ddb_ver.tgz" -C "$ddb.tmp" \
        --strip-components=1 package/emulator
    rm -f "$ddb.tmp/amplify-dynamodb-simulator-$ddb_ver.tgz"
    rm -rf "$ddb"
    mv "$ddb.tmp" "$ddb"
fi

# the providers' official clients (openai, @anthropic-ai/sdk) for the
# tests of the demo upstream: t/clients/package-lock.json, installed with
# `npm ci` into the cache, again only when the lock file changed
clients="$cache/npm-clients"
if ! cmp -s "$top/t/clients/package-lock.json" \
        "$clients/package-lock.json" \
   || [ ! -d "$clients/node_modules/openai" ]
then
    echo "deps: installing the test clients (t/clients/package.json)"
    rm -rf "$clients.tmp"
    mkdir -p "$clients.tmp"
    cp "$top/t/clients/package.json" "$top/t/clients/package-lock.json" \
        "$clients.tmp/"
    ( cd "$clients.tmp" && npm ci --silent --no-audit --no-fund )
    rm -rf "$clients"
    mv "$clients.tmp" "$clients"
fi

promtool="$cache/promtool/promtool"
if [ "${1:-}" = packages ] && [ ! -x "$promtool" ]; then
    echo "deps: fetching promtool (from Debian's prometheus package)"
    tmp=$(mktemp -d)
    chmod 755 "$tmp"
    ( cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1 ) || {
        apt-get update -qq
        ( cd "$tmp" && apt-get download -qq prometheus >/dev/null )
    }
    dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb \
        | tar -x -C "$tmp" ./usr/bin/promtool
    mkdir -p "$cache/promtool"
    mv "$tmp/usr/bin/promtool" "$promtool.tmp"
    mv -f "$promtool.tmp" "$promtool"
    rm -rf "$tmp"
fi
