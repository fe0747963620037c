#!/usr/bin/env bash
# The smoke test of what ships (Linux, as root: it installs a package). Leaves the machine as it found it.
#   1. a clean checkout (git clone of this repository's HEAD — commit first; uncommitted changes are not in it)
#   2. bash installer/build.sh there: the folder bundle, the .tar.gz and the .deb
#   3. dpkg -i the .deb; check the files it put in place
#   4. the INSTALLED command, with a bare environment (no venv, no PYTHONPATH), a private HOME, D-Bus
#      session and keyring: --version, --self-test (offscreen window, embedded browser, keyring,
#      database), then `sandbox serve` + `demo init` + `sync --once` + `reconcile` against that sandbox
#      with a private --data-dir; every --json output must be exactly one JSON document
#   5. dpkg --purge, and check nothing is left: /opt/returns-ledger-sync, /usr/bin/returns-ledger,
#      the .desktop entry and the icon
# Usage: bash installer/smoke.sh [--fresh-venv]
#   By default the clone builds with this checkout's .venv (only its packages are used: the clone's
#   code is what gets frozen); --fresh-venv makes the clone its own with scripts/setup.sh.
# Needs: root, git, dpkg-deb, fakeroot, dbus-daemon, gnome-keyring-daemon, python3 (to parse JSON).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
PKG=returns-ledger-sync
fresh=0
[ "${1:-}" = "--fresh-venv" ] && fresh=1
say() { printf 'smoke: %s\n' "$*" >&2; }
fail() { printf 'smoke: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (it installs and removes a .deb)"
for tool in git dpkg-deb fakeroot dbus-daemon gnome-keyring-daemon python3; do
  command -v "$tool" >/dev/null || fail "needs $tool"
done
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "ok installed"; then
  fail "$PKG is already installed here; remove it first (this test installs and removes its own)"
fi
ID=$(sed -n 's/^DESKTOP_ID = "\(.*\)"$/\1/p' "$SRC/desktop/__init__.py")
LEFTOVERS=("/opt/$PKG" /usr/bin/returns-ledger "/usr/share/applications/$ID.desktop"
           "/usr/share/icons/hicolor/scalable/apps/$ID.svg" "/usr/share/doc/$PKG")
for path in "${LEFTOVERS[@]}"; do [ ! -e "$path" ] || fail "$path exists before the test; not touching it"; done

WORK=$(mktemp -d /tmp/rls-smoke.XXXXXX)
installed=0 sandbox_pid="" dbus_pid=""
cleanup() {
  if [ -n "$sandbox_pid" ]; then kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; fi
  if [ -n "${keyring_pid:-}" ]; then kill "$keyring_pid" 2>/dev/null || true; fi
  if [ -n "$dbus_pid" ]; then kill "$dbus_pid" 2>/dev/null || true; fi
  if [ $installed = 1 ]; then dpkg --purge "$PKG" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
t0=$(date +%s)

# 1-2. clean checkout and build
say "cloning $(git -C "$SRC" rev-parse --short HEAD) into $WORK/src"
git clone --quiet "$SRC" "$WORK/src"
if [ $fresh = 0 ] && [ -x "$SRC/.venv/bin/python" ]; then ln -s "$(readlink -f "$SRC/.venv")" "$WORK/src/.venv"; fi
say "building (installer/build.sh)"
build_rc=0
bash "$WORK/src/installer/build.sh" >"$WORK/build.log" 2>&1 || build_rc=$?
grep '^build:' "$WORK/build.log" | sed 's/^/  /' >&2 || true
[ $build_rc = 0 ] || { grep -v '^build:' "$WORK/build.log" | tail -20 >&2; fail "the build failed"; }
deb=$(ls "$WORK"/src/dist/${PKG}_*.deb)
[ -f "$WORK/src/dist/returns-ledger/returns-ledger" ] && ls "$WORK"/src/dist/*.tar.gz >/dev/null \
  || fail "the build did not leave the bundle and the .tar.gz in dist/"
VERSION=$(dpkg-deb -f "$deb" Version)
t_build=$(( $(date +%s) - t0 ))

# 3. install
say "installing $(basename "$deb") ($(dpkg-deb -f "$deb" Depends | tr ',' '\n' | wc -l) packages in Depends)"
installed=1
dpkg -i "$deb" >/dev/null || fail "dpkg -i failed (missing dependencies? see above)"
for path in "/opt/$PKG/returns-ledger" /usr/bin/returns-ledger "/usr/share/applications/$ID.desktop" \
            "/usr/share/icons/hicolor/scalable/apps/$ID.svg"; do
  [ -e "$path" ] || fail "the package did not install $path"
done
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "/usr/share/applications/$ID.desktop" || fail "the .desktop entry is not valid"
fi

# 4. the installed command, in a bare environment with its own D-Bus session and keyring
mkdir -p "$WORK/home" "$WORK/run" && chmod 700 "$WORK/run"
base_env=(HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/run" XDG_DATA_HOME="$WORK/home/.local/share"
          XDG_CONFIG_HOME="$WORK/home/.config" PATH=/usr/bin:/bin LANG=C.UTF-8)
env -i "${base_env[@]}" dbus-daemon --session --fork --print-address=1 --print-pid=1 >"$WORK/dbus.out"
DBUS_ADDR=$(sed -n 1p "$WORK/dbus.out"); dbus_pid=$(sed -n 2p "$WORK/dbus.out")
printf 'smoke' | env -i "${base_env[@]}" DBUS_SESSION_BUS_ADDRESS="$DBUS_ADDR" \
  gnome-keyring-daemon --unlock --components=secrets --daemonize --control-directory="$WORK/keyring" >/dev/null
keyring_pid=$(pgrep -f -- "--control-directory=$WORK/keyring" | head -1)
run() { (cd "$WORK" && env -i "${base_env[@]}" DBUS_SESSION_BUS_ADDRESS="$DBUS_ADDR" QT_QPA_PLATFORM=offscreen \
         returns-ledger "$@"); }
one_json() {  # stdout must parse whole as one JSON document
  python3 -c 'import json, sys; json.loads(sys.stdin.read())' <"$1" || fail "$2: stdout is not exactly one JSON document"
}
DATA=(--data-dir "$WORK/data")

[ "$(run --version)" = "returns-ledger $VERSION" ] || fail "--version does not say $VERSION"
say "installed returns-ledger --self-test"
t=$(date +%s)
run --self-test "${DATA[@]}" >"$WORK/self-test.out" 2>"$WORK/self-test.err" \
  || { cat "$WORK/self-test.out" "$WORK/self-test.err" >&2; fail "--self-test"; }
say "  $(cat "$WORK/self-test.out") (wall $(( $(date +%s) - t )) s)"

(cd "$WORK" && exec env -i "${base_env[@]}" DBUS_SESSION_BUS_ADDRESS="$DBUS_ADDR" \
   returns-ledger sandbox serve >"$WORK/sandbox.json" 2>"$WORK/sandbox.err") &
sandbox_pid=$!
for _ in $(seq 1 600); do [ -s "$WORK/sandbox.json" ] && break; kill -0 $sandbox_pid 2>/dev/null || break; sleep 0.2; done
[ -s "$WORK/sandbox.json" ] || { cat "$WORK/sandbox.err" >&2; fail "sandbox serve printed no JSON line"; }
URL=$(python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["control_url"].rsplit("/_sandbox", 1)[0])' \
      <"$WORK/sandbox.json")
say "sandbox at $URL"

t=$(date +%s)
run demo init --sandbox "$URL" --json "${DATA[@]}" >"$WORK/init.json" 2>"$WORK/init.err" \
  || { cat "$WORK/init.err" >&2; fail "demo init"; }
one_json "$WORK/init.json" "demo init"
say "  demo init: $(python3 -c 'import json,sys; print(", ".join(o["code"] for o in json.load(sys.stdin)["organizations"]))' <"$WORK/init.json") ($(( $(date +%s) - t )) s)"

t=$(date +%s)
run sync --once --json "${DATA[@]}" >"$WORK/sync.json" 2>"$WORK/sync.err" \
  || { cat "$WORK/sync.json" "$WORK/sync.err" >&2; fail "sync --once"; }
one_json "$WORK/sync.json" "sync --once"
say "  sync --once: $(python3 -c 'import json,sys; d=json.load(sys.stdin); print(", ".join(f"{d[k]} {k}" for k in ("ingested","posted","quarantined","failed")))' <"$WORK/sync.json") ($(( $(date +%s) - t )) s)"

t=$(date +%s)
run reconcile --org ACME-US --from 2020-01-01 --to 2030-12-31 --json "${DATA[@]}" >"$WORK/rec.json" 2>"$WORK/rec.err" \
  || { cat "$WORK/rec.err" >&2; fail "reconcile"; }
one_json "$WORK/rec.json" "reconcile"
say "  reconcile ACME-US: $(python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["variances"]), "variance(s),", d.get("matched", 0), "matched")' <"$WORK/rec.json") ($(( $(date +%s) - t )) s)"

for cmd in "connections" "metrics" "mapping export --org KIWI-NZ --format json"; do  # read-only commands
  # shellcheck disable=SC2086
  run $cmd $([ "$cmd" = "${cmd#mapping}" ] && echo --json) "${DATA[@]}" >"$WORK/cmd.json" 2>"$WORK/cmd.err" \
    || { cat "$WORK/cmd.err" >&2; fail "$cmd"; }
  one_json "$WORK/cmd.json" "$cmd"
done
say "  connections, metrics, mapping export: one JSON document each"

kill -TERM $sandbox_pid; wait $sandbox_pid || fail "sandbox serve did not stop cleanly on SIGTERM"
sandbox_pid=""
[ "$(wc -l <"$WORK/sandbox.json")" = 1 ] || fail "sandbox serve printed more than its JSON line on stdout"

# 5. uninstall, and nothing left behind
dpkg --purge "$PKG" >/dev/null || fail "dpkg --purge"
installed=0
for path in "${LEFTOVERS[@]}"; do
  [ ! -e "$path" ] || { find "$path" | head -20 >&2; fail "$path is left behind after dpkg --purge"; }
done
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "ok installed"; then fail "dpkg still lists $PKG"; fi

bundle=$(du -sh "$WORK/src/dist/returns-ledger" | cut -f1)
say "PASSED in $(( $(date +%s) - t0 )) s (build ${t_build} s): bundle $bundle," \
    "deb $(du -h "$deb" | cut -f1), tar.gz $(du -h "$WORK"/src/dist/*.tar.gz | cut -f1); nothing left installed"
