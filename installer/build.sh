#!/usr/bin/env bash
# Builds every Linux deliverable into dist/:
#   dist/returns-ledger/                                   the PyInstaller folder build (run ./returns-ledger)
#   dist/returns-ledger-sync-VERSION-linux-ARCH.tar.gz     that folder, as a plain archive
#   dist/returns-ledger-sync_VERSION_ARCH.deb              the Debian/Ubuntu package (dpkg-deb)
# Usage: bash installer/build.sh [--no-deb]
# Needs the project's .venv (scripts/setup.sh makes it); PyInstaller, from the `build` extra in
# pyproject.toml, is installed into it here. The checkout's own code is what gets frozen.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
want_deb=1
[ "${1:-}" = "--no-deb" ] && want_deb=0
started=$(date +%s)

if [ ! -x .venv/bin/python ]; then
  bash scripts/setup.sh
fi
PY=.venv/bin/python
export PYTHONPATH="$ROOT"  # freeze this checkout's code, whatever the venv has installed

# PyInstaller from the `build` extra (pinned in pyproject.toml), installed once per pin.
build_reqs=$("$PY" - <<'PYEOF'
import tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["optional-dependencies"]["build"]))
PYEOF
)
stamp=".venv/.build-extra-$(printf '%s' "$build_reqs" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "build: installing the build tools into .venv: $(echo $build_reqs)"
  mapfile -t reqs <<<"$build_reqs"
  "$PY" -m pip install -q --disable-pip-version-check "${reqs[@]}"
  rm -f .venv/.build-extra-*
  touch "$stamp"
fi

VERSION=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
ARCH=$(dpkg --print-architecture 2>/dev/null || uname -m)
export RLS_BUILD_DIR="$ROOT/build/installer"
rm -rf "$RLS_BUILD_DIR" dist/returns-ledger
mkdir -p "$RLS_BUILD_DIR/generated" dist
printf '%s\n' "$VERSION" >"$RLS_BUILD_DIR/generated/BUNDLE_VERSION"

echo "build: freezing Returns Ledger Sync $VERSION with PyInstaller (a few minutes)"
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath "$RLS_BUILD_DIR/work" installer/returns-ledger.spec

BUNDLE=dist/returns-ledger
got=$(env -u PYTHONPATH "$BUNDLE/returns-ledger" --version)
if [ "$got" != "returns-ledger $VERSION" ]; then
  echo "build: the bundle says '$got', expected 'returns-ledger $VERSION'" >&2
  exit 1
fi

tarball="dist/returns-ledger-sync-$VERSION-linux-$ARCH.tar.gz"
tar -C dist -czf "$tarball" returns-ledger
deb=""
if [ $want_deb = 1 ]; then
  deb=$(bash installer/linux/build-deb.sh "$BUNDLE" "$VERSION" "$ARCH")
fi

elapsed=$(( $(date +%s) - started ))
echo "build: done in $((elapsed / 60)) min $((elapsed % 60)) s"
echo "build: bundle $BUNDLE: $(du -sh "$BUNDLE" | cut -f1) ($(find "$BUNDLE" -type f | wc -l) files)"
echo "build: archive $tarball: $(du -h "$tarball" | cut -f1)"
[ -n "$deb" ] && echo "build: package $deb: $(du -h "$deb" | cut -f1)"
exit 0
