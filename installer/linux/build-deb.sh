#!/usr/bin/env bash
# Packages the folder build as a .deb with the system's own tools (dpkg-deb under fakeroot, the
# Depends line from dpkg-shlibdeps). Called by installer/build.sh; prints the .deb's path.
# Usage: installer/linux/build-deb.sh BUNDLE_DIR VERSION ARCH
#
# The package installs:
#   /opt/returns-ledger-sync/                          the bundle (executable: returns-ledger)
#   /usr/bin/returns-ledger                            a symlink to it
#   /usr/share/applications/DESKTOP_ID.desktop         the menu entry (reverse-DNS id)
#   /usr/share/icons/hicolor/scalable/apps/DESKTOP_ID.svg
# No maintainer scripts: the menu and icon caches are refreshed by the desktop-file-utils and
# hicolor-icon-theme triggers, and `dpkg -r` removes every file the package installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUNDLE=$1 VERSION=$2 ARCH=$3
PKG=returns-ledger-sync
PREFIX=/opt/$PKG
ID=$(sed -n 's/^DESKTOP_ID = "\(.*\)"$/\1/p' desktop/__init__.py)
[ -n "$ID" ] || { echo "build-deb: DESKTOP_ID not found in desktop/__init__.py" >&2; exit 1; }
STAGE=$(pwd)/build/installer/deb/${PKG}_${VERSION}_${ARCH}
OUT=dist/${PKG}_${VERSION}_${ARCH}.deb

rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE$PREFIX" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
         "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/doc/$PKG"
cp -a "$BUNDLE/." "$STAGE$PREFIX/"
# QtWebEngine creates this (empty) folder at run time when it can; shipped in the package, it is
# dpkg's to remove again (else a first start as root leaves it behind after `dpkg -r`).
install -d -m 755 "$STAGE$PREFIX/_internal/PySide6/Qt/resources/locales"
ln -s "$PREFIX/returns-ledger" "$STAGE/usr/bin/returns-ledger"
install -m 644 "resources/$ID.desktop" "$STAGE/usr/share/applications/$ID.desktop"
install -m 644 resources/icons/app.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/$ID.svg"
cat >"$STAGE/usr/share/doc/$PKG/copyright" <<TXT
Returns Ledger Sync $VERSION, frozen with PyInstaller. It bundles Python, Qt 6 / PySide6
(LGPLv3) and QtWebEngine (Chromium); their licence texts are in $PREFIX/_internal.
TXT

# Depends: the system libraries the bundle's programs and libraries link against, found the
# way Debian's own packaging finds them (dpkg-shlibdeps over every ELF file; the bundle's own
# libraries are private and need nothing).
mapfile -t elves < <(find "$STAGE$PREFIX" -type f \( -name '*.so*' -o -perm -u+x \) -exec sh -c \
  'for f; do [ "$(head -c4 "$f" | od -An -c | tr -d " ")" = "177ELF" ] && echo "$f"; done' sh {} +)
libdirs=$(find "$STAGE$PREFIX" -name '*.so*' -printf '%h\n' | sort -u | sed 's/^/-l/')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$PKG" "$PKG" >"$work/debian/control"
# shellcheck disable=SC2086
shlibs=$(cd "$work" && dpkg-shlibdeps -O --ignore-missing-info --warnings=0 $libdirs \
  "${elves[@]/#/-e}" 2>"$work/shlibdeps.log" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps failed:" >&2; cat "$work/shlibdeps.log" >&2; exit 1; }
# Not linked but loaded at run time: NSS's modules (QtWebEngine's TLS), fontconfig's
# configuration, the xcb cursor library of Qt's xcb plugin.
depends=$shlibs
for extra in libnss3 fontconfig-config libxcb-cursor0; do
  grep -qE "(^|, )$extra( |,|$)" <<<"$depends" || depends+=", $extra"
done

cat >"$STAGE/DEBIAN/control" <<CTRL
Package: $PKG
Version: $VERSION
Architecture: $ARCH
Maintainer: ${DEB_MAINTAINER:-Returns Ledger Sync maintainers <returns-ledger-sync@localhost>}
Installed-Size: $(du -sk "$STAGE" --exclude=DEBIAN | cut -f1)
Depends: $depends
Recommends: gnome-keyring | kwalletmanager
Section: misc
Priority: optional
Description: keeps a returns system and QuickBooks Online / Xero in step
 Returns Ledger Sync is a desktop administration app that keeps a Returns
 Management System and a company's general ledger in QuickBooks Online or
 Xero in step, in both directions. Command: returns-ledger.
CTRL
mkdir -p dist
# gzip: every dpkg reads it and it is quick on a busy machine; RLS_DEB_COMPRESSION=xz for a ~30 % smaller
# package (several minutes more on 2 cores).
fakeroot dpkg-deb --build -Z"${RLS_DEB_COMPRESSION:-gzip}" --root-owner-group "$STAGE" "$OUT" >/dev/null
echo "$OUT"
