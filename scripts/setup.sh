#!/usr/bin/env bash
# Sets up what the app (and, with --test, the test suite) needs on this machine. Idempotent:
# a second run only checks. Usage: scripts/setup.sh [--test]
#   - system packages (Debian/Ubuntu): Qt's runtime libraries; with --test also gnome-keyring,
#     D-Bus, the PostgreSQL server and Xvfb. Installed with apt-get only when missing.
#   - a virtual environment in .venv with the project installed (editable), plus test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

qt_pkgs=(libegl1 libgl1 libgbm1 libnss3 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
         libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
         libxcb-xkb1 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libxkbfile1 libasound2 libfontconfig1
         libdbus-1-3 fonts-dejavu-core)
test_pkgs=(gnome-keyring dbus dbus-bin postgresql xvfb xauth)

pkgs=("${qt_pkgs[@]}")
[ $want_test = 1 ] && pkgs+=("${test_pkgs[@]}")

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
      echo "setup: please install these packages (as root): ${missing[*]}" >&2; exit 1; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "setup: not a Debian-family system; make sure Qt 6's runtime libraries are installed" \
       "(and for tests: gnome-keyring, dbus, the PostgreSQL server)." >&2
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
extra=""
[ $want_test = 1 ] && extra="[test]"
# Reinstall only when pyproject.toml changed since the last install (or extras were added).
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)${extra:+-test}"
if [ ! -f "$stamp" ]; then
  echo "setup: installing the project into .venv ${extra}"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra}"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
