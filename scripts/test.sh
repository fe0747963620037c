#!/usr/bin/env bash
# Sets up and runs every check: ruff, mypy, import-linter layer contracts, and the pytest suite
# against real components — the Secret Service keyring (gnome-keyring in a private D-Bus session),
# a private PostgreSQL server and SQLite, QtWebEngine offscreen, real HTTP to the emulators.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -k money).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec bash scripts/_test_session.sh "$@"
