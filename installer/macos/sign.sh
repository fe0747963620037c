#!/usr/bin/env bash
# macOS code-signing hook: sign the helper process with its own entitlements, then the app with the
# hardened runtime. NOT TESTED (no macOS machine). Usage: sign.sh "dist/Returns Ledger Sync.app"
# Needs RLS_CODESIGN_IDENTITY ("Developer ID Application: NAME (TEAMID)") in the login keychain.
set -euo pipefail
APP=$1
HERE=$(cd "$(dirname "$0")" && pwd)
ID=${RLS_CODESIGN_IDENTITY:?set RLS_CODESIGN_IDENTITY}
# Inside out: the helper first (its own entitlements — Qt's shipped copy if present), then the app
# bundle, whose signature seals everything inside it. No --deep: it would give the helper the
# app's entitlements.
find "$APP" -name QtWebEngineProcess.app -type d -not -path '*/Versions/Current/*' | while read -r helper; do
  ent="$helper/Contents/Resources/QtWebEngineProcess.entitlements"
  [ -f "$ent" ] || ent="$HERE/QtWebEngineProcess.entitlements"
  codesign --force --timestamp --options runtime --entitlements "$ent" --sign "$ID" "$helper"
done
codesign --force --timestamp --options runtime --entitlements "$HERE/entitlements.plist" --sign "$ID" "$APP"
codesign --verify --deep --strict --verbose=2 "$APP"
