"""What every platform's webhooks share: the notification shape, the signature, reading a body.

Both ledgers sign a delivery the same way — base64(HMAC-SHA256(shared key, raw body)) — and both
send ids only, so a delivery becomes a list of :class:`Notification` (which company, which entity,
what happened, and when). Each platform's profile parses its own payloads
(:meth:`~desktop.services.platforms.interface.PlatformProfile.parse_webhook`, in
``qbo/webhooks.py`` and ``xero/webhooks.py``) with the helpers here; the receiver
(:mod:`desktop.services.pipeline.webhooks`) asks the profile and never names a platform.

A parser raises only ``ValueError`` (an unreadable body: not UTF-8, not JSON, nested too deep);
any JSON it can read becomes notifications or none, never another exception.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from desktop.services.core import exact_json

__all__ = ["Notification", "event_time", "load_body", "sign", "text", "verify"]

#: A date and a time of day at the start of the value (the rest is ``fromisoformat``'s to read).
_STAMP_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


@dataclass(frozen=True)
class Notification:
    """One verified change notice: which company, which entity, what happened.

    ``at`` (when the platform says the change happened) and ``event_id`` (a CloudEvents id) feed
    the receiver's replay defence; ``at`` does not take part in equality, so two notices of the same
    change compare equal however their times were spelled.
    """

    platform: str           # the profile's key
    company_id: str         # realmId / tenantId
    entity: str             # CreditMemo, Payment, CREDITNOTE, …
    entity_id: str
    operation: str          # Create / Update / Delete / Void / CREATE / UPDATE / created / …
    event_id: str | None = None  # CloudEvents id (deduplicate by it)
    at: datetime | None = field(default=None, compare=False)


def sign(key: str, body: bytes) -> str:
    """base64(HMAC-SHA256(key, body)) — the signature both platforms send."""
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def verify(key: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check of ``signature`` against the raw ``body``; False when anything is missing."""
    if not key or not signature:
        return False
    return hmac.compare_digest(sign(key, body).encode("ascii"), signature.strip().encode("ascii", "replace"))


def load_body(body: bytes) -> Any:
    """The JSON of a delivery, numbers exact; ``ValueError`` for anything unreadable (including
    nesting too deep for the parser, which would otherwise be a ``RecursionError``)."""
    try:
        return exact_json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"the body is not UTF-8 ({exc.reason})") from None


def text(value: object) -> str:
    """A JSON scalar as the text a notification keeps ("" for none, an object or a list)."""
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def event_time(value: object, *, naive_is_utc: bool = False) -> datetime | None:
    """An event's time as aware UTC; None when it is absent or unreadable (the receiver then relies on
    its memory of deliveries alone). ``naive_is_utc``: a time without a zone is UTC (Xero's
    ``eventDateUtc`` says so in its name); otherwise such a time is unreadable."""
    if not isinstance(value, str) or len(value) > 64 or not _STAMP_RE.match(value.strip()):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            if not naive_is_utc:
                return None
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # 2026-02-30, or an offset that leaves the calendar
        return None
