#!/usr/bin/env bash
# usage: util/build-module.sh BUILD_DIR OUT_SO [EXTRA_CFLAGS [EXTRA_LDFLAGS]]
#
# Builds the dynamic module against the installed Debian nginx-dev tree
# with the flags Debian itself uses (/usr/share/nginx/src/conf_flags), so
# the result is binary compatible with /usr/sbin/nginx.  configure runs
# again only when the addon `config`, the set of source files under src/
# or the extra flags change (a stamp keeps all three); otherwise this is
# an incremental `make modules`.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bld=$(realpath -m "$1")
out=$(realpath -m "$2")
extra_cflags=${3:-}
extra_ldflags=${4:-}
ngx_src=/usr/share/nginx/src

if [ ! -f "$ngx_src/conf_flags" ]; then
    echo "build-module: $ngx_src/conf_flags missing (install nginx-dev:" \
         "make deps)" >&2
    exit 1
fi

mkdir -p "$bld" "$(dirname "$out")"

stamp=$(
    cd "$top"
    sha256sum config
    ls src/ngx_*.c src/ngx_*.h src/core/zae_*.c src/core/zae_*.h \
        2>/dev/null | LC_ALL=C sort
    echo "cflags=$extra_cflags"
    echo "ldflags=$extra_ldflags"
    dpkg-query -W -f='${Version}\n' nginx-dev 2>/dev/null || true
)

if [ ! -f "$bld/Makefile" ] || [ ! -f "$bld/zae.stamp" ] \
   || [ "$stamp" != "$(cat "$bld/zae.stamp")" ]
then
    echo "build-module: configure into $bld"
    rm -f "$bld/zae.stamp"
    (
        cd "$ngx_src"
        # shellcheck disable=SC1091
        . ./conf_flags
        cc_opt="$(dpkg-buildflags --get CFLAGS) -fPIC"
        cc_opt="$cc_opt $(dpkg-buildflags --get CPPFLAGS) $extra_cflags"
        ld_opt="$(dpkg-buildflags --get LDFLAGS) -fPIC $extra_ldflags"
        ./configure \
            --with-cc-opt="$cc_opt" \
            --with-ld-opt="$ld_opt" \
            "${NGX_CONF_FLAGS[@]}" \
            --add-dynamic-module="$top" \
            --builddir="$bld" > "$bld/configure.log" 2>&1
    ) || {
        tail -30 "$bld/configure.log" >&2
        echo "build-module: configure failed, see $bld/configure.log" >&2
        exit 1
    }
    printf '%s\n' "$stamp" > "$bld/zae.stamp"
fi

make -s -f "$bld/Makefile" -C "$ngx_src" -j"$(nproc)" modules
install -m 0644 "$bld/ngx_http_zae_limit_module.so" "$out.tmp"
mv -f "$out.tmp" "$out"
