#!/usr/bin/env bash
# usage: util/pkg/build-deb.sh MODULE_SO ZAE_ADMIN OUT_DIR
#
# `make deb`: packages the module and zae-admin, both already built
# (the Makefile builds zae-admin again with Debian's hardening flags),
# as libnginx-mod-http-zae-limit and zae-admin into OUT_DIR.  The
# version is ZAE_VERSION of src/core/zae_version.h; docs/CHANGELOG.md
# must have a section for it.  A staging tree gets the built files, the
# generated man page, the files of util/pkg/ and util/pkg/debian/ with
# a generated debian/changelog; dpkg-buildpackage -b runs there with
# debhelper and dh_nginx (nginx-dev), which adds the nginx-abi
# dependency and the modules-enabled scripts; dpkg-shlibdeps computes
# the library dependencies.  docs/packaging.md has the details.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
pkg=$top/util/pkg

if [ $# -ne 3 ]; then
    echo "usage: $0 MODULE_SO ZAE_ADMIN OUT_DIR" >&2
    exit 2
fi

module=$(realpath "$1")
admin=$(realpath "$2")
out=$(realpath -m "$3")

ver=$(sed -n 's/^#define ZAE_VERSION  *"\([^"]*\)"$/\1/p' \
      "$top/src/core/zae_version.h")
if [ -z "$ver" ]; then
    echo "build-deb: no ZAE_VERSION in src/core/zae_version.h" >&2
    exit 1
fi

if ! grep -q "^## $ver\b" "$top/docs/CHANGELOG.md"; then
    echo "build-deb: docs/CHANGELOG.md has no \"## $ver\" section" >&2
    exit 1
fi

# the date of the last commit, so that a rebuild of one tree is the same
epoch=$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH=$epoch

work=$(dirname "$out")/deb-work
src=$work/zae-limit-$ver
rm -rf "$work"
mkdir -p "$src" "$out"

cp -r "$pkg/debian" "$src/"
install -m 0644 "$module" "$src/ngx_http_zae_limit_module.so"
install -m 0755 "$admin" "$src/zae-admin"
"$pkg/zae-admin-man.pl" "$admin" "$ver" > "$src/zae-admin.1"
mkdir -p "$src/completion" "$src/systemd" "$src/default" "$src/docs"
install -m 0644 "$pkg/zae-admin.bash-completion" "$src/completion/zae-admin"
install -m 0644 "$pkg/zae-admin-aggregate.service" "$src/systemd/"
install -m 0644 "$pkg/zae-admin-aggregate.default" \
    "$src/default/zae-admin-aggregate"
install -m 0644 "$top/docs/CHANGELOG.md" "$src/CHANGELOG.md"
install -m 0644 "$top"/docs/{directives,design,admin}.md \
    "$top/docs/migrating-from-python-cli.md" "$src/docs/"

maint=$(sed -n 's/^Maintainer: //p' "$pkg/debian/control")
cat > "$src/debian/changelog" <<EOT
zae-limit ($ver-1) unstable; urgency=medium

  * Release $ver; the changes are in changelog.gz next to this file
    (docs/CHANGELOG.md in the source).

 -- $maint  $(date -R -u -d "@$epoch")
EOT

(
    cd "$src"
    dpkg-buildpackage -b -us -uc > "$work/build.log" 2>&1
) || {
    tail -40 "$work/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed, see $work/build.log" >&2
    exit 1
}

rm -f "$out"/*.deb
for p in libnginx-mod-http-zae-limit zae-admin; do
    cp "$work/${p}_$ver-1_"*.deb "$out/"
done
ls -1 "$out"/*.deb
