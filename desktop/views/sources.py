"""What a stored platform key is called and how it is drawn: the ledger platforms (from their
profiles in :mod:`desktop.services.platforms.registry`) and the RMS (:mod:`desktop.services.rms.facts`).

Views show keys they get from services (``"qbo"``, ``"rms"``) through these helpers, so no view
keeps its own table of platform names or branches on which platform a row is.
"""

from __future__ import annotations

from desktop.services.platforms.interface import PlatformProfile
from desktop.services.platforms.registry import PROFILES
from desktop.services.rms.facts import RMS, RmsFacts

__all__ = ["Source", "source", "source_name"]

Source = PlatformProfile | RmsFacts


def source(key: str | None) -> Source | None:
    """The profile of a ledger platform key, the RMS's facts for its key, else None."""
    if key is None:
        return None
    return RMS if key == RMS.key else PROFILES.get(key)


def source_name(key: str | None, *, short: bool = False, default: str | None = None) -> str:
    """A platform's name (``short``: "QuickBooks", else "QuickBooks Online"); an unknown key is
    shown as ``default`` (the key itself when that is None)."""
    found = source(key)
    if found is None:
        return (key or "") if default is None else default
    return found.short_name if short else found.display_name
