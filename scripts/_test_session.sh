#!/usr/bin/env bash
# Called by scripts/test.sh. Starts a private D-Bus session bus with gnome-keyring and a throwaway
# PostgreSQL server, runs the checks, and tears both down whatever happens.
set -euo pipefail
root=$(pwd)
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/rls-test.XXXXXX")
chmod 755 "$run_dir"
pg_pid_dir="$run_dir/pg"
cleanup() {
  if [ -f "$pg_pid_dir/data/postmaster.pid" ]; then
    $PG_AS "$PG_BIN/pg_ctl" -D "$pg_pid_dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  if [ -f "$run_dir/keyring-starts" ] && [ "$(wc -l < "$run_dir/keyring-starts")" -gt 1 ]; then
    echo "note: the test keyring daemon was started at $(tr '\n' ' ' < "$run_dir/keyring-starts")(gnome-keyring" \
         "aborted in between and the bus started it again)"
  fi
  [ -n "${BUS_PID:-}" ] && kill "$BUS_PID" 2>/dev/null || true  # the keyring daemon leaves with its bus
  pkill -f -- "--control-directory=$run_dir/keyring" 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT

# A private home, so the tests' keyring never touches a real one.
export HOME="$run_dir/home" XDG_DATA_HOME="$run_dir/home/.local/share" \
       XDG_CONFIG_HOME="$run_dir/home/.config" XDG_CACHE_HOME="$run_dir/home/.cache" \
       XDG_RUNTIME_DIR="$run_dir/xdg-runtime"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# 1. The Secret Service: gnome-keyring-daemon with a login keyring unlocked by a throwaway password,
#    on a D-Bus session bus of this run's own that starts it on demand, as a desktop session does.
#    gnome-keyring aborts (a GLib assertion in invoke_get_property_in_idle_cb) when a client goes away
#    while its property read is queued, which the tests' deliberate SIGKILLs and signals can cause:
#    the next call then starts it again, unlocked, with the same keyring file, as a desktop would.
#    (The default bus would start the system's own service instead: in the real home, locked.)
mkdir -p "$run_dir/dbus-services"
cat > "$run_dir/keyring.sh" <<EOF
#!/bin/sh
export HOME='$HOME' XDG_DATA_HOME='$XDG_DATA_HOME' XDG_CONFIG_HOME='$XDG_CONFIG_HOME' \\
       XDG_CACHE_HOME='$XDG_CACHE_HOME' XDG_RUNTIME_DIR='$XDG_RUNTIME_DIR'
date +%T >> '$run_dir/keyring-starts'
printf 'rls-test-keyring' | gnome-keyring-daemon --unlock --components=secrets --foreground \\
  --control-directory='$run_dir/keyring'
EOF
cat > "$run_dir/dbus-services/org.freedesktop.secrets.service" <<EOF
[D-BUS Service]
Name=org.freedesktop.secrets
Exec=/bin/sh $run_dir/keyring.sh
EOF
cat > "$run_dir/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$run_dir</listen>
  <auth>EXTERNAL</auth>
  <servicedir>$run_dir/dbus-services</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/>
  </policy>
</busconfig>
EOF
bus=$(dbus-daemon --config-file="$run_dir/bus.conf" --fork --print-address=1 --print-pid=1)
DBUS_SESSION_BUS_ADDRESS=$(printf '%s\n' "$bus" | sed -n 1p); export DBUS_SESSION_BUS_ADDRESS
BUS_PID=$(printf '%s\n' "$bus" | sed -n 2p)
export RLS_TEST_KEYRING=secretservice

# 2. PostgreSQL: a private server from the machine's PostgreSQL binaries on a free loopback port.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [ -z "$PG_BIN" ]; then PG_BIN=$(dirname "$(command -v pg_ctl)"); fi
PG_AS=""
mkdir -p "$pg_pid_dir"
if [ "$(id -u)" = 0 ]; then chown postgres "$pg_pid_dir"; PG_AS="runuser -u postgres --"; fi
pg_port=$("$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$PG_AS "$PG_BIN/initdb" -D "$pg_pid_dir/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
$PG_AS "$PG_BIN/pg_ctl" -D "$pg_pid_dir/data" -l "$pg_pid_dir/server.log" -w \
  -o "-k $pg_pid_dir -p $pg_port -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
export RLS_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$pg_port/postgres"

# 3. Qt offscreen; QtWebEngine's sandbox cannot run as root.
export QT_QPA_PLATFORM=offscreen
[ "$(id -u)" = 0 ] && export QTWEBENGINE_DISABLE_SANDBOX=1
# Bytecode goes to this run's folder, never next to the sources (nor the migration scripts): every
# CLI and sandbox process the tests start then loads the app compiled once, instead of compiling
# its ~350 modules again (PYTHONDONTWRITEBYTECODE did that in each of them).
export PYTHONPYCACHEPREFIX="$run_dir/pycache"

cd "$root"
echo "== ruff";          .venv/bin/ruff check .
echo "== mypy";          .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports
echo "== pytest"
# One worker per core (RLS_TEST_WORKERS=N to choose, 0 for none); a file's tests stay on one worker,
# so module-scoped fixtures (a sandbox, a world) are built once. Each worker has its own sandboxes
# and databases; the keyring and the PostgreSQL server are shared. Files are handed out in collection
# order, which puts the slow-marked ones first (tests/conftest.py): xdist's default reorders them by
# their number of tests, which queued a two-test file that runs for minutes among the last.
workers=${RLS_TEST_WORKERS:-auto}
if [ "$workers" = 0 ]; then
  .venv/bin/python -m pytest "$@"
else
  .venv/bin/python -m pytest -n "$workers" --dist loadfile --no-loadscope-reorder "$@"
fi
