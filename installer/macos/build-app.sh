#!/usr/bin/env bash
# macOS: build "Returns Ledger Sync.app" and a .dmg. NOT BUILT OR TESTED in this project's CI or
# by its authors (no macOS machine) — a recipe to start from; see README.md next to this file.
# Usage: bash installer/macos/build-app.sh        (on macOS, from a checkout with .venv set up)
#   RLS_CODESIGN_IDENTITY="Developer ID Application: NAME (TEAMID)"   sign (else an unsigned build)
#   RLS_NOTARY_PROFILE=profile-name   notarize with `xcrun notarytool` (a stored keychain profile)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(uname -s)" = Darwin ] || { echo "build-app: run this on macOS" >&2; exit 1; }
PY=.venv/bin/python
export PYTHONPATH=$(pwd) RLS_BUILD_DIR=$(pwd)/build/installer
VERSION=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
"$PY" -m pip install -q "$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["build"][0])')"
mkdir -p "$RLS_BUILD_DIR/generated"
printf '%s\n' "$VERSION" >"$RLS_BUILD_DIR/generated/BUNDLE_VERSION"
# An .icns from the SVG icon (needs a PNG renderer; rsvg-convert from Homebrew's librsvg).
if [ ! -f installer/macos/app.icns ] && command -v rsvg-convert >/dev/null; then
  set_dir=$RLS_BUILD_DIR/app.iconset; mkdir -p "$set_dir"
  for s in 16 32 128 256 512; do
    rsvg-convert -w $s -h $s resources/icons/app.svg -o "$set_dir/icon_${s}x${s}.png"
    rsvg-convert -w $((s*2)) -h $((s*2)) resources/icons/app.svg -o "$set_dir/icon_${s}x${s}@2x.png"
  done
  iconutil -c icns "$set_dir" -o installer/macos/app.icns
fi
# RLS_CODESIGN_IDENTITY is read by the spec: PyInstaller signs every binary it collects.
"$PY" -m PyInstaller --noconfirm --clean --distpath dist --workpath "$RLS_BUILD_DIR/work" installer/returns-ledger.spec
APP="dist/Returns Ledger Sync.app"
[ -n "${RLS_CODESIGN_IDENTITY:-}" ] && bash installer/macos/sign.sh "$APP"
DMG="dist/Returns-Ledger-Sync-$VERSION-macos-$(uname -m).dmg"
rm -f "$DMG"
hdiutil create -volname "Returns Ledger Sync" -srcfolder "$APP" -ov -format UDZO "$DMG"
if [ -n "${RLS_CODESIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$RLS_CODESIGN_IDENTITY" "$DMG"
fi
if [ -n "${RLS_NOTARY_PROFILE:-}" ]; then
  xcrun notarytool submit "$DMG" --keychain-profile "$RLS_NOTARY_PROFILE" --wait
  xcrun stapler staple "$DMG"
fi
echo "$DMG"
