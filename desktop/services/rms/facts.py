"""The RMS as people see it, beside the ledger platforms' profiles.

The RMS is not a ledger platform (it has no :class:`~desktop.services.platforms.interface.PlatformProfile`
and nothing branches on it), but the Connections page, the event log and the demo's banner name it
and draw its monogram where they do the ledgers'. Its names are kept here, once, under the same
attribute names the profiles use, so a view treats the two alike.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RMS", "RmsFacts"]


@dataclass(frozen=True)
class RmsFacts:
    """The RMS's key (as events and the sandbox spell it), names and brand-neutral monogram."""

    key: str = "rms"
    display_name: str = "Returns system"
    short_name: str = "RMS"
    monogram: str = "RMS"
    brand_colour: str = "#7a5af8"
    tagline: str = "Returns pulled by cursor; accounting status written back."


RMS = RmsFacts()
