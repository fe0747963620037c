"""What the Connections page's detail panel and the CLI show beyond a summary.

A summary says how healthy a connection is; the details say what it is made of: the scopes
granted, the last error in the platform's own words and code, and how much reference data is
cached for mapping. Read-only and Qt-free; the page calls it through its background helper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from desktop.services.store.models import REF_TABLES, LedgerConnection

if TYPE_CHECKING:
    from desktop.services.connections.service import ConnectionService
    from desktop.services.store.db import Database
#: The cache tables in the order the panel lists them, with the word people use.
CACHED_KINDS: tuple[tuple[str, type[Any]], ...] = tuple(
    (word, REF_TABLES[kind]) for kind, word in (
        ("account", "accounts"), ("tax_code", "tax codes"), ("item", "items"), ("customer", "customers"),
        ("tracking", "tracking options"),
    )
)


@dataclass(frozen=True)
class ConnectionDetails:
    """The extra facts about one connection (no secrets: the keyring holds those)."""

    connection_id: int
    company_id: str
    remote_connection_id: str | None
    client_id: str | None
    scopes: tuple[str, ...]
    home_currency: str | None
    currencies: tuple[str, ...]
    connected_at: datetime | None
    last_error: dict[str, Any] | None
    cached: dict[str, int] = field(default_factory=dict)
    fetched_at: datetime | None = None


def read_details(db: Database, connection_id: int) -> ConnectionDetails | None:
    """The details of ``connection_id``, or None when it no longer exists."""
    with db.session() as s:
        conn = s.get(LedgerConnection, connection_id)
        if conn is None:
            return None
        cached = {word: int(s.execute(sa.select(sa.func.count()).select_from(model)
                                      .where(model.connection_id == connection_id)).scalar_one())
                  for word, model in CACHED_KINDS}
        company = conn.company or {}
        return ConnectionDetails(
            connection_id=conn.id, company_id=conn.remote_id, remote_connection_id=conn.remote_connection_id,
            client_id=conn.client_id, scopes=tuple((conn.scopes or "").split()),
            home_currency=company.get("home_currency"), currencies=tuple(company.get("currencies") or ()),
            connected_at=conn.connected_at, last_error=dict(conn.last_error) if conn.last_error else None,
            cached=cached, fetched_at=conn.reference_fetched_at)


def details_for(service: ConnectionService, connection_id: int) -> ConnectionDetails | None:
    """:func:`read_details` over the service's own database.

    The service keeps its database private; until it offers ``details()`` itself, this is the
    one place that reaches in, so the views never hold a database of their own.
    """
    return read_details(service._db, connection_id)


def countdown(until: datetime | None, now: datetime) -> str:
    """How long a token has left, the way people say it: '42 min', '5 h', '97 days', 'expired'."""
    if until is None:
        return "—"
    seconds = (until - now).total_seconds()
    if seconds <= 0:
        return "expired"
    if seconds < 3600:
        return f"{max(1, int(seconds // 60))} min"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h"
    days = int(seconds // 86400)
    if days >= 730:
        return f"{days // 365} years"
    return f"{days} days"


def sign_in_expiry(refresh_expires_at: datetime | None, hard_expires_at: datetime | None) -> datetime | None:
    """When the sign-in lapses: the sooner of the refresh token's life and QBO's hard cap."""
    dates = [d for d in (refresh_expires_at, hard_expires_at) if d is not None]
    return min(dates) if dates else None
