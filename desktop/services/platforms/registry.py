"""The platform registry: ``platform_for(x)`` is the one place a platform key becomes behaviour.

``x`` may be the key (``"qbo"``), the :class:`~desktop.services.core.enums.Platform` enum,
or anything carrying one in ``.platform`` (a connection row, an organization, a reference
snapshot, a connected :class:`~desktop.services.platforms.interface.LedgerPlatform`). The answer is
the platform's :class:`~desktop.services.platforms.interface.PlatformProfile`; its ``connect`` builds
the live platform for one company — what :meth:`ConnectionService.connector` does.
"""

from __future__ import annotations

from typing import Any

from desktop.services.core.enums import Platform
from desktop.services.platforms.interface import PlatformProfile
from desktop.services.platforms.qbo.platform import QboProfile
from desktop.services.platforms.xero.platform import XeroProfile

__all__ = ["DEFAULT_PLATFORM", "LEGACY_PLATFORM", "PROFILES", "platform_for"]

PROFILES: dict[str, PlatformProfile] = {p.key: p for p in (QboProfile(), XeroProfile())}
#: The platform a new test organization gets unless told otherwise.
DEFAULT_PLATFORM = Platform(next(iter(PROFILES)))
#: The platform of a record saved before records named one (a reference snapshot with an empty
#: ``platform``): the first platform the app supported, QuickBooks Online.
LEGACY_PLATFORM = Platform(QboProfile.key)


def platform_for(x: Any) -> PlatformProfile:
    """The profile of a platform key, enum, or an object with a ``platform`` attribute.

    Raises:
        KeyError: no such platform (a programming error, not a person's).
    """
    key = x
    if not isinstance(x, str) and hasattr(x, "platform"):
        key = x.platform
    key = getattr(key, "value", key)
    return PROFILES[str(key)]
