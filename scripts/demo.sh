#!/usr/bin/env bash
# Sets up and launches the demo: an embedded sandbox (QuickBooks, Xero and RMS emulators) and a
# throwaway SQLite database. Extra arguments go to `returns-ledger --demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${QT_QPA_PLATFORM:-}" != "offscreen" ]; then
  if command -v xvfb-run >/dev/null; then
    echo "demo: no display found; running on a virtual X screen (xvfb-run). Use --screenshots DIR to see it."
    exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/returns-ledger --demo "$@"
  fi
  echo "demo: no display found (DISPLAY/WAYLAND_DISPLAY unset). Run it from a desktop session." >&2
  exit 1
fi
exec .venv/bin/returns-ledger --demo "$@"
