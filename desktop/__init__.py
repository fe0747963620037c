"""Returns Ledger Sync: keeps a Returns Management System and QuickBooks Online / Xero in step."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

APP_NAME = "Returns Ledger Sync"
APP_ID = "returns-ledger-sync"  # the distribution's name, and the per-user data folder's
#: The reverse-DNS id of the installed ``.desktop`` entry and icon (Linux); Wayland matches windows by it.
DESKTOP_ID = "com.returnsledgersync.ReturnsLedgerSync"
#: Written next to this file by the installer build (``installer/build.sh``): a frozen bundle has no
#: package metadata, so the version is baked in at build time.
VERSION_FILE = "BUNDLE_VERSION"


def _version() -> str:
    """The installed distribution's version (pyproject.toml is the single source); a frozen bundle
    reads the one baked in at build time."""
    baked = Path(__file__).with_name(VERSION_FILE)
    if getattr(sys, "frozen", False) and baked.is_file():
        return baked.read_text(encoding="utf-8").strip()
    try:
        return metadata.version(APP_ID)
    except metadata.PackageNotFoundError:
        return baked.read_text(encoding="utf-8").strip() if baked.is_file() else "0+unknown"


__version__ = _version()
